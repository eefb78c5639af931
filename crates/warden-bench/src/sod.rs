//! The segregation-of-duties benchmark (`warden-bench sod`): on one generated
//! model and one set of generated rules, Warden's `SodIndex` (build, full
//! `verify`, the re-check of one user after an assignment) against the naive
//! per-user scan of [`crate::sod_naive`], with both checked against the
//! engine's reference semantics. See README.md, "Segregation of duties".

use crate::alloc;
use crate::report::{human_ns, ratio};
use crate::run::percentile;
use crate::sod_naive;
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use warden_engine::sod::reference;
use warden_engine::{SodIndex, UserConflict};
use warden_gen::{Scale, REFERENCE_INSTANT};
use warden_model::{Assignment, Model, Timestamp};

/// What to run.
#[derive(Debug, Clone)]
pub struct SodConfig {
    pub scale: Scale,
    pub seed: u64,
    /// Rules generated (`warden_gen::sod_rules`).
    pub rules: usize,
    /// Full verifications timed (the median is reported).
    pub verify_runs: usize,
    /// Users that get one extra assignment, each re-checked once.
    pub rechecks: usize,
    /// Users the naive scan checks (timed, then compared with the index).
    pub naive_sample: usize,
    /// Re-checked users the naive scan checks too.
    pub naive_rechecks: usize,
    /// Users compared with the reference semantics (slow: seconds each at d365).
    pub reference_sample: usize,
    /// Longest the naive scan (and its re-checks) may run; it stops early and says how far it got.
    pub budget: Duration,
    /// Longest the reference may run (on all cores); it stops early and says how far it got.
    pub reference_budget: Duration,
    pub verbose: bool,
}

impl SodConfig {
    pub fn new(scale: Scale) -> SodConfig {
        SodConfig {
            scale,
            seed: 42,
            rules: 1_000,
            verify_runs: 3,
            rechecks: 10_000,
            naive_sample: 2_000,
            naive_rechecks: 500,
            reference_sample: 40,
            budget: Duration::from_secs(120),
            reference_budget: Duration::from_secs(240),
            verbose: false,
        }
    }
}

/// Latency percentiles of one kind of per-user check, in nanoseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub count: usize,
    pub p50_ns: f64,
    pub p99_ns: f64,
    pub mean_ns: f64,
}

impl Latency {
    fn of(mut ns: Vec<f64>) -> Latency {
        ns.sort_by(f64::total_cmp);
        let mean = if ns.is_empty() { f64::NAN } else { ns.iter().sum::<f64>() / ns.len() as f64 };
        Latency { count: ns.len(), p50_ns: percentile(&ns, 0.5), p99_ns: percentile(&ns, 0.99), mean_ns: mean }
    }

    fn json(&self) -> Value {
        json!({"count": self.count, "p50_ns": num(self.p50_ns), "p99_ns": num(self.p99_ns), "mean_ns": num(self.mean_ns)})
    }
}

/// A user on whom the index and a yardstick differ.
#[derive(Debug, Clone)]
pub struct SodDisagreement {
    /// `naive` or `reference`.
    pub against: &'static str,
    pub user: String,
    /// Whether the user had the benchmark's extra assignment.
    pub reassigned: bool,
    pub index: String,
    pub other: String,
}

/// Everything one SoD run measured.
#[derive(Debug, Clone, Default)]
pub struct SodReport {
    pub scale: String,
    pub seed: u64,
    pub users: usize,
    pub roles: usize,
    pub assignments: usize,
    pub rules: usize,
    pub duty_rules: usize,
    pub entry_point_rules: usize,
    /// The instant the analysis starts from (`Timestamp` shown as text).
    pub now: String,
    pub generate_ms: f64,
    pub index_build_ms: f64,
    pub index_rss_mib: Option<f64>,
    pub index_heap_mib: f64,
    pub roles_violating: usize,
    /// Every full verification's wall time.
    pub verify_runs_ms: Vec<f64>,
    /// Median of `verify_runs_ms`.
    pub verify_ms: f64,
    /// (user, rule) conflicts found by the full verification.
    pub conflicts: usize,
    pub users_in_conflict: usize,
    /// The index's `user_conflicts` on the naive scan's users (same users, same model).
    pub index_per_user: Latency,
    /// The naive scan per user.
    pub naive_per_user: Latency,
    /// Whether the budget cut the naive sample short.
    pub naive_cut_by_budget: bool,
    /// `naive_per_user.mean × users`: the naive scan is not run over everyone.
    pub naive_verify_ms_estimated: f64,
    /// Re-check of one user after one added assignment.
    pub recheck: Latency,
    /// Re-checks whose user gained a conflict through the added assignment.
    pub recheck_new_conflicts: usize,
    pub naive_recheck: Latency,
    pub naive_compared: usize,
    pub naive_compared_in_conflict: usize,
    pub agreement_naive: f64,
    pub reference_compared: usize,
    pub reference_compared_in_conflict: usize,
    pub reference_per_user_ms: f64,
    pub reference_cut_by_budget: bool,
    pub agreement_reference: f64,
    pub disagreements: Vec<SodDisagreement>,
}

