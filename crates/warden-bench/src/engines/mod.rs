//! The engines under test, each behind one small trait so that one harness
//! times them all the same way.

pub mod casbin;
pub mod cedar;
pub mod hashmap;
pub mod warden;

use rustc_hash::FxHashMap;
use warden_gen::Request;
use warden_model::{EntryPointKey, Model};

/// An access-check engine as the harness sees it.
///
/// A request is first converted into the engine's own form ([`Engine::prepare`]:
/// ids resolved, a Cedar `Request` built, casbin arguments assembled), outside
/// the timed loop, as an application would hold its ids or build its request
/// anyway; then [`Engine::check`] alone is timed. The harness reports the
/// preparation cost separately.
pub trait Engine {
    type Prepared<'r>;
    fn prepare<'r>(&self, request: &'r Request) -> Self::Prepared<'r>;
    fn check(&self, prepared: &Self::Prepared<'_>) -> bool;
    /// Checks that failed inside the engine (and were counted as deny).
    fn errors(&self) -> usize {
        0
    }
    /// A line about the engine's size or encoding, for the progress log.
    fn describe(&self) -> Option<String> {
        None
    }
}

/// The model with sub-roles, duties and privileges flattened into one grant
/// list per role: what every peer that "precomputes the hierarchy" starts from.
/// Built the way D365 defines it, independently of warden-engine's code.
pub struct Flat {
    /// Entry point id → key: the model's entry points, then any a grant names.
    pub entry_points: Vec<EntryPointKey>,
    pub entry_point_ids: FxHashMap<EntryPointKey, u32>,
    pub role_names: Vec<String>,
    pub role_ids: FxHashMap<String, u32>,
    /// Per role id: (entry point id, allow bits, deny bits), one entry per entry
    /// point, sorted by entry point; the role's sub-roles (transitively) included.
    pub role_grants: Vec<Vec<(u32, u8, u8)>>,
}

impl Flat {
    pub fn new(model: &Model) -> Flat {
        let mut entry_points: Vec<EntryPointKey> = model.entry_points.keys().cloned().collect();
        let mut entry_point_ids: FxHashMap<EntryPointKey, u32> =
            entry_points.iter().enumerate().map(|(i, k)| (k.clone(), i as u32)).collect();
        let mut privilege_grants: FxHashMap<&str, Vec<(u32, u8, u8)>> = FxHashMap::default();
        for p in model.privileges.values() {
            let mut list = Vec::with_capacity(p.entry_points.len());
            for g in &p.entry_points {
                let key = g.key();
                let id = match entry_point_ids.get(&key) {
                    Some(&id) => id,
                    None => {
                        let id = entry_points.len() as u32;
                        entry_points.push(key.clone());
                        entry_point_ids.insert(key, id);
                        id
                    }
                };
                list.push((id, g.grant.allow.0, g.grant.deny.0));
            }
            privilege_grants.insert(p.name.as_str(), list);
        }
        let role_names: Vec<String> = model.roles.keys().cloned().collect();
        let role_ids: FxHashMap<String, u32> = role_names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
        let mut role_grants = Vec::with_capacity(role_names.len());
        for role in model.roles.values() {
            let mut table: Vec<(u32, u8, u8)> = Vec::new();
            let mut seen: Vec<&str> = Vec::new();
            let mut stack = vec![role];
            while let Some(r) = stack.pop() {
                if seen.contains(&r.name.as_str()) {
                    continue;
                }
                seen.push(r.name.as_str());
                let mut privileges: Vec<&str> = model.role_privileges(r).collect();
                for d in model.role_duties(r) {
                    if let Some(duty) = model.duties.get(d) {
                        privileges.extend(model.duty_privileges(duty));
                    }
                }
                for p in privileges {
                    if let Some(list) = privilege_grants.get(p) {
                        table.extend_from_slice(list);
                    }
                }
                stack.extend(model.role_sub_roles(r).filter_map(|s| model.roles.get(s)));
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
            role_grants.push(merged);
        }
        Flat { entry_points, entry_point_ids, role_names, role_ids, role_grants }
    }
}
