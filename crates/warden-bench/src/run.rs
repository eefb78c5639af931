//! The harness: one model, one request stream, every engine built, timed and
//! compared in turn.

use crate::alloc;
use crate::engines::casbin::{CasbinEngine, Encoding as CasbinEncoding};
use crate::engines::cedar::{CedarEngine, Encoding};
use crate::engines::hashmap::HashMapEngine;
use crate::engines::warden::{Reference, Warden, WardenByName};
use crate::engines::Engine;
use anyhow::Result;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};
use warden_gen::{Request, Scale};
use warden_model::Model;

/// The engines the benchmark knows, in the order it runs them (small heaps
/// first, so that a big engine's freed pages do not hide a small one's RSS growth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    Warden,
    WardenByName,
    HashMap,
    Reference,
    Casbin,
    CasbinCached,
    Cedar,
    CedarSlots,
    CasbinFlat,
}

impl EngineKind {
    pub const ALL: [EngineKind; 9] = [
        EngineKind::Warden,
        EngineKind::WardenByName,
        EngineKind::HashMap,
        EngineKind::Reference,
        EngineKind::Casbin,
        EngineKind::CasbinCached,
        EngineKind::Cedar,
        EngineKind::CedarSlots,
        EngineKind::CasbinFlat,
    ];

    /// What a run does unless told otherwise: all but casbin_flat, an
    /// alternative encoding that spends a minute to show it is slower.
    pub const DEFAULT: [EngineKind; 8] = [
        EngineKind::Warden,
        EngineKind::WardenByName,
        EngineKind::HashMap,
        EngineKind::Reference,
        EngineKind::Casbin,
        EngineKind::CasbinCached,
        EngineKind::Cedar,
        EngineKind::CedarSlots,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            EngineKind::Warden => "warden",
            EngineKind::WardenByName => "warden_by_name",
            EngineKind::HashMap => "hashmap",
            EngineKind::Reference => "reference",
            EngineKind::Casbin => "casbin",
            EngineKind::CasbinCached => "casbin_cached",
            EngineKind::Cedar => "cedar",
            EngineKind::CedarSlots => "cedar_slots",
            EngineKind::CasbinFlat => "casbin_flat",
        }
    }

    /// Checks per timed batch: 1,000 for the sub-microsecond engines (one clock
    /// read per check would cost as much as the check), fewer for slow ones so
    /// that their sample still has enough batches for a p99.
    pub const fn batch(self) -> usize {
        match self {
            EngineKind::Warden | EngineKind::WardenByName | EngineKind::HashMap => 1_000,
            EngineKind::Cedar | EngineKind::CedarSlots => 100,
            EngineKind::Reference => 10,
            EngineKind::Casbin | EngineKind::CasbinCached | EngineKind::CasbinFlat => 1,
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        EngineKind::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            let names: Vec<&str> = EngineKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown engine {s:?}: expected one of {}", names.join(", "))
        })
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub scale: Scale,
    pub seed: u64,
    /// Requests in the stream; the fast engines check them all.
    pub checks: usize,
    /// Warden is compared with the reference evaluator over this many requests
    /// (the reference checks no more than these).
    pub agreement_sample: usize,
    /// Requests Cedar checks.
    pub cedar_checks: usize,
    /// Requests each casbin enforcer checks.
    pub casbin_sample: usize,
    /// No engine's timed loop runs (much) longer than this; a slow engine stops early and says how far it got.
    pub budget: Duration,
    /// Engines to run, in this order (duplicates ignored).
    pub engines: Vec<EngineKind>,
    /// Progress messages on stderr.
    pub verbose: bool,
}

impl Config {
    pub fn new(scale: Scale) -> Config {
        Config {
            scale,
            seed: 42,
            checks: 1_000_000,
            agreement_sample: 20_000,
            cedar_checks: 200_000,
            casbin_sample: 2_000,
            budget: Duration::from_secs(60),
            engines: EngineKind::DEFAULT.to_vec(),
            verbose: false,
        }
    }

    fn limit(&self, kind: EngineKind) -> usize {
        match kind {
            EngineKind::Warden | EngineKind::WardenByName | EngineKind::HashMap => self.checks,
            EngineKind::Reference => self.agreement_sample,
            EngineKind::Cedar | EngineKind::CedarSlots => self.cedar_checks,
            EngineKind::Casbin | EngineKind::CasbinCached | EngineKind::CasbinFlat => self.casbin_sample,
        }
    }
}

