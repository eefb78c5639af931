//! What the benchmark will write, planned in-process on the very model that
//! `warden gen` writes (same generator, same seed), so that every write is
//! known beforehand to be accepted and every read-your-writes check to flip:
//! a refused write or a check that could not tell would measure nothing.

use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeSet;
use warden_engine::{role_permissions, Decision, Index, SodIndex};
use warden_gen::Scale;
use warden_model::{Access, AccessView, Assignment, EntryPointKey, Model, SodSide, Timestamp};

/// A role to give a user (globally) and take back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub user: String,
    pub role: String,
}

/// A pair with a check that the role alone decides for that user: deny
/// without it, allow with it (at any time, in no organization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub pair: Pair,
    /// `TYPE/NAME`.
    pub entry_point: String,
    /// Lower case, as the API spells it.
    pub access: String,
}

/// One `POST /check` body.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckBody {
    pub user: String,
    pub entry_point: String,
    pub access: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// RFC 3339; none: now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// How much to plan.
#[derive(Debug, Clone)]
pub struct PlanSizes {
    /// Probes for the single-client phase (reused round robin beyond that).
    pub probes: usize,
    /// Probes for the one-shot command line (used once each per store).
    pub cli_probes: usize,
    /// Concurrent writers; the remaining users are dealt out among them.
    pub clients: usize,
    /// Users the edited role should reach (topped up with extra assignments).
    pub holders: usize,
    /// Duties to take turns adding to that role.
    pub duties: usize,
    /// `POST /check` bodies.
    pub checks: usize,
}

/// Everything the phases need, as names: the model itself is dropped.
#[derive(Debug, Clone)]
pub struct Plan {
    pub probes: Vec<Probe>,
    pub cli_probes: Vec<Probe>,
    /// One list per concurrent writer, disjoint users.
    pub partitions: Vec<Vec<Pair>>,
    /// The role whose duties are edited, and how many users hold it (directly or through a parent role).
    pub edited_role: String,
    pub edited_role_holders: usize,
    /// Duties that no SoD rule touches and the role does not hold.
    pub duties: Vec<String>,
    /// Imported after the generated assignments so that the edited role reaches `holders` users.
    pub extra_assignments: Vec<Assignment>,
    pub checks: Vec<CheckBody>,
    pub sod_rules: usize,
    pub users: usize,
    pub roles: usize,
    pub assignments: usize,
}

/// Regenerates the model `warden gen --scale SCALE --seed SEED` writes, with
/// the `rules` SoD rules it writes (`sod-rules.csv` has that many rows), and plans on it.
pub fn plan(scale: Scale, seed: u64, rules: usize, sizes: &PlanSizes) -> Plan {
    let mut model = warden_gen::generate(scale, seed);
    for r in warden_gen::sod_rules(&model, rules, seed) {
        model.sod_rules.insert(r.name.clone(), r);
    }
    let now = Timestamp::now();

    let (edited_role, extra_assignments, edited_role_holders) = top_up_holders(&model, sizes.holders, seed);
    model.assignments.extend(extra_assignments.iter().cloned());
    let duties = free_duties(&model, &edited_role, sizes.duties);

    let pairs = safe_pairs(&model, seed, now);
    // Probes take at most half the users: the writers need theirs.
    let probe_users = pairs.len() / 2;
    let (probes, rest) = find_probes(&model, pairs, (sizes.probes + sizes.cli_probes).min(probe_users), probe_users, now);
    let (cli_probes, probes) = split_at_most(probes, sizes.cli_probes);
    let clients = sizes.clients.max(1);
    let mut partitions = vec![Vec::new(); clients];
    for (i, p) in rest.into_iter().enumerate() {
        partitions[i % clients].push(p);
    }

    // `warden gen` writes service operations and data entities only where a
    // privilege grants them (menu items have files of their own), so the
    // store knows no others: checks stay with the entry points it knows.
    let granted: FxHashSet<EntryPointKey> = model.privileges.values().flat_map(|p| p.entry_points.iter().map(|g| g.key())).collect();
    let checks = warden_gen::requests(&model, sizes.checks.saturating_mul(2), seed)
        .into_iter()
        .filter(|r| r.entry_point.kind.is_menu_item() || granted.contains(&r.entry_point))
        .take(sizes.checks)
        .map(|r| CheckBody {
            user: r.user,
            entry_point: r.entry_point.to_string(),
            access: access_name(r.access),
            org: r.org,
            at: Some(r.at.to_string()),
        })
        .collect();
    Plan {
        probes,
        cli_probes,
        partitions,
        edited_role,
        edited_role_holders,
        duties,
        extra_assignments,
        checks,
        sod_rules: model.sod_rules.len(),
        users: model.users.len(),
        roles: model.roles.len(),
        assignments: model.assignments.len(),
    }
}

