//! D365 data-management entities over HTTP: an entity read back as D365's
//! file imports again with nothing to change; a bad row is a 422 naming its
//! line and column; an SoD conflict is a 409 naming the rule.

mod common;

use common::start;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_go_out_and_come_back_over_http() {
    let server = start().await;
    let admin = server.admin_token().await;
    let r = reqwest::Client::new().get(server.url("/api/v1/dmf/user-roles?format=xml")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/xml");
    let records: usize = r.headers()["x-warden-records"].to_str().unwrap().parse().unwrap();
    assert!(records > 10, "the demo's assignments: {records}");
    let roles = r.text().await.unwrap();
    assert!(roles.contains("<SYSTEMSECURITYUSERROLEENTITY>"), "{roles}");
    let (status, out) = server
        .call(Some(&admin), Method::POST, "/api/v1/dmf/import", Some(json!({"files": [{"name": "roles.xml", "content": roles}]})))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["changed"], false, "{out}");
    assert_eq!(out["files"][0]["entity"], "user-roles");

    // The document says what the export answers: both media types, and the formats there are.
    let (_, doc) = server.call(None, Method::GET, "/api/v1/openapi.json", None).await;
    let get = &doc["paths"]["/api/v1/dmf/{entity}"]["get"];
    let content = get["responses"]["200"]["content"].as_object().expect("content");
    // A JSON object's keys have no order (serde_json keeps insertion order when a workspace build turns `preserve_order` on).
    let mut types: Vec<&String> = content.keys().collect();
    types.sort();
    assert_eq!(types, ["application/xml", "text/csv"], "{get}");
    assert_eq!(doc["components"]["schemas"]["DmfFormatName"]["enum"], json!(["csv", "xml"]));

    let (status, problem) = server
        .call(Some(&admin), Method::GET, "/api/v1/dmf/no-such-entity", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");

    let bad = "USERID,SECURITYROLEIDENTIFIER\ncarlos,SystemUser\ncarlos,NoSuchRole\n";
    let (status, problem) = server
        .call(Some(&admin), Method::POST, "/api/v1/dmf/import", Some(json!({"files": [{"name": "roles.csv", "content": bad}]})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["errors"][0].as_str().unwrap().starts_with("roles.csv:3: column 2 (SECURITYROLEIDENTIFIER): unknown role 'NoSuchRole'"), "{problem}");

    let conflict = "USERID,SECURITYROLEIDENTIFIER\nkenji,DEVSQLQueryExecute\n";
    let body = json!({"files": [{"name": "roles.csv", "content": conflict}]});
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/dmf/import", Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("SecurityAdministrationVsSqlExecution"), "{problem}");
    let body = json!({"files": [{"name": "roles.csv", "content": conflict}], "override_reason": "upgrade weekend"});
    let (status, out) = server.call(Some(&admin), Method::POST, "/api/v1/dmf/import", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["assignments"]["added"], 1, "{out}");
}
