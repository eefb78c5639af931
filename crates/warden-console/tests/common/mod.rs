//! A real `warden serve` (API and console) on a loopback port over a real
//! SQLite file, with the demo data, and browser-like clients: a cookie store,
//! forms posted as a browser posts them, the CSRF token read off the page.

#![allow(dead_code)]

use reqwest::{Client, StatusCode};
use std::sync::Arc;
use tempfile::TempDir;
use warden_core::Warden;
use warden_server::{AppState, ServeOptions};
use warden_store::Store;

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const PASSWORD: &str = "another long passphrase";

pub struct Console {
    pub base: String,
    pub state: AppState,
    pub store: Arc<dyn Store>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: TempDir,
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a server with the console, the demo data and the bootstrap
/// administrator, without the background processor (sessions move only when
/// a test moves them).
pub async fn start() -> Console {
    start_with(Default::default(), false).await
}

/// [`start`] with these webhook options, and the session processor on or off.
pub async fn start_with(webhooks: warden_server::webhooks::WebhookOptions, processor: bool) -> Console {
    let dir = tempfile::tempdir().unwrap();
    let store = warden_store::open(None, dir.path()).await.unwrap();
    Warden::new(store.clone(), "test").load_demo(false, warden_model::Timestamp::now()).await.unwrap();
    let options = ServeOptions { listen: "127.0.0.1:0".parse().unwrap(), secure_cookies: false, tls: None, webhooks, processor };
    let state = warden_server::prepare(store.clone(), &options).await.unwrap().with_pages(warden_console::pages);
    warden_server::bootstrap_admin(&store, Some(ADMIN_PASSWORD)).await.unwrap();
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
    Console { base, state, store, stop: Some(tx), _dir: dir }
}

/// A signed-in browser.
pub struct Browser {
    pub client: Client,
    pub base: String,
}

impl Console {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Makes `user` (a new person) with `role` and [`PASSWORD`], as the administrator.
    pub async fn add_user_with_role(&self, user: &str, role: &str) {
        let w = Warden::new(self.store.clone(), "admin");
        w.add_user(warden_model::User::new(user)).await.unwrap();
        w.assign(user, role, &[], None, None, warden_model::Timestamp::now()).await.unwrap();
        w.set_password(user, PASSWORD).await.unwrap();
        self.state.refresh(None).await.unwrap();
    }

    /// Signs in through the console's form, as a browser does.
    pub async fn sign_in(&self, user: &str, password: &str) -> Browser {
        let client = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = client.post(self.url("/login")).form(&[("user", user), ("password", password), ("next", "/")]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        Browser { client, base: self.base.clone() }
    }
}

impl Browser {
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// The CSRF token the console put in a page's forms.
    pub async fn csrf(&self) -> String {
        let (_, page) = self.get("/").await;
        let at = page.find("name=\"csrf\" value=\"").expect("a form with the CSRF token") + "name=\"csrf\" value=\"".len();
        page[at..at + 64].to_string()
    }

    /// Posts a form with the page's CSRF token; the status, where it redirects, and the body.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
        let csrf = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (no CSRF token unless given).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
        let r = self.client.post(format!("{}{path}", self.base)).form(fields).send().await.unwrap();
        let location = r.headers().get("location").and_then(|l| l.to_str().ok()).map(String::from);
        (r.status(), location, r.text().await.unwrap())
    }
}
