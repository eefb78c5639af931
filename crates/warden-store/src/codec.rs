//! Objects to and from their stored JSON text.
//!
//! Equivalent to [`Object::to_body`] / [`Object::from_body`], but straight between
//! the typed struct and text: going through `serde_json::Value` costs an allocation
//! per field, which shows when half a million rows are loaded at start-up.

use crate::StoreError;
use warden_model::{Object, ObjectKind};

/// The body of a database-layer row that hides the key's code object. No
/// object's JSON is this text: every kind has required fields.
pub(crate) const TOMBSTONE: &str = r#"{"hidden":true}"#;

/// The stored body of an object: its inner struct as JSON (the kind is in the key).
pub(crate) fn encode(object: &Object) -> String {
    object.to_json()
}

pub(crate) fn decode(kind: ObjectKind, body: &str) -> Result<Object, serde_json::Error> {
    Object::from_json(kind, body)
}

/// The kind named by a stored kind code.
pub(crate) fn kind(code: &str, key: &str) -> Result<ObjectKind, StoreError> {
    ObjectKind::from_code(code)
        .ok_or_else(|| StoreError::corrupt(format!("object {key:?} has unknown kind {code:?}")))
}

/// Decodes a stored row, naming it if it cannot be read.
pub(crate) fn decode_row(kind: ObjectKind, key: &str, body: &str) -> Result<Object, StoreError> {
    decode(kind, body).map_err(|e| StoreError::corrupt(format!("{kind} {key}: {e}")))
}

/// Parses stored JSON text (an audit summary or change), naming where it came from.
pub(crate) fn json(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("{}: {e}", what())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_model::{Assignment, User};

    #[test]
    fn encode_agrees_with_to_body() {
        let mut a = Assignment::global("u1", "Clerk");
        a.organizations.push("USMF".into());
        for object in [Object::User(User::new("u1")), Object::Assignment(a)] {
            let text = encode(&object);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value, object.to_body());
            assert_eq!(decode(object.kind(), &text).unwrap(), object);
        }
    }
}
