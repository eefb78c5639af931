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
            .find(|w| w.contains("kept for export but not interpreted") && w.ends_with_path(path))
            .unwrap_or_else(|| panic!("no warning for {path}: {:#?}", import.warnings))
            .clone()
    };
    let forms = kept("AxSecurityPrivilege/EntryPoints/AxSecurityEntryPointReference/Forms");
    assert!(forms.contains("LosslessCustTableMaintain.xml:65:4"), "file:line:column of the element: {forms}");
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
