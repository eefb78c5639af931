//! Reading the stored form of objects: their versions (for `ETag`s and
//! `If-Match`), the code and database layers of security objects, and the
//! customizations those layers make. Every front end reads them here, so that
//! the CLI, the API and the console list the same customizations the same way.

use crate::error::CoreError;
use crate::service::Warden;
use serde::Serialize;
use std::collections::HashSet;
use warden_model::{ObjectKind, ObjectRef};
use warden_store::{Layer, LayerEntry, Revision, Versioned};

/// One database-layer row of a security object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customization {
    pub key: ObjectRef,
    /// The row is a tombstone: it deletes the code object rather than changing it.
    pub hidden: bool,
    /// A code object lies beneath (false: the object was created in the database).
    pub overrides_code: bool,
    /// The revision that last wrote the row.
    pub revision: Revision,
}

impl Customization {
    /// What the row does to the code layer: `added`, `changed` or `deleted`.
    pub fn change(&self) -> &'static str {
        match (self.hidden, self.overrides_code) {
            (true, _) => "deleted",
            (false, true) => "changed",
            (false, false) => "added",
        }
    }
}

impl Warden {
    /// The effective stored form of one object, with its version.
    pub async fn stored(&self, key: &ObjectRef) -> Result<Option<Versioned>, CoreError> {
        Ok(self.store().get_versioned(key).await?)
    }

    /// Every layer's row of one object, code layer first.
    pub async fn layers(&self, key: &ObjectRef) -> Result<Vec<LayerEntry>, CoreError> {
        Ok(self.store().layers(key).await?)
    }

    /// The database layer's rows of every deployable kind, kind by kind in key order.
    pub async fn customizations(&self) -> Result<Vec<Customization>, CoreError> {
        let mut rows = Vec::new();
        for kind in ObjectKind::ALL.into_iter().filter(|k| k.is_deployable()) {
            let database = self.store().layer_keys(Layer::Database, kind).await?;
            if database.is_empty() {
                continue;
            }
            let code: HashSet<String> = self.store().layer_keys(Layer::Code, kind).await?.into_iter().map(|k| k.key).collect();
            rows.extend(database.into_iter().map(|k| Customization {
                overrides_code: code.contains(&k.key),
                key: ObjectRef::new(kind, k.key),
                hidden: k.hidden,
                revision: k.revision,
            }));
        }
        Ok(rows)
    }
}
