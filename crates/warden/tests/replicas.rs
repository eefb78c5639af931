//! Two `warden serve` processes on one PostgreSQL database: a change made
//! through one is seen by checks on the other within a second.
//!
//! Needs PostgreSQL (`WARDEN_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`); skipped with a message when
//! there is none, failed when `WARDEN_REQUIRE_POSTGRES=1` (as in CI).

use serde_json::{Value, json};
use sqlx::Connection;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "replica-test-password";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `warden serve` on a free port and waits for its "listening" line.
fn serve(database_url: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["--database-url", database_url, "serve", "--listen", "127.0.0.1:0"])
        .env("WARDEN_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("warden serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("warden serve printed its address").expect("readable stdout");
        if let Some(rest) = line.strip_prefix("Warden listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining stdout so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

async fn call(client: &reqwest::Client, token: &str, method: reqwest::Method, url: String, body: Value) -> (u16, Value) {
    let r = client.request(method, url).bearer_auth(token).json(&body).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_replica_reaches_the_other_within_a_second() {
    let server = std::env::var("WARDEN_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = match sqlx::PgConnection::connect(&server).await {
        Ok(c) => c,
        Err(e) if std::env::var("WARDEN_REQUIRE_POSTGRES").as_deref() != Ok("1") => {
            eprintln!("skipped: PostgreSQL not reachable at {server} ({e}); set WARDEN_TEST_POSTGRES_URL or start PostgreSQL");
            return;
        }
        Err(e) => panic!("PostgreSQL is required (WARDEN_REQUIRE_POSTGRES=1) but not reachable at {server}: {e}"),
    };
    let name = format!("warden_replicas_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    let (head, _) = server.rsplit_once('/').unwrap();
    let url = format!("{head}/{name}");

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

    drop(a);
    drop(b);
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.ok();
}
