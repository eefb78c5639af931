//! The D365-size model: valid, and of the shape the benchmark issue asks for.

use std::collections::HashMap;
use warden_gen::{generate, requests, Scale, REFERENCE_INSTANT};
use warden_model::{EntryPointType, UserKind};

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole as f64
}

#[test]
fn d365_model_is_valid_and_shaped_like_the_issue() {
    let model = generate(Scale::D365, 42);
    let errors = model.validate();
    assert!(errors.is_empty(), "{} problems, first: {:?}", errors.len(), errors.first());
    assert!(model.validate_strict_errors().is_empty());

    assert_eq!(model.roles.len(), 1_000);
    assert_eq!(model.duties.len(), 5_000);
    assert_eq!(model.privileges.len(), 20_000);
    assert_eq!(model.entry_points.len(), 60_000);
    assert_eq!(model.organizations.len(), 200);
    assert_eq!(model.users.len(), 100_000);

    // Entry point mix.
    let mut kinds: HashMap<EntryPointType, usize> = HashMap::new();
    for k in model.entry_points.keys() {
        *kinds.entry(k.kind).or_default() += 1;
    }
    let display = share(kinds[&EntryPointType::MenuItemDisplay], 60_000);
    assert!((0.57..0.63).contains(&display), "{display}");
    assert!(model.entry_points.values().all(|e| e.model.is_some() == e.kind.is_menu_item()));

    // Roles: duties, sub-roles.
    let with_subs = model.roles.values().filter(|r| !r.sub_roles.is_empty()).count();
    assert!((0.17..0.23).contains(&share(with_subs, 1_000)), "{with_subs}");
    assert!(model.roles.values().all(|r| (12..=18).contains(&r.duties.len()) && r.privileges.len() <= 4));
    assert!(model.duties.values().all(|d| (6..=10).contains(&d.privileges.len())));
    assert!(model.privileges.values().all(|p| (1..=3).contains(&p.entry_points.len())));
    let grants: usize = model.privileges.values().map(|p| p.entry_points.len()).sum();
    let denying = model.privileges.values().flat_map(|p| &p.entry_points).filter(|g| !g.grant.deny.is_empty()).count();
    assert!((0.04..0.06).contains(&share(denying, grants)), "{denying}/{grants}");

    // Users and assignments.
    let services = model.users.values().filter(|u| u.kind == UserKind::ServiceAccount).count();
    let disabled = model.users.values().filter(|u| !u.enabled).count();
    assert!((0.015..0.025).contains(&share(services, 100_000)), "{services}");
    assert!((0.007..0.013).contains(&share(disabled, 100_000)), "{disabled}");
    let n = model.assignments.len();
    assert!((280_000..320_000).contains(&n), "{n}");
    let scoped = model.assignments.iter().filter(|a| !a.is_global()).count();
    let timed = model.assignments.iter().filter(|a| a.valid_from.is_some() || a.valid_to.is_some()).count();
    assert!((0.28..0.32).contains(&share(scoped, n)), "{scoped}");
    assert!((0.09..0.11).contains(&share(timed, n)), "{timed}");
    let expired = model.assignments.iter().filter(|a| a.valid_to.is_some_and(|t| t <= REFERENCE_INSTANT)).count();
    let future = model.assignments.iter().filter(|a| a.valid_from.is_some_and(|t| t > REFERENCE_INSTANT)).count();
    assert!(expired > 0 && future > 0);

    let stream = requests(&model, 10_000, 42);
    assert_eq!(stream.len(), 10_000);
    assert!(stream.iter().all(|r| model.users.contains_key(&r.user) && model.entry_points.contains_key(&r.entry_point)));
}
