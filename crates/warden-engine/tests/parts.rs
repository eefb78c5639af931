//! Control and field checks ([`warden_engine::check_part`]) and their
//! explanation must agree with the naive reference evaluator on random
//! models: control and field grants Allow, Deny or absent on several
//! privileges, duties, roles and sub-roles, Deny on the entry point too,
//! names in any case, disabled users, organization scopes and validity windows.

use proptest::prelude::*;
use warden_engine::{check_part, explain_part, reference, Decision, Index};
use warden_model::*;

const ORGS: [&str; 2] = ["USMF", "DEMF"];
/// What a grant can name: (is a field, name as written in the file).
const PARTS: [(bool, &str); 4] = [(false, "CreditMax"), (false, "ButtonBlock"), (true, "CreditMax"), (true, "CreditLimit")];

fn ep_key(i: usize) -> EntryPointKey {
    match i {
        0 => EntryPointKey::new(EntryPointType::MenuItemDisplay, "CustTable"),
        1 => EntryPointKey::new(EntryPointType::DataEntity, "CustCustomerV3Entity"),
        _ => EntryPointKey::new(EntryPointType::MenuItemAction, "CustTable"),
    }
}

/// The parts a check can ask about on entry point `ep`, and one no grant names.
fn asked(ep: usize) -> Vec<Part> {
    let mut parts = vec![Part::control("creditmax"), Part::control("ButtonBlock"), Part::control("Nowhere"), Part::field("Missing")];
    if ep == 1 {
        parts.extend([Part::field("CreditLimit"), Part::field("CREDITMAX")]);
    } else {
        parts.extend([Part::field("CustTable.CreditMax"), Part::field("CustTable.CreditLimit")]);
    }
    parts
}

fn el(name: &str, children: Vec<XmlElement>) -> XmlElement {
    XmlElement { children, ..XmlElement::new(name) }
}

fn text(name: &str, t: &str) -> XmlElement {
    XmlElement { text: Some(t.into()), ..XmlElement::new(name) }
}

/// `<Grant>` with each access Allow, Deny, Unset or absent (0..4 per access).
fn grant_element(values: &[u8; 6]) -> XmlElement {
    let mut g = XmlElement::new("Grant");
    for (a, &v) in Access::ALL.iter().zip(values) {
        let value = match v {
            0 => "Allow",
            1 => "Deny",
            2 => "Unset",
            _ => continue,
        };
        g.children.push(text(a.as_str(), value));
    }
    g
}

/// Part index, its grant, and whether the name is written in upper case.
type PartSpec = (usize, [u8; 6], bool);
/// Entry point, allow, deny, part grants.
type GrantSpec = (usize, u8, u8, Vec<PartSpec>);

fn kept(ep: usize, parts: &[PartSpec]) -> Vec<Unmodelled> {
    let name = |i: usize, upper: bool| if upper { PARTS[i].1.to_uppercase() } else { PARTS[i].1.to_string() };
    let keep = |element| Unmodelled { within: None, after: None, element };
    if ep == 1 {
        let fields: Vec<XmlElement> = parts
            .iter()
            .filter(|p| PARTS[p.0].0)
            .map(|(i, g, upper)| el("AxSecurityDataEntityFieldPermission", vec![grant_element(g), text("Name", &name(*i, *upper))]))
            .collect();
        return if fields.is_empty() { vec![] } else { vec![keep(el("Fields", fields))] };
    }
    let controls: Vec<XmlElement> = parts
        .iter()
        .filter(|p| !PARTS[p.0].0)
        .map(|(i, g, upper)| el("AxSecurityEntryPointReferenceFormControl", vec![text("Name", &name(*i, *upper)), grant_element(g)]))
        .collect();
    let fields: Vec<XmlElement> = parts
        .iter()
        .filter(|p| PARTS[p.0].0)
        .map(|(i, g, upper)| el("AxSecurityEntryPointReferenceFormDataSourceField", vec![text("Name", &name(*i, *upper)), grant_element(g)]))
        .collect();
    let form = el(
        "AxSecurityEntryPointReferenceForm",
        vec![
            text("Name", "CustTable"),
            el("Controls", controls),
            el("DataSources", vec![el("AxSecurityEntryPointReferenceFormDataSource", vec![text("Name", "CustTable"), el("Fields", fields)])]),
        ],
    );
    vec![keep(el("Forms", vec![form]))]
}

/// User, role, organizations, valid from, valid to.
type AssignmentSpec = (usize, usize, Vec<usize>, Option<i64>, Option<i64>);

