//! The compiled index and the hot check path.
//!
//! Layout, chosen for a random request stream where memory latency dominates:
//! - per entry point, the sorted list of roles that set any permission on it,
//!   with their allow and deny bits (sub-roles already flattened into each role);
//! - per user, its active-able assignments: role id, validity window, scope.
//!
//! A check reads the two short lists, which sit in independent cache lines the
//! CPU can fetch in parallel, and intersects them. Its cost depends on the
//! user's assignment count and (logarithmically) on how many roles touch the
//! entry point, never on the size of the model.

use crate::Decision;
use std::collections::HashMap;
use warden_model::{Access, EntryPointKey, Model, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryPointId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrgId(pub u32);

/// An org id that no scoped assignment contains: a check in an organization the
/// model does not know still counts global assignments, as the semantics say.
const UNKNOWN_ORG: OrgId = OrgId(u32::MAX);
/// `Assignment::scope` value for a global assignment.
const GLOBAL: u32 = u32::MAX;

/// One role's permissions on one entry point.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct RoleGrant {
    role: u32,
    allow: u8,
    deny: u8,
}

/// One assignment as the check path needs it: 24 bytes, so 2–3 share a cache line.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct CompactAssignment {
    from: i64,
    to: i64,
    role: u32,
    /// `GLOBAL`, or the offset in `scopes` of `[len, org, org, ...]`.
    scope: u32,
}

/// Sizes, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    pub users: usize,
    pub roles: usize,
    pub entry_points: usize,
    pub assignments: usize,
    pub role_grants: usize,
    pub bytes: usize,
}

/// An immutable, compiled snapshot of a model, answering checks by id.
#[derive(Debug, Clone)]
pub struct Index {
    user_ids: HashMap<String, u32>,
    org_ids: HashMap<String, u32>,
    ep_ids: HashMap<EntryPointKey, u32>,
    role_count: usize,
    /// CSR: assignments of user `u` are `assignments[user_offsets[u]..user_offsets[u + 1]]`.
    /// Disabled users have an empty range.
    user_offsets: Vec<u32>,
    assignments: Vec<CompactAssignment>,
    scopes: Vec<u32>,
    /// CSR: role grants on entry point `e` are `grants[ep_offsets[e]..ep_offsets[e + 1]]`, sorted by role.
    ep_offsets: Vec<u32>,
    grants: Vec<RoleGrant>,
}

