//! `warden-bench writes` at small scale, with this build's `warden`: the whole
//! benchmark runs (dataset, import, two servers, every phase) and measures
//! every row it reports. No timing is asserted here; figures are for the
//! release binary (`warden-bench writes`, crates/warden-bench/README.md).

use std::path::PathBuf;
use warden_bench::writes::{metrics, run_writes, to_table, WritesConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writes_benchmark_runs_and_measures_every_row() {
    let config = WritesConfig::smoke(PathBuf::from(env!("CARGO_BIN_EXE_warden")));
    let report = run_writes(&config).await.unwrap_or_else(|e| panic!("warden-bench writes failed: {e}"));
    let table = to_table(&report);
    for m in metrics(&report) {
        assert!(m.warden.is_some_and(f64::is_finite), "warden: no figure for {:?}\n{table}", m.name);
        assert!(m.baseline.is_some_and(f64::is_finite), "baseline: no figure for {:?}\n{table}", m.name);
    }
    for s in [&report.warden, &report.baseline] {
        let ryw = &s.read_your_writes;
        assert!(ryw.checked > 0, "{}: read-your-writes never checked\n{table}", s.name);
        assert_eq!(ryw.violations, 0, "{}: a check right after a write did not see it\n{table}", s.name);
        assert_eq!(s.single_errors + s.role_edits.errors + s.auth_errors + s.check_errors, 0, "{}: requests failed\n{table}", s.name);
        assert!(s.concurrent.committed > 0, "{}: the concurrent writers committed nothing\n{table}", s.name);
        assert!(s.cut_by_budget.is_empty(), "{}: cut by the time budget: {:?}\n{table}", s.name, s.cut_by_budget);
    }
    // The JSON holds the raw figures of both servers.
    let json = serde_json::to_value(&report).expect("the report serializes");
    assert_eq!(json["warden"]["assign"]["samples_ms"].as_array().map(Vec::len), Some(report.warden.assign.count));
    assert!(json["password_hash"]["params"].as_str().is_some_and(|p| p.contains("m=")), "{}", json["password_hash"]);
}
