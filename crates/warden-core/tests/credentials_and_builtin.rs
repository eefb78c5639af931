//! The built-in model's installation and the credential commands, against a
//! real (SQLite) store: what they write, what the audit trail shows of it,
//! and what they refuse.

use std::sync::Arc;
use tempfile::TempDir;
use warden_core::credentials::{self, SignIn};
use warden_core::{builtin, CoreError, Warden};
use warden_model::{Object, ObjectKind, ObjectRef, Timestamp, User};
use warden_store::{AuditFilter, Change, Commit, Layer, Store};

async fn store(dir: &TempDir) -> Arc<dyn Store> {
    warden_store::open(None, dir.path()).await.expect("store opens")
}

#[tokio::test]
async fn install_writes_the_built_in_model_once_and_then_nothing() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir).await;
    assert!(builtin::is_blank(s.as_ref()).await.unwrap());
    assert_eq!(builtin::install(s.as_ref(), "test").await.unwrap(), Some(1));
    for (role, ..) in builtin::ROLES {
        assert!(s.get(&ObjectRef::new(ObjectKind::Role, *role)).await.unwrap().is_some(), "{role}");
    }
    assert!(builtin::is_blank(s.as_ref()).await.unwrap(), "only the built-in model so far");
    assert_eq!(builtin::install(s.as_ref(), "test").await.unwrap(), None, "the second time is a no-op");
    assert_eq!(s.revision().await.unwrap(), 1);
    assert_eq!(s.audit_events(&AuditFilter::default()).await.unwrap().len(), 1);

    // An administrator's customization of a built-in duty is theirs: no rewrite of the code form follows.
    let duty = ObjectRef::new(ObjectKind::Duty, "WardenMonitorService");
    let Some(Object::Duty(mut d)) = s.get(&duty).await.unwrap() else { panic!("the duty is installed") };
    d.label = Some("Watch Warden".into());
    let w = Warden::new(s.clone(), "alice");
    w.replace(Object::Duty(d), None).await.expect("customized");
    let revision = s.revision().await.unwrap();
    assert!(!builtin::is_blank(s.as_ref()).await.unwrap());
    assert_eq!(builtin::install(s.as_ref(), "test").await.unwrap(), None);
    assert_eq!(s.revision().await.unwrap(), revision);

    // A code-layer form that is not the current one (an older Warden) is brought up to date.
    let ep = ObjectRef::new(ObjectKind::EntryPoint, "ServiceOperation/WardenMonitoring");
    let Some(Object::EntryPoint(mut e)) = s.get(&ep).await.unwrap() else { panic!("the entry point is installed") };
    e.label = Some("old label".into());
    let mut c = Commit::new("old warden", "install built-in model");
    c.layer = Layer::Code;
    c.changes = vec![Change::Put(Object::EntryPoint(e))];
    s.commit(c).await.unwrap();
    assert_eq!(builtin::pending(s.as_ref()).await.unwrap().len(), 1);
    assert_eq!(builtin::install(s.as_ref(), "test").await.unwrap(), Some(revision + 2));
    assert!(builtin::pending(s.as_ref()).await.unwrap().is_empty());
}

