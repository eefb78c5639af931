//! Editing security objects and users by name, and assignment rules, against
//! a real (SQLite) store: each write is one audited commit in which the
//! rule-made assignments follow the change.

use std::path::PathBuf;
use tempfile::TempDir;
use warden_core::{CoreError, DutyEdit, Edit, ListEdit, PrivilegeEdit, RoleEdit, RuleEdit, UserEdit, Warden};
use warden_model::{Access, Assignment, Model, Object, ObjectKind, ObjectRef, Organization, User};
use warden_store::AuditFilter;

const XPPTOOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/aot/xpptools");

async fn setup() -> (TempDir, Warden) {
    let dir = TempDir::new().expect("temp dir");
    let store = warden_store::open(None, dir.path()).await.expect("store opens");
    let w = Warden::new(store, "tester");
    w.import_aot(&[PathBuf::from(XPPTOOLS)], false).await.expect("xpptools imports");
    w.add_org(Organization { id: "USMF".into(), name: None }).await.expect("org");
    for (id, dept) in [("alice", "Finance"), ("bob", "Finance"), ("carol", "Sales")] {
        let edit = Edit::User(UserEdit { set_attributes: vec![("department".into(), dept.into())], ..UserEdit::default() });
        w.add(id, &edit).await.expect("user");
    }
    (dir, w)
}

fn rule_edit(role: &str, conditions: &[&str]) -> Edit {
    Edit::AssignmentRule(RuleEdit {
        role: Some(role.into()),
        conditions: ListEdit::adding(conditions.iter().map(|c| c.to_string()).collect()),
        organizations: ListEdit::adding(vec!["usmf".into()]),
        ..RuleEdit::default()
    })
}

async fn model(w: &Warden) -> Model {
    w.store().load().await.expect("load").0
}

fn made_by(m: &Model, rule: &str) -> Vec<String> {
    m.assignments.iter().filter(|a| a.rule.as_deref() == Some(rule)).map(|a| a.user.clone()).collect()
}

#[tokio::test]
async fn a_rule_assigns_matching_users_and_follows_their_changes_in_the_same_commit() {
    let (_dir, w) = setup().await;
    let added = w.add("finance", &rule_edit("devsqlqueryexecuteview", &["department=finance"])).await.expect("rule");
    let Object::AssignmentRule(r) = &added.object else { panic!("a rule") };
    assert_eq!((r.role.as_str(), r.organizations.as_slice()), ("DEVSQLQueryExecuteView", &["USMF".to_string()][..]), "names resolved");
    let m = model(&w).await;
    assert_eq!(made_by(&m, "finance"), ["alice", "bob"]);
    assert!(m.assignments_of("alice").iter().all(|a| a.organizations == ["USMF"]));

    // Carol moves to Finance: one commit changes her and assigns her the role.
    let rev = w.store().revision().await.unwrap();
    let edit = Edit::User(UserEdit { set_attributes: vec![("Department".into(), "Finance".into())], ..UserEdit::default() });
    let out = w.edit("CAROL", &edit).await.expect("edit");
    assert_eq!(out.revision, rev + 1, "one commit");
    let Object::User(carol) = &out.object else { panic!("a user") };
    assert_eq!(carol.attributes.get("department").map(String::as_str), Some("Finance"), "the stored spelling is kept");
    assert_eq!(made_by(&model(&w).await, "finance"), ["alice", "bob", "carol"]);
    let last = w.store().audit_events(&AuditFilter::default()).await.unwrap().pop().unwrap();
    assert_eq!(last.action, "user replace");
    assert_eq!(last.summary["rule_assignments"]["assigned_or_updated"], serde_json::json!(["carol/DEVSQLQueryExecuteView"]));

    // Alice leaves Finance: the rule's assignment goes with the change.
    let edit = Edit::User(UserEdit { remove_attributes: vec!["department".into()], ..UserEdit::default() });
    w.edit("alice", &edit).await.expect("edit");
    assert_eq!(made_by(&model(&w).await, "finance"), ["bob", "carol"]);

    // Removing the rule removes what it made, nothing else.
    w.assign("bob", "DEVSQLQueryExecute", &[], None, None, warden_model::Timestamp::now()).await.expect("manual");
    w.remove(ObjectKind::AssignmentRule, "FINANCE").await.expect("remove rule");
    let m = model(&w).await;
    assert!(m.assignments.iter().all(|a| a.rule.is_none()));
    assert_eq!(m.assignments_of("bob").len(), 1, "the manual assignment stays");
}

