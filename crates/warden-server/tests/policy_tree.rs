//! `GET /api/v1/policies/{name}/tree`: an XDS policy imported from AOT XML
//! shown as its tree of constrained tables and expressions (issue 15), the
//! same tree `warden policy show --json` prints.

mod common;

use common::start;
use reqwest::{Method, StatusCode};
use serde_json::json;

const POLICY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<AxSecurityPolicy xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
	<Name>ContosoVendPolicy</Name>
	<ConstrainedTable>Yes</ConstrainedTable>
	<ContextType>RoleName</ContextType>
	<Enabled>Yes</Enabled>
	<PrimaryTable>VendTable</PrimaryTable>
	<Query>ContosoVendPolicyQuery</Query>
	<RoleName>SystemAdministrator</RoleName>
	<UseNotExistJoin>No</UseNotExistJoin>
	<ConstrainedTables>
		<AxSecurityPolicyConstrainedEntity xmlns="" i:type="AxSecurityPolicyConstrainedTable">
			<Name>VendTrans</Name>
			<ConstrainedTables>
				<AxSecurityPolicyConstrainedEntity i:type="AxSecurityPolicyConstrainedExpression">
					<Name>VendSettlement</Name>
					<ConstrainedTables />
					<Value>(VendTrans.RecId == VendSettlement.TransRecId)</Value>
				</AxSecurityPolicyConstrainedEntity>
			</ConstrainedTables>
			<FutureSetting>Strict</FutureSetting>
			<TableRelation>VendTable</TableRelation>
		</AxSecurityPolicyConstrainedEntity>
	</ConstrainedTables>
</AxSecurityPolicy>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_policy_is_served_as_its_tree() {
    let server = start().await;
    let admin = server.admin_token().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ContosoVendPolicy.xml");
    std::fs::write(&file, POLICY).unwrap();
    warden_core::Warden::new(server.store.clone(), "test").import_aot(&[file], false).await.unwrap();

    let (status, tree) = server.call(Some(&admin), Method::GET, "/api/v1/policies/ContosoVendPolicy/tree", None).await;
    assert_eq!(status, StatusCode::OK, "{tree}");
    assert_eq!(
        tree,
        json!({
            "name": "ContosoVendPolicy",
            "primary_table": "VendTable",
            "query": "ContosoVendPolicyQuery",
            "context": {"type": "RoleName", "role_name": "SystemAdministrator"},
            "enabled": true,
            "constrains_primary_table": true,
            "use_not_exist_join": "No",
            "constrained": [{
                "kind": "table",
                "table": "VendTrans",
                "relation": "VendTable",
                "children": [{"kind": "expression", "table": "VendSettlement", "value": "(VendTrans.RecId == VendSettlement.TransRecId)"}],
                "unknown": [{"element": "FutureSetting", "text": "Strict"}]
            }]
        })
    );

    let (status, problem) = server.call(Some(&admin), Method::GET, "/api/v1/policies/NoSuchPolicy/tree", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    // Read access to the security configuration is required, as for the policy itself.
    let (status, _) = server.call(None, Method::GET, "/api/v1/policies/ContosoVendPolicy/tree", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The document declares the answer, and the answer meets the declaration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_is_declared_in_the_openapi_document() {
    let server = start().await;
    let (status, doc) = server.call(None, Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let op = &doc["paths"]["/api/v1/policies/{name}/tree"]["get"];
    assert_eq!(op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/PolicyTree", "{op}");
    let schemas = &doc["components"]["schemas"];
    for name in ["PolicyTree", "PolicyContext", "ConstrainedNode", "ConstrainedKind", "UnknownElement"] {
        assert!(schemas[name].is_object(), "{name} missing");
    }
    assert_eq!(schemas["ConstrainedKind"]["enum"], json!(["table", "expression", "other"]));
}
