//! Incremental validation: a write is judged by the problems it adds, and
//! only what it touches can add one. So instead of validating the whole model
//! before and after (seconds at D365 scale), the model host validates the
//! *neighbourhood* of the touched objects in both states and keeps what is new:
//! the touched objects; what they refer to, before and after; what refers to
//! an object the write removes; the names a new name could be confused with;
//! and, when roles change, the roles reachable from them through sub-roles
//! (where any cycle through a changed role lies). Running
//! [`Model::validate`] itself on those two small models keeps one definition
//! of every rule; the property test holds this to the full validation.

use std::collections::{BTreeSet, HashSet};
use warden_model::{Model, ModelError, Object, ObjectKind, ObjectRef, SodSide, MAX_ROLES};

/// Above this many touched objects (a bulk import) the neighbourhood is most
/// of the model: validating both models whole is then simpler and as fast.
pub(crate) const WHOLE_ABOVE: usize = 5_000;

/// What a write's validation found: the problems it would add, and the
/// problems it leaves on objects it changes that were already there.
#[derive(Debug, Default)]
pub(crate) struct Judgement {
    pub introduced: Vec<ModelError>,
    /// Problems (not dangling references) that the store already had, on
    /// objects this write changes without fixing them: those objects are
    /// read-only until fixed (see [`read_only`]).
    pub kept: Vec<ModelError>,
}

/// The problems in `after` that `before` did not have, where `after` is
/// `before` with the objects in `touched` changed (put or removed); and the
/// old problems left on the objects of `changed` (see [`Judgement::kept`]).
pub(crate) fn judge_write(before: &Model, after: &Model, touched: &BTreeSet<ObjectRef>, changed: &BTreeSet<ObjectRef>) -> Judgement {
    let (old, new) = if touched.len() > WHOLE_ABOVE {
        (before.validate(), after.validate())
    } else {
        let scope = neighbourhood(before, after, touched);
        (restrict(before, &scope).validate(), restrict(after, &scope).validate())
    };
    let old_texts: HashSet<String> = old.iter().map(ToString::to_string).collect();
    let (mut introduced, kept): (Vec<ModelError>, Vec<ModelError>) = new.into_iter().partition(|e| !old_texts.contains(&e.to_string()));
    let kept = kept.into_iter().filter(|e| !e.is_dangling() && read_only(after, e, changed)).collect();
    if after.roles.len() > MAX_ROLES && after.roles.len() != before.roles.len() && touched.len() <= WHOLE_ABOVE {
        introduced.push(ModelError::TooManyRoles { count: after.roles.len(), limit: MAX_ROLES });
    }
    Judgement { introduced, kept }
}

/// Whether `problem`, found in the store before a write and still there
/// after it, makes the write refused: it concerns an object the write
/// changes, and the write does not end that object's part in it. A store
/// that fails validation (an import from before a rule existed, a
/// hand-edited database) keeps serving, and the objects its problems concern
/// are read-only until fixed: an administrator may repair or remove them,
/// and a session may still be ended or cancelled (which takes access away),
/// but nothing else is built on a broken object.
fn read_only(after: &Model, problem: &ModelError, changed: &BTreeSet<ObjectRef>) -> bool {
    subjects(problem).iter().any(|s| changed.contains(s) && !released(after, s))
}

/// An object whose problems no longer matter: removed, or a session that is over.
fn released(after: &Model, key: &ObjectRef) -> bool {
    use warden_model::{PrivilegedStatus as P, TempStatus as T};
    match after.get(key) {
        None => true,
        Some(Object::TempRoleSession(s)) => matches!(s.status, T::Ended | T::Cancelled),
        Some(Object::PrivilegedSession(s)) => matches!(s.status, P::Ended | P::Cancelled | P::Rejected),
        Some(_) => false,
    }
}

