//! The OpenAPI 3.1 document, built from the [`endpoints`](crate::endpoints)
//! table (paths, guards, parameters) and the DTOs' derived schemas, so that the
//! document describes exactly the routes the server enforces.

use crate::dto::*;
use crate::endpoints::{self, Body, Guard};
use crate::problem::Problem;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Components, ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required, ResponseBuilder, Schema,
};
use utoipa::{PartialSchema, ToSchema};
use warden_model::{Assignment, Duty, DutyExtension, EntryPoint, ObjectKind, Organization, Policy, Privilege, Role, RoleExtension, User};

/// The document as served, and as [`crate::strict`] holds request bodies to it.
static DOCUMENT_VALUE: LazyLock<serde_json::Value> = LazyLock::new(build);
static DOCUMENT: LazyLock<String> = LazyLock::new(|| serde_json::to_string(document_value()).unwrap_or_default());

pub fn document_value() -> &'static serde_json::Value {
    &DOCUMENT_VALUE
}

pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.as_str()).into_response()
}

fn http_method(m: &Method) -> HttpMethod {
    match *m {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        _ => HttpMethod::Get,
    }
}

fn object_schema(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(SchemaType::Type(Type::Object)).description(Some(description)).into()
}

fn body_content(body: Body) -> Vec<(String, RefOr<Schema>)> {
    match body {
        Body::None => Vec::new(),
        Body::Schema("OpenApiDocument") => vec![("application/json".into(), object_schema("an OpenAPI 3.1 document"))],
        Body::Schema(name) => vec![("application/json".into(), Ref::from_schema_name(name).into())],
        Body::Object(kind) => vec![("application/json".into(), Ref::from_schema_name(object_schema_name(kind)).into())],
        Body::Text => vec![("text/plain".into(), String::schema())],
        Body::Texts(types) => types.iter().map(|t| (t.to_string(), String::schema())).collect(),
        Body::Xml => vec![("application/xml".into(), String::schema())],
    }
}

/// The component that describes a stored object of `kind`: the model type's
/// own name (`Role`, `EntryPoint`, ...), derived from its serde shape.
pub fn object_schema_name(kind: ObjectKind) -> &'static str {
    kind.type_name()
}

/// Adds `T`'s schema and every schema it refers to.
fn with_schema<T: ToSchema>(components: ComponentsBuilder) -> ComponentsBuilder {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    components.schema_from::<T>().schemas_from_iter(nested)
}

/// The stored objects that request bodies carry (credentials are never one).
fn object_components(mut components: ComponentsBuilder) -> ComponentsBuilder {
    components = with_schema::<EntryPoint>(components);
    components = with_schema::<Privilege>(components);
    components = with_schema::<Duty>(components);
    components = with_schema::<Role>(components);
    components = with_schema::<RoleExtension>(components);
    components = with_schema::<DutyExtension>(components);
    components = with_schema::<Policy>(components);
    components = with_schema::<warden_model::PolicyTree>(components);
    components = with_schema::<Organization>(components);
    components = with_schema::<User>(components);
    components = with_schema::<Assignment>(components);
    components = with_schema::<warden_model::AssignmentRule>(components);
    components = with_schema::<warden_model::SodRule>(components);
    components = with_schema::<warden_model::SodConflict>(components);
    components = with_schema::<warden_model::Webhook>(components);
    components = with_schema::<warden_model::TempRoleSession>(components);
    components = with_schema::<warden_model::PrivilegedSession>(components);
    components = with_schema::<warden_model::TempSessionRequest>(components);
    components = with_schema::<warden_model::TempSessionEdit>(components);
    components = with_schema::<warden_model::PrivilegedSessionRequest>(components);
    components = with_schema::<warden_model::SessionSettings>(components);
    with_schema::<warden_model::SodSettings>(components)
}

/// A date or an RFC 3339 instant with seconds, as `Timestamp::parse` reads them.
const AT_PATTERN: &str = warden_model::Timestamp::PATTERN;

