//! Temporary role sessions and privileged user sessions through the services,
//! on the demo data, a real SQLite store and a clock the tests move by hand
//! (no sleeps): the state machines with who may make each move, access that
//! begins and ends exactly at the window's edges whether or not the processor
//! ran, catching up after downtime, and transitions that happen exactly once.

use std::sync::atomic::{AtomicI64, AtomicBool, Ordering};
use std::sync::Arc;
use tempfile::TempDir;
use warden_core::sessions::{Family, PrivilegedDecision};
use warden_core::{CoreError, Warden};
use warden_engine::Index;
use warden_model::{
    Access, AccountAction, ConflictStatus, EntryPointKey, EntryPointType, Model, Object, PrivilegedSessionRequest, PrivilegedStatus,
    SessionSettings, SessionType, SodRule, SodSide, TempSessionEdit, TempSessionRequest, TempStatus, Timestamp,
};
use warden_store::{ActivityEvent, AuditFilter, Store};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// 2026-03-10T12:00:00Z: the demo's windows are relative to the day it is loaded.
const T0: i64 = 1_773_144_000_000;

/// A clock the test sets.
#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn set(&self, t: i64) {
        self.0.store(t, Ordering::SeqCst);
    }
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

struct Fixture {
    _dir: TempDir,
    clock: TestClock,
    store: Arc<dyn Store>,
}

impl Fixture {
    async fn demo() -> Fixture {
        let dir = TempDir::new().expect("temp dir");
        let store = warden_store::open(None, dir.path()).await.expect("store opens");
        let clock = TestClock(Arc::new(AtomicI64::new(T0)));
        Warden::new(store.clone(), "setup").load_demo(false, Timestamp(T0)).await.expect("demo loads");
        Fixture { _dir: dir, clock, store }
    }

    /// The services acting as `actor` (kenji and mike are the demo's system administrators).
    fn as_(&self, actor: &str) -> Warden {
        let c = self.clock.clone();
        Warden::new(self.store.clone(), actor).with_clock(Arc::new(move || c.now()))
    }

    fn processor(&self) -> Warden {
        self.as_("processor").with_origin("processor")
    }

    async fn model(&self) -> Model {
        self.store.load().await.expect("load").0
    }

    /// The index's answer, held to the reference evaluator's.
    async fn allowed(&self, user: &str, ep: &str, access: Access, org: Option<&str>, at: i64) -> bool {
        let m = self.model().await;
        let key = EntryPointKey::new(EntryPointType::MenuItemDisplay, ep);
        let fast = Index::build(&m).check_by_name(user, &key, access, org, Timestamp(at));
        let slow = warden_engine::reference::check(&m, user, &key, access, org, Timestamp(at));
        assert_eq!(fast, slow, "index and reference disagree on {user} {ep} {access} {org:?} at {at}");
        fast.is_allowed()
    }

    /// Every status change of sessions in the audit trail, as `(session, from, to)`.
    async fn transitions(&self) -> Vec<(String, String, String)> {
        let all = self.store.audit_events(&AuditFilter { include_changes: true, ..Default::default() }).await.expect("audit");
        let status = |b: &Option<serde_json::Value>| b.as_ref().and_then(|v| v["status"].as_str()).unwrap_or("-").to_string();
        let mut out = Vec::new();
        for e in all {
            for c in e.changes.iter().filter(|c| matches!(c.object.kind, warden_model::ObjectKind::TempRoleSession | warden_model::ObjectKind::PrivilegedSession)) {
                let (from, to) = (status(&c.before), status(&c.after));
                if from != to {
                    out.push((c.object.name.clone(), from, to));
                }
            }
        }
        out
    }

    /// How many times the audit trail records `from` → `to` for any session.
    async fn count(&self, from: &str, to: &str) -> usize {
        self.transitions().await.iter().filter(|(_, f, t)| f == from && t == to).count()
    }

    async fn events(&self, action: &str) -> Vec<warden_store::AuditEvent> {
        let all = self.store.audit_events(&AuditFilter::default()).await.expect("audit");
        all.into_iter().filter(|e| e.action == action).collect()
    }
}

fn temp_request(user: &str, roles: &[&str], orgs: &[&str], kind: SessionType, start: i64, end: i64) -> TempSessionRequest {
    TempSessionRequest {
        user: user.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        organizations: orgs.iter().map(|o| o.to_string()).collect(),
        session_type: kind,
        start: Timestamp(start),
        end: Timestamp(end),
        reason: Some("quarter close".into()),
    }
}

/// Created by kenji, approved by mike: a planned session.
async fn planned(f: &Fixture, request: TempSessionRequest) -> String {
    let id = f.as_("kenji").new_temp_session(&request).await.expect("create").session.id;
    f.as_("mike").approve_temp_session(&id, None).await.expect("approve");
    id
}

// Demo facts used below: bella holds DEVSQLQueryExecuteView (Read, and Deny on
// Update) and SystemUser; DEVIntegDeveloperRole grants Delete on
// DEVIntegMessageTable, which bella lacks; hanna is disabled.
const DEV_ROLE: &str = "DEVIntegDeveloperRole";
const DEV_EP: &str = "DEVIntegMessageTable";

