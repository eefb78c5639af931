//! `warden-bench`: see the crate README.

use anyhow::Result;
use clap::Parser;
use std::time::Duration;
use warden_bench::{report, run, Config, EngineKind};
use warden_gen::Scale;

/// Benchmarks Warden's access check against a hash map, cedar-policy, casbin and
/// the reference evaluator, on one generated model and one request stream.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
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

fn main() -> Result<()> {
    let args = Args::parse();
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
