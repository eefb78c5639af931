//! The API over real HTTP on loopback, against a real SQLite store.

mod common;

use common::{start, ADMIN_PASSWORD};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use warden_model::Timestamp;
use warden_server::builtin::{self, Action};
use warden_server::endpoints::{self, Guard};

/// A concrete path for a route: every `{param}` filled with `x`.
fn concrete(path: &str) -> String {
    path.split('/').map(|s| if s.starts_with('{') { "x" } else { s }).collect::<Vec<_>>().join("/")
}

/// Every guarded endpoint refuses anonymous callers and callers whose roles do
/// not grant its action, and admits those whose roles do, where "grant" is
/// decided by the engine on the built-in model, role by role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_is_guarded_by_the_warden_model() {
    let server = start().await;
    let admin = server.admin_token().await;
    let mut tokens = vec![("nobody".to_string(), server.user_with_roles(&admin, "nobody", &[]).await)];
    for (role, ..) in builtin::ROLES {
        let user = format!("holder-of-{role}").to_lowercase();
        tokens.push((role.to_string(), server.user_with_roles(&admin, &user, &[role]).await));
    }
    let snapshot = server.state.snapshot();
    let now = Timestamp::now();
    let mut checked = 0;
    let mut refused = 0;
    for e in endpoints::all() {
        let path = concrete(&e.path);
        let body = (e.method == Method::POST || e.method == Method::PUT).then(|| json!({}));
        let (status, problem) = server.call(None, e.method.clone(), &path, body.clone()).await;
        match e.guard {
            Guard::Public => {
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{} {path} is public", e.method);
                continue;
            }
            _ => assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous {} {path}: {problem}", e.method),
        }
        let Guard::Requires(action) = e.guard else { continue };
        for (role, token) in &tokens {
            let user = if role == "nobody" { "nobody".to_string() } else { format!("holder-of-{role}").to_lowercase() };
            let expected = warden_server::auth::permits(&snapshot, &user, action, now);
            // Deletes of objects that exist would change the fixture; the paths name `x`, which does not.
            let (status, problem) = server.call(Some(token), e.method.clone(), &path, body.clone()).await;
            if expected {
                assert!(status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN, "{role} holds {action}, but {} {path} answered {status}: {problem}", e.method);
            } else {
                refused += 1;
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} lacks {action}, but {} {path} answered {status}: {problem}", e.method);
                assert_eq!(problem["status"], 403);
            }
            checked += 1;
        }
    }
    assert!(checked > 200 && refused > 100, "checked {checked}, refused {refused}");
    // The model decides, and it is not trivial: the application role may check but not read the audit trail.
    let app = format!("holder-of-{}", builtin::APPLICATION).to_lowercase();
    assert!(warden_server::auth::permits(&snapshot, &app, Action::new(builtin::Area::Check, warden_model::Access::Invoke), now));
    assert!(!warden_server::auth::permits(&snapshot, &app, Action::new(builtin::Area::AuditTrail, warden_model::Access::Read), now));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_sign_in_csrf_and_sign_out() {
    let server = start().await;
    // A wrong password is refused and recorded.
    let r = Client::new().post(server.url("/api/v1/auth/login")).json(&json!({"user": "admin", "password": "wrong password!"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    let (client, csrf) = server.login("admin", ADMIN_PASSWORD).await;
    let me: Value = client.get(server.url("/api/v1/auth/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"], "admin");
    assert_eq!(me["via"], "session");
    assert!(me["roles"].as_array().unwrap().contains(&json!("SystemAdministrator")));

    // State changes through the cookie need the CSRF token.
    let body = json!({"user": "carlos", "label": "x"});
    let r = client.post(server.url("/api/v1/tokens")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client.post(server.url("/api/v1/tokens")).header("x-csrf-token", "0".repeat(64)).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client.post(server.url("/api/v1/tokens")).header("x-csrf-token", &csrf).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let r = client.post(server.url("/api/v1/auth/logout")).header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = client.get(server.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Sign-ins and the failure are in the activity log.
    let admin = server.admin_token().await;
    let (status, page) = server.call(Some(&admin), Method::GET, "/api/v1/events?user=admin", None).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = page["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"sign_in_failed") && kinds.contains(&"sign_in") && kinds.contains(&"sign_out"), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_rate_limited() {
    let server = start().await;
    let client = Client::new();
    let mut last = StatusCode::OK;
    for _ in 0..12 {
        last = client.post(server.url("/api/v1/auth/login")).json(&json!({"user": "admin", "password": "guess guess guess"})).send().await.unwrap().status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Even the right password waits out the lockout.
    let r = client.post(server.url("/api/v1/auth/login")).json(&json!({"user": "admin", "password": ADMIN_PASSWORD})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_rotate_with_grace_and_revoke() {
    let server = start().await;
    let admin = server.admin_token().await;
    let app = server.user_with_roles(&admin, "billing-app", &[builtin::APPLICATION]).await;
    let check = json!({"user": "carlos", "entry_point": "DEVSQLQueryExecute", "access": "read"});
    let (status, _) = server.call(Some(&app), Method::POST, "/api/v1/check", Some(check.clone())).await;
    assert_eq!(status, StatusCode::OK);

    let id = app.split('_').nth(1).unwrap().to_string();
    let (status, rotated) = server.call(Some(&admin), Method::POST, &format!("/api/v1/tokens/{id}/rotate"), Some(json!({"grace_seconds": 60}))).await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new = rotated["token"].as_str().unwrap();
    // Both work during the grace period.
    assert_eq!(server.call(Some(&app), Method::POST, "/api/v1/check", Some(check.clone())).await.0, StatusCode::OK);
    assert_eq!(server.call(Some(new), Method::POST, "/api/v1/check", Some(check.clone())).await.0, StatusCode::OK);
    // Revoked: refused at once.
    let (status, _) = server.call(Some(&admin), Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.call(Some(&app), Method::POST, "/api/v1/check", Some(check.clone())).await.0, StatusCode::UNAUTHORIZED);
    // A zero grace period ends the old token immediately.
    let new_id = rotated["id"].as_str().unwrap();
    let (_, again) = server.call(Some(&admin), Method::POST, &format!("/api/v1/tokens/{new_id}/rotate"), Some(json!({"grace_seconds": 0}))).await;
    assert_eq!(server.call(Some(new), Method::POST, "/api/v1/check", Some(check.clone())).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.call(again["token"].as_str(), Method::POST, "/api/v1/check", Some(check)).await.0, StatusCode::OK);
    // The list shows no secrets.
    let (_, list) = server.call(Some(&admin), Method::GET, "/api/v1/tokens", None).await;
    assert!(!list.to_string().contains(new.split('_').nth(2).unwrap()));
    // Every step is in the audit trail, by who did it.
    let (_, audit) = server.call(Some(&admin), Method::GET, "/api/v1/audit?actor=admin&limit=1000", None).await;
    let actions: Vec<&str> = audit["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    // The admin signed in and made its token with a session; what it did with the token names the token.
    assert!(
        !actions.contains(&"token rotate") && !actions.contains(&"token revoke"),
        "token calls are recorded with the token in the actor, not the bare user: {actions:?}"
    );
    let (_, audit) = server.call(Some(&admin), Method::GET, "/api/v1/audit?limit=1000", None).await;
    let actions: Vec<&str> = audit["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["token create", "token rotate", "token revoke"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_agree_with_the_engine() {
    let server = start().await;
    let admin = server.admin_token().await;
    let snapshot = server.state.snapshot();
    let model = &snapshot.model;
    let now = Timestamp::now();
    let mut checks = Vec::new();
    let mut expected = Vec::new();
    for user in model.users.keys().take(10) {
        for ep in model.entry_points.keys().take(40) {
            for access in [warden_model::Access::Read, warden_model::Access::Delete] {
                checks.push(json!({"user": user, "entry_point": ep.to_string(), "access": access.as_str().to_lowercase()}));
                expected.push(warden_engine::reference::check(model, user, ep, access, None, now).is_allowed());
            }
        }
    }
    let (status, body) = server.call(Some(&admin), Method::POST, "/api/v1/check/batch", Some(json!({"at": now.to_string(), "checks": checks}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got: Vec<bool> = body["results"].as_array().unwrap().iter().map(|r| r["decision"] == "allow").collect();
    assert_eq!(got, expected);
    assert!(expected.iter().any(|a| *a) && expected.iter().any(|a| !*a), "the sample has both answers");
    // Single checks, with an explanation.
    let (status, one) = server
        .call(Some(&admin), Method::POST, "/api/v1/check", Some(json!({"user": "carlos", "entry_point": "DEVSQLQueryExecute", "access": "update", "explain": true})))
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert!(one["explanation"]["paths"].is_array());
    // Unknown names are errors, not a deny.
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/check", Some(json!({"user": "nosuchuser", "entry_point": "DEVSQLQueryExecute", "access": "read"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problem["detail"].as_str().unwrap().contains("nosuchuser"));
    let (_, batch) = server.call(Some(&admin), Method::POST, "/api/v1/check/batch", Some(json!({"checks": [{"user": "nosuchuser", "entry_point": "X", "access": "read"}]}))).await;
    assert_eq!(batch["errors"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_crud_with_if_match() {
    let server = start().await;
    let admin = server.admin_token().await;
    let role = json!({"name": "ApiTestRole", "label": "Made over HTTP", "duties": [], "privileges": [], "sub_roles": []});
    let (status, created) = server.call(Some(&admin), Method::POST, "/api/v1/roles", Some(role.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let v1 = created["version"].as_u64().unwrap();
    assert_eq!(created["layer"], "database");
    // Creating it again conflicts.
    assert_eq!(server.call(Some(&admin), Method::POST, "/api/v1/roles", Some(role)).await.0, StatusCode::CONFLICT);

    let put = |version: u64, label: &str| {
        Client::new()
            .put(server.url("/api/v1/roles/ApiTestRole"))
            .bearer_auth(&admin)
            .header("if-match", format!("\"{version}\""))
            .json(&json!({"name": "ApiTestRole", "label": label}))
            .send()
    };
    // Two administrators edit the same version: one wins, the other gets 412 and loses nothing.
    let first = put(v1, "first").await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let v2: u64 = first.headers()["etag"].to_str().unwrap().trim_matches('"').parse().unwrap();
    assert!(v2 > v1);
    let second = put(v1, "second").await.unwrap();
    assert_eq!(second.status(), StatusCode::PRECONDITION_FAILED);
    let (_, now) = server.call(Some(&admin), Method::GET, "/api/v1/roles/ApiTestRole", None).await;
    assert_eq!(now["object"]["label"], "first");
    // Without If-Match: 428.
    let r = Client::new().put(server.url("/api/v1/roles/ApiTestRole")).bearer_auth(&admin).json(&json!({"name": "ApiTestRole"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_REQUIRED);
    // Listing finds it; paging works.
    let (_, page) = server.call(Some(&admin), Method::GET, "/api/v1/roles?q=apitest", None).await;
    assert_eq!(page["total"], 1);
    let (_, page) = server.call(Some(&admin), Method::GET, "/api/v1/roles?limit=2", None).await;
    let next = page["next"].as_str().unwrap();
    let (_, page2) = server.call(Some(&admin), Method::GET, &format!("/api/v1/roles?limit=2&after={next}"), None).await;
    assert_ne!(page["items"][0]["key"], page2["items"][0]["key"]);
    // Delete with the current version.
    let r = Client::new().delete(server.url("/api/v1/roles/ApiTestRole")).bearer_auth(&admin).header("if-match", v2.to_string()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.call(Some(&admin), Method::GET, "/api/v1/roles/ApiTestRole", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_and_openapi() {
    let server = start().await;
    let admin = server.admin_token().await;
    let (status, head) = server.call(Some(&admin), Method::GET, "/api/v1/audit/head", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, verdict) = server.call(Some(&admin), Method::POST, "/api/v1/audit/verify", Some(json!({"anchor": head}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verdict["status"], "intact", "{verdict}");
    let (status, doc) = server.call(None, Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let (status, _) = server.call(None, Method::GET, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, text) = server.call(Some(&admin), Method::GET, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.as_str().unwrap_or("").contains("warden_http_requests_total"), "{text}");
    let (status, problem) = server.call(None, Method::GET, "/api/v1/nothing-here", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["status"], 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_customizations_override_code_and_can_be_dropped() {
    let server = start().await;
    let admin = server.admin_token().await;
    let model = server.state.snapshot().model.clone();
    // A demo duty (code layer) that no role holds, so that deleting it is allowed.
    let unassigned = model
        .duties
        .keys()
        .find(|d| model.roles.values().all(|r| !r.duties.contains(d)) && model.role_extensions.values().all(|x| !x.duties.contains(d)))
        .expect("an unused demo duty")
        .clone();
    let assigned = model.assignments.iter().find(|a| a.user == "carlos").unwrap().role.clone();

    // Edit a code role through the API: the database form wins, the code form stays visible.
    let (_, role) = server.call(Some(&admin), Method::GET, &format!("/api/v1/roles/{assigned}"), None).await;
    assert_eq!(role["layer"], "code");
    let mut edited = role["object"].clone();
    edited["label"] = json!("Customized label");
    let r = Client::new()
        .put(server.url(&format!("/api/v1/roles/{assigned}")))
        .bearer_auth(&admin)
        .header("if-match", role["version"].to_string())
        .json(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, layers) = server.call(Some(&admin), Method::GET, &format!("/api/v1/roles/{assigned}/layers"), None).await;
    assert_eq!(status, StatusCode::OK, "{layers}");
    assert_eq!(layers["database"]["label"], "Customized label");
    assert_ne!(layers["code"]["label"], "Customized label");
    assert_eq!(layers["effective"]["layer"], "database");

    // Delete an unused code duty: hidden, not gone from the code layer.
    let (_, r2) = server.call(Some(&admin), Method::GET, &format!("/api/v1/duties/{unassigned}"), None).await;
    let del = Client::new().delete(server.url(&format!("/api/v1/duties/{unassigned}"))).bearer_auth(&admin).header("if-match", r2["version"].to_string()).send().await.unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT, "{unassigned}: {}", del.text().await.unwrap());
    assert_eq!(server.call(Some(&admin), Method::GET, &format!("/api/v1/duties/{unassigned}"), None).await.0, StatusCode::NOT_FOUND);
    let (_, layers) = server.call(Some(&admin), Method::GET, &format!("/api/v1/duties/{unassigned}/layers"), None).await;
    assert_eq!(layers["hidden"], true);
    assert!(layers["effective"].is_null());

    // Deleting a role users hold is refused, naming the problem; nothing changes.
    let (_, r3) = server.call(Some(&admin), Method::GET, &format!("/api/v1/roles/{assigned}"), None).await;
    let refused = Client::new().delete(server.url(&format!("/api/v1/roles/{assigned}"))).bearer_auth(&admin).header("if-match", r3["version"].to_string()).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("still referenced"), "{problem}");

    let (_, list) = server.call(Some(&admin), Method::GET, "/api/v1/customizations", None).await;
    let keys: Vec<(String, bool)> = list["items"].as_array().unwrap().iter().map(|i| (i["key"].as_str().unwrap().to_string(), i["hidden"].as_bool().unwrap())).collect();
    assert!(keys.contains(&(assigned.clone(), false)) && keys.contains(&(unassigned.clone(), true)), "{keys:?}");

    // Dropping both brings the code forms back.
    let body = json!({"objects": [{"kind": "role", "key": assigned}, {"kind": "duty", "key": unassigned}]});
    let (status, removed) = server.call(Some(&admin), Method::POST, "/api/v1/customizations/remove", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    let (_, back) = server.call(Some(&admin), Method::GET, &format!("/api/v1/roles/{assigned}"), None).await;
    assert_eq!((back["layer"].as_str(), back["object"]["label"] == "Customized label"), (Some("code"), false));
    assert_eq!(server.call(Some(&admin), Method::GET, &format!("/api/v1/duties/{unassigned}"), None).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignment_rules_follow_users_changed_over_http() {
    let server = start().await;
    let admin = server.admin_token().await;
    let (status, rules) = server.call(Some(&admin), Method::GET, "/api/v1/assignment-rules", None).await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    assert_eq!(rules["items"][0]["key"], "FinanceAccountsPayable");
    let (_, bella) = server.call(Some(&admin), Method::GET, "/api/v1/assignments/bella/VendInvoiceAccountsPayableClerk", None).await;
    assert_eq!(bella["object"]["rule"], "FinanceAccountsPayable", "{bella}");

    // Mike moves to accounts payable: his update brings the rule's role in the same write.
    let (_, mike) = server.call(Some(&admin), Method::GET, "/api/v1/users/mike", None).await;
    let mut body = mike["object"].clone();
    body["attributes"] = json!({"department": "Finance", "title": "Accounts payable lead"});
    let r = Client::new()
        .put(server.url("/api/v1/users/mike"))
        .bearer_auth(&admin)
        .header("if-match", mike["version"].to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let (status, made) = server.call(Some(&admin), Method::GET, "/api/v1/assignments/mike/VendInvoiceAccountsPayableClerk", None).await;
    assert_eq!((status, made["object"]["organizations"].clone()), (StatusCode::OK, json!(["USMF"])), "{made}");

    // Provenance cannot be forged.
    let forged = json!({"user": "nora", "role": "VendInvoiceAccountsPayableClerk", "rule": "FinanceAccountsPayable"});
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/assignments", Some(forged)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    // Deleting a rule-made assignment excludes the user instead of having it come straight back.
    let r = Client::new()
        .delete(server.url("/api/v1/assignments/bella/VendInvoiceAccountsPayableClerk"))
        .bearer_auth(&admin)
        .header("if-match", bella["version"].to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = server.call(Some(&admin), Method::GET, "/api/v1/assignments/bella/VendInvoiceAccountsPayableClerk", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, rule) = server.call(Some(&admin), Method::GET, "/api/v1/assignment-rules/FinanceAccountsPayable", None).await;
    assert_eq!(rule["object"]["excluded_users"], json!(["bella"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segregation_of_duties_over_http() {
    let server = start().await;
    let admin = server.admin_token().await;
    let rule = "SecurityAdministrationVsSqlExecution";
    // A direct assignment that breaks a rule: 409 naming the rule, nothing written.
    let body = json!({"role": "DEVSQLQueryExecute"});
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/users/kenji/assign", Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains(rule), "{problem}");
    // The generic assignments collection is just as preventive.
    let (status, _) = server.call(Some(&admin), Method::POST, "/api/v1/assignments", Some(json!({"user": "kenji", "role": "DEVSQLQueryExecute"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // With a reason it goes through and into the register.
    let body = json!({"role": "DEVSQLQueryExecute", "override_reason": "upgrade weekend"});
    let (status, out) = server.call(Some(&admin), Method::POST, "/api/v1/users/kenji/assign", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (_, register) = server.call(Some(&admin), Method::GET, "/api/v1/sod/conflicts?status=allowed", None).await;
    assert_eq!(register["total"], 1, "{register}");
    assert_eq!(register["items"][0]["reason"], "upgrade weekend");
    let decided_by = register["items"][0]["decided_by"].as_str().unwrap();
    assert!(decided_by.starts_with("admin"), "the signed-in administrator decided: {decided_by}");
    // Rules are a collection; verification and the roles report are operations.
    let (status, rules) = server.call(Some(&admin), Method::GET, "/api/v1/sod/rules", None).await;
    assert_eq!((status, rules["total"].as_u64()), (StatusCode::OK, Some(3)));
    let (status, verified) = server.call(Some(&admin), Method::POST, "/api/v1/sod/verify", None).await;
    assert_eq!((status, verified["conflicts"].as_u64()), (StatusCode::OK, Some(1)), "{verified}");
    let (status, roles) = server.call(Some(&admin), Method::GET, "/api/v1/sod/roles", None).await;
    assert_eq!((status, roles["roles"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    let (status, v) = server.call(Some(&admin), Method::GET, &format!("/api/v1/sod/rules/{rule}/validate"), None).await;
    assert_eq!((status, v["roles"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    // A security auditor reads the register but cannot decide.
    let auditor = server.user_with_roles(&admin, "audrey", &["SecurityAuditor"]).await;
    assert_eq!(server.call(Some(&auditor), Method::GET, "/api/v1/sod/conflicts", None).await.0, StatusCode::OK);
    let (status, _) = server.call(Some(&auditor), Method::POST, "/api/v1/sod/verify", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_must_be_objects_and_pages_in_range() {
    let server = start().await;
    let admin = server.admin_token().await;
    // serde would build a struct from an array of its fields; the API takes objects only.
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/check", Some(json!(["carlos", "DEVSQLQueryExecute", "read"]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, _) = server.call(Some(&admin), Method::POST, "/api/v1/tokens", Some(json!([null, null]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = server.call(Some(&admin), Method::POST, "/api/v1/check", Some(json!({"user": "carlos", "entry_point": "DEVSQLQueryExecute", "access": "read"}))).await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/api/v1/events?limit=0", "/api/v1/audit?limit=1001", "/api/v1/roles?limit=0", "/api/v1/webhooks/deliveries?limit=0"] {
        assert_eq!(server.call(Some(&admin), Method::GET, path, None).await.0, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    let (status, _) = server.call(Some(&admin), Method::POST, "/api/v1/audit/verify", Some(json!({"anchor": {"seq": 9223372036854775808u64, "hash": ""}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