impl Index {
    /// Compiles `model`. Dangling references (a role naming a duty that is not
    /// loaded, an assignment of an unknown role) grant nothing; sub-role cycles
    /// are cut. Validation reports those separately.
    pub fn build(model: &Model) -> Index {
        // Entry point ids: defined ones and any that a grant names.
        let mut ep_ids: HashMap<EntryPointKey, u32> = HashMap::with_capacity(model.entry_points.len());
        for key in model.entry_points.keys() {
            let next = ep_ids.len() as u32;
            ep_ids.entry(key.clone()).or_insert(next);
        }
        let privilege_ids: HashMap<&str, u32> =
            model.privileges.keys().enumerate().map(|(i, n)| (n.as_str(), i as u32)).collect();
        let mut privilege_grants: Vec<Vec<(u32, u8, u8)>> = Vec::with_capacity(model.privileges.len());
        for p in model.privileges.values() {
            let mut list = Vec::with_capacity(p.entry_points.len());
            for g in &p.entry_points {
                let key = g.key();
                let next = ep_ids.len() as u32;
                let id = *ep_ids.entry(key).or_insert(next);
                list.push((id, g.grant.allow.0, g.grant.deny.0));
            }
            privilege_grants.push(list);
        }

        // Privileges per duty, extensions included.
        let mut duty_privileges: HashMap<&str, Vec<u32>> = HashMap::with_capacity(model.duties.len());
        for d in model.duties.values() {
            let ids = model.duty_privileges(d).filter_map(|p| privilege_ids.get(p).copied()).collect();
            duty_privileges.insert(d.name.as_str(), ids);
        }

        // Each role's own privileges (direct and through duties), then the closure over sub-roles.
        let role_names: Vec<&str> = model.roles.keys().map(String::as_str).collect();
        let role_ids: HashMap<&str, u32> = role_names.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
        let mut own: Vec<Vec<u32>> = Vec::with_capacity(role_names.len());
        let mut subs: Vec<Vec<u32>> = Vec::with_capacity(role_names.len());
        for r in model.roles.values() {
            let mut ps: Vec<u32> = model.role_privileges(r).filter_map(|p| privilege_ids.get(p).copied()).collect();
            for d in model.role_duties(r) {
                if let Some(list) = duty_privileges.get(d) {
                    ps.extend_from_slice(list);
                }
            }
            own.push(ps);
            subs.push(model.role_sub_roles(r).filter_map(|s| role_ids.get(s).copied()).collect());
        }

        // Per role: merged (entry point, allow, deny), sorted by entry point.
        let mut per_ep_count = vec![0u32; ep_ids.len()];
        let mut role_tables: Vec<Vec<(u32, u8, u8)>> = Vec::with_capacity(role_names.len());
        let mut seen_role = vec![u32::MAX; role_names.len()];
        let mut seen_privilege = vec![u32::MAX; model.privileges.len()];
        for root in 0..role_names.len() as u32 {
            let mut table: Vec<(u32, u8, u8)> = Vec::new();
            let mut stack = vec![root];
            while let Some(r) = stack.pop() {
                if seen_role[r as usize] == root {
                    continue;
                }
                seen_role[r as usize] = root;
                for &p in &own[r as usize] {
                    if seen_privilege[p as usize] != root {
                        seen_privilege[p as usize] = root;
                        table.extend_from_slice(&privilege_grants[p as usize]);
                    }
                }
                stack.extend_from_slice(&subs[r as usize]);
            }
            table.sort_unstable_by_key(|t| t.0);
            let mut merged: Vec<(u32, u8, u8)> = Vec::with_capacity(table.len());
            for (ep, allow, deny) in table {
                match merged.last_mut() {
                    Some(last) if last.0 == ep => {
                        last.1 |= allow;
                        last.2 |= deny;
                    }
                    _ => merged.push((ep, allow, deny)),
                }
            }
            merged.retain(|t| t.1 | t.2 != 0);
            for t in &merged {
                per_ep_count[t.0 as usize] += 1;
            }
            role_tables.push(merged);
        }

        // Invert into the per-entry-point lists; filling in role order keeps each list sorted by role.
        let mut ep_offsets = Vec::with_capacity(per_ep_count.len() + 1);
        let mut total = 0u32;
        ep_offsets.push(0);
        for c in &per_ep_count {
            total += c;
            ep_offsets.push(total);
        }
        let mut fill: Vec<u32> = ep_offsets[..per_ep_count.len()].to_vec();
        let mut grants = vec![RoleGrant { role: 0, allow: 0, deny: 0 }; total as usize];
        for (role, table) in role_tables.iter().enumerate() {
            for &(ep, allow, deny) in table {
                let slot = &mut fill[ep as usize];
                grants[*slot as usize] = RoleGrant { role: role as u32, allow, deny };
                *slot += 1;
            }
        }

        // Organizations: known ones, and any an assignment names.
        let mut org_ids: HashMap<String, u32> = HashMap::with_capacity(model.organizations.len());
        for id in model.organizations.keys() {
            let next = org_ids.len() as u32;
            org_ids.entry(id.clone()).or_insert(next);
        }

        // Users and their assignments, in user order.
        let mut user_ids = HashMap::with_capacity(model.users.len());
        let mut user_offsets = Vec::with_capacity(model.users.len() + 1);
        let mut assignments = Vec::with_capacity(model.assignments.len());
        let mut scopes = Vec::new();
        user_offsets.push(0u32);
        for (i, u) in model.users.values().enumerate() {
            user_ids.insert(u.id.clone(), i as u32);
            if u.enabled {
                for a in model.assignments_of(&u.id) {
                    let Some(&role) = role_ids.get(a.role.as_str()) else { continue };
                    let scope = if a.is_global() {
                        GLOBAL
                    } else {
                        let at = scopes.len() as u32;
                        scopes.push(a.organizations.len() as u32);
                        for o in &a.organizations {
                            let next = org_ids.len() as u32;
                            scopes.push(*org_ids.entry(o.clone()).or_insert(next));
                        }
                        at
                    };
                    assignments.push(CompactAssignment {
                        from: a.valid_from.map_or(i64::MIN, |t| t.0),
                        to: a.valid_to.map_or(i64::MAX, |t| t.0),
                        role,
                        scope,
                    });
                }
            }
            user_offsets.push(assignments.len() as u32);
        }

        Index {
            user_ids,
            org_ids,
            ep_ids,
            role_count: role_names.len(),
            user_offsets,
            assignments,
            scopes,
            ep_offsets,
            grants,
        }
    }

