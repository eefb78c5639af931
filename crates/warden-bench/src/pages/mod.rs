//! `warden-bench pages`: the web console's pages at scale (issue 16: "at
//! d365 scale every page renders in ≤ 200 ms on the server").
//!
//! One run, one machine, one server: the dataset of `writes` (same `warden
//! gen`, same import, the role most users hold topped up to `--holders`),
//! one `warden serve`, a browser-like client signed in through the
//! console's own form, and beside it an API client signed in with
//! `POST /api/v1/auth/login`. Every page is fetched `samples` times after
//! `warmups`, each sample followed by one of the API request that serves
//! the same data (its *peer*), so that a noisy second on a shared machine
//! falls on both. Time is the client's wall time on loopback, from sending
//! the request to having read the whole answer. See the crate README,
//! "Console pages".

pub mod report;

use crate::writes::proc::{Server, Warden};
use crate::writes::{generate_dataset, git_revision, import_dataset, plan, WritesError, ADMIN, ADMIN_PASSWORD};
pub use report::{to_table, PageFigures, PagesReport, PickedNames};
use report::{Latencies, Outcome};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use warden_gen::Scale;

/// What to run.
#[derive(Debug, Clone)]
pub struct PagesConfig {
    /// The `warden` binary.
    pub warden: PathBuf,
    pub scale: Scale,
    pub seed: u64,
    /// Timed fetches of each page (and as many of its peer).
    pub samples: usize,
    /// Untimed fetches of each first.
    pub warmups: usize,
    /// Users the role of the role pages reaches (topped up as `writes` does).
    pub holders: usize,
    /// A request unanswered after this long is an error.
    pub request_timeout: Duration,
    /// Progress on stderr.
    pub verbose: bool,
}

impl PagesConfig {
    pub fn new(warden: PathBuf, scale: Scale) -> PagesConfig {
        PagesConfig { warden, scale, seed: 42, samples: 30, warmups: 3, holders: 5_000, request_timeout: Duration::from_secs(60), verbose: false }
    }

    /// Every page, a few samples each, at `small` scale: seconds, for tests.
    pub fn smoke(warden: PathBuf) -> PagesConfig {
        PagesConfig { samples: 3, warmups: 1, holders: 100, ..PagesConfig::new(warden, Scale::Small) }
    }
}

/// One page of the console and the API request that serves the same data.
#[derive(Debug, Clone)]
struct Target {
    page: String,
    peer: Option<String>,
    /// Being written on other branches: a 404 means "not on this build", not an error.
    optional: bool,
}

fn say(config: &PagesConfig, message: impl AsRef<str>) {
    if config.verbose {
        eprintln!("[pages] {}", message.as_ref());
    }
}

/// Percent-encodes a path segment or a query value.
fn enc(s: &str) -> String {
    crate::writes::http::segment(s)
}

/// Runs the whole benchmark. The server is killed and the temporary
/// directory removed when it returns, fails, or its future is dropped.
pub async fn run_pages(config: &PagesConfig) -> Result<PagesReport, WritesError> {
    let run_started = Instant::now();
    let work = tempfile::Builder::new().prefix("warden-bench-pages-").tempdir().map_err(|source| WritesError::Io { path: std::env::temp_dir(), source })?;
    let root = work.path();
    let cli = Warden { binary: config.warden.clone(), data_dir: root.join("store"), env: Vec::new() };
    let mut report = PagesReport {
        scale: config.scale.as_str().to_string(),
        seed: config.seed,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        git_revision: git_revision(&config.warden),
        warden_binary: config.warden.display().to_string(),
        samples: config.samples,
        warmups: config.warmups,
        ..PagesReport::default()
    };

    say(config, format!("generating the {} dataset", config.scale));
    let generated = generate_dataset(&cli, root, config.scale, config.seed).await?;
    // The same model in-process: the role `writes` edits, topped up to `holders`, and the
    // user of the user pages, a direct holder of that role with the most assignments.
    let (scale, seed, holders) = (config.scale, config.seed, config.holders);
    let picked = tokio::task::spawn_blocking(move || pick_in_model(scale, seed, holders)).await.map_err(|e| WritesError::Plan(e.to_string()))?;
    let (names, extra) = picked?;
    report.names = names;
    say(config, "importing into a fresh SQLite store");
    let t = Instant::now();
    import_dataset(&cli, root, &generated, &extra).await?;
    report.import_s = t.elapsed().as_secs_f64();

    // The first start creates the bootstrap administrator; the measured server is the second.
    let first = cli.serve("warden", ADMIN_PASSWORD).await?;
    first.stop(Duration::from_secs(30)).await?;
    let server = cli.serve("warden", ADMIN_PASSWORD).await?;
    report.start_to_ready_s = server.start_to_ready.as_secs_f64();
    let console = Client::console(&server, config.request_timeout).await?;
    let api = Client::api(&server, config.request_timeout).await?;
    pick_through_api(&api, &mut report.names).await?;

    let targets = targets(&report.names);
    for t in &targets {
        say(config, format!("{} (peer {})", t.page, t.peer.as_deref().unwrap_or("none")));
        report.pages.push(measure(&console, &api, t, config).await);
    }
    report.server_rss_mib = server.rss_mib();
    report.total_s = run_started.elapsed().as_secs_f64();
    drop(server);
    Ok(report)
}

