//! One-shot commands answered by a running `warden serve` over its local
//! socket: the same answers as from the store, the command line's actor in
//! the audit trail, the socket private to its owner, and the store path
//! whenever no server answers. Real processes, real socket, real HTTP.

mod common;

use common::{json, ok, serve, stderr, stdout, warden};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

const CHECK: [&str; 7] = ["check", "--user", "carlos", "--entry-point", "DEVSQLQueryExecute", "--access", "read"];

/// `warden ARGS` that must not open the store: the server answers.
fn served(data: &Path, args: &[&str]) -> std::process::Output {
    warden(data, args)
}

fn last_event(data: &Path) -> serde_json::Value {
    let events = json(data, &["audit", "log", "--limit", "100000"]);
    events.as_array().and_then(|a| a.last().cloned()).expect("an event")
}

#[test]
fn check_and_assign_go_to_the_running_server_and_fall_back_to_the_store() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    ok(d, &["demo"]);
    // From the store: the reference answers.
    let from_store = warden(d, &CHECK);
    let socket = d.join("warden.sock");
    assert!(!socket.exists());

    let mut server = serve(&["--data-dir", d.to_str().unwrap()], &[("WARDEN_ADMIN_PASSWORD", "a long enough password"), ("RUST_LOG", "warn")]);
    let meta = std::fs::metadata(&socket).expect("the server listens on warden.sock beside the store");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "only the store's owner may open the socket");

    // The same answer, exit status included, through the server.
    let through = served(d, &CHECK);
    assert_eq!((stdout(&through), through.status.code()), (stdout(&from_store), from_store.status.code()), "{}", stderr(&through));
    let denied = served(d, &["check", "--user", "carlos", "--entry-point", "DEVSQLQueryExecute", "--access", "delete"]);
    assert_eq!(denied.status.code(), Some(1), "{}", stdout(&denied));
    // An error reads as the core's own message.
    let o = served(d, &["check", "--user", "nobody", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown user 'nobody'"), "{}", stderr(&o));

    // An assignment through the server: the command line's actor, the socket's origin.
    let out = ok(d, &["user", "assign", "adam", "SystemUser"]);
    assert!(out.contains("Assigned role SystemUser to adam globally"), "{out}");
    let event = last_event(d);
    assert_eq!((event["actor"].as_str(), event["origin"].as_str(), event["action"].as_str()), (Some("tester"), Some("cli via warden serve"), Some("user assign")), "{event}");
    // A refusal is the core's, and nothing is written.
    let e = common::refused(d, &["user", "assign", "adam", "NoSuchRole"]);
    assert!(e.contains("unknown role 'NoSuchRole'"), "{e}");
    assert_eq!(last_event(d)["seq"], event["seq"]);

    // A write made straight to the store is seen by the next command through the server at once.
    let direct = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--data-dir")
        .arg(d)
        .args(["user", "add", "newcomer"])
        .env("WARDEN_NO_SERVER", "1")
        .env("USER", "tester")
        .output()
        .unwrap();
    assert!(direct.status.success(), "{}", stderr(&direct));
    assert_eq!(last_event(d)["origin"], "cli");
    let o = served(d, &["check", "--user", "newcomer", "--entry-point", "DEVSQLQueryExecute", "--access", "read"]);
    assert_eq!(o.status.code(), Some(1), "a known user without roles is denied, not unknown: {}", stderr(&o));

    // Over TCP, the header gives no standing.
    let r = tcp::post_with_actor(&server.base);
    assert_eq!(r, 401, "x-warden-actor over TCP must not authenticate");

    // A server that died leaves its socket behind: commands open the store instead.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(socket.exists(), "SIGKILL leaves the file");
    let after = warden(d, &CHECK);
    assert_eq!((stdout(&after), after.status.code()), (stdout(&from_store), from_store.status.code()), "{}", stderr(&after));
    // And the next server replaces it.
    let server = serve(&["--data-dir", d.to_str().unwrap()], &[("RUST_LOG", "warn")]);
    let o = served(d, &CHECK);
    assert_eq!(o.status.code(), from_store.status.code(), "{}", stderr(&o));
    drop(server);
}

mod tcp {
    /// `POST /api/v1/check` over TCP with only the local socket's header; the status.
    pub fn post_with_actor(base: &str) -> u16 {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            ::reqwest::Client::new()
                .post(format!("{base}/api/v1/check"))
                .header("x-warden-actor", "admin")
                .json(&serde_json::json!({"user": "carlos", "entry_point": "DEVSQLQueryExecute", "access": "read"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }
}
