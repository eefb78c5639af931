//! What a `writes` run measured: the raw figures of both servers (JSON), and
//! one table of the issue's targets with the two side by side.

use serde::Serialize;
use std::fmt::Write as _;

/// Latencies of one kind of request, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latencies {
    pub count: usize,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    /// Every sample, in the order taken.
    pub samples_ms: Vec<f64>,
}

impl Latencies {
    pub fn of(samples_ms: Vec<f64>) -> Latencies {
        let mut sorted = samples_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let q = |q: f64| (!sorted.is_empty()).then(|| crate::run::percentile(&sorted, q));
        Latencies {
            count: sorted.len(),
            p50_ms: q(0.50),
            p90_ms: q(0.90),
            p99_ms: q(0.99),
            max_ms: sorted.last().copied(),
            mean_ms: (!sorted.is_empty()).then(|| sorted.iter().sum::<f64>() / sorted.len() as f64),
            samples_ms,
        }
    }
}

/// Read-your-writes: a check right after a write's answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReadYourWrites {
    /// Checks made right after an assignment (must allow) or a revocation (must deny).
    pub checked: u64,
    /// Checks that did not see the write just answered.
    pub violations: u64,
    /// Probes skipped because the check before the write already allowed (nothing to see).
    pub unusable: u64,
}

/// 16 clients writing at once, each on its own users.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Concurrent {
    pub clients: usize,
    pub duration_s: f64,
    /// Successful writes answered within the window.
    pub committed: u64,
    pub writes_per_s: f64,
    /// Every request answered (failures included, time-outs at the client's limit).
    pub latency: Latencies,
    pub assigns: u64,
    pub revokes: u64,
    pub conflicts_409: u64,
    /// Other non-2xx answers.
    pub other_status: u64,
    /// No answer: connection errors and time-outs.
    pub failed: u64,
    /// Requests in flight at the end of the window, answered later (not counted above).
    pub late: u64,
}

/// Adding a duty to (and removing it from) one role.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RoleEdits {
    pub add: Latencies,
    pub remove: Latencies,
    pub errors: u64,
}

/// The server's resident set after so many writes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RssReading {
    /// Writes since the memory phase began.
    pub writes: u64,
    /// Writes in the whole run (earlier phases included).
    pub total_writes: u64,
    pub rss_mib: f64,
    /// Since the memory phase began.
    pub elapsed_s: f64,
}

/// Resident set after N/2 and N writes of the memory phase (assign and
/// revoke in turns, so that the model's size stays the same).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Memory {
    /// N.
    pub target_writes: u64,
    pub clients: usize,
    pub at_ready_mib: Option<f64>,
    pub half: Option<RssReading>,
    pub full: Option<RssReading>,
    pub peak_mib: Option<f64>,
    pub errors: u64,
}

/// Everything measured on one server.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerFigures {
    pub name: String,
    /// Environment it ran with beyond the admin password (`WARDEN_WRITE_PATH=reload`).
    pub env: Vec<String>,
    /// First start: installs the built-in model and the bootstrap administrator.
    pub first_start_s: f64,
    /// A restart on the same store, from spawn to `/readyz` answering 200.
    pub start_to_ready_s: f64,
    pub assign: Latencies,
    pub revoke: Latencies,
    pub single_errors: u64,
    pub read_your_writes: ReadYourWrites,
    pub concurrent: Concurrent,
    pub check_idle: Latencies,
    pub check_under_writes: Latencies,
    pub check_errors: u64,
    pub role_edits: RoleEdits,
    pub sign_in: Latencies,
    pub token_issue: Latencies,
    pub auth_errors: u64,
    pub cli_check: Latencies,
    pub cli_assign: Latencies,
    pub cli_revoke: Latencies,
    pub memory: Memory,
    /// Writes this server committed over HTTP in the whole run.
    pub writes_committed: u64,
    /// Phases that stopped early on their time budget.
    pub cut_by_budget: Vec<String>,
    /// The first failed requests and their answers.
    pub error_samples: Vec<String>,
}

