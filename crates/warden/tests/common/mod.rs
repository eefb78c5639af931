//! Running the real `warden` binary against a temporary data directory, as a
//! user would from the README.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub const XPPTOOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/aot/xpptools");

/// Runs `warden --data-dir DIR ARGS...` with a clean environment.
pub fn warden(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("WARDEN_DATA_DIR")
        .env_remove("WARDEN_DATABASE_URL")
        .env_remove("WARDEN_WEBHOOK_KEY")
        .env_remove("WARDEN_WEBHOOK_ALLOW_PRIVATE")
        .env("USER", "tester")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the warden binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and insists on exit status 0; returns standard output.
pub fn ok(data: &Path, args: &[&str]) -> String {
    let o = warden(data, args);
    assert_eq!(o.status.code(), Some(0), "warden {args:?} failed:\n{}\n{}", stdout(&o), stderr(&o));
    stdout(&o)
}

/// Runs a command that must fail with exit status 2; returns its stderr.
pub fn refused(data: &Path, args: &[&str]) -> String {
    let o = warden(data, args);
    assert_eq!(o.status.code(), Some(2), "warden {args:?} should fail: {}", stdout(&o));
    stderr(&o)
}

/// Runs with `--json` and parses what it prints.
pub fn json(data: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let o = warden(data, &all);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("warden {all:?} printed no JSON ({e}):\n{}\n{}", stdout(&o), stderr(&o)))
}
