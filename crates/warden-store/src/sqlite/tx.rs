//! SQLite's SQL for the shared commit protocol and delta feed (see
//! `crate::dialect`). Commits begin with `BEGIN IMMEDIATE`: SQLite's write
//! lock, taken before the revision is read, serializes them across processes.

use super::{SqliteStore, read_head, rows};
use crate::chain::{EventHeader, Head};
use crate::dialect::{ChangeRow, Dialect, Tx, to_i64, to_u64};
use crate::diff::{Effect, Found, Plan};
use crate::layers::{Row as LayerRow, layer_for};
use crate::{ActivityPurge, IdempotencyRecord, Layer, Revision, StoreError};
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::collections::HashMap;
use warden_model::{ObjectKind, ObjectRef};

/// SQLite allows 32,766 bound parameters per statement; these keep each bulk
/// statement under that.
const KEYS_PER_DELETE: usize = 10_000;
const KEYS_PER_SELECT: usize = 2_000;
const ROWS_PER_UPSERT: usize = 32_766 / 6;
const ROWS_PER_AUDIT_INSERT: usize = 32_766 / 7;

/// The first event after a revision, found by `audit_events_revision`.
const FIRST_EVENT_AFTER: &str = "SELECT seq FROM audit_events WHERE revision > ? ORDER BY revision LIMIT 1";

/// A page of the change trail, along its primary key.
const CHANGES_PAGE: &str =
    "SELECT seq, idx, kind, key FROM audit_changes WHERE (seq, idx) >= (?, ?) ORDER BY seq, idx LIMIT ?";

#[async_trait::async_trait]
impl Dialect for SqliteStore {
    type Tx = Transaction<'static, Sqlite>;

    async fn begin_write(&self) -> Result<Self::Tx, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// In WAL mode a read transaction sees the snapshot its first read found.
    async fn begin_snapshot(&self) -> Result<Self::Tx, StoreError> {
        Ok(self.reader.begin().await?)
    }
}

