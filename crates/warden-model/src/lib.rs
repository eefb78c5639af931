//! Warden's domain model: the security configuration of D365 Finance & Operations
//! (entry points, privileges, duties, roles, XDS policies) and the people it
//! applies to (organizations, users, role assignments).
//!
//! Plain data with validation and no I/O, so that the engine, the AOT reader,
//! the store and the server all agree on one shape.

mod access;
mod assignments;
mod ident;
mod identity;
mod kinds;
mod model;
mod object;
mod parts;
mod policy_tree;
mod rules;
mod security;
mod session;
mod shown;
mod sod;
mod time;
mod unmodelled;
mod webhook;

pub use access::{Access, AccessSet, Grant, Permission};
pub use ident::{fold, join_key, split_key, validate_id, IdError, FILE_NAME_FORBIDDEN, MAX_ID_BYTES};
pub use identity::{Assignment, Credential, CredentialKind, Organization, User, UserKind, USER_FIELDS};
pub use assignments::Assignments;
pub use model::{Map, Model, ModelError, ObjectKind, ObjectRef, MAX_ROLES};
pub use kinds::{Object, Verb};
pub use object::assignment_key;
pub use parts::{Part, PartGrant, PartKind, PartNameError};
pub use rules::{AssignmentRule, Condition, ConditionOp};
pub use sod::{ConflictStatus, Severity, SodConflict, SodRule, SodSettings, SodSide, SOD_SETTINGS_KEY};
pub use security::{
    Duty, DutyExtension, EntryPoint, EntryPointGrant, EntryPointKey, EntryPointType, Licence, Policy,
    PolicyContextType, Privilege, Role, RoleExtension, TableGrant,
};
pub use session::{
    AccessView, AccountAction, PrivilegedSession, PrivilegedSessionRequest, PrivilegedStatus, TempSessionEdit, TempSessionRequest, RecordingDeletion, RecordingSeal, SessionSettings, SessionType, StatusChange,
    TempRoleSession, TempStatus, PRIVILEGED_MAX_MS, SESSION_SETTINGS_KEY,
};
pub use policy_tree::{ConstrainedKind, ConstrainedNode, PolicyContext, PolicyTree, UnknownElement};
pub use shown::{shown, shown_lines};
pub use time::Timestamp;
pub use unmodelled::{is_xml_name, same_name, unmodelled_problem, Unmodelled, XmlAttribute, XmlElement, MAX_KEPT_DEPTH};
pub use webhook::Webhook;

/// A value that is not one of the accepted spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: expected {expected}")]
pub struct ParseEnumError {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

impl ParseEnumError {
    pub fn new(what: &'static str, value: &str, expected: &str) -> Self {
        ParseEnumError { what, value: value.to_string(), expected: expected.to_string() }
    }
}
