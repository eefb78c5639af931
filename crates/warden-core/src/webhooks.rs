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
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use url::{Host, Url};
use warden_model::{ConflictStatus, Object, ObjectKind, PrivilegedStatus, SodConflict, TempStatus, Timestamp, Webhook};
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
            ConflictStatus::Unresolved => SOD_CONFLICT_UNRESOLVED,
            ConflictStatus::Allowed => SOD_CONFLICT_ALLOWED,
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

/// Alert types the SoD register sends.
pub const SOD_CONFLICT_UNRESOLVED: &str = "sod.conflict.unresolved";
pub const SOD_CONFLICT_ALLOWED: &str = "sod.conflict.allowed";

/// Every alert type Warden sends: the SoD ones, then `session.temp.<status>`
/// and `session.privileged.<status>` for every status. Subscriptions are
/// checked against this list, so that a typo is refused rather than silent.
pub fn alert_kinds() -> Vec<String> {
    let mut kinds = vec![SOD_CONFLICT_UNRESOLVED.to_string(), SOD_CONFLICT_ALLOWED.to_string()];
    kinds.extend(TempStatus::ALL.iter().map(|s| format!("session.temp.{s}")));
    kinds.extend(PrivilegedStatus::ALL.iter().map(|s| format!("session.privileged.{s}")));
    kinds
}

/// A subscription is `*`, a known alert type, or a prefix of some at a dot
/// followed by `*` (`sod.conflict.*`, `session.*`).
fn check_events(events: &[String]) -> Result<(), CoreError> {
    let kinds = alert_kinds();
    for e in events {
        let known = e == "*"
            || kinds.contains(e)
            || e.strip_suffix('*').is_some_and(|prefix| prefix.ends_with('.') && kinds.iter().any(|k| k.starts_with(prefix)));
        if !known {
            return Err(CoreError::InvalidInput(format!(
                "events: unknown alert type '{e}'; known: {}; or a prefix ending in .* (sod.conflict.*, session.privileged.*), or * for all",
                kinds.join(", ")
            )));
        }
    }
    Ok(())
}

/// Why a webhook may not be sent to `ip`, or `None` for a public address.
/// Everything a server-side request could use to reach the host itself, its
/// network or a cloud's metadata service is refused.
pub fn private_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            // Addresses that carry an IPv4 address: judged by it.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private_v4(v4).map(|_| "an IPv4-mapped private address");
            }
            if seg[..6] == [0; 6] && !v6.is_unspecified() && !v6.is_loopback() {
                let v4 = Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8);
                return private_v4(v4).map(|_| "an IPv4-compatible private address");
            }
            if seg[0] == 0x0064 && seg[1] == 0xff9b && seg[2..6] == [0; 4] {
                let v4 = Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8);
                return private_v4(v4).map(|_| "a NAT64 private address");
            }
            if seg[0] == 0x2002 {
                let v4 = Ipv4Addr::new((seg[1] >> 8) as u8, seg[1] as u8, (seg[2] >> 8) as u8, seg[2] as u8);
                return private_v4(v4).map(|_| "a 6to4 private address");
            }
            match seg[0] {
                _ if v6.is_unspecified() => Some("the unspecified address"),
                _ if v6.is_loopback() => Some("a loopback address"),
                s if s & 0xfe00 == 0xfc00 => Some("a unique local (private) address"),
                s if s & 0xffc0 == 0xfe80 => Some("a link-local address"),
                s if s & 0xffc0 == 0xfec0 => Some("a site-local address"),
                s if s & 0xff00 == 0xff00 => Some("a multicast address"),
                _ => None,
            }
        }
    }
}

fn private_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    match (a, b) {
        (0, _) => Some("an unspecified (this-network) address"),
        (127, _) => Some("a loopback address"),
        (10, _) | (172, 16..=31) | (192, 168) => Some("a private address"),
        (169, 254) => Some("a link-local address (cloud metadata services live here)"),
        (100, 64..=127) => Some("a carrier-grade NAT (shared) address"),
        (224..=239, _) => Some("a multicast address"),
        (240..=255, _) => Some("a reserved or broadcast address"),
        (192, 0) if ip.octets()[2] == 0 => Some("an IETF protocol assignment address"),
        (198, 18 | 19) => Some("a benchmarking network address"),
        _ => None,
    }
}

/// How a refusal ends, so that an administrator knows who can change it.
const ASK_THE_OPERATOR: &str = "webhooks may reach only public addresses unless the operator allows private targets \
     (warden serve --allow-private-webhooks, or WARDEN_WEBHOOK_ALLOW_PRIVATE=1)";

