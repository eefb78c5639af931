//! The server's shared state: the store, and the model host (`warden_core::host`)
//! whose snapshot every request reads without taking a lock.
//!
//! Writes go through the host, which applies each one to its snapshot before
//! the write returns, so a client reads its own writes on the replica it wrote
//! through and no handler has to refresh anything. A follower task keeps the
//! host at the store's revision for commits made elsewhere (another replica,
//! the command line): it wakes when the store reports a newer revision
//! (PostgreSQL's LISTEN/NOTIFY, a poll on SQLite) and applies the commits it
//! missed as a delta.

use crate::problem::ApiError;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use warden_core::{ModelHost, Snapshot, Warden};
use warden_store::{Revision, Store};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub host: Arc<ModelHost>,
    pub metrics: Option<PrometheusHandle>,
    /// Set the `Secure` attribute on cookies (when serving TLS).
    pub secure_cookies: bool,
    /// How alerts reach the webhooks.
    pub webhooks: crate::webhooks::WebhookOptions,
    /// Whether this server runs the background session processor.
    pub processor: bool,
    /// Makes the routes served beside the API (the web console,
    /// `warden-console`), which depends on this crate and so is handed in by
    /// the binary.
    pub pages: Option<fn(AppState) -> axum::Router<AppState>>,
    ready: AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(host: Arc<ModelHost>, metrics: Option<PrometheusHandle>, secure_cookies: bool) -> AppState {
        AppState(Arc::new(Inner {
            store: host.store().clone(),
            host,
            metrics,
            secure_cookies,
            webhooks: crate::webhooks::WebhookOptions::default(),
            processor: true,
            pages: None,
            ready: AtomicBool::new(true),
        }))
    }

    /// The same state with these webhook options (set once, before serving).
    pub fn with_webhooks(self, webhooks: crate::webhooks::WebhookOptions) -> AppState {
        self.configure(|inner| inner.webhooks = webhooks)
    }

    /// The same state with the session processor on or off (set once, before serving).
    pub fn with_processor(self, processor: bool) -> AppState {
        self.configure(|inner| inner.processor = processor)
    }

    /// The same state serving `pages` beside the API (set once, before serving).
    pub fn with_pages(self, pages: fn(AppState) -> axum::Router<AppState>) -> AppState {
        self.configure(|inner| inner.pages = Some(pages))
    }

    /// Changes a setting while the state is not shared yet (before serving);
    /// a state already shared stays as it is.
    fn configure(self, set: impl FnOnce(&mut Inner)) -> AppState {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                set(&mut inner);
                AppState(Arc::new(inner))
            }
            Err(shared) => AppState(shared),
        }
    }

    /// The current snapshot; lock-free.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.0.host.snapshot()
    }

    pub fn is_ready(&self) -> bool {
        self.0.ready.load(Ordering::Relaxed)
    }

    /// The governance services acting as `actor`, from `origin`; inside a
    /// request with an `Idempotency-Key`, their first commit records the key.
    pub fn warden(&self, actor: &str, origin: &str) -> Warden {
        Warden::with_host(self.host.clone(), actor).with_origin(origin).with_idempotency(crate::idempotency::current())
    }

    /// The core services for reads that need no actor (stored versions,
    /// layers, the audit trail), on this node's host.
    pub fn reader(&self) -> Warden {
        Warden::with_host(self.host.clone(), "api")
    }

    /// Brings the snapshot up to at least `revision` (or to the store's latest
    /// revision when `None`), applying the commits it missed as a delta.
    pub async fn refresh(&self, revision: Option<Revision>) -> Result<Arc<Snapshot>, ApiError> {
        let before = self.snapshot().revision;
        let next = self.host.catch_up(revision).await?;
        if next.revision != before {
            metrics::gauge!("warden_snapshot_revision").set(next.revision as f64);
        }
        Ok(next)
    }

    /// Follows the store until `stop` resolves: each change made elsewhere (another
    /// replica, the command line) is in this process's snapshot within the store's
    /// wake-up latency plus one delta.
    pub async fn follow(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let seen = self.snapshot().revision;
            tokio::select! {
                _ = stop.changed() => return,
                changed = self.store.wait_for_change(seen, Duration::from_secs(5)) => {
                    match changed {
                        Ok(latest) if latest > seen => {
                            if let Err(e) = self.refresh(Some(latest)).await {
                                tracing::warn!(detail = %e.detail, "cannot reload the snapshot; retrying");
                                self.0.ready.store(false, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(500)).await;
                            } else {
                                self.0.ready.store(true, Ordering::Relaxed);
                            }
                        }
                        Ok(_) => self.0.ready.store(true, Ordering::Relaxed),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot reach the store");
                            self.0.ready.store(false, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                }
            }
        }
    }
}
