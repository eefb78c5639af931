//! Nothing in an AOT file is dropped: what Warden does not model is kept with
//! its object, listed as a warning, and written back by export, so that every
//! fixture file comes back the same in XML terms ([`xml_difference`]).

use std::path::{Path, PathBuf};
use warden_aot::{read_paths, write_model, xml_difference};

fn fixtures(which: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(which)
}

/// Every fixture root: the hand-written ones of this crate and the real
/// xpptools files of the demo data set.
fn roots() -> Vec<PathBuf> {
    vec![fixtures("aot"), fixtures("lossless"), Path::new(env!("CARGO_MANIFEST_DIR")).join("../warden-core/demo/aot")]
}

/// `<root>/.../<Model>/<AxType>/<Name>.xml` for every AOT file under `root`.
fn aot_files(root: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(root).expect("fixture folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            aot_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") && path.parent().and_then(|p| p.file_name()).is_some_and(|n| n.to_string_lossy().starts_with("Ax")) {
            out.push(path);
        }
    }
}

/// Where `write_model` puts the file that `original` was read from.
fn exported(out: &Path, original: &Path) -> PathBuf {
    let ax_type = original.parent().expect("type folder");
    let model = ax_type.parent().expect("model folder");
    out.join(model.file_name().expect("model")).join(ax_type.file_name().expect("type")).join(original.file_name().expect("file"))
}

/// The differences between every original file and its export, as text.
fn differences(files: &[PathBuf], out: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for original in files {
        let written = exported(out, original);
        let before = std::fs::read_to_string(original).expect("original");
        let Ok(after) = std::fs::read_to_string(&written) else {
            found.push(format!("{}: not exported (looked for {})", original.display(), written.display()));
            continue;
        };
        match xml_difference(&before, &after) {
            Ok(None) => {}
            Ok(Some(d)) => found.push(format!("{}: {d}", original.display())),
            Err(e) => found.push(format!("{}: {e}", original.display())),
        }
    }
    found
}

#[test]
fn every_fixture_file_round_trips_in_xml_terms_and_reads_back_to_the_same_model() {
    let mut files = Vec::new();
    for root in roots() {
        aot_files(&root, &mut files);
    }
    assert!(files.len() > 150, "the fixtures are all found ({})", files.len());
    let import = read_paths(&roots()).expect("fixtures import");
    assert_eq!(import.files, files.len(), "every fixture file is an AOT object");
    let out = tempfile::TempDir::new().expect("temp dir");
    write_model(&import.model, out.path()).expect("export");
    let found = differences(&files, out.path());
    assert!(found.is_empty(), "{} file(s) differ after the round trip:\n{}", found.len(), found.join("\n"));

    // import → export → import: the identical model.
    let again = read_paths(&[out.path().to_path_buf()]).expect("the export imports");
    assert_eq!(again.model, import.model);
}

/// Kept elements go back where Visual Studio had them: the files come back
/// byte for byte (but the policy, whose `Enabled` Yes Warden always writes).
#[test]
fn kept_elements_go_back_in_place() {
    let root = fixtures("lossless");
    let import = read_paths(std::slice::from_ref(&root)).expect("imports");
    let out = tempfile::TempDir::new().expect("temp dir");
    write_model(&import.model, out.path()).expect("export");
    let mut files = Vec::new();
    aot_files(&root, &mut files);
    for original in files.iter().filter(|f| !f.to_string_lossy().contains("AxSecurityPolicy")) {
        let written = std::fs::read_to_string(exported(out.path(), original)).expect("exported");
        assert_eq!(written, std::fs::read_to_string(original).expect("original"), "{}", original.display());
    }
}

/// The round trip test can fail: an object that loses what it kept comes back different.
#[test]
fn a_dropped_element_is_detected() {
    let root = fixtures("lossless");
    let mut import = read_paths(std::slice::from_ref(&root)).expect("imports");
    let privilege = import.model.privileges.get_mut("LosslessCustTableMaintain").expect("privilege");
    let grant = privilege.entry_points.iter_mut().find(|g| g.object == "CustTable").expect("CustTable grant");
    let forms = grant.unmodelled.iter().position(|u| u.element.name == "Forms").expect("Forms kept");
    // One control grant (a Deny) less.
    let form = &mut grant.unmodelled[forms].element.children[0];
    let controls = form.children.iter_mut().find(|c| c.name == "Controls").expect("Controls");
    controls.children.retain(|c| c.child("Name").and_then(|n| n.text.as_deref()) != Some("ButtonBlock"));
    let out = tempfile::TempDir::new().expect("temp dir");
    write_model(&import.model, out.path()).expect("export");
    let mut files = Vec::new();
    aot_files(&root, &mut files);
    let found = differences(&files, out.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("LosslessCustTableMaintain.xml") && found[0].contains("Controls") && found[0].contains("ButtonBlock"), "{}", found[0]);
}

