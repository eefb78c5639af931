//! The whole security configuration plus users and assignments, and its validation.

use crate::identity::{Assignment, Credential, Organization, User};
use crate::rules::AssignmentRule;
use crate::sod::{SodConflict, SodRule, SodSettings};
use crate::webhook::Webhook;
use crate::session::{PrivilegedSession, PrivilegedStatus, SessionSettings, TempRoleSession, TempStatus, PRIVILEGED_MAX_MS};
use crate::security::{Duty, DutyExtension, EntryPoint, EntryPointKey, Policy, Privilege, Role, RoleExtension};
use serde::{Deserialize, Serialize};
use crate::assignments::Assignments;
use std::collections::{HashMap, HashSet};

/// The model's maps: persistent, so that a revision is cloned in O(1) and a
/// write copies only the path to what it changes (see the model host).
pub type Map<K, V> = imbl::OrdMap<K, V>;
use std::fmt;

pub use crate::kinds::ObjectKind;

/// Names one object, for messages and audit events.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: ObjectKind, name: impl Into<String>) -> Self {
        ObjectRef { kind, name: name.into() }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// What is wrong with a model. [`ModelError::is_dangling`] tells apart references to
/// security objects that are simply not loaded (an AOT import tolerates those).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("{first} and {second} differ only in case; D365 names are case-insensitive")]
    DuplicateName { first: ObjectRef, second: ObjectRef },
    /// Two names that read the same (see [`crate::fold`]): one could pose as the other.
    #[error("{kind} {second:?} looks the same as {kind} {first:?}; names are compared ignoring case, character width and look-alike letters")]
    LookAlike { kind: ObjectKind, first: String, second: String },
    #[error("{from} references {to}, which does not exist")]
    UnknownReference { from: ObjectRef, to: ObjectRef },
    #[error("sub-role cycle: {}", path.join(" › "))]
    SubRoleCycle { path: Vec<String> },
    #[error("{extension} extends {target}, which does not exist; the extension is kept and applies once {target} is loaded")]
    ExtensionTargetMissing { extension: ObjectRef, target: ObjectRef },
    #[error("assignment of role {role} to user {user}: valid-from {from} is not before valid-to {to}")]
    EmptyValidity { user: String, role: String, from: String, to: String },
    #[error("user {user} is assigned role {role} twice")]
    DuplicateAssignment { user: String, role: String },
    #[error("assignment rule {rule} has no condition: a rule must say which users it selects (to select everyone, say so, e.g. id!=nobody)")]
    RuleWithoutCondition { rule: String },
    #[error("SoD rule {rule} has the same first and second side; a rule separates two different duties or accesses")]
    SodSidesEqual { rule: String },
    #[error("SoD rule {rule}: valid-from {from} is not before valid-to {to}")]
    SodEmptyValidity { rule: String, from: String, to: String },
    #[error("{session}: the end {end} is not after the start {start}")]
    SessionEmptyWindow { session: ObjectRef, start: String, end: String },
    #[error("{session} has no role to assign")]
    SessionWithoutRoles { session: ObjectRef },
    #[error("{session} lasts {minutes} minutes; a privileged user session lasts at most 24 hours (1440 minutes)")]
    SessionTooLong { session: ObjectRef, minutes: i64 },
    #[error("privileged user sessions {first} and {second} of user {user} overlap; one account can be in one privileged session at a time")]
    SessionOverlap { user: String, first: String, second: String },
    #[error("{count} roles exceed the limit of {limit}: the access index packs role ids into 19 bits")]
    TooManyRoles { count: usize, limit: usize },
    /// A kept AOT element ([`crate::Unmodelled`]) that could not be written back as XML.
    #[error("{object}: kept AOT element cannot be written: {problem}")]
    UnwritableElement { object: ObjectRef, problem: String },
}