/// A request on which an engine and Warden differ, with the reference's answer
/// so that a reader sees at once which side is wrong.
#[derive(Debug, Clone)]
pub struct Disagreement {
    pub index: usize,
    pub request: Request,
    pub engine: bool,
    pub warden: bool,
    pub reference: bool,
}

/// One engine's figures.
#[derive(Debug, Clone)]
pub struct EngineResult {
    pub kind: EngineKind,
    pub build_ms: f64,
    /// Growth of the process's resident set over the build.
    pub rss_mib: Option<f64>,
    /// Heap bytes the build left allocated: the engine's own size.
    pub heap_mib: f64,
    /// The most heap the build held at once.
    pub heap_peak_mib: f64,
    pub batch: usize,
    /// Checks timed.
    pub timed: usize,
    /// Whether the time budget cut the sample short.
    pub cut_by_budget: bool,
    /// Median and 99th percentile of the per-check mean of each batch.
    pub p50_ns: f64,
    pub p99_ns: f64,
    pub checks_per_s: f64,
    /// Median, 99th and 99.9th percentile of single checks, each timed with the
    /// TSC (see [`Clock`]); `None` for engines timed one check per batch anyway
    /// or too slow for a second pass.
    pub each: Option<EachCheck>,
    /// Mean cost of converting a request into the engine's form (not in the figures above).
    pub prepare_ns: f64,
    /// Share of compared requests on which the engine decided as its yardstick did
    /// (the reference for Warden, Warden for the others).
    pub agreement: f64,
    /// Requests compared.
    pub sampled: usize,
    /// Requests on which the engine and its yardstick differ.
    pub disagreed: usize,
    pub disagreements: Vec<Disagreement>,
    /// Checks that failed inside the engine (denied).
    pub errors: usize,
}

/// Percentiles of single-check latencies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EachCheck {
    pub checks: usize,
    pub p50_ns: f64,
    pub p99_ns: f64,
    pub p999_ns: f64,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub scale: Scale,
    pub seed: u64,
    pub checks: usize,
    pub generate_ms: f64,
    /// Share of the stream Warden allows: the stream is doing its job between ~30% and ~50%.
    pub allowed_share: f64,
    pub engines: Vec<EngineResult>,
}

impl Report {
    pub fn engine(&self, kind: EngineKind) -> Option<&EngineResult> {
        self.engines.iter().find(|e| e.kind == kind)
    }
}

struct Timing {
    decisions: Vec<bool>,
    batch_ns: Vec<f64>,
    total: Duration,
    prepare: Duration,
    cut_by_budget: bool,
}

/// Runs `engine` over the first `limit` requests, `batch` at a time, under one
/// clock reading per batch. These are the slower engines, whose converted
/// requests are large (a Cedar `Request` with its `Context`): they are
/// converted a batch at a time, outside the clock. The sub-microsecond engines
/// are timed by [`time_in_turns`] instead.
fn time<E: Engine>(engine: &E, requests: &[Request], limit: usize, batch: usize, budget: Duration) -> Timing {
    let n = limit.min(requests.len());
    let batch = batch.max(1);
    let mut decisions = Vec::with_capacity(n);
    let mut batch_ns = Vec::with_capacity(n / batch + 1);
    let (mut total, mut prepare) = (Duration::ZERO, Duration::ZERO);
    let mut cut_by_budget = false;
    let started = Instant::now();
    for chunk in requests[..n].chunks(batch) {
        let t = Instant::now();
        let prepared: Vec<E::Prepared<'_>> = chunk.iter().map(|r| engine.prepare(r)).collect();
        prepare += t.elapsed();
        let t = Instant::now();
        for p in &prepared {
            decisions.push(engine.check(p));
        }
        let elapsed = t.elapsed();
        total += elapsed;
        batch_ns.push(elapsed.as_nanos() as f64 / chunk.len() as f64);
        if started.elapsed() > budget && decisions.len() < n {
            cut_by_budget = true;
            break;
        }
    }
    Timing { decisions, batch_ns, total, prepare, cut_by_budget }
}

/// A clock cheap enough to read around every check: the time-stamp counter on
/// x86_64 (fenced, so the check cannot drift across the reading), converted to
/// nanoseconds by calibrating against [`Instant`]; `Instant` itself elsewhere.
pub struct Clock {
    ns_per_tick: f64,
    overhead_ticks: u64,
}

