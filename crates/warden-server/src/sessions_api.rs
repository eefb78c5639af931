//! Temporary role sessions and privileged user sessions over HTTP, the
//! recorder of privileged users' checks, and the background processor.

use crate::builtin::Area;
use crate::endpoints::{ep, needs, Body, Endpoint};
use crate::problem::{ApiError, ApiResult, JsonObject, OptionalJson};
use crate::state::AppState;
use crate::Caller;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;
use warden_core::sessions::{Family, PrivilegedDecision, ProcessOutcome};
use warden_model::{Access, Object, ObjectKind, ObjectRef, PrivilegedSession, PrivilegedStatus, TempStatus, PrivilegedSessionRequest, SessionSettings, TempRoleSession, TempSessionEdit, TempSessionRequest, Timestamp};

/// The session endpoints, for the endpoint table.
pub fn endpoints() -> Vec<Endpoint> {
    use Body::Schema;
    let a = Area::Sessions;
    let tag = "sessions";
    let filters = vec![("status", "only sessions in this status", false), ("user", "only this user's sessions", false)];
    let created = || vec![("id", "$response.body#/session/id".to_string())];
    // Paths with more than one method, written once.
    let temp = "/api/v1/sessions/temp";
    let temp_item = "/api/v1/sessions/temp/{id}";
    let privileged = "/api/v1/sessions/privileged";
    let recording_path = "/api/v1/sessions/privileged/{id}/recording";
    let settings_path = "/api/v1/sessions/settings";
    type Note = Result<OptionalJson<NoteRequest>, ApiError>;
    vec![
        ep(Method::GET, temp, needs(a, Access::Read), tag, "Temporary role sessions", Body::None, (200, Schema("TempSessionList")), temp_list)
            .with_query(filters.clone())
            .query_schema("status", "TempStatus"),
        ep(Method::POST, temp, needs(a, Access::Create), tag, "Request a temporary role session (draft)", Schema("TempSessionRequest"), (201, Schema("TempSessionResponse")), temp_create).creates(created()),
        ep(Method::GET, temp_item, needs(a, Access::Read), tag, "A temporary role session with its audit log", Body::None, (200, Schema("TempSessionResponse")), temp_get).linked(),
        ep(Method::PATCH, temp_item, needs(a, Access::Update), tag, "Edit a draft or planned session (a planned one goes back to draft)", Schema("TempSessionEdit"), (200, Schema("TempSessionResponse")), temp_edit).linked(),
        ep(Method::POST, "/api/v1/sessions/temp/{id}/approve", needs(a, Access::Update), tag, "Approve: draft → planned (not by the requester)", Schema("ApproveRequest"), (200, Schema("TempSessionResponse")), temp_approve)
            .body_optional()
            .linked(),
        ep(Method::POST, "/api/v1/sessions/temp/{id}/cancel", needs(a, Access::Update), tag, "Cancel a draft or planned session", Schema("NoteRequest"), (200, Schema("TempSessionResponse")), temp_cancel)
            .body_optional()
            .linked(),
        ep(Method::POST, "/api/v1/sessions/temp/{id}/process", needs(a, Access::Invoke), tag, "Make the transitions that are due for this session now", Body::None, (200, Schema("ProcessResponse")), |s: State<AppState>, c: Extension<Caller>, id: Path<String>| {
            process(s, c, id, Family::Temp)
        })
        .linked(),
        ep(Method::GET, "/api/v1/sessions/temp/{id}/log", needs(a, Access::Read), tag, "Audit log, user log and user role change log", Body::None, (200, Schema("SessionLogResponse")), |s: State<AppState>, c: Extension<Caller>, id: Path<String>| {
            log(s, c, id, Family::Temp)
        })
        .linked(),
        ep(Method::GET, privileged, needs(a, Access::Read), tag, "Privileged user sessions", Body::None, (200, Schema("PrivilegedSessionList")), privileged_list)
            .with_query(filters)
            .query_schema("status", "PrivilegedStatus"),
        ep(Method::POST, privileged, needs(a, Access::Create), tag, "Request a privileged user session (draft; at most 24 hours)", Schema("PrivilegedSessionRequest"), (201, Schema("PrivilegedSessionResponse")), privileged_create)
            .creates(created()),
        ep(Method::GET, "/api/v1/sessions/privileged/{id}", needs(a, Access::Read), tag, "A privileged user session with its audit log", Body::None, (200, Schema("PrivilegedSessionResponse")), privileged_get).linked(),
        ep(Method::POST, "/api/v1/sessions/privileged/{id}/approve", needs(a, Access::Update), tag, "Approve: draft → approved (not by the requester)", Schema("NoteRequest"), (200, Schema("PrivilegedSessionResponse")), |s: State<AppState>, c: Extension<Caller>, id: Path<String>, b: Note| {
            decide(s, c, id, b, PrivilegedDecision::Approve)
        })
        .body_optional()
        .linked(),
        ep(Method::POST, "/api/v1/sessions/privileged/{id}/reject", needs(a, Access::Update), tag, "Reject a draft session", Schema("NoteRequest"), (200, Schema("PrivilegedSessionResponse")), |s: State<AppState>, c: Extension<Caller>, id: Path<String>, b: Note| {
            decide(s, c, id, b, PrivilegedDecision::Reject)
        })
        .body_optional()
        .linked(),
        ep(Method::POST, "/api/v1/sessions/privileged/{id}/cancel", needs(a, Access::Update), tag, "Cancel a draft or approved (not started) session", Schema("NoteRequest"), (200, Schema("PrivilegedSessionResponse")), |s: State<AppState>, c: Extension<Caller>, id: Path<String>, b: Note| {
            decide(s, c, id, b, PrivilegedDecision::Cancel)
        })
        .body_optional()
        .linked(),
        ep(Method::POST, "/api/v1/sessions/privileged/{id}/process", needs(a, Access::Invoke), tag, "Make the transitions that are due for this session now", Body::None, (200, Schema("ProcessResponse")), |s: State<AppState>, c: Extension<Caller>, id: Path<String>| {
            process(s, c, id, Family::Privileged)
        })
        .linked(),
        ep(Method::GET, "/api/v1/sessions/privileged/{id}/log", needs(a, Access::Read), tag, "Audit log and user log", Body::None, (200, Schema("SessionLogResponse")), |s: State<AppState>, c: Extension<Caller>, id: Path<String>| {
            log(s, c, id, Family::Privileged)
        })
        .linked(),
        ep(
            Method::GET,
            recording_path,
            needs(a, Access::Read),
            tag,
            "The recording: JSON Lines (application/x-ndjson, the default) or an HTML transcript (format=html). The x-warden-recording-seal header says whether it is sealed and intact; a recording altered after sealing is refused (409 recording-altered)",
            Body::None,
            (200, Body::Text),
            recording,
        )
        .with_query(vec![("format", "jsonl (default) or html", false)]),
        ep(Method::DELETE, recording_path, needs(a, Access::Delete), tag, "Delete the recording of an ended session (audited)", Body::None, (200, Schema("PrivilegedSessionResponse")), delete_recording),
        ep(Method::GET, settings_path, needs(a, Access::Read), tag, "Session parameters", Body::None, (200, Schema("SessionSettings")), settings),
        ep(Method::PUT, settings_path, needs(a, Access::Update), tag, "Replace the session parameters (every field); If-Match: their version", Schema("SessionSettings"), (200, Schema("SessionSettings")), set_settings).if_match(),
        ep(Method::POST, "/api/v1/events/activity", needs(Area::Activity, Access::Create), "events", "An application reports what a user did (recorded during privileged sessions)", Schema("SessionEvent"), (202, Schema("EventAccepted")), |State(s): State<AppState>, Extension(c): Extension<Caller>, b| {
            crate::api::session_event("activity", s, c, b)
        }),
    ]
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TempSessionList {
    pub items: Vec<TempRoleSession>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrivilegedSessionList {
    pub items: Vec<PrivilegedSession>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TempSessionResponse {
    pub session: TempRoleSession,
    /// The store revision that wrote it (for reads: the snapshot's).
    pub revision: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrivilegedSessionResponse {
    pub session: PrivilegedSession,
    pub revision: u64,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Allow the segregation-of-duties conflicts the session creates, and say why.
    #[serde(default)]
    pub override_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// Why, for the session's audit log.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessResponse {
    #[schema(value_type = Vec<Object>)]
    pub transitions: Vec<serde_json::Value>,
    pub refused: Vec<String>,
}

impl From<ProcessOutcome> for ProcessResponse {
    fn from(o: ProcessOutcome) -> Self {
        ProcessResponse { transitions: o.transitions.iter().map(|t| serde_json::to_value(t).unwrap_or_default()).collect(), refused: o.refused }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionLogResponse {
    #[schema(value_type = Vec<Object>)]
    pub audit: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub user_log: Vec<serde_json::Value>,
    /// Temporary sessions only.
    #[schema(value_type = Option<Vec<Object>>)]
    pub role_changes: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    user: Option<String>,
}

/// The `status` filter as the family's status: one of its names exactly, as
/// the OpenAPI document's enum says, else a 422 that lists them.
fn status_filter<S: serde::de::DeserializeOwned>(q: &ListQuery) -> ApiResult<Option<S>> {
    q.status
        .as_deref()
        .map(|s| serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|e| ApiError::unprocessable(format!("status: {e}"))))
        .transpose()
}

fn of_user(user: &str, q: &ListQuery) -> bool {
    q.user.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(user))
}

async fn temp_list(Extension(caller): Extension<Caller>, q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<TempSessionList>> {
    let Query(q) = q?;
    let status: Option<TempStatus> = status_filter(&q)?;
    let items = caller.snapshot.model.temp_role_sessions.values().filter(|s| status.is_none_or(|t| s.status == t) && of_user(&s.user, &q)).cloned().collect();
    Ok(Json(TempSessionList { items }))
}

async fn privileged_list(Extension(caller): Extension<Caller>, q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<PrivilegedSessionList>> {
    let Query(q) = q?;
    let status: Option<PrivilegedStatus> = status_filter(&q)?;
    let items = caller.snapshot.model.privileged_sessions.values().filter(|s| status.is_none_or(|t| s.status == t) && of_user(&s.user, &q)).cloned().collect();
    Ok(Json(PrivilegedSessionList { items }))
}

async fn temp_get(Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<TempSessionResponse>> {
    let s = warden_core::sessions::temp(&caller.snapshot.model, &id)?.clone();
    Ok(Json(TempSessionResponse { session: s, revision: caller.snapshot.revision }))
}

async fn privileged_get(Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<PrivilegedSessionResponse>> {
    let s = warden_core::sessions::privileged(&caller.snapshot.model, &id)?.clone();
    Ok(Json(PrivilegedSessionResponse { session: s, revision: caller.snapshot.revision }))
}

async fn temp_create(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Result<JsonObject<TempSessionRequest>, ApiError>) -> ApiResult<Response> {
    let JsonObject(req) = body?;
    let p = caller.principal()?;
    let out = state.warden(&p.actor(), &caller.origin).with_user(&p.user).new_temp_session(&req).await?;
    Ok((StatusCode::CREATED, Json(TempSessionResponse { session: out.session, revision: out.revision })).into_response())
}

async fn temp_edit(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, body: Result<JsonObject<TempSessionEdit>, ApiError>) -> ApiResult<Json<TempSessionResponse>> {
    let JsonObject(edit) = body?;
    let p = caller.principal()?;
    let out = state.warden(&p.actor(), &caller.origin).with_user(&p.user).edit_temp_session(&id, &edit).await?;
    Ok(Json(TempSessionResponse { session: out.session, revision: out.revision }))
}

async fn temp_approve(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, body: Result<OptionalJson<ApproveRequest>, ApiError>) -> ApiResult<Json<TempSessionResponse>> {
    let OptionalJson(req) = body?;
    let p = caller.principal()?;
    let out = state.warden(&p.actor(), &caller.origin).with_user(&p.user).approve_temp_session(&id, req.override_reason.as_deref()).await?;
    Ok(Json(TempSessionResponse { session: out.session, revision: out.revision }))
}

async fn temp_cancel(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, body: Result<OptionalJson<NoteRequest>, ApiError>) -> ApiResult<Json<TempSessionResponse>> {
    let OptionalJson(req) = body?;
    let p = caller.principal()?;
    let out = state.warden(&p.actor(), &caller.origin).with_user(&p.user).cancel_temp_session(&id, req.note.as_deref()).await?;
    Ok(Json(TempSessionResponse { session: out.session, revision: out.revision }))
}

async fn privileged_create(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Result<JsonObject<PrivilegedSessionRequest>, ApiError>) -> ApiResult<Response> {
    let JsonObject(req) = body?;
    let p = caller.principal()?;
    let out = state.warden(&p.actor(), &caller.origin).with_user(&p.user).new_privileged_session(&req).await?;
    Ok((StatusCode::CREATED, Json(PrivilegedSessionResponse { session: out.session, revision: out.revision })).into_response())
}

async fn decide(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, body: Result<OptionalJson<NoteRequest>, ApiError>, decision: PrivilegedDecision) -> ApiResult<Json<PrivilegedSessionResponse>> {
    let OptionalJson(req) = body?;
    let p = caller.principal()?;
    let out = state.warden(&p.actor(), &caller.origin).with_user(&p.user).decide_privileged_session(&id, decision, req.note.as_deref()).await?;
    Ok(Json(PrivilegedSessionResponse { session: out.session, revision: out.revision }))
}

async fn process(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, family: Family) -> ApiResult<Json<ProcessResponse>> {
    let p = caller.principal()?;
    let out = state.warden(&p.actor(), &caller.origin).with_user(&p.user).process_session(family, &id).await?;
    Ok(Json(out.into()))
}

async fn log(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, family: Family) -> ApiResult<Json<SessionLogResponse>> {
    let p = caller.principal()?;
    let log = state.warden(&p.actor(), &caller.origin).with_user(&p.user).session_log(family, &id).await?;
    let list = |v: serde_json::Value| match v {
        serde_json::Value::Array(items) => items,
        _ => Vec::new(),
    };
    let mut json = serde_json::to_value(&log).map_err(ApiError::internal)?;
    Ok(Json(SessionLogResponse {
        audit: list(json["audit"].take()),
        user_log: list(json["user_log"].take()),
        role_changes: json.get_mut("role_changes").map(|r| list(r.take())),
    }))
}

#[derive(Debug, Deserialize)]
pub struct RecordingQuery {
    format: Option<String>,
}

async fn recording(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, q: Result<Query<RecordingQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Response> {
    let Query(q) = q?;
    let p = caller.principal()?;
    let rec = state.warden(&p.actor(), &caller.origin).with_user(&p.user).recording(&id).await?;
    recording_answer(&rec, q.format.as_deref().unwrap_or("jsonl"), RecordingView::Attachment)
        .ok_or_else(|| ApiError::unprocessable(format!("format: '{}' is not jsonl or html", q.format.unwrap_or_default())))
}

/// Whether the HTML transcript is a download (the API) or shown in the
/// browser (the console); JSON Lines is always a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingView {
    Attachment,
    Inline,
}

/// A recording as a file: JSON Lines, or the HTML transcript (a document
/// that runs nothing), with the seal's verdict in headers; `None` for a
/// format that is neither. One answer for the API and the console.
pub fn recording_answer(rec: &warden_core::sessions::Recording, format: &str, html: RecordingView) -> Option<Response> {
    let filename = |ext: &str| format!("attachment; filename=\"{}.{ext}\"", rec.session.id.replace(['"', '\\'], "_"));
    // The seal's verdict travels with the bytes: an altered recording never gets here (409).
    let seal = [
        (header::HeaderName::from_static("x-warden-recording-seal"), rec.seal.name().to_string()),
        (header::HeaderName::from_static("x-warden-recording-sha256"), match &rec.seal {
            warden_core::sessions::SealState::Intact { sha256, .. } => sha256.clone(),
            _ => String::new(),
        }),
    ];
    match format {
        "jsonl" | "ndjson" => Some(
            (
                seal,
                [(header::CONTENT_TYPE, "application/x-ndjson".to_string()), (header::CONTENT_DISPOSITION, filename("jsonl"))],
                warden_core::sessions::recording_jsonl(&rec.events),
            )
                .into_response(),
        ),
        "html" => {
            let mut response = (
                seal,
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
                    // The transcript is a document to read, never a page that runs anything.
                    (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'".to_string()),
                ],
                warden_core::sessions::recording_html(&rec.session, &rec.events, &rec.seal),
            )
                .into_response();
            if html == RecordingView::Attachment {
                response.headers_mut().insert(header::CONTENT_DISPOSITION, filename("html").parse().expect("a header value"));
            }
            Some(response)
        }
        _ => None,
    }
}

async fn delete_recording(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<PrivilegedSessionResponse>> {
    let p = caller.principal()?;
    let out = state.warden(&p.actor(), &caller.origin).with_user(&p.user).delete_recording(&id).await?;
    Ok(Json(PrivilegedSessionResponse { session: out.session, revision: out.revision }))
}

fn settings_key() -> ObjectRef {
    ObjectRef::new(ObjectKind::SessionSettings, warden_model::SESSION_SETTINGS_KEY)
}

async fn stored_settings(state: &AppState) -> ApiResult<(SessionSettings, u64)> {
    let (object, version) = crate::api::singleton(state, &settings_key()).await?;
    let settings = match object {
        Some(Object::SessionSettings(s)) => s,
        _ => SessionSettings::default(),
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
async fn set_settings(State(state): State<AppState>, Extension(caller): Extension<Caller>, headers: HeaderMap, body: Result<JsonObject<SessionSettings>, ApiError>) -> ApiResult<Response> {
    let JsonObject(settings) = body?;
    let p = caller.principal()?;
    let seen = crate::api::singleton_precondition(&settings_key(), crate::api::if_match(&headers)?);
    state.warden(&p.actor(), &caller.origin).with_user(&p.user).set_session_settings_if(settings, seen).await?;
    let (settings, version) = stored_settings(&state).await?;
    Ok(crate::api::json_with_etag(settings, version))
}

/// The background processor: starts and ends sessions when they fall due,
/// sleeping until the next one (or a change in the store) otherwise. Every
/// replica may run it: a transition is one commit against the revision it
/// read, so two replicas never make the same one twice.
pub async fn processor(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    // The origin names the process, so that the audit trail shows which replica made a transition.
    let warden = state.warden("processor", &format!("processor pid {}", std::process::id()));
    loop {
        let snapshot = state.snapshot();
        let now = Timestamp::now();
        if !warden_core::sessions::due(&snapshot.model, now).is_empty() {
            match warden.process_sessions().await {
                Ok(out) => {
                    if let Some(last) = out.transitions.last() {
                        metrics::counter!("warden_session_transitions_total").increment(out.transitions.len() as u64);
                        if let Err(e) = state.refresh(Some(last.revision)).await {
                            tracing::warn!(detail = %e.detail, "cannot reload the snapshot after processing");
                        }
                    }
                    for r in &out.refused {
                        tracing::warn!(refused = %warden_model::shown(&r.to_string()), "session start refused");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "session processing failed; retrying"),
            }
        }
        let next = warden_core::sessions::next_due(&state.snapshot().model, Timestamp::now());
        let wait = next.map_or(Duration::from_secs(1), |t| Duration::from_millis((t.0 - Timestamp::now().0).clamp(0, 1000) as u64));
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
