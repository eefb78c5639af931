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
mod commit;
#[cfg(feature = "conformance")]
pub mod conformance;
mod delta;
mod dialect;
mod diff;
mod error;
mod idempotency;
#[cfg(feature = "testing")]
pub mod testing;
mod layers;
mod lockout;
mod migrations;
mod postgres;
pub mod redact;
mod sqlite;

pub use chain::GENESIS_HASH;
pub use error::StoreError;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use warden_model::{Model, Object, ObjectKind, ObjectRef, Timestamp};

/// The number of commits applied to a store. Every commit adds exactly one, so a
/// process holding a snapshot at revision `r` knows it has seen every change up to `r`.
pub type Revision = u64;

/// The storage interface every backend implements and the conformance suite checks.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Latest committed revision; 0 for a new store.
    async fn revision(&self) -> Result<Revision, StoreError>;

    /// Every effective object (see [`Layer`]), consistent at one revision (read in
    /// one transaction).
    async fn load(&self) -> Result<(Model, Revision), StoreError>;

    /// One effective object.
    async fn get(&self, key: &ObjectRef) -> Result<Option<Object>, StoreError> {
        Ok(self.get_versioned(key).await?.map(|v| v.object))
    }

    /// One effective object with its version, for optimistic concurrency.
    async fn get_versioned(&self, key: &ObjectRef) -> Result<Option<Versioned>, StoreError>;

    /// Every layer's row of one key, code layer first: what the code shipped, what
    /// the database changed, and so why the effective form is what it is.
    async fn layers(&self, key: &ObjectRef) -> Result<Vec<LayerEntry>, StoreError>;

    /// The keys one layer holds for one kind, in key order, without their bodies.
    async fn layer_keys(&self, layer: Layer, kind: ObjectKind) -> Result<Vec<LayerKey>, StoreError>;

    /// Effective objects of one kind, ordered by key (byte order), for listings.
    async fn list(&self, kind: ObjectKind) -> Result<Vec<Object>, StoreError>;

    /// Appends a sign-in, sign-out, failed sign-in or application activity event;
    /// returns its id (ascending). Not part of the hash chain: these are reports
    /// from applications at a rate no administrator action reaches.
    /// Takes or renews the lease `name` for `holder` until `ttl` from now,
    /// if it is free, expired, or `holder`'s already; true when `holder` holds
    /// it. For work only one replica may do at a time (webhook delivery).
    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError>;

    async fn append_activity(&self, event: &ActivityEvent) -> Result<u64, StoreError>;

    /// Records a failed sign-in under `key` (a user name or a client address,
    /// as the caller names them) at `at`. When it makes `policy.max_failures`
    /// inside `policy.window`, the key is locked out until the oldest of them
    /// leaves the window. Counting and locking are one transaction serialized
    /// with every other replica's, so concurrent failures are all counted and a
    /// lockout starts once. Not audited: anonymous callers cause these.
    async fn record_sign_in_failure(
        &self,
        key: &str,
        at: Timestamp,
        policy: &LockoutPolicy,
    ) -> Result<SignInFailure, StoreError>;

    /// Until when `key` is locked out, if it is at `now`.
    async fn sign_in_locked_until(&self, key: &str, now: Timestamp) -> Result<Option<Timestamp>, StoreError>;

    /// Forgets the failed sign-ins of `key` (after a successful one); a lockout
    /// in force stays.
    async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError>;

    /// Activity events in id order; see [`ActivityFilter`].
    async fn activity(&self, filter: &ActivityFilter) -> Result<Vec<ActivityEvent>, StoreError>;

    /// What the commits after `since` did to the effective model: for every key
    /// any of them wrote (any layer), its effective object now (`None`: gone),
    /// read in one transaction together with the revision it is at. A follower
    /// holding the model at `since` catches up by applying `objects` in order.
    /// `None` when the trail cannot bridge the gap: `since` is ahead of the store,
    /// or more than `limit` keys changed (a full load is then cheaper).
    ///
    /// The default bridges nothing, so that a wrapping store that does not
    /// forward this still gives a correct answer: load everything.
    async fn changes_since(&self, since: Revision, limit: usize) -> Result<Option<StoreDelta>, StoreError> {
        let _ = (since, limit);
        Ok(None)
    }

    /// Waits until the store is past revision `seen` or `timeout` passes; returns
    /// the revision then. Replicas follow each other with it. The default polls;
    /// a backend with change notifications (PostgreSQL's LISTEN) wakes at once.
    async fn wait_for_change(&self, seen: Revision, timeout: Duration) -> Result<Revision, StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let now = self.revision().await?;
            if now > seen || tokio::time::Instant::now() >= deadline {
                return Ok(now);
            }
            tokio::time::sleep(POLL_INTERVAL.min(deadline - tokio::time::Instant::now())).await;
        }
    }

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

    /// The live (unexpired at `now`) record of an `Idempotency-Key`, if any.
    async fn idempotency(&self, scope: &str, key: &str, now: Timestamp) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Stores the answer of a request whose commit recorded the key without
    /// one; false when the record is missing or already has an answer (the
    /// first answer is never overwritten).
    async fn complete_idempotency(&self, scope: &str, key: &str, response: &StoredResponse) -> Result<bool, StoreError>;

    /// Deletes the records that expired before `now`; returns how many.
    async fn purge_idempotency(&self, now: Timestamp) -> Result<u64, StoreError>;

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

