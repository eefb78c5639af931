//! End-to-end tests of the `warden` binary: each runs the real executable
//! against its own temporary data directory, as a user would from the README.

mod common;

use common::{json, ok, stderr, stdout, tamper, warden, XPPTOOLS};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use tempfile::TempDir;

/// The exit status of a check: 0 allow, 1 deny, 2 error.
fn check(data: &Path, args: &[&str]) -> i32 {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let o = warden(data, &all);
    let code = o.status.code().expect("exited");
    let expected = match code {
        0 => "allow\n",
        1 => "deny\n",
        _ => "",
    };
    if !args.contains(&"--explain") && !args.contains(&"--json") {
        assert_eq!(stdout(&o), expected, "warden {all:?}: {}", stderr(&o));
    }
    code
}

/// The roles every store holds from its first write.
const BUILT_IN: [&str; 4] = ["SecurityAdministrator", "SecurityAuditor", "SystemAdministrator", "WardenApplication"];

fn xpptools_store() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    ok(dir.path(), &["import", "aot", XPPTOOLS]);
    dir
}

/// The store's current revision, read off a probe write (which itself adds one).
fn revision(data: &Path) -> u64 {
    static PROBES: AtomicUsize = AtomicUsize::new(0);
    let id = format!("PROBE{}", PROBES.fetch_add(1, Ordering::Relaxed));
    let v = json(data, &["org", "add", &id]);
    v["revision"].as_u64().expect("revision") - 1
}

#[test]
fn help_is_available_for_every_command() {
    let dir = TempDir::new().expect("temp dir");
    for args in [
        vec!["--help"],
        vec!["demo", "--help"],
        vec!["import", "--help"],
        vec!["import", "aot", "--help"],
        vec!["import", "users", "--help"],
        vec!["import", "assignments", "--help"],
        vec!["import", "orgs", "--help"],
        vec!["export", "aot", "--help"],
        vec!["org", "add", "--help"],
        vec!["user", "assign", "--help"],
        vec!["user", "show", "--help"],
        vec!["role", "show", "--help"],
        vec!["check", "--help"],
        vec!["gen", "--help"],
        vec!["role", "add", "--help"],
        vec!["role", "edit", "--help"],
        vec!["duty", "add", "--help"],
        vec!["privilege", "edit", "--help"],
        vec!["entry-point", "add", "--help"],
        vec!["user", "edit", "--help"],
        vec!["assignment-rule", "add", "--help"],
        vec!["sod", "rule", "add", "--help"],
        vec!["sod", "resolve", "--help"],
        vec!["sod", "conflicts", "--help"],
    ] {
        let out = ok(dir.path(), &args);
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
}

#[test]
fn imports_xpptools_and_lists_roles() {
    let dir = TempDir::new().expect("temp dir");
    let out = ok(dir.path(), &["import", "aot", XPPTOOLS]);
    assert!(out.contains("Read 137 AOT files"), "{out}");
    assert!(out.contains("AxSecurityRole           7"), "{out}");
    assert!(out.contains("(revision 2)"), "the built-in model is revision 1: {out}");
    assert!(out.contains("duty extensions of duties that are not in the import"), "warnings are shown: {out}");

    let roles = json(dir.path(), &["role", "list"]);
    let names: Vec<&str> = roles.as_array().expect("array").iter().filter_map(|r| r["name"].as_str()).filter(|n| !BUILT_IN.contains(n)).collect();
    assert_eq!(names.len(), 7);
    assert!(names.contains(&"DEVIntegDeveloperRole"));

    let show = ok(dir.path(), &["role", "show", "devintegdeveloperrole"]);
    assert!(show.contains("Role DEVIntegDeveloperRole — DEV Integration developer"), "{show}");
    assert!(show.contains("DEVIntegIntegrationAdminBase"), "{show}");
    assert!(show.contains("DEVIntegMessageTable"), "{show}");

    // Importing the same files again changes nothing, writes nothing and says so.
    let again = json(dir.path(), &["import", "aot", XPPTOOLS]);
    assert_eq!(again["added"], 0);
    assert_eq!(again["updated"], 0);
    assert_eq!(again["changed"], false);
    let before = revision(dir.path());
    let text = ok(dir.path(), &["import", "aot", XPPTOOLS]);
    assert!(text.contains("no changes:") && text.contains("nothing was written"), "{text}");
    assert_eq!(revision(dir.path()), before + 1, "no revision but the probe's own");
    // A folder without AOT files is an error naming it.
    let empty = TempDir::new().expect("temp dir");
    let o = warden(dir.path(), &["import", "aot", empty.path().to_str().expect("utf-8")]);
    assert!(!o.status.success() && stderr(&o).contains("no AOT security file found in"), "{}", stderr(&o));

    // --strict refuses the references to standard duties that are not loaded.
    let fresh = TempDir::new().expect("temp dir");
    let o = warden(fresh.path(), &["import", "aot", "--strict", XPPTOOLS]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("SysServerAXBasicMaintain"), "{}", stderr(&o));
    let roles = json(fresh.path(), &["role", "list"]);
    let names: Vec<&str> = roles.as_array().expect("array").iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, BUILT_IN, "nothing but the built-in roles");
}

