//! Who is calling: API tokens (Bearer) and browser sessions (cookie), checked
//! against credentials kept in the store as hashes; and what they may do,
//! decided by Warden's own engine against the built-in model.
//!
//! The credentials' rules (secrets, hashing, lifetimes, the sign-in lockout)
//! are `warden_core::credentials`; this module reads them off HTTP requests.
//! Secrets have the form `wdn_<id>_<secret>` (tokens) or `<id>.<secret>`
//! (session cookies): the id finds the credential in the snapshot without a
//! scan, and only the SHA-256 of the 256-bit secret is stored.

use crate::builtin::Action;
use crate::problem::ApiError;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use subtle::ConstantTimeEq;
use warden_core::credentials::secret_matches;
use warden_core::Snapshot;
use warden_model::{Credential, CredentialKind, EntryPointKey, EntryPointType, Timestamp};

pub use warden_core::credentials::{
    lockout_keys, new_secret, password_credential_id, seconds_until, session_credential_id, sha256_hex, token_credential_id, token_text,
    LockoutKey, LOCKOUT, SESSION_LIFETIME,
};

pub const SESSION_COOKIE: &str = "warden_session";
pub const CSRF_COOKIE: &str = "warden_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Token { credential: String },
    Session { credential: String },
    /// The local control socket: the command line, with its standing ([`crate::local`]).
    Local,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: String,
    pub via: Via,
}

impl Principal {
    /// How the audit trail names this caller: the user, and the token or session used.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Token { credential } => format!("{} (token {credential})", self.user),
            Via::Session { .. } | Via::Local => self.user.clone(),
        }
    }
}

/// The CSRF token of a session: derived from the session's secret, which only
/// the HttpOnly cookie holds, so a page on another origin can neither read nor
/// compute it, and the server needs no state to check it.
pub fn csrf_token(session_secret: &str) -> String {
    sha256_hex(&format!("warden-csrf:{session_secret}"))
}

/// Whether `sent` is the CSRF token of the session whose secret is `session_secret`, compared in constant time.
pub fn csrf_matches(session_secret: &str, sent: &str) -> bool {
    csrf_matches_token(&csrf_token(session_secret), sent)
}

/// Whether `sent` is `expected` (a session's CSRF token), compared in constant time.
pub fn csrf_matches_token(expected: &str, sent: &str) -> bool {
    !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

/// The caller of a browser session, from its cookie, with the session's
/// secret (to derive its CSRF token); `None` without a session cookie. The
/// user's standing is checked afterwards, as for any credential.
fn session(headers: &HeaderMap, snapshot: &Snapshot, now: Timestamp) -> Result<Option<(Principal, String)>, ApiError> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let invalid = || ApiError::unauthorized("the credential is invalid, expired or revoked");
    let (id, secret) = value.split_once('.').ok_or_else(invalid)?;
    let credential_id = session_credential_id(id);
    let c = live(snapshot, &credential_id, CredentialKind::Session, now).ok_or_else(invalid)?;
    if !secret_matches(&c.hash, secret) {
        return Err(invalid());
    }
    Ok(Some((Principal { user: c.user.clone(), via: Via::Session { credential: credential_id } }, secret.to_string())))
}

/// The signed-in user of a browser session (the web console's caller) and
/// the session's CSRF token, which the console puts in every form it serves
/// and requires back; `Ok(None)` when no session cookie is sent, an error
/// when it is invalid or its user disabled.
pub fn signed_in(headers: &HeaderMap, snapshot: &Snapshot, now: Timestamp) -> Result<Option<(Principal, String)>, ApiError> {
    let Some((principal, secret)) = session(headers, snapshot, now)? else { return Ok(None) };
    Ok(Some((in_standing(principal, snapshot)?, csrf_token(&secret))))
}

fn live<'a>(snapshot: &'a Snapshot, id: &str, kind: CredentialKind, now: Timestamp) -> Option<&'a Credential> {
    snapshot.model.credentials.get(id).filter(|c| c.kind == kind && c.is_live(now))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Sets the cookies of a new session (`Some((id, secret))`): the session