#[tokio::test]
async fn temporary_session_state_machine_with_who_may_move_it() {
    let f = Fixture::demo().await;
    let t = T0;
    let req = temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, t + HOUR, t + 2 * HOUR);

    // Only system administrators create.
    let e = f.as_("bella").new_temp_session(&req).await.expect_err("not an administrator");
    assert!(matches!(e, CoreError::NotPermitted(_)) && e.to_string().contains("SystemAdministrator"), "{e}");
    let s = f.as_("kenji").new_temp_session(&req).await.expect("create").session;
    assert_eq!((s.id.as_str(), s.status, s.requested_by.as_str()), ("TRS-000001", TempStatus::Draft, "kenji"));
    // An end is required to be after the start, and not in the past.
    let bad = temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, t + HOUR, t + HOUR);
    assert!(f.as_("kenji").new_temp_session(&bad).await.expect_err("empty").to_string().contains("is not after its start"));
    let past = temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, t - 2 * HOUR, t - HOUR);
    assert!(f.as_("kenji").new_temp_session(&past).await.expect_err("past").to_string().contains("already past"));
    let unknown = temp_request("bella", &["NoSuchRole"], &["USMF"], SessionType::Merge, t, t + HOUR);
    assert!(f.as_("kenji").new_temp_session(&unknown).await.expect_err("unknown role").to_string().contains("unknown role 'NoSuchRole'"));

    // The requester may not approve; a non-administrator may not either.
    let e = f.as_("kenji").approve_temp_session(&s.id, None).await.expect_err("self-approval");
    assert!(matches!(e, CoreError::NotPermitted(_)) && e.to_string().contains("another system administrator"), "{e}");
    assert!(matches!(f.as_("bella").approve_temp_session(&s.id, None).await, Err(CoreError::NotPermitted(_))));
    // Draft → planned by another administrator.
    let s = f.as_("mike").approve_temp_session(&s.id, None).await.expect("approve").session;
    assert_eq!((s.status, s.approved_by.as_deref()), (TempStatus::Planned, Some("mike")));
    assert!(matches!(f.as_("mike").approve_temp_session(&s.id, None).await, Err(CoreError::Transition { .. })), "planned is not draft");

    // Editing a planned session sends it back to draft.
    let edit = TempSessionEdit { end: Some(Timestamp(t + 3 * HOUR)), ..Default::default() };
    let s = f.as_("mike").edit_temp_session(&s.id, &edit).await.expect("edit").session;
    assert_eq!((s.status, s.end, s.approved_by.clone()), (TempStatus::Draft, Timestamp(t + 3 * HOUR), None));
    assert_eq!(s.history.last().and_then(|h| h.note.clone()).as_deref(), Some("edited; back to draft for approval"));
    let s = f.as_("mike").approve_temp_session(&s.id, None).await.expect("approve again").session;

    // Once the start has passed, a planned session can be neither edited nor cancelled.
    f.clock.set(t + HOUR);
    let e = f.as_("mike").edit_temp_session(&s.id, &edit).await.expect_err("started");
    assert!(e.to_string().contains("can no longer be edited"), "{e}");
    let e = f.as_("mike").cancel_temp_session(&s.id, None).await.expect_err("started");
    assert!(e.to_string().contains("cannot be cancelled"), "{e}");

    // Processing: only administrators by hand; planned → active at the start, active → ended at the end.
    assert!(matches!(f.as_("bella").process_session(Family::Temp, &s.id).await, Err(CoreError::NotPermitted(_))));
    let out = f.as_("kenji").process_session(Family::Temp, &s.id).await.expect("process");
    assert_eq!(out.transitions.iter().map(|t| (t.from.as_str(), t.to.as_str())).collect::<Vec<_>>(), [("planned", "active")]);
    let out = f.as_("kenji").process_session(Family::Temp, &s.id).await.expect("nothing due yet");
    assert!(out.transitions.is_empty());
    assert!(matches!(f.as_("kenji").cancel_temp_session(&s.id, None).await, Err(CoreError::Transition { .. })), "active");
    f.clock.set(t + 3 * HOUR);
    let out = f.processor().process_sessions().await.expect("batch");
    assert_eq!(out.transitions.iter().map(|t| (t.from.as_str(), t.to.as_str())).collect::<Vec<_>>(), [("active", "ended")]);
    let m = f.model().await;
    let s = &m.temp_role_sessions[&s.id];
    assert_eq!(s.status, TempStatus::Ended);
    let log: Vec<(Option<&str>, &str, &str, bool)> = s.history.iter().map(|h| (h.from.as_deref(), h.to.as_str(), h.by.as_str(), h.batch)).collect();
    assert_eq!(
        log,
        [
            (None, "draft", "kenji", false),
            (Some("draft"), "planned", "mike", false),
            (Some("planned"), "draft", "mike", false),
            (Some("draft"), "planned", "mike", false),
            (Some("planned"), "active", "kenji", false),
            (Some("active"), "ended", "processor", true),
        ]
    );
    for e in [f.as_("mike").edit_temp_session(&s.id, &edit).await.err(), f.as_("mike").cancel_temp_session(&s.id, None).await.err()] {
        assert!(matches!(e, Some(CoreError::Transition { .. })), "ended sessions do not move: {e:?}");
    }

    // Draft and planned sessions can be cancelled; cancelled ones stay so.
    let d = f.as_("kenji").new_temp_session(&temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, t + 5 * HOUR, t + 6 * HOUR)).await.unwrap().session;
    let d = f.as_("mike").cancel_temp_session(&d.id, Some("not needed")).await.expect("cancel draft").session;
    assert_eq!(d.status, TempStatus::Cancelled);
    assert!(matches!(f.as_("mike").approve_temp_session(&d.id, None).await, Err(CoreError::Transition { .. })));
    let p = planned(&f, temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, t + 5 * HOUR, t + 6 * HOUR)).await;
    assert_eq!(f.as_("kenji").cancel_temp_session(&p, None).await.expect("cancel planned").session.status, TempStatus::Cancelled);
}

