//! What can go wrong in a store, worded for the administrator who has to act on it.

use crate::Revision;
use warden_model::ObjectRef;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store moved on: expected revision {expected}, but it is at {actual}; reload and try again"
    )]
    Conflict {
        expected: Revision,
        actual: Revision,
    },

    /// A [`crate::Precondition`] failed: someone else changed the object first.
    #[error("{object} changed meanwhile: expected {}, found {}; reload it and apply your change again", version_text(*expected), version_text(*actual))]
    Stale {
        object: ObjectRef,
        expected: Option<Revision>,
        actual: Option<Revision>,
    },

    /// Another request committed under the same `Idempotency-Key` first.
    #[error("Idempotency-Key {key:?} was used by another request that committed first")]
    IdempotencyKeyInUse { key: String },

    #[error("{0} does not exist")]
    NotFound(ObjectRef),

    #[error("unsupported: {0}")]
    Unsupported(String),

    /// Data in the store that Warden cannot read back; names the row.
    #[error("the store holds data Warden cannot read: {0}")]
    Corrupt(String),

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(what.to_string())
    }
}

fn version_text(v: Option<Revision>) -> String {
    match v {
        Some(v) => format!("version {v}"),
        None => "no object".to_string(),
    }
}
