//! `warden import security-config` and `warden export security-config`, as a
//! user runs them: the README's round trip, the no-op import, refusals with
//! `file:line:column`, and an export that never writes through a link.

mod common;

use common::{XPPTOOLS, json, ok, refused};
use std::path::PathBuf;
use tempfile::TempDir;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../warden-aot/tests/fixtures/security-config/SecurityDatabaseCustomizations.xml")
}

#[test]
fn a_security_configuration_goes_in_and_comes_back() {
    let dir = TempDir::new().expect("temp dir");
    let data = dir.path().join("data");
    let data = data.as_path();
    ok(data, &["import", "aot", XPPTOOLS]);
    let fixture = fixture();
    let text = ok(data, &["import", "security-config", fixture.to_str().expect("utf-8")]);
    assert!(text.contains("2 customized, 3 new, 1 disabled"), "{text}");
    assert!(text.contains("6 written to the database layer"), "{text}");
    assert!(text.contains("AxSecurityRole/Tags"), "{text}");
    let listed = ok(data, &["customizations", "list"]);
    assert!(listed.contains("DEVIntegDeveloperRole") && listed.contains("DEVIntegServiceTestMaintain"), "{listed}");

    let out = dir.path().join("out/SecurityDatabaseCustomizations.xml");
    let out_text = out.to_str().expect("utf-8");
    let text = ok(data, &["export", "security-config", "--out", out_text]);
    assert!(text.contains("2 customized, 3 new, 1 disabled"), "{text}");
    let before = std::fs::read_to_string(&fixture).expect("fixture");
    let after = std::fs::read_to_string(&out).expect("exported");
    assert_eq!(warden_aot::xml_difference(&before, &after), Ok(None));

    // The exported file changes nothing: no revision, and it says so.
    let again = json(data, &["import", "security-config", out_text]);
    assert_eq!(again["changed"], false, "{again}");
    let text = ok(data, &["import", "security-config", out_text]);
    assert!(text.contains("no changes"), "{text}");

    // An existing file needs --force; a link is never written through.
    let error = refused(data, &["export", "security-config", "--out", out_text]);
    assert!(error.contains("--force"), "{error}");
    ok(data, &["export", "security-config", "--out", out_text, "--force"]);
    #[cfg(unix)]
    {
        let target = dir.path().join("target.xml");
        std::fs::write(&target, "keep").expect("write");
        let link = dir.path().join("link.xml");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let error = refused(data, &["export", "security-config", "--out", link.to_str().expect("utf-8"), "--force"]);
        assert!(error.contains("symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
    }
}

#[test]
fn a_bad_file_is_refused_with_its_place_and_nothing_is_written() {
    let dir = TempDir::new().expect("temp dir");
    let data = dir.path().join("data");
    let data = data.as_path();
    ok(data, &["org", "add", "USMF"]);
    let before = json(data, &["audit", "log"]);
    let bad = dir.path().join("bad.xml");
    let text = std::fs::read_to_string(fixture()).expect("fixture").replace("<Name>DEVIntegWorkspaceView</Name>\n\t\t\t\t\t<Label>", "<Name>a/b</Name>\n\t\t\t\t\t<Label>");
    std::fs::write(&bad, text).expect("write");
    let error = refused(data, &["import", "security-config", bad.to_str().expect("utf-8")]);
    assert!(error.contains("bad.xml:52:"), "{error}");
    assert_eq!(json(data, &["audit", "log"]), before, "nothing written");
}

#[test]
fn help_explains_both_commands() {
    let dir = TempDir::new().expect("temp dir");
    assert!(ok(dir.path(), &["import", "security-config", "--help"]).contains("SecurityDatabaseCustomizations.xml"));
    assert!(ok(dir.path(), &["export", "security-config", "--help"]).contains("renamed into place"));
}
