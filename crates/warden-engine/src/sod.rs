//! Segregation-of-duties analysis: which roles, and which users, hold both
//! sides of a rule.
//!
//! [`SodIndex::build`] turns every distinct rule side into a bit (a
//! "feature") and every role into two bit sets over those features: what it
//! holds or allows, and what it denies. A user's situation — the roles active
//! in one organization during one stretch of time — is then the OR of a few
//! role masks, and a rule is violated when both its bits survive the denies.
//! Checking one user costs a few hundred word operations whatever the model's
//! size, so a full verification is linear in users and re-checking one user
//! after an assignment is microseconds.
//!
//! Semantics (the reference in [`reference`] is written straight from them):
//! from `now` on, a user violates a rule in an organization (or with global
//! assignments only) at an instant when the rule is active then and the roles
//! active there and then (assignments valid at the instant and global or
//! scoped to the organization) hold both sides. A duty side is held when one
//! of those roles holds the duty (sub-roles and extensions included); an
//! entry-point side when the roles' union of Allow for the access, minus any
//! Deny among them, grants it. Disabled users are analysed like the others:
//! enabling a user must not silently bring a conflict to life.

use rustc_hash::FxHashMap;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use warden_model::{Access, AccessView, Assignment, EntryPointKey, Model, SodRule, SodSide, Timestamp};

/// One rule broken by one user: where, and through which roles.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct UserConflict {
    pub rule: String,
    /// Roles active in a conflicting situation that by themselves hold either side, sorted.
    pub roles: Vec<String>,
    /// Organizations the conflict occurs in; empty when it occurs through global assignments, i.e. everywhere.
    pub organizations: Vec<String>,
}

/// A bit set over the index's features.
type Mask = Vec<u64>;

fn set(mask: &mut Mask, bit: u32) {
    mask[(bit / 64) as usize] |= 1 << (bit % 64);
}

fn get(mask: &[u64], bit: u32) -> bool {
    mask[(bit / 64) as usize] & (1 << (bit % 64)) != 0
}

struct CompiledRule {
    name: String,
    first: u32,
    second: u32,
    enabled: bool,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

impl CompiledRule {
    /// Whether the rule is in force at some instant of `[start, end)` (`end` none: open).
    fn active_during(&self, start: Timestamp, end: Option<Timestamp>) -> bool {
        // The two windows meet when the later start is before the earlier end.
        let lo = self.from.map_or(start, |f| f.max(start));
        let hi = match (end, self.to) {
            (Some(e), Some(t)) => Some(e.min(t)),
            (e, t) => e.or(t),
        };
        self.enabled && hi.is_none_or(|h| lo < h)
    }
}

/// The compiled SoD view of one model.
///
/// What depends on the rules alone (features, compiled rules, role numbers)
/// sits behind `Arc`s, so that [`SodIndex::with_roles`] copies only the role
/// masks when a change to the security configuration leaves the rules alone.
#[derive(Clone)]
pub struct SodIndex {
    words: usize,
    rules: Arc<Vec<CompiledRule>>,
    /// Rules by their first feature.
    by_first: Arc<Vec<Vec<u32>>>,
    /// The features rules' sides are numbered by.
    features: Arc<Features>,
    role_ids: Arc<FxHashMap<String, u32>>,
    role_names: Arc<Vec<String>>,
    /// Per role: features it holds or allows.
    allow: Vec<Mask>,
    /// Per role: entry-point features it denies.
    deny: Vec<Mask>,
}

/// Rule sides by what a role must hold to reach them.
#[derive(Default)]
struct Features {
    /// A duty side: its feature.
    duties: FxHashMap<String, u32>,
    /// Entry-point sides: each access asked for on the entry point, with its feature.
    entry_points: FxHashMap<EntryPointKey, Vec<(Access, u32)>>,
}

/// Every duty and every privilege a role holds, sub-roles and extensions included.
fn role_closure<'a>(model: &'a Model, role: &'a str) -> (HashSet<&'a str>, HashSet<&'a str>) {
    let mut roles = HashSet::new();
    let mut duties = HashSet::new();
    let mut privileges = HashSet::new();
    let mut stack = vec![role];
    while let Some(name) = stack.pop() {
        if !roles.insert(name) {
            continue;
        }
        let Some(r) = model.roles.get(name) else { continue };
        for d in model.role_duties(r) {
            duties.insert(d);
            if let Some(duty) = model.duties.get(d) {
                privileges.extend(model.duty_privileges(duty));
            }
        }
        privileges.extend(model.role_privileges(r));
        stack.extend(model.role_sub_roles(r));
    }
    (duties, privileges)
}