/// The pages, in the order of the navigation, each with its peer.
fn targets(n: &PickedNames) -> Vec<Target> {
    let t = |page: String, peer: Option<String>| Target { page, peer, optional: false };
    let user = enc(&n.user);
    let explain = format!("user={user}&entry_point={}&access={}", enc(&n.entry_point), enc(&n.access));
    let mut v = vec![
        t("/".into(), None),
        t("/security".into(), Some("/api/v1/roles?limit=50".into())),
        t(format!("/security?kind=duty&q={}", enc(&n.duty_text)), Some(format!("/api/v1/duties?limit=50&q={}", enc(&n.duty_text)))),
        t(format!("/security/tree/role/{}", enc(&n.role)), Some(format!("/api/v1/roles/{}", enc(&n.role)))),
        t(format!("/security/role/{}", enc(&n.role)), Some(format!("/api/v1/roles/{}/layers", enc(&n.role)))),
        t(format!("/security/privilege/{}", enc(&n.privilege)), Some(format!("/api/v1/privileges/{}/layers", enc(&n.privilege)))),
        t("/users".into(), Some("/api/v1/users?limit=50".into())),
        // The API lists no users by role.
        t(format!("/users?role={}", enc(&n.role)), None),
        // The API filters by text only, not by enabled.
        t(format!("/users?q={}&enabled=no", enc(&n.user_text)), Some(format!("/api/v1/users?limit=50&q={}", enc(&n.user_text)))),
        t(format!("/users/{user}"), Some(format!("/api/v1/users/{user}"))),
        t(format!("/users/{user}/view"), Some(format!("/api/v1/users/{user}/permissions"))),
        t(format!("/users/{user}/view?entry_point={}&access={}", enc(&n.entry_point), enc(&n.access)), Some(format!("/api/v1/explain?{explain}"))),
        t(format!("/check?{explain}"), Some(format!("/api/v1/explain?{explain}"))),
        t("/sod".into(), Some("/api/v1/sod/rules?limit=50".into())),
        t("/sod/conflicts".into(), Some("/api/v1/sod/conflicts".into())),
        t("/sod/roles".into(), Some("/api/v1/sod/roles".into())),
        t("/sod/similarity".into(), Some("/api/v1/sod/similarity".into())),
        t("/audit".into(), Some("/api/v1/audit?limit=50".into())),
        t("/audit?actor=admin".into(), Some("/api/v1/audit?limit=50&actor=admin".into())),
    ];
    for (page, peer) in [
        ("/rules", "/api/v1/assignment-rules?limit=50"),
        ("/sessions/temporary", "/api/v1/sessions/temp"),
        ("/sessions/privileged", "/api/v1/sessions/privileged"),
        ("/webhooks", "/api/v1/webhooks"),
        ("/settings", "/api/v1/sessions/settings"),
    ] {
        v.push(Target { page: page.into(), peer: Some(peer.into()), optional: true });
    }
    v
}

