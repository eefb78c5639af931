//! "Why?" — every path by which a user's roles reach an entry point, and the
//! state of each assignment, so an administrator sees why a check came out as it did.

use crate::Decision;
use serde::Serialize;
use std::collections::HashSet;
use std::fmt;
use warden_model::{Access, Assignment, EntryPointKey, Grant, Model, Part, Permission, Role, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Role,
    SubRole,
    Duty,
    Privilege,
}

/// One hop on a path; `extension` names the role or duty extension that added it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathStep {
    pub kind: StepKind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

/// Why an assignment did or did not count for this check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum AssignmentState {
    Active,
    NotYetValid { valid_from: Timestamp },
    Expired { valid_to: Timestamp },
    /// Scoped to organizations, and the check named none of them (or no organization at all).
    OutOfScope,
    UnknownRole,
    /// The user's own assignment, suspended by a Replace temporary role session.
    Suspended { session: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentStatus {
    pub assignment: Assignment,
    #[serde(flatten)]
    pub state: AssignmentState,
    /// The temporary role session this assignment comes from; none for the user's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// A path from an assignment's role to a grant on the entry point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantPath {
    /// role › sub-role › ... › duty › privilege
    pub steps: Vec<PathStep>,
    /// What the grant says about the checked access; `None` when the grant is
    /// on the entry point but leaves this access unset.
    pub permission: Option<Permission>,
    pub grant: Grant,
    /// For a control or field check: that part's own grant on this path, when
    /// the privilege names the part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_grant: Option<Grant>,
    /// Whether `permission` is the part's own (from `part_grant`) rather than
    /// the entry point grant's, which a part inherits when its own grant
    /// leaves the access unset.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub from_part: bool,
    /// Whether the assignment this path starts from counts for the check.
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub decision: Decision,
    /// One sentence for people: which rule decided.
    pub reason: String,
    pub user: String,
    pub entry_point: EntryPointKey,
    /// The control or field checked below the entry point, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<Part>,
    pub access: Access,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    pub at: Timestamp,
    pub assignments: Vec<AssignmentStatus>,
    pub paths: Vec<GrantPath>,
}

/// Explains a check. Its decision is the reference semantics, so it always
/// agrees with [`crate::reference::check`] and with the index.
pub fn explain(model: &Model, user: &str, ep: &EntryPointKey, access: Access, org: Option<&str>, at: Timestamp) -> Explanation {
    explain_with(model, user, ep, access, None, org, at)
}

/// Explains a check of a control or field below `ep` ([`crate::check_part`]):
/// each path's permission is the part's own or the entry point's, and the
/// reason says which grant decided. When the user cannot Read `ep` the part
/// is out of reach, and the reason says why Read is denied.
#[allow(clippy::too_many_arguments)]
pub fn explain_part(model: &Model, user: &str, ep: &EntryPointKey, access: Access, part: &Part, org: Option<&str>, at: Timestamp) -> Explanation {
    let mut out = explain_with(model, user, ep, access, Some(part), org, at);
    let read = explain(model, user, ep, Access::Read, org, at);
    // A missing or disabled user is explained as such already.
    let enabled = model.users.contains_key(user) && model.access_view().enabled_at(model, user, at);
    if read.decision == Decision::Deny && enabled {
        out.decision = Decision::Deny;
        out.reason = format!("{part} is out of reach: the user cannot open {ep} ({})", read.reason);
    }
    out
}

fn explain_with(model: &Model, user: &str, ep: &EntryPointKey, access: Access, part: Option<&Part>, org: Option<&str>, at: Timestamp) -> Explanation {
    let mut out = Explanation {
        decision: Decision::Deny,
        reason: String::new(),
        user: user.to_string(),
        entry_point: ep.clone(),
        part: part.cloned(),
        access,
        organization: org.map(str::to_string),
        at,
        assignments: Vec::new(),
        paths: Vec::new(),
    };
    let Some(u) = model.users.get(user) else {
        out.reason = format!("user {user} does not exist");
        return out;
    };
    let view = model.access_view();
    let enabled = view.enabled_at(model, user, at);
    let sessions: Vec<_> = view.temp_sessions_at(user, at).collect();
    let replaced = sessions.iter().find(|s| s.session_type == warden_model::SessionType::Replace).map(|s| s.id.clone());
    let from_sessions: Vec<(Assignment, Option<String>)> = sessions.iter().flat_map(|s| s.assignments().map(|a| (a, Some(s.id.clone())))).collect();
    let own = model.assignments_of(user).iter().map(|a| (a.clone(), None));
    for (a, session) in own.chain(from_sessions) {
        let a = &a;
        let state = if let (None, Some(id)) = (&session, &replaced) {
            AssignmentState::Suspended { session: id.clone() }
        } else if !model.roles.contains_key(&a.role) {
            AssignmentState::UnknownRole
        } else if let Some(from) = a.valid_from.filter(|f| at < *f) {
            AssignmentState::NotYetValid { valid_from: from }
        } else if let Some(to) = a.valid_to.filter(|t| at >= *t) {
            AssignmentState::Expired { valid_to: to }
        } else if !a.applies_to(org) {
            AssignmentState::OutOfScope
        } else {
            AssignmentState::Active
        };
        let active = state == AssignmentState::Active;
        if let Some(role) = model.roles.get(&a.role) {
            let mut steps = vec![PathStep { kind: StepKind::Role, name: role.name.clone(), extension: None }];
            let mut visited = HashSet::new();
            walk_role(model, role, ep, (access, part), active, &mut steps, &mut visited, &mut out.paths);
        }
        out.assignments.push(AssignmentStatus { assignment: a.clone(), state, session });
    }
    let active = || out.paths.iter().filter(|p| p.active);
    let deny = active().find(|p| p.permission == Some(Permission::Deny));
    let allow = active().find(|p| p.permission == Some(Permission::Allow));
    (out.decision, out.reason) = if !enabled {
        let how = if u.enabled { " by a privileged user session" } else { "" };
        (Decision::Deny, format!("user {user} is disabled{how}; disabled users have no access"))
    } else if let Some(p) = deny {
        (Decision::Deny, format!("{} is denied by {}{}; Deny wins over every Allow", asked(access, part), render_steps(&p.steps), decided_by(p, part)))
    } else if let Some(p) = allow {
        (Decision::Allow, format!("{} is allowed by {}{}", asked(access, part), render_steps(&p.steps), decided_by(p, part)))
    } else if out.paths.iter().any(|p| p.permission.is_some()) {
        (Decision::Deny, format!("no role active for this check grants {}; the grants found come from assignments that do not count here", asked(access, part)))
    } else {
        (Decision::Deny, format!("no active role grants {} on {ep}", asked(access, part)))
    };
    out
}

#[allow(clippy::too_many_arguments)]
fn walk_role<'a>(
    model: &'a Model,
    role: &'a Role,
    ep: &EntryPointKey,
    access: Asked<'_>,
    active: bool,
    steps: &mut Vec<PathStep>,
    visited: &mut HashSet<&'a str>,
    out: &mut Vec<GrantPath>,
) {
    if !visited.insert(role.name.as_str()) {
        return;
    }
    let own_ext = |list: fn(&warden_model::RoleExtension) -> &Vec<String>, name: &str| {
        model.extensions_of_role(&role.name).find(|e| list(e).iter().any(|x| x == name)).map(|e| e.name.clone())
    };
    for duty in model.role_duties(role) {
        let Some(d) = model.duties.get(duty) else { continue };
        let extension = if role.duties.iter().any(|x| x == duty) { None } else { own_ext(|e| &e.duties, duty) };
        steps.push(PathStep { kind: StepKind::Duty, name: duty.to_string(), extension });
        for privilege in model.duty_privileges(d) {
            let extension = if d.privileges.iter().any(|x| x == privilege) {
                None
            } else {
                model
                    .duty_extensions
                    .values()
                    .find(|e| e.target == d.name && e.privileges.iter().any(|x| x == privilege))
                    .map(|e| e.name.clone())
            };
            grants_of(model, privilege, extension, ep, access, active, steps, out);
        }
        steps.pop();
    }
    for privilege in model.role_privileges(role) {
        let extension = if role.privileges.iter().any(|x| x == privilege) { None } else { own_ext(|e| &e.privileges, privilege) };
        grants_of(model, privilege, extension, ep, access, active, steps, out);
    }
    for sub in model.role_sub_roles(role) {
        let Some(s) = model.roles.get(sub) else { continue };
        let extension = if role.sub_roles.iter().any(|x| x == sub) { None } else { own_ext(|e| &e.sub_roles, sub) };
        steps.push(PathStep { kind: StepKind::SubRole, name: sub.to_string(), extension });
        walk_role(model, s, ep, access, active, steps, visited, out);
        steps.pop();
    }
}

