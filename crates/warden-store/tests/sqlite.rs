//! The SQLite backend: the conformance suite on real files, plus what only SQLite has.

use sqlx::{Connection, SqliteConnection};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use warden_model::{ObjectKind, ObjectRef};
use warden_store::conformance::{self, Fixture};
use warden_store::{Change, SqliteStore, Store, StoreError};

/// A store in a file of its own temporary directory.
struct SqliteFixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Arc<dyn Store>,
}

async fn fixture() -> SqliteFixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("warden.db");
    let store = Arc::new(SqliteStore::open(&path).await.expect("open store"));
    SqliteFixture {
        _dir: dir,
        path,
        store,
    }
}

async fn raw(path: &Path) -> SqliteConnection {
    let url = format!("sqlite://{}", path.display());
    SqliteConnection::connect(&url)
        .await
        .expect("raw connection")
}

#[async_trait::async_trait]
impl Fixture for SqliteFixture {
    fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    async fn reopen(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(&self.path).await.expect("reopen store"))
    }

    async fn tamper(&self, sql: &str) {
        let mut conn = raw(&self.path).await;
        // One statement at a time: the tampering SQL holds no `;` inside literals.
        for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .expect("tamper");
        }
        conn.close().await.expect("close raw connection");
    }
}

warden_store::conformance_tests!(fixture());

async fn versions(path: &Path) -> Vec<(String, i64, i64)> {
    let mut conn = raw(path).await;
    sqlx::query_as("SELECT key, version, revision FROM objects ORDER BY key")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn object_versions_count_effective_changes() {
    let f = fixture().await;
    let store = f.store();
    let alice = || conformance::user("alice");
    store
        .commit(conformance::commit(
            "create",
            vec![
                conformance::put(alice()),
                conformance::put(conformance::user("bob")),
            ],
        ))
        .await
        .unwrap();
    let mut disabled = alice();
    disabled.enabled = false;
    store
        .commit(conformance::commit(
            "disable",
            vec![conformance::put(disabled.clone())],
        ))
        .await
        .unwrap();
    // Identical: no new version, and the row keeps the revision that last changed it.
    store
        .commit(conformance::commit(
            "again",
            vec![conformance::put(disabled)],
        ))
        .await
        .unwrap();
    assert_eq!(
        versions(&f.path).await,
        vec![("alice".into(), 2, 2), ("bob".into(), 1, 1)]
    );
    // Deleted and created again: a new object, version 1.
    let key = ObjectRef::new(ObjectKind::User, "alice");
    store
        .commit(conformance::commit("delete", vec![Change::Delete(key)]))
        .await
        .unwrap();
    store
        .commit(conformance::commit(
            "create",
            vec![conformance::put(alice())],
        ))
        .await
        .unwrap();
    assert_eq!(
        versions(&f.path).await,
        vec![("alice".into(), 1, 5), ("bob".into(), 1, 1)]
    );
}

#[tokio::test]
async fn file_is_in_wal_mode() {
    let f = fixture().await;
    let mut conn = raw(&f.path).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn open_picks_the_backend_from_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = warden_store::open(None, &data).await.unwrap();
    store
        .commit(conformance::commit(
            "create",
            vec![conformance::put(conformance::user("alice"))],
        ))
        .await
        .unwrap();
    assert!(data.join("warden.db").exists());

    let url = format!("sqlite://{}", dir.path().join("other.db").display());
    let other = warden_store::open(Some(&url), &data).await.unwrap();
    assert_eq!(other.revision().await.unwrap(), 0);

    let memory = warden_store::open(Some("sqlite::memory:"), &data)
        .await
        .unwrap();
    memory
        .commit(conformance::commit(
            "create",
            vec![conformance::put(conformance::user("x"))],
        ))
        .await
        .unwrap();
    assert_eq!(memory.load().await.unwrap().0.users.len(), 1);

    for url in ["mysql://u:secret@db/w"] {
        match warden_store::open(Some(url), &data).await {
            Err(StoreError::Unsupported(message)) => {
                assert!(!message.contains("secret"), "{message}")
            }
            other => panic!(
                "expected Unsupported for {url}, got {:?}",
                other.map(|_| ())
            ),
        }
    }
}

#[tokio::test]
async fn in_memory_store_works_with_concurrent_readers() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let model = conformance::sample_model();
    store
        .commit(conformance::commit(
            "import",
            model.objects().map(Change::Put).collect(),
        ))
        .await
        .unwrap();
    let loads: Vec<_> = (0..4)
        .map(|_| {
            let s = Arc::clone(&store);
            tokio::spawn(async move { s.load().await.unwrap() })
        })
        .collect();
    for l in loads {
        assert_eq!(l.await.unwrap(), (model.clone(), 1));
    }
}

#[tokio::test]
async fn two_stores_on_one_file_serialize_their_commits() {
    // As a CLI beside a running server would: two processes' worth of pools.
    let f = fixture().await;
    let a = f.store();
    let b = f.reopen().await;
    let tasks: Vec<_> = [a, b]
        .into_iter()
        .enumerate()
        .map(|(t, store)| {
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..20 {
                    let c = conformance::commit(
                        "create",
                        vec![conformance::put(conformance::user(&format!("s{t}-{i}")))],
                    );
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
    assert_eq!(all, (1..=40).collect::<Vec<u64>>());
    assert!(f.store().verify_audit(None).await.unwrap().is_intact());
}