#[derive(Debug, Clone)]
struct Spec {
    privileges: Vec<Vec<GrantSpec>>,
    duties: Vec<Vec<usize>>,
    /// Duties, privileges, sub-roles.
    roles: Vec<(Vec<usize>, Vec<usize>, Vec<usize>)>,
    users: Vec<bool>,
    assignments: Vec<AssignmentSpec>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (1usize..6, 1usize..4, 1usize..7, 1usize..4).prop_flat_map(|(np, nd, nr, nu)| {
        let part = (0..PARTS.len(), prop::array::uniform6(0u8..4), prop::bool::weighted(0.2));
        let grant = (0usize..3, 0u8..64, prop::sample::select(vec![0u8, 0, 0, 1, 2, 3]), prop::collection::vec(part, 0..4));
        let privileges = prop::collection::vec(prop::collection::vec(grant, 0..3), np);
        let duties = prop::collection::vec(prop::collection::vec(0..np, 0..3), nd);
        let roles = prop::collection::vec((prop::collection::vec(0..nd, 0..2), prop::collection::vec(0..np, 0..3), prop::collection::vec(0..nr, 0..2)), nr);
        let users = prop::collection::vec(prop::bool::weighted(0.9), nu);
        let window = prop::option::weighted(0.3, 0i64..100);
        let assignments = prop::collection::vec((0..nu, 0..nr, prop::collection::vec(0..ORGS.len(), 0..2), window.clone(), window), 0..8);
        (privileges, duties, roles, users, assignments).prop_map(|(privileges, duties, roles, users, assignments)| Spec { privileges, duties, roles, users, assignments })
    })
}

fn build(spec: &Spec) -> Model {
    let mut m = Model::default();
    for i in 0..3 {
        m.put(Object::EntryPoint(EntryPoint::referenced(&ep_key(i))));
    }
    for (i, grants) in spec.privileges.iter().enumerate() {
        let entry_points = grants
            .iter()
            .map(|(e, allow, deny, parts)| {
                let key = ep_key(*e);
                let deny = AccessSet(deny & 0b11_1111);
                EntryPointGrant {
                    name: key.name.clone(),
                    kind: key.kind,
                    object: key.name.clone(),
                    child: None,
                    grant: Grant { allow: AccessSet(allow & !deny.0), deny },
                    unmodelled: kept(*e, parts),
                }
            })
            .collect();
        m.put(Object::Privilege(Privilege { name: format!("P{i}"), label: None, description: None, model: None, entry_points, direct_access: vec![], unmodelled: vec![] }));
    }
    for (i, ps) in spec.duties.iter().enumerate() {
        let privileges = ps.iter().map(|p| format!("P{p}")).collect();
        m.put(Object::Duty(Duty { name: format!("D{i}"), label: None, description: None, model: None, privileges, unmodelled: vec![] }));
    }
    for (i, (ds, ps, ss)) in spec.roles.iter().enumerate() {
        let mut r = Role::new(format!("R{i}"));
        r.duties = ds.iter().map(|d| format!("D{d}")).collect();
        r.privileges = ps.iter().map(|p| format!("P{p}")).collect();
        r.sub_roles = ss.iter().map(|s| format!("R{s}")).collect();
        m.put(Object::Role(r));
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
            role: format!("R{role}"),
            organizations,
            valid_from: from.map(Timestamp),
            valid_to: to.map(Timestamp),
            rule: None,
        }));
    }
    m
}

