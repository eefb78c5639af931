//! `warden-bench pages` at small scale, with this build's `warden`: the whole
//! benchmark runs (dataset, import, one server, sign-in through the console's
//! form and the API) and measures every console page beside its API peer.
//! No timing is asserted here; figures are for the release binary at d365
//! (`warden-bench pages`, crates/warden-bench/README.md). It lives in this
//! crate because it needs this crate's binary (`CARGO_BIN_EXE_warden`).

use std::path::PathBuf;
use warden_bench::pages::{report::Outcome, run_pages, to_table, PagesConfig};

/// Pages being written on other branches: absent (404) is "not on this build".
const OPTIONAL: [&str; 5] = ["/rules", "/sessions/temporary", "/sessions/privileged", "/webhooks", "/settings"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_benchmark_measures_every_console_page_and_its_peer() {
    let config = PagesConfig::smoke(PathBuf::from(env!("CARGO_BIN_EXE_warden")));
    let report = run_pages(&config).await.unwrap_or_else(|e| panic!("warden-bench pages failed: {e}"));
    let table = to_table(&report);
    // Seen with --nocapture; asserted on below only through the report.
    eprintln!("{table}");
    assert!(report.errors().is_empty(), "{:?}\n{table}", report.errors());
    // The names the pages are about come from the dataset and the API.
    let n = &report.names;
    for (what, name) in [("role", &n.role), ("duty", &n.duty), ("privilege", &n.privilege), ("user", &n.user), ("entry point", &n.entry_point)] {
        assert!(!name.is_empty(), "no {what} picked\n{table}");
    }
    assert_eq!(n.role_holders, config.holders, "the role was not topped up\n{table}");
    for page in ["/", "/security", "/users", "/sod/similarity", "/audit?actor=admin"] {
        assert!(report.pages.iter().any(|p| p.page == page), "{page} not measured\n{table}");
    }
    for p in &report.pages {
        let optional = OPTIONAL.contains(&p.page.as_str());
        match p.outcome {
            Outcome::Measured => {}
            Outcome::NotOnThisBuild => assert!(optional, "{} is not optional, yet counted absent\n{table}", p.page),
            Outcome::Error(ref e) => panic!("{}: {e}\n{table}", p.page),
        }
        if p.outcome == Outcome::Measured {
            assert_eq!(p.page_latency.count, config.samples, "{}\n{table}", p.page);
            assert!(p.page_bytes > 500, "{}: {} bytes is no page\n{table}", p.page, p.page_bytes);
            if p.peer.is_some() {
                assert_eq!(p.peer_latency.as_ref().map(|l| l.count), Some(config.samples), "{} peer\n{table}", p.page);
            }
        }
    }
    // The JSON holds every sample.
    let json = serde_json::to_value(&report).expect("the report serializes");
    assert_eq!(json["pages"][1]["page_latency"]["samples_ms"].as_array().map(Vec::len), Some(config.samples));
}
