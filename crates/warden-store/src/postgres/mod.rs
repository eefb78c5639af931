//! The PostgreSQL backend: one database shared by several `warden serve`
//! replicas. Commits serialize on a row lock of `meta`, so two replicas can
//! never compute the same next revision; each commit notifies the channel
//! `warden_revision`, which wakes the other replicas' [`Store::wait_for_change`].
//!
//! The commit protocol and the delta feed, like the planning, layering and
//! hashing, are the backend-independent modules the SQLite backend uses too;
//! `tx.rs` holds only this backend's SQL for them. Bulk writes bind whole
//! columns as arrays (`UNNEST`), one statement per chunk, so that an import of
//! half a million objects is a few dozen round trips.

mod trail;
mod tx;

use crate::chain::Head;
use crate::dialect::{to_i64, to_u64};
use crate::layers::{self, Overlay, Row as LayerRow};
use crate::{
    ActivityEvent, ActivityFilter, AuditAnchor, AuditEvent, AuditFilter, AuditVerification, Commit,
    IdempotencyRecord, Layer, LayerEntry, LayerKey, LockoutPolicy, Revision, SignInFailure, Store, StoreDelta, StoreError, StoredResponse, Versioned, codec,
};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Row};
use std::time::Duration;
use warden_model::{Model, Object, ObjectKind, ObjectRef, Timestamp};

const MIGRATIONS: &[crate::migrations::Script] = &[
    (1, "initial", include_str!("../../migrations/postgres/0001_initial.sql")),
    (2, "leases", include_str!("../../migrations/postgres/0002_leases.sql")),
    (3, "signin_lockout", include_str!("../../migrations/postgres/0003_signin_lockout.sql")),
    (4, "idempotency", include_str!("../../migrations/postgres/0004_idempotency.sql")),
    (5, "activity_claimed", include_str!("../../migrations/postgres/0005_activity_claimed.sql")),
    (6, "joined_keys", include_str!("../../migrations/postgres/0006_joined_keys.sql")),
    (7, "audit_events_revision", include_str!("../../migrations/postgres/0007_audit_events_revision.sql")),
];

/// The transaction-scoped advisory lock that serializes failed sign-ins across
/// replicas ("wardenSI"), so that each counts every failure committed before it
/// and prunes without racing another. Failed sign-ins are rare and each costs
/// an argon2id verification, so one lock for all keys is no bottleneck.
const SIGN_IN_LOCK: i64 = 0x7761_7264_656e_5349;

/// The channel every commit notifies with its new revision.
const CHANNEL: &str = "warden_revision";

/// A Warden store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names and brings its schema
    /// up to date (sqlx's migrator holds an advisory lock, so replicas starting
    /// together migrate once).
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Migrator::new(crate::migrations::Embedded(MIGRATIONS))
            .await?
            .run(&pool)
            .await?;
        Ok(PgStore { pool })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Both layers' rows of one key.
    async fn key_rows(&self, key: &ObjectRef) -> Result<Vec<LayerRow>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = tx::key_rows(&mut conn, key.kind, &[key.name.as_str()]).await?;
        Ok(rows.into_iter().map(|(_, row)| row).collect())
    }
}

