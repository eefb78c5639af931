//! Two `warden serve` processes on one PostgreSQL database: a change made
//! through one is seen by checks on the other within a second, applied as a
//! delta (the follower never loads the whole model again), and their two
//! background processors start and end a thousand sessions, each transition
//! exactly once.
//!
//! Needs PostgreSQL (`WARDEN_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`); skipped with a message when
//! there is none, failed when `WARDEN_REQUIRE_POSTGRES=1` (as in CI).

mod common;

use common::{Server, fresh_database};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PASSWORD: &str = "replica-test-password";


/// `warden serve` on the database, the test's webhook receiver on loopback allowed by the operator.
fn serve(database_url: &str) -> Server {
    let key = "5".repeat(64);
    common::serve(
        &["--database-url", database_url],
        &[("WARDEN_ADMIN_PASSWORD", PASSWORD), ("WARDEN_WEBHOOK_KEY", &key), ("WARDEN_WEBHOOK_ALLOW_PRIVATE", "1"), ("RUST_LOG", "warn")],
    )
}

async fn call(client: &reqwest::Client, token: &str, method: reqwest::Method, url: String, body: Value) -> (u16, Value) {
    let r = client.request(method, url).bearer_auth(token).json(&body).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_replica_reaches_the_other_within_a_second() {
    let Some((mut admin, name, url)) = fresh_database("replicas").await else { return };

    // The first replica initializes the store and its administrator; the second joins it.
    let a = serve(&url);
    let client = reqwest::Client::new();
    let b = serve(&url);

    // An API token made through A (with the session) works on B too: credentials live in the store.
    let session_client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = session_client.post(format!("{}/api/v1/auth/login", a.base)).json(&json!({"user": "admin", "password": PASSWORD})).send().await.unwrap();
    let csrf = login.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_string();
    let issued: Value = session_client
        .post(format!("{}/api/v1/tokens", a.base))
        .header("x-csrf-token", csrf)
        .json(&json!({"user": "admin", "label": "replica test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = issued["token"].as_str().expect("a token").to_string();

    let check = json!({"user": "zed", "entry_point": "ServiceOperation/WardenCheck", "access": "invoke"});
    // B knows no zed yet.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = call(&client, &token, reqwest::Method::GET, format!("{}/api/v1/auth/me", b.base), Value::Null).await;
        if status == 200 || Instant::now() > deadline {
            assert_eq!(status, 200, "B accepts the token made through A");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = call(&client, &token, reqwest::Method::POST, format!("{}/api/v1/check", b.base), check.clone()).await;
    assert_eq!(status, 422, "zed is unknown on B before A creates it");

    // Through A: create zed and give it the Application role.
    let (status, body) = call(&client, &token, reqwest::Method::POST, format!("{}/api/v1/users", a.base), json!({"id": "zed", "enabled": true})).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        call(&client, &token, reqwest::Method::POST, format!("{}/api/v1/assignments", a.base), json!({"user": "zed", "role": "WardenApplication"})).await;
    assert_eq!(status, 201, "{body}");
    let changed = Instant::now();

    // B answers allow within a second.
    loop {
        let (status, body) = call(&client, &token, reqwest::Method::POST, format!("{}/api/v1/check", b.base), check.clone()).await;
        if status == 200 && body["decision"] == "allow" {
            break;
        }
        assert!(changed.elapsed() < Duration::from_secs(1), "B still answers {status} {body} after {:?}", changed.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen_after = changed.elapsed();
    eprintln!("replica B saw the change after {seen_after:?}");

    // B followed every commit as a delta: it loaded the whole model once, when it started.
    let metrics = client.get(format!("{}/metrics", b.base)).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
    let gauge = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{metrics}"))
    };
    assert_eq!(gauge("warden_snapshot_full_loads "), 1.0, "B reloaded the whole model");
    assert!(gauge("warden_snapshot_deltas_applied ") >= 1.0, "B applied A's commits as deltas");

    drop(a);
    drop(b);
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.ok();
}

/// 900 temporary role sessions (Merge and Replace) and 100 privileged user
/// sessions, planned and approved, with starts spread over eight seconds: the
/// two replicas' processors race for every one of their 2,000 transitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_make_every_session_transition_exactly_once() {
    use warden_model::{AccountAction, Object, PrivilegedSession, PrivilegedStatus, SessionType, StatusChange, TempRoleSession, TempStatus, Timestamp, User};
    let Some((mut admin, name, url)) = fresh_database("sessions").await else { return };
    // A webhook receiver: alerts of privileged sessions must arrive once each, not once per replica.
    let received: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let seen = seen.clone();
            async move {
                let id = headers.get("x-warden-delivery").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                seen.lock().unwrap().push(id);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let a = serve(&url);
    let b = serve(&url);
    let store = warden_store::open(Some(&url), std::path::Path::new(".")).await.expect("store");

    let now = Timestamp::now().0;
    let first = now + 4_000;
    let approved = |to: &str| vec![StatusChange { at: Timestamp(now), from: Some("draft".into()), to: to.into(), by: "test-approver".into(), batch: false, self_approval: false, note: None }];
    let mut commit = warden_store::Commit::new("test", "seed sessions");
    commit.changes.push(warden_store::Change::Put(Object::Webhook(warden_model::Webhook {
        id: "wh_sessions".into(),
        url: hook,
        events: vec!["session.privileged.*".into()],
        enabled: true,
        generation: 1,
        created: Timestamp(now),
        description: None,
    })));
    for u in 0..150 {
        commit.changes.push(warden_store::Change::Put(Object::User(User::new(format!("u{u:03}")))));
    }
    let mut windows = std::collections::BTreeMap::new();
    for i in 0..1000i64 {
        let start = first + (i % 100) * 80;
        let end = start + 1_500 + (i % 7) * 100;
        let (id, object) = if i < 900 {
            let id = format!("TRS-{:06}", i + 1);
            (id.clone(), Object::TempRoleSession(TempRoleSession {
                id,
                user: format!("u{:03}", i % 50),
                roles: vec!["WardenApplication".into()],
                organizations: vec![],
                session_type: if i % 2 == 0 { SessionType::Merge } else { SessionType::Replace },
                start: Timestamp(start),
                end: Timestamp(end),
                reason: None,
                requested_by: "test-requester".into(),
                status: TempStatus::Planned,
                approved_by: Some("test-approver".into()),
                override_reason: None,
                started_at: None,
                ended_at: None,
                history: approved("planned"),
            }))
        } else {
            let id = format!("PUS-{:06}", i - 899);
            (id.clone(), Object::PrivilegedSession(PrivilegedSession {
                id,
                user: format!("u{:03}", 50 + (i - 900)),
                start: Timestamp(start),
                end: Timestamp(end),
                action: AccountAction::Disable,
                reason: None,
                requested_by: "test-requester".into(),
                status: PrivilegedStatus::Approved,
                approved_by: Some("test-approver".into()),
                original_enabled: None,
                started_at: None,
                ended_at: None,
                recording_deleted: None,
                recording_seal: None,
                history: approved("approved"),
            }))
        };
        windows.insert(id, (start, end));
        commit.changes.push(warden_store::Change::Put(object));
    }
    let seeded = store.commit(commit).await.expect("seed");

    // Wait until every session has ended.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let (model, _) = store.load().await.unwrap();
        let open = model.temp_role_sessions.values().filter(|s| s.status != TempStatus::Ended).count()
            + model.privileged_sessions.values().filter(|s| s.status != PrivilegedStatus::Ended).count();
        if open == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{open} sessions have not ended");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Every session: planned/approved → active once, active → ended once, never early.
    let events = store.audit_events(&warden_store::AuditFilter { after_seq: Some(seeded), include_changes: true, ..Default::default() }).await.unwrap();
    let mut seen: std::collections::BTreeMap<String, Vec<(String, String)>> = std::collections::BTreeMap::new();
    let status = |b: &Option<Value>| b.as_ref().and_then(|v| v["status"].as_str()).unwrap_or("-").to_string();
    let mut commits = 0;
    let mut origins = std::collections::BTreeSet::new();
    for e in &events {
        let mut any = false;
        for c in e.changes.iter().filter(|c| matches!(c.object.kind, warden_model::ObjectKind::TempRoleSession | warden_model::ObjectKind::PrivilegedSession)) {
            let (from, to) = (status(&c.before), status(&c.after));
            if from != to {
                any = true;
                seen.entry(c.object.name.clone()).or_default().push((from, to));
            }
        }
        commits += usize::from(any);
        if any {
            origins.insert(e.origin.clone());
        }
    }
    assert_eq!(seen.len(), 1000, "every session moved");
    let (model, _) = store.load().await.unwrap();
    let mut late = Vec::new();
    for (id, moves) in &seen {
        let first = if id.starts_with("TRS") { "planned" } else { "approved" };
        let moves: Vec<(&str, &str)> = moves.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(moves, [(first, "active"), ("active", "ended")], "{id}");
        let (start, end) = windows[id];
        let (started, ended) = match model.temp_role_sessions.get(id) {
            Some(s) => (s.started_at.unwrap().0, s.ended_at.unwrap().0),
            None => {
                let s = &model.privileged_sessions[id];
                (s.started_at.unwrap().0, s.ended_at.unwrap().0)
            }
        };
        assert!(started >= start && ended >= end, "{id} moved early");
        late.push((started - start).max(ended - end));
    }
    late.sort_unstable();
    eprintln!(
        "2,000 transitions in {commits} commits by {origins:?}; lateness p50 {} ms, p99 {} ms, max {} ms",
        late[late.len() / 2],
        late[late.len() * 99 / 100],
        late[late.len() - 1]
    );
    // 100 privileged sessions × active, ended: 200 alerts, each delivered once (the seed is
    // written straight to the store, not by a session command, so it alerts nobody).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = received.lock().unwrap().clone();
        if got.len() >= 200 || std::time::Instant::now() > deadline {
            let unique: std::collections::BTreeSet<&String> = got.iter().collect();
            assert_eq!(unique.len(), got.len(), "an alert was delivered twice");
            assert_eq!(got.len(), 200, "every alert once");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(received.lock().unwrap().len(), 200, "nothing more arrives");
    drop(a);
    drop(b);
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.ok();
}