/// The objects a problem is about, by their store keys: changing one of them
/// without fixing the problem is refused (see [`read_only`]).
pub(crate) fn subjects(problem: &ModelError) -> Vec<ObjectRef> {
    use ModelError as E;
    use ObjectKind as K;
    // Validation names an assignment `USER › ROLE` for people; the store's key joins the two names.
    let key = |r: &ObjectRef| match r.name.split_once(" › ") {
        Some((user, role)) if r.kind == K::Assignment => assignment(user, role),
        _ => r.clone(),
    };
    match problem {
        E::DuplicateName { first, second } => vec![key(first), key(second)],
        E::LookAlike { kind, first, second } => vec![ObjectRef::new(*kind, first.clone()), ObjectRef::new(*kind, second.clone())],
        E::UnknownReference { from, .. } => vec![key(from)],
        E::ExtensionTargetMissing { extension, .. } => vec![key(extension)],
        E::SubRoleCycle { path } => path.iter().map(|r| ObjectRef::new(K::Role, r.clone())).collect(),
        E::EmptyValidity { user, role, .. } | E::DuplicateAssignment { user, role } => vec![assignment(user, role)],
        E::RuleWithoutCondition { rule } => vec![ObjectRef::new(K::AssignmentRule, rule.clone())],
        E::SodSidesEqual { rule } | E::SodEmptyValidity { rule, .. } => vec![ObjectRef::new(K::SodRule, rule.clone())],
        E::SessionEmptyWindow { session, .. } | E::SessionWithoutRoles { session } | E::SessionTooLong { session, .. } => vec![key(session)],
        E::SessionOverlap { first, second, .. } => vec![ObjectRef::new(K::PrivilegedSession, first.clone()), ObjectRef::new(K::PrivilegedSession, second.clone())],
        E::UnwritableElement { object, .. } => vec![key(object)],
        E::TooManyRoles { .. } => Vec::new(),
    }
}

fn assignment(user: &str, role: &str) -> ObjectRef {
    ObjectRef::new(ObjectKind::Assignment, warden_model::join_key(&[user, role]))
}

/// The problems in `after` that `before` did not have, by their text (two
/// problems are the same when they say the same).
pub(crate) fn diff(before: &[ModelError], after: Vec<ModelError>) -> Vec<ModelError> {
    let old: HashSet<String> = before.iter().map(ToString::to_string).collect();
    after.into_iter().filter(|e| !old.contains(&e.to_string())).collect()
}

fn neighbourhood(before: &Model, after: &Model, touched: &BTreeSet<ObjectRef>) -> BTreeSet<ObjectRef> {
    let mut scope = touched.clone();
    let mut roles = false;
    let mut sessions = BTreeSet::new();
    for key in touched {
        let old = before.get(key);
        let new = after.get(key);
        for object in old.iter().chain(&new) {
            scope.extend(referents(object));
        }
        match (&old, &new) {
            (Some(_), None) => scope.extend(referrers(before, key)),
            (None, Some(_)) => scope.extend(same_name(after, key)),
            _ => {}
        }
        roles |= matches!(key.kind, ObjectKind::Role | ObjectKind::RoleExtension);
        if matches!(key.kind, ObjectKind::TempRoleSession | ObjectKind::PrivilegedSession) {
            sessions.insert(key.kind);
        }
    }
    if roles {
        // A sub-role cycle that the write makes (or leaves) passes through a
        // role it touched (or the target of an extension it touched), so the
        // roles reachable from those, in either state, hold every such cycle.
        let mut seeds: Vec<&str> = Vec::new();
        for key in touched {
            match key.kind {
                ObjectKind::Role => seeds.push(key.name.as_str()),
                ObjectKind::RoleExtension => seeds.extend([before, after].iter().filter_map(|m| m.role_extensions.get(&key.name)).map(|e| e.target.as_str())),
                _ => {}
            }
        }
        for m in [before, after] {
            let mut reached: HashSet<&str> = HashSet::new();
            let mut stack = seeds.clone();
            while let Some(name) = stack.pop() {
                if !reached.insert(name) {
                    continue;
                }
                if let Some(role) = m.roles.get(name) {
                    scope.insert(ObjectRef::new(ObjectKind::Role, name));
                    stack.extend(m.role_sub_roles(role));
                }
            }
            scope.extend(m.role_extensions.values().filter(|e| reached.contains(e.target.as_str())).map(|e| ObjectRef::new(ObjectKind::RoleExtension, e.name.clone())));
        }
    }
    for kind in sessions {
        // Overlapping privileged sessions are found between sessions.
        for m in [before, after] {
            scope.extend(m.objects_of(kind).map(|o| o.key()));
        }
    }
    scope
}

