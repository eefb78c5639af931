//! The segregation-of-duties check as someone would first write it: no
//! precomputed role masks, the model walked afresh for every user.
//!
//! Per user: every instant from `now` on at which the user's roles or a rule
//! may change (now, the user's assignment boundaries, the rules' window
//! boundaries), and every organization situation (global assignments only,
//! then each organization one of the user's scoped assignments names — any
//! other organization sees the global assignments only, the same as the first).
//! In each situation: collect the active roles, walk each one's sub-roles,
//! duties and privileges in the model into a set of held duties and a map of
//! (entry point → allowed, denied accesses), then test both sides of every rule.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use warden_model::{AccessSet, EntryPointKey, Model, SodSide, Timestamp};

/// What the active roles of one situation hold.
#[derive(Default)]
struct Held<'a> {
    duties: HashSet<&'a str>,
    entry_points: HashMap<EntryPointKey, (AccessSet, AccessSet)>,
}

impl<'a> Held<'a> {
    fn add_role(&mut self, model: &'a Model, role: &'a str) {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack = vec![role];
        while let Some(name) = stack.pop() {
            if !seen.insert(name) {
                continue;
            }
            let Some(r) = model.roles.get(name) else { continue };
            let mut privileges: Vec<&str> = model.role_privileges(r).collect();
            for d in model.role_duties(r) {
                self.duties.insert(d);
                if let Some(duty) = model.duties.get(d) {
                    privileges.extend(model.duty_privileges(duty));
                }
            }
            for p in privileges.into_iter().filter_map(|p| model.privileges.get(p)) {
                for g in &p.entry_points {
                    let e = self.entry_points.entry(g.key()).or_insert((AccessSet::EMPTY, AccessSet::EMPTY));
                    e.0 = e.0.union(g.grant.allow);
                    e.1 = e.1.union(g.grant.deny);
                }
            }
            stack.extend(model.role_sub_roles(r));
        }
    }

    fn holds(&self, side: &SodSide) -> bool {
        match side {
            SodSide::Duty { duty } => self.duties.contains(duty.as_str()),
            SodSide::EntryPoint { entry_point, access } => {
                self.entry_points.get(entry_point).is_some_and(|(allow, deny)| allow.contains(*access) && !deny.contains(*access))
            }
        }
    }
}

/// The rules `user` breaks from `now` on, each with the organizations it is
/// broken in (empty: through global assignments, i.e. everywhere), by rule name.
pub fn user_conflicts(model: &Model, user: &str, now: Timestamp) -> BTreeMap<String, BTreeSet<String>> {
    let assignments = model.assignments_of(user);
    let mut instants: BTreeSet<Timestamp> = BTreeSet::from([now]);
    for a in assignments {
        instants.extend(a.valid_from.into_iter().chain(a.valid_to).filter(|t| *t > now));
    }
    for r in model.sod_rules.values() {
        instants.extend(r.valid_from.into_iter().chain(r.valid_to).filter(|t| *t > now));
    }
    let mut situations: BTreeSet<Option<&str>> = BTreeSet::from([None]);
    for a in assignments {
        situations.extend(a.organizations.iter().map(|o| Some(o.as_str())));
    }
    // rule name -> (broken through global assignments, organizations it is broken in)
    let mut found: BTreeMap<String, (bool, BTreeSet<String>)> = BTreeMap::new();
    for &at in &instants {
        for &org in &situations {
            let mut held = Held::default();
            for a in assignments.iter().filter(|a| a.is_valid_at(at) && a.applies_to(org)) {
                held.add_role(model, &a.role);
            }
            for rule in model.sod_rules.values().filter(|r| r.is_active_at(at)) {
                if held.holds(&rule.first) && held.holds(&rule.second) {
                    let entry = found.entry(rule.name.clone()).or_default();
                    match org {
                        None => entry.0 = true,
                        Some(o) => drop(entry.1.insert(o.to_string())),
                    }
                }
            }
        }
    }
    found.into_iter().map(|(rule, (global, orgs))| (rule, if global { BTreeSet::new() } else { orgs })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_gen::{generate, sod_rules, Scale, REFERENCE_INSTANT};

    /// The naive scan agrees with the engine's reference on a third of a small model's users.
    #[test]
    fn agrees_with_the_reference_on_a_small_model() {
        let mut model = generate(Scale::Small, 3);
        model.sod_rules = sod_rules(&model, 60, 3).into_iter().map(|r| (r.name.clone(), r)).collect();
        let mut conflicting = 0;
        // Every third user: the reference is slow in debug builds.
        for user in model.users.keys().step_by(3) {
            let naive = user_conflicts(&model, user, REFERENCE_INSTANT);
            let reference: BTreeMap<String, BTreeSet<String>> = warden_engine::sod::reference::user_conflicts(&model, user, REFERENCE_INSTANT)
                .into_iter()
                .map(|c| (c.rule, c.organizations.into_iter().collect()))
                .collect();
            assert_eq!(naive, reference, "user {user}");
            conflicting += usize::from(!naive.is_empty());
        }
        assert!(conflicting > 0, "the rules should put someone in conflict");
    }
}
