//! Warden's own credentials: passwords, API tokens and sign-in sessions, and
//! the rules they follow, kept here so that every front end (the REST API,
//! the command line, the console) applies the same ones.
//!
//! Every credential change is a [`Warden`] command, committed through
//! [`Warden::run`] like any other: audited, with the credential's hash left
//! out of the trail (`warden_store::redact`). A secret is returned once, to be
//! shown once; only its hash is stored. Secrets have the form
//! `wdn_<id>_<secret>` (tokens) or `<id>.<secret>` (sessions): the public id
//! finds the credential without a scan, the 256-bit secret proves it.
//! Passwords are argon2id hashes, computed off the async runtime because each
//! takes tens of milliseconds by design.

use crate::error::CoreError;
use crate::service::{Plan, Validation, Warden, WriteOutcome};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::{Rng, RngCore};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;
use std::time::Duration;
use subtle::ConstantTimeEq;
use warden_model::{Assignment, Credential, CredentialKind, Object, ObjectKind, ObjectRef, Timestamp, User};
use warden_store::{ActivityEvent, Change, LockoutPolicy};

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// How long a sign-in session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// An API token's lifetime when none is asked for, and the longest one, in days.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
pub const MAX_TOKEN_DAYS: u32 = 3650;
/// How long a rotated token keeps working when no grace is asked for, and the longest grace, in seconds.
pub const DEFAULT_GRACE_SECONDS: u32 = 86_400;
pub const MAX_GRACE_SECONDS: u32 = 604_800;
/// The administrator created on a store where nobody can sign in yet.
pub const BOOTSTRAP_USER: &str = "admin";

/// Ten failed sign-ins in five minutes lock an account or an address out for
/// the rest of the window. The count and the lockout live in the store, so
/// every replica and every restart enforces the same one.
pub const LOCKOUT: LockoutPolicy = LockoutPolicy { max_failures: 10, window: Duration::from_secs(300) };

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

/// Whether `secret` hashes to `stored`, in constant time.
pub fn secret_matches(stored: &str, secret: &str) -> bool {
    stored.as_bytes().ct_eq(sha256_hex(secret).as_bytes()).into()
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

pub fn hash_password(password: &str) -> Result<String, CoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| CoreError::Hashing(e.to_string()))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// The password policy: at least [`MIN_PASSWORD_CHARS`] characters.
pub fn check_password(password: &str) -> Result<(), CoreError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(CoreError::InvalidField { field: "password", message: format!("at least {MIN_PASSWORD_CHARS} characters") });
    }
    Ok(())
}

/// A password to type once from a console: 20 characters without look-alikes (0/O, 1/l/I).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A token lifetime in milliseconds: 1 to [`MAX_TOKEN_DAYS`] days, [`DEFAULT_TOKEN_DAYS`] when left out.
pub fn token_lifetime(days: Option<u32>) -> Result<i64, CoreError> {
    match days.unwrap_or(DEFAULT_TOKEN_DAYS) {
        d @ 1..=MAX_TOKEN_DAYS => Ok(i64::from(d) * 86_400_000),
        d => Err(CoreError::InvalidField { field: "expires_in_days", message: format!("{d} is not between 1 and {MAX_TOKEN_DAYS}") }),
    }
}

/// A rotation's grace in milliseconds: at most [`MAX_GRACE_SECONDS`], [`DEFAULT_GRACE_SECONDS`] when left out.
pub fn rotation_grace(seconds: Option<u32>) -> Result<i64, CoreError> {
    match seconds.unwrap_or(DEFAULT_GRACE_SECONDS) {
        g @ 0..=MAX_GRACE_SECONDS => Ok(i64::from(g) * 1000),
        g => Err(CoreError::InvalidField { field: "grace_seconds", message: format!("{g} is more than a week ({MAX_GRACE_SECONDS})") }),
    }
}

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
    // `api ADDR:PORT` or `console ADDR:PORT`: one count per client address, whichever door it knocks on.
    let addr = origin.rsplit_once(' ').map_or(origin, |(_, addr)| addr);
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    [LockoutKey { scope: "client", key: format!("client {host}") }, LockoutKey { scope: "user", key: format!("user {}", user.to_lowercase()) }]
}

