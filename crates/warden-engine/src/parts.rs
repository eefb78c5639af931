//! Checks of a form control or a field below an entry point.
//!
//! Not on the hot path: [`Index::check`] stays what it is, and a check that
//! names a control or field first asks it whether the user can Read the entry
//! point at all, then walks only the user's roles in force (from the index)
//! down to their grants on that one entry point.
//!
//! Semantics (README, "Controls and fields"): every counted path that ends in
//! a grant `g` on the entry point says, for the access asked, the part's own
//! permission when `g` names the part and sets that access, otherwise `g`'s
//! permission on the entry point (the part inherits its entry point). Deny
//! from any path wins; otherwise Allow if a path allows; otherwise Deny. A
//! part of an entry point the user cannot Read is denied: it is out of reach.

use crate::index::UNKNOWN_ORG;
use crate::{Decision, Index};
use rustc_hash::FxHashSet;
use warden_model::{Access, EntryPointKey, Model, Part, Permission, Timestamp};

/// May `user` use `access` on `part` (a control or field) of `ep` in `org` at
/// `at`? `model` is the model `index` was built from. Unknown users, entry
/// points and parts the model never names are answered as the semantics say
/// (a part no grant names inherits its entry point).
#[allow(clippy::too_many_arguments)]
pub fn check_part(index: &Index, model: &Model, user: &str, ep: &EntryPointKey, access: Access, part: &Part, org: Option<&str>, at: Timestamp) -> Decision {
    if index.check_by_name(user, ep, Access::Read, org, at) == Decision::Deny {
        return Decision::Deny;
    }
    let Some(u) = index.user(user) else { return Decision::Deny };
    let org = org.map(|o| index.org(o).unwrap_or(UNKNOWN_ORG));
    let mut roles: Vec<&str> = index.roles_in_force(u, org, at);
    let mut seen_roles: FxHashSet<&str> = FxHashSet::default();
    let mut seen_privileges: FxHashSet<&str> = FxHashSet::default();
    let (mut allowed, mut denied) = (false, false);
    while let Some(name) = roles.pop() {
        if !seen_roles.insert(name) {
            continue;
        }
        let Some(role) = model.roles.get(name) else { continue };
        let duties = model.role_duties(role).filter_map(|d| model.duties.get(d));
        for p in model.role_privileges(role).chain(duties.flat_map(|d| model.duty_privileges(d))) {
            let Some(privilege) = model.privileges.get(p).filter(|_| seen_privileges.insert(p)) else { continue };
            for g in privilege.entry_points.iter().filter(|g| g.kind == ep.kind && g.key() == *ep) {
                match g.part_permission(part, access).0 {
                    Some(Permission::Deny) => denied = true,
                    Some(Permission::Allow) => allowed = true,
                    None => {}
                }
            }
        }
        roles.extend(model.role_sub_roles(role));
    }
    if allowed && !denied { Decision::Allow } else { Decision::Deny }
}
