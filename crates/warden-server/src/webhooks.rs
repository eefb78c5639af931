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
//! the lease runs out. Targets are checked at every attempt, on the
//! addresses the client then dials ([`CheckedResolver`]): loopback, private
//! and link-local ones only where the operator allows them.

use crate::state::AppState;
use serde_json::json;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use warden_core::webhooks::{alerts_of, check_resolved, check_url, may_alert, sign, Alert, WebhookKey};
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
    /// The operator's setting (`--allow-private-webhooks`): webhooks may
    /// point at loopback, private and link-local addresses. Off, such URLs are
    /// refused when made and such addresses are never connected to.
    pub allow_private: bool,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions { key: None, retry_base: Duration::from_secs(1), allow_private: false }
    }
}

/// Resolves webhook hosts and hands the HTTP client only addresses that
/// passed [`check_resolved`]: the address checked is the address dialled, so
/// a name that resolves to a public address when checked and to a private one
/// a moment later (DNS rebinding) cannot slip through.
#[derive(Debug)]
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ips: Vec<std::net::IpAddr> = found.iter().map(|a| a.ip()).collect();
            check_resolved(&host, &ips, allow_private)?;
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The client deliveries go through: every name through [`CheckedResolver`],
/// no redirects (a receiver could otherwise send us on to any address), and
/// no proxy from the environment (a proxy would resolve the name itself,
/// unchecked).
fn client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver { allow_private }))
        .build()
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
    match crate::api::reader(state).activity(&filter).await {
        Ok(rows) if !rows.is_empty() => rows.iter().filter_map(|r| r.detail["seq"].as_u64()).max().unwrap_or(0),
        _ => crate::api::reader(state).audit_head().await.map(|h| h.seq).unwrap_or(0),
    }
}

async fn log(state: &AppState, kind: &str, user: &str, detail: serde_json::Value) {
    let event = ActivityEvent { id: 0, at: Timestamp::now(), user: user.to_string(), kind: kind.to_string(), source: Some("webhooks".into()), detail, claimed_at: None };
    if let Err(e) = crate::api::reader(state).record_activity(&event).await {
        tracing::warn!(error = %e, "cannot record a webhook delivery");
    }
}

/// Runs until `stop` changes.
pub async fn deliver(state: AppState, options: WebhookOptions, mut stop: tokio::sync::watch::Receiver<bool>) {
    let client = match client(options.allow_private) {
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
        let read = if leading { crate::api::reader(&state).audit_events(&filter).await } else { Ok(Vec::new()) };
        match read {
            Ok(events) => {
                let mut handed = false;
                for e in &events {
                    if may_alert(e) {
                        let full = AuditFilter { after_seq: Some(e.seq - 1), limit: Some(1), include_changes: true, ..AuditFilter::default() };
                        let Ok(mut read) = crate::api::reader(&state).audit_events(&full).await else { break };
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
            if let Some(retry) = attempt(&state, &client, key, p, &options).await {
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
async fn attempt(state: &AppState, client: &reqwest::Client, key: &WebhookKey, mut p: Pending, options: &WebhookOptions) -> Option<Pending> {
    let user = p.alert.user.clone().unwrap_or_default();
    // The URL's own rules again (an IP literal never reaches the resolver); a
    // refused target is logged and never retried, since only the operator or
    // an administrator can change it.
    let url = match check_url(&p.webhook.url, options.allow_private) {
        Ok(url) => url,
        Err(e) => {
            tracing::warn!(webhook = %p.webhook.id, error = %e, "webhooks: target refused, not sent");
            let detail = json!({
                "webhook": p.webhook.id, "url": p.webhook.url, "delivery": p.alert.id, "type": p.alert.kind,
                "attempt": p.attempt, "outcome": "refused, not sent", "http_status": null, "error": e.to_string(),
            });
            log(state, "webhook_delivery", &user, detail).await;
            return None;
        }
    };
    let body = serde_json::to_vec(&p.alert).unwrap_or_default();
    let timestamp = (Timestamp::now().0 / 1000).to_string();
    let signature = sign(&key.secret(&p.webhook), &timestamp, &body);
    let sent = client
        .post(url)
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
        // The resolver's refusal is the error's source; show the whole chain.
        Err(e) => (false, None, Some(error_chain(&e))),
    };
    let outcome = if ok {
        "delivered"
    } else if p.attempt < ATTEMPTS {
        "failed, will retry"
    } else {
        "failed, gave up"
    };
    let detail = json!({
        "webhook": p.webhook.id, "url": p.webhook.url, "delivery": p.alert.id, "type": p.alert.kind,
        "attempt": p.attempt, "outcome": outcome, "http_status": status, "error": error,
    });
    log(state, "webhook_delivery", &user, detail).await;
    if ok || p.attempt >= ATTEMPTS {
        return None;
    }
    p.due = Instant::now() + options.retry_base * 2u32.pow(p.attempt - 1);
    p.attempt += 1;
    Some(p)
}

/// An error and its causes, `: `-separated (reqwest's own message hides the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_private_addresses() {
        let name = || Name::from_str("localhost").expect("a name");
        let refused = CheckedResolver { allow_private: false }.resolve(name()).await.err().expect("localhost resolves to loopback");
        assert!(refused.to_string().contains("loopback"), "{refused}");
        let allowed: Vec<SocketAddr> = CheckedResolver { allow_private: true }.resolve(name()).await.expect("allowed").collect();
        assert!(allowed.iter().all(|a| a.ip().is_loopback()) && !allowed.is_empty(), "{allowed:?}");
    }
}
