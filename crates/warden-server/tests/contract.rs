//! The API keeps the contract its OpenAPI document states: the body limit,
//! strict bodies (unknown fields, types, required settings), `If-Match`
//! everywhere a write could lose an update, `HEAD`, and the documented
//! error statuses. Against a real server over a real SQLite store.

mod common;

use common::start;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use warden_server::MAX_BODY_BYTES;

/// A batch of `n` checks, serialized.
fn batch(n: usize) -> String {
    let checks: Vec<Value> = (0..n)
        .map(|i| json!({"user": if i % 2 == 0 { "carlos" } else { "adam" }, "entry_point": "DEVSQLQueryExecute", "access": "read", "org": "USMF"}))
        .collect();
    json!({ "checks": checks }).to_string()
}

async fn post_raw(base: &str, token: &str, path: &str, body: Vec<u8>) -> (StatusCode, Option<String>, Value) {
    let r = Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let content_type = r.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = r.text().await.unwrap();
    (status, content_type, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Finding 4: the README promises batches of 100,000 checks; axum's default
/// 2 MiB limit refused anything past ~28,000. One limit, at its edge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_limit_is_the_stated_one_at_its_edge() {
    let server = start().await;
    let admin = server.admin_token().await;
    let body = batch(100_000);
    assert!(body.len() > 2 * 1024 * 1024, "the batch is {} bytes", body.len());
    let (status, _, answer) = post_raw(&server.base, &admin, "/api/v1/check/batch", body.clone().into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["results"].as_array().map(Vec::len), Some(100_000));
    assert_eq!(answer["errors"], 0);

    // Padded with white space (still the same JSON) to exactly the limit: read.
    let mut exact = body.into_bytes();
    exact.resize(MAX_BODY_BYTES, b' ');
    let (status, _, answer) = post_raw(&server.base, &admin, "/api/v1/check/batch", exact.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // One byte more: 413, as a problem document.
    exact.push(b' ');
    let (status, content_type, problem) = post_raw(&server.base, &admin, "/api/v1/check/batch", exact).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(problem["status"], 413);
    assert!(problem["detail"].as_str().unwrap().contains(&MAX_BODY_BYTES.to_string()), "{problem}");

    // The document states the limit.
    let (_, doc) = server.call(None, Method::GET, "/api/v1/openapi.json", None).await;
    assert!(doc["info"]["description"].as_str().unwrap().contains(&MAX_BODY_BYTES.to_string()));
}

async fn put(server: &common::TestServer, token: &str, path: &str, if_match: Option<&str>, body: Value) -> (StatusCode, Option<String>, Value) {
    let mut req = Client::new().put(server.url(path)).bearer_auth(token).json(&body);
    if let Some(v) = if_match {
        req = req.header("if-match", v);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = r.text().await.unwrap();
    (status, etag, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn get_etag(server: &common::TestServer, token: &str, path: &str) -> (Value, String) {
    let r = Client::new().get(server.url(path)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_else(|| panic!("GET {path} has no ETag"));
    (r.json().await.unwrap(), etag)
}

/// Finding 5: `PUT /sod/settings` with `{}` or a misspelt field reset every
/// setting to its default, without `If-Match`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_refuse_unknown_and_missing_fields_and_take_if_match() {
    let server = start().await;
    let admin = server.admin_token().await;
    for (path, full, misspelt) in [
        (
            "/api/v1/sod/settings",
            json!({"check_similarity": true, "similarity_level": 70, "refuse_similar": false}),
            json!({"check_similarity": true, "similarityy": 70, "refuse_similar": false}),
        ),
        ("/api/v1/sessions/settings", json!({"allow_self_approval": true}), json!({"allow_self_approvall": true})),
    ] {
        let (before, etag) = get_etag(&server, &admin, path).await;
        assert_eq!(etag, "\"0\"", "{path}: nothing stored yet");
        let (status, _, problem) = put(&server, &admin, path, None, full.clone()).await;
        assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{path}: {problem}");
        let (status, _, problem) = put(&server, &admin, path, Some(&etag), json!({})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains("missing field"), "{problem}");
        let (status, _, problem) = put(&server, &admin, path, Some(&etag), misspelt).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains("unknown field"), "{problem}");
        assert_eq!(get_etag(&server, &admin, path).await.0, before, "{path}: a refused PUT changed nothing");

        let (status, new_etag, saved) = put(&server, &admin, path, Some(&etag), full.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {saved}");
        assert_eq!(saved, full);
        let new_etag = new_etag.expect("PUT answers the new ETag");
        assert_ne!(new_etag, etag);
        // The version read before is stale now: a concurrent update is not lost.
        let (status, _, problem) = put(&server, &admin, path, Some(&etag), full.clone()).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{path}: {problem}");
        let (status, _, _) = put(&server, &admin, path, Some(&new_etag), full.clone()).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = put(&server, &admin, path, Some("*"), full.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path}: * matches the current settings");
    }
    // `63.0` is an integer in JSON Schema.
    let (status, _, saved) = put(&server, &admin, "/api/v1/sod/settings", Some("*"), json!({"check_similarity": true, "similarity_level": 63.0, "refuse_similar": false})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["similarity_level"], 63);
}

/// Finding 5: every request body refuses fields its schema does not have,
/// naming the field with its path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_are_refused_naming_the_field() {
    let server = start().await;
    let admin = server.admin_token().await;
    let cases = [
        (Method::POST, "/api/v1/roles", json!({"name": "StrictRole", "labell": "typo"}), "/labell"),
        (
            Method::POST,
            "/api/v1/privileges",
            json!({"name": "StrictPriv", "entry_points": [{"name": "DEVSQLQueryExecute", "kind": "MenuItemAction", "object": "DEVSQLQueryExecute", "grant": {"allow": 1, "deny": 0}, "extra": 1}]}),
            "/entry_points/0/extra",
        ),
        (Method::POST, "/api/v1/users", json!({"id": "strict-user", "enabledd": false}), "/enabledd"),
        (
            Method::POST,
            "/api/v1/sod/rules",
            json!({"name": "StrictRule", "first": {"kind": "duty", "duty": "A", "dutyy": "B"}, "second": {"kind": "duty", "duty": "C"}}),
            "/first/dutyy",
        ),
        (Method::POST, "/api/v1/tokens", json!({"user": "carlos", "expires_in": 3}), "/expires_in"),
        (Method::POST, "/api/v1/audit/verify", json!({"anchorr": null}), "/anchorr"),
    ];
    for (method, path, body, field) in cases {
        let (status, problem) = server.call(Some(&admin), method.clone(), path, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path}: {problem}");
        let detail = problem["detail"].as_str().unwrap();
        let name = field.rsplit('/').next().unwrap();
        assert!(detail.starts_with(&format!("{field}: unknown field '{name}'")), "{method} {path}: {detail}");
    }
    // Nothing was written.
    let (status, _) = server.call(Some(&admin), Method::GET, "/api/v1/roles/StrictRole", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Found by schemathesis (CI, stop 18): a `PUT` whose body breaks its schema
/// was answered 412 when its `If-Match` named a version past any revision, as
/// if the body had been fine. What the client sent is judged first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_put_is_refused_for_its_body_before_its_precondition() {
    let server = start().await;
    let admin = server.admin_token().await;
    let body = json!({"name": "x", "\u{9a}": {}, "": false});
    for if_match in [Some("\"808086837007762886091344507128575\""), Some("\"1\""), Some("*"), None] {
        let (status, _, problem) = put(&server, &admin, "/api/v1/organizations/NOPE", if_match, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "If-Match {if_match:?}: {problem}");
    }
    // A well-formed body with that If-Match is still a stale version.
    let (status, _, problem) = put(&server, &admin, "/api/v1/organizations/USMF", Some("\"808086837007762886091344507128575\""), json!({"id": "USMF"})).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
}

/// Finding 10: the server and its document disagreed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_holds_to_its_document() {
    let server = start().await;
    let admin = server.admin_token().await;
    // A timestamp is a string: `0` is not 1970-01-01.
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/assignments", Some(json!({"user": "carlos", "role": "SystemUser", "valid_to": 0}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap().starts_with("/valid_to: expected string"), "{problem}");

    // The status of session lists is the enum the document lists.
    for family in ["temp", "privileged"] {
        let (status, problem) = server.call(Some(&admin), Method::GET, &format!("/api/v1/sessions/{family}?status=bogus"), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{family}: {problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.starts_with("status:") && detail.contains("draft") && detail.contains("cancelled"), "{detail}");
        let (status, _) = server.call(Some(&admin), Method::GET, &format!("/api/v1/sessions/{family}?status=draft"), None).await;
        assert_eq!(status, StatusCode::OK);
    }

    // Integers may carry a zero fraction.
    let (status, token) = server.call(Some(&admin), Method::POST, "/api/v1/tokens", Some(json!({"user": "carlos", "expires_in_days": 30.0}))).await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/tokens", Some(json!({"user": "carlos", "expires_in_days": 30.5}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    // HEAD answers like GET, without a body.
    for path in ["/api/v1/roles", "/healthz", "/api/v1/openapi.json", "/api/v1/sod/settings"] {
        let r = Client::new().head(server.url(path)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "HEAD {path}");
        assert!(r.bytes().await.unwrap().is_empty(), "HEAD {path} has a body");
    }
    // A method a route does not take: 405 with Allow.
    let r = Client::new().patch(server.url("/api/v1/roles")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = r.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(allow.contains("GET") && allow.contains("POST") && allow.contains("HEAD"), "Allow: {allow}");

    // `If-Match: *` matches whatever version is current, and nothing when there is no object.
    let role = json!({"name": "StarRole", "label": "one"});
    let (status, _) = server.call(Some(&admin), Method::POST, "/api/v1/roles", Some(role)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, saved) = put(&server, &admin, "/api/v1/roles/StarRole", Some("*"), json!({"name": "StarRole", "label": "two"})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["object"]["label"], "two");
    let (status, _, problem) = put(&server, &admin, "/api/v1/roles/NoSuchRole", Some("*"), json!({"name": "NoSuchRole"})).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
    // A cursor past any sequence number is refused as the document's maximum says.
    let (_, doc) = server.call(None, Method::GET, "/api/v1/openapi.json", None).await;
    let after_seq = doc["paths"]["/api/v1/audit"]["get"]["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "after_seq").unwrap()["schema"]["maximum"].clone();
    assert_eq!(after_seq, json!(i64::MAX));
    let (status, problem) = server.call(Some(&admin), Method::GET, &format!("/api/v1/audit?after_seq={}", i64::MAX as u64 + 1), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // A well-formed version past any revision is stale, not malformed.
    let (status, _, problem) = put(&server, &admin, "/api/v1/roles/StarRole", Some("W/\"51010800590659179243\""), json!({"name": "StarRole"})).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
    let r = Client::new().delete(server.url("/api/v1/roles/NoSuchRole")).bearer_auth(&admin).header("if-match", "*").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = Client::new().delete(server.url("/api/v1/roles/StarRole")).bearer_auth(&admin).header("if-match", "*").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // The document lists the statuses these answers use.
    let (_, doc) = server.call(None, Method::GET, "/api/v1/openapi.json", None).await;
    let put_role = &doc["paths"]["/api/v1/roles/{name}"]["put"]["responses"];
    for code in ["200", "400", "401", "403", "404", "409", "412", "413", "415", "422", "428"] {
        assert!(put_role[code].is_object(), "PUT /roles/{{name}} does not document {code}");
    }
    for path in ["/api/v1/sod/settings", "/api/v1/sessions/settings"] {
        assert!(doc["paths"][path]["put"]["responses"]["428"].is_object(), "{path}");
        let name = doc["paths"][path]["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        let schema = &doc["components"]["schemas"][&name];
        assert_eq!(schema["additionalProperties"], false, "{name}");
        assert_eq!(schema["required"].as_array().map(Vec::len), schema["properties"].as_object().map(|p| p.len()), "{name}: every field is required");
    }
    assert!(doc["paths"]["/api/v1/auth/login"]["post"]["responses"]["429"].is_object());
}
