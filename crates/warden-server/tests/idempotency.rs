//! `Idempotency-Key` over real HTTP on loopback, against a real SQLite store:
//! a retried POST gets the first answer and writes nothing again.

mod common;

use common::start;
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use warden_server::endpoints;

async fn post(server: &common::TestServer, token: &str, path: &str, key: Option<&str>, body: &Value) -> Response {
    let mut req = Client::new().post(server.url(path)).bearer_auth(token).json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

fn replayed(r: &Response) -> bool {
    r.headers().get("idempotent-replayed").is_some_and(|v| v == "true")
}

async fn events(server: &common::TestServer, action: &str) -> usize {
    let all = server.store.audit_events(&Default::default()).await.unwrap();
    all.iter().filter(|e| e.action == action).count()
}

/// A retried create answers exactly as the first time (status, body, ETag,
/// Location), marked as a replay, and the object is created once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_create_replays_the_first_answer() {
    let server = start().await;
    let admin = server.admin_token().await;
    let org = json!({"id": "IDEM1", "name": "Idempotent Ltd"});
    let first = post(&server, &admin, "/api/v1/organizations", Some("3f1c0d9e-7a7b-4f57-9a0e-1d2c3b4a5f60"), &org).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(!replayed(&first));
    let (etag, location) = (first.headers()["etag"].clone(), first.headers()["location"].clone());
    let body = first.text().await.unwrap();
    let revision = server.store.revision().await.unwrap();

    let again = post(&server, &admin, "/api/v1/organizations", Some("3f1c0d9e-7a7b-4f57-9a0e-1d2c3b4a5f60"), &org).await;
    assert_eq!(again.status(), StatusCode::CREATED, "a retry is answered, not refused as a duplicate");
    assert!(replayed(&again));
    assert_eq!((again.headers()["etag"].clone(), again.headers()["location"].clone()), (etag, location));
    assert_eq!(again.headers()["content-type"], "application/json");
    assert_eq!(again.text().await.unwrap(), body);
    assert_eq!(server.store.revision().await.unwrap(), revision, "nothing written again");
    assert_eq!(events(&server, "org create").await, 1);

    // Without a key, the same request is a new request (and a duplicate).
    assert_eq!(post(&server, &admin, "/api/v1/organizations", None, &org).await.status(), StatusCode::CONFLICT);
}

/// The same key on another request is refused (422) rather than answered with
/// the other request's answer; a malformed key is refused naming the header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_answers_only_its_own_request() {
    let server = start().await;
    let admin = server.admin_token().await;
    let r = post(&server, &admin, "/api/v1/organizations", Some("k-1"), &json!({"id": "IDEM2"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let other = post(&server, &admin, "/api/v1/organizations", Some("k-1"), &json!({"id": "IDEM3"})).await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = other.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("Idempotency-Key \"k-1\" was used for another request"), "{problem}");
    let path = post(&server, &admin, "/api/v1/users", Some("k-1"), &json!({"id": "IDEM2"})).await;
    assert_eq!(path.status(), StatusCode::UNPROCESSABLE_ENTITY, "another path is another request");

    for bad in ["two words", "", &"x".repeat(256)] {
        let r = post(&server, &admin, "/api/v1/organizations", Some(bad), &json!({"id": "IDEM4"})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        let problem: Value = r.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().starts_with("Idempotency-Key: "), "{problem}");
    }
    assert!(server.store.get(&warden_model::ObjectRef::new(warden_model::ObjectKind::Organization, "IDEM4")).await.unwrap().is_none());
}

/// Keys belong to the caller: another caller's identical key is its own and
/// never sees the first caller's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_scoped_to_the_caller() {
    let server = start().await;
    let admin = server.admin_token().await;
    let other = server.user_with_roles(&admin, "second-admin", &[warden_server::builtin::SYSTEM_ADMINISTRATOR]).await;
    let r = post(&server, &admin, "/api/v1/organizations", Some("shared"), &json!({"id": "MINE"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let theirs = post(&server, &other, "/api/v1/organizations", Some("shared"), &json!({"id": "THEIRS"})).await;
    assert_eq!(theirs.status(), StatusCode::CREATED, "not 422: their key is their own");
    assert!(!replayed(&theirs));
    let same_body = post(&server, &other, "/api/v1/organizations", Some("shared-2"), &json!({"id": "MINE"})).await;
    assert_eq!(same_body.status(), StatusCode::CONFLICT, "not the first caller's answer: MINE exists");
    assert!(!replayed(&same_body));
}

/// A token issue holds a secret shown once: a retry neither issues a second
/// token nor shows the secret again, and no stored answer holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_token_issue_never_shows_the_secret_twice() {
    let server = start().await;
    let admin = server.admin_token().await;
    let body = json!({"user": "admin", "label": "idem-label"});
    let first = post(&server, &admin, "/api/v1/tokens", Some("tok-key"), &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let issued: Value = first.json().await.unwrap();
    let secret = issued["token"].as_str().unwrap().to_string();

    let again = post(&server, &admin, "/api/v1/tokens", Some("tok-key"), &body).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(replayed(&again));
    let text = again.text().await.unwrap();
    assert!(!text.contains(&secret) && !text.contains(secret.rsplit('_').next().unwrap()), "{text}");
    assert!(text.contains(issued["id"].as_str().unwrap()), "names the token that was issued: {text}");
    assert!(text.contains("idempotency-secret-not-kept"), "{text}");

    let (_, list) = server.call(Some(&admin), Method::GET, "/api/v1/tokens", None).await;
    let labelled = list.to_string().matches("idem-label").count();
    assert_eq!(labelled, 1, "one token: {list}");
    assert_eq!(events(&server, "token create").await, 2, "the test token and this one, once");
}

/// Concurrent copies of one request (a retry while the first is in flight):
/// one writes; the others get its answer or 409, never a second write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_write_once() {
    let server = start().await;
    let admin = server.admin_token().await;
    let body = json!({"id": "RACE"});
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (url, admin, body) = (server.url("/api/v1/organizations"), admin.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = Client::new().post(url).bearer_auth(admin).header("Idempotency-Key", "race").json(&body).send().await.unwrap();
            (r.status(), replayed(&r))
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let fresh = answers.iter().filter(|(s, r)| *s == StatusCode::CREATED && !r).count();
    assert_eq!(fresh, 1, "{answers:?}");
    for (status, was_replayed) in &answers {
        assert!(*status == StatusCode::CREATED || *status == StatusCode::CONFLICT, "{answers:?}");
        if *status == StatusCode::CONFLICT {
            assert!(!was_replayed);
        }
    }
    assert_eq!(events(&server, "org create").await, 1);
}

/// The OpenAPI document offers the header on every POST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_the_header_on_every_post() {
    let server = start().await;
    let (status, doc) = server.call(None, Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let posts: Vec<String> = endpoints::all().into_iter().filter(|e| e.method == axum::http::Method::POST).map(|e| e.path).collect();
    assert!(posts.len() > 20);
    for path in posts {
        let params = doc["paths"][&path]["post"]["parameters"].as_array().cloned().unwrap_or_default();
        assert!(params.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"), "{path}: {params:?}");
    }
}
