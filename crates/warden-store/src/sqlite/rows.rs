//! Reading object rows in bulk: every row of a kind, or the rows of many keys.

use super::packed::{self, Col, Values};
use crate::diff::{Found, Plan};
use crate::{Layer, StoreError};
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Sqlite};
use warden_model::ObjectKind;

/// Keys per lookup query (SQLite allows 32,766 bound parameters).
const KEYS_PER_SELECT: usize = 2_000;
/// Pages aim at this many bytes of bodies, so that a kind of large objects
/// (privileges with hundreds of grants) does not make one huge string.
const PAGE_BYTES: usize = 8 << 20;
const MIN_ROWS_PER_PAGE: usize = 100;
const MAX_ROWS_PER_PAGE: usize = 5_000;
/// Reading a row in a scan costs about a tenth of looking a key up.
const SCAN_RATIO: usize = 8;
/// Below this many keys, lookups are cheap whatever the share.
const SCAN_MIN_KEYS: usize = 1_000;

/// What the commit's layers hold for every key the plan touches, by slot.
pub(super) async fn fetch_found(
    conn: &mut SqliteConnection,
    plan: &Plan,
    commit_layer: Layer,
) -> Result<Vec<Option<Found>>, StoreError> {
    let mut found = vec![None; plan.len()];
    for (kind, count) in plan.kinds() {
        let layer = crate::layers::layer_for(commit_layer, kind);
        // Counting stops where a scan would stop paying off: a commit touching at
        // least 1/SCAN_RATIO of a kind reads the whole kind, others look keys up.
        let rows = count_rows(conn, kind, layer, count.saturating_mul(SCAN_RATIO)).await?;
        if rows == 0 {
            continue;
        }
        let keys = plan.keys_of(kind);
        let mut observe = |row: RowRef<'_>| {
            if let Some(&i) = keys.get(row.key) {
                found[i] = Some(plan.observe(i, row.version, row.body));
            }
            Ok(())
        };
        if count >= SCAN_MIN_KEYS && rows <= count.saturating_mul(SCAN_RATIO) {
            scan_kind(conn, kind, layer, &mut observe).await?;
        } else {
            let names: Vec<&str> = keys.keys().copied().collect();
            for chunk in names.chunks(KEYS_PER_SELECT) {
                read_rows(
                    conn,
                    &Rows::Keys {
                        kind,
                        layer,
                        keys: chunk,
                    },
                    &mut observe,
                )
                .await?;
            }
        }
    }
    Ok(found)
}

/// The number of rows of `kind`, counted up to `limit + 1` only.
async fn count_rows(
    conn: &mut SqliteConnection,
    kind: ObjectKind,
    layer: Layer,
    limit: usize,
) -> Result<usize, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX - 1);
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM objects WHERE kind = ? AND layer = ? LIMIT ?)",
    )
    .bind(kind.code())
    .bind(layer.code())
    .bind(limit.saturating_add(1))
            .fetch_one(&mut *conn)
            .await?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

/// Visits every row of one kind in one layer, in key order, a page at a time.
pub(super) async fn scan_kind(
    conn: &mut SqliteConnection,
    kind: ObjectKind,
    layer: Layer,
    mut visit: impl FnMut(RowRef<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut after: Option<String> = None;
    let mut limit = MAX_ROWS_PER_PAGE;
    loop {
        let page = read_rows(
            conn,
            &Rows::Page {
                kind,
                layer,
                after: after.as_deref(),
                limit,
            },
            &mut visit,
        )
        .await?;
        if page.count < limit {
            return Ok(());
        }
        limit = (PAGE_BYTES * page.count / page.bytes.max(1))
            .clamp(MIN_ROWS_PER_PAGE, MAX_ROWS_PER_PAGE);
        after = page.last;
    }
}

/// The kinds present in the store, found by index seeks rather than a scan. An
/// unknown kind is corruption, not something to skip silently.
pub(super) async fn stored_kinds(
    conn: &mut SqliteConnection,
) -> Result<Vec<ObjectKind>, StoreError> {
    let mut kinds = Vec::new();
    // Every text is >= '', and no kind code is empty, so '' starts below them all.
    let mut after = String::new();
    while let Some(code) =
        sqlx::query_scalar::<_, Option<String>>("SELECT min(kind) FROM objects WHERE kind > ?")
            .bind(&after)
            .fetch_one(&mut *conn)
            .await?
    {
        let kind = ObjectKind::from_code(&code)
            .ok_or_else(|| StoreError::corrupt(format!("objects of unknown kind {code:?}")))?;
        kinds.push(kind);
        after = code;
    }
    Ok(kinds)
}

/// One object row, borrowed from the result that carries it.
pub(super) struct RowRef<'a> {
    pub key: &'a str,
    pub version: i64,
    pub body: &'a str,
}

