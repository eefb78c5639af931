//! Who gets access: organizations, users and role assignments.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A legal entity or operating unit that assignments can be scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
pub struct User {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: UserKind,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl User {
    pub fn new(id: impl Into<String>) -> User {
        User { id: id.into(), name: None, kind: UserKind::Person, enabled: true, email: None }
    }
}

/// A role given to a user: everywhere (no organizations) or only in the listed
/// organizations, and only inside `[valid_from, valid_to)` when those are set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl Assignment {
    pub fn global(user: impl Into<String>, role: impl Into<String>) -> Assignment {
        Assignment { user: user.into(), role: role.into(), organizations: Vec::new(), valid_from: None, valid_to: None }
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
