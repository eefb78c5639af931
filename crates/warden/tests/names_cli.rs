//! One identifier rule at every entrance of the command line (issue 13,
//! finding 7): arguments, CSV files and AOT XML refuse invisible and
//! bidirectional characters, and look-alike names collide.

mod common;

use common::{ok, refused};

#[test]
fn command_line_arguments_follow_the_identifier_rule() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.as_path();
    ok(data, &["user", "add", "admin"]);
    let err = refused(data, &["user", "add", "ad\u{200B}min"]);
    assert!(err.contains("user id \"ad\\u{200b}min\" holds a format character (U+200B) at character 3"), "{err}");
    let err = refused(data, &["user", "add", "\u{202E}nimda"]);
    assert!(err.contains("U+202E"), "{err}");
    let err = refused(data, &["role", "add", &"R".repeat(300)]);
    assert!(err.contains("300 bytes long; ids are at most 255 bytes"), "{err}");
    // Look-alikes of a stored name are refused naming it.
    let err = refused(data, &["user", "add", "\u{0430}dmin"]);
    assert!(err.contains("looks the same as existing user 'admin'"), "{err}");
    let err = refused(data, &["user", "add", "Admin"]);
    assert!(err.contains("already exists"), "{err}");
    let err = refused(data, &["org", "add", "US;MF"]);
    assert!(err.contains("';'"), "{err}");
    // Security object names are AOT file names (issue 15, finding 6): what the
    // AOT import refuses, the command line refuses; user ids may hold '/'.
    let err = refused(data, &["role", "add", "Vend/Clerk"]);
    assert!(err.contains("role name \"Vend/Clerk\" holds '/' at character 5") && err.contains("file names cannot hold"), "{err}");
    let err = refused(data, &["duty", "add", "Vend\\Duty"]);
    assert!(err.contains("duty name \"Vend\\\\Duty\" holds '\\'"), "{err}");
    ok(data, &["user", "add", "ops/team"]);
}

#[test]
fn csv_files_follow_the_identifier_rule() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.as_path();
    ok(data, &["user", "add", "admin"]);
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, "id,name\nbob,Bob\n\u{202E}nimda,Mallory\n\u{0430}dmin,Mallory\n").unwrap();
    let err = refused(data, &["import", "users", csv.to_str().unwrap()]);
    assert!(err.contains("users.csv:3: field 'id': user id \"\\u{202e}nimda\" holds a format character (U+202E)"), "{err}");
    assert!(err.contains("users.csv:4: field 'id': user \"аdmin\" looks the same as existing user 'admin'"), "{err}");
    let orgs = dir.path().join("orgs.csv");
    std::fs::write(&orgs, "id\nUS\u{200B}MF\n").unwrap();
    let err = refused(data, &["import", "orgs", orgs.to_str().unwrap()]);
    assert!(err.contains("orgs.csv:2: field 'id': organization id"), "{err}");
    let rules = dir.path().join("rules.csv");
    std::fs::write(&rules, "name,first_duty,second_duty\nR\u{2066}1,A,B\n").unwrap();
    let err = refused(data, &["sod", "rule", "import", rules.to_str().unwrap()]);
    assert!(err.contains("rules.csv:2: field 'name': SoD rule id"), "{err}");
    // Nothing was written.
    let users = ok(data, &["user", "list"]);
    assert!(!users.contains("bob"), "{users}");
}

#[test]
fn aot_xml_follows_the_identifier_rule() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.as_path();
    let folder = dir.path().join("AxSecurityRole");
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("Clerk.xml");
    std::fs::write(
        &file,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<AxSecurityRole>\n\t<Name>Cl\u{200B}erk</Name>\n</AxSecurityRole>\n",
    )
    .unwrap();
    let err = refused(data, &["import", "aot", file.to_str().unwrap()]);
    assert!(err.contains("Clerk.xml:3:8: <Name>: role id \"Cl\\u{200b}erk\" holds a format character (U+200B)"), "{err}");
    // A reference is a name too.
    std::fs::write(
        &file,
        "<AxSecurityRole>\n<Name>Clerk</Name>\n<Duties><AxSecurityDutyReference><Name>\u{202E}ytud</Name></AxSecurityDutyReference></Duties>\n</AxSecurityRole>\n",
    )
    .unwrap();
    let err = refused(data, &["import", "aot", file.to_str().unwrap()]);
    assert!(err.contains("Clerk.xml:3:") && err.contains("duty id"), "{err}");
}

