//! `warden serve` over HTTPS: a self-signed certificate made at test time, a
//! real server on a loopback port, a real rustls client that trusts only that
//! certificate.

mod common;

use common::ADMIN_PASSWORD;
use reqwest::{Client, StatusCode};
use rustls::pki_types::pem::PemObject;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;
use warden_core::Warden;
use warden_server::{ServeOptions, TlsConfig};

struct Pem {
    cert: String,
    key: String,
}

fn self_signed() -> Pem {
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    Pem { cert: c.cert.pem(), key: c.key_pair.serialize_pem() }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

struct TlsServer {
    base: String,
    cert_pem: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
    _dir: TempDir,
}

/// A demo store with the bootstrap administrator, served over HTTPS.
async fn start_tls() -> TlsServer {
    let dir = tempfile::tempdir().unwrap();
    let pem = self_signed();
    let cert = write(dir.path(), "cert.pem", &pem.cert);
    let key = write(dir.path(), "key.pem", &pem.key);
    let tls = TlsConfig::load(&cert, &key).unwrap();
    let store = warden_store::open(None, &dir.path().join("data")).await.unwrap();
    Warden::new(store.clone(), "test").load_demo(false, warden_model::Timestamp::now()).await.unwrap();
    // Cookies are asked not to be Secure: serving TLS must make them Secure anyway.
    let options = ServeOptions { listen: "127.0.0.1:0".parse().unwrap(), secure_cookies: false, tls: Some(tls.clone()), webhooks: Default::default(), processor: true };
    let state = warden_server::prepare(store.clone(), &options).await.unwrap();
    warden_server::bootstrap_admin(&store, Some(ADMIN_PASSWORD)).await.unwrap();
    state.refresh(None).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        warden_server::serve_tls(state, listener, &tls, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TlsServer { base, cert_pem: pem.cert, stop: Some(tx), done, _dir: dir }
}

impl TlsServer {
    fn client(&self) -> Client {
        Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).unwrap())
            .cookie_store(true)
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_health_sign_in_with_secure_cookies_and_graceful_stop() {
    let mut server = start_tls().await;
    let client = server.client();

    let r = client.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let health: Value = r.json().await.unwrap();
    assert!(health.is_object(), "{health}");

    let r = client.post(format!("{}/api/v1/auth/login", server.base)).json(&json!({"user": "admin", "password": ADMIN_PASSWORD})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookies: Vec<String> = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(!cookies.is_empty(), "signing in sets the session cookie");
    for c in &cookies {
        assert!(c.split(';').any(|a| a.trim() == "Secure"), "cookie without Secure over HTTPS: {c}");
    }
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_string();

    // The session works over the TLS connection.
    let me: Value = client.get(format!("{}/api/v1/auth/me", server.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"], "admin");
    assert_eq!(me["via"], "session");
    let r = client.post(format!("{}/api/v1/auth/logout", server.base)).header("x-csrf-token", csrf).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    // A client that does not trust the certificate is refused.
    let untrusting = Client::builder().use_rustls_tls().timeout(Duration::from_secs(20)).build().unwrap();
    assert!(untrusting.get(format!("{}/healthz", server.base)).send().await.is_err());

    // Stopping finishes: serve_tls returns.
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), &mut server.done).await.expect("serve_tls returns after the shutdown signal").unwrap();
    assert!(client.get(format!("{}/healthz", server.base)).send().await.is_err(), "nothing listens after the stop");
}

/// A request whose headers have arrived when the stop comes is still
/// answered, and only then does the server stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_finishes_a_request_in_flight() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut server = start_tls().await;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(server.cert_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let addr = server.base.trim_start_matches("https://").to_string();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)).connect(name, tcp).await.unwrap();

    let body = json!({"user": "admin", "password": ADMIN_PASSWORD}).to_string();
    let (first, rest) = body.split_at(10);
    let head = format!("POST /api/v1/auth/login HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", body.len());
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(first.as_bytes()).await.unwrap();
    tls.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!server.done.is_finished(), "the server stopped with a request in flight");

    tls.write_all(rest.as_bytes()).await.unwrap();
    tls.flush().await.unwrap();
    let mut response = Vec::new();
    // Read to the end: the server closes the connection after the response.
    let _ = tokio::time::timeout(Duration::from_secs(20), tls.read_to_end(&mut response)).await.expect("the response comes, then the close");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    tokio::time::timeout(Duration::from_secs(20), &mut server.done).await.expect("then serve_tls returns").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_tls_port_fails() {
    let server = start_tls().await;
    let plain = server.base.replacen("https://", "http://", 1);
    let r = Client::builder().timeout(Duration::from_secs(20)).build().unwrap().get(format!("{plain}/healthz")).send().await;
    assert!(r.is_err(), "plain HTTP was answered: {:?}", r.map(|r| r.status()));
    // The server is still fine for TLS clients.
    let r = server.client().get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

fn load_err(cert: &Path, key: &Path) -> String {
    TlsConfig::load(cert, key).expect_err("must be refused").to_string()
}

#[test]
fn bad_certificate_and_key_files_are_named_in_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let a = self_signed();
    let b = self_signed();
    let cert = write(dir.path(), "cert.pem", &a.cert);
    let key = write(dir.path(), "key.pem", &a.key);
    let other_key = write(dir.path(), "other-key.pem", &b.key);
    let missing = dir.path().join("missing.pem");
    let empty = write(dir.path(), "empty.pem", "");
    let garbage = write(dir.path(), "garbage.pem", "-----BEGIN PRIVATE KEY-----\nnot base64 at all!!\n-----END PRIVATE KEY-----\n");

    assert!(TlsConfig::load(&cert, &key).is_ok());

    let e = load_err(&missing, &key);
    assert_eq!(e, format!("cannot read TLS certificate {}: no such file", missing.display()));
    let e = load_err(&cert, &missing);
    assert_eq!(e, format!("cannot read TLS key {}: no such file", missing.display()));

    // A PEM file that holds a key but no certificate, and an empty one.
    let e = load_err(&key, &key);
    assert_eq!(e, format!("cannot read TLS certificate {}: no certificate found", key.display()));
    let e = load_err(&empty, &key);
    assert_eq!(e, format!("cannot read TLS certificate {}: no certificate found", empty.display()));

    // A certificate where the key should be.
    let e = load_err(&cert, &cert);
    assert_eq!(e, format!("cannot read TLS key {}: no private key found", cert.display()));

    // Another certificate's key.
    let e = load_err(&cert, &other_key);
    assert_eq!(e, format!("cannot read TLS key {}: the key does not match the certificate in {}", other_key.display(), cert.display()));

    // A key block that is not base64.
    let e = load_err(&cert, &garbage);
    assert!(e.starts_with(&format!("cannot read TLS key {}: ", garbage.display())), "{e}");
}
