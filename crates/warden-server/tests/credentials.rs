//! Credentials on a real server: the audit trail shows that they were made,
//! changed and revoked, by whom and for whom, and never a hash of a secret;
//! failed sign-ins lock out through the store, so a restart keeps the lockout,
//! and every refused attempt is recorded.

mod common;

use common::{start, ADMIN_PASSWORD};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use warden_server::ServeOptions;
use warden_store::Store;

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The secret part of `wdn_<id>_<secret>`.
fn token_secret(token: &str) -> String {
    token.rsplit_once('_').map(|(_, s)| s.to_string()).expect("a token of the form wdn_<id>_<secret>")
}

/// Signs in and returns the client, its CSRF token and the session cookie's secret.
async fn sign_in(base: &str, user: &str, password: &str) -> (Client, String, String) {
    let client = Client::builder().cookie_store(true).build().unwrap();
    let r = client.post(format!("{base}/api/v1/auth/login")).json(&json!({"user": user, "password": password})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("warden_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    let secret = cookie.split_once('.').map(|(_, s)| s.to_string()).expect("<id>.<secret>");
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_string();
    (client, csrf, secret)
}

/// Every key named `hash` inside the before/after bodies of the page's changes.
fn hashes_in_changes(page: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for event in page["events"].as_array().into_iter().flatten() {
        for change in event["changes"].as_array().into_iter().flatten() {
            for side in ["before", "after"] {
                if let Some(body) = change[side].as_object()
                    && let Some(h) = body.get("hash")
                {
                    found.push(format!("{} {side}: {h}", change["object"]));
                }
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_never_serves_a_credential_hash() {
    let server = start().await;
    let (admin_client, csrf, admin_session_secret) = sign_in(&server.base, "admin", ADMIN_PASSWORD).await;
    let issue = |user: &'static str| {
        let (client, csrf) = (admin_client.clone(), csrf.clone());
        let url = server.url("/api/v1/tokens");
        async move {
            let r = client.post(url).header("x-csrf-token", csrf).json(&json!({"user": user, "label": "probe"})).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()
        }
    };
    let admin_token = issue("admin").await["token"].as_str().unwrap().to_string();
    let auditor = server.user_with_roles(&admin_token, "audrey", &["SecurityAuditor"]).await;
    let security_admin = server.user_with_roles(&admin_token, "sam", &["SecurityAdministrator"]).await;
    let mut secrets = vec![admin_session_secret, token_secret(&admin_token), token_secret(&auditor), token_secret(&security_admin)];

    // A password set, a token issued, rotated and revoked, a sign-in: every kind of credential write.
    let (status, body) = server.call(Some(&admin_token), Method::PUT, "/api/v1/users/audrey/password", Some(json!({"password": "a long enough password"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let issued = issue("audrey").await;
    let id = issued["id"].as_str().unwrap().to_string();
    secrets.push(token_secret(issued["token"].as_str().unwrap()));
    let (status, rotated) = server.call(Some(&admin_token), Method::POST, &format!("/api/v1/tokens/{id}/rotate"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    secrets.push(token_secret(rotated["token"].as_str().unwrap()));
    let (status, _) = server.call(Some(&admin_token), Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, audrey_session_secret) = sign_in(&server.base, "audrey", "a long enough password").await;
    secrets.push(audrey_session_secret);
    let hashes: Vec<String> = secrets.iter().map(|s| sha256_hex(s)).collect();

    // The auditor may not list tokens, and may read the trail: it must not learn more from the trail.
    let (status, _) = server.call(Some(&auditor), Method::GET, "/api/v1/tokens", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let queries = [
        "/api/v1/audit?changes=true&object=credential/password:admin".to_string(),
        "/api/v1/audit?changes=true&object=credential/password:audrey".to_string(),
        format!("/api/v1/audit?changes=true&object=credential/token:{id}"),
        "/api/v1/audit?changes=true&limit=1000".to_string(),
    ];
    for reader in [&auditor, &security_admin] {
        for path in &queries {
            let (status, page) = server.call(Some(reader), Method::GET, path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {page}");
            assert!(!page["events"].as_array().unwrap().is_empty(), "{path} finds the credential's events");
            let text = page.to_string();
            assert_eq!(hashes_in_changes(&page), Vec::<String>::new(), "{path}");
            assert!(!text.contains("$argon2"), "{path} serves a password hash: {text}");
            for h in &hashes {
                assert!(!text.contains(h.as_str()), "{path} serves the hash of a token or session secret");
            }
            for s in &secrets {
                assert!(!text.contains(s.as_str()), "{path} serves a secret");
            }
        }
    }
    // What the trail does say: who did what to whose credential.
    let (_, page) = server.call(Some(&auditor), Method::GET, "/api/v1/audit?changes=true&object=credential/password:audrey", None).await;
    let event = &page["events"][0];
    assert_eq!(event["action"], "password set");
    assert_eq!(event["actor"].as_str().map(|a| a.starts_with("admin")), Some(true), "{event}");
    assert_eq!(event["changes"][0]["after"]["user"], "audrey");
    assert_eq!(event["changes"][0]["after"]["kind"], "password");
    // And the chain still verifies.
    let (status, verdict) = server.call(Some(&auditor), Method::POST, "/api/v1/audit/verify", None).await;
    assert_eq!((status, verdict["status"].as_str()), (StatusCode::OK, Some("intact")), "{verdict}");
}

/// A server on `store`, as `warden serve` runs one; stops when dropped.
struct Running {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve_on(store: Arc<dyn Store>) -> Running {
    let options = ServeOptions { listen: "127.0.0.1:0".parse().unwrap(), secure_cookies: false, tls: None, webhooks: Default::default(), processor: false };
    let state = warden_server::prepare(store.clone(), &options).await.unwrap();
    warden_server::bootstrap_admin(&store, Some(ADMIN_PASSWORD)).await.unwrap();
    state.refresh(None).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        warden_server::serve(state, listener, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Running { base, stop: Some(tx) }
}

async fn login_status(base: &str, user: &str, password: &str) -> (StatusCode, Option<String>) {
    let r = Client::new().post(format!("{base}/api/v1/auth/login")).json(&json!({"user": user, "password": password})).send().await.unwrap();
    (r.status(), r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string))
}

async fn events(base: &str, token: &str, kind: &str) -> Vec<Value> {
    let r = Client::new().get(format!("{base}/api/v1/events?kind={kind}&limit=1000")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_lockout_survives_a_restart_and_every_refusal_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let store = warden_store::open(None, dir.path()).await.unwrap();
    let first = serve_on(store).await;
    // A token first: Bearer tokens are not signed in, so the lockout does not touch them.
    let (client, csrf, _) = sign_in(&first.base, "admin", ADMIN_PASSWORD).await;
    let r = client.post(format!("{}/api/v1/tokens", first.base)).header("x-csrf-token", csrf).json(&json!({"user": "admin"})).send().await.unwrap();
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();

    for _ in 0..10 {
        assert_eq!(login_status(&first.base, "admin", "wrong password").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, retry) = login_status(&first.base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the right password is refused during the lockout");
    assert!(retry.and_then(|r| r.parse::<u64>().ok()).is_some_and(|s| (1..=300).contains(&s)));

    // Restart: a new process on the same store.
    drop(first);
    let second = serve_on(warden_store::open(None, dir.path()).await.unwrap()).await;
    assert_eq!(login_status(&second.base, "admin", ADMIN_PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS, "the restart kept the lockout");
    // Another user from the same address: the address is locked out too.
    assert_eq!(login_status(&second.base, "someone", "whatever").await.0, StatusCode::TOO_MANY_REQUESTS);

    assert_eq!(events(&second.base, &token, "sign_in_failed").await.len(), 10);
    let locked = events(&second.base, &token, "sign_in_locked").await;
    let scopes: Vec<&str> = locked.iter().filter_map(|e| e["detail"]["locked"].as_str()).collect();
    assert_eq!(scopes, ["client", "user"], "the lockout of the address and of the account, each once: {locked:?}");
    assert_eq!(locked[1]["user"], "admin");
    assert_eq!(locked[1]["detail"]["failures"], 10);
    let refused = events(&second.base, &token, "sign_in_refused").await;
    assert_eq!(refused.len(), 3, "every refused attempt: {refused:?}");
    assert_eq!(refused.iter().map(|e| e["user"].as_str().unwrap_or_default()).collect::<Vec<_>>(), ["admin", "admin", "someone"]);
    assert!(refused.iter().all(|e| e["detail"]["until"].is_string()));
}