impl SodIndex {
    pub fn build(model: &Model) -> SodIndex {
        let mut features: FxHashMap<&SodSide, u32> = FxHashMap::default();
        let mut numbered = Features::default();
        let mut next = 0u32;
        let mut rules = Vec::with_capacity(model.sod_rules.len());
        for r in model.sod_rules.values() {
            let mut id = |side| {
                *features.entry(side).or_insert_with(|| {
                    let f = next;
                    next += 1;
                    match side {
                        SodSide::Duty { duty } => {
                            numbered.duties.insert(duty.clone(), f);
                        }
                        SodSide::EntryPoint { entry_point, access } => numbered.entry_points.entry(entry_point.clone()).or_default().push((*access, f)),
                    }
                    f
                })
            };
            let (first, second) = (id(&r.first), id(&r.second));
            rules.push(compile(r, first, second));
        }
        let words = (next as usize).div_ceil(64).max(1);
        let mut by_first = vec![Vec::new(); next as usize];
        for (i, r) in rules.iter().enumerate() {
            by_first[r.first as usize].push(i as u32);
        }
        let mut index = SodIndex {
            words,
            rules: Arc::new(rules),
            by_first: Arc::new(by_first),
            features: Arc::new(numbered),
            role_ids: Arc::default(),
            role_names: Arc::default(),
            allow: Vec::with_capacity(model.roles.len()),
            deny: Vec::with_capacity(model.roles.len()),
        };
        let mut role_ids = FxHashMap::default();
        let mut role_names = Vec::with_capacity(model.roles.len());
        for name in model.roles.keys() {
            let (a, d) = index.role_masks(model, name);
            role_ids.insert(name.clone(), role_names.len() as u32);
            role_names.push(name.clone());
            index.allow.push(a);
            index.deny.push(d);
        }
        index.role_ids = Arc::new(role_ids);
        index.role_names = Arc::new(role_names);
        index
    }