/// Whole seconds from `now` until `until`, at least one, for `Retry-After`.
pub fn seconds_until(until: Timestamp, now: Timestamp) -> u64 {
    u64::try_from(until.0.saturating_sub(now.0)).unwrap_or(0).div_ceil(1000).max(1)
}

/// A new API token: its secret form is shown once and never stored
/// (`Debug` leaves it out).
#[derive(Clone, Serialize)]
pub struct IssuedToken {
    pub id: String,
    pub user: String,
    /// `wdn_<id>_<secret>`, for `Authorization: Bearer`.
    pub token: String,
    pub expires: Timestamp,
    /// For a rotation: the token replaced, and when it stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_expires: Option<Timestamp>,
    pub revision: u64,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken").field("id", &self.id).field("user", &self.user).field("token", &"<redacted>").field("expires", &self.expires).finish()
    }
}

/// A stored API token as listings show it (never its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user: String,
    pub label: Option<String>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
}

impl TokenInfo {
    pub fn of(c: &Credential) -> TokenInfo {
        TokenInfo { id: c.id.trim_start_matches("token:").to_string(), user: c.user.clone(), label: c.label.clone(), created: c.created, expires: c.expires }
    }
}

/// A sign-in session just opened: the cookie carries `id.secret` (`Debug` leaves the secret out).
#[derive(Clone)]
pub struct NewSession {
    pub id: String,
    pub secret: String,
    pub user: String,
    pub expires: Timestamp,
    /// The revision of the commit that stored it.
    pub revision: u64,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession").field("id", &self.id).field("secret", &"<redacted>").field("user", &self.user).field("expires", &self.expires).finish()
    }
}

/// How a sign-in went.
#[derive(Debug, Clone)]
pub enum SignIn {
    SignedIn(NewSession),
    /// Wrong user name or password, or a disabled user; counted towards the lockout.
    Refused,
    /// Locked out (by `scope`: the user or the client address) until `until`; the password was not looked at.
    Locked { scope: &'static str, until: Timestamp },
}

/// What bootstrapping did, for the operator's console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Sign-in credentials exist already.
    NotNeeded,
    /// The administrator's password was given.
    FromEnvironment { user: String },
    /// A generated password, to print once.
    Generated { user: String, password: String },
}

/// A valid argon2id hash of a random password, verified against when the user
/// has no password, so that a failed sign-in takes the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_password(&new_secret().1).unwrap_or_default());

/// Hashes off the async runtime: argon2id is slow on purpose.
async fn hash_blocking(password: &str) -> Result<String, CoreError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|e| CoreError::Hashing(e.to_string()))?
}

fn password_credential(user: &str, hash: String, now: Timestamp) -> Credential {
    Credential { id: password_credential_id(user), user: user.to_string(), kind: CredentialKind::Password, hash, label: None, created: now, expires: None }
}

fn new_token(user: &str, label: Option<String>, now: Timestamp, lifetime_ms: i64) -> (Credential, String, String) {
    let (id, secret) = new_secret();
    let expires = Timestamp(now.0 + lifetime_ms);
    let c = Credential {
        id: token_credential_id(&id),
        user: user.to_string(),
        kind: CredentialKind::ApiToken,
        hash: sha256_hex(&secret),
        label,
        created: now,
        expires: Some(expires),
    };
    (c, id, secret)
}

/// Whether any of `credentials` lets someone sign in (a password or an API token).
fn can_sign_in<'a>(mut credentials: impl Iterator<Item = &'a Credential>) -> bool {
    credentials.any(|c| matches!(c.kind, CredentialKind::Password | CredentialKind::ApiToken))
}

fn stored_token<'a>(model: &'a warden_model::Model, id: &str) -> Result<&'a Credential, CoreError> {
    model
        .credentials
        .get(&token_credential_id(id))
        .filter(|c| c.kind == CredentialKind::ApiToken)
        .ok_or_else(|| CoreError::NotFound(format!("API token '{id}' does not exist")))
}

impl Warden {
    /// The API tokens, of every user or of one (never their hashes).
    pub async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>, CoreError> {
        let all = self.store().list(ObjectKind::Credential).await?;
        Ok(all
            .iter()
            .filter_map(|o| match o {
                Object::Credential(c) if c.kind == CredentialKind::ApiToken && user.is_none_or(|u| c.user == u) => Some(TokenInfo::of(c)),
                _ => None,
            })
            .collect())
    }

