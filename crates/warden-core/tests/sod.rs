//! Segregation of duties through the services, on the demo data and a real
//! (SQLite) store: preventive checks name the rule, overrides go into the
//! register and the audit trail in the same commit, and every other new
//! conflict waits as unresolved.

use tempfile::TempDir;
use warden_core::{CoreError, Edit, ListEdit, Resolution, RoleEdit, RuleEdit, Warden};
use warden_model::{ConflictStatus, Model, ObjectKind, Severity, SodRule, SodSide, Timestamp};
use warden_store::AuditFilter;

const RULE: &str = "SecurityAdministrationVsSqlExecution";

async fn demo() -> (TempDir, Warden) {
    let dir = TempDir::new().expect("temp dir");
    let store = warden_store::open(None, dir.path()).await.expect("store opens");
    let w = Warden::new(store, "admin1");
    w.load_demo(false, Timestamp::now()).await.expect("demo loads");
    (dir, w)
}

async fn model(w: &Warden) -> Model {
    w.store().load().await.expect("load").0
}

async fn last_event(w: &Warden) -> warden_store::AuditEvent {
    w.store().audit_events(&AuditFilter::default()).await.expect("audit").pop().expect("an event")
}

#[tokio::test]
async fn a_conflicting_assignment_is_refused_naming_the_rule_until_overridden_with_a_reason() {
    let (_dir, w) = demo().await;
    let now = Timestamp::now();
    let before = w.store().revision().await.unwrap();
    let e = w.assign("kenji", "DEVSQLQueryExecute", &[], None, None, now).await.expect_err("conflict");
    let text = e.to_string();
    assert!(matches!(e, CoreError::SodConflicts(_)), "{text}");
    assert!(text.contains(&format!("user 'kenji' would break segregation-of-duties rule '{RULE}' (critical severity)")), "{text}");
    assert!(text.contains("roles DEVSQLQueryExecute and SysSecSecurityAdministrator give both duty SysSecSecurityMaintain and Update on MenuItemDisplay/DEVSQLQueryExecute everywhere"), "{text}");
    assert!(text.contains("--override-reason"), "{text}");
    assert_eq!(w.store().revision().await.unwrap(), before, "nothing written");

    let e = w.assign_with_override("kenji", "DEVSQLQueryExecute", &[], None, None, now, Some("  ")).await.expect_err("empty reason");
    assert!(e.to_string().contains("--override-reason is empty"), "{e}");

    w.assign_with_override("kenji", "DEVSQLQueryExecute", &[], None, None, now, Some("cover for Adam during the upgrade")).await.expect("override");
    let m = model(&w).await;
    let record = &m.sod_conflicts[&format!("kenji/{RULE}")];
    assert_eq!(record.status, ConflictStatus::Allowed);
    assert_eq!(record.reason.as_deref(), Some("cover for Adam during the upgrade"));
    assert_eq!(record.decided_by.as_deref(), Some("admin1"));
    assert_eq!(record.roles, ["DEVSQLQueryExecute", "SysSecSecurityAdministrator"]);
    let event = last_event(&w).await;
    assert_eq!(event.action, "user assign");
    assert_eq!(event.summary["sod"]["allowed_with_override"], serde_json::json!([format!("kenji/{RULE}")]));
    let with_changes = AuditFilter { include_changes: true, after_seq: Some(event.seq - 1), ..AuditFilter::default() };
    let event = w.store().audit_events(&with_changes).await.unwrap().pop().unwrap();
    assert!(event.changes.iter().any(|c| c.object.kind == ObjectKind::SodConflict), "the register entry is in the same audited commit");

    // Revoking the role ends the conflict; the register entry leaves with it (the trail keeps it).
    w.revoke("kenji", "DEVSQLQueryExecute").await.expect("revoke");
    assert!(model(&w).await.sod_conflicts.is_empty());
    assert_eq!(last_event(&w).await.summary["sod"]["no_longer_conflicting"], serde_json::json!([format!("kenji/{RULE}")]));
}