    /// This index with the masks of `roles` computed again from `model`,
    /// which differs from the model this index was built from (or patched
    /// to) only in the contents of roles, duties, privileges or extensions,
    /// `roles` holding every role that can change by it
    /// ([`crate::affected_roles`]); the rules are the same. `None` when a
    /// role in `roles` is one this index does not number, or `model` has
    /// other roles than it: then [`SodIndex::build`] must.
    pub fn with_roles<'a>(&self, model: &Model, roles: impl IntoIterator<Item = &'a str>) -> Option<SodIndex> {
        if model.roles.len() != self.role_names.len() {
            return None;
        }
        let mut next = self.clone();
        for name in roles {
            let id = *self.role_ids.get(name)? as usize;
            let (a, d) = self.role_masks(model, name);
            next.allow[id] = a;
            next.deny[id] = d;
        }
        Some(next)
    }

    /// What `role` holds or allows, and what it denies, over the features.
    fn role_masks(&self, model: &Model, role: &str) -> (Mask, Mask) {
        let (mut a, mut d) = (vec![0u64; self.words], vec![0u64; self.words]);
        if self.rules.is_empty() {
            return (a, d);
        }
        let (duties, privileges) = role_closure(model, role);
        for duty in duties {
            if let Some(f) = self.features.duties.get(duty) {
                set(&mut a, *f);
            }
        }
        for p in privileges.iter().filter_map(|p| model.privileges.get(*p)) {
            for g in &p.entry_points {
                let Some(list) = self.features.entry_points.get(&g.key()) else { continue };
                for (access, f) in list {
                    if g.grant.allow.contains(*access) {
                        set(&mut a, *f);
                    }
                    if g.grant.deny.contains(*access) {
                        set(&mut d, *f);
                    }
                }
            }
        }
        (a, d)
    }

    /// Rules violated by `allow - deny`, by index, during `[start, end)`.
    fn violated(&self, allow: &[u64], deny: &[u64], start: Timestamp, end: Option<Timestamp>, out: &mut Vec<u32>) {
        for (w, (a, d)) in allow.iter().zip(deny).enumerate() {
            let mut bits = a & !d;
            while bits != 0 {
                let f = (w * 64) as u32 + bits.trailing_zeros();
                bits &= bits - 1;
                for &r in &self.by_first[f as usize] {
                    let rule = &self.rules[r as usize];
                    let s = rule.second;
                    if get(allow, s) && !get(deny, s) && rule.active_during(start, end) {
                        out.push(r);
                    }
                }
            }
        }
    }

    /// Roles whose SoD view differs between two indexes over the same rules
    /// (what a change to the security configuration did), and roles only one has.
    pub fn changed_roles<'a>(&'a self, before: &SodIndex) -> Vec<&'a str> {
        let same_rules = self.rules.len() == before.rules.len()
            && self.rules.iter().zip(before.rules.iter()).all(|(a, b)| a.name == b.name && a.first == b.first && a.second == b.second);
        self.role_names
            .iter()
            .enumerate()
            .filter(|(i, name)| match before.role_ids.get(*name) {
                Some(&j) if same_rules => self.allow[*i] != before.allow[j as usize] || self.deny[*i] != before.deny[j as usize],
                _ => true,
            })
            .map(|(_, n)| n.as_str())
            .collect()
    }

    /// Rules that a role breaks by itself (sub-roles included), from `now` on.
    pub fn role_violations(&self, role: &str, now: Timestamp) -> Vec<&str> {
        let Some(&id) = self.role_ids.get(role) else { return Vec::new() };
        let mut out = Vec::new();
        self.violated(&self.allow[id as usize], &self.deny[id as usize], now, None, &mut out);
        let mut names: Vec<&str> = out.into_iter().map(|r| self.rules[r as usize].name.as_str()).collect();
        names.sort_unstable();
        names
    }

    /// Every role that breaks a rule by itself, with the rules, ordered by role.
    pub fn roles_violating(&self, now: Timestamp) -> Vec<(&str, Vec<&str>)> {
        self.role_names.iter().map(|r| (r.as_str(), self.role_violations(r, now))).filter(|(_, v)| !v.is_empty()).collect()
    }

    /// The rules `user` breaks from `now` on, with where and through which roles.
    pub fn user_conflicts(&self, model: &Model, user: &str, now: Timestamp) -> Vec<UserConflict> {
        self.user_conflicts_in(model, &model.access_view(), user, now)
    }

    /// [`SodIndex::user_conflicts`] with the sessions in force already gathered,
    /// for callers that look at many users.
    pub fn user_conflicts_in(&self, model: &Model, view: &AccessView, user: &str, now: Timestamp) -> Vec<UserConflict> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let held = view.held_assignments_of(model, user);
        let assignments: &[Assignment] = &held;
        // The role set only changes at assignment boundaries: one situation per stretch between them.
        let mut starts: Vec<Timestamp> = vec![now];
        for a in assignments {
            starts.extend(a.valid_from.into_iter().chain(a.valid_to).filter(|t| *t > now));
        }
        starts.sort_unstable();
        starts.dedup();
        let mut orgs: Vec<Option<&str>> = vec![None];
        for a in assignments {
            orgs.extend(a.organizations.iter().map(|o| Some(o.as_str())));
        }
        orgs.sort_unstable();
        orgs.dedup();

        struct Found<'a> {
            roles: BTreeSet<&'a str>,
            global: bool,
            orgs: BTreeSet<&'a str>,
        }
        let mut found: FxHashMap<u32, Found> = FxHashMap::default();
        let (mut allow, mut deny) = (vec![0u64; self.words], vec![0u64; self.words]);
        let mut active: Vec<u32> = Vec::new();
        let mut hits = Vec::new();
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied();
            for &org in &orgs {
                active.clear();
                allow.fill(0);
                deny.fill(0);
                for a in assignments.iter().filter(|a| a.is_valid_at(start) && a.applies_to(org)) {
                    let Some(&id) = self.role_ids.get(&a.role) else { continue };
                    active.push(id);
                    for w in 0..self.words {
                        allow[w] |= self.allow[id as usize][w];
                        deny[w] |= self.deny[id as usize][w];
                    }
                }
                hits.clear();
                self.violated(&allow, &deny, start, end, &mut hits);
                for &r in &hits {
                    let rule = &self.rules[r as usize];
                    let entry = found.entry(r).or_insert_with(|| Found { roles: BTreeSet::new(), global: false, orgs: BTreeSet::new() });
                    match org {
                        None => entry.global = true,
                        Some(o) => drop(entry.orgs.insert(o)),
                    }
                    for &id in &active {
                        let mask = &self.allow[id as usize];
                        if get(mask, rule.first) || get(mask, rule.second) {
                            entry.roles.insert(self.role_names[id as usize].as_str());
                        }
                    }
                }
            }
        }
        let mut out: Vec<UserConflict> = found
            .into_iter()
            .map(|(r, f)| UserConflict {
                rule: self.rules[r as usize].name.clone(),
                roles: f.roles.into_iter().map(str::to_string).collect(),
                organizations: if f.global { Vec::new() } else { f.orgs.into_iter().map(str::to_string).collect() },
            })
            .collect();
        out.sort();
        out
    }

    /// Every user's conflicts from `now` on (the "Verify compliance of user-role assignments" batch).
    pub fn verify(&self, model: &Model, now: Timestamp) -> Vec<(String, UserConflict)> {
        let mut out = Vec::new();
        if self.rules.is_empty() {
            return out;
        }
        let view = model.access_view();
        for user in model.users.keys() {
            for c in self.user_conflicts_in(model, &view, user, now) {
                out.push((user.clone(), c));
            }
        }
        out
    }
}

