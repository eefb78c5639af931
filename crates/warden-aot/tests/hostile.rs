//! Malformed and hostile input: every case is a clear `file:line:column` error,
//! never a panic, a hang or a memory blow-up.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use warden_aot::{AotError, AotObject, MAX_DEPTH, MAX_FILE_SIZE, parse_object, read_file, read_paths};
use warden_model::MAX_KEPT_DEPTH;

const XSI: &str = r#"xmlns:i="http://www.w3.org/2001/XMLSchema-instance""#;

fn parse_err(xml: &[u8]) -> AotError {
    match parse_object(Path::new("x.xml"), None, xml) {
        Ok(object) => panic!("accepted: {object:?}"),
        Err(e) => e,
    }
}

/// The message, after checking it has the `file:line:column: ` prefix.
fn message_at(xml: &[u8], line: usize, column: usize) -> String {
    let error = parse_err(xml);
    let text = error.to_string();
    let prefix = format!("x.xml:{line}:{column}: ");
    assert!(text.starts_with(&prefix), "expected {prefix:?}, got {text:?}");
    match error {
        AotError::Parse { line: l, column: c, message, .. } => {
            assert_eq!((l, c), (line, column));
            message
        }
        other => panic!("not a parse error: {other:?}"),
    }
}

fn role(body: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<AxSecurityRole {XSI}>\n{body}\n</AxSecurityRole>")
}

fn real_privilege() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/aot/xpptools/DEVCommon/DEVCommon/AxSecurityPrivilege/DEVBenchmarkLogMaintain.xml");
    std::fs::read(path).expect("fixture")
}

#[test]
fn every_truncation_of_a_real_file_is_an_error() {
    let bytes = real_privilege();
    assert!(parse_object(Path::new("x.xml"), None, &bytes).is_ok());
    for len in 0..bytes.len() {
        assert!(parse_object(Path::new("x.xml"), None, &bytes[..len]).is_err(), "prefix of {len} bytes accepted");
    }
    let cut = bytes.len() / 2;
    let message = parse_err(&bytes[..cut]).to_string();
    assert!(message.contains("truncated") || message.contains("malformed XML"), "{message}");
    let message = parse_err(b"").to_string();
    assert_eq!(message, "x.xml:1:1: no root element: the file is empty");
    let message = parse_err(b"<AxSecurityRole>\n\t<Duties>\n").to_string();
    assert_eq!(message, "x.xml:3:1: the file ends before <Duties> (opened at 2:2) is closed; is it truncated?");
}

