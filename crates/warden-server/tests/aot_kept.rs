//! The AOT elements Warden keeps without interpreting them (`unmodelled`)
//! pass the API's strict body schema and come back as sent; one that could
//! not be written back as XML is refused.

mod common;

use common::start;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn forms(control: &str) -> serde_json::Value {
    json!({
        "after": "ObjectType",
        "element": {"name": "Forms", "children": [{"name": "AxSecurityEntryPointReferenceForm", "children": [
            {"name": "Name", "text": "CustTable"},
            {"name": "Controls", "children": [{"name": "AxSecurityEntryPointReferenceFormControl", "children": [
                {"name": control, "text": "CreditMax"},
                {"name": "Grant", "children": [{"name": "Update", "text": "Deny"}]}
            ]}]}
        ]}]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_elements_pass_the_schema_and_come_back() {
    let server = start().await;
    let admin = server.admin_token().await;
    let body = json!({
        "name": "KeptPriv",
        "entry_points": [{"name": "DEVSQLQueryExecute", "kind": "MenuItemAction", "object": "DEVSQLQueryExecute", "grant": {"allow": 1, "deny": 0}, "unmodelled": [forms("Name")]}],
        "unmodelled": [{"within": "EntryPoints", "after": "AxSecurityEntryPointReference", "element": {"name": "AxSecurityEntryPointReference", "attributes": [{"name": "i:type", "value": "x"}], "children": [{"name": "ObjectType", "text": "Tile"}]}}]
    });
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/privileges", Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{problem}");
    let (status, got) = server.call(Some(&admin), Method::GET, "/api/v1/privileges/KeptPriv", None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["object"]["entry_points"][0]["unmodelled"], body["entry_points"][0]["unmodelled"], "{got}");
    assert_eq!(got["object"]["unmodelled"], body["unmodelled"], "{got}");

    // An element name that is no XML name would make export write broken XML.
    let bad = json!({
        "name": "BadKeptPriv",
        "entry_points": [{"name": "DEVSQLQueryExecute", "kind": "MenuItemAction", "object": "DEVSQLQueryExecute", "grant": {"allow": 1, "deny": 0}, "unmodelled": [forms("Name><Evil")]}]
    });
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/privileges", Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("/entry_points/0/unmodelled/0/element/children/0/children/1/children/0/children/0/name"), "{detail}");
    // An unknown field inside a kept element is refused like any other.
    let typo = json!({"name": "TypoKeptPriv", "unmodelled": [{"element": {"name": "Tags", "txt": "x"}}]});
    let (status, problem) = server.call(Some(&admin), Method::POST, "/api/v1/privileges", Some(typo)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("/unmodelled/0/element/txt"), "{problem}");
}
