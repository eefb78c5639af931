//! The console's session pages against a real server over a real SQLite
//! store with the demo data: request, a second administrator's approval,
//! the SoD override, refusals shown on the page, the logs and the recording,
//! and a read-only auditor.

mod common;

use common::ADMIN_PASSWORD;
use reqwest::{Client, StatusCode};
use warden_core::Warden;
use warden_model::Timestamp;

const OTHER_PASSWORD: &str = "another long enough passphrase";

/// The shared test server ([`common::Console`]), with this file's helpers.
struct Server(common::Console);

impl std::ops::Deref for Server {
    type Target = common::Console;
    fn deref(&self) -> &common::Console {
        &self.0
    }
}

/// A server with the demo data, the console's pages and a bootstrap
/// administrator; no background processor, so that sessions move only when
/// a test moves them.
async fn start() -> Server {
    let server = Server(common::start().await);
    server
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser signed in through the sign-in form.
    async fn sign_in(&self, user: &str, password: &str) -> Client {
        let client = Client::builder().cookie_store(true).build().unwrap();
        let r = client.post(self.url("/login")).form(&[("user", user), ("password", password), ("next", "/")]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "sign-in of {user}");
        assert!(r.text().await.unwrap().contains("Signed in as"));
        client
    }

    /// A new user with a password and exactly `roles`.
    async fn user(&self, id: &str, roles: &[&str]) {
        let w = Warden::new(self.store.clone(), "test");
        w.add_user(warden_model::User::new(id)).await.unwrap();
        for role in roles {
            w.assign(id, role, &[], None, None, Timestamp::now()).await.unwrap();
        }
        w.set_password(id, OTHER_PASSWORD).await.unwrap();
        self.state.refresh(None).await.unwrap();
    }

    async fn get(&self, client: &Client, path: &str) -> (StatusCode, String) {
        let r = client.get(self.url(path)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Posts a form (following the redirect); the final URL's path and query, status and page.
    async fn post(&self, client: &Client, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
        let r = client.post(self.url(path)).form(form).send().await.unwrap();
        let at = r.url().path().to_string() + r.url().query().map(|q| format!("?{q}")).as_deref().unwrap_or("");
        (r.status(), at, r.text().await.unwrap())
    }
}

/// The CSRF token in a page's forms.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form with the CSRF token") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

/// A `datetime-local` value `hours` from now (UTC).
fn in_hours(hours: i64) -> String {
    Timestamp(Timestamp::now().0 + hours * 3_600_000).to_string()[..16].to_string()
}

async fn request_temp(s: &Server, admin: &Client, user: &str, roles: &str) -> String {
    let (_, page) = s.get(admin, "/sessions/temporary").await;
    let token = csrf(&page);
    let (start, end) = (in_hours(24), in_hours(48));
    let (status, at, page) = s
        .post(admin, "/sessions/temporary", &[("csrf", &token), ("user", user), ("roles", roles), ("organizations", ""), ("type", "merge"), ("start", &start), ("end", &end), ("reason", "month-end close")])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(at.starts_with("/sessions/temporary/TRS-") && at.ends_with("?done=created"), "{at}");
    assert!(page.contains("b-draft"), "a new session is a draft");
    at.split('?').next().unwrap().to_string()
}

#[tokio::test]
async fn a_second_administrator_approves_a_temporary_role_session() {
    let s = start().await;
    let admin = s.sign_in("admin", ADMIN_PASSWORD).await;

    let (status, page) = s.get(&admin, "/sessions/temporary").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("New temporary role session") && page.contains("Request session"));

    // Without the CSRF token the request is refused and nothing is written.
    let (status, ..) = s.post(&admin, "/sessions/temporary", &[("user", "julia"), ("roles", "LedgerAccountant"), ("type", "merge"), ("start", &in_hours(24)), ("end", &in_hours(48))]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(s.state.snapshot().model.temp_role_sessions.is_empty());

    let path = request_temp(&s, &admin, "julia", "LedgerAccountant").await;
    let id = path.rsplit('/').next().unwrap().to_string();
    let stored = s.state.snapshot().model.temp_role_sessions.get(&id).cloned().expect("stored");
    assert_eq!((stored.user.as_str(), stored.roles.as_slice(), stored.requested_by.as_str()), ("julia", &["LedgerAccountant".to_string()][..], "admin"));

    // The requester may not approve: the service's refusal is shown at the approve form.
    let (_, page) = s.get(&admin, &path).await;
    let (status, _, page) = s.post(&admin, &format!("{path}/approve"), &[("csrf", &csrf(&page))]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("may not approve it; another system administrator must"), "{page}");
    assert_eq!(s.state.snapshot().model.temp_role_sessions.get(&id).unwrap().status, warden_model::TempStatus::Draft);

    // A second system administrator approves it.
    s.user("admin2", &["SystemAdministrator"]).await;
    let second = s.sign_in("admin2", OTHER_PASSWORD).await;
    let (_, page) = s.get(&second, &path).await;
    let (status, at, page) = s.post(&second, &format!("{path}/approve"), &[("csrf", &csrf(&page))]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(at, format!("{path}?done=approved"));
    assert!(page.contains("b-planned"));
    let approved = s.state.snapshot().model.temp_role_sessions.get(&id).cloned().unwrap();
    assert_eq!((approved.status, approved.approved_by.as_deref()), (warden_model::TempStatus::Planned, Some("admin2")));

    // The list by status shows it as planned, and no longer as a draft.
    let (_, planned) = s.get(&admin, "/sessions/temporary?status=planned").await;
    assert!(planned.contains(&format!("href=\"{path}\"")), "{planned}");
    let (_, drafts) = s.get(&admin, "/sessions/temporary?status=draft").await;
    assert!(!drafts.contains(&format!("href=\"{path}\"")));
    let (_, searched) = s.get(&admin, "/sessions/temporary?q=JULIA").await;
    assert!(searched.contains(&format!("href=\"{path}\"")));
    let (_, other) = s.get(&admin, "/sessions/temporary?q=nobody-like-this").await;
    assert!(other.contains("No session matches."));
    let (status, _) = s.get(&admin, "/sessions/temporary?status=sleeping").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The session's page: its audit log tab lists both moves and who made them.
    let (status, page) = s.get(&admin, &format!("{path}?tab=audit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Audit log") && page.contains("aria-current=\"page\">Audit log"));
    assert!(page.contains("created") && page.contains("b-planned") && page.contains("admin2"), "{page}");
    let (status, page) = s.get(&admin, &format!("{path}?tab=user")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("The session has not started"));
    let (status, page) = s.get(&admin, &format!("{path}?tab=roles")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("User role change log"));

    // Planned and not started: it can still be cancelled.
    let (status, at, _) = s.post(&admin, &format!("{path}/cancel"), &[("csrf", &csrf(&page)), ("note", "not needed after all")]).await;
    assert_eq!((status, at), (StatusCode::OK, format!("{path}?done=cancelled")));
    let cancelled = s.state.snapshot().model.temp_role_sessions.get(&id).cloned().unwrap();
    assert_eq!(cancelled.status, warden_model::TempStatus::Cancelled);
    assert_eq!(cancelled.history.last().unwrap().note.as_deref(), Some("not needed after all"));

    let (status, _) = s.get(&admin, "/sessions/temporary/TRS-999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_approval_that_breaks_segregation_of_duties_names_the_rule_and_takes_an_override_reason() {
    let s = start().await;
    let admin = s.sign_in("admin", ADMIN_PASSWORD).await;
    // Kenji administers security; running SQL too is the demo's rule SecurityAdministrationVsSqlExecution.
    let path = request_temp(&s, &admin, "kenji", "DEVSQLQueryExecute").await;
    s.user("admin2", &["SystemAdministrator"]).await;
    let second = s.sign_in("admin2", OTHER_PASSWORD).await;
    let (_, page) = s.get(&second, &path).await;
    assert!(!page.contains("name=\"override_reason\""), "the override field is offered only for a conflict");
    let token = csrf(&page);
    let (status, _, page) = s.post(&second, &format!("{path}/approve"), &[("csrf", &token)]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("SecurityAdministrationVsSqlExecution"), "{page}");
    assert!(page.contains("name=\"override_reason\"") && page.contains("Approve with override"));
    let id = path.rsplit('/').next().unwrap();
    assert_eq!(s.state.snapshot().model.temp_role_sessions.get(id).unwrap().status, warden_model::TempStatus::Draft);

    let (status, at, page) = s.post(&second, &format!("{path}/approve"), &[("csrf", &token), ("override_reason", "audit of the SQL scripts, mitigated by review")]).await;
    assert_eq!((status, at), (StatusCode::OK, format!("{path}?done=approved")));
    assert!(page.contains("audit of the SQL scripts, mitigated by review"));
    let model = &s.state.snapshot().model;
    assert_eq!(model.temp_role_sessions.get(id).unwrap().status, warden_model::TempStatus::Planned);
    assert!(model.sod_conflicts.values().any(|c| c.user == "kenji" && c.rule == "SecurityAdministrationVsSqlExecution" && c.reason.as_deref() == Some("audit of the SQL scripts, mitigated by review")));
}

#[tokio::test]
async fn request_forms_show_errors_at_their_fields() {
    let s = start().await;
    let admin = s.sign_in("admin", ADMIN_PASSWORD).await;
    let (_, page) = s.get(&admin, "/sessions/temporary").await;
    let token = csrf(&page);
    let (status, _, page) = s.post(&admin, "/sessions/temporary", &[("csrf", &token), ("user", "julia"), ("roles", "LedgerAccountant"), ("type", "merge"), ("start", "tomorrow"), ("end", &in_hours(48))]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"f-start-error\""), "{page}");
    let (status, _, page) = s.post(&admin, "/sessions/temporary", &[("csrf", &token), ("user", "nobody-here"), ("roles", "LedgerAccountant"), ("type", "merge"), ("start", &in_hours(1)), ("end", &in_hours(2))]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"f-user-error\"") && page.contains("nobody-here"), "{page}");
    let (status, _, page) = s.post(&admin, "/sessions/temporary", &[("csrf", &token), ("user", "julia"), ("roles", "LedgerAccountant"), ("type", "merge"), ("start", &in_hours(2)), ("end", &in_hours(1))]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"f-end-error\"") && page.contains("is not after its start"), "{page}");
    let (_, page) = s.get(&admin, "/sessions/privileged").await;
    let (status, _, page) = s.post(&admin, "/sessions/privileged", &[("csrf", &csrf(&page)), ("user", "bella"), ("action", "enable"), ("start", &in_hours(1)), ("end", &in_hours(30))]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"f-end-error\"") && page.contains("at most 24 hours"), "{page}");
    assert!(s.state.snapshot().model.temp_role_sessions.is_empty() && s.state.snapshot().model.privileged_sessions.is_empty());
}