#[test]
fn wrong_root_element_lists_the_expected_ones() {
    let message = message_at(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<AxClass><Name>C</Name></AxClass>", 2, 1);
    assert_eq!(
        message,
        "expected one of AxSecurityRole, AxSecurityDuty, AxSecurityPrivilege, AxSecurityPolicy, AxSecurityRoleExtension, \
         AxSecurityDutyExtension, AxMenuItemDisplay, AxMenuItemAction, AxMenuItemOutput, found <AxClass>"
    );
    // Explicitly named files must be ours, whatever their extension.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("Foo.xml");
    std::fs::write(&file, "<Foo/>").expect("write");
    let error = read_paths(std::slice::from_ref(&file)).expect_err("wrong root");
    assert!(error.to_string().starts_with(&format!("{}:1:1: expected one of", file.display())), "{error}");
}

#[test]
fn missing_names_are_errors() {
    assert_eq!(message_at(role("\t<Label>L</Label>").as_bytes(), 2, 1), "<AxSecurityRole> has no <Name>");
    assert_eq!(message_at(role("\t<Name />").as_bytes(), 2, 1), "<AxSecurityRole> has no <Name>");
    let xml = role("\t<Name>R</Name>\n\t<Duties>\n\t\t<AxSecurityDutyReference />\n\t</Duties>");
    assert_eq!(message_at(xml.as_bytes(), 5, 3), "<AxSecurityDutyReference> has no <Name>");
    let xml = "<AxSecurityPrivilege><Name>P</Name><EntryPoints><AxSecurityEntryPointReference><Name>E</Name>\
               <ObjectType>MenuItemDisplay</ObjectType></AxSecurityEntryPointReference></EntryPoints></AxSecurityPrivilege>";
    assert_eq!(message_at(xml.as_bytes(), 1, 49), "<AxSecurityEntryPointReference> has no <ObjectName>");
    let xml = "<AxSecurityPolicy><Name>P</Name><Query>Q</Query></AxSecurityPolicy>";
    assert_eq!(message_at(xml.as_bytes(), 1, 1), "<AxSecurityPolicy> P has no <PrimaryTable>");
}

#[test]
fn invalid_utf8_is_located() {
    let mut xml = b"<AxSecurityRole>\n\t<Name>R</Name>\n\t<Label>caf".to_vec();
    xml.push(0xE9); // Latin-1 é
    xml.extend_from_slice(b"</Label>\n</AxSecurityRole>");
    assert_eq!(message_at(&xml, 3, 12), "invalid UTF-8 (byte 0xE9): AOT files must be UTF-8");
}

#[test]
fn other_encodings_are_refused_clearly() {
    let message = message_at(b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><AxSecurityRole><Name>R</Name></AxSecurityRole>", 1, 1);
    assert!(message.contains("\"windows-1252\" is not supported") && message.contains("UTF-8"), "{message}");

    let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain("<AxSecurityRole/>".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let message = message_at(&utf16, 1, 1);
    assert!(message.contains("UTF-16") && message.contains("not supported"), "{message}");
    let utf16be: Vec<u8> = [0xFE, 0xFF].into_iter().chain("<AxSecurityRole/>".encode_utf16().flat_map(u16::to_be_bytes)).collect();
    assert!(message_at(&utf16be, 1, 1).contains("UTF-16"));
}

#[test]
fn dtds_are_refused_before_any_expansion() {
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n]>\n<AxSecurityRole><Name>&lol2;</Name></AxSecurityRole>";
    assert!(message_at(laughs.as_bytes(), 2, 1).starts_with("DTDs are not allowed"));
    let xxe = "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><AxSecurityRole><Name>&xxe;</Name></AxSecurityRole>";
    assert!(message_at(xxe.as_bytes(), 1, 1).starts_with("DTDs are not allowed"));
    let late = "<AxSecurityRole><Name>R</Name></AxSecurityRole><!DOCTYPE r>";
    assert!(parse_err(late.as_bytes()).to_string().contains("DTDs are not allowed"));
}

#[test]
fn unknown_entities_are_errors_even_in_ignored_elements() {
    let xml = role("\t<Name>R</Name>\n\t<Label>a &xxe; b</Label>");
    assert_eq!(
        message_at(xml.as_bytes(), 4, 11),
        "unknown entity reference &xxe;: only &amp; &lt; &gt; &quot; &apos; and character references are allowed"
    );
    let xml = role("\t<Name>R</Name>\n\t<Unknown><Deeper>&xxe;</Deeper></Unknown>");
    assert!(message_at(xml.as_bytes(), 4, 19).starts_with("unknown entity reference &xxe;"));
    let xml = role("\t<Name>R&#0;</Name>");
    assert_eq!(message_at(xml.as_bytes(), 3, 9), "invalid character reference &#0;");
    // Predefined entities and character references are fine.
    let xml = role("\t<Name>R</Name>\n\t<Label>&lt;&amp;&gt;&quot;&apos;&#65;&#x42;</Label>");
    let Ok(warden_aot::AotObject::Role(r)) = parse_object(Path::new("x.xml"), None, xml.as_bytes()) else { panic!() };
    assert_eq!(r.label.as_deref(), Some("<&>\"'AB"));
}

#[test]
fn files_over_16_mib_are_refused_unread() {
    let dir = tempfile::tempdir().expect("temp dir");
    let type_dir = dir.path().join("M/AxSecurityRole");
    std::fs::create_dir_all(&type_dir).expect("mkdir");
    let big = type_dir.join("Big.xml");
    // Sparse: costs no disk, and reading it whole would cost 16 MiB.
    std::fs::File::create(&big).and_then(|f| f.set_len(MAX_FILE_SIZE + 1)).expect("sparse file");
    let expected = format!("{}: file is larger than 16 MiB", big.display());
    let error = read_file(&big, None).expect_err("too large");
    assert!(matches!(error, AotError::TooLarge { size, .. } if size == MAX_FILE_SIZE + 1));
    assert!(error.to_string().starts_with(&expected), "{error}");
    let error = read_paths(&[dir.path().to_path_buf()]).expect_err("too large");
    assert!(error.to_string().starts_with(&expected), "{error}");

    let bytes = vec![b' '; usize::try_from(MAX_FILE_SIZE).expect("fits") + 1];
    assert!(matches!(parse_object(Path::new("x.xml"), None, &bytes), Err(AotError::TooLarge { .. })));
}

#[test]
fn deep_nesting_is_bounded() {
    // An element Warden does not know is kept with its object, up to MAX_KEPT_DEPTH levels.
    let kept = |depth: usize| format!("<AxSecurityRole><Name>R</Name>{}x{}</AxSecurityRole>", "<a>".repeat(depth), "</a>".repeat(depth));
    assert!(parse_object(Path::new("x.xml"), None, kept(MAX_KEPT_DEPTH).as_bytes()).is_ok());
    assert_eq!(message_at(kept(MAX_KEPT_DEPTH + 1).as_bytes(), 1, 31), "<a> nests deeper than 40 levels, more than Warden keeps");

    let xml = format!("<AxSecurityRole><Name>R</Name>{}{}</AxSecurityRole>", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
    let column = "<AxSecurityRole><Name>R</Name>".len() + 3 * (MAX_DEPTH - 1) + 1;
    assert_eq!(message_at(xml.as_bytes(), 1, column), "elements are nested deeper than 64 levels");

    // A million open elements: refused at level 65, without recursion or a huge stack.
    let xml = format!("<AxSecurityRole>{}", "<a>".repeat(1_000_000));
    assert!(parse_err(xml.as_bytes()).to_string().contains("nested deeper than 64"));
    let xml = format!("<AxSecurityRole>{}", "<a/>".repeat(100_000));
    assert!(parse_err(xml.as_bytes()).to_string().contains("truncated"));
    // Nested constrained tables recurse in the reader: bounded by the same limit.
    let nest = "<ConstrainedTables><AxSecurityPolicyConstrainedEntity><Name>T</Name>";
    let xml = format!("<AxSecurityPolicy><Name>P</Name>{}", nest.repeat(1_000));
    assert!(parse_err(xml.as_bytes()).to_string().contains("nested deeper than 64"));
}

#[test]
fn unknown_values_name_the_element_and_the_value() {
    let xml = "<AxSecurityPrivilege>\n<Name>P</Name>\n<EntryPoints><AxSecurityEntryPointReference><Name>E</Name>\n\
               <Grant><Read>Maybe</Read></Grant>\n<ObjectName>E</ObjectName><ObjectType>MenuItemDisplay</ObjectType>\n\
               </AxSecurityEntryPointReference></EntryPoints></AxSecurityPrivilege>";
    assert_eq!(
        message_at(xml.as_bytes(), 4, 14),
        "invalid value \"Maybe\" in <Read> of <Grant>: expected Allow, Deny or Unset"
    );
    let xml = "<AxSecurityPrivilege><Name>P</Name><EntryPoints><AxSecurityEntryPointReference><Name>E</Name>\
               <ObjectName>E</ObjectName><ObjectType>WebMenuItem</ObjectType></AxSecurityEntryPointReference></EntryPoints></AxSecurityPrivilege>";
    // An entry point type Warden does not check is kept, not fatal (issue 15, finding 5).
    let Ok(AotObject::Privilege(p)) = parse_object(Path::new("x.xml"), None, xml.as_bytes()) else { panic!("parses") };
    assert!(p.entry_points.is_empty() && p.unmodelled.len() == 1, "{p:?}");
    let xml = "<AxMenuItemDisplay xmlns=\"Microsoft.Dynamics.AX.Metadata.V1\"><Name>M</Name><ViewUserLicense>Gold</ViewUserLicense></AxMenuItemDisplay>";
    let message = parse_err(xml.as_bytes()).to_string();
    assert!(message.contains("<ViewUserLicense>") && message.contains("\"Gold\""), "{message}");
    let xml = "<AxSecurityPolicy><Name>P</Name><PrimaryTable>T</PrimaryTable><Query>Q</Query><Enabled>Maybe</Enabled></AxSecurityPolicy>";
    assert_eq!(message_at(xml.as_bytes(), 1, 88), "invalid value \"Maybe\" in <Enabled>: expected Yes or No");
}

#[test]
fn malformed_markup_is_located() {
    let message = message_at(role("\t<Name>R</Nome>").as_bytes(), 3, 9);
    assert!(message.starts_with("malformed XML"), "{message}");
    let message = parse_err(role("\t<Name>R</Name>\n\t<Label>a < b</Label>").as_bytes()).to_string();
    assert!(message.starts_with("x.xml:4:"), "{message}");
    let message = parse_err(b"<AxSecurityRole xmlns:i=\"unterminated><Name>R</Name></AxSecurityRole>").to_string();
    assert!(message.starts_with("x.xml:1:1: malformed XML"), "{message}");
    assert_eq!(
        message_at(b"<AxSecurityRole><Name>R</Name></AxSecurityRole>\n<AxSecurityRole/>", 2, 1),
        "content after the end of the root element"
    );
    assert_eq!(message_at(b"junk<AxSecurityRole/>", 1, 1), "text before the root element");
    assert_eq!(message_at(b"<AxSecurityRole><Name><b/></Name></AxSecurityRole>", 1, 23), "unexpected element <b> inside <Name>, which holds text");
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn duplicates_across_files_name_both_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = dir.path().join("P/A/AxSecurityRole/Clerk.xml");
    let b = dir.path().join("P/B/AxSecurityRole/clerk.xml");
    write(&a, "<AxSecurityRole><Name>Clerk</Name></AxSecurityRole>");
    write(&b, "<AxSecurityRole><Name>clerk</Name></AxSecurityRole>");
    // Same name, other type: not a duplicate.
    write(&dir.path().join("P/B/AxSecurityDuty/Clerk.xml"), "<AxSecurityDuty><Name>Clerk</Name></AxSecurityDuty>");
    let error = read_paths(&[dir.path().to_path_buf()]).expect_err("duplicate");
    assert_eq!(error.to_string(), format!("{}: duplicate AxSecurityRole clerk: also defined in {}", b.display(), a.display()));
}

#[test]
fn the_same_file_named_twice_is_read_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = dir.path().join("P/A/AxSecurityRole/Clerk.xml");
    write(&a, "<AxSecurityRole><Name>Clerk</Name></AxSecurityRole>");
    let import = read_paths(&[dir.path().to_path_buf(), a]).expect("imports");
    assert_eq!(import.files, 1);
}

#[test]
fn a_name_that_differs_from_the_file_name_is_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = dir.path().join("P/A/AxSecurityRole/Clerk.xml");
    write(&a, "<AxSecurityRole><Name>Cashier</Name></AxSecurityRole>");
    let import = read_paths(&[dir.path().to_path_buf()]).expect("imports");
    assert!(import.model.roles.contains_key("Cashier"));
    assert_eq!(import.warnings.len(), 1, "{:?}", import.warnings);
    assert!(import.warnings[0].contains("differs from the file name") && import.warnings[0].contains("Clerk.xml"), "{:?}", import.warnings);
}

#[test]
fn sub_role_cycles_fail_the_import_naming_the_roles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sub = |to: &str| format!("<SubRoles><AxSecurityRoleReference><Name>{to}</Name></AxSecurityRoleReference></SubRoles>");
    write(&dir.path().join("P/A/AxSecurityRole/A.xml"), &format!("<AxSecurityRole><Name>A</Name>{}</AxSecurityRole>", sub("B")));
    write(&dir.path().join("P/A/AxSecurityRole/B.xml"), &format!("<AxSecurityRole><Name>B</Name>{}</AxSecurityRole>", sub("A")));
    let error = read_paths(&[dir.path().to_path_buf()]).expect_err("cycle");
    assert!(matches!(error, AotError::Model { .. }));
    assert_eq!(error.to_string(), "the imported security objects are inconsistent (1 problem); sub-role cycle: A › B › A");
}