#[tokio::test]
async fn self_approval_is_refused_unless_allowed_and_then_flagged() {
    let f = Fixture::demo().await;
    let s = f.as_("kenji").new_temp_session(&temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, T0 + HOUR, T0 + 2 * HOUR)).await.unwrap().session;
    assert!(matches!(f.as_("kenji").approve_temp_session(&s.id, None).await, Err(CoreError::NotPermitted(_))));
    assert!(matches!(f.as_("bella").set_session_settings(SessionSettings { allow_self_approval: true }).await, Err(CoreError::NotPermitted(_))));
    f.as_("mike").set_session_settings(SessionSettings { allow_self_approval: true }).await.expect("settings");
    let s = f.as_("kenji").approve_temp_session(&s.id, None).await.expect("self-approval allowed").session;
    assert!(s.history.last().unwrap().self_approval, "flagged in the session's log");
    let event = f.events("temp-session approve").await.pop().unwrap();
    assert_eq!(event.summary["self_approval"], true, "flagged in the audit trail");
}

#[tokio::test]
async fn privileged_session_state_machine() {
    let f = Fixture::demo().await;
    let t = T0;
    let req = |start: i64, end: i64, action| PrivilegedSessionRequest { user: "bella".into(), start: Timestamp(start), end: Timestamp(end), action, reason: None };

    let e = f.as_("kenji").new_privileged_session(&req(t, t + 24 * HOUR + MIN, AccountAction::Disable)).await.expect_err("too long");
    assert!(e.to_string().contains("at most 24 hours") && e.to_string().contains("24h 01m"), "{e}");
    assert!(matches!(f.as_("bella").new_privileged_session(&req(t, t + HOUR, AccountAction::Disable)).await, Err(CoreError::NotPermitted(_))));
    let a = f.as_("kenji").new_privileged_session(&req(t + HOUR, t + 25 * HOUR, AccountAction::Disable)).await.expect("exactly 24 h").session;
    assert_eq!((a.id.as_str(), a.status), ("PUS-000001", PrivilegedStatus::Draft));
    assert!(matches!(f.as_("kenji").decide_privileged_session(&a.id, PrivilegedDecision::Approve, None).await, Err(CoreError::NotPermitted(_))));
    let a = f.as_("mike").decide_privileged_session(&a.id, PrivilegedDecision::Approve, None).await.expect("approve").session;
    assert_eq!(a.status, PrivilegedStatus::Approved);
    assert!(matches!(f.as_("mike").decide_privileged_session(&a.id, PrivilegedDecision::Reject, None).await, Err(CoreError::Transition { .. })));

    // One account, one privileged session at a time.
    let b = f.as_("kenji").new_privileged_session(&req(t + 2 * HOUR, t + 3 * HOUR, AccountAction::Enable)).await.unwrap().session;
    let e = f.as_("mike").decide_privileged_session(&b.id, PrivilegedDecision::Approve, None).await.expect_err("overlap");
    assert!(e.to_string().contains("overlap"), "{e}");
    let b = f.as_("mike").decide_privileged_session(&b.id, PrivilegedDecision::Reject, Some("overlaps PUS-000001")).await.expect("reject").session;
    assert_eq!(b.status, PrivilegedStatus::Rejected);
    assert!(matches!(f.as_("mike").decide_privileged_session(&b.id, PrivilegedDecision::Cancel, None).await, Err(CoreError::Transition { .. })));

    // Approved and not started: cancellable; started: not.
    f.clock.set(t + HOUR);
    assert!(matches!(f.as_("mike").decide_privileged_session(&a.id, PrivilegedDecision::Cancel, None).await, Err(CoreError::Transition { .. })));
    f.processor().process_sessions().await.unwrap();
    assert_eq!(f.model().await.privileged_sessions[&a.id].status, PrivilegedStatus::Active);
    assert!(matches!(f.as_("mike").decide_privileged_session(&a.id, PrivilegedDecision::Cancel, None).await, Err(CoreError::Transition { .. })));
    f.clock.set(t + 25 * HOUR);
    f.processor().process_sessions().await.unwrap();
    assert_eq!(f.model().await.privileged_sessions[&a.id].status, PrivilegedStatus::Ended);
    let c = f.as_("kenji").new_privileged_session(&req(t + 26 * HOUR, t + 27 * HOUR, AccountAction::Disable)).await.unwrap().session;
    let c = f.as_("mike").decide_privileged_session(&c.id, PrivilegedDecision::Cancel, None).await.expect("cancel draft").session;
    assert_eq!(c.status, PrivilegedStatus::Cancelled);
}