    pub fn user(&self, id: &str) -> Option<UserId> {
        self.user_ids.get(id).map(|&i| UserId(i))
    }

    pub fn org(&self, id: &str) -> Option<OrgId> {
        self.org_ids.get(id).map(|&i| OrgId(i))
    }

    pub fn entry_point(&self, key: &EntryPointKey) -> Option<EntryPointId> {
        self.ep_ids.get(key).map(|&i| EntryPointId(i))
    }

    /// May `user` use `access` on `ep` in `org` (or, with `None`, outside any
    /// organization) at `at`? Allocation-free and lock-free. Ids from another
    /// index, or out of range, are denied.
    #[inline]
    pub fn check(&self, user: UserId, ep: EntryPointId, access: Access, org: Option<OrgId>, at: Timestamp) -> Decision {
        let (u, e) = (user.0 as usize, ep.0 as usize);
        let (Some(&us), Some(&ue)) = (self.user_offsets.get(u), self.user_offsets.get(u + 1)) else {
            return Decision::Deny;
        };
        let (Some(&gs), Some(&ge)) = (self.ep_offsets.get(e), self.ep_offsets.get(e + 1)) else {
            return Decision::Deny;
        };
        let (Some(assignments), Some(grants)) =
            (self.assignments.get(us as usize..ue as usize), self.grants.get(gs as usize..ge as usize))
        else {
            return Decision::Deny;
        };
        let bit = access.bit();
        let at = at.0;
        let mut allowed = false;
        for a in assignments {
            if at < a.from || at >= a.to || !self.in_scope(a.scope, org) {
                continue;
            }
            if let Some(g) = find_role(grants, a.role) {
                if g.deny & bit != 0 {
                    return Decision::Deny;
                }
                allowed |= g.allow & bit != 0;
            }
        }
        if allowed { Decision::Allow } else { Decision::Deny }
    }

    /// [`Index::check`] by name. Unknown users and entry points are denied; an
    /// unknown organization counts only global assignments.
    pub fn check_by_name(&self, user: &str, ep: &EntryPointKey, access: Access, org: Option<&str>, at: Timestamp) -> Decision {
        let (Some(u), Some(e)) = (self.user(user), self.entry_point(ep)) else { return Decision::Deny };
        let org = org.map(|o| self.org(o).unwrap_or(UNKNOWN_ORG));
        self.check(u, e, access, org, at)
    }

    #[inline]
    fn in_scope(&self, scope: u32, org: Option<OrgId>) -> bool {
        if scope == GLOBAL {
            return true;
        }
        let Some(org) = org else { return false };
        let start = scope as usize;
        let Some(&len) = self.scopes.get(start) else { return false };
        self.scopes.get(start + 1..start + 1 + len as usize).is_some_and(|orgs| orgs.contains(&org.0))
    }

    pub fn stats(&self) -> IndexStats {
        use std::mem::size_of;
        IndexStats {
            users: self.user_offsets.len().saturating_sub(1),
            roles: self.role_count,
            entry_points: self.ep_offsets.len().saturating_sub(1),
            assignments: self.assignments.len(),
            role_grants: self.grants.len(),
            bytes: self.user_offsets.len() * 4
                + self.assignments.len() * size_of::<CompactAssignment>()
                + self.scopes.len() * 4
                + self.ep_offsets.len() * 4
                + self.grants.len() * size_of::<RoleGrant>(),
        }
    }
}

/// Finds a role in an entry point's grant list: a linear scan while the list
/// fits in a couple of cache lines, binary search beyond.
#[inline]
fn find_role(grants: &[RoleGrant], role: u32) -> Option<&RoleGrant> {
    if grants.len() <= 16 {
        grants.iter().find(|g| g.role == role)
    } else {
        grants.binary_search_by_key(&role, |g| g.role).ok().map(|i| &grants[i])
    }
}
