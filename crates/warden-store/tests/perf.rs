//! D365-scale timings, run by hand (they take seconds and want a release build):
//! `cargo test --release -p warden-store --test perf -- --ignored --nocapture`
//! (`WARDEN_PERF_POSTGRES_URL`, an empty database, adds PostgreSQL to
//! `follower_catch_up`).

use std::time::Instant;
use warden_model::{
    Access, Assignment, Duty, EntryPoint, EntryPointGrant, EntryPointKey, EntryPointType, Grant,
    Licence, Object, Privilege, Role, User,
};
use warden_store::{AuditFilter, Change, Commit, PgStore, SqliteStore, Store};

/// About 90,000 objects shaped like a D365 AOT import.
fn aot(edition: u32) -> Vec<Change> {
    let mut changes = Vec::new();
    for i in 0..70_000 {
        let kind = [
            EntryPointType::MenuItemDisplay,
            EntryPointType::MenuItemAction,
            EntryPointType::MenuItemOutput,
        ][i % 3];
        let mut ep = EntryPoint::referenced(&EntryPointKey::new(kind, format!("MenuItem{i:06}")));
        ep.label = Some(format!("@SYS{i}"));
        ep.object = Some(format!("Form{i:06}"));
        ep.view_licence = Licence::Universal;
        ep.maintain_licence = Licence::Operations;
        ep.model = Some("ApplicationSuite".into());
        changes.push(Change::Put(Object::EntryPoint(ep)));
    }
    for p in 0..15_000 {
        let mut grant = Grant::default();
        grant.allow.insert(Access::Read);
        if p % 2 == 0 {
            grant.allow.insert(Access::Update);
        }
        let entry_points = (0..4)
            .map(|j| {
                let i = (p * 4 + j) % 70_000;
                EntryPointGrant {
                    name: format!("MenuItem{i:06}"),
                    kind: EntryPointType::MenuItemDisplay,
                    object: format!("MenuItem{i:06}"),
                    child: None,
                    grant,
                    unmodelled: Vec::new(),
                }
            })
            .collect();
        changes.push(Change::Put(Object::Privilege(Privilege {
            name: format!("Privilege{p:05}"),
            label: Some(format!(
                "@SYS{p} edition {}",
                if p % 100 == 0 { edition } else { 0 }
            )),
            description: None,
            model: Some("ApplicationSuite".into()),
            entry_points,
            direct_access: Vec::new(),
            unmodelled: Vec::new(),
        })));
    }
    for d in 0..4_000 {
        changes.push(Change::Put(Object::Duty(Duty {
            name: format!("Duty{d:04}"),
            label: Some(format!("@SYS{d}")),
            description: None,
            model: Some("ApplicationSuite".into()),
            privileges: (0..6)
                .map(|j| format!("Privilege{:05}", (d * 6 + j) % 15_000))
                .collect(),
            unmodelled: Vec::new(),
        })));
    }
    for r in 0..1_000 {
        let mut role = Role::new(format!("Role{r:04}"));
        role.label = Some(format!("@SYS{r}"));
        role.duties = (0..12)
            .map(|j| format!("Duty{:04}", (r * 12 + j) % 4_000))
            .collect();
        role.privileges = (0..3)
            .map(|j| format!("Privilege{:05}", (r * 3 + j) % 15_000))
            .collect();
        changes.push(Change::Put(Object::Role(role)));
    }
    changes
}

fn people() -> Vec<Change> {
    let mut changes = Vec::with_capacity(400_000);
    for u in 0..100_000 {
        let id = format!("user{u:06}");
        let mut user = User::new(id.clone());
        user.name = Some(format!("User Number {u}"));
        user.email = Some(format!("{id}@contoso.com"));
        changes.push(Change::Put(Object::User(user)));
        for j in 0..3 {
            let mut a = Assignment::global(id.clone(), format!("Role{:04}", (u * 3 + j) % 1_000));
            if j == 2 {
                a.organizations = vec!["USMF".into()];
            }
            changes.push(Change::Put(Object::Assignment(a)));
        }
    }
    changes
}

/// Wall time and this process's CPU time since `start`, so that a busy machine can
/// be told apart from slow code.
struct Clock {
    wall: Instant,
    cpu: f64,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }
    fn report(&self, what: impl std::fmt::Display) {
        println!(
            "{what}: {:.2} s wall, {:.2} s CPU",
            self.wall.elapsed().as_secs_f64(),
            cpu_seconds() - self.cpu
        );
    }
}

