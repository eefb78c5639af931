//! Reading the audit trail back from PostgreSQL: listing events, and walking
//! the hash chain for verification in bounded memory.

use crate::dialect::{to_i64, to_u64};
use crate::chain::{Broken, Head, Verifier};
use crate::{
    AuditAnchor, AuditChange, AuditEvent, AuditFilter, AuditVerification, Layer, StoreError, codec,
};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};
use std::collections::{HashMap, VecDeque};
use warden_model::{ObjectRef, Timestamp};

const EVENTS_PER_PAGE: i64 = 1_000;
const CHANGES_PER_PAGE: i64 = 2_000;

pub(super) async fn events(
    conn: &mut PgConnection,
    filter: &AuditFilter,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut q = QueryBuilder::<Postgres>::new(
        "SELECT seq, revision, at, actor, action, origin, summary, prev_hash, hash FROM audit_events WHERE TRUE",
    );
    if let Some(after) = filter.after_seq {
        q.push(" AND seq > ").push_bind(to_i64(after)?);
    }
    if let Some(since) = filter.since {
        q.push(" AND at >= ").push_bind(since.0);
    }
    if let Some(actor) = &filter.actor {
        q.push(" AND actor = ").push_bind(actor.clone());
    }
    if let Some(object) = &filter.object {
        q.push(" AND seq IN (SELECT seq FROM audit_changes WHERE kind = ")
            .push_bind(object.kind.code())
            .push(" AND key = ")
            .push_bind(object.name.clone())
            .push(")");
    }
    q.push(" ORDER BY seq");
    if let Some(limit) = filter.limit {
        q.push(" LIMIT ").push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
    }
    let rows = q.build().fetch_all(&mut *conn).await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let seq = to_u64(row.try_get("seq")?, "an audit event's seq")?;
        let summary: &str = row.try_get("summary")?;
        events.push(AuditEvent {
            seq,
            revision: to_u64(row.try_get("revision")?, "an audit event's revision")?,
            at: Timestamp(row.try_get("at")?),
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            origin: row.try_get("origin")?,
            summary: codec::json(summary, || format!("the summary of audit event {seq}"))?,
            changes: Vec::new(),
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        });
    }
    if filter.include_changes && !events.is_empty() {
        let position: HashMap<u64, usize> = events.iter().enumerate().map(|(i, e)| (e.seq, i)).collect();
        let seqs: Vec<i64> = events.iter().map(|e| to_i64(e.seq)).collect::<Result<_, _>>()?;
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT seq, idx, kind, key, layer, before, after FROM audit_changes WHERE seq = ANY(",
        );
        q.push_bind(seqs).push(")");
        if let Some(object) = &filter.object {
            q.push(" AND kind = ")
                .push_bind(object.kind.code())
                .push(" AND key = ")
                .push_bind(object.name.clone());
        }
        q.push(" ORDER BY seq, idx");
        for row in q.build().fetch_all(&mut *conn).await? {
            let (seq, change) = change_from_row(&row)?;
            if let Some(&i) = position.get(&seq) {
                events[i].changes.push(change);
            }
        }
    }
    Ok(events)
}

fn change_from_row(row: &PgRow) -> Result<(u64, AuditChange), StoreError> {
    let seq = to_u64(row.try_get("seq")?, "an audit change's seq")?;
    let code: &str = row.try_get("kind")?;
    let key: &str = row.try_get("key")?;
    let kind = codec::kind(code, key)?;
    let layer_code: &str = row.try_get("layer")?;
    let layer = Layer::from_code(layer_code).ok_or_else(|| {
        StoreError::corrupt(format!("audit event {seq} names unknown layer {layer_code:?}"))
    })?;
    // Events written before credentials were redacted still hold their hashes.
    let side = |column: &str| -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<&str> = row.try_get(column)?;
        text.map(|t| {
            let mut body = codec::json(t, || format!("the {column} of {kind} {key} in audit event {seq}"))?;
            crate::redact::audit_view(kind, &mut body);
            Ok(body)
        })
        .transpose()
    };
    let change = AuditChange {
        object: ObjectRef::new(kind, key),
        layer,
        before: side("before")?,
        after: side("after")?,
    };
    Ok((seq, change))
}