async fn read_head(conn: &mut PgConnection, lock: bool) -> Result<Head, StoreError> {
    let sql = if lock {
        "SELECT revision, audit_seq, audit_hash FROM meta WHERE singleton = 1 FOR UPDATE"
    } else {
        "SELECT revision, audit_seq, audit_hash FROM meta WHERE singleton = 1"
    };
    let row = sqlx::query(sql)
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

/// Starts a read-only transaction that sees one consistent snapshot.
async fn snapshot(pool: &PgPool) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Every row of one kind in one layer, in key order.
async fn scan_kind(
    conn: &mut PgConnection,
    kind: ObjectKind,
    layer: Layer,
    mut visit: impl FnMut(&str, &str) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    use futures_util::TryStreamExt;
    let mut rows = sqlx::query(
        "SELECT key, body FROM objects WHERE kind = $1 AND layer = $2 ORDER BY key COLLATE \"C\"",
    )
    .bind(kind.code())
    .bind(layer.code())
    .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        visit(row.try_get("key")?, row.try_get("body")?)?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn revision(&self) -> Result<Revision, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(read_head(&mut conn, false).await?.revision)
    }

    async fn load(&self) -> Result<(Model, Revision), StoreError> {
        let mut tx = snapshot(&self.pool).await?;
        let head = read_head(&mut tx, false).await?;
        let kinds: Vec<String> = sqlx::query_scalar("SELECT DISTINCT kind FROM objects")
            .fetch_all(&mut *tx)
            .await?;
        let mut overlay = Overlay::default();
        for code in kinds {
            let kind = ObjectKind::from_code(&code)
                .ok_or_else(|| StoreError::corrupt(format!("objects of unknown kind {code:?}")))?;
            for layer in [Layer::Code, Layer::Database] {
                scan_kind(&mut tx, kind, layer, |key, body| overlay.row(kind, layer, key, body))
                    .await?;
            }
        }
        tx.commit().await?;
        Ok((overlay.finish(), head.revision))
    }

    async fn get_versioned(&self, key: &ObjectRef) -> Result<Option<Versioned>, StoreError> {
        layers::effective(key, &self.key_rows(key).await?)
    }

    async fn layers(&self, key: &ObjectRef) -> Result<Vec<LayerEntry>, StoreError> {
        layers::entries(key, &self.key_rows(key).await?)
    }

    async fn layer_keys(&self, layer: Layer, kind: ObjectKind) -> Result<Vec<LayerKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, body = $1 AS hidden, revision FROM objects WHERE kind = $2 AND layer = $3 ORDER BY key COLLATE \"C\"",
        )
        .bind(codec::TOMBSTONE)
        .bind(kind.code())
        .bind(layer.code())
        .fetch_all(&self.pool)
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
        let mut tx = snapshot(&self.pool).await?;
        let mut objects = layers::KindOverlay::default();
        for layer in [Layer::Code, Layer::Database] {
            scan_kind(&mut tx, kind, layer, |key, body| objects.row(kind, key, body)).await?;
        }
        tx.commit().await?;
        Ok(objects.finish())
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = Timestamp::now().0;
        let expires = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        // One statement: take the lease if it is free, expired or already ours.
        let won: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires \
             WHERE leases.holder = excluded.holder OR leases.expires < $4 \
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(expires)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(won.as_deref() == Some(holder))
    }

    async fn append_activity(&self, event: &ActivityEvent) -> Result<u64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO activity (at, \"user\", kind, source, detail, claimed_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(event.at.0)
        .bind(&event.user)
        .bind(&event.kind)
        .bind(event.source.as_deref())
        .bind(event.detail.to_string())
        .bind(event.claimed_at.map(|t| t.0))
        .fetch_one(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SIGN_IN_LOCK).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE at <= $1").bind(start).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sign_in_lockouts WHERE locked_until <= $1").bind(at.0).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO sign_in_failures (key, at) VALUES ($1, $2)").bind(key).bind(at.0).execute(&mut *tx).await?;
        let (failures, oldest): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COALESCE(MIN(at), $1) FROM sign_in_failures WHERE key = $2 AND at > $3")
                .bind(at.0)
                .bind(key)
                .bind(start)
                .fetch_one(&mut *tx)
                .await?;
        let previous_until: Option<i64> = sqlx::query_scalar("SELECT locked_until FROM sign_in_lockouts WHERE key = $1")
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
                "INSERT INTO sign_in_lockouts (key, locked_until) VALUES ($1, $2) \
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
        let until: Option<i64> =
            sqlx::query_scalar("SELECT locked_until FROM sign_in_lockouts WHERE key = $1 AND locked_until > $2")
                .bind(key)
                .bind(now.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(until.map(Timestamp))
    }

    async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError> {
        // Under the same lock as the pruning, so that two deletes never deadlock.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SIGN_IN_LOCK).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1").bind(key).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn activity(&self, filter: &ActivityFilter) -> Result<Vec<ActivityEvent>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT id, at, \"user\", kind, source, detail, claimed_at FROM activity WHERE TRUE",
        );
        if let Some(user) = &filter.user {
            q.push(" AND \"user\" = ").push_bind(user.clone());
        }
        if !filter.kinds.is_empty() {
            q.push(" AND kind = ANY(").push_bind(filter.kinds.clone()).push(")");
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
            q.push(" LIMIT ").push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let rows = q.build().fetch_all(&self.pool).await?;
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
            "SELECT {} FROM idempotency WHERE scope = $1 AND key = $2 AND expires > $3",
            crate::idempotency::COLUMNS
        ))
        .bind(scope)
        .bind(key)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        crate::idempotency::Columns {
            fingerprint: row.try_get("fingerprint")?,
            created: row.try_get("created")?,
            expires: row.try_get("expires")?,
            revision: row.try_get("revision")?,
            status: row.try_get::<Option<i32>, _>("status")?.map(i64::from),
            headers: row.try_get("headers")?,
            body: row.try_get("body")?,
        }
        .record(scope, key)
        .map(Some)
    }

    async fn complete_idempotency(&self, scope: &str, key: &str, response: &StoredResponse) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE idempotency SET status = $1, headers = $2, body = $3 WHERE scope = $4 AND key = $5 AND status IS NULL",
        )
        .bind(i32::from(response.status))
        .bind(crate::idempotency::headers_text(response))
        .bind(response.body.as_slice())
        .bind(scope)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_idempotency(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idempotency WHERE expires <= $1").bind(now.0).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let mut tx = snapshot(&self.pool).await?;
        let events = trail::events(&mut tx, filter).await?;
        tx.commit().await?;
        Ok(events)
    }

    async fn audit_head(&self) -> Result<AuditAnchor, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let head = read_head(&mut conn, false).await?;
        Ok(AuditAnchor { seq: head.audit_seq, hash: head.audit_hash })
    }

    async fn verify_audit(
        &self,
        anchor: Option<&AuditAnchor>,
    ) -> Result<AuditVerification, StoreError> {
        let mut tx = snapshot(&self.pool).await?;
        let head = read_head(&mut tx, false).await?;
        let verdict = trail::verify(&mut tx, &head, anchor).await?;
        tx.commit().await?;
        Ok(verdict)
    }

    /// Listens before it looks, so that a commit between the two is not missed.
    async fn wait_for_change(&self, seen: Revision, timeout: Duration) -> Result<Revision, StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        loop {
            let now = self.revision().await?;
            if now > seen {
                return Ok(now);
            }
            match tokio::time::timeout_at(deadline, listener.recv()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => return self.revision().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded() {
        let (files, embedded) =
            crate::migrations::listed_and_present("migrations/postgres", MIGRATIONS);
        assert_eq!(files, embedded);
    }
}
