//! The store as the command line opens it, through the real `warden` binary:
//! complete with Warden's built-in model from the first command that writes,
//! never created by a command that only reads; `warden doctor` on a clean and
//! on a tampered store; API tokens and passwords from the command line.

mod common;

use common::{json, ok, refused, stderr, stdout, tamper, warden};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use tempfile::TempDir;

fn actions(data: &Path) -> Vec<String> {
    json(data, &["audit", "log"]).as_array().expect("events").iter().map(|e| e["action"].as_str().unwrap_or("").to_string()).collect()
}

#[test]
fn a_store_made_by_a_plain_command_can_assign_the_built_in_roles_at_once() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    ok(d, &["user", "add", "admin1"]);
    let out = ok(d, &["user", "assign", "admin1", "SystemAdministrator"]);
    assert!(out.contains("Assigned role SystemAdministrator to admin1 globally"), "{out}");
    // The first command installed the model, the second found it current: one install, no new revision.
    assert_eq!(actions(d), ["install built-in model", "user create", "user assign"]);
    let roles = json(d, &["role", "list"]);
    let names: Vec<&str> = roles.as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
    for role in ["SecurityAdministrator", "SecurityAuditor", "SystemAdministrator", "WardenApplication"] {
        assert!(names.contains(&role), "{role} in {names:?}");
    }
    // The administrator can request a session from the command line at once.
    let show = ok(d, &["user", "show", "admin1"]);
    assert!(show.contains("SystemAdministrator"), "{show}");
}

#[test]
fn the_demo_loads_into_a_store_that_holds_only_the_built_in_model() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    // A first write that fails leaves the installed model behind, and nothing else.
    refused(d, &["user", "assign", "nobody", "SystemAdministrator"]);
    assert_eq!(actions(d), ["install built-in model"]);
    let out = ok(d, &["demo"]);
    assert!(out.contains("Loaded the demo"), "{out}");
    assert!(!out.contains("replacing"), "{out}");
    assert_eq!(json(d, &["doctor"])["errors"], 0);
}

#[test]
fn commands_that_only_read_create_no_store() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("not-yet");
    for args in [
        vec!["check", "--user", "carlos", "--entry-point", "CustTable", "--access", "read"],
        vec!["role", "list"],
        vec!["audit", "verify"],
        vec!["doctor"],
        vec!["token", "list"],
    ] {
        let e = refused(&missing, &args);
        assert!(e.contains(&format!("the store in {} does not exist yet", missing.display())), "{args:?}: {e}");
        assert!(e.contains("demo") && e.contains("import aot"), "{args:?}: a hint: {e}");
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
    // An unknown name in a store that holds only the built-in model: the store is empty, not the name misspelt.
    ok(&missing, &["org", "add", "USMF"]);
    let e = refused(&missing, &["check", "--user", "carlos", "--entry-point", "CustTable", "--access", "read"]);
    assert!(e.contains("unknown user 'carlos'"), "{e}");
}

