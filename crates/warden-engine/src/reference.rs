//! The naive evaluator: the semantics of DESIGN.md written as directly as possible,
//! with no precomputation. Slow on purpose; it is the yardstick for the index.

use crate::Decision;
use std::collections::HashSet;
use warden_model::{Access, EntryPointKey, Model, Permission, Role, Timestamp};

/// Union of Allow over every role active for `user` in `org` at `at` (through
/// sub-roles, duties and privileges), minus every Deny from the same roles.
pub fn check(model: &Model, user: &str, ep: &EntryPointKey, access: Access, org: Option<&str>, at: Timestamp) -> Decision {
    let Some(u) = model.users.get(user) else { return Decision::Deny };
    if !u.enabled {
        return Decision::Deny;
    }
    let mut allowed = false;
    let mut denied = false;
    for assignment in model.assignments.iter().filter(|a| a.user == user) {
        if !assignment.is_valid_at(at) || !assignment.applies_to(org) {
            continue;
        }
        let Some(role) = model.roles.get(&assignment.role) else { continue };
        let mut visited = HashSet::new();
        visit_role(model, role, ep, access, &mut visited, &mut allowed, &mut denied);
    }
    if allowed && !denied { Decision::Allow } else { Decision::Deny }
}

fn visit_role<'a>(
    model: &'a Model,
    role: &'a Role,
    ep: &EntryPointKey,
    access: Access,
    visited: &mut HashSet<&'a str>,
    allowed: &mut bool,
    denied: &mut bool,
) {
    if !visited.insert(role.name.as_str()) {
        return;
    }
    let mut privileges: Vec<&str> = model.role_privileges(role).collect();
    for duty in model.role_duties(role) {
        if let Some(d) = model.duties.get(duty) {
            privileges.extend(model.duty_privileges(d));
        }
    }
    for name in privileges {
        let Some(p) = model.privileges.get(name) else { continue };
        for g in &p.entry_points {
            if g.key() == *ep {
                match g.grant.get(access) {
                    Some(Permission::Allow) => *allowed = true,
                    Some(Permission::Deny) => *denied = true,
                    None => {}
                }
            }
        }
    }
    for sub in model.role_sub_roles(role) {
        if let Some(s) = model.roles.get(sub) {
            visit_role(model, s, ep, access, visited, allowed, denied);
        }
    }
}
