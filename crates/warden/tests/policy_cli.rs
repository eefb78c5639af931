//! `warden policy list|show`: an XDS policy shown as what it is (issue 15),
//! the constrained tables and expressions as a tree with their relations and
//! values, every element of the file accounted for.

mod common;

use common::{json, ok, refused};

/// A policy with nesting, an expression, a not-exist join and an element
/// Warden does not know inside a constrained table.
const POLICY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<AxSecurityPolicy xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
	<Name>ContosoVendPolicy</Name>
	<ConstrainedTable>Yes</ConstrainedTable>
	<ContextString>ContosoVendorRoles</ContextString>
	<ContextType>RoleProperty</ContextType>
	<Enabled>Yes</Enabled>
	<Label>Vendors see their own rows</Label>
	<Operation>Select</Operation>
	<PolicyGroup>VendorPortal</PolicyGroup>
	<PrimaryTable>VendTable</PrimaryTable>
	<Query>ContosoVendPolicyQuery</Query>
	<ConstrainedTables>
		<AxSecurityPolicyConstrainedEntity xmlns="" i:type="AxSecurityPolicyConstrainedTable">
			<Name>VendTrans</Name>
			<ConstrainedTables>
				<AxSecurityPolicyConstrainedEntity i:type="AxSecurityPolicyConstrainedTable">
					<Name>VendSettlement</Name>
					<ConstrainedTables />
					<TableRelation>VendTrans</TableRelation>
					<UseNotExistJoin>Yes</UseNotExistJoin>
				</AxSecurityPolicyConstrainedEntity>
			</ConstrainedTables>
			<FutureSetting>Strict</FutureSetting>
			<TableRelation>VendTable</TableRelation>
		</AxSecurityPolicyConstrainedEntity>
		<AxSecurityPolicyConstrainedEntity xmlns="" i:type="AxSecurityPolicyConstrainedExpression">
			<Name>ContactPerson</Name>
			<ConstrainedTables />
			<Value>(VendTable.Party == ContactPerson.ContactForParty)</Value>
		</AxSecurityPolicyConstrainedEntity>
	</ConstrainedTables>
</AxSecurityPolicy>
"#;

fn imported() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("AxSecurityPolicy");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("ContosoVendPolicy.xml"), POLICY).unwrap();
    let data = dir.path().join("data");
    ok(&data, &["import", "aot", folder.to_str().unwrap()]);
    (dir, data)
}

#[test]
fn policy_show_prints_the_tree() {
    let (_dir, data) = imported();
    let text = ok(&data, &["policy", "show", "contosovendpolicy"]);
    let expected = "\
Policy ContosoVendPolicy — Vendors see their own rows
  primary table: VendTable (constrained)
  query: ContosoVendPolicyQuery
  context: RoleProperty ContosoVendorRoles
  operation: Select
  enabled: yes
  policy group: VendorPortal

Constrained tables and expressions (3):
  table VendTrans, relation VendTable
    unknown element FutureSetting: Strict
    table VendSettlement, relation VendTrans, use not-exist join: Yes
  expression ContactPerson
    value: (VendTable.Party == ContactPerson.ContactForParty)
";
    assert_eq!(text, expected);
    let list = ok(&data, &["policy", "list"]);
    assert!(list.contains("ContosoVendPolicy  VendTable      RoleProperty ContosoVendorRoles  3            yes"), "{list}");
}

#[test]
fn policy_show_json_is_the_same_tree() {
    let (_dir, data) = imported();
    let tree = json(&data, &["policy", "show", "ContosoVendPolicy"]);
    assert_eq!(tree["context"], serde_json::json!({ "type": "RoleProperty", "context_string": "ContosoVendorRoles" }));
    assert_eq!(tree["constrains_primary_table"], true);
    assert_eq!(tree["operation"], "Select");
    let trans = &tree["constrained"][0];
    assert_eq!(trans["kind"], "table");
    assert_eq!(trans["relation"], "VendTable");
    assert_eq!(trans["unknown"], serde_json::json!([{ "element": "FutureSetting", "text": "Strict" }]), "never dropped");
    assert_eq!(trans["children"][0]["table"], "VendSettlement");
    assert_eq!(trans["children"][0]["use_not_exist_join"], "Yes");
    assert_eq!(tree["constrained"][1]["kind"], "expression");
    assert_eq!(tree["constrained"][1]["value"], "(VendTable.Party == ContactPerson.ContactForParty)");
    let list = json(&data, &["policy", "list"]);
    assert_eq!(list[0], tree);
}

#[test]
fn unknown_policy_is_refused() {
    let (_dir, data) = imported();
    let err = refused(&data, &["policy", "show", "NoSuchPolicy"]);
    assert!(err.contains("NoSuchPolicy"), "{err}");
}
