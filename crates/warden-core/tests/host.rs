//! The model host against the store: random sequences of writes of every
//! kind go through the host's incremental path (plan on the snapshot,
//! validate what they touch, apply as a delta), and after every step the
//! host's snapshot must equal a model loaded and compiled from scratch from
//! the store: the model itself (so the conflicts register too), every check
//! decision on a sample, effective permissions and each user's SoD conflicts.
//! Runs on SQLite and on PostgreSQL.

use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use warden_core::{DutyEdit, Edit, ListEdit, ModelHost, PrivilegeEdit, Resolution, RoleEdit, Snapshot, UserEdit, Warden, WritePath};
use warden_model::{
    Access, AssignmentRule, Condition, ConditionOp, EntryPointKey, Model, Object, ObjectKind, ObjectRef, Organization, SessionType, SodRule,
    SodSide, TempSessionRequest, Timestamp, User,
};
use warden_store::Store;

/// A fixed instant, so that every run plans the same windows.
const NOW: Timestamp = Timestamp(1_790_000_000_000);
const HOUR: i64 = 3_600_000;

#[derive(Debug, Clone)]
enum Op {
    Assign { user: usize, role: usize, org: Option<usize>, window: bool, reason: bool },
    Revoke { user: usize, role: usize },
    AddUser { n: u8, finance: bool },
    DeleteUser { user: usize },
    SetEnabled { user: usize, enabled: bool },
    SetDepartment { user: usize, finance: bool },
    AddOrg { n: u8 },
    RoleDuty { role: usize, duty: usize, add: bool },
    RoleSubRole { role: usize, sub: usize, add: bool },
    DutyPrivilege { duty: usize, privilege: usize, add: bool },
    PrivilegeGrant { privilege: usize, entry_point: usize, access: usize, deny: bool },
    DeleteRole { role: usize },
    AddRule { n: u8, role: usize, finance: bool },
    DeleteRule { n: u8 },
    AddSodRule { n: u8, first: usize, second: usize },
    DeleteSodRule { n: u8 },
    Resolve { conflict: usize, allow: bool },
    TempSession { user: usize, role: usize, approve_with_reason: bool },
    RemoveCustomizations,
    ImportAssignments { rows: Vec<(usize, usize)> },
}

fn op() -> impl Strategy<Value = Op> {
    let i = || 0usize..64;
    prop_oneof![
        6 => (i(), i(), prop::option::of(0usize..4), any::<bool>(), any::<bool>()).prop_map(|(user, role, org, window, reason)| Op::Assign { user, role, org, window, reason }),
        3 => (i(), i()).prop_map(|(user, role)| Op::Revoke { user, role }),
        2 => (any::<u8>(), any::<bool>()).prop_map(|(n, finance)| Op::AddUser { n, finance }),
        1 => i().prop_map(|user| Op::DeleteUser { user }),
        2 => (i(), any::<bool>()).prop_map(|(user, enabled)| Op::SetEnabled { user, enabled }),
        2 => (i(), any::<bool>()).prop_map(|(user, finance)| Op::SetDepartment { user, finance }),
        1 => any::<u8>().prop_map(|n| Op::AddOrg { n }),
        3 => (i(), i(), any::<bool>()).prop_map(|(role, duty, add)| Op::RoleDuty { role, duty, add }),
        2 => (i(), i(), any::<bool>()).prop_map(|(role, sub, add)| Op::RoleSubRole { role, sub, add }),
        2 => (i(), i(), any::<bool>()).prop_map(|(duty, privilege, add)| Op::DutyPrivilege { duty, privilege, add }),
        2 => (i(), i(), 0usize..6, any::<bool>()).prop_map(|(privilege, entry_point, access, deny)| Op::PrivilegeGrant { privilege, entry_point, access, deny }),
        1 => i().prop_map(|role| Op::DeleteRole { role }),
        2 => (0u8..4, i(), any::<bool>()).prop_map(|(n, role, finance)| Op::AddRule { n, role, finance }),
        1 => (0u8..4).prop_map(|n| Op::DeleteRule { n }),
        2 => (0u8..4, i(), i()).prop_map(|(n, first, second)| Op::AddSodRule { n, first, second }),
        1 => (0u8..4).prop_map(|n| Op::DeleteSodRule { n }),
        2 => (i(), any::<bool>()).prop_map(|(conflict, allow)| Op::Resolve { conflict, allow }),
        2 => (i(), i(), any::<bool>()).prop_map(|(user, role, approve_with_reason)| Op::TempSession { user, role, approve_with_reason }),
        1 => Just(Op::RemoveCustomizations),
        1 => prop::collection::vec((i(), i()), 1..4).prop_map(|rows| Op::ImportAssignments { rows }),
    ]
}

