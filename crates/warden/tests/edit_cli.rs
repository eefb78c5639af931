//! The definition commands end to end, through the real binary: building a
//! role from a new entry point up, editing it, the user lifecycle, and
//! assignment rules that follow users' attributes.

mod common;

use common::{json, ok, refused, warden, XPPTOOLS};
use std::path::Path;
use tempfile::TempDir;

fn allowed(data: &Path, args: &[&str]) -> bool {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    match warden(data, &all).status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!("check {args:?} ended with {other:?}"),
    }
}

fn audit_actions(data: &Path) -> Vec<String> {
    json(data, &["audit", "log"]).as_array().expect("events").iter().map(|e| e["action"].as_str().unwrap_or_default().to_string()).collect()
}

#[test]
fn a_role_is_built_edited_and_removed_from_the_command_line() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    ok(d, &["import", "aot", XPPTOOLS]);
    ok(d, &["entry-point", "add", "MenuItemDisplay/VendTable", "--label", "Vendors", "--maintain-licence", "Operations"]);
    ok(d, &["privilege", "add", "VendTableMaintain", "--allow", "VendTable:read,update,create", "--deny", "VendTable:delete"]);
    ok(d, &["duty", "add", "VendMaintain", "--label", "Maintain vendors", "--privilege", "vendtablemaintain"]);
    let out = ok(d, &["role", "add", "VendClerk", "--label", "Vendor clerk", "--duty", "VendMaintain", "--sub-role", "DEVSQLQueryExecuteView"]);
    assert!(out.starts_with("Added role VendClerk (revision "), "{out}");
    ok(d, &["user", "add", "alice"]);
    ok(d, &["user", "assign", "alice", "VendClerk"]);
    assert!(allowed(d, &["--user", "alice", "--entry-point", "VendTable", "--access", "create"]));
    assert!(!allowed(d, &["--user", "alice", "--entry-point", "VendTable", "--access", "delete"]), "Deny wins");
    assert!(allowed(d, &["--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]), "via the sub-role");

    // Typos are refused with a suggestion and change nothing.
    let before = audit_actions(d).len();
    let e = refused(d, &["role", "edit", "VendClerk", "--add-duty", "VendMaintian"]);
    assert!(e.contains("unknown duty 'VendMaintian'; did you mean 'VendMaintain'?"), "{e}");
    let e = refused(d, &["privilege", "add", "P2", "--allow", "VendTable:fly"]);
    assert!(e.contains("access"), "{e}");
    let e = refused(d, &["role", "edit", "VendClerk", "--remove-sub-role", "Nope"]);
    assert!(e.contains("role VendClerk has no sub-role 'Nope' (it has: DEVSQLQueryExecuteView)"), "{e}");
    assert_eq!(audit_actions(d).len(), before);

    ok(d, &["role", "edit", "vendclerk", "--remove-sub-role", "devsqlqueryexecuteview", "--description", "Keeps vendor master data"]);
    assert!(!allowed(d, &["--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]));
    ok(d, &["privilege", "edit", "VendTableMaintain", "--unset", "VendTable:delete"]);
    let p = json(d, &["privilege", "show", "VendTableMaintain"]);
    assert_eq!((p["entry_points"][0]["grant"]["allow"].as_u64(), p["entry_points"][0]["grant"]["deny"].as_u64()), (Some(7), Some(0)), "read, update, create; no deny: {p}");
    let out = ok(d, &["role", "edit", "VendClerk", "--description", "Keeps vendor master data"]);
    assert!(out.contains("nothing to change; nothing written"), "{out}");

    // A role still assigned cannot go; once revoked it can.
    let e = refused(d, &["role", "remove", "VendClerk"]);
    assert!(e.contains("still referenced"), "{e}");
    ok(d, &["user", "revoke", "alice", "VendClerk"]);
    ok(d, &["role", "remove", "VendClerk"]);
    ok(d, &["duty", "remove", "VendMaintain"]);
    ok(d, &["privilege", "remove", "VendTableMaintain"]);
    ok(d, &["entry-point", "remove", "MenuItemDisplay/VendTable"]);
    let actions = audit_actions(d);
    let tail: Vec<&str> = actions.iter().rev().take(4).rev().map(String::as_str).collect();
    assert_eq!(tail, ["role delete", "duty delete", "privilege delete", "entry-point delete"]);
}

#[test]
fn the_user_lifecycle_and_assignment_rules() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    ok(d, &["import", "aot", XPPTOOLS]);
    ok(d, &["org", "add", "USMF"]);
    ok(d, &["user", "add", "alice", "--attr", "department=Finance", "--attr", "title=Accountant"]);
    ok(d, &["user", "add", "bob", "--attr", "department=Sales"]);
    let out = ok(
        d,
        &["assignment-rule", "add", "FinanceSql", "--role", "DEVSQLQueryExecuteView", "--where", "department=Finance|Accounting", "--org", "USMF"],
    );
    assert!(out.contains("assigns its role to 1 user: alice"), "{out}");
    assert!(allowed(d, &["--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read", "--org", "USMF"]));
    let show = ok(d, &["user", "show", "alice", "--org", "USMF"]);
    assert!(show.contains("rule FinanceSql") && show.contains("department: Finance"), "{show}");

    // Bob joins Accounting: the rule gives him the role in the same change.
    let out = ok(d, &["user", "edit", "bob", "--attr", "department=Accounting"]);
    assert!(out.contains("roles from assignment rules: DEVSQLQueryExecuteView (rule FinanceSql)"), "{out}");
    // Revoking a rule-made role excludes the user from the rule.
    ok(d, &["user", "revoke", "bob", "DEVSQLQueryExecuteView"]);
    let rule = json(d, &["assignment-rule", "show", "FinanceSql"]);
    assert_eq!(rule["rule"]["excluded_users"], serde_json::json!(["bob"]));
    assert_eq!(rule["assigned"], serde_json::json!(["alice"]));

    // Disable: every check denies; enable: back.
    ok(d, &["user", "disable", "alice"]);
    assert!(!allowed(d, &["--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read", "--org", "USMF"]));
    ok(d, &["user", "enable", "alice"]);
    assert!(allowed(d, &["--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read", "--org", "USMF"]));
    ok(d, &["assignment-rule", "edit", "FinanceSql", "--disable"]);
    assert!(!allowed(d, &["--user", "alice", "--entry-point", "DEVSQLQueryExecute", "--access", "read", "--org", "USMF"]));
    let e = refused(d, &["assignment-rule", "add", "Everyone", "--role", "DEVSQLQueryExecuteView", "--where", "department"]);
    assert!(e.contains("ATTRIBUTE=VALUE"), "{e}");

    // Remove: the user goes with their assignments; their audit history stays.
    ok(d, &["user", "remove", "bob"]);
    let e = refused(d, &["user", "show", "bob"]);
    assert!(e.contains("unknown user 'bob'"), "{e}");
    let bob = json(d, &["audit", "log", "--object", "user/bob"]);
    let actions: Vec<&str> = bob.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user create", "user replace", "user delete"]);
    let rule = json(d, &["assignment-rule", "show", "FinanceSql"]);
    assert_eq!(rule["rule"]["excluded_users"], serde_json::json!([]), "a deleted user is no longer excluded");
}