/// An id as the core services accept it: not empty, no control characters,
/// no white space at either end.
const ID_PATTERN: &str = r"^[^\s\u0000-\u001f\u007f-\u009f]([^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f])?$";
/// An organization id also has no `;` (it separates organizations in assignments.csv).
const ORGANIZATION_ID_PATTERN: &str = r"^[^\s;\u0000-\u001f\u007f-\u009f]([^;\u0000-\u001f\u007f-\u009f]*[^\s;\u0000-\u001f\u007f-\u009f])?$";
/// A security object's name is also an AOT file name (`<Name>.xml`): an id
/// without `/ \ : * ? " < > |` ([`warden_model::FILE_NAME_FORBIDDEN`]).
const AOT_NAME_PATTERN: &str = r#"^[^\s\u0000-\u001f\u007f-\u009f/\\:*?"<>|]([^\u0000-\u001f\u007f-\u009f/\\:*?"<>|]*[^\s\u0000-\u001f\u007f-\u009f/\\:*?"<>|])?$"#;
/// An entry point's key is `TYPE/NAME`, so only the name's end is checked for white space.
const ENTRY_POINT_NAME_PATTERN: &str = r#"^[^\u0000-\u001f\u007f-\u009f/\\:*?"<>|]*[^\s\u0000-\u001f\u007f-\u009f/\\:*?"<>|]$"#;

/// The properties that make up an object's key, and the pattern the server holds them to.
pub fn key_properties(kind: ObjectKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        ObjectKind::EntryPoint => &[("name", ENTRY_POINT_NAME_PATTERN)],
        ObjectKind::Organization => &[("id", ORGANIZATION_ID_PATTERN)],
        ObjectKind::User | ObjectKind::Credential => &[("id", ID_PATTERN)],
        ObjectKind::Assignment => &[("user", ID_PATTERN), ("role", AOT_NAME_PATTERN)],
        kind if kind.is_deployable() => &[("name", AOT_NAME_PATTERN)],
        _ => &[("name", ID_PATTERN)],
    }
}

/// Adds the key patterns to the derived object schemas (the model types do
/// not know the rules the governance services apply to ids).
fn constrain_keys(components: &mut Components) {
    for c in endpoints::COLLECTIONS {
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(object_schema_name(c.kind)) else { continue };
        for (property, pattern) in key_properties(c.kind) {
            if let Some(RefOr::T(Schema::Object(p))) = object.properties.get_mut(*property) {
                p.pattern = Some((*pattern).to_string());
            }
        }
    }
}

/// The document's description: what holds for every operation, the body limit included.
fn description() -> String {
    format!(
        "User security governance: roles, duties, privileges, entry points, assignments, access checks and the audit trail.\n\n\
         Request bodies are at most {limit} bytes ({mib} MiB); a larger one answers 413. \
         A body must match its schema exactly: unknown fields, values of the wrong type and missing required fields answer 422 naming the field. \
         Updates and deletes of versioned objects (and of the settings) take `If-Match` with the ETag of a GET, or `*` for any current version: \
         428 without it, 412 when the object changed since. Errors are RFC 9457 problem documents.",
        limit = crate::MAX_BODY_BYTES,
        mib = crate::MAX_BODY_BYTES / (1024 * 1024)
    )
}

/// The operation id of an endpoint: `get_api_v1_roles_name`.
fn operation_id(method: &Method, path: &str) -> String {
    format!("{}_{}", method.as_str().to_lowercase(), path.trim_start_matches('/').replace(['/', '{', '}', '-', '.'], "_"))
}

/// A schema that is one of `values`.
fn one_of(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).enum_values(Some(values.iter().copied())).into()
}

/// The error responses an endpoint can give besides `default`, each a problem document.
fn error_responses(e: &endpoints::Endpoint) -> Vec<(u16, &'static str)> {
    let has_body = e.request != Body::None;
    let mut v = Vec::new();
    if has_body || !e.query.is_empty() || e.path.contains('{') {
        v.push((400, "malformed JSON, query or path"));
    }
    match e.guard {
        Guard::Public => {}
        Guard::Authenticated => v.push((401, "not signed in")),
        Guard::Requires(_) => v.extend([(401, "not signed in"), (403, "the caller's roles do not grant this")]),
    }
    if e.path.contains('{') {
        v.push((404, "no such object"));
    }
    if e.method != Method::GET && e.guard != Guard::Public && e.guard != Guard::Authenticated {
        v.push((409, "the change conflicts with the current state (references, segregation of duties, status)"));
    }
    if e.if_match {
        v.extend([(412, "If-Match names a version that is no longer current"), (428, "If-Match is missing")]);
    }
    if has_body {
        v.extend([
            (413, "the body is larger than the limit (see the description of this document)"),
        ]);
        if e.request != Body::Xml {
            v.push((415, "the body is not `application/json`"));
        }
    }
    if has_body || !e.query.is_empty() {
        v.push((422, "the body or a parameter does not match its schema (unknown field, wrong type, ...), or is refused by validation; the problem names the field"));
    }
    v.extend(e.errors.iter().copied());
    v
}

