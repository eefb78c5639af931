//! The embedded SQLite backend: one file, no server, the default for a single
//! Warden process (and for the command line beside it). The commit protocol
//! and the delta feed are shared with PostgreSQL; `tx.rs` holds SQLite's SQL
//! for them.

mod packed;
mod rows;
mod trail;
mod tx;

use crate::chain::Head;
use crate::codec;
use crate::dialect::{to_i64, to_u64};
use crate::{
    ActivityEvent, ActivityFilter, AuditAnchor, AuditEvent, AuditFilter, AuditVerification,
    Commit, IdempotencyRecord, Layer, LayerEntry, LayerKey, LockoutPolicy, Revision, SignInFailure, Store, StoreDelta, StoreError, StoredResponse, Versioned,
};
use rows::{scan_kind, stored_kinds};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use warden_model::{Model, Object, ObjectKind, ObjectRef, Timestamp};

/// The schema, embedded so that the binary carries it.
pub(crate) const MIGRATIONS: &[crate::migrations::Script] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "layers_activity",
        include_str!("../../migrations/sqlite/0002_layers_activity.sql"),
    ),
    (3, "leases", include_str!("../../migrations/sqlite/0003_leases.sql")),
    (
        4,
        "signin_lockout",
        include_str!("../../migrations/sqlite/0004_signin_lockout.sql"),
    ),
    (5, "idempotency", include_str!("../../migrations/sqlite/0005_idempotency.sql")),
    (6, "activity_claimed", include_str!("../../migrations/sqlite/0006_activity_claimed.sql")),
    (7, "joined_keys", include_str!("../../migrations/sqlite/0007_joined_keys.sql")),
    (8, "audit_events_revision", include_str!("../../migrations/sqlite/0008_audit_events_revision.sql")),
];

/// The writer's page cache, in KiB (SQLite's negative form).
const WRITER_CACHE: &str = "-65536";

/// Connections that read concurrently with the one writer (WAL allows it).
const READERS: u32 = 4;

/// A Warden store in one SQLite file.
///
/// Writes go through a pool of exactly one connection and start with
/// `BEGIN IMMEDIATE`, so commits are serialized inside this process by the pool and
/// across processes (a CLI beside a server) by SQLite's write lock, taken before
/// the revision is read: two commits can never compute the same next revision.
/// Reads use their own pool and, in WAL mode, never wait for the writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in the file at `path` and brings its
    /// schema up to date.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_file(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens the store a `sqlite:` URL names (`sqlite://warden.db`,
    /// `sqlite:///var/lib/warden/warden.db`, `sqlite::memory:`).
    pub async fn open_url(url: &str) -> Result<SqliteStore, StoreError> {
        if url == "sqlite::memory:" || url.contains("mode=memory") {
            return SqliteStore::in_memory().await;
        }
        SqliteStore::open_file(SqliteConnectOptions::from_str(url)?).await
    }

    /// A private store that lives as long as this value, for tests and dry runs.
    pub async fn in_memory() -> Result<SqliteStore, StoreError> {
        // An in-memory database belongs to its connection, so this store has exactly
        // one, kept open for its whole life, and reads share it with writes.
        let options = tune(SqliteConnectOptions::new().in_memory(true));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        migrate(&pool).await?;
        Ok(SqliteStore {
            writer: pool.clone(),
            reader: pool,
        })
    }

    async fn open_file(options: SqliteConnectOptions) -> Result<SqliteStore, StoreError> {
        let options = tune(
            options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal),
        );
        // The writer gets a larger page cache than SQLite's 2 MiB default: a bulk
        // import touches a few hundred thousand rows and their index pages.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("cache_size", WRITER_CACHE))
            .await?;
        migrate(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options)
            .await?;
        Ok(SqliteStore { writer, reader })
    }

    /// Closes every connection, checkpointing the WAL into the main file.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Both layers' rows of one key.
    async fn key_rows(&self, key: &ObjectRef) -> Result<Vec<crate::layers::Row>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        let rows = tx::key_rows(&mut conn, key.kind, &[key.name.as_str()]).await?;
        Ok(rows.into_iter().map(|(_, row)| row).collect())
    }
}

fn tune(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // NORMAL is durable in WAL mode except across a power loss, where the last
        // commits may roll back (never corrupt): the usual trade for an embedded store.
        .synchronous(SqliteSynchronous::Normal)
        .pragma("temp_store", "memory")
        // Let SQLite's worker thread run ahead of the reader instead of waking it every 50 rows.
        .row_buffer_size(1024)
}

async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    Migrator::new(crate::migrations::Embedded(MIGRATIONS))
        .await?
        .run(pool)
        .await?;
    Ok(())
}