/// Most roles a model may hold. The access index packs a role id and its
/// permission bits into one 32-bit word, which keeps its hot arrays small
/// enough to stay in the CPU caches; D365 ships about a thousand roles.
pub const MAX_ROLES: usize = 1 << 19;

impl ModelError {
    /// References between security objects that point outside the loaded set, and
    /// extensions of objects that are not loaded: legal in a partial AOT import.
    pub fn is_dangling(&self) -> bool {
        match self {
            ModelError::ExtensionTargetMissing { .. } => true,
            ModelError::UnknownReference { from, .. } => matches!(
                from.kind,
                ObjectKind::Role | ObjectKind::Duty | ObjectKind::Privilege | ObjectKind::RoleExtension | ObjectKind::DutyExtension | ObjectKind::Policy
            ),
            _ => false,
        }
    }
}

/// A complete snapshot: security configuration, organizations, users and assignments.
///
/// Maps are ordered so that listings, exports and comparisons are deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    #[serde(default)]
    pub entry_points: Map<EntryPointKey, EntryPoint>,
    #[serde(default)]
    pub privileges: Map<String, Privilege>,
    #[serde(default)]
    pub duties: Map<String, Duty>,
    #[serde(default)]
    pub roles: Map<String, Role>,
    #[serde(default)]
    pub role_extensions: Map<String, RoleExtension>,
    #[serde(default)]
    pub duty_extensions: Map<String, DutyExtension>,
    #[serde(default)]
    pub policies: Map<String, Policy>,
    #[serde(default)]
    pub organizations: Map<String, Organization>,
    #[serde(default)]
    pub users: Map<String, User>,
    /// Ordered by user, then role.
    #[serde(default)]
    pub assignments: Assignments,
    /// Passwords, API tokens and sign-in sessions of Warden's own users, by id.
    /// Only hashes: the secrets are shown once and never stored.
    #[serde(default)]
    pub credentials: Map<String, Credential>,
    /// Rules that assign roles by user attributes, by name.
    #[serde(default)]
    pub assignment_rules: Map<String, AssignmentRule>,
    /// Segregation-of-duties rules, by name.
    #[serde(default)]
    pub sod_rules: Map<String, SodRule>,
    /// Users holding both sides of a rule, unresolved or allowed, by `USER/RULE`.
    #[serde(default)]
    pub sod_conflicts: Map<String, SodConflict>,
    /// SoD parameters; the defaults when none are stored.
    #[serde(default)]
    pub sod_settings: Option<SodSettings>,
    /// Alert receivers, by id.
    #[serde(default)]
    pub webhooks: Map<String, Webhook>,
    /// Temporary role sessions, by id.
    #[serde(default)]
    pub temp_role_sessions: Map<String, TempRoleSession>,
    /// Privileged user sessions, by id.
    #[serde(default)]
    pub privileged_sessions: Map<String, PrivilegedSession>,
    /// Session parameters; the defaults when none are stored.
    #[serde(default)]
    pub session_settings: Option<SessionSettings>,
}