#[tokio::test]
async fn privileged_sessions_are_rejected_processed_and_their_recording_served() {
    let s = start().await;
    let admin = s.sign_in("admin", ADMIN_PASSWORD).await;
    s.user("admin2", &["SystemAdministrator"]).await;
    let second = s.sign_in("admin2", OTHER_PASSWORD).await;
    let (status, page) = s.get(&admin, "/sessions/privileged").await;
    assert_eq!(status, StatusCode::OK);
    let token = csrf(&page);
    let request = |start: String, end: String| {
        let (admin, token) = (&admin, token.clone());
        let s = &s;
        async move {
            let (status, at, page) = s.post(admin, "/sessions/privileged", &[("csrf", &token), ("user", "bella"), ("action", "disable"), ("start", &start), ("end", &end), ("reason", "incident 42")]).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            at.split('?').next().unwrap().to_string()
        }
    };

    // Rejected by the second administrator.
    let first = request(in_hours(2), in_hours(3)).await;
    let (_, page) = s.get(&second, &first).await;
    assert!(page.contains(&format!("action=\"{first}/reject\"")));
    let (status, at, page) = s.post(&second, &format!("{first}/reject"), &[("csrf", &csrf(&page)), ("note", "use a temporary role session")]).await;
    assert_eq!((status, at), (StatusCode::OK, format!("{first}?done=rejected")));
    assert!(page.contains("b-rejected") && page.contains("use a temporary role session"));
    assert!(!page.contains(&format!("action=\"{first}/approve\"")), "a rejected session offers no approval");

    // Approved, started now by "Process now": the account is disabled for the session and its recording is open.
    let now = Timestamp::now().to_string();
    let second_path = request(now[..19].to_string(), in_hours(1)).await;
    let (_, page) = s.get(&second, &second_path).await;
    let (status, at, _) = s.post(&second, &format!("{second_path}/approve"), &[("csrf", &csrf(&page))]).await;
    assert_eq!((status, at), (StatusCode::OK, format!("{second_path}?done=approved")));
    let (_, page) = s.get(&second, &second_path).await;
    let (status, at, page) = s.post(&second, &format!("{second_path}/process"), &[("csrf", &csrf(&page))]).await;
    assert_eq!((status, at), (StatusCode::OK, format!("{second_path}?done=processed")));
    assert!(page.contains("b-active"), "{page}");
    let id = second_path.rsplit('/').next().unwrap();
    let active = s.state.snapshot().model.privileged_sessions.get(id).cloned().unwrap();
    // The account's own flag stays; the engine applies the session inside its window.
    assert_eq!((active.status, active.original_enabled, active.started_at.is_some()), (warden_model::PrivilegedStatus::Active, Some(true), true));
    assert!(page.contains("account disabled for the session"), "the audit log says what the start did");

    let (status, page) = s.get(&admin, &format!("{second_path}?tab=recording")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("b-open") && page.contains("recording?format=html") && page.contains("recording?format=jsonl"), "{page}");
    let r = admin.get(s.url(&format!("{second_path}/recording?format=html"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-security-policy"], "default-src 'none'; style-src 'unsafe-inline'");
    assert!(r.text().await.unwrap().contains(id));
    let r = admin.get(s.url(&format!("{second_path}/recording?format=jsonl"))).send().await.unwrap();
    assert_eq!((r.status(), r.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "application/x-ndjson"));
    let (status, _) = s.get(&admin, &format!("{second_path}/recording?format=pdf")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, listed) = s.get(&admin, "/sessions/privileged?status=active").await;
    assert!(listed.contains(&format!("href=\"{second_path}\"")) && !listed.contains(&format!("href=\"{first}\"")));
}

#[tokio::test]
async fn an_auditor_reads_sessions_and_changes_nothing() {
    let s = start().await;
    let admin = s.sign_in("admin", ADMIN_PASSWORD).await;
    let path = request_temp(&s, &admin, "julia", "LedgerAccountant").await;
    s.user("audrey", &["SecurityAuditor"]).await;
    let auditor = s.sign_in("audrey", OTHER_PASSWORD).await;

    let (status, page) = s.get(&auditor, "/sessions/temporary").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("href=\"{path}\"")));
    assert!(!page.contains("Request session"), "no request form for a read-only user");
    let (status, page) = s.get(&auditor, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Audit log"));
    for action in ["approve", "cancel", "process"] {
        assert!(!page.contains(&format!("action=\"{path}/{action}\"")), "no {action} form for a read-only user");
    }
    let token = csrf(&page); // the sign-out form's
    let (status, ..) = s.post(&auditor, &format!("{path}/approve"), &[("csrf", &token)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) = s.post(&auditor, "/sessions/temporary", &[("csrf", &token), ("user", "julia"), ("roles", "LedgerAccountant"), ("type", "merge"), ("start", &in_hours(1)), ("end", &in_hours(2))]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) = s.post(&auditor, "/sessions/privileged", &[("csrf", &token), ("user", "julia"), ("action", "enable"), ("start", &in_hours(1)), ("end", &in_hours(2))]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(s.state.snapshot().model.temp_role_sessions.len(), 1);
    assert_eq!(s.state.snapshot().model.temp_role_sessions.values().next().unwrap().status, warden_model::TempStatus::Draft);
}
