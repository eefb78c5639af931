//! The behaviour every [`Store`] backend must show, as a reusable test suite.
//!
//! Like the datastore suites of OpenFGA and SpiceDB: each backend provides a
//! [`Fixture`] and expands [`conformance_tests!`](crate::conformance_tests) in its
//! integration tests, so SQLite and PostgreSQL are held to one definition of
//! correct, including the audit trail's tamper evidence. The tampering statements
//! are plain SQL on the common schema (`objects`, `meta`, `audit_events`,
//! `audit_changes`), so any backend that keeps that schema can run them.
//!
//! Cases panic on failure, as tests do.

use crate::{
    ActivityEvent, ActivityFilter, AuditAnchor, AuditChange, AuditFilter, AuditVerification,
    Change, Commit, GENESIS_HASH, IdempotencyRecord, Layer, Precondition, Revision, Store, StoreDelta,
    StoreError, StoredResponse,
};
use std::sync::Arc;
use warden_model::{
    Access, AccessSet, Assignment, Duty, DutyExtension, EntryPoint, EntryPointGrant,
    EntryPointType, Grant, Licence, Model, Object, ObjectKind, ObjectRef, Organization, Policy,
    PolicyContextType, Privilege, Role, RoleExtension, Timestamp, User, UserKind,
};

/// One fresh, empty store of the backend under test, and a way behind its back.
#[async_trait::async_trait]
pub trait Fixture: Send + Sync {
    /// The store under test.
    fn store(&self) -> Arc<dyn Store>;
    /// Another handle on the same data, as a restarted process would open it.
    async fn reopen(&self) -> Arc<dyn Store>;
    /// Runs SQL (one or more `;`-separated statements) directly on the data, as
    /// someone with database access would, bypassing the store.
    async fn tamper(&self, sql: &str);
}

/// Expands to one `#[tokio::test]` per conformance case. `$fixture` is an
/// expression evaluating to a future of a fresh [`Fixture`], run once per case.
#[macro_export]
macro_rules! conformance_tests {
    // `$fixture` yields an `Option` of a fixture: `None` skips the case (the
    // fixture says why), for backends that need a server that may be absent.
    (optional $fixture:expr) => {
        $crate::conformance_tests!(@list @optional $fixture);
    };
    ($fixture:expr) => {
        $crate::conformance_tests!(@list @required $fixture);
    };
    (@list @$mode:ident $fixture:expr) => {
        $crate::conformance_tests!(@cases $mode $fixture;
            new_store_is_empty,
            commits_bump_revision_by_one,
            load_round_trips_every_kind,
            get_and_list,
            expected_revision_conflict_writes_nothing,
            delete_of_missing_key_writes_nothing,
            audit_records_before_and_after,
            identical_put_is_not_audited,
            empty_commit_is_still_audited,
            audit_filters,
            concurrent_commits_get_consecutive_revisions,
            reopen_keeps_everything,
            large_commit,
            odd_keys_round_trip,
            corrupt_row_is_named,
            verify_detects_edited_event,
            verify_detects_edited_change,
            verify_detects_deleted_event,
            verify_detects_deleted_event_row_only,
            verify_detects_deleted_change,
            verify_detects_reordered_events,
            verify_detects_reordered_changes,
            verify_detects_truncation,
            verify_detects_covered_truncation_with_anchor,
            verify_detects_edited_origin_and_layer,
            database_layer_overrides_and_hides_code,
            reimporting_code_keeps_customizations,
            preconditions_refuse_stale_versions,
            activity_is_recorded_and_filtered,
            activity_purge_commits_with_its_audit_event,
            activity_keeps_the_claimed_time_beside_the_received_one,
            leases_have_one_holder_until_they_expire,
            audit_pages_and_records_origin,
            wait_for_change_sees_another_handle,
            credential_hashes_stay_out_of_the_audit_trail,
            hashes_in_events_written_before_are_served_redacted,
            sign_in_failures_lock_out_across_handles,
            concurrent_sign_in_failures_are_all_counted_and_lock_once,
            joined_keys_keep_names_apart,
            legacy_joined_keys_are_rekeyed,
            idempotency_record_commits_with_its_write,
            idempotency_key_in_use_refuses_the_write,
            idempotency_records_expire,
            changes_since_catches_a_follower_up,
            changes_since_bounds,
            changes_since_reads_one_snapshot,
        );
    };
    (@cases required $fixture:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture.await;
                $crate::conformance::$case(&fixture).await;
            }
        )*
    };
    (@cases optional $fixture:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(fixture) = $fixture.await {
                    $crate::conformance::$case(&fixture).await;
                }
            }
        )*
    };
}

// ---------------------------------------------------------------- sample data

pub fn user(id: &str) -> User {
    User::new(id)
}

/// Any model type, as the [`Object`] that wraps it; keeps the cases short.
pub trait IntoObject {
    fn into_object(self) -> Object;
}

macro_rules! into_object {
    ($($t:ident),*) => {
        $(impl IntoObject for $t {
            fn into_object(self) -> Object {
                Object::$t(self)
            }
        })*
    };
}
into_object!(
    EntryPoint,
    Privilege,
    Duty,
    Role,
    RoleExtension,
    DutyExtension,
    Policy,
    Organization,
    User,
    Assignment
);

impl IntoObject for Object {
    fn into_object(self) -> Object {
        self
    }
}

pub fn put(object: impl IntoObject) -> Change {
    Change::Put(object.into_object())
}

/// A commit by `tester` with the given changes.
pub fn commit(action: &str, changes: Vec<Change>) -> Commit {
    Commit {
        changes,
        ..Commit::new("tester", action)
    }
}