fn pick<T: Clone>(list: &[T], i: usize) -> T {
    list[i % list.len()].clone()
}

fn names<V: Clone>(map: &warden_model::Map<String, V>) -> Vec<String> {
    map.keys().cloned().collect()
}

fn department(finance: bool) -> String {
    if finance { "Finance".into() } else { "Operations".into() }
}

/// Runs one operation; refusals (SoD, validation, unknown names) are part of the test.
async fn run(w: &Warden, op: &Op, dir: &std::path::Path) {
    let m = w.snapshot().await.expect("snapshot").model.clone();
    let (users, roles, duties, orgs) = (names(&m.users), names(&m.roles), names(&m.duties), names(&m.organizations));
    let privileges = names(&m.privileges);
    let entry_points: Vec<String> = m.entry_points.keys().map(ToString::to_string).collect();
    let list = |name: String, add: bool| if add { ListEdit::adding(vec![name]) } else { ListEdit { add: vec![], remove: vec![name] } };
    let result: Result<(), warden_core::CoreError> = match op.clone() {
        Op::Assign { user, role, org, window, reason } => {
            let orgs: Vec<String> = org.map(|o| pick(&orgs, o)).into_iter().collect();
            let (from, to) = if window { (Some(Timestamp(NOW.0 - HOUR)), Some(Timestamp(NOW.0 + HOUR))) } else { (None, None) };
            let reason = reason.then_some("covering a colleague");
            w.assign_with_override(&pick(&users, user), &pick(&roles, role), &orgs, from, to, NOW, reason).await.map(drop)
        }
        Op::Revoke { user, role } => w.revoke(&pick(&users, user), &pick(&roles, role)).await.map(drop),
        Op::AddUser { n, finance } => {
            let mut u = User::new(format!("prop{n}"));
            u.attributes.insert("department".into(), department(finance));
            w.add_user(u).await.map(drop)
        }
        Op::DeleteUser { user } => w.delete(&ObjectRef::new(ObjectKind::User, pick(&users, user)), None).await.map(drop),
        Op::SetEnabled { user, enabled } => {
            w.edit(&pick(&users, user), &Edit::User(UserEdit { enabled: Some(enabled), ..UserEdit::default() })).await.map(drop)
        }
        Op::SetDepartment { user, finance } => {
            let edit = UserEdit { set_attributes: vec![("department".into(), department(finance))], ..UserEdit::default() };
            w.edit(&pick(&users, user), &Edit::User(edit)).await.map(drop)
        }
        Op::AddOrg { n } => w.add_org(Organization { id: format!("PO{n}"), name: None }).await.map(drop),
        Op::RoleDuty { role, duty, add } => {
            let list = if add { ListEdit::adding(vec![pick(&duties, duty)]) } else { ListEdit { add: vec![], remove: vec![pick(&duties, duty)] } };
            w.edit(&pick(&roles, role), &Edit::Role(RoleEdit { duties: list, ..RoleEdit::default() })).await.map(drop)
        }
        Op::RoleSubRole { role, sub, add } => {
            let edit = RoleEdit { sub_roles: list(pick(&roles, sub), add), ..RoleEdit::default() };
            w.edit(&pick(&roles, role), &Edit::Role(edit)).await.map(drop)
        }
        Op::DutyPrivilege { duty, privilege, add } => {
            let edit = DutyEdit { privileges: list(pick(&privileges, privilege), add), ..DutyEdit::default() };
            w.edit(&pick(&duties, duty), &Edit::Duty(edit)).await.map(drop)
        }
        Op::PrivilegeGrant { privilege, entry_point, access, deny } => {
            let grant = vec![(pick(&entry_points, entry_point), vec![Access::ALL[access]])];
            let edit = if deny { PrivilegeEdit { deny: grant, ..PrivilegeEdit::default() } } else { PrivilegeEdit { allow: grant, ..PrivilegeEdit::default() } };
            w.edit(&pick(&privileges, privilege), &Edit::Privilege(edit)).await.map(drop)
        }
        Op::DeleteRole { role } => w.delete(&ObjectRef::new(ObjectKind::Role, pick(&roles, role)), None).await.map(drop),
        Op::AddRule { n, role, finance } => {
            let rule = AssignmentRule {
                name: format!("PropRule{n}"),
                role: pick(&roles, role),
                description: None,
                conditions: vec![Condition { attribute: "department".into(), op: ConditionOp::Equals, values: vec![department(finance)] }],
                organizations: vec![],
                excluded_users: vec![],
                enabled: true,
            };
            w.create(Object::AssignmentRule(rule)).await.map(drop)
        }
        Op::DeleteRule { n } => w.delete(&ObjectRef::new(ObjectKind::AssignmentRule, format!("PropRule{n}")), None).await.map(drop),
        Op::AddSodRule { n, first, second } => {
            let rule = SodRule {
                name: format!("PropSod{n}"),
                first: SodSide::Duty { duty: pick(&duties, first) },
                second: SodSide::Duty { duty: pick(&duties, second) },
                severity: Default::default(),
                risk: None,
                mitigation: None,
                valid_from: None,
                valid_to: None,
                enabled: true,
            };
            w.add_sod_rule(rule).await.map(drop)
        }
        Op::DeleteSodRule { n } => w.delete(&ObjectRef::new(ObjectKind::SodRule, format!("PropSod{n}")), None).await.map(drop),
        Op::Resolve { conflict, allow } => {
            let keys = names(&m.sod_conflicts);
            if keys.is_empty() {
                Ok(())
            } else {
                let resolution = if allow { Resolution::Allow { reason: "accepted risk".into() } } else { Resolution::Deny };
                w.sod_resolve(&pick(&keys, conflict), resolution, NOW).await.map(drop)
            }
        }
        Op::TempSession { user, role, approve_with_reason } => {
            let request = TempSessionRequest {
                user: pick(&users, user),
                roles: vec![pick(&roles, role)],
                organizations: vec![],
                session_type: SessionType::Merge,
                start: Timestamp(NOW.0 + HOUR),
                end: Timestamp(NOW.0 + 2 * HOUR),
                reason: Some("month end".into()),
            };
            match w.new_temp_session(&request).await {
                Ok(made) => {
                    let reason = approve_with_reason.then_some("accepted for month end");
                    w.acting_as("approver").approve_temp_session(&made.session.id, reason).await.map(drop)
                }
                Err(e) => Err(e),
            }
        }
        Op::RemoveCustomizations => w.remove_customizations(&[]).await.map(drop),
        Op::ImportAssignments { rows } => {
            let mut text = String::from("user,role\n");
            for (u, r) in rows {
                text.push_str(&format!("{},{}\n", pick(&users, u), pick(&roles, r)));
            }
            let path = dir.join("assignments.csv");
            std::fs::write(&path, text).expect("write csv");
            w.import_assignments(&path, None).await.map(drop)
        }
    };
    if let Err(e) = result {
        // Refused writes are expected; they must leave nothing behind (checked by the comparison).
        let _ = e;
    }
}