#[tokio::test]
async fn a_role_edit_that_would_hold_both_sides_is_refused() {
    let (_dir, w) = demo().await;
    let before = w.store().revision().await.unwrap();
    let edit = Edit::Role(RoleEdit { sub_roles: ListEdit::adding(vec!["SysSecSecurityAdministrator".into()]), ..RoleEdit::default() });
    let e = w.edit("DEVSQLQueryExecute", &edit).await.expect_err("violation");
    assert!(matches!(e, CoreError::SodRoles(_)), "{e}");
    assert!(
        e.to_string().contains(&format!("role 'DEVSQLQueryExecute' would hold both sides of segregation-of-duties rule '{RULE}'")),
        "{e}"
    );
    // Roles holding DEVSQLQueryExecute as a sub-role are caught too.
    let e = w.edit("SysSecSecurityAdministrator", &Edit::Role(RoleEdit { sub_roles: ListEdit::adding(vec!["WDNDeveloperToolsAdministrator".into()]), ..RoleEdit::default() })).await;
    assert!(matches!(e, Err(CoreError::SodRoles(_))), "{e:?}");
    assert_eq!(w.store().revision().await.unwrap(), before);

    // A new rule does not check existing roles by itself; validate and the roles report do.
    let rule = SodRule {
        name: "IntegrationAdminVsMessageDelete".into(),
        first: SodSide::Duty { duty: "DEVIntegIntegrationAdminBase".into() },
        second: SodSide::EntryPoint { entry_point: "MenuItemDisplay/DEVIntegMessageTable".parse().unwrap(), access: warden_model::Access::Delete },
        severity: Severity::Low,
        risk: None,
        mitigation: None,
        valid_from: None,
        valid_to: None,
        enabled: true,
    };
    w.add_sod_rule(rule).await.expect("rule added although roles violate it");
    let (_, roles) = w.sod_validate("integrationadminvsmessagedelete", Timestamp::now()).await.expect("validate");
    assert_eq!(roles, ["DEVIntegDeveloperRole"]);
    let report = w.sod_roles(Timestamp::now()).await.expect("roles");
    assert!(report.iter().any(|r| r.role == "DEVIntegDeveloperRole" && r.rules == ["IntegrationAdminVsMessageDelete"]), "{report:?}");
    // Dana and Erik hold that role: their conflicts were recorded as unresolved when the rule came.
    let m = model(&w).await;
    let mut recorded: Vec<&str> = m.sod_conflicts.values().map(|c| c.user.as_str()).collect();
    recorded.sort();
    assert_eq!(recorded, ["dana", "erik", "svc-integration"]);
}

#[tokio::test]
async fn rule_made_conflicts_wait_unresolved_and_deny_excludes_the_user() {
    let (_dir, w) = demo().await;
    // An assignment rule that gives IT database developers security administration.
    let rule = Edit::AssignmentRule(RuleEdit {
        role: Some("SysSecSecurityAdministrator".into()),
        conditions: ListEdit::adding(vec!["department=IT".into(), "title=Database developer".into()]),
        ..RuleEdit::default()
    });
    w.add("DbaSecurity", &rule).await.expect("a rule-made conflict is not refused");
    let m = model(&w).await;
    let record = &m.sod_conflicts[&format!("adam/{RULE}")];
    assert_eq!((record.status, record.source.as_str()), (ConflictStatus::Unresolved, "assignment rule"));
    assert_eq!(last_event(&w).await.summary["sod"]["unresolved"], serde_json::json!([format!("adam/{RULE}")]));

    let e = w.sod_resolve(&format!("adam/{RULE}"), Resolution::Allow { reason: " ".into() }, Timestamp::now()).await;
    assert!(e.is_err(), "a reason is required");
    w.sod_resolve(&format!("ADAM/{RULE}"), Resolution::Deny, Timestamp::now()).await.expect("deny");
    let m = model(&w).await;
    assert_eq!(m.assignment_rules["DbaSecurity"].excluded_users, ["adam"]);
    assert!(m.assignments_of("adam").iter().all(|a| a.role != "SysSecSecurityAdministrator"));
    assert!(m.sod_conflicts.is_empty(), "the conflict is gone with the role");
    assert_eq!(last_event(&w).await.action, "sod conflict deny");
}

#[tokio::test]
async fn rule_changes_are_monitored_and_verify_catches_what_bypassed_the_services() {
    let (_dir, w) = demo().await;
    let now = Timestamp::now();
    let name = "ApproveRequisitionsVsMaintainVendorInvoices";
    let m = model(&w).await;
    let rule = m.sod_rules[name].clone();
    // With the rule off, Julia (accounts payable clerk in GBSI) also becomes manager there.
    w.replace(warden_model::Object::SodRule(SodRule { enabled: false, ..rule.clone() }), None).await.expect("disable");
    w.assign("julia", "VendInvoiceAccountsPayableManager", &["GBSI".into()], None, None, now).await.expect("no rule in force");
    assert!(model(&w).await.sod_conflicts.is_empty());
    // Turning it back on re-checks users in the same commit: the conflict waits as unresolved.
    w.replace(warden_model::Object::SodRule(rule), None).await.expect("enable");
    let m = model(&w).await;
    let record = &m.sod_conflicts[&format!("julia/{name}")];
    assert_eq!((record.status, record.source.as_str()), (ConflictStatus::Unresolved, "change"));
    assert_eq!(record.organizations, ["GBSI"]);
    let out = w.sod_verify(now).await.expect("verify");
    assert_eq!((out.conflicts, out.new_unresolved.len()), (1, 0), "already recorded");
    assert_eq!(last_event(&w).await.action, "sod verify", "a verification is audited even when it finds nothing new");

    // A write straight into the store (not through the services) is caught by verify.
    let mut c = warden_store::Commit::new("intruder", "raw write");
    c.changes = vec![warden_store::Change::Put(warden_model::Object::Assignment(warden_model::Assignment::global("kenji", "DEVSQLQueryExecute")))];
    w.store().commit(c).await.expect("raw commit");
    let out = w.sod_verify(now).await.expect("verify");
    assert_eq!(out.new_unresolved, [format!("kenji/{RULE}")]);

    w.sod_resolve(&format!("julia/{name}"), Resolution::Allow { reason: "small office".into() }, now).await.expect("allow");
    let record = &model(&w).await.sod_conflicts[&format!("julia/{name}")];
    assert_eq!((record.status, record.reason.as_deref(), record.decided_by.as_deref()), (ConflictStatus::Allowed, Some("small office"), Some("admin1")));
    let out = w.sod_verify(now).await.expect("verify");
    assert!(out.new_unresolved.is_empty() && out.no_longer_conflicting.is_empty(), "a decided conflict is left alone");
    let _ = ObjectKind::SodConflict;
}

