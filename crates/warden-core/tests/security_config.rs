//! D365's security configuration file through Warden's database layer, on
//! SQLite and PostgreSQL: import → export gives the same file in XML terms,
//! import of what was exported changes nothing (and writes nothing), a bad
//! file writes nothing, and the code layer stays beneath.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use warden_core::Warden;
use warden_model::{ObjectKind, ObjectRef};
use warden_store::{AuditFilter, Layer, Store};

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn config_fixture() -> PathBuf {
    here().join("../warden-aot/tests/fixtures/security-config/SecurityDatabaseCustomizations.xml")
}

/// The AOT model the fixture customizes (the xpptools model).
fn xpptools() -> PathBuf {
    here().join("../../../shared/fixtures/aot/xpptools")
}

async fn events(w: &Warden) -> usize {
    w.store().audit_events(&AuditFilter::default()).await.expect("audit").len()
}

async fn round_trip(store: Arc<dyn Store>) {
    let w = Warden::new(store, "tester");
    w.import_aot(&[xpptools()], false).await.expect("the code layer");
    let imported = w.import_security_config(&config_fixture()).await.expect("imports");
    assert!(imported.changed);
    assert_eq!((imported.customized, imported.new, imported.disabled, imported.written), (2, 3, 1, 6));
    // Every object's list is what export will write: no warning says otherwise.
    assert!(!imported.warnings.iter().any(|w| w.contains("exported as")), "{:?}", imported.warnings);
    assert!(imported.warnings.iter().any(|w| w.contains("AxSecurityRole/Tags")), "{:?}", imported.warnings);

    // The database layer wins; the code layer is still there beneath it.
    let snapshot = w.snapshot().await.expect("snapshot");
    let role = snapshot.model.roles.get("DEVIntegDeveloperRole").expect("the role");
    assert!(role.duties.iter().any(|d| d == "DEVIntegWorkspaceView"), "{:?}", role.duties);
    // The file does not say which AOT model a role is of; the stored one's stays.
    assert_eq!(role.model.as_deref(), Some("DEVExternalIntegration"));
    assert!(!snapshot.model.privileges.contains_key("DEVIntegServiceTestMaintain"), "the disabled privilege no longer counts");
    assert!(snapshot.model.privileges.contains_key("0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f"));
    let layers = w.store().layers(&ObjectRef::new(ObjectKind::Privilege, "DEVIntegServiceTestMaintain")).await.expect("layers");
    assert!(layers.iter().any(|l| l.layer == Layer::Code && l.object.is_some()), "{layers:?}");
    assert!(layers.iter().any(|l| l.layer == Layer::Database && l.object.is_none()), "{layers:?}");

    // Export: the same file in XML terms.
    let dir = tempfile::TempDir::new().expect("temp dir");
    let out = dir.path().join("SecurityDatabaseCustomizations.xml");
    let exported = w.export_security_config(&out, false).await.expect("exports");
    assert_eq!((exported.customized, exported.new, exported.disabled), (2, 3, 1));
    let before = std::fs::read_to_string(config_fixture()).expect("fixture");
    let after = std::fs::read_to_string(&out).expect("exported");
    assert_eq!(warden_aot::xml_difference(&before, &after), Ok(None), "{after}");

    // Importing what was exported changes nothing, and writes nothing.
    let revision = imported.revision;
    let audit = events(&w).await;
    let again = w.import_security_config(&out).await.expect("imports again");
    assert!(!again.changed);
    assert_eq!((again.written, again.unchanged, again.revision), (0, 6, revision));
    assert_eq!(events(&w).await, audit, "no audit event");

    // Dropping the customizations brings the code forms back.
    w.remove_customizations(&[]).await.expect("removed");
    let snapshot = w.snapshot().await.expect("snapshot");
    assert!(snapshot.model.privileges.contains_key("DEVIntegServiceTestMaintain"));
    assert!(!snapshot.model.roles.contains_key("a3f2c1d0-5b6e-4c7d-8e9f-0a1b2c3d4e5f"));
    let role = snapshot.model.roles.get("DEVIntegDeveloperRole").expect("the role");
    assert!(!role.duties.iter().any(|d| d == "DEVIntegWorkspaceView"), "{:?}", role.duties);
    let empty = w.export_security_config(&out, true).await.expect("exports");
    assert_eq!((empty.customized, empty.new, empty.disabled), (0, 0, 0));
}

