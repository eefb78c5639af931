//! The PostgreSQL backend: one database shared by several `warden serve`
//! replicas. Commits serialize on a row lock of `meta`, so two replicas can
//! never compute the same next revision; each commit notifies the channel
//! `warden_revision`, which wakes the other replicas' [`Store::wait_for_change`].
//!
//! The planning, layering and hashing are the backend-independent modules the
//! SQLite backend uses too; this file only reads and writes rows. Bulk writes
//! bind whole columns as arrays (`UNNEST`), one statement per chunk, so that an
//! import of half a million objects is a few dozen round trips.

mod trail;

use crate::chain::{EventHeader, Head};
use crate::diff::{Effect, Found, Plan};
use crate::layers::{self, Overlay, Row as LayerRow};
use crate::{
    ActivityEvent, ActivityFilter, AuditAnchor, AuditEvent, AuditFilter, AuditVerification, Commit,
    DEFAULT_ORIGIN, IdempotencyRecord, Layer, LayerEntry, LayerKey, LockoutPolicy, Precondition, Revision, SignInFailure, Store, StoreError, StoredResponse, Versioned, codec,
};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Row};
use std::collections::HashMap;
use std::time::Duration;
use warden_model::{Model, Object, ObjectKind, ObjectRef, Timestamp};

const MIGRATIONS: &[crate::migrations::Script] = &[
    (1, "initial", include_str!("../../migrations/postgres/0001_initial.sql")),
    (2, "leases", include_str!("../../migrations/postgres/0002_leases.sql")),
    (3, "signin_lockout", include_str!("../../migrations/postgres/0003_signin_lockout.sql")),
    (4, "idempotency", include_str!("../../migrations/postgres/0004_idempotency.sql")),
    (5, "activity_claimed", include_str!("../../migrations/postgres/0005_activity_claimed.sql")),
    (6, "joined_keys", include_str!("../../migrations/postgres/0006_joined_keys.sql")),
];

/// The transaction-scoped advisory lock that serializes failed sign-ins across
/// replicas ("wardenSI"), so that each counts every failure committed before it
/// and prunes without racing another. Failed sign-ins are rare and each costs
/// an argon2id verification, so one lock for all keys is no bottleneck.
const SIGN_IN_LOCK: i64 = 0x7761_7264_656e_5349;

/// The channel every commit notifies with its new revision.
const CHANNEL: &str = "warden_revision";

/// Rows per bulk statement: large enough to amortize a round trip, small
/// enough to keep one message in the tens of megabytes.
const ROWS_PER_STATEMENT: usize = 10_000;

/// Change sets at least this large are planned on a blocking thread.
const OFFLOAD_MIN_CHANGES: usize = 5_000;

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
}

fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::corrupt(format!("{what} is negative ({value})")))
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::Unsupported(format!("{value} does not fit a database integer")))
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

async fn off_runtime<T: Send + 'static>(
    heavy: bool,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    if !heavy {
        return Ok(work());
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Database(sqlx::Error::Io(std::io::Error::other(e))))
}

async fn key_rows(conn: &mut PgConnection, key: &ObjectRef) -> Result<Vec<LayerRow>, StoreError> {
    let rows = sqlx::query("SELECT layer, body, revision FROM objects WHERE kind = $1 AND key = $2")
        .bind(key.kind.code())
        .bind(key.name.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(LayerRow {
                layer: row.try_get("layer")?,
                body: row.try_get("body")?,
                revision: to_u64(row.try_get("revision")?, "an object's revision")?,
            })
        })
        .collect()
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