impl Clock {
    #[inline(always)]
    fn ticks() -> u64 {
        #[cfg(target_arch = "x86_64")]
        #[allow(unused_unsafe)]
        // SAFETY: lfence and rdtsc have no preconditions on x86_64.
        unsafe {
            use std::arch::x86_64::{_mm_lfence, _rdtsc};
            _mm_lfence();
            let t = _rdtsc();
            _mm_lfence();
            t
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            START.get_or_init(Instant::now).elapsed().as_nanos() as u64
        }
    }

    pub fn calibrate() -> Clock {
        let (t0, k0) = (Instant::now(), Clock::ticks());
        while t0.elapsed() < Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        let (ns, k) = (t0.elapsed().as_nanos() as f64, Clock::ticks() - k0);
        let overhead_ticks = (0..1_000).map(|_| Clock::ticks().wrapping_neg().wrapping_add(Clock::ticks())).min().unwrap_or(0);
        Clock { ns_per_tick: ns / k.max(1) as f64, overhead_ticks }
    }

    fn ns(&self, ticks: u64) -> f64 {
        ticks.saturating_sub(self.overhead_ticks) as f64 * self.ns_per_tick
    }
}

/// Times each of the first `limit` checks on its own, for tail latencies that batch means smooth over.
fn time_each<E: Engine>(engine: &E, requests: &[Request], limit: usize, clock: &Clock) -> Option<EachCheck> {
    let n = limit.min(requests.len());
    if n == 0 {
        return None;
    }
    let mut each: Vec<f64> = Vec::with_capacity(n);
    for chunk in requests[..n].chunks(1_000) {
        let prepared: Vec<E::Prepared<'_>> = chunk.iter().map(|r| engine.prepare(r)).collect();
        for p in &prepared {
            let t = Clock::ticks();
            std::hint::black_box(engine.check(std::hint::black_box(p)));
            each.push(clock.ns(Clock::ticks() - t));
        }
    }
    each.sort_by(f64::total_cmp);
    Some(EachCheck {
        checks: n,
        p50_ns: percentile(&each, 0.50),
        p99_ns: percentile(&each, 0.99),
        p999_ns: percentile(&each, 0.999),
    })
}

/// Nearest-rank percentile of a sorted slice.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

const MIB: f64 = 1024.0 * 1024.0;

/// What building an engine cost.
struct Built {
    build_ms: f64,
    rss_mib: Option<f64>,
    heap_mib: f64,
    heap_peak_mib: f64,
}

/// Builds an engine under the heap counter and the RSS probe.
fn build_measured<E: Engine>(kind: EngineKind, build: impl FnOnce() -> Result<E>, config: &Config) -> Result<(E, Built)> {
    alloc::trim();
    let rss_before = alloc::resident_kib();
    let started = Instant::now();
    let (engine, heap) = alloc::measure(build);
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let engine = engine?;
    let rss_after = alloc::resident_kib();
    let rss_mib = match (rss_before, rss_after) {
        (Some(b), Some(a)) => Some((a as f64 - b as f64) / 1024.0),
        _ => None,
    };
    if config.verbose
        && let Some(d) = engine.describe()
    {
        eprintln!("[warden-bench] {kind}: {d}");
    }
    Ok((engine, Built { build_ms, rss_mib, heap_mib: heap.retained as f64 / MIB, heap_peak_mib: heap.peak as f64 / MIB }))
}

/// Builds an engine, then times it alone.
fn measure<E: Engine>(
    kind: EngineKind,
    build: impl FnOnce() -> Result<E>,
    requests: &[Request],
    config: &Config,
    clock: &Clock,
) -> Result<(EngineResult, Vec<bool>)> {
    let (engine, built) = build_measured(kind, build, config)?;
    let timing = time(&engine, requests, config.limit(kind), kind.batch(), config.budget);
    // A second pass, one check per clock reading, where batches hid the single checks.
    let each = match kind.batch() {
        100 => time_each(&engine, requests, timing.decisions.len().min(20_000), clock),
        _ => None,
    };
    let errors = engine.errors();
    drop(engine);
    Ok(result(kind, built, timing, each, errors))
}

