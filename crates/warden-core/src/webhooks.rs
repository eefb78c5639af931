//! Alerts to the webhooks administrators configured: what an audit event is
//! worth telling (a new segregation-of-duties conflict, an override, ...),
//! and how a delivery is signed.
//!
//! Secrets are never stored. Each webhook's signing secret is derived from a
//! key kept outside the store ([`WebhookKey`]: `WARDEN_WEBHOOK_KEY`, or a
//! `webhook.key` file beside the SQLite store) and the webhook's id and
//! generation; it is shown once when the webhook is made or rotated, and the
//! server derives it again to sign. Deliveries are at least once: receivers
//! deduplicate by the `x-warden-delivery` id.

use crate::error::CoreError;
use crate::service::{Plan, Validation, Warden};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;
use std::path::Path;
use warden_model::{ConflictStatus, Object, ObjectKind, SodConflict, Timestamp, Webhook};
use warden_store::{AuditEvent, Change};

type HmacSha256 = Hmac<Sha256>;

/// The key webhook secrets are derived from. Every replica of one store must
/// have the same key.
#[derive(Clone)]
pub struct WebhookKey([u8; 32]);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey(..)")
    }
}

impl WebhookKey {
    /// `WARDEN_WEBHOOK_KEY` (64 hex digits) if set; else `DIR/webhook.key`,
    /// created (owner-only) on first use when `dir` is given; else none.
    pub fn load(dir: Option<&Path>) -> Result<Option<WebhookKey>, CoreError> {
        if let Ok(text) = std::env::var("WARDEN_WEBHOOK_KEY")
            && !text.trim().is_empty()
        {
            return Self::parse(text.trim()).map(Some).map_err(|e| CoreError::InvalidInput(format!("WARDEN_WEBHOOK_KEY: {e}")));
        }
        let Some(dir) = dir else { return Ok(None) };
        let path = dir.join("webhook.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(text.trim()).map(Some).map_err(|e| CoreError::InvalidInput(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                std::fs::create_dir_all(dir).map_err(|source| CoreError::Write { path: dir.to_path_buf(), source })?;
                write_private(&path, &hex::encode(key)).map_err(|source| CoreError::Write { path: path.clone(), source })?;
                Ok(Some(WebhookKey(key)))
            }
            Err(source) => Err(CoreError::Read { path, source }),
        }
    }

    fn parse(text: &str) -> Result<WebhookKey, String> {
        let bytes = hex::decode(text).map_err(|e| format!("not hexadecimal ({e})"))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "expected 64 hex digits (32 bytes)".to_string())?;
        Ok(WebhookKey(key))
    }

    /// The signing secret of a webhook's current generation.
    pub fn secret(&self, webhook: &Webhook) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("warden-webhook:{}:{}", webhook.id, webhook.generation).as_bytes());
        format!("whsec_{}", hex::encode(mac.finalize().into_bytes()))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// `sha256=<hex>` of `TIMESTAMP.BODY` under `secret`, sent as `x-warden-signature`
/// with the timestamp in `x-warden-timestamp`, so a receiver can refuse replays.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One thing worth telling the webhooks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// `<audit seq>-<n>`: the same alert always has the same id.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: Timestamp,
    pub audit_seq: u64,
    pub revision: u64,
    pub actor: String,
    /// The user the alert is about, if any.
    pub user: Option<String>,
    pub data: serde_json::Value,
}

/// Whether an event (listed without its changes) may carry alerts, so that
/// only those are read again with their changes.
pub fn may_alert(event: &AuditEvent) -> bool {
    let sod = &event.summary["sod"];
    let non_empty = |k: &str| sod[k].as_array().is_some_and(|a| !a.is_empty());
    non_empty("unresolved")
        || non_empty("allowed_with_override")
        || event.action.starts_with("sod conflict")
        || event.action == "sod verify"
        || event.action.starts_with("temp-session ")
        || event.action.starts_with("privileged-session ")
        || event.action == "sessions process"
}

/// The alerts in one audit event read with its changes: conflicts that became
/// unresolved or allowed.
pub fn alerts_of(event: &AuditEvent) -> Vec<Alert> {
    let mut out = Vec::new();
    for change in event.changes.iter().filter(|c| c.object.kind == ObjectKind::SodConflict) {
        let Some(after) = change.after.as_ref().and_then(|a| serde_json::from_value::<SodConflict>(a.clone()).ok()) else { continue };
        let before = change.before.as_ref().and_then(|b| serde_json::from_value::<SodConflict>(b.clone()).ok());
        if before.as_ref().is_some_and(|b| b.status == after.status) {
            continue;
        }
        let kind = match after.status {
            ConflictStatus::Unresolved => "sod.conflict.unresolved",
            ConflictStatus::Allowed => "sod.conflict.allowed",
        };
        out.push(Alert {
            id: format!("{}-{}", event.seq, out.len() + 1),
            kind: kind.to_string(),
            occurred_at: event.at,
            audit_seq: event.seq,
            revision: event.revision,
            actor: event.actor.clone(),
            user: Some(after.user.clone()),
            data: json!({ "conflict": after, "action": event.action }),
        });
    }
    // Session status changes (D365 sends none): `session.temp.planned`, `session.privileged.active`, ...
    for change in &event.changes {
        let (family, status, user) = match change.object.kind {
            ObjectKind::TempRoleSession => ("temp", status_of(&change.after), change.after.as_ref().map(|a| a["user"].clone())),
            ObjectKind::PrivilegedSession => ("privileged", status_of(&change.after), change.after.as_ref().map(|a| a["user"].clone())),
            _ => continue,
        };
        let Some(status) = status.filter(|s| Some(s) != status_of(&change.before).as_ref()) else { continue };
        out.push(Alert {
            id: format!("{}-{}", event.seq, out.len() + 1),
            kind: format!("session.{family}.{status}"),
            occurred_at: event.at,
            audit_seq: event.seq,
            revision: event.revision,
            actor: event.actor.clone(),
            user: user.and_then(|u| u.as_str().map(str::to_string)),
            data: json!({ "session": change.after, "previous_status": status_of(&change.before), "action": event.action, "origin": event.origin }),
        });
    }
    out
}

