//! The built-in demo: a small, realistic dataset that makes every command
//! worth trying on a fresh install, compiled into the binary (see `demo/README.md`).
//!
//! - Security objects: the MIT-licensed xpptools AOT model (real D365 XML, with
//!   duty extensions), three objects written for the demo (a Deny privilege
//!   added by a role extension, a role made of sub-roles), and eight standard
//!   AX 2012 R3 roles with their duties (CC-BY 4.0).
//! - Five organizations, sixteen users (a disabled one, two service accounts)
//!   and assignments that are global, organization-scoped, expired, future
//!   and temporary. Windows are relative to the day the demo is loaded, so that
//!   "expired" and "starts next week" stay true whenever it is run.

use crate::error::CoreError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use warden_model::{Assignment, AssignmentRule, Condition, ConditionOp, Severity, SodRule, SodSide, Duty, EntryPoint, EntryPointKey, Model, ObjectKind, Organization, Privilege, Role, Timestamp, User, UserKind};

include!(concat!(env!("OUT_DIR"), "/demo_files.rs"));

const AX2012_JSON: &str = include_str!("../demo/ax2012/ax2012-demo-roles.json");

/// Attribution for the demo's third-party data, for `warden demo` to print.
pub const ATTRIBUTION: &str = "Demo data: xpptools AOT model © 2019 Denis Trunin (MIT licence); \
Dynamics AX 2012 R3 role reference © Microsoft (CC-BY 4.0). See crates/warden-core/demo/.";

/// The demo's users, as `(id, name, service account, enabled, department, title)`.
const USERS: &[(&str, &str, bool, bool, &str, &str)] = &[
    ("adam", "Adam Carter", false, true, "IT", "Database developer"),
    ("bella", "Bella Rossi", false, true, "Finance", "Accounts payable specialist"),
    ("carlos", "Carlos Mendes", false, true, "IT", "Support analyst"),
    ("dana", "Dana Whitfield", false, true, "IT", "Integration developer"),
    ("erik", "Erik Larsen", false, true, "IT", "Data migration consultant"),
    ("fatima", "Fatima Khan", false, true, "IT", "Contract developer"),
    ("george", "George Ito", false, true, "IT", "Developer"),
    ("hanna", "Hanna Schmidt", false, false, "IT", "Developer"),
    ("ivan", "Ivan Petrov", false, true, "Finance", "Accountant"),
    ("julia", "Julia Novak", false, true, "Finance", "Accounts payable clerk"),
    ("kenji", "Kenji Sato", false, true, "IT", "Security administrator"),
    ("lena", "Lena Berg", false, true, "Finance", "Chief financial officer"),
    ("mike", "Mike Olsen", false, true, "IT", "IT manager"),
    ("nora", "Nora Quinn", false, true, "IT", "Developer"),
    ("svc-integration", "Integration service", true, true, "", ""),
    ("svc-docimport", "Document import batch", true, true, "", ""),
];

/// The demo's assignment rule: accounts payable staff in Finance get the
/// clerk role in USMF (Julia's manual assignment of that role stands instead).
fn ap_clerk_rule() -> AssignmentRule {
    AssignmentRule {
        name: "FinanceAccountsPayable".into(),
        role: "VendInvoiceAccountsPayableClerk".into(),
        description: Some("Accounts payable staff in Finance process vendor invoices in USMF".into()),
        conditions: vec![
            Condition { attribute: "department".into(), op: ConditionOp::Equals, values: vec!["Finance".into()] },
            Condition { attribute: "title".into(), op: ConditionOp::Contains, values: vec!["payable".into()] },
        ],
        organizations: vec!["USMF".into()],
        excluded_users: Vec::new(),
        enabled: true,
    }
}

const ORGANIZATIONS: &[(&str, &str)] = &[
    ("USMF", "Contoso Entertainment System USA"),
    ("DEMF", "Contoso Entertainment System Germany"),
    ("GBSI", "Contoso Entertainment System UK"),
    ("FRRT", "Contoso Retail France"),
    ("JPMF", "Contoso Entertainment System Japan"),
];