/// The generated dataset, as imported.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Dataset {
    pub users: usize,
    pub roles: usize,
    pub assignments: usize,
    pub sod_rules: usize,
    pub edited_role: String,
    pub edited_role_holders: usize,
    /// Assignments added to the generated ones so that the edited role has its holders.
    pub extra_assignments: usize,
    pub generate_s: f64,
    pub import_s: f64,
    pub plan_s: f64,
}

/// The password hash alone, in-process, with the stored hash's parameters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PasswordHash {
    pub verify: Latencies,
    /// The PHC parameters (`m=...,t=...,p=...`) and where they came from.
    pub params: String,
    pub source: String,
}

/// The whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WritesReport {
    pub scale: String,
    pub seed: u64,
    pub cores: usize,
    pub git_revision: Option<String>,
    pub warden_binary: String,
    /// Whether the `warden` binary mentions `WARDEN_WRITE_PATH` at all; when
    /// it does not, both servers ran the same write path.
    pub write_path_switch: Option<bool>,
    pub dataset: Dataset,
    pub password_hash: PasswordHash,
    pub warden: ServerFigures,
    pub baseline: ServerFigures,
    pub total_s: f64,
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// A count that should be zero, or a figure both share: no ratio.
    NoRatio,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    AtMost(f64),
    AtLeast(f64),
}

