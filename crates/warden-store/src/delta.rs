//! The delta feed (see [`crate::Store::changes_since`]), written once over a
//! backend's [`Dialect`]: the keys come from the audit trail, which records
//! every key each commit changed (deletes, hides and code-layer rows
//! included), and their effective objects from the layer overlay, all read in
//! one snapshot so that objects and revision agree.
//!
//! Every commit appends one event and advances seq and revision together, so
//! the events after revision `since` are those from the first of them on, and
//! their changes one range of the change table's primary key. The trail is
//! read along that key a page at a time: each read is an ordered range scan
//! whatever the database's statistics say, and a gap far beyond `limit` costs
//! about `limit` rows rather than the whole trail.

use crate::dialect::{Dialect, Tx};
use crate::{Revision, StoreDelta, StoreError};
use std::collections::{BTreeMap, HashMap, HashSet};
use warden_model::{ObjectKind, ObjectRef};

pub(crate) async fn changes_since<D: Dialect>(
    dialect: &D,
    since: Revision,
    limit: usize,
) -> Result<Option<StoreDelta>, StoreError> {
    let mut tx = dialect.begin_snapshot().await?;
    let head = tx.head().await?;
    if since > head.revision {
        tx.finish().await?;
        return Ok(None);
    }
    let keys = if since == head.revision { Some(Vec::new()) } else { changed_keys(&mut tx, since, limit).await? };
    let Some(keys) = keys else {
        tx.finish().await?;
        return Ok(None);
    };
    let mut by_kind: BTreeMap<ObjectKind, Vec<&str>> = BTreeMap::new();
    for key in &keys {
        by_kind.entry(key.kind).or_default().push(&key.name);
    }
    let mut objects = Vec::with_capacity(keys.len());
    for (kind, names) in by_kind {
        let mut rows: HashMap<String, Vec<crate::layers::Row>> = HashMap::new();
        for (name, row) in tx.key_rows(kind, &names).await? {
            rows.entry(name).or_default().push(row);
        }
        for name in names {
            let key = ObjectRef::new(kind, name);
            let rows = rows.remove(name).unwrap_or_default();
            let object = crate::layers::effective(&key, &rows)?.map(|v| v.object);
            objects.push((key, object));
        }
    }
    tx.finish().await?;
    objects.sort_unstable_by(|(a, _), (b, _)| (a.kind.code(), &a.name).cmp(&(b.kind.code(), &b.name)));
    Ok(Some(StoreDelta { since, revision: head.revision, objects }))
}

/// Change rows per read: one read for the usual handful, bounded for an import.
const MIN_PAGE: usize = 1_000;
const MAX_PAGE: usize = 10_000;

/// The distinct keys changed after revision `since`, or `None` past `limit` of them.
async fn changed_keys(tx: &mut impl Tx, since: Revision, limit: usize) -> Result<Option<Vec<ObjectRef>>, StoreError> {
    let Some(first) = tx.first_event_after(since).await? else {
        return Ok(Some(Vec::new()));
    };
    let mut keys = HashSet::new();
    let page = limit.saturating_add(1).clamp(MIN_PAGE, MAX_PAGE);
    let mut from = (first, 0);
    loop {
        let rows = tx.changes_page(from, page).await?;
        let full = rows.len() == page;
        for ((seq, idx), key) in rows {
            from = (seq, idx + 1);
            keys.insert(key);
            if keys.len() > limit {
                return Ok(None);
            }
        }
        if !full {
            return Ok(Some(keys.into_iter().collect()));
        }
    }
}