pub fn access_name(a: Access) -> String {
    a.as_str().to_ascii_lowercase()
}

fn split_at_most<T>(mut v: Vec<T>, n: usize) -> (Vec<T>, Vec<T>) {
    let tail = v.split_off(n.min(v.len()));
    (v, tail)
}

/// A deterministic shuffle (splitmix64), so that runs with one seed write the same pairs.
fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..v.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Per role, the roles it includes through sub-roles (itself included).
fn closures(model: &Model) -> FxHashMap<&str, Vec<&str>> {
    let mut out = FxHashMap::default();
    for name in model.roles.keys() {
        let mut seen: Vec<&str> = Vec::new();
        let mut stack = vec![name.as_str()];
        while let Some(r) = stack.pop() {
            if seen.contains(&r) {
                continue;
            }
            seen.push(r);
            if let Some(role) = model.roles.get(r) {
                stack.extend(model.role_sub_roles(role));
            }
        }
        out.insert(name.as_str(), seen);
    }
    out
}

/// The role most users hold (directly or through a parent role), and the
/// global assignments of it to further users that bring it to `target`
/// holders: generated roles are held by a few hundred users each, and the
/// issue's case is a role held by thousands.
pub(crate) fn top_up_holders(model: &Model, target: usize, seed: u64) -> (String, Vec<Assignment>, usize) {
    let closures = closures(model);
    let mut holders: FxHashMap<&str, FxHashSet<&str>> = FxHashMap::default();
    for a in &model.assignments {
        for r in closures.get(a.role.as_str()).into_iter().flatten() {
            holders.entry(r).or_default().insert(a.user.as_str());
        }
    }
    let Some((role, held)) = holders.iter().max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0))) else {
        return (String::new(), Vec::new(), 0);
    };
    let mut others: Vec<&str> = model.users.keys().map(String::as_str).filter(|u| !held.contains(u)).collect();
    shuffle(&mut others, seed ^ 1);
    let extra: Vec<Assignment> = others.into_iter().take(target.saturating_sub(held.len())).map(|u| Assignment::global(u, *role)).collect();
    let count = held.len() + extra.len();
    (role.to_string(), extra, count)
}

/// Duties that no SoD rule names, none of whose privileges reaches an entry
/// point a rule names, and that `role` does not hold: adding one to the role
/// can be refused by no rule.
fn free_duties(model: &Model, role: &str, wanted: usize) -> Vec<String> {
    let mut ruled_duties: FxHashSet<&str> = FxHashSet::default();
    let mut ruled_eps: FxHashSet<&EntryPointKey> = FxHashSet::default();
    for r in model.sod_rules.values() {
        for side in [&r.first, &r.second] {
            match side {
                SodSide::Duty { duty } => {
                    ruled_duties.insert(duty.as_str());
                }
                SodSide::EntryPoint { entry_point, .. } => {
                    ruled_eps.insert(entry_point);
                }
            }
        }
    }
    let held: BTreeSet<&str> = model.roles.get(role).map(|r| model.role_duties(r).collect()).unwrap_or_default();
    model
        .duties
        .values()
        .filter(|d| !ruled_duties.contains(d.name.as_str()) && !held.contains(d.name.as_str()))
        .filter(|d| {
            model
                .duty_privileges(d)
                .filter_map(|p| model.privileges.get(p))
                .flat_map(|p| p.entry_points.iter())
                .all(|g| !ruled_eps.contains(&g.key()))
        })
        .take(wanted)
        .map(|d| d.name.clone())
        .collect()
}