#[test]
fn kept_elements_are_listed_as_warnings_with_their_path_and_place() {
    let import = read_paths(&[fixtures("lossless")]).expect("imports");
    let kept = |path: &str| {
        import
            .warnings
            .iter()
            .find(|w| w.contains("kept for export") && w.ends_with_path(path))
            .unwrap_or_else(|| panic!("no warning for {path}: {:#?}", import.warnings))
            .clone()
    };
    let forms = kept("AxSecurityPrivilege/EntryPoints/AxSecurityEntryPointReference/Forms");
    assert!(forms.contains("LosslessCustTableMaintain.xml:65:4"), "file:line:column of the element: {forms}");
    // Control and field grants are read by checks, and the warning says so.
    assert!(forms.contains("checks read"), "{forms}");
    assert!(kept("AxSecurityPrivilege/DataEntityPermissions/AxSecurityDataEntityPermission/Fields").contains("checks read"));
    assert!(kept("AxSecurityRole/Tags").contains("checks do not see them"));
    kept("AxSecurityRole/Tags");
    kept("AxSecurityRole/ContextString");
    kept("AxSecurityPolicy/PolicyGroup");
    kept("AxMenuItemDisplay/SubscriberAccessLevel");
    kept("AxSecurityPrivilege/DataEntityPermissions/AxSecurityDataEntityPermission/Fields");
    kept("AxSecurityPrivilege/FormControlOverrides");
    kept("AxSecurityDutyExtension/PropertyModifications");
    // Nothing is dropped from these files.
    assert!(!import.warnings.iter().any(|w| w.contains("dropped")), "{:#?}", import.warnings);
}

trait EndsWithPath {
    fn ends_with_path(&self, path: &str) -> bool;
}

impl EndsWithPath for String {
    /// `N element(s) ... at PATH: examples`.
    fn ends_with_path(&self, path: &str) -> bool {
        self.contains(&format!("at {path}: "))
    }
}

/// Finding 5: an entry point type outside the five Warden checks no longer
/// aborts the import; it is kept whole, warned about, and grants nothing.
#[test]
fn an_unknown_entry_point_type_is_kept_and_warned_not_fatal() {
    let import = read_paths(&[fixtures("lossless")]).expect("a Tile entry point does not abort the import");
    let warning = import.warnings.iter().find(|w| w.contains("\"Tile\"")).unwrap_or_else(|| panic!("{:#?}", import.warnings));
    assert!(warning.contains("checks on it deny") && warning.contains("LosslessCustTableMaintain.xml:"), "{warning}");
    let privilege = &import.model.privileges["LosslessCustTableMaintain"];
    assert!(privilege.entry_points.iter().all(|g| g.object != "LosslessCustTableTile"), "no grant is modelled for it");
    assert!(privilege.unmodelled.iter().any(|u| u.within.as_deref() == Some("EntryPoints") && u.element.child("ObjectType").and_then(|t| t.text.as_deref()) == Some("Tile")));
    assert!(import.model.entry_points.keys().all(|k| k.name != "LosslessCustTableTile"), "no entry point is made up for it");
}

/// A policy whose constrained tables are edited in Warden is written from
/// the model, and the export says that the kept tree gave way.
#[test]
fn an_edited_policy_table_list_wins_over_the_kept_tree_and_says_so() {
    let mut import = read_paths(&[fixtures("lossless")]).expect("imports");
    let policy = import.model.policies.get_mut("LosslessVendProfileAccount").expect("policy");
    assert_eq!(policy.constrained_tables, ["VendTable", "CatExternalCatalogVendor", "ContactPerson", "ContactPersonSyncEntity"]);
    policy.constrained_tables.push("VendInvoiceJour".into());
    let out = tempfile::TempDir::new().expect("temp dir");
    let report = write_model(&import.model, out.path()).expect("export");
    assert!(report.warnings.iter().any(|w| w.contains("LosslessVendProfileAccount")), "{:?}", report.warnings);
    let again = read_paths(&[out.path().to_path_buf()]).expect("reads back");
    assert_eq!(again.model.policies["LosslessVendProfileAccount"].constrained_tables, import.model.policies["LosslessVendProfileAccount"].constrained_tables);
}

mod generated {
    //! Files with unknown elements of any shape, anywhere an object or an
    //! entry point grant holds them, come back the same.
    use proptest::prelude::*;
    use std::path::Path;
    use warden_aot::{object_to_xml, parse_object, xml_difference};

    #[derive(Debug, Clone)]
    struct Node {
        name: &'static str,
        typed: bool,
        text: Option<String>,
        children: Vec<Node>,
    }

