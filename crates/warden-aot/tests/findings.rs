//! Issue 15's findings about reading AOT folders, each reproduced: an `Ax*`
//! package or model folder is walked, a path with no AOT file is an error
//! naming it, a FIFO is refused instead of waited on, and names that export
//! could not write (or that the one id rule refuses) are refused at
//! `file:line:column`.

use std::path::Path;
use warden_aot::{AotError, read_paths};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// Finding 2: `.../AxTools/AxTools/AxSecurityRole/R.xml` was skipped ("Read 0 AOT files").
#[test]
fn a_package_or_model_folder_named_ax_something_is_walked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = dir.path().join("AxTools/AxTools");
    write(&model.join("AxSecurityRole/R.xml"), "<AxSecurityRole><Name>R</Name></AxSecurityRole>");
    // Type folders of other AOT types still are not read: this one would be an error.
    write(&model.join("AxClass/Broken.xml"), "<AxClass><Name>");
    let import = read_paths(&[dir.path().to_path_buf()]).expect("imports");
    assert_eq!(import.files, 1);
    assert_eq!(import.model.roles["R"].model.as_deref(), Some("AxTools"));
}

/// Finding 8: a folder without AOT files said nothing and imported nothing.
#[test]
fn no_aot_file_is_an_error_naming_the_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(&dir.path().join("Descriptor/Model.xml"), "<AxModelInfo><Name>M</Name></AxModelInfo>");
    let error = read_paths(&[dir.path().to_path_buf()]).expect_err("nothing to import");
    assert!(matches!(error, AotError::NothingFound { .. }), "{error}");
    let message = error.to_string();
    assert!(message.starts_with("no AOT security file found in ") && message.contains(&dir.path().display().to_string()), "{message}");
}

/// Finding 8: a FIFO given as a path hung the import, waiting for a writer.
#[cfg(unix)]
#[test]
fn a_fifo_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("role.xml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    let (done, wait) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _ = done.send(read_paths(&[path]).map(|i| i.files));
    });
    let result = wait.recv_timeout(std::time::Duration::from_secs(10)).expect("the import returns instead of hanging");
    let error = result.expect_err("a FIFO is no AOT file");
    assert!(matches!(error, AotError::NotAFile { .. }), "{error}");
    assert!(error.to_string().contains("not a regular file"), "{error}");
    // In a folder, a FIFO is passed over like any other non-file.
    write(&dir.path().join("M/AxSecurityRole/R.xml"), "<AxSecurityRole><Name>R</Name></AxSecurityRole>");
    std::fs::rename(&fifo, dir.path().join("M/AxSecurityRole/F.xml")).expect("move the fifo");
    let import = read_paths(&[dir.path().to_path_buf()]).expect("imports");
    assert_eq!(import.files, 1);
}

/// Finding 6: names the CLI refuses, and names export cannot write, are refused
/// by the import too, at the name's line and column.
#[test]
fn names_are_held_to_the_id_rule_and_to_what_export_can_write() {
    let role = |name: &str| format!("<AxSecurityRole>\n\t<Name>{name}</Name>\n</AxSecurityRole>");
    let long = "A".repeat(10_000);
    for (name, says) in [("Bad&#1;Role", "control character"), ("a/b", "file names cannot hold"), ("..", "is not"), (long.as_str(), "bytes")] {
        let error = read_paths_of(&role(name)).expect_err(name);
        let message = error.to_string();
        assert!(message.contains("R.xml:2:8: <Name>") && message.contains(says), "{name:.20}: {message}");
    }
    // A data entity's name becomes an entry point's: the same rule.
    let privilege = "<AxSecurityPrivilege>\n<Name>P</Name>\n<DataEntityPermissions><AxSecurityDataEntityPermission>\n<Name>Cust&#x1B;[31mEntity</Name>\n</AxSecurityDataEntityPermission></DataEntityPermissions>\n</AxSecurityPrivilege>";
    let message = read_paths_of(privilege).expect_err("escape sequence").to_string();
    assert!(message.contains("R.xml:4:7:") && message.contains("control character"), "{message}");
    // A reference names an object of the same kind, whose name is a file name too.
    let referencing = "<AxSecurityRole>\n<Name>R</Name>\n<Duties><AxSecurityDutyReference>\n<Name>Vend/Duty</Name>\n</AxSecurityDutyReference></Duties>\n</AxSecurityRole>";
    let message = read_paths_of(referencing).expect_err("slash").to_string();
    assert!(message.contains("R.xml:4:7:") && message.contains("duty name \"Vend/Duty\" holds '/'") && message.contains("file names cannot hold"), "{message}");
}