fn assert_agrees(spec: &Spec, model: &Model, at: Timestamp) -> Result<(), TestCaseError> {
    let index = Index::build(model);
    for u in 0..spec.users.len() {
        let user = format!("u{u}");
        for e in 0..3 {
            let ep = ep_key(e);
            for part in asked(e) {
                for access in Access::ALL {
                    for org in [None, Some("USMF"), Some("DEMF"), Some("Nowhere")] {
                        let want = reference::check_part(model, &user, &ep, access, &part, org, at);
                        let got = check_part(&index, model, &user, &ep, access, &part, org, at);
                        prop_assert_eq!(got, want, "check_part {} {} {} {} {:?} at {}", user, ep, part, access, org, at);
                        let why = explain_part(model, &user, &ep, access, &part, org, at);
                        prop_assert_eq!(why.decision, want, "explain_part {} {} {} {} {:?}: {}", user, ep, part, access, org, why.reason);
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn control_and_field_checks_agree_with_reference(spec in spec(), at in 0i64..110) {
        let model = build(&spec);
        assert_agrees(&spec, &model, Timestamp(at))?;
    }
}

/// One privilege as the Lossless fixture has it: Read and Update on the
/// menu item, Update denied on control CreditMax, Invoke denied on ButtonBlock.
fn lossless_like() -> Model {
    let part = |i, g: [u8; 6]| (i, g, false);
    let unset = 3;
    let spec = Spec {
        privileges: vec![vec![(0, 0b11, 0, vec![part(0, [0, 1, unset, unset, unset, unset]), part(1, [unset, unset, unset, unset, unset, 1]), part(2, [0, 1, unset, unset, unset, unset])])]],
        duties: vec![],
        roles: vec![(vec![], vec![0], vec![])],
        users: vec![true],
        assignments: vec![(0, 0, vec![], None, None)],
    };
    build(&spec)
}

#[test]
fn a_control_grant_narrows_its_entry_point_and_otherwise_inherits_it() {
    let m = lossless_like();
    let index = Index::build(&m);
    let ep = ep_key(0);
    let at = Timestamp(0);
    let check = |part: &Part, access| check_part(&index, &m, "u0", &ep, access, part, None, at);
    let credit = Part::control("CreditMax");
    assert_eq!(index.check_by_name("u0", &ep, Access::Update, None, at), Decision::Allow, "Update on the entry point");
    assert_eq!(check(&credit, Access::Update), Decision::Deny, "the control's own Deny");
    assert_eq!(check(&credit, Access::Read), Decision::Allow);
    assert_eq!(check(&credit, Access::Delete), Decision::Deny, "inherits: the entry point does not grant Delete");
    assert_eq!(check(&Part::control("Other"), Access::Update), Decision::Allow, "inherits the entry point's Allow");
    assert_eq!(check(&Part::field("CustTable.CreditMax"), Access::Update), Decision::Deny);
    assert_eq!(check(&Part::field("CreditMax"), Access::Update), Decision::Allow, "a field is DATASOURCE.FIELD on a form");
    let why = explain_part(&m, "u0", &ep, Access::Update, &credit, None, at);
    assert_eq!(why.decision, Decision::Deny);
    assert!(why.reason.contains("its own grant on control CreditMax") && why.reason.contains("privilege P0"), "{}", why.reason);
    let why = explain_part(&m, "u0", &ep, Access::Update, &Part::control("Other"), None, at);
    assert!(why.reason.contains("which control Other inherits"), "{}", why.reason);
}

#[test]
fn an_allow_on_a_control_does_not_lift_a_deny_from_another_path() {
    // P0: Update allowed on the control only; P1 (another role): Update denied on the entry point.
    let spec = Spec {
        privileges: vec![vec![(0, 0b01, 0b10, vec![(0, [3, 0, 3, 3, 3, 3], false)])], vec![(0, 0b01, 0b10, vec![])]],
        duties: vec![],
        roles: vec![(vec![], vec![0], vec![]), (vec![], vec![1], vec![])],
        users: vec![true],
        assignments: vec![(0, 0, vec![], None, None)],
    };
    let m = build(&spec);
    let index = Index::build(&m);
    let at = Timestamp(0);
    let credit = Part::control("CreditMax");
    assert_eq!(check_part(&index, &m, "u0", &ep_key(0), Access::Update, &credit, None, at), Decision::Allow, "the control's own Allow decides its path");
    let mut both = spec.clone();
    both.assignments.push((0, 1, vec![], None, None));
    let m = build(&both);
    let index = Index::build(&m);
    assert_eq!(check_part(&index, &m, "u0", &ep_key(0), Access::Update, &credit, None, at), Decision::Deny, "Deny from the other path wins");
    let why = explain_part(&m, "u0", &ep_key(0), Access::Update, &credit, None, at);
    assert!(why.reason.contains("privilege P1") && why.reason.contains("inherits"), "{}", why.reason);
}

#[test]
fn a_control_of_an_entry_point_the_user_cannot_read_is_out_of_reach() {
    // The control allows Read and Update, the entry point grants nothing.
    let spec = Spec {
        privileges: vec![vec![(0, 0, 0, vec![(0, [0, 0, 3, 3, 3, 3], false)])]],
        duties: vec![],
        roles: vec![(vec![], vec![0], vec![])],
        users: vec![true],
        assignments: vec![(0, 0, vec![], None, None)],
    };
    let m = build(&spec);
    let index = Index::build(&m);
    let credit = Part::control("CreditMax");
    let ep = ep_key(0);
    assert_eq!(check_part(&index, &m, "u0", &ep, Access::Update, &credit, None, Timestamp(15)), Decision::Deny);
    let why = explain_part(&m, "u0", &ep, Access::Update, &credit, None, Timestamp(15));
    assert!(why.reason.contains("out of reach"), "{}", why.reason);
    assert_eq!(reference::check_part(&m, "u0", &ep, Access::Update, &credit, None, Timestamp(15)), Decision::Deny);
}
