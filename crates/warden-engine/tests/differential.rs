//! The index, the explanation and the effective-permission listing must agree
//! with the naive reference evaluator on random models: sub-roles (cycles
//! included), extensions, Deny grants, dangling references, disabled users,
//! organization scopes, validity windows, and temporary role and privileged
//! user sessions in every status.

use proptest::prelude::*;
use warden_engine::{affected_roles, effective_permissions, explain, reference, sod, Decision, Index, SodIndex, UserConflict};
use warden_model::*;

const TYPES: [EntryPointType; 3] = [EntryPointType::MenuItemDisplay, EntryPointType::MenuItemAction, EntryPointType::ServiceOperation];
const ORGS: [&str; 3] = ["USMF", "DEMF", "GBSI"];

fn ep_key(i: usize) -> EntryPointKey {
    // Names repeat across types on purpose: the type is part of the key.
    EntryPointKey::new(TYPES[i % TYPES.len()], format!("Ep{}", i / 2))
}

fn name(prefix: &str, i: usize, len: usize) -> String {
    // One index past the end names an object that does not exist: a dangling reference.
    if i >= len { format!("{prefix}Missing") } else { format!("{prefix}{i}") }
}

/// User, role, organizations, valid from, valid to.
type AssignmentSpec = (usize, usize, Vec<usize>, Option<i64>, Option<i64>);

#[derive(Debug, Clone)]
struct Spec {
    eps: usize,
    privileges: Vec<Vec<(usize, u8, u8)>>,
    duties: Vec<Vec<usize>>,
    roles: Vec<(Vec<usize>, Vec<usize>, Vec<usize>)>,
    role_ext: Vec<(usize, Vec<usize>, Vec<usize>)>,
    duty_ext: Vec<(usize, Vec<usize>)>,
    users: Vec<bool>,
    assignments: Vec<AssignmentSpec>,
    temp_sessions: Vec<TempSpec>,
    privileged_sessions: Vec<PrivilegedSpec>,
}

/// User, roles, organizations, Replace, start, length, status (0..5).
type TempSpec = (usize, Vec<usize>, Vec<usize>, bool, i64, i64, usize);
/// User, slot (windows of one user never overlap), enable, status (0..6).
type PrivilegedSpec = (usize, usize, bool, usize);

fn sessions() -> impl Strategy<Value = (Vec<TempSpec>, Vec<PrivilegedSpec>)> {
    let temp = (0usize..6, prop::collection::vec(0usize..17, 1..3), prop::collection::vec(0..ORGS.len(), 0..2), prop::bool::ANY, 0i64..100, 1i64..40, 0usize..5);
    let privileged = (0usize..6, 0usize..3, prop::bool::ANY, 0usize..6);
    (prop::collection::vec(temp, 0..4), prop::collection::vec(privileged, 0..3))
}

fn spec() -> impl Strategy<Value = Spec> {
    (1usize..8, 1usize..8, 1usize..6, 1usize..16, 1usize..5).prop_flat_map(|(eps, np, nd, nr, nu)| {
        let privileges = prop::collection::vec(prop::collection::vec((0..eps, 0u8..64, 0u8..64), 0..4), np);
        let duties = prop::collection::vec(prop::collection::vec(0..=np, 0..4), nd);
        let roles = prop::collection::vec(
            (prop::collection::vec(0..=nd, 0..3), prop::collection::vec(0..=np, 0..2), prop::collection::vec(0..=nr, 0..3)),
            nr,
        );
        let role_ext = prop::collection::vec((0..=nr, prop::collection::vec(0..=nd, 0..2), prop::collection::vec(0..=nr, 0..2)), 0..2);
        let duty_ext = prop::collection::vec((0..=nd, prop::collection::vec(0..=np, 0..2)), 0..2);
        let users = prop::collection::vec(prop::bool::weighted(0.85), nu);
        let window = prop::option::weighted(0.3, 0i64..100);
        let assignments =
            prop::collection::vec((0..nu, 0..=nr, prop::collection::vec(0..ORGS.len(), 0..3), window.clone(), window), 0..24);
        (Just(eps), privileges, duties, roles, role_ext, duty_ext, users, (assignments, sessions())).prop_map(
            |(eps, privileges, duties, roles, role_ext, duty_ext, users, (assignments, (temp_sessions, privileged_sessions)))| Spec {
                eps,
                privileges,
                duties,
                roles,
                role_ext,
                duty_ext,
                users,
                assignments,
                temp_sessions,
                privileged_sessions,
            },
        )
    })
}