/// An attribute on an element whose value Warden reads was dropped (with a
/// warning); now it is kept and written back on that element, nested ones
/// included. Namespace declarations and `i:nil` say nothing and are not kept.
#[test]
fn attributes_on_read_values_are_kept_and_written_back() {
    let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<AxSecurityRole xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">\n\t<Name>R</Name>\n\t<Label origin=\"vendor &amp; co\" i:nil=\"false\">Clerk &amp; more</Label>\n\t<Duties>\n\t\t<AxSecurityDutyReference>\n\t\t\t<Name>D1</Name>\n\t\t</AxSecurityDutyReference>\n\t\t<AxSecurityDutyReference>\n\t\t\t<Name reviewed=\"2026\">D2</Name>\n\t\t</AxSecurityDutyReference>\n\t</Duties>\n</AxSecurityRole>";
    let import = read_paths_of(xml).expect("reads");
    let kept: Vec<&String> = import.warnings.iter().filter(|w| w.contains("attribute")).collect();
    assert!(kept.iter().all(|w| !w.contains("dropped")), "{kept:#?}");
    assert!(kept.iter().any(|w| w.contains("origin")) && kept.iter().any(|w| w.contains("reviewed")), "{:#?}", import.warnings);
    let role = import.model.roles.get("R").expect("the role").clone();
    assert_eq!(role.label.as_deref(), Some("Clerk & more"));
    let written = warden_aot::object_to_xml(&warden_aot::AotObject::Role(role));
    assert_eq!(warden_aot::xml_difference(xml, &written).expect("xml"), None, "{written}");
}

fn read_paths_of(xml: &str) -> Result<warden_aot::AotImport, AotError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("R.xml");
    std::fs::write(&path, xml).expect("write");
    read_paths(&[path])
}

fn model_with_roles(names: &[&str]) -> warden_model::Model {
    let mut model = warden_model::Model::default();
    for name in names {
        let mut role = warden_model::Role::new(*name);
        role.model = Some("M".into());
        model.put(warden_model::Object::Role(role));
    }
    model
}

/// Finding 7: a failing export left a half-written folder behind.
#[test]
fn a_failed_export_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    // "Good" is written before "a/b" is refused.
    let error = warden_aot::export_model(&model_with_roles(&["Good", "a/b"]), &out).expect_err("a/b cannot be a file");
    assert!(matches!(error, AotError::InvalidName { .. }), "{error}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("list").map(|e| e.expect("entry").file_name()).collect();
    assert!(left.is_empty(), "nothing half-written, no staging folder: {left:?}");
    // The same into a folder that holds files already: untouched.
    std::fs::create_dir_all(out.join("M/AxSecurityRole")).expect("mkdir");
    std::fs::write(out.join("M/AxSecurityRole/Good.xml"), "old").expect("write");
    warden_aot::export_model(&model_with_roles(&["Good", "a/b"]), &out).expect_err("refused");
    assert_eq!(std::fs::read_to_string(out.join("M/AxSecurityRole/Good.xml")).expect("read"), "old");
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1, "only out");
    // And a good export replaces it, leaving other files alone.
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    warden_aot::export_model(&model_with_roles(&["Good"]), &out).expect("exports");
    assert!(std::fs::read_to_string(out.join("M/AxSecurityRole/Good.xml")).expect("read").contains("<Name>Good</Name>"));
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).expect("read"), "mine");
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1, "no staging folder left");
}

/// Finding 7: `--force` wrote through a symbolic link already in the output
/// folder, outside `--out`.
#[cfg(unix)]
#[test]
fn export_never_writes_through_a_link_in_the_output_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let victim = dir.path().join("victim");
    std::fs::create_dir_all(&victim).expect("mkdir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("M")).expect("mkdir");
    // A linked type folder, and a linked file.
    std::os::unix::fs::symlink(&victim, out.join("M/AxSecurityRole")).expect("link");
    let error = warden_aot::export_model(&model_with_roles(&["R"]), &out).expect_err("a link in the way");
    assert!(matches!(error, AotError::LinkInOutput { .. }) && error.to_string().contains("M/AxSecurityRole"), "{error}");
    assert_eq!(std::fs::read_dir(&victim).expect("list").count(), 0, "nothing written outside --out");

    std::fs::remove_file(out.join("M/AxSecurityRole")).expect("unlink");
    std::fs::create_dir_all(out.join("M/AxSecurityRole")).expect("mkdir");
    std::fs::write(victim.join("passwd"), "precious").expect("write");
    std::os::unix::fs::symlink(victim.join("passwd"), out.join("M/AxSecurityRole/R.xml")).expect("link");
    let error = warden_aot::export_model(&model_with_roles(&["R"]), &out).expect_err("a link in the way");
    assert!(matches!(error, AotError::LinkInOutput { .. }), "{error}");
    assert_eq!(std::fs::read_to_string(victim.join("passwd")).expect("read"), "precious");
}
