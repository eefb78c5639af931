//! D365 data-management entities (users, role assignments, organization
//! scopes) through the services, on a real SQLite store: files as DMF writes
//! them round trip in CSV and XML, a bad value is refused naming its file,
//! line and column with nothing written, an SoD conflict refuses the import
//! naming the rule, and nothing read is dropped without a warning.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use warden_core::dmf::{DmfEntity, DmfFormat};
use warden_core::{CoreError, Warden};
use warden_model::{Model, Object, Role, Timestamp};

/// D365's "User information" as DMF writes it: upper-case fields, columns
/// Warden has no field for (kept as d365.* attributes).
const USERS_CSV: &str = "\u{feff}USERID,USERNAME,EMAIL,ENABLED,NETWORKDOMAIN,ALIAS,COMPANY,LANGUAGE,ACCOUNTTYPE\r\n\
Admin,Administrator,admin@contoso.com,Yes,https://sts.windows.net/,admin@contoso.com,DAT,en-us,ClaimsUser\r\n\
julia,\"Julia Funderburk, AP\",julia@contoso.com,Yes,https://sts.windows.net/,julia@contoso.com,USMF,en-us,ClaimsUser\r\n\
bob,Bob Kozak,bob@contoso.com,No,https://sts.windows.net/,bob@contoso.com,USMF,de,ClaimsUser\r\n";

const ROLES_CSV: &str = "USERID,SECURITYROLEIDENTIFIER,SECURITYROLENAME,ASSIGNMENTSTATUS,ASSIGNMENTMODE\r\n\
Admin,SYSTEMUSER,System user,Enabled,Manual\r\n\
julia,SystemUser,System user,Enabled,Manual\r\n\
julia,VENDINVOICEAPCLERK,Accounts payable clerk,Enabled,Manual\r\n\
bob,VendInvoiceAPClerk,Accounts payable clerk,Enabled,Manual\r\n\
bob,LedgerAccountant,Accountant,Enabled,Manual\r\n";

const ORGS_CSV: &str = "USERID,SECURITYROLEIDENTIFIER,ORGANIZATIONTYPE,ORGANIZATIONID\r\n\
julia,VendInvoiceAPClerk,LegalEntity,USMF\r\n\
bob,LedgerAccountant,LegalEntity,DEMF\r\n\
bob,LedgerAccountant,LegalEntity,USMF\r\n";

/// The same data as DMF's XML: one element per record, one per field.
const ROLES_XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Document>
  <SYSTEMSECURITYUSERROLEENTITY>
    <ASSIGNMENTMODE>Manual</ASSIGNMENTMODE>
    <ASSIGNMENTSTATUS>Enabled</ASSIGNMENTSTATUS>
    <SECURITYROLEIDENTIFIER>SYSTEMUSER</SECURITYROLEIDENTIFIER>
    <SECURITYROLENAME>System user</SECURITYROLENAME>
    <USERID>Admin</USERID>
  </SYSTEMSECURITYUSERROLEENTITY>
  <SYSTEMSECURITYUSERROLEENTITY>
    <ASSIGNMENTMODE>Manual</ASSIGNMENTMODE>
    <ASSIGNMENTSTATUS>Enabled</ASSIGNMENTSTATUS>
    <SECURITYROLEIDENTIFIER>SystemUser</SECURITYROLEIDENTIFIER>
    <SECURITYROLENAME>System user</SECURITYROLENAME>
    <USERID>julia</USERID>
  </SYSTEMSECURITYUSERROLEENTITY>
  <SYSTEMSECURITYUSERROLEENTITY>
    <ASSIGNMENTMODE>Manual</ASSIGNMENTMODE>
    <ASSIGNMENTSTATUS>Enabled</ASSIGNMENTSTATUS>
    <SECURITYROLEIDENTIFIER>VendInvoiceAPClerk</SECURITYROLEIDENTIFIER>
    <SECURITYROLENAME>Accounts payable clerk</SECURITYROLENAME>
    <USERID>julia</USERID>
  </SYSTEMSECURITYUSERROLEENTITY>
  <SYSTEMSECURITYUSERROLEENTITY>
    <ASSIGNMENTMODE>Manual</ASSIGNMENTMODE>
    <ASSIGNMENTSTATUS>Enabled</ASSIGNMENTSTATUS>
    <SECURITYROLEIDENTIFIER>VendInvoiceAPClerk</SECURITYROLEIDENTIFIER>
    <SECURITYROLENAME>Accounts payable clerk</SECURITYROLENAME>
    <USERID>bob</USERID>
  </SYSTEMSECURITYUSERROLEENTITY>
  <SYSTEMSECURITYUSERROLEENTITY>
    <ASSIGNMENTMODE>Manual</ASSIGNMENTMODE>
    <ASSIGNMENTSTATUS>Enabled</ASSIGNMENTSTATUS>
    <SECURITYROLEIDENTIFIER>LedgerAccountant</SECURITYROLEIDENTIFIER>
    <SECURITYROLENAME>Accountant</SECURITYROLENAME>
    <USERID>bob</USERID>
  </SYSTEMSECURITYUSERROLEENTITY>