#[test]
fn malformed_xml_is_refused_and_nothing_changes() {
    let dir = xpptools_store();
    let before_roles = ok(dir.path(), &["role", "list"]);
    let before = revision(dir.path());

    let bad = TempDir::new().expect("temp dir");
    let role_dir = bad.path().join("Broken").join("AxSecurityRole");
    std::fs::create_dir_all(&role_dir).expect("mkdir");
    std::fs::write(role_dir.join("Broken.xml"), "<?xml version=\"1.0\"?>\n<AxSecurityRole>\n\t<Name>Broken</Name>\n\t<Duties>\n</AxSecurityRole>\n")
        .expect("write");
    let good_role = bad.path().join("Good").join("AxSecurityRole");
    std::fs::create_dir_all(&good_role).expect("mkdir");
    std::fs::write(
        good_role.join("NewRole.xml"),
        "<?xml version=\"1.0\"?>\n<AxSecurityRole>\n\t<Name>NewRole</Name>\n</AxSecurityRole>",
    )
    .expect("write");

    let o = warden(dir.path(), &["import", "aot", bad.path().to_str().expect("utf-8 path")]);
    assert_ne!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(err.contains("Broken.xml:5:1:"), "file:line:column in {err}");

    assert_eq!(revision(dir.path()), before + 1, "only the probe's own write moved the revision");
    assert_eq!(ok(dir.path(), &["role", "list"]), before_roles, "no role was added");
}

