//! The backend-independent half of `Idempotency-Key` records: how an answer's
//! headers are stored (one JSON text column) and read back.

use crate::{IdempotencyRecord, StoreError, StoredResponse};
use warden_model::Timestamp;

/// The columns every backend selects, in this order.
pub(crate) const COLUMNS: &str = "fingerprint, created, expires, revision, status, headers, body";

/// The stored form of a response's headers.
pub(crate) fn headers_text(response: &StoredResponse) -> String {
    serde_json::to_string(&response.headers).unwrap_or_else(|_| "[]".into())
}

/// One row's columns, as the backends read them.
pub(crate) struct Columns {
    pub fingerprint: String,
    pub created: i64,
    pub expires: i64,
    pub revision: Option<i64>,
    pub status: Option<i64>,
    pub headers: Option<String>,
    pub body: Option<Vec<u8>>,
}

impl Columns {
    pub fn record(self, scope: &str, key: &str) -> Result<IdempotencyRecord, StoreError> {
        let whose = || format!("the idempotency record of key {key:?}");
        let revision = self
            .revision
            .map(|r| u64::try_from(r).map_err(|_| StoreError::corrupt(format!("{}: negative revision {r}", whose()))))
            .transpose()?;
        let response = match (self.status, self.headers, self.body) {
            (None, _, _) => None,
            (Some(status), headers, body) => Some(StoredResponse {
                status: u16::try_from(status).map_err(|_| StoreError::corrupt(format!("{}: status {status}", whose())))?,
                headers: match headers {
                    None => Vec::new(),
                    Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::corrupt(format!("{}: headers: {e}", whose())))?,
                },
                body: body.unwrap_or_default(),
            }),
        };
        Ok(IdempotencyRecord {
            scope: scope.to_string(),
            key: key.to_string(),
            fingerprint: self.fingerprint,
            created: Timestamp(self.created),
            expires: Timestamp(self.expires),
            revision,
            response,
        })
    }
}
