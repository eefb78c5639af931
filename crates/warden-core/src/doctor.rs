//! `warden doctor`: the whole-store checks that writes no longer run in full
//! on every command — the whole-model validation (`Model::validate`), the
//! audit trail's hash chain, and whether the built-in model is installed and
//! current — reported as every problem found, grouped by kind, each naming
//! the objects concerned.
//!
//! A store that fails them still opens and serves; the report says what to
//! fix. Dangling references (a role naming a duty of a model not imported)
//! are legal after a partial AOT import, so they are warnings unless asked
//! to be strict.

use crate::error::CoreError;
use crate::service::Warden;
use serde::Serialize;
use std::collections::BTreeMap;
use warden_model::{ModelError, ObjectKind, ObjectRef};
use warden_store::AuditVerification;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem: what is wrong, and the objects it is about (`kind/key`, as
/// `warden audit log --object` takes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub message: String,
    pub objects: Vec<String>,
}

/// The problems of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// A stable name for scripts: `unknown_reference`, `audit_chain`, ...
    pub kind: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub findings: Vec<Finding>,
}

/// What `doctor` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub revision: u64,
    pub errors: usize,
    pub warnings: usize,
    /// Errors first, then warnings; by kind within each.
    pub groups: Vec<Group>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.errors == 0 && self.warnings == 0
    }
}

fn name(r: &ObjectRef) -> String {
    // Validation names an assignment `USER › ROLE` for people; the store's key joins the two names.
    match r.name.split_once(" › ") {
        Some((user, role)) if r.kind == ObjectKind::Assignment => named(r.kind, &warden_model::join_key(&[user, role])),
        _ => format!("{}/{}", r.kind.code(), r.name),
    }
}

fn named(kind: ObjectKind, key: &str) -> String {
    format!("{}/{key}", kind.code())
}

/// The kind of a validation problem, its title, and the objects it names.
fn classify(e: &ModelError) -> (&'static str, &'static str, Vec<String>) {
    use ModelError as E;
    let assignment = |user: &str, role: &str| vec![named(ObjectKind::User, user), named(ObjectKind::Role, role)];
    match e {
        E::DuplicateName { first, second } => ("duplicate_name", "names that differ only in case", vec![name(first), name(second)]),
        E::LookAlike { kind, first, second } => ("look_alike", "names that look the same", vec![named(*kind, first), named(*kind, second)]),
        E::UnknownReference { from, to } => ("unknown_reference", "references to objects that do not exist", vec![name(from), name(to)]),
        E::SubRoleCycle { path } => {
            // The path ends where it starts; each role once.
            let mut roles: Vec<String> = Vec::new();
            for r in path.iter().map(|r| named(ObjectKind::Role, r)) {
                if !roles.contains(&r) {
                    roles.push(r);
                }
            }
            ("sub_role_cycle", "sub-role cycles", roles)
        }
        E::ExtensionTargetMissing { extension, target } => ("extension_target_missing", "extensions of objects that do not exist", vec![name(extension), name(target)]),
        E::EmptyValidity { user, role, .. } => ("empty_validity", "assignments whose window is empty", assignment(user, role)),
        E::DuplicateAssignment { user, role } => ("duplicate_assignment", "roles assigned twice to one user", assignment(user, role)),
        E::RuleWithoutCondition { rule } => ("rule_without_condition", "assignment rules without a condition", vec![named(ObjectKind::AssignmentRule, rule)]),
        E::SodSidesEqual { rule } => ("sod_sides_equal", "SoD rules with two equal sides", vec![named(ObjectKind::SodRule, rule)]),
        E::SodEmptyValidity { rule, .. } => ("sod_empty_validity", "SoD rules whose window is empty", vec![named(ObjectKind::SodRule, rule)]),
        E::SessionEmptyWindow { session, .. } => ("session_empty_window", "sessions whose window is empty", vec![name(session)]),
        E::UnwritableElement { object, .. } => ("unwritable_element", "kept AOT elements that cannot be written back", vec![name(object)]),
        E::SessionWithoutRoles { session } => ("session_without_roles", "temporary role sessions without roles", vec![name(session)]),
        E::SessionTooLong { session, .. } => ("session_too_long", "privileged sessions longer than a day", vec![name(session)]),
        E::SessionOverlap { user, first, second } => (
            "session_overlap",
            "overlapping privileged sessions",
            vec![named(ObjectKind::User, user), named(ObjectKind::PrivilegedSession, first), named(ObjectKind::PrivilegedSession, second)],
        ),
        E::TooManyRoles { .. } => ("too_many_roles", "more roles than the access index holds", Vec::new()),
    }
}

