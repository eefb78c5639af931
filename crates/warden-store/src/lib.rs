//! Warden's persistence: the one source of truth for the security configuration,
//! users and assignments, and the hash-chained audit trail of every change.
//!
//! Everything above this crate talks to a [`Store`] trait object, because the
//! backend is chosen at run time from a URL: an embedded SQLite file by default,
//! PostgreSQL when several replicas must share one store. Each [`Store::commit`] is
//! one transaction that applies a change set, bumps the store's [`Revision`] by
//! one and appends one [`AuditEvent`], so that state and audit can never disagree.
//!
//! SQLite is reached through `sqlx` rather than a synchronous driver because the
//! PostgreSQL backend will use the same driver family: one async API, one
//! migration mechanism and one error type for both, with the backend-independent
//! parts (the change diff in `diff`, the hash chain in `chain`, the JSON codec in
//! `codec`) written once.
//!
//! Objects are stored as JSON documents keyed by kind and key. The model's shape
//! changes far more often than the access patterns (load everything, one object,
//! one kind), and documents keep migrations for new fields unnecessary.

mod chain;
mod codec;
#[cfg(feature = "conformance")]
pub mod conformance;
mod diff;
mod error;
mod sqlite;

pub use chain::GENESIS_HASH;
pub use error::StoreError;
pub use sqlite::SqliteStore;

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use warden_model::{Model, Object, ObjectKind, ObjectRef, Timestamp};

/// The number of commits applied to a store. Every commit adds exactly one, so a
/// process holding a snapshot at revision `r` knows it has seen every change up to `r`.
pub type Revision = u64;

/// The storage interface every backend implements and the conformance suite checks.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Latest committed revision; 0 for a new store.
    async fn revision(&self) -> Result<Revision, StoreError>;

    /// Every object, consistent at one revision (read in one transaction).
    async fn load(&self) -> Result<(Model, Revision), StoreError>;

    async fn get(&self, key: &ObjectRef) -> Result<Option<Object>, StoreError>;

    /// Objects of one kind, ordered by key (byte order), for listings.
    async fn list(&self, kind: ObjectKind) -> Result<Vec<Object>, StoreError>;

    /// Applies all changes and appends one audit event in one transaction; returns
    /// the new revision (previous + 1).
    ///
    /// - If `commit.expected_revision` is `Some(r)` and the store is not at `r`:
    ///   [`StoreError::Conflict`], nothing written.
    /// - A delete of a missing key: [`StoreError::NotFound`], nothing written.
    /// - Puts are upserts. Changes are applied in order, so a key may appear more
    ///   than once; the audit records one change per key, from the state before
    ///   the commit to the state after it.
    /// - A put of an object identical to the stored one is no change: it is left
    ///   out of the audit and does not bump the object's version.
    /// - A commit with no effective change still bumps the revision and records its
    ///   event: an administrative action happened (an import that found nothing new,
    ///   a confirmation), and auditors want to see that it did.
    async fn commit(&self, commit: Commit) -> Result<Revision, StoreError>;

    /// Audit events in chronological (sequence) order; see [`AuditFilter`].
    async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError>;

    /// The last event of the audit trail as the store records it, to be kept outside
    /// the store (a log, a ticket, a signed report) and handed back to
    /// [`Store::verify_audit`]: without such an anchor, someone who can write to the
    /// database can drop events from the end and rewrite the recorded head to match.
    /// `seq` 0 and [`GENESIS_HASH`] for an empty trail.
    async fn audit_head(&self) -> Result<AuditAnchor, StoreError>;

    /// Recomputes the hash chain and reports the first broken event. With an
    /// anchor, also proves that the trail still reaches the anchored event
    /// unchanged (detecting truncation and wholesale rewriting).
    async fn verify_audit(
        &self,
        anchor: Option<&AuditAnchor>,
    ) -> Result<AuditVerification, StoreError>;
}

/// One administrative action: what it changes and how the audit trail names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub actor: String,
    /// What was done, e.g. `import aot`, `user assign`.
    pub action: String,
    /// Free-form details for the audit trail (arguments, counts, reasons).
    pub summary: serde_json::Value,
    pub changes: Vec<Change>,
    /// The revision the change set was computed against, for optimistic concurrency.
    pub expected_revision: Option<Revision>,
}

impl Commit {
    /// A commit with an empty summary, no changes and no expected revision.
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Commit {
        Commit {
            actor: actor.into(),
            action: action.into(),
            summary: serde_json::Value::Null,
            changes: Vec::new(),
            expected_revision: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every change is a put; boxing would cost an allocation per object of a bulk import"
)]
pub enum Change {
    Put(Object),
    Delete(ObjectRef),
}

impl Change {
    /// The object this change touches.
    pub fn key(&self) -> ObjectRef {
        match self {
            Change::Put(o) => o.key(),
            Change::Delete(k) => k.clone(),
        }
    }
}

/// One committed action, as recorded in the hash-chained audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the trail, from 1 without gaps.
    pub seq: u64,
    pub revision: Revision,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub summary: serde_json::Value,
    /// Empty unless [`AuditFilter::include_changes`] was asked for.
    pub changes: Vec<AuditChange>,
    pub prev_hash: String,
    pub hash: String,
}

/// One object's state before and after an event; `None` where it did not exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditChange {
    pub object: ObjectRef,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Which audit events to return. Every criterion narrows the result; the default
/// returns every event without its changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Events at or after this instant.
    pub since: Option<Timestamp>,
    pub actor: Option<String>,
    /// Events that changed this object. With `include_changes`, only this object's
    /// change is returned, since that is the history being asked for.
    pub object: Option<ObjectRef>,
    /// At most this many events, the oldest first.
    pub limit: Option<usize>,
    /// Also return each event's before/after changes; off by default because one
    /// import event can carry a hundred thousand of them.
    pub include_changes: bool,
}

/// A trusted copy of the audit trail's head, kept outside the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AuditAnchor {
    pub seq: u64,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AuditVerification {
    /// Every event chains to its predecessor and matches its hash; `head` is the
    /// last event's hash ([`GENESIS_HASH`] for an empty trail).
    Intact { events: u64, head: String },
    /// The first event that is missing, altered or out of place.
    Broken { seq: u64, reason: String },
}

impl AuditVerification {
    pub fn is_intact(&self) -> bool {
        matches!(self, AuditVerification::Intact { .. })
    }
}

/// Opens the store a deployment is configured with: a `sqlite:` URL, or
/// `data_dir/warden.db` when no URL is given (the directory is created).
pub async fn open(
    url_or_none: Option<&str>,
    data_dir: &Path,
) -> Result<Arc<dyn Store>, StoreError> {
    match url_or_none {
        None => {
            std::fs::create_dir_all(data_dir).map_err(sqlx::Error::Io)?;
            Ok(Arc::new(
                SqliteStore::open(&data_dir.join("warden.db")).await?,
            ))
        }
        Some(url) if url.starts_with("sqlite:") => Ok(Arc::new(SqliteStore::open_url(url).await?)),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Err(
            StoreError::Unsupported("PostgreSQL backend arrives with the server issue".into()),
        ),
        Some(url) => Err(StoreError::Unsupported(format!(
            "store URL {:?}: expected sqlite://PATH (or sqlite::memory:), or postgres://...",
            redact(url)
        ))),
    }
}

/// The URL without anything that may be a password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://…@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact("mysql://bob:secret@db:3306/warden"),
            "mysql://…@db:3306/warden"
        );
        assert_eq!(redact("foo:bar"), "foo:bar");
    }
}
