//! D365's security configuration file (`SecurityDatabaseCustomizations.xml`):
//! read as documented, written back the same in XML terms, refused with
//! `file:line:column` when it is not one, and never a panic or a hang.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use warden_aot::{ConfigList, SecurityConfig, parse_security_config, read_security_config, security_config_to_xml, write_file_atomically, xml_difference};
use warden_model::{Object, ObjectKind, ObjectRef, Permission};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/security-config/SecurityDatabaseCustomizations.xml")
}

fn fixture_text() -> String {
    std::fs::read_to_string(fixture()).expect("fixture")
}

fn parse(text: &str) -> Result<SecurityConfig, String> {
    parse_security_config(Path::new("sc.xml"), text.as_bytes()).map_err(|e| e.to_string())
}

/// The objects and disabled keys, without where they were read.
fn content(config: &SecurityConfig) -> (Vec<(ConfigList, Object)>, Vec<ObjectRef>) {
    (config.objects.iter().map(|e| (e.list, e.object.clone())).collect(), config.disabled.iter().map(|d| d.key.clone()).collect())
}

#[test]
fn the_documented_shape_is_read_whole() {
    let config = read_security_config(&fixture()).expect("reads");
    let listed: Vec<(ConfigList, String)> = config.objects.iter().map(|e| (e.list, e.object.key().to_string())).collect();
    assert_eq!(
        listed,
        vec![
            (ConfigList::Customized, "role DEVIntegDeveloperRole".to_string()),
            (ConfigList::New, "role a3f2c1d0-5b6e-4c7d-8e9f-0a1b2c3d4e5f".to_string()),
            (ConfigList::Customized, "duty DEVIntegWorkspaceView".to_string()),
            (ConfigList::New, "duty 6d1e0c2b-9a8f-4e7d-b6c5-a4b3c2d1e0f9".to_string()),
            (ConfigList::New, "privilege 0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f".to_string()),
        ]
    );
    assert_eq!(config.disabled.iter().map(|d| d.key.clone()).collect::<Vec<_>>(), vec![ObjectRef::new(ObjectKind::Privilege, "DEVIntegServiceTestMaintain")]);
    let Object::Role(role) = &config.objects[0].object else { panic!("a role") };
    assert_eq!(role.duties, ["DEVIntegIntegrationAdminBase", "DEVIntegWorkspaceView"]);
    assert_eq!(role.privileges, ["DEVSQLReportDefinitionView"]);
    assert_eq!(role.label.as_deref(), Some("DEV Integration developer (customized)"));
    // Where each object starts, in the file's own lines.
    assert_eq!((config.objects[0].line, config.objects[0].column), (8, 5));
    let Object::Duty(duty) = &config.objects[2].object else { panic!("a duty") };
    assert_eq!(duty.label.as_deref(), Some("View manage External Integration workspace & SQL reports"));
    let Object::Privilege(privilege) = &config.objects[4].object else { panic!("a privilege") };
    assert_eq!(privilege.entry_points[0].grant.get(warden_model::Access::Delete), Some(Permission::Deny));
    // The form control grant and the role's tags are kept and said so, with their places.
    let warnings = config.warnings.join("\n");
    assert!(warnings.contains("AxSecurityRole/Tags"), "{warnings}");
    assert!(warnings.contains("SecurityDatabaseCustomizations.xml:27:"), "{warnings}");
    assert!(warnings.contains("Forms"), "{warnings}");
}

#[test]
fn written_back_it_is_the_same_in_xml_terms_and_reads_the_same() {
    let original = fixture_text();
    let config = parse(&original).expect("reads");
    let written = security_config_to_xml(&config);
    assert_eq!(xml_difference(&original, &written), Ok(None), "{written}");
    let again = parse(&written).expect("reads what it wrote");
    assert_eq!(content(&again), content(&config));
    assert_eq!(security_config_to_xml(&again), written, "writing is deterministic");
}

#[test]
fn an_empty_configuration_is_the_three_empty_blocks() {
    let written = security_config_to_xml(&SecurityConfig::default());
    let config = parse(&written).expect("reads");
    assert!(config.objects.is_empty() && config.disabled.is_empty() && config.warnings.is_empty());
    assert_eq!(written.matches("<BaseRepositoryCustomizations ").count(), 3);
    assert!(written.contains("RepositoryCustomizationsOfAxSecurityPrivilegeNcCATIYq"));
}

#[test]
fn parts_the_reader_does_not_know_are_warned_about_not_silently_dropped() {
    let text = fixture_text()
        .replace(
            "<_x003C_CustomizationsForTypeList_x003E_k__BackingField>",
            "<_x003C_Version_x003E_k__BackingField>2</_x003C_Version_x003E_k__BackingField>\n<_x003C_CustomizationsForTypeList_x003E_k__BackingField>",
        )
        .replace(
            "</_x003C_CustomizationsForTypeList_x003E_k__BackingField>",
            "<BaseRepositoryCustomizations i:type=\"RepositoryCustomizationsOfAxSecurityPolicyNcCATIYq\"><x/></BaseRepositoryCustomizations></_x003C_CustomizationsForTypeList_x003E_k__BackingField>",
        );
    let config = parse(&text).expect("reads");
    let warnings = config.warnings.join("\n");
    assert!(warnings.contains("_x003C_Version_x003E_k__BackingField"), "{warnings}");
    assert!(warnings.contains("RepositoryCustomizationsOfAxSecurityPolicyNcCATIYq"), "{warnings}");
    assert!(warnings.contains("dropped"), "{warnings}");
    assert_eq!(config.objects.len(), 5);
}

