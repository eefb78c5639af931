//! The PostgreSQL backend: the same conformance suite as SQLite, each case on a
//! database of its own, plus what only a shared server has (several stores on
//! one database, woken by LISTEN/NOTIFY).
//!
//! The server comes from `WARDEN_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Without one reachable, every
//! case prints why it was skipped and passes — unless `WARDEN_REQUIRE_POSTGRES=1`
//! (as in CI), where an unreachable server fails the run.

use sqlx::{Connection, PgConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use warden_store::conformance::{self, Fixture};
use warden_store::{PgStore, Store};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn server_url() -> String {
    std::env::var("WARDEN_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// `base` with its database name replaced.
fn with_database(base: &str, name: &str) -> String {
    let (head, query) = base.split_once('?').map_or((base, None), |(h, q)| (h, Some(q)));
    let cut = head.rfind('/').filter(|i| head[..*i].ends_with('/') || head[..*i].contains("//")).unwrap_or(head.len());
    let mut url = format!("{}/{name}", &head[..cut]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

struct PgFixture {
    url: String,
    name: String,
    store: Arc<dyn Store>,
}

/// A fresh, empty database, or `None` (with the reason printed) when there is
/// no server and none is required.
async fn fixture() -> Option<PgFixture> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = server_url();
    let mut admin = match PgConnection::connect(&base).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("WARDEN_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("PostgreSQL is required (WARDEN_REQUIRE_POSTGRES=1) but not reachable at {base}: {e}");
            }
            eprintln!("skipped: PostgreSQL not reachable at {base} ({e}); set WARDEN_TEST_POSTGRES_URL or start PostgreSQL");
            return None;
        }
    };
    let name = format!("warden_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut admin).await.expect("drop old test database");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
    admin.close().await.ok();
    let url = with_database(&base, &name);
    let store = Arc::new(PgStore::connect(&url).await.expect("open the test database"));
    Some(PgFixture { url, name, store })
}

impl Drop for PgFixture {
    /// Best effort: a leftover database is dropped by the next run's `DROP ... IF EXISTS` anyway.
    fn drop(&mut self) {
        let base = server_url();
        let name = self.name.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut admin = PgConnection::connect(&base).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join()
        .ok();
    }
}

#[async_trait::async_trait]
impl Fixture for PgFixture {
    fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    async fn reopen(&self) -> Arc<dyn Store> {
        Arc::new(PgStore::connect(&self.url).await.expect("reopen store"))
    }

    async fn tamper(&self, sql: &str) {
        let mut conn = PgConnection::connect(&self.url).await.expect("raw connection");
        for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
            sqlx::query(statement).execute(&mut conn).await.expect("tamper");
        }
        conn.close().await.ok();
    }
}

warden_store::conformance_tests!(optional fixture());

#[test]
fn urls_get_their_database_replaced() {
    assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
    assert_eq!(with_database("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_database_serialize_commits_and_wake_each_other() {
    let Some(f) = fixture().await else { return };
    let a = f.store();
    let b = f.reopen().await;
    // B waits; A commits; B wakes well within a second.
    let waiter = {
        let b = Arc::clone(&b);
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let r = b.wait_for_change(0, Duration::from_secs(10)).await.unwrap();
            (r, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.commit(conformance::commit("user create", vec![conformance::put(conformance::user("alice"))])).await.unwrap();
    let (seen, waited) = waiter.await.unwrap();
    assert_eq!(seen, 1);
    assert!(waited < Duration::from_secs(1), "woken after {waited:?}");
    // Concurrent commits from both get consecutive revisions and one intact chain.
    let tasks: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(t, store)| {
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..15 {
                    let c = conformance::commit("create", vec![conformance::put(conformance::user(&format!("s{t}-{i}")))]);
                    revisions.push(store.commit(c).await.unwrap());
                }
                revisions
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (2..=31).collect::<Vec<u64>>());
    assert!(a.verify_audit(None).await.unwrap().is_intact());
    assert_eq!(b.load().await.unwrap().0.users.len(), 31);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_dispatches_postgres_urls() {
    let Some(f) = fixture().await else { return };
    let store = warden_store::open(Some(&f.url), std::path::Path::new("unused")).await.unwrap();
    assert_eq!(store.revision().await.unwrap(), 0);
}