fn result(kind: EngineKind, built: Built, timing: Timing, each: Option<EachCheck>, errors: usize) -> (EngineResult, Vec<bool>) {
    let mut sorted = timing.batch_ns.clone();
    sorted.sort_by(f64::total_cmp);
    let timed = timing.decisions.len();
    let result = EngineResult {
        kind,
        build_ms: built.build_ms,
        rss_mib: built.rss_mib,
        heap_mib: built.heap_mib,
        heap_peak_mib: built.heap_peak_mib,
        batch: kind.batch(),
        timed,
        cut_by_budget: timing.cut_by_budget,
        p50_ns: percentile(&sorted, 0.50),
        p99_ns: percentile(&sorted, 0.99),
        each,
        checks_per_s: if timing.total.is_zero() { f64::NAN } else { timed as f64 / timing.total.as_secs_f64() },
        prepare_ns: if timed == 0 { f64::NAN } else { timing.prepare.as_nanos() as f64 / timed as f64 },
        agreement: f64::NAN,
        sampled: 0,
        disagreed: 0,
        disagreements: Vec::new(),
        errors,
    };
    (result, timing.decisions)
}

/// Checks per round when the fast engines take turns.
const ROUND: usize = 100_000;
/// Checks run untimed before each round, so that a round does not pay for
/// bringing its engine's data back after the other engines' rounds.
const WARM_UP: usize = 30_000;
/// Single checks per round in the per-check pass.
const EACH_ROUND: usize = 20_000;

/// A fast engine with its whole stream converted, timed one round at a time.
trait Rounds {
    fn kind(&self) -> EngineKind;
    fn time_round(&mut self, range: std::ops::Range<usize>, warm_up: std::ops::Range<usize>);
    fn time_each_round(&mut self, range: std::ops::Range<usize>, clock: &Clock);
    fn finish(self: Box<Self>) -> (EngineResult, Vec<bool>);
}

struct FastRun<'r, E: Engine> {
    kind: EngineKind,
    engine: E,
    built: Built,
    prepared: Vec<E::Prepared<'r>>,
    timing: Timing,
    each: Vec<f64>,
}

impl<'r, E: Engine + 'r> FastRun<'r, E> {
    /// Builds the engine (measured) and converts the whole stream for it.
    fn boxed(kind: EngineKind, build: impl FnOnce() -> Result<E>, config: &Config, requests: &'r [Request]) -> Result<Box<dyn Rounds + 'r>> {
        let (engine, built) = build_measured(kind, build, config)?;
        Ok(Box::new(FastRun::new(kind, engine, built, requests)))
    }

    fn new(kind: EngineKind, engine: E, built: Built, requests: &'r [Request]) -> FastRun<'r, E> {
        let t = Instant::now();
        let prepared: Vec<E::Prepared<'r>> = requests.iter().map(|r| engine.prepare(r)).collect();
        let prepare = t.elapsed();
        let timing = Timing { decisions: Vec::with_capacity(requests.len()), batch_ns: Vec::new(), total: Duration::ZERO, prepare, cut_by_budget: false };
        FastRun { kind, engine, built, prepared, timing, each: Vec::new() }
    }
}

impl<E: Engine> Rounds for FastRun<'_, E> {
    fn kind(&self) -> EngineKind {
        self.kind
    }

    fn time_round(&mut self, range: std::ops::Range<usize>, warm_up: std::ops::Range<usize>) {
        for p in &self.prepared[warm_up] {
            std::hint::black_box(self.engine.check(p));
        }
        for chunk in self.prepared[range].chunks(self.kind.batch()) {
            let t = Instant::now();
            for p in chunk {
                self.timing.decisions.push(self.engine.check(p));
            }
            let elapsed = t.elapsed();
            self.timing.total += elapsed;
            self.timing.batch_ns.push(elapsed.as_nanos() as f64 / chunk.len() as f64);
        }
    }

    fn time_each_round(&mut self, range: std::ops::Range<usize>, clock: &Clock) {
        for p in &self.prepared[range] {
            let t = Clock::ticks();
            std::hint::black_box(self.engine.check(std::hint::black_box(p)));
            self.each.push(clock.ns(Clock::ticks() - t));
        }
    }

    fn finish(self: Box<Self>) -> (EngineResult, Vec<bool>) {
        let FastRun { kind, engine, built, prepared, timing, mut each } = *self;
        let errors = engine.errors();
        drop(prepared);
        drop(engine);
        each.sort_by(f64::total_cmp);
        let each = (!each.is_empty()).then(|| EachCheck {
            checks: each.len(),
            p50_ns: percentile(&each, 0.50),
            p99_ns: percentile(&each, 0.99),
            p999_ns: percentile(&each, 0.999),
        });
        result(kind, built, timing, each, errors)
    }
}