#[tokio::test]
async fn tokens_are_issued_rotated_and_revoked_by_the_rules_and_audited_without_secrets() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir).await;
    let now = Timestamp(1_800_000_000_000);
    let w = Warden::new(s.clone(), "alice").with_clock(Arc::new(move || now));
    w.add_user(User::new("billing")).await.unwrap();

    assert!(matches!(w.issue_token("nobody", None, None).await, Err(CoreError::InvalidField { field: "user", .. })));
    assert!(matches!(w.issue_token("billing", None, Some(0)).await, Err(CoreError::InvalidField { field: "expires_in_days", .. })));
    let t = w.issue_token("billing", Some("invoices".into()), Some(30)).await.unwrap();
    assert!(t.token.starts_with(&format!("wdn_{}_", t.id)));
    assert_eq!(t.expires, Timestamp(now.0 + 30 * 86_400_000));
    assert!(!format!("{t:?}").contains(&t.token), "Debug leaves the secret out");

    let r = w.rotate_token(&t.id, Some(60), None).await.unwrap();
    assert_eq!((r.replaces.as_deref(), r.old_expires), (Some(t.id.as_str()), Some(Timestamp(now.0 + 60_000))));
    let listed = w.tokens(Some("billing")).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|k| k.label.as_deref() == Some("invoices")));
    assert!(matches!(w.rotate_token("ffff", None, None).await, Err(CoreError::NotFound(_))));
    assert!(matches!(w.rotate_token(&r.id, Some(604_801), None).await, Err(CoreError::InvalidField { field: "grace_seconds", .. })));
    w.revoke_token(&t.id).await.unwrap();
    assert_eq!(w.tokens(None).await.unwrap().len(), 1);

    let events = w.audit_events(&AuditFilter { include_changes: true, ..Default::default() }).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user add", "token create", "token rotate", "token revoke"]);
    let trail = serde_json::to_string(&events).unwrap();
    assert!(!trail.contains(&r.token[r.token.len() - 64..]), "{trail}");
    for c in events.iter().flat_map(|e| &e.changes).filter(|c| c.object.kind == ObjectKind::Credential) {
        for side in [&c.before, &c.after].into_iter().flatten() {
            assert!(side.get("hash").is_none() && side["kind"] == "api_token", "{side}");
        }
    }
}

#[tokio::test]
async fn passwords_sign_ins_and_the_lockout() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir).await;
    builtin::install(s.as_ref(), "test").await.unwrap();
    let w = Warden::new(s.clone(), "warden").with_origin("api 10.0.0.9:4000");
    assert!(matches!(w.bootstrap_admin(Some("short")).await, Err(CoreError::InvalidField { field: "password", .. })));
    let boot = w.bootstrap_admin(None).await.unwrap();
    let credentials::Bootstrap::Generated { user, password } = boot else { panic!("a generated password: {boot:?}") };
    assert_eq!(user, credentials::BOOTSTRAP_USER);
    assert_eq!(w.bootstrap_admin(None).await.unwrap(), credentials::Bootstrap::NotNeeded, "once");

    assert!(matches!(w.set_password("nobody", "long enough password").await, Err(CoreError::NotFound(_))));
    assert!(matches!(w.set_password("admin", "short").await, Err(CoreError::InvalidField { field: "password", .. })));

    let SignIn::SignedIn(session) = w.sign_in("admin", &password).await.unwrap() else { panic!("signs in") };
    let stored = s.get(&ObjectRef::new(ObjectKind::Credential, credentials::session_credential_id(&session.id))).await.unwrap();
    let Some(Object::Credential(c)) = stored else { panic!("the session is stored") };
    assert!(credentials::secret_matches(&c.hash, &session.secret));
    let last = w.audit_events(&AuditFilter::default()).await.unwrap().pop().unwrap();
    assert_eq!((last.action.as_str(), last.actor.as_str()), ("sign in", "admin"));
    w.acting_as("admin").sign_out("admin", &c.id).await.unwrap();
    assert!(s.get(&ObjectRef::new(ObjectKind::Credential, &c.id)).await.unwrap().is_none());

    for _ in 0..10 {
        assert!(matches!(w.sign_in("admin", "wrong password!").await.unwrap(), SignIn::Refused));
    }
    assert!(matches!(w.sign_in("admin", &password).await.unwrap(), SignIn::Locked { .. }), "locked out, the right password too");
    let kinds: Vec<String> = w.activity(&Default::default()).await.unwrap().into_iter().map(|e| e.kind).collect();
    for kind in ["sign_in", "sign_out", "sign_in_failed", "sign_in_locked", "sign_in_refused"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}
