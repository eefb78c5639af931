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
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required, ResponseBuilder, Schema,
};
use utoipa::PartialSchema;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| serde_json::to_string(&build()).unwrap_or_default());

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

fn body_content(body: Body) -> Option<(String, RefOr<Schema>)> {
    match body {
        Body::None => None,
        Body::Schema("OpenApiDocument") => Some(("application/json".into(), object_schema("an OpenAPI 3.1 document"))),
        Body::Schema(name) => Some(("application/json".into(), Ref::from_schema_name(name).into())),
        Body::Object(kind) => Some((
            "application/json".into(),
            object_schema(&format!("a {kind} as Warden stores it (the `object` of a GET of one {kind})")),
        )),
        Body::Text => Some(("text/plain".into(), String::schema())),
    }
}

pub fn build() -> OpenApi {
    let mut paths = Paths::new();
    for e in endpoints::all() {
        let mut op = OperationBuilder::new()
            .summary(Some(e.summary.clone()))
            .tag(e.tag)
            .operation_id(Some(format!("{}_{}", e.method.as_str().to_lowercase(), e.path.trim_start_matches('/').replace(['/', '{', '}', '-', '.'], "_"))));
        for segment in e.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                op = op.parameter(ParameterBuilder::new().name(name).parameter_in(ParameterIn::Path).required(Required::True).schema(Some(String::schema())));
            }
        }
        for (name, description, required) in &e.query {
            let schema: RefOr<Schema> = match *name {
                "limit" => ObjectBuilder::new().schema_type(SchemaType::Type(Type::Integer)).minimum(Some(1)).maximum(Some(crate::api::MAX_PAGE as f64)).into(),
                "after_seq" | "after_id" => ObjectBuilder::new().schema_type(SchemaType::Type(Type::Integer)).minimum(Some(0)).into(),
                "object" => ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).pattern(Some("^[a-z_]+/.+$")).into(),
                "at" | "since" => ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .description(Some("an RFC 3339 instant or a date (YYYY-MM-DD)"))
                    .pattern(Some(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$"))
                    .into(),
                "changes" => bool::schema(),
                "access" => Ref::from_schema_name("AccessName").into(),
                _ => String::schema(),
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
                    .description(Some("the object's version (ETag); a stale one answers 412"))
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).pattern(Some(r#"^(W/)?"?[0-9]+"?$"#)))),
            );
        }
        if let Some((content_type, schema)) = body_content(e.request) {
            let required = if e.body_optional { Required::False } else { Required::True };
            op = op.request_body(Some(
                RequestBodyBuilder::new().content(content_type, ContentBuilder::new().schema(Some(schema)).build()).required(Some(required)).build(),
            ));
        }
        let (status, body) = e.response;
        let mut ok = ResponseBuilder::new().description("success");
        if let Some((content_type, schema)) = body_content(body) {
            ok = ok.content(content_type, ContentBuilder::new().schema(Some(schema)).build());
        }
        op = op.response(status.to_string(), ok.build()).response(
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
    let components = ComponentsBuilder::new()
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
        .schema_from::<ObjectPage>()
        .security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)))
        .security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))))
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Warden")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("User security governance: roles, duties, privileges, entry points, assignments, access checks and the audit trail."))
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
        for e in crate::endpoints::all() {
            let method = e.method.as_str().to_lowercase();
            assert!(doc["paths"][&e.path][&method].is_object(), "{} {} is not documented", e.method, e.path);
        }
    }
}