/// One pair per enabled user (shuffled) where one can be found: a role the
/// user does not hold and whose global assignment makes the user break no
/// SoD rule the user does not break already. The conflicts register holds
/// those (the rule import recorded them), so the write path checks SoD and
/// finds nothing to refuse: it refuses a direct assignment only for a
/// conflict not yet registered. A user refused one role tries others, up
/// to [`ROLE_TRIES`].
fn safe_pairs(model: &Model, seed: u64, now: Timestamp) -> Vec<Pair> {
    let roles: Vec<&str> = model.roles.keys().map(String::as_str).collect();
    if roles.is_empty() {
        return Vec::new();
    }
    let mut users: Vec<&str> = model.users.values().filter(|u| u.enabled).map(|u| u.id.as_str()).collect();
    shuffle(&mut users, seed ^ 2);
    let sod = SodIndex::build(model);
    let view = model.access_view();
    let rules = |m: &Model, v: &AccessView, user: &str| -> BTreeSet<String> { sod.user_conflicts_in(m, v, user, now).into_iter().map(|c| c.rule).collect() };
    // Per user: the roles not held, from a per-user offset.
    let untried: Vec<Vec<&str>> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let held: Vec<&str> = model.assignments_of(u).iter().map(|a| a.role.as_str()).collect();
            let start = (i.wrapping_mul(7919) + seed as usize) % roles.len();
            (0..roles.len()).map(|k| roles[(start + k) % roles.len()]).filter(|r| !held.contains(r)).take(ROLE_TRIES).collect()
        })
        .collect();
    let mut found: Vec<Option<Pair>> = vec![None; users.len()];
    for attempt in 0..ROLE_TRIES {
        let trying: Vec<usize> = (0..users.len()).filter(|&i| found[i].is_none() && attempt < untried[i].len()).collect();
        if trying.is_empty() {
            break;
        }
        let mut after = model.clone();
        after.assignments.extend(trying.iter().map(|&i| Assignment::global(users[i], untried[i][attempt])));
        let view_after = after.access_view();
        for i in trying {
            if rules(&after, &view_after, users[i]).is_subset(&rules(model, &view, users[i])) {
                found[i] = Some(Pair { user: users[i].to_string(), role: untried[i][attempt].to_string() });
            }
        }
    }
    found.into_iter().flatten().collect()
}

/// Roles tried per user before giving the user up.
const ROLE_TRIES: usize = 8;

/// The first `wanted` pairs (among the first `most`) for which some access
/// that the role grants is denied to the user without it and allowed with
/// it; the rest of the pairs come back untouched, in order.
fn find_probes(model: &Model, pairs: Vec<Pair>, wanted: usize, most: usize, now: Timestamp) -> (Vec<Probe>, Vec<Pair>) {
    let candidates = most.min(wanted.saturating_mul(4).max(wanted + 16));
    let (head, tail) = split_at_most(pairs, candidates);
    let mut after = model.clone();
    after.assignments.extend(head.iter().map(|p| Assignment::global(p.user.as_str(), p.role.as_str())));
    let (before_index, after_index) = (Index::build(model), Index::build(&after));
    let mut probes = Vec::new();
    let mut rest = Vec::new();
    for pair in head {
        let found = (probes.len() < wanted).then(|| probe_of(model, &before_index, &after_index, &pair, now)).flatten();
        match found {
            Some((ep, access)) => probes.push(Probe { pair, entry_point: ep.to_string(), access: access_name(access) }),
            None => rest.push(pair),
        }
    }
    rest.extend(tail);
    (probes, rest)
}