/// Sorts validation problems into groups: dangling references are warnings
/// unless `strict`, everything else is an error.
pub fn group(problems: &[ModelError], strict: bool) -> Vec<Group> {
    let mut groups: BTreeMap<(Severity, &'static str), Group> = BTreeMap::new();
    for e in problems {
        let (kind, title, objects) = classify(e);
        let severity = if e.is_dangling() && !strict { Severity::Warning } else { Severity::Error };
        // A dangling reference and a broken one share a kind but not a severity.
        let (kind, title) = match (kind, severity) {
            ("unknown_reference", Severity::Warning) => ("dangling_reference", "references to security objects that are not loaded"),
            _ => (kind, title),
        };
        groups
            .entry((severity, kind))
            .or_insert_with(|| Group { kind, title, severity, findings: Vec::new() })
            .findings
            .push(Finding { message: e.to_string(), objects });
    }
    groups.into_values().collect()
}

/// One line for a log: how many problems of which kinds, e.g. `2 errors
/// (duplicate_assignment: 1, unknown_reference: 1), 3 warnings (dangling_reference: 3)`.
pub fn summary(groups: &[Group]) -> String {
    let part = |severity: Severity, word: &str| {
        let of: Vec<&Group> = groups.iter().filter(|g| g.severity == severity).collect();
        let n: usize = of.iter().map(|g| g.findings.len()).sum();
        (n > 0).then(|| {
            let kinds: Vec<String> = of.iter().map(|g| format!("{}: {}", g.kind, g.findings.len())).collect();
            format!("{n} {word}{} ({})", if n == 1 { "" } else { "s" }, kinds.join(", "))
        })
    };
    let parts: Vec<String> = [part(Severity::Error, "error"), part(Severity::Warning, "warning")].into_iter().flatten().collect();
    if parts.is_empty() { "no problems".to_string() } else { parts.join(", ") }
}

impl Warden {
    /// Runs every whole-store check and reports every problem; reads only.
    pub async fn doctor(&self, strict: bool) -> Result<Report, CoreError> {
        let (model, revision) = self.store().load().await?;
        let mut groups = group(&model.validate(), strict);
        if let AuditVerification::Broken { seq, reason } = self.verify_audit(None).await? {
            groups.push(Group {
                kind: "audit_chain",
                title: "audit trail hash chain",
                severity: Severity::Error,
                findings: vec![Finding { message: format!("the audit trail is broken at event {seq}: {reason}"), objects: Vec::new() }],
            });
        }
        let pending = crate::builtin::pending(self.store().as_ref()).await?;
        if !pending.is_empty() {
            let objects: Vec<String> = pending.iter().map(|c| name(&c.key())).collect();
            groups.push(Group {
                kind: "builtin_model",
                title: "built-in Warden model missing or outdated",
                severity: Severity::Warning,
                findings: vec![Finding {
                    message: format!(
                        "{} built-in object{} missing or not as this version of Warden defines {}; the next command that writes, or `warden serve`, installs them",
                        objects.len(),
                        if objects.len() == 1 { " is" } else { "s are" },
                        if objects.len() == 1 { "it" } else { "them" }
                    ),
                    objects,
                }],
            });
        }
        groups.sort_by_key(|g| (g.severity, g.kind));
        let count = |s: Severity| groups.iter().filter(|g| g.severity == s).map(|g| g.findings.len()).sum();
        Ok(Report { revision, errors: count(Severity::Error), warnings: count(Severity::Warning), groups })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_grouped_by_kind_and_dangling_ones_are_warnings_unless_strict() {
        let role = ObjectRef::new(ObjectKind::Role, "Clerk");
        let problems = vec![
            ModelError::UnknownReference { from: role.clone(), to: ObjectRef::new(ObjectKind::Duty, "Gone") },
            ModelError::UnknownReference { from: ObjectRef::new(ObjectKind::Assignment, "a"), to: role.clone() },
            ModelError::DuplicateAssignment { user: "alice".into(), role: "Clerk".into() },
            ModelError::DuplicateAssignment { user: "bob".into(), role: "Clerk".into() },
        ];
        let groups = group(&problems, false);
        let shape: Vec<(&str, Severity, usize)> = groups.iter().map(|g| (g.kind, g.severity, g.findings.len())).collect();
        assert_eq!(
            shape,
            vec![("duplicate_assignment", Severity::Error, 2), ("unknown_reference", Severity::Error, 1), ("dangling_reference", Severity::Warning, 1)]
        );
        assert_eq!(groups[0].findings[1].objects, vec!["user/bob", "role/Clerk"]);
        assert_eq!(summary(&groups), "3 errors (duplicate_assignment: 2, unknown_reference: 1), 1 warning (dangling_reference: 1)");
        let strict = group(&problems, true);
        assert!(strict.iter().all(|g| g.severity == Severity::Error), "{strict:?}");
        assert_eq!(summary(&[]), "no problems");
    }
}
