//! The governance services against a real (SQLite) store: every write is one
//! audited commit, and a refused write leaves the store exactly as it was.

use std::path::{Path, PathBuf};
use tempfile::TempDir;
use warden_core::{CoreError, Warden};
use warden_model::{
    Access, EntryPoint, EntryPointKey, EntryPointType, ObjectKind, ObjectRef, Organization, Timestamp, User,
};
use warden_store::AuditFilter;

const XPPTOOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/aot/xpptools");

async fn warden(dir: &Path) -> Warden {
    let store = warden_store::open(None, dir).await.expect("store opens");
    Warden::new(store, "tester")
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("valid time")
}

async fn with_xpptools() -> (TempDir, Warden) {
    let dir = TempDir::new().expect("temp dir");
    let w = warden(dir.path()).await;
    w.import_aot(&[PathBuf::from(XPPTOOLS)], false).await.expect("xpptools imports");
    (dir, w)
}

#[tokio::test]
async fn each_write_is_one_audit_event_by_the_actor() {
    let (_dir, w) = with_xpptools().await;
    w.add_org(Organization { id: "USMF".into(), name: None }).await.expect("org");
    w.add_user(User::new("alice")).await.expect("user");
    let a = w.assign("alice", "devsqlqueryexecute", &["usmf".into()], None, None, Timestamp::now()).await.expect("assign");
    assert_eq!(a.assignment.role, "DEVSQLQueryExecute", "names are stored as the model spells them");
    assert_eq!(a.assignment.organizations, vec!["USMF".to_string()]);
    w.revoke("alice", "DEVSQLQueryExecute").await.expect("revoke");
    let events = w.store().audit_events(&AuditFilter::default()).await.expect("audit");
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["import aot", "org add", "user add", "user assign", "user revoke"]);
    assert!(events.iter().all(|e| e.actor == "tester"));
    assert_eq!(events.last().map(|e| e.revision), Some(5));
}

#[tokio::test]
async fn refused_writes_change_nothing() {
    let (_dir, w) = with_xpptools().await;
    w.add_user(User::new("alice")).await.expect("user");
    let before = w.store().revision().await.expect("revision");
    let now = Timestamp::now();

    let e = w.assign("alice", "Nope", &[], None, None, now).await.expect_err("unknown role");
    assert_eq!(e.to_string(), "unknown role 'Nope'");
    assert_eq!(e.unknown_kind(), Some(ObjectKind::Role));
    let e = w.assign("bob", "DEVSQLQueryExecute", &[], None, None, now).await.expect_err("unknown user");
    assert!(matches!(e, CoreError::Unknown { kind: ObjectKind::User, .. }), "{e}");
    let e = w.assign("alice", "DEVSQLQueryExecute", &["XX".into()], None, None, now).await.expect_err("unknown org");
    assert_eq!(e.to_string(), "unknown organization 'XX'");
    let e = w.assign("alice", "DEVSQLQueryExecute", &[], Some(at("2026-02-01")), Some(at("2026-01-01")), now).await;
    assert!(matches!(e, Err(CoreError::EmptyWindow { .. })));
    let e = w.revoke("alice", "DEVSQLQueryExecute").await.expect_err("not assigned");
    assert_eq!(e.to_string(), "user 'alice' does not have role 'DEVSQLQueryExecute'; they have no roles");
    let e = w.add_user(User::new("Alice")).await.expect_err("case duplicate");
    assert_eq!(e.to_string(), "user 'alice' already exists");
    let e = w.add_org(Organization { id: "A;B".into(), name: None }).await.expect_err("bad id");
    assert!(e.to_string().contains("';'"), "{e}");

    assert_eq!(w.store().revision().await.expect("revision"), before);
}

#[tokio::test]
async fn reassigning_replaces_scope_and_window() {
    let (_dir, w) = with_xpptools().await;
    w.add_org(Organization { id: "USMF".into(), name: None }).await.expect("org");
    w.add_user(User::new("alice")).await.expect("user");
    let now = at("2026-03-01");
    let first = w.assign("alice", "DEVSQLQueryExecute", &["USMF".into()], None, Some(at("2026-02-01")), now).await.expect("assign");
    assert!(first.replaced.is_none());
    assert!(first.notes.iter().any(|n| n.contains("already over")), "{:?}", first.notes);
    let second = w.assign("alice", "DEVSQLQueryExecute", &[], None, None, now).await.expect("re-assign");
    assert_eq!(second.replaced.map(|a| a.organizations), Some(vec!["USMF".to_string()]));
    let snapshot = w.snapshot().await.expect("snapshot");
    assert_eq!(snapshot.model.assignments_of("alice").len(), 1);
    assert!(snapshot.model.assignments_of("alice")[0].is_global());
}