</Document>
"#;

const USERS_XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Document>
  <SYSTEMUSERENTITY>
    <ACCOUNTTYPE>ClaimsUser</ACCOUNTTYPE>
    <ALIAS>admin@contoso.com</ALIAS>
    <COMPANY>DAT</COMPANY>
    <EMAIL>admin@contoso.com</EMAIL>
    <ENABLED>Yes</ENABLED>
    <LANGUAGE>en-us</LANGUAGE>
    <NETWORKDOMAIN>https://sts.windows.net/</NETWORKDOMAIN>
    <USERID>Admin</USERID>
    <USERNAME>Administrator</USERNAME>
  </SYSTEMUSERENTITY>
  <SYSTEMUSERENTITY>
    <ACCOUNTTYPE>ClaimsUser</ACCOUNTTYPE>
    <ALIAS>julia@contoso.com</ALIAS>
    <COMPANY>USMF</COMPANY>
    <EMAIL>julia@contoso.com</EMAIL>
    <ENABLED>Yes</ENABLED>
    <LANGUAGE>en-us</LANGUAGE>
    <NETWORKDOMAIN>https://sts.windows.net/</NETWORKDOMAIN>
    <USERID>julia</USERID>
    <USERNAME>Julia Funderburk, AP</USERNAME>
  </SYSTEMUSERENTITY>
  <SYSTEMUSERENTITY>
    <ACCOUNTTYPE>ClaimsUser</ACCOUNTTYPE>
    <ALIAS>bob@contoso.com</ALIAS>
    <COMPANY>USMF</COMPANY>
    <EMAIL>bob@contoso.com</EMAIL>
    <ENABLED>No</ENABLED>
    <LANGUAGE>de</LANGUAGE>
    <NETWORKDOMAIN>https://sts.windows.net/</NETWORKDOMAIN>
    <USERID>bob</USERID>
    <USERNAME>Bob Kozak</USERNAME>
  </SYSTEMUSERENTITY>
</Document>
"#;

const ORGS_XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Document>
  <SYSTEMSECURITYUSERROLEORGANIZATIONENTITY>
    <ORGANIZATIONID>USMF</ORGANIZATIONID>
    <ORGANIZATIONTYPE>LegalEntity</ORGANIZATIONTYPE>
    <SECURITYROLEIDENTIFIER>VendInvoiceAPClerk</SECURITYROLEIDENTIFIER>
    <USERID>julia</USERID>
  </SYSTEMSECURITYUSERROLEORGANIZATIONENTITY>
  <SYSTEMSECURITYUSERROLEORGANIZATIONENTITY>
    <ORGANIZATIONID>DEMF</ORGANIZATIONID>
    <ORGANIZATIONTYPE>LegalEntity</ORGANIZATIONTYPE>
    <SECURITYROLEIDENTIFIER>LedgerAccountant</SECURITYROLEIDENTIFIER>
    <USERID>bob</USERID>
  </SYSTEMSECURITYUSERROLEORGANIZATIONENTITY>
  <SYSTEMSECURITYUSERROLEORGANIZATIONENTITY>
    <ORGANIZATIONID>USMF</ORGANIZATIONID>
    <ORGANIZATIONTYPE>LegalEntity</ORGANIZATIONTYPE>
    <SECURITYROLEIDENTIFIER>LedgerAccountant</SECURITYROLEIDENTIFIER>
    <USERID>bob</USERID>
  </SYSTEMSECURITYUSERROLEORGANIZATIONENTITY>
