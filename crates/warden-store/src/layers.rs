//! How the code and database layers combine into the effective model.
//! Backend-independent: a backend hands over the rows it read and gets back what
//! is effective, so SQLite and PostgreSQL cannot disagree about it.

use crate::{Change, Layer, LayerEntry, Precondition, Revision, StoreError, Versioned, codec};
use warden_model::{Assignment, Model, Object, ObjectKind, ObjectRef};

/// One layer's stored row of a key.
pub(crate) struct Row {
    pub layer: String,
    pub body: String,
    pub revision: Revision,
}

fn layer_of(key: &ObjectRef, code: &str) -> Result<Layer, StoreError> {
    Layer::from_code(code)
        .ok_or_else(|| StoreError::corrupt(format!("{key} is stored in unknown layer {code:?}")))
}

/// The key's rows as layer entries, code layer first.
pub(crate) fn entries(key: &ObjectRef, rows: &[Row]) -> Result<Vec<LayerEntry>, StoreError> {
    let mut entries = rows
        .iter()
        .map(|row| {
            let object = if row.body == codec::TOMBSTONE {
                None
            } else {
                Some(codec::decode_row(key.kind, &key.name, &row.body)?)
            };
            Ok(LayerEntry {
                layer: layer_of(key, &row.layer)?,
                object,
                revision: row.revision,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    entries.sort_by_key(|e| e.layer);
    Ok(entries)
}

/// The effective form of a key: the database row if any (nothing for a
/// tombstone), else the code row. Its version is the newest revision of any row.
pub(crate) fn effective(key: &ObjectRef, rows: &[Row]) -> Result<Option<Versioned>, StoreError> {
    let version = rows.iter().map(|r| r.revision).max();
    let winner = rows
        .iter()
        .max_by_key(|r| Layer::from_code(&r.layer).unwrap_or(Layer::Code));
    let (Some(version), Some(row)) = (version, winner) else {
        return Ok(None);
    };
    if row.body == codec::TOMBSTONE {
        return Ok(None);
    }
    Ok(Some(Versioned {
        object: codec::decode_row(key.kind, &key.name, &row.body)?,
        version,
        layer: layer_of(key, &row.layer)?,
    }))
}

/// The effective version of a key, for preconditions: `None` when the key is not
/// effective (absent or hidden).
fn effective_version(rows: &[Row]) -> Option<Revision> {
    let winner = rows
        .iter()
        .max_by_key(|r| Layer::from_code(&r.layer).unwrap_or(Layer::Code))?;
    (winner.body != codec::TOMBSTONE).then(|| rows.iter().map(|r| r.revision).max().unwrap_or(0))
}

pub(crate) fn check(p: &Precondition, rows: &[Row]) -> Result<(), StoreError> {
    let actual = effective_version(rows);
    if actual == p.version {
        return Ok(());
    }
    Err(StoreError::Stale {
        object: p.object.clone(),
        expected: p.version,
        actual,
    })
}

/// The layer a commit's change of `kind` goes to: business data (users,
/// organizations, assignments, credentials) is never deployable code, so it
/// lives in the database layer whatever the commit's layer.
pub(crate) fn layer_for(commit: Layer, kind: ObjectKind) -> Layer {
    if kind.is_deployable() {
        commit
    } else {
        Layer::Database
    }
}

/// Refuses change sets a layer cannot hold.
pub(crate) fn check_changes(layer: Layer, changes: &[Change]) -> Result<(), StoreError> {
    for change in changes {
        if let Change::Hide(key) = change {
            if !key.kind.is_deployable() {
                return Err(StoreError::Unsupported(format!(
                    "hiding {key}: only security objects have a code layer to hide"
                )));
            }
            if layer == Layer::Code {
                return Err(StoreError::Unsupported(format!(
                    "hiding {key} in the code layer: code objects are removed, only the database layer hides"
                )));
            }
        }
    }
    Ok(())
}

/// Builds the effective model from rows read kind by kind, code layer before
/// database layer.
#[derive(Default)]
pub(crate) struct Overlay {
    model: Model,
    /// Collected and merged once: inserting each in place would be quadratic.
    assignments: Vec<(Layer, Assignment)>,
    hidden: Vec<ObjectRef>,
}

impl Overlay {
    pub fn row(&mut self, kind: ObjectKind, layer: Layer, key: &str, body: &str) -> Result<(), StoreError> {
        if body == codec::TOMBSTONE {
            self.hidden.push(ObjectRef::new(kind, key));
            return Ok(());
        }
        match codec::decode_row(kind, key, body)? {
            Object::Assignment(a) => self.assignments.push((layer, a)),
            object => self.model.put(object),
        }
        Ok(())
    }

    pub fn finish(mut self) -> Model {
        // Stable sort by key then layer: for a key in both layers the database row comes last and wins.
        self.assignments
            .sort_by(|(la, a), (lb, b)| (&a.user, &a.role, la).cmp(&(&b.user, &b.role, lb)));
        let mut merged: Vec<Assignment> = Vec::with_capacity(self.assignments.len());
        for (_, a) in self.assignments {
            match merged.last_mut() {
                Some(last) if last.user == a.user && last.role == a.role => *last = a,
                _ => merged.push(a),
            }
        }
        self.model.assignments = merged.into_iter().collect();
        for key in &self.hidden {
            self.model.remove(key);
        }
        self.model
    }
}

/// One kind's effective objects by key, built from its rows code layer first,
/// for listings.
#[derive(Default)]
pub(crate) struct KindOverlay(std::collections::BTreeMap<String, Object>);

impl KindOverlay {
    pub fn row(&mut self, kind: ObjectKind, key: &str, body: &str) -> Result<(), StoreError> {
        if body == codec::TOMBSTONE {
            self.0.remove(key);
        } else {
            self.0.insert(key.to_string(), codec::decode_row(kind, key, body)?);
        }
        Ok(())
    }

    pub fn finish(self) -> Vec<Object> {
        self.0.into_values().collect()
    }
}
