//! The `warden` processes the benchmark runs: one-shot commands and the two
//! `warden serve` children, which die with the benchmark (dropped, failed or
//! interrupted) so that no server outlives a run.

use super::WritesError;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How to run `warden` against one store.
#[derive(Debug, Clone)]
pub struct Warden {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    /// Extra environment: `WARDEN_WRITE_PATH=reload` for the baseline.
    pub env: Vec<(String, String)>,
}

impl Warden {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.binary);
        c.arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("WARDEN_DATA_DIR")
            .env_remove("WARDEN_DATABASE_URL")
            .env_remove("WARDEN_WRITE_PATH")
            .env_remove("WARDEN_NO_SERVER")
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Runs `warden --data-dir DIR ARGS...`; `ok` lists the exit codes that
    /// are answers (`check` exits 1 for deny). Returns stdout and the wall time,
    /// process start included.
    pub async fn run(&self, args: &[&str], ok: &[i32]) -> Result<(String, Duration), WritesError> {
        let what = format!("warden {}", args.join(" "));
        let started = Instant::now();
        let out = self.command().args(args).output().await.map_err(|source| WritesError::Spawn { what: what.clone(), source })?;
        let wall = started.elapsed();
        match out.status.code() {
            Some(code) if ok.contains(&code) => Ok((String::from_utf8_lossy(&out.stdout).into_owned(), wall)),
            code => Err(WritesError::Command { what, code, stderr: String::from_utf8_lossy(&out.stderr).trim().to_string() }),
        }
    }

    /// Starts `warden serve` on a free loopback port and waits until it
    /// answers `/readyz`; the time from spawn to that answer is its start.
    pub async fn serve(&self, name: &str, admin_password: &str) -> Result<Server, WritesError> {
        let started = Instant::now();
        let mut child = self
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("WARDEN_ADMIN_PASSWORD", admin_password)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| WritesError::Spawn { what: format!("warden serve ({name})"), source })?;
        let pid = child.id().unwrap_or_default();
        let stdout = child.stdout.take().ok_or_else(|| WritesError::Server { name: name.into(), detail: "no stdout pipe".into() })?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next_line().await {
                Ok(Some(line)) => {
                    if let Some(rest) = line.strip_prefix("Warden listening on ") {
                        break rest.split_whitespace().next().unwrap_or_default().to_string();
                    }
                }
                Ok(None) | Err(_) => {
                    let status = child.wait().await.ok();
                    return Err(WritesError::Server { name: name.into(), detail: format!("exited before listening ({status:?}); its stderr is above") });
                }
            }
        };
        // Keep draining stdout so that the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let mut server = Server { name: name.to_string(), base, pid, child: Some(child), start_to_ready: Duration::ZERO };
        server.start_to_ready = server.wait_ready(started).await?;
        Ok(server)
    }
}

/// A running `warden serve`, killed when dropped.
#[derive(Debug)]
pub struct Server {
    pub name: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub pid: u32,
    child: Option<Child>,
    pub start_to_ready: Duration,
}

impl Server {
    async fn wait_ready(&self, started: Instant) -> Result<Duration, WritesError> {
        let client = reqwest::Client::new();
        let url = format!("{}/readyz", self.base);
        for _ in 0..30_000 {
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(WritesError::Server { name: self.name.clone(), detail: "never became ready".into() })
    }

    /// Asks the server to finish (SIGTERM, as an operator would) and waits;
    /// kills it when it has not ended within `grace`.
    pub async fn stop(mut self, grace: Duration) -> Result<(), WritesError> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status().await;
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
        Ok(())
    }

    /// Resident set size, from `/proc/PID/status`.
    pub fn rss_mib(&self) -> Option<f64> {
        status_field(self.pid, "VmRSS:")
    }

    /// The most the resident set has been.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        status_field(self.pid, "VmHWM:")
    }

    /// User and system CPU time so far, in clock ticks (`/proc/PID/stat`).
    pub fn cpu_ticks(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // Fields after the parenthesized command name; utime and stime are the 14th and 15th.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

fn status_field(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}

/// Waits until none of the servers burns CPU any more (under a fifth of a
/// core over a quarter second), for at most `limit`: a server still
/// reloading after the last phase would slow down the next one, whichever
/// server it measures. Returns how long it waited.
pub async fn wait_quiet(servers: &[&Server], limit: Duration) -> Duration {
    let started = Instant::now();
    let window = Duration::from_millis(250);
    // Clock ticks per second: 100 on every Linux this runs on.
    let busy = (100.0 * window.as_secs_f64() * 0.2) as u64;
    while started.elapsed() < limit {
        let before: Vec<Option<u64>> = servers.iter().map(|s| s.cpu_ticks()).collect();
        tokio::time::sleep(window).await;
        let after: Vec<Option<u64>> = servers.iter().map(|s| s.cpu_ticks()).collect();
        let quiet = before.iter().zip(&after).all(|(b, a)| match (b, a) {
            (Some(b), Some(a)) => a.saturating_sub(*b) <= busy,
            _ => true,
        });
        if quiet {
            break;
        }
    }
    started.elapsed()
}

/// Copies the store directory (the SQLite file and its journal, if any) to `to`.
pub fn copy_store(from: &Path, to: &Path) -> Result<(), WritesError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WritesError::Io { path, source }
    };
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        if entry.file_type().map_err(io(&entry.path()))?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(io(&entry.path()))?;
        }
    }
    Ok(())
}