#[tokio::test]
async fn aot_import_merges_and_keeps_what_it_does_not_mention() {
    let dir = TempDir::new().expect("temp dir");
    let w = warden(dir.path()).await;
    let files = TempDir::new().expect("temp dir");
    let write = |rel: &str, xml: &str| {
        let p = files.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, xml).expect("write");
        p
    };
    let role_v1 = write(
        "v1/M/AxSecurityRole/R.xml",
        "<AxSecurityRole><Name>R</Name><Label>First</Label><Privileges><AxSecurityPrivilegeReference><Name>P</Name></AxSecurityPrivilegeReference></Privileges></AxSecurityRole>",
    );
    let privilege = write(
        "v1/M/AxSecurityPrivilege/P.xml",
        "<AxSecurityPrivilege><Name>P</Name><EntryPoints><AxSecurityEntryPointReference><Name>X</Name><Grant><Read>Allow</Read></Grant>\
         <ObjectName>X</ObjectName><ObjectType>MenuItemDisplay</ObjectType></AxSecurityEntryPointReference></EntryPoints></AxSecurityPrivilege>",
    );
    let menu_item = write("v1/M/AxMenuItemDisplay/X.xml", "<AxMenuItemDisplay><Name>X</Name><Label>The X form</Label></AxMenuItemDisplay>");
    let first = w.import_aot(&[role_v1, privilege.clone(), menu_item], true).await.expect("import");
    assert_eq!((first.added, first.updated, first.unchanged), (3, 0, 0));

    // A second import that changes the role and re-reads the privilege alone: the
    // menu item stays defined (the import knows it only by reference), the role is updated.
    let role_v2 = write(
        "v2/M/AxSecurityRole/R.xml",
        "<AxSecurityRole><Name>R</Name><Label>Second</Label><Privileges><AxSecurityPrivilegeReference><Name>P</Name></AxSecurityPrivilegeReference></Privileges></AxSecurityRole>",
    );
    let second = w.import_aot(&[role_v2, privilege], true).await.expect("re-import, strict: P resolves against the store");
    assert_eq!((second.added, second.updated), (0, 1), "{second:?}");
    let s = w.snapshot().await.expect("snapshot");
    assert_eq!(s.model.roles["R"].label.as_deref(), Some("Second"));
    let x = EntryPointKey::new(EntryPointType::MenuItemDisplay, "X");
    assert_eq!(s.model.entry_points[&x].label.as_deref(), Some("The X form"), "the defined menu item was kept");
    assert_ne!(s.model.entry_points[&x], EntryPoint::referenced(&x));
}

#[tokio::test]
async fn checks_resolve_names_and_refuse_unknown_ones() {
    let (_dir, w) = with_xpptools().await;
    w.add_org(Organization { id: "USMF".into(), name: None }).await.expect("org");
    w.add_user(User::new("alice")).await.expect("user");
    w.assign("alice", "DEVIntegDeveloperRole", &["USMF".into()], None, None, Timestamp::now()).await.expect("assign");
    let s = w.snapshot().await.expect("snapshot");
    let request = |org: Option<&str>, ep: &str| warden_core::CheckRequest {
        user: "ALICE".into(),
        entry_point: ep.into(),
        access: Access::Delete,
        org: org.map(str::to_string),
        at: Timestamp::now(),
        explain: true,
        part: None,
    };
    let allow = s.check(&request(Some("usmf"), "devintegmessagetable")).expect("check");
    assert!(allow.decision.is_allowed());
    assert_eq!(allow.entry_point, "MenuItemDisplay/DEVIntegMessageTable");
    assert_eq!(allow.org.as_deref(), Some("USMF"));
    assert!(allow.explanation.is_some_and(|e| e.decision == allow.decision));
    assert!(!s.check(&request(None, "DEVIntegMessageTable")).expect("check").decision.is_allowed());
    let e = s.check(&request(Some("DEMF"), "DEVIntegMessageTable")).expect_err("unknown org");
    assert_eq!(e.unknown_kind(), Some(ObjectKind::Organization));
    let e = s.check(&request(None, "DEVIntegMessageTabel")).expect_err("typo");
    assert_eq!(e.to_string(), "unknown entry point 'DEVIntegMessageTabel'; did you mean 'MenuItemDisplay/DEVIntegMessageTable'?");
}

#[tokio::test]
async fn demo_loads_into_an_empty_store_only() {
    let dir = TempDir::new().expect("temp dir");
    let w = warden(dir.path()).await;
    let now = Timestamp::now();
    assert!(matches!(w.load_demo(false, now).await, Ok(warden_core::DemoOutcome::Loaded { revision: 1, .. })));
    assert!(matches!(w.load_demo(false, now).await, Ok(warden_core::DemoOutcome::AlreadyLoaded { revision: 1 })));

    let (_other_dir, other) = with_xpptools().await;
    other.add_user(User::new("zz-not-in-demo")).await.expect("user");
    let e = other.load_demo(false, now).await.expect_err("non-empty store");
    assert!(e.to_string().contains("--reset"), "{e}");
    let reset = other.load_demo(true, now).await.expect("reset");
    assert!(matches!(reset, warden_core::DemoOutcome::Loaded { replaced_objects, .. } if replaced_objects > 100));
    let s = other.snapshot().await.expect("snapshot");
    assert!(!s.model.users.contains_key("zz-not-in-demo"));
    assert_eq!(s.model, w.snapshot().await.expect("snapshot").model);
    let deleted = other
        .store()
        .audit_events(&AuditFilter { object: Some(ObjectRef::new(ObjectKind::User, "zz-not-in-demo")), ..Default::default() })
        .await
        .expect("audit");
    // The reset first drops the database layer (users included) in its own audited commit.
    assert_eq!(deleted.last().map(|e| e.action.as_str()), Some("demo reset"), "the reset is in the audit trail");
}
