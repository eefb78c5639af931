//! A real server on a loopback port over a real SQLite file, and HTTP clients.

#![allow(dead_code)]

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use tempfile::TempDir;
use warden_core::Warden;
use warden_server::{AppState, ServeOptions};
use warden_store::Store;

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub store: Arc<dyn Store>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a server with the demo data and a bootstrap administrator.
pub async fn start() -> TestServer {
    start_with(Default::default()).await
}

/// [`start`] with webhook delivery options.
pub async fn start_with(webhooks: warden_server::webhooks::WebhookOptions) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = warden_store::open(None, dir.path()).await.unwrap();
    Warden::new(store.clone(), "test").load_demo(false, warden_model::Timestamp::now()).await.unwrap();
    let options = ServeOptions { listen: "127.0.0.1:0".parse().unwrap(), secure_cookies: false, tls: None, webhooks, processor: true };
    let state = warden_server::prepare(store.clone(), &options).await.unwrap();
    let boot = warden_server::bootstrap_admin(&store, Some(ADMIN_PASSWORD)).await.unwrap();
    assert!(matches!(boot, warden_server::Bootstrap::FromEnvironment { .. }), "{boot:?}");
    state.refresh(None).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = state.clone();
    tokio::spawn(async move {
        warden_server::serve(serving, listener, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestServer { base, state, store, stop: Some(tx), _dir: dir }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client signed in with a password, and its CSRF token.
    pub async fn login(&self, user: &str, password: &str) -> (Client, String) {
        let client = Client::builder().cookie_store(true).build().unwrap();
        let r = client.post(self.url("/api/v1/auth/login")).json(&json!({"user": user, "password": password})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        let body: Value = r.json().await.unwrap();
        (client, body["csrf_token"].as_str().unwrap().to_string())
    }

    /// The bootstrap administrator's API token.
    pub async fn admin_token(&self) -> String {
        let (client, csrf) = self.login("admin", ADMIN_PASSWORD).await;
        let r = client
            .post(self.url("/api/v1/tokens"))
            .header("x-csrf-token", csrf)
            .json(&json!({"user": "admin", "label": "tests"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    /// A new user holding exactly `roles`, and a token for it.
    pub async fn user_with_roles(&self, admin: &str, id: &str, roles: &[&str]) -> String {
        let w = Warden::new(self.store.clone(), "test");
        w.add_user(warden_model::User::new(id)).await.unwrap();
        for role in roles {
            w.assign(id, role, &[], None, None, warden_model::Timestamp::now()).await.unwrap();
        }
        self.state.refresh(None).await.unwrap();
        let r = Client::new()
            .post(self.url("/api/v1/tokens"))
            .bearer_auth(admin)
            .json(&json!({"user": id}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    pub async fn call(&self, token: Option<&str>, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Client::new().request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}
