//! Rendering a [`Report`]: a table for people, one JSON object for scripts.

use crate::run::{EngineKind, Report};
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

fn number(x: f64) -> Value {
    if x.is_finite() { json!((x * 1000.0).round() / 1000.0) } else { Value::Null }
}

/// `{"scale": .., "checks": .., "engines": {"warden": {...}, ...}}`.
pub fn to_json(report: &Report) -> Value {
    let mut engines = Map::new();
    for e in &report.engines {
        engines.insert(
            e.kind.name().to_string(),
            json!({
                "p50_ns": number(e.p50_ns),
                "p99_ns": number(e.p99_ns),
                "checks_per_s": number(e.checks_per_s),
                "each": e.each.map_or(Value::Null, |x| json!({
                    "checks": x.checks,
                    "p50_ns": number(x.p50_ns),
                    "p99_ns": number(x.p99_ns),
                    "p999_ns": number(x.p999_ns),
                })),
                "build_ms": number(e.build_ms),
                "rss_mib": e.rss_mib.map_or(Value::Null, number),
                "heap_mib": number(e.heap_mib),
                "heap_peak_mib": number(e.heap_peak_mib),
                "agreement": number(e.agreement),
                "sampled": e.sampled,
                "disagreed": e.disagreed,
                "timed": e.timed,
                "batch": e.batch,
                "cut_by_budget": e.cut_by_budget,
                "prepare_ns": number(e.prepare_ns),
                "errors": e.errors,
                "disagreements": e.disagreements.iter().map(|d| json!({
                    "index": d.index,
                    "request": d.request.to_string(),
                    "engine": d.engine,
                    "warden": d.warden,
                    "reference": d.reference,
                })).collect::<Vec<_>>(),
            }),
        );
    }
    json!({
        "scale": report.scale.as_str(),
        "seed": report.seed,
        "checks": report.checks,
        "allowed_share": number(report.allowed_share),
        "generate_ms": number(report.generate_ms),
        "engines": engines,
    })
}

pub(crate) fn human_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "-".to_string()
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

pub(crate) fn ratio(x: f64) -> String {
    if !x.is_finite() {
        "-".to_string()
    } else if x >= 100.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.2}×")
    }
}

/// The table, the ratios to Warden, and every disagreement.
pub fn to_table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scale {}, seed {}, {} requests, Warden allows {:.1}%\n",
        report.scale,
        report.seed,
        report.checks,
        report.allowed_share * 100.0
    );
    let _ = writeln!(
        out,
        "{:<15} {:>10} {:>10} {:>10} {:>10} {:>12} {:>10} {:>9} {:>9} {:>10} {:>9} {:>9} {:>6} {:>10}",
        "engine", "p50", "p99", "p50 each", "p99 each", "checks/s", "build ms", "RSS MiB", "heap MiB", "agreement", "sampled", "timed", "batch", "prepare"
    );
    for e in &report.engines {
        let _ = writeln!(
            out,
            "{:<15} {:>10} {:>10} {:>10} {:>10} {:>12.0} {:>10.0} {:>9} {:>9.1} {:>9.4}% {:>9} {:>9}{} {:>6} {:>10}",
            e.kind.name(),
            human_ns(e.p50_ns),
            human_ns(e.p99_ns),
            human_ns(e.each.map_or(f64::NAN, |x| x.p50_ns)),
            human_ns(e.each.map_or(f64::NAN, |x| x.p99_ns)),
            e.checks_per_s,
            e.build_ms,
            e.rss_mib.map_or("-".to_string(), |r| format!("{r:.1}")),
            e.heap_mib,
            e.agreement * 100.0,
            e.sampled,
            e.timed,
            if e.cut_by_budget { "*" } else { " " },
            e.batch,
            human_ns(e.prepare_ns),
        );
    }
    if report.engines.iter().any(|e| e.cut_by_budget) {
        let _ = writeln!(out, "  * cut short by the time budget");
    }
    if let Some(w) = report.engine(EngineKind::Warden) {
        let _ = writeln!(out, "\nratios to warden (engine / warden; above 1 means slower than Warden):");
        for e in report.engines.iter().filter(|e| e.kind != EngineKind::Warden) {
            let _ = writeln!(
                out,
                "  {:<15} p50 {:>11}   p99 {:>11}   mean {:>11}",
                e.kind.name(),
                ratio(e.p50_ns / w.p50_ns),
                ratio(e.p99_ns / w.p99_ns),
                ratio(w.checks_per_s / e.checks_per_s),
            );
        }
    }
    for e in report.engines.iter().filter(|e| !e.disagreements.is_empty() || e.errors > 0) {
        let _ = writeln!(out, "\n{}: {} errors; first disagreements:", e.kind.name(), e.errors);
        for d in &e.disagreements {
            let _ = writeln!(
                out,
                "  #{} {}: {} says {}, warden {}, reference {}",
                d.index,
                d.request,
                e.kind.name(),
                d.engine,
                d.warden,
                d.reference
            );
        }
    }
    out
}