/// cookie, HttpOnly, and the CSRF token readable by the page's script; or, for
/// `None`, clears both. SameSite=Strict, so no other site's page sends them.
pub fn set_session_cookies(headers: &mut HeaderMap, secure: bool, session: Option<(&str, &str)>) {
    let cookie = |name: &str, value: &str, http_only: bool| {
        let mut c = format!("{name}={value}; Path=/; SameSite=Strict");
        if http_only {
            c.push_str("; HttpOnly");
        }
        if secure {
            c.push_str("; Secure");
        }
        match session {
            Some(_) => c.push_str(&format!("; Max-Age={}", SESSION_LIFETIME.as_secs())),
            None => c.push_str("; Max-Age=0"),
        }
        HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static(""))
    };
    let (value, csrf) = match session {
        Some((id, secret)) => (format!("{id}.{secret}"), csrf_token(secret)),
        None => (String::new(), String::new()),
    };
    headers.append(header::SET_COOKIE, cookie(SESSION_COOKIE, &value, true));
    headers.append(header::SET_COOKIE, cookie(CSRF_COOKIE, &csrf, false));
}

/// Identifies the caller, or `None` for an anonymous request. A credential that
/// is presented but wrong, expired or of a disabled user is an error, not
/// anonymity: the caller should learn that its credential is the problem.
pub fn authenticate(headers: &HeaderMap, method: &Method, snapshot: &Snapshot, now: Timestamp) -> Result<Option<Principal>, ApiError> {
    let invalid = || ApiError::unauthorized("the credential is invalid, expired or revoked");
    let principal = if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| invalid())?;
        let token = value
            .strip_prefix("Bearer ")
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?
            .trim();
        let (id, secret) = token.strip_prefix("wdn_").and_then(|t| t.split_once('_')).ok_or_else(invalid)?;
        let credential_id = token_credential_id(id);
        let c = live(snapshot, &credential_id, CredentialKind::ApiToken, now).ok_or_else(invalid)?;
        if !secret_matches(&c.hash, secret) {
            return Err(invalid());
        }
        Principal { user: c.user.clone(), via: Via::Token { credential: credential_id } }
    } else if let Some((principal, secret)) = session(headers, snapshot, now)? {
        // Cookies travel with cross-site requests; state changes need the CSRF token too.
        if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !csrf_matches(&secret, sent) {
                return Err(ApiError::forbidden(format!(
                    "a request authenticated by the session cookie must carry the {CSRF_HEADER} header returned at sign-in"
                )));
            }
        }
        principal
    } else {
        return Ok(None);
    };
    in_standing(principal, snapshot).map(Some)
}

/// The principal, if its user still exists and is enabled.
fn in_standing(principal: Principal, snapshot: &Snapshot) -> Result<Principal, ApiError> {
    match snapshot.model.users.get(&principal.user) {
        Some(u) if u.enabled => Ok(principal),
        Some(_) => Err(ApiError::unauthorized(format!("user '{}' is disabled", principal.user))),
        None => Err(ApiError::unauthorized("the credential is invalid, expired or revoked")),
    }
}

/// Whether `user` holds `action` in the snapshot, by the engine's own check.
pub fn permits(snapshot: &Snapshot, user: &str, action: Action, now: Timestamp) -> bool {
    let key = EntryPointKey::new(EntryPointType::ServiceOperation, action.area.entry_point());
    snapshot.index.check_by_name(user, &key, action.access, None, now).is_allowed()
}

/// Requires an authenticated caller that holds `action`.
pub fn require(principal: Option<&Principal>, snapshot: &Snapshot, action: Action, now: Timestamp) -> Result<(), ApiError> {
    let p = principal.ok_or_else(|| ApiError::unauthorized("sign in, or send `Authorization: Bearer <token>`"))?;
    if permits(snapshot, &p.user, action, now) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("user '{}' does not hold {action}", p.user)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing_finds_the_named_cookie() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; warden_session=abc.def; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc.def"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
