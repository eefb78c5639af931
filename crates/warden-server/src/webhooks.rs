//! Delivers alerts to the configured webhooks, in the background of `warden serve`.
//!
//! The deliverer follows the audit trail: each new event that may carry
//! alerts ([`warden_core::webhooks::may_alert`]) is read with its changes,
//! and each alert goes to every enabled webhook that wants its type, as a
//! JSON POST signed with HMAC-SHA256 (`x-warden-signature`, over
//! `x-warden-timestamp` and the body). A failed delivery is retried with
//! exponential backoff (base, 2×, 4×, ... six attempts in all). Every attempt
//! is written to the activity log (`webhook_delivery`), and the position in
//! the trail (`webhook_cursor`) once its alerts are handed over, so that a
//! restart resumes where it stopped. Delivery is at least once: receivers
//! deduplicate by `x-warden-delivery`. With several replicas on one store,
//! one of them — the holder of the store's `webhooks` lease, renewed on every
//! round — reads the trail; another takes over from the shared cursor when
//! the lease runs out.

use crate::state::AppState;
use serde_json::json;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;
use warden_core::webhooks::{alerts_of, may_alert, sign, Alert, WebhookKey};
use warden_model::{Timestamp, Webhook};
use warden_store::{ActivityEvent, ActivityFilter, AuditFilter};

/// How long the delivery lease lasts without renewal; a round renews it at
/// least every five seconds.
const LEASE_TTL: Duration = Duration::from_secs(15);

/// Attempts per delivery, the first included.
pub const ATTEMPTS: u32 = 6;

/// How the deliverer runs.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// None: alerts are not delivered (a warning says so when webhooks exist).
    pub key: Option<WebhookKey>,
    /// The first retry waits this long; each next one twice as long.
    pub retry_base: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions { key: None, retry_base: Duration::from_secs(1) }
    }
}

struct Pending {
    webhook: Webhook,
    alert: Alert,
    attempt: u32,
    due: Instant,
}

/// Where the deliverer stopped, from the activity log; the trail's head on a first start
/// (alerts are about what happens while Warden serves, not a replay of history).
async fn cursor(state: &AppState) -> u64 {
    let filter = ActivityFilter { kinds: vec!["webhook_cursor".into()], ..ActivityFilter::default() };
    match state.store.activity(&filter).await {
        Ok(rows) if !rows.is_empty() => rows.iter().filter_map(|r| r.detail["seq"].as_u64()).max().unwrap_or(0),
        _ => state.store.audit_head().await.map(|h| h.seq).unwrap_or(0),
    }
}

async fn log(state: &AppState, kind: &str, user: &str, detail: serde_json::Value) {
    let event = ActivityEvent { id: 0, at: Timestamp::now(), user: user.to_string(), kind: kind.to_string(), source: Some("webhooks".into()), detail };
    if let Err(e) = state.store.append_activity(&event).await {
        tracing::warn!(error = %e, "cannot record a webhook delivery");
    }
}