    /// `token issue`: a new API token for `user`, valid `expires_in_days`
    /// ([`token_lifetime`]); the secret is in the answer only.
    pub async fn issue_token(&self, user: &str, label: Option<String>, expires_in_days: Option<u32>) -> Result<IssuedToken, CoreError> {
        let now = self.now();
        let (token, revision, _) = self
            .run(Validation::AllowDangling, |model| {
                if !model.users.contains_key(user) {
                    return Err(CoreError::InvalidField { field: "user", message: format!("unknown user '{user}'") });
                }
                let lifetime = token_lifetime(expires_in_days)?;
                let (c, id, secret) = new_token(user, label.clone(), now, lifetime);
                let shown = IssuedToken { id: id.clone(), user: user.to_string(), token: token_text(&id, &secret), expires: Timestamp(now.0 + lifetime), replaces: None, old_expires: None, revision: 0 };
                let summary = json!({"token": id, "user": user});
                Ok(Plan { action: "token create", summary, changes: vec![Change::Put(Object::Credential(c))], outcome: shown })
            })
            .await?;
        Ok(IssuedToken { revision, ..token })
    }

    /// `token rotate`: a new token for the same user and label; the old one
    /// keeps working for `grace_seconds` ([`rotation_grace`]), never longer
    /// than it would have.
    pub async fn rotate_token(&self, id: &str, grace_seconds: Option<u32>, expires_in_days: Option<u32>) -> Result<IssuedToken, CoreError> {
        let now = self.now();
        let (token, revision, _) = self
            .run(Validation::AllowDangling, |model| {
                // In this order, as the API has always answered: the token, then the grace, then the lifetime.
                let old = stored_token(model, id)?;
                let grace = rotation_grace(grace_seconds)?;
                let lifetime = token_lifetime(expires_in_days)?;
                let (new, new_id, secret) = new_token(&old.user, old.label.clone(), now, lifetime);
                let grace_end = Timestamp(now.0 + grace);
                let old_expires = old.expires.map_or(grace_end, |e| e.min(grace_end));
                let old_after = Credential { expires: Some(old_expires), ..old.clone() };
                let shown = IssuedToken {
                    id: new_id.clone(),
                    user: old.user.clone(),
                    token: token_text(&new_id, &secret),
                    expires: Timestamp(now.0 + lifetime),
                    replaces: Some(id.to_string()),
                    old_expires: Some(old_expires),
                    revision: 0,
                };
                let summary = json!({"token": id, "replacement": new_id, "old_expires": old_expires.to_string()});
                let changes = vec![Change::Put(Object::Credential(old_after)), Change::Put(Object::Credential(new))];
                Ok(Plan { action: "token rotate", summary, changes, outcome: shown })
            })
            .await?;
        Ok(IssuedToken { revision, ..token })
    }

    /// `token revoke`: deletes the token; it stops working at once.
    pub async fn revoke_token(&self, id: &str) -> Result<WriteOutcome, CoreError> {
        let (_, revision, _) = self
            .run(Validation::AllowDangling, |model| {
                let c = stored_token(model, id)?;
                let summary = json!({"token": id, "user": c.user});
                Ok(Plan { action: "token revoke", summary, changes: vec![Change::Delete(ObjectRef::new(ObjectKind::Credential, &c.id))], outcome: () })
            })
            .await?;
        Ok(WriteOutcome { revision })
    }

    /// `user password`: sets `user`'s password, held to [`check_password`].
    pub async fn set_password(&self, user: &str, password: &str) -> Result<WriteOutcome, CoreError> {
        let missing = || CoreError::NotFound(format!("user '{user}' does not exist"));
        // Looked up before hashing, which takes a while: an unknown user is answered at once.
        if self.store().get(&ObjectRef::new(ObjectKind::User, user)).await?.is_none() {
            return Err(missing());
        }
        check_password(password)?;
        let hash = hash_blocking(password).await?;
        let now = self.now();
        let (_, revision, _) = self
            .run(Validation::AllowDangling, |model| {
                if !model.users.contains_key(user) {
                    return Err(missing());
                }
                let c = password_credential(user, hash.clone(), now);
                Ok(Plan { action: "password set", summary: json!({"user": user}), changes: vec![Change::Put(Object::Credential(c))], outcome: () })
            })
            .await?;
        Ok(WriteOutcome { revision })
    }

