//! Names over HTTP (issue 13, findings 2 and 7): keys that join names stay
//! unambiguous whatever the names hold, and every id meets one rule.

mod common;

use common::start;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Users `kx` and `kx/ka`, roles `ka/kb` and `kb`: the assignments `kx` →
/// `ka/kb` and `kx/ka` → `kb` once shared the key `kx/ka/kb`, so the second
/// silently replaced the first and `kx` lost access. A role's name is now an
/// AOT file name and cannot hold `/` (issue 15, finding 6), but user ids can:
/// keys still escape each name, and `kx` and `kx/ka` keep apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignments_of_names_holding_slashes_keep_apart() {
    let server = start().await;
    let admin = server.admin_token().await;
    for user in ["kx", "kx/ka"] {
        let (status, body) = server.call(Some(&admin), Method::POST, "/api/v1/users", Some(json!({"id": user, "enabled": true}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/roles", Some(json!({"name": "ka/kb"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // The document's pattern for a role's name says so, and the body check holds the request to it.
    assert!(problem["detail"].as_str().unwrap_or_default().starts_with("/name: \"ka/kb\" does not match the pattern"), "{problem}");
    for role in ["ka", "kb"] {
        let (status, body) = server.call(Some(&admin), Method::POST, "/api/v1/roles", Some(json!({"name": role}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = server.call(Some(&admin), Method::POST, "/api/v1/users/kx/assign", Some(json!({"role": "kb"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.call(Some(&admin), Method::POST, "/api/v1/users/kx%2Fka/assign", Some(json!({"role": "kb"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["replaced"], Value::Null, "a new assignment replaces nothing: {body}");

    // What the store holds, read afresh: both assignments.
    let (model, _) = server.store.load().await.unwrap();
    let roles = |user: &str| model.assignments_of(user).iter().map(|a| a.role.clone()).collect::<Vec<_>>();
    assert_eq!(roles("kx"), vec!["kb"]);
    assert_eq!(roles("kx/ka"), vec!["kb"]);
    // Each is reachable at its own URL, and names its own user.
    for (path, user) in [("/api/v1/assignments/kx/kb", "kx"), ("/api/v1/assignments/kx%2Fka/kb", "kx/ka")] {
        let (status, body) = server.call(Some(&admin), Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!((body["object"]["user"].as_str(), body["object"]["role"].as_str()), (Some(user), Some("kb")), "{path}: {body}");
    }
    // Revoking one leaves the other.
    let (status, body) = server.call(Some(&admin), Method::GET, "/api/v1/assignments/kx%2Fka/kb", None).await;
    assert_eq!(status, StatusCode::OK);
    let version = body["version"].as_u64().unwrap();
    let r = reqwest::Client::new()
        .delete(server.url("/api/v1/assignments/kx%2Fka/kb"))
        .bearer_auth(&admin)
        .header("if-match", format!("\"{version}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (model, _) = server.store.load().await.unwrap();
    assert_eq!(model.assignments_of("kx").len(), 1, "kx keeps kb");
    assert!(model.assignments_of("kx/ka").is_empty());
}

/// The same names in the SoD conflicts register (`USER/RULE`): four
/// conflicts, four entries, each resolvable by its own URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sod_conflicts_of_names_holding_slashes_keep_apart() {
    let server = start().await;
    let admin = server.admin_token().await;
    let (status, demo_rule) = server.call(Some(&admin), Method::GET, "/api/v1/sod/rules/SecurityAdministrationVsSqlExecution", None).await;
    assert_eq!(status, StatusCode::OK, "{demo_rule}");
    // Two rules over the demo rule's sides, and two users who break all three.
    for name in ["ka/kb", "kb"] {
        let mut rule = demo_rule["object"].clone();
        rule["name"] = json!(name);
        let (status, body) = server.call(Some(&admin), Method::POST, "/api/v1/sod/rules", Some(rule)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for (user, path) in [("kx", "kx"), ("kx/ka", "kx%2Fka")] {
        let (status, body) = server.call(Some(&admin), Method::POST, "/api/v1/users", Some(json!({"id": user, "enabled": true}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        for role in ["SysSecSecurityAdministrator", "DEVSQLQueryExecute"] {
            let body = json!({"role": role, "override_reason": "issue 13 probe"});
            let (status, out) = server.call(Some(&admin), Method::POST, &format!("/api/v1/users/{path}/assign"), Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{out}");
        }
    }
    let (model, _) = server.store.load().await.unwrap();
    let mut pairs: Vec<(String, String)> = model.sod_conflicts.values().map(|c| (c.user.clone(), c.rule.clone())).collect();
    pairs.sort();
    let expected: Vec<(String, String)> = [
        ("kx", "SecurityAdministrationVsSqlExecution"),
        ("kx", "ka/kb"),
        ("kx", "kb"),
        ("kx/ka", "SecurityAdministrationVsSqlExecution"),
        ("kx/ka", "ka/kb"),
        ("kx/ka", "kb"),
    ]
    .iter()
    .map(|(u, r)| (u.to_string(), r.to_string()))
    .collect();
    assert_eq!(pairs, expected, "one register entry per user and rule");
    let (_, register) = server.call(Some(&admin), Method::GET, "/api/v1/sod/conflicts", None).await;
    assert_eq!(register["total"], 6, "{register}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_short_and_visible() {
    let server = start().await;
    let admin = server.admin_token().await;
    // 100,000 characters: refused before anything is stored, without echoing the name.
    let long = "r".repeat(100_000);
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/roles", Some(json!({"name": long}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("100000 bytes long; ids are at most 255 bytes"), "{detail}");
    assert!(detail.len() < 300, "the answer does not echo the name");
    // Invisible and bidirectional characters.
    for id in ["ad\u{200B}min2", "\u{202E}nimda", "carol\u{FEFF}"] {
        let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/users", Some(json!({"id": id, "enabled": true}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{id:?}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains("format character"), "{problem}");
    }
    // Referenced names follow the same rule.
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/roles", Some(json!({"name": "Fine", "duties": ["Duty\u{200F}"]}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // Security object names are AOT file names, referenced ones too: what the
    // AOT import refuses, the API refuses (by the document's pattern for an
    // object's own name, by the identifier rule for a reference).
    for (path, body, says) in [
        ("/api/v1/duties", json!({"name": "Vend/Duty"}), "/name: \"Vend/Duty\" does not match the pattern"),
        ("/api/v1/roles", json!({"name": "Fine", "duties": ["Vend:Duty"]}), "duty name \"Vend:Duty\" holds ':'"),
        ("/api/v1/policies", json!({"name": "P|1", "primary_table": "T", "query": "Q", "context_type": "RoleName", "enabled": true}), "/name: \"P|1\" does not match the pattern"),
    ] {
        let (status, problem) = server.call(Some(&admin), Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {problem}");
        assert!(problem["detail"].as_str().unwrap_or_default().contains(says), "{path}: {problem}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_names_collide() {
    let server = start().await;
    let admin = server.admin_token().await;
    // `admin` with a Cyrillic а, and in full-width letters: the bootstrap administrator's look-alikes.
    for id in ["\u{0430}dmin", "ａｄｍｉｎ"] {
        let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/users", Some(json!({"id": id, "enabled": true}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{id:?}: {problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("looks the same as existing user 'admin'"), "{detail}");
    }
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/roles", Some(json!({"name": "SystemAdministrat\u{043E}r"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("'SystemAdministrator'"), "{problem}");
    // A new name that only differs in ASCII stays a different name.
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/users", Some(json!({"id": "adm1n", "enabled": true}))).await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
}
