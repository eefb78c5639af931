//! What a backend says in its own SQL, and nothing more. The protocols that
//! string these steps together (a commit in `commit.rs`, the delta feed in
//! `delta.rs`) are written once over this trait, as OpenFGA's `sqlcommon` is
//! over its dialects, so that SQLite and PostgreSQL cannot drift apart in what
//! a commit checks, writes or audits.

use crate::chain::{EventHeader, Head};
use crate::diff::{Effect, Found, Plan};
use crate::{ActivityPurge, IdempotencyRecord, Layer, Revision, StoreError};
use warden_model::{ObjectKind, ObjectRef};

/// Opens the transactions the protocols run in.
#[async_trait::async_trait]
pub(crate) trait Dialect: Send + Sync {
    type Tx: Tx;

    /// A transaction for one commit. The write lock that serializes commits
    /// (across processes and replicas) is held once [`Tx::lock_head`] returns.
    async fn begin_write(&self) -> Result<Self::Tx, StoreError>;

    /// A read-only transaction that sees one consistent snapshot throughout.
    async fn begin_snapshot(&self) -> Result<Self::Tx, StoreError>;
}

/// The steps of the protocols, each one or a few statements in one transaction.
#[async_trait::async_trait]
pub(crate) trait Tx: Send + Sized {
    /// The store's revision and audit head.
    async fn head(&mut self) -> Result<Head, StoreError>;

    /// The head, read under the write lock: a commit's first step. The default
    /// suits a dialect whose write transaction takes the lock when it begins.
    async fn lock_head(&mut self) -> Result<Head, StoreError> {
        self.head().await
    }

    /// The rows (both layers) of some keys of one kind, each with its key.
    async fn key_rows(
        &mut self,
        kind: ObjectKind,
        keys: &[&str],
    ) -> Result<Vec<(String, crate::layers::Row)>, StoreError>;

    /// What the commit's layers hold for every key `plan` touches, by slot.
    async fn fetch_found(&mut self, plan: &Plan, layer: Layer) -> Result<Vec<Option<Found>>, StoreError>;

    /// Upserts the effects with a body and deletes the others, in the layer
    /// each kind's change goes to.
    async fn write_objects(&mut self, effects: &[Effect], layer: Layer, revision: i64) -> Result<(), StoreError>;

    /// The event's change rows, indexed in effect order.
    async fn write_audit_changes(&mut self, seq: i64, effects: &[Effect], layer: Layer) -> Result<(), StoreError>;

    async fn purge_activity(&mut self, purge: &ActivityPurge) -> Result<(), StoreError>;

    /// Writes a commit's `Idempotency-Key` record, replacing an expired one; a
    /// live one refuses the commit ([`StoreError::IdempotencyKeyInUse`]).
    async fn record_idempotency(&mut self, record: &IdempotencyRecord, revision: i64) -> Result<(), StoreError>;

    /// Appends the event row, chained onto `prev_hash`.
    async fn append_event(&mut self, event: &EventHeader<'_>, prev_hash: &str, hash: &str) -> Result<(), StoreError>;

    /// Moves the store's revision and audit head.
    async fn set_head(&mut self, head: &Head) -> Result<(), StoreError>;

    /// Tells other processes of the new revision, if the dialect can (delivered
    /// only if the transaction commits); by default they poll.
    async fn announce(&mut self, revision: Revision) -> Result<(), StoreError> {
        let _ = revision;
        Ok(())
    }

    /// The seq of the first audit event after revision `since`, if any.
    async fn first_event_after(&mut self, since: Revision) -> Result<Option<u64>, StoreError>;

    /// Up to `limit` change rows from position `from` (seq, idx) on, in
    /// position order: each one's position and the key it changed.
    async fn changes_page(&mut self, from: (u64, u64), limit: usize) -> Result<Vec<ChangeRow>, StoreError>;

    /// Commits the transaction.
    async fn finish(self) -> Result<(), StoreError>;
}

/// Where a change row is in the trail (seq, idx), and the key it changed.
pub(crate) type ChangeRow = ((u64, u64), ObjectRef);

pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::corrupt(format!("{what} is negative ({value})")))
}

pub(crate) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::Unsupported(format!("{value} does not fit a database integer")))
}