/// When an assignment is in effect, relative to the day the demo is loaded.
#[derive(Clone, Copy)]
enum Window {
    Always,
    /// Ended a week ago, after seven weeks.
    Expired,
    /// Starts in a week, open-ended.
    Future,
    /// Started two days ago, ends in twelve days.
    Temporary,
}

/// `(user, role, organizations, window)`; every user also gets `SystemUser`, as in D365.
const ASSIGNMENTS: &[(&str, &str, &[&str], Window)] = &[
    ("adam", "DEVSQLQueryExecute", &[], Window::Always),
    ("bella", "DEVSQLQueryExecuteView", &[], Window::Always),
    ("carlos", "DEVSQLQueryExecute", &[], Window::Always),
    ("carlos", "DEVSQLQueryExecuteView", &[], Window::Always),
    ("dana", "DEVIntegDeveloperRole", &["USMF"], Window::Always),
    ("erik", "DEVIntegDeveloperRole", &["DEMF"], Window::Always),
    ("erik", "DEVDMFToolsMaintain", &[], Window::Always),
    ("fatima", "WDNDeveloperToolsAdministrator", &[], Window::Expired),
    ("george", "DEVCustomScriptMaintain", &[], Window::Future),
    ("hanna", "WDNDeveloperToolsAdministrator", &[], Window::Always),
    ("ivan", "LedgerAccountant", &["DEMF", "USMF"], Window::Always),
    ("julia", "VendInvoiceAccountsPayableClerk", &["GBSI"], Window::Always),
    ("julia", "VendInvoiceAccountsPayableManager", &["USMF"], Window::Temporary),
    ("kenji", "SysSecSecurityAdministrator", &[], Window::Always),
    ("kenji", "SystemAdministrator", &[], Window::Always),
    ("lena", "CompanyChiefFinancialOfficer", &[], Window::Always),
    ("lena", "PaymTreasurer", &["DEMF"], Window::Always),
    ("mike", "SysServerITManager", &[], Window::Always),
    ("mike", "SystemAdministrator", &[], Window::Always),
    ("nora", "WDNDeveloperToolsAdministrator", &["USMF"], Window::Temporary),
    ("svc-integration", "DEVIntegDeveloperRole", &[], Window::Always),
    ("svc-docimport", "DEVDocuExpImpJournalMaintain", &["FRRT", "USMF"], Window::Always),
];

/// The demo's segregation-of-duties rules: two classic finance pairs from the
/// AX 2012 duties, and one over an entry point (running SQL against the
/// database) that no duty name gives away.
fn sod_rules() -> Vec<SodRule> {
    let duty = |d: &str| SodSide::Duty { duty: d.to_string() };
    let rule = |name: &str, first, second, severity, risk: &str, mitigation: &str| SodRule {
        name: name.into(),
        first,
        second,
        severity,
        risk: Some(risk.into()),
        mitigation: Some(mitigation.into()),
        valid_from: None,
        valid_to: None,
        enabled: true,
    };
    vec![
        rule(
            "ApproveVendorPaymentsVsMaintainBankAccounts",
            duty("PaymVendorPaymentTransactionsApprove"),
            duty("BankBankAccountsMaintain"),
            Severity::Critical,
            "one person could redirect a bank account and approve the payment to it",
            "monthly review of bank account changes by the controller",
        ),
        rule(
            "ApproveRequisitionsVsMaintainVendorInvoices",
            duty("PurchReqPurchaseRequisitionApprove"),
            duty("PurchComplementaryInvoiceMaintain"),
            Severity::High,
            "one person could approve a purchase and enter the invoice that pays for it",
            "invoice matching against receipts",
        ),
        rule(
            "SecurityAdministrationVsSqlExecution",
            duty("SysSecSecurityMaintain"),
            SodSide::EntryPoint {
                entry_point: EntryPointKey::new(warden_model::EntryPointType::MenuItemDisplay, "DEVSQLQueryExecute"),
                access: warden_model::Access::Update,
            },
            Severity::Critical,
            "a security administrator who can run SQL can change the security tables behind the audit trail",
            "database audit log reviewed weekly",
        ),
    ]
}

