//! Issue 15, finding 3: references resolve ignoring case, as D365 resolves
//! them, in whichever order the objects arrive, and keep the file's spelling
//! for export; and finding "extra children of references": a reference that
//! holds more than its name comes back whole.

use std::path::{Path, PathBuf};
use warden_core::{CheckRequest, Warden};
use warden_model::{Access, Timestamp, User};

const PRIVILEGE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<AxSecurityPrivilege xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
	<Name>ADMEnhancedEntraIdGroupIntegrationView</Name>
	<EntryPoints>
		<AxSecurityEntryPointReference>
			<Name>ADMGroupSync</Name>
			<Grant>
				<Read>Allow</Read>
			</Grant>
			<ObjectName>ADMGroupSync</ObjectName>
			<ObjectType>MenuItemDisplay</ObjectType>
		</AxSecurityEntryPointReference>
	</EntryPoints>
</AxSecurityPrivilege>
"#;

const ROLE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<AxSecurityRole xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
	<Name>ADMGroupAdministrator</Name>
	<Duties />
	<Privileges>
		<AxSecurityPrivilegeReference>
			<Name>admEnhancedEntraIdGroupIntegrationVIEW</Name>
			<Tags>kept</Tags>
		</AxSecurityPrivilegeReference>
	</Privileges>
	<SubRoles />
</AxSecurityRole>
"#;

fn write(dir: &Path, folder: &str, name: &str, text: &str) -> PathBuf {
    let path = dir.join("Pkg").join("Pkg").join(folder).join(format!("{name}.xml"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

async fn can_read(w: &Warden) -> bool {
    let snapshot = w.snapshot().await.expect("snapshot");
    let req = CheckRequest {
        user: "ines".into(),
        entry_point: "MenuItemDisplay/ADMGroupSync".into(),
        access: Access::Read,
        org: None,
        at: Timestamp::now(),
        explain: false,
        part: None,
    };
    snapshot.check(&req).is_ok_and(|o| o.decision == warden_engine::Decision::Allow)
}

async fn store_with_user(dir: &Path) -> Warden {
    let store = warden_store::open(None, &dir.join("store")).await.expect("store");
    let w = Warden::new(store, "tester");
    w.add_user(User::new("ines")).await.expect("user");
    w
}

async fn assign(w: &Warden) {
    w.assign("ines", "ADMGroupAdministrator", &[], None, None, Timestamp::now()).await.expect("assign");
}

#[tokio::test]
async fn a_reference_in_another_case_grants_as_in_d365_when_the_privilege_comes_first() {
    let dir = tempfile::TempDir::new().unwrap();
    let w = store_with_user(dir.path()).await;
    let privilege = write(dir.path(), "AxSecurityPrivilege", "ADMEnhancedEntraIdGroupIntegrationView", PRIVILEGE);
    let role = write(dir.path(), "AxSecurityRole", "ADMGroupAdministrator", ROLE);
    w.import_aot(&[privilege], false).await.expect("privileges");
    let outcome = w.import_aot(&[role.clone()], false).await.expect("roles");
    assert_eq!(outcome.unresolved, 0, "no dangling reference: {:?}", outcome.warnings);
    assert!(outcome.warnings.iter().any(|w| w.contains("admEnhancedEntraIdGroupIntegrationVIEW") && w.contains("ignoring case")), "{:?}", outcome.warnings);
    assert!(!outcome.warnings.iter().any(|w| w.contains("dropped")), "{:?}", outcome.warnings);
    assign(&w).await;
    assert!(can_read(&w).await, "D365 grants through a reference in another case");

    // Export writes the file's own spelling and the reference's other child back.
    let out = dir.path().join("export");
    w.export_aot(&out, false).await.expect("export");
    let exported = std::fs::read_to_string(out.join("Pkg/AxSecurityRole/ADMGroupAdministrator.xml"))
        .or_else(|_| std::fs::read_to_string(out.join("Pkg/Pkg/AxSecurityRole/ADMGroupAdministrator.xml")))
        .unwrap_or_else(|_| panic!("exported role; files: {:?}", walk(&out)));
    assert_eq!(warden_aot::xml_difference(ROLE, &exported).expect("xml"), None, "{exported}");

    // And the same file again changes nothing.
    let again = w.import_aot(&[role], false).await.expect("again");
    assert!(!again.changed, "{again:?}");
}

#[tokio::test]
async fn a_stored_reference_in_another_case_resolves_when_its_privilege_arrives() {
    let dir = tempfile::TempDir::new().unwrap();
    let w = store_with_user(dir.path()).await;
    let role = write(dir.path(), "AxSecurityRole", "ADMGroupAdministrator", ROLE);
    let privilege = write(dir.path(), "AxSecurityPrivilege", "ADMEnhancedEntraIdGroupIntegrationView", PRIVILEGE);
    let first = w.import_aot(&[role], false).await.expect("roles");
    assert_eq!(first.unresolved, 1);
    assign(&w).await;
    assert!(!can_read(&w).await);
    let second = w.import_aot(&[privilege], false).await.expect("privileges");
    assert_eq!(second.updated, 1, "the stored role takes the privilege's spelling: {second:?}");
    assert!(can_read(&w).await, "D365 grants through a reference in another case");
    let model = w.model().await.expect("model");
    assert_eq!(model.roles["ADMGroupAdministrator"].privileges, ["ADMEnhancedEntraIdGroupIntegrationView"]);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// The same rule for an object written alone (the API's `POST /roles`, the console).
#[tokio::test]
async fn a_role_created_through_the_services_resolves_its_references_ignoring_case() {
    let dir = tempfile::TempDir::new().unwrap();
    let w = store_with_user(dir.path()).await;
    let privilege = write(dir.path(), "AxSecurityPrivilege", "ADMEnhancedEntraIdGroupIntegrationView", PRIVILEGE);
    w.import_aot(&[privilege], false).await.expect("privileges");
    let mut role = warden_model::Role::new("ADMGroupAdministrator");
    role.privileges = vec!["admenhancedentraidgroupintegrationview".into()];
    w.create(warden_model::Object::Role(role)).await.expect("create");
    let model = w.model().await.expect("model");
    assert_eq!(model.roles["ADMGroupAdministrator"].privileges, ["ADMEnhancedEntraIdGroupIntegrationView"]);
    assign(&w).await;
    assert!(can_read(&w).await);
}