    /// Until when a lockout key ([`lockout_keys`]) is locked out at `now`;
    /// none when it is not.
    pub async fn sign_in_locked_until(&self, key: &str, now: Timestamp) -> Result<Option<Timestamp>, CoreError> {
        Ok(self.store().sign_in_locked_until(key, now).await?)
    }

    /// Signs `user` in with `password` from this service's origin
    /// (`api ADDRESS:PORT`): refused without looking at the password while
    /// the user or the address is locked out ([`LOCKOUT`]); a wrong password,
    /// an unknown or a disabled user counts a failure; a right one opens a
    /// session of [`SESSION_LIFETIME`], committed by the user. Each outcome is
    /// in the activity log.
    pub async fn sign_in(&self, user: &str, password: &str) -> Result<SignIn, CoreError> {
        let now = self.now();
        let keys = lockout_keys(user, self.origin());
        for k in &keys {
            if let Some(until) = self.sign_in_locked_until(&k.key, now).await? {
                // Recorded, so that a lockout under attack shows.
                self.note_activity(user, "sign_in_refused", json!({"via": "warden", "locked": k.scope, "until": until.to_string()})).await;
                return Ok(SignIn::Locked { scope: k.scope, until });
            }
        }
        let stored = self
            .store()
            .get(&ObjectRef::new(ObjectKind::Credential, password_credential_id(user)))
            .await?
            .and_then(|o| match o {
                Object::Credential(c) if c.kind == CredentialKind::Password && c.is_live(now) => Some(c.hash),
                _ => None,
            });
        let enabled = matches!(self.store().get(&ObjectRef::new(ObjectKind::User, user)).await?, Some(Object::User(u)) if u.enabled);
        // Verified even for unknown users, so that timing does not reveal which names exist.
        let phc = stored.clone().unwrap_or_else(|| DUMMY_HASH.clone());
        let typed = password.to_string();
        let verified = tokio::task::spawn_blocking(move || verify_password(&typed, &phc)).await.unwrap_or(false);
        if !(verified && stored.is_some() && enabled) {
            self.note_activity(user, "sign_in_failed", json!({"via": "warden"})).await;
            for k in &keys {
                let failure = self.store().record_sign_in_failure(&k.key, now, &LOCKOUT).await?;
                if let (true, Some(until)) = (failure.newly_locked, failure.locked_until) {
                    let detail = json!({"via": "warden", "locked": k.scope, "failures": failure.failures, "until": until.to_string()});
                    self.note_activity(user, "sign_in_locked", detail).await;
                    // The key holds the user name as typed: escaped, so a crafted name cannot forge log lines.
                    tracing::warn!(scope = k.scope, key = %warden_model::shown(&k.key), until = %until, "sign-in locked out after repeated failures");
                }
            }
            return Ok(SignIn::Refused);
        }
        let [_, by_user] = &keys;
        self.store().clear_sign_in_failures(&by_user.key).await?;
        let (id, secret) = new_secret();
        let expires = Timestamp(now.0 + SESSION_LIFETIME.as_millis() as i64);
        let credential = Credential {
            id: session_credential_id(&id),
            user: user.to_string(),
            kind: CredentialKind::Session,
            hash: sha256_hex(&secret),
            label: None,
            created: now,
            expires: Some(expires),
        };
        let changes = vec![Change::Put(Object::Credential(credential))];
        let (_, revision, _) = self
            .acting_as(user)
            .run(Validation::AllowDangling, |_| Ok(Plan { action: "sign in", summary: json!({"session": id}), changes: changes.clone(), outcome: () }))
            .await?;
        self.note_activity(user, "sign_in", json!({"via": "warden"})).await;
        Ok(SignIn::SignedIn(NewSession { id, secret, user: user.to_string(), expires, revision }))
    }