#[tokio::test]
async fn similar_duties_are_warned_about_or_refused_per_the_settings() {
    let (_dir, w) = demo().await;
    let m = model(&w).await;
    let privileges = m.duties["DEVIntegIntegrationAdminBase"].privileges.clone();
    assert!(privileges.len() > 4);
    let copy = |n: usize| Edit::Duty(warden_core::DutyEdit { privileges: ListEdit::adding(privileges[..n].to_vec()), ..Default::default() });
    // Off by default: nothing said.
    assert!(w.add("CopyA", &copy(privileges.len())).await.unwrap().warnings.is_empty());
    w.set_sod_settings(warden_model::SodSettings { check_similarity: true, similarity_level: 80, refuse_similar: false }).await.unwrap();
    let out = w.add("CopyB", &copy(privileges.len())).await.unwrap();
    assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    assert!(out.warnings[0].starts_with("CopyB and "), "{:?}", out.warnings);
    assert!(out.warnings[0].contains("100% of their privileges in common"), "{:?}", out.warnings);
    let event = last_event(&w).await;
    assert_eq!(event.summary["similar"].as_array().map(Vec::len), Some(2), "the audit event records them");
    // Below the level: no warning.
    let half = privileges.len() / 2;
    assert!(w.add("Half", &copy(half)).await.unwrap().warnings.iter().all(|x| !x.contains("DEVIntegIntegrationAdminBase")));
    w.set_sod_settings(warden_model::SodSettings { check_similarity: true, similarity_level: 80, refuse_similar: true }).await.unwrap();
    let before = w.store().revision().await.unwrap();
    let e = w.add("CopyC", &copy(privileges.len())).await.expect_err("refused");
    assert!(matches!(e, CoreError::Similar { .. }), "{e}");
    assert!(e.to_string().contains("CopyC and DEVIntegIntegrationAdminBase have 100%"), "{e}");
    assert_eq!(w.store().revision().await.unwrap(), before);
    let (level, pairs) = w.similarity_report(None).await.unwrap();
    assert_eq!(level, 80);
    assert!(pairs.iter().any(|p| p.first == "CopyA" && p.second == "CopyB" && p.percent == 100), "{pairs:?}");
    assert!(w.set_sod_settings(warden_model::SodSettings { check_similarity: true, similarity_level: 0, refuse_similar: true }).await.is_err());
}

#[tokio::test]
async fn a_role_edit_re_checks_the_holders_of_that_role_and_records_what_it_causes() {
    let (_dir, w) = demo().await;
    // Everyone holds SystemUser; giving it SQL execution breaks the rule for the one security administrator.
    let edit = Edit::Role(RoleEdit { privileges: ListEdit::adding(vec!["DEVSQLQueryExecuteMaintain".into()]), ..RoleEdit::default() });
    w.edit("SystemUser", &edit).await.expect("the role itself breaks no rule");
    let m = model(&w).await;
    let keys: Vec<&String> = m.sod_conflicts.keys().collect();
    assert_eq!(keys, [&format!("kenji/{RULE}")]);
    assert_eq!(m.sod_conflicts[&format!("kenji/{RULE}")].source, "change");
    // Taking it back clears the record in the same commit.
    let undo = Edit::Role(RoleEdit { privileges: ListEdit { add: vec![], remove: vec!["DEVSQLQueryExecuteMaintain".into()] }, ..RoleEdit::default() });
    w.edit("SystemUser", &undo).await.expect("undo");
    assert!(model(&w).await.sod_conflicts.is_empty());
}
