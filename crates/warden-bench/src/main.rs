//! `warden-bench`: see the crate README.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::time::Duration;
use warden_bench::sod::{run_sod, SodConfig};
use warden_bench::{report, run, sod, Config, EngineKind};
use warden_gen::Scale;

/// Benchmarks Warden's access check against a hash map, cedar-policy, casbin and
/// the reference evaluator, on one generated model and one request stream.
/// `warden-bench sod` benchmarks the segregation-of-duties analysis instead.
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