/// Links from a creating operation's answer to the operations on what it
/// created, for clients and for stateful testing (schemathesis): every
/// operation below the creating POST's path that declares a link, its path
/// parameters from the answer's body ([`endpoints::Endpoint::creates`]) and,
/// when it takes `If-Match`, that from the answer's `ETag`. (utoipa's `Link`
/// serializes `operation_id` rather than `operationId`, so links are written
/// as JSON.)
fn links(e: &endpoints::Endpoint, table: &[endpoints::Endpoint]) -> Vec<(String, serde_json::Value)> {
    if e.method != Method::POST || e.creates.is_empty() {
        return Vec::new();
    }
    let below = format!("{}/", e.path);
    let targets = table.iter().filter(|t| t.path.starts_with(&below));
    targets
        .filter_map(|t| {
            let name = t.link.clone()?;
            let mut parameters: serde_json::Map<String, serde_json::Value> = e.creates.iter().map(|(n, v)| (n.to_string(), v.as_str().into())).collect();
            if t.if_match {
                parameters.insert("header.If-Match".into(), "$response.header.ETag".into());
            }
            Some((name, serde_json::json!({ "operationId": operation_id(&t.method, &t.path), "parameters": parameters })))
        })
        .collect()
}

/// The document, built, then finished as JSON: every object schema that
/// lists its properties is closed (`additionalProperties: false`, as
/// [`crate::strict`] enforces), and the settings, which `PUT` replaces whole,
/// require every field.
pub fn build() -> serde_json::Value {
    let table = endpoints::all();
    let mut doc = serde_json::to_value(build_api(&table)).unwrap_or_default();
    for e in &table {
        let links: serde_json::Map<String, serde_json::Value> = links(e, &table).into_iter().collect();
        if !links.is_empty() {
            doc["paths"][&e.path][e.method.as_str().to_lowercase()]["responses"][e.response.0.to_string()]["links"] = links.into();
        }
    }
    close_objects(&mut doc["components"]["schemas"]);
    // Cursors are store sequence numbers (i64); written as an exact integer, which utoipa's f64 bound is not.
    for item in doc["paths"].as_object_mut().into_iter().flat_map(|p| p.values_mut()) {
        for op in item.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
            for p in op.get_mut("parameters").and_then(serde_json::Value::as_array_mut).into_iter().flatten() {
                if matches!(p["name"].as_str(), Some("after_seq" | "after_id")) {
                    p["schema"]["maximum"] = crate::api::MAX_CURSOR.into();
                }
            }
        }
    }
    for name in ["SodSettings", "SessionSettings"] {
        let schema = &mut doc["components"]["schemas"][name];
        let all: Vec<serde_json::Value> = schema["properties"].as_object().map(|p| p.keys().map(|k| k.clone().into()).collect()).unwrap_or_default();
        schema["required"] = all.into();
    }
    doc
}

fn close_objects(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            if m.get("properties").is_some_and(|p| p.is_object()) && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".into(), false.into());
            }
            m.values_mut().for_each(close_objects);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(close_objects),
        _ => {}
    }
}

