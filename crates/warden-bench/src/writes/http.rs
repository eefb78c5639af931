//! The REST calls the benchmark makes, each timed from sending the request to
//! having read the whole answer, as an administrator's client waits for it.

use super::plan::{CheckBody, Pair};
use super::WritesError;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Error answers kept per server, to say what went wrong beside the counts.
const KEPT_ERRORS: usize = 10;

/// What one request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// 409: the store moved on, or a conflict.
    Conflict,
    /// Any other status.
    Status(u16),
    /// No answer: connection error or the client's time limit.
    Failed,
}

#[derive(Debug, Clone, Copy)]
pub struct Timed {
    pub outcome: Outcome,
    pub elapsed: Duration,
}

impl Timed {
    pub fn ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }
    pub fn ms(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e3
    }
}

/// One server's API, signed in with a bearer token.
#[derive(Debug, Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
    /// The first few failed requests: what, and the answer.
    errors: Arc<Mutex<Vec<String>>>,
}

/// A path segment, percent-encoded as the server's own `Location` headers are.
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn outcome(status: StatusCode) -> Outcome {
    match status {
        s if s.is_success() => Outcome::Ok,
        StatusCode::CONFLICT => Outcome::Conflict,
        s => Outcome::Status(s.as_u16()),
    }
}

impl Api {
    /// Signs in as `user` with `password`, then issues an API token with that
    /// session (cookie and CSRF token, as a browser would) and keeps it.
    pub async fn sign_in(base: &str, user: &str, password: &str, timeout: Duration) -> Result<Api, WritesError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| WritesError::Http { what: "an HTTP client".into(), detail: e.to_string() })?;
        let (cookie, csrf) = login(&client, base, user, password).await?;
        let what = format!("POST {base}/api/v1/tokens");
        let r = client
            .post(format!("{base}/api/v1/tokens"))
            .header("cookie", cookie)
            .header("x-csrf-token", csrf)
            .json(&json!({"user": user, "label": "warden-bench writes"}))
            .send()
            .await
            .map_err(|e| WritesError::Http { what: what.clone(), detail: e.to_string() })?;
        let issued: Value = expect_json(what, r).await?;
        let token = issued["token"].as_str().unwrap_or_default().to_string();
        Ok(Api { client, base: base.to_string(), token, errors: Arc::default() })
    }

    /// The first failed requests, with their answers.
    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }

    fn keep_error(&self, what: impl FnOnce() -> String) {
        if let Ok(mut e) = self.errors.lock()
            && e.len() < KEPT_ERRORS
        {
            e.push(what());
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>, if_match: Option<&str>) -> Timed {
        let what = format!("{method} {path}");
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(v) = if_match {
            req = req.header("if-match", v);
        }
        let started = Instant::now();
        match req.send().await {
            Ok(r) => {
                let status = r.status();
                // The answer counts once it has been read in full.
                let answer = r.bytes().await;
                let elapsed = started.elapsed();
                let outcome = if answer.is_ok() { outcome(status) } else { Outcome::Failed };
                if outcome != Outcome::Ok {
                    let text = answer.map(|b| String::from_utf8_lossy(&b).chars().take(300).collect::<String>()).unwrap_or_default();
                    self.keep_error(|| format!("{what}: {status} {text}"));
                }
                Timed { outcome, elapsed }
            }
            Err(e) => {
                self.keep_error(|| format!("{what}: {e}"));
                Timed { outcome: Outcome::Failed, elapsed: started.elapsed() }
            }
        }
    }

    /// `POST /users/{id}/assign`: the role, globally.
    pub async fn assign(&self, p: &Pair) -> Timed {
        self.send(Method::POST, &format!("/api/v1/users/{}/assign", segment(&p.user)), Some(&json!({"role": p.role})), None).await
    }

    /// `DELETE /assignments/{user}/{role}`, unconditionally (`If-Match: *`).
    pub async fn revoke(&self, p: &Pair) -> Timed {
        self.send(Method::DELETE, &format!("/api/v1/assignments/{}/{}", segment(&p.user), segment(&p.role)), None, Some("*")).await
    }

    /// `POST /check`, with the decision (`None` when it failed).
    pub async fn check(&self, body: &CheckBody) -> (Timed, Option<bool>) {
        let started = Instant::now();
        let r = self.client.post(format!("{}/api/v1/check", self.base)).bearer_auth(&self.token).json(body).send().await;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                self.keep_error(|| format!("POST /api/v1/check: {e}"));
                return (Timed { outcome: Outcome::Failed, elapsed: started.elapsed() }, None);
            }
        };
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        let elapsed = started.elapsed();
        let decision = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["decision"].as_str().map(|d| d == "allow"));
        let outcome = match (outcome(status), decision) {
            (Outcome::Ok, None) => Outcome::Failed,
            (o, _) => o,
        };
        if outcome != Outcome::Ok {
            self.keep_error(|| format!("POST /api/v1/check {}: {status} {}", serde_json::to_string(body).unwrap_or_default(), text.chars().take(300).collect::<String>()));
        }
        (Timed { outcome, elapsed }, decision)
    }

    /// `GET /roles/{name}`: the role's body and its ETag.
    pub async fn role(&self, name: &str) -> Result<(Value, String), WritesError> {
        let what = format!("GET /api/v1/roles/{name}");
        let r = self
            .client
            .get(format!("{}/api/v1/roles/{}", self.base, segment(name)))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| WritesError::Http { what: what.clone(), detail: e.to_string() })?;
        let etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let stored: Value = expect_json(what, r).await?;
        Ok((stored["object"].clone(), etag))
    }

    /// `PUT /roles/{name}` with `If-Match`.
    pub async fn replace_role(&self, name: &str, body: &Value, etag: &str) -> Timed {
        self.send(Method::PUT, &format!("/api/v1/roles/{}", segment(name)), Some(body), Some(etag).filter(|e| !e.is_empty())).await
    }

    /// `POST /auth/login`, timed; the session it opens is left to expire.
    pub async fn time_sign_in(&self, user: &str, password: &str) -> Timed {
        self.send(Method::POST, "/api/v1/auth/login", Some(&json!({"user": user, "password": password})), None).await
    }

    /// `POST /tokens`, timed.
    pub async fn time_token(&self, user: &str) -> Timed {
        self.send(Method::POST, "/api/v1/tokens", Some(&json!({"user": user, "label": "warden-bench writes: timed"})), None).await
    }
}

async fn login(client: &reqwest::Client, base: &str, user: &str, password: &str) -> Result<(String, String), WritesError> {
    let what = format!("POST {base}/api/v1/auth/login");
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"user": user, "password": password}))
        .send()
        .await
        .map_err(|e| WritesError::Http { what: what.clone(), detail: e.to_string() })?;
    // Every cookie the server sets, sent back as one header.
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    let session: Value = expect_json(what, r).await?;
    Ok((cookie, session["csrf_token"].as_str().unwrap_or_default().to_string()))
}

async fn expect_json(what: String, r: reqwest::Response) -> Result<Value, WritesError> {
    let status = r.status();
    let text = r.text().await.map_err(|e| WritesError::Http { what: what.clone(), detail: e.to_string() })?;
    if !status.is_success() {
        return Err(WritesError::Status { what, status: status.as_u16(), body: text });
    }
    serde_json::from_str(&text).map_err(|e| WritesError::Http { what, detail: format!("not JSON ({e}): {text}") })
}