/// See [`Store::changes_since`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoreDelta {
    pub since: Revision,
    /// The revision the objects are read at.
    pub revision: Revision,
    /// Every changed key once, in key order (kind code, then key), with its effective object now.
    pub objects: Vec<(ObjectRef, Option<Object>)>,
}

/// How often the polling [`Store::wait_for_change`] looks at the revision.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Where an object row comes from, as in D365: the code layer holds the
/// deployable objects that `import aot` loads; the database layer holds what
/// administrators change through the API or the command line. For each key the
/// database row, when there is one, wins: it replaces the code object, or hides
/// it (a tombstone) when an administrator deleted it. Re-importing code rewrites
/// only the code layer, so customizations survive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Code,
    #[default]
    Database,
}

impl Layer {
    pub const fn code(self) -> &'static str {
        match self {
            Layer::Code => "code",
            Layer::Database => "database",
        }
    }

    pub fn from_code(code: &str) -> Option<Layer> {
        match code {
            "code" => Some(Layer::Code),
            "database" => Some(Layer::Database),
            _ => None,
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// An effective object and its version: the revision of the last commit that
/// wrote any layer's row of its key. Versions only grow, so an `If-Match` that
/// names an old one can never match again (no ABA).
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    pub object: Object,
    pub version: Revision,
    /// The layer the effective form comes from.
    pub layer: Layer,
}

/// One layer's row of a key; `object` is `None` for a database tombstone.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerEntry {
    pub layer: Layer,
    pub object: Option<Object>,
    pub revision: Revision,
}

/// One key of a layer, for listings of customizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerKey {
    pub key: String,
    /// A tombstone: the database layer hides the code object of this key.
    pub hidden: bool,
    pub revision: Revision,
}

/// A condition on one object's version, checked inside the commit's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precondition {
    pub object: ObjectRef,
    /// `Some(v)`: the object exists (effectively) at version `v`. `None`: it does not exist.
    pub version: Option<Revision>,
}

/// One administrative action: what it changes and how the audit trail names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub actor: String,
    /// What was done, e.g. `import aot`, `user assign`.
    pub action: String,
    /// Where the action came from (`cli`, `api 127.0.0.1`, `processor`), for auditors.
    pub origin: String,
    /// Free-form details for the audit trail (arguments, counts, reasons).
    pub summary: serde_json::Value,
    /// The layer every change of this commit applies to.
    pub layer: Layer,
    pub changes: Vec<Change>,
    /// The revision the change set was computed against, for optimistic concurrency.
    pub expected_revision: Option<Revision>,
    /// Per-object versions that must still hold; else [`StoreError::Stale`].
    pub preconditions: Vec<Precondition>,
    /// Activity events to delete in the same transaction (a deleted session
    /// recording), so that the deletion and its audit event stand or fall together.
    pub purge_activity: Vec<ActivityPurge>,
    /// The `Idempotency-Key` this commit answers, written in its transaction
    /// (with the commit's revision) so that the write and the record stand or
    /// fall together: a retry after a crash finds either both or neither. A
    /// live record of the same scope and key refuses the commit
    /// ([`StoreError::IdempotencyKeyInUse`]); an expired one is replaced.
    pub idempotency: Option<IdempotencyRecord>,
}