/// The actor is written into every audit event: `--actor` and `$USER` meet
/// the identifier rule before any command runs, so a control character never
/// reaches the trail (nor a terminal that prints it).
#[test]
fn the_actor_follows_the_identifier_rule() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.as_path();
    ok(data, &["user", "add", "admin"]);
    let err = refused(data, &["--actor", "eve\u{1b}[2J", "user", "add", "bob"]);
    assert!(err.contains("--actor does not name a valid actor: user id \"eve\\u{1b}[2J\" holds a control character (U+001B) at character 4"), "{err}");
    assert!(!err.contains('\u{1b}'), "the refusal itself must not print the raw escape: {err:?}");
    let err = refused(data, &["--actor", " admin", "user", "add", "bob"]);
    assert!(err.contains("--actor does not name a valid actor") && err.contains("white space"), "{err}");
    // From the environment: the message names USER, and says how to get past it.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--data-dir")
        .arg(data)
        .args(["user", "add", "bob"])
        .env_remove("WARDEN_DATA_DIR")
        .env_remove("WARDEN_DATABASE_URL")
        .env("USER", "eve\u{7}")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the environment variable USER does not name a valid actor"), "{err}");
    assert!(err.contains("pass --actor ID"), "{err}");
    // Nothing was written by the refused commands; a valid --actor still overrides a bad USER.
    let users = ok(data, &["user", "list"]);
    assert!(!users.contains("bob"), "{users}");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("--data-dir")
        .arg(data)
        .args(["--actor", "carol", "user", "add", "bob"])
        .env("USER", "eve\u{7}")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let log = common::json(data, &["audit", "log"]);
    let actors: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["actor"].as_str()).collect();
    assert!(actors.contains(&"carol") && actors.iter().all(|a| !a.chars().any(char::is_control)), "{actors:?}");
}

/// Labels and descriptions are free text from files (issue 15, finding 6): one
/// holding an escape sequence or a line break is stored as given, and printed
/// escaped wherever text meets the terminal, never raw.
#[test]
fn labels_are_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.as_path();
    let folder = dir.path().join("AxSecurityRole");
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("Clerk.xml");
    std::fs::write(
        &file,
        "<AxSecurityRole>\n<Name>Clerk</Name>\n<Label>Clerk \u{1b}[31mred</Label>\n<Description>one\u{1b}]0;owned\u{7}\nRole Admin</Description>\n</AxSecurityRole>\n",
    )
    .unwrap();
    ok(data, &["import", "aot", file.to_str().unwrap()]);
    for args in [&["role", "list"][..], &["role", "show", "Clerk"]] {
        let out = ok(data, args);
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{args:?} printed a raw control character: {out:?}");
        assert!(out.contains("Clerk \\u{1b}[31mred"), "{args:?}: {out}");
    }
    let show = ok(data, &["role", "show", "Clerk"]);
    assert!(show.contains("  one\\u{1b}]0;owned\\u{7}\\u{a}Role Admin\n"), "the description stays on its line: {show}");
    // JSON keeps the text exact (serde escapes it).
    let view = common::json(data, &["role", "show", "Clerk"]);
    assert_eq!(view["label"], "Clerk \u{1b}[31mred");
    // Errors quote what they were given escaped too.
    let err = refused(data, &["role", "show", "Cl\u{1b}[2Jerk"]);
    assert!(!err.contains('\u{1b}'), "{err:?}");
}