/// Warm-ups, then page and peer in turn (A B A B ...).
async fn measure(console: &Client, api: &Client, t: &Target, config: &PagesConfig) -> PageFigures {
    let mut f = PageFigures { page: t.page.clone(), peer: t.peer.clone(), ..PageFigures::default() };
    for _ in 0..config.warmups.max(1) {
        let (page, _) = console.get(&t.page).await;
        match page {
            Err(e) => {
                f.outcome = Outcome::Error(e);
                return f;
            }
            Ok((404, _)) if t.optional => {
                f.outcome = Outcome::NotOnThisBuild;
                return f;
            }
            Ok((s, _)) if !(200..300).contains(&s) => {
                f.outcome = Outcome::Error(format!("GET {} answered {s}", t.page));
                return f;
            }
            Ok((_, bytes)) => f.page_bytes = bytes,
        }
        if let Some(peer) = &t.peer {
            match api.get(peer).await.0 {
                Ok((s, bytes)) if (200..300).contains(&s) => f.peer_bytes = Some(bytes),
                Ok((s, _)) => f.peer_error = Some(format!("GET {peer} answered {s}")),
                Err(e) => f.peer_error = Some(e),
            }
        }
    }
    let (mut page_ms, mut peer_ms) = (Vec::with_capacity(config.samples), Vec::with_capacity(config.samples));
    for _ in 0..config.samples {
        match console.get(&t.page).await {
            (Ok((s, _)), ms) if (200..300).contains(&s) => page_ms.push(ms),
            (Ok((s, _)), _) => {
                f.outcome = Outcome::Error(format!("GET {} answered {s}", t.page));
                break;
            }
            (Err(e), _) => {
                f.outcome = Outcome::Error(e);
                break;
            }
        }
        if let (Some(peer), None) = (&t.peer, &f.peer_error) {
            match api.get(peer).await {
                (Ok((s, _)), ms) if (200..300).contains(&s) => peer_ms.push(ms),
                (Ok((s, _)), _) => f.peer_error = Some(format!("GET {peer} answered {s}")),
                (Err(e), _) => f.peer_error = Some(e),
            }
        }
    }
    f.page_latency = Latencies::of(page_ms);
    if t.peer.is_some() && f.peer_error.is_none() {
        f.peer_latency = Some(Latencies::of(peer_ms));
    }
    f
}

/// A signed-in client that keeps its session cookie, as a browser does.
struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn build(timeout: Duration) -> Result<reqwest::Client, WritesError> {
        reqwest::Client::builder()
            .cookie_store(true)
            // A redirect to /login means the session was lost: it must show, not be followed.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| WritesError::Http { what: "an HTTP client".into(), detail: e.to_string() })
    }

    /// Signs in through the console's form, as a person does: `POST /login`, answered 303 with the cookie.
    async fn console(server: &Server, timeout: Duration) -> Result<Client, WritesError> {
        let http = Client::build(timeout)?;
        let what = format!("POST {}/login", server.base);
        let form = format!("user={}&password={}&next=%2F", enc(ADMIN), enc(ADMIN_PASSWORD));
        let r = http
            .post(format!("{}/login", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| WritesError::Http { what: what.clone(), detail: e.to_string() })?;
        let status = r.status().as_u16();
        if status != 303 {
            let body = r.text().await.unwrap_or_default().chars().take(300).collect();
            return Err(WritesError::Status { what, status, body });
        }
        let client = Client { http, base: server.base.clone() };
        // Signed in: the dashboard answers instead of sending back to /login.
        match client.get("/").await.0 {
            Ok((200, _)) => Ok(client),
            Ok((status, _)) => Err(WritesError::Status { what: "GET / after signing in".into(), status, body: String::new() }),
            Err(detail) => Err(WritesError::Http { what: "GET / after signing in".into(), detail }),
        }
    }

    /// Signs in to the API (`POST /api/v1/auth/login`); its session cookie serves GETs.
    async fn api(server: &Server, timeout: Duration) -> Result<Client, WritesError> {
        let http = Client::build(timeout)?;
        let what = format!("POST {}/api/v1/auth/login", server.base);
        let r = http
            .post(format!("{}/api/v1/auth/login", server.base))
            .json(&json!({"user": ADMIN, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .map_err(|e| WritesError::Http { what: what.clone(), detail: e.to_string() })?;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        let session: Value = serde_json::from_str(&body).unwrap_or_default();
        if !(200..300).contains(&status) || session["csrf_token"].as_str().is_none() {
            return Err(WritesError::Status { what, status, body: body.chars().take(300).collect() });
        }
        Ok(Client { http, base: server.base.clone() })
    }

    /// `GET path`: the status and the body's length, and the wall time in
    /// milliseconds from sending to having read the whole body.
    async fn get(&self, path: &str) -> (Result<(u16, usize), String>, f64) {
        let started = Instant::now();
        let answer = match self.http.get(format!("{}{path}", self.base)).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                r.bytes().await.map(|b| (status, b.len())).map_err(|e| format!("GET {path}: {e}"))
            }
            Err(e) => Err(format!("GET {path}: {e}")),
        };
        (answer, started.elapsed().as_secs_f64() * 1e3)
    }

    async fn json(&self, path: &str) -> Result<Value, WritesError> {
        let what = format!("GET {path}");
        let r = self.http.get(format!("{}{path}", self.base)).send().await.map_err(|e| WritesError::Http { what: what.clone(), detail: e.to_string() })?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| WritesError::Http { what: what.clone(), detail: e.to_string() })?;
        if !(200..300).contains(&status) {
            return Err(WritesError::Status { what, status, body: text.chars().take(300).collect() });
        }
        serde_json::from_str(&text).map_err(|e| WritesError::Http { what, detail: format!("not JSON ({e})") })
    }
}

