//! The naive evaluator: the semantics of DESIGN.md written as directly as possible,
//! with no precomputation. Slow on purpose; it is the yardstick for the index.

use crate::Decision;
use std::collections::HashSet;
use warden_model::{Access, EntryPointGrant, EntryPointKey, Model, Part, Permission, Role, Timestamp};

/// Union of Allow over every role active for `user` in `org` at `at` (through
/// sub-roles, duties and privileges), minus every Deny from the same roles.
pub fn check(model: &Model, user: &str, ep: &EntryPointKey, access: Access, org: Option<&str>, at: Timestamp) -> Decision {
    check_with(model, user, ep, org, at, &|g: &EntryPointGrant| g.grant.get(access))
}

/// A check of a form control or field below `ep`: Deny when the user cannot
/// Read `ep` at all (a part of a form that does not open is out of reach);
/// otherwise every path that counts says, for `access`, the part's own
/// permission when its grant names the part and sets `access`, else its
/// permission on `ep`; Deny from any path wins, then Allow, else Deny.
pub fn check_part(model: &Model, user: &str, ep: &EntryPointKey, access: Access, part: &Part, org: Option<&str>, at: Timestamp) -> Decision {
    if check(model, user, ep, Access::Read, org, at) == Decision::Deny {
        return Decision::Deny;
    }
    // Written out here rather than with `EntryPointGrant::part_permission`, so the two are compared.
    check_with(model, user, ep, org, at, &|g: &EntryPointGrant| {
        let own = g.control_grants().into_iter().chain(g.field_grants()).filter(|p| p.kind == part.kind && p.name.eq_ignore_ascii_case(&part.name));
        let (mut allow, mut deny) = (false, false);
        for p in own {
            match p.grant.get(access) {
                Some(Permission::Allow) => allow = true,
                Some(Permission::Deny) => deny = true,
                None => {}
            }
        }
        if deny {
            Some(Permission::Deny)
        } else if allow {
            Some(Permission::Allow)
        } else {
            g.grant.get(access)
        }
    })
}

/// What each grant on `ep` says is `says(grant)`.
fn check_with(model: &Model, user: &str, ep: &EntryPointKey, org: Option<&str>, at: Timestamp, says: Says<'_>) -> Decision {
    let Some(u) = model.users.get(user) else { return Decision::Deny };
    // A privileged session in force whose window holds the instant sets the account's state.
    let privileged = model.privileged_sessions.values().find(|s| s.in_force() && s.user == user && s.start <= at && at < s.end);
    if !privileged.map_or(u.enabled, |s| s.action.enabled()) {
        return Decision::Deny;
    }
    // Temporary sessions in force whose window holds the instant add their roles; a Replace one
    // suspends the user's own.
    let sessions: Vec<_> =
        model.temp_role_sessions.values().filter(|s| s.in_force() && s.user == user && s.start <= at && at < s.end).collect();
    let replaced = sessions.iter().any(|s| s.session_type == warden_model::SessionType::Replace);
    let own = model.assignments.iter().filter(|a| a.user == user && !replaced).cloned();
    let mut allowed = false;
    let mut denied = false;
    for assignment in own.chain(sessions.iter().flat_map(|s| s.assignments())) {
        if !assignment.is_valid_at(at) || !assignment.applies_to(org) {
            continue;
        }
        let Some(role) = model.roles.get(&assignment.role) else { continue };
        let mut visited = HashSet::new();
        visit_role(model, role, ep, says, &mut visited, &mut allowed, &mut denied);
    }
    if allowed && !denied { Decision::Allow } else { Decision::Deny }
}

type Says<'s> = &'s dyn Fn(&EntryPointGrant) -> Option<Permission>;

fn visit_role<'a>(
    model: &'a Model,
    role: &'a Role,
    ep: &EntryPointKey,
    says: Says<'_>,
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
                match says(g) {
                    Some(Permission::Allow) => *allowed = true,
                    Some(Permission::Deny) => *denied = true,
                    None => {}
                }
            }
        }
    }
    for sub in model.role_sub_roles(role) {
        if let Some(s) = model.roles.get(sub) {
            visit_role(model, s, ep, says, visited, allowed, denied);
        }
    }
}