/// Commands worth running on the demo, as `(what it shows, arguments)`.
pub const TRY: &[(&str, &str)] = &[
    ("what Carlos may do, and through which roles", "user show carlos"),
    ("allowed: Adam may change the SQL Execute form", "check --user adam --entry-point DEVSQLQueryExecute --access update"),
    (
        "denied, and why: Carlos also holds a read-only role whose Deny wins",
        "check --user carlos --entry-point DEVSQLQueryExecute --access update --explain",
    ),
    ("organization scope: Dana may delete messages in USMF", "check --user dana --entry-point DEVIntegMessageTable --access delete --org USMF"),
    ("... but not in DEMF", "check --user dana --entry-point DEVIntegMessageTable --access delete --org DEMF --explain"),
    ("time-bound: Fatima's temporary access has expired", "check --user fatima --entry-point DEVSysTableBrowser --access update --explain"),
    ("a duty extension at work", "check --user mike --entry-point DEVDevRecordInfo --access read --explain"),
    ("a role built from sub-roles", "role show WDNDeveloperToolsAdministrator"),
    (
        "segregation of duties: refused, naming the rule",
        "user assign kenji DEVSQLQueryExecute",
    ),
    (
        "... allowed with a reason, recorded in the conflicts register",
        "user assign kenji DEVSQLQueryExecute --override-reason \"cover for Adam during the upgrade\"",
    ),
    ("the register", "sod conflicts"),
    ("a rule-made role: Bella is in accounts payable", "assignment-rule show FinanceAccountsPayable"),
    ("all roles, with their duties, privileges and users", "role list"),
    (
        "a temporary role session requested by kenji (mike approves: `--actor mike session temp approve TRS-000001`)",
        "--actor kenji session temp new --user bella --role DEVIntegDeveloperRole --type merge --start now --end +1h",
    ),
];

#[derive(Deserialize)]
struct Ax2012 {
    roles: Vec<AxRole>,
    duties: Vec<AxDuty>,
    privileges: Vec<AxPrivilege>,
}

#[derive(Deserialize)]
struct AxRole {
    name: String,
    label: String,
    description: String,
    duties: Vec<String>,
    privileges: Vec<String>,
}

#[derive(Deserialize)]
struct AxDuty {
    name: String,
    label: String,
    description: String,
}

#[derive(Deserialize)]
struct AxPrivilege {
    name: String,
    label: String,
}

/// The model name given to the AX 2012 reference objects.
const AX2012_MODEL: &str = "AX2012R3Reference";

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn demo_error(what: impl std::fmt::Display) -> CoreError {
    CoreError::InvalidInput(format!("the built-in demo data is broken (a bug in this build): {what}"))
}

/// Parses the embedded AOT files. The model name of each object is the folder
/// above its type folder, as `warden import aot` reads it from disk.
fn read_aot() -> Result<Model, CoreError> {
    let mut model = Model::default();
    for (rel, bytes) in DEMO_AOT_FILES {
        if !rel.ends_with(".xml") {
            continue; // LICENSE, SOURCE_COMMIT
        }
        let parts: Vec<&str> = rel.split('/').collect();
        let model_name = parts.len().checked_sub(3).and_then(|i| parts.get(i)).copied();
        let object = warden_aot::parse_object(Path::new(rel), model_name, bytes).map_err(demo_error)?;
        model.put(object.into());
    }
    // Grants on service operations and data entities name entry points no file
    // defines; like an import from disk, keep them as references so they can be checked.
    let referenced: Vec<EntryPointKey> = model
        .privileges
        .values()
        .flat_map(|p| p.entry_points.iter().map(|g| g.key()))
        .filter(|k| !model.entry_points.contains_key(k))
        .collect();
    for key in referenced {
        model.entry_points.insert(key.clone(), EntryPoint::referenced(&key));
    }
    Ok(model)
}