/// A small model with at least one object of every kind and most optional fields set.
pub fn sample_model() -> Model {
    let mut m = Model::default();
    let mut ep = EntryPoint::referenced(&warden_model::EntryPointKey::new(
        EntryPointType::MenuItemDisplay,
        "CustTable",
    ));
    ep.label = Some("Customers".into());
    ep.object = Some("CustTable".into());
    ep.view_licence = Licence::Universal;
    ep.maintain_licence = Licence::Enterprise;
    ep.model = Some("ApplicationSuite".into());
    m.put(Object::EntryPoint(ep));
    m.put(Object::EntryPoint(EntryPoint::referenced(
        &warden_model::EntryPointKey::new(EntryPointType::ServiceOperation, "CustService.find"),
    )));
    let mut read = Grant::default();
    read.allow.insert(Access::Read);
    read.deny = AccessSet(Access::Delete.bit());
    m.put(Object::Privilege(Privilege {
        name: "CustTableView".into(),
        label: Some("View customers".into()),
        description: None,
        model: Some("ApplicationSuite".into()),
        entry_points: vec![
            EntryPointGrant {
                name: "CustTable".into(),
                kind: EntryPointType::MenuItemDisplay,
                object: "CustTable".into(),
                child: None,
                grant: read,
                unmodelled: Vec::new(),
            },
            EntryPointGrant {
                name: "CustServiceFind".into(),
                kind: EntryPointType::ServiceOperation,
                object: "CustService".into(),
                child: Some("find".into()),
                grant: Grant::allow_all(),
                unmodelled: Vec::new(),
            },
        ],
        direct_access: vec![warden_model::TableGrant {
            table: "CustTable".into(),
            grant: read,
            unmodelled: Vec::new(),
        }],
        unmodelled: Vec::new(),
    }));
    m.put(Object::Duty(Duty {
        name: "CustInquire".into(),
        label: Some("Inquire into customers".into()),
        description: Some("Read-only customer work".into()),
        model: None,
        privileges: vec!["CustTableView".into()],
        unmodelled: Vec::new(),
    }));
    let mut clerk = Role::new("AccountsReceivableClerk");
    clerk.label = Some("Accounts receivable clerk".into());
    clerk.duties = vec!["CustInquire".into()];
    m.put(Object::Role(clerk));
    let mut manager = Role::new("AccountsReceivableManager");
    manager.sub_roles = vec!["AccountsReceivableClerk".into()];
    manager.privileges = vec!["CustTableView".into()];
    m.put(Object::Role(manager));
    m.put(Object::RoleExtension(RoleExtension {
        name: "AccountsReceivableClerk.Contoso".into(),
        target: "AccountsReceivableClerk".into(),
        model: Some("Contoso".into()),
        duties: vec![],
        privileges: vec!["CustTableView".into()],
        sub_roles: vec![],
        unmodelled: Vec::new(),
    }));
    m.put(Object::DutyExtension(DutyExtension {
        name: "CustInquire.Contoso".into(),
        target: "CustInquire".into(),
        model: Some("Contoso".into()),
        privileges: vec!["CustTableView".into()],
        unmodelled: Vec::new(),
    }));
    m.put(Object::Policy(Policy {
        name: "CustGroupPolicy".into(),
        label: None,
        description: Some("Only customers of group 10".into()),
        model: None,
        primary_table: "CustGroup".into(),
        query: "CustGroupQuery".into(),
        context_type: PolicyContextType::RoleName,
        context_string: None,
        role_name: Some("AccountsReceivableClerk".into()),
        constrained_tables: vec!["CustTable".into()],
        operation: Some("Select".into()),
        enabled: true,
        unmodelled: Vec::new(),
    }));
    m.put(Object::Organization(Organization {
        id: "USMF".into(),
        name: Some("Contoso Entertainment USA".into()),
    }));
    m.put(Object::Organization(Organization {
        id: "DEMF".into(),
        name: None,
    }));
    let mut alice = user("alice");
    alice.name = Some("Alice Ångström".into());
    alice.email = Some("alice@example.com".into());
    alice.attributes.insert("department".into(), "Finance".into());
    m.put(Object::User(alice));
    m.put(Object::AssignmentRule(warden_model::AssignmentRule {
        name: "FinanceClerks".into(),
        role: "AccountsReceivableClerk".into(),
        description: Some("Finance staff process receivables".into()),
        conditions: vec!["department=Finance|Accounting".parse().expect("a valid condition")],
        organizations: vec!["USMF".into()],
        excluded_users: vec!["svc-batch".into()],
        enabled: true,
    }));
    m.put(Object::SodRule(warden_model::SodRule {
        name: "InquireVsServiceFind".into(),
        first: warden_model::SodSide::Duty { duty: "CustInquire".into() },
        second: warden_model::SodSide::EntryPoint {
            entry_point: "ServiceOperation/CustService.find".parse().expect("a key"),
            access: warden_model::Access::Invoke,
        },
        severity: warden_model::Severity::High,
        risk: Some("one person both looks up and changes customers".into()),
        mitigation: None,
        valid_from: Some(Timestamp(1_700_000_000_000)),
        valid_to: None,
        enabled: true,
    }));
    m.put(Object::SodConflict(warden_model::SodConflict {
        user: "alice".into(),
        rule: "InquireVsServiceFind".into(),
        status: warden_model::ConflictStatus::Allowed,
        roles: vec!["AccountsReceivableClerk".into(), "AccountsReceivableManager".into()],
        organizations: vec!["USMF".into()],
        detected: Timestamp(1_700_000_000_000),
        source: "assignment".into(),
        reason: Some("covering for a colleague on leave".into()),
        decided_by: Some("admin".into()),
        decided: Some(Timestamp(1_700_000_100_000)),
    }));
    m.put(Object::Webhook(warden_model::Webhook {
        id: "wh_0001".into(),
        url: "https://alerts.example.com/warden".into(),
        events: vec!["sod.conflict.*".into()],
        enabled: true,
        generation: 1,
        created: Timestamp(1_700_000_000_000),
        description: Some("security operations".into()),
    }));
    m.put(Object::SodSettings(warden_model::SodSettings { check_similarity: true, similarity_level: 75, refuse_similar: false }));
    let change = |to: &str| warden_model::StatusChange {
        at: Timestamp(1_700_000_000_000),
        from: None,
        to: to.into(),
        by: "admin".into(),
        batch: false,
        self_approval: false,
        note: Some("created".into()),
    };
    m.put(Object::TempRoleSession(warden_model::TempRoleSession {
        id: "TRS-000001".into(),
        user: "alice".into(),
        roles: vec!["AccountsReceivableClerk".into()],
        organizations: vec!["USMF".into()],
        session_type: warden_model::SessionType::Replace,
        start: Timestamp(1_700_000_000_000),
        end: Timestamp(1_700_003_600_000),
        reason: Some("quarter close".into()),
        requested_by: "admin".into(),
        status: warden_model::TempStatus::Draft,
        approved_by: None,
        override_reason: None,
        started_at: None,
        ended_at: None,
        history: vec![change("draft")],
    }));
    m.put(Object::PrivilegedSession(warden_model::PrivilegedSession {
        id: "PUS-000001".into(),
        user: "alice".into(),
        start: Timestamp(1_700_000_000_000),
        end: Timestamp(1_700_003_600_000),
        action: warden_model::AccountAction::Enable,
        reason: None,
        requested_by: "admin".into(),
        status: warden_model::PrivilegedStatus::Ended,
        approved_by: Some("root".into()),
        original_enabled: Some(false),
        started_at: Some(Timestamp(1_700_000_000_500)),
        ended_at: Some(Timestamp(1_700_003_600_100)),
        recording_deleted: Some(warden_model::RecordingDeletion { at: Timestamp(1_700_004_000_000), by: "admin".into(), events: 12 }),
        recording_seal: Some(warden_model::RecordingSeal { events: 12, sha256: "ab".repeat(32), at: Timestamp(1_700_003_600_100) }),
        history: vec![change("draft")],
    }));
    m.put(Object::SessionSettings(warden_model::SessionSettings { allow_self_approval: true }));
    let mut svc = user("svc-batch");
    svc.kind = UserKind::ServiceAccount;
    svc.enabled = false;
    m.put(Object::User(svc));
    let mut scoped = Assignment::global("alice", "AccountsReceivableClerk");
    scoped.organizations = vec!["USMF".into(), "DEMF".into()];
    scoped.valid_from = Some(Timestamp(1_700_000_000_000));
    scoped.valid_to = Some(Timestamp(1_800_000_000_000));
    m.put(Object::Assignment(scoped));
    m.put(Object::Assignment(Assignment::global(
        "alice",
        "AccountsReceivableManager",
    )));
    m.put(Object::Assignment(Assignment::global(
        "svc-batch",
        "AccountsReceivableClerk",
    )));
    m.put(Object::Credential(warden_model::Credential {
        id: "tok_0123456789ab".into(),
        user: "svc-batch".into(),
        kind: warden_model::CredentialKind::ApiToken,
        hash: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8".into(),
        label: Some("nightly batch".into()),
        created: Timestamp(1_700_000_000_000),
        expires: Some(Timestamp(1_900_000_000_000)),
    }));
    m
}

fn every_kind_present(model: &Model) {
    let kinds: std::collections::BTreeSet<ObjectKind> = model.objects().map(|o| o.kind()).collect();
    assert_eq!(
        kinds.len(),
        ObjectKind::ALL.len(),
        "sample model lacks a kind: {kinds:?}"
    );
}

/// A trail of four events for the tampering cases:
/// 1 creates alice and bob; 2 updates alice and creates a role (two changes);
/// 3 deletes bob; 4 assigns the role to alice.
pub async fn seed_trail(store: &dyn Store) -> AuditAnchor {
    store
        .commit(commit(
            "user create",
            vec![put(user("alice")), put(user("bob"))],
        ))
        .await
        .expect("commit 1");
    let mut alice = user("alice");
    alice.email = Some("alice@example.com".into());
    store
        .commit(commit(
            "user update",
            vec![put(alice), put(Role::new("Clerk"))],
        ))
        .await
        .expect("commit 2");
    store
        .commit(commit(
            "user delete",
            vec![Change::Delete(key(ObjectKind::User, "bob"))],
        ))
        .await
        .expect("commit 3");
    store
        .commit(commit(
            "user assign",
            vec![put(Assignment::global("alice", "Clerk"))],
        ))
        .await
        .expect("commit 4");
    let anchor = store.audit_head().await.expect("audit head");
    assert_eq!(anchor.seq, 4);
    assert_intact(store, 4).await;
    anchor
}

pub fn key(kind: ObjectKind, name: &str) -> ObjectRef {
    ObjectRef::new(kind, name)
}

async fn assert_intact(store: &dyn Store, events: u64) {
    match store.verify_audit(None).await.expect("verify") {
        AuditVerification::Intact { events: n, head } => {
            assert_eq!(n, events);
            assert_eq!(head, store.audit_head().await.expect("head").hash);
        }
        broken => panic!("expected an intact trail of {events} events, got {broken:?}"),
    }
}

async fn assert_broken_at(store: &dyn Store, anchor: Option<&AuditAnchor>, seq: u64) -> String {
    match store.verify_audit(anchor).await.expect("verify") {
        AuditVerification::Broken { seq: s, reason } => {
            assert_eq!(s, seq, "reported at the wrong event: {reason}");
            reason
        }
        intact => panic!("expected a break at event {seq}, got {intact:?}"),
    }
}

async fn event_count(store: &dyn Store) -> usize {
    store
        .audit_events(&AuditFilter::default())
        .await
        .expect("audit events")
        .len()
}

fn body(object: impl IntoObject) -> serde_json::Value {
    object.into_object().to_body()
}

// ---------------------------------------------------------------------- cases

