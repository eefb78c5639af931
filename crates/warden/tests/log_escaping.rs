//! Issue 15, finding 6: control characters in names never reach a terminal
//! raw, and the server's log is read on a terminal too. A user name typed at
//! sign-in is the one name there that no rule has checked before it is logged.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn a_crafted_user_name_reaches_the_server_log_escaped() {
    let dir = tempfile::TempDir::new().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["--data-dir", dir.path().to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"])
        .env_remove("WARDEN_DATA_DIR")
        .env_remove("WARDEN_DATABASE_URL")
        .env_remove("RUST_LOG")
        .env("WARDEN_ADMIN_PASSWORD", "log-escaping-admin-password-1")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("warden serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the listening line").unwrap();
        if let Some(rest) = line.strip_prefix("Warden listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        // One more than the lockout allows, so that the lockout is logged with its key.
        for _ in 0..=warden_core::credentials::LOCKOUT.max_failures {
            client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&serde_json::json!({"user": "mallory\u{1b}[2J\u{1b}[31m", "password": "wrong"}))
                .send()
                .await
                .expect("answered");
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains("sign-in locked out"), "the lockout is logged:\n{text}");
    assert!(!text.contains('\u{1b}'), "no raw escape (and no colour in a file) reaches the log:\n{text:?}");
    assert!(text.contains("mallory\\u{1b}[2j"), "the name is shown escaped:\n{text}");
}