fn add_ax2012(model: &mut Model) -> Result<(), CoreError> {
    let data: Ax2012 = serde_json::from_str(AX2012_JSON).map_err(demo_error)?;
    let model_name = || Some(AX2012_MODEL.to_string());
    for d in data.duties {
        let duty = Duty {
            name: d.name,
            label: non_empty(d.label),
            description: non_empty(d.description),
            model: model_name(),
            privileges: Vec::new(),
            unmodelled: Vec::new(),
        };
        model.duties.entry(duty.name.clone()).or_insert(duty);
    }
    for p in data.privileges {
        let privilege = Privilege {
            name: p.name,
            label: non_empty(p.label),
            description: None,
            model: model_name(),
            entry_points: Vec::new(),
            direct_access: Vec::new(),
            unmodelled: Vec::new(),
        };
        model.privileges.entry(privilege.name.clone()).or_insert(privilege);
    }
    for r in data.roles {
        let role = Role {
            name: r.name,
            label: non_empty(r.label),
            description: non_empty(r.description),
            model: model_name(),
            duties: r.duties,
            privileges: r.privileges,
            sub_roles: Vec::new(),
            unmodelled: Vec::new(),
        };
        model.roles.insert(role.name.clone(), role);
    }
    Ok(())
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The complete demo model, with validity windows relative to `now`.
pub fn model(now: Timestamp) -> Result<Model, CoreError> {
    let mut model = read_aot()?;
    add_ax2012(&mut model)?;
    // Warden's own roles, so that the demo's administrators (kenji, mike) can run sessions from the command line.
    for o in crate::builtin::objects(&model) {
        model.put(o);
    }
    for (id, name) in ORGANIZATIONS {
        model.organizations.insert(id.to_string(), Organization { id: id.to_string(), name: Some(name.to_string()) });
    }
    for (id, name, service, enabled, department, title) in USERS {
        let email = if *service { None } else { Some(format!("{id}@contoso.com")) };
        let kind = if *service { UserKind::ServiceAccount } else { UserKind::Person };
        let mut attributes = BTreeMap::new();
        for (k, v) in [("department", department), ("title", title)].into_iter().filter(|(_, v)| !v.is_empty()) {
            attributes.insert(k.to_string(), v.to_string());
        }
        let user = User { id: id.to_string(), name: Some(name.to_string()), kind, enabled: *enabled, email, attributes };
        model.users.insert(id.to_string(), user);
    }
    let today = Timestamp(now.0.div_euclid(DAY_MS) * DAY_MS);
    let days = |n: i64| Some(Timestamp(today.0 + n * DAY_MS));
    for (user, role, orgs, window) in ASSIGNMENTS {
        let (valid_from, valid_to) = match window {
            Window::Always => (None, None),
            Window::Expired => (days(-56), days(-7)),
            Window::Future => (days(7), None),
            Window::Temporary => (days(-2), days(12)),
        };
        let organizations = orgs.iter().map(|o| o.to_string()).collect();
        model.assignments.push(Assignment { user: user.to_string(), role: role.to_string(), organizations, valid_from, valid_to, rule: None });
    }
    for (id, ..) in USERS {
        model.assignments.push(Assignment::global(*id, "SystemUser"));
    }
    let rule = ap_clerk_rule();
    model.assignment_rules.insert(rule.name.clone(), rule);
    for rule in sod_rules() {
        model.sod_rules.insert(rule.name.clone(), rule);
    }
    for change in crate::rules::sync(&model) {
        if let warden_store::Change::Put(object) = change {
            model.put(object);
        }
    }
    let errors = model.validate_strict_errors();
    if let Some(e) = errors.first() {
        return Err(demo_error(e));
    }
    Ok(model)
}

/// Whether `model` holds the demo: its users and its own role are there.
pub fn is_loaded(model: &Model) -> bool {
    model.roles.contains_key("WDNDeveloperToolsAdministrator") && USERS.iter().all(|(id, ..)| model.users.contains_key(*id))
}

/// Objects per kind, by kind code (`role`, `user`, ...), leaving out empty kinds.
pub fn counts(model: &Model) -> BTreeMap<String, usize> {
    warden_model::ObjectKind::ALL
        .into_iter()
        .map(|kind| (kind.code().to_string(), model.count_of(kind)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// "3 roles, 2 users, ..." for messages about what a store holds.
pub fn describe(model: &Model) -> String {
    let counts = counts(model);
    let parts: Vec<String> = ObjectKind::ALL
        .iter()
        .filter_map(|k| counts.get(k.code()).map(|n| format!("{n} {}{}", k.as_str(), if *n == 1 { "" } else { "s" })))
        .collect();
    if parts.is_empty() { "nothing".to_string() } else { parts.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_model::{Access, EntryPointKey, EntryPointType};

    fn check(m: &Model, user: &str, ep: &str, access: Access, org: Option<&str>, at: Timestamp) -> bool {
        let key = EntryPointKey::new(EntryPointType::MenuItemDisplay, ep);
        warden_engine::reference::check(m, user, &key, access, org, at).is_allowed()
    }

    #[test]
    fn the_demo_is_valid_and_tells_its_stories() {
        let now = Timestamp::parse("2026-03-10T12:00:00Z").expect("valid time");
        let m = model(now).expect("demo builds");
        assert!(is_loaded(&m));
        assert_eq!(m.roles.len(), 20, "{} roles (16 demo roles and Warden's own 4)", m.roles.len());
        assert!(check(&m, "adam", "DEVSQLQueryExecute", Access::Update, None, now));
        assert!(check(&m, "bella", "DEVSQLQueryExecute", Access::Read, None, now));
        assert!(!check(&m, "bella", "DEVSQLQueryExecute", Access::Update, None, now));
        assert!(!check(&m, "carlos", "DEVSQLQueryExecute", Access::Update, None, now), "Deny wins");
        assert!(check(&m, "dana", "DEVIntegMessageTable", Access::Delete, Some("USMF"), now));
        assert!(!check(&m, "dana", "DEVIntegMessageTable", Access::Delete, Some("DEMF"), now));
        assert!(!check(&m, "dana", "DEVIntegMessageTable", Access::Delete, None, now));
        assert!(!check(&m, "fatima", "DEVSysTableBrowser", Access::Update, None, now), "expired");
        let in_the_window = Timestamp(now.0 - 30 * DAY_MS);
        assert!(check(&m, "fatima", "DEVSysTableBrowser", Access::Update, None, in_the_window));
        assert!(!check(&m, "george", "DEVCustomScriptPackageTable", Access::Read, None, now), "future");
        assert!(!check(&m, "hanna", "DEVSQLQueryExecute", Access::Read, None, now), "disabled");
        assert!(check(&m, "mike", "DEVDevRecordInfo", Access::Read, None, now), "via duty extension");
        assert!(check(&m, "kenji", "DEVCustomFeatures", Access::Read, None, now), "SystemUser via duty extension");
        assert!(check(&m, "nora", "DEVSQLQueryExecute", Access::Update, Some("USMF"), now), "temporary, active");
        let bella: Vec<_> = m.assignments_of("bella").iter().filter(|a| a.rule.is_some()).collect();
        assert_eq!(bella.len(), 1, "the rule gives Bella the clerk role");
        assert_eq!((bella[0].role.as_str(), bella[0].organizations.as_slice()), ("VendInvoiceAccountsPayableClerk", &["USMF".to_string()][..]));
        assert!(m.assignments_of("julia").iter().all(|a| a.rule.is_none()), "Julia's manual assignment stands");
        let sod = warden_engine::SodIndex::build(&m);
        assert_eq!(sod.verify(&m, now), vec![], "the demo starts without SoD conflicts");
        assert_eq!(sod.roles_violating(now), vec![], "and without roles that break a rule by themselves");
        let mut kenji = m.clone();
        kenji.put(warden_model::Object::Assignment(Assignment::global("kenji", "DEVSQLQueryExecute")));
        let found = sod.user_conflicts(&kenji, "kenji", now);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "SecurityAdministrationVsSqlExecution");
    }
}
