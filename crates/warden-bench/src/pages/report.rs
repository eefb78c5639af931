//! What a `pages` run measured: every sample (JSON), and one table of the
//! pages beside their API peers against issue 16's 200 ms.

pub use crate::writes::report::Latencies;
use serde::Serialize;
use std::fmt::Write as _;

/// Issue 16: at d365 scale every page renders in at most this long on the server.
pub const TARGET_MS: f64 = 200.0;

/// What became of one page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Measured,
    /// 404 on a page still being written on another branch.
    NotOnThisBuild,
    /// A failed request or an unexpected status: the run exits non-zero.
    Error(String),
}

/// One page and its peer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PageFigures {
    pub page: String,
    pub outcome: Outcome,
    /// Bytes of the last warm-up's answer.
    pub page_bytes: usize,
    pub page_latency: Latencies,
    /// The API request that serves the same data, if there is one.
    pub peer: Option<String>,
    pub peer_bytes: Option<usize>,
    pub peer_latency: Option<Latencies>,
    /// The peer failed (the page's figures still stand).
    pub peer_error: Option<String>,
}

impl PageFigures {
    /// Page p50 / peer p50.
    pub fn ratio(&self) -> Option<f64> {
        let r = self.page_latency.p50_ms? / self.peer_latency.as_ref()?.p50_ms?;
        r.is_finite().then_some(r)
    }

    /// Whether every sample's p99 is within the target (none: not measured).
    pub fn within_target(&self) -> Option<bool> {
        Some(self.page_latency.p99_ms? <= TARGET_MS)
    }
}

/// The names the pages are about, and the dataset around them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PickedNames {
    pub users: usize,
    pub roles: usize,
    pub assignments: usize,
    /// The role `writes` edits: the one most users hold, topped up.
    pub role: String,
    pub role_holders: usize,
    pub duty: String,
    /// Searched for on `/security?kind=duty`.
    pub duty_text: String,
    pub privilege: String,
    /// A direct holder of the role with the most assignments.
    pub user: String,
    pub user_assignments: usize,
    pub user_permissions: usize,
    /// Searched for on `/users?enabled=no`.
    pub user_text: String,
    /// One the user has, and the access checked on it.
    pub entry_point: String,
    pub access: String,
}

/// The whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PagesReport {
    pub scale: String,
    pub seed: u64,
    pub cores: usize,
    pub git_revision: Option<String>,
    pub warden_binary: String,
    pub samples: usize,
    pub warmups: usize,
    pub names: PickedNames,
    pub import_s: f64,
    pub start_to_ready_s: f64,
    pub pages: Vec<PageFigures>,
    /// The server's resident set after the last page.
    pub server_rss_mib: Option<f64>,
    pub total_s: f64,
}

impl PagesReport {
    /// Pages or peers that failed, as text.
    pub fn errors(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.pages {
            if let Outcome::Error(e) = &p.outcome {
                out.push(format!("{}: {e}", p.page));
            }
            if let Some(e) = &p.peer_error {
                out.push(format!("{} (peer): {e}", p.page));
            }
        }
        out
    }
}

fn ms(x: Option<f64>) -> String {
    match x {
        None => "—".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

/// The table people read.
pub fn to_table(r: &PagesReport) -> String {
    let n = &r.names;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nwarden-bench pages: scale {}, seed {}, {} users, {} roles, {} assignments; {} cores; revision {}\n\
         role {} ({} holders), user {} ({} assignments, {} permissions), duty {}, privilege {}, entry point {} ({})\n\
         {} samples per page and per peer, interleaved, after {} warm-ups; wall time on loopback\n",
        r.scale,
        r.seed,
        n.users,
        n.roles,
        n.assignments,
        r.cores,
        r.git_revision.as_deref().unwrap_or("unknown"),
        n.role,
        n.role_holders,
        n.user,
        n.user_assignments,
        n.user_permissions,
        n.duty,
        n.privilege,
        n.entry_point,
        n.access,
        r.samples,
        r.warmups,
    );
    let page_width = r.pages.iter().map(|p| p.page.chars().count()).max().unwrap_or(4).max(4);
    let peer_width = r.pages.iter().filter_map(|p| p.peer.as_ref()).map(|p| p.chars().count()).max().unwrap_or(8).max(8);
    let _ = writeln!(out, "{:page_width$}  {:>8}  {:>8}  {:peer_width$}  {:>9}  {:>10}  p99 ≤ {TARGET_MS:.0} ms?", "page", "p50 ms", "p99 ms", "API peer", "peer p50", "page/peer");
    for p in &r.pages {
        let peer = p.peer.as_deref().unwrap_or("—");
        let (p50, p99, peer_p50, ratio, met) = match &p.outcome {
            Outcome::Measured => (
                ms(p.page_latency.p50_ms),
                ms(p.page_latency.p99_ms),
                match (&p.peer_latency, &p.peer_error) {
                    (_, Some(_)) => "error".into(),
                    (Some(l), None) => ms(l.p50_ms),
                    (None, None) => "—".into(),
                },
                p.ratio().map_or("—".into(), |x| format!("{x:.1}×")),
                match p.within_target() {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "—",
                },
            ),
            Outcome::NotOnThisBuild => ("—".into(), "—".into(), "—".into(), "—".into(), "not on this build"),
            Outcome::Error(_) => ("—".into(), "—".into(), "—".into(), "—".into(), "ERROR"),
        };
        let _ = writeln!(out, "{:page_width$}  {p50:>8}  {p99:>8}  {peer:peer_width$}  {peer_p50:>9}  {ratio:>10}  {met}", p.page);
    }
    let over: Vec<&str> = r.pages.iter().filter(|p| p.within_target() == Some(false)).map(|p| p.page.as_str()).collect();
    let _ = writeln!(out, "\nover {TARGET_MS:.0} ms at p99: {}", if over.is_empty() { "none".to_string() } else { over.join(", ") });
    for e in r.errors() {
        let _ = writeln!(out, "error: {e}");
    }
    let _ = writeln!(out, "server RSS after the run: {} MiB; total {:.0} s", ms(r.server_rss_mib), r.total_s);
    out
}