/// The model made of the objects in `scope` alone.
fn restrict(model: &Model, scope: &BTreeSet<ObjectRef>) -> Model {
    let mut sub = Model::default();
    for key in scope {
        if let Some(object) = model.get(key) {
            sub.put(object);
        }
    }
    sub
}

fn refs<'a>(kind: ObjectKind, names: impl IntoIterator<Item = &'a String>) -> impl Iterator<Item = ObjectRef> {
    names.into_iter().map(move |n| ObjectRef::new(kind, n.clone()))
}

fn side_ref(side: &SodSide) -> ObjectRef {
    match side {
        SodSide::Duty { duty } => ObjectRef::new(ObjectKind::Duty, duty.clone()),
        SodSide::EntryPoint { entry_point, .. } => ObjectRef::new(ObjectKind::EntryPoint, entry_point.to_string()),
    }
}

/// What an object names, as validation checks it.
fn referents(object: &Object) -> Vec<ObjectRef> {
    use ObjectKind as K;
    let mut out = Vec::new();
    match object {
        Object::Privilege(p) => out.extend(p.entry_points.iter().map(|g| ObjectRef::new(K::EntryPoint, g.key().to_string()))),
        Object::Duty(d) => out.extend(refs(K::Privilege, &d.privileges)),
        Object::Role(r) => {
            out.extend(refs(K::Duty, &r.duties));
            out.extend(refs(K::Privilege, &r.privileges));
            out.extend(refs(K::Role, &r.sub_roles));
        }
        Object::RoleExtension(e) => {
            out.push(ObjectRef::new(K::Role, e.target.clone()));
            out.extend(refs(K::Duty, &e.duties));
            out.extend(refs(K::Privilege, &e.privileges));
            out.extend(refs(K::Role, &e.sub_roles));
        }
        Object::DutyExtension(e) => {
            out.push(ObjectRef::new(K::Duty, e.target.clone()));
            out.extend(refs(K::Privilege, &e.privileges));
        }
        Object::Assignment(a) => {
            out.push(ObjectRef::new(K::User, a.user.clone()));
            out.push(ObjectRef::new(K::Role, a.role.clone()));
            out.extend(refs(K::Organization, &a.organizations));
            out.extend(a.rule.iter().map(|r| ObjectRef::new(K::AssignmentRule, r.clone())));
        }
        Object::AssignmentRule(r) => {
            out.push(ObjectRef::new(K::Role, r.role.clone()));
            out.extend(refs(K::Organization, &r.organizations));
            out.extend(refs(K::User, &r.excluded_users));
        }
        Object::SodRule(r) => out.extend([side_ref(&r.first), side_ref(&r.second)]),
        Object::Credential(c) => out.push(ObjectRef::new(K::User, c.user.clone())),
        Object::TempRoleSession(s) => {
            out.push(ObjectRef::new(K::User, s.user.clone()));
            out.extend(refs(K::Role, &s.roles));
            out.extend(refs(K::Organization, &s.organizations));
        }
        Object::PrivilegedSession(s) => out.push(ObjectRef::new(K::User, s.user.clone())),
        _ => {}
    }
    out
}

