//! Keeps the assignments that assignment rules make in line with the rules
//! and the users, as part of every write (see `Warden::run_to`).

use serde_json::json;
use std::collections::{BTreeSet, HashSet};
use warden_model::{Model, Object, ObjectKind};
use warden_store::Change;

/// The changes that make the rule-made assignments of `model` exactly what its
/// rules call for: new matches are assigned, assignments whose rule no longer
/// selects the user go, changed scopes are rewritten. A manual assignment of
/// the same role is never touched, and stands in for the rule's.
pub(crate) fn sync(model: &Model) -> Vec<Change> {
    let has_rule_made = || model.assignments.iter().any(|a| a.rule.is_some());
    if model.assignment_rules.is_empty() && !has_rule_made() {
        return Vec::new();
    }
    let mut wanted = model.rule_assignments();
    let mut changes = Vec::new();
    let mut manual: HashSet<(&str, &str)> = HashSet::new();
    for a in &model.assignments {
        if a.rule.is_none() {
            manual.insert((a.user.as_str(), a.role.as_str()));
            continue;
        }
        match wanted.remove(&(a.user.clone(), a.role.clone())) {
            Some(w) if w == *a => {}
            Some(w) => changes.push(Change::Put(Object::Assignment(w))),
            None => changes.push(Change::Delete(Object::Assignment(a.clone()).key())),
        }
    }
    for ((user, role), a) in wanted {
        if !manual.contains(&(user.as_str(), role.as_str())) {
            changes.push(Change::Put(Object::Assignment(a)));
        }
    }
    changes
}

/// [`sync`] for a write that touched `touched`: when it changed no rule, only
/// the users it touched can gain or lose a rule-made assignment, so only they
/// are evaluated (a write to one user costs that user, not every user).
pub(crate) fn sync_touched(model: &Model, touched: &crate::host::Touched) -> Vec<Change> {
    if touched.len() > crate::validate::WHOLE_ABOVE || touched.iter().any(|k| k.kind == ObjectKind::AssignmentRule) {
        return sync(model);
    }
    let mut users: BTreeSet<String> = BTreeSet::new();
    for key in touched {
        match key.kind {
            ObjectKind::User => drop(users.insert(key.name.clone())),
            ObjectKind::Assignment => users.extend(warden_model::split_key(&key.name).map(|[user, _]: [String; 2]| user)),
            _ => {}
        }
    }
    let mut changes = Vec::new();
    for user in users.iter().filter_map(|u| model.users.get(u)) {
        let mut wanted = model.rule_assignments_of(user);
        let mut manual: HashSet<&str> = HashSet::new();
        for a in model.assignments_of(&user.id) {
            if a.rule.is_none() {
                manual.insert(a.role.as_str());
                continue;
            }
            match wanted.remove(&a.role) {
                Some(w) if w == *a => {}
                Some(w) => changes.push(Change::Put(Object::Assignment(w))),
                None => changes.push(Change::Delete(Object::Assignment(a.clone()).key())),
            }
        }
        for (role, a) in wanted {
            if !manual.contains(role.as_str()) {
                changes.push(Change::Put(Object::Assignment(a)));
            }
        }
    }
    changes
}

/// Revoking what a rule gave excludes the user from that rule, as in D365;
/// otherwise the next evaluation would give the role straight back.
pub(crate) fn exclusion_on_revoke(model: &Model, revoked: &warden_model::Assignment) -> Option<Change> {
    let mut rule = model.assignment_rules.get(revoked.rule.as_deref()?)?.clone();
    if !rule.excluded_users.contains(&revoked.user) {
        rule.excluded_users.push(revoked.user.clone());
        rule.excluded_users.sort();
    }
    Some(Change::Put(Object::AssignmentRule(rule)))
}

/// What [`sync`] did, for the audit event's summary.
pub(crate) fn describe(changes: &[Change]) -> serde_json::Value {
    let (mut assigned, mut removed) = (Vec::new(), Vec::new());
    for c in changes {
        match c {
            Change::Put(o) => assigned.push(o.key().name),
            Change::Delete(k) | Change::Hide(k) => removed.push(k.name.clone()),
        }
    }
    json!({ "assigned_or_updated": assigned, "removed": removed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_model::{Assignment, AssignmentRule, Role, User};

    fn model() -> Model {
        let mut m = Model::default();
        m.roles.insert("Clerk".into(), Role::new("Clerk"));
        for (id, dept) in [("a", "Finance"), ("b", "Finance"), ("c", "Sales")] {
            let mut u = User::new(id);
            u.attributes.insert("department".into(), dept.into());
            m.users.insert(id.into(), u);
        }
        m.assignment_rules.insert(
            "finance".into(),
            AssignmentRule {
                name: "finance".into(),
                role: "Clerk".into(),
                description: None,
                conditions: vec!["department=Finance".parse().unwrap()],
                organizations: Vec::new(),
                excluded_users: Vec::new(),
                enabled: true,
            },
        );
        m
    }

    fn keys(changes: &[Change]) -> Vec<String> {
        changes.iter().map(|c| format!("{:?} {}", std::mem::discriminant(c), c.key().name)).collect()
    }

    #[test]
    fn assigns_matches_keeps_manual_and_removes_what_no_longer_matches() {
        let mut m = model();
        // b already has the role by hand: the rule leaves it alone.
        m.assignments.push(Assignment::global("b", "Clerk"));
        let changes = sync(&m);
        assert_eq!(changes.len(), 1, "{:?}", keys(&changes));
        let Change::Put(Object::Assignment(a)) = &changes[0] else { panic!("{:?}", keys(&changes)) };
        assert_eq!((a.user.as_str(), a.rule.as_deref()), ("a", Some("finance")));
        m.assignments.push(a.clone());
        assert!(sync(&m).is_empty(), "a second pass has nothing to do");

        // a moves to Sales: the rule-made assignment goes; b's manual one stays.
        m.users.get_mut("a").unwrap().attributes.insert("department".into(), "Sales".into());
        let changes = sync(&m);
        assert_eq!(changes.len(), 1);
        assert!(matches!(&changes[0], Change::Delete(k) if k.name == "a/Clerk"));

        // Disabling the rule removes everything it made, and only that.
        m.assignment_rules.get_mut("finance").unwrap().enabled = false;
        let changes = sync(&m);
        assert_eq!(changes.len(), 1);
        assert!(matches!(&changes[0], Change::Delete(k) if k.name == "a/Clerk"));
    }

    #[test]
    fn a_scope_change_rewrites_the_assignment() {
        let mut m = model();
        m.organizations.insert("USMF".into(), warden_model::Organization { id: "USMF".into(), name: None });
        let mut made = Assignment::global("a", "Clerk");
        made.rule = Some("finance".into());
        m.assignments.push(made);
        m.assignment_rules.get_mut("finance").unwrap().organizations = vec!["USMF".into()];
        let changes = sync(&m);
        let puts: Vec<&Assignment> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Put(Object::Assignment(a)) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(puts.len(), 2, "a rewritten, b added");
        assert!(puts.iter().all(|a| a.organizations == ["USMF"]));
    }
}
