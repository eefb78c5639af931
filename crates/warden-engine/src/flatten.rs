//! Effective permissions by name: what a role, or a user at a place and time, may do.

use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use warden_model::{AccessSet, EntryPointKey, Model, Timestamp};

/// What a role or user holds on one entry point. Deny wins, so the effective
/// access is `allow - deny` ([`EffectivePermission::effective`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectivePermission {
    pub entry_point: EntryPointKey,
    pub allow: AccessSet,
    pub deny: AccessSet,
}

impl EffectivePermission {
    pub fn effective(&self) -> AccessSet {
        self.allow.difference(self.deny)
    }
}

/// Every privilege a role holds: its own, through its duties, and through its
/// sub-roles, extensions included. Each name once; cycles are cut.
pub(crate) fn privilege_closure<'a>(model: &'a Model, role: &'a str) -> Vec<&'a str> {
    let mut roles_seen = HashSet::new();
    let mut privileges_seen = HashSet::new();
    let mut out = Vec::new();
    let mut stack = vec![role];
    while let Some(name) = stack.pop() {
        if !roles_seen.insert(name) {
            continue;
        }
        let Some(r) = model.roles.get(name) else { continue };
        let duties = model.role_duties(r).filter_map(|d| model.duties.get(d));
        let via_duties = duties.flat_map(|d| model.duty_privileges(d));
        for p in model.role_privileges(r).chain(via_duties) {
            if privileges_seen.insert(p) {
                out.push(p);
            }
        }
        stack.extend(model.role_sub_roles(r));
    }
    out
}

fn accumulate(model: &Model, role: &str, into: &mut BTreeMap<EntryPointKey, (AccessSet, AccessSet)>) {
    for p in privilege_closure(model, role) {
        let Some(privilege) = model.privileges.get(p) else { continue };
        for g in &privilege.entry_points {
            let e = into.entry(g.key()).or_default();
            e.0 = e.0.union(g.grant.allow);
            e.1 = e.1.union(g.grant.deny);
        }
    }
}

fn to_vec(map: BTreeMap<EntryPointKey, (AccessSet, AccessSet)>) -> Vec<EffectivePermission> {
    map.into_iter().map(|(entry_point, (allow, deny))| EffectivePermission { entry_point, allow, deny }).collect()
}

/// The permissions a role gives, sub-roles included, ordered by entry point.
pub fn role_permissions(model: &Model, role: &str) -> Vec<EffectivePermission> {
    let mut map = BTreeMap::new();
    accumulate(model, role, &mut map);
    to_vec(map)
}

/// The permissions `user` holds in `org` (or without one) at `at`: the union over
/// the roles active there and then. Empty for a disabled or unknown user.
pub fn effective_permissions(model: &Model, user: &str, org: Option<&str>, at: Timestamp) -> Vec<EffectivePermission> {
    let mut map = BTreeMap::new();
    // With the sessions in force: a Replace session's window suspends own roles, a privileged one sets the account's state.
    for a in model.access_view().assignments_of(model, user).iter() {
        if a.is_valid_at(at) && a.applies_to(org) {
            accumulate(model, &a.role, &mut map);
        }
    }
    to_vec(map)
}
