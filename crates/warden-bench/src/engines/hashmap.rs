//! "The obvious design": one hash map per role from entry point id to
//! (allow, deny) bits, sub-roles flattened in at build time; a check ORs over
//! the user's active roles.

use super::{Engine, Flat};
use rustc_hash::FxHashMap;
use warden_gen::Request;
use warden_model::{Access, Model};

/// One assignment: role, scope (empty = global), window `[from, to)`.
struct UserAssignment {
    role: u32,
    orgs: Vec<u32>,
    from: i64,
    to: i64,
}

pub struct HashMapEngine {
    users: FxHashMap<String, u32>,
    entry_points: FxHashMap<warden_model::EntryPointKey, u32>,
    orgs: FxHashMap<String, u32>,
    /// Per role id: entry point id → (allow bits, deny bits).
    roles: Vec<FxHashMap<u32, (u8, u8)>>,
    /// Per user id: its assignments; empty for disabled users.
    assignments: Vec<Vec<UserAssignment>>,
}

/// A request in this engine's ids; `u32::MAX` for an unknown user, entry point or organization.
pub struct HashMapRequest {
    user: u32,
    ep: u32,
    access: Access,
    org: Option<u32>,
    at: i64,
}

impl HashMapEngine {
    pub fn build(model: &Model) -> HashMapEngine {
        let flat = Flat::new(model);
        let roles = flat.role_grants.iter().map(|list| list.iter().map(|&(ep, a, d)| (ep, (a, d))).collect()).collect();
        let orgs: FxHashMap<String, u32> = model.organizations.keys().enumerate().map(|(i, o)| (o.clone(), i as u32)).collect();
        let mut users = FxHashMap::default();
        let mut assignments = Vec::with_capacity(model.users.len());
        for (i, u) in model.users.values().enumerate() {
            users.insert(u.id.clone(), i as u32);
            let mut list = Vec::new();
            if u.enabled {
                for a in model.assignments_of(&u.id) {
                    let Some(&role) = flat.role_ids.get(&a.role) else { continue };
                    list.push(UserAssignment {
                        role,
                        // An org the model does not define matches no request org id.
                        orgs: a.organizations.iter().map(|o| orgs.get(o).copied().unwrap_or(u32::MAX - 1)).collect(),
                        from: a.valid_from.map_or(i64::MIN, |t| t.0),
                        to: a.valid_to.map_or(i64::MAX, |t| t.0),
                    });
                }
            }
            assignments.push(list);
        }
        HashMapEngine { users, entry_points: flat.entry_point_ids, orgs, roles, assignments }
    }
}

impl Engine for HashMapEngine {
    type Prepared<'r> = HashMapRequest;

    fn prepare(&self, r: &Request) -> HashMapRequest {
        HashMapRequest {
            user: self.users.get(&r.user).copied().unwrap_or(u32::MAX),
            ep: self.entry_points.get(&r.entry_point).copied().unwrap_or(u32::MAX),
            access: r.access,
            org: r.org.as_ref().map(|o| self.orgs.get(o).copied().unwrap_or(u32::MAX)),
            at: r.at.0,
        }
    }

    #[inline]
    fn check(&self, r: &HashMapRequest) -> bool {
        let Some(assignments) = self.assignments.get(r.user as usize) else { return false };
        let bit = r.access.bit();
        let mut allowed = false;
        for a in assignments {
            if r.at < a.from || r.at >= a.to {
                continue;
            }
            if !a.orgs.is_empty() && !r.org.is_some_and(|o| a.orgs.contains(&o)) {
                continue;
            }
            if let Some(&(allow, deny)) = self.roles[a.role as usize].get(&r.ep) {
                if deny & bit != 0 {
                    return false;
                }
                allowed |= allow & bit != 0;
            }
        }
        allowed
    }
}
