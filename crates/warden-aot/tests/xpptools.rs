//! The real D365 F&O files of the xpptools fixture: everything imports, fields
//! land where they should, and export gives the files back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use warden_aot::{AotImport, AotObject, object_to_xml, parse_object, read_paths, write_model};
use warden_model::{Access, EntryPointKey, EntryPointType, Licence, Permission};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/aot/xpptools")
}

fn import() -> AotImport {
    read_paths(&[fixtures()]).expect("the xpptools fixtures import")
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable fixture directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(xml_files(&path));
        } else if path.extension().is_some_and(|e| e == "xml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn every_file_imports_and_is_counted_by_type() {
    let import = import();
    let expected: BTreeMap<&str, usize> = [
        ("AxMenuItemAction", 29),
        ("AxMenuItemDisplay", 49),
        ("AxSecurityDuty", 3),
        ("AxSecurityDutyExtension", 2),
        ("AxSecurityPrivilege", 47),
        ("AxSecurityRole", 7),
    ]
    .into();
    assert_eq!(import.counts, expected);
    assert_eq!(import.files, 137);
    assert_eq!(import.files, xml_files(&fixtures()).len(), "LICENSE and SOURCE_COMMIT are skipped, every XML file is read");
    let m = &import.model;
    assert_eq!((m.roles.len(), m.duties.len(), m.privileges.len(), m.duty_extensions.len()), (7, 3, 47, 2));
    assert!(m.users.is_empty() && m.assignments.is_empty() && m.organizations.is_empty());
}

#[test]
fn role_fields() {
    let import = import();
    let role = &import.model.roles["DEVIntegDeveloperRole"];
    assert_eq!(role.label.as_deref(), Some("DEV Integration developer"));
    assert_eq!(role.description.as_deref(), Some("Integration developer may delete messages and documents"));
    assert_eq!(role.model.as_deref(), Some("DEVExternalIntegration"));
    assert_eq!(role.duties, ["DEVIntegIntegrationAdminBase"]);
    assert!(role.privileges.is_empty() && role.sub_roles.is_empty());

    let role = &import.model.roles["DEVSQLQueryExecute"];
    assert_eq!(role.privileges, ["DEVSQLQueryExecuteMaintain"]);
    assert_eq!(role.model.as_deref(), Some("DEVSQLExecute"));
}

#[test]
fn duty_fields() {
    let import = import();
    let duty = &import.model.duties["DEVIntegIntegrationViewBase"];
    assert_eq!(duty.label.as_deref(), Some("External integration view(base)"));
    assert_eq!(duty.privileges.len(), 7);
    assert_eq!(duty.privileges[0], "DEVIntegConnectionTypeView");
    assert_eq!(duty.privileges[6], "DEVIntegAIProviderView");
}

#[test]
fn privilege_with_data_entity_direct_access_and_menu_item() {
    let import = import();
    let p = &import.model.privileges["DEVBenchmarkLogMaintain"];
    assert_eq!(p.label.as_deref(), Some("DEV BenchmarkLog Maintain"));
    assert_eq!(p.model.as_deref(), Some("DEVCommon"));
    assert_eq!(p.entry_points.len(), 2);

    let entity = &p.entry_points[0];
    assert_eq!((entity.kind, entity.name.as_str(), entity.object.as_str()), (EntryPointType::DataEntity, "DEVBenchmarkLogEntity", "DEVBenchmarkLogEntity"));
    assert_eq!(entity.child, None);
    for access in [Access::Read, Access::Update, Access::Create, Access::Correct, Access::Delete] {
        assert_eq!(entity.grant.get(access), Some(Permission::Allow), "{access}");
    }
    assert_eq!(entity.grant.get(Access::Invoke), None);

    let menu_item = &p.entry_points[1];
    assert_eq!(menu_item.key(), EntryPointKey::new(EntryPointType::MenuItemDisplay, "DEVBenchmarkLog"));
    assert_eq!(menu_item.grant.to_string(), "Read:Allow Update:Allow Create:Allow Correct:Allow Delete:Allow");

    assert_eq!(p.direct_access.len(), 1);
    assert_eq!(p.direct_access[0].table, "DEVBenchmarkLogParameters");
    assert_eq!(p.direct_access[0].grant.get(Access::Delete), Some(Permission::Allow));

    let p = &import.model.privileges["DEVCSXppCallStackTable"];
    assert_eq!((p.label.as_deref(), p.description.as_deref()), (Some("@SYS65092"), Some("@SYS65092")));
    assert_eq!(p.entry_points[0].grant.to_string(), "Read:Allow");
}

#[test]
fn service_operations_are_keyed_by_service_and_operation() {
    let import = import();
    let p = &import.model.privileges["DEVIntegTutorialServiceTestCall"];
    let g = &p.entry_points[0];
    assert_eq!(g.name, "DEVIntegTutorialServiceTestTable");
    assert_eq!(g.object, "DEVIntegTutorialServiceTest");
    assert_eq!(g.child.as_deref(), Some("getSOInfoDataTable"));
    assert_eq!(g.grant.get(Access::Invoke), Some(Permission::Allow));
    let key = EntryPointKey::new(EntryPointType::ServiceOperation, "DEVIntegTutorialServiceTest.getSOInfoDataTable");
    assert_eq!(g.key(), key);
    // Known only by reference: no model, no licence.
    let ep = &import.model.entry_points[&key];
    assert_eq!(ep.model, None);
    assert_eq!(ep.view_licence, Licence::None);
}