#[async_trait::async_trait]
impl Tx for Transaction<'static, Sqlite> {
    async fn head(&mut self) -> Result<Head, StoreError> {
        read_head(self).await
    }

    async fn key_rows(&mut self, kind: ObjectKind, keys: &[&str]) -> Result<Vec<(String, LayerRow)>, StoreError> {
        key_rows(self, kind, keys).await
    }

    async fn fetch_found(&mut self, plan: &Plan, layer: Layer) -> Result<Vec<Option<Found>>, StoreError> {
        rows::fetch_found(self, plan, layer).await
    }

    async fn write_objects(&mut self, effects: &[Effect], layer: Layer, revision: i64) -> Result<(), StoreError> {
        // Upserts in key order touch the primary-key index sequentially.
        let mut puts: Vec<(&Effect, &str)> = effects.iter().filter_map(|e| e.after.as_deref().map(|a| (e, a))).collect();
        puts.sort_unstable_by(|a, b| a.0.object.cmp(&b.0.object));
        for chunk in puts.chunks(ROWS_PER_UPSERT) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO objects (kind, layer, key, body, version, revision) ");
            q.push_values(chunk, |mut row, (effect, body)| {
                row.push_bind(effect.object.kind.code())
                    .push_bind(layer_for(layer, effect.object.kind).code())
                    .push_bind(effect.object.name.as_str())
                    .push_bind(*body)
                    .push_bind(effect.version)
                    .push_bind(revision);
            });
            q.push(" ON CONFLICT (kind, layer, key) DO UPDATE SET body = excluded.body, version = excluded.version, revision = excluded.revision");
            q.build().execute(&mut **self).await?;
        }
        let mut deletes: HashMap<ObjectKind, Vec<&str>> = HashMap::new();
        for effect in effects.iter().filter(|e| e.after.is_none()) {
            deletes.entry(effect.object.kind).or_default().push(&effect.object.name);
        }
        for (kind, keys) in deletes {
            for chunk in keys.chunks(KEYS_PER_DELETE) {
                let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM objects WHERE kind = ");
                q.push_bind(kind.code()).push(" AND layer = ").push_bind(layer_for(layer, kind).code()).push(" AND key IN (");
                let mut list = q.separated(", ");
                for key in chunk {
                    list.push_bind(*key);
                }
                q.push(")");
                q.build().execute(&mut **self).await?;
            }
        }
        Ok(())
    }

    async fn write_audit_changes(&mut self, seq: i64, effects: &[Effect], layer: Layer) -> Result<(), StoreError> {
        let indexed: Vec<(i64, &Effect)> = (0..).zip(effects).collect();
        for chunk in indexed.chunks(ROWS_PER_AUDIT_INSERT) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO audit_changes (seq, idx, kind, key, layer, before, after) ");
            q.push_values(chunk, |mut row, (idx, effect)| {
                row.push_bind(seq)
                    .push_bind(*idx)
                    .push_bind(effect.object.kind.code())
                    .push_bind(effect.object.name.as_str())
                    .push_bind(layer_for(layer, effect.object.kind).code())
                    .push_bind(effect.before.as_deref())
                    .push_bind(effect.audit_after());
            });
            q.build().execute(&mut **self).await?;
        }
        Ok(())
    }

    async fn purge_activity(&mut self, p: &ActivityPurge) -> Result<(), StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM activity WHERE user = ");
        q.push_bind(p.user.as_str()).push(" AND at >= ").push_bind(p.since.0).push(" AND at < ").push_bind(p.until.0);
        if !p.kinds.is_empty() {
            q.push(" AND kind IN (");
            let mut list = q.separated(", ");
            for kind in &p.kinds {
                list.push_bind(kind.as_str());
            }
            q.push(")");
        }
        q.build().execute(&mut **self).await?;
        Ok(())
    }

    async fn record_idempotency(&mut self, record: &IdempotencyRecord, revision: i64) -> Result<(), StoreError> {
        let response = record.response.as_ref();
        let written = sqlx::query(
            "INSERT INTO idempotency (scope, key, fingerprint, created, expires, revision, status, headers, body) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
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
        .bind(response.map(|r| i64::from(r.status)))
        .bind(response.map(crate::idempotency::headers_text))
        .bind(response.map(|r| r.body.as_slice()))
        .execute(&mut **self)
        .await?;
        if written.rows_affected() == 0 {
            return Err(StoreError::IdempotencyKeyInUse { key: record.key.clone() });
        }
        // Opportunistic clean-up: one indexed range delete per keyed write.
        sqlx::query("DELETE FROM idempotency WHERE expires <= ?").bind(record.created.0).execute(&mut **self).await?;
        Ok(())
    }

    async fn append_event(&mut self, event: &EventHeader<'_>, prev_hash: &str, hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_events (seq, revision, at, actor, action, origin, summary, change_count, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        sqlx::query("UPDATE meta SET revision = ?, audit_seq = ?, audit_hash = ? WHERE singleton = 1")
            .bind(to_i64(head.revision)?)
            .bind(to_i64(head.audit_seq)?)
            .bind(&head.audit_hash)
            .execute(&mut **self)
            .await?;
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
    conn: &mut SqliteConnection,
    kind: ObjectKind,
    keys: &[&str],
) -> Result<Vec<(String, LayerRow)>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(KEYS_PER_SELECT) {
        // Both layers named, so that the lookup is two seeks per key in the primary key.
        let mut q = QueryBuilder::<Sqlite>::new("SELECT key, layer, body, revision FROM objects WHERE kind = ");
        q.push_bind(kind.code()).push(" AND layer IN ('code', 'database') AND key IN (");
        let mut list = q.separated(", ");
        for key in chunk {
            list.push_bind(*key);
        }
        q.push(")");
        for row in q.build().fetch_all(&mut *conn).await? {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan for `sql`, one step a line.
    async fn plan(store: &SqliteStore, sql: &str) -> Vec<String> {
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
            .bind(1)
            .bind(0)
            .bind(10)
            .fetch_all(&store.reader)
            .await
            .unwrap();
        rows.into_iter().map(|r| r.3).collect()
    }

    /// A follower a few commits behind costs a few index entries, not a scan
    /// of the trail.
    #[tokio::test]
    async fn the_delta_feed_seeks_the_trail() {
        let store = SqliteStore::in_memory().await.unwrap();
        assert_eq!(plan(&store, FIRST_EVENT_AFTER).await, ["SEARCH audit_events USING COVERING INDEX audit_events_revision (revision>?)"]);
        assert_eq!(plan(&store, CHANGES_PAGE).await, ["SEARCH audit_changes USING PRIMARY KEY ((seq,idx)>(?,?))"]);
        let rows = plan(&store, "SELECT key, layer, body, revision FROM objects WHERE kind = ? AND layer IN ('code', 'database') AND key IN (?, ?)").await;
        assert_eq!(rows, ["SEARCH objects USING PRIMARY KEY (kind=? AND layer=? AND key=?)"]);
    }
}
