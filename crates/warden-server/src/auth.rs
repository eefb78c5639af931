//! Who is calling: API tokens (Bearer) and browser sessions (cookie), checked
//! against credentials kept in the store as hashes; and what they may do,
//! decided by Warden's own engine against the built-in model.
//!
//! Secrets have the form `wdn_<id>_<secret>` (tokens) or `<id>.<secret>`
//! (session cookies): the id finds the credential in the snapshot without a
//! scan, and only the SHA-256 of the 256-bit secret is stored. Passwords are
//! argon2id hashes, verified off the async runtime because each takes tens of
//! milliseconds by design.

use crate::builtin::Action;
use crate::problem::ApiError;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap, Method};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use warden_core::Snapshot;
use warden_model::{Credential, CredentialKind, EntryPointKey, EntryPointType, Timestamp};

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

/// Failed sign-ins per key (client address, or user name) in a sliding window.
/// In memory and per process: it slows guessing down; the failed sign-ins
/// themselves are recorded in the activity log for every replica to see.
pub struct RateLimiter {
    window: Duration,
    max_failures: usize,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl RateLimiter {
    pub fn new(window: Duration, max_failures: usize) -> RateLimiter {
        RateLimiter { window, max_failures, failures: Mutex::new(HashMap::new()) }
    }

    /// Seconds to wait if `key` is locked out now.
    pub fn locked(&self, key: &str) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let list = map.get_mut(key)?;
        list.retain(|t| now.duration_since(*t) < self.window);
        if list.len() >= self.max_failures {
            let oldest = list.first().copied()?;
            Some(self.window.saturating_sub(now.duration_since(oldest)).as_secs().max(1))
        } else {
            None
        }
    }

    pub fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Bounded memory under a spray of distinct keys: forget the oldest state.
            map.clear();
        }
        map.entry(key.to_string()).or_default().push(Instant::now());
    }

    pub fn succeed(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
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
    fn rate_limiter_locks_after_max_failures() {
        let r = RateLimiter::new(Duration::from_secs(60), 3);
        for _ in 0..2 {
            r.fail("a");
        }
        assert_eq!(r.locked("a"), None);
        r.fail("a");
        assert!(r.locked("a").is_some());
        assert_eq!(r.locked("b"), None);
        r.succeed("a");
        assert_eq!(r.locked("a"), None);
    }

    #[test]
    fn cookie_parsing_finds_the_named_cookie() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; warden_session=abc.def; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc.def"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