/// User + system time of this process from /proc (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(after_name) = stat.rsplit(')').next() else {
        return 0.0;
    };
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn commit(action: &str, changes: Vec<Change>) -> Commit {
    Commit {
        changes,
        ..Commit::new("perf", action)
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "timing run; see the file's doc comment"]
async fn d365_scale() {
    // WARDEN_PERF_DIR keeps the database for inspection afterwards.
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("WARDEN_PERF_DIR")
        .map_or_else(|| temp.path().to_path_buf(), std::path::PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("warden.db{suffix}")));
    }
    let store = SqliteStore::open(&dir.join("warden.db")).await.unwrap();

    let changes = aot(1);
    let n = changes.len();
    let t = Clock::start();
    store.commit(commit("import aot", changes)).await.unwrap();
    t.report(format_args!("commit: AOT import of {n} new objects"));

    let changes = people();
    let n = changes.len();
    let t = Clock::start();
    store.commit(commit("import users", changes)).await.unwrap();
    t.report(format_args!("commit: {n} new users and assignments"));

    let t = Clock::start();
    let (model, revision) = store.load().await.unwrap();
    let rows = model.objects().count();
    t.report(format_args!("load: {rows} objects at revision {revision}"));

    let changes = aot(1);
    let t = Clock::start();
    store.commit(commit("import aot", changes)).await.unwrap();
    t.report("commit: AOT re-import, nothing changed");

    let changes = aot(2);
    let t = Clock::start();
    store.commit(commit("import aot", changes)).await.unwrap();
    t.report("commit: AOT re-import, 150 privileges changed");
    let events = store
        .audit_events(&AuditFilter {
            include_changes: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events[3].changes.len(), 150);

    let changes = people();
    let t = Clock::start();
    store.commit(commit("import users", changes)).await.unwrap();
    t.report("commit: users and assignments re-import, nothing changed");

    let t = Clock::start();
    let verdict = store.verify_audit(None).await.unwrap();
    t.report(format_args!("verify_audit: {verdict:?}"));
    assert!(verdict.is_intact());

    let t = Clock::start();
    let users = store.list(warden_model::ObjectKind::User).await.unwrap();
    t.report(format_args!("list: {} users", users.len()));
    let size = std::fs::metadata(dir.join("warden.db"))
        .map(|m| m.len())
        .unwrap_or(0)
        + std::fs::metadata(dir.join("warden.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!("database + WAL: {} MiB", size / (1 << 20));
}

/// Only the 400,000-row commit and its re-import, for profiling.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "timing run; see the file's doc comment"]
async fn people_import() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("warden.db"))
        .await
        .unwrap();
    let changes = people();
    let t = Clock::start();
    store.commit(commit("import users", changes)).await.unwrap();
    t.report("commit: 400000 new users and assignments");
    let changes = people();
    let t = Clock::start();
    store.commit(commit("import users", changes)).await.unwrap();
    t.report("commit: users and assignments re-import, nothing changed");
}

/// The 400,000-row users import, then `n` one-assignment commits (what an
/// administrator's write is), timed one by one.
async fn small_commits(store: &dyn Store, n: usize) {
    store.commit(commit("import users", people())).await.unwrap();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let a = Assignment::global(format!("user{i:06}"), "Role9999");
        let t = Instant::now();
        store.commit(commit("user assign", vec![Change::Put(Object::Assignment(a))])).await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("commit: one assignment, {n} times: {}", percentiles(times));
}

/// p50 and p99 of milliseconds.
fn percentiles(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    format!("p50 {:.2} ms, p99 {:.2} ms", ms[n / 2], ms[n * 99 / 100])
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "timing run; see the file's doc comment"]
async fn one_object_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("warden.db")).await.unwrap();
    small_commits(&store, 500).await;
}

/// A follower some commits behind a store whose trail holds a 400,000-change
/// import: what `changes_since` costs next to the full load it replaces.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "timing run; see the file's doc comment"]
async fn follower_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("warden.db")).await.unwrap();
    catch_up("SQLite", &sqlite).await;
    if let Ok(url) = std::env::var("WARDEN_PERF_POSTGRES_URL") {
        catch_up("PostgreSQL", &PgStore::connect(&url).await.unwrap()).await;
    }
}

async fn catch_up(backend: &str, store: &dyn Store) {
    println!("{backend}:");
    small_commits(store, 1_000).await;
    let now = store.revision().await.unwrap();
    for behind in [1, 10, 100, 1_000] {
        let mut times = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let delta = store.changes_since(now - behind, 10_000).await.unwrap().expect("bridged");
            times.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(delta.objects.len() as u64, behind);
        }
        println!("changes_since: {behind} commits behind: {}", percentiles(times));
    }
    let t = Clock::start();
    assert!(store.changes_since(0, 10_000).await.unwrap().is_none());
    t.report("changes_since: the whole trail, over the limit");
    let t = Clock::start();
    store.load().await.unwrap();
    t.report("load (what a follower does without the delta)");
}