#[test]
fn dangling_references_are_summarised_not_listed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let duties: String = (0..500)
        .map(|i| format!("<AxSecurityDutyReference><Name>Missing{i}</Name></AxSecurityDutyReference>"))
        .collect();
    write(&dir.path().join("P/A/AxSecurityRole/R.xml"), &format!("<AxSecurityRole><Name>R</Name><Duties>{duties}</Duties></AxSecurityRole>"));
    let import = read_paths(&[dir.path().to_path_buf()]).expect("imports");
    assert_eq!(import.warnings.len(), 1, "{:#?}", import.warnings);
    let w = &import.warnings[0];
    assert!(w.starts_with("500 references from roles to duties that are not in the import"), "{w}");
    assert!(w.contains("R → Missing0") && w.ends_with("and 490 more"), "{w}");
}

#[test]
fn io_errors_name_the_file() {
    let missing = PathBuf::from("/nonexistent/warden/AxSecurityRole");
    let error = read_paths(std::slice::from_ref(&missing)).expect_err("missing");
    assert!(matches!(error, AotError::Io { .. }));
    assert!(error.to_string().starts_with("/nonexistent/warden/AxSecurityRole: "), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_object(Path::new("x.xml"), None, &bytes);
    }

    #[test]
    fn mutated_real_files_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8)) {
        let mut bytes = real_privilege();
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        if let Err(e) = parse_object(Path::new("x.xml"), None, &bytes) {
            let text = e.to_string();
            prop_assert!(text.starts_with("x.xml:"), "{}", text);
            if let AotError::Parse { line, column, .. } = e {
                prop_assert!(line >= 1 && column >= 1);
            }
        }
    }
}
