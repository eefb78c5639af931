//! `warden check --control` / `--field`, from the store and through a
//! running server: the Lossless fixture's privilege allows Update on
//! CustTable and denies it on control CreditMax.

mod common;

use common::{json, ok, refused, serve, stderr, stdout, warden};
use std::path::Path;
use tempfile::TempDir;

const LOSSLESS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../warden-aot/tests/fixtures/lossless");

/// The exit status and output of `warden check --user vera ARGS`.
fn check(d: &Path, args: &[&str]) -> (i32, String) {
    let mut all = vec!["check", "--user", "vera"];
    all.extend_from_slice(args);
    let o = warden(d, &all);
    (o.status.code().expect("exited"), format!("{}{}", stdout(&o), stderr(&o)))
}

const UPDATE: [&str; 4] = ["--entry-point", "MenuItemDisplay/CustTable", "--access", "update"];

#[test]
fn checks_name_a_control_or_a_field() {
    let dir = TempDir::new().expect("temp dir");
    let d = dir.path();
    ok(d, &["import", "aot", LOSSLESS]);
    ok(d, &["user", "add", "vera"]);
    ok(d, &["user", "assign", "vera", "LosslessVendorPortalUser"]);
    assert_eq!(check(d, &UPDATE), (0, "allow\n".into()));
    assert_eq!(check(d, &[&UPDATE[..], &["--control", "CreditMax"]].concat()), (1, "deny\n".into()));
    assert_eq!(check(d, &["--entry-point", "CustTable", "--access", "read", "--control", "CreditMax"]), (0, "allow\n".into()));
    assert_eq!(check(d, &[&UPDATE[..], &["--field", "CustTable.CreditMax"]].concat()), (1, "deny\n".into()));
    assert_eq!(check(d, &["--entry-point", "DataEntity/CustCustomerV3Entity", "--access", "update", "--field", "CreditLimit"]), (1, "deny\n".into()));

    let (code, text) = check(d, &[&UPDATE[..], &["--control", "CreditMax", "--explain"]].concat());
    assert_eq!(code, 1);
    assert!(text.starts_with("deny: Update on control CreditMax is denied by") && text.contains("its own grant on control CreditMax"), "{text}");
    assert!(text.contains("· control CreditMax ·"), "{text}");
    let v = json(d, &["check", "--user", "vera", "--entry-point", "CustTable", "--access", "update", "--control", "CreditMax"]);
    assert_eq!((v["decision"].as_str(), &v["part"]), (Some("deny"), &serde_json::json!({"kind": "control", "name": "CreditMax"})), "{v}");

    // Both at once, or a name the identifier rule refuses.
    let e = refused(d, &["check", "--user", "vera", "--entry-point", "CustTable", "--access", "read", "--control", "A", "--field", "B"]);
    assert!(e.contains("--control") && e.contains("--field"), "{e}");
    let e = refused(d, &["check", "--user", "vera", "--entry-point", "CustTable", "--access", "read", "--control", "a\u{7}b"]);
    assert!(e.contains("control: invalid control name"), "{e}");

    // Through a running server of the store: the same answers.
    let _server = serve(&["--data-dir", d.to_str().expect("utf-8 path")], &[("WARDEN_ADMIN_PASSWORD", "a long enough password"), ("RUST_LOG", "warn")]);
    assert_eq!(check(d, &UPDATE), (0, "allow\n".into()));
    assert_eq!(check(d, &[&UPDATE[..], &["--control", "CreditMax"]].concat()), (1, "deny\n".into()));
    assert_eq!(check(d, &["--entry-point", "CustTable", "--access", "read", "--control", "CreditMax"]), (0, "allow\n".into()));
    let e = refused(d, &["check", "--user", "vera", "--entry-point", "CustTable", "--access", "read", "--field", " x"]);
    assert!(e.contains("invalid field name"), "{e}");
}
