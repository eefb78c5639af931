//! Every engine must decide exactly as Warden does (and Warden as the reference):
//! a peer that is fast because it answers a different question is worth nothing.
//! No timing is asserted here; timings are for the release binary.

use std::time::Duration;
use warden_bench::run::{run, run_on, Config, EngineKind, Report};
use warden_gen::{Request, Scale};
use warden_model::{
    Access, Assignment, Duty, EntryPoint, EntryPointGrant, EntryPointKey, EntryPointType, Grant, Model,
    Organization, Privilege, Role, Timestamp, User,
};

fn all_engines(checks: usize) -> Config {
    let mut config = Config::new(Scale::Small);
    config.checks = checks;
    config.agreement_sample = checks;
    config.cedar_checks = checks;
    config.casbin_sample = checks.min(300);
    config.budget = Duration::from_secs(600);
    config.engines = EngineKind::ALL.to_vec();
    config
}

fn assert_full_agreement(report: &Report, expect_errors: bool) {
    assert_eq!(report.engines.len(), EngineKind::ALL.len());
    for e in &report.engines {
        assert!(e.sampled > 0, "{}: nothing compared", e.kind);
        assert!(!e.cut_by_budget, "{}: cut by the time budget", e.kind);
        assert_eq!(
            e.agreement,
            1.0,
            "{} disagrees with its yardstick on {} of {} requests; first: {:#?}",
            e.kind,
            e.disagreed,
            e.sampled,
            e.disagreements.first()
        );
        if !expect_errors {
            assert_eq!(e.errors, 0, "{}: checks failed inside the engine", e.kind);
        }
    }
}

#[test]
fn every_engine_agrees_on_the_small_generated_model() {
    let report = run(&all_engines(3_000)).expect("the benchmark runs");
    assert_full_agreement(&report, false);
    assert!((0.25..0.65).contains(&report.allowed_share), "allowed share {}", report.allowed_share);
}

// A hand-made model with every corner the generated one may hit rarely: deny
// through a sub-role, a role reached twice, scoped and global assignments of one
// user, window edges, a disabled user, unknown users, entry points and organizations.

const T1: i64 = 1_767_225_600_000;
const T2: i64 = T1 + 86_400_000;

fn grant(kind: EntryPointType, object: &str, child: Option<&str>, allow: &[Access], deny: &[Access]) -> EntryPointGrant {
    let mut g = Grant::default();
    for a in allow {
        g.allow.insert(*a);
    }
    for a in deny {
        g.set(*a, Some(warden_model::Permission::Deny));
    }
    let name = match child {
        Some(c) => format!("{object}.{c}"),
        None => object.to_string(),
    };
    EntryPointGrant { name, kind, object: object.to_string(), child: child.map(str::to_string), grant: g, unmodelled: Vec::new() }
}

fn privilege(name: &str, grants: Vec<EntryPointGrant>) -> Privilege {
    Privilege { name: name.into(), label: None, description: None, model: None, entry_points: grants, direct_access: Vec::new(), unmodelled: Vec::new() }
}

fn role(name: &str, duties: &[&str], privileges: &[&str], subs: &[&str]) -> Role {
    let mut r = Role::new(name);
    r.duties = duties.iter().map(|s| s.to_string()).collect();
    r.privileges = privileges.iter().map(|s| s.to_string()).collect();
    r.sub_roles = subs.iter().map(|s| s.to_string()).collect();
    r
}

fn assignment(user: &str, role: &str, orgs: &[&str], from: Option<i64>, to: Option<i64>) -> Assignment {
    let mut a = Assignment::global(user, role);
    a.organizations = orgs.iter().map(|s| s.to_string()).collect();
    a.valid_from = from.map(Timestamp);
    a.valid_to = to.map(Timestamp);
    a
}