/// What a request sent with an `Idempotency-Key` did, kept for 24 hours so
/// that a retry gets the first answer instead of doing the write again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Whose key it is (user and credential): callers never see each other's answers.
    pub scope: String,
    pub key: String,
    /// A hash of the request (method, path, body): the same key on another
    /// request is refused rather than answered with this one's answer.
    pub fingerprint: String,
    pub created: Timestamp,
    /// From then on the record is ignored, and purged.
    pub expires: Timestamp,
    /// The revision of the commit that wrote the record (set by the store).
    pub revision: Option<Revision>,
    /// The answer to replay; `None` while the request is finishing, or when
    /// it stopped between its commit and its answer.
    pub response: Option<StoredResponse>,
}

/// An HTTP answer as replayed: never a secret (see the server's idempotency module).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    /// The headers worth replaying (`content-type`, `location`, `etag`), never cookies.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Activity events of one user, of some kinds, in `[since, until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityPurge {
    pub user: String,
    pub kinds: Vec<String>,
    pub since: Timestamp,
    pub until: Timestamp,
}

impl Commit {
    /// A database-layer commit from `local` with an empty summary, no changes and no expectations.
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Commit {
        Commit {
            actor: actor.into(),
            action: action.into(),
            origin: String::new(),
            summary: serde_json::Value::Null,
            layer: Layer::Database,
            changes: Vec::new(),
            expected_revision: None,
            preconditions: Vec::new(),
            purge_activity: Vec::new(),
            idempotency: None,
        }
    }
}

/// What an origin-less commit is recorded as coming from.
pub const DEFAULT_ORIGIN: &str = "local";

#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every change is a put; boxing would cost an allocation per object of a bulk import"
)]
pub enum Change {
    Put(Object),
    /// Removes the key's row from the commit's layer (in the database layer: drops
    /// a customization, so that the code object, if any, shows again).
    Delete(ObjectRef),
    /// Writes a database-layer tombstone: the key's code object stays stored but
    /// is no longer effective. Only in database-layer commits.
    Hide(ObjectRef),
}

impl Change {
    /// The object this change touches.
    pub fn key(&self) -> ObjectRef {
        match self {
            Change::Put(o) => o.key(),
            Change::Delete(k) | Change::Hide(k) => k.clone(),
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
    pub origin: String,
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
    pub layer: Layer,
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
    /// Events after this sequence number, for paging.
    pub after_seq: Option<u64>,
    /// At most this many events, the oldest first.
    pub limit: Option<usize>,
    /// Also return each event's before/after changes; off by default because one
    /// import event can carry a hundred thousand of them.
    pub include_changes: bool,
}

/// A session or activity report from an application, or a failed sign-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityEvent {
    /// Assigned by the store; ignored on append.
    pub id: u64,
    /// When Warden received (or made) it. Windows — a privileged session's
    /// recording above all — are cut by this time, never by what an
    /// application claims, so that nothing can be back-dated into them.
    pub at: Timestamp,
    pub user: String,
    /// `sign_in`, `sign_out`, `sign_in_failed`, `activity`, ...
    pub kind: String,
    /// Who reported it: the authenticated poster and its address, or the Warden
    /// component that wrote it.
    pub source: Option<String>,
    pub detail: serde_json::Value,
    /// When the reporting application says it happened: its claim, kept as
    /// evidence beside `at` and never used to place the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<Timestamp>,
}

/// How many failed sign-ins lock a key out, and how long each one counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
}

impl LockoutPolicy {
    fn window_ms(&self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX)
    }
}

/// What one failed sign-in did to its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInFailure {
    /// The key's failures inside the window, this one included.
    pub failures: u64,
    /// Until when the key is locked out now, if it is.
    pub locked_until: Option<Timestamp>,
    /// This failure started the lockout (rather than finding one in force).
    pub newly_locked: bool,
}

/// Which activity events to return; every criterion narrows the result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityFilter {
    pub user: Option<String>,
    /// Any of these kinds; empty for all.
    pub kinds: Vec<String>,
    /// At or after this instant.
    pub since: Option<Timestamp>,
    /// Before this instant.
    pub until: Option<Timestamp>,
    pub after_id: Option<u64>,
    pub limit: Option<usize>,
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
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(PgStore::connect(url).await?))
        }
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