/// Runs until `stop` changes.
pub async fn deliver(state: AppState, options: WebhookOptions, mut stop: tokio::sync::watch::Receiver<bool>) {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: cannot build an HTTP client; no alerts will be delivered");
            return;
        }
    };
    let holder = format!("pid {} #{:08x}", std::process::id(), rand::random::<u32>());
    let mut leading = false;
    let mut seq = 0;
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let mut warned = false;
    loop {
        // Only the lease holder reads new alerts; retries already queued here go on either way.
        match state.store.try_lease("webhooks", &holder, LEASE_TTL).await {
            Ok(true) if !leading => {
                seq = cursor(&state).await;
                leading = true;
                tracing::info!(%holder, from_seq = seq, "this replica delivers webhook alerts");
            }
            Ok(true) => {}
            Ok(false) => leading = false,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot renew the delivery lease");
                leading = false;
            }
        }
        // New alerts from the trail.
        let filter = AuditFilter { after_seq: Some(seq), limit: Some(200), ..AuditFilter::default() };
        let read = if leading { state.store.audit_events(&filter).await } else { Ok(Vec::new()) };
        match read {
            Ok(events) => {
                let mut handed = false;
                for e in &events {
                    if may_alert(e) {
                        let full = AuditFilter { after_seq: Some(e.seq - 1), limit: Some(1), include_changes: true, ..AuditFilter::default() };
                        let Ok(mut read) = state.store.audit_events(&full).await else { break };
                        let Some(event) = read.pop() else { break };
                        // The webhooks as of this event at least: one created in the same commit, or just
                        // before by another process, must not miss it because the snapshot lags.
                        let snapshot = match state.refresh(Some(event.revision)).await {
                            Ok(s) => s,
                            Err(e) => {
                                tracing::warn!(detail = %e.detail, "webhooks: cannot catch up with the store");
                                break;
                            }
                        };
                        let webhooks: Vec<Webhook> = snapshot.model.webhooks.values().cloned().collect();
                        for alert in alerts_of(&event) {
                            for w in webhooks.iter().filter(|w| w.wants(&alert.kind)) {
                                queue.push_back(Pending { webhook: w.clone(), alert: alert.clone(), attempt: 1, due: Instant::now() });
                                handed = true;
                            }
                        }
                    }
                    seq = e.seq;
                }
                if handed {
                    log(&state, "webhook_cursor", "", json!({ "seq": seq })).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "webhooks: cannot read the audit trail"),
        }
        // Deliveries that are due.
        let now = Instant::now();
        let mut later = VecDeque::new();
        while let Some(p) = queue.pop_front() {
            if p.due > now {
                later.push_back(p);
                continue;
            }
            let Some(key) = &options.key else {
                if !warned {
                    tracing::warn!("webhooks are configured but no webhook key is loaded (WARDEN_WEBHOOK_KEY): alerts are not delivered");
                    warned = true;
                }
                continue;
            };
            if let Some(retry) = attempt(&state, &client, key, p, options.retry_base).await {
                later.push_back(retry);
            }
        }
        queue = later;
        let wait = queue.iter().map(|p| p.due.saturating_duration_since(Instant::now())).min().unwrap_or(Duration::from_secs(5)).max(Duration::from_millis(20));
        let seen = state.store.revision().await.unwrap_or(0);
        tokio::select! {
            _ = stop.changed() => return,
            _ = state.store.wait_for_change(seen, wait) => {}
        }
    }
}

/// One POST; the retry to schedule when it failed and attempts remain.
async fn attempt(state: &AppState, client: &reqwest::Client, key: &WebhookKey, mut p: Pending, base: Duration) -> Option<Pending> {
    let body = serde_json::to_vec(&p.alert).unwrap_or_default();
    let timestamp = (Timestamp::now().0 / 1000).to_string();
    let signature = sign(&key.secret(&p.webhook), &timestamp, &body);
    let sent = client
        .post(&p.webhook.url)
        .header("content-type", "application/json")
        .header("user-agent", concat!("Warden/", env!("CARGO_PKG_VERSION")))
        .header("x-warden-delivery", &p.alert.id)
        .header("x-warden-event", &p.alert.kind)
        .header("x-warden-timestamp", &timestamp)
        .header("x-warden-signature", &signature)
        .body(body)
        .send()
        .await;
    let (ok, status, error) = match sent {
        Ok(r) if r.status().is_success() => (true, Some(r.status().as_u16()), None),
        Ok(r) => (false, Some(r.status().as_u16()), Some(format!("HTTP {}", r.status()))),
        Err(e) => (false, None, Some(e.to_string())),
    };
    let outcome = if ok {
        "delivered"
    } else if p.attempt < ATTEMPTS {
        "failed, will retry"
    } else {
        "failed, gave up"
    };
    let user = p.alert.user.clone().unwrap_or_default();
    let detail = json!({
        "webhook": p.webhook.id, "url": p.webhook.url, "delivery": p.alert.id, "type": p.alert.kind,
        "attempt": p.attempt, "outcome": outcome, "http_status": status, "error": error,
    });
    log(state, "webhook_delivery", &user, detail).await;
    if ok || p.attempt >= ATTEMPTS {
        return None;
    }
    p.due = Instant::now() + base * 2u32.pow(p.attempt - 1);
    p.attempt += 1;
    Some(p)
}