fn build_api(table: &[endpoints::Endpoint]) -> OpenApi {
    let mut paths = Paths::new();
    for e in table {
        let mut op = OperationBuilder::new()
            .summary(Some(e.summary.clone()))
            .tag(e.tag)
            .operation_id(Some(operation_id(&e.method, &e.path)));
        for segment in e.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                op = op.parameter(ParameterBuilder::new().name(name).parameter_in(ParameterIn::Path).required(Required::True).schema(Some(String::schema())));
            }
        }
        for (name, description, required) in &e.query {
            let component = e.query_schemas.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
            let schema: RefOr<Schema> = match component {
                Some(component) => Ref::from_schema_name(component).into(),
                None => match *name {
                    "limit" => ObjectBuilder::new().schema_type(SchemaType::Type(Type::Integer)).minimum(Some(1)).maximum(Some(crate::api::MAX_PAGE as f64)).into(),
                    "after_seq" | "after_id" => ObjectBuilder::new().schema_type(SchemaType::Type(Type::Integer)).minimum(Some(0)).into(),
                    "object" => ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).pattern(Some("^[a-z_]+/.+$")).into(),
                    "at" | "since" => ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::String))
                        .description(Some("an RFC 3339 instant or a date (YYYY-MM-DD)"))
                        .pattern(Some(AT_PATTERN))
                        .into(),
                    "changes" => bool::schema(),
                    "status" => one_of(&["unresolved", "allowed"]),
                    "format" => one_of(&["jsonl", "ndjson", "html"]),
                    "level" => ObjectBuilder::new().schema_type(SchemaType::Type(Type::Integer)).minimum(Some(1)).maximum(Some(100)).into(),
                    "access" => Ref::from_schema_name("AccessName").into(),
                    _ => String::schema(),
                },
            };
            op = op.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .description(Some(*description))
                    .required(if *required { Required::True } else { Required::False })
                    .schema(Some(schema)),
            );
        }
        if e.if_match {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("If-Match")
                    .parameter_in(ParameterIn::Header)
                    .description(Some("the version (ETag) the change is based on, or `*` for whatever version is current (RFC 9110); a stale one answers 412, none 428"))
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).pattern(Some(r#"^(\*|(W/)?"?[0-9]+"?)$"#)))),
            );
        }
        if e.method == Method::POST {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .description(Some(
                        "a unique key per request (a UUID): a retry with the same key within 24 hours gets the first answer \
                         (marked `Idempotent-Replayed: true`) instead of writing again; the same key on another request answers 422, \
                         a retry while the first is unfinished 409; answers holding a secret are not kept (409 on retry); see the README",
                    ))
                    .required(Required::False)
                    .schema(Some(ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).min_length(Some(1)).max_length(Some(crate::idempotency::MAX_KEY_LEN)).pattern(Some(r#"^"?[!#-\[\]-~]+"?$"#)))),
            );
        }
        let request = body_content(e.request);
        if !request.is_empty() {
            let required = if e.body_optional { Required::False } else { Required::True };
            let mut body = RequestBodyBuilder::new().required(Some(required));
            for (content_type, schema) in request {
                body = body.content(content_type, ContentBuilder::new().schema(Some(schema)).build());
            }
            op = op.request_body(Some(body.build()));
        }
        let (status, body) = e.response;
        let mut ok = ResponseBuilder::new().description("success");
        for (content_type, schema) in body_content(body) {
            ok = ok.content(content_type, ContentBuilder::new().schema(Some(schema)).build());
        }
        op = op.response(status.to_string(), ok.build());
        for (code, description) in error_responses(e) {
            let problem = ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build());
            op = op.response(code.to_string(), problem.build());
        }
        op = op.response(
            "default",
            ResponseBuilder::new()
                .description("an error, as RFC 9457 problem details")
                .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
                .build(),
        );
        if e.guard != Guard::Public {
            op = op.securities(Some([SecurityRequirement::new("bearer", Vec::<String>::new()), SecurityRequirement::new("session", Vec::<String>::new())]));
        }
        paths.add_path_operation(e.path.clone(), vec![http_method(&e.method)], op.build());
    }
    let mut components = object_components(ComponentsBuilder::new())
        .schema_from::<Problem>()
        .schema_from::<Health>()
        .schema_from::<LoginRequest>()
        .schema_from::<SessionInfo>()
        .schema_from::<Me>()
        .schema_from::<AccessName>()
        .schema_from::<DecisionName>()
        .schema_from::<CheckRequest>()
        .schema_from::<CheckResponse>()
        .schema_from::<BatchItemRequest>()
        .schema_from::<BatchCheckRequest>()
        .schema_from::<BatchItemResponse>()
        .schema_from::<BatchCheckResponse>()
        .schema_from::<PermissionRow>()
        .schema_from::<PermissionsResponse>()
        .schema("Explanation", object_schema("every path that grants or denies the access, and the state of each assignment"))
        .schema_from::<AuditPage>()
        .schema_from::<AuditAnchorBody>()
        .schema_from::<VerifyRequest>()
        .schema_from::<VerifyResponse>()
        .schema_from::<SessionEvent>()
        .schema_from::<EventAccepted>()
        .schema_from::<EventPage>()
        .schema_from::<TokenInfo>()
        .schema_from::<TokenList>()
        .schema_from::<NewToken>()
        .schema_from::<RotateToken>()
        .schema_from::<IssuedToken>()
        .schema_from::<SetPassword>()
        .schema_from::<StoredObject>()
        .schema_from::<ObjectLayers>()
        .schema_from::<Customization>()
        .schema_from::<CustomizationList>()
        .schema_from::<ObjectName>()
        .schema_from::<RemoveCustomizations>()
        .schema_from::<CustomizationsRemoved>()
        .schema_from::<SecurityConfigImported>()
        .schema_from::<ObjectPage>()
        .schema_from::<crate::sod_api::ConflictList>()
        .schema_from::<crate::sod_api::SodVerifyResponse>()
        .schema_from::<crate::sod_api::RoleViolations>()
        .schema_from::<crate::sod_api::RolesViolating>()
        .schema_from::<crate::sod_api::RuleValidation>()
        .schema_from::<crate::sod_api::ResolveRequest>()
        .schema_from::<crate::sod_api::Revision>()
        .schema_from::<crate::sod_api::AssignRequest>()
        .schema_from::<crate::sod_api::AssignResponse>()
        .schema_from::<crate::sod_api::SimilarPairDto>()
        .schema_from::<crate::sod_api::SimilarityReport>()
        .schema_from::<crate::dmf_api::DmfImportRequest>()
        .schema_from::<crate::dmf_api::DmfFileBody>()
        .schema_from::<crate::dmf_api::DmfImportResponse>()
        .schema_from::<crate::dmf_api::DmfFileReadDto>()
        .schema_from::<crate::dmf_api::DmfCounts>()
        .schema_from::<crate::dmf_api::DmfFormatName>()
        .schema_from::<crate::webhook_api::WebhookList>()
        .schema_from::<crate::webhook_api::NewWebhook>()
        .schema_from::<crate::webhook_api::WebhookSecret>()
        .schema_from::<crate::webhook_api::DeliveryList>()
        .schema_from::<crate::sessions_api::TempSessionList>()
        .schema_from::<crate::sessions_api::PrivilegedSessionList>()
        .schema_from::<crate::sessions_api::TempSessionResponse>()
        .schema_from::<crate::sessions_api::PrivilegedSessionResponse>()
        .schema_from::<crate::sessions_api::ApproveRequest>()
        .schema_from::<crate::sessions_api::NoteRequest>()
        .schema_from::<crate::sessions_api::ProcessResponse>()
        .schema_from::<crate::sessions_api::SessionLogResponse>()
        .security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)))
        .security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))))
        .build();
    constrain_keys(&mut components);
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Warden")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(description()))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn document_is_openapi_3_1_with_every_endpoint() {
        let doc = serde_json::to_value(super::build()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        if let Ok(path) = std::env::var("WARDEN_DUMP_OPENAPI") {
            std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        }
        for e in crate::endpoints::all() {
            let method = e.method.as_str().to_lowercase();
            let op = &doc["paths"][&e.path][&method];
            assert!(op.is_object(), "{} {} is not documented", e.method, e.path);
            assert!(op.get("parameters").is_none_or(serde_json::Value::is_array), "{} {}: parameters {}", e.method, e.path, op["parameters"]);
        }
    }

    /// Every link names an operation of the document, sets only parameters
    /// that operation has, and takes them from fields the answer has.
    #[test]
    fn links_lead_to_operations_with_those_parameters() {
        let doc = super::build();
        let mut operations = std::collections::HashMap::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations.insert(op["operationId"].as_str().unwrap().to_string(), (path.clone(), method.clone(), op.clone()));
            }
        }
        let mut count = 0;
        for (path, method, op) in operations.values() {
            for (status, response) in op["responses"].as_object().unwrap() {
                for (name, link) in response["links"].as_object().into_iter().flatten() {
                    count += 1;
                    let target = link["operationId"].as_str().unwrap();
                    let (_, _, target_op) = operations.get(target).unwrap_or_else(|| panic!("{method} {path} {status} link {name}: no operation {target}"));
                    let params: Vec<(String, String)> = target_op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| (p["in"].as_str().unwrap().to_string(), p["name"].as_str().unwrap().to_string()))
                        .collect();
                    for (param, value) in link["parameters"].as_object().unwrap() {
                        let (place, pname) = param.split_once('.').unwrap_or(("path", param));
                        assert!(params.iter().any(|(i, n)| i == place && n == pname), "{name}: {target} has no {place} parameter {pname}");
                        let value = value.as_str().unwrap();
                        assert!(value.starts_with("$response.body#/") || value == "$response.header.ETag", "{name}: {value}");
                    }
                }
            }
        }
        assert!(count >= 40, "only {count} links");
    }

    use crate::endpoints::{Body, COLLECTIONS};
    use serde_json::{json, Value};
    use warden_model::{Object, ObjectKind};

    /// One object of each collection kind with every field set, as a client would send it.
    fn full_sample(kind: ObjectKind) -> Value {
        match kind {
            ObjectKind::EntryPoint => json!({
                "kind": "MenuItemDisplay", "name": "CustTable", "label": "Customers", "help_text": "All customers",
                "object": "CustTable", "object_type": "Form", "view_licence": "Universal", "maintain_licence": "Enterprise", "model": "ApplicationSuite",
                "unmodelled": [{"within": "EntryPoints", "after": "Name", "element": {"name": "Tags", "attributes": [{"name": "i:type", "value": "t"}], "text": "x", "children": [{"name": "A"}]}}]
            }),
            ObjectKind::Privilege => json!({
                "name": "CustTableView", "label": "View customers", "description": "d", "model": "ApplicationSuite",
                "entry_points": [{"name": "CustTable", "kind": "MenuItemDisplay", "object": "CustTable", "child": "Grid", "grant": {"allow": 1, "deny": 0}, "unmodelled": [{"within": "EntryPoints", "after": "Name", "element": {"name": "Tags", "attributes": [{"name": "i:type", "value": "t"}], "text": "x", "children": [{"name": "A"}]}}]}],
                "direct_access": [{"table": "CustTable", "grant": {"allow": 1, "deny": 16}, "unmodelled": [{"within": "EntryPoints", "after": "Name", "element": {"name": "Tags", "attributes": [{"name": "i:type", "value": "t"}], "text": "x", "children": [{"name": "A"}]}}]}],
                "unmodelled": [{"within": "EntryPoints", "after": "Name", "element": {"name": "Tags", "attributes": [{"name": "i:type", "value": "t"}], "text": "x", "children": [{"name": "A"}]}}]
            }),
            ObjectKind::Duty => json!({"name": "CustView", "label": "l", "description": "d", "model": "m", "privileges": ["CustTableView"], "unmodelled": [{"within": "EntryPoints", "after": "Name", "element": {"name": "Tags", "attributes": [{"name": "i:type", "value": "t"}], "text": "x", "children": [{"name": "A"}]}}]}),
            ObjectKind::Role => json!({
                "name": "Clerk", "label": "l", "description": "d", "model": "m", "duties": ["CustView"], "privileges": ["CustTableView"], "sub_roles": ["Base"], "unmodelled": [{"within": "EntryPoints", "after": "Name", "element": {"name": "Tags", "attributes": [{"name": "i:type", "value": "t"}], "text": "x", "children": [{"name": "A"}]}}]
            }),
            ObjectKind::RoleExtension => json!({"name": "Clerk.Ext", "target": "Clerk", "model": "m", "duties": ["D"], "privileges": ["P"], "sub_roles": ["S"], "unmodelled": [{"within": "EntryPoints", "after": "Name", "element": {"name": "Tags", "attributes": [{"name": "i:type", "value": "t"}], "text": "x", "children": [{"name": "A"}]}}]}),
            ObjectKind::DutyExtension => json!({"name": "CustView.Ext", "target": "CustView", "model": "m", "privileges": ["P"], "unmodelled": [{"within": "EntryPoints", "after": "Name", "element": {"name": "Tags", "attributes": [{"name": "i:type", "value": "t"}], "text": "x", "children": [{"name": "A"}]}}]}),
            ObjectKind::Policy => json!({
                "name": "CustGroupPolicy", "label": "l", "description": "d", "model": "m", "primary_table": "CustGroup", "query": "CustGroupQuery",
                "context_type": "RoleName", "context_string": "c", "role_name": "Clerk", "constrained_tables": ["CustTable"], "operation": "Select", "enabled": true,
                "unmodelled": [{"within": "EntryPoints", "after": "Name", "element": {"name": "Tags", "attributes": [{"name": "i:type", "value": "t"}], "text": "x", "children": [{"name": "A"}]}}]
            }),
            ObjectKind::Organization => json!({"id": "USMF", "name": "Contoso Entertainment USA"}),
            ObjectKind::User => json!({
                "id": "alice", "name": "Alice", "kind": "service_account", "enabled": true, "email": "alice@example.com",
                "attributes": {"department": "Finance"}
            }),
            ObjectKind::Assignment => json!({
                "user": "alice", "role": "Clerk", "organizations": ["USMF"], "valid_from": "2026-01-01T00:00:00Z", "valid_to": "2027-01-01T00:00:00Z",
                "rule": "FinanceClerks"
            }),
            ObjectKind::AssignmentRule => json!({
                "name": "FinanceClerks", "role": "Clerk", "description": "d",
                "conditions": [{"attribute": "department", "op": "equals", "values": ["Finance"]}],
                "organizations": ["USMF"], "excluded_users": ["bob"], "enabled": true
            }),
            ObjectKind::SodRule => json!({
                "name": "VendorVsPayment", "severity": "critical", "risk": "r", "mitigation": "m",
                "first": {"kind": "duty", "duty": "VendTableMaintain"},
                "second": {"kind": "entry_point", "entry_point": {"kind": "MenuItemAction", "name": "VendInvoiceApprove"}, "access": "Invoke"},
                "valid_from": "2026-01-01T00:00:00Z", "valid_to": "2027-01-01T00:00:00Z", "enabled": true
            }),
            ObjectKind::Credential
            | ObjectKind::SodConflict
            | ObjectKind::SodSettings
            | ObjectKind::Webhook
            | ObjectKind::TempRoleSession
            | ObjectKind::PrivilegedSession
            | ObjectKind::SessionSettings => {
                unreachable!("{kind} is never a collection's request body")
            }
        }
    }

    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(r) => resolve(doc, &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")]),
            None => schema,
        }
    }

    /// A small JSON Schema check (type, enum, properties, required, items,
    /// oneOf/anyOf/allOf, minimum/maximum): enough for the model's schemas.
    fn validate(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = resolve(doc, schema);
        assert!(!schema.is_null(), "{at}: unresolved schema reference");
        for key in ["oneOf", "anyOf"] {
            if let Some(alts) = schema[key].as_array()
                && !alts.iter().any(|a| validate(doc, a, value, at).is_ok()) {
                    return Err(format!("{at}: {value} matches no alternative of {schema}"));
                }
        }
        if let Some(all) = schema["allOf"].as_array() {
            for a in all {
                validate(doc, a, value, at)?;
            }
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let type_ok = |t: &str| match t {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            "null" => value.is_null(),
            _ => false,
        };
        if !types.is_empty() && !types.iter().any(|t| type_ok(t)) {
            return Err(format!("{at}: {value} is not of type {types:?}"));
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value) {
                return Err(format!("{at}: {value} is not one of {allowed:?}"));
            }
        if let (Some(n), Some(min)) = (value.as_f64(), schema["minimum"].as_f64())
            && n < min {
                return Err(format!("{at}: {n} < minimum {min}"));
            }
        if let (Some(n), Some(max)) = (value.as_f64(), schema["maximum"].as_f64())
            && n > max {
                return Err(format!("{at}: {n} > maximum {max}"));
            }
        if let Some(obj) = value.as_object() {
            for r in schema["required"].as_array().into_iter().flatten() {
                if !obj.contains_key(r.as_str().unwrap()) {
                    return Err(format!("{at}: required property {r} is missing"));
                }
            }
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in obj {
                    let Some(p) = props.get(k) else { return Err(format!("{at}: property {k} is not in the schema")) };
                    validate(doc, p, v, &format!("{at}.{k}"))?;
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
            for (i, v) in arr.iter().enumerate() {
                validate(doc, items, v, &format!("{at}[{i}]"))?;
            }
        }
        Ok(())
    }

    /// Every request body that carries a stored object names the component of
    /// its kind, and that component is the serde shape the server parses:
    /// a full sample validates against it and is accepted; a property is
    /// `required` exactly when the server refuses the sample without it; the
    /// sample with only the required properties is accepted.
    #[test]
    fn object_bodies_have_the_schema_the_server_parses() {
        let doc = serde_json::to_value(super::build()).unwrap();
        let mut kinds = Vec::new();
        for e in crate::endpoints::all() {
            let Body::Object(kind) = e.request else { continue };
            kinds.push(kind);
            let method = e.method.as_str().to_lowercase();
            let body = &doc["paths"][&e.path][&method]["requestBody"]["content"]["application/json"]["schema"];
            assert_eq!(body["$ref"], format!("#/components/schemas/{}", super::object_schema_name(kind)), "{} {}", e.method, e.path);
        }
        for c in COLLECTIONS {
            assert!(kinds.contains(&c.kind), "no body of kind {}", c.kind);
        }
        assert!(!kinds.contains(&ObjectKind::Credential));
        for c in COLLECTIONS {
            let name = super::object_schema_name(c.kind);
            let schema = &doc["components"]["schemas"][name];
            assert_eq!(schema["type"], "object", "{name}: {schema}");
            let props = schema["properties"].as_object().unwrap_or_else(|| panic!("{name} has no properties"));
            let required: Vec<&str> = schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let sample = full_sample(c.kind);
            Object::from_body(c.kind, sample.clone()).unwrap_or_else(|e| panic!("{name} sample refused: {e}"));
            validate(&doc, schema, &sample, name).unwrap();
            for p in props.keys() {
                assert!(sample.get(p).is_some(), "{name}.{p} is in the schema but not in the test's sample");
                let mut without = sample.clone();
                without.as_object_mut().unwrap().remove(p);
                let accepted = Object::from_body(c.kind, without).is_ok();
                assert_eq!(accepted, !required.contains(&p.as_str()), "{name}.{p}: required in the schema = {}, but the server {} it missing", required.contains(&p.as_str()), if accepted { "accepts" } else { "refuses" });
            }
            let minimal: serde_json::Map<String, Value> = sample.as_object().unwrap().iter().filter(|(k, _)| required.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
            let minimal = Value::Object(minimal);
            Object::from_body(c.kind, minimal.clone()).unwrap_or_else(|e| panic!("{name} with only its required properties {minimal} refused: {e}"));
            // What the server stores and returns validates too (Options left out, defaults written).
            let stored = Object::from_body(c.kind, minimal).unwrap().to_body();
            validate(&doc, schema, &stored, name).unwrap();
        }
    }

    /// The key patterns say what the core services' id check says: accepted
    /// ids match, refused ones do not.
    #[test]
    fn key_patterns_match_the_ids_the_server_accepts() {
        let doc = serde_json::to_value(super::build()).unwrap();
        let ok = ["a", "Clerk", "a b", "Rôle-1.x", "日本"];
        let refused = ["", " a", "a ", "\t", "a\u{7}b", "a\nb", "a\u{85}"];
        for c in COLLECTIONS {
            let schema = &doc["components"]["schemas"][super::object_schema_name(c.kind)];
            for (property, _) in super::key_properties(c.kind) {
                let pattern = schema["properties"][property]["pattern"].as_str().unwrap_or_else(|| panic!("{}.{property} has no pattern", c.kind));
                let re = regex::Regex::new(pattern).unwrap();
                for id in ok {
                    assert!(re.is_match(id), "{}.{property}: {id:?} should match {pattern}", c.kind);
                }
                for id in refused {
                    // An entry point's name may start with white space: its key is TYPE/NAME.
                    if c.kind == ObjectKind::EntryPoint && id == " a" {
                        continue;
                    }
                    assert!(!re.is_match(id), "{}.{property}: {id:?} should not match {pattern}", c.kind);
                }
                assert_eq!(re.is_match("a;b"), c.kind != ObjectKind::Organization, "{}.{property}", c.kind);
                // Security object names are AOT file names; user ids and rule names are not.
                let kind = match (c.kind, *property) {
                    (ObjectKind::Assignment, "user") => ObjectKind::User,
                    (ObjectKind::Assignment, _) => ObjectKind::Role,
                    (kind, _) => kind,
                };
                for id in ["ka/kb", "a\\b", "a:b", "a*b", "a?b", "a\"b", "a<b", "a>b", "a|b"] {
                    assert_eq!(re.is_match(id), warden_model::validate_id(kind, id).is_ok(), "{}.{property}: {id:?} against {pattern}", c.kind);
                    assert_eq!(re.is_match(id), !kind.is_deployable(), "{}.{property}: {id:?}", c.kind);
                }
            }
        }
    }

    /// The `at`/`since` pattern admits what `Timestamp::parse` reads.
    #[test]
    fn instant_pattern_matches_what_the_server_parses() {
        let re = regex::Regex::new(super::AT_PATTERN).unwrap();
        for ok in ["2026-01-31", "2026-01-31T08:00:00Z", "2026-01-31t08:00:00.123+02:00", "0001-12-01T23:59:59-05:30"] {
            assert!(re.is_match(ok), "{ok}");
            assert!(warden_model::Timestamp::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["0000-00-00", "2026-13-01", "2026-01-31T08:00Z", "2026-01-31 08:00:00Z", "2026-01-31T24:00:00Z", "2026-01-31T08:00:00"] {
            assert!(!re.is_match(bad), "{bad}");
        }
    }
}
