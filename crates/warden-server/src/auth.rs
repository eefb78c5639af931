//! Who is calling: API tokens (Bearer) and browser sessions (cookie), checked
//! against credentials kept in the store as hashes; and what they may do,
//! decided by Warden's own engine against the built-in model.
//!
//! Secrets have the form `wdn_<id>_<secret>` (tokens) or `<id>.<secret>`
//! (session cookies): the id finds the credential in the snapshot without a
//! scan, and only the SHA-256 of the 256-bit secret is stored. Passwords are
//! argon2id hashes, verified off the async runtime because each takes tens of
//! milliseconds by design. Failed sign-ins are counted in the store ([`LOCKOUT`]).

use crate::builtin::Action;
use crate::problem::ApiError;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap, Method};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;
use warden_core::Snapshot;
use warden_model::{Credential, CredentialKind, EntryPointKey, EntryPointType, Timestamp};
use warden_store::LockoutPolicy;

pub const SESSION_COOKIE: &str = "warden_session";
pub const CSRF_COOKIE: &str = "warden_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a browser session lasts after sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Token { credential: String },
    Session { credential: String },
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
            Via::Session { .. } => self.user.clone(),
        }
    }
}

/// A fresh secret: a public id (16 hex digits) and 256 random bits (64 hex digits).
pub fn new_secret() -> (String, String) {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut id);
    rand::rng().fill_bytes(&mut secret);
    (hex::encode(id), hex::encode(secret))
}

pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn token_credential_id(id: &str) -> String {
    format!("token:{id}")
}
pub fn session_credential_id(id: &str) -> String {
    format!("session:{id}")
}
pub fn password_credential_id(user: &str) -> String {
    format!("password:{user}")
}

pub fn token_text(id: &str, secret: &str) -> String {
    format!("wdn_{id}_{secret}")
}

/// The CSRF token of a session: derived from the session's secret, which only
/// the HttpOnly cookie holds, so a page on another origin can neither read nor
/// compute it, and the server needs no state to check it.
pub fn csrf_token(session_secret: &str) -> String {
    sha256_hex(&format!("warden-csrf:{session_secret}"))
}

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("argon2: {e}")))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

fn equal_hash(stored: &str, secret: &str) -> bool {
    stored.as_bytes().ct_eq(sha256_hex(secret).as_bytes()).into()
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
        if !equal_hash(&c.hash, secret) {
            return Err(invalid());
        }
        Principal { user: c.user.clone(), via: Via::Token { credential: credential_id } }
    } else if let Some(value) = cookie(headers, SESSION_COOKIE) {
        let (id, secret) = value.split_once('.').ok_or_else(invalid)?;
        let credential_id = session_credential_id(id);
        let c = live(snapshot, &credential_id, CredentialKind::Session, now).ok_or_else(invalid)?;
        if !equal_hash(&c.hash, secret) {
            return Err(invalid());
        }
        // Cookies travel with cross-site requests; state changes need the CSRF token too.
        if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            let expected = csrf_token(secret);
            if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(ApiError::forbidden(format!(
                    "a request authenticated by the session cookie must carry the {CSRF_HEADER} header returned at sign-in"
                )));
            }
        }
        Principal { user: c.user.clone(), via: Via::Session { credential: credential_id } }
    } else {
        return Ok(None);
    };
    match snapshot.model.users.get(&principal.user) {
        Some(u) if u.enabled => Ok(Some(principal)),
        Some(_) => Err(ApiError::unauthorized(format!("user '{}' is disabled", principal.user))),
        None => Err(invalid()),
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

/// Ten failed sign-ins in five minutes lock an account or an address out for
/// the rest of the window. The count and the lockout live in the store, so
/// every replica and every restart enforces the same one.
pub const LOCKOUT: LockoutPolicy = LockoutPolicy { max_failures: 10, window: Duration::from_secs(300) };

/// What a sign-in attempt is counted under, and how the lockout names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutKey {
    /// `user` or `client`.
    pub scope: &'static str,
    /// The store's key: `user NAME` (lowercase) or `client ADDRESS`.
    pub key: String,
}

/// The keys a sign-in as `user` from `origin` (`api ADDRESS:PORT`) counts under.
pub fn lockout_keys(user: &str, origin: &str) -> [LockoutKey; 2] {
    let addr = origin.trim_start_matches("api ");
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    [
        LockoutKey { scope: "client", key: format!("client {host}") },
        LockoutKey { scope: "user", key: format!("user {}", user.to_lowercase()) },
    ]
}

/// Whole seconds from `now` until `until`, at least one, for `Retry-After`.
pub fn seconds_until(until: Timestamp, now: Timestamp) -> u64 {
    u64::try_from(until.0.saturating_sub(now.0)).unwrap_or(0).div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn lockout_keys_name_the_address_without_its_port_and_the_user_in_lowercase() {
        let [client, user] = lockout_keys("Alice", "api 10.1.2.3:5555");
        assert_eq!((client.scope, client.key.as_str()), ("client", "client 10.1.2.3"));
        assert_eq!((user.scope, user.key.as_str()), ("user", "user alice"));
        assert_eq!(lockout_keys("a", "api [::1]:80")[0].key, "client [::1]");
        assert_eq!(seconds_until(Timestamp(10_001), Timestamp(0)), 11);
        assert_eq!(seconds_until(Timestamp(0), Timestamp(5)), 1);
    }

    #[test]
    fn cookie_parsing_finds_the_named_cookie() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; warden_session=abc.def; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc.def"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