fn compile(r: &SodRule, first: u32, second: u32) -> CompiledRule {
    CompiledRule { name: r.name.clone(), first, second, enabled: r.enabled, from: r.valid_from, to: r.valid_to }
}

/// The SoD semantics written as directly as possible: every user, every
/// organization, every instant at which anything changes. Slow on purpose.
pub mod reference {
    use super::UserConflict;
    use crate::flatten::privilege_closure;
    use std::collections::{BTreeSet, HashSet};
    use warden_model::{Model, Permission, SodRule, SodSide, Timestamp};

    fn role_holds_duty(model: &Model, role: &str, duty: &str) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![role];
        while let Some(name) = stack.pop() {
            if !seen.insert(name) {
                continue;
            }
            let Some(r) = model.roles.get(name) else { continue };
            if model.role_duties(r).any(|d| d == duty) {
                return true;
            }
            stack.extend(model.role_sub_roles(r));
        }
        false
    }

    /// What a role by itself says about a side: (holds or allows, denies).
    fn role_side(model: &Model, role: &str, side: &SodSide) -> (bool, bool) {
        match side {
            SodSide::Duty { duty } => (role_holds_duty(model, role, duty), false),
            SodSide::EntryPoint { entry_point, access } => {
                let (mut allow, mut deny) = (false, false);
                for p in privilege_closure(model, role).into_iter().filter_map(|p| model.privileges.get(p)) {
                    for g in p.entry_points.iter().filter(|g| g.key() == *entry_point) {
                        match g.grant.get(*access) {
                            Some(Permission::Allow) => allow = true,
                            Some(Permission::Deny) => deny = true,
                            None => {}
                        }
                    }
                }
                (allow, deny)
            }
        }
    }

    fn holds(model: &Model, roles: &[&str], side: &SodSide) -> bool {
        let (mut allow, mut deny) = (false, false);
        for r in roles {
            let (a, d) = role_side(model, r, side);
            allow |= a;
            deny |= d;
        }
        allow && !deny
    }

    fn active(rule: &SodRule, at: Timestamp) -> bool {
        rule.is_active_at(at)
    }

    /// [`super::SodIndex::user_conflicts`], naively.
    pub fn user_conflicts(model: &Model, user: &str, now: Timestamp) -> Vec<UserConflict> {
        let own: Vec<_> = model.assignments.iter().filter(|a| a.user == user).cloned().collect();
        let sessions: Vec<_> = model.temp_role_sessions.values().filter(|s| s.in_force() && s.user == user).collect();
        let mut instants: BTreeSet<Timestamp> = BTreeSet::from([now]);
        for a in &own {
            instants.extend(a.valid_from.into_iter().chain(a.valid_to).filter(|t| *t > now));
        }
        for s in &sessions {
            instants.extend([s.start, s.end].into_iter().filter(|t| *t > now));
        }
        // The roles held at an instant: a Replace session suspends the user's own.
        let held = |at: Timestamp| -> Vec<warden_model::Assignment> {
            let covering: Vec<_> = sessions.iter().filter(|s| s.start <= at && at < s.end).collect();
            let replaced = covering.iter().any(|s| s.session_type == warden_model::SessionType::Replace);
            let mut out: Vec<_> = if replaced { Vec::new() } else { own.iter().filter(|a| a.is_valid_at(at)).cloned().collect() };
            out.extend(covering.iter().flat_map(|s| s.assignments()));
            out
        };
        for r in model.sod_rules.values() {
            instants.extend(r.valid_from.into_iter().chain(r.valid_to).filter(|t| *t > now));
        }
        let orgs: Vec<Option<&str>> = std::iter::once(None).chain(model.organizations.keys().map(|o| Some(o.as_str()))).collect();
        let mut out = Vec::new();
        for rule in model.sod_rules.values() {
            let (mut global, mut found_orgs, mut roles) = (false, BTreeSet::new(), BTreeSet::new());
            for &at in &instants {
                if !active(rule, at) {
                    continue;
                }
                let here = held(at);
                for &org in &orgs {
                    let roles_here: Vec<&str> = here.iter().filter(|a| a.applies_to(org)).map(|a| a.role.as_str()).collect();
                    if holds(model, &roles_here, &rule.first) && holds(model, &roles_here, &rule.second) {
                        match org {
                            None => global = true,
                            Some(o) => drop(found_orgs.insert(o.to_string())),
                        }
                        for r in &roles_here {
                            if role_side(model, r, &rule.first).0 || role_side(model, r, &rule.second).0 {
                                roles.insert(r.to_string());
                            }
                        }
                    }
                }
            }
            if global || !found_orgs.is_empty() {
                out.push(UserConflict {
                    rule: rule.name.clone(),
                    roles: roles.into_iter().collect(),
                    organizations: if global { Vec::new() } else { found_orgs.into_iter().collect() },
                });
            }
        }
        out.sort();
        out
    }

    /// [`super::SodIndex::role_violations`], naively.
    pub fn role_violations(model: &Model, role: &str, now: Timestamp) -> Vec<String> {
        let mut out: Vec<String> = model
            .sod_rules
            .values()
            .filter(|r| {
                // In force at some instant from now on: now, or when its window opens.
                std::iter::once(now).chain(r.valid_from.filter(|f| *f > now)).any(|at| active(r, at))
            })
            .filter(|r| holds(model, &[role], &r.first) && holds(model, &[role], &r.second))
            .map(|r| r.name.clone())
            .collect();
        out.sort();
        out
    }
}
