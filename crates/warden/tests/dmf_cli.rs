//! `warden import dmf` and `warden export dmf` as a user runs them: the demo's
//! users and assignments go out as D365's entity files and come back
//! unchanged, a bad row is refused at its file, line and column.

mod common;

use common::{json, ok, refused};

#[test]
fn the_demo_goes_out_as_d365_entities_and_comes_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.as_path();
    ok(data, &["demo"]);
    let out = dir.path().join("d365");
    let text = ok(data, &["export", "dmf", "--out", out.to_str().unwrap()]);
    for name in ["User information.csv", "Security user role association.csv", "SystemSecurityUserRoleOrganizationEntity.csv"] {
        assert!(out.join(name).is_file(), "{name} missing:\n{text}");
    }
    assert!(text.contains("D365's entity has no validity window"), "windows are named:\n{text}");
    let roles = std::fs::read_to_string(out.join("Security user role association.csv")).unwrap();
    assert!(roles.starts_with("\u{feff}USERID,SECURITYROLEIDENTIFIER,SECURITYROLENAME,ASSIGNMENTSTATUS,ASSIGNMENTMODE\r\n"), "{roles}");
    assert!(roles.contains(",Automatic\r\n"), "rule-made assignments are Automatic:\n{roles}");
    assert!(!roles.contains("WardenApplication"), "Warden's own roles stay home");

    let before = json(data, &["audit", "log"]).as_array().unwrap().len();
    let text = ok(data, &["import", "dmf", out.to_str().unwrap()]);
    assert!(text.contains("no changes: everything is stored as read; nothing was written"), "{text}");
    assert_eq!(json(data, &["audit", "log"]).as_array().unwrap().len(), before, "no audit event for a no-op import");

    let xml = dir.path().join("roles.xml");
    ok(data, &["export", "dmf", "--entity", "user-roles", "--format", "xml", "--out", xml.to_str().unwrap()]);
    let body = std::fs::read_to_string(&xml).unwrap();
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Document>\r\n  <SYSTEMSECURITYUSERROLEENTITY>"), "{body}");
    let err = refused(data, &["export", "dmf", "--entity", "user-roles", "--format", "xml", "--out", xml.to_str().unwrap()]);
    assert!(err.contains("exists; choose another name, or pass --force"), "{err}");
    let outcome = json(data, &["import", "dmf", xml.to_str().unwrap()]);
    assert_eq!(outcome["changed"], false, "{outcome}");
}

#[test]
fn a_bad_row_is_refused_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.as_path();
    ok(data, &["demo"]);
    let file = dir.path().join("roles.csv");
    std::fs::write(&file, "USERID,SECURITYROLEIDENTIFIER,ASSIGNMENTSTATUS\ncarlos,SystemUser,Enabled\ncarlos,NoSuchRole,Enabled\n").unwrap();
    let err = refused(data, &["import", "dmf", file.to_str().unwrap()]);
    assert!(err.contains("roles.csv:3: column 2 (SECURITYROLEIDENTIFIER): unknown role 'NoSuchRole'"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    // An SoD conflict: refused naming the rule; the override reason lets it through.
    std::fs::write(&file, "USERID,SECURITYROLEIDENTIFIER\nkenji,DEVSQLQueryExecute\n").unwrap();
    let err = refused(data, &["import", "dmf", file.to_str().unwrap()]);
    assert!(err.contains("segregation-of-duties rule 'SecurityAdministrationVsSqlExecution'"), "{err}");
    let text = ok(data, &["import", "dmf", file.to_str().unwrap(), "--override-reason", "upgrade weekend"]);
    assert!(text.contains("assignments: 1 added"), "{text}");
    // A FIFO or other special file is refused rather than read.
    #[cfg(unix)]
    {
        let fifo = dir.path().join("pipe.csv");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
        assert!(status.success());
        let err = refused(data, &["import", "dmf", fifo.to_str().unwrap()]);
        assert!(err.contains("is not a regular file or folder"), "{err}");
    }
}
