//! What the audit trail may show of an object: the one place that decides it,
//! used when an event is written and again whenever one is read.
//!
//! A credential's hash never belongs in the trail (an argon2id hash can be
//! cracked offline; auditors read the trail). Events written since are stored
//! without it, so their hash covers exactly what they show. Events written
//! before carry it in their stored bytes: the chain is verified over those bytes
//! unchanged, and every reader ([`crate::Store::audit_events`], and so the API,
//! the command line and webhook alerts) gets the redacted view.

use serde_json::Value;
use warden_model::{Credential, ObjectKind};

/// Cuts a body of a `kind` object down to what the audit trail shows.
pub fn audit_view(kind: ObjectKind, body: &mut Value) {
    if kind == ObjectKind::Credential {
        Credential::audit_view(body);
    }
}

/// The text the audit trail records for a stored body: `None` when that is the
/// body itself, which it is for every kind but credentials.
pub(crate) fn audit_text(kind: ObjectKind, text: &str) -> Option<String> {
    if kind != ObjectKind::Credential {
        return None;
    }
    // A body that does not parse is shown as nothing rather than as it is.
    let mut body = serde_json::from_str(text).unwrap_or(Value::Null);
    audit_view(kind, &mut body);
    Some(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_credentials_are_cut() {
        let user = r#"{"id":"alice","enabled":true,"hash":"kept: a user has no secret"}"#;
        assert_eq!(audit_text(ObjectKind::User, user), None);
        let credential = r#"{"id":"password:alice","user":"alice","kind":"password","hash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA","created":1}"#;
        // Compared as JSON: key order follows serde_json's features in the build.
        let shown: Value = serde_json::from_str(&audit_text(ObjectKind::Credential, credential).expect("cut")).expect("JSON");
        assert_eq!(shown, serde_json::json!({"created": 1, "id": "password:alice", "kind": "password", "user": "alice"}));
        assert_eq!(
            audit_text(ObjectKind::Credential, "not json").as_deref(),
            Some("{}")
        );
    }
}