</Document>
"#;

/// A store with the roles the files name (their labels are what D365 shows as SECURITYROLENAME).
async fn store_with_roles() -> (TempDir, Warden) {
    let dir = TempDir::new().expect("temp dir");
    let store = warden_store::open(None, &dir.path().join("store")).await.expect("store opens");
    let w = Warden::new(store, "importer");
    for (name, label) in [("SystemUser", "System user"), ("VendInvoiceAPClerk", "Accounts payable clerk"), ("LedgerAccountant", "Accountant")] {
        w.create(Object::Role(Role { label: Some(label.into()), ..Role::new(name) })).await.expect("role");
    }
    (dir, w)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

async fn model(w: &Warden) -> Model {
    w.store().load().await.expect("load").0
}

/// The records of an entity file as a set of (column, value) lists, columns
/// in name order, so that files compare by content: ids case-insensitively
/// (D365 names are), layout and column order ignored.
fn records(path: &Path) -> BTreeSet<Vec<(String, String)>> {
    let data = std::fs::read(path).expect("read");
    let file = warden_core::dmf::read_entity_file(&path.display().to_string(), &data, None).expect("parses");
    file.rows()
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|(c, v)| {
                    let v = if ["USERID", "SECURITYROLEIDENTIFIER", "ORGANIZATIONID"].contains(&c.as_str()) { v.to_ascii_lowercase() } else { v };
                    (c, v)
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn d365_files_round_trip_through_warden_in_csv_and_xml() {
    for (format, users, roles, orgs) in [(DmfFormat::Csv, USERS_CSV, ROLES_CSV, ORGS_CSV), (DmfFormat::Xml, USERS_XML, ROLES_XML, ORGS_XML)] {
        let (dir, w) = store_with_roles().await;
        let ext = format.extension();
        let inputs = dir.path().join("in");
        std::fs::create_dir(&inputs).unwrap();
        let u = write(&inputs, &format!("User information.{ext}"), users);
        let r = write(&inputs, &format!("Security user role association.{ext}"), roles);
        let o = write(&inputs, &format!("SystemSecurityUserRoleOrganizationEntity.{ext}"), orgs);
        // The folder of an unpacked data package, with its manifest (not entity data) and another entity.
        write(&inputs, "Manifest.xml", "<DataManagementPackageManifest/>");
        let other = match format {
            DmfFormat::Csv => "SECURITYROLEIDENTIFIER,SECURITYROLENAME\r\nSYSTEMUSER,System user\r\n",
            DmfFormat::Xml => "<Document><SYSTEMSECURITYROLEENTITY><SECURITYROLEIDENTIFIER>x</SECURITYROLEIDENTIFIER></SYSTEMSECURITYROLEENTITY></Document>",
        };
        write(&inputs, &format!("System Security Role.{ext}"), other);
        let outcome = w.import_dmf(std::slice::from_ref(&inputs), None, None).await.expect("imports");
        assert!(outcome.changed);
        assert_eq!((outcome.users.added, outcome.assignments.added, outcome.organizations.added), (3, 5, 2), "{outcome:?}");
        let m = model(&w).await;
        let julia = &m.users["julia"];
        assert_eq!(julia.name.as_deref(), Some("Julia Funderburk, AP"));
        assert_eq!(julia.attributes.get("d365.NETWORKDOMAIN").map(String::as_str), Some("https://sts.windows.net/"));
        assert!(!m.users["bob"].enabled);
        let clerk = m.assignments_of("julia").iter().find(|a| a.role == "VendInvoiceAPClerk").expect("stored spelling of the role");
        assert_eq!(clerk.organizations, ["USMF"]);
        let ledger = m.assignments_of("bob").iter().find(|a| a.role == "LedgerAccountant").unwrap();
        assert_eq!(ledger.organizations, ["DEMF", "USMF"]);
        assert!(m.assignments_of("Admin").iter().all(|a| a.is_global()));
        // SECURITYROLENAME matches the roles' labels: nothing worth a warning but the file passed over.
        assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
        assert!(outcome.warnings[0].contains(&format!("System Security Role.{ext}: skipped, not an entity file Warden reads")), "{:?}", outcome.warnings);

        // import → export gives the same records.
        let out = dir.path().join("out");
        let exported = w.export_dmf(&out, None, format, false).await.expect("exports");
        assert_eq!(exported.files.len(), 3);
        for (input, entity) in [(&u, DmfEntity::Users), (&r, DmfEntity::UserRoles), (&o, DmfEntity::UserRoleOrganizations)] {
            let written = out.join(format!("{}.{ext}", entity.file_stem()));
            assert_eq!(records(&written), records(input), "{entity} in {ext} comes back as it went in");
        }
        // import → export → import gives the identical model, and writes nothing.
        let revision = w.store().revision().await.unwrap();
        let again = w.import_dmf(std::slice::from_ref(&out), None, None).await.expect("re-imports");
        assert!(!again.changed, "{again:?}");
        assert_eq!((again.users.unchanged, again.assignments.unchanged), (3, 5));
        assert_eq!(w.store().revision().await.unwrap(), revision, "an import that changes nothing commits nothing");
        assert_eq!(model(&w).await, m);

        // Warden → D365 → Warden: the export read into a new store holds the same users and assignments.
        let (_dir2, w2) = store_with_roles().await;
        let other = if format == DmfFormat::Csv { DmfFormat::Xml } else { DmfFormat::Csv };
        let out2 = dir.path().join("out2");
        w.export_dmf(&out2, None, other, false).await.expect("exports in the other format");
        w2.import_dmf(&[out2], None, None).await.expect("imports");
        let m2 = model(&w2).await;
        assert_eq!(m2.users, m.users);
        assert_eq!(m2.assignments, m.assignments);
        assert_eq!(m2.organizations, m.organizations);
    }
}

#[tokio::test]
async fn a_bad_row_is_refused_naming_file_line_and_column_and_nothing_is_written() {
    let (dir, w) = store_with_roles().await;
    let before = w.store().revision().await.unwrap();
    let users = write(dir.path(), "users.csv", USERS_CSV);
    let roles = write(
        dir.path(),
        "roles.csv",
        "USERID,SECURITYROLEIDENTIFIER,ASSIGNMENTSTATUS\njulia,SystemUser,Enabled\njulia,VendInvoiceClerk,Enabled\nbob,SystemUser,Maybe\nad\u{1b}min,SystemUser,Enabled\n",
    );
    let e = w.import_dmf(&[users.clone(), roles.clone()], None, None).await.expect_err("refused");
    assert!(matches!(e, CoreError::Dmf(_)), "{e}");
    let text = e.to_string();
    let r = roles.display();
    assert!(text.contains("nothing was imported"), "{text}");
    assert!(text.contains(&format!("{r}:3: column 2 (SECURITYROLEIDENTIFIER): unknown role 'VendInvoiceClerk'; did you mean 'VendInvoiceAPClerk'?")), "{text}");
    assert!(text.contains(&format!("{r}:4: column 3 (ASSIGNMENTSTATUS): 'Maybe' is not an assignment status")), "{text}");
    assert!(text.contains(&format!("{r}:5: column 1 (USERID): user id \"ad\\u{{1b}}min\" holds a control character")), "{text}");
    assert_eq!(w.store().revision().await.unwrap(), before, "nothing written, not even the valid users");
    assert!(model(&w).await.users.is_empty());

    // In XML, the element's line and column.
    let xml = write(
        dir.path(),
        "roles.xml",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Document>\n  <SYSTEMSECURITYUSERROLEENTITY>\n    <USERID>julia</USERID>\n    <SECURITYROLEIDENTIFIER>Nobody</SECURITYROLEIDENTIFIER>\n  </SYSTEMSECURITYUSERROLEENTITY>\n</Document>\n",
    );
    let e = w.import_dmf(&[users, xml.clone()], None, None).await.expect_err("refused");
    assert!(e.to_string().contains(&format!("{}:5:5: <SECURITYROLEIDENTIFIER>: unknown role 'Nobody'", xml.display())), "{e}");
    // Malformed XML is located too.
    let broken = write(dir.path(), "broken.xml", "<Document>\n  <SYSTEMUSERENTITY>\n    <USERID>x</USERNAME>\n");
    let e = w.import_dmf(&[broken.clone()], None, None).await.expect_err("malformed");
    assert!(e.to_string().contains(&format!("{}:3:", broken.display())), "{e}");
    assert_eq!(w.store().revision().await.unwrap(), before);
}

#[tokio::test]
async fn an_sod_conflict_refuses_the_import_naming_the_rule() {
    let dir = TempDir::new().unwrap();
    let store = warden_store::open(None, dir.path()).await.expect("store opens");
    let w = Warden::new(store, "admin1");
    w.load_demo(false, Timestamp::now()).await.expect("demo loads");
    let before = w.store().revision().await.unwrap();
    // kenji holds SysSecSecurityAdministrator; SQL execution on top breaks the demo's critical rule.
    let roles = write(dir.path(), "roles.csv", "USERID,SECURITYROLEIDENTIFIER,ASSIGNMENTSTATUS,ASSIGNMENTMODE\nkenji,DEVSQLQUERYEXECUTE,Enabled,Manual\n");
    let e = w.import_dmf(std::slice::from_ref(&roles), None, None).await.expect_err("conflict");
    assert!(matches!(e, CoreError::SodConflicts(_)), "{e}");
    assert!(e.to_string().contains("user 'kenji' would break segregation-of-duties rule 'SecurityAdministrationVsSqlExecution'"), "{e}");
    assert_eq!(w.store().revision().await.unwrap(), before);
    // With a reason, allowed and recorded in the register, in the import's commit.
    w.import_dmf(std::slice::from_ref(&roles), None, Some("cover during the upgrade")).await.expect("override");
    let m = model(&w).await;
    let record = &m.sod_conflicts["kenji/SecurityAdministrationVsSqlExecution"];
    assert_eq!(record.reason.as_deref(), Some("cover during the upgrade"));
    let event = w.store().audit_events(&warden_store::AuditFilter::default()).await.unwrap().pop().unwrap();
    assert_eq!(event.action, "import dmf");
}

#[tokio::test]
async fn what_warden_does_not_store_is_warned_about_or_refused_never_dropped() {
    let (dir, w) = store_with_roles().await;
    let users = write(dir.path(), "users.csv", USERS_CSV);
    let roles = write(
        dir.path(),
        "roles.csv",
        "USERID,SECURITYROLEIDENTIFIER,SECURITYROLENAME,ASSIGNMENTSTATUS,ASSIGNMENTMODE,USERLICENSETYPE,SECURITYROLE,FAVOURITECOLOUR\n\
         julia,SystemUser,Systemnutzer,Enabled,Automatic,Universal,5637144576,blue\n\
         bob,LedgerAccountant,Accountant,Disabled,Manual,Enterprise,5637144577,\n",
    );
    let outcome = w.import_dmf(&[users.clone(), roles.clone()], None, None).await.expect("imports");
    let warnings = outcome.warnings.join("\n");
    let r = roles.display();
    for expected in [
        format!("{r}: column SECURITYROLENAME (1 value unlike the role's label): not stored"),
        format!("{r}: column USERLICENSETYPE (2 values): not stored: D365 computes the licence"),
        format!("{r}: column SECURITYROLE (2 values): not stored: a D365 record id"),
        format!("{r}: column FAVOURITECOLOUR (1 value): not a field of SystemSecurityUserRoleEntity that Warden knows"),
        format!("{r}:3: role 'LedgerAccountant' of user 'bob' is Disabled in D365: not imported"),
        format!("{r}: 1 assignment made by D365's assignment rules (ASSIGNMENTMODE Automatic) was imported as manual"),
        "no SystemSecurityUserRoleOrganizationEntity file in this import: 1 new assignment is global".to_string(),
    ] {
        assert!(warnings.contains(&expected), "missing {expected:?} in:\n{warnings}");
    }
    let m = model(&w).await;
    assert!(m.assignments_of("bob").is_empty(), "a Disabled assignment is not stored");

    // An operating-unit scope cannot be represented: refused, never widened to global.
    let orgs = write(dir.path(), "orgs.csv", "USERID,SECURITYROLEIDENTIFIER,ORGANIZATIONTYPE,ORGANIZATIONID,OPERATINGUNITTYPE\njulia,SystemUser,OperatingUnit,DEP-01,Department\n");
    let e = w.import_dmf(&[orgs.clone()], None, None).await.expect_err("refused");
    assert!(e.to_string().contains(&format!("{}:2: column 3 (ORGANIZATIONTYPE): 'OperatingUnit': Warden scopes assignments to legal entities only", orgs.display())), "{e}");
    // A scope for an assignment that exists nowhere is refused.
    let orgs = write(dir.path(), "orgs2.csv", "USERID,SECURITYROLEIDENTIFIER,ORGANIZATIONID\njulia,LedgerAccountant,USMF\n");
    let e = w.import_dmf(&[orgs], None, None).await.expect_err("refused");
    assert!(e.to_string().contains("user 'julia' has no role 'LedgerAccountant' in the store"), "{e}");
}

#[tokio::test]
async fn export_is_atomic_and_never_writes_through_a_link() {
    let (dir, w) = store_with_roles().await;
    let users = write(dir.path(), "users.csv", USERS_CSV);
    let roles = write(dir.path(), "roles.csv", ROLES_CSV);
    w.import_dmf(&[users, roles], None, None).await.expect("imports");
    let out = dir.path().join("roles-out.xml");
    let done = w.export_dmf(&out, Some(DmfEntity::UserRoles), DmfFormat::Xml, false).await.expect("exports");
    assert_eq!(done.files[0].records, 5);
    let e = w.export_dmf(&out, Some(DmfEntity::UserRoles), DmfFormat::Xml, false).await.expect_err("exists");
    assert!(e.to_string().contains("exists; choose another name, or pass --force"), "{e}");
    w.export_dmf(&out, Some(DmfEntity::UserRoles), DmfFormat::Xml, true).await.expect("--force replaces");
    #[cfg(unix)]
    {
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "keep me").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = w.export_dmf(&link, Some(DmfEntity::Users), DmfFormat::Csv, true).await.expect_err("a link");
        assert!(e.to_string().contains("is a link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    }
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".warden-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

mod readers_never_panic {
    use proptest::prelude::*;
    use warden_core::dmf::{read_entity_file, DmfEntity};

    /// Pieces DMF files are made of, so that random files get past the first byte.
    fn fragment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "<?xml version=\"1.0\"?>", "<Document>", "</Document>", "<SYSTEMUSERENTITY>", "</SYSTEMUSERENTITY>",
            "<SYSTEMSECURITYUSERROLEENTITY>", "</SYSTEMSECURITYUSERROLEENTITY>", "<USERID>", "</USERID>", "<USERID/>",
            "<SECURITYROLEIDENTIFIER>", "</SECURITYROLEIDENTIFIER>", "&amp;", "&#x0;", "&#65;", "&bogus;", "<![CDATA[x]]>",
            "<!DOCTYPE d>", "<!-- c -->", "alice", "\u{202e}", "\r\n", "\n", ",", "\"", "USERID,SECURITYROLEIDENTIFIER,ORGANIZATIONID",
            "USERID", "\u{feff}", "\u{0}", " ",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = read_entity_file("f", &data, None);
            let _ = read_entity_file("f", &data, Some(DmfEntity::UserRoles));
        }

        #[test]
        fn arbitrary_dmf_like_text(parts in prop::collection::vec(fragment(), 0..60)) {
            let text = parts.concat();
            if let Ok(file) = read_entity_file("f", text.as_bytes(), None) {
                // Whatever reads has D365 field names for columns.
                for row in file.rows() {
                    for (column, _) in row {
                        prop_assert!(column.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{column}");
                    }
                }
            }
        }
    }
}