use crate::chain::StoredEvent as EventRow;

/// Events in sequence order, fetched a page at a time.
#[derive(Default)]
struct Events {
    buffered: VecDeque<EventRow>,
    after: i64,
    exhausted: bool,
}

impl Events {
    async fn next(&mut self, conn: &mut PgConnection) -> Result<Option<EventRow>, StoreError> {
        if self.buffered.is_empty() && !self.exhausted {
            let rows = sqlx::query(
                "SELECT seq, revision, at, actor, action, origin, summary, change_count, prev_hash, hash \
                 FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(self.after)
            .bind(EVENTS_PER_PAGE)
            .fetch_all(&mut *conn)
            .await?;
            self.exhausted = rows.len() < EVENTS_PER_PAGE as usize;
            for row in rows {
                let seq: i64 = row.try_get("seq")?;
                self.after = seq;
                self.buffered.push_back(EventRow {
                    seq: to_u64(seq, "an audit event's seq")?,
                    revision: to_u64(row.try_get("revision")?, "an audit event's revision")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    origin: row.try_get("origin")?,
                    summary: row.try_get("summary")?,
                    change_count: to_u64(row.try_get("change_count")?, "an audit event's change count")?,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                });
            }
        }
        Ok(self.buffered.pop_front())
    }
}

/// Walks every event and every change row in order, as the SQLite backend
/// does, and lets the [`Verifier`] judge them.
pub(super) async fn verify(
    conn: &mut PgConnection,
    head: &Head,
    anchor: Option<&AuditAnchor>,
) -> Result<AuditVerification, StoreError> {
    let mut verifier = Verifier::new(anchor);
    let mut events = Events::default();
    let mut current: Option<u64> = None;
    let mut orphan: Option<u64> = None;
    let mut cursor = (0i64, -1i64);
    'pages: loop {
        let rows = sqlx::query(
            "SELECT seq, idx, kind, key, layer, before, after FROM audit_changes \
             WHERE (seq, idx) > ($1, $2) ORDER BY seq, idx LIMIT $3",
        )
        .bind(cursor.0)
        .bind(cursor.1)
        .bind(CHANGES_PER_PAGE)
        .fetch_all(&mut *conn)
        .await?;
        let count = rows.len();
        for row in rows {
            let (seq_i, idx_i): (i64, i64) = (row.try_get("seq")?, row.try_get("idx")?);
            cursor = (seq_i, idx_i);
            let seq = to_u64(seq_i, "an audit change's seq")?;
            while current.is_none_or(|c| c < seq) {
                let Some(event) = events.next(conn).await? else {
                    orphan = Some(seq);
                    break 'pages;
                };
                if let Err(broken) = event.feed(&mut verifier) {
                    return Ok(broken.into());
                }
                current = Some(event.seq);
            }
            if current != Some(seq) {
                return Ok(Broken { seq, reason: format!("change rows of event {seq} are out of place") }.into());
            }
            let idx = to_u64(idx_i, "an audit change's index")?;
            let kind: &str = row.try_get("kind")?;
            let key: &str = row.try_get("key")?;
            let layer: &str = row.try_get("layer")?;
            let before: Option<&str> = row.try_get("before")?;
            let after: Option<&str> = row.try_get("after")?;
            if let Err(broken) = verifier.change(idx, kind, key, layer, before, after) {
                return Ok(broken.into());
            }
        }
        if count < CHANGES_PER_PAGE as usize {
            break;
        }
    }
    if orphan.is_none() {
        while let Some(event) = events.next(conn).await? {
            if let Err(broken) = event.feed(&mut verifier) {
                return Ok(broken.into());
            }
        }
    }
    Ok(verifier.finish(head, orphan).unwrap_or_else(Into::into))
}