#[tokio::test]
async fn merge_access_begins_and_ends_exactly_at_the_window_without_the_processor() {
    let f = Fixture::demo().await;
    let (start, end) = (T0 + HOUR, T0 + 2 * HOUR);
    assert!(!f.allowed("bella", DEV_EP, Access::Delete, None, start).await);
    let id = planned(&f, temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, start, end)).await;
    // Nothing processed: the window alone decides.
    assert!(!f.allowed("bella", DEV_EP, Access::Delete, None, start - 1).await);
    assert!(f.allowed("bella", DEV_EP, Access::Delete, None, start).await);
    assert!(f.allowed("bella", DEV_EP, Access::Delete, None, end - 1).await);
    assert!(!f.allowed("bella", DEV_EP, Access::Delete, None, end).await);
    // Merge keeps the user's own roles, Deny included.
    assert!(f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, start).await);
    assert!(!f.allowed("bella", "DEVSQLQueryExecute", Access::Update, None, start).await);
    assert_eq!(f.model().await.temp_role_sessions[&id].status, TempStatus::Planned, "nothing processed");
}

#[tokio::test]
async fn replace_suspends_own_roles_and_org_scopes_limit_the_session_roles() {
    let f = Fixture::demo().await;
    let (start, end) = (T0 + HOUR, T0 + 2 * HOUR);
    planned(&f, temp_request("bella", &[DEV_ROLE], &["USMF"], SessionType::Replace, start, end)).await;
    let mid = start + MIN;
    assert!(f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, start - 1).await, "own role before");
    assert!(!f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, mid).await, "own role suspended");
    assert!(!f.allowed("bella", "DEVBenchmarkLog", Access::Read, None, mid).await, "SystemUser suspended too");
    assert!(f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, end).await, "own role back at the end");
    assert!(f.allowed("bella", DEV_EP, Access::Delete, Some("USMF"), mid).await, "in the session's organization");
    assert!(!f.allowed("bella", DEV_EP, Access::Delete, Some("DEMF"), mid).await, "not in others");
    assert!(!f.allowed("bella", DEV_EP, Access::Delete, None, mid).await, "nor without one");
}

#[tokio::test]
async fn overlapping_sessions_for_one_user_add_up() {
    let f = Fixture::demo().await;
    // Merge 1h–3h with the developer role; Replace 2h–4h with the DMF role.
    planned(&f, temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, T0 + HOUR, T0 + 3 * HOUR)).await;
    planned(&f, temp_request("bella", &["DEVDMFToolsMaintain"], &[], SessionType::Replace, T0 + 2 * HOUR, T0 + 4 * HOUR)).await;
    let at = |h: i64| T0 + h * HOUR + MIN;
    // 1h–2h: own + developer.
    assert!(f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, at(1)).await);
    assert!(f.allowed("bella", DEV_EP, Access::Delete, None, at(1)).await);
    // 2h–3h: Replace suspends own roles; both sessions' roles count.
    assert!(!f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, at(2)).await);
    assert!(f.allowed("bella", DEV_EP, Access::Delete, None, at(2)).await);
    // 3h–4h: only the Replace session's role.
    assert!(!f.allowed("bella", DEV_EP, Access::Delete, None, at(3)).await);
    assert!(!f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, at(3)).await);
    // 4h on: back to her own.
    assert!(f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, at(4)).await);
    // The processor starts and ends each once, in order.
    f.clock.set(at(5));
    let out = f.processor().process_sessions().await.unwrap();
    assert_eq!(out.transitions.len(), 4, "{out:?}");
    assert!(f.processor().process_sessions().await.unwrap().transitions.is_empty());
}

#[tokio::test]
async fn permanent_role_changes_during_a_replace_session_are_kept() {
    let f = Fixture::demo().await;
    let (start, end) = (T0 + HOUR, T0 + 2 * HOUR);
    let id = planned(&f, temp_request("bella", &[DEV_ROLE], &[], SessionType::Replace, start, end)).await;
    f.clock.set(start);
    f.processor().process_sessions().await.unwrap();
    // During the session an administrator gives bella a permanent role and takes one away.
    f.clock.set(start + 10 * MIN);
    f.as_("kenji").assign("bella", "WDNDeveloperToolsAdministrator", &[], None, None, f.clock.now()).await.expect("assign");
    f.as_("kenji").revoke("bella", "DEVSQLQueryExecuteView").await.expect("revoke");
    let mid = start + 20 * MIN;
    let (dmf_ep, dmf_access) = ("DEVSysTableBrowser", Access::Update);
    assert!(!f.allowed("bella", dmf_ep, dmf_access, None, mid).await, "a permanent role waits for the Replace session to end");
    f.clock.set(end);
    f.processor().process_sessions().await.unwrap();
    assert_eq!(f.model().await.temp_role_sessions[&id].status, TempStatus::Ended);
    assert!(f.allowed("bella", dmf_ep, dmf_access, None, end).await, "the new role is kept");
    // The revoked view role stays revoked: its Deny on Update no longer holds the new role back.
    assert!(f.allowed("bella", "DEVSQLQueryExecute", Access::Update, None, end).await, "the revoked role stays revoked");
    let m = f.model().await;
    assert!(!m.assignments_of("bella").iter().any(|a| a.role == "DEVSQLQueryExecuteView"));
    assert!(m.assignments_of("bella").iter().any(|a| a.role == "WDNDeveloperToolsAdministrator"));
    // The role change log holds both changes.
    let log = f.as_("kenji").session_log(Family::Temp, &id).await.unwrap();
    let changes: Vec<(&str, &str)> = log.role_changes.as_ref().unwrap().iter().map(|c| (c.role.as_str(), c.change.as_str())).collect();
    assert_eq!(changes, [("WDNDeveloperToolsAdministrator", "added"), ("DEVSQLQueryExecuteView", "removed")]);
}