fn build(spec: &Spec) -> Model {
    let mut m = Model::default();
    let (np, nd, nr) = (spec.privileges.len(), spec.duties.len(), spec.roles.len());
    for i in 0..spec.eps {
        m.put(Object::EntryPoint(EntryPoint::referenced(&ep_key(i))));
    }
    for (i, grants) in spec.privileges.iter().enumerate() {
        let entry_points = grants
            .iter()
            .map(|&(e, allow, deny)| {
                let key = ep_key(e);
                let (object, child) = match key.name.split_once('.') {
                    Some((o, c)) => (o.to_string(), Some(c.to_string())),
                    None => (key.name.clone(), None),
                };
                let deny = AccessSet(deny & 0b11_1111 & !allow);
                EntryPointGrant { name: key.name.clone(), kind: key.kind, object, child, grant: Grant { allow: AccessSet(allow & !deny.0), deny }, unmodelled: Vec::new() }
            })
            .collect();
        m.put(Object::Privilege(Privilege { name: name("P", i, np), label: None, description: None, model: None, entry_points, direct_access: vec![], unmodelled: Vec::new() }));
    }
    for (i, ps) in spec.duties.iter().enumerate() {
        let privileges = ps.iter().map(|&p| name("P", p, np)).collect();
        m.put(Object::Duty(Duty { name: name("D", i, nd), label: None, description: None, model: None, privileges, unmodelled: Vec::new() }));
    }
    for (i, (ds, ps, ss)) in spec.roles.iter().enumerate() {
        let mut r = Role::new(name("R", i, nr));
        r.duties = ds.iter().map(|&d| name("D", d, nd)).collect();
        r.privileges = ps.iter().map(|&p| name("P", p, np)).collect();
        r.sub_roles = ss.iter().map(|&s| name("R", s, nr)).collect();
        m.put(Object::Role(r));
    }
    for (i, (target, ds, ss)) in spec.role_ext.iter().enumerate() {
        let target = name("R", *target, nr);
        m.put(Object::RoleExtension(RoleExtension {
            name: format!("{target}.Ext{i}"),
            target,
            model: None,
            duties: ds.iter().map(|&d| name("D", d, nd)).collect(),
            privileges: vec![],
            sub_roles: ss.iter().map(|&s| name("R", s, nr)).collect(),
            unmodelled: Vec::new(),
        }));
    }
    for (i, (target, ps)) in spec.duty_ext.iter().enumerate() {
        let target = name("D", *target, nd);
        m.put(Object::DutyExtension(DutyExtension {
            name: format!("{target}.Ext{i}"),
            target,
            model: None,
            privileges: ps.iter().map(|&p| name("P", p, np)).collect(),
            unmodelled: Vec::new(),
        }));
    }
    for o in ORGS {
        m.put(Object::Organization(Organization { id: o.to_string(), name: None }));
    }
    for (i, enabled) in spec.users.iter().enumerate() {
        let mut u = User::new(format!("u{i}"));
        u.enabled = *enabled;
        m.put(Object::User(u));
    }
    for (user, role, orgs, from, to) in &spec.assignments {
        let mut organizations: Vec<String> = orgs.iter().map(|&o| ORGS[o].to_string()).collect();
        organizations.dedup();
        m.put(Object::Assignment(Assignment {
            user: format!("u{user}"),
            role: name("R", *role, nr),
            organizations,
            valid_from: from.map(Timestamp),
            valid_to: to.map(Timestamp),
            rule: None,
        }));
    }
    let temp_statuses = [TempStatus::Draft, TempStatus::Planned, TempStatus::Active, TempStatus::Ended, TempStatus::Cancelled];
    for (i, (user, roles, orgs, replace, start, len, status)) in spec.temp_sessions.iter().enumerate() {
        let mut organizations: Vec<String> = orgs.iter().map(|&o| ORGS[o].to_string()).collect();
        organizations.dedup();
        m.put(Object::TempRoleSession(TempRoleSession {
            id: format!("T{i}"),
            user: format!("u{user}"),
            roles: roles.iter().map(|&r| name("R", r % (nr + 1), nr)).collect(),
            organizations,
            session_type: if *replace { SessionType::Replace } else { SessionType::Merge },
            start: Timestamp(*start),
            end: Timestamp(start + len),
            reason: None,
            requested_by: "a".into(),
            status: temp_statuses[*status],
            approved_by: None,
            override_reason: None,
            started_at: None,
            ended_at: None,
            history: vec![],
        }));
    }
    let statuses = [PrivilegedStatus::Draft, PrivilegedStatus::Approved, PrivilegedStatus::Active, PrivilegedStatus::Ended, PrivilegedStatus::Rejected, PrivilegedStatus::Cancelled];
    let mut slots = std::collections::HashSet::new();
    for (i, (user, slot, enable, status)) in spec.privileged_sessions.iter().enumerate() {
        if !slots.insert((*user, *slot)) {
            continue;
        }
        let start = *slot as i64 * 35;
        m.put(Object::PrivilegedSession(PrivilegedSession {
            id: format!("P{i}"),
            user: format!("u{user}"),
            start: Timestamp(start),
            end: Timestamp(start + 30),
            action: if *enable { AccountAction::Enable } else { AccountAction::Disable },
            reason: None,
            requested_by: "a".into(),
            status: statuses[*status],
            approved_by: None,
            original_enabled: None,
            started_at: None,
            ended_at: None,
            recording_deleted: None,
            recording_seal: None,
            history: vec![],
        }));
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn index_agrees_with_reference(
        spec in spec(),
        requests in prop::collection::vec((0usize..6, 0usize..9, 0usize..6, prop::option::of(0usize..4), 0i64..110), 1..40),
    ) {
        let model = build(&spec);
        let index = Index::build(&model);
        for (u, e, a, org, at) in requests {
            let user = format!("u{u}");
            let ep = ep_key(e);
            let access = Access::ALL[a];
            // Org 3 is one the model does not know.
            let org = org.map(|o| ORGS.get(o).copied().unwrap_or("XXXX"));
            let at = Timestamp(at);
            let expected = reference::check(&model, &user, &ep, access, org, at);
            prop_assert_eq!(index.check_by_name(&user, &ep, access, org, at), expected, "check {} {} {} {:?} {:?}", user, ep, access, org, at);
            let why = explain(&model, &user, &ep, access, org, at);
            prop_assert_eq!(why.decision, expected, "explain: {}", why);
            let listed = effective_permissions(&model, &user, org, at)
                .into_iter()
                .find(|p| p.entry_point == ep)
                .is_some_and(|p| p.effective().contains(access));
            prop_assert_eq!(listed, expected == Decision::Allow, "effective permissions of {} on {}", user, ep);
        }
    }
}

/// A rule side: a duty (by index, one past the end is a duty that does not
/// exist) or an access on an entry point.
type SideSpec = (bool, usize, usize);

/// Two sides, valid from, valid to, enabled.
type RuleSpec = (SideSpec, SideSpec, Option<i64>, Option<i64>, bool);

fn side(spec: &Spec, (is_duty, i, a): SideSpec) -> SodSide {
    if is_duty {
        SodSide::Duty { duty: name("D", i % (spec.duties.len() + 1), spec.duties.len()) }
    } else {
        SodSide::EntryPoint { entry_point: ep_key(i % (spec.eps + 1)), access: Access::ALL[a % 6] }
    }
}

fn with_sod_rules(spec: &Spec, rules: &[RuleSpec]) -> Model {
    let mut model = build(spec);
    for (i, (a, b, from, to, enabled)) in rules.iter().enumerate() {
        model.put(Object::SodRule(SodRule {
            name: format!("S{i}"),
            first: side(spec, *a),
            second: side(spec, *b),
            severity: Severity::High,
            risk: None,
            mitigation: None,
            valid_from: from.map(Timestamp),
            valid_to: to.map(Timestamp),
            enabled: *enabled,
        }));
    }
    model
}

fn sod_rules() -> impl Strategy<Value = Vec<RuleSpec>> {
    let side = (prop::bool::ANY, 0usize..9, 0usize..6);
    let window = prop::option::weighted(0.3, 0i64..100);
    prop::collection::vec((side.clone(), side, window.clone(), window, prop::bool::weighted(0.9)), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// SoD analysis (users: sub-roles, extensions, Deny, org scopes, windows;
    /// roles by themselves) agrees with the naive per-user scan.
    #[test]
    fn sod_analysis_agrees_with_reference(spec in spec(), rules in sod_rules(), now in 0i64..110) {
        let model = with_sod_rules(&spec, &rules);
        let index = SodIndex::build(&model);
        let now = Timestamp(now);
        for user in model.users.keys() {
            prop_assert_eq!(index.user_conflicts(&model, user, now), sod::reference::user_conflicts(&model, user, now), "user {}", user);
        }
        for role in model.roles.keys() {
            let fast: Vec<String> = index.role_violations(role, now).into_iter().map(str::to_string).collect();
            prop_assert_eq!(fast, sod::reference::role_violations(&model, role, now), "role {}", role);
        }
    }
}

#[test]
fn sod_conflicts_follow_scopes_windows_and_deny() {
    // R0 holds D0 (privilege P0: Read+Update on Ep0), R1 holds D1 (P1: Deny Update on Ep0).
    let spec = Spec {
        eps: 1,
        privileges: vec![vec![(0, Access::Read.bit() | Access::Update.bit(), 0)], vec![(0, Access::Create.bit(), Access::Update.bit())]],
        duties: vec![vec![0], vec![1]],
        roles: vec![(vec![0], vec![], vec![]), (vec![1], vec![], vec![])],
        role_ext: vec![],
        duty_ext: vec![],
        users: vec![true],
        assignments: vec![(0, 0, vec![], None, None), (0, 1, vec![1], Some(10), Some(20))],
        temp_sessions: vec![],
        privileged_sessions: vec![],
    };
    let duties = ((true, 0, 0), (true, 1, 0), None, None, true);
    let index_of = |a: Access| Access::ALL.iter().position(|x| *x == a).expect("an access");
    let accesses = ((false, 0, index_of(Access::Update)), (false, 0, index_of(Access::Create)), None, None, true);
    let model = with_sod_rules(&spec, &[duties, accesses]);
    let index = SodIndex::build(&model);
    let at = |t| index.user_conflicts(&model, "u0", Timestamp(t));
    // From 0 on: in DEMF during [10, 20) the user holds D0 and D1 (rule S0). S1 needs Update and
    // Create on Ep0 together, but wherever R1 gives Create its Deny takes Update away.
    assert_eq!(at(0), vec![UserConflict { rule: "S0".into(), roles: vec!["R0".into(), "R1".into()], organizations: vec!["DEMF".into()] }]);
    assert_eq!(at(20), vec![], "R1 has ended");
    assert_eq!(index.roles_violating(Timestamp(0)), Vec::<(&str, Vec<&str>)>::new());
}

#[test]
fn deny_wins_across_roles_and_windows_end_on_time() {
    let spec = Spec {
        eps: 1,
        privileges: vec![vec![(0, Access::Read.bit() | Access::Update.bit(), 0)], vec![(0, 0, Access::Update.bit())]],
        duties: vec![vec![0], vec![1]],
        roles: vec![(vec![0], vec![], vec![]), (vec![1], vec![], vec![])],
        role_ext: vec![],
        duty_ext: vec![],
        users: vec![true],
        assignments: vec![(0, 0, vec![], None, None), (0, 1, vec![1], Some(10), Some(20))],
        temp_sessions: vec![],
        privileged_sessions: vec![],
    };
    let model = build(&spec);
    let index = Index::build(&model);
    let ep = ep_key(0);
    let check = |access, org, at| index.check_by_name("u0", &ep, access, org, Timestamp(at));
    assert_eq!(check(Access::Update, None, 15), Decision::Allow, "the denying role is scoped to DEMF");
    assert_eq!(check(Access::Update, Some("DEMF"), 15), Decision::Deny, "Deny from R1 wins in DEMF");
    assert_eq!(check(Access::Read, Some("DEMF"), 15), Decision::Allow, "the Deny is on Update only");
    assert_eq!(check(Access::Update, Some("DEMF"), 9), Decision::Allow, "R1 is not valid yet");
    assert_eq!(check(Access::Update, Some("DEMF"), 20), Decision::Allow, "R1 ended at 20 (exclusive)");
    let why = explain(&model, "u0", &ep, Access::Update, Some("DEMF"), Timestamp(15));
    assert!(why.reason.contains("denied by role R1 › duty D1 › privilege P1"), "{}", why.reason);
}

/// Long rows take other paths in the index: an entry point that more than 32
/// roles touch (binary search), users with many assignments, scopes of several
/// organizations, windows. Every request over a grid must still match the reference.
#[test]
fn overflow_lists_agree_with_reference() {
    let roles = 40;
    let spec = Spec {
        eps: 2,
        privileges: vec![
            vec![(0, Access::Read.bit() | Access::Update.bit(), 0), (1, Access::Read.bit(), 0)],
            vec![(0, 0, Access::Update.bit())],
        ],
        duties: vec![vec![0], vec![1]],
        roles: (0..roles).map(|r| (vec![if r == 9 { 1 } else { 0 }], vec![], vec![])).collect(),
        role_ext: vec![],
        duty_ext: vec![],
        users: vec![true, true],
        assignments: (0..roles)
            .map(|r| {
                let orgs = match r % 3 { 0 => vec![], 1 => vec![r % 3], _ => vec![0, 2] };
                let window = if r % 4 == 0 { (Some(r as i64 * 5), Some(r as i64 * 5 + 20)) } else { (None, None) };
                (r % 2, r, orgs, window.0, window.1)
            })
            .collect(),
        temp_sessions: vec![],
        privileged_sessions: vec![],
    };
    let model = build(&spec);
    let index = Index::build(&model);
    let mut checked = 0;
    for user in ["u0", "u1", "u2"] {
        for e in 0..3 {
            let ep = ep_key(e);
            for access in Access::ALL {
                for org in [None, Some("USMF"), Some("DEMF"), Some("GBSI"), Some("XXXX")] {
                    for at in (0..90).step_by(3) {
                        let at = Timestamp(at);
                        let expected = reference::check(&model, user, &ep, access, org, at);
                        assert_eq!(index.check_by_name(user, &ep, access, org, at), expected, "{user} {ep} {access} {org:?} {at:?}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 1000);
    let stats = index.stats();
    assert_eq!(stats.assignments, roles);
}

/// A change to the contents of the security configuration, by index into
/// the spec's objects (one past the end names an object that is not loaded).
#[derive(Debug, Clone)]
enum ConfigEdit {
    /// A role's duties, privileges and sub-roles.
    Role(usize, Vec<usize>, Vec<usize>, Vec<usize>),
    /// A duty's privileges.
    Duty(usize, Vec<usize>),
    /// A privilege's grants: (entry point, allow, deny).
    Privilege(usize, Vec<(usize, u8, u8)>),
    /// Puts (with duties and sub-roles) or removes a role extension.
    RoleExtension(usize, usize, Option<(Vec<usize>, Vec<usize>)>),
    /// Puts (with privileges) or removes a duty extension.
    DutyExtension(usize, usize, Option<Vec<usize>>),
}

fn config_edits() -> impl Strategy<Value = Vec<ConfigEdit>> {
    let list = |n: usize| prop::collection::vec(0usize..n, 0..4);
    let edit = prop_oneof![
        4 => (0usize..16, list(7), list(9), list(17)).prop_map(|(r, d, p, s)| ConfigEdit::Role(r, d, p, s)),
        3 => (0usize..6, list(9)).prop_map(|(d, p)| ConfigEdit::Duty(d, p)),
        3 => (0usize..8, prop::collection::vec((0usize..8, 0u8..64, 0u8..64), 0..4)).prop_map(|(p, g)| ConfigEdit::Privilege(p, g)),
        2 => (0usize..3, 0usize..17, prop::option::of((list(7), list(17)))).prop_map(|(n, t, c)| ConfigEdit::RoleExtension(n, t, c)),
        1 => (0usize..3, 0usize..7, prop::option::of(list(9))).prop_map(|(n, t, c)| ConfigEdit::DutyExtension(n, t, c)),
    ];
    prop::collection::vec(edit, 1..6)
}

/// `model` with `edit` applied, and the key of what it changed (`None`:
/// the edit names an object the model does not have, and changes nothing).
fn edited(spec: &Spec, model: &Model, edit: &ConfigEdit) -> Option<(Model, ObjectRef)> {
    let (np, nd, nr) = (spec.privileges.len(), spec.duties.len(), spec.roles.len());
    let names = |prefix: &str, list: &[usize], len: usize| -> Vec<String> { list.iter().map(|&i| name(prefix, i % (len + 1), len)).collect() };
    let mut m = model.clone();
    let key = match edit {
        ConfigEdit::Role(r, ds, ps, ss) => {
            let mut role = m.roles.get(&name("R", *r, nr))?.clone();
            role.duties = names("D", ds, nd);
            role.privileges = names("P", ps, np);
            role.sub_roles = names("R", ss, nr);
            let o = Object::Role(role);
            m.put(o.clone());
            o.key()
        }
        ConfigEdit::Duty(d, ps) => {
            let mut duty = m.duties.get(&name("D", *d, nd))?.clone();
            duty.privileges = names("P", ps, np);
            let o = Object::Duty(duty);
            m.put(o.clone());
            o.key()
        }
        ConfigEdit::Privilege(p, grants) => {
            let mut privilege = m.privileges.get(&name("P", *p, np))?.clone();
            privilege.entry_points = grants
                .iter()
                .map(|&(e, allow, deny)| {
                    let key = ep_key(e % spec.eps);
                    let deny = AccessSet(deny & 0b11_1111 & !allow);
                    EntryPointGrant { name: key.name.clone(), kind: key.kind, object: key.name.clone(), child: None, grant: Grant { allow: AccessSet(allow & !deny.0), deny }, unmodelled: Vec::new() }
                })
                .collect();
            let o = Object::Privilege(privilege);
            m.put(o.clone());
            o.key()
        }
        ConfigEdit::RoleExtension(n, target, contents) => {
            let key = ObjectRef::new(ObjectKind::RoleExtension, format!("PatchExt{n}"));
            match contents {
                Some((ds, ss)) => m.put(Object::RoleExtension(RoleExtension {
                    name: key.name.clone(),
                    target: name("R", target % (nr + 1), nr),
                    model: None,
                    duties: names("D", ds, nd),
                    privileges: vec![],
                    sub_roles: names("R", ss, nr),
                    unmodelled: Vec::new(),
                })),
                None => drop(m.remove(&key)),
            }
            key
        }
        ConfigEdit::DutyExtension(n, target, contents) => {
            let key = ObjectRef::new(ObjectKind::DutyExtension, format!("PatchDutyExt{n}"));
            match contents {
                Some(ps) => m.put(Object::DutyExtension(DutyExtension {
                    name: key.name.clone(),
                    target: name("D", target % (nd + 1), nd),
                    model: None,
                    privileges: names("P", ps, np),
                    unmodelled: Vec::new(),
                })),
                None => drop(m.remove(&key)),
            }
            key
        }
    };
    Some((m, key))
}

/// Every check of every user on every entry point, in every organization and at a few instants.
fn assert_index_agrees(index: &Index, model: &Model, eps: usize) -> Result<(), TestCaseError> {
    let orgs = [None, Some("USMF"), Some("DEMF"), Some("XXXX")];
    for user in model.users.keys() {
        for e in 0..eps {
            let ep = ep_key(e);
            for access in Access::ALL {
                for org in orgs {
                    for at in [0, 35, 70, 105] {
                        let at = Timestamp(at);
                        let expected = reference::check(model, user, &ep, access, org, at);
                        prop_assert_eq!(index.check_by_name(user, &ep, access, org, at), expected, "check {} {} {} {:?} {:?}", user, ep, access, org, at);
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// After any sequence of edits to roles, duties, privileges and
    /// extensions, the index and the SoD index patched for the roles each
    /// edit affects (`Index::with_roles`, `SodIndex::with_roles`) answer as a
    /// fresh build does: every check as the reference evaluator, every role's
    /// and user's SoD view as `SodIndex::build`.
    #[test]
    fn patched_roles_agree_with_a_fresh_build(spec in spec(), rules in sod_rules(), edits in config_edits(), now in 0i64..110) {
        let mut model = with_sod_rules(&spec, &rules);
        let mut index = Index::build(&model);
        let mut sod = SodIndex::build(&model);
        let now = Timestamp(now);
        for edit in &edits {
            let Some((next, key)) = edited(&spec, &model, edit) else { continue };
            let roles = affected_roles(&model, &next, [&key]).expect("contents edits keep roles and entry points");
            index = index.with_roles(&model, &next, roles.iter().map(String::as_str)).expect("every entry point a grant names has an id");
            sod = sod.with_roles(&next, roles.iter().map(String::as_str)).expect("the same roles");
            model = next;
            assert_index_agrees(&index, &model, spec.eps)?;
            let fresh = SodIndex::build(&model);
            prop_assert!(sod.changed_roles(&fresh).is_empty(), "roles whose SoD view differs from a fresh build: {:?}", sod.changed_roles(&fresh));
            let view = model.access_view();
            for user in model.users.keys() {
                prop_assert_eq!(sod.user_conflicts_in(&model, &view, user, now), fresh.user_conflicts_in(&model, &view, user, now), "user {}", user);
            }
            for role in model.roles.keys() {
                prop_assert_eq!(sod.role_violations(role, now), fresh.role_violations(role, now), "role {}", role);
            }
        }
        // Patched rows replace rows, never add checks' worth of garbage unnoticed.
        prop_assert!(index.garbage_ratio() >= 0.0);
    }
}

/// The comparison can fail: a patch told only about the role that changed,
/// not about the role that holds it as a sub-role, leaves the parent's grants
/// stale, and the checks of a user of the parent say so.
#[test]
fn a_patch_that_forgets_a_parent_role_is_caught() {
    // R1 holds R0 as a sub-role; u0 holds R1. R0 gains duty D0 (P0: Read on Ep0).
    let spec = Spec {
        eps: 1,
        privileges: vec![vec![(0, Access::Read.bit(), 0)]],
        duties: vec![vec![0]],
        roles: vec![(vec![], vec![], vec![]), (vec![], vec![], vec![0])],
        role_ext: vec![],
        duty_ext: vec![],
        users: vec![true],
        assignments: vec![(0, 1, vec![], None, None)],
        temp_sessions: vec![],
        privileged_sessions: vec![],
    };
    let before = build(&spec);
    let index = Index::build(&before);
    let (after, key) = edited(&spec, &before, &ConfigEdit::Role(0, vec![0], vec![], vec![])).expect("R0 exists");
    let roles = affected_roles(&before, &after, [&key]).expect("a contents edit");
    assert_eq!(roles.iter().map(String::as_str).collect::<Vec<_>>(), ["R0", "R1"], "the parent is affected too");
    let ep = ep_key(0);
    assert_eq!(reference::check(&after, "u0", &ep, Access::Read, None, Timestamp(0)), Decision::Allow);
    let right = index.with_roles(&before, &after, roles.iter().map(String::as_str)).expect("patchable");
    assert_eq!(right.check_by_name("u0", &ep, Access::Read, None, Timestamp(0)), Decision::Allow);
    let forgetful = index.with_roles(&before, &after, ["R0"]).expect("patchable");
    assert_eq!(forgetful.check_by_name("u0", &ep, Access::Read, None, Timestamp(0)), Decision::Deny, "a stale parent is what the property test must catch");
}

/// Roles added or removed, or entry points added or removed, renumber what
/// the indexes hold: no patch, a build.
#[test]
fn changes_that_renumber_are_not_patched() {
    let spec = Spec {
        eps: 2,
        privileges: vec![vec![(0, Access::Read.bit(), 0)]],
        duties: vec![vec![0]],
        roles: vec![(vec![0], vec![], vec![])],
        role_ext: vec![],
        duty_ext: vec![],
        users: vec![true],
        assignments: vec![(0, 0, vec![], None, None)],
        temp_sessions: vec![],
        privileged_sessions: vec![],
    };
    let before = build(&spec);
    let mut after = before.clone();
    after.put(Object::Role(Role::new("R9")));
    assert_eq!(affected_roles(&before, &after, [&ObjectRef::new(ObjectKind::Role, "R9")]), None);
    let mut after = before.clone();
    let gone = ObjectRef::new(ObjectKind::EntryPoint, ep_key(1).to_string());
    after.remove(&gone);
    assert_eq!(affected_roles(&before, &after, [&gone]), None);
    // A grant on an entry point the index has no id for cannot be patched in.
    let mut after = before.clone();
    let mut p = after.privileges.get("P0").expect("P0").clone();
    let key = EntryPointKey::new(EntryPointType::MenuItemDisplay, "Unseen");
    p.entry_points.push(EntryPointGrant { name: key.name.clone(), kind: key.kind, object: key.name.clone(), child: None, grant: Grant { allow: AccessSet(1), deny: AccessSet(0) }, unmodelled: Vec::new() });
    after.put(Object::Privilege(p));
    let roles = affected_roles(&before, &after, [&ObjectRef::new(ObjectKind::Privilege, "P0")]).expect("a contents edit");
    assert!(Index::build(&before).with_roles(&before, &after, roles.iter().map(String::as_str)).is_none());
}