/// Times the fast engines taking turns, [`ROUND`] checks each, over the same
/// stretch of the stream, and alternating which goes first. On a shared
/// machine the speed of memory changes from one second to the next; taking
/// turns gives every engine the same conditions, so that their ratios hold
/// even when the absolute figures move.
fn time_in_turns(runs: &mut [Box<dyn Rounds + '_>], n: usize, clock: &Clock) {
    for start in (0..n).step_by(ROUND) {
        let range = start..(start + ROUND).min(n);
        // The checks just before the round (wrapping round to the end of the stream).
        let warm_up = if start >= WARM_UP { start - WARM_UP..start } else { n.saturating_sub(WARM_UP)..n };
        for run in runs.iter_mut() {
            run.time_round(range.clone(), warm_up.clone());
        }
        // Whoever went last goes first next time.
        runs.reverse();
    }
    let each_n = n.min(200_000);
    for start in (0..each_n).step_by(EACH_ROUND) {
        let range = start..(start + EACH_ROUND).min(each_n);
        for run in runs.iter_mut() {
            run.time_each_round(range.clone(), clock);
        }
        runs.reverse();
    }
}

/// The reference evaluator's decisions, computed on all cores (it takes
/// milliseconds per check at D365 size: it scans every assignment).
fn reference_decisions(model: &Model, requests: &[Request]) -> Vec<bool> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = requests.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = requests
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let e = Reference { model };
                    part.iter().map(|r| e.check(&r)).collect::<Vec<bool>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// Generates the model and stream of `config`, runs every selected engine, and
/// compares each one's decisions with its yardstick.
pub fn run(config: &Config) -> Result<Report> {
    let started = Instant::now();
    say(config, &format!("generating the {} model (seed {})", config.scale, config.seed));
    let model = warden_gen::generate(config.scale, config.seed);
    let generate_ms = started.elapsed().as_secs_f64() * 1e3;
    say(
        config,
        &format!(
            "model: {} roles, {} duties, {} privileges, {} entry points, {} users, {} assignments ({:.1} s)",
            model.roles.len(),
            model.duties.len(),
            model.privileges.len(),
            model.entry_points.len(),
            model.users.len(),
            model.assignments.len(),
            generate_ms / 1e3
        ),
    );
    let requests = warden_gen::requests(&model, config.checks, config.seed);
    say(config, &format!("{} requests", requests.len()));
    let mut report = run_on(&model, &requests, config)?;
    report.generate_ms = generate_ms;
    Ok(report)
}

fn say(config: &Config, message: &str) {
    if config.verbose {
        eprintln!("[warden-bench] {message}");
    }
}

/// [`run`] on a given model and request stream (a hand-made model in a test, say).
/// `config.scale` and `config.seed` are only copied into the report.
pub fn run_on(model: &Model, requests: &[Request], config: &Config) -> Result<Report> {
    let say = |m: &str| say(config, m);
    // Warden's decisions on the whole stream: the yardstick for every peer.
    let baseline: Vec<bool> = {
        let warden = Warden::build(model);
        requests.iter().map(|r| warden.check(&warden.prepare(r))).collect()
    };
    let allowed_share = baseline.iter().filter(|d| **d).count() as f64 / baseline.len().max(1) as f64;
    say(&format!("Warden allows {:.1}% of the stream", allowed_share * 100.0));

    let clock = Clock::calibrate();
    let mut results: Vec<(EngineResult, Vec<bool>)> = Vec::new();
    let mut order: Vec<EngineKind> = Vec::new();
    for kind in &config.engines {
        if !order.contains(kind) {
            order.push(*kind);
        }
    }
    // The sub-microsecond engines are built one by one, then timed taking turns.
    let fast: Vec<EngineKind> = order.iter().copied().filter(|k| k.batch() >= 1_000).collect();
    if !fast.is_empty() {
        let n = requests.len().min(config.checks);
        let mut runs: Vec<Box<dyn Rounds + '_>> = Vec::new();
        for &kind in &fast {
            say(&format!("{kind}: building"));
            let stream = &requests[..n];
            runs.push(match kind {
                EngineKind::Warden => FastRun::boxed(kind, || Ok(Warden::build(model)), config, stream)?,
                EngineKind::WardenByName => FastRun::boxed(kind, || Ok(WardenByName::build(model)), config, stream)?,
                EngineKind::HashMap => FastRun::boxed(kind, || Ok(HashMapEngine::build(model)), config, stream)?,
                other => unreachable!("{other} is not timed in turns"),
            });
        }
        say(&format!("{}: timing in turns of {ROUND} checks", fast.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")));
        time_in_turns(&mut runs, n, &clock);
        for run in runs {
            let kind = run.kind();
            let (result, decisions) = run.finish();
            say(&format!("{kind}: built in {:.0} ms; {} checks timed; p50 {:.0} ns", result.build_ms, result.timed, result.p50_ns));
            results.push((result, decisions));
        }
    }
    for kind in order.into_iter().filter(|k| k.batch() < 1_000) {
        say(&format!("{kind}: building"));
        let (result, decisions) = match kind {
            EngineKind::Warden | EngineKind::WardenByName | EngineKind::HashMap => unreachable!("{kind} is timed in turns"),
            EngineKind::Reference => measure(kind, || Ok(Reference { model }), requests, config, &clock)?,
            EngineKind::Casbin => {
                measure(kind, || CasbinEngine::<casbin::Enforcer>::build(model, CasbinEncoding::Hierarchy), requests, config, &clock)?
            }
            EngineKind::CasbinCached => measure(
                kind,
                || CasbinEngine::<casbin::CachedEnforcer>::build(model, CasbinEncoding::Hierarchy),
                requests,
                config,
                &clock,
            )?,
            EngineKind::CasbinFlat => {
                measure(kind, || CasbinEngine::<casbin::Enforcer>::build(model, CasbinEncoding::Flat), requests, config, &clock)?
            }
            EngineKind::Cedar => measure(kind, || CedarEngine::build(model, Encoding::Split), requests, config, &clock)?,
            EngineKind::CedarSlots => measure(kind, || CedarEngine::build(model, Encoding::Slots), requests, config, &clock)?,
        };
        say(&format!(
            "{kind}: built in {:.0} ms; {} checks timed{}; p50 {:.0} ns",
            result.build_ms,
            result.timed,
            if result.cut_by_budget { " (cut by the time budget)" } else { "" },
            result.p50_ns
        ));
        results.push((result, decisions));
    }
    // Report in the order asked for.
    results.sort_by_key(|(r, _)| config.engines.iter().position(|k| *k == r.kind));

    // The reference's decisions on the agreement sample: from its own (timed,
    // possibly budget-cut) run, the rest computed now on every core.
    let mut reference: Vec<bool> =
        results.iter().find(|(r, _)| r.kind == EngineKind::Reference).map(|(_, d)| d.clone()).unwrap_or_default();
    let wanted = config.agreement_sample.min(requests.len());
    if reference.len() < wanted {
        say(&format!("computing the reference's decisions on requests {}..{wanted} for Warden's agreement", reference.len()));
        reference.extend(reference_decisions(model, &requests[reference.len()..wanted]));
    }
    let reference_of = |i: usize, r: &Request| -> bool {
        match reference.get(i) {
            Some(d) => *d,
            None => Reference { model }.check(&r),
        }
    };

    let mut engines = Vec::new();
    for (mut result, decisions) in results {
        // Warden answers to the reference; everyone else (the reference too) to Warden.
        let yardstick: &[bool] = match result.kind {
            EngineKind::Warden | EngineKind::WardenByName => &reference,
            _ => &baseline,
        };
        let n = decisions.len().min(yardstick.len());
        let mut agree = 0;
        for i in 0..n {
            if decisions[i] == yardstick[i] {
                agree += 1;
            } else if result.disagreements.len() < 10 {
                result.disagreements.push(Disagreement {
                    index: i,
                    request: requests[i].clone(),
                    engine: decisions[i],
                    warden: baseline[i],
                    reference: reference_of(i, &requests[i]),
                });
            }
        }
        result.sampled = n;
        result.disagreed = n - agree;
        result.agreement = if n == 0 { f64::NAN } else { agree as f64 / n as f64 };
        engines.push(result);
    }
    Ok(Report { scale: config.scale, seed: config.seed, checks: requests.len(), generate_ms: 0.0, allowed_share, engines })
}
