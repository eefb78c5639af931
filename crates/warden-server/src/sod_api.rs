//! The segregation-of-duties API: the conflicts register, verification,
//! decisions, the roles report, rule validation, and assigning a role with a
//! reason for override. (Rules themselves are the `sod/rules` collection.)

use crate::builtin::Area;
use crate::endpoints::{ep, needs, Body, Endpoint};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use crate::Caller;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warden_model::{Access, Assignment, ConflictStatus, Object, ObjectKind, ObjectRef, SodConflict, SodRule, SodSettings};

/// The SoD endpoints, for the endpoint table.
pub fn endpoints() -> Vec<Endpoint> {
    use Body::Schema;
    let area = Area::SegregationOfDuties;
    let tag = "segregation of duties";
    // Paths with more than one method, written once.
    let settings_path = "/api/v1/sod/settings";
    vec![
        ep(Method::GET, "/api/v1/sod/conflicts", needs(area, Access::Read), tag, "The conflicts register: unresolved and allowed conflicts", Body::None, (200, Schema("ConflictList")), conflicts).with_query(vec![
            ("status", "unresolved or allowed", false),
            ("user", "only this user's conflicts", false),
            ("rule", "only this rule's conflicts", false),
        ]),
        ep(Method::POST, "/api/v1/sod/verify", needs(area, Access::Invoke), tag, "Verify every user against every rule; new conflicts are recorded as unresolved", Body::None, (200, Schema("SodVerifyResponse")), verify),
        ep(Method::GET, "/api/v1/sod/roles", needs(area, Access::Read), tag, "Roles that break a rule by themselves, with the rules", Body::None, (200, Schema("RolesViolating")), roles),
        // Linked from the creation of a rule (the `sod/rules` collection).
        ep(Method::GET, "/api/v1/sod/rules/{name}/validate", needs(area, Access::Read), tag, "The roles that break one rule by themselves", Body::None, (200, Schema("RuleValidation")), validate).linked_as("validate_rule"),
        ep(
            Method::POST,
            "/api/v1/sod/conflicts/{user}/{rule}/resolve",
            needs(area, Access::Invoke),
            tag,
            "Allow a conflict with a reason for override, or deny it (the user is excluded from the assignment rules that gave the roles)",
            Schema("ResolveRequest"),
            (200, Schema("Revision")),
            resolve,
        ),
        ep(Method::GET, settings_path, needs(area, Access::Read), tag, "The SoD parameters (similarity checking)", Body::None, (200, Schema("SodSettings")), settings),
        ep(Method::PUT, settings_path, needs(area, Access::Update), tag, "Replace the SoD parameters (every field); If-Match: their version", Schema("SodSettings"), (200, Schema("SodSettings")), set_settings).if_match(),
        ep(Method::GET, "/api/v1/sod/similarity", needs(area, Access::Read), tag, "Pairs of duties and of privileges that overlap at or above a level", Body::None, (200, Schema("SimilarityReport")), similarity)
            .with_query(vec![("level", "percent of overlap, 1-100 (default: the settings' level)", false)]),
        ep(
            Method::POST,
            "/api/v1/users/{id}/assign",
            needs(Area::Assignments, Access::Create),
            "objects",
            "Assign a role; a segregation-of-duties conflict is refused (409) unless override_reason is given",
            Schema("AssignRequest"),
            (200, Schema("AssignResponse")),
            assign,
        ),
    ]
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictList {
    pub items: Vec<SodConflict>,
    pub total: usize,
}

#[derive(Debug, Deserialize)]
pub struct ConflictQuery {
    status: Option<String>,
    user: Option<String>,
    rule: Option<String>,
}

async fn conflicts(Extension(caller): Extension<Caller>, q: Result<Query<ConflictQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<ConflictList>> {
    let Query(q) = q?;
    let status = match q.status.as_deref() {
        None => None,
        Some("unresolved") => Some(ConflictStatus::Unresolved),
        Some("allowed") => Some(ConflictStatus::Allowed),
        Some(other) => return Err(ApiError::unprocessable(format!("status: '{other}' is not unresolved or allowed"))),
    };
    let items: Vec<SodConflict> = caller
        .snapshot
        .model
        .sod_conflicts
        .values()
        .filter(|c| status.is_none_or(|s| c.status == s))
        .filter(|c| q.user.as_deref().is_none_or(|u| c.user.eq_ignore_ascii_case(u)))
        .filter(|c| q.rule.as_deref().is_none_or(|r| c.rule.eq_ignore_ascii_case(r)))
        .cloned()
        .collect();
    Ok(Json(ConflictList { total: items.len(), items }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SodVerifyResponse {
    pub users: usize,
    pub rules: usize,
    pub conflicts: usize,
    pub new_unresolved: Vec<String>,
    pub no_longer_conflicting: Vec<String>,
    pub revision: u64,
}

async fn verify(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Json<SodVerifyResponse>> {
    let p = caller.principal()?;
    let o = state.warden(&p.actor(), &caller.origin).sod_verify(caller.now).await?;
    Ok(Json(SodVerifyResponse {
        users: o.users,
        rules: o.rules,
        conflicts: o.conflicts,
        new_unresolved: o.new_unresolved,
        no_longer_conflicting: o.no_longer_conflicting,
        revision: o.revision,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleViolations {
    pub role: String,
    pub label: Option<String>,
    pub violations: usize,
    pub rules: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RolesViolating {
    pub roles: Vec<RoleViolations>,
}

async fn roles(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Json<RolesViolating>> {
    let p = caller.principal()?;
    let list = state.warden(&p.actor(), &caller.origin).sod_roles(caller.now).await?;
    let roles = list.into_iter().map(|r| RoleViolations { role: r.role, label: r.label, violations: r.violations, rules: r.rules }).collect();
    Ok(Json(RolesViolating { roles }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleValidation {
    pub rule: SodRule,
    pub roles: Vec<String>,
}

async fn validate(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(name): Path<String>) -> ApiResult<Json<RuleValidation>> {
    let p = caller.principal()?;
    let (rule, roles) = state.warden(&p.actor(), &caller.origin).sod_validate(&name, caller.now).await?;
    Ok(Json(RuleValidation { rule, roles }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// `allow` (with a reason) or `deny`.
    #[schema(pattern = "^(allow|deny)$")]
    pub decision: String,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Revision {
    pub revision: u64,
}

async fn resolve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((user, rule)): Path<(String, String)>,
    body: Result<crate::problem::JsonObject<ResolveRequest>, crate::problem::ApiError>,
) -> ApiResult<Json<Revision>> {
    let crate::problem::JsonObject(req) = body?;
    let p = caller.principal()?;
    let resolution = match req.decision.as_str() {
        "allow" => warden_core::Resolution::Allow { reason: req.reason.unwrap_or_default() },
        "deny" => warden_core::Resolution::Deny,
        other => return Err(ApiError::unprocessable(format!("decision: '{other}' is not allow or deny"))),
    };
    let out = state.warden(&p.actor(), &caller.origin).sod_resolve(&SodConflict::key_of(&user, &rule), resolution, caller.now).await?;
    Ok(Json(Revision { revision: out.revision }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub role: String,
    /// Empty: global.
    #[serde(default)]
    pub organizations: Vec<String>,
    /// RFC 3339 instant or date.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$")]
    pub valid_from: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$")]
    pub valid_to: Option<String>,
    /// Allows the segregation-of-duties conflicts this creates, recorded in the register with this reason.
    #[serde(default)]
    pub override_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignResponse {
    pub assignment: Assignment,
    pub replaced: Option<Assignment>,
    pub notes: Vec<String>,
    pub revision: u64,
}

async fn assign(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user): Path<String>,
    body: Result<crate::problem::JsonObject<AssignRequest>, crate::problem::ApiError>,
) -> ApiResult<Json<AssignResponse>> {
    let crate::problem::JsonObject(req) = body?;
    let p = caller.principal()?;
    let time = |field: &str, t: Option<String>| {
        t.map(|t| warden_core::parse_time(&t, caller.now).map_err(|e| ApiError::unprocessable(format!("{field}: {e}")))).transpose()
    };
    let (from, to) = (time("valid_from", req.valid_from)?, time("valid_to", req.valid_to)?);
    let out = state
        .warden(&p.actor(), &caller.origin)
        .assign_with_override(&user, &req.role, &req.organizations, from, to, caller.now, req.override_reason.as_deref())
        .await?;
    Ok(Json(AssignResponse { assignment: out.assignment, replaced: out.replaced, notes: out.notes, revision: out.revision }))
}

fn settings_key() -> ObjectRef {
    ObjectRef::new(ObjectKind::SodSettings, warden_model::SOD_SETTINGS_KEY)
}

async fn stored_settings(state: &AppState) -> ApiResult<(SodSettings, u64)> {
    let (object, version) = crate::api::singleton(state, &settings_key()).await?;
    let settings = match object {
        Some(Object::SodSettings(s)) => s,
        _ => SodSettings::default(),
    };
    Ok((settings, version))
}

/// The settings with their version as the `ETag`, for `If-Match`.
async fn settings(State(state): State<AppState>) -> ApiResult<Response> {
    let (settings, version) = stored_settings(&state).await?;
    Ok(crate::api::json_with_etag(settings, version))
}

/// Replaces every setting (a missing field is refused, not defaulted);
/// `If-Match` required, like every other update.
async fn set_settings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<crate::problem::JsonObject<SodSettings>, crate::problem::ApiError>,
) -> ApiResult<Response> {
    let crate::problem::JsonObject(settings) = body?;
    let p = caller.principal()?;
    let seen = crate::api::singleton_precondition(&settings_key(), crate::api::if_match(&headers)?);
    state.warden(&p.actor(), &caller.origin).set_sod_settings_if(settings, seen).await?;
    let (settings, version) = stored_settings(&state).await?;
    Ok(crate::api::json_with_etag(settings, version))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarPairDto {
    /// `duty` or `privilege`.
    pub kind: String,
    pub first: String,
    pub second: String,
    pub percent: u8,
    pub common: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarityReport {
    pub level: u8,
    pub pairs: Vec<SimilarPairDto>,
}

#[derive(Debug, Deserialize)]
pub struct LevelQuery {
    level: Option<u8>,
}

async fn similarity(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<LevelQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<SimilarityReport>> {
    let Query(q) = q?;
    let p = caller.principal()?;
    let (level, pairs) = state.warden(&p.actor(), &caller.origin).similarity_report(q.level).await?;
    let pairs = pairs
        .into_iter()
        .map(|p| SimilarPairDto {
            kind: serde_json::to_value(p.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            first: p.first,
            second: p.second,
            percent: p.percent,
            common: p.common,
        })
        .collect();
    Ok(Json(SimilarityReport { level, pairs }))
}