pub async fn new_store_is_empty(f: &dyn Fixture) {
    let store = f.store();
    assert_eq!(store.revision().await.unwrap(), 0);
    let (model, revision) = store.load().await.unwrap();
    assert_eq!((model, revision), (Model::default(), 0));
    assert_eq!(
        store.audit_head().await.unwrap(),
        AuditAnchor {
            seq: 0,
            hash: GENESIS_HASH.into()
        }
    );
    assert_eq!(
        store.verify_audit(None).await.unwrap(),
        AuditVerification::Intact {
            events: 0,
            head: GENESIS_HASH.into()
        }
    );
    assert!(store.list(ObjectKind::Role).await.unwrap().is_empty());
    assert!(
        store
            .get(&key(ObjectKind::Role, "Clerk"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn commits_bump_revision_by_one(f: &dyn Fixture) {
    let store = f.store();
    let before = Timestamp::now();
    for i in 1..=3u64 {
        let r = store
            .commit(commit("user create", vec![put(user(&format!("u{i}")))]))
            .await
            .unwrap();
        assert_eq!(r, i);
        assert_eq!(store.revision().await.unwrap(), i);
    }
    let after = Timestamp::now();
    let events = store.audit_events(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.seq, e.revision))
            .collect::<Vec<_>>(),
        vec![(1, 1), (2, 2), (3, 3)]
    );
    assert_eq!(events[0].prev_hash, GENESIS_HASH);
    for pair in events.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert!(pair[0].at <= pair[1].at);
    }
    assert!(events.iter().all(|e| before <= e.at
        && e.at <= after
        && e.actor == "tester"
        && e.action == "user create"));
    assert_intact(&*store, 3).await;
}

pub async fn load_round_trips_every_kind(f: &dyn Fixture) {
    let store = f.store();
    let model = sample_model();
    every_kind_present(&model);
    let changes = model.objects().map(Change::Put).collect();
    assert_eq!(
        store.commit(commit("import aot", changes)).await.unwrap(),
        1
    );
    let (loaded, revision) = store.load().await.unwrap();
    assert_eq!(revision, 1);
    assert_eq!(loaded, model);
}

pub async fn get_and_list(f: &dyn Fixture) {
    let store = f.store();
    let model = sample_model();
    store
        .commit(commit(
            "import aot",
            model.objects().map(Change::Put).collect(),
        ))
        .await
        .unwrap();
    for object in model.objects() {
        assert_eq!(
            store.get(&object.key()).await.unwrap().as_ref(),
            Some(&object)
        );
    }
    for kind in ObjectKind::ALL {
        let listed = store.list(kind).await.unwrap();
        let mut expected: Vec<Object> = model.objects().filter(|o| o.kind() == kind).collect();
        expected.sort_by(|a, b| a.key().name.cmp(&b.key().name));
        assert_eq!(listed, expected, "listing of {kind}");
    }
    assert!(
        store
            .get(&key(ObjectKind::User, "nobody"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn expected_revision_conflict_writes_nothing(f: &dyn Fixture) {
    let store = f.store();
    store
        .commit(commit("user create", vec![put(user("alice"))]))
        .await
        .unwrap();
    let stale = Commit {
        expected_revision: Some(0),
        ..commit("user create", vec![put(user("bob"))])
    };
    match store.commit(stale).await {
        Err(StoreError::Conflict {
            expected: 0,
            actual: 1,
        }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.revision().await.unwrap(), 1);
    assert!(
        store
            .get(&key(ObjectKind::User, "bob"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(event_count(&*store).await, 1);
    let current = Commit {
        expected_revision: Some(1),
        ..commit("user create", vec![put(user("bob"))])
    };
    assert_eq!(store.commit(current).await.unwrap(), 2);
    assert_intact(&*store, 2).await;
}

pub async fn delete_of_missing_key_writes_nothing(f: &dyn Fixture) {
    let store = f.store();
    store
        .commit(commit("user create", vec![put(user("alice"))]))
        .await
        .unwrap();
    let ghost = key(ObjectKind::User, "ghost");
    let c = commit(
        "user delete",
        vec![put(user("bob")), Change::Delete(ghost.clone())],
    );
    match store.commit(c).await {
        Err(StoreError::NotFound(k)) => assert_eq!(k, ghost),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(store.revision().await.unwrap(), 1);
    assert!(
        store
            .get(&key(ObjectKind::User, "bob"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(event_count(&*store).await, 1);
    assert_intact(&*store, 1).await;
}

pub async fn audit_records_before_and_after(f: &dyn Fixture) {
    let store = f.store();
    let v1 = user("alice");
    let mut v2 = user("alice");
    v2.enabled = false;
    let summary = serde_json::json!({ "reason": "left the company", "ticket": 4711 });
    store
        .commit(commit("user create", vec![put(v1.clone())]))
        .await
        .unwrap();
    store
        .commit(Commit {
            summary: summary.clone(),
            ..commit("user disable", vec![put(v2.clone())])
        })
        .await
        .unwrap();
    store
        .commit(commit(
            "user delete",
            vec![Change::Delete(key(ObjectKind::User, "alice"))],
        ))
        .await
        .unwrap();
    let events = store
        .audit_events(&AuditFilter {
            include_changes: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let alice = key(ObjectKind::User, "alice");
    let changes: Vec<Vec<AuditChange>> = events.iter().map(|e| e.changes.clone()).collect();
    assert_eq!(
        changes,
        vec![
            vec![AuditChange {
                object: alice.clone(),
                layer: Layer::Database,
                before: None,
                after: Some(body(v1.clone()))
            }],
            vec![AuditChange {
                object: alice.clone(),
                layer: Layer::Database,
                before: Some(body(v1)),
                after: Some(body(v2.clone()))
            }],
            vec![AuditChange {
                object: alice.clone(),
                layer: Layer::Database,
                before: Some(body(v2)),
                after: None
            }],
        ]
    );
    assert_eq!(events[1].summary, summary);
    assert_eq!(events[1].action, "user disable");
    assert!(store.get(&alice).await.unwrap().is_none());
    // Without include_changes the events come bare.
    let bare = store.audit_events(&AuditFilter::default()).await.unwrap();
    assert!(bare.iter().all(|e| e.changes.is_empty()));
    assert_eq!(
        bare.iter().map(|e| &e.hash).collect::<Vec<_>>(),
        events.iter().map(|e| &e.hash).collect::<Vec<_>>()
    );
}

pub async fn identical_put_is_not_audited(f: &dyn Fixture) {
    let store = f.store();
    store
        .commit(commit(
            "user create",
            vec![put(user("alice")), put(user("bob"))],
        ))
        .await
        .unwrap();
    let mut bob = user("bob");
    bob.name = Some("Bob".into());
    store
        .commit(commit(
            "import users",
            vec![put(user("alice")), put(bob.clone())],
        ))
        .await
        .unwrap();
    let events = store
        .audit_events(&AuditFilter {
            include_changes: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let objects: Vec<&ObjectRef> = events[1].changes.iter().map(|c| &c.object).collect();
    assert_eq!(objects, vec![&key(ObjectKind::User, "bob")]);
    assert_eq!(
        store.get(&key(ObjectKind::User, "bob")).await.unwrap(),
        Some(Object::User(bob))
    );
    assert_intact(&*store, 2).await;
}

pub async fn empty_commit_is_still_audited(f: &dyn Fixture) {
    let store = f.store();
    store
        .commit(commit("user create", vec![put(user("alice"))]))
        .await
        .unwrap();
    // Nothing changes, yet the action is recorded and the revision moves.
    let r = store
        .commit(commit("import users", vec![put(user("alice"))]))
        .await
        .unwrap();
    assert_eq!(r, 2);
    let r = store
        .commit(commit("review confirmed", vec![]))
        .await
        .unwrap();
    assert_eq!(r, 3);
    let events = store
        .audit_events(&AuditFilter {
            include_changes: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 3);
    assert!(events[1].changes.is_empty() && events[2].changes.is_empty());
    assert_intact(&*store, 3).await;
}

pub async fn audit_filters(f: &dyn Fixture) {
    let store = f.store();
    let alice = key(ObjectKind::User, "alice");
    store
        .commit(Commit {
            actor: "admin".into(),
            ..commit("user create", vec![put(user("alice")), put(user("bob"))])
        })
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let middle = Timestamp::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store
        .commit(commit(
            "user update",
            vec![put(User {
                enabled: false,
                ..user("bob")
            })],
        ))
        .await
        .unwrap();
    store
        .commit(Commit {
            actor: "admin".into(),
            ..commit("user delete", vec![Change::Delete(alice.clone())])
        })
        .await
        .unwrap();

    let seqs = |events: Vec<crate::AuditEvent>| events.iter().map(|e| e.seq).collect::<Vec<_>>();
    let by_actor = store
        .audit_events(&AuditFilter {
            actor: Some("admin".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(seqs(by_actor), vec![1, 3]);
    let since = store
        .audit_events(&AuditFilter {
            since: Some(middle),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(seqs(since), vec![2, 3]);
    let limited = store
        .audit_events(&AuditFilter {
            limit: Some(2),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(seqs(limited), vec![1, 2]);
    let history = store
        .audit_events(&AuditFilter {
            object: Some(alice.clone()),
            include_changes: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 3]
    );
    // Only alice's changes, though event 1 also created bob.
    assert!(
        history
            .iter()
            .all(|e| e.changes.len() == 1 && e.changes[0].object == alice)
    );
    let none = store
        .audit_events(&AuditFilter {
            actor: Some("tester".into()),
            object: Some(alice),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

pub async fn concurrent_commits_get_consecutive_revisions(f: &dyn Fixture) {
    let store = f.store();
    const PER_TASK: usize = 25;
    let tasks: Vec<_> = (0..2)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..PER_TASK {
                    let c = commit("user create", vec![put(user(&format!("t{t}-u{i}")))]);
                    revisions.push(store.commit(c).await.expect("concurrent commit"));
                }
                revisions
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    all.sort_unstable();
    assert_eq!(all, (1..=2 * PER_TASK as u64).collect::<Vec<_>>());
    let (model, revision) = store.load().await.unwrap();
    assert_eq!(
        (model.users.len(), revision),
        (2 * PER_TASK, 2 * PER_TASK as u64)
    );
    assert_intact(&*store, 2 * PER_TASK as u64).await;
}

pub async fn reopen_keeps_everything(f: &dyn Fixture) {
    let store = f.store();
    let model = sample_model();
    store
        .commit(commit(
            "import aot",
            model.objects().map(Change::Put).collect(),
        ))
        .await
        .unwrap();
    store
        .commit(commit(
            "user delete",
            vec![Change::Delete(key(ObjectKind::User, "svc-batch"))],
        ))
        .await
        .unwrap();
    let anchor = store.audit_head().await.unwrap();
    let events = store
        .audit_events(&AuditFilter {
            include_changes: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let (before, _) = store.load().await.unwrap();
    drop(store);

    let again = f.reopen().await;
    assert_eq!(again.revision().await.unwrap(), 2);
    assert_eq!(again.load().await.unwrap(), (before, 2));
    assert_eq!(
        again
            .audit_events(&AuditFilter {
                include_changes: true,
                ..AuditFilter::default()
            })
            .await
            .unwrap(),
        events
    );
    assert!(again.verify_audit(Some(&anchor)).await.unwrap().is_intact());
    assert_eq!(
        again
            .commit(commit("user create", vec![put(user("carol"))]))
            .await
            .unwrap(),
        3
    );
    assert!(again.verify_audit(Some(&anchor)).await.unwrap().is_intact());
    assert_intact(&*again, 3).await;
}

/// 50,000 objects in one commit, then a re-import that changes one, then a mass delete.
pub async fn large_commit(f: &dyn Fixture) {
    const USERS: usize = 10_000;
    let store = f.store();
    let mut changes = Vec::with_capacity(5 * USERS);
    for i in 0..2 * USERS {
        let mut ep = EntryPoint::referenced(&warden_model::EntryPointKey::new(
            EntryPointType::MenuItemDisplay,
            format!("MenuItem{i:05}"),
        ));
        ep.label = Some(format!("Menu item {i}"));
        changes.push(put(ep));
    }
    for u in 0..USERS {
        changes.push(put(user(&format!("user{u:05}"))));
        changes.push(put(Assignment::global(format!("user{u:05}"), "Clerk")));
        changes.push(put(Assignment::global(format!("user{u:05}"), "Manager")));
    }
    let total = changes.len();
    assert_eq!(total, 50_000);
    assert_eq!(
        store
            .commit(commit("import", changes.clone()))
            .await
            .unwrap(),
        1
    );
    let (model, _) = store.load().await.unwrap();
    assert_eq!(
        (
            model.entry_points.len(),
            model.users.len(),
            model.assignments.len()
        ),
        (2 * USERS, USERS, 2 * USERS)
    );
    let events = store
        .audit_events(&AuditFilter {
            include_changes: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(events[0].changes.len(), total);
    assert!(
        events[0]
            .changes
            .iter()
            .all(|c| c.before.is_none() && c.after.is_some())
    );

    // The same import again, with one user changed: one audited change.
    let mut changed = user("user04242");
    changed.enabled = false;
    changes.push(put(changed));
    store.commit(commit("import", changes)).await.unwrap();
    let events = store
        .audit_events(&AuditFilter {
            include_changes: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(events[1].changes.len(), 1);
    assert_eq!(
        events[1].changes[0].object,
        key(ObjectKind::User, "user04242")
    );

    let deletes = (0..USERS)
        .map(|u| Change::Delete(key(ObjectKind::User, &format!("user{u:05}"))))
        .collect();
    store.commit(commit("user delete", deletes)).await.unwrap();
    let (model, revision) = store.load().await.unwrap();
    assert_eq!(
        (model.users.len(), model.assignments.len(), revision),
        (0, 2 * USERS, 3)
    );
    assert_intact(&*store, 3).await;
}

/// Keys and bodies holding separators, control characters, quotes and non-ASCII
/// text come back exactly, however a backend batches its reads.
pub async fn odd_keys_round_trip(f: &dyn Fixture) {
    let store = f.store();
    let ids = [
        "",
        "a,b",
        "x\u{1e}y\u{1f}z",
        "O'Brien \"Bob\"",
        "ü/ß/名前",
        "tab\there",
        "-1",
        "a\\b",
    ];
    let mut model = Model::default();
    for id in ids {
        let mut u = user(id);
        u.name = Some(format!("{id}\u{1e},{id}"));
        model.put(Object::User(u));
        model.put(Object::Assignment(Assignment::global(id, "Clerk,Senior")));
    }
    store
        .commit(commit("import", model.objects().map(Change::Put).collect()))
        .await
        .unwrap();
    assert_eq!(store.load().await.unwrap(), (model.clone(), 1));
    let listed = store.list(ObjectKind::User).await.unwrap();
    assert_eq!(
        listed,
        model
            .users
            .values()
            .cloned()
            .map(Object::User)
            .collect::<Vec<_>>()
    );
    for object in model.objects() {
        assert_eq!(store.get(&object.key()).await.unwrap(), Some(object));
    }
    // Re-putting the same objects changes nothing; deleting finds every key.
    store
        .commit(commit("import", model.objects().map(Change::Put).collect()))
        .await
        .unwrap();
    let events = store
        .audit_events(&AuditFilter {
            include_changes: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(events[1].changes.is_empty(), "{:?}", events[1].changes);
    store
        .commit(commit(
            "delete",
            model.objects().map(|o| Change::Delete(o.key())).collect(),
        ))
        .await
        .unwrap();
    assert_eq!(store.load().await.unwrap(), (Model::default(), 3));
    assert_intact(&*store, 3).await;
}

pub async fn corrupt_row_is_named(f: &dyn Fixture) {
    let store = f.store();
    store
        .commit(commit(
            "user create",
            vec![put(user("alice")), put(user("bob"))],
        ))
        .await
        .unwrap();
    f.tamper("UPDATE objects SET body = '{\"id\": 42}' WHERE kind = 'user' AND key = 'bob'")
        .await;
    for result in [
        store.load().await.map(|_| ()),
        store.get(&key(ObjectKind::User, "bob")).await.map(|_| ()),
    ] {
        match result {
            Err(StoreError::Corrupt(message)) => assert!(message.contains("user bob"), "{message}"),
            other => panic!("expected Corrupt naming user bob, got {other:?}"),
        }
    }
    assert!(
        store
            .get(&key(ObjectKind::User, "alice"))
            .await
            .unwrap()
            .is_some()
    );
    // A put repairs the row.
    store
        .commit(commit("user repair", vec![put(user("bob"))]))
        .await
        .unwrap();
    assert_eq!(store.load().await.unwrap().0.users.len(), 2);
}

pub async fn verify_detects_edited_event(f: &dyn Fixture) {
    let store = f.store();
    seed_trail(&*store).await;
    f.tamper("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
        .await;
    assert_broken_at(&*store, None, 2).await;
}

pub async fn verify_detects_edited_change(f: &dyn Fixture) {
    let store = f.store();
    seed_trail(&*store).await;
    f.tamper("UPDATE audit_changes SET after = '{\"id\":\"alice\",\"enabled\":true}' WHERE seq = 2 AND idx = 0").await;
    assert_broken_at(&*store, None, 2).await;
}

pub async fn verify_detects_deleted_event(f: &dyn Fixture) {
    let store = f.store();
    seed_trail(&*store).await;
    f.tamper("DELETE FROM audit_changes WHERE seq = 2; DELETE FROM audit_events WHERE seq = 2")
        .await;
    let reason = assert_broken_at(&*store, None, 2).await;
    assert!(reason.contains("missing"), "{reason}");
}

pub async fn verify_detects_deleted_event_row_only(f: &dyn Fixture) {
    let store = f.store();
    seed_trail(&*store).await;
    f.tamper("DELETE FROM audit_events WHERE seq = 1").await;
    assert_broken_at(&*store, None, 1).await;
}

pub async fn verify_detects_deleted_change(f: &dyn Fixture) {
    let store = f.store();
    seed_trail(&*store).await;
    f.tamper("DELETE FROM audit_changes WHERE seq = 2 AND idx = 1")
        .await;
    assert_broken_at(&*store, None, 2).await;
    f.tamper("DELETE FROM audit_changes WHERE seq = 1 AND idx = 0")
        .await;
    let reason = assert_broken_at(&*store, None, 1).await;
    assert!(
        reason.contains("change 0 of event 1 is missing"),
        "{reason}"
    );
}

pub async fn verify_detects_reordered_events(f: &dyn Fixture) {
    let store = f.store();
    seed_trail(&*store).await;
    // Swap events 2 and 3, changes included.
    f.tamper(
        "UPDATE audit_events SET seq = 1000 WHERE seq = 2; \
         UPDATE audit_events SET seq = 2 WHERE seq = 3; \
         UPDATE audit_events SET seq = 3 WHERE seq = 1000; \
         UPDATE audit_changes SET seq = 1000 WHERE seq = 2; \
         UPDATE audit_changes SET seq = 2 WHERE seq = 3; \
         UPDATE audit_changes SET seq = 3 WHERE seq = 1000",
    )
    .await;
    assert_broken_at(&*store, None, 2).await;
}

pub async fn verify_detects_reordered_changes(f: &dyn Fixture) {
    let store = f.store();
    seed_trail(&*store).await;
    f.tamper(
        "UPDATE audit_changes SET idx = 1000 WHERE seq = 2 AND idx = 0; \
         UPDATE audit_changes SET idx = 0 WHERE seq = 2 AND idx = 1; \
         UPDATE audit_changes SET idx = 1 WHERE seq = 2 AND idx = 1000",
    )
    .await;
    assert_broken_at(&*store, None, 2).await;
}

/// Dropping the last event is caught by the head the store records beside the trail.
pub async fn verify_detects_truncation(f: &dyn Fixture) {
    let store = f.store();
    seed_trail(&*store).await;
    f.tamper("DELETE FROM audit_events WHERE seq = 4").await;
    assert_broken_at(&*store, None, 4).await;
    f.tamper("DELETE FROM audit_changes WHERE seq = 4").await;
    assert_broken_at(&*store, None, 4).await;
}

/// Someone who also rewrites the recorded head is caught only by an anchor kept
/// outside the store; without one the shortened trail is self-consistent.
pub async fn verify_detects_covered_truncation_with_anchor(f: &dyn Fixture) {
    let store = f.store();
    let anchor = seed_trail(&*store).await;
    f.tamper(
        "DELETE FROM audit_changes WHERE seq = 4; \
         DELETE FROM audit_events WHERE seq = 4; \
         UPDATE meta SET revision = 3, audit_seq = 3, audit_hash = (SELECT hash FROM audit_events WHERE seq = 3)",
    )
    .await;
    assert!(store.verify_audit(None).await.unwrap().is_intact());
    let reason = assert_broken_at(&*store, Some(&anchor), 4).await;
    assert!(reason.contains("anchor"), "{reason}");
    // An anchor that does not match the event it names is a rewritten trail.
    let forged = AuditAnchor {
        seq: 2,
        hash: GENESIS_HASH.into(),
    };
    assert_broken_at(&*store, Some(&forged), 2).await;
}

// ---------------------------------------------------------------- layers, versions, activity

fn code_commit(action: &str, changes: Vec<Change>) -> Commit {
    Commit {
        layer: Layer::Code,
        origin: "cli".into(),
        ..commit(action, changes)
    }
}

fn role(name: &str, label: &str) -> Role {
    let mut r = Role::new(name);
    r.label = Some(label.into());
    r
}

pub async fn verify_detects_edited_origin_and_layer(f: &dyn Fixture) {
    let store = f.store();
    store
        .commit(code_commit("import aot", vec![put(role("Clerk", "code"))]))
        .await
        .unwrap();
    store
        .commit(Commit {
            origin: "api 10.0.0.7".into(),
            ..commit("role replace", vec![put(role("Clerk", "db"))])
        })
        .await
        .unwrap();
    assert_intact(&*store, 2).await;
    f.tamper("UPDATE audit_events SET origin = 'cli' WHERE seq = 2").await;
    assert_broken_at(&*store, None, 2).await;
    f.tamper("UPDATE audit_events SET origin = 'api 10.0.0.7' WHERE seq = 2; UPDATE audit_changes SET layer = 'database' WHERE seq = 1").await;
    assert_broken_at(&*store, None, 1).await;
}

pub async fn database_layer_overrides_and_hides_code(f: &dyn Fixture) {
    let store = f.store();
    let clerk = key(ObjectKind::Role, "Clerk");
    let buyer = key(ObjectKind::Role, "Buyer");
    store
        .commit(code_commit(
            "import aot",
            vec![put(role("Clerk", "code")), put(role("Buyer", "code"))],
        ))
        .await
        .unwrap();
    let v = store.get_versioned(&clerk).await.unwrap().unwrap();
    assert_eq!((v.layer, v.version), (Layer::Code, 1));
    store
        .commit(commit("role replace", vec![put(role("Clerk", "db"))]))
        .await
        .unwrap();
    store
        .commit(commit("role delete", vec![Change::Hide(buyer.clone())]))
        .await
        .unwrap();
    let v = store.get_versioned(&clerk).await.unwrap().unwrap();
    assert_eq!((v.layer, v.version), (Layer::Database, 2));
    assert_eq!(v.object, role("Clerk", "db").into_object());
    assert!(store.get(&buyer).await.unwrap().is_none());
    let (model, _) = store.load().await.unwrap();
    assert_eq!(model.roles.keys().collect::<Vec<_>>(), vec!["Clerk"]);
    assert_eq!(model.roles["Clerk"].label.as_deref(), Some("db"));
    assert_eq!(store.list(ObjectKind::Role).await.unwrap(), vec![role("Clerk", "db").into_object()]);
    let layers = store.layers(&buyer).await.unwrap();
    assert_eq!(
        layers.iter().map(|l| (l.layer, l.object.is_some())).collect::<Vec<_>>(),
        vec![(Layer::Code, true), (Layer::Database, false)]
    );
    let custom = store.layer_keys(Layer::Database, ObjectKind::Role).await.unwrap();
    assert_eq!(
        custom.iter().map(|k| (k.key.as_str(), k.hidden)).collect::<Vec<_>>(),
        vec![("Buyer", true), ("Clerk", false)]
    );
    // Dropping the customizations brings the code objects back.
    store
        .commit(commit(
            "customizations remove",
            vec![Change::Delete(buyer.clone()), Change::Delete(clerk.clone())],
        ))
        .await
        .unwrap();
    let (model, _) = store.load().await.unwrap();
    assert_eq!(model.roles.len(), 2);
    assert_eq!(model.roles["Clerk"].label.as_deref(), Some("code"));
    // The code layer cannot hide, and business data has no code layer.
    for bad in [
        code_commit("x", vec![Change::Hide(clerk.clone())]),
        commit("x", vec![Change::Hide(key(ObjectKind::User, "alice"))]),
    ] {
        assert!(matches!(store.commit(bad).await, Err(StoreError::Unsupported(_))));
    }
    // Business data in a code-layer commit lands in the database layer.
    store
        .commit(code_commit("demo load", vec![put(user("alice"))]))
        .await
        .unwrap();
    let alice = store.get_versioned(&key(ObjectKind::User, "alice")).await.unwrap().unwrap();
    assert_eq!(alice.layer, Layer::Database);
    let events = store
        .audit_events(&AuditFilter { after_seq: Some(4), include_changes: true, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(events[0].changes[0].layer, Layer::Database);
    assert_intact(&*store, 5).await;
}

pub async fn reimporting_code_keeps_customizations(f: &dyn Fixture) {
    let store = f.store();
    store
        .commit(code_commit("import aot", vec![put(role("Clerk", "code 1"))]))
        .await
        .unwrap();
    store
        .commit(commit("role replace", vec![put(role("Clerk", "db"))]))
        .await
        .unwrap();
    store
        .commit(code_commit("import aot", vec![put(role("Clerk", "code 2"))]))
        .await
        .unwrap();
    let clerk = key(ObjectKind::Role, "Clerk");
    let v = store.get_versioned(&clerk).await.unwrap().unwrap();
    assert_eq!(v.object, role("Clerk", "db").into_object());
    // The new code form is stored, under the customization; any row's change is a new version.
    assert_eq!(v.version, 3);
    let layers = store.layers(&clerk).await.unwrap();
    assert_eq!(layers[0].object, Some(role("Clerk", "code 2").into_object()));
}

pub async fn preconditions_refuse_stale_versions(f: &dyn Fixture) {
    let store = f.store();
    let alice = key(ObjectKind::User, "alice");
    store
        .commit(commit("user create", vec![put(user("alice"))]))
        .await
        .unwrap();
    let at = |version| Commit {
        preconditions: vec![Precondition {
            object: alice.clone(),
            version,
        }],
        ..commit("user update", vec![put(User { enabled: false, ..user("alice") })])
    };
    // Two administrators read version 1; the first write wins, the second is stale.
    assert_eq!(store.commit(at(Some(1))).await.unwrap(), 2);
    match store.commit(at(Some(1))).await {
        Err(StoreError::Stale {
            object,
            expected: Some(1),
            actual: Some(2),
        }) => assert_eq!(object, alice),
        other => panic!("expected Stale, got {other:?}"),
    }
    // "Must not exist" fails for an existing object and holds for a new one.
    assert!(matches!(
        store.commit(at(None)).await,
        Err(StoreError::Stale { actual: Some(2), .. })
    ));
    let create_bob = Commit {
        preconditions: vec![Precondition {
            object: key(ObjectKind::User, "bob"),
            version: None,
        }],
        ..commit("user create", vec![put(user("bob"))])
    };
    assert_eq!(store.commit(create_bob).await.unwrap(), 3);
    assert_eq!(store.revision().await.unwrap(), 3);
    assert_intact(&*store, 3).await;
}

pub async fn activity_is_recorded_and_filtered(f: &dyn Fixture) {
    let store = f.store();
    let event = |user: &str, kind: &str, at: i64| ActivityEvent {
        id: 0,
        at: Timestamp(at),
        user: user.into(),
        kind: kind.into(),
        source: Some("erp".into()),
        detail: serde_json::json!({ "ip": "10.0.0.1" }),
        claimed_at: None,
    };
    let mut ids = Vec::new();
    for (user, kind, at) in [
        ("alice", "sign_in", 1_000),
        ("bob", "sign_in_failed", 2_000),
        ("alice", "sign_out", 3_000),
        ("alice", "sign_in", 4_000),
    ] {
        ids.push(store.append_activity(&event(user, kind, at)).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let all = store.activity(&ActivityFilter::default()).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0], ActivityEvent { id: ids[0], ..event("alice", "sign_in", 1_000) });
    let alice_in = store
        .activity(&ActivityFilter {
            user: Some("alice".into()),
            kinds: vec!["sign_in".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(alice_in.iter().map(|e| e.at.0).collect::<Vec<_>>(), vec![1_000, 4_000]);
    let window = store
        .activity(&ActivityFilter {
            since: Some(Timestamp(2_000)),
            until: Some(Timestamp(4_000)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(window.len(), 2);
    let page = store
        .activity(&ActivityFilter {
            after_id: Some(ids[1]),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[2]]);
    // Activity is not an administrative change: no revision, no audit event.
    assert_eq!(store.revision().await.unwrap(), 0);
}

/// An application's claimed time is stored and read back beside the time the
/// event was received, and windows are cut by the received time only.
pub async fn activity_keeps_the_claimed_time_beside_the_received_one(f: &dyn Fixture) {
    let store = f.store();
    let event = |at: i64, claimed_at: Option<i64>| ActivityEvent {
        id: 0,
        at: Timestamp(at),
        user: "alice".into(),
        kind: "activity".into(),
        source: Some("erp via api 10.0.0.1".into()),
        detail: serde_json::json!({ "action": "post journal" }),
        claimed_at: claimed_at.map(Timestamp),
    };
    // Received at 9,000, claiming 1,000 (back-dated); received at 2,000 with no claim.
    let late = store.append_activity(&event(9_000, Some(1_000))).await.unwrap();
    let plain = store.append_activity(&event(2_000, None)).await.unwrap();
    let all = store.activity(&ActivityFilter::default()).await.unwrap();
    assert_eq!(all, vec![ActivityEvent { id: late, ..event(9_000, Some(1_000)) }, ActivityEvent { id: plain, ..event(2_000, None) }]);
    let window = store
        .activity(&ActivityFilter { since: Some(Timestamp(0)), until: Some(Timestamp(5_000)), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(window.iter().map(|e| e.id).collect::<Vec<_>>(), vec![plain], "the claim does not place the event");
}

/// One holder at a time; the holder renews; an expired lease goes to whoever asks.
pub async fn leases_have_one_holder_until_they_expire(f: &dyn Fixture) {
    let store = f.store();
    let long = std::time::Duration::from_secs(60);
    assert!(store.try_lease("webhooks", "replica-a", long).await.unwrap());
    assert!(!store.try_lease("webhooks", "replica-b", long).await.unwrap(), "held by a");
    assert!(store.try_lease("webhooks", "replica-a", long).await.unwrap(), "a renews");
    assert!(store.try_lease("other-job", "replica-b", long).await.unwrap(), "leases are per name");
    assert!(store.try_lease("short", "replica-a", std::time::Duration::from_millis(1)).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(store.try_lease("short", "replica-b", long).await.unwrap(), "expired: b takes it");
    assert!(!store.try_lease("short", "replica-a", long).await.unwrap());
    assert_eq!(store.revision().await.unwrap(), 0, "leases are not administrative changes");
}

/// A recording's deletion: the activity rows go in the same transaction as
/// the audit event, and a refused commit deletes nothing.
pub async fn activity_purge_commits_with_its_audit_event(f: &dyn Fixture) {
    let store = f.store();
    let event = |user: &str, kind: &str, at: i64| ActivityEvent {
        id: 0,
        at: Timestamp(at),
        user: user.into(),
        kind: kind.into(),
        source: None,
        detail: serde_json::json!({}),
        claimed_at: None,
    };
    for (user, kind, at) in [("alice", "check", 1_000), ("alice", "activity", 2_000), ("alice", "sign_in", 2_500), ("bob", "check", 2_000), ("alice", "check", 9_000)] {
        store.append_activity(&event(user, kind, at)).await.unwrap();
    }
    let purge = crate::ActivityPurge {
        user: "alice".into(),
        kinds: vec!["check".into(), "activity".into()],
        since: Timestamp(0),
        until: Timestamp(5_000),
    };
    let refused = store
        .commit(Commit { expected_revision: Some(7), purge_activity: vec![purge.clone()], ..commit("delete recording", vec![put(user("alice"))]) })
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
    assert_eq!(store.activity(&ActivityFilter::default()).await.unwrap().len(), 5, "a refused commit purges nothing");
    store.commit(Commit { purge_activity: vec![purge], ..commit("delete recording", vec![put(user("alice"))]) }).await.unwrap();
    let left: Vec<(String, String, i64)> =
        store.activity(&ActivityFilter::default()).await.unwrap().into_iter().map(|e| (e.user, e.kind, e.at.0)).collect();
    assert_eq!(
        left,
        vec![("alice".into(), "sign_in".into(), 2_500), ("bob".into(), "check".into(), 2_000), ("alice".into(), "check".into(), 9_000)]
    );
    assert_eq!(store.audit_events(&AuditFilter::default()).await.unwrap().len(), 1);
}

pub async fn audit_pages_and_records_origin(f: &dyn Fixture) {
    let store = f.store();
    for i in 0..5 {
        store
            .commit(Commit {
                origin: format!("api 10.0.0.{i}"),
                ..commit("user create", vec![put(user(&format!("u{i}")))])
            })
            .await
            .unwrap();
    }
    store.commit(commit("no origin", vec![])).await.unwrap();
    let page = store
        .audit_events(&AuditFilter {
            after_seq: Some(2),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(page[0].origin, "api 10.0.0.2");
    let last = store
        .audit_events(&AuditFilter {
            after_seq: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(last[0].origin, crate::DEFAULT_ORIGIN);
    assert_intact(&*store, 6).await;
}

pub async fn wait_for_change_sees_another_handle(f: &dyn Fixture) {
    let store = f.store();
    let other = f.reopen().await;
    let start = std::time::Instant::now();
    // Nothing happens: the wait ends at its timeout with the same revision.
    let r = store
        .wait_for_change(0, std::time::Duration::from_millis(150))
        .await
        .unwrap();
    assert_eq!(r, 0);
    assert!(start.elapsed() >= std::time::Duration::from_millis(140));
    let waiter = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .wait_for_change(0, std::time::Duration::from_secs(10))
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    other
        .commit(commit("user create", vec![put(user("alice"))]))
        .await
        .unwrap();
    let seen = tokio::time::timeout(std::time::Duration::from_secs(2), waiter)
        .await
        .expect("woken within a second or two")
        .unwrap();
    assert_eq!(seen, 1);
}

fn credential(id: &str, hash: &str, created: i64) -> warden_model::Credential {
    warden_model::Credential {
        id: id.into(),
        user: "alice".into(),
        kind: warden_model::CredentialKind::Password,
        hash: hash.into(),
        label: Some("laptop".into()),
        created: Timestamp(created),
        expires: Some(Timestamp(created + 1_000)),
    }
}

/// Every before and after body of every change, as text, for searching.
async fn all_changes_text(store: &dyn Store) -> String {
    let events = store
        .audit_events(&AuditFilter { include_changes: true, ..AuditFilter::default() })
        .await
        .expect("audit events");
    serde_json::to_string(&events.iter().flat_map(|e| e.changes.clone()).collect::<Vec<_>>()).expect("json")
}

/// A credential's create, change and delete are audited (who, for whom, when)
/// without its hash, and the chain covers exactly what is shown.
pub async fn credential_hashes_stay_out_of_the_audit_trail(f: &dyn Fixture) {
    let store = f.store();
    let (h1, h2) = ("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$Zmlyc3RoYXNo", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$c2Vjb25kaGFzaA");
    let id = "password:alice";
    store.commit(commit("user create", vec![put(user("alice"))])).await.unwrap();
    store.commit(commit("password set", vec![put(Object::Credential(credential(id, h1, 1_000)))])).await.unwrap();
    store.commit(commit("password set", vec![put(Object::Credential(credential(id, h2, 2_000)))])).await.unwrap();
    store.commit(commit("password remove", vec![Change::Delete(key(ObjectKind::Credential, id))])).await.unwrap();
    // The store itself keeps the hash: sign-in needs it.
    assert_eq!(store.load().await.unwrap().0.credentials.len(), 0);
    let events = store
        .audit_events(&AuditFilter { object: Some(key(ObjectKind::Credential, id)), include_changes: true, ..AuditFilter::default() })
        .await
        .unwrap();
    assert_eq!(events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["password set", "password set", "password remove"]);
    let shown = |created: i64| {
        let at = |ms: i64| serde_json::to_value(Timestamp(ms)).expect("a timestamp");
        serde_json::json!({"id": id, "user": "alice", "kind": "password", "label": "laptop", "created": at(created), "expires": at(created + 1_000)})
    };
    assert_eq!(events[0].changes[0].after, Some(shown(1_000)));
    assert_eq!((events[1].changes[0].before.clone(), events[1].changes[0].after.clone()), (Some(shown(1_000)), Some(shown(2_000))));
    assert_eq!((events[2].changes[0].before.clone(), events[2].changes[0].after.clone()), (Some(shown(2_000)), None));
    let text = all_changes_text(&*store).await;
    assert!(!text.contains("hash") && !text.contains("argon2"), "{text}");
    // Nor do the stored bytes hold it: dropping every change row that does
    // would break the chain, and it stays intact.
    f.tamper("DELETE FROM audit_changes WHERE before LIKE '%argon2%' OR after LIKE '%argon2%'").await;
    assert_intact(&*store, 4).await;
    // A bulk load with a credential in it is redacted too.
    let reopened = f.reopen().await;
    reopened.commit(commit("import", sample_model().objects().map(Change::Put).collect())).await.unwrap();
    let text = all_changes_text(&*reopened).await;
    assert!(!text.contains("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"), "{text}");
    f.tamper("DELETE FROM audit_changes WHERE after LIKE '%5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8%'").await;
    assert!(reopened.load().await.unwrap().0.credentials.values().all(|c| !c.hash.is_empty()), "the objects keep their hashes");
    assert_intact(&*reopened, 5).await;
}

/// Events written before redaction hold hashes in their stored bytes: every
/// reader gets them redacted, and the chain still verifies over the bytes.
pub async fn hashes_in_events_written_before_are_served_redacted(f: &dyn Fixture) {
    let store = f.store();
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$b2xkc2FsdA$b2xkLWNvZGUtaGFzaA";
    let c = credential("password:alice", hash, 1_000);
    store.commit(commit("user create", vec![put(user("alice"))])).await.unwrap();
    store.commit(commit("password set", vec![put(Object::Credential(c.clone()))])).await.unwrap();
    // Rewrite event 2 as the code before redaction wrote it: the whole body
    // in the change, and the event's hash (and the head) computed over it.
    let event = store
        .audit_events(&AuditFilter { after_seq: Some(1), ..AuditFilter::default() })
        .await
        .unwrap()
        .remove(0);
    let full = crate::codec::encode(&Object::Credential(c));
    let summary = event.summary.to_string();
    let header = crate::chain::EventHeader {
        seq: event.seq,
        revision: event.revision,
        at: event.at.0,
        actor: &event.actor,
        action: &event.action,
        origin: &event.origin,
        summary: &summary,
        change_count: 1,
    };
    let mut hasher = crate::chain::EventHasher::new(&event.prev_hash, &header);
    hasher.change("credential", "password:alice", "database", None, Some(&full));
    let old_hash = hasher.finish();
    f.tamper(&format!(
        "UPDATE audit_changes SET after = '{full}' WHERE seq = 2; \
         UPDATE audit_events SET hash = '{old_hash}' WHERE seq = 2; \
         UPDATE meta SET audit_hash = '{old_hash}'"
    ))
    .await;
    assert_intact(&*store, 2).await;
    let text = all_changes_text(&*store).await;
    assert!(text.contains("password:alice"), "{text}");
    assert!(!text.contains("hash") && !text.contains("argon2"), "{text}");
    // Filtered to the object, as `GET /audit?object=credential/...` asks.
    let by_object = store
        .audit_events(&AuditFilter { object: Some(key(ObjectKind::Credential, "password:alice")), include_changes: true, ..AuditFilter::default() })
        .await
        .unwrap();
    let after = by_object[0].changes[0].after.clone().unwrap_or_default();
    assert_eq!(after.get("user"), Some(&serde_json::json!("alice")));
    assert_eq!(after.get("hash"), None);
    // The next event chains onto the old one.
    store.commit(commit("user update", vec![put(user("bob"))])).await.unwrap();
    assert_intact(&*store, 3).await;
}

const LOCKOUT: crate::LockoutPolicy = crate::LockoutPolicy { max_failures: 3, window: std::time::Duration::from_secs(300) };

/// Failures count across handles (replicas, restarts); the third in the window
/// locks the key until the first leaves it; other keys are untouched.
pub async fn sign_in_failures_lock_out_across_handles(f: &dyn Fixture) {
    let a = f.store();
    let b = f.reopen().await;
    let t = |s: i64| Timestamp(1_700_000_000_000 + s * 1000);
    let first = a.record_sign_in_failure("user alice", t(0), &LOCKOUT).await.unwrap();
    assert_eq!((first.failures, first.locked_until, first.newly_locked), (1, None, false));
    a.record_sign_in_failure("user alice", t(10), &LOCKOUT).await.unwrap();
    assert_eq!(b.sign_in_locked_until("user alice", t(11)).await.unwrap(), None);
    let third = b.record_sign_in_failure("user alice", t(20), &LOCKOUT).await.unwrap();
    assert_eq!((third.failures, third.locked_until, third.newly_locked), (3, Some(t(300)), true));
    for store in [&a, &b] {
        assert_eq!(store.sign_in_locked_until("user alice", t(21)).await.unwrap(), Some(t(300)));
        assert_eq!(store.sign_in_locked_until("user bob", t(21)).await.unwrap(), None);
    }
    // A restart remembers it.
    let restarted = f.reopen().await;
    assert_eq!(restarted.sign_in_locked_until("user alice", t(299)).await.unwrap(), Some(t(300)));
    assert_eq!(restarted.sign_in_locked_until("user alice", t(300)).await.unwrap(), None, "over at the end of the window");
    // After the window, the first failure no longer counts: two left, no lockout.
    let later = restarted.record_sign_in_failure("user alice", t(301), &LOCKOUT).await.unwrap();
    assert_eq!((later.failures, later.locked_until), (3, Some(t(310))), "t(10), t(20), t(301)");
    assert!(later.newly_locked, "a new lockout after the first ended");
    // A success forgets the failures, not the lockout in force.
    restarted.clear_sign_in_failures("user alice").await.unwrap();
    assert_eq!(a.sign_in_locked_until("user alice", t(305)).await.unwrap(), Some(t(310)));
    let fresh = a.record_sign_in_failure("user alice", t(400), &LOCKOUT).await.unwrap();
    assert_eq!((fresh.failures, fresh.locked_until), (1, None));
    assert_eq!(a.revision().await.unwrap(), 0, "sign-in failures are not administrative changes");
}

/// Concurrent failures from two handles are each counted once and start one lockout.
pub async fn concurrent_sign_in_failures_are_all_counted_and_lock_once(f: &dyn Fixture) {
    let stores = [f.store(), f.reopen().await];
    let at = Timestamp(1_700_000_000_000);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let store = Arc::clone(&stores[i % 2]);
            tokio::spawn(async move { store.record_sign_in_failure("client 10.0.0.9", Timestamp(at.0 + i as i64), &LOCKOUT).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let mut counts: Vec<u64> = outcomes.iter().map(|o| o.failures).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=12).collect::<Vec<u64>>(), "each failure saw every one committed before it");
    assert_eq!(outcomes.iter().filter(|o| o.newly_locked).count(), 1, "{outcomes:?}");
    assert!(stores[1].sign_in_locked_until("client 10.0.0.9", Timestamp(at.0 + 100)).await.unwrap().is_some());
}

// ---------------------------------------------------------------- keys that join names

/// User `kx` with role `ka/kb` and user `kx/ka` with role `kb`, and the same
/// names as SoD conflicts: four objects whose bare joined keys would be one.
fn joined_names() -> Vec<Object> {
    let conflict = |user: &str, rule: &str| {
        Object::SodConflict(warden_model::SodConflict {
            user: user.into(),
            rule: rule.into(),
            status: warden_model::ConflictStatus::Unresolved,
            roles: vec!["A".into(), "B".into()],
            organizations: Vec::new(),
            detected: Timestamp(1_700_000_000_000),
            source: "assignment".into(),
            reason: None,
            decided_by: None,
            decided: None,
        })
    };
    vec![
        Object::Assignment(Assignment::global("kx", "ka/kb")),
        Object::Assignment(Assignment::global("kx/ka", "kb")),
        conflict("kx", "ka/kb"),
        conflict("kx/ka", "kb"),
    ]
}

pub async fn joined_keys_keep_names_apart(f: &dyn Fixture) {
    let store = f.store();
    let objects = joined_names();
    store
        .commit(commit("assign", objects.iter().cloned().map(Change::Put).collect()))
        .await
        .unwrap();
    let (model, _) = store.load().await.unwrap();
    assert_eq!(model.assignments.len(), 2, "{:?}", model.assignments);
    assert_eq!(model.sod_conflicts.len(), 2, "{:?}", model.sod_conflicts);
    for object in &objects {
        assert_eq!(store.get(&object.key()).await.unwrap().as_ref(), Some(object));
    }
    // Deleting one of each leaves the other.
    store
        .commit(commit(
            "revoke",
            vec![Change::Delete(objects[1].key()), Change::Delete(objects[3].key())],
        ))
        .await
        .unwrap();
    let (model, _) = store.load().await.unwrap();
    assert_eq!(model.assignments, vec![Assignment::global("kx", "ka/kb")]);
    assert_eq!(model.sod_conflicts.keys().collect::<Vec<_>>(), vec!["kx/ka%2Fkb"]);
}

/// A store written before keys escaped `/` holds `kx/ka/kb` for the
/// assignment of `kb` to `kx/ka`; the migration gives it the key its body
/// gives, so that a later delete by that key finds it.
pub async fn legacy_joined_keys_are_rekeyed(f: &dyn Fixture) {
    let store = f.store();
    let objects = joined_names();
    let legacy = [&objects[1], &objects[3]];
    store
        .commit(commit("assign", legacy.iter().map(|o| Change::Put((*o).clone())).collect()))
        .await
        .unwrap();
    f.tamper(
        "UPDATE objects SET key = 'kx/ka/kb' WHERE kind IN ('assignment', 'sod_conflict');
         DELETE FROM _sqlx_migrations WHERE description = 'joined_keys'",
    )
    .await;
    let store = f.reopen().await;
    for object in legacy {
        assert_eq!(store.get(&object.key()).await.unwrap().as_ref(), Some(object), "{}", object.key());
    }
    store
        .commit(commit("revoke", legacy.iter().map(|o| Change::Delete(o.key())).collect()))
        .await
        .unwrap();
    let (model, _) = store.load().await.unwrap();
    assert!(model.assignments.is_empty() && model.sod_conflicts.is_empty(), "{model:?}");
}

// ---------------------------------------------------------------- idempotency keys

const DAY_MS: i64 = 86_400_000;

fn idem(scope: &str, key: &str, created: i64, response: Option<StoredResponse>) -> IdempotencyRecord {
    IdempotencyRecord {
        scope: scope.into(),
        key: key.into(),
        fingerprint: format!("fp-{key}"),
        created: Timestamp(created),
        expires: Timestamp(created + DAY_MS),
        revision: None,
        response,
    }
}

fn answer(status: u16, body: &str) -> StoredResponse {
    StoredResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into()), ("location".into(), "/api/v1/users/x".into())],
        body: body.as_bytes().to_vec(),
    }
}

/// The record is written by the commit that does the write, with its
/// revision; a refused commit leaves no record; an answer stored later never
/// replaces the first.
pub async fn idempotency_record_commits_with_its_write(f: &dyn Fixture) {
    let store = f.store();
    let now = 1_000_000;
    let refused = store
        .commit(Commit { expected_revision: Some(9), idempotency: Some(idem("alice tok_1", "k1", now, None)), ..commit("user create", vec![put(user("u1"))]) })
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
    assert_eq!(store.idempotency("alice tok_1", "k1", Timestamp(now)).await.unwrap(), None, "a refused commit records no key");

    let rev = store.commit(Commit { idempotency: Some(idem("alice tok_1", "k1", now, None)), ..commit("user create", vec![put(user("u1"))]) }).await.unwrap();
    let found = store.idempotency("alice tok_1", "k1", Timestamp(now + 1)).await.unwrap().expect("recorded with the write");
    assert_eq!(found, IdempotencyRecord { revision: Some(rev), ..idem("alice tok_1", "k1", now, None) });
    assert_eq!(store.idempotency("bob tok_2", "k1", Timestamp(now)).await.unwrap(), None, "keys are per caller");

    assert!(store.complete_idempotency("alice tok_1", "k1", &answer(201, "{\"first\":true}")).await.unwrap());
    assert!(!store.complete_idempotency("alice tok_1", "k1", &answer(500, "second")).await.unwrap(), "the first answer stays");
    assert!(!store.complete_idempotency("alice tok_1", "missing", &answer(201, "x")).await.unwrap());
    let found = f.reopen().await.idempotency("alice tok_1", "k1", Timestamp(now)).await.unwrap().expect("still there after a restart");
    assert_eq!(found.response, Some(answer(201, "{\"first\":true}")));

    // An answer known before the commit goes in with it, bytes intact.
    let body = "{\"x\":\"\u{e9}\\u0000\"}";
    let rev = store.commit(Commit { idempotency: Some(idem("alice tok_1", "k2", now, Some(answer(201, body)))), ..commit("user create", vec![put(user("u2"))]) }).await.unwrap();
    let found = store.idempotency("alice tok_1", "k2", Timestamp(now)).await.unwrap().expect("recorded");
    assert_eq!((found.revision, found.response), (Some(rev), Some(answer(201, body))));
}

/// A key a caller already used (another request committed first) refuses
/// the second write entirely: no object, no audit event, no new revision.
pub async fn idempotency_key_in_use_refuses_the_write(f: &dyn Fixture) {
    let store = f.store();
    let now = 5_000_000;
    store.commit(Commit { idempotency: Some(idem("alice s1", "retry-me", now, None)), ..commit("user create", vec![put(user("u1"))]) }).await.unwrap();
    let again = store
        .commit(Commit { idempotency: Some(idem("alice s1", "retry-me", now + 10, None)), ..commit("user create", vec![put(user("u2"))]) })
        .await;
    assert!(matches!(&again, Err(StoreError::IdempotencyKeyInUse { key }) if key == "retry-me"), "{again:?}");
    assert_eq!(store.revision().await.unwrap(), 1);
    assert_eq!(store.get(&ObjectRef::new(ObjectKind::User, "u2")).await.unwrap(), None);
    assert_eq!(event_count(store.as_ref()).await, 1);
    assert_intact(store.as_ref(), 1).await;
    // Another caller's identical key is another key.
    store.commit(Commit { idempotency: Some(idem("bob s2", "retry-me", now, None)), ..commit("user create", vec![put(user("u2"))]) }).await.unwrap();
}

/// After 24 hours a key is forgotten: not found, usable again, and purged.
pub async fn idempotency_records_expire(f: &dyn Fixture) {
    let store = f.store();
    let t0 = 10 * DAY_MS;
    store.commit(Commit { idempotency: Some(idem("alice s1", "old", t0, None)), ..commit("user create", vec![put(user("u1"))]) }).await.unwrap();
    store.commit(Commit { idempotency: Some(idem("alice s1", "young", t0 + DAY_MS / 2, None)), ..commit("user create", vec![put(user("u2"))]) }).await.unwrap();
    assert!(store.idempotency("alice s1", "old", Timestamp(t0 + DAY_MS - 1)).await.unwrap().is_some());
    assert_eq!(store.idempotency("alice s1", "old", Timestamp(t0 + DAY_MS)).await.unwrap(), None, "expired");
    assert_eq!(store.purge_idempotency(Timestamp(t0 + DAY_MS)).await.unwrap(), 1, "only the expired one");
    assert!(store.idempotency("alice s1", "young", Timestamp(t0 + DAY_MS)).await.unwrap().is_some());
    // An expired key that was not purged yet is replaced by a new use.
    let later = t0 + 3 * DAY_MS;
    let rev = store.commit(Commit { idempotency: Some(idem("alice s1", "young", later, None)), ..commit("user create", vec![put(user("u3"))]) }).await.unwrap();
    let found = store.idempotency("alice s1", "young", Timestamp(later)).await.unwrap().expect("reused");
    assert_eq!(found.revision, Some(rev));
}

// ---------------------------------------------------------------- the delta feed

/// What a follower does with a delta: put what is there, remove what is gone.
pub fn apply_delta(model: &mut Model, delta: &StoreDelta) {
    for (key, object) in &delta.objects {
        match object {
            Some(object) => model.put(object.clone()),
            None => {
                model.remove(key);
            }
        }
    }
}

/// Commits of every shape, each followed by a load: the models a follower
/// could hold, with the revisions they are at.
async fn commits_of_every_shape(store: &dyn Store) -> Vec<(Model, Revision)> {
    let mut seen = vec![store.load().await.expect("load")];
    let mut step = async |c: Commit| {
        store.commit(c).await.expect("commit");
        seen.push(store.load().await.expect("load"));
    };
    let clerk = key(ObjectKind::Role, "AccountsReceivableClerk");
    let manager = key(ObjectKind::Role, "AccountsReceivableManager");
    let mut alice = user("alice");
    alice.email = Some("alice@contoso.com".into());
    // Puts: new and changed objects, one of them changed twice.
    step(commit("user create", vec![put(alice.clone()), put(user("temp")), put(user("bob"))])).await;
    alice.name = Some("Alice A.".into());
    step(commit("user update", vec![put(alice), put(Role::new("Approver"))])).await;
    // Deletes, one of an object created after the follower's revision.
    step(commit(
        "user delete",
        vec![Change::Delete(key(ObjectKind::User, "temp")), Change::Delete(key(ObjectKind::User, "svc-batch"))],
    ))
    .await;
    // A code object hidden, one customized, then a new code form under the customization.
    step(commit("role delete", vec![Change::Hide(manager.clone())])).await;
    step(commit("role edit", vec![put(role("AccountsReceivableClerk", "customized"))])).await;
    step(code_commit("import aot", vec![put(role("AccountsReceivableClerk", "code 2")), put(role("Auditor", "code"))])).await;
    // The customization removed: the new code form shows.
    step(commit("customizations remove", vec![Change::Delete(clerk)])).await;
    // A code object removed from the code layer.
    step(code_commit("import aot", vec![Change::Delete(key(ObjectKind::Role, "Auditor"))])).await;
    // Assignments whose names hold '/', one revoked.
    let joined = [Assignment::global("kx", "ka/kb"), Assignment::global("kx/ka", "kb"), Assignment::global("bob", "Approver")];
    step(commit("user assign", joined.iter().cloned().map(put).collect())).await;
    step(commit(
        "user revoke",
        vec![
            Change::Delete(joined[1].clone().into_object().key()),
            Change::Delete(Assignment::global("alice", "AccountsReceivableManager").into_object().key()),
        ],
    ))
    .await;
    // Credentials: a new one, its hash changed, another removed.
    let (h1, h2) = ("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$b25l", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$dHdv");
    step(commit("password set", vec![put(Object::Credential(credential("password:alice", h1, 1_000)))])).await;
    step(commit("password set", vec![put(Object::Credential(credential("password:alice", h2, 2_000)))])).await;
    step(commit("token revoke", vec![Change::Delete(key(ObjectKind::Credential, "tok_0123456789ab"))])).await;
    // Nothing at all, and an identical put.
    step(commit("confirm", Vec::new())).await;
    step(commit("user update", vec![put(user("bob"))])).await;
    seen
}

/// The sample model imported as AOT would be (security objects in the code
/// layer, the rest in the database layer); returns the revision.
async fn import_sample(store: &dyn Store) -> Revision {
    store
        .commit(code_commit("import aot", sample_model().objects().map(Change::Put).collect()))
        .await
        .expect("import")
}

pub async fn changes_since_catches_a_follower_up(f: &dyn Fixture) {
    let store = f.store();
    import_sample(&*store).await;
    let seen = commits_of_every_shape(&*store).await;
    let (now, revision) = store.load().await.unwrap();
    assert_eq!(revision, store.revision().await.unwrap());
    // From every revision a follower may hold, the store's own start included.
    let from_scratch = (Model::default(), 0);
    for (held, since) in std::iter::once(&from_scratch).chain(&seen) {
        let delta = store.changes_since(*since, 10_000).await.unwrap().expect("the trail bridges the gap");
        assert_eq!((delta.since, delta.revision), (*since, revision));
        let keys: Vec<(&str, &str)> = delta.objects.iter().map(|(k, _)| (k.kind.code(), k.name.as_str())).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "each key once, in key order: {keys:?}");
        for (key, object) in &delta.objects {
            assert_eq!(object.as_ref().map(Object::key).as_ref(), object.as_ref().map(|_| key), "an object under its own key");
        }
        let mut follower = held.clone();
        apply_delta(&mut follower, &delta);
        assert_eq!(follower, now, "caught up from revision {since}");
    }
    // Credentials come with their hashes: a follower signs people in.
    let delta = store.changes_since(seen[11].1, 10_000).await.unwrap().unwrap();
    let password = delta.objects.iter().find_map(|(k, o)| (k.name == "password:alice").then_some(o.clone()));
    assert!(matches!(&password, Some(Some(Object::Credential(c))) if c.hash.contains("dHdv")), "{password:?}");
    // Keys that changed and changed back are still named (as they are now).
    let delta = store.changes_since(seen[0].1, 10_000).await.unwrap().unwrap();
    let named = |kind, name: &str| delta.objects.iter().any(|(k, _)| *k == key(kind, name));
    assert!(named(ObjectKind::User, "temp") && named(ObjectKind::Role, "Auditor") && named(ObjectKind::Role, "AccountsReceivableClerk"));
}

pub async fn changes_since_bounds(f: &dyn Fixture) {
    let store = f.store();
    assert_eq!(
        store.changes_since(0, 0).await.unwrap(),
        Some(StoreDelta { since: 0, revision: 0, objects: Vec::new() }),
        "a new store: nothing to catch up on"
    );
    assert_eq!(store.changes_since(1, 100).await.unwrap(), None, "ahead of the store");
    let r = import_sample(&*store).await;
    store.commit(commit("user create", vec![put(user("u1")), put(user("u2"))])).await.unwrap();
    store.commit(commit("user update", vec![put(user("u2")), put(user("u3"))])).await.unwrap();
    store.commit(commit("confirm", Vec::new())).await.unwrap();
    let now = store.revision().await.unwrap();
    assert_eq!(store.changes_since(now, 0).await.unwrap(), Some(StoreDelta { since: now, revision: now, objects: Vec::new() }));
    assert_eq!(store.changes_since(now + 1, usize::MAX).await.unwrap(), None);
    // Three keys changed since r (u2 twice), none in the empty commit.
    let delta = store.changes_since(r, 3).await.unwrap().expect("exactly at the limit");
    let names: Vec<&str> = delta.objects.iter().map(|(k, _)| k.name.as_str()).collect();
    assert_eq!(names, ["u1", "u2", "u3"]);
    assert_eq!(store.changes_since(r, 2).await.unwrap(), None, "more keys than the limit");
    assert_eq!(store.changes_since(now - 1, 0).await.unwrap().map(|d| d.objects.len()), Some(0), "an empty commit changes no key");
    let everything = sample_model().objects().count() + 3;
    assert!(store.changes_since(0, everything).await.unwrap().is_some());
    assert_eq!(store.changes_since(0, everything - 1).await.unwrap(), None);
    // Another handle (a replica, the CLI beside a server) reads the same delta.
    assert_eq!(f.reopen().await.changes_since(r, 3).await.unwrap(), Some(delta));
    // Many changes, each key twice: keys are counted once however far apart their changes are.
    let many: Vec<User> = (0..1_500).map(|i| user(&format!("m{i:04}"))).collect();
    store.commit(commit("user create", many.iter().cloned().map(put).collect())).await.unwrap();
    let disabled = many.iter().map(|u| put(User { enabled: false, ..u.clone() })).collect();
    store.commit(commit("user disable", disabled)).await.unwrap();
    let delta = store.changes_since(now, 1_500).await.unwrap().expect("1,500 keys in 3,000 changes");
    assert_eq!(delta.objects.len(), 1_500);
    assert!(delta.objects.iter().all(|(_, o)| matches!(o, Some(Object::User(u)) if !u.enabled)));
    assert_eq!(store.changes_since(now, 1_499).await.unwrap(), None);
    assert_eq!(store.changes_since(now - 1, 1_502).await.unwrap().map(|d| d.objects.len()), Some(1_500), "the empty commit, then these");
}

/// Objects and revision come from one snapshot: a delta read while another
/// handle commits brings a follower exactly to the revision it names.
pub async fn changes_since_reads_one_snapshot(f: &dyn Fixture) {
    let store = f.store();
    let writer = f.reopen().await;
    // Commit i (from 1) creates u{i} and sets the counter user's name to i, so
    // that the model at any revision is known.
    let at = |r: u64| {
        let mut m = Model::default();
        for i in 1..=r {
            m.put(Object::User(user(&format!("u{i}"))));
        }
        if r > 0 {
            m.put(Object::User(User { name: Some(r.to_string()), ..user("counter") }));
        }
        m
    };
    const COMMITS: u64 = 60;
    let writing = tokio::spawn(async move {
        for i in 1..=COMMITS {
            let counter = User { name: Some(i.to_string()), ..user("counter") };
            writer.commit(commit("user create", vec![put(user(&format!("u{i}"))), put(counter)])).await.unwrap();
        }
    });
    let mut reads = 0;
    loop {
        let done = writing.is_finished();
        let delta = store.changes_since(0, 1_000).await.unwrap().expect("bridges");
        let mut follower = Model::default();
        apply_delta(&mut follower, &delta);
        assert_eq!(follower, at(delta.revision), "a delta read at revision {}", delta.revision);
        reads += 1;
        if done {
            assert_eq!(delta.revision, COMMITS);
            break;
        }
    }
    writing.await.unwrap();
    assert!(reads > 1, "read only once the writer was done");
}
