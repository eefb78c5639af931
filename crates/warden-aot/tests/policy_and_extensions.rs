//! XDS policies and role extensions (hand-written fixtures in the D365 shape),
//! plus the encodings and layouts real files come in.

use std::path::{Path, PathBuf};
use warden_aot::{AotObject, object_to_xml, parse_object, read_paths, write_model};
use warden_model::{Access, Permission, PolicyContextType};

fn contoso() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aot")
}

#[test]
fn policies_map_onto_the_model() {
    let import = read_paths(&[contoso()]).expect("imports");
    assert_eq!(import.counts.get("AxSecurityPolicy"), Some(&2));

    let p = &import.model.policies["ContosoCustGroupPolicy"];
    assert_eq!(p.model.as_deref(), Some("ContosoXds"));
    assert_eq!(p.label.as_deref(), Some("Sales clerks see customers of group 10 only"));
    assert_eq!(p.primary_table, "CustGroup");
    assert_eq!(p.query, "ContosoCustGroupPolicyQuery");
    assert_eq!(p.context_type, PolicyContextType::RoleName);
    assert_eq!(p.role_name.as_deref(), Some("ContosoSalesClerk"));
    assert_eq!(p.context_string, None);
    assert_eq!(p.operation.as_deref(), Some("AllOperations"));
    assert!(p.enabled);
    // ConstrainedTable=Yes puts the primary table first; nested entities are flattened.
    assert_eq!(p.constrained_tables, ["CustGroup", "CustTable", "SalesTable", "ContactPerson"]);

    let p = &import.model.policies["ContosoVendorPortalPolicy"];
    assert_eq!(p.context_type, PolicyContextType::RoleProperty);
    assert_eq!(p.context_string.as_deref(), Some("ContosoVendorRoles"));
    assert_eq!(p.role_name, None);
    assert_eq!(p.description.as_deref(), Some("Vendor users see their own invoices & nothing else"));
    assert!(!p.enabled);
    assert_eq!(p.constrained_tables, ["VendInvoiceJour"]);
}

#[test]
fn policy_defaults_when_properties_are_omitted() {
    let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<AxSecurityPolicy xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
	<Name>P</Name>
	<ContextString>BatchContext</ContextString>
	<PrimaryTable>T</PrimaryTable>
	<Query>Q</Query>
	<ConstrainedTables />
</AxSecurityPolicy>"#;
    let AotObject::Policy(p) = parse_object(Path::new("P.xml"), None, xml.as_bytes()).expect("parses") else { panic!() };
    assert_eq!(p.context_type, PolicyContextType::ContextString);
    assert!(p.enabled, "a policy without <Enabled> is in force");
    assert!(p.constrained_tables.is_empty());
    // Written back with the default context type left out and Enabled explicit.
    let out = object_to_xml(&AotObject::Policy(p.clone()));
    assert!(!out.contains("<ContextType>") && out.contains("<Enabled>Yes</Enabled>"), "{out}");
    let AotObject::Policy(back) = parse_object(Path::new("P.xml"), None, out.as_bytes()).expect("parses") else { panic!() };
    assert_eq!(back, p);
}

#[test]
fn policy_export_is_in_d365_order() {
    let import = read_paths(&[contoso()]).expect("imports");
    let out = object_to_xml(&AotObject::Policy(import.model.policies["ContosoCustGroupPolicy"].clone()));
    // The tree of constrained tables (nesting, relations, expressions) is kept
    // and written back: the file comes back byte for byte.
    let expected = std::fs::read_to_string(contoso().join("ContosoXds/ContosoXds/AxSecurityPolicy/ContosoCustGroupPolicy.xml")).expect("fixture");
    assert_eq!(out, expected);
}

#[test]
fn role_extensions_target_the_part_before_the_dot() {
    let import = read_paths(&[contoso()]).expect("imports");
    let ext = &import.model.role_extensions["ContosoSalesClerk.ContosoXds"];
    assert_eq!(ext.target, "ContosoSalesClerk");
    assert_eq!(ext.duties, ["ContosoCustGroupInquire"]);
    assert!(ext.privileges.is_empty());
    assert_eq!(ext.sub_roles, ["ContosoReadOnly"]);
    // The extension's sub-role counts for the role.
    let role = &import.model.roles["ContosoSalesClerk"];
    assert_eq!(import.model.role_sub_roles(role).collect::<Vec<_>>(), ["ContosoReadOnly"]);

    let ext = &import.model.role_extensions["SystemUser.ContosoXds"];
    assert_eq!(ext.target, "SystemUser");
    assert_eq!(ext.privileges, ["ContosoCustGroupView"]);
    assert_eq!(import.warnings.len(), 1, "{:#?}", import.warnings);
    let warning = &import.warnings[0];
    assert!(warning.contains("SystemUser.ContosoXds") && warning.contains("kept") && warning.contains("once role SystemUser is loaded"), "{warning}");
}

#[test]
fn role_extension_export_matches_the_fixture_files() {
    for name in ["SystemUser.ContosoXds", "ContosoSalesClerk.ContosoXds"] {
        let path = contoso().join(format!("ContosoXds/ContosoXds/AxSecurityRoleExtension/{name}.xml"));
        let bytes = std::fs::read(&path).expect("fixture");
        let object = parse_object(&path, Some("ContosoXds"), &bytes).expect("parses");
        assert_eq!(object_to_xml(&object), String::from_utf8_lossy(&bytes), "{name}");
    }
}

