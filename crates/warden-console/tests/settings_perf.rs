//! The Settings, Webhooks and Assignment rules pages at D365 size (100,000
//! users, 1,000 roles, 200 organizations), timed over HTTP. Run by hand (it
//! loads the generated model into a SQLite store first, which takes a while):
//! `cargo test -p warden-console --test settings_perf -- --ignored --nocapture`
//! (add `--release` for the figures that matter).

use reqwest::{Client, StatusCode};
use std::time::{Duration, Instant};
use warden_core::Warden;
use warden_model::{AssignmentRule, Condition, Object};
use warden_server::ServeOptions;
use warden_store::{Change, Commit};

const ADMIN_PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn pages_render_quickly_at_d365_size() {
    let started = Instant::now();
    let model = warden_gen::generate(warden_gen::Scale::D365, 42);
    let attribute = model.users.values().find_map(|u| u.attributes.iter().next().map(|(k, v)| (k.clone(), v.clone())));
    let dir = tempfile::tempdir().unwrap();
    let store = warden_store::open(None, dir.path()).await.unwrap();
    let mut commit = Commit::new("perf", "load d365");
    commit.changes = model.objects().map(Change::Put).collect();
    let objects = commit.changes.len();
    store.commit(commit).await.unwrap();
    eprintln!("generated and stored {objects} objects ({} users, {} assignments) in {:.1} s", model.users.len(), model.assignments.len(), started.elapsed().as_secs_f64());

    let options = ServeOptions { listen: "127.0.0.1:0".parse().unwrap(), secure_cookies: false, tls: None, webhooks: Default::default(), processor: false };
    let state = warden_server::prepare(store.clone(), &options).await.unwrap().with_pages(warden_console::pages);
    warden_server::bootstrap_admin(&store, Some(ADMIN_PASSWORD)).await.unwrap();
    let w = Warden::new(store.clone(), "perf");
    // A rule over an attribute the generator gives (or over every user id with a digit in it).
    let condition: Condition = match &attribute {
        Some((k, v)) => format!("{k}={v}").parse().unwrap(),
        None => "id~=1".parse().unwrap(),
    };
    let role = model.roles.keys().next().unwrap().clone();
    let rule = AssignmentRule { name: "PerfRule".into(), role, description: None, conditions: vec![condition.clone()], organizations: Vec::new(), excluded_users: Vec::new(), enabled: true };
    w.create(Object::AssignmentRule(rule)).await.unwrap();
    for i in 0..200 {
        let user = model.users.keys().nth(i).unwrap();
        w.issue_token(user, Some(format!("perf {i}")), None).await.unwrap();
    }
    state.refresh(None).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serving = state.clone();
    tokio::spawn(async move { warden_server::serve(serving, listener, std::future::pending()).await.unwrap() });

    let client = Client::builder().cookie_store(true).build().unwrap();
    let r = client.post(format!("{base}/login")).form(&[("user", "admin"), ("password", ADMIN_PASSWORD)]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let last_user = model.users.keys().nth(5_000).unwrap();
    eprintln!("rule condition: {condition}");
    let mut worst = Duration::ZERO;
    for path in ["/settings", "/settings?token_q=perf+1", "/webhooks", "/rules", "/rules/PerfRule", &format!("/rules/PerfRule?after={last_user}"), "/rules/PerfRule?q=zzzz-nobody"] {
        let mut times = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            let r = client.get(format!("{base}{path}")).send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            times.push(t.elapsed());
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
        }
        times.sort();
        eprintln!("{path}: median {:.1} ms, max {:.1} ms", times[3].as_secs_f64() * 1e3, times[6].as_secs_f64() * 1e3);
        worst = worst.max(times[3]);
    }
    assert!(worst < Duration::from_millis(200), "a page's median is {worst:?}");
}
