//! `warden-bench writes`: the administrative write benchmark of issue 14.
//!
//! One run, one machine: generate a dataset with `warden gen`, import it into
//! a SQLite store with the `warden` command line, copy the store, and serve
//! the two copies at once: "warden" as is, and "baseline" with
//! `WARDEN_WRITE_PATH=reload` (the full-reload write path). Then measure on
//! both, over the real HTTP API and the real command line, every row of the
//! issue's targets table that they can show, the two servers taking turns
//! phase by phase. See the crate README, "Administrative writes".

pub(crate) mod http;
mod phases;
pub mod plan;
pub(crate) mod proc;
pub mod report;

use phases::{order, share, Budget, Single, Until, Writer};
use plan::PlanSizes;
use proc::{wait_quiet, Server, Warden};
pub use report::{metrics, to_table, Metric, ServerFigures, WritesReport};
use report::{Latencies, PasswordHash};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use warden_gen::Scale;

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
pub enum WritesError {
    #[error("cannot run {what}: {source}")]
    Spawn {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{what}` exited with status {code:?}: {stderr}")]
    Command { what: String, code: Option<i32>, stderr: String },
    #[error("{what}: {detail}")]
    Http { what: String, detail: String },
    #[error("{what} answered {status}: {body}")]
    Status { what: String, status: u16, body: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("warden serve ({name}): {detail}")]
    Server { name: String, detail: String },
    #[error("the plan: {0}")]
    Plan(String),
}

/// How many samples each server gets. The baseline gets far fewer: at `d365`
/// each of its writes takes seconds.
#[derive(Debug, Clone)]
pub struct Samples {
    /// Single-client cycles of assign and revoke (each with its checks).
    pub assigns: usize,
    /// Cycles of adding a duty to the role and removing it.
    pub role_edits: usize,
    /// Sign-ins, and as many token issues.
    pub credentials: usize,
    /// `POST /check` while no one writes.
    pub checks: usize,
    /// One-shot `warden check`, `warden user assign` and `warden user revoke` runs.
    pub cli_runs: usize,
    /// Writes in all (N) before the second resident-set reading; the first is at N/2.
    pub rss_writes: u64,
    /// Clients writing towards N.
    pub rss_clients: usize,
}

impl Samples {
    pub const WARDEN: Samples = Samples { assigns: 1_000, role_edits: 20, credentials: 50, checks: 5_000, cli_runs: 5, rss_writes: 100_000, rss_clients: 16 };
    pub const BASELINE: Samples = Samples { assigns: 10, role_edits: 3, credentials: 10, checks: 5_000, cli_runs: 3, rss_writes: 40, rss_clients: 1 };
}

/// What to run.
#[derive(Debug, Clone)]
pub struct WritesConfig {
    /// The `warden` binary.
    pub warden: PathBuf,
    pub scale: Scale,
    pub seed: u64,
    /// Concurrent writers, each on its own users.
    pub clients: usize,
    /// How long they write.
    pub concurrent: Duration,
    /// Users the edited role reaches.
    pub holders: usize,
    /// Turns the two servers take in each sampled phase.
    pub rounds: usize,
    /// Longest a sampled phase may take on one server; it stops early and says so.
    pub budget: Duration,
    /// Longest the writes towards N may take on one server.
    pub rss_budget: Duration,
    /// A request without an answer after this long counts as failed.
    pub request_timeout: Duration,
    /// `[warden, baseline]`.
    pub samples: [Samples; 2],
    /// Progress on stderr.
    pub verbose: bool,
}

impl WritesConfig {
    /// The defaults: a whole `d365` run in about a quarter of an hour once writes take milliseconds.
    pub fn new(warden: PathBuf, scale: Scale) -> WritesConfig {
        WritesConfig {
            warden,
            scale,
            seed: 42,
            clients: 16,
            concurrent: Duration::from_secs(20),
            holders: 5_000,
            rounds: 4,
            budget: Duration::from_secs(120),
            rss_budget: Duration::from_secs(420),
            request_timeout: Duration::from_secs(30),
            samples: [Samples::WARDEN, Samples::BASELINE],
            verbose: false,
        }
    }

    /// Every phase, a handful of samples each: seconds at `small` scale, for tests.
    pub fn smoke(warden: PathBuf) -> WritesConfig {
        let tiny = Samples { assigns: 4, role_edits: 2, credentials: 2, checks: 40, cli_runs: 1, rss_writes: 12, rss_clients: 2 };
        WritesConfig {
            clients: 4,
            concurrent: Duration::from_millis(1_500),
            holders: 100,
            rounds: 2,
            budget: Duration::from_secs(60),
            rss_budget: Duration::from_secs(60),
            samples: [tiny.clone(), tiny],
            ..WritesConfig::new(warden, Scale::Small)
        }
    }

    /// `warden` beside this executable (`target/release/warden` for `target/release/warden-bench`).
    pub fn warden_beside_me() -> Option<PathBuf> {
        let me = std::env::current_exe().ok()?;
        let path = me.parent()?.join(format!("warden{}", std::env::consts::EXE_SUFFIX));
        path.exists().then_some(path)
    }
}

/// The bootstrap administrator's password, at least 12 characters.
pub(crate) const ADMIN_PASSWORD: &str = "warden-bench-writes-not-secret";
pub(crate) const ADMIN: &str = "admin";
const NAMES: [&str; 2] = ["warden", "baseline"];

/// One server and what the run keeps about it.
struct Side {
    cli: Warden,
    server: Server,
    api: http::Api,
    samples: Samples,
    writers: Vec<Writer>,
    committed: Arc<AtomicU64>,
    figures: ServerFigures,
}

impl Side {
    fn cut(&mut self, phase: &str, budget: &Budget) {
        if budget.cut {
            self.figures.cut_by_budget.push(phase.to_string());
        }
    }
}

/// Waits until neither server is still busy with an earlier phase.
async fn quiet(sides: &[Side]) {
    let servers: Vec<&Server> = sides.iter().map(|s| &s.server).collect();
    wait_quiet(&servers, Duration::from_secs(60)).await;
}

fn say(config: &WritesConfig, message: impl AsRef<str>) {
    if config.verbose {
        eprintln!("[writes] {}", message.as_ref());
    }
}

/// Runs the whole benchmark. Servers are killed and the temporary directory
/// removed when it returns, fails, or its future is dropped (Ctrl-C).
pub async fn run_writes(config: &WritesConfig) -> Result<WritesReport, WritesError> {
    let run_started = Instant::now();
    let work = tempfile::Builder::new().prefix("warden-bench-writes-").tempdir().map_err(|source| WritesError::Io { path: std::env::temp_dir(), source })?;
    let root = work.path();
    let clis: [Warden; 2] = [0, 1].map(|i| Warden {
        binary: config.warden.clone(),
        data_dir: root.join(NAMES[i]),
        // The baseline is the path before the model host: its server reloads after every
        // write, and its one-shot commands open the store rather than ask the running server.
        env: if i == 1 {
            vec![("WARDEN_WRITE_PATH".to_string(), "reload".to_string()), ("WARDEN_NO_SERVER".to_string(), "1".to_string())]
        } else {
            Vec::new()
        },
    });
    let mut report = WritesReport {
        scale: config.scale.as_str().to_string(),
        seed: config.seed,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        git_revision: git_revision(&config.warden),
        warden_binary: config.warden.display().to_string(),
        write_path_switch: mentions(&config.warden, "WARDEN_WRITE_PATH"),
        ..WritesReport::default()
    };
    if report.write_path_switch == Some(false) {
        say(config, "WARNING: the warden binary has no WARDEN_WRITE_PATH switch: both servers run the same write path");
    }

    // The dataset: generated, planned on, imported once, copied.
    let t = Instant::now();
    say(config, format!("generating the {} dataset", config.scale));
    let generated = generate_dataset(&clis[0], root, config.scale, config.seed).await?;
    report.dataset.generate_s = t.elapsed().as_secs_f64();
    let rules = csv_rows(&generated.join("sod-rules.csv"))?;
    let t = Instant::now();
    say(config, "planning the writes in-process");
    let [w, b] = &config.samples;
    let sizes = PlanSizes {
        probes: w.assigns.max(b.assigns).clamp(1, 200),
        cli_probes: w.cli_runs.max(b.cli_runs).max(1),
        clients: config.clients.max(w.rss_clients).max(b.rss_clients).max(1),
        holders: config.holders,
        duties: 4,
        checks: 20_000,
    };
    let (scale, seed) = (config.scale, config.seed);
    let plan = tokio::task::spawn_blocking(move || plan::plan(scale, seed, rules, &sizes)).await.map_err(|e| WritesError::Plan(e.to_string()))?;
    if plan.probes.is_empty() || plan.cli_probes.is_empty() || plan.duties.is_empty() || plan.partitions.iter().any(Vec::is_empty) {
        return Err(WritesError::Plan(format!(
            "too small a model for this run (fewer --clients, or a larger --scale): {} probes, {} command-line probes, {} duties to add, writers' users {:?}",
            plan.probes.len(),
            plan.cli_probes.len(),
            plan.duties.len(),
            plan.partitions.iter().map(Vec::len).collect::<Vec<_>>()
        )));
    }
    report.dataset.plan_s = t.elapsed().as_secs_f64();
    report.dataset.users = plan.users;
    report.dataset.roles = plan.roles;
    report.dataset.assignments = plan.assignments;
    report.dataset.sod_rules = plan.sod_rules;
    report.dataset.edited_role = plan.edited_role.clone();
    report.dataset.edited_role_holders = plan.edited_role_holders;
    report.dataset.extra_assignments = plan.extra_assignments.len();
    let t = Instant::now();
    say(config, "importing into a fresh SQLite store");
    import_dataset(&clis[0], root, &generated, &plan.extra_assignments).await?;
    report.dataset.import_s = t.elapsed().as_secs_f64();
    proc::copy_store(&clis[0].data_dir, &clis[1].data_dir)?;

    // First starts (built-in model, bootstrap administrator), then the timed restarts.
    let mut first_start_s = [0.0; 2];
    for (i, cli) in clis.iter().enumerate() {
        say(config, format!("first start of {}", NAMES[i]));
        let s = cli.serve(NAMES[i], ADMIN_PASSWORD).await?;
        first_start_s[i] = s.start_to_ready.as_secs_f64();
        s.stop(Duration::from_secs(30)).await?;
    }
    let mut sides = Vec::new();
    for (i, cli) in clis.iter().enumerate() {
        say(config, format!("starting {}", NAMES[i]));
        let server = cli.serve(NAMES[i], ADMIN_PASSWORD).await?;
        let api = http::Api::sign_in(&server.base, ADMIN, ADMIN_PASSWORD, config.request_timeout).await?;
        let figures = ServerFigures {
            name: NAMES[i].to_string(),
            env: cli.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            first_start_s: first_start_s[i],
            start_to_ready_s: server.start_to_ready.as_secs_f64(),
            ..ServerFigures::default()
        };
        sides.push(Side {
            cli: cli.clone(),
            api,
            samples: config.samples[i].clone(),
            writers: plan.partitions.iter().cloned().map(Writer::new).collect(),
            committed: Arc::new(AtomicU64::new(0)),
            figures,
            server,
        });
    }
    for s in &mut sides {
        s.figures.memory.at_ready_mib = s.server.rss_mib();
    }
    let checks = Arc::new(plan.checks.clone());
    let rounds = config.rounds.max(1);

    // POST /check with no one writing.
    say(config, "checks, idle");
    quiet(&sides).await;
    let mut budgets = [Budget::new(config.budget), Budget::new(config.budget)];
    let mut idle: [Vec<f64>; 2] = Default::default();
    for round in 0..rounds {
        for i in order(round) {
            let s = &mut sides[i];
            let n = share(s.samples.checks, rounds, round);
            let from = share_start(s.samples.checks, rounds, round);
            let (ms, errors) = phases::checks(&s.api, &checks, from, n, &mut budgets[i]).await;
            idle[i].extend(ms);
            s.figures.check_errors += errors;
        }
    }
    for (i, s) in sides.iter_mut().enumerate() {
        s.figures.check_idle = Latencies::of(std::mem::take(&mut idle[i]));
        s.cut("checks idle", &budgets[i]);
    }

    // One client: assign, revoke, and read-your-writes.
    say(config, "single-client assign and revoke, with read-your-writes checks");
    quiet(&sides).await;
    let mut budgets = [Budget::new(config.budget), Budget::new(config.budget)];
    let mut single: [Single; 2] = Default::default();
    for round in 0..rounds {
        for i in order(round) {
            let s = &sides[i];
            let n = share(s.samples.assigns, rounds, round);
            phases::single(&s.api, &plan.probes, share_start(s.samples.assigns, rounds, round), n, &mut budgets[i], &mut single[i]).await;
        }
    }
    for (i, s) in sides.iter_mut().enumerate() {
        let one = std::mem::take(&mut single[i]);
        s.figures.assign = Latencies::of(one.assign_ms);
        s.figures.revoke = Latencies::of(one.revoke_ms);
        s.figures.single_errors = one.errors;
        s.figures.read_your_writes = one.ryw;
        s.committed.fetch_add(one.committed, Ordering::Relaxed);
        s.cut("single-client writes", &budgets[i]);
    }

    // A duty added to (and removed from) the role many users hold.
    say(config, format!("role edits on {} ({} holders)", plan.edited_role, plan.edited_role_holders));
    quiet(&sides).await;
    let mut budgets = [Budget::new(config.budget), Budget::new(config.budget)];
    for round in 0..rounds {
        for i in order(round) {
            let s = &mut sides[i];
            let n = share(s.samples.role_edits, rounds, round);
            let from = share_start(s.samples.role_edits, rounds, round);
            let done = phases::role_edits(&s.api, &plan.edited_role, &plan.duties, from, n, &mut budgets[i], &mut s.figures.role_edits).await;
            s.committed.fetch_add(done, Ordering::Relaxed);
        }
    }
    for (i, s) in sides.iter_mut().enumerate() {
        let e = &mut s.figures.role_edits;
        e.add = Latencies::of(std::mem::take(&mut e.add.samples_ms));
        e.remove = Latencies::of(std::mem::take(&mut e.remove.samples_ms));
        s.cut("role edits", &budgets[i]);
    }

    // Sign-ins and token issues, beside the password hash alone.
    say(config, "sign-ins, token issues and the password hash alone");
    quiet(&sides).await;
    let phc = stored_password_hash(&clis[0].data_dir.join("warden.db"), ADMIN).await;
    let (hasher, parsed_params, source) = match &phc {
        Ok(phc) => (phc.clone(), phc_params(phc), "the stored hash of the bootstrap administrator".to_string()),
        Err(e) => {
            let fresh = default_hash(ADMIN_PASSWORD);
            (fresh.clone(), phc_params(&fresh), format!("argon2 defaults: the stored hash was not readable ({e})"))
        }
    };
    let hash_samples = config.samples.iter().map(|s| s.credentials).max().unwrap_or(0).max(5);
    let mut budgets = [Budget::new(config.budget), Budget::new(config.budget)];
    let mut sign_in: [Vec<f64>; 2] = Default::default();
    let mut token: [Vec<f64>; 2] = Default::default();
    let mut hash_ms = Vec::new();
    for round in 0..rounds {
        for i in order(round) {
            let s = &mut sides[i];
            let n = share(s.samples.credentials, rounds, round);
            s.figures.auth_errors += phases::credentials(&s.api, ADMIN, ADMIN_PASSWORD, n, &mut budgets[i], &mut sign_in[i], &mut token[i]).await;
        }
        let (phc, n) = (hasher.clone(), share(hash_samples, rounds, round));
        hash_ms.extend(tokio::task::spawn_blocking(move || time_verify(&phc, ADMIN_PASSWORD, n)).await.unwrap_or_default());
    }
    report.password_hash = PasswordHash { verify: Latencies::of(hash_ms), params: parsed_params, source };
    for (i, s) in sides.iter_mut().enumerate() {
        s.figures.sign_in = Latencies::of(std::mem::take(&mut sign_in[i]));
        s.figures.token_issue = Latencies::of(std::mem::take(&mut token[i]));
        s.cut("sign-ins and tokens", &budgets[i]);
    }

    // Concurrent writers, with one client checking meanwhile.
    for i in 0..2 {
        say(config, format!("{}: {} concurrent writers for {:.1} s", NAMES[i], config.clients, config.concurrent.as_secs_f64()));
        quiet(&sides).await;
        let s = &mut sides[i];
        let writers: Vec<Writer> = std::mem::take(&mut s.writers);
        let (active, idle_writers) = split_writers(writers, config.clients);
        let stop = Arc::new(AtomicBool::new(false));
        let prober = tokio::spawn(phases::check_until(s.api.clone(), checks.clone(), stop.clone()));
        let started = Instant::now();
        let deadline = started + config.concurrent;
        let stopper = {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(deadline.into()).await;
                stop.store(true, Ordering::Relaxed);
            })
        };
        let (active, records) = phases::write_concurrently(&s.api, active, Until { deadline, committed: None }, s.committed.clone()).await;
        let _ = stopper.await;
        let (checked, errors) = prober.await.unwrap_or_default();
        s.figures.concurrent = phases::summarize(&records, config.clients, started, deadline);
        s.figures.check_under_writes = Latencies::of(checked);
        s.figures.check_errors += errors;
        s.writers = active.into_iter().chain(idle_writers).collect();
    }

    // The command line, against each server's store while it serves.
    say(config, "one-shot command line");
    quiet(&sides).await;
    let mut budgets = [Budget::new(config.budget), Budget::new(config.budget)];
    let mut cli_ms: [phases::CliTimes; 2] = Default::default();
    for round in 0..rounds {
        for i in order(round) {
            let s = &sides[i];
            let n = share(s.samples.cli_runs, rounds, round);
            let from = share_start(s.samples.cli_runs, rounds, round);
            phases::cli(&s.cli, &plan.cli_probes, from, n, &mut budgets[i], &mut cli_ms[i]).await?;
        }
    }
    for (i, s) in sides.iter_mut().enumerate() {
        let t = std::mem::take(&mut cli_ms[i]);
        s.figures.cli_check = Latencies::of(t.check);
        s.figures.cli_assign = Latencies::of(t.assign);
        s.figures.cli_revoke = Latencies::of(t.revoke);
        s.cut("command line", &budgets[i]);
    }

    // Memory after N/2 and N writes in all.
    for (i, s) in sides.iter_mut().enumerate() {
        let target = s.samples.rss_writes;
        say(config, format!("{}: {target} writes with {} clients, resident set at half and at the end", NAMES[i], s.samples.rss_clients));
        let servers: Vec<&Server> = vec![&s.server];
        wait_quiet(&servers, Duration::from_secs(60)).await;
        let start = phases::PhaseStart { at: Instant::now(), writes: s.committed.load(Ordering::Relaxed) };
        let deadline = start.at + config.rss_budget;
        let (active, idle_writers) = split_writers(std::mem::take(&mut s.writers), s.samples.rss_clients);
        let mut writers = active;
        for w in &mut writers {
            w.churn = true;
        }
        let mut errors = 0;
        // Cut by the budget, the readings fall at its middle and its end instead, after however many writes.
        for (k, (goal, until)) in [(target / 2, start.at + config.rss_budget / 2), (target, deadline)].into_iter().enumerate() {
            let (back, e, reading) = phases::write_then_measure(&s.api, &s.server, writers, goal, until, s.committed.clone(), start).await;
            writers = back;
            errors += e;
            match (k, reading) {
                (0, r) => s.figures.memory.half = r,
                (_, r) => s.figures.memory.full = r,
            }
        }
        let reached = |r: &Option<report::RssReading>| r.as_ref().map_or(0, |r| r.writes);
        let (half, full) = (reached(&s.figures.memory.half), reached(&s.figures.memory.full));
        if full < target {
            s.figures.cut_by_budget.push(format!("memory (readings after {half} and {full} of {} and {target} writes)", target / 2));
        }
        s.figures.memory.target_writes = target;
        s.figures.memory.clients = s.samples.rss_clients;
        s.figures.memory.errors = errors;
        s.figures.memory.peak_mib = s.server.peak_rss_mib();
        s.writers = writers.into_iter().chain(idle_writers).collect();
    }

    for s in sides {
        let mut f = s.figures;
        f.error_samples = s.api.errors();
        f.writes_committed = s.committed.load(Ordering::Relaxed);
        s.server.stop(Duration::from_secs(30)).await?;
        if f.name == NAMES[0] {
            report.warden = f;
        } else {
            report.baseline = f;
        }
    }
    report.total_s = run_started.elapsed().as_secs_f64();
    drop(work);
    Ok(report)
}

/// `warden gen --scale SCALE --seed SEED` into `root/gen`, which it returns.
pub(crate) async fn generate_dataset(cli: &Warden, root: &Path, scale: Scale, seed: u64) -> Result<PathBuf, WritesError> {
    let generated = root.join("gen");
    cli.run(&["gen", "--out", &path_arg(&generated), "--scale", scale.as_str(), "--seed", &seed.to_string()], &[0]).await?;
    Ok(generated)
}

/// Imports the generated dataset into `cli`'s (fresh) store with the
/// command line: AOT, organizations, users, assignments, then `extra`
/// global assignments (written to `root/extra-assignments.csv`), then the
/// SoD rules, whose import registers the conflicts that exist by then.
pub(crate) async fn import_dataset(cli: &Warden, root: &Path, generated: &Path, extra: &[warden_model::Assignment]) -> Result<(), WritesError> {
    let extra_csv = root.join("extra-assignments.csv");
    let mut csv = String::from("user,role,organizations,valid_from,valid_to\n");
    for a in extra {
        csv.push_str(&format!("{},{},,,\n", a.user, a.role));
    }
    std::fs::write(&extra_csv, csv).map_err(|source| WritesError::Io { path: extra_csv.clone(), source })?;
    let g = |f: &str| path_arg(&generated.join(f));
    for args in [
        vec!["import".to_string(), "aot".into(), g("aot")],
        vec!["import".into(), "orgs".into(), g("organizations.csv")],
        vec!["import".into(), "users".into(), g("users.csv")],
        vec!["import".into(), "assignments".into(), g("assignments.csv")],
        vec!["import".into(), "assignments".into(), path_arg(&extra_csv)],
        vec!["sod".into(), "rule".into(), "import".into(), g("sod-rules.csv")],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli.run(&args, &[0]).await?;
    }
    Ok(())
}

/// Where round `round`'s share of `total` starts.
fn share_start(total: usize, rounds: usize, round: usize) -> usize {
    total * round / rounds.max(1)
}

fn split_writers(mut writers: Vec<Writer>, active: usize) -> (Vec<Writer>, Vec<Writer>) {
    let rest = writers.split_off(active.min(writers.len()));
    (writers, rest)
}

pub(crate) fn path_arg(p: &Path) -> String {
    p.display().to_string()
}

/// Data rows of a generated CSV file (its fields hold no line breaks).
fn csv_rows(path: &Path) -> Result<usize, WritesError> {
    let text = std::fs::read_to_string(path).map_err(|source| WritesError::Io { path: path.to_path_buf(), source })?;
    Ok(text.lines().filter(|l| !l.trim().is_empty()).count().saturating_sub(1))
}

/// The revision of the checkout the binary was built in, `+dirty` when it has uncommitted changes.
pub(crate) fn git_revision(binary: &Path) -> Option<String> {
    let dir = binary.parent()?;
    let git = |args: &[&str]| std::process::Command::new("git").arg("-C").arg(dir).args(args).output().ok().filter(|o| o.status.success());
    let head = String::from_utf8_lossy(&git(&["rev-parse", "--short=12", "HEAD"])?.stdout).trim().to_string();
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty { format!("{head}+dirty") } else { head })
}

/// Whether the file contains `text` (`grep -F`); `None` when that cannot be told.
fn mentions(binary: &Path, text: &str) -> Option<bool> {
    let status = std::process::Command::new("grep").args(["-q", "-a", "-F", text]).arg(binary).status().ok()?;
    match status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

/// The bootstrap administrator's stored password hash (a PHC string), read
/// from the SQLite store: the server hashes with these parameters.
async fn stored_password_hash(db: &Path, user: &str) -> Result<String, String> {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.map_err(|e| e.to_string())?;
    let row: Option<(String,)> = sqlx::query_as("SELECT body FROM objects WHERE kind = ?1 AND key = ?2")
        .bind(warden_model::ObjectKind::Credential.code())
        .bind(format!("password:{user}"))
        .fetch_optional(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    let body: serde_json::Value = serde_json::from_str(&row.ok_or("no password credential")?.0).map_err(|e| e.to_string())?;
    body["hash"].as_str().map(str::to_string).ok_or_else(|| "the credential has no hash".to_string())
}

fn default_hash(password: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    argon2::Argon2::default().hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng)).map(|h| h.to_string()).unwrap_or_default()
}

/// `argon2id v=19 m=...,t=...,p=...`.
fn phc_params(phc: &str) -> String {
    match argon2::PasswordHash::new(phc) {
        Ok(h) => format!("{} v={} {}", h.algorithm, h.version.unwrap_or_default(), h.params),
        Err(e) => format!("unreadable ({e})"),
    }
}

/// Verifies `password` against `phc` `n` times, as a sign-in does (the
/// hash's own parameters); milliseconds each.
fn time_verify(phc: &str, password: &str, n: usize) -> Vec<f64> {
    use argon2::password_hash::PasswordVerifier;
    let Ok(parsed) = argon2::PasswordHash::new(phc) else { return Vec::new() };
    (0..n)
        .filter_map(|_| {
            let t = Instant::now();
            argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).ok()?;
            Some(t.elapsed().as_secs_f64() * 1e3)
        })
        .collect()
}