#[test]
fn contoso_round_trips_through_export() {
    let import = read_paths(&[contoso()]).expect("imports");
    let out = tempfile::tempdir().expect("temp dir");
    let report = write_model(&import.model, out.path()).expect("export");
    assert_eq!(report.files, import.files);
    let again = read_paths(&[out.path().to_path_buf()]).expect("re-import");
    assert_eq!(again.model, import.model);
    // Nothing is dropped, and the layout is Visual Studio's: byte for byte.
    for dir in ["AxSecurityRole", "AxSecurityDuty", "AxSecurityPrivilege", "AxMenuItemDisplay", "AxSecurityPolicy", "AxSecurityRoleExtension"] {
        for entry in std::fs::read_dir(contoso().join("ContosoXds/ContosoXds").join(dir)).expect("fixture dir") {
            let original = entry.expect("entry").path();
            let written = out.path().join("ContosoXds").join(dir).join(original.file_name().expect("file name"));
            assert_eq!(std::fs::read(&written).ok(), std::fs::read(&original).ok(), "{}", original.display());
        }
    }
}

#[test]
fn bom_crlf_namespaces_and_unknown_elements_are_accepted() {
    let xml = "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
<!-- exported by hand -->\r\n\
<AxSecurityPrivilege xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns=\"Microsoft.Dynamics.AX.Metadata.V1\">\r\n\
\t<Name>P</Name>\r\n\
\t<IsObsolete>No</IsObsolete>\r\n\
\t<Label>Two\r\nlines</Label>\r\n\
\t<EntryPoints>\r\n\
\t\t<AxSecurityEntryPointReference xmlns=\"\">\r\n\
\t\t\t<Name>Ref</Name>\r\n\
\t\t\t<Grant><Read>Allow</Read><Update>Unset</Update><Delete>Deny</Delete><Future>Allow</Future></Grant>\r\n\
\t\t\t<ObjectName>CustTable</ObjectName>\r\n\
\t\t\t<ObjectType>MenuItemOutput</ObjectType>\r\n\
\t\t\t<Forms><AxSecurityEntryPointReferenceForm><Name>F</Name><Controls><X><Y/></X></Controls></AxSecurityEntryPointReferenceForm></Forms>\r\n\
\t\t</AxSecurityEntryPointReference>\r\n\
\t</EntryPoints>\r\n\
</AxSecurityPrivilege>\r\n";
    let AotObject::Privilege(p) = parse_object(Path::new("P.xml"), Some("M"), xml.as_bytes()).expect("parses") else { panic!() };
    assert_eq!(p.name, "P");
    assert_eq!(p.model.as_deref(), Some("M"));
    assert_eq!(p.label.as_deref(), Some("Two\nlines"));
    let g = &p.entry_points[0];
    assert_eq!((g.name.as_str(), g.object.as_str()), ("Ref", "CustTable"));
    assert_eq!(g.grant.get(Access::Read), Some(Permission::Allow));
    assert_eq!(g.grant.get(Access::Update), None);
    assert_eq!(g.grant.get(Access::Delete), Some(Permission::Deny));
}

#[test]
fn other_xml_and_other_ax_folders_are_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = dir.path().join("Pkg/Model");
    for sub in ["AxClass", "AxSecurityRole", "Descriptor"] {
        std::fs::create_dir_all(model.join(sub)).expect("mkdir");
    }
    // Would be an error if it were read: other Ax* folders are not entered.
    std::fs::write(model.join("AxClass/Broken.xml"), "<AxClass><Name>").expect("write");
    std::fs::write(model.join("Descriptor/Model.xml"), "<AxModelInfo><Name>Model</Name></AxModelInfo>").expect("write");
    std::fs::write(model.join("Descriptor/notes.xml"), "not xml at all").expect("write");
    std::fs::write(model.join("LICENSE"), "MIT").expect("write");
    std::fs::write(model.join("AxSecurityRole/R.xml"), "<AxSecurityRole><Name>R</Name></AxSecurityRole>").expect("write");
    // Large XML beside assemblies is sniffed from its first bytes, not refused as too large.
    std::fs::create_dir_all(dir.path().join("Pkg/bin")).expect("mkdir");
    std::fs::File::create(dir.path().join("Pkg/bin/Docs.xml"))
        .and_then(|f| f.set_len(warden_aot::MAX_FILE_SIZE + 1))
        .expect("sparse file");
    // Hidden directories (.git, .vs) are not entered.
    std::fs::create_dir_all(dir.path().join(".git/M/AxSecurityRole")).expect("mkdir");
    std::fs::write(dir.path().join(".git/M/AxSecurityRole/G.xml"), "<AxSecurityRole><Name>G</Name></AxSecurityRole>").expect("write");
    // A security object outside the type folders is still found by its root element.
    std::fs::write(dir.path().join("loose.xml"), "<AxSecurityDuty><Name>loose</Name></AxSecurityDuty>").expect("write");
    let import = read_paths(&[dir.path().to_path_buf()]).expect("imports");
    assert_eq!(import.files, 2);
    assert_eq!(import.model.roles["R"].model.as_deref(), Some("Model"));
    assert_eq!(import.model.duties["loose"].model, None);
}