#[tokio::test]
async fn a_processor_that_was_down_catches_up_once_and_records_the_real_time() {
    let f = Fixture::demo().await;
    let (start, end) = (T0 + HOUR, T0 + 2 * HOUR);
    let id = planned(&f, temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, start, end)).await;
    // Down from before the start to after the end.
    f.clock.set(end + 5 * MIN);
    let out = f.processor().process_sessions().await.unwrap();
    let moves: Vec<(&str, &str, i64, i64)> = out.transitions.iter().map(|t| (t.from.as_str(), t.to.as_str(), t.due.0, t.at.0)).collect();
    assert_eq!(moves, [("planned", "active", start, end + 5 * MIN), ("active", "ended", end, end + 5 * MIN)]);
    let s = f.model().await.temp_role_sessions[&id].clone();
    assert_eq!((s.started_at, s.ended_at), (Some(Timestamp(end + 5 * MIN)), Some(Timestamp(end + 5 * MIN))));
    let late = s.history.iter().rev().take(2).all(|h| h.batch && h.note.as_deref().is_some_and(|n| n.contains("after it was due")));
    assert!(late, "{:?}", s.history);
    assert!(f.processor().process_sessions().await.unwrap().transitions.is_empty(), "nothing twice");
    assert_eq!((f.count("planned", "active").await, f.count("active", "ended").await), (1, 1));
    // Access was exact all along, and stays so for questions about the past.
    assert!(f.allowed("bella", DEV_EP, Access::Delete, None, start).await && !f.allowed("bella", DEV_EP, Access::Delete, None, end).await);
}

/// A store whose next commits die before they commit, as a processor killed
/// in the middle of a transition would.
struct Killable {
    inner: Arc<dyn Store>,
    kill: AtomicBool,
}

#[async_trait::async_trait]
impl Store for Killable {
    async fn revision(&self) -> Result<u64, warden_store::StoreError> {
        self.inner.revision().await
    }
    async fn changes_since(&self, since: u64, limit: usize) -> Result<Option<warden_store::StoreDelta>, warden_store::StoreError> {
        self.inner.changes_since(since, limit).await
    }
    async fn load(&self) -> Result<(Model, u64), warden_store::StoreError> {
        self.inner.load().await
    }
    async fn get_versioned(&self, key: &warden_model::ObjectRef) -> Result<Option<warden_store::Versioned>, warden_store::StoreError> {
        self.inner.get_versioned(key).await
    }
    async fn layers(&self, key: &warden_model::ObjectRef) -> Result<Vec<warden_store::LayerEntry>, warden_store::StoreError> {
        self.inner.layers(key).await
    }
    async fn layer_keys(&self, layer: warden_store::Layer, kind: warden_model::ObjectKind) -> Result<Vec<warden_store::LayerKey>, warden_store::StoreError> {
        self.inner.layer_keys(layer, kind).await
    }
    async fn list(&self, kind: warden_model::ObjectKind) -> Result<Vec<Object>, warden_store::StoreError> {
        self.inner.list(kind).await
    }
    async fn try_lease(&self, name: &str, holder: &str, ttl: std::time::Duration) -> Result<bool, warden_store::StoreError> {
        self.inner.try_lease(name, holder, ttl).await
    }
    async fn append_activity(&self, event: &ActivityEvent) -> Result<u64, warden_store::StoreError> {
        self.inner.append_activity(event).await
    }
    async fn record_sign_in_failure(&self, key: &str, at: Timestamp, policy: &warden_store::LockoutPolicy) -> Result<warden_store::SignInFailure, warden_store::StoreError> {
        self.inner.record_sign_in_failure(key, at, policy).await
    }
    async fn sign_in_locked_until(&self, key: &str, now: Timestamp) -> Result<Option<Timestamp>, warden_store::StoreError> {
        self.inner.sign_in_locked_until(key, now).await
    }
    async fn clear_sign_in_failures(&self, key: &str) -> Result<(), warden_store::StoreError> {
        self.inner.clear_sign_in_failures(key).await
    }
    async fn activity(&self, filter: &warden_store::ActivityFilter) -> Result<Vec<ActivityEvent>, warden_store::StoreError> {
        self.inner.activity(filter).await
    }
    async fn commit(&self, commit: warden_store::Commit) -> Result<u64, warden_store::StoreError> {
        if self.kill.load(Ordering::SeqCst) {
            // Killed mid-transition: the transaction with both halves never commits.
            return Err(warden_store::StoreError::Unsupported(format!("process killed during '{}'", commit.action)));
        }
        self.inner.commit(commit).await
    }
    async fn idempotency(&self, scope: &str, key: &str, now: warden_model::Timestamp) -> Result<Option<warden_store::IdempotencyRecord>, warden_store::StoreError> {
        self.inner.idempotency(scope, key, now).await
    }
    async fn complete_idempotency(&self, scope: &str, key: &str, response: &warden_store::StoredResponse) -> Result<bool, warden_store::StoreError> {
        self.inner.complete_idempotency(scope, key, response).await
    }
    async fn purge_idempotency(&self, now: warden_model::Timestamp) -> Result<u64, warden_store::StoreError> {
        self.inner.purge_idempotency(now).await
    }
    async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<warden_store::AuditEvent>, warden_store::StoreError> {
        self.inner.audit_events(filter).await
    }
    async fn audit_head(&self) -> Result<warden_store::AuditAnchor, warden_store::StoreError> {
        self.inner.audit_head().await
    }
    async fn verify_audit(&self, anchor: Option<&warden_store::AuditAnchor>) -> Result<warden_store::AuditVerification, warden_store::StoreError> {
        self.inner.verify_audit(anchor).await
    }
}

