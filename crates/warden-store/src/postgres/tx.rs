//! PostgreSQL's SQL for the shared commit protocol and delta feed (see
//! `crate::dialect`). Commits serialize on a row lock of `meta`; bulk writes
//! bind whole columns as arrays (`UNNEST`), one statement per chunk.

use super::{CHANNEL, PgStore, read_head, snapshot};
use crate::chain::{EventHeader, Head};
use crate::dialect::{ChangeRow, Dialect, Tx, to_i64, to_u64};
use crate::diff::{Effect, Found, Plan};
use crate::layers::{Row as LayerRow, layer_for};
use crate::{ActivityPurge, IdempotencyRecord, Layer, Revision, StoreError};
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, QueryBuilder, Row, Transaction};
use std::collections::HashMap;
use warden_model::{ObjectKind, ObjectRef};

/// Rows per bulk statement: large enough to amortize a round trip, small
/// enough to keep one message in the tens of megabytes.
const ROWS_PER_STATEMENT: usize = 10_000;

/// The first event after a revision, found by `audit_events_revision`. The
/// `ORDER BY ... LIMIT` forms keep these index scans even where the planner
/// has no statistics (autovacuum off, or just after an import).
const FIRST_EVENT_AFTER: &str = "SELECT seq FROM audit_events WHERE revision > $1 ORDER BY revision LIMIT 1";

/// A page of the change trail, along its primary key.
const CHANGES_PAGE: &str =
    "SELECT seq, idx, kind, key FROM audit_changes WHERE (seq, idx) >= ($1, $2) ORDER BY seq, idx LIMIT $3";

#[async_trait::async_trait]
impl Dialect for PgStore {
    type Tx = Transaction<'static, Postgres>;

    async fn begin_write(&self) -> Result<Self::Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }

    async fn begin_snapshot(&self) -> Result<Self::Tx, StoreError> {
        snapshot(&self.pool).await
    }
}