/// What names `key` in `model`: the objects whose references a removal breaks.
fn referrers(model: &Model, key: &ObjectRef) -> Vec<ObjectRef> {
    use ObjectKind as K;
    let name = key.name.as_str();
    let has = |list: &[String]| list.iter().any(|n| n == name);
    let mut out: Vec<ObjectRef> = Vec::new();
    match key.kind {
        K::EntryPoint => {
            out.extend(model.privileges.values().filter(|p| p.entry_points.iter().any(|g| g.key().to_string() == name)).map(|p| ObjectRef::new(K::Privilege, p.name.clone())));
            out.extend(model.sod_rules.values().filter(|r| [&r.first, &r.second].into_iter().any(|s| side_ref(s) == *key)).map(|r| ObjectRef::new(K::SodRule, r.name.clone())));
        }
        K::Privilege => {
            out.extend(model.duties.values().filter(|d| has(&d.privileges)).map(|d| ObjectRef::new(K::Duty, d.name.clone())));
            out.extend(model.roles.values().filter(|r| has(&r.privileges)).map(|r| ObjectRef::new(K::Role, r.name.clone())));
            out.extend(model.role_extensions.values().filter(|e| has(&e.privileges)).map(|e| ObjectRef::new(K::RoleExtension, e.name.clone())));
            out.extend(model.duty_extensions.values().filter(|e| has(&e.privileges)).map(|e| ObjectRef::new(K::DutyExtension, e.name.clone())));
        }
        K::Duty => {
            out.extend(model.roles.values().filter(|r| has(&r.duties)).map(|r| ObjectRef::new(K::Role, r.name.clone())));
            out.extend(model.role_extensions.values().filter(|e| has(&e.duties)).map(|e| ObjectRef::new(K::RoleExtension, e.name.clone())));
            out.extend(model.duty_extensions.values().filter(|e| e.target == name).map(|e| ObjectRef::new(K::DutyExtension, e.name.clone())));
            out.extend(model.sod_rules.values().filter(|r| [&r.first, &r.second].into_iter().any(|s| side_ref(s) == *key)).map(|r| ObjectRef::new(K::SodRule, r.name.clone())));
        }
        K::Role => {
            out.extend(model.roles.values().filter(|r| has(&r.sub_roles)).map(|r| ObjectRef::new(K::Role, r.name.clone())));
            out.extend(model.role_extensions.values().filter(|e| e.target == name || has(&e.sub_roles)).map(|e| ObjectRef::new(K::RoleExtension, e.name.clone())));
            out.extend(model.assignments.iter().filter(|a| a.role == name).map(|a| Object::Assignment(a.clone()).key()));
            out.extend(model.assignment_rules.values().filter(|r| r.role == name).map(|r| ObjectRef::new(K::AssignmentRule, r.name.clone())));
            out.extend(model.temp_role_sessions.values().filter(|s| has(&s.roles)).map(|s| ObjectRef::new(K::TempRoleSession, s.id.clone())));
        }
        K::Organization => {
            out.extend(model.assignments.iter().filter(|a| has(&a.organizations)).map(|a| Object::Assignment(a.clone()).key()));
            out.extend(model.assignment_rules.values().filter(|r| has(&r.organizations)).map(|r| ObjectRef::new(K::AssignmentRule, r.name.clone())));
            out.extend(model.temp_role_sessions.values().filter(|s| has(&s.organizations)).map(|s| ObjectRef::new(K::TempRoleSession, s.id.clone())));
        }
        K::User => {
            out.extend(model.assignments_of(name).iter().map(|a| Object::Assignment(a.clone()).key()));
            out.extend(model.credentials.values().filter(|c| c.user == name).map(|c| ObjectRef::new(K::Credential, c.id.clone())));
            out.extend(model.assignment_rules.values().filter(|r| has(&r.excluded_users)).map(|r| ObjectRef::new(K::AssignmentRule, r.name.clone())));
            out.extend(model.temp_role_sessions.values().filter(|s| s.user == name).map(|s| ObjectRef::new(K::TempRoleSession, s.id.clone())));
            out.extend(model.privileged_sessions.values().filter(|s| s.user == name).map(|s| ObjectRef::new(K::PrivilegedSession, s.id.clone())));
        }
        K::AssignmentRule => {
            out.extend(model.assignments.iter().filter(|a| a.rule.as_deref() == Some(name)).map(|a| Object::Assignment(a.clone()).key()));
        }
        _ => {}
    }
    out
}

