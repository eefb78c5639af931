//! The index packs its data differently by size: grant rows of up to 16
//! roles share a cache line, rows of 17–64 take lines of their own, longer
//! ones and rows with role ids past 65,534 are binary-searched; users with up
//! to four assignments fit a 16-byte slot and others overflow; organizations
//! numbered below 240 fit a one-byte term code and scopes of up to four sit in
//! a term's line. Every one of those paths must decide as the reference does.

use proptest::prelude::*;
use warden_engine::{reference, Index};
use warden_model::*;

const ORGS: usize = 300;

fn ep_key(i: usize) -> EntryPointKey {
    EntryPointKey::new(EntryPointType::MenuItemDisplay, format!("Ep{i}"))
}

fn org(i: usize) -> String {
    format!("O{i:03}")
}

fn role_name(i: usize) -> String {
    // Zero-padded, so that the index's role ids (name order) follow the numbers.
    format!("R{i:05}")
}

fn grant(e: usize, allow: u8, deny: u8) -> EntryPointGrant {
    let key = ep_key(e);
    let deny = AccessSet(deny & 0b11_1111 & !allow);
    EntryPointGrant { name: key.name.clone(), kind: key.kind, object: key.name.clone(), child: None, grant: Grant { allow: AccessSet(allow), deny }, unmodelled: Vec::new() }
}

/// User, role, organizations, valid from, valid to.
type AssignmentSpec = (usize, usize, Vec<usize>, Option<i64>, Option<i64>);

/// A model whose roles each hold one privilege of their own.
fn model(eps: usize, roles: &[Vec<(usize, u8, u8)>], users: usize, assignments: &[AssignmentSpec]) -> Model {
    let mut m = Model::default();
    for e in 0..eps {
        m.put(Object::EntryPoint(EntryPoint::referenced(&ep_key(e))));
    }
    for (r, grants) in roles.iter().enumerate() {
        let privilege = format!("P{r:05}");
        let entry_points = grants.iter().map(|&(e, allow, deny)| grant(e, allow, deny)).collect();
        m.put(Object::Privilege(Privilege { name: privilege.clone(), label: None, description: None, model: None, entry_points, direct_access: vec![], unmodelled: Vec::new() }));
        let mut role = Role::new(role_name(r));
        role.privileges = vec![privilege];
        m.put(Object::Role(role));
    }
    for o in 0..ORGS {
        m.put(Object::Organization(Organization { id: org(o), name: None }));
    }
    for u in 0..users {
        m.put(Object::User(User::new(format!("u{u}"))));
    }
    let mut seen = std::collections::HashSet::new();
    for (user, role, orgs, from, to) in assignments {
        if !seen.insert((*user, *role)) {
            continue;
        }
        let mut organizations: Vec<String> = orgs.iter().map(|&o| org(o)).collect();
        organizations.sort();
        organizations.dedup();
        let (valid_from, valid_to) = match (from, to) {
            (Some(f), Some(t)) if t <= f => (Some(Timestamp(*t)), Some(Timestamp(*f + 1))),
            _ => (from.map(Timestamp), to.map(Timestamp)),
        };
        m.put(Object::Assignment(Assignment { user: format!("u{user}"), role: role_name(*role), organizations, valid_from, valid_to, rule: None }));
    }
    m
}

/// Every user, entry point and access, in organizations that the assignments
/// name and some they do not, at instants around the windows.
fn assert_agrees(model: &Model, users: usize, eps: usize, orgs: &[Option<String>]) {
    let index = Index::build(model);
    for u in 0..users {
        let user = format!("u{u}");
        for e in 0..eps {
            let ep = ep_key(e);
            for access in Access::ALL {
                for o in orgs {
                    for at in [0, 15, 30, 45, 60, 75, 99] {
                        let at = Timestamp(at);
                        let expected = reference::check(model, &user, &ep, access, o.as_deref(), at);
                        let got = index.check_by_name(&user, &ep, access, o.as_deref(), at);
                        assert_eq!(got, expected, "{user} {ep} {access} {o:?} {at:?}");
                    }
                }
            }
        }
    }
}