/// What differs between a snapshot and the reference built from scratch.
fn differences(got: &Snapshot, want: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    if got.revision != want.revision {
        out.push(format!("revision {} != {}", got.revision, want.revision));
    }
    for kind in ObjectKind::ALL {
        let a: Vec<Object> = got.model.objects_of(kind).collect();
        let b: Vec<Object> = want.model.objects_of(kind).collect();
        if a != b {
            out.push(format!("{kind:?} objects differ: {} vs {}", a.len(), b.len()));
        }
    }
    let model: &Model = &want.model;
    let mut users: BTreeSet<String> = model.users.keys().cloned().collect();
    users.extend(got.model.users.keys().cloned());
    let eps: Vec<EntryPointKey> = model.entry_points.keys().cloned().collect();
    let mut orgs: Vec<Option<String>> = vec![None];
    orgs.extend(model.organizations.keys().take(3).map(|o| Some(o.clone())));
    let ats = [NOW, Timestamp(NOW.0 + HOUR + 1)];
    'checks: for user in &users {
        for (k, ep) in eps.iter().enumerate() {
            for access in Access::ALL.into_iter().filter(|a| (k + *a as usize).is_multiple_of(3)) {
                for org in &orgs {
                    for at in ats {
                        let (a, b) = (got.index.check_by_name(user, ep, access, org.as_deref(), at), want.index.check_by_name(user, ep, access, org.as_deref(), at));
                        if a != b {
                            out.push(format!("check {user} {ep} {access:?} {org:?} {at}: {a:?} vs {b:?}"));
                            break 'checks;
                        }
                    }
                }
            }
        }
    }
    // Every permission either model grants a user, decided by both indexes.
    for user in &users {
        let (a, b) = (warden_engine::effective_permissions(&got.model, user, None, NOW), warden_engine::effective_permissions(model, user, None, NOW));
        if format!("{a:?}") != format!("{b:?}") {
            out.push(format!("effective permissions of {user} differ"));
        }
        for p in a.iter().chain(&b) {
            for access in p.allow.iter().chain(p.deny.iter()) {
                let (x, y) = (got.index.check_by_name(user, &p.entry_point, access, None, NOW), want.index.check_by_name(user, &p.entry_point, access, None, NOW));
                if x != y {
                    out.push(format!("check {user} {} {access:?} at {NOW}: {x:?} vs {y:?}", p.entry_point));
                }
            }
        }
    }
    let (view_a, view_b) = (got.model.access_view(), model.access_view());
    for user in model.users.keys() {
        let a = got.sod_index().user_conflicts_in(&got.model, &view_a, user, NOW);
        let b = want.sod_index().user_conflicts_in(model, &view_b, user, NOW);
        if format!("{a:?}") != format!("{b:?}") {
            out.push(format!("SoD conflicts of {user} differ: {a:?} vs {b:?}"));
        }
    }
    out
}

