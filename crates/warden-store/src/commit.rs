//! The one commit protocol (see [`crate::Store::commit`]), written once over a
//! backend's [`Dialect`]: plan, lock, check the expected revision and the
//! preconditions, diff, write the objects, the audit event and its changes,
//! purge activity, record the idempotency key, move the head.

use crate::chain::{EventHeader, Head};
use crate::dialect::{Dialect, Tx, to_i64};
use crate::diff::Plan;
use crate::{Commit, DEFAULT_ORIGIN, Precondition, Revision, StoreError};
use warden_model::Timestamp;

/// Change sets at least this large are planned on a blocking thread.
const OFFLOAD_MIN_CHANGES: usize = 5_000;

pub(crate) async fn commit<D: Dialect>(dialect: &D, commit: Commit) -> Result<Revision, StoreError> {
    let Commit {
        actor,
        action,
        origin,
        summary,
        layer,
        changes,
        expected_revision,
        preconditions,
        purge_activity,
        idempotency,
    } = commit;
    crate::layers::check_changes(layer, &changes)?;
    let origin = if origin.is_empty() { DEFAULT_ORIGIN.to_string() } else { origin };
    let summary = summary.to_string();
    // The CPU-heavy steps run before the write lock is taken and, for a bulk
    // change, off the async runtime's worker threads.
    let large = changes.len() >= OFFLOAD_MIN_CHANGES;
    let plan = off_runtime(large, move || Plan::new(changes)).await??;

    let mut tx = dialect.begin_write().await?;
    let head = tx.lock_head().await?;
    if let Some(expected) = expected_revision
        && expected != head.revision
    {
        return Err(StoreError::Conflict { expected, actual: head.revision });
    }
    check_preconditions(&mut tx, &preconditions).await?;
    let found = tx.fetch_found(&plan, layer).await?;
    let effects = off_runtime(large, move || plan.finish(found)).await??;

    let revision = head.revision + 1;
    let seq = head.audit_seq + 1;
    let header = EventHeader {
        seq,
        revision,
        at: Timestamp::now().0,
        actor: &actor,
        action: &action,
        origin: &origin,
        summary: &summary,
        change_count: effects.len() as u64,
    };
    let hash = crate::diff::event_hash(&head.audit_hash, &header, &effects, layer);

    let (db_revision, db_seq) = (to_i64(revision)?, to_i64(seq)?);
    tx.write_objects(&effects, layer, db_revision).await?;
    tx.write_audit_changes(db_seq, &effects, layer).await?;
    for purge in &purge_activity {
        tx.purge_activity(purge).await?;
    }
    if let Some(record) = &idempotency {
        tx.record_idempotency(record, db_revision).await?;
    }
    tx.append_event(&header, &head.audit_hash, &hash).await?;
    tx.set_head(&Head { revision, audit_seq: seq, audit_hash: hash }).await?;
    tx.announce(revision).await?;
    tx.finish().await?;
    Ok(revision)
}

/// Checked in order, inside the write transaction: the first stale one refuses the commit.
async fn check_preconditions(tx: &mut impl Tx, preconditions: &[Precondition]) -> Result<(), StoreError> {
    for p in preconditions {
        let rows: Vec<_> = tx
            .key_rows(p.object.kind, &[p.object.name.as_str()])
            .await?
            .into_iter()
            .map(|(_, row)| row)
            .collect();
        crate::layers::check(p, &rows)?;
    }
    Ok(())
}

/// Runs `work` on tokio's blocking pool when it is `heavy`, so that a bulk import
/// does not stall the other tasks of a server; inline otherwise.
async fn off_runtime<T: Send + 'static>(
    heavy: bool,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    if !heavy {
        return Ok(work());
    }
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => Ok(value),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => Err(StoreError::Database(sqlx::Error::Io(std::io::Error::other(e)))),
        },
    }
}
