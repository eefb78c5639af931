//! Credentials end to end through the `warden` binary: `audit log --changes`
//! never prints a credential hash, whether the event was written now or by a
//! version that still recorded hashes; and two `warden serve` replicas on one
//! PostgreSQL database share one sign-in lockout.
//!
//! The replica case needs PostgreSQL (`WARDEN_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`); it is skipped with a message
//! when there is none, and fails when `WARDEN_REQUIRE_POSTGRES=1`.

mod common;

use common::{Server, fresh_database, json, ok, tamper};
use serde_json::{Value, json};
use tempfile::TempDir;

const PASSWORD: &str = "credentials-test-password";


/// `warden serve` with `store` (`--data-dir DIR` or `--database-url URL`).
fn serve(store: &[&str]) -> Server {
    let key = "5".repeat(64);
    common::serve(store, &[("WARDEN_ADMIN_PASSWORD", PASSWORD), ("WARDEN_WEBHOOK_KEY", &key), ("RUST_LOG", "warn")])
}

#[test]
fn audit_log_never_prints_a_credential_hash() {
    let dir = TempDir::new().unwrap();
    let data = dir.path();
    // The bootstrap administrator's password: a credential written by `warden serve`.
    let data_dir = data.to_str().unwrap();
    drop(serve(&["--data-dir", data_dir]));
    ok(data, &["user", "add", "zed"]);
    // And one as a version before redaction recorded it: the hash in the change.
    let old = r#"{"id":"password:zed","user":"zed","kind":"password","hash":"$argon2id$v=19$m=19456,t=2,p=1$b2xkc2FsdA$b2xkLWNvZGUtaGFzaA","created":1}"#;
    let seq: u64 = json(data, &["audit", "log", "--object", "user/zed"])[0]["seq"].as_u64().unwrap();
    tamper(data, &format!("UPDATE audit_changes SET kind = 'credential', key = 'password:zed', after = '{old}' WHERE seq = {seq}"));

    for object in ["credential/password:admin", "credential/password:zed"] {
        let text = ok(data, &["audit", "log", "--changes", "--object", object]);
        assert!(text.contains(object.trim_start_matches("credential/")), "{object}: {text}");
        assert!(!text.contains("argon2") && !text.contains("\"hash\""), "{object}: {text}");
        let events = json(data, &["audit", "log", "--changes", "--object", object]);
        let after = &events[0]["changes"][0]["after"];
        assert_eq!(after["kind"], "password", "{events}");
        assert_eq!(after.get("hash"), None, "{events}");
    }
    let everything = ok(data, &["audit", "log", "--changes", "--limit", "100000"]);
    assert!(!everything.contains("argon2"), "{everything}");
}


async fn login(base: &str, user: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new().post(format!("{base}/api/v1/auth/login")).json(&json!({"user": user, "password": password})).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_postgres_database_share_the_sign_in_lockout() {
    let Some((mut admin, name, url)) = fresh_database("lockout").await else { return };
    let a = serve(&["--database-url", &url]);
    let b = serve(&["--database-url", &url]);
    let session = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let r = session.post(format!("{}/api/v1/auth/login", a.base)).json(&json!({"user": "admin", "password": PASSWORD})).send().await.unwrap();
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_string();
    let issued: Value =
        session.post(format!("{}/api/v1/tokens", a.base)).header("x-csrf-token", csrf).json(&json!({"user": "admin"})).send().await.unwrap().json().await.unwrap();
    let token = issued["token"].as_str().expect("a token").to_string();

    // Ten failures, alternating between the replicas: neither alone saw ten.
    for i in 0..10 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        assert_eq!(login(base, "admin", "wrong password").await.status(), 401);
    }
    for base in [&a.base, &b.base] {
        let r = login(base, "admin", PASSWORD).await;
        assert_eq!(r.status(), 429, "{base} refuses the right password during the lockout");
        assert!(r.headers().contains_key("retry-after"));
    }
    // Both replicas' records, in the one activity log.
    let events = |kind: &'static str| {
        let (base, token) = (b.base.clone(), token.clone());
        async move {
            let r = reqwest::Client::new().get(format!("{base}/api/v1/events?kind={kind}&limit=1000")).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["events"].as_array().cloned().unwrap_or_default()
        }
    };
    assert_eq!(events("sign_in_failed").await.len(), 10);
    let locked = events("sign_in_locked").await;
    assert_eq!(locked.len(), 2, "the address and the account, each locked once: {locked:?}");
    assert_eq!(events("sign_in_refused").await.len(), 2);

    drop(a);
    drop(b);
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.ok();
}