#[test]
fn users_assignments_and_checks() {
    let dir = xpptools_store();
    let d = dir.path();
    ok(d, &["org", "add", "USMF", "--name", "Contoso USA"]);
    ok(d, &["org", "add", "DEMF"]);
    ok(d, &["user", "add", "alice", "--name", "Alice Jensen", "--email", "alice@contoso.com"]);
    ok(d, &["user", "add", "svc", "--service-account"]);
    ok(d, &["user", "add", "zoe", "--disabled"]);
    let dup = warden(d, &["user", "add", "ALICE"]);
    assert_eq!(dup.status.code(), Some(2));
    assert!(stderr(&dup).contains("user 'alice' already exists"), "{}", stderr(&dup));

    // Unknown names are errors that name them, and change nothing.
    let o = warden(d, &["user", "assign", "alice", "NoSuchRole"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown role 'NoSuchRole'"), "{}", stderr(&o));
    let o = warden(d, &["user", "assign", "alicia", "DEVSQLQueryExecute"]);
    assert!(stderr(&o).contains("unknown user 'alicia'; did you mean 'alice'?"), "{}", stderr(&o));
    let o = warden(d, &["user", "assign", "alice", "DEVSQLQueryExecute", "--org", "FRRT"]);
    assert!(stderr(&o).contains("unknown organization 'FRRT'"), "{}", stderr(&o));

    ok(d, &["user", "assign", "alice", "DEVSQLQueryExecuteView"]);
    assert_eq!(check(d, &["--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]), 0);
    assert_eq!(check(d, &["--user", "alice", "--entry-point", "MenuItemDisplay/DEVSQLQueryExecute", "--access", "DELETE"]), 0);
    assert_eq!(check(d, &["--user", "alice", "--entry-point", "DEVIntegMessageTable", "--access", "read"]), 1);
    assert_eq!(check(d, &["--user", "svc", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]), 1);

    // Disabled users have no access, whatever their roles.
    ok(d, &["user", "assign", "zoe", "DEVSQLQueryExecute"]);
    assert_eq!(check(d, &["--user", "zoe", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]), 1);

    // Errors exit with 2 and say what is wrong.
    let o = warden(d, &["check", "--user", "alice", "--entry-point", "Foo", "--access", "read"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown entry point 'Foo'"), "{}", stderr(&o));
    let o = warden(d, &["check", "--user", "alice", "--entry-point", "DEVSQLQueryExecut", "--access", "read"]);
    assert!(stderr(&o).contains("did you mean 'MenuItemDisplay/DEVSQLQueryExecute'?"), "{}", stderr(&o));
    let o = warden(d, &["check", "--user", "nobody", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown user 'nobody'"), "{}", stderr(&o));
    let o = warden(d, &["check", "--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "fly"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Read, Update, Create, Correct, Delete, Invoke"), "{}", stderr(&o));
    let o = warden(d, &["check", "--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read", "--org", "XX"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown organization 'XX'"), "{}", stderr(&o));

    // --explain names the path; --json parses.
    let o = warden(d, &["check", "--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "update", "--explain"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with("allow"), "{text}");
    assert!(text.contains("role DEVSQLQueryExecuteView › privilege DEVSQLQueryExecuteMaintain"), "{text}");
    let v = json(d, &["check", "--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "update", "--explain"]);
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["user"], "alice");
    assert_eq!(v["entry_point"], "MenuItemDisplay/DEVSQLQueryExecute");
    assert_eq!(v["access"], "Update");
    assert_eq!(v["org"], serde_json::Value::Null);
    assert!(v["at"].as_str().is_some_and(|s| s.ends_with('Z')), "{v}");
    assert!(v["explanation"]["paths"].as_array().is_some_and(|p| !p.is_empty()), "{v}");
    let v = json(d, &["check", "--user", "alice", "--entry-point", "DEVIntegMessageTable", "--access", "read"]);
    assert_eq!(v["decision"], "deny");
    assert!(v.get("explanation").is_none());

    // Revoke, then revoke again: the second is an error naming the roles the user has.
    ok(d, &["user", "revoke", "alice", "DEVSQLQueryExecuteView"]);
    assert_eq!(check(d, &["--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]), 1);
    let o = warden(d, &["user", "revoke", "alice", "DEVSQLQueryExecuteView"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("user 'alice' does not have role 'DEVSQLQueryExecuteView'"), "{}", stderr(&o));

    let users = json(d, &["user", "list"]);
    assert_eq!(users.as_array().map(Vec::len), Some(3));
    let orgs = json(d, &["org", "list"]);
    assert_eq!(orgs[1]["id"], "USMF");
    assert_eq!(orgs[1]["name"], "Contoso USA");
}

#[test]
fn organization_scope_and_time_windows() {
    let dir = xpptools_store();
    let d = dir.path();
    ok(d, &["org", "add", "USMF"]);
    ok(d, &["org", "add", "DEMF"]);
    ok(d, &["user", "add", "dana"]);
    let out = ok(d, &["user", "assign", "dana", "DEVIntegDeveloperRole", "--org", "USMF", "--from", "2026-01-01", "--to", "2026-04-01"]);
    assert!(out.contains("in USMF, from 2026-01-01 until 2026-04-01 (exclusive)"), "{out}");
    let ep = ["--user", "dana", "--entry-point", "DEVIntegMessageTable", "--access", "delete"];
    let at = |org: Option<&str>, time: &str| -> i32 {
        let mut args = ep.to_vec();
        if let Some(o) = org {
            args.extend(["--org", o]);
        }
        args.extend(["--at", time]);
        check(d, &args)
    };
    assert_eq!(at(Some("USMF"), "2026-02-15"), 0);
    assert_eq!(at(Some("usmf"), "2026-02-15T10:00:00+02:00"), 0, "org names and offsets are accepted");
    assert_eq!(at(Some("DEMF"), "2026-02-15"), 1, "scoped to another organization");
    assert_eq!(at(None, "2026-02-15"), 1, "a check without an organization counts global assignments only");
    assert_eq!(at(Some("USMF"), "2025-12-31T23:59:59Z"), 1, "not yet valid");
    assert_eq!(at(Some("USMF"), "2026-04-01"), 1, "valid_to is exclusive");

    let mut args = vec!["check"];
    args.extend(ep);
    args.extend(["--org", "USMF", "--at", "2026-05-01", "--explain"]);
    let o = warden(d, &args);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("expired"), "{}", stdout(&o));

    // Re-assigning replaces the scope and window: now global and unbounded.
    let out = ok(d, &["user", "assign", "dana", "DEVIntegDeveloperRole"]);
    assert!(out.contains("replaces the previous assignment"), "{out}");
    assert_eq!(at(None, "2030-01-01"), 0);

    let show = ok(d, &["user", "show", "dana", "--org", "USMF"]);
    assert!(show.contains("DEVIntegDeveloperRole"), "{show}");
    assert!(show.contains("DEVIntegMessageTable"), "{show}");
    let v = json(d, &["user", "show", "dana"]);
    assert_eq!(v["assignments"][0]["state"], "active");
    let row = v["permissions"].as_array().and_then(|rows| rows.iter().find(|r| r["name"] == "DEVIntegMessageTable")).cloned();
    assert_eq!(row.map(|r| r["allowed"].clone()), Some(serde_json::json!(["Read", "Update", "Create", "Correct", "Delete"])));
}

#[test]
fn export_then_import_gives_the_same_answers() {
    let dir = xpptools_store();
    let out = TempDir::new().expect("temp dir");
    let exported = out.path().join("aot");
    let text = ok(dir.path(), &["export", "aot", "--out", exported.to_str().expect("utf-8")]);
    assert!(text.contains("AxSecurityRole"), "{text}");
    let again = warden(dir.path(), &["export", "aot", "--out", exported.to_str().expect("utf-8")]);
    assert_eq!(again.status.code(), Some(2), "a non-empty folder is refused");
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));

    let fresh = TempDir::new().expect("temp dir");
    ok(fresh.path(), &["import", "aot", exported.to_str().expect("utf-8")]);
    for role in ["DEVIntegDeveloperRole", "DEVSQLQueryExecuteView", "DEVDocuExpImpJournalMaintain"] {
        assert_eq!(ok(dir.path(), &["role", "show", role]), ok(fresh.path(), &["role", "show", role]), "role {role}");
    }
    assert_eq!(ok(dir.path(), &["role", "list"]), ok(fresh.path(), &["role", "list"]));
    for d in [dir.path(), fresh.path()] {
        ok(d, &["user", "add", "u"]);
        ok(d, &["user", "assign", "u", "DEVIntegDeveloperRole"]);
    }
    for (ep, access) in [("DEVIntegMessageTable", "delete"), ("DEVIntegWorkspace", "update"), ("DEVSQLQueryExecute", "read")] {
        let args = ["--user", "u", "--entry-point", ep, "--access", access];
        assert_eq!(check(dir.path(), &args), check(fresh.path(), &args), "{ep} {access}");
    }
}

#[test]
fn csv_imports_are_all_or_nothing_and_name_line_and_field() {
    let dir = xpptools_store();
    let d = dir.path();
    let files = TempDir::new().expect("temp dir");
    let write = |name: &str, text: &str| -> String {
        let p: PathBuf = files.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.to_str().expect("utf-8").to_string()
    };

    let orgs = write("organizations.csv", "id,name\nUSMF,Contoso USA\nDEMF,Contoso Germany\n");
    assert!(ok(d, &["import", "orgs", &orgs]).contains("2 added"));
    let users = write(
        "users.csv",
        "id,name,type,enabled,email\nalice,Alice,person,yes,alice@contoso.com\nsvc,Batch,service_account,1,\nbob,Bob,,no,\n",
    );
    assert!(ok(d, &["import", "users", &users]).contains("3 added"));
    let before = revision(d);
    let users_before = ok(d, &["user", "list"]);

    let bad_users = write("bad-users.csv", "id,name,type,enabled,email\ncarol,Carol,person,maybe,\ndave,Dave,robot,yes,\n");
    let o = warden(d, &["import", "users", &bad_users]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad-users.csv:2: field 'enabled': 'maybe' is not a yes/no value"), "{err}");
    assert!(err.contains("bad-users.csv:3: field 'type': 'robot' is not a user type"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");

    let bad_header = write("header.csv", "id,fullname\nx,y\n");
    let o = warden(d, &["import", "users", &bad_header]);
    assert!(stderr(&o).contains("header.csv:1: unknown column 'fullname'; accepted columns are: id, name, type, enabled, email"), "{}", stderr(&o));

    let bad_assignments = write(
        "bad-assignments.csv",
        "user,role,organizations,valid_from,valid_to\n\
         alice,DEVSQLQueryExecute,,,\n\
         bob,DEVSQLQueryExecute,USMF;FRRT,,\n\
         alice,NoSuchRole,,,\n\
         svc,DEVIntegDeveloperRole,,2026-05-01,2026-02-01\n",
    );
    let o = warden(d, &["import", "assignments", &bad_assignments]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad-assignments.csv:3: field 'organizations': unknown organization 'FRRT'"), "{err}");
    assert!(err.contains("bad-assignments.csv:4: field 'role': unknown role 'NoSuchRole'"), "{err}");
    assert!(err.contains("bad-assignments.csv:5: field 'valid_to'"), "{err}");

    assert_eq!(revision(d), before + 1, "nothing was committed by the refused imports");
    assert_eq!(ok(d, &["user", "list"]), users_before);
    assert_eq!(check(d, &["--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]), 1, "line 2 was valid but not imported");

    let good = write(
        "assignments.csv",
        "user,role,organizations,valid_from,valid_to\nalice,DEVSQLQueryExecute,,,\nbob,DEVSQLQueryExecute,USMF;DEMF,2026-01-01,2027-01-01\n",
    );
    assert!(ok(d, &["import", "assignments", &good]).contains("2 added"));
    assert_eq!(check(d, &["--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]), 0);
    ok(d, &["import", "users", &write("enable-bob.csv", "id,enabled\nbob,yes\n")]);
    let bob = ["--user", "bob", "--entry-point", "DEVSQLQueryExecute", "--access", "read", "--at", "2026-06-01"];
    assert_eq!(check(d, &[&bob[..], &["--org", "DEMF"]].concat()), 0);
    assert_eq!(check(d, &bob), 1);
    let listed = json(d, &["user", "list"]);
    let bob_row = listed.as_array().and_then(|l| l.iter().find(|u| u["id"] == "bob")).cloned().expect("bob listed");
    assert_eq!(bob_row["name"], "Bob", "a column left out of the file keeps the stored value");
}

#[test]
fn gen_is_deterministic_and_importable() {
    let base = TempDir::new().expect("temp dir");
    let a = base.path().join("a");
    let b = base.path().join("b");
    for dir in [&a, &b] {
        let out = ok(base.path(), &["gen", "--out", dir.to_str().expect("utf-8"), "--scale", "small", "--seed", "42"]);
        assert!(out.contains("users.csv"), "{out}");
    }
    let tree = |root: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let bytes = std::fs::read(&path).expect("read");
                    files.push((path.strip_prefix(root).expect("under root").to_path_buf(), bytes));
                }
            }
        }
        files.sort();
        files
    };
    let (ta, tb) = (tree(&a), tree(&b));
    assert!(ta.len() > 100, "{} files", ta.len());
    assert!(ta == tb, "same seed, same bytes");

    let o = warden(base.path(), &["gen", "--out", a.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2), "a non-empty folder is refused");

    // What gen writes, import reads.
    let store = TempDir::new().expect("temp dir");
    let s = store.path();
    let file = |name: &str| a.join(name).to_str().expect("utf-8").to_string();
    ok(s, &["import", "aot", &file("aot")]);
    ok(s, &["import", "orgs", &file("organizations.csv")]);
    ok(s, &["import", "users", &file("users.csv")]);
    ok(s, &["import", "assignments", &file("assignments.csv")]);
    let users = json(s, &["user", "list"]);
    assert!(users.as_array().is_some_and(|u| u.len() > 10));
}

#[test]
fn demo_loads_once_and_tells_its_stories() {
    let dir = TempDir::new().expect("temp dir");
    let d = dir.path();
    let out = ok(d, &["demo"]);
    assert!(out.contains("Loaded the demo"), "{out}");
    assert!(out.contains("Try these:"), "{out}");
    assert!(out.contains("user show carlos"), "{out}");
    let again = ok(d, &["demo"]);
    assert!(again.contains("already holds the demo"), "{again}");

    assert_eq!(check(d, &["--user", "adam", "--entry-point", "DEVSQLQueryExecute", "--access", "update"]), 0);
    assert_eq!(check(d, &["--user", "carlos", "--entry-point", "DEVSQLQueryExecute", "--access", "update"]), 1);
    let o = warden(d, &["check", "--user", "carlos", "--entry-point", "DEVSQLQueryExecute", "--access", "update", "--explain"]);
    assert!(stdout(&o).contains("Deny wins"), "{}", stdout(&o));
    assert_eq!(check(d, &["--user", "dana", "--entry-point", "DEVIntegMessageTable", "--access", "delete", "--org", "USMF"]), 0);
    assert_eq!(check(d, &["--user", "dana", "--entry-point", "DEVIntegMessageTable", "--access", "delete", "--org", "DEMF"]), 1);
    assert_eq!(check(d, &["--user", "fatima", "--entry-point", "DEVSysTableBrowser", "--access", "update"]), 1);
    assert_eq!(check(d, &["--user", "mike", "--entry-point", "DEVDevRecordInfo", "--access", "read"]), 0);
    let show = ok(d, &["user", "show", "carlos"]);
    assert!(show.contains("Update,Create,Correct,Delete"), "denied accesses are listed: {show}");
    let role = ok(d, &["role", "show", "WDNDeveloperToolsAdministrator"]);
    assert!(role.contains("Sub-roles (4)"), "{role}");

    // Every command the demo suggests works.
    for line in out.lines().map(str::trim).filter(|l| l.contains(" check ") || l.contains(" show ") || l.ends_with(" list")) {
        let args: Vec<&str> = line.split_whitespace().skip_while(|w| *w != "--data-dir").skip(2).collect();
        let o = warden(d, &args);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{line}: {}", stderr(&o));
    }

    // A store with other data is refused, and --reset replaces it.
    let other = xpptools_store();
    let o = warden(other.path(), &["demo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--reset"), "{}", stderr(&o));
    ok(other.path(), &["demo", "--reset"]);
    assert_eq!(ok(other.path(), &["role", "list"]), ok(d, &["role", "list"]));
}

#[test]
fn audit_verify_reports_tampering_done_in_sql() {
    let dir = TempDir::new().unwrap();
    let data = dir.path();
    ok(data, &["demo"]);
    ok(data, &["user", "add", "zed"]);
    ok(data, &["user", "assign", "zed", "SystemUser"]);
    ok(data, &["user", "revoke", "zed", "SystemUser"]);
    let verdict = warden(data, &["audit", "verify"]);
    assert_eq!(verdict.status.code(), Some(0), "{}", stdout(&verdict));
    assert!(stdout(&verdict).starts_with("intact: 4 events"), "{}", stdout(&verdict));
    let anchor = ok(data, &["audit", "checkpoint"]).trim().to_string();
    assert!(anchor.starts_with("4:"), "{anchor}");
    let log = json(data, &["audit", "log", "--object", "user/zed", "--changes"]);
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    let assignment = json(data, &["audit", "log", "--object", "assignment/zed/SystemUser"]);
    let actions: Vec<&str> = assignment.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user assign", "user revoke"]);
    assert_eq!(log[0]["actor"], "tester");
    assert_eq!(log[0]["origin"], "cli");

    let broken_at = |sql: &str, undo: &str, seq: &str| {
        tamper(data, sql);
        let o = warden(data, &["audit", "verify"]);
        assert_eq!(o.status.code(), Some(1), "{sql}: {}", stdout(&o));
        assert!(stdout(&o).starts_with(&format!("BROKEN at event {seq}:")), "{sql}: {}", stdout(&o));
        tamper(data, undo);
        assert_eq!(warden(data, &["audit", "verify"]).status.code(), Some(0), "undoing {sql}");
    };
    // Edited event, edited change, reordered events.
    broken_at("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2", "UPDATE audit_events SET actor = 'tester' WHERE seq = 2", "2");
    broken_at(
        "UPDATE audit_changes SET after = replace(after, '\"zed\"', '\"zee\"') WHERE seq = 2",
        "UPDATE audit_changes SET after = replace(after, '\"zee\"', '\"zed\"') WHERE seq = 2",
        "2",
    );
    let swap = "UPDATE audit_events SET seq = 100 WHERE seq = 2; UPDATE audit_events SET seq = 2 WHERE seq = 3; UPDATE audit_events SET seq = 3 WHERE seq = 100";
    broken_at(swap, swap, "2");
    // A deleted event in the middle.
    tamper(data, "DELETE FROM audit_events WHERE seq = 3");
    assert_eq!(warden(data, &["audit", "verify"]).status.code(), Some(1));
    // Truncation covered up by rewriting the head: only the anchor catches it.
    let dir2 = TempDir::new().unwrap();
    let data2 = dir2.path();
    ok(data2, &["demo"]);
    ok(data2, &["user", "add", "zed"]);
    let anchor = ok(data2, &["audit", "checkpoint"]).trim().to_string();
    tamper(
        data2,
        "DELETE FROM audit_changes WHERE seq = 2; DELETE FROM audit_events WHERE seq = 2; \
         UPDATE meta SET revision = 1, audit_seq = 1, audit_hash = (SELECT hash FROM audit_events WHERE seq = 1)",
    );
    assert_eq!(warden(data2, &["audit", "verify"]).status.code(), Some(0), "self-consistent without an anchor");
    let o = warden(data2, &["audit", "verify", "--anchor", &anchor]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("removed from the end"), "{}", stdout(&o));
    // A malformed anchor is an error (2), not a verdict.
    assert_eq!(warden(data2, &["audit", "verify", "--anchor", "2:xyz"]).status.code(), Some(2));
}