pub(super) async fn read_head(conn: &mut SqliteConnection) -> Result<Head, StoreError> {
    let row = sqlx::query("SELECT revision, audit_seq, audit_hash FROM meta WHERE singleton = 1")
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| {
            StoreError::corrupt("the meta row, which records the revision, is missing")
        })?;
    Ok(Head {
        revision: to_u64(row.try_get(0)?, "the store's revision")?,
        audit_seq: to_u64(row.try_get(1)?, "the audit head's seq")?,
        audit_hash: row.try_get(2)?,
    })
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn revision(&self) -> Result<Revision, StoreError> {
        let mut conn = self.reader.acquire().await?;
        Ok(read_head(&mut conn).await?.revision)
    }

    async fn load(&self) -> Result<(Model, Revision), StoreError> {
        let mut tx = self.reader.begin().await?;
        let head = read_head(&mut tx).await?;
        let mut overlay = crate::layers::Overlay::default();
        for kind in stored_kinds(&mut tx).await? {
            for layer in [Layer::Code, Layer::Database] {
                scan_kind(&mut tx, kind, layer, |row| {
                    overlay.row(kind, layer, row.key, row.body)
                })
                .await?;
            }
        }
        tx.commit().await?;
        Ok((overlay.finish(), head.revision))
    }

    async fn get_versioned(&self, key: &ObjectRef) -> Result<Option<Versioned>, StoreError> {
        crate::layers::effective(key, &self.key_rows(key).await?)
    }

    async fn layers(&self, key: &ObjectRef) -> Result<Vec<LayerEntry>, StoreError> {
        crate::layers::entries(key, &self.key_rows(key).await?)
    }

    async fn layer_keys(&self, layer: Layer, kind: ObjectKind) -> Result<Vec<LayerKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, body = ? AS hidden, revision FROM objects WHERE kind = ? AND layer = ? ORDER BY key",
        )
        .bind(codec::TOMBSTONE)
        .bind(kind.code())
        .bind(layer.code())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LayerKey {
                    key: row.try_get("key")?,
                    hidden: row.try_get("hidden")?,
                    revision: to_u64(row.try_get("revision")?, "an object's revision")?,
                })
            })
            .collect()
    }

    async fn list(&self, kind: ObjectKind) -> Result<Vec<Object>, StoreError> {
        let mut tx = self.reader.begin().await?;
        let mut objects = crate::layers::KindOverlay::default();
        for layer in [Layer::Code, Layer::Database] {
            scan_kind(&mut tx, kind, layer, |row| objects.row(kind, row.key, row.body)).await?;
        }
        tx.commit().await?;
        Ok(objects.finish())
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = Timestamp::now().0;
        let expires = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        // One statement: take the lease if it is free, expired or already ours.
        let won: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires \
             WHERE leases.holder = excluded.holder OR leases.expires < ? \
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(expires)
        .bind(now)
        .fetch_optional(&self.writer)
        .await?;
        Ok(won.as_deref() == Some(holder))
    }

    async fn append_activity(&self, event: &ActivityEvent) -> Result<u64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO activity (at, user, kind, source, detail, claimed_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(event.at.0)
        .bind(&event.user)
        .bind(&event.kind)
        .bind(event.source.as_deref())
        .bind(event.detail.to_string())
        .bind(event.claimed_at.map(|t| t.0))
        .fetch_one(&self.writer)
        .await?;
        to_u64(id, "an activity id")
    }

    async fn record_sign_in_failure(
        &self,
        key: &str,
        at: Timestamp,
        policy: &LockoutPolicy,
    ) -> Result<SignInFailure, StoreError> {
        let start = crate::lockout::window_start(policy, at);
        // The write lock, taken first, serializes this with every other writer
        // of the file: the count below sees every failure committed before it.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE at <= ?")
            .bind(start)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sign_in_lockouts WHERE locked_until <= ?")
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO sign_in_failures (key, at) VALUES (?, ?)")
            .bind(key)
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
        let (failures, oldest): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(MIN(at), ?) FROM sign_in_failures WHERE key = ? AND at > ?",
        )
        .bind(at.0)
        .bind(key)
        .bind(start)
        .fetch_one(&mut *tx)
        .await?;
        let previous_until: Option<i64> =
            sqlx::query_scalar("SELECT locked_until FROM sign_in_lockouts WHERE key = ?")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
        let counted = crate::lockout::Counted {
            at: at.0,
            failures: to_u64(failures, "a count of failed sign-ins")?,
            oldest,
            previous_until,
        };
        let (outcome, write) = crate::lockout::judge(policy, &counted);
        if let Some(until) = write {
            sqlx::query(
                "INSERT INTO sign_in_lockouts (key, locked_until) VALUES (?, ?) \
                 ON CONFLICT (key) DO UPDATE SET locked_until = excluded.locked_until",
            )
            .bind(key)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn sign_in_locked_until(&self, key: &str, now: Timestamp) -> Result<Option<Timestamp>, StoreError> {
        let until: Option<i64> = sqlx::query_scalar(
            "SELECT locked_until FROM sign_in_lockouts WHERE key = ? AND locked_until > ?",
        )
        .bind(key)
        .bind(now.0)
        .fetch_optional(&self.reader)
        .await?;
        Ok(until.map(Timestamp))
    }

    async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = ?")
            .bind(key)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn activity(&self, filter: &ActivityFilter) -> Result<Vec<ActivityEvent>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT id, at, user, kind, source, detail, claimed_at FROM activity WHERE 1 = 1",
        );
        if let Some(user) = &filter.user {
            q.push(" AND user = ").push_bind(user.as_str());
        }
        if !filter.kinds.is_empty() {
            q.push(" AND kind IN (");
            let mut list = q.separated(", ");
            for kind in &filter.kinds {
                list.push_bind(kind.as_str());
            }
            q.push(")");
        }
        if let Some(since) = filter.since {
            q.push(" AND at >= ").push_bind(since.0);
        }
        if let Some(until) = filter.until {
            q.push(" AND at < ").push_bind(until.0);
        }
        if let Some(after) = filter.after_id {
            q.push(" AND id > ").push_bind(to_i64(after)?);
        }
        q.push(" ORDER BY id");
        if let Some(limit) = filter.limit {
            q.push(" LIMIT ")
                .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let rows = q.build().fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                let id = to_u64(row.try_get("id")?, "an activity id")?;
                let detail: &str = row.try_get("detail")?;
                Ok(ActivityEvent {
                    id,
                    at: Timestamp(row.try_get("at")?),
                    user: row.try_get("user")?,
                    kind: row.try_get("kind")?,
                    source: row.try_get("source")?,
                    detail: codec::json(detail, || format!("the detail of activity {id}"))?,
                    claimed_at: row.try_get::<Option<i64>, _>("claimed_at")?.map(Timestamp),
                })
            })
            .collect()
    }

    async fn commit(&self, commit: Commit) -> Result<Revision, StoreError> {
        crate::commit::commit(self, commit).await
    }

    async fn changes_since(&self, since: Revision, limit: usize) -> Result<Option<StoreDelta>, StoreError> {
        crate::delta::changes_since(self, since, limit).await
    }

    async fn idempotency(&self, scope: &str, key: &str, now: Timestamp) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM idempotency WHERE scope = ? AND key = ? AND expires > ?",
            crate::idempotency::COLUMNS
        ))
        .bind(scope)
        .bind(key)
        .bind(now.0)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        crate::idempotency::Columns {
            fingerprint: row.try_get("fingerprint")?,
            created: row.try_get("created")?,
            expires: row.try_get("expires")?,
            revision: row.try_get("revision")?,
            status: row.try_get("status")?,
            headers: row.try_get("headers")?,
            body: row.try_get("body")?,
        }
        .record(scope, key)
        .map(Some)
    }

    async fn complete_idempotency(&self, scope: &str, key: &str, response: &StoredResponse) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE idempotency SET status = ?, headers = ?, body = ? WHERE scope = ? AND key = ? AND status IS NULL",
        )
        .bind(i64::from(response.status))
        .bind(crate::idempotency::headers_text(response))
        .bind(response.body.as_slice())
        .bind(scope)
        .bind(key)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_idempotency(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idempotency WHERE expires <= ?").bind(now.0).execute(&self.writer).await?;
        Ok(done.rows_affected())
    }

    async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let mut tx = self.reader.begin().await?;
        let events = trail::events(&mut tx, filter).await?;
        tx.commit().await?;
        Ok(events)
    }

    async fn audit_head(&self) -> Result<AuditAnchor, StoreError> {
        let mut conn = self.reader.acquire().await?;
        let head = read_head(&mut conn).await?;
        Ok(AuditAnchor {
            seq: head.audit_seq,
            hash: head.audit_hash,
        })
    }

    async fn verify_audit(
        &self,
        anchor: Option<&AuditAnchor>,
    ) -> Result<AuditVerification, StoreError> {
        let mut tx = self.reader.begin().await?;
        let verdict = trail::verify(&mut tx, anchor).await?;
        tx.commit().await?;
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded() {
        let (files, embedded) =
            crate::migrations::listed_and_present("migrations/sqlite", MIGRATIONS);
        assert_eq!(files, embedded);
    }
}