fn probe_of(model: &Model, before: &Index, after: &Index, pair: &Pair, now: Timestamp) -> Option<(EntryPointKey, Access)> {
    let (user_before, user_after) = (before.user(&pair.user)?, after.user(&pair.user)?);
    for permission in role_permissions(model, &pair.role).into_iter().take(500) {
        for access in permission.effective().iter() {
            let (Some(ep_before), Some(ep_after)) = (before.entry_point(&permission.entry_point), after.entry_point(&permission.entry_point)) else {
                continue;
            };
            if before.check(user_before, ep_before, access, None, now) == Decision::Deny && after.check(user_after, ep_after, access, None, now) == Decision::Allow {
                return Some((permission.entry_point, access));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes() -> PlanSizes {
        PlanSizes { probes: 10, cli_probes: 2, clients: 4, holders: 120, duties: 3, checks: 50 }
    }

    #[test]
    fn the_plan_is_deterministic_and_its_users_do_not_overlap() {
        let a = plan(Scale::Small, 7, 20, &sizes());
        let b = plan(Scale::Small, 7, 20, &sizes());
        assert_eq!(a.probes, b.probes);
        assert_eq!(a.partitions, b.partitions);
        assert_eq!(a.probes.len(), 10);
        assert_eq!(a.cli_probes.len(), 2);
        let mut users = BTreeSet::new();
        let all = a.probes.iter().chain(&a.cli_probes).map(|p| &p.pair).chain(a.partitions.iter().flatten());
        for p in all {
            assert!(users.insert(p.user.clone()), "{} planned twice", p.user);
        }
        assert!(a.partitions.iter().all(|p| !p.is_empty()));
    }

    #[test]
    fn the_default_sizes_leave_users_to_every_writer_at_small_scale() {
        let sizes = PlanSizes { probes: 200, cli_probes: 5, clients: 16, holders: 5_000, duties: 4, checks: 100 };
        for seed in [42, 7] {
            let p = plan(Scale::Small, seed, 20, &sizes);
            assert_eq!(p.cli_probes.len(), 5, "seed {seed}");
            assert!(p.probes.len() >= 10, "seed {seed}: {} probes", p.probes.len());
            assert!(p.partitions.iter().all(|w| w.len() >= 3), "seed {seed}: {:?}", p.partitions.iter().map(Vec::len).collect::<Vec<_>>());
            // Every user holds the role at most: 200 users.
            assert_eq!(p.edited_role_holders, 200);
        }
    }

    #[test]
    fn the_edited_role_reaches_the_wanted_holders_and_its_duties_are_new() {
        let p = plan(Scale::Small, 7, 20, &sizes());
        assert_eq!(p.edited_role_holders, 120);
        assert!(!p.duties.is_empty());
        let model = warden_gen::generate(Scale::Small, 7);
        let role = &model.roles[&p.edited_role];
        for d in &p.duties {
            assert!(!role.duties.contains(d), "{d} is held already");
        }
        assert!(p.extra_assignments.iter().all(|a| a.role == p.edited_role && model.assignments_of(&a.user).iter().all(|b| b.role != a.role)));
    }

    #[test]
    fn a_probe_flips_with_its_role_alone() {
        let p = plan(Scale::Small, 7, 20, &sizes());
        let mut model = warden_gen::generate(Scale::Small, 7);
        model.assignments.extend(p.extra_assignments.iter().cloned());
        let now = Timestamp::now();
        for probe in &p.probes {
            let ep: EntryPointKey = probe.entry_point.parse().expect("TYPE/NAME");
            let access: Access = probe.access.parse().expect("an access");
            let before = warden_engine::reference::check(&model, &probe.pair.user, &ep, access, None, now);
            let mut after = model.clone();
            after.assignments.push(Assignment::global(probe.pair.user.as_str(), probe.pair.role.as_str()));
            let now_allowed = warden_engine::reference::check(&after, &probe.pair.user, &ep, access, None, now);
            assert_eq!((before, now_allowed), (Decision::Deny, Decision::Allow), "{probe:?}");
        }
    }
}