#[tokio::test]
async fn a_processor_killed_mid_transition_leaves_nothing_half_done() {
    let f = Fixture::demo().await;
    let (start, end) = (T0 + HOUR, T0 + 2 * HOUR);
    // hanna is disabled; an enable session's end has two halves: the account's state and the session's status.
    let id = f
        .as_("kenji")
        .new_privileged_session(&PrivilegedSessionRequest { user: "hanna".into(), start: Timestamp(start), end: Timestamp(end), action: AccountAction::Enable, reason: Some("fix a batch job".into()) })
        .await
        .unwrap()
        .session
        .id;
    f.as_("mike").decide_privileged_session(&id, PrivilegedDecision::Approve, None).await.unwrap();
    f.clock.set(start);
    f.processor().process_sessions().await.unwrap();
    // Someone enables hanna for good during the session; the end must put her back as she was at the start.
    f.as_("kenji").edit("hanna", &warden_core::Edit::User(warden_core::UserEdit { enabled: Some(true), ..Default::default() })).await.expect("enable");
    f.clock.set(end);
    let killable = Arc::new(Killable { inner: f.store.clone(), kill: AtomicBool::new(true) });
    let c = f.clock.clone();
    let doomed = Warden::new(killable.clone(), "processor").with_clock(Arc::new(move || c.now()));
    let before = f.store.revision().await.unwrap();
    assert!(doomed.process_sessions().await.is_err());
    assert_eq!(f.store.revision().await.unwrap(), before, "nothing written");
    let m = f.model().await;
    assert_eq!(m.privileged_sessions[&id].status, PrivilegedStatus::Active);
    assert!(m.users["hanna"].enabled, "neither half happened");
    // The restarted processor does both halves once.
    killable.kill.store(false, Ordering::SeqCst);
    assert_eq!(doomed.process_sessions().await.unwrap().transitions.len(), 1);
    let m = f.model().await;
    assert_eq!(m.privileged_sessions[&id].status, PrivilegedStatus::Ended);
    assert!(!m.users["hanna"].enabled, "back to disabled, as at the start");
    assert_eq!(f.count("active", "ended").await, 1);
}

#[tokio::test]
async fn two_processors_racing_make_each_transition_once() {
    let f = Fixture::demo().await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(planned(&f, temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, T0 + HOUR + i * MIN, T0 + 2 * HOUR + i * MIN)).await);
    }
    f.clock.set(T0 + 3 * HOUR);
    let (a, b) = (f.processor(), f.as_("processor-2").with_origin("processor"));
    let (ra, rb) = tokio::join!(a.process_sessions(), b.process_sessions());
    let made = ra.unwrap().transitions.len() + rb.unwrap().transitions.len();
    assert_eq!(made, 16, "each start and end once between the two");
    let moves = f.transitions().await;
    for id in &ids {
        let mine: Vec<(&str, &str)> = moves.iter().filter(|(s, ..)| s == id).map(|(_, a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(mine, [("-", "draft"), ("draft", "planned"), ("planned", "active"), ("active", "ended")], "{id}");
    }
}

#[tokio::test]
async fn privileged_sessions_set_the_account_state_exactly_in_the_window() {
    let f = Fixture::demo().await;
    let (start, end) = (T0 + HOUR, T0 + 2 * HOUR);
    let req = |user: &str, action| PrivilegedSessionRequest { user: user.into(), start: Timestamp(start), end: Timestamp(end), action, reason: None };
    let off = f.as_("kenji").new_privileged_session(&req("bella", AccountAction::Disable)).await.unwrap().session.id;
    let on = f.as_("kenji").new_privileged_session(&req("hanna", AccountAction::Enable)).await.unwrap().session.id;
    // Draft sessions change nothing.
    assert!(f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, start).await);
    for id in [&off, &on] {
        f.as_("mike").decide_privileged_session(id, PrivilegedDecision::Approve, None).await.unwrap();
    }
    assert!(f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, start - 1).await);
    assert!(!f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, start).await, "disabled from the start");
    assert!(f.allowed("bella", "DEVSQLQueryExecute", Access::Read, None, end).await, "enabled again at the end");
    assert!(!f.allowed("hanna", "DEVSQLQueryExecute", Access::Read, None, start - 1).await);
    assert!(f.allowed("hanna", "DEVSQLQueryExecute", Access::Read, None, start).await, "enabled for the session");
    assert!(!f.allowed("hanna", "DEVSQLQueryExecute", Access::Read, None, end).await);
    // The account's own flag is untouched; the start records it.
    f.clock.set(start);
    f.processor().process_sessions().await.unwrap();
    let m = f.model().await;
    assert!(!m.users["hanna"].enabled);
    assert_eq!(m.privileged_sessions[&on].original_enabled, Some(false));
}