/// From the model `warden gen` wrote (regenerated in-process, same seed):
/// the role most users hold with the assignments that top it up to
/// `holders` (as `writes` plans it), and the enabled person holding that
/// role directly, globally and without end, with the most assignments.
fn pick_in_model(scale: Scale, seed: u64, holders: usize) -> Result<(PickedNames, Vec<warden_model::Assignment>), WritesError> {
    let model = warden_gen::generate(scale, seed);
    let (role, extra, role_holders) = plan::top_up_holders(&model, holders, seed);
    if role.is_empty() {
        return Err(WritesError::Plan("the model has no assigned role".into()));
    }
    let user = model
        .assignments
        .iter()
        // An enabled person holding the role now, so that "view as user" has something to show.
        .filter(|a| a.role == role && a.valid_from.is_none() && a.valid_to.is_none() && a.organizations.is_empty())
        .filter(|a| model.users.get(&a.user).is_some_and(|u| u.enabled && u.kind == warden_model::UserKind::Person))
        .map(|a| a.user.as_str())
        .max_by(|a, b| model.assignments_of(a).len().cmp(&model.assignments_of(b).len()).then(b.cmp(a)))
        .ok_or_else(|| WritesError::Plan(format!("no user holds {role} directly")))?
        .to_string();
    let names = PickedNames {
        users: model.users.len(),
        roles: model.roles.len(),
        assignments: model.assignments.len() + extra.len(),
        role_holders,
        user_assignments: model.assignments_of(&user).len(),
        // Three characters of the user's id: a text search that matches many users.
        user_text: user.chars().take(3).collect::<String>().to_lowercase(),
        user,
        role,
        ..PickedNames::default()
    };
    Ok((names, extra))
}

/// Through the API, as an administrator would find them: the role (it
/// must exist), one of its duties, one of that duty's privileges, and an
/// entry point the user may read (or else the first one the user has).
async fn pick_through_api(api: &Client, n: &mut PickedNames) -> Result<(), WritesError> {
    let role = api.json(&format!("/api/v1/roles/{}", enc(&n.role))).await?;
    let first = |v: &Value, field: &str| v["object"][field].as_array().and_then(|a| a.first()).and_then(Value::as_str).map(str::to_string);
    n.duty = match first(&role, "duties") {
        Some(d) => d,
        None => api.json("/api/v1/duties?limit=1").await?["items"][0]["key"].as_str().unwrap_or_default().to_string(),
    };
    let duty = api.json(&format!("/api/v1/duties/{}", enc(&n.duty))).await?;
    n.privilege = match first(&duty, "privileges") {
        Some(p) => p,
        None => api.json("/api/v1/privileges?limit=1").await?["items"][0]["key"].as_str().unwrap_or_default().to_string(),
    };
    // The middle of the duty's name: a search that finds it and few others.
    let chars: Vec<char> = n.duty.chars().collect();
    let from = chars.len().saturating_sub(6) / 2;
    n.duty_text = chars[from..(from + 6).min(chars.len())].iter().collect::<String>().to_lowercase();
    let user = api.json(&format!("/api/v1/users/{}", enc(&n.user))).await?;
    if user["key"].as_str() != Some(n.user.as_str()) {
        return Err(WritesError::Plan(format!("GET /api/v1/users/{} did not answer that user: {user}", n.user)));
    }
    let permissions = api.json(&format!("/api/v1/users/{}/permissions", enc(&n.user))).await?;
    let rows = permissions["permissions"].as_array().cloned().unwrap_or_default();
    n.user_permissions = rows.len();
    let has = |row: &Value, access: &str| row["effective"].as_array().is_some_and(|a| a.iter().any(|x| x.as_str() == Some(access)));
    let row = rows.iter().find(|r| has(r, "read")).or(rows.first()).ok_or_else(|| WritesError::Plan(format!("{} has no permission at all", n.user)))?;
    n.entry_point = row["entry_point"].as_str().unwrap_or_default().to_string();
    n.access = if has(row, "read") { "read".into() } else { row["effective"][0].as_str().or(row["deny"][0].as_str()).unwrap_or("read").to_string() };
    Ok(())
}
