//! D365's security configuration file over the API: `POST
//! /security-config/import` takes it as `application/xml`, `GET
//! /security-config` gives it back the same in XML terms; a bad file is a 422
//! naming the line, and the wrong media type a 415.

mod common;

use common::start;
use reqwest::{Method, StatusCode};

fn fixture() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../warden-aot/tests/fixtures/security-config/SecurityDatabaseCustomizations.xml");
    std::fs::read_to_string(path).expect("fixture")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_goes_in_and_comes_back() {
    let server = start().await;
    let admin = server.admin_token().await;
    let client = reqwest::Client::new();
    let post = |body: String, content_type: &'static str| {
        client
            .post(server.url("/api/v1/security-config/import"))
            .bearer_auth(&admin)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let r = post(fixture(), "application/xml").await.expect("sent");
    assert_eq!(r.status(), StatusCode::OK);
    let imported: serde_json::Value = r.json().await.expect("json");
    assert_eq!(imported["changed"], true, "{imported}");
    assert_eq!((imported["customized"].as_u64(), imported["new"].as_u64(), imported["disabled"].as_u64()), (Some(2), Some(3), Some(1)), "{imported}");

    let (status, role) = server.call(Some(&admin), Method::GET, "/api/v1/roles/a3f2c1d0-5b6e-4c7d-8e9f-0a1b2c3d4e5f", None).await;
    assert_eq!(status, StatusCode::OK, "{role}");

    let r = client.get(server.url("/api/v1/security-config")).bearer_auth(&admin).send().await.expect("sent");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/xml"));
    let exported = r.text().await.expect("text");
    assert!(exported.contains("<AxSecurityRole xmlns=\"\">") && exported.contains("<a:string>DEVIntegServiceTestMaintain</a:string>"), "{exported}");

    // The same file again: nothing to write.
    let again: serde_json::Value = post(exported.clone(), "application/xml").await.expect("sent").json().await.expect("json");
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["revision"], imported["revision"], "{again}");

    // A problem names the body's line; nothing is written.
    let bad = fixture().replace("<Read>Allow</Read>", "<Read>Sometimes</Read>");
    let r = post(bad, "application/xml").await.expect("sent");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: serde_json::Value = r.json().await.expect("json");
    assert!(problem["detail"].as_str().unwrap_or_default().starts_with("request body:"), "{problem}");
    // JSON is not the file.
    let r = post("{}".into(), "application/json").await.expect("sent");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Anyone without the security configuration action is refused.
    let r = client.get(server.url("/api/v1/security-config")).send().await.expect("sent");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