#[tokio::test]
async fn sod_stops_approval_and_start_unless_overridden() {
    let f = Fixture::demo().await;
    // kenji is a security administrator; running SQL would break the demo's critical rule.
    let req = temp_request("kenji", &["DEVSQLQueryExecute"], &[], SessionType::Merge, T0 + HOUR, T0 + 2 * HOUR);
    let id = f.as_("mike").new_temp_session(&req).await.unwrap().session.id;
    let before = f.store.revision().await.unwrap();
    let e = f.as_("adam-admin-missing").approve_temp_session(&id, None).await.expect_err("not an admin");
    assert!(matches!(e, CoreError::NotPermitted(_)));
    f.as_("mike").set_session_settings(SessionSettings { allow_self_approval: false }).await.unwrap();
    let e = f.as_("kenji").approve_temp_session(&id, None).await.expect_err("conflict");
    assert!(matches!(e, CoreError::SodConflicts(_)) && e.to_string().contains("SecurityAdministrationVsSqlExecution"), "{e}");
    assert_eq!(f.store.revision().await.unwrap(), before + 1, "only the settings were written");
    let s = f.as_("kenji").approve_temp_session(&id, Some("emergency fix, ticket 4711")).await.expect("override").session;
    assert_eq!(s.override_reason.as_deref(), Some("emergency fix, ticket 4711"));
    let m = f.model().await;
    let record = &m.sod_conflicts["kenji/SecurityAdministrationVsSqlExecution"];
    assert_eq!((record.status, record.reason.as_deref()), (ConflictStatus::Allowed, Some("emergency fix, ticket 4711")));
    assert!(record.source.contains(&id), "{}", record.source);

    // A rule added after approval stops the start of a session that would break it.
    let other = planned(&f, temp_request("bella", &[DEV_ROLE], &[], SessionType::Merge, T0 + HOUR, T0 + 2 * HOUR)).await;
    let rule = SodRule {
        name: "IntegrationVsBenchmarks".into(),
        first: SodSide::EntryPoint { entry_point: EntryPointKey::new(EntryPointType::MenuItemDisplay, DEV_EP), access: Access::Delete },
        second: SodSide::EntryPoint { entry_point: EntryPointKey::new(EntryPointType::MenuItemDisplay, "DEVSQLQueryExecute"), access: Access::Read },
        severity: warden_model::Severity::High,
        risk: None,
        mitigation: None,
        valid_from: None,
        valid_to: None,
        enabled: true,
    };
    f.as_("mike").create(Object::SodRule(rule)).await.expect("rule");
    f.clock.set(T0 + HOUR);
    let e = f.as_("mike").process_session(Family::Temp, &other).await.expect_err("refused by hand");
    assert!(matches!(e, CoreError::SodConflicts(_)), "{e}");
    let out = f.processor().process_sessions().await.unwrap();
    assert_eq!(out.refused.len(), 1, "{out:?}");
    let s = &f.model().await.temp_role_sessions[&other];
    assert_eq!(s.status, TempStatus::Draft, "back to draft, out of force");
    assert!(s.history.last().unwrap().note.as_deref().unwrap().contains("IntegrationVsBenchmarks"));
    assert!(!f.allowed("bella", DEV_EP, Access::Delete, None, T0 + HOUR + MIN).await);
}

#[tokio::test]
async fn recordings_keep_the_window_in_order_and_their_deletion_is_audited() {
    let f = Fixture::demo().await;
    let (start, end) = (T0 + HOUR, T0 + 2 * HOUR);
    let id = f
        .as_("kenji")
        .new_privileged_session(&PrivilegedSessionRequest { user: "hanna".into(), start: Timestamp(start), end: Timestamp(end), action: AccountAction::Enable, reason: None })
        .await
        .unwrap()
        .session
        .id;
    f.as_("mike").decide_privileged_session(&id, PrivilegedDecision::Approve, None).await.unwrap();
    let event = |at: i64, kind: &str, what: &str| ActivityEvent { id: 0, at: Timestamp(at), user: "hanna".into(), kind: kind.into(), source: Some("erp".into()), detail: serde_json::json!({"action": what}), claimed_at: None };
    for e in [
        event(start - 1, "check", "before"),
        event(start, "check", "first"),
        event(start + 1, "sign_in", "not recorded"),
        event(start + 2, "activity", "second"),
        event(end - 1, "check", "third"),
        event(end, "activity", "after"),
    ] {
        f.store.append_activity(&e).await.unwrap();
    }
    let rec = f.as_("kenji").recording(&id).await.unwrap().events;
    assert_eq!(rec.iter().map(|e| e.detail["action"].as_str().unwrap()).collect::<Vec<_>>(), ["first", "second", "third"]);
    // In force: not deletable yet.
    f.clock.set(start + MIN);
    let e = f.as_("kenji").delete_recording(&id).await.expect_err("still recording");
    assert!(e.to_string().contains("still being made"), "{e}");
    f.clock.set(end);
    f.processor().process_sessions().await.unwrap();
    let log = f.as_("kenji").session_log(Family::Privileged, &id).await.unwrap();
    assert!(log.user_log.iter().any(|e| e.event == "sign_in") && log.user_log.last().unwrap().event == "session_ended", "{:?}", log.user_log);
    assert!(matches!(f.as_("bella").delete_recording(&id).await, Err(CoreError::NotPermitted(_))));
    let s = f.as_("kenji").delete_recording(&id).await.expect("delete").session;
    assert_eq!(s.recording_deleted.as_ref().map(|d| (d.by.as_str(), d.events)), Some(("kenji", 3)));
    assert!(f.as_("kenji").recording(&id).await.unwrap().events.is_empty());
    let left = f.store.activity(&Default::default()).await.unwrap();
    assert_eq!(left.iter().filter(|e| e.user == "hanna").count(), 3, "outside the window and sign-ins stay");
    let audit = f.events("privileged-session recording delete").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].summary["events"], 3);
}

