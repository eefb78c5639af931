//! Nothing in an AOT file is lost on its way through Warden: every fixture
//! file, imported into a real store (SQLite, and PostgreSQL when reachable)
//! and exported again, is the same in XML terms (`warden_aot::xml_difference`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use warden_core::Warden;

fn roots() -> Vec<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![here.join("demo/aot"), here.join("../warden-aot/tests/fixtures/aot"), here.join("../warden-aot/tests/fixtures/lossless")]
}

fn aot_files(root: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(root).expect("fixture folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            aot_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") && path.parent().and_then(|p| p.file_name()).is_some_and(|n| n.to_string_lossy().starts_with("Ax")) {
            out.push(path);
        }
    }
}

/// Imports every fixture into `store`, exports the store, and lists the files that differ.
async fn round_trip(store: Arc<dyn warden_store::Store>) -> (usize, Vec<String>) {
    let w = Warden::new(store, "tester");
    let import = w.import_aot(&roots(), false).await.expect("fixtures import");
    let out = tempfile::TempDir::new().expect("temp dir");
    let dir = out.path().join("export");
    w.export_aot(&dir, false).await.expect("export");
    let mut files = Vec::new();
    for root in roots() {
        aot_files(&root, &mut files);
    }
    assert_eq!(import.files, files.len());
    let mut found = Vec::new();
    for original in &files {
        let ax_type = original.parent().expect("type folder");
        let model = ax_type.parent().expect("model folder");
        let written = dir.join(model.file_name().expect("model")).join(ax_type.file_name().expect("type")).join(original.file_name().expect("file"));
        let before = std::fs::read_to_string(original).expect("original");
        match std::fs::read_to_string(&written).map(|after| warden_aot::xml_difference(&before, &after)) {
            Ok(Ok(None)) => {}
            Ok(Ok(Some(d))) => found.push(format!("{}: {d}", original.display())),
            Ok(Err(e)) => found.push(format!("{}: {e}", original.display())),
            Err(e) => found.push(format!("{}: not exported ({e})", original.display())),
        }
    }
    (files.len(), found)
}

#[tokio::test]
async fn every_fixture_file_survives_a_sqlite_store() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = warden_store::open(None, dir.path()).await.expect("store");
    let (files, found) = round_trip(store).await;
    assert!(files > 150, "{files}");
    assert!(found.is_empty(), "{} of {files} file(s) differ:\n{}", found.len(), found.join("\n"));
}

#[tokio::test]
async fn every_fixture_file_survives_a_postgresql_store() {
    let Some(url) = postgres_database("aot_lossless").await else { return };
    let store = warden_store::open(Some(&url), Path::new(".")).await.expect("store");
    let (files, found) = round_trip(store).await;
    assert!(found.is_empty(), "{} of {files} file(s) differ:\n{}", found.len(), found.join("\n"));
}

/// A fresh PostgreSQL database ([`warden_store::testing`]).
async fn postgres_database(label: &str) -> Option<String> {
    warden_store::testing::fresh_postgres_database(label).await.map(|(url, _)| url)
}

/// Finding 8: an import that changed nothing still committed a revision and
/// an audit event.
#[tokio::test]
async fn an_import_that_changes_nothing_commits_nothing() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = warden_store::open(None, dir.path()).await.expect("store");
    let w = Warden::new(store, "tester");
    let first = w.import_aot(&roots(), false).await.expect("first import");
    assert!(first.changed && first.added > 0);
    let events = w.store().audit_events(&warden_store::AuditFilter::default()).await.expect("audit").len();
    let again = w.import_aot(&roots(), false).await.expect("second import");
    assert!(!again.changed, "{} added, {} updated", again.added, again.updated);
    assert_eq!((again.added, again.updated, again.unchanged), (0, 0, first.added + first.updated + first.unchanged));
    assert_eq!(again.revision, first.revision, "no new revision");
    assert_eq!(w.store().audit_events(&warden_store::AuditFilter::default()).await.expect("audit").len(), events, "no audit event");
}

/// The control and field grants of an imported file decide checks that name
/// them (README, "Controls and fields"): the Lossless privilege allows Update
/// on CustTable but denies it on its control CreditMax and on the data
/// entity's field CreditLimit.
#[tokio::test]
async fn control_and_field_grants_of_an_imported_file_decide_checks() {
    use warden_model::{Access, Part, Timestamp, User};
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = warden_store::open(None, dir.path()).await.expect("store");
    let w = Warden::new(store, "tester");
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    w.import_aot(&[here.join("../warden-aot/tests/fixtures/lossless")], false).await.expect("import");
    w.add_user(User::new("vera")).await.expect("user");
    w.assign("vera", "LosslessVendorPortalUser", &[], None, None, Timestamp::now()).await.expect("assign");
    let snap = w.snapshot().await.expect("snapshot");
    let check = |ep: &str, access, part: Option<Part>| {
        let req = warden_core::CheckRequest { user: "vera".into(), entry_point: ep.into(), access, org: None, at: Timestamp::now(), explain: true, part };
        snap.check(&req).expect("check")
    };
    let ep = "MenuItemDisplay/CustTable";
    assert!(check(ep, Access::Update, None).decision.is_allowed());
    let denied = check(ep, Access::Update, Some(Part::control("CreditMax")));
    assert!(!denied.decision.is_allowed());
    let why = denied.explanation.expect("explanation");
    assert!(why.reason.contains("its own grant on control CreditMax") && why.reason.contains("LosslessCustTableMaintain"), "{}", why.reason);
    assert_eq!(denied.part, Some(Part::control("CreditMax")));
    assert!(check(ep, Access::Read, Some(Part::control("CreditMax"))).decision.is_allowed());
    assert!(!check(ep, Access::Invoke, Some(Part::control("ButtonBlock"))).decision.is_allowed());
    assert!(!check(ep, Access::Update, Some(Part::field("CustTable.CreditMax"))).decision.is_allowed());
    assert!(check(ep, Access::Update, Some(Part::field("CustTable.Name"))).decision.is_allowed(), "a field no grant names inherits");
    let entity = "DataEntity/CustCustomerV3Entity";
    assert!(check(entity, Access::Update, None).decision.is_allowed());
    assert!(!check(entity, Access::Update, Some(Part::field("CreditLimit"))).decision.is_allowed());
    assert!(check(entity, Access::Read, Some(Part::field("CreditLimit"))).decision.is_allowed());
    // A name that breaks the identifier rule is refused, naming the field.
    let req = warden_core::CheckRequest { user: "vera".into(), entry_point: ep.into(), access: Access::Read, org: None, at: Timestamp::now(), explain: false, part: Some(Part::control("a\u{1b}[31m")) };
    let e = snap.check(&req).expect_err("refused").to_string();
    assert!(e.starts_with("control: invalid control name"), "{e}");
}