fn status_of(body: &Option<serde_json::Value>) -> Option<String> {
    body.as_ref().and_then(|b| b["status"].as_str()).map(str::to_string)
}

/// A new webhook, and its secret (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct WebhookCreated {
    pub webhook: Webhook,
    pub secret: String,
    pub revision: u64,
}

fn check_url(url: &str) -> Result<(), CoreError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default()).unwrap_or_default();
    if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CoreError::InvalidInput(format!("'{url}' is not an http:// or https:// URL with a host")));
    }
    Ok(())
}

impl Warden {
    /// `webhook add`: a new receiver of alerts of `events` (`*` for all).
    pub async fn add_webhook(&self, url: &str, events: Vec<String>, description: Option<String>, key: &WebhookKey, now: Timestamp) -> Result<WebhookCreated, CoreError> {
        check_url(url)?;
        let events = if events.is_empty() { vec!["*".to_string()] } else { events };
        let mut id = [0u8; 6];
        rand::rng().fill_bytes(&mut id);
        let webhook = Webhook { id: format!("wh_{}", hex::encode(id)), url: url.to_string(), events, enabled: true, generation: 1, created: now, description };
        let outcome = self.create(Object::Webhook(webhook.clone())).await?;
        Ok(WebhookCreated { secret: key.secret(&webhook), webhook, revision: outcome.revision })
    }

    /// `webhook rotate`: a new secret; the old one stops signing at once.
    pub async fn rotate_webhook(&self, id: &str, key: &WebhookKey) -> Result<WebhookCreated, CoreError> {
        let (webhook, revision, _) = self
            .run(Validation::AllowDangling, |model| {
                let (_, w) = crate::names::lookup::named(&model.webhooks, ObjectKind::Webhook, id)?;
                let mut w = w.clone();
                w.generation += 1;
                let summary = json!({ "webhook": w.id, "generation": w.generation });
                Ok(Plan { action: "webhook rotate", summary, changes: vec![Change::Put(Object::Webhook(w.clone()))], outcome: w })
            })
            .await?;
        Ok(WebhookCreated { secret: key.secret(&webhook), webhook, revision })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_depend_on_key_id_and_generation_and_signatures_on_time_and_body() {
        let key = WebhookKey([7; 32]);
        let mut w = Webhook { id: "wh_1".into(), url: "https://x".into(), events: vec!["*".into()], enabled: true, generation: 1, created: Timestamp(0), description: None };
        let s1 = key.secret(&w);
        assert!(s1.starts_with("whsec_") && s1.len() == 6 + 64);
        w.generation = 2;
        assert_ne!(key.secret(&w), s1, "rotation changes the secret");
        assert_ne!(WebhookKey([8; 32]).secret(&w), key.secret(&w));
        let sig = sign(&s1, "1700000000", b"{}");
        assert_eq!(sig, sign(&s1, "1700000000", b"{}"));
        assert_ne!(sig, sign(&s1, "1700000001", b"{}"), "the timestamp is signed");
        assert_ne!(sig, sign(&s1, "1700000000", b"{ }"));
        assert!(WebhookKey::parse("zz").is_err() && WebhookKey::parse(&"ab".repeat(31)).is_err());
        assert!(check_url("https://alerts.example.com/x").is_ok() && check_url("ftp://x").is_err() && check_url("https://").is_err());
    }

    #[test]
    fn session_status_changes_are_alerts_and_other_session_edits_are_not() {
        let body = |status: &str| Some(serde_json::json!({"id": "TRS-000001", "user": "bella", "status": status}));
        let change = |before, after| warden_store::AuditChange {
            object: warden_model::ObjectRef::new(ObjectKind::TempRoleSession, "TRS-000001"),
            layer: warden_store::Layer::Database,
            before,
            after,
        };
        let event = |action: &str, changes| AuditEvent {
            seq: 9,
            revision: 9,
            at: Timestamp(0),
            actor: "processor".into(),
            action: action.into(),
            origin: "processor".into(),
            summary: serde_json::Value::Null,
            changes,
            prev_hash: String::new(),
            hash: String::new(),
        };
        let started = event("temp-session start", vec![change(body("planned"), body("active"))]);
        assert!(may_alert(&started));
        let alerts = alerts_of(&started);
        assert_eq!(alerts.iter().map(|a| (a.kind.as_str(), a.user.as_deref())).collect::<Vec<_>>(), [("session.temp.active", Some("bella"))]);
        assert_eq!(alerts[0].data["previous_status"], "planned");
        let edited = event("temp-session edit", vec![change(body("draft"), body("draft"))]);
        assert!(alerts_of(&edited).is_empty(), "an edit that keeps the status is no alert");
        let created = event("temp-session create", vec![change(None, body("draft"))]);
        assert_eq!(alerts_of(&created)[0].kind, "session.temp.draft");
    }
}
