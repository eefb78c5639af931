//! D365's data-management entities over HTTP: import users, role assignments
//! and organization scopes from entity files in one request, and read each
//! entity back as the file D365 imports ([`warden_core::dmf`]).

use crate::builtin::Area;
use crate::endpoints::{ep, needs, Body, Endpoint};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use crate::Caller;
use axum::extract::{Path, Query, State};
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warden_core::dmf::{DmfEntity, DmfFormat, DmfInput};
use warden_model::Access;

pub fn endpoints() -> Vec<Endpoint> {
    let tag = "d365 data management";
    vec![
        ep(
            Method::POST,
            "/api/v1/dmf/import",
            needs(Area::Assignments, Access::Create),
            tag,
            "Import users, role assignments and organization scopes from D365 data-management entity files (CSV or XML), all or nothing; a segregation-of-duties conflict is refused (409) unless override_reason is given",
            Body::Schema("DmfImportRequest"),
            (200, Body::Schema("DmfImportResponse")),
            import,
        ),
        ep(
            Method::GET,
            "/api/v1/dmf/{entity}",
            needs(Area::Assignments, Access::Read),
            tag,
            "One entity (users, user-roles or user-role-organizations) as the file D365's data management imports, UTF-8: text/csv (format=csv, the default) or application/xml (format=xml). The x-warden-records header counts its records, x-warden-warnings what the entity cannot hold (validity windows; see the command line's export for the list)",
            Body::None,
            (200, Body::Texts(&["text/csv", "application/xml"])),
            export,
        )
        .with_query(vec![("format", "csv (default) or xml", false)])
        .query_schema("format", "DmfFormatName"),
    ]
}

/// How an entity file is written. Only its schema is used (the query's
/// values are read as text and named in the refusal of a wrong one).
#[allow(dead_code)]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DmfFormatName {
    Csv,
    Xml,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DmfImportRequest {
    /// The entity files; each one's entity is told from its content.
    pub files: Vec<DmfFileBody>,
    /// Allows the segregation-of-duties conflicts the import creates, recorded in the register with this reason.
    #[serde(default)]
    pub override_reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DmfFileBody {
    /// How problems name the file, e.g. `Security user role association.csv`.
    pub name: String,
    /// The file's text: CSV with its header, or DMF's XML.
    pub content: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DmfImportResponse {
    pub files: Vec<DmfFileReadDto>,
    pub organizations: DmfCounts,
    pub users: DmfCounts,
    pub assignments: DmfCounts,
    /// What was read but not imported, and why.
    pub warnings: Vec<String>,
    /// False when everything was stored as read: nothing was written.
    pub changed: bool,
    pub revision: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DmfFileReadDto {
    pub file: String,
    /// users, user-roles or user-role-organizations
    pub entity: String,
    /// csv or xml
    pub format: String,
    pub records: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DmfCounts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl From<warden_core::dmf::Counts> for DmfCounts {
    fn from(c: warden_core::dmf::Counts) -> DmfCounts {
        DmfCounts { added: c.added, updated: c.updated, unchanged: c.unchanged }
    }
}

async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<crate::problem::JsonObject<DmfImportRequest>, ApiError>,
) -> ApiResult<Json<DmfImportResponse>> {
    let crate::problem::JsonObject(req) = body?;
    let p = caller.principal()?;
    let inputs = req.files.into_iter().map(|f| DmfInput { name: f.name, data: f.content.into_bytes(), optional: false }).collect();
    let out = state.warden(&p.actor(), &caller.origin).import_dmf_data(inputs, None, req.override_reason.as_deref()).await?;
    Ok(Json(DmfImportResponse {
        files: out
            .files
            .into_iter()
            .map(|f| DmfFileReadDto {
                file: f.file,
                entity: f.entity.as_str().to_string(),
                format: f.format.extension().to_string(),
                records: f.records,
            })
            .collect(),
        organizations: out.organizations.into(),
        users: out.users.into(),
        assignments: out.assignments.into(),
        warnings: out.warnings,
        changed: out.changed,
        revision: out.revision,
    }))
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(entity): Path<String>,
    q: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q?;
    let entity: DmfEntity = entity.parse().map_err(ApiError::not_found)?;
    let format: DmfFormat = q.format.as_deref().unwrap_or("csv").parse().map_err(ApiError::bad_request)?;
    let p = caller.principal()?;
    let (bytes, records, warnings, revision) = state.warden(&p.actor(), &caller.origin).dmf_entity(entity, format).await?;
    let content_type = match format {
        DmfFormat::Csv => "text/csv",
        DmfFormat::Xml => "application/xml",
    };
    let file = format!("{}.{}", entity.file_stem(), format.extension());
    // What D365's entity cannot hold (validity windows) travels in headers: the body is the file itself.
    let mut response = ([(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\""))], bytes).into_response();
    let headers = response.headers_mut();
    headers.insert("x-warden-records", records.into());
    headers.insert("x-warden-revision", revision.into());
    headers.insert("x-warden-warnings", warnings.len().into());
    Ok(response)
}