/// A webhook URL as the deliverer will use it: `http` or `https`, a host, no
/// credentials; unless `allow_private`, a host that is neither `localhost`
/// nor an IP literal of a private kind ([`private_address`]). Names are
/// resolved and checked separately ([`check_resolved`]), at creation and
/// again at every delivery.
pub fn check_url(text: &str, allow_private: bool) -> Result<Url, CoreError> {
    let bad = |why: String| CoreError::InvalidInput(format!("url: '{text}' {why}"));
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains spaces or control characters".into()));
    }
    let url = Url::parse(text).map_err(|e| bad(format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!("has scheme '{}'; webhooks are http:// or https://", url.scheme())));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("carries credentials; receivers authenticate deliveries by their signature".into()));
    }
    let why = match url.host() {
        None => return Err(bad("has no host".into())),
        Some(_) if allow_private => None,
        Some(Host::Ipv4(ip)) => private_address(IpAddr::V4(ip)).map(|w| format!("points at {w} ({ip})")),
        Some(Host::Ipv6(ip)) => private_address(IpAddr::V6(ip)).map(|w| format!("points at {w} ({ip})")),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost")).then(|| "points at this host (localhost, a loopback name)".to_string())
        }
    };
    match why {
        Some(why) => Err(bad(format!("{why}; {ASK_THE_OPERATOR}"))),
        None => Ok(url),
    }
}

/// Refuses a host whose resolved addresses include a private one (unless
/// `allow_private`): every address, because a client may connect to any.
pub fn check_resolved(host: &str, addresses: &[IpAddr], allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    match addresses.iter().find_map(|a| private_address(*a).map(|why| (a, why))) {
        Some((a, why)) => Err(format!("'{host}' resolves to {why} ({a}); {ASK_THE_OPERATOR}")),
        None => Ok(()),
    }
}

/// The name of `url`'s host when it is a domain (IP literals need no lookup).
pub fn domain(url: &Url) -> Option<&str> {
    match url.host() {
        Some(Host::Domain(d)) => Some(d),
        _ => None,
    }
}

/// At creation: the URL's rules, then the addresses its name resolves to
/// now. A name that does not resolve (yet) is accepted: the deliverer checks
/// the addresses again at every delivery, and sends only to checked ones.
async fn check_target(text: &str, allow_private: bool) -> Result<(), CoreError> {
    let url = check_url(text, allow_private)?;
    if let (Some(host), false) = (domain(&url), allow_private) {
        let port = url.port_or_known_default().unwrap_or(443);
        let lookup = tokio::time::timeout(std::time::Duration::from_secs(5), tokio::net::lookup_host((host, port))).await;
        if let Ok(Ok(found)) = lookup {
            let addresses: Vec<IpAddr> = found.map(|a| a.ip()).collect();
            check_resolved(host, &addresses, false).map_err(|e| CoreError::InvalidInput(format!("url: {e}")))?;
        }
    }
    Ok(())
}

impl Warden {
    /// `webhook add`: a new receiver of alerts of `events` (`*` for all).
    /// `allow_private` is the operator's setting (a flag or the environment of
    /// the process, never the store, which administrators write): whether the
    /// URL may point at loopback, private or link-local addresses.
    pub async fn add_webhook(
        &self,
        url: &str,
        events: Vec<String>,
        description: Option<String>,
        key: &WebhookKey,
        now: Timestamp,
        allow_private: bool,
    ) -> Result<WebhookCreated, CoreError> {
        check_target(url, allow_private).await?;
        check_events(&events)?;
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
        assert!(check_url("https://alerts.example.com/x", false).is_ok() && check_url("ftp://x", false).is_err() && check_url("https://", false).is_err());
    }

    #[test]
    fn private_targets_are_refused_in_every_spelling_unless_allowed() {
        for url in [
            "http://127.0.0.1/hook",
            "http://127.1:8080/hook",
            "http://0x7f000001/hook",
            "http://2130706433/hook",
            "http://0177.0.0.1/hook",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://[::ffff:169.254.169.254]/latest",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0:8080/",
            "http://[::]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://localhost:8080/hook",
            "http://LOCALHOST./hook",
            "http://api.localhost/hook",
        ] {
            let e = check_url(url, false).expect_err(url).to_string();
            assert!(e.starts_with("url: ") && e.contains("--allow-private-webhooks"), "{url}: {e}");
            assert!(check_url(url, true).is_ok(), "{url} with private targets allowed");
        }
        for url in ["ftp://example.com/x", "file:///etc/passwd", "gopher://example.com/", "https://user:pw@example.com/x", "https://"] {
            assert!(check_url(url, true).is_err(), "{url} is refused even with private targets allowed");
        }
        for url in ["https://alerts.example.com/x", "http://93.184.215.14:8443/x", "https://[2606:4700::1111]/x"] {
            assert!(check_url(url, false).is_ok(), "{url}");
        }
        assert!(check_resolved("evil.example", &["93.184.215.14".parse().unwrap(), "127.0.0.1".parse().unwrap()], false).is_err(), "every address counts");
        assert!(check_resolved("ok.example", &["93.184.215.14".parse().unwrap()], false).is_ok());
        assert!(check_resolved("evil.example", &["10.1.2.3".parse().unwrap()], true).is_ok());
    }

    #[test]
    fn subscriptions_name_known_alert_types() {
        let ok = |e: &[&str]| check_events(&e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(ok(&["*", "sod.conflict.*", "sod.*", "session.privileged.ended", "session.temp.*", "session.*"]).is_ok());
        for bad in ["sod.conflict.resolved", "session.started", "sod.conflict", "sod*", "x.*", ""] {
            let e = ok(&[bad]).expect_err(bad).to_string();
            assert!(e.starts_with("events: unknown alert type") && e.contains("session.privileged.active"), "{e}");
        }
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