    /// Ends the sign-in session `credential` (`session:ID`) of `user`.
    pub async fn sign_out(&self, user: &str, credential: &str) -> Result<WriteOutcome, CoreError> {
        let key = ObjectRef::new(ObjectKind::Credential, credential);
        let (_, revision, _) = self
            .run(Validation::AllowDangling, |_| {
                Ok(Plan { action: "sign out", summary: json!({"session": credential}), changes: vec![Change::Delete(key.clone())], outcome: () })
            })
            .await?;
        self.note_activity(user, "sign_out", json!({"via": "warden"})).await;
        Ok(WriteOutcome { revision })
    }

    /// On a store where nobody can sign in yet (no password and no API
    /// token), creates [`BOOTSTRAP_USER`] with the System administrator role
    /// and a password: `password` if given (held to [`check_password`]), else
    /// a generated one that is returned to be shown once.
    pub async fn bootstrap_admin(&self, password: Option<&str>) -> Result<Bootstrap, CoreError> {
        // Only the credentials are read to find out, not the whole model.
        let stored = self.store().list(ObjectKind::Credential).await?;
        if can_sign_in(stored.iter().filter_map(|o| if let Object::Credential(c) = o { Some(c) } else { None })) {
            return Ok(Bootstrap::NotNeeded);
        }
        let (secret, outcome) = match password {
            Some(p) => {
                check_password(p)?;
                (p.to_string(), Bootstrap::FromEnvironment { user: BOOTSTRAP_USER.into() })
            }
            None => {
                let p = generate_password();
                (p.clone(), Bootstrap::Generated { user: BOOTSTRAP_USER.into(), password: p })
            }
        };
        let hash = hash_blocking(&secret).await?;
        let now = self.now();
        let admin = crate::builtin::SYSTEM_ADMINISTRATOR;
        let (done, _, _) = self
            .run(Validation::AllowDangling, |model| {
                if can_sign_in(model.credentials.values()) {
                    return Ok(Plan { action: "bootstrap administrator", summary: json!({}), changes: Vec::new(), outcome: false });
                }
                let user = match model.users.get(BOOTSTRAP_USER) {
                    Some(u) => User { enabled: true, ..u.clone() },
                    None => User { name: Some("Bootstrap administrator".into()), ..User::new(BOOTSTRAP_USER) },
                };
                let mut changes = vec![Change::Put(Object::User(user))];
                if !model.assignments_of(BOOTSTRAP_USER).iter().any(|a| a.role == admin) {
                    changes.push(Change::Put(Object::Assignment(Assignment::global(BOOTSTRAP_USER, admin))));
                }
                changes.push(Change::Put(Object::Credential(password_credential(BOOTSTRAP_USER, hash.clone(), now))));
                let summary = json!({"user": BOOTSTRAP_USER, "role": admin});
                Ok(Plan { action: "bootstrap administrator", summary, changes, outcome: true })
            })
            .await?;
        Ok(if done { outcome } else { Bootstrap::NotNeeded })
    }

    /// Appends a sign-in event to the activity log; losing one must not fail the sign-in.
    async fn note_activity(&self, user: &str, kind: &str, detail: serde_json::Value) {
        let event = ActivityEvent { id: 0, at: self.now(), user: user.to_string(), kind: kind.to_string(), source: Some(self.origin().to_string()), detail, claimed_at: None };
        if let Err(e) = self.store().append_activity(&event).await {
            tracing::warn!(error = %e, user, kind, "cannot record activity");
        }
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
    fn the_rules_name_the_field_they_hold() {
        assert!(check_password("twelve chars").is_ok());
        assert_eq!(check_password("short").unwrap_err().to_string(), "password: at least 12 characters");
        assert_eq!(token_lifetime(None).unwrap(), 90 * 86_400_000);
        assert_eq!(token_lifetime(Some(0)).unwrap_err().to_string(), "expires_in_days: 0 is not between 1 and 3650");
        assert!(token_lifetime(Some(3651)).is_err());
        assert_eq!(rotation_grace(Some(0)).unwrap(), 0);
        assert_eq!(rotation_grace(Some(604_801)).unwrap_err().to_string(), "grace_seconds: 604801 is more than a week (604800)");
        assert!(secret_matches(&sha256_hex("s"), "s") && !secret_matches(&sha256_hex("s"), "t"));
        let p = generate_password();
        assert_eq!(p.chars().count(), 20);
        assert!(!p.contains(['0', 'O', '1', 'l', 'I']));
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
}