#[test]
fn menu_items_carry_licences_and_model() {
    let import = import();
    let key = EntryPointKey::new(EntryPointType::MenuItemAction, "DEVIntegMessagesLoad");
    let item = &import.model.entry_points[&key];
    assert_eq!(item.label.as_deref(), Some("Load messages"));
    assert_eq!(item.help_text.as_deref(), Some("Receive messages from the Azure storage"));
    assert_eq!(item.object.as_deref(), Some("DEVIntegMessagesLoad"));
    assert_eq!(item.object_type.as_deref(), Some("Class"));
    assert_eq!(item.view_licence, Licence::Activity);
    assert_eq!(item.maintain_licence, Licence::Universal);
    assert_eq!(item.model.as_deref(), Some("DEVExternalIntegration"));

    let key = EntryPointKey::new(EntryPointType::MenuItemDisplay, "DEVSysTableBrowser");
    let item = &import.model.entry_points[&key];
    assert_eq!((item.view_licence, item.maintain_licence), (Licence::Activity, Licence::Activity));
    let defined = import.model.entry_points.values().filter(|e| e.model.is_some()).count();
    assert_eq!(defined, 49 + 29);
}

#[test]
fn duty_extension_of_a_duty_outside_the_import_is_kept_with_a_warning() {
    let import = import();
    let ext = &import.model.duty_extensions["SysServerAXBasicMaintain.DEVCommon"];
    assert_eq!(ext.target, "SysServerAXBasicMaintain");
    assert_eq!(ext.model.as_deref(), Some("DEVCommon"));
    assert_eq!(ext.privileges, ["DEVBenchmarkLogMaintain", "DEVCustomFeaturesMaintain"]);
    let warning = import
        .warnings
        .iter()
        .find(|w| w.contains("SysServerAXBasicMaintain"))
        .unwrap_or_else(|| panic!("no warning about the extension: {:#?}", import.warnings));
    assert!(warning.contains("kept") && warning.contains("once its target is loaded"), "{warning}");
}

#[test]
fn referenced_entry_points_are_summarised_in_one_warning() {
    let import = import();
    let referenced: Vec<_> = import.model.entry_points.values().filter(|e| e.model.is_none()).collect();
    assert_eq!(referenced.len(), 13);
    let warnings: Vec<_> = import.warnings.iter().filter(|w| w.contains("kept as references")).collect();
    assert_eq!(warnings.len(), 1, "{:#?}", import.warnings);
    assert!(warnings[0].starts_with("13 entry point(s)"), "{}", warnings[0]);
    let examples = warnings[0].split_once("e.g. ").map(|(_, e)| e.split(", ").count());
    assert_eq!(examples, Some(5), "five examples: {}", warnings[0]);
}

#[test]
fn date_effective_grants_are_reported_not_silently_dropped() {
    let import = import();
    let warning = import.warnings.iter().find(|w| w.contains("GrantCurrentData")).expect("a warning about GrantCurrentData");
    assert!(warning.starts_with("2 "), "{warning}");
    assert!(warning.contains("DEVLicenseElementUsageLogMaintain.xml:68:4"), "{warning}");
}

#[test]
fn export_and_reimport_give_the_same_model_and_the_same_bytes() {
    let original = import();
    let first = tempfile::tempdir().expect("temp dir");
    let report = write_model(&original.model, first.path()).expect("export");
    // Every object with a file of its own; the 13 referenced entry points get none.
    assert_eq!(report.files, 137);
    assert_eq!(report.counts, original.counts);

    let again = read_paths(&[first.path().to_path_buf()]).expect("re-import");
    assert_eq!(again.model, original.model);
    assert_eq!(again.counts, original.counts);

    let second = tempfile::tempdir().expect("temp dir");
    write_model(&again.model, second.path()).expect("second export");
    let a = xml_files(first.path());
    let b = xml_files(second.path());
    assert_eq!(a.len(), 137);
    assert_eq!(
        a.iter().map(|p| p.strip_prefix(first.path()).ok()).collect::<Vec<_>>(),
        b.iter().map(|p| p.strip_prefix(second.path()).ok()).collect::<Vec<_>>()
    );
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(std::fs::read(x).ok(), std::fs::read(y).ok(), "{} differs", x.display());
    }
    // The layout is <model>/<AxType>/<Name>.xml.
    assert!(first.path().join("DEVCommon/AxSecurityDutyExtension/SysServerAXBasicMaintain.DEVCommon.xml").is_file());
}

/// Files holding nothing Warden drops come back byte for byte, so the writer
/// formats exactly as D365 does.
#[test]
fn fully_modelled_files_are_written_back_byte_for_byte() {
    let mut identical = 0;
    for path in xml_files(&fixtures()) {
        let bytes = std::fs::read(&path).expect("readable fixture");
        let object = parse_object(&path, None, &bytes).expect("parses");
        let same = object_to_xml(&object).as_bytes() == bytes.as_slice();
        identical += usize::from(same);
        let always = matches!(object, AotObject::Role(_) | AotObject::Duty(_) | AotObject::DutyExtension(_));
        assert!(same || !always, "{} is not reproduced", path.display());
    }
    // The rest hold form overrides, subscriber access levels and the like.
    assert!(identical >= 78, "only {identical} files reproduced");
}