async fn reference(store: &dyn Store) -> Snapshot {
    let (model, revision) = store.load().await.expect("load");
    Snapshot::new(model, revision)
}

async fn run_sequence(store: Arc<dyn Store>, ops: &[Op]) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let host = ModelHost::open_with(store.clone(), WritePath::Incremental).await.expect("host");
    let w = Warden::with_host(host.clone(), "admin1").with_clock(Arc::new(|| NOW));
    w.load_demo(false, NOW).await.expect("demo");
    for (step, op) in ops.iter().enumerate() {
        run(&w, op, dir.path()).await;
        let got = host.snapshot();
        let want = reference(store.as_ref()).await;
        let diff = differences(&got, &want);
        assert!(diff.is_empty(), "after step {step} ({op:?}) of {ops:?}:\n{}", diff.join("\n"));
    }
    let full_loads = host.counters.full_loads.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(full_loads, 1, "the host loaded the model once, at open, and derived every other snapshot");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn the_host_matches_a_fresh_load_on_sqlite(ops in prop::collection::vec(op(), 1..24)) {
        runtime().block_on(async {
            let dir = tempfile::TempDir::new().expect("temp dir");
            let store = warden_store::open(None, dir.path()).await.expect("store");
            run_sequence(store, &ops).await;
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn the_host_matches_a_fresh_load_on_postgres(ops in prop::collection::vec(op(), 1..16)) {
        runtime().block_on(async {
            let Some(url) = postgres_database("host_prop").await else { return };
            let store = warden_store::open(Some(&url), std::path::Path::new(".")).await.expect("store");
            run_sequence(store, &ops).await;
        });
    }
}

/// A fresh PostgreSQL database ([`warden_store::testing`]).
async fn postgres_database(label: &str) -> Option<String> {
    warden_store::testing::fresh_postgres_database(label).await.map(|(url, _)| url)
}

/// The comparison must be able to fail: a delta that forgets which users a
/// write touched leaves the access index stale, and it is caught.
#[test]
fn a_broken_delta_is_caught() {
    runtime().block_on(async {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let store = warden_store::open(None, dir.path()).await.expect("store");
        let host = ModelHost::open_with(store.clone(), WritePath::Incremental).await.expect("host");
        let w = Warden::with_host(host.clone(), "admin1").with_clock(Arc::new(|| NOW));
        w.load_demo(false, NOW).await.expect("demo");
        let before = host.snapshot();
        // An enabled user and a role that changes what the user may do.
        let (user, role, model) = before
            .model
            .users
            .values()
            .filter(|u| u.enabled)
            .flat_map(|u| before.model.roles.keys().map(move |r| (u.id.clone(), r.clone())))
            .find_map(|(user, role)| {
                let mut model = (*before.model).clone();
                model.put(Object::Assignment(warden_model::Assignment::global(&user, &role)));
                let gains = warden_engine::effective_permissions(&model, &user, None, NOW).iter().any(|p| {
                    p.effective().iter().any(|access| {
                        warden_engine::reference::check(&before.model, &user, &p.entry_point, access, None, NOW) == warden_engine::Decision::Deny
                            && warden_engine::reference::check(&model, &user, &p.entry_point, access, None, NOW) == warden_engine::Decision::Allow
                    })
                });
                gains.then_some((user, role, model))
            })
            .expect("a user and a role that grants them more");
        let want = Snapshot::new(model.clone(), before.revision + 1);
        let broken = before.derive(model.clone(), before.revision + 1, &BTreeSet::new());
        assert!(!differences(&broken, &want).is_empty(), "a delta that patched no user must differ from a fresh build");
        let touched: BTreeSet<ObjectRef> = [Object::Assignment(warden_model::Assignment::global(&user, &role)).key()].into();
        let right = before.derive(model, before.revision + 1, &touched);
        assert_eq!(differences(&right, &want), Vec::<String>::new());
    });
}