/// Which object rows to read: some keys of a kind, or a page of a kind in key order.
enum Rows<'a> {
    Keys {
        kind: ObjectKind,
        layer: Layer,
        keys: &'a [&'a str],
    },
    Page {
        kind: ObjectKind,
        layer: Layer,
        after: Option<&'a str>,
        limit: usize,
    },
}

impl Rows<'_> {
    /// Pushes a subquery yielding `key, version, body` of these rows.
    fn push_source<'q>(&'q self, q: &mut QueryBuilder<'q, Sqlite>) {
        match self {
            Rows::Keys { kind, layer, keys } => {
                q.push("(SELECT key, version, body FROM objects WHERE kind = ")
                    .push_bind(kind.code())
                    .push(" AND layer = ")
                    .push_bind(layer.code())
                    .push(" AND key IN (");
                let mut list = q.separated(", ");
                for key in *keys {
                    list.push_bind(*key);
                }
                q.push("))");
            }
            Rows::Page {
                kind,
                layer,
                after,
                limit,
            } => {
                // Every text is >= '', so the first page needs no query of its own.
                let (op, from) = match after {
                    Some(key) => (" AND key > ", *key),
                    None => (" AND key >= ", ""),
                };
                q.push("(SELECT key, version, body FROM objects WHERE kind = ")
                    .push_bind(kind.code())
                    .push(" AND layer = ")
                    .push_bind(layer.code())
                    .push(op)
                    .push_bind(from)
                    .push(" ORDER BY key LIMIT ")
                    .push_bind(i64::try_from(*limit).unwrap_or(i64::MAX))
                    .push(")");
            }
        }
    }
}

/// What one read returned.
struct Read {
    count: usize,
    /// The greatest key read, where the next page starts.
    last: Option<String>,
    /// Bytes of bodies read.
    bytes: usize,
}

const COLUMNS: [Col; 3] = [Col::Text("key"), Col::Int("version"), Col::Text("body")];

/// Reads `rows` as one packed row and calls `visit` for each.
async fn read_rows(
    conn: &mut SqliteConnection,
    rows: &Rows<'_>,
    mut visit: impl FnMut(RowRef<'_>) -> Result<(), StoreError>,
) -> Result<Read, StoreError> {
    let mut q = packed::select(&COLUMNS);
    rows.push_source(&mut q);
    let row = q.build().fetch_one(&mut *conn).await?;
    let (count, values) = packed::unpack(&row, &COLUMNS)?;
    let [
        Values::Text(keys),
        Values::Int(versions),
        Values::Text(bodies),
    ] = values.as_slice()
    else {
        return Err(StoreError::corrupt(
            "a packed read of objects came back in the wrong shape",
        ));
    };
    let mut last: Option<&str> = None;
    let mut bytes = 0;
    for ((key, version), body) in keys.iter().zip(versions).zip(bodies) {
        let (Some(key), Some(body)) = (key, body) else {
            return Err(StoreError::corrupt("an object row without key or body"));
        };
        last = last.max(Some(key));
        bytes += body.len();
        visit(RowRef {
            key,
            version: *version,
            body,
        })?;
    }
    Ok(Read {
        count,
        last: last.map(str::to_string),
        bytes,
    })
}