#[tokio::test]
async fn a_manual_assignment_stands_instead_and_revoking_a_rule_made_one_excludes_the_user() {
    let (_dir, w) = setup().await;
    let now = warden_model::Timestamp::now();
    w.assign("alice", "DEVSQLQueryExecuteView", &[], None, None, now).await.expect("manual");
    w.add("finance", &rule_edit("DEVSQLQueryExecuteView", &["department=Finance"])).await.expect("rule");
    let m = model(&w).await;
    assert_eq!(made_by(&m, "finance"), ["bob"]);
    assert!(m.assignments_of("alice")[0].rule.is_none() && m.assignments_of("alice")[0].organizations.is_empty(), "manual untouched");

    w.revoke("bob", "DEVSQLQueryExecuteView").await.expect("revoke");
    let m = model(&w).await;
    assert!(m.assignments_of("bob").is_empty(), "not given straight back");
    assert_eq!(m.assignment_rules["finance"].excluded_users, ["bob"]);
    let last = w.store().audit_events(&AuditFilter::default()).await.unwrap().pop().unwrap();
    assert_eq!((last.action.as_str(), last.summary["rule"].as_str()), ("user revoke", Some("finance")));

    // Including Bob again gives the role back.
    let include = Edit::AssignmentRule(RuleEdit { excluded_users: ListEdit { add: vec![], remove: vec!["BOB".into()] }, ..RuleEdit::default() });
    w.edit("finance", &include).await.expect("include");
    assert_eq!(made_by(&model(&w).await, "finance"), ["bob"]);

    // Deleting an excluded user takes them off the list in the same commit.
    w.revoke("bob", "DEVSQLQueryExecuteView").await.expect("revoke");
    w.remove(ObjectKind::User, "bob").await.expect("user goes");
    assert!(model(&w).await.assignment_rules["finance"].excluded_users.is_empty());
}

#[tokio::test]
async fn bad_rules_and_forged_provenance_are_refused_and_change_nothing() {
    let (_dir, w) = setup().await;
    w.add("finance", &rule_edit("DEVSQLQueryExecuteView", &["department=Finance"])).await.expect("rule");
    let before = w.store().revision().await.unwrap();

    let e = w.add("empty", &rule_edit("DEVSQLQueryExecuteView", &[])).await.expect_err("no condition");
    assert!(e.to_string().contains("has no condition"), "{e}");
    let e = w.add("x", &rule_edit("NoSuchRole", &["department=Finance"])).await.expect_err("unknown role");
    assert_eq!(e.to_string(), "unknown role 'NoSuchRole'");
    let e = w.add("x", &rule_edit("DEVSQLQueryExecuteView", &["department"])).await.expect_err("bad condition");
    assert!(e.to_string().contains("ATTRIBUTE=VALUE"), "{e}");
    let e = w.add("Finance", &rule_edit("DEVSQLQueryExecuteView", &["title=x"])).await.expect_err("duplicate");
    assert!(matches!(e, CoreError::AlreadyExists { .. }), "{e}");
    // The API cannot make an assignment look rule-made.
    let mut forged = Assignment::global("carol", "DEVSQLQueryExecute");
    forged.rule = Some("finance".into());
    let e = w.create(Object::Assignment(forged)).await.expect_err("forged rule");
    assert!(e.to_string().contains("set by Warden"), "{e}");
    // A role a rule gives cannot be deleted from under it.
    let e = w.delete(&ObjectRef::new(ObjectKind::Role, "DEVSQLQueryExecuteView"), None).await.expect_err("referenced");
    assert!(e.to_string().contains("assignment rule finance references role DEVSQLQueryExecuteView"), "{e}");
    // Attribute names that shadow a user field are refused.
    let edit = Edit::User(UserEdit { set_attributes: vec![("email".into(), "x".into())], ..UserEdit::default() });
    assert!(w.edit("carol", &edit).await.is_err());
    let mut user = User::new("dave");
    user.attributes.insert("bad name".into(), "x".into());
    assert!(w.create(Object::User(user)).await.is_err());
    // An entry point's name may not be empty even though its key `TYPE/` is not.
    let blank = warden_model::EntryPoint::referenced(&warden_model::EntryPointKey::new(warden_model::EntryPointType::MenuItemDisplay, ""));
    let e = w.create(Object::EntryPoint(blank)).await.expect_err("empty name");
    assert_eq!(e.to_string(), "the entry point id cannot be empty");

    assert_eq!(w.store().revision().await.unwrap(), before, "nothing was written");
}

