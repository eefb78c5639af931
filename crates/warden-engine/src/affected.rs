//! Which roles a change to the security configuration can make grant, hold
//! or deny something else: what the access index and the SoD index patch
//! instead of building anew (`Index::with_roles`, `SodIndex::with_roles`).

use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeSet;
use warden_model::{EntryPointKey, Model, ObjectKind, ObjectRef};

/// The roles of `after` whose flattened contents (duties, privileges, entry
/// point grants, through sub-roles and extensions) can differ from `before`'s,
/// where `after` is `before` with the objects `changed` put or removed: the
/// roles changed, the roles that hold a changed duty or privilege or are the
/// target of a changed extension, and every role that reaches one of those
/// through sub-roles (in either model). Objects of kinds that say nothing
/// about what a role gives (users, assignments, policies, ...) add none.
///
/// `None` when the change is not one of roles' contents, and the indexes
/// must be built anew: a role added or removed (role numbers shift), or an
/// entry point added or removed (entry point numbers shift).
pub fn affected_roles<'a>(before: &Model, after: &Model, changed: impl IntoIterator<Item = &'a ObjectRef>) -> Option<BTreeSet<String>> {
    let mut roles: FxHashSet<&str> = FxHashSet::default();
    let mut duties: FxHashSet<&str> = FxHashSet::default();
    let mut privileges: FxHashSet<&str> = FxHashSet::default();
    let models = [before, after];
    for key in changed {
        let name = key.name.as_str();
        match key.kind {
            ObjectKind::Role => {
                if before.roles.contains_key(name) != after.roles.contains_key(name) {
                    return None;
                }
                roles.insert(name);
            }
            ObjectKind::Duty => drop(duties.insert(name)),
            ObjectKind::Privilege => drop(privileges.insert(name)),
            ObjectKind::RoleExtension => roles.extend(models.iter().filter_map(|m| m.role_extensions.get(name)).map(|e| e.target.as_str())),
            ObjectKind::DutyExtension => duties.extend(models.iter().filter_map(|m| m.duty_extensions.get(name)).map(|e| e.target.as_str())),
            ObjectKind::EntryPoint => {
                let ep: EntryPointKey = name.parse().ok()?;
                if before.entry_points.contains_key(&ep) != after.entry_points.contains_key(&ep) {
                    return None;
                }
            }
            _ => {}
        }
    }
    let named = |list: &[String], set: &FxHashSet<&str>| list.iter().any(|n| set.contains(n.as_str()));
    if !privileges.is_empty() {
        for m in models {
            duties.extend(m.duties.values().filter(|d| named(&d.privileges, &privileges)).map(|d| d.name.as_str()));
            duties.extend(m.duty_extensions.values().filter(|e| named(&e.privileges, &privileges)).map(|e| e.target.as_str()));
            roles.extend(m.roles.values().filter(|r| named(&r.privileges, &privileges)).map(|r| r.name.as_str()));
            roles.extend(m.role_extensions.values().filter(|e| named(&e.privileges, &privileges)).map(|e| e.target.as_str()));
        }
    }
    if !duties.is_empty() {
        for m in models {
            roles.extend(m.roles.values().filter(|r| named(&r.duties, &duties)).map(|r| r.name.as_str()));
            roles.extend(m.role_extensions.values().filter(|e| named(&e.duties, &duties)).map(|e| e.target.as_str()));
        }
    }
    if roles.is_empty() {
        return Some(BTreeSet::new());
    }
    // Every role that reaches an affected one through sub-roles, its own or an extension's.
    let mut parents: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
    for m in models {
        for r in m.roles.values() {
            for s in &r.sub_roles {
                parents.entry(s.as_str()).or_default().push(r.name.as_str());
            }
        }
        for e in m.role_extensions.values() {
            for s in &e.sub_roles {
                parents.entry(s.as_str()).or_default().push(e.target.as_str());
            }
        }
    }
    let mut stack: Vec<&str> = roles.iter().copied().collect();
    while let Some(r) = stack.pop() {
        for &p in parents.get(r).into_iter().flatten() {
            if roles.insert(p) {
                stack.push(p);
            }
        }
    }
    Some(roles.into_iter().filter(|r| after.roles.contains_key(*r)).map(str::to_string).collect())
}
