//! Test support shared by the crates above the store: a fresh PostgreSQL
//! database per test. Off in production builds (feature `testing`).

use sqlx::Connection;

/// The PostgreSQL server tests use: `WARDEN_TEST_POSTGRES_URL`, or the local default.
pub fn postgres_server() -> String {
    std::env::var("WARDEN_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database on the test server, as `(url, name)`; `None`, said
/// on stderr, when the server is not reachable and not required — with
/// `WARDEN_REQUIRE_POSTGRES=1` (as in CI) that is a failure instead, so the
/// PostgreSQL tests cannot pass by being skipped.
pub async fn fresh_postgres_database(label: &str) -> Option<(String, String)> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let server = postgres_server();
    let mut admin = match sqlx::PgConnection::connect(&server).await {
        Ok(c) => c,
        Err(e) if std::env::var("WARDEN_REQUIRE_POSTGRES").as_deref() != Ok("1") => {
            eprintln!("skipped: PostgreSQL not reachable at {server} ({e}); set WARDEN_TEST_POSTGRES_URL or start PostgreSQL");
            return None;
        }
        Err(e) => panic!("PostgreSQL is required (WARDEN_REQUIRE_POSTGRES=1) but not reachable at {server}: {e}"),
    };
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("warden_{label}_{}_{n}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.expect("drop the test database");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create the test database");
    admin.close().await.ok();
    let (head, _) = server.rsplit_once('/').expect("a database URL");
    Some((format!("{head}/{name}"), name))
}