/// The stored names of `key`'s kind that fold together with its name (the
/// same name in other case, or a look-alike): duplicates are found between them.
fn same_name(model: &Model, key: &ObjectRef) -> Vec<ObjectRef> {
    if key.kind == ObjectKind::EntryPoint {
        let Ok(ep) = key.name.parse::<warden_model::EntryPointKey>() else { return Vec::new() };
        let folded = warden_model::fold(&ep.name);
        return model
            .entry_points
            .keys()
            .filter(|k| k.kind == ep.kind && warden_model::fold(&k.name) == folded)
            .map(|k| ObjectRef::new(ObjectKind::EntryPoint, k.to_string()))
            .collect();
    }
    let Some(names) = model.names_of(key.kind) else { return Vec::new() };
    let folded = warden_model::fold(&key.name);
    names.filter(|n| warden_model::fold(n) == folded).map(|n| ObjectRef::new(key.kind, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_model::Role;

    fn role(name: &str, subs: &[&str], description: Option<&str>) -> Object {
        let mut r = Role::new(name);
        r.sub_roles = subs.iter().map(ToString::to_string).collect();
        r.description = description.map(str::to_string);
        Object::Role(r)
    }

    fn key(name: &str) -> ObjectRef {
        ObjectRef::new(ObjectKind::Role, name)
    }

    /// A store with a sub-role cycle `A → B → A` (written before the rule, or by hand) and an unrelated role `C`.
    fn broken() -> Model {
        let mut m = Model::default();
        for o in [role("A", &["B"], None), role("B", &["A"], None), role("C", &[], None)] {
            m.put(o);
        }
        m
    }

    fn judged(change: impl FnOnce(&mut Model), keys: &[&str]) -> Judgement {
        let before = broken();
        let mut after = before.clone();
        change(&mut after);
        let touched: BTreeSet<ObjectRef> = keys.iter().map(|k| key(k)).collect();
        judge_write(&before, &after, &touched, &touched)
    }

    #[test]
    fn objects_a_problem_concerns_are_read_only_until_repaired() {
        // Changing a role of the cycle and leaving the cycle: refused, naming it.
        let j = judged(|m| m.put(role("A", &["B"], Some("relabelled"))), &["A"]);
        assert!(j.introduced.is_empty(), "{:?}", j.introduced);
        assert_eq!(j.kept.len(), 1, "{:?}", j.kept);
        assert!(matches!(&j.kept[0], ModelError::SubRoleCycle { path } if path.contains(&"A".to_string())), "{:?}", j.kept);
        // The other role of the cycle too.
        assert_eq!(judged(|m| m.put(role("B", &["A"], Some("x"))), &["B"]).kept.len(), 1);
        // Repairing it, or removing a role of it: allowed.
        assert!(judged(|m| m.put(role("A", &[], None)), &["A"]).kept.is_empty());
        assert!(
            judged(
                |m| {
                    m.remove(&key("B"));
                    m.put(role("A", &[], None));
                },
                &["A", "B"]
            )
            .kept
            .is_empty()
        );
        // An object outside the problem: allowed.
        assert!(judged(|m| m.put(role("C", &[], Some("fine"))), &["C"]).kept.is_empty());
    }

    #[test]
    fn a_cycle_through_a_changed_role_is_found_among_the_roles_it_reaches() {
        let mut before = Model::default();
        for o in [role("A", &["B"], None), role("B", &["C"], None), role("C", &[], None), role("D", &[], None)] {
            before.put(o);
        }
        let cycles = |errors: &[ModelError]| errors.iter().filter(|e| matches!(e, ModelError::SubRoleCycle { .. })).count();
        // C → A closes A → B → C → A: found, as whole validation finds it.
        let mut after = before.clone();
        after.put(role("C", &["A"], None));
        let touched: BTreeSet<ObjectRef> = [key("C")].into();
        let j = judge_write(&before, &after, &touched, &touched);
        assert_eq!(cycles(&j.introduced), 1, "{:?}", j.introduced);
        assert_eq!(cycles(&j.introduced), cycles(&diff(&before.validate(), after.validate())));
        // Only the roles C reaches, in either state, are in scope: not D.
        let scope = neighbourhood(&before, &after, &touched);
        assert!(["A", "B", "C"].iter().all(|r| scope.contains(&key(r))) && !scope.contains(&key("D")), "{scope:?}");
        // A role that reaches no cycle makes none.
        let mut after = before.clone();
        after.put(role("D", &["C"], Some("x")));
        let touched: BTreeSet<ObjectRef> = [key("D")].into();
        assert!(judge_write(&before, &after, &touched, &touched).introduced.is_empty());
    }

    #[test]
    fn every_problem_names_its_objects_by_store_key() {
        let e = ModelError::UnknownReference { from: ObjectRef::new(ObjectKind::Assignment, "carlos › Ghost"), to: key("Ghost") };
        assert_eq!(subjects(&e), [ObjectRef::new(ObjectKind::Assignment, warden_model::join_key(&["carlos", "Ghost"]))]);
        let e = ModelError::DuplicateAssignment { user: "carlos".into(), role: "Clerk".into() };
        assert_eq!(subjects(&e), [ObjectRef::new(ObjectKind::Assignment, "carlos/Clerk")]);
    }
}