fn num(x: f64) -> Value {
    if x.is_finite() { json!((x * 1000.0).round() / 1000.0) } else { Value::Null }
}

fn say(config: &SodConfig, message: &str) {
    if config.verbose {
        eprintln!("[warden-bench sod] {message}");
    }
}

fn rule_names(conflicts: &[UserConflict]) -> BTreeSet<&str> {
    conflicts.iter().map(|c| c.rule.as_str()).collect()
}

/// SplitMix64: the samples only need to be deterministic and spread, and this
/// keeps the crate's dependencies (and Cargo.lock) as they were.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is negligible for n far below 2^64).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) < p * (1u64 << 53) as f64
    }
}

/// `count` distinct users drawn at random (a partial Fisher-Yates shuffle), in drawn order.
fn sample_users<'a>(rng: &mut Rng, users: &[&'a str], count: usize) -> Vec<&'a str> {
    let mut pool = users.to_vec();
    let count = count.min(pool.len());
    for i in 0..count {
        let j = i + rng.below(pool.len() - i);
        pool.swap(i, j);
    }
    pool.truncate(count);
    pool
}

/// The model with one more assignment for each of `users`: a role the user
/// does not hold yet, global (70%) or scoped to one organization (30%), no window.
fn with_one_more_assignment(model: &Model, users: &[&str], rng: &mut Rng) -> Model {
    let roles: Vec<&String> = model.roles.keys().collect();
    let orgs: Vec<&String> = model.organizations.keys().collect();
    let mut modified = model.clone();
    for user in users {
        let held: BTreeSet<&str> = model.assignments_of(user).iter().map(|a| a.role.as_str()).collect();
        let role = loop {
            let r = roles[rng.below(roles.len())];
            if !held.contains(r.as_str()) {
                break r;
            }
        };
        let mut a = Assignment::global(user.to_string(), role.clone());
        if !orgs.is_empty() && rng.chance(0.3) {
            a.organizations = vec![orgs[rng.below(orgs.len())].clone()];
        }
        modified.assignments.push(a);
    }
    modified
}

/// Generates the model and rules of `config` and runs the SoD benchmark on them.
pub fn run_sod(config: &SodConfig) -> Result<SodReport> {
    let started = Instant::now();
    say(config, &format!("generating the {} model (seed {}) and {} rules", config.scale, config.seed, config.rules));
    let mut model = warden_gen::generate(config.scale, config.seed);
    let rules = warden_gen::sod_rules(&model, config.rules, config.seed);
    model.sod_rules = rules.into_iter().map(|r| (r.name.clone(), r)).collect();
    let generate_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut report = run_sod_on(&model, REFERENCE_INSTANT, config)?;
    report.scale = config.scale.to_string();
    report.generate_ms = generate_ms;
    Ok(report)
}

