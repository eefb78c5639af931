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

pub mod builtin;
pub mod credentials;
mod csv_io;
pub mod demo;
pub mod dmf;
pub mod doctor;
mod edit;
mod error;
pub mod host;
pub mod idempotency;
mod layers;
mod names;
mod rules;
mod security_config;
mod service;
pub mod sessions;
mod snapshot;
mod sod;
mod sod_files;
mod spelling;
mod validate;
mod trail;
pub mod webhooks;

pub use csv_io::{
    parse_assignments, parse_orgs, parse_users, write_assignments, write_orgs, write_users, CsvProblem, ASSIGNMENT_COLUMNS,
    ORG_COLUMNS, USER_COLUMNS,
};
pub use edit::{resolve as resolve_name, DutyEdit, Edit, EditOutcome, EntryPointEdit, ListEdit, PrivilegeEdit, RoleEdit, RuleEdit, UserEdit};
pub use error::CoreError;
pub use layers::Customization;
pub use security_config::{SecurityConfigExportOutcome, SecurityConfigImportOutcome};
pub use host::{ModelHost, WritePath};
pub use sod_files::{parse_entry_point_side, parse_sod_rules, resolve_side, write_sod_rules_csv, SOD_RULE_COLUMNS};
pub use sod::{ConflictFound, Resolution, RoleReport, RoleViolation, VerifyOutcome};
pub use service::{
    write_dataset, AotImportOutcome, AssignOutcome, CsvImportOutcome, DatasetReport, DemoOutcome, ExportOutcome, RevokeOutcome,
    Clock, CustomizationsRemoved, Warden, WriteOutcome,
};
pub use snapshot::{
    AssignmentView, CheckOutcome, CheckRequest, ExtensionView, Member, OrgSummary, PermissionRow, RoleSummary, RoleView, Snapshot,
    TimeState, UserSummary, UserView,
};

use warden_model::Timestamp;

/// Parses a time as people type it: `now`, relative to now (`+2h`, `+30s`,
/// `+15m`, `+1d`, `-1h`), an RFC 3339 instant (`2026-01-31T08:00:00Z`) or a
/// date (`2026-01-31`, midnight UTC).
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, CoreError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some((sign, rest)) = text.strip_prefix('+').map(|r| (1, r)).or_else(|| text.strip_prefix('-').map(|r| (-1, r))) {
        let unit = rest.chars().last().unwrap_or(' ');
        let ms = match unit {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => 0,
        };
        let amount = rest[..rest.len() - unit.len_utf8().min(rest.len())].parse::<i64>().ok();
        return match (ms, amount) {
            (ms, Some(n)) if ms > 0 && n >= 0 => n
                .checked_mul(ms)
                .and_then(|d| now.0.checked_add(sign * d))
                .map(Timestamp)
                .ok_or_else(|| CoreError::InvalidInput(format!("time '{text}' is out of range"))),
            _ => Err(CoreError::InvalidInput(format!(
                "invalid relative time '{text}': expected a sign, a whole number and a unit (s, m, h or d), e.g. +2h or +30s"
            ))),
        };
    }
    Timestamp::parse(text).map_err(|e| CoreError::InvalidInput(e.to_string()))
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = Timestamp(1_000_000);
        assert_eq!(parse_time("+30s", now).unwrap(), Timestamp(1_030_000));
        assert_eq!(parse_time("+2h", now).unwrap(), Timestamp(1_000_000 + 7_200_000));
        assert_eq!(parse_time("-1m", now).unwrap(), Timestamp(940_000));
        assert_eq!(parse_time(" now ", now).unwrap(), now);
        for bad in ["+", "+h", "+2x", "+-2h", "+2.5h", "+99999999999999999d"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }
}