#[test]
fn doctor_is_clean_on_the_demo_and_names_every_problem_of_a_tampered_store() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    ok(d, &["demo"]);
    let o = warden(d, &["doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let clean = json(d, &["doctor"]);
    assert_eq!(clean["errors"].as_u64(), Some(0), "{clean}");
    let events = |d: &Path| json(d, &["audit", "log", "--limit", "100000"]).as_array().map(Vec::len);
    let before = events(d);
    tamper(
        d,
        "UPDATE objects SET body = json_set(body, '$.sub_roles', json_array('WDNDeveloperToolsAdministrator')) \
           WHERE kind = 'role' AND key = 'WDNDeveloperToolsAdministrator';
         UPDATE objects SET body = json_set(body, '$.duties', json_array('NoSuchDuty')) WHERE kind = 'role' AND key = 'SystemUser';
         UPDATE objects SET body = json_set(body, '$.role', 'GhostRole') \
           WHERE kind = 'assignment' AND key = (SELECT key FROM objects WHERE kind = 'assignment' AND key LIKE 'carlos/%' ORDER BY key LIMIT 1);
         UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
    );
    let o = warden(d, &["doctor"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}{}", stderr(&o));
    for expected in [
        "error sub_role_cycle",
        "role/WDNDeveloperToolsAdministrator",
        "error unknown_reference",
        "assignment/carlos/GhostRole",
        "role/GhostRole",
        "error audit_chain",
        "broken at event 1",
        "warning dangling_reference",
        "duty/NoSuchDuty",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    let report = json(d, &["doctor"]);
    let groups = report["groups"].as_array().unwrap();
    let errors: Vec<&str> = groups.iter().filter(|g| g["severity"] == "error").map(|g| g["kind"].as_str().unwrap()).collect();
    assert_eq!(errors, ["audit_chain", "sub_role_cycle", "unknown_reference"], "{report}");
    assert_eq!(report["errors"], 3);
    let dangling = groups.iter().find(|g| g["kind"] == "dangling_reference").expect("a dangling reference group");
    assert_eq!(dangling["severity"], "warning");
    assert!(dangling["findings"].as_array().unwrap().iter().any(|f| f["objects"] == serde_json::json!(["role/SystemUser", "duty/NoSuchDuty"])), "{dangling}");
    // --strict: the dangling reference is an error too.
    let strict = json(d, &["doctor", "--strict"]);
    assert!(strict["groups"].as_array().unwrap().iter().all(|g| g["severity"] == "error"), "{strict}");
    assert_eq!(strict["warnings"], 0);
    // The doctor only read.
    assert_eq!(events(d), before, "no new events");

    // The objects the problems concern are read-only until fixed; the rest is not.
    let e = refused(d, &["role", "edit", "WDNDeveloperToolsAdministrator", "--description", "still in a cycle"]);
    assert!(e.contains("read-only until that is fixed") && e.contains("WDNDeveloperToolsAdministrator"), "{e}");
    assert_eq!(events(d), before, "refused writes wrote nothing");
    ok(d, &["role", "edit", "SystemUser", "--description", "a dangling reference is only a warning"]);
    // A repair is a write like any other: removing the cycle frees the role.
    ok(d, &["role", "edit", "WDNDeveloperToolsAdministrator", "--remove-sub-role", "WDNDeveloperToolsAdministrator"]);
    ok(d, &["role", "edit", "WDNDeveloperToolsAdministrator", "--description", "no longer in a cycle"]);
    let report = json(d, &["doctor"]);
    let errors: Vec<&str> = report["groups"].as_array().unwrap().iter().filter(|g| g["severity"] == "error").map(|g| g["kind"].as_str().unwrap()).collect();
    assert_eq!(errors, ["audit_chain", "unknown_reference"], "{report}");

    // `warden serve` still starts on it, and says once why it should not have to.
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--data-dir")
        .arg(d)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("WARDEN_DATA_DIR")
        .env_remove("WARDEN_DATABASE_URL")
        .env("WARDEN_ADMIN_PASSWORD", "a long enough password")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warden serve starts");
    let lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let listening = lines.map_while(Result::ok).any(|l| l.starts_with("Warden listening on "));
    let _ = child.kill();
    let log = String::from_utf8_lossy(&child.wait_with_output().expect("it ends").stderr).into_owned();
    assert!(listening, "serves anyway: {log}");
    assert_eq!(log.matches("the store fails validation").count(), 1, "{log}");
    assert!(log.contains("unknown_reference: 1") && log.contains("read-only until repaired") && log.contains("run `warden doctor`"), "{log}");
}

/// `warden user password USER` with `password` on standard input.
fn set_password(data: &Path, user: &str, password: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--data-dir")
        .arg(data)
        .args(["user", "password", user])
        .env_remove("WARDEN_DATA_DIR")
        .env_remove("WARDEN_DATABASE_URL")
        .env("USER", "tester")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the warden binary runs");
    child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("write the password");
    child.wait_with_output().expect("it ends")
}

#[test]
fn tokens_and_passwords_from_the_command_line_follow_the_api_rules() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    ok(d, &["demo"]);
    let issued = json(d, &["token", "issue", "--user", "carlos", "--label", "reports", "--expires-in-days", "7"]);
    let (id, secret) = (issued["id"].as_str().unwrap().to_string(), issued["token"].as_str().unwrap().to_string());
    assert!(secret.starts_with(&format!("wdn_{id}_")), "{issued}");
    let listed = ok(d, &["token", "list", "--user", "carlos"]);
    assert!(listed.contains(&id) && listed.contains("reports") && !listed.contains(&secret), "{listed}");

    let rotated = ok(d, &["token", "rotate", &id, "--grace-seconds", "0"]);
    assert!(rotated.contains("shown once") && rotated.contains("wdn_"), "{rotated}");
    assert_eq!(json(d, &["token", "list"]).as_array().unwrap().len(), 2);
    ok(d, &["token", "revoke", &id]);
    assert!(refused(d, &["token", "revoke", &id]).contains(&format!("API token '{id}' does not exist")));
    assert!(refused(d, &["token", "issue", "--user", "nobody"]).contains("unknown user 'nobody'"));
    assert!(refused(d, &["token", "issue", "--user", "carlos", "--expires-in-days", "0"]).contains("expires_in_days: 0 is not between 1 and 3650"));

    let short = set_password(d, "carlos", "too short");
    assert_eq!(short.status.code(), Some(2));
    assert!(stderr(&short).contains("password: at least 12 characters"), "{}", stderr(&short));
    let set = set_password(d, "carlos", "a long enough password");
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));

    let trail = ok(d, &["audit", "log", "--changes", "--limit", "100000"]);
    assert!(!trail.contains(&secret[secret.len() - 64..]) && !trail.contains("argon2"), "no secret nor hash in the trail");
    let last: Vec<String> = actions(d).into_iter().rev().take(4).collect();
    assert_eq!(last, ["password set", "token revoke", "token rotate", "token create"]);
}