impl Model {
    /// Duties of a role, its own and those added by role extensions.
    pub fn role_duties<'a>(&'a self, role: &'a Role) -> impl Iterator<Item = &'a str> + 'a {
        role.duties.iter().map(String::as_str).chain(
            self.extensions_of_role(&role.name).flat_map(|e| e.duties.iter().map(String::as_str)),
        )
    }

    /// Privileges granted to a role directly, its own and those added by role extensions.
    pub fn role_privileges<'a>(&'a self, role: &'a Role) -> impl Iterator<Item = &'a str> + 'a {
        role.privileges.iter().map(String::as_str).chain(
            self.extensions_of_role(&role.name).flat_map(|e| e.privileges.iter().map(String::as_str)),
        )
    }

    /// Sub-roles of a role, its own and those added by role extensions.
    pub fn role_sub_roles<'a>(&'a self, role: &'a Role) -> impl Iterator<Item = &'a str> + 'a {
        role.sub_roles.iter().map(String::as_str).chain(
            self.extensions_of_role(&role.name).flat_map(|e| e.sub_roles.iter().map(String::as_str)),
        )
    }

    /// Privileges of a duty, its own and those added by duty extensions.
    pub fn duty_privileges<'a>(&'a self, duty: &'a Duty) -> impl Iterator<Item = &'a str> + 'a {
        duty.privileges.iter().map(String::as_str).chain(
            self.duty_extensions
                .values()
                .filter(move |e| e.target == duty.name)
                .flat_map(|e| e.privileges.iter().map(String::as_str)),
        )
    }

    pub fn extensions_of_role<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a RoleExtension> + 'a {
        self.role_extensions.values().filter(move |e| e.target == role)
    }

    /// Assignments of one user, by role.
    pub fn assignments_of<'a>(&'a self, user: &str) -> &'a [Assignment] {
        self.assignments.of(user)
    }

    /// Every problem in the model, errors and dangling references alike, in a stable order.
    pub fn validate(&self) -> Vec<ModelError> {
        let mut errors = Vec::new();
        self.check_case_duplicates(&mut errors);
        self.check_references(&mut errors);
        self.check_sub_role_cycles(&mut errors);
        self.check_assignments(&mut errors);
        self.check_credentials(&mut errors);
        self.check_sessions(&mut errors);
        self.check_unmodelled(&mut errors);
        for r in self.sod_rules.values().filter(|r| r.first == r.second) {
            errors.push(ModelError::SodSidesEqual { rule: r.name.clone() });
        }
        for r in self.sod_rules.values() {
            if let (Some(from), Some(to)) = (r.valid_from, r.valid_to)
                && from >= to
            {
                errors.push(ModelError::SodEmptyValidity { rule: r.name.clone(), from: from.to_string(), to: to.to_string() });
            }
        }
        for r in self.assignment_rules.values().filter(|r| r.conditions.is_empty()) {
            errors.push(ModelError::RuleWithoutCondition { rule: r.name.clone() });
        }
        if self.roles.len() > MAX_ROLES {
            errors.push(ModelError::TooManyRoles { count: self.roles.len(), limit: MAX_ROLES });
        }
        errors
    }

    /// Kept AOT elements come from files and from API bodies; one that names
    /// an element `a><b` would make `export aot` write broken XML.
    fn check_unmodelled(&self, errors: &mut Vec<ModelError>) {
        use crate::unmodelled_problem as problem;
        let mut push = |kind: ObjectKind, name: &str, found: Option<String>| {
            if let Some(problem) = found {
                errors.push(ModelError::UnwritableElement { object: ObjectRef::new(kind, name), problem });
            }
        };
        for x in self.entry_points.values() {
            push(ObjectKind::EntryPoint, &x.name, problem(&x.unmodelled));
        }
        for x in self.privileges.values() {
            let nested = x.entry_points.iter().find_map(|g| problem(&g.unmodelled));
            let tables = x.direct_access.iter().find_map(|t| problem(&t.unmodelled));
            push(ObjectKind::Privilege, &x.name, problem(&x.unmodelled).or(nested).or(tables));
        }
        for x in self.duties.values() {
            push(ObjectKind::Duty, &x.name, problem(&x.unmodelled));
        }
        for x in self.roles.values() {
            push(ObjectKind::Role, &x.name, problem(&x.unmodelled));
        }
        for x in self.role_extensions.values() {
            push(ObjectKind::RoleExtension, &x.name, problem(&x.unmodelled));
        }
        for x in self.duty_extensions.values() {
            push(ObjectKind::DutyExtension, &x.name, problem(&x.unmodelled));
        }
        for x in self.policies.values() {
            push(ObjectKind::Policy, &x.name, problem(&x.unmodelled));
        }
    }

    /// Only the problems that no import may accept (everything but dangling references).
    pub fn validate_strict_errors(&self) -> Vec<ModelError> {
        self.validate().into_iter().filter(|e| !e.is_dangling()).collect()
    }

    /// Names of one kind that fold together ([`crate::fold`]): differing only
    /// in case (D365 names are case-insensitive) or looking alike.
    fn check_case_duplicates(&self, errors: &mut Vec<ModelError>) {
        fn scan<'a>(kind: ObjectKind, names: impl Iterator<Item = &'a str>, errors: &mut Vec<ModelError>) {
            let mut seen: HashMap<String, &str> = HashMap::new();
            for name in names {
                if let Some(first) = seen.insert(crate::fold(name), name) {
                    errors.push(if first.to_lowercase() == name.to_lowercase() {
                        ModelError::DuplicateName { first: ObjectRef::new(kind, first), second: ObjectRef::new(kind, name) }
                    } else {
                        ModelError::LookAlike { kind, first: first.to_string(), second: name.to_string() }
                    });
                }
            }
        }
        for kind in ObjectKind::ALL {
            if kind == ObjectKind::EntryPoint {
                for ep in crate::EntryPointType::ALL {
                    let names = self.entry_points.keys().filter(|k| k.kind == *ep).map(|k| k.name.as_str());
                    scan(ObjectKind::EntryPoint, names, errors);
                }
            } else if let Some(names) = self.names_of(kind) {
                scan(kind, names, errors);
            }
        }
    }

    /// The names of the objects of `kind` that people name and tell apart
    /// (roles, users, ...); `None` for kinds keyed otherwise (entry points by
    /// type and name, assignments and conflicts by two names, generated ids).
    pub fn names_of(&self, kind: ObjectKind) -> Option<Box<dyn Iterator<Item = &str> + '_>> {
        fn keys<V: Clone>(map: &Map<String, V>) -> Option<Box<dyn Iterator<Item = &str> + '_>> {
            Some(Box::new(map.keys().map(String::as_str)))
        }
        match kind {
            ObjectKind::Privilege => keys(&self.privileges),
            ObjectKind::Duty => keys(&self.duties),
            ObjectKind::Role => keys(&self.roles),
            ObjectKind::RoleExtension => keys(&self.role_extensions),
            ObjectKind::DutyExtension => keys(&self.duty_extensions),
            ObjectKind::Policy => keys(&self.policies),
            ObjectKind::Organization => keys(&self.organizations),
            ObjectKind::User => keys(&self.users),
            ObjectKind::AssignmentRule => keys(&self.assignment_rules),
            ObjectKind::SodRule => keys(&self.sod_rules),
            ObjectKind::EntryPoint
            | ObjectKind::Assignment
            | ObjectKind::Credential
            | ObjectKind::SodConflict
            | ObjectKind::SodSettings
            | ObjectKind::Webhook
            | ObjectKind::TempRoleSession
            | ObjectKind::PrivilegedSession
            | ObjectKind::SessionSettings => None,
        }
    }

    /// The stored name of `kind` other than `name` itself that reads the same
    /// as `name` ([`crate::fold`]): what a new name would pose as.
    pub fn look_alike(&self, kind: ObjectKind, name: &str) -> Option<&str> {
        let folded = crate::fold(name);
        let mut names = self.names_of(kind)?;
        names.find(|n| *n != name && crate::fold(n) == folded)
    }

    fn check_references(&self, errors: &mut Vec<ModelError>) {
        let mut dangling = Vec::new();
        let mut missing = |from: ObjectRef, kind: ObjectKind, name: &str, exists: bool| {
            if !exists {
                dangling.push(ModelError::UnknownReference { from, to: ObjectRef::new(kind, name) });
            }
        };
        for p in self.privileges.values() {
            for g in &p.entry_points {
                let key = g.key();
                let exists = self.entry_points.contains_key(&key);
                missing(ObjectRef::new(ObjectKind::Privilege, &p.name), ObjectKind::EntryPoint, &key.to_string(), exists);
            }
        }
        for d in self.duties.values() {
            for p in &d.privileges {
                missing(ObjectRef::new(ObjectKind::Duty, &d.name), ObjectKind::Privilege, p, self.privileges.contains_key(p));
            }
        }
        let mut missing_targets = Vec::new();
        for r in self.roles.values() {
            let from = || ObjectRef::new(ObjectKind::Role, &r.name);
            for d in &r.duties {
                missing(from(), ObjectKind::Duty, d, self.duties.contains_key(d));
            }
            for p in &r.privileges {
                missing(from(), ObjectKind::Privilege, p, self.privileges.contains_key(p));
            }
            for s in &r.sub_roles {
                missing(from(), ObjectKind::Role, s, self.roles.contains_key(s));
            }
        }
        for e in self.role_extensions.values() {
            let from = || ObjectRef::new(ObjectKind::RoleExtension, &e.name);
            if !self.roles.contains_key(&e.target) {
                missing_targets.push(ModelError::ExtensionTargetMissing {
                    extension: from(),
                    target: ObjectRef::new(ObjectKind::Role, &e.target),
                });
            }
            for d in &e.duties {
                missing(from(), ObjectKind::Duty, d, self.duties.contains_key(d));
            }
            for p in &e.privileges {
                missing(from(), ObjectKind::Privilege, p, self.privileges.contains_key(p));
            }
            for s in &e.sub_roles {
                missing(from(), ObjectKind::Role, s, self.roles.contains_key(s));
            }
        }
        for e in self.duty_extensions.values() {
            if !self.duties.contains_key(&e.target) {
                missing_targets.push(ModelError::ExtensionTargetMissing {
                    extension: ObjectRef::new(ObjectKind::DutyExtension, &e.name),
                    target: ObjectRef::new(ObjectKind::Duty, &e.target),
                });
            }
            for p in &e.privileges {
                let exists = self.privileges.contains_key(p);
                missing(ObjectRef::new(ObjectKind::DutyExtension, &e.name), ObjectKind::Privilege, p, exists);
            }
        }
        for a in &self.assignments {
            let from = || ObjectRef::new(ObjectKind::Assignment, format!("{} › {}", a.user, a.role));
            missing(from(), ObjectKind::User, &a.user, self.users.contains_key(&a.user));
            missing(from(), ObjectKind::Role, &a.role, self.roles.contains_key(&a.role));
            for o in &a.organizations {
                missing(from(), ObjectKind::Organization, o, self.organizations.contains_key(o));
            }
        }
        for r in self.assignment_rules.values() {
            let from = || ObjectRef::new(ObjectKind::AssignmentRule, &r.name);
            missing(from(), ObjectKind::Role, &r.role, self.roles.contains_key(&r.role));
            for o in &r.organizations {
                missing(from(), ObjectKind::Organization, o, self.organizations.contains_key(o));
            }
            for u in &r.excluded_users {
                missing(from(), ObjectKind::User, u, self.users.contains_key(u));
            }
        }
        for r in self.sod_rules.values() {
            for side in [&r.first, &r.second] {
                let from = ObjectRef::new(ObjectKind::SodRule, &r.name);
                match side {
                    crate::sod::SodSide::Duty { duty } => missing(from, ObjectKind::Duty, duty, self.duties.contains_key(duty)),
                    crate::sod::SodSide::EntryPoint { entry_point, .. } => {
                        missing(from, ObjectKind::EntryPoint, &entry_point.to_string(), self.entry_points.contains_key(entry_point))
                    }
                }
            }
        }
        errors.extend(dangling);
        errors.extend(missing_targets);
    }

    /// Depth-first search over sub-role edges (extensions included); reports each cycle once.
    fn check_sub_role_cycles(&self, errors: &mut Vec<ModelError>) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Visiting,
            Done,
        }
        fn visit<'a>(
            model: &'a Model,
            name: &'a str,
            marks: &mut HashMap<&'a str, Mark>,
            stack: &mut Vec<&'a str>,
            errors: &mut Vec<ModelError>,
        ) {
            match marks.get(name) {
                Some(Mark::Done) => return,
                Some(Mark::Visiting) => {
                    let start = stack.iter().position(|n| *n == name).unwrap_or(0);
                    let mut path: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                    path.push(name.to_string());
                    errors.push(ModelError::SubRoleCycle { path });
                    return;
                }
                None => {}
            }
            let Some(role) = model.roles.get(name) else { return };
            marks.insert(name, Mark::Visiting);
            stack.push(name);
            for sub in model.role_sub_roles(role) {
                visit(model, sub, marks, stack, errors);
            }
            stack.pop();
            marks.insert(name, Mark::Done);
        }
        let mut marks = HashMap::new();
        let mut stack = Vec::new();
        for name in self.roles.keys() {
            visit(self, name, &mut marks, &mut stack, errors);
        }
    }

    fn check_credentials(&self, errors: &mut Vec<ModelError>) {
        for c in self.credentials.values() {
            if !self.users.contains_key(&c.user) {
                errors.push(ModelError::UnknownReference {
                    from: ObjectRef::new(ObjectKind::Credential, &c.id),
                    to: ObjectRef::new(ObjectKind::User, &c.user),
                });
            }
        }
    }

    /// Sessions not yet over must name existing users, roles and
    /// organizations; finished ones are history and may outlive what they named.
    fn check_sessions(&self, errors: &mut Vec<ModelError>) {
        let window = |session: ObjectRef, start: crate::Timestamp, end: crate::Timestamp, errors: &mut Vec<ModelError>| {
            if start >= end {
                errors.push(ModelError::SessionEmptyWindow { session, start: start.to_string(), end: end.to_string() });
            }
        };
        let reference = |from: &ObjectRef, kind: ObjectKind, name: &str, exists: bool, errors: &mut Vec<ModelError>| {
            if !exists {
                errors.push(ModelError::UnknownReference { from: from.clone(), to: ObjectRef::new(kind, name) });
            }
        };
        for s in self.temp_role_sessions.values() {
            let me = ObjectRef::new(ObjectKind::TempRoleSession, s.id.clone());
            window(me.clone(), s.start, s.end, errors);
            if matches!(s.status, TempStatus::Ended | TempStatus::Cancelled) {
                continue;
            }
            if s.roles.is_empty() {
                errors.push(ModelError::SessionWithoutRoles { session: me.clone() });
            }
            reference(&me, ObjectKind::User, &s.user, self.users.contains_key(&s.user), errors);
            for r in &s.roles {
                reference(&me, ObjectKind::Role, r, self.roles.contains_key(r), errors);
            }
            for o in &s.organizations {
                reference(&me, ObjectKind::Organization, o, self.organizations.contains_key(o), errors);
            }
        }
        let mut in_force: Vec<&PrivilegedSession> = Vec::new();
        for s in self.privileged_sessions.values() {
            let me = ObjectRef::new(ObjectKind::PrivilegedSession, s.id.clone());
            window(me.clone(), s.start, s.end, errors);
            if s.end.0 - s.start.0 > PRIVILEGED_MAX_MS {
                errors.push(ModelError::SessionTooLong { session: me.clone(), minutes: (s.end.0 - s.start.0 + 59_999) / 60_000 });
            }
            if s.in_force() {
                in_force.push(s);
            }
            if matches!(s.status, PrivilegedStatus::Ended | PrivilegedStatus::Cancelled | PrivilegedStatus::Rejected) {
                continue;
            }
            reference(&me, ObjectKind::User, &s.user, self.users.contains_key(&s.user), errors);
        }
        in_force.sort_by(|a, b| (&a.user, a.start).cmp(&(&b.user, b.start)));
        for pair in in_force.windows(2) {
            if pair[0].user == pair[1].user && pair[1].start < pair[0].end {
                errors.push(ModelError::SessionOverlap { user: pair[0].user.clone(), first: pair[0].id.clone(), second: pair[1].id.clone() });
            }
        }
    }

    fn check_assignments(&self, errors: &mut Vec<ModelError>) {
        let mut seen = HashSet::new();
        for a in &self.assignments {
            if let (Some(from), Some(to)) = (a.valid_from, a.valid_to)
                && from >= to
            {
                errors.push(ModelError::EmptyValidity {
                    user: a.user.clone(),
                    role: a.role.clone(),
                    from: from.to_string(),
                    to: to.to_string(),
                });
            }
            if !seen.insert((&a.user, &a.role)) {
                errors.push(ModelError::DuplicateAssignment { user: a.user.clone(), role: a.role.clone() });
            }
            if let Some(rule) = a.rule.as_deref().filter(|r| !self.assignment_rules.contains_key(*r)) {
                errors.push(ModelError::UnknownReference {
                    from: ObjectRef::new(ObjectKind::Assignment, format!("{} › {}", a.user, a.role)),
                    to: ObjectRef::new(ObjectKind::AssignmentRule, rule),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Assignment, Organization, Role, User};

    fn role(name: &str, subs: &[&str]) -> Role {
        let mut r = Role::new(name);
        r.sub_roles = subs.iter().map(|s| s.to_string()).collect();
        r
    }

    #[test]
    fn finds_sub_role_cycles() {
        let mut m = Model::default();
        for r in [role("A", &["B"]), role("B", &["C"]), role("C", &["A"]), role("D", &["A"])] {
            m.roles.insert(r.name.clone(), r);
        }
        let errors = m.validate();
        assert_eq!(errors, vec![ModelError::SubRoleCycle { path: vec!["A".into(), "B".into(), "C".into(), "A".into()] }]);
        assert_eq!(errors[0].to_string(), "sub-role cycle: A › B › C › A");
    }

    #[test]
    fn reports_unknown_references_and_case_duplicates() {
        let mut m = Model::default();
        m.roles.insert("Clerk".into(), role("Clerk", &["Ghost"]));
        m.roles.insert("clerk".into(), role("clerk", &[]));
        m.users.insert("u1".into(), User::new("u1"));
        let mut a = Assignment::global("u1", "Clerk");
        a.organizations.push("USMF".into());
        m.assignments.push(a);
        let errors = m.validate();
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(text.contains(&"role Clerk and role clerk differ only in case; D365 names are case-insensitive".into()), "{text:?}");
        assert!(text.contains(&"role Clerk references role Ghost, which does not exist".into()), "{text:?}");
        assert!(text.contains(&"assignment u1 › Clerk references organization USMF, which does not exist".into()), "{text:?}");
        // The role's dangling sub-role is tolerable in a partial import; the assignment's missing org is not.
        let strict = m.validate_strict_errors();
        assert_eq!(strict.len(), 2, "{strict:?}");
        m.organizations.insert("USMF".into(), Organization { id: "USMF".into(), name: None });
        assert_eq!(m.validate_strict_errors().len(), 1);
    }

    #[test]
    fn assignment_window_and_scope() {
        let mut a = Assignment::global("u", "r");
        a.valid_from = Some(crate::Timestamp(100));
        a.valid_to = Some(crate::Timestamp(200));
        assert!(!a.is_valid_at(crate::Timestamp(99)));
        assert!(a.is_valid_at(crate::Timestamp(100)));
        assert!(a.is_valid_at(crate::Timestamp(199)));
        assert!(!a.is_valid_at(crate::Timestamp(200)));
        assert!(a.applies_to(None) && a.applies_to(Some("X")));
        a.organizations.push("X".into());
        assert!(!a.applies_to(None) && a.applies_to(Some("X")) && !a.applies_to(Some("Y")));
    }
}
