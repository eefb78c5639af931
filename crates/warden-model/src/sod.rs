//! Segregation of duties: rules that no one role or user may hold both sides
//! of, and the register of conflicts that administrators resolved.
//!
//! A side is a duty (D365's rules) or an access on an entry point, so that a
//! conflict hidden inside two differently named duties is caught too.

use crate::access::Access;
use crate::security::EntryPointKey;
use crate::time::Timestamp;
use crate::ParseEnumError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How bad holding both sides of a rule is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| ParseEnumError::new("severity", s, "low, medium, high, critical"))
    }
}

/// One side of a rule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SodSide {
    /// Holding the duty, through any role, sub-role or role extension.
    Duty { duty: String },
    /// Being allowed `access` on the entry point (Allow and no Deny), whatever duty grants it.
    EntryPoint { entry_point: EntryPointKey, access: Access },
}

impl fmt::Display for SodSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SodSide::Duty { duty } => write!(f, "duty {duty}"),
            SodSide::EntryPoint { entry_point, access } => write!(f, "{access} on {entry_point}"),
        }
    }
}

/// A segregation-of-duties rule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SodRule {
    pub name: String,
    pub first: SodSide,
    pub second: SodSide,
    #[serde(default)]
    pub severity: Severity,
    /// What could go wrong (D365's "Security risk").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    /// What limits it when an override is allowed (D365's "Security mitigation").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl SodRule {
    /// Whether the rule is in force at `at`: enabled, and inside `[valid_from, valid_to)`.
    pub fn is_active_at(&self, at: Timestamp) -> bool {
        self.enabled && self.valid_from.is_none_or(|f| f <= at) && self.valid_to.is_none_or(|t| at < t)
    }
}

/// Where an administrator left a conflict.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictStatus {
    /// Found (by an assignment rule, a change, or verification) and waiting for a decision.
    Unresolved,
    /// Allowed with a reason for override: part of the conflicts register.
    Allowed,
}

impl ConflictStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ConflictStatus::Unresolved => "unresolved",
            ConflictStatus::Allowed => "allowed",
        }
    }
}

/// A user who holds both sides of a rule, and what was decided about it.
/// Keyed by user and rule: one decision covers every organization the
/// conflict occurs in, which `organizations` lists as found.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SodConflict {
    pub user: String,
    pub rule: String,
    pub status: ConflictStatus,
    /// The roles whose assignments give the two sides.
    pub roles: Vec<String>,
    /// Where the conflict occurs: empty means through global assignments (everywhere).
    #[serde(default)]
    pub organizations: Vec<String>,
    pub detected: Timestamp,
    /// How it was found: `assignment`, `assignment rule`, `change`, `verify`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided: Option<Timestamp>,
}

impl SodConflict {
    /// `USER/RULE`, joined by [`crate::join_key`] (a `/` inside a name is escaped).
    pub fn key_of(user: &str, rule: &str) -> String {
        crate::join_key(&[user, rule])
    }
}

/// The SoD parameters (D365's "Check similarity" and "Level for similarity validation").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SodSettings {
    /// Compare a new or edited duty (by privileges) or privilege (by entry points) with the others.
    #[serde(default)]
    pub check_similarity: bool,
    /// Overlap, in percent of the two objects' union, at which they count as similar.
    #[serde(default = "default_level")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub similarity_level: u8,
    /// Refuse a similar duty or privilege, rather than only warn.
    #[serde(default)]
    pub refuse_similar: bool,
}

fn default_level() -> u8 {
    80
}

impl Default for SodSettings {
    fn default() -> Self {
        SodSettings { check_similarity: false, similarity_level: default_level(), refuse_similar: false }
    }
}

/// The key of the one settings object.
pub const SOD_SETTINGS_KEY: &str = "sod";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_serialize_with_their_kind() {
        let side = SodSide::EntryPoint { entry_point: "MenuItemDisplay/VendTable".parse().unwrap(), access: Access::Create };
        let json = serde_json::to_value(&side).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "entry_point", "entry_point": {"kind": "MenuItemDisplay", "name": "VendTable"}, "access": "Create"}));
        assert_eq!(side.to_string(), "Create on MenuItemDisplay/VendTable");
        assert_eq!("CRITICAL".parse::<Severity>().unwrap(), Severity::Critical);
    }
}