    fn node() -> impl Strategy<Value = Node> {
        let names = prop::sample::select(vec!["Tags", "Forms", "Controls", "Fields", "Value", "SubscriberAccessLevel", "PolicyGroup", "i:Extra"]);
        let leaf = (names.clone(), any::<bool>(), prop::option::of("[A-Za-z0-9 &<>'\"é]{0,12}"))
            .prop_map(|(name, typed, text)| Node { name, typed, text, children: Vec::new() });
        leaf.prop_recursive(3, 12, 3, move |inner| {
            (names.clone(), any::<bool>(), prop::collection::vec(inner, 1..3)).prop_map(|(name, typed, children)| Node { name, typed, text: None, children })
        })
    }

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    }

    fn xml(n: &Node) -> String {
        let attributes = if n.typed { " xmlns=\"\" i:type=\"AxThing\"" } else { "" };
        let inner: String = match &n.text {
            Some(t) => escape(t),
            None => n.children.iter().map(xml).collect(),
        };
        format!("<{}{attributes}>{inner}</{}>", n.name, n.name)
    }

    /// Inserts the unknown elements among `known` at the given positions.
    fn mix(known: &[&str], unknown: &[(usize, Node)]) -> String {
        let mut parts: Vec<String> = known.iter().map(|s| s.to_string()).collect();
        for (at, n) in unknown {
            parts.insert(*at % (parts.len() + 1), xml(n));
        }
        parts.concat()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, .. ProptestConfig::default() })]

        #[test]
        fn unknown_elements_anywhere_round_trip(
            in_role in prop::collection::vec((any::<usize>(), node()), 0..4),
            in_privilege in prop::collection::vec((any::<usize>(), node()), 0..4),
            in_grant in prop::collection::vec((any::<usize>(), node()), 0..4),
        ) {
            let role = format!(
                "<AxSecurityRole xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">{}</AxSecurityRole>",
                mix(&["<Name>R</Name>", "<Label>Role</Label>", "<Duties><AxSecurityDutyReference><Name>D</Name></AxSecurityDutyReference></Duties>"], &in_role)
            );
            let grant = format!(
                "<AxSecurityEntryPointReference>{}</AxSecurityEntryPointReference>",
                mix(&["<Name>E</Name>", "<Grant><Read>Allow</Read><Delete>Deny</Delete></Grant>", "<ObjectName>E</ObjectName>", "<ObjectType>MenuItemDisplay</ObjectType>"], &in_grant)
            );
            let privilege = format!(
                "<AxSecurityPrivilege xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">{}</AxSecurityPrivilege>",
                mix(&["<Name>P</Name>", &format!("<EntryPoints>{grant}</EntryPoints>")], &in_privilege)
            );
            for original in [role, privilege] {
                let object = parse_object(Path::new("x.xml"), None, original.as_bytes()).expect("parses");
                let written = object_to_xml(&object);
                prop_assert_eq!(xml_difference(&original, &written).expect("both parse"), None, "{}\n{}", original, written);
                let again = parse_object(Path::new("x.xml"), None, written.as_bytes()).expect("reads back");
                prop_assert_eq!(again, object);
            }
        }
    }
}

/// A control or field grant that checks cannot read as written is named in a
/// warning with its file:line:column; the import goes on, the element is kept
/// as written, and the typed grants read what can be read (an unreadable
/// permission counts as Deny).
#[test]
fn malformed_control_and_field_grants_are_warned_about_and_kept() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let folder = dir.path().join("M/M/AxSecurityPrivilege");
    std::fs::create_dir_all(&folder).expect("folder");
    let file = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<AxSecurityPrivilege xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">\n\t<Name>P</Name>\n\t<EntryPoints>\n\t\t<AxSecurityEntryPointReference>\n\t\t\t<Name>CustTable</Name>\n\t\t\t<Grant><Read>Allow</Read><Update>Allow</Update></Grant>\n\t\t\t<ObjectName>CustTable</ObjectName>\n\t\t\t<ObjectType>MenuItemDisplay</ObjectType>\n\t\t\t<Forms><AxSecurityEntryPointReferenceForm><Name>CustTable</Name><Controls>\n\t\t\t\t<AxSecurityEntryPointReferenceFormControl><Name>CreditMax</Name><Grant><Update>Nope</Update></Grant></AxSecurityEntryPointReferenceFormControl>\n\t\t\t\t<AxSecurityEntryPointReferenceFormControl><Grant><Read>Deny</Read></Grant></AxSecurityEntryPointReferenceFormControl>\n\t\t\t</Controls></AxSecurityEntryPointReferenceForm></Forms>\n\t\t</AxSecurityEntryPointReference>\n\t</EntryPoints>\n</AxSecurityPrivilege>\n";
    std::fs::write(folder.join("P.xml"), file).expect("write");
    let import = read_paths(&[dir.path().to_path_buf()]).expect("imports despite the malformed grants");
    let warnings = import.warnings.join("\n");
    assert!(warnings.contains("control CreditMax: invalid value \"Nope\" in <Update>") && warnings.contains("counted as Deny"), "{warnings}");
    assert!(warnings.contains("P.xml:5:3"), "the reference's place: {warnings}");
    assert!(warnings.contains("has no <Name>"), "{warnings}");
    let privilege = import.model.privileges.get("P").expect("privilege");
    let grant = &privilege.entry_points[0];
    let controls = grant.control_grants();
    assert_eq!(controls.len(), 1, "{controls:?}");
    assert_eq!(controls[0].grant.get(warden_model::Access::Update), Some(warden_model::Permission::Deny));
    // Kept as written: export gives the file back.
    let out = tempfile::TempDir::new().expect("temp dir");
    write_model(&import.model, out.path()).expect("export");
    let back = std::fs::read_to_string(out.path().join("M/AxSecurityPrivilege/P.xml")).expect("exported");
    assert_eq!(xml_difference(file, &back).expect("comparable"), None);
}
