//! `warden serve --tls-cert --tls-key` as a user runs it: the startup line
//! says https, and unusable files stop the start with exit status 2 and a
//! message that names the file.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn warden(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    c.arg("--data-dir").arg(data).env_remove("WARDEN_DATA_DIR").env_remove("WARDEN_DATABASE_URL").env_remove("WARDEN_TLS_CERT").env_remove("WARDEN_TLS_KEY").env("RUST_LOG", "warn");
    c
}

fn serve(data: &Path, args: &[&str]) -> Output {
    warden(data).arg("serve").args(["--listen", "127.0.0.1:0"]).args(args).output().expect("warden runs")
}

#[test]
fn bad_tls_files_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, c.cert.pem()).unwrap();
    std::fs::write(&key, c.key_pair.serialize_pem()).unwrap();
    let missing = dir.path().join("nope.pem");

    let o = serve(&data, &["--tls-cert", cert.to_str().unwrap(), "--tls-key", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("cannot read TLS key {}: no such file", missing.display())), "{err}");

    // The certificate where the key should be: no private key in it.
    let o = serve(&data, &["--tls-cert", cert.to_str().unwrap(), "--tls-key", cert.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("cannot read TLS key {}: no private key found", cert.display())), "{err}");

    // The key where the certificate should be.
    let o = serve(&data, &["--tls-cert", key.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("cannot read TLS certificate {}: no certificate found", key.display())), "{err}");

    // One without the other is a usage error.
    let o = serve(&data, &["--tls-cert", cert.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--tls-key"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn startup_line_says_https() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, c.cert.pem()).unwrap();
    std::fs::write(&key, c.key_pair.serialize_pem()).unwrap();
    let mut child = warden(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()])
        .env("WARDEN_ADMIN_PASSWORD", "a long enough password")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = loop {
        let line = lines.next().expect("warden serve printed its address").unwrap();
        if line.starts_with("Warden listening on") {
            break line;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("Warden listening on https://127.0.0.1:"), "{line}");
    assert!(line.contains("OpenAPI: https://"), "{line}");
}