/// Every refusal names the file, the line and column, and what is wrong.
#[test]
fn problems_are_refused_with_file_line_and_column() {
    let original = fixture_text();
    let cases: Vec<(String, &str)> = vec![
        // A name that breaks the identifier rule, inside an embedded object: the file's own line.
        (original.replacen("<Name>DEVIntegWorkspaceView</Name>\n\t\t\t\t\t<Label>", "<Name>..</Name>\n\t\t\t\t\t<Label>", 1), "sc.xml:52:12: <Name>"),
        (original.replace("<a:string>DEVIntegServiceTestMaintain</a:string>", "<a:string>bad\u{7}name</a:string>"), "sc.xml:80:"),
        (original.replace("<a:string>DEVIntegServiceTestMaintain</a:string>", "<a:string>0C9D8E7F-6A5B-4C3D-2E1F-0A9B8C7D6E5F</a:string>"), "twice"),
        (original.replacen("<AxSecurityDuty xmlns=\"\">", "<AxSecurityRole xmlns=\"\">", 1), "expected <AxSecurityDuty>"),
        (original.replace("<Read>Allow</Read>", "<Read>Maybe</Read>"), "Maybe"),
        (original[..original.len() / 2].to_string(), "sc.xml:"),
        (original.replace("SecurityCustomizationData", "SecurityData"), "expected <SecurityCustomizationData>"),
        (format!("<!DOCTYPE x [<!ENTITY e \"e\">]>{original}"), "DTD"),
        (original.replace("i:type=\"RepositoryCustomizationsOfAxSecurityRoleNcCATIYq\"", ""), "no i:type"),
        (String::new(), "empty"),
    ];
    for (text, expected) in cases {
        let error = parse(&text).expect_err(expected);
        assert!(error.starts_with("sc.xml:"), "{error}");
        assert!(error.contains(expected), "expected {expected:?} in: {error}");
    }
    let twice = original.replace("<Name>a3f2c1d0-5b6e-4c7d-8e9f-0a1b2c3d4e5f</Name>", "<Name>devintegdeveloperrole</Name>");
    let error = parse(&twice).expect_err("a role twice");
    assert!(error.contains("twice (also at 8:5)"), "{error}");
    let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain(original.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    assert!(parse_security_config(Path::new("sc.xml"), &utf16).expect_err("UTF-16").to_string().contains("UTF-16"));
}

#[test]
fn writing_is_atomic_and_never_through_a_link() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let out = dir.path().join("SecurityDatabaseCustomizations.xml");
    write_file_atomically(&out, "one", false).expect("a new file");
    assert_eq!(std::fs::read_to_string(&out).expect("written"), "one");
    let error = write_file_atomically(&out, "two", false).expect_err("exists");
    assert!(error.to_string().contains("--force"), "{error}");
    write_file_atomically(&out, "two", true).expect("replaced");
    assert_eq!(std::fs::read_to_string(&out).expect("written"), "two");
    // Nothing but the file is left in the folder: no temporary file.
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    #[cfg(unix)]
    {
        let elsewhere = dir.path().join("elsewhere.xml");
        std::fs::write(&elsewhere, "keep").expect("write");
        let link = dir.path().join("link.xml");
        std::os::unix::fs::symlink(&elsewhere, &link).expect("symlink");
        let error = write_file_atomically(&link, "evil", true).expect_err("a link");
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&elsewhere).expect("read"), "keep");
        assert!(std::fs::symlink_metadata(&link).expect("still there").file_type().is_symlink());
        let folder = dir.path().join("folder");
        std::fs::create_dir(&folder).expect("mkdir");
        assert!(write_file_atomically(&folder, "x", true).is_err());
    }
    let missing = dir.path().join("no/such/folder/x.xml");
    assert!(write_file_atomically(&missing, "x", false).is_err());
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_not_waited_on() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let fifo = dir.path().join("fifo.xml");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let error = read_security_config(&fifo).expect_err("a FIFO");
    assert!(error.to_string().contains("not a regular file"), "{error}");
}

#[test]
fn every_truncation_of_the_fixture_is_refused_or_read_never_a_panic() {
    let original = fixture_text();
    for end in (0..original.len()).filter(|&i| original.is_char_boundary(i)) {
        let _ = parse(&original[..end]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// Arbitrary bytes: an error or a configuration, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_security_config(Path::new("sc.xml"), &bytes);
    }

    /// The fixture with one byte replaced, or a stretch cut out.
    #[test]
    fn mutated_files_never_panic(at in 0usize..6000, byte in any::<u8>(), cut in 0usize..64) {
        let mut bytes = fixture_text().into_bytes();
        let at = at % bytes.len();
        bytes[at] = byte;
        let _ = parse_security_config(Path::new("sc.xml"), &bytes);
        let end = (at + cut).min(bytes.len());
        bytes.drain(at..end);
        let _ = parse_security_config(Path::new("sc.xml"), &bytes);
    }
}
