//! Reading the audit trail back: listing events, and verifying the hash chain.

use super::packed::{self, Col, Values};
use super::read_head;
use crate::dialect::{to_i64, to_u64};
use crate::chain::{Broken, Verifier};
use crate::{
    AuditAnchor, AuditChange, AuditEvent, AuditFilter, AuditVerification, Layer, StoreError,
    codec,
};
use futures_util::TryStreamExt;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::{HashMap, VecDeque};
use warden_model::{ObjectRef, Timestamp};

const SEQS_PER_SELECT: usize = 10_000;
const EVENTS_PER_PAGE: i64 = 1_000;
/// Change pages aim at this many bytes of before/after text.
const PAGE_BYTES: usize = 8 << 20;
const MIN_CHANGES_PER_PAGE: usize = 100;
const MAX_CHANGES_PER_PAGE: usize = 5_000;

pub(super) async fn events(
    conn: &mut SqliteConnection,
    filter: &AuditFilter,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT seq, revision, at, actor, action, origin, summary, prev_hash, hash FROM audit_events WHERE 1 = 1",
    );
    if let Some(after) = filter.after_seq {
        q.push(" AND seq > ").push_bind(to_i64(after)?);
    }
    if let Some(since) = filter.since {
        q.push(" AND at >= ").push_bind(since.0);
    }
    if let Some(actor) = &filter.actor {
        q.push(" AND actor = ").push_bind(actor.as_str());
    }
    if let Some(object) = &filter.object {
        q.push(" AND seq IN (SELECT seq FROM audit_changes WHERE kind = ")
            .push_bind(object.kind.code())
            .push(" AND key = ")
            .push_bind(object.name.as_str())
            .push(")");
    }
    q.push(" ORDER BY seq");
    if let Some(limit) = filter.limit {
        q.push(" LIMIT ")
            .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
    }
    let mut events = Vec::new();
    {
        let mut rows = q.build().fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
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
    }
    if filter.include_changes && !events.is_empty() {
        let position: HashMap<u64, usize> =
            events.iter().enumerate().map(|(i, e)| (e.seq, i)).collect();
        let seqs: Vec<i64> = events
            .iter()
            .map(|e| to_i64(e.seq))
            .collect::<Result<_, _>>()?;
        for chunk in seqs.chunks(SEQS_PER_SELECT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT seq, idx, kind, key, layer, before, after FROM audit_changes WHERE seq IN (",
            );
            let mut list = q.separated(", ");
            for seq in chunk {
                list.push_bind(*seq);
            }
            q.push(")");
            if let Some(object) = &filter.object {
                q.push(" AND kind = ")
                    .push_bind(object.kind.code())
                    .push(" AND key = ")
                    .push_bind(object.name.as_str());
            }
            q.push(" ORDER BY seq, idx");
            let mut rows = q.build().fetch(&mut *conn);
            while let Some(row) = rows.try_next().await? {
                let (seq, change) = change_from_row(&row)?;
                if let Some(&i) = position.get(&seq) {
                    events[i].changes.push(change);
                }
            }
        }
    }
    Ok(events)
}