/// What the commit's layers hold for every key the plan touches, by slot.
async fn fetch_found(
    conn: &mut PgConnection,
    plan: &Plan,
    commit_layer: Layer,
) -> Result<Vec<Option<Found>>, StoreError> {
    let mut found = vec![None; plan.len()];
    for kind in plan.kinds().into_keys() {
        let layer = layers::layer_for(commit_layer, kind);
        let keys = plan.keys_of(kind);
        let names: Vec<&str> = keys.keys().copied().collect();
        for chunk in names.chunks(ROWS_PER_STATEMENT) {
            let rows = sqlx::query(
                "SELECT key, version, body FROM objects WHERE kind = $1 AND layer = $2 AND key = ANY($3)",
            )
            .bind(kind.code())
            .bind(layer.code())
            .bind(chunk)
            .fetch_all(&mut *conn)
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

async fn check_preconditions(
    conn: &mut PgConnection,
    preconditions: &[Precondition],
) -> Result<(), StoreError> {
    for p in preconditions {
        let rows = key_rows(conn, &p.object).await?;
        layers::check(p, &rows)?;
    }
    Ok(())
}

async fn write_objects(
    conn: &mut PgConnection,
    effects: &[Effect],
    layer: Layer,
    revision: i64,
) -> Result<(), StoreError> {
    let puts: Vec<&Effect> = effects.iter().filter(|e| e.after.is_some()).collect();
    for chunk in puts.chunks(ROWS_PER_STATEMENT) {
        let kinds: Vec<&str> = chunk.iter().map(|e| e.object.kind.code()).collect();
        let layers: Vec<&str> = chunk
            .iter()
            .map(|e| layers::layer_for(layer, e.object.kind).code())
            .collect();
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
        .execute(&mut *conn)
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
                .bind(layers::layer_for(layer, kind).code())
                .bind(chunk)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

async fn write_audit_changes(
    conn: &mut PgConnection,
    seq: i64,
    effects: &[Effect],
    layer: Layer,
) -> Result<(), StoreError> {
    let indexed: Vec<(i64, &Effect)> = (0..).zip(effects).collect();
    for chunk in indexed.chunks(ROWS_PER_STATEMENT) {
        let idxs: Vec<i64> = chunk.iter().map(|(i, _)| *i).collect();
        let kinds: Vec<&str> = chunk.iter().map(|(_, e)| e.object.kind.code()).collect();
        let keys: Vec<&str> = chunk.iter().map(|(_, e)| e.object.name.as_str()).collect();
        let layers: Vec<&str> = chunk
            .iter()
            .map(|(_, e)| layers::layer_for(layer, e.object.kind).code())
            .collect();
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
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes a commit's `Idempotency-Key` record, replacing an expired one; a
/// live one refuses the commit. A concurrent insert of the same key waits
/// for the other transaction (unique index) and then sees its row.
async fn record_idempotency(conn: &mut PgConnection, record: &IdempotencyRecord, revision: i64) -> Result<(), StoreError> {
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
    .execute(&mut *conn)
    .await?;
    if written.rows_affected() == 0 {
        return Err(StoreError::IdempotencyKeyInUse { key: record.key.clone() });
    }
    // Opportunistic clean-up: one indexed range delete per keyed write.
    sqlx::query("DELETE FROM idempotency WHERE expires <= $1").bind(record.created.0).execute(&mut *conn).await?;
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
        let mut conn = self.pool.acquire().await?;
        let rows = key_rows(&mut conn, key).await?;
        layers::effective(key, &rows)
    }

    async fn layers(&self, key: &ObjectRef) -> Result<Vec<LayerEntry>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = key_rows(&mut conn, key).await?;
        layers::entries(key, &rows)
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
        layers::check_changes(layer, &changes)?;
        let origin = if origin.is_empty() { DEFAULT_ORIGIN.to_string() } else { origin };
        let summary = summary.to_string();
        let large = changes.len() >= OFFLOAD_MIN_CHANGES;
        let plan = off_runtime(large, move || Plan::new(changes)).await??;

        let mut tx = self.pool.begin().await?;
        // The row lock serializes commits across every replica on this database.
        let head = read_head(&mut tx, true).await?;
        if let Some(expected) = expected_revision
            && expected != head.revision
        {
            return Err(StoreError::Conflict { expected, actual: head.revision });
        }
        check_preconditions(&mut tx, &preconditions).await?;
        let found = fetch_found(&mut tx, &plan, layer).await?;
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
        write_objects(&mut tx, &effects, layer, db_revision).await?;
        write_audit_changes(&mut tx, db_seq, &effects, layer).await?;
        for p in &purge_activity {
            let mut q = QueryBuilder::<Postgres>::new("DELETE FROM activity WHERE \"user\" = ");
            q.push_bind(p.user.as_str()).push(" AND at >= ").push_bind(p.since.0).push(" AND at < ").push_bind(p.until.0);
            if !p.kinds.is_empty() {
                q.push(" AND kind IN (");
                let mut list = q.separated(", ");
                for kind in &p.kinds {
                    list.push_bind(kind.as_str());
                }
                q.push(")");
            }
            q.build().execute(&mut *tx).await?;
        }
        if let Some(record) = &idempotency {
            record_idempotency(&mut tx, record, db_revision).await?;
        }
        sqlx::query(
            "INSERT INTO audit_events (seq, revision, at, actor, action, origin, summary, change_count, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(db_seq)
        .bind(db_revision)
        .bind(header.at)
        .bind(&actor)
        .bind(&action)
        .bind(&origin)
        .bind(&summary)
        .bind(to_i64(header.change_count)?)
        .bind(&head.audit_hash)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE meta SET revision = $1, audit_seq = $2, audit_hash = $3 WHERE singleton = 1")
            .bind(db_revision)
            .bind(db_seq)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        // Delivered at commit, and only if the transaction commits.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(revision.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(revision)
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
