//! The model host: the one owner of a process's in-memory state, after
//! rust-analyzer's `AnalysisHost` (`apply_change`, then `analysis()`).
//!
//! It holds the current [`Snapshot`] (the effective model, the access index,
//! the SoD index) at revision `r`. A write is planned against that snapshot,
//! validated on the neighbourhood of what it touches (`validate.rs`),
//! committed expecting `r`, and applied to the snapshot as a delta: the next
//! snapshot is derived from the last, never reloaded. The model's maps are
//! persistent (`imbl`), so deriving costs O(log n) per touched object, and the
//! access index patches only the users a write touched (`Index::with_users`).
//!
//! Writes on one host take turns (one writer lock), so two writes through the
//! same process never conflict; a commit that finds the store moved on (another
//! replica, the command line) catches up with [`Store::changes_since`] and is
//! planned again. Readers never wait: they take the current snapshot.
//!
//! `WARDEN_WRITE_PATH=reload` keeps the path Warden had before the host:
//! every write loads the whole model, validates it whole and reloads after.
//! It is the baseline `warden-bench writes` measures against, and the
//! reference the property test compares the host with.

use crate::error::CoreError;
use crate::snapshot::Snapshot;
use arc_swap::ArcSwap;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use warden_model::ObjectRef;
use warden_store::{Revision, Store};

/// More changed keys than this since the snapshot: a full load is cheaper than applying them.
const DELTA_LIMIT: usize = 50_000;

/// How writes reach the store and the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePath {
    /// Planned on the host's snapshot, validated incrementally, applied as a delta.
    Incremental,
    /// Every write loads and validates the whole model, and the snapshot is
    /// reloaded after it: the path before the host, kept as the baseline.
    Reload,
}

impl WritePath {
    /// `WARDEN_WRITE_PATH=reload` selects [`WritePath::Reload`]; anything else, the host's path.
    pub fn from_env() -> WritePath {
        match std::env::var("WARDEN_WRITE_PATH").as_deref() {
            Ok("reload") => WritePath::Reload,
            _ => WritePath::Incremental,
        }
    }
}

/// How the host came to its current snapshot, for tests and metrics.
#[derive(Debug, Default)]
pub struct HostCounters {
    /// Whole-model loads from the store (the first one included).
    pub full_loads: AtomicU64,
    /// Catch-ups applied from [`Store::changes_since`].
    pub deltas_applied: AtomicU64,
    /// Writes of this process applied to the snapshot as deltas.
    pub writes_applied: AtomicU64,
}

pub struct ModelHost {
    store: Arc<dyn Store>,
    current: ArcSwap<Snapshot>,
    /// One writer at a time: a write plans on the snapshot it then replaces.
    writer: tokio::sync::Mutex<()>,
    path: WritePath,
    pub counters: HostCounters,
}

impl ModelHost {
    /// Loads the store's current state; the write path comes from the environment.
    pub async fn open(store: Arc<dyn Store>) -> Result<Arc<ModelHost>, CoreError> {
        ModelHost::open_with(store, WritePath::from_env()).await
    }

    pub async fn open_with(store: Arc<dyn Store>, path: WritePath) -> Result<Arc<ModelHost>, CoreError> {
        let snapshot = Snapshot::load(store.as_ref()).await?;
        let host = ModelHost {
            store,
            current: ArcSwap::from_pointee(snapshot),
            writer: tokio::sync::Mutex::new(()),
            path,
            counters: HostCounters::default(),
        };
        host.counters.full_loads.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(host))
    }

    /// The current snapshot; lock-free.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn write_path(&self) -> WritePath {
        self.path
    }

    /// Brings the snapshot to at least `revision`, or to the store's latest
    /// when `None`; returns it. Applies the commits it missed as one delta,
    /// and loads the whole model only when the delta cannot bridge the gap.
    pub async fn catch_up(&self, revision: Option<Revision>) -> Result<Arc<Snapshot>, CoreError> {
        let current = self.snapshot();
        let wanted = match revision {
            Some(r) => r,
            None => self.store.revision().await?,
        };
        if current.revision >= wanted {
            return Ok(current);
        }
        let _writer = self.writer.lock().await;
        self.catch_up_locked().await
    }

    /// [`ModelHost::catch_up`] to the store's latest, for a caller that holds the writer lock.
    pub(crate) async fn catch_up_locked(&self) -> Result<Arc<Snapshot>, CoreError> {
        let current = self.snapshot();
        let started = std::time::Instant::now();
        if self.path == WritePath::Incremental
            && let Some(delta) = self.store.changes_since(current.revision, DELTA_LIMIT).await?
        {
            if delta.revision <= current.revision {
                return Ok(current);
            }
            let mut model = (*current.model).clone();
            let mut touched = BTreeSet::new();
            for (key, object) in delta.objects {
                match object {
                    Some(o) => model.put(o),
                    None => drop(model.remove(&key)),
                }
                touched.insert(key);
            }
            let next = Arc::new(current.derive(model, delta.revision, &touched));
            self.current.store(next.clone());
            self.counters.deltas_applied.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(from = current.revision, to = next.revision, keys = touched.len(), us = started.elapsed().as_micros() as u64, "snapshot caught up");
            return Ok(next);
        }
        if self.store.revision().await? == current.revision {
            return Ok(current);
        }
        let next = Arc::new(Snapshot::load(self.store.as_ref()).await?);
        self.counters.full_loads.fetch_add(1, Ordering::Relaxed);
        tracing::info!(from = current.revision, to = next.revision, ms = started.elapsed().as_millis() as u64, "snapshot reloaded");
        self.current.store(next.clone());
        Ok(next)
    }

    /// Loads the whole model again, whatever the snapshot holds (on request).
    pub async fn reload(&self) -> Result<Arc<Snapshot>, CoreError> {
        let _writer = self.writer.lock().await;
        let next = Arc::new(Snapshot::load(self.store.as_ref()).await?);
        self.counters.full_loads.fetch_add(1, Ordering::Relaxed);
        self.current.store(next.clone());
        Ok(next)
    }

    /// Takes the writer's turn.
    pub(crate) async fn writer(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    /// Installs the snapshot a write of this process derived (under the writer lock).
    pub(crate) fn install(&self, next: Snapshot) -> Arc<Snapshot> {
        let next = Arc::new(next);
        self.current.store(next.clone());
        self.counters.writes_applied.fetch_add(1, Ordering::Relaxed);
        next
    }
}

/// What a write touched, for deriving the next snapshot.
pub(crate) type Touched = BTreeSet<ObjectRef>;