#[allow(clippy::too_many_arguments)]
fn grants_of(
    model: &Model,
    privilege: &str,
    extension: Option<String>,
    ep: &EntryPointKey,
    (access, part): Asked<'_>,
    active: bool,
    steps: &[PathStep],
    out: &mut Vec<GrantPath>,
) {
    let Some(p) = model.privileges.get(privilege) else { return };
    for g in p.entry_points.iter().filter(|g| g.key() == *ep) {
        let mut path = steps.to_vec();
        path.push(PathStep { kind: StepKind::Privilege, name: privilege.to_string(), extension: extension.clone() });
        let (permission, from_part) = match part {
            Some(part) => g.part_permission(part, access),
            None => (g.grant.get(access), false),
        };
        let part_grant = part.and_then(|part| g.part_grant(part));
        out.push(GrantPath { steps: path, permission, grant: g.grant, part_grant, from_part, active });
    }
}

/// The access asked, and the control or field it is asked on, if any.
type Asked<'p> = (Access, Option<&'p Part>);

/// `Update`, or `Update on control CreditMax`.
fn asked(access: Access, part: Option<&Part>) -> String {
    match part {
        Some(part) => format!("{access} on {part}"),
        None => access.to_string(),
    }
}

/// For a part check: which grant of the deciding path decided.
fn decided_by(p: &GrantPath, part: Option<&Part>) -> String {
    match part {
        Some(part) if p.from_part => format!(" (its own grant on {part})"),
        Some(part) => format!(" (its grant on the entry point, which {part} inherits)"),
        None => String::new(),
    }
}

