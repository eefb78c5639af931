//! Who gets access: organizations, users and role assignments.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A legal entity or operating unit that assignments can be scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UserKind {
    #[default]
    Person,
    ServiceAccount,
}

impl UserKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            UserKind::Person => "person",
            UserKind::ServiceAccount => "service_account",
        }
    }
}

impl std::str::FromStr for UserKind {
    type Err = crate::ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
            "" | "person" | "user" => Ok(UserKind::Person),
            "service_account" | "service" => Ok(UserKind::ServiceAccount),
            _ => Err(crate::ParseEnumError::new("user type", s, "person, service_account")),
        }
    }
}

/// A person or a service account. Disabled users have no access at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: UserKind,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Free-form attributes (department, company, title, ...) that assignment
    /// rules select users by. Names are matched case-insensitively.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl User {
    pub fn new(id: impl Into<String>) -> User {
        User { id: id.into(), name: None, kind: UserKind::Person, enabled: true, email: None, attributes: BTreeMap::new() }
    }

    /// An attribute by name, as assignment rules see it: the user's own fields
    /// (`id`, `name`, `email`, `type`, `enabled`) first, then [`User::attributes`].
    pub fn attribute(&self, name: &str) -> Option<String> {
        match name.to_ascii_lowercase().as_str() {
            "id" => Some(self.id.clone()),
            "name" => self.name.clone(),
            "email" => self.email.clone(),
            "type" => Some(self.kind.as_str().to_string()),
            "enabled" => Some(self.enabled.to_string()),
            _ => self.attributes.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()),
        }
    }
}

/// Attribute names that are the user's own fields, not free-form attributes.
pub const USER_FIELDS: [&str; 5] = ["id", "name", "email", "type", "enabled"];

/// A role given to a user: everywhere (no organizations) or only in the listed
/// organizations, and only inside `[valid_from, valid_to)` when those are set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    pub user: String,
    pub role: String,
    /// Empty means global: the role applies in every organization and to checks without one.
    #[serde(default)]
    pub organizations: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    /// The assignment rule that made this assignment; none for a manual one.
    /// Warden keeps rule-made assignments in line with the rules, and never
    /// touches manual ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub rule: Option<String>,
}

impl Assignment {
    pub fn global(user: impl Into<String>, role: impl Into<String>) -> Assignment {
        Assignment { user: user.into(), role: role.into(), organizations: Vec::new(), valid_from: None, valid_to: None, rule: None }
    }

    pub fn is_global(&self) -> bool {
        self.organizations.is_empty()
    }

    /// Whether the validity window contains `at` (from inclusive, to exclusive).
    pub fn is_valid_at(&self, at: Timestamp) -> bool {
        self.valid_from.is_none_or(|f| f <= at) && self.valid_to.is_none_or(|t| at < t)
    }

    /// Whether the assignment counts for a check in `org` (or without an organization).
    pub fn applies_to(&self, org: Option<&str>) -> bool {
        match org {
            None => self.is_global(),
            Some(o) => self.is_global() || self.organizations.iter().any(|x| x == o),
        }
    }
}

/// How a credential proves who a user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A local account's password, as an argon2id PHC string.
    Password,
    /// A bearer token for a service account or a script, as the SHA-256 of its
    /// secret: the secret is 256 random bits, so a fast hash is enough and keeps
    /// every API call cheap.
    ApiToken,
    /// A signed-in browser session (the cookie's secret), hashed like a token.
    Session,
}

impl CredentialKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Password => "password",
            CredentialKind::ApiToken => "api_token",
            CredentialKind::Session => "session",
        }
    }
}

/// A way for a user to sign in to Warden itself. Stored like every other object,
/// so that creating, rotating and revoking one is audited and reaches every
/// replica; only a hash of the secret is ever kept, and the audit trail keeps
/// not even that (see [`Credential::AUDITED_FIELDS`]).
///
/// `Debug` leaves the hash out, so that a traced or logged credential (or a
/// model holding one) cannot hand it to whoever reads the logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// `password:USER` for a password; the public part of the token for tokens and sessions.
    pub id: String,
    pub user: String,
    pub kind: CredentialKind,
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub created: Timestamp,
    /// Not valid at or after this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
}

impl Credential {
    /// The fields of a stored credential that the audit trail shows: whose it
    /// is, what kind, and when it was made and ends. Never the hash: an argon2id
    /// hash can be cracked offline, and the audit trail is read by auditors who
    /// may not even list the tokens. An allow-list, so that a field added later
    /// stays out of the trail until someone decides it may be shown.
    pub const AUDITED_FIELDS: [&'static str; 6] = ["id", "user", "kind", "label", "created", "expires"];

    /// Whether the credential may be used at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires.is_none_or(|e| now < e)
    }

    /// Cuts a stored credential body (JSON, as written by any version) down to
    /// [`Credential::AUDITED_FIELDS`]. A body that is not a JSON object is no
    /// credential Warden wrote, and is replaced by an empty one rather than shown.
    pub fn audit_view(body: &mut serde_json::Value) {
        match body {
            serde_json::Value::Object(fields) => fields.retain(|name, _| Credential::AUDITED_FIELDS.contains(&name.as_str())),
            other => *other = serde_json::Value::Object(serde_json::Map::new()),
        }
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("kind", &self.kind)
            .field("hash", &"<redacted>")
            .field("label", &self.label)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> Credential {
        Credential {
            id: "token:0123456789abcdef".into(),
            user: "alice".into(),
            kind: CredentialKind::ApiToken,
            hash: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8".into(),
            label: Some("ci".into()),
            created: Timestamp(1),
            expires: Some(Timestamp(2)),
        }
    }

    #[test]
    fn debug_leaves_the_hash_out() {
        let c = credential();
        let text = format!("{c:?} {c:#?}");
        assert!(!text.contains(&c.hash), "{text}");
        assert!(text.contains("alice") && text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn audit_view_keeps_every_field_but_the_hash() {
        let c = credential();
        let mut body = serde_json::to_value(&c).unwrap();
        let all: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        Credential::audit_view(&mut body);
        let kept: Vec<&String> = body.as_object().unwrap().keys().collect();
        // A new field of Credential fails here until it is listed in AUDITED_FIELDS or knowingly left out.
        let dropped: Vec<&String> = all.iter().filter(|f| !kept.contains(f)).collect();
        assert_eq!(dropped, ["hash"]);
        assert!(!body.to_string().contains(&c.hash));
        let mut odd = serde_json::json!("$argon2id$v=19$...");
        Credential::audit_view(&mut odd);
        assert_eq!(odd, serde_json::json!({}));
    }
}
