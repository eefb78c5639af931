//! Alerts reach a real HTTP receiver: signed, retried after a failure, logged.

mod common;

use axum::http::{HeaderMap, StatusCode};
use common::start_with;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warden_core::webhooks::{sign, WebhookKey};
use warden_server::webhooks::WebhookOptions;

type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver that fails its first request with 500 and accepts the rest.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let mut list = seen.lock().unwrap();
                list.push((headers, body));
                if list.len() == 1 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::NO_CONTENT }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sod_alerts_are_signed_retried_and_logged() {
    let keys = tempfile::tempdir().unwrap();
    let key = WebhookKey::load(Some(keys.path())).unwrap().expect("a key file is made");
    let server = start_with(WebhookOptions { key: Some(key), retry_base: Duration::from_millis(50), allow_private: true }).await;
    let admin = server.admin_token().await;
    let (url, received) = receiver().await;

    let (status, made) = server.call(Some(&admin), Method::POST, "/api/v1/webhooks", Some(json!({"url": url, "events": ["sod.conflict.*"]}))).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{made}");
    let secret = made["secret"].as_str().unwrap().to_string();
    let id = made["webhook"]["id"].as_str().unwrap().to_string();
    let (_, listed) = server.call(Some(&admin), Method::GET, "/api/v1/webhooks", None).await;
    assert!(!listed.to_string().contains(&secret), "the secret is shown once, never listed");

    let body = json!({"role": "DEVSQLQueryExecute", "override_reason": "upgrade weekend"});
    let (status, out) = server.call(Some(&admin), Method::POST, "/api/v1/users/kenji/assign", Some(body)).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{out}");

    // The first attempt fails (500), the retry is delivered.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while received.lock().unwrap().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no retry arrived: {:?}", received.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let list = received.lock().unwrap().clone();
    let (headers, body) = &list[1];
    let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(header("x-warden-event"), "sod.conflict.allowed");
    assert_eq!(header("x-warden-delivery"), list[0].0.get("x-warden-delivery").unwrap().to_str().unwrap(), "a retry keeps the delivery id");
    assert_eq!(header("x-warden-signature"), sign(&secret, &header("x-warden-timestamp"), body.as_bytes()), "signed with the secret shown once");
    let alert: Value = serde_json::from_str(body).unwrap();
    assert_eq!(alert["data"]["conflict"]["user"], "kenji");
    assert_eq!(alert["data"]["conflict"]["reason"], "upgrade weekend");

    // The delivery log shows both attempts.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, log) = server.call(Some(&admin), Method::GET, &format!("/api/v1/webhooks/deliveries?webhook={id}"), None).await;
        let outcomes: Vec<String> = log["deliveries"].as_array().unwrap().iter().map(|d| d["detail"]["outcome"].as_str().unwrap().to_string()).collect();
        if outcomes == ["failed, will retry", "delivered"] {
            assert_eq!(log["deliveries"][1]["user"], "kenji");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "delivery log: {outcomes:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A rotated secret signs from then on; the old one no longer verifies.
    let (_, rotated) = server.call(Some(&admin), Method::POST, &format!("/api/v1/webhooks/{id}/rotate"), None).await;
    assert_ne!(rotated["secret"], secret.as_str());
}

/// A receiver that counts what reaches it.
async fn counting_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{port}/hook"), received)
}

/// Server-side request forgery: a SecurityAdministrator may not point
/// webhooks at the server's own network unless the operator allows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_private_addresses_and_unknown_events_are_refused() {
    let keys = tempfile::tempdir().unwrap();
    let key = WebhookKey::load(Some(keys.path())).unwrap().expect("a key file is made");
    let server = start_with(WebhookOptions { key: Some(key), ..Default::default() }).await;
    let admin = server.admin_token().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://0x7f000001/hook",
        "http://2130706433/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "ftp://alerts.example.com/hook",
    ] {
        let (status, body) = server.call(Some(&admin), Method::POST, "/api/v1/webhooks", Some(json!({"url": url}))).await;
        assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        // Refused by the document's pattern (`/url: ...`) or by the address rule (`url: ...`).
        assert!(body["detail"].as_str().unwrap().trim_start_matches('/').starts_with("url: "), "{url}: {body}");
    }
    let (status, body) = server.call(Some(&admin), Method::POST, "/api/v1/webhooks", Some(json!({"url": "https://alerts.example.com/hook", "events": ["sod.conflict.resolved"]}))).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.starts_with("events: unknown alert type 'sod.conflict.resolved'") && detail.contains("session.privileged.ended"), "{body}");
    let (_, listed) = server.call(Some(&admin), Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!(listed["items"], json!([]), "nothing was made");
}

/// A webhook that points at a private address (stored while the operator
/// allowed it, or written behind the API's back) is checked again at
/// delivery: the attempt is logged as refused and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_to_private_addresses_are_refused_at_delivery_time() {
    let keys = tempfile::tempdir().unwrap();
    let key = WebhookKey::load(Some(keys.path())).unwrap().expect("a key file is made");
    let server = start_with(WebhookOptions { key: Some(key), retry_base: Duration::from_millis(50), ..Default::default() }).await;
    let admin = server.admin_token().await;
    let (url, received) = counting_receiver().await;
    let by_name = url.replace("127.0.0.1", "localhost");
    let mut commit = warden_store::Commit::new("operator", "webhook create");
    for (id, url) in [("wh_literal", url.clone()), ("wh_name", by_name)] {
        commit.changes.push(warden_store::Change::Put(warden_model::Object::Webhook(warden_model::Webhook {
            id: id.into(),
            url,
            events: vec!["*".into()],
            enabled: true,
            generation: 1,
            created: warden_model::Timestamp::now(),
            description: None,
        })));
    }
    server.store.commit(commit).await.unwrap();
    server.state.refresh(None).await.unwrap();

    let body = json!({"role": "DEVSQLQueryExecute", "override_reason": "upgrade weekend"});
    let (status, out) = server.call(Some(&admin), Method::POST, "/api/v1/users/kenji/assign", Some(body)).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{out}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, log) = server.call(Some(&admin), Method::GET, "/api/v1/webhooks/deliveries", None).await;
        let rows = log["deliveries"].as_array().unwrap().clone();
        let refused = |id: &str| rows.iter().any(|d| d["detail"]["webhook"] == id && d["detail"]["outcome"] == "refused, not sent");
        if refused("wh_literal") && refused("wh_name") {
            for d in &rows {
                let error = d["detail"]["error"].as_str().unwrap_or_default();
                assert!(error.contains("loopback") && error.contains("--allow-private-webhooks"), "{d}");
            }
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no refusals logged: {rows:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(received.lock().unwrap().is_empty(), "nothing reached the private receiver");
}