/// The end seals the recording into the audit trail; reading holds the rows
/// to it. A row that lands in the window afterwards (written behind Warden's
/// back) makes the read fail; deleting still works and says what it found.
#[tokio::test]
async fn recordings_are_sealed_at_the_end_and_checked_when_read() {
    use warden_core::sessions::SealState;
    let f = Fixture::demo().await;
    let (start, end) = (T0 + HOUR, T0 + 2 * HOUR);
    let new = |user: &str| PrivilegedSessionRequest { user: user.into(), start: Timestamp(start), end: Timestamp(end), action: AccountAction::Enable, reason: None };
    let id = f.as_("kenji").new_privileged_session(&new("hanna")).await.unwrap().session.id;
    let by_hand = f.as_("kenji").new_privileged_session(&new("bella")).await.unwrap().session.id;
    for s in [&id, &by_hand] {
        f.as_("mike").decide_privileged_session(s, PrivilegedDecision::Approve, None).await.unwrap();
    }
    let event = |user: &str, at: i64, what: &str| ActivityEvent { id: 0, at: Timestamp(at), user: user.into(), kind: "activity".into(), source: Some("erp".into()), detail: serde_json::json!({"action": what}), claimed_at: None };
    for e in [event("hanna", start + 1, "first"), event("hanna", start + 2, "second"), event("bella", start + 3, "bella's")] {
        f.store.append_activity(&e).await.unwrap();
    }
    assert_eq!(f.as_("kenji").recording(&id).await.unwrap().seal, SealState::Open);
    f.clock.set(start);
    f.processor().process_sessions().await.unwrap();
    assert_eq!(f.as_("kenji").recording(&id).await.unwrap().seal, SealState::Open, "still being made");

    // The processor ends one, an administrator the other: both seal.
    f.clock.set(end + MIN);
    f.as_("mike").process_session(Family::Privileged, &by_hand).await.unwrap();
    f.processor().process_sessions().await.unwrap();
    for (s, n) in [(&id, 2), (&by_hand, 1)] {
        let rec = f.as_("kenji").recording(s).await.unwrap();
        let SealState::Intact { events, ref sha256, sealed_at } = rec.seal else { panic!("{s}: {:?}", rec.seal) };
        assert_eq!((events, sha256.len(), sealed_at), (n, 64, Timestamp(end + MIN)), "{s}");
        assert_eq!(rec.session.recording_seal.as_ref().map(|s| s.events), Some(n));
    }
    // The seal is in the end's audit event, under the hash chain.
    let ended = f.events("privileged-session end").await;
    assert!(ended.iter().any(|e| e.summary["recording_seal"]["events"] == 1), "{ended:?}");

    // Back-dated into the closed window, behind Warden's back.
    f.store.append_activity(&event("hanna", start + 10, "covered my tracks")).await.unwrap();
    let e = f.as_("kenji").recording(&id).await.expect_err("altered");
    assert!(matches!(e, CoreError::RecordingAltered { .. }), "{e}");
    assert!(e.to_string().contains(&format!("recording of {id} altered after sealing: sealed at")) && e.to_string().contains("with 2 events"), "{e}");

    // Deleting is still possible; the audit event records what the seal said.
    let s = f.as_("kenji").delete_recording(&id).await.expect("delete").session;
    assert_eq!(s.recording_deleted.as_ref().map(|d| d.events), Some(3));
    let audit = f.events("privileged-session recording delete").await;
    assert_eq!(audit[0].summary["seal"]["state"], "altered", "{}", audit[0].summary);
    let rec = f.as_("kenji").recording(&id).await.unwrap();
    assert!(rec.events.is_empty());
    let SealState::Deleted { deletion, sealed } = rec.seal else { panic!("{:?}", rec.seal) };
    assert_eq!((deletion.by.as_str(), sealed.map(|s| s.events)), ("kenji", Some(2)));
    assert!(f.store.verify_audit(None).await.unwrap().is_intact());
}
