//! Running the real `warden` binary against a temporary data directory, as a
//! user would from the README.

#![allow(dead_code)]

use sqlx::Connection;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

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

/// A running `warden serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `warden STORE... serve` on a free loopback port with `env` and waits
/// for its "listening" line; `store` is `--data-dir DIR` or `--database-url URL`.
pub fn serve(store: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(store)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("WARDEN_DATA_DIR")
        .env_remove("WARDEN_DATABASE_URL")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("warden serve starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("warden serve printed its address").expect("readable stdout");
        if let Some(rest) = line.strip_prefix("Warden listening on ") {
            break rest.split_whitespace().next().expect("an address").to_string();
        }
    };
    // Keep draining stdout so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

/// A fresh database on the PostgreSQL test server, or `None` (skipped, said
/// why) without one — unless `WARDEN_REQUIRE_POSTGRES=1`, where it fails.
pub async fn fresh_database(label: &str) -> Option<(sqlx::PgConnection, String, String)> {
    let (url, name) = warden_store::testing::fresh_postgres_database(label).await?;
    let admin = sqlx::PgConnection::connect(&warden_store::testing::postgres_server()).await.expect("the test server");
    Some((admin, name, url))
}

/// Runs `;`-separated SQL on the SQLite store file directly, bypassing Warden,
/// as someone with access to the database would.
pub fn tamper(data: &Path, sql: &str) {
    let url = format!("sqlite://{}", data.join("warden.db").display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open the store file");
        for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
            sqlx::query(statement).execute(&mut conn).await.expect("tamper");
        }
        conn.close().await.expect("close the store file");
    });
}