fn window() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![3 => Just(None), 1 => (0i64..100).prop_map(Some)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    /// Few entry points (the first one favoured) and up to 160 roles, so that
    /// rows of every length occur; up to ten assignments per user; scopes of up to six of 300
    /// organizations.
    #[test]
    fn every_layout_agrees_with_reference(
        roles in prop::collection::vec(prop::collection::vec((prop_oneof![Just(0usize), 0usize..6], 0u8..64, prop_oneof![4 => Just(0u8), 1 => 0u8..64]), 0..4), 1..160),
        assignments in prop::collection::vec((0usize..5, 0usize..120, prop::collection::vec(prop_oneof![0usize..4, 236usize..ORGS], 0..7), window(), window()), 0..40),
    ) {
        let assignments: Vec<_> = assignments.into_iter().map(|(u, r, orgs, f, t)| (u, r % roles.len(), orgs, f, t)).collect();
        let m = model(6, &roles, 5, &assignments);
        // Every organization an assignment names, its neighbours, and some around the code limit.
        let mut named: Vec<usize> = assignments.iter().flat_map(|a| a.2.iter().flat_map(|&o| [o, o + 1])).chain([0, 239, 240]).collect();
        named.sort();
        named.dedup();
        let mut orgs: Vec<Option<String>> = vec![None, Some("NOWHERE".into())];
        orgs.extend(named.into_iter().map(|o| Some(org(o))));
        assert_agrees(&m, 5, 6, &orgs);
    }
}

/// Role ids past what a user slot or a line holds (65,534) move their rows
/// and users to the wide paths; the answers must not change.
#[test]
fn role_ids_past_u16_agree_with_reference() {
    let count = 65_540;
    let mut roles = vec![Vec::new(); count];
    let granted = [3, 65_533, 65_534, 65_535, 65_536, 65_539];
    for (k, &r) in granted.iter().enumerate() {
        roles[r] = vec![(k % 2, Access::Read.bit() | Access::Update.bit(), if k == 2 { Access::Update.bit() } else { 0 })];
    }
    let assignments = vec![
        (0, 3, vec![], None, None),
        (0, 65_533, vec![], None, None),
        (1, 65_534, vec![1], None, None),
        (1, 3, vec![], Some(10), Some(50)),
        (2, 65_535, vec![], None, None),
        (3, 65_536, vec![250], None, None),
        (3, 65_539, vec![], None, Some(40)),
        (4, 65_533, vec![], None, None),
        (4, 65_534, vec![], None, None),
    ];
    let m = model(2, &roles, 5, &assignments);
    assert_agrees(&m, 5, 2, &[None, Some(org(1)), Some(org(250)), Some("NOWHERE".into())]);
}

/// Like [`assert_agrees`], for an index given rather than built.
fn assert_index_agrees(index: &Index, model: &Model, users: usize, eps: usize) {
    let orgs = [None, Some(org(0)), Some(org(1)), Some(org(250)), Some("NOWHERE".to_string())];
    for u in 0..users {
        let user = format!("u{u}");
        for e in 0..eps {
            let ep = ep_key(e);
            for access in Access::ALL {
                for o in &orgs {
                    for at in [0, 30, 60, 99] {
                        let at = Timestamp(at);
                        let expected = reference::check(model, &user, &ep, access, o.as_deref(), at);
                        assert_eq!(index.check_by_name(&user, &ep, access, o.as_deref(), at), expected, "{user} {ep} {access} {o:?} {at:?}");
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// An index patched for the users whose assignments changed
    /// ([`Index::with_users`]) answers as the reference does on the new
    /// model, through every slot layout: slots that overflow or stop
    /// overflowing, new users, deleted users, new organizations.
    #[test]
    fn patched_users_agree_with_reference(
        roles in prop::collection::vec(prop::collection::vec((0usize..4, 0u8..64, prop_oneof![4 => Just(0u8), 1 => 0u8..64]), 0..3), 1..20),
        before in prop::collection::vec((0usize..5, 0usize..20, prop::collection::vec(prop_oneof![0usize..2, 248usize..ORGS], 0..6), window(), window()), 0..24),
        after in prop::collection::vec((0usize..6, 0usize..20, prop::collection::vec(prop_oneof![0usize..2, 248usize..ORGS], 0..6), window(), window()), 0..24),
        deleted in prop::option::of(0usize..5),
        rounds in 1usize..3,
    ) {
        let fit = |list: Vec<AssignmentSpec>| -> Vec<AssignmentSpec> { list.into_iter().map(|(u, r, o, f, t)| (u, r % roles.len(), o, f, t)).collect() };
        let old = model(4, &roles, 5, &fit(before));
        let mut index = Index::build(&old);
        let mut current = old;
        for _ in 0..rounds {
            let mut next = model(4, &roles, 6, &fit(after.clone()));
            if let Some(d) = deleted {
                let user = format!("u{d}");
                next.users.remove(&user);
                for role in next.assignments_of(&user).iter().map(|a| a.role.clone()).collect::<Vec<_>>() {
                    next.assignments.remove(&user, &role);
                }
            }
            let changed: Vec<String> = (0..6).map(|u| format!("u{u}")).filter(|u| current.assignments_of(u) != next.assignments_of(u) || current.users.contains_key(u) != next.users.contains_key(u)).collect();
            index = index.with_users(&next, changed.iter().map(String::as_str));
            assert_index_agrees(&index, &next, 6, 4);
            current = next;
        }
    }
}
