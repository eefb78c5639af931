//! `POST /api/v1/check` with a `control` or `field`: the Lossless fixture's
//! privilege allows Update on CustTable and denies it on control CreditMax.

mod common;

use common::start;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::path::Path;
use warden_core::Warden;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_name_a_control_or_a_field() {
    let server = start().await;
    let admin = server.admin_token().await;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../warden-aot/tests/fixtures/lossless");
    Warden::new(server.store.clone(), "test").import_aot(&[fixture], false).await.expect("import");
    server.user_with_roles(&admin, "vera", &["LosslessVendorPortalUser"]).await;
    let check = |body: serde_json::Value| {
        let server = &server;
        let admin = &admin;
        async move { server.call(Some(admin), Method::POST, "/api/v1/check", Some(body)).await }
    };
    let (status, whole) = check(json!({"user": "vera", "entry_point": "MenuItemDisplay/CustTable", "access": "update"})).await;
    assert_eq!((status, whole["decision"].as_str()), (StatusCode::OK, Some("allow")), "{whole}");
    assert!(whole.get("control").is_none(), "{whole}");

    let (status, control) = check(json!({"user": "vera", "entry_point": "MenuItemDisplay/CustTable", "access": "update", "control": "CreditMax", "explain": true})).await;
    assert_eq!((status, control["decision"].as_str()), (StatusCode::OK, Some("deny")), "{control}");
    assert_eq!(control["control"], "CreditMax");
    let reason = control["explanation"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("its own grant on control CreditMax"), "{reason}");
    assert_eq!(control["explanation"]["part"], json!({"kind": "control", "name": "CreditMax"}));

    let (_, read) = check(json!({"user": "vera", "entry_point": "CustTable", "access": "read", "control": "CreditMax"})).await;
    assert_eq!(read["decision"], "allow", "{read}");
    let (_, field) = check(json!({"user": "vera", "entry_point": "DataEntity/CustCustomerV3Entity", "access": "update", "field": "CreditLimit"})).await;
    assert_eq!((field["decision"].as_str(), field["field"].as_str()), (Some("deny"), Some("CreditLimit")), "{field}");

    // GET /explain takes them too.
    let (status, why) = server.call(Some(&admin), Method::GET, "/api/v1/explain?user=vera&entry_point=CustTable&access=update&field=CustTable.CreditMax", None).await;
    assert_eq!((status, why["decision"].as_str()), (StatusCode::OK, Some("deny")), "{why}");
    assert!(why["reason"].as_str().unwrap_or_default().contains("its own grant on field CustTable.CreditMax"), "{why}");
    let (status, _) = server.call(Some(&admin), Method::GET, "/api/v1/explain?user=vera&entry_point=CustTable&access=update&field=x&control=y", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Both, or a name the identifier rule refuses: 422 naming the field.
    let (status, problem) = check(json!({"user": "vera", "entry_point": "CustTable", "access": "read", "control": "A", "field": "B"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("not both"), "{problem}");
    let (status, problem) = check(json!({"user": "vera", "entry_point": "CustTable", "access": "read", "field": " Padded"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().starts_with("field: invalid field name"), "{problem}");
    let (status, problem) = check(json!({"user": "vera", "entry_point": "CustTable", "access": "read", "control": 7})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a control is a string: {problem}");
}
