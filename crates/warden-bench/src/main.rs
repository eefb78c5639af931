//! `warden-bench`: see the crate README.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::time::Duration;
use warden_bench::pages::{run_pages, PagesConfig};
use warden_bench::sod::{run_sod, SodConfig};
use warden_bench::writes::{run_writes, Samples, WritesConfig};
use warden_bench::{report, run, sod, Config, EngineKind};
use warden_gen::Scale;

/// Benchmarks Warden's access check against a hash map, cedar-policy, casbin and
/// the reference evaluator, on one generated model and one request stream.
/// `warden-bench sod` benchmarks the segregation-of-duties analysis instead, and
/// `warden-bench writes` the administrative writes of `warden serve`, and
/// `warden-bench pages` the web console's pages.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Model size: small or d365.
    #[arg(long, default_value = "d365")]
    scale: Scale,
    /// Seed of the model and of the request stream.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Requests in the stream (the fast engines check them all).
    #[arg(long, default_value_t = 1_000_000)]
    checks: usize,
    /// Requests on which Warden is compared with the reference evaluator.
    #[arg(long, default_value_t = 20_000)]
    agreement_sample: usize,
    /// Requests Cedar checks.
    #[arg(long, default_value_t = 200_000)]
    cedar_checks: usize,
    /// Requests each casbin enforcer checks.
    #[arg(long, default_value_t = 2_000)]
    casbin_sample: usize,
    /// Longest timed loop per engine, in seconds; slower engines stop early.
    #[arg(long, default_value_t = 60)]
    budget_s: u64,
    /// Engines to run, comma-separated: warden, warden_by_name, hashmap, reference,
    /// casbin, casbin_cached, cedar, cedar_slots, casbin_flat; run in the order given.
    /// Default: all but casbin_flat, in that order.
    #[arg(long, value_delimiter = ',')]
    engines: Option<Vec<EngineKind>>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// No progress messages on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Segregation of duties: SodIndex build, full verify and the re-check after
    /// one assignment, against a naive per-user scan and the reference semantics.
    Sod(SodArgs),
    /// Administrative writes over the real HTTP API and command line, at scale:
    /// `warden serve` as is beside the full-reload write path
    /// (`WARDEN_WRITE_PATH=reload`), both on copies of one imported store, in one run.
    Writes(WritesArgs),
    /// The web console's pages at scale, each beside the API request that
    /// serves the same data, on one `warden serve` over the `writes` dataset.
    Pages(PagesArgs),
}