#[tokio::test]
async fn roles_duties_and_privileges_are_built_and_edited_by_name() {
    let (_dir, w) = setup().await;
    let p = Edit::Privilege(PrivilegeEdit {
        allow: vec![("devsqlqueryexecute".into(), vec![Access::Read, Access::Update])],
        deny: vec![("DEVSQLQueryExecute".into(), vec![Access::Delete])],
        ..PrivilegeEdit::default()
    });
    w.add("SqlReadWrite", &p).await.expect("privilege");
    w.add("SqlDuty", &Edit::Duty(DutyEdit { privileges: ListEdit::adding(vec!["sqlreadwrite".into()]), ..DutyEdit::default() }))
        .await
        .expect("duty");
    let role = RoleEdit { label: Some("SQL operator".into()), duties: ListEdit::adding(vec!["SQLDUTY".into()]), ..RoleEdit::default() };
    w.add("SqlOperator", &Edit::Role(role)).await.expect("role");
    w.assign("carol", "SqlOperator", &[], None, None, warden_model::Timestamp::now()).await.expect("assign");
    let snap = w.snapshot().await.unwrap();
    let check = |access| {
        let req = warden_core::CheckRequest {
            user: "carol".into(),
            entry_point: "DEVSQLQueryExecute".into(),
            access,
            org: None,
            at: warden_model::Timestamp::now(),
            explain: false,
            part: None,
        };
        snap.check(&req).unwrap().decision.is_allowed()
    };
    assert!(check(Access::Update) && !check(Access::Delete));

    // Unknown names are refused with a suggestion, and nothing is written.
    let before = w.store().revision().await.unwrap();
    let e = w.edit("SqlOperator", &Edit::Role(RoleEdit { duties: ListEdit::adding(vec!["SqlDutty".into()]), ..RoleEdit::default() })).await;
    assert_eq!(e.expect_err("typo").to_string(), "unknown duty 'SqlDutty'; did you mean 'SqlDuty'?");
    let e = w.edit("SqlOperator", &Edit::Role(RoleEdit { duties: ListEdit { add: vec![], remove: vec!["Other".into()] }, ..RoleEdit::default() })).await;
    assert_eq!(e.expect_err("absent").to_string(), "role SqlOperator has no duty 'Other' (it has: SqlDuty)");
    assert_eq!(w.store().revision().await.unwrap(), before);

    // An edit that changes nothing writes nothing.
    let same = w.edit("SqlOperator", &Edit::Role(RoleEdit { label: Some("SQL operator".into()), ..RoleEdit::default() })).await.unwrap();
    assert_eq!(same.revision, before);
    assert_eq!(w.store().revision().await.unwrap(), before);

    // Unsetting the last access on an entry point drops the reference.
    let unset = PrivilegeEdit { unset: vec![("DEVSQLQueryExecute".into(), Access::ALL.to_vec())], ..PrivilegeEdit::default() };
    let out = w.edit("SqlReadWrite", &Edit::Privilege(unset)).await.unwrap();
    let Object::Privilege(p) = out.object else { panic!() };
    assert!(p.entry_points.is_empty());
    // A sub-role cycle is refused.
    w.add("Outer", &Edit::Role(RoleEdit { sub_roles: ListEdit::adding(vec!["SqlOperator".into()]), ..RoleEdit::default() })).await.unwrap();
    let cyc = Edit::Role(RoleEdit { sub_roles: ListEdit::adding(vec!["Outer".into()]), ..RoleEdit::default() });
    let e = w.edit("SqlOperator", &cyc).await.expect_err("cycle");
    assert!(e.to_string().contains("sub-role cycle"), "{e}");
}
