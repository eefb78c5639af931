//! Sessions over real HTTP, as a new administrator would try them: request,
//! approve as another administrator, watch the processor start it, post
//! activity, download the recording, watch it end.

mod common;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use warden_model::Timestamp;

fn at(offset_ms: i64) -> String {
    Timestamp(Timestamp::now().0 + offset_ms).to_string()
}

async fn token_for(s: &common::TestServer, admin: &str, user: &str) -> String {
    let (status, body) = s.call(Some(admin), Method::POST, "/api/v1/tokens", Some(json!({"user": user}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_string()
}

/// Polls a session until it reaches `status` (the processor runs on its own).
async fn wait_for(s: &common::TestServer, token: &str, path: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, body) = s.call(Some(token), Method::GET, path, None).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        if body["session"]["status"] == status {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never became {status}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn check(s: &common::TestServer, token: &str, user: &str, ep: &str, access: &str) -> String {
    let (code, body) = s.call(Some(token), Method::POST, "/api/v1/check", Some(json!({"user": user, "entry_point": ep, "access": access}))).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["decision"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_temporary_role_session_end_to_end() {
    let s = common::start().await;
    let admin = s.admin_token().await;
    let mike = token_for(&s, &admin, "mike").await;
    let auditor = s.user_with_roles(&admin, "audrey", &["SecurityAuditor"]).await;

    let request = json!({"user": "bella", "roles": ["DEVIntegDeveloperRole"], "type": "merge", "start": at(1_500), "end": at(4_000), "reason": "month-end integration fix"});
    // An auditor reads sessions but may not request one.
    let (code, _) = s.call(Some(&auditor), Method::POST, "/api/v1/sessions/temp", Some(request.clone())).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, body) = s.call(Some(&admin), Method::POST, "/api/v1/sessions/temp", Some(request)).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    let id = body["session"]["id"].as_str().unwrap().to_string();
    assert_eq!(body["session"]["status"], "draft");
    let path = format!("/api/v1/sessions/temp/{id}");

    // The requester may not approve; another system administrator may.
    let (code, body) = s.call(Some(&admin), Method::POST, &format!("{path}/approve"), None).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("another system administrator"), "{body}");
    let (code, body) = s.call(Some(&mike), Method::POST, &format!("{path}/approve"), None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["session"]["status"], "planned");
    let (code, body) = s.call(Some(&mike), Method::POST, &format!("{path}/approve"), None).await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");

    assert_eq!(check(&s, &admin, "bella", "MenuItemDisplay/DEVIntegMessageTable", "delete").await, "deny");
    let started = wait_for(&s, &auditor, &path, "active").await;
    assert_eq!(started["session"]["history"].as_array().unwrap().last().unwrap()["batch"], true);
    assert_eq!(check(&s, &admin, "bella", "MenuItemDisplay/DEVIntegMessageTable", "delete").await, "allow");
    let ended = wait_for(&s, &auditor, &path, "ended").await;
    assert!(ended["session"]["ended_at"].is_string());
    assert_eq!(check(&s, &admin, "bella", "MenuItemDisplay/DEVIntegMessageTable", "delete").await, "deny");

    let (code, log) = s.call(Some(&auditor), Method::GET, &format!("{path}/log"), None).await;
    assert_eq!(code, StatusCode::OK, "{log}");
    let statuses: Vec<&str> = log["audit"].as_array().unwrap().iter().map(|h| h["to"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["draft", "planned", "active", "ended"]);
    assert_eq!(log["user_log"].as_array().unwrap().last().unwrap()["event"], "session_ended");
    let (_, list) = s.call(Some(&auditor), Method::GET, "/api/v1/sessions/temp?status=ended&user=bella", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Each transition once in the audit trail, by the processor.
    let (_, audit) = s.call(Some(&admin), Method::GET, &format!("/api/v1/audit?object=temp_role_session/{id}"), None).await;
    let actions: Vec<&str> = audit["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["temp-session create", "temp-session approve", "temp-session start", "temp-session end"]);
}

#[tokio::test]
async fn a_privileged_session_is_recorded_and_its_recording_downloads_and_deletes() {
    let s = common::start().await;
    let admin = s.admin_token().await;
    let mike = token_for(&s, &admin, "mike").await;
    let app = s.user_with_roles(&admin, "erp", &["WardenApplication"]).await;

    let too_long = json!({"user": "hanna", "start": at(0), "end": at(25 * 3_600_000), "action": "enable"});
    let (code, body) = s.call(Some(&admin), Method::POST, "/api/v1/sessions/privileged", Some(too_long)).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("at most 24 hours"), "{body}");

    // hanna is disabled; the session enables her for a few seconds.
    let request = json!({"user": "hanna", "start": at(1_000), "end": at(4_000), "action": "enable", "reason": "<b>restore</b> a batch job"});
    let (code, body) = s.call(Some(&admin), Method::POST, "/api/v1/sessions/privileged", Some(request)).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    let id = body["session"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/sessions/privileged/{id}");
    let (code, body) = s.call(Some(&mike), Method::POST, &format!("{path}/approve"), Some(json!({"note": "ticket 4711"}))).await;
    assert_eq!(code, StatusCode::OK, "{body}");

    assert_eq!(check(&s, &app, "hanna", "MenuItemDisplay/DEVSQLQueryExecute", "read").await, "deny", "before the window");
    wait_for(&s, &admin, &path, "active").await;
    assert_eq!(check(&s, &app, "hanna", "MenuItemDisplay/DEVSQLQueryExecute", "read").await, "allow");
    let (code, body) = s
        .call(Some(&app), Method::POST, "/api/v1/check/batch", Some(json!({"checks": [{"user": "hanna", "entry_point": "DEVIntegMessageTable", "access": "delete"}, {"user": "bella", "entry_point": "DEVSQLQueryExecute", "access": "read"}]})))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, body) = s.call(Some(&app), Method::POST, "/api/v1/events/activity", Some(json!({"user": "hanna", "source": "erp", "detail": {"action": "reran <job> 17"}}))).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    // Not deletable while it is being made.
    let (code, _) = s.call(Some(&admin), Method::DELETE, &format!("{path}/recording"), None).await;
    assert_eq!(code, StatusCode::CONFLICT);
    let ended = wait_for(&s, &admin, &path, "ended").await;
    assert_eq!(ended["session"]["original_enabled"], false);
    assert_eq!(check(&s, &app, "hanna", "MenuItemDisplay/DEVSQLQueryExecute", "read").await, "deny", "after the window");

    // JSON Lines: the checks of hanna (not bella's) and the activity, in order.
    let r = Client::new().get(s.url(&format!("{path}/recording"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = r.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let what: Vec<(String, String)> = lines
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_string(), e["detail"]["decision"].as_str().unwrap_or("-").to_string()))
        .collect();
    assert_eq!(what, [("check".into(), "allow".into()), ("check".into(), "deny".into()), ("activity".into(), "-".into())], "{lines:?}");
    assert!(lines.iter().all(|e| e["user"] == "hanna"));
    let r = Client::new().get(s.url(&format!("{path}/recording?format=html"))).bearer_auth(&admin).send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("DEVSQLQueryExecute") && html.contains("&lt;b&gt;restore&lt;/b&gt;") && !html.contains("<b>restore"), "{html}");
    assert!(html.contains("reran &lt;job&gt; 17"), "{html}");

    let (code, body) = s.call(Some(&admin), Method::DELETE, &format!("{path}/recording"), None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["session"]["recording_deleted"]["events"], 3);
    let r = Client::new().get(s.url(&format!("{path}/recording"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "");
}

/// The attack: after a privileged session ended, an application posts an
/// event back-dated into its window (or dated year 0). Events are placed by
/// when Warden received them, so the recording, sealed at the end, stays as
/// it was; the claimed time is kept beside, labelled as the claim, and the
/// poster is the authenticated caller, not what the body says.
#[tokio::test]
async fn events_posted_after_the_end_cannot_be_back_dated_into_a_sealed_recording() {
    let s = common::start().await;
    let admin = s.admin_token().await;
    let mike = token_for(&s, &admin, "mike").await;
    let app = s.user_with_roles(&admin, "erp", &["WardenApplication"]).await;
    let (start, end) = (Timestamp(Timestamp::now().0 + 1_000), Timestamp(Timestamp::now().0 + 3_000));
    let request = json!({"user": "hanna", "start": start, "end": end, "action": "enable"});
    let (code, body) = s.call(Some(&admin), Method::POST, "/api/v1/sessions/privileged", Some(request)).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    let id = body["session"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/sessions/privileged/{id}");
    let (code, body) = s.call(Some(&mike), Method::POST, &format!("{path}/approve"), None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    wait_for(&s, &admin, &path, "active").await;
    let post = |body: Value| s.call(Some(&app), Method::POST, "/api/v1/events/activity", Some(body));
    let (code, body) = post(json!({"user": "hanna", "source": "erp", "detail": {"action": "reran job 17"}})).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let ended = wait_for(&s, &admin, &path, "ended").await;
    assert_eq!(ended["session"]["recording_seal"]["events"], 1, "{ended}");

    // Back-dated into the window, and signed as somebody else.
    let inside = Timestamp(start.0 + 500).to_string();
    let (code, body) = post(json!({"user": "hanna", "at": inside, "source": "payroll", "detail": {"action": "covered my tracks"}})).await;
    assert_eq!(code, StatusCode::ACCEPTED, "a recent claimed time is kept as a claim: {body}");
    for ancient in ["0000-01-01T00:00:00Z", "1970-01-01T00:00:00Z"] {
        let (code, body) = post(json!({"user": "hanna", "at": ancient, "detail": {"action": "from the past"}})).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{ancient}: {body}");
        assert!(body["detail"].as_str().unwrap().starts_with("at: "), "{body}");
    }

    let r = Client::new().get(s.url(&format!("{path}/recording"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-warden-recording-seal"], "intact");
    let lines: Vec<Value> = r.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = lines.iter().filter_map(|e| e["detail"]["detail"]["action"].as_str()).collect();
    assert_eq!(actions, ["reran job 17"], "the back-dated event is not in the recording: {lines:?}");
    assert!(lines[0]["source"].as_str().unwrap().starts_with("erp ("), "the authenticated poster: {lines:?}");
    assert_eq!(lines[0]["detail"]["claimed_source"], "erp");

    // It is in the activity log, received now, with its claim beside it.
    let (_, page) = s.call(Some(&admin), Method::GET, "/api/v1/events?user=hanna&kind=activity", None).await;
    let late = page["events"].as_array().unwrap().iter().find(|e| e["detail"]["detail"]["action"] == "covered my tracks").cloned().expect("logged");
    assert_eq!(late["claimed_at"], inside.as_str(), "{late}");
    assert!(Timestamp::parse(late["at"].as_str().unwrap()).unwrap() >= end, "{late}");
    assert_eq!(late["detail"]["claimed_source"], "payroll");
    assert!(late["source"].as_str().unwrap().starts_with("erp ("), "{late}");
}