impl Target {
    pub fn holds(self, x: f64) -> bool {
        match self {
            Target::AtMost(t) => x <= t,
            Target::AtLeast(t) => x >= t,
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub unit: &'static str,
    pub warden: Option<f64>,
    pub baseline: Option<f64>,
    pub better: Better,
    pub target: Option<Target>,
    /// Measured as the target means it (false: the memory phase was cut before N writes).
    pub complete: bool,
}

impl Metric {
    /// How many times better Warden did: baseline / warden for times, warden / baseline for rates.
    pub fn ratio(&self) -> Option<f64> {
        let (w, b) = (self.warden?, self.baseline?);
        let r = match self.better {
            Better::Lower => b / w,
            Better::Higher => w / b,
            Better::NoRatio => return None,
        };
        r.is_finite().then_some(r)
    }

    pub fn met(&self) -> Option<bool> {
        if !self.complete {
            return None;
        }
        Some(self.target?.holds(self.warden?))
    }
}

fn m(name: impl Into<String>, unit: &'static str, w: Option<f64>, b: Option<f64>, better: Better, target: Option<Target>) -> Metric {
    Metric { name: name.into(), unit, warden: w, baseline: b, better, target, complete: true }
}

/// The rows of the issue's targets table that HTTP and the command line can measure, in its order.
pub fn metrics(r: &WritesReport) -> Vec<Metric> {
    use Better::*;
    use Target::*;
    let (w, b) = (&r.warden, &r.baseline);
    let both = |f: &dyn Fn(&ServerFigures) -> Option<f64>| (f(w), f(b));
    let mut out = Vec::new();
    let mut add = |name: String, unit, f: &dyn Fn(&ServerFigures) -> Option<f64>, better, target| {
        let (x, y) = both(f);
        out.push(m(name, unit, x, y, better, target));
    };
    add("assign, 1 client, p50".into(), "ms", &|s| s.assign.p50_ms, Lower, Some(AtMost(5.0)));
    add("assign, 1 client, p99".into(), "ms", &|s| s.assign.p99_ms, Lower, Some(AtMost(25.0)));
    add("revoke, 1 client, p50".into(), "ms", &|s| s.revoke.p50_ms, Lower, None);
    let clients = w.concurrent.clients;
    add(format!("{clients} clients: committed writes/s"), "/s", &|s| Some(s.concurrent.writes_per_s), Higher, Some(AtLeast(500.0)));
    add(format!("{clients} clients: p99"), "ms", &|s| s.concurrent.latency.p99_ms, Lower, Some(AtMost(100.0)));
    add(format!("{clients} clients: 409s"), "", &|s| Some(s.concurrent.conflicts_409 as f64), NoRatio, Some(AtMost(0.0)));
    add(format!("{clients} clients: other errors"), "", &|s| Some((s.concurrent.other_status + s.concurrent.failed) as f64), NoRatio, Some(AtMost(0.0)));
    let holders = r.dataset.edited_role_holders;
    add(format!("add a duty to a role of {holders} users, p50"), "ms", &|s| s.role_edits.add.p50_ms, Lower, Some(AtMost(150.0)));
    add(format!("add a duty to a role of {holders} users, max"), "ms", &|s| s.role_edits.add.max_ms, Lower, None);
    let hash = r.password_hash.verify.p50_ms;
    add("password hash alone (argon2id verify), p50".into(), "ms", &|_| hash, NoRatio, None);
    add("sign-in, p50".into(), "ms", &|s| s.sign_in.p50_ms, Lower, None);
    add("sign-in beyond the hash, p50".into(), "ms", &|s| Some(s.sign_in.p50_ms? - hash?), Lower, Some(AtMost(5.0)));
    add("token issue, p50".into(), "ms", &|s| s.token_issue.p50_ms, Lower, Some(AtMost(5.0)));
    add("POST /check p99, idle".into(), "ms", &|s| s.check_idle.p99_ms, Lower, None);
    add(format!("POST /check p99, {clients} writers running"), "ms", &|s| s.check_under_writes.p99_ms, Lower, None);
    add("  ... under writes / idle".into(), "×", &|s| Some(s.check_under_writes.p99_ms? / s.check_idle.p99_ms?), Lower, Some(AtMost(2.0)));
    add("read-your-writes violations".into(), "", &|s| Some(s.read_your_writes.violations as f64), NoRatio, Some(AtMost(0.0)));
    add("warden serve: start to ready".into(), "s", &|s| Some(s.start_to_ready_s), Lower, Some(AtMost(5.0)));
    let (nw, nb) = (w.memory.target_writes, b.memory.target_writes);
    add(format!("RSS after N/2 writes (N = {nw} / {nb})"), "MiB", &|s| s.memory.half.as_ref().map(|h| h.rss_mib), Lower, None);
    add("RSS after N writes".into(), "MiB", &|s| s.memory.full.as_ref().map(|h| h.rss_mib), Lower, Some(AtMost(1536.0)));
    add("RSS growth from N/2 to N writes".into(), "MiB", &|s| Some(s.memory.full.as_ref()?.rss_mib - s.memory.half.as_ref()?.rss_mib), NoRatio, Some(AtMost(GROWTH_ALLOWANCE_MIB)));
    let n_reached = w.memory.full.as_ref().is_some_and(|f| f.writes >= nw);
    let rss_rows = out.len() - 3..out.len();
    for row in &mut out[rss_rows] {
        row.complete = n_reached;
    }
    let mut add = |name: String, unit, f: &dyn Fn(&ServerFigures) -> Option<f64>, better, target| {
        let (x, y) = both(f);
        out.push(m(name, unit, x, y, better, target));
    };
    add("CLI `warden check`, wall, p50".into(), "ms", &|s| s.cli_check.p50_ms, Lower, Some(AtMost(300.0)));
    add("CLI `warden user assign`, wall, p50".into(), "ms", &|s| s.cli_assign.p50_ms, Lower, Some(AtMost(300.0)));
    out
}

/// "No growth" allows allocator noise: a few MiB either way between two readings.
pub const GROWTH_ALLOWANCE_MIB: f64 = 8.0;

fn figure(x: Option<f64>) -> String {
    match x {
        None => "—".into(),
        Some(x) if !x.is_finite() => "—".into(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e9 => format!("{x:.0}"),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

fn target_text(t: Option<Target>, unit: &str) -> String {
    match t {
        None => "—".into(),
        Some(Target::AtMost(x)) if x == 0.0 && unit.is_empty() => "0".into(),
        Some(Target::AtMost(x)) => format!("≤ {} {unit}", figure(Some(x))).trim_end().to_string(),
        Some(Target::AtLeast(x)) => format!("≥ {} {unit}", figure(Some(x))).trim_end().to_string(),
    }
}

/// The table people read.
pub fn to_table(r: &WritesReport) -> String {
    let rows = metrics(r);
    let name_width = rows.iter().map(|m| m.name.chars().count() + m.unit.chars().count() + 3).max().unwrap_or(10).max(10);
    let mut out = String::new();
    let switch = match r.write_path_switch {
        Some(true) => "baseline: WARDEN_WRITE_PATH=reload",
        Some(false) => "WARNING: this warden binary has no WARDEN_WRITE_PATH switch: both servers ran the same write path",
        None => "baseline: WARDEN_WRITE_PATH=reload (not known whether the binary reads it)",
    };
    let _ = writeln!(
        out,
        "\nwarden-bench writes: scale {}, seed {}, {} users, {} assignments, {} SoD rules; {} cores; revision {}\n{switch}\n",
        r.scale,
        r.seed,
        r.dataset.users,
        r.dataset.assignments,
        r.dataset.sod_rules,
        r.cores,
        r.git_revision.as_deref().unwrap_or("unknown"),
    );
    let _ = writeln!(out, "{:name_width$}  {:>10}  {:>10}  {:>8}  {:>12}  met?", "metric", "warden", "baseline", "ratio", "target");
    for row in &rows {
        let label = if row.unit.is_empty() { row.name.clone() } else { format!("{} ({})", row.name, row.unit) };
        let ratio = row.ratio().map_or("—".to_string(), |x| format!("{}×", figure(Some(x))));
        let met = match row.met() {
            None if !row.complete => "cut",
            None => "",
            Some(true) => "yes",
            Some(false) => "NO",
        };
        let _ = writeln!(
            out,
            "{label:name_width$}  {:>10}  {:>10}  {ratio:>8}  {:>12}  {met}",
            figure(row.warden),
            figure(row.baseline),
            target_text(row.target, row.unit)
        );
    }
    let (w, b) = (&r.warden, &r.baseline);
    let _ = writeln!(
        out,
        "\nratio: how many times better warden did (baseline/warden for times, warden/baseline for rates); targets apply to warden.\n\
         samples warden / baseline: assign {} / {}, role edits {} / {}, sign-ins {} / {}, tokens {} / {}, checks idle {} / {}, \
         CLI runs {} / {}, RSS writes {} / {} — the baseline gets fewer: it takes seconds per write.",
        w.assign.count,
        b.assign.count,
        w.role_edits.add.count,
        b.role_edits.add.count,
        w.sign_in.count,
        b.sign_in.count,
        w.token_issue.count,
        b.token_issue.count,
        w.check_idle.count,
        b.check_idle.count,
        w.cli_check.count,
        b.cli_check.count,
        w.memory.full.as_ref().map_or(0, |x| x.writes),
        b.memory.full.as_ref().map_or(0, |x| x.writes),
    );
    let _ = writeln!(out, "password hash: {} ({})", r.password_hash.params, r.password_hash.source);
    for s in [w, b] {
        if !s.cut_by_budget.is_empty() {
            let _ = writeln!(out, "{}: cut by the time budget: {}", s.name, s.cut_by_budget.join(", "));
        }
        if s.read_your_writes.unusable > 0 {
            let _ = writeln!(out, "{}: {} read-your-writes probes skipped (allowed before the write)", s.name, s.read_your_writes.unusable);
        }
    }
    let _ = writeln!(out, "total {:.0} s", r.total_s);
    out
}