fn corner_model() -> Model {
    use Access::*;
    use EntryPointType::*;
    let mut m = Model::default();
    for (kind, name) in
        [(MenuItemDisplay, "CustTable"), (MenuItemAction, "CustTable"), (ServiceOperation, "CustService.read"), (DataEntity, "CustEntity")]
    {
        let key = EntryPointKey::new(kind, name);
        m.entry_points.insert(key.clone(), EntryPoint::referenced(&key));
    }
    let privileges = [
        privilege("CustView", vec![grant(MenuItemDisplay, "CustTable", None, &[Read], &[])]),
        privilege("CustMaintain", vec![grant(MenuItemDisplay, "CustTable", None, &[Read, Update, Create], &[])]),
        privilege("CustNoDelete", vec![grant(MenuItemDisplay, "CustTable", None, &[Read], &[Delete, Update])]),
        privilege("CustFull", vec![grant(MenuItemDisplay, "CustTable", None, &Access::ALL, &[])]),
        privilege("CustPost", vec![grant(MenuItemAction, "CustTable", None, &[Invoke], &[Read])]),
        privilege(
            "CustIntegrate",
            vec![grant(ServiceOperation, "CustService", Some("read"), &[Invoke], &[]), grant(DataEntity, "CustEntity", None, &[Read, Create], &[])],
        ),
        // A grant on an entry point the model does not define: still checkable by name.
        privilege("CustGhost", vec![grant(MenuItemOutput, "CustGhostReport", None, &[Read], &[])]),
    ];
    for p in privileges {
        m.privileges.insert(p.name.clone(), p);
    }
    for (name, privileges) in [("CustClerkDuty", vec!["CustView", "CustMaintain"]), ("CustIntegrationDuty", vec!["CustIntegrate"])] {
        let duty = Duty { name: name.into(), label: None, description: None, model: None, privileges: privileges.into_iter().map(String::from).collect(), unmodelled: Vec::new() };
        m.duties.insert(name.into(), duty);
    }
    for r in [
        role("Clerk", &["CustClerkDuty"], &["CustGhost"], &[]),
        role("Restricted", &[], &["CustNoDelete"], &[]),
        role("Manager", &[], &["CustFull", "CustPost"], &["Restricted", "Clerk"]),
        role("Director", &["CustClerkDuty"], &[], &["Manager"]),
        role("Integrator", &["CustIntegrationDuty"], &[], &[]),
    ] {
        m.roles.insert(r.name.clone(), r);
    }
    for o in ["USMF", "DEMF", "FRRT"] {
        m.organizations.insert(o.into(), Organization { id: o.into(), name: None });
    }
    for u in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        let mut user = User::new(u);
        user.enabled = u != "carol";
        m.users.insert(u.into(), user);
    }
    m.assignments = vec![
        assignment("alice", "Clerk", &[], None, None),
        assignment("bob", "Manager", &["USMF"], None, None),
        assignment("bob", "Integrator", &[], Some(T1), Some(T2)),
        assignment("carol", "Clerk", &[], None, None),
        assignment("dave", "Clerk", &["USMF", "DEMF"], Some(T1), None),
        assignment("dave", "Director", &[], None, Some(T2)),
        assignment("dave", "Integrator", &["DEMF"], None, Some(T2)),
        assignment("erin", "Manager", &[], None, None),
        assignment("erin", "Clerk", &["FRRT"], Some(T1), Some(T2)),
    ]
    .into_iter()
    .collect();
    assert!(m.validate_strict_errors().is_empty(), "{:?}", m.validate_strict_errors());
    m
}

fn grid(model: &Model) -> Vec<Request> {
    let mut users: Vec<&str> = model.users.keys().map(String::as_str).collect();
    users.push("ghost");
    let mut keys: Vec<EntryPointKey> = model.entry_points.keys().cloned().collect();
    keys.push(EntryPointKey::new(EntryPointType::MenuItemOutput, "CustGhostReport"));
    keys.push(EntryPointKey::new(EntryPointType::MenuItemDisplay, "NoSuchForm"));
    let orgs = [None, Some("USMF"), Some("DEMF"), Some("FRRT"), Some("XXXX")];
    let instants = [T1 - 1, T1, T1 + 1, T2 - 1, T2, T2 + 1, T1 - 400 * 86_400_000, T2 + 400 * 86_400_000];
    let mut out = Vec::new();
    for u in &users {
        for k in &keys {
            for a in Access::ALL {
                for o in orgs {
                    for t in instants {
                        out.push(Request {
                            user: u.to_string(),
                            entry_point: k.clone(),
                            access: a,
                            org: o.map(str::to_string),
                            at: Timestamp(t),
                        });
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_engine_agrees_on_the_corner_cases() {
    let model = corner_model();
    let requests = grid(&model);
    let mut config = all_engines(requests.len());
    config.casbin_sample = requests.len();
    let report = run_on(&model, &requests, &config).expect("the benchmark runs");
    // Cedar reports unknown users and entry points as evaluation errors (and denies).
    assert_full_agreement(&report, true);
    let allowed = report.allowed_share;
    assert!(allowed > 0.02 && allowed < 0.5, "allowed share {allowed}");
}