/// [`run_sod`] on a given model (its rules included) at `now`.
pub fn run_sod_on(model: &Model, now: Timestamp, config: &SodConfig) -> Result<SodReport> {
    let mut rng = Rng(config.seed ^ 0x50d);
    let users: Vec<&str> = model.users.keys().map(String::as_str).collect();
    let mut r = SodReport {
        seed: config.seed,
        users: users.len(),
        roles: model.roles.len(),
        assignments: model.assignments.len(),
        rules: model.sod_rules.len(),
        duty_rules: model.sod_rules.values().filter(|r| matches!(r.first, warden_model::SodSide::Duty { .. })).count(),
        now: now.to_string(),
        ..SodReport::default()
    };
    r.entry_point_rules = r.rules - r.duty_rules;
    say(config, &format!("{} users, {} roles, {} assignments, {} rules", r.users, r.roles, r.assignments, r.rules));

    // 1. Build the index, with its heap counted and the RSS probed.
    alloc::trim();
    let rss_before = alloc::resident_kib();
    let t = Instant::now();
    let (index, heap) = alloc::measure(|| SodIndex::build(model));
    r.index_build_ms = t.elapsed().as_secs_f64() * 1e3;
    r.index_rss_mib = alloc::resident_kib().zip(rss_before).map(|(a, b)| (a as f64 - b as f64) / 1024.0);
    r.index_heap_mib = heap.retained as f64 / (1024.0 * 1024.0);
    r.roles_violating = index.roles_violating(now).len();
    say(config, &format!("index built in {:.1} ms; {} roles break a rule by themselves", r.index_build_ms, r.roles_violating));

    // 2. Full verification, timed `verify_runs` times.
    let mut verified = Vec::new();
    for _ in 0..config.verify_runs.max(1) {
        let t = Instant::now();
        verified = std::hint::black_box(index.verify(model, now));
        r.verify_runs_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut sorted = r.verify_runs_ms.clone();
    sorted.sort_by(f64::total_cmp);
    r.verify_ms = percentile(&sorted, 0.5);
    r.conflicts = verified.len();
    let in_conflict: BTreeSet<&str> = verified.iter().map(|(u, _)| u.as_str()).collect();
    r.users_in_conflict = in_conflict.len();
    say(config, &format!("verify: {:.0} ms (median of {}), {} conflicts, {} users", r.verify_ms, sorted.len(), r.conflicts, r.users_in_conflict));

    let mut disagreements = Vec::new();
    let mut naive_agree = 0usize;
    let mut naive_compared = 0usize;
    let mut naive_in_conflict = 0usize;
    let mut compare_naive = |user: &str, reassigned: bool, index_says: &[UserConflict], naive_says: &BTreeMap<String, BTreeSet<String>>| {
        let a = rule_names(index_says);
        let b: BTreeSet<&str> = naive_says.keys().map(String::as_str).collect();
        naive_compared += 1;
        naive_in_conflict += usize::from(!a.is_empty() || !b.is_empty());
        if a == b {
            naive_agree += 1;
        } else if disagreements.len() < 10 {
            disagreements.push(SodDisagreement {
                against: "naive",
                user: user.to_string(),
                reassigned,
                index: format!("{a:?}"),
                other: format!("{b:?}"),
            });
        }
    };

    // 3. The naive scan on a random sample, and the index on the same users.
    let sample = sample_users(&mut rng, &users, config.naive_sample);
    let (mut naive_ns, mut naive_results) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for user in &sample {
        let t = Instant::now();
        let found = std::hint::black_box(sod_naive::user_conflicts(model, user, now));
        naive_ns.push(t.elapsed().as_nanos() as f64);
        naive_results.push(found);
        if started.elapsed() > config.budget && naive_results.len() < sample.len() {
            r.naive_cut_by_budget = true;
            break;
        }
    }
    let mut index_ns = Vec::new();
    for (user, naive_says) in sample.iter().zip(&naive_results) {
        let t = Instant::now();
        let found = std::hint::black_box(index.user_conflicts(model, user, now));
        index_ns.push(t.elapsed().as_nanos() as f64);
        compare_naive(user, false, &found, naive_says);
    }
    r.naive_per_user = Latency::of(naive_ns);
    r.index_per_user = Latency::of(index_ns);
    r.naive_verify_ms_estimated = r.naive_per_user.mean_ns * r.users as f64 / 1e6;
    say(
        config,
        &format!(
            "naive scan: {} users, {:.0} µs per user, full scan ~{:.1} s (extrapolated)",
            r.naive_per_user.count,
            r.naive_per_user.mean_ns / 1e3,
            r.naive_verify_ms_estimated / 1e3
        ),
    );
    // Users in conflict are a minority: compare the naive scan on some of them too (untimed).
    let conflicting: Vec<&str> = in_conflict.iter().copied().collect();
    for user in sample_users(&mut rng, &conflicting, config.naive_sample / 4) {
        let naive_says = sod_naive::user_conflicts(model, user, now);
        compare_naive(user, false, &index.user_conflicts(model, user, now), &naive_says);
    }

    // 4. Re-check after one assignment: the index depends on roles and rules
    // only, so the re-check is `user_conflicts` on the model with the new assignment.
    let reassigned_users = sample_users(&mut rng, &users, config.rechecks);
    let modified = with_one_more_assignment(model, &reassigned_users, &mut rng);
    let mut recheck_ns = Vec::with_capacity(reassigned_users.len());
    for user in &reassigned_users {
        let t = Instant::now();
        std::hint::black_box(index.user_conflicts(&modified, user, now));
        recheck_ns.push(t.elapsed().as_nanos() as f64);
    }
    r.recheck = Latency::of(recheck_ns);
    r.recheck_new_conflicts = reassigned_users
        .iter()
        .filter(|u| rule_names(&index.user_conflicts(&modified, u, now)) != rule_names(&index.user_conflicts(model, u, now)))
        .count();
    let mut naive_recheck_ns = Vec::new();
    let started = Instant::now();
    for user in reassigned_users.iter().take(config.naive_rechecks) {
        let t = Instant::now();
        let naive_says = std::hint::black_box(sod_naive::user_conflicts(&modified, user, now));
        naive_recheck_ns.push(t.elapsed().as_nanos() as f64);
        compare_naive(user, true, &index.user_conflicts(&modified, user, now), &naive_says);
        if started.elapsed() > config.budget {
            break;
        }
    }
    r.naive_recheck = Latency::of(naive_recheck_ns);
    say(
        config,
        &format!(
            "re-check: {} users, p50 {:.1} µs, p99 {:.1} µs ({} gained a conflict); naive p50 {:.0} µs",
            r.recheck.count,
            r.recheck.p50_ns / 1e3,
            r.recheck.p99_ns / 1e3,
            r.recheck_new_conflicts,
            r.naive_recheck.p50_ns / 1e3
        ),
    );
    r.naive_compared = naive_compared;
    r.naive_compared_in_conflict = naive_in_conflict;
    r.agreement_naive = if naive_compared == 0 { f64::NAN } else { naive_agree as f64 / naive_compared as f64 };

    // 5. The reference semantics on a few users (seconds each at d365): half in
    // conflict, a quarter at random, a quarter re-checked users on the modified model.
    let n = config.reference_sample;
    let mut jobs: Vec<(&Model, &str, bool)> = Vec::new();
    jobs.extend(sample_users(&mut rng, &conflicting, n / 2).into_iter().map(|u| (model, u, false)));
    jobs.extend(sample_users(&mut rng, &users, n / 4).into_iter().map(|u| (model, u, false)));
    jobs.extend(reassigned_users.iter().take(n - jobs.len().min(n)).map(|u| (&modified, *u, true)));
    say(config, &format!("reference: {} users on all cores (budget {} s)", jobs.len(), config.reference_budget.as_secs()));
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let done: Vec<(usize, Vec<UserConflict>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let jobs = &jobs;
                s.spawn(move || {
                    let mut out = Vec::new();
                    for (i, (m, user, _)) in jobs.iter().enumerate().skip(k).step_by(threads) {
                        if started.elapsed() > config.reference_budget {
                            break;
                        }
                        out.push((i, reference::user_conflicts(m, user, now)));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    let elapsed = started.elapsed();
    r.reference_compared = done.len();
    r.reference_cut_by_budget = done.len() < jobs.len();
    r.reference_per_user_ms = if done.is_empty() { f64::NAN } else { elapsed.as_secs_f64() * 1e3 * threads as f64 / done.len() as f64 };
    let mut agree = 0;
    for (i, expected) in &done {
        let (m, user, reassigned) = jobs[*i];
        let got = index.user_conflicts(m, user, now);
        r.reference_compared_in_conflict += usize::from(!expected.is_empty() || !got.is_empty());
        if got == *expected {
            agree += 1;
        } else if disagreements.len() < 20 {
            disagreements.push(SodDisagreement {
                against: "reference",
                user: user.to_string(),
                reassigned,
                index: format!("{got:?}"),
                other: format!("{expected:?}"),
            });
        }
    }
    r.agreement_reference = if done.is_empty() { f64::NAN } else { agree as f64 / done.len() as f64 };
    r.disagreements = disagreements;
    say(config, &format!("reference: {} users compared in {:.0} s", r.reference_compared, elapsed.as_secs_f64()));
    Ok(r)
}

/// The target of the issue: full verify at d365 within 1 s, a re-check within 1 ms.
const VERIFY_TARGET_MS: f64 = 1_000.0;
const RECHECK_TARGET_NS: f64 = 1_000_000.0;

fn merge(into: &mut serde_json::Map<String, Value>, more: Value) {
    if let Value::Object(more) = more {
        into.extend(more);
    }
}

/// `{"scale": .., "users": .., "rules": .., "sod": {...}}`.
pub fn to_json(r: &SodReport) -> Value {
    let mut sod = serde_json::Map::new();
    // In three pieces: one json! this long exceeds the macro recursion limit.
    merge(&mut sod, json!({
            "duty_rules": r.duty_rules,
            "entry_point_rules": r.entry_point_rules,
            "index_build_ms": num(r.index_build_ms),
            "index_rss_mib": r.index_rss_mib.map_or(Value::Null, num),
            "index_heap_mib": num(r.index_heap_mib),
            "roles_violating": r.roles_violating,
            "verify_ms": num(r.verify_ms),
            "verify_runs_ms": r.verify_runs_ms.iter().map(|x| num(*x)).collect::<Vec<_>>(),
            "verify_target_met": r.verify_ms <= VERIFY_TARGET_MS,
            "conflicts": r.conflicts,
            "users_in_conflict": r.users_in_conflict
    }));
    merge(&mut sod, json!({
            "recheck_p50_ns": num(r.recheck.p50_ns),
            "recheck_p99_ns": num(r.recheck.p99_ns),
            "recheck": r.recheck.json(),
            "recheck_target_met": r.recheck.p99_ns <= RECHECK_TARGET_NS,
            "recheck_new_conflicts": r.recheck_new_conflicts,
            "index_per_user": r.index_per_user.json(),
            "naive_per_user_us": num(r.naive_per_user.mean_ns / 1e3),
            "naive_per_user": r.naive_per_user.json(),
            "naive_cut_by_budget": r.naive_cut_by_budget,
            "naive_verify_ms_estimated": num(r.naive_verify_ms_estimated),
            "verify_ratio_naive_over_index": num(r.naive_verify_ms_estimated / r.verify_ms),
            "per_user_ratio_naive_over_index": num(r.naive_per_user.mean_ns / r.index_per_user.mean_ns)
    }));
    merge(&mut sod, json!({
            "naive_recheck": r.naive_recheck.json(),
            "recheck_ratio_naive_over_index": num(r.naive_recheck.p50_ns / r.recheck.p50_ns),
            "agreement_naive": num(r.agreement_naive),
            "naive_compared": r.naive_compared,
            "naive_compared_in_conflict": r.naive_compared_in_conflict,
            "agreement_reference": num(r.agreement_reference),
            "reference_compared": r.reference_compared,
            "reference_compared_in_conflict": r.reference_compared_in_conflict,
            "reference_per_user_ms": num(r.reference_per_user_ms),
            "reference_cut_by_budget": r.reference_cut_by_budget,
            "disagreements": r.disagreements.iter().map(|d| json!({
                "against": d.against, "user": d.user, "reassigned": d.reassigned, "index": d.index, "other": d.other,
            })).collect::<Vec<_>>()
    }));
    json!({
        "scale": r.scale,
        "seed": r.seed,
        "users": r.users,
        "roles": r.roles,
        "assignments": r.assignments,
        "rules": r.rules,
        "now": r.now,
        "generate_ms": num(r.generate_ms),
        "sod": sod,
    })
}

/// The figures side by side, with the ratios and the targets.
pub fn to_table(r: &SodReport) -> String {
    let mut out = String::new();
    let ms = |x: f64| human_ns(x * 1e6);
    let _ = writeln!(
        out,
        "scale {}, seed {}: {} users, {} roles, {} assignments; {} rules ({} duty pairs, {} entry-point pairs); now {}\n",
        r.scale, r.seed, r.users, r.roles, r.assignments, r.rules, r.duty_rules, r.entry_point_rules, r.now
    );
    let _ = writeln!(
        out,
        "index build      {:>10}   RSS +{} MiB, heap {:.1} MiB; {} roles break a rule by themselves",
        ms(r.index_build_ms),
        r.index_rss_mib.map_or("-".to_string(), |x| format!("{x:.1}")),
        r.index_heap_mib,
        r.roles_violating
    );
    let _ = writeln!(out, "\n{:<28} {:>12} {:>12} {:>12}", "", "index", "naive", "naive/index");
    let _ = writeln!(
        out,
        "{:<28} {:>12} {:>12} {:>12}   {} conflicts, {} users in conflict; naive extrapolated from {} users{}; target ≤ 1 s: {}",
        "full verify (all users)",
        ms(r.verify_ms),
        ms(r.naive_verify_ms_estimated),
        ratio(r.naive_verify_ms_estimated / r.verify_ms),
        r.conflicts,
        r.users_in_conflict,
        r.naive_per_user.count,
        if r.naive_cut_by_budget { " (cut by the budget)" } else { "" },
        if r.verify_ms <= VERIFY_TARGET_MS { "met" } else { "NOT met" }
    );
    let _ = writeln!(
        out,
        "{:<28} {:>12} {:>12} {:>12}   mean, on the naive scan's {} users",
        "one user, mean",
        human_ns(r.index_per_user.mean_ns),
        human_ns(r.naive_per_user.mean_ns),
        ratio(r.naive_per_user.mean_ns / r.index_per_user.mean_ns),
        r.naive_per_user.count
    );
    let _ = writeln!(
        out,
        "{:<28} {:>12} {:>12} {:>12}   {} re-checks ({} naive); {} gained a conflict",
        "re-check after assign, p50",
        human_ns(r.recheck.p50_ns),
        human_ns(r.naive_recheck.p50_ns),
        ratio(r.naive_recheck.p50_ns / r.recheck.p50_ns),
        r.recheck.count,
        r.naive_recheck.count,
        r.recheck_new_conflicts
    );
    let _ = writeln!(
        out,
        "{:<28} {:>12} {:>12} {:>12}   target ≤ 1 ms: {}",
        "re-check after assign, p99",
        human_ns(r.recheck.p99_ns),
        human_ns(r.naive_recheck.p99_ns),
        ratio(r.naive_recheck.p99_ns / r.recheck.p99_ns),
        if r.recheck.p99_ns <= RECHECK_TARGET_NS { "met" } else { "NOT met" }
    );
    let runs: Vec<String> = r.verify_runs_ms.iter().map(|x| format!("{x:.0}")).collect();
    let _ = writeln!(out, "\nverify runs (ms): {}", runs.join(", "));
    let _ = writeln!(
        out,
        "agreement with the naive scan (rule names): {:.2}% of {} users ({} in conflict)",
        r.agreement_naive * 100.0,
        r.naive_compared,
        r.naive_compared_in_conflict
    );
    let _ = writeln!(
        out,
        "agreement with sod::reference (whole conflicts): {:.2}% of {} users ({} in conflict; {:.0} ms per user{})",
        r.agreement_reference * 100.0,
        r.reference_compared,
        r.reference_compared_in_conflict,
        r.reference_per_user_ms,
        if r.reference_cut_by_budget { ", cut by the budget" } else { "" }
    );
    if !r.disagreements.is_empty() {
        let _ = writeln!(out, "\nDISAGREEMENTS (first {}):", r.disagreements.len());
        for d in &r.disagreements {
            let _ = writeln!(
                out,
                "  {} user {}{}: index {} / {} {}",
                d.against,
                d.user,
                if d.reassigned { " (with the extra assignment)" } else { "" },
                d.index,
                d.against,
                d.other
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small scale: everything agrees, and the report is filled in (no timing asserted).
    #[test]
    fn small_run_agrees() {
        let mut config = SodConfig::new(Scale::Small);
        config.rules = 150;
        config.rechecks = 100;
        config.naive_sample = 60;
        config.naive_rechecks = 30;
        config.reference_sample = 12;
        config.verify_runs = 1;
        let r = run_sod(&config).unwrap();
        assert_eq!(r.rules, 150);
        assert!(r.conflicts > 0, "the generated rules should put someone in conflict");
        assert_eq!(r.agreement_naive, 1.0, "{:?}", r.disagreements);
        assert_eq!(r.agreement_reference, 1.0, "{:?}", r.disagreements);
        assert_eq!(r.reference_compared, 12);
        assert_eq!(r.recheck.count, 100);
        let json = to_json(&r);
        assert_eq!(json["sod"]["agreement_naive"], 1.0);
        assert!(to_table(&r).contains("full verify"));
    }
}
