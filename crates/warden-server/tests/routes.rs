//! The router, the authorization guards and the OpenAPI document all come
//! from the endpoint declarations: checked here over real HTTP against a real
//! server, and against a committed snapshot of every operation with its
//! guard (`tests/routes.txt`), so that a change to who may call what, or to
//! the documented operations, shows up in review.

mod common;

use common::start;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use warden_server::endpoints::{self, Guard};

/// A concrete path for a route: every `{param}` filled with `x`.
fn concrete(path: &str) -> String {
    path.split('/').map(|s| if s.starts_with('{') { "x" } else { s }).collect::<Vec<_>>().join("/")
}

fn guard(g: Guard) -> String {
    match g {
        Guard::Public => "public".into(),
        Guard::Authenticated => "signed-in".into(),
        Guard::Requires(action) => format!("requires {action}"),
    }
}

/// One line per operation: method, path, guard (from the declarations), and
/// what the served document says of it (operation id, security, parameters,
/// responses, links).
fn snapshot(doc: &Value) -> String {
    let guards: BTreeMap<(String, String), Guard> = endpoints::all().into_iter().map(|e| ((e.path, e.method.as_str().to_lowercase()), e.guard)).collect();
    let mut lines = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let g = guards.get(&(path.clone(), method.clone())).map_or_else(|| "UNDECLARED".to_string(), |g| guard(*g));
            let params: Vec<String> = op["parameters"].as_array().into_iter().flatten().map(|p| format!("{}:{}", p["in"].as_str().unwrap_or("?"), p["name"].as_str().unwrap_or("?"))).collect();
            // Sorted: whether serde_json keeps insertion order depends on the features of the build.
            let mut responses: Vec<&String> = op["responses"].as_object().into_iter().flat_map(|r| r.keys()).collect();
            responses.sort();
            let mut links: Vec<&String> = op["responses"].as_object().into_iter().flat_map(|r| r.values()).flat_map(|r| r["links"].as_object().into_iter().flat_map(|l| l.keys())).collect();
            links.sort();
            lines.push(format!(
                "{} {path} | {g} | {} | security={} | params={} | responses={} | links={}",
                method.to_uppercase(),
                op["operationId"].as_str().unwrap_or("?"),
                op.get("security").is_some(),
                params.join(","),
                responses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
                links.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
            ));
        }
    }
    lines.sort();
    lines.join("\n") + "\n"
}

/// The served document lists exactly the declared operations, and both match
/// the committed snapshot. `WARDEN_BLESS=1` rewrites the snapshot after an
/// intended change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_and_guards_match_the_snapshot() {
    let server = start().await;
    let (status, doc) = server.call(None, Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let declared: BTreeSet<(String, String)> = endpoints::all().into_iter().map(|e| (e.method.as_str().to_string(), e.path)).collect();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    assert_eq!(declared, documented, "the document and the declarations differ");
    assert_eq!(declared.len(), endpoints::all().len(), "a method and path declared twice");

    let text = snapshot(&doc);
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/routes.txt");
    if std::env::var_os("WARDEN_BLESS").is_some() {
        std::fs::write(file, &text).unwrap();
    }
    let committed = std::fs::read_to_string(file).unwrap_or_default();
    for (n, (got, want)) in text.lines().zip(committed.lines()).enumerate() {
        assert_eq!(got, want, "line {} of tests/routes.txt differs (WARDEN_BLESS=1 rewrites it after an intended change)", n + 1);
    }
    assert_eq!(text.lines().count(), committed.lines().count(), "tests/routes.txt has another number of operations (WARDEN_BLESS=1 rewrites it)");
}

/// Every declared operation is routed (no 404, no 405); every other method on
/// a declared path answers 405 with `Allow` naming exactly the declared
/// methods (and HEAD beside GET), before any authentication; HEAD is GET
/// without the body; an undeclared path answers 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_declared_route_is_served_and_nothing_else() {
    let server = start().await;
    let client = Client::new();
    let table = endpoints::all();
    let mut paths: BTreeMap<&str, Vec<Method>> = BTreeMap::new();
    for e in &table {
        paths.entry(e.path.as_str()).or_default().push(e.method.clone());
    }
    let probes = [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS];
    let mut refused = 0;
    for (path, declared) in &paths {
        let url = server.url(&concrete(path));
        let mut allow: Vec<&str> = declared.iter().map(Method::as_str).collect();
        if declared.contains(&Method::GET) {
            allow.push("HEAD");
        }
        for m in &probes {
            let r = client.request(m.clone(), &url).send().await.unwrap();
            let status = r.status();
            if allow.contains(&m.as_str()) {
                assert!(status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED, "{m} {path} is declared but answered {status}");
                if *m == Method::HEAD {
                    assert!(r.bytes().await.unwrap().is_empty(), "HEAD {path} has a body");
                }
                continue;
            }
            refused += 1;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path} is not declared");
            let header = r.headers().get("allow").unwrap_or_else(|| panic!("{m} {path}: 405 without Allow")).to_str().unwrap().to_string();
            let mut named: Vec<&str> = header.split(',').map(str::trim).collect();
            named.sort_unstable();
            let mut expected = allow.clone();
            expected.sort_unstable();
            assert_eq!(named, expected, "{m} {path}: Allow {header}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            if *m != Method::HEAD {
                let problem: Value = r.json().await.unwrap();
                assert_eq!(problem["status"], 405, "{m} {path}: {problem}");
            }
        }
    }
    assert!(refused > 300, "only {refused} undeclared methods probed");
    for path in ["/", "/api/v1", "/api/v1/nothing", "/api/v1/roles/x/y/z", "/healthz/x"] {
        let r = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