#[tokio::test]
async fn a_security_configuration_round_trips_through_a_sqlite_store() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = warden_store::open(None, dir.path()).await.expect("store");
    round_trip(store).await;
}

#[tokio::test]
async fn a_security_configuration_round_trips_through_a_postgresql_store() {
    let Some(url) = postgres_database("security_config").await else { return };
    let store = warden_store::open(Some(&url), Path::new(".")).await.expect("store");
    round_trip(store).await;
}

/// Without the AOT objects it customizes, the file still imports whole; the
/// import says which objects export will list as new, and a second round
/// gives the same model.
#[tokio::test]
async fn without_the_code_layer_customizations_are_kept_and_said_to_come_back_as_new() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = warden_store::open(None, dir.path()).await.expect("store");
    let w = Warden::new(store, "tester");
    let imported = w.import_security_config(&config_fixture()).await.expect("imports");
    let warnings = imported.warnings.join("\n");
    assert!(warnings.contains("exported as new objects") && warnings.contains("role DEVIntegDeveloperRole"), "{warnings}");
    assert!(warnings.contains("disabled object(s) that Warden does not hold"), "{warnings}");
    assert!(imported.unresolved > 0, "references to the model not loaded are reported");
    let out = dir.path().join("out.xml");
    let exported = w.export_security_config(&out, false).await.expect("exports");
    assert_eq!((exported.customized, exported.new, exported.disabled), (0, 5, 1));
    let model = w.snapshot().await.expect("snapshot").model.clone();
    let again = w.import_security_config(&out).await.expect("imports");
    assert!(!again.changed, "the same objects");
    assert_eq!(*w.snapshot().await.expect("snapshot").model, *model);
}

/// All or nothing: a file with one problem writes nothing, and says where.
#[tokio::test]
async fn a_bad_file_writes_nothing_and_names_the_place() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = warden_store::open(None, dir.path()).await.expect("store");
    let w = Warden::new(store, "tester");
    w.import_aot(&[xpptools()], false).await.expect("the code layer");
    let revision = w.snapshot().await.expect("snapshot").revision;
    let audit = events(&w).await;
    let text = std::fs::read_to_string(config_fixture()).expect("fixture");

    // A new role whose name reads the same as a stored one (D365 compares without case).
    let bad = dir.path().join("look-alike.xml");
    std::fs::write(&bad, text.replace("<Name>a3f2c1d0-5b6e-4c7d-8e9f-0a1b2c3d4e5f</Name>", "<Name>devdocuexpimpjournalMAINTAIN</Name>")).expect("write");
    let error = w.import_security_config(&bad).await.expect_err("refused").to_string();
    assert!(error.starts_with(&format!("{}:32:5:", bad.display())), "{error}");
    assert!(error.contains("reads the same as stored role 'DEVDocuExpImpJournalMaintain'"), "{error}");

    // Malformed XML half way: the objects before it are not written either.
    let truncated = dir.path().join("truncated.xml");
    std::fs::write(&truncated, &text[..text.len() * 2 / 3]).expect("write");
    let error = w.import_security_config(&truncated).await.expect_err("refused").to_string();
    assert!(error.starts_with(&format!("{}:", truncated.display())), "{error}");

    assert_eq!(w.snapshot().await.expect("snapshot").revision, revision);
    assert_eq!(events(&w).await, audit);
    assert!(w.customized_keys().await.expect("keys").is_empty());
}

/// A fresh PostgreSQL database ([`warden_store::testing`]).
async fn postgres_database(label: &str) -> Option<String> {
    warden_store::testing::fresh_postgres_database(label).await.map(|(url, _)| url)
}