fn render_steps(steps: &[PathStep]) -> String {
    steps.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" › ")
}

impl fmt::Display for PathStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            StepKind::Role => "role",
            StepKind::SubRole => "sub-role",
            StepKind::Duty => "duty",
            StepKind::Privilege => "privilege",
        };
        write!(f, "{kind} {}", self.name)?;
        if let Some(e) = &self.extension {
            write!(f, " (via extension {e})")?;
        }
        Ok(())
    }
}

impl fmt::Display for AssignmentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssignmentState::Active => f.write_str("active"),
            AssignmentState::NotYetValid { valid_from } => write!(f, "not yet valid (from {valid_from})"),
            AssignmentState::Expired { valid_to } => write!(f, "expired (until {valid_to})"),
            AssignmentState::OutOfScope => f.write_str("out of scope (scoped to other organizations)"),
            AssignmentState::UnknownRole => f.write_str("role does not exist"),
            AssignmentState::Suspended { session } => write!(f, "suspended by Replace session {session}"),
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.decision, self.reason)?;
        let org = self.organization.as_deref().unwrap_or("(none: global assignments only)");
        let part = self.part.as_ref().map(|p| format!(" · {p}")).unwrap_or_default();
        writeln!(f, "  check: user {} · {}{part} · {} · organization {} · at {}", self.user, self.entry_point, self.access, org, self.at)?;
        if self.assignments.is_empty() {
            writeln!(f, "  assignments: none")?;
        } else {
            writeln!(f, "  assignments:")?;
            for a in &self.assignments {
                let scope = if a.assignment.organizations.is_empty() {
                    "global".to_string()
                } else {
                    format!("orgs {}", a.assignment.organizations.join(","))
                };
                let via = a.session.as_ref().map(|s| format!(" (session {s})")).unwrap_or_default();
                writeln!(f, "    {} [{}] {}{via}", a.assignment.role, scope, a.state)?;
            }
        }
        if self.paths.is_empty() {
            writeln!(f, "  paths: no role of this user reaches {}", self.entry_point)?;
        } else {
            writeln!(f, "  paths:")?;
            for p in &self.paths {
                let what = match p.permission {
                    Some(Permission::Allow) => format!("Allow {}", self.access),
                    Some(Permission::Deny) => format!("DENY {}", self.access),
                    None => format!("{} unset", self.access),
                };
                let counts = if p.active { "" } else { " (assignment not in effect)" };
                let own = match (&self.part, p.part_grant) {
                    (Some(part), Some(g)) => format!(" [{part}: {g}]{}", if p.from_part { "" } else { " (inherits the entry point here)" }),
                    (Some(_), None) => " (inherits the entry point)".to_string(),
                    _ => String::new(),
                };
                writeln!(f, "    {what}{counts}: {} [grant: {}]{own}", render_steps(&p.steps), p.grant)?;
            }
        }
        Ok(())
    }
}
