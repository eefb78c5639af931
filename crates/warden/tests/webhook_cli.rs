//! `warden webhook add` refuses targets on the server's own network unless
//! the operator allows them, and alert types it does not know.

mod common;

use common::{json, ok, refused};
use tempfile::TempDir;

#[test]
fn private_targets_need_the_operators_consent_and_events_must_be_known() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    ok(d, &["demo"]);
    for url in [
        "http://127.0.0.1:9000/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://localhost/hook",
        "http://0x7f000001/hook",
        "http://2130706433/hook",
        "ftp://alerts.example.com/hook",
    ] {
        let e = refused(d, &["webhook", "add", url]);
        assert!(e.contains("url: ") && (url.starts_with("ftp") || e.contains("--allow-private-webhooks")), "{url}: {e}");
    }
    assert_eq!(json(d, &["webhook", "list"]), serde_json::json!([]), "nothing was made");

    let e = refused(d, &["webhook", "add", "https://alerts.example.com/hook", "--event", "sod.conflict.resolved"]);
    assert!(e.contains("events: unknown alert type 'sod.conflict.resolved'") && e.contains("sod.conflict.unresolved"), "{e}");

    // The operator's consent: a flag, or the environment.
    let out = ok(d, &["webhook", "add", "http://127.0.0.1:9000/hook", "--allow-private-webhooks", "--event", "session.privileged.*"]);
    assert!(out.starts_with("Added webhook wh_"), "{out}");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["--data-dir", d.to_str().unwrap(), "webhook", "add", "http://10.0.0.1/hook"])
        .env_remove("WARDEN_WEBHOOK_KEY")
        .env("WARDEN_WEBHOOK_ALLOW_PRIVATE", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert_eq!(json(d, &["webhook", "list"]).as_array().map(Vec::len), Some(2));
}