#[derive(Debug, clap::Args)]
struct PagesArgs {
    /// Dataset size (`warden gen --scale`): small or d365.
    #[arg(long, default_value = "d365")]
    scale: Scale,
    /// Seed of the dataset.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The `warden` binary; default: the one beside this executable.
    #[arg(long, value_name = "PATH")]
    warden: Option<std::path::PathBuf>,
    /// Also write every sample as JSON to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<std::path::PathBuf>,
    /// Timed fetches of each page, and as many of its API peer, interleaved.
    #[arg(long, default_value_t = 30)]
    samples: usize,
    /// Untimed fetches of each first.
    #[arg(long, default_value_t = 3)]
    warmups: usize,
    /// Users the role of the role pages reaches (topped up as `writes` does).
    #[arg(long, default_value_t = 5_000)]
    holders: usize,
    /// A request unanswered after this many seconds is an error.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
    /// No progress messages on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Exits non-zero when a page or its peer failed; a slow page is a figure, not a failure.
fn pages(a: PagesArgs) -> Result<()> {
    let warden = match a.warden {
        Some(p) => p,
        None => WritesConfig::warden_beside_me().ok_or_else(|| anyhow::anyhow!("no `warden` beside this executable: build it (cargo build --release -p warden) or pass --warden PATH"))?,
    };
    let mut config = PagesConfig::new(warden, a.scale);
    config.seed = a.seed;
    config.samples = a.samples.max(1);
    config.warmups = a.warmups;
    config.holders = a.holders;
    config.request_timeout = Duration::from_secs(a.timeout_s.max(1));
    config.verbose = !a.quiet;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = runtime.block_on(async {
        tokio::select! {
            r = run_pages(&config) => Ok(r?),
            s = interrupted() => Err(anyhow::anyhow!("interrupted by {s}: server stopped, temporary files removed")),
        }
    })?;
    print!("{}", warden_bench::pages::to_table(&report));
    if let Some(path) = a.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        eprintln!("raw figures: {}", path.display());
    }
    let errors = report.errors();
    if !errors.is_empty() {
        anyhow::bail!("{} page(s) or peer(s) failed: {}", errors.len(), errors.join("; "));
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
struct WritesArgs {
    /// Dataset size (`warden gen --scale`): small or d365.
    #[arg(long, default_value = "d365")]
    scale: Scale,
    /// Seed of the dataset and of the plan.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The `warden` binary; default: the one beside this executable.
    #[arg(long, value_name = "PATH")]
    warden: Option<std::path::PathBuf>,
    /// Also write every raw figure as JSON to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<std::path::PathBuf>,
    /// Concurrent writers, each on its own users.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// How long the concurrent writers write, in seconds.
    #[arg(long, default_value_t = 20.0)]
    concurrent_s: f64,
    /// Users the edited role reaches (topped up with extra assignments at import).
    #[arg(long, default_value_t = 5_000)]
    holders: usize,
    /// Turns the two servers take in each sampled phase.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Longest a sampled phase may take on one server, in seconds; it stops early and says so.
    #[arg(long, default_value_t = 120)]
    budget_s: u64,
    /// Longest the writes towards N may take on one server, in seconds.
    #[arg(long, default_value_t = 420)]
    rss_budget_s: u64,
    /// A request unanswered after this many seconds counts as failed.
    #[arg(long, default_value_t = 30)]
    timeout_s: u64,
    /// Single-client assign+revoke cycles on warden.
    #[arg(long, default_value_t = Samples::WARDEN.assigns)]
    assigns: usize,
    /// ... on the baseline.
    #[arg(long, default_value_t = Samples::BASELINE.assigns)]
    baseline_assigns: usize,
    /// Duty add+remove cycles on warden.
    #[arg(long, default_value_t = Samples::WARDEN.role_edits)]
    role_edits: usize,
    /// ... on the baseline.
    #[arg(long, default_value_t = Samples::BASELINE.role_edits)]
    baseline_role_edits: usize,
    /// Sign-ins (and as many token issues) on warden.
    #[arg(long, default_value_t = Samples::WARDEN.credentials)]
    sign_ins: usize,
    /// ... on the baseline.
    #[arg(long, default_value_t = Samples::BASELINE.credentials)]
    baseline_sign_ins: usize,
    /// POST /check requests while idle, on each server.
    #[arg(long, default_value_t = Samples::WARDEN.checks)]
    checks: usize,
    /// One-shot `warden check`, `user assign` and `user revoke` runs against warden's store.
    #[arg(long, default_value_t = Samples::WARDEN.cli_runs)]
    cli_runs: usize,
    /// ... against the baseline's.
    #[arg(long, default_value_t = Samples::BASELINE.cli_runs)]
    baseline_cli_runs: usize,
    /// Writes in all (N) on warden before the last resident-set reading (the first is at N/2).
    #[arg(long, default_value_t = Samples::WARDEN.rss_writes)]
    rss_writes: u64,
    /// ... on the baseline.
    #[arg(long, default_value_t = Samples::BASELINE.rss_writes)]
    baseline_rss_writes: u64,
    /// Clients writing towards N on warden.
    #[arg(long, default_value_t = Samples::WARDEN.rss_clients)]
    rss_clients: usize,
    /// ... on the baseline (one: concurrent writers stall it).
    #[arg(long, default_value_t = Samples::BASELINE.rss_clients)]
    baseline_rss_clients: usize,
    /// No progress messages on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn writes(a: WritesArgs) -> Result<()> {
    let warden = match a.warden {
        Some(p) => p,
        None => WritesConfig::warden_beside_me().ok_or_else(|| anyhow::anyhow!("no `warden` beside this executable: build it (cargo build --release -p warden) or pass --warden PATH"))?,
    };
    let mut config = WritesConfig::new(warden, a.scale);
    config.seed = a.seed;
    config.clients = a.clients.max(1);
    config.concurrent = Duration::from_secs_f64(a.concurrent_s.max(0.1));
    config.holders = a.holders;
    config.rounds = a.rounds.max(1);
    config.budget = Duration::from_secs(a.budget_s);
    config.rss_budget = Duration::from_secs(a.rss_budget_s);
    config.request_timeout = Duration::from_secs(a.timeout_s.max(1));
    config.samples = [
        Samples { assigns: a.assigns, role_edits: a.role_edits, credentials: a.sign_ins, checks: a.checks, cli_runs: a.cli_runs, rss_writes: a.rss_writes, rss_clients: a.rss_clients.max(1) },
        Samples {
            assigns: a.baseline_assigns,
            role_edits: a.baseline_role_edits,
            credentials: a.baseline_sign_ins,
            checks: a.checks,
            cli_runs: a.baseline_cli_runs,
            rss_writes: a.baseline_rss_writes,
            rss_clients: a.baseline_rss_clients.max(1),
        },
    ];
    config.verbose = !a.quiet;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = runtime.block_on(async {
        // Dropping the run kills its servers and removes its directory.
        tokio::select! {
            r = run_writes(&config) => Ok(r?),
            s = interrupted() => Err(anyhow::anyhow!("interrupted by {s}: servers stopped, temporary files removed")),
        }
    })?;
    print!("{}", warden_bench::writes::to_table(&report));
    if let Some(path) = a.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        eprintln!("raw figures: {}", path.display());
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn interrupted() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "Ctrl-C";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    }
}

#[derive(Debug, clap::Args)]
struct SodArgs {
    /// Model size: small or d365.
    #[arg(long, default_value = "d365")]
    scale: Scale,
    /// Seed of the model, the rules and the samples.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// SoD rules generated.
    #[arg(long, default_value_t = 1_000)]
    rules: usize,
    /// Full verifications timed (the median is reported).
    #[arg(long, default_value_t = 3)]
    verify_runs: usize,
    /// Users given one extra assignment and re-checked.
    #[arg(long, default_value_t = 10_000)]
    rechecks: usize,
    /// Users the naive scan checks (timed; the full scan is extrapolated from them).
    #[arg(long, default_value_t = 2_000)]
    naive_sample: usize,
    /// Re-checked users the naive scan checks too.
    #[arg(long, default_value_t = 500)]
    naive_rechecks: usize,
    /// Users compared with warden_engine::sod::reference (about 10 s each at d365, on all cores).
    #[arg(long, default_value_t = 40)]
    reference_sample: usize,
    /// Longest the naive scan may run, in seconds; it stops early and says so.
    #[arg(long, default_value_t = 120)]
    budget_s: u64,
    /// Longest the reference may run, in seconds; it stops early and says so.
    #[arg(long, default_value_t = 240)]
    reference_budget_s: u64,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// No progress messages on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(Command::Writes(a)) = args.command {
        return writes(a);
    }
    if let Some(Command::Pages(a)) = args.command {
        return pages(a);
    }
    if let Some(Command::Sod(a)) = args.command {
        let mut config = SodConfig::new(a.scale);
        config.seed = a.seed;
        config.rules = a.rules;
        config.verify_runs = a.verify_runs;
        config.rechecks = a.rechecks;
        config.naive_sample = a.naive_sample;
        config.naive_rechecks = a.naive_rechecks;
        config.reference_sample = a.reference_sample;
        config.budget = Duration::from_secs(a.budget_s);
        config.reference_budget = Duration::from_secs(a.reference_budget_s);
        config.verbose = !a.quiet;
        let report = run_sod(&config)?;
        if a.json {
            println!("{}", sod::to_json(&report));
        } else {
            print!("{}", sod::to_table(&report));
        }
        return Ok(());
    }
    let mut config = Config::new(args.scale);
    config.seed = args.seed;
    config.checks = args.checks;
    config.agreement_sample = args.agreement_sample;
    config.cedar_checks = args.cedar_checks;
    config.casbin_sample = args.casbin_sample;
    config.budget = Duration::from_secs(args.budget_s);
    if let Some(engines) = args.engines {
        config.engines = engines;
    }
    config.verbose = !args.quiet;
    let report = run(&config)?;
    if args.json {
        println!("{}", report::to_json(&report));
    } else {
        print!("{}", report::to_table(&report));
    }
    Ok(())
}
