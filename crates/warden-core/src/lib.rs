//! Warden's governance services: the commands a security administrator runs,
//! each one validated in full and then written as one store transaction with
//! one audit event.
//!
//! [`Warden`] wraps a [`Store`](warden_store::Store) and the acting user. Its
//! write methods share one shape: load the stored model, work out the changes,
//! validate the model as it would be after them (refusing with a message that
//! names the offending object, file, line or field), and only then commit —
//! so a command either does everything it was asked or writes nothing.
//!
//! [`Snapshot`] is the read side: a model with its compiled
//! [`Index`](warden_engine::Index), for checks, explanations and listings.
//!
//! Re-assigning a role a user already has replaces that assignment (its
//! organizations and validity window), because a user holds each role at most
//! once; the command reports what it replaced.

mod csv_io;
pub mod demo;
mod edit;
mod error;
mod names;
mod rules;
mod service;
mod snapshot;
mod sod;
mod sod_files;
pub mod webhooks;

pub use csv_io::{
    parse_assignments, parse_orgs, parse_users, write_assignments, write_orgs, write_users, CsvProblem, ASSIGNMENT_COLUMNS,
    ORG_COLUMNS, USER_COLUMNS,
};
pub use edit::{resolve as resolve_name, DutyEdit, Edit, EditOutcome, EntryPointEdit, ListEdit, PrivilegeEdit, RoleEdit, RuleEdit, UserEdit};
pub use error::CoreError;
pub use sod_files::{parse_entry_point_side, parse_sod_rules, write_sod_rules_csv, SOD_RULE_COLUMNS};
pub use sod::{ConflictFound, Resolution, RoleReport, RoleViolation, VerifyOutcome};
pub use service::{
    write_dataset, AotImportOutcome, AssignOutcome, CsvImportOutcome, DatasetReport, DemoOutcome, ExportOutcome, RevokeOutcome,
    CustomizationsRemoved, Warden, WriteOutcome,
};
pub use snapshot::{
    AssignmentView, CheckOutcome, CheckRequest, ExtensionView, Member, OrgSummary, PermissionRow, RoleSummary, RoleView, Snapshot,
    TimeState, UserSummary, UserView,
};

use warden_model::Timestamp;

/// Parses a time as people type it: `now`, an RFC 3339 instant
/// (`2026-01-31T08:00:00Z`) or a date (`2026-01-31`, midnight UTC).
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, CoreError> {
    if text.trim().eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    Timestamp::parse(text).map_err(|e| CoreError::InvalidInput(e.to_string()))
}