#[async_trait::async_trait]
impl Tx for Transaction<'static, Postgres> {
    async fn head(&mut self) -> Result<Head, StoreError> {
        read_head(self, false).await
    }

    /// The row lock serializes commits across every replica on this database.
    async fn lock_head(&mut self) -> Result<Head, StoreError> {
        read_head(self, true).await
    }

    async fn key_rows(&mut self, kind: ObjectKind, keys: &[&str]) -> Result<Vec<(String, LayerRow)>, StoreError> {
        key_rows(self, kind, keys).await
    }

    async fn fetch_found(&mut self, plan: &Plan, commit_layer: Layer) -> Result<Vec<Option<Found>>, StoreError> {
        let mut found = vec![None; plan.len()];
        for kind in plan.kinds().into_keys() {
            let layer = layer_for(commit_layer, kind);
            let keys = plan.keys_of(kind);
            let names: Vec<&str> = keys.keys().copied().collect();
            for chunk in names.chunks(ROWS_PER_STATEMENT) {
                let rows = sqlx::query(
                    "SELECT key, version, body FROM objects WHERE kind = $1 AND layer = $2 AND key = ANY($3)",
                )
                .bind(kind.code())
                .bind(layer.code())
                .bind(chunk)
                .fetch_all(&mut **self)
                .await?;
                for row in &rows {
                    let key: &str = row.try_get("key")?;
                    if let Some(&i) = keys.get(key) {
                        found[i] = Some(plan.observe(i, row.try_get("version")?, row.try_get("body")?));
                    }
                }
            }
        }
        Ok(found)
    }

    async fn write_objects(&mut self, effects: &[Effect], layer: Layer, revision: i64) -> Result<(), StoreError> {
        let puts: Vec<&Effect> = effects.iter().filter(|e| e.after.is_some()).collect();
        for chunk in puts.chunks(ROWS_PER_STATEMENT) {
            let kinds: Vec<&str> = chunk.iter().map(|e| e.object.kind.code()).collect();
            let layers: Vec<&str> = chunk.iter().map(|e| layer_for(layer, e.object.kind).code()).collect();
            let keys: Vec<&str> = chunk.iter().map(|e| e.object.name.as_str()).collect();
            let bodies: Vec<&str> = chunk.iter().map(|e| e.after.as_deref().unwrap_or_default()).collect();
            let versions: Vec<i64> = chunk.iter().map(|e| e.version).collect();
            sqlx::query(
                "INSERT INTO objects (kind, layer, key, body, version, revision) \
                 SELECT k, l, n, b, v, $6 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS t(k, l, n, b, v) \
                 ON CONFLICT (kind, layer, key) DO UPDATE SET body = excluded.body, version = excluded.version, revision = excluded.revision",
            )
            .bind(&kinds)
            .bind(&layers)
            .bind(&keys)
            .bind(&bodies)
            .bind(&versions)
            .bind(revision)
            .execute(&mut **self)
            .await?;
        }
        let mut deletes: HashMap<ObjectKind, Vec<&str>> = HashMap::new();
        for e in effects.iter().filter(|e| e.after.is_none()) {
            deletes.entry(e.object.kind).or_default().push(&e.object.name);
        }
        for (kind, keys) in deletes {
            for chunk in keys.chunks(ROWS_PER_STATEMENT) {
                sqlx::query("DELETE FROM objects WHERE kind = $1 AND layer = $2 AND key = ANY($3)")
                    .bind(kind.code())
                    .bind(layer_for(layer, kind).code())
                    .bind(chunk)
                    .execute(&mut **self)
                    .await?;
            }
        }
        Ok(())
    }

    async fn write_audit_changes(&mut self, seq: i64, effects: &[Effect], layer: Layer) -> Result<(), StoreError> {
        let indexed: Vec<(i64, &Effect)> = (0..).zip(effects).collect();
        for chunk in indexed.chunks(ROWS_PER_STATEMENT) {
            let idxs: Vec<i64> = chunk.iter().map(|(i, _)| *i).collect();
            let kinds: Vec<&str> = chunk.iter().map(|(_, e)| e.object.kind.code()).collect();
            let keys: Vec<&str> = chunk.iter().map(|(_, e)| e.object.name.as_str()).collect();
            let layers: Vec<&str> = chunk.iter().map(|(_, e)| layer_for(layer, e.object.kind).code()).collect();
            let befores: Vec<Option<&str>> = chunk.iter().map(|(_, e)| e.before.as_deref()).collect();
            let afters: Vec<Option<&str>> = chunk.iter().map(|(_, e)| e.audit_after()).collect();
            sqlx::query(
                "INSERT INTO audit_changes (seq, idx, kind, key, layer, before, after) \
                 SELECT $1, i, k, n, l, b, a FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS t(i, k, n, l, b, a)",
            )
            .bind(seq)
            .bind(&idxs)
            .bind(&kinds)
            .bind(&keys)
            .bind(&layers)
            .bind(&befores)
            .bind(&afters)
            .execute(&mut **self)
            .await?;
        }
        Ok(())
    }

    async fn purge_activity(&mut self, p: &ActivityPurge) -> Result<(), StoreError> {
        let mut q = QueryBuilder::<Postgres>::new("DELETE FROM activity WHERE \"user\" = ");
        q.push_bind(p.user.as_str()).push(" AND at >= ").push_bind(p.since.0).push(" AND at < ").push_bind(p.until.0);
        if !p.kinds.is_empty() {
            q.push(" AND kind = ANY(").push_bind(p.kinds.as_slice()).push(")");
        }
        q.build().execute(&mut **self).await?;
        Ok(())
    }

    /// A concurrent insert of the same key waits for the other transaction
    /// (unique index) and then sees its row.
    async fn record_idempotency(&mut self, record: &IdempotencyRecord, revision: i64) -> Result<(), StoreError> {
        let response = record.response.as_ref();
        let written = sqlx::query(
            "INSERT INTO idempotency (scope, key, fingerprint, created, expires, revision, status, headers, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, created = excluded.created, \
             expires = excluded.expires, revision = excluded.revision, status = excluded.status, headers = excluded.headers, body = excluded.body \
             WHERE idempotency.expires <= excluded.created",
        )
        .bind(&record.scope)
        .bind(&record.key)
        .bind(&record.fingerprint)
        .bind(record.created.0)
        .bind(record.expires.0)
        .bind(revision)
        .bind(response.map(|r| i32::from(r.status)))
        .bind(response.map(crate::idempotency::headers_text))
        .bind(response.map(|r| r.body.as_slice()))
        .execute(&mut **self)
        .await?;
        if written.rows_affected() == 0 {
            return Err(StoreError::IdempotencyKeyInUse { key: record.key.clone() });
        }
        // Opportunistic clean-up: one indexed range delete per keyed write.
        sqlx::query("DELETE FROM idempotency WHERE expires <= $1").bind(record.created.0).execute(&mut **self).await?;
        Ok(())
    }

    async fn append_event(&mut self, event: &EventHeader<'_>, prev_hash: &str, hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_events (seq, revision, at, actor, action, origin, summary, change_count, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(to_i64(event.seq)?)
        .bind(to_i64(event.revision)?)
        .bind(event.at)
        .bind(event.actor)
        .bind(event.action)
        .bind(event.origin)
        .bind(event.summary)
        .bind(to_i64(event.change_count)?)
        .bind(prev_hash)
        .bind(hash)
        .execute(&mut **self)
        .await?;
        Ok(())
    }

    async fn set_head(&mut self, head: &Head) -> Result<(), StoreError> {
        sqlx::query("UPDATE meta SET revision = $1, audit_seq = $2, audit_hash = $3 WHERE singleton = 1")
            .bind(to_i64(head.revision)?)
            .bind(to_i64(head.audit_seq)?)
            .bind(&head.audit_hash)
            .execute(&mut **self)
            .await?;
        Ok(())
    }

    /// Delivered at commit, and only if the transaction commits.
    async fn announce(&mut self, revision: Revision) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(revision.to_string()).execute(&mut **self).await?;
        Ok(())
    }

    async fn first_event_after(&mut self, since: Revision) -> Result<Option<u64>, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar(FIRST_EVENT_AFTER).bind(to_i64(since)?).fetch_optional(&mut **self).await?;
        seq.map(|s| to_u64(s, "an audit event's seq")).transpose()
    }

    async fn changes_page(&mut self, from: (u64, u64), limit: usize) -> Result<Vec<ChangeRow>, StoreError> {
        let rows = sqlx::query(CHANGES_PAGE)
            .bind(to_i64(from.0)?)
            .bind(to_i64(from.1)?)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut **self)
            .await?;
        rows.iter()
            .map(|row| {
                let seq = to_u64(row.try_get("seq")?, "an audit change's seq")?;
                let idx = to_u64(row.try_get("idx")?, "an audit change's index")?;
                let key: String = row.try_get("key")?;
                Ok(((seq, idx), ObjectRef::new(crate::codec::kind(row.try_get("kind")?, &key)?, key)))
            })
            .collect()
    }

    async fn finish(self) -> Result<(), StoreError> {
        Ok(self.commit().await?)
    }
}

/// Both layers' rows of some keys of one kind, each with its key.
pub(super) async fn key_rows(
    conn: &mut PgConnection,
    kind: ObjectKind,
    keys: &[&str],
) -> Result<Vec<(String, LayerRow)>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        // Both layers named, so that the primary key (kind, layer, key) finds the rows.
        let rows = sqlx::query(
            "SELECT key, layer, body, revision FROM objects \
             WHERE kind = $1 AND layer IN ('code', 'database') AND key = ANY($2)",
        )
        .bind(kind.code())
        .bind(chunk)
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let layer_row = LayerRow {
                layer: row.try_get("layer")?,
                body: row.try_get("body")?,
                revision: to_u64(row.try_get("revision")?, "an object's revision")?,
            };
            found.push((row.try_get("key")?, layer_row));
        }
    }
    Ok(found)
}