fn change_from_row(row: &SqliteRow) -> Result<(u64, AuditChange), StoreError> {
    let seq = to_u64(row.try_get("seq")?, "an audit change's seq")?;
    let code: &str = row.try_get("kind")?;
    let key: &str = row.try_get("key")?;
    let kind = codec::kind(code, key)?;
    let layer_code: &str = row.try_get("layer")?;
    let layer = Layer::from_code(layer_code).ok_or_else(|| {
        StoreError::corrupt(format!(
            "audit event {seq} names unknown layer {layer_code:?}"
        ))
    })?;
    // Events written before credentials were redacted still hold their hashes.
    let side = |column: &str| -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<&str> = row.try_get(column)?;
        text.map(|t| {
            let mut body = codec::json(t, || {
                format!("the {column} of {kind} {key} in audit event {seq}")
            })?;
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
    async fn next(&mut self, conn: &mut SqliteConnection) -> Result<Option<EventRow>, StoreError> {
        if self.buffered.is_empty() && !self.exhausted {
            let rows = sqlx::query(
                "SELECT seq, revision, at, actor, action, summary, change_count, prev_hash, hash, origin \
                 FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?",
            )
            .bind(self.after)
            .bind(EVENTS_PER_PAGE)
            .fetch_all(&mut *conn)
            .await?;
            self.exhausted = rows.len() < EVENTS_PER_PAGE as usize;
            for row in rows {
                let seq: i64 = row.try_get(0)?;
                self.after = seq;
                self.buffered.push_back(EventRow {
                    seq: to_u64(seq, "an audit event's seq")?,
                    revision: to_u64(row.try_get(1)?, "an audit event's revision")?,
                    at: row.try_get(2)?,
                    actor: row.try_get(3)?,
                    action: row.try_get(4)?,
                    summary: row.try_get(5)?,
                    change_count: to_u64(row.try_get(6)?, "an audit event's change count")?,
                    prev_hash: row.try_get(7)?,
                    hash: row.try_get(8)?,
                    origin: row.try_get(9)?,
                });
            }
        }
        Ok(self.buffered.pop_front())
    }
}

const CHANGE_COLUMNS: [Col; 7] = [
    Col::Int("seq"),
    Col::Int("idx"),
    Col::Text("kind"),
    Col::Text("key"),
    Col::Text("layer"),
    Col::Text("before"),
    Col::Text("after"),
];

/// Walks every event and every change row in order, in one read transaction, and
/// lets the [`Verifier`] judge them. Change rows are read in packed pages and
/// events fetched as the changes reach them, so a trail of millions of changes
/// streams through in bounded memory.
pub(super) async fn verify(
    conn: &mut SqliteConnection,
    anchor: Option<&AuditAnchor>,
) -> Result<AuditVerification, StoreError> {
    let head = read_head(conn).await?;
    let mut verifier = Verifier::new(anchor);
    let mut events = Events::default();
    let mut current: Option<u64> = None;
    // Change rows left after the last event: the trail lost its end.
    let mut orphan: Option<u64> = None;
    let mut cursor = (0i64, -1i64);
    let mut limit = MAX_CHANGES_PER_PAGE;
    'pages: loop {
        let mut q = packed::select(&CHANGE_COLUMNS);
        q.push(
            "(SELECT seq, idx, kind, key, layer, before, after FROM audit_changes WHERE (seq, idx) > (",
        )
        .push_bind(cursor.0)
        .push(", ")
        .push_bind(cursor.1)
        .push(") ORDER BY seq, idx LIMIT ")
        .push_bind(to_i64(limit as u64)?)
        .push(")");
        let row = q.build().fetch_one(&mut *conn).await?;
        let (count, values) = packed::unpack(&row, &CHANGE_COLUMNS)?;
        let [
            Values::Int(seqs),
            Values::Int(idxs),
            Values::Text(kinds),
            Values::Text(keys),
            Values::Text(layers),
            Values::Text(befores),
            Values::Text(afters),
        ] = values.as_slice()
        else {
            return Err(StoreError::corrupt(
                "a packed read of audit changes came back in the wrong shape",
            ));
        };
        let mut bytes = 0;
        for i in 0..count {
            cursor = cursor.max((seqs[i], idxs[i]));
            let seq = to_u64(seqs[i], "an audit change's seq")?;
            // Open the events up to the one this change belongs to.
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
                return Ok(Broken {
                    seq,
                    reason: format!("change rows of event {seq} are out of place"),
                }
                .into());
            }
            let (Some(kind), Some(key), Some(layer)) = (kinds[i], keys[i], layers[i]) else {
                return Ok(Broken {
                    seq,
                    reason: format!("a change of event {seq} names no object"),
                }
                .into());
            };
            let idx = to_u64(idxs[i], "an audit change's index")?;
            let (before, after) = (befores[i], afters[i]);
            bytes += before.map_or(0, str::len) + after.map_or(0, str::len);
            if let Err(broken) = verifier.change(idx, kind, key, layer, before, after) {
                return Ok(broken.into());
            }
        }
        if count < limit {
            break;
        }
        limit =
            (PAGE_BYTES * count / bytes.max(1)).clamp(MIN_CHANGES_PER_PAGE, MAX_CHANGES_PER_PAGE);
    }
    // The events after the last change row.
    if orphan.is_none() {
        while let Some(event) = events.next(conn).await? {
            if let Err(broken) = event.feed(&mut verifier) {
                return Ok(broken.into());
            }
        }
    }
    Ok(verifier.finish(&head, orphan).unwrap_or_else(Into::into))
}
