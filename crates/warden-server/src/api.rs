//! The handlers: thin, each one reading the request, calling the snapshot, the
//! store or the core services, and shaping the answer.

use crate::auth::{self, Principal, Via};
use crate::dto::*;
use crate::endpoints::Collection;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use crate::{builtin, Caller};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use warden_engine::{Decision, EntryPointId, Index};
use warden_core::credentials::SignIn;
use warden_model::{Access, CredentialKind, EntryPointKey, EntryPointType, Object, ObjectKind, ObjectRef, Part, PartKind, Timestamp};
use warden_store::{AuditFilter, AuditVerification, Layer};

/// Most checks in one batch request.
const MAX_BATCH: usize = 100_000;
pub(crate) const MAX_PAGE: usize = 1000;
/// The largest `after_seq` / `after_id`: store sequence numbers are `i64`.
pub(crate) const MAX_CURSOR: u64 = i64::MAX as u64;

/// A cursor as the listings take it: at most [`MAX_CURSOR`], as documented.
fn cursor(name: &str, value: Option<u64>) -> ApiResult<Option<u64>> {
    match value {
        Some(v) if v > MAX_CURSOR => Err(ApiError::unprocessable(format!("{name}: {v} is beyond any sequence number (at most {MAX_CURSOR})"))),
        v => Ok(v),
    }
}

fn access_name(a: Access) -> AccessName {
    match a {
        Access::Read => AccessName::Read,
        Access::Update => AccessName::Update,
        Access::Create => AccessName::Create,
        Access::Correct => AccessName::Correct,
        Access::Delete => AccessName::Delete,
        Access::Invoke => AccessName::Invoke,
    }
}

fn decision_name(d: Decision) -> DecisionName {
    if d.is_allowed() { DecisionName::Allow } else { DecisionName::Deny }
}

/// A page size as the listings take it: 1 to [`MAX_PAGE`], 100 when left out.
pub(crate) fn page_limit(limit: Option<usize>) -> ApiResult<usize> {
    match limit.unwrap_or(100) {
        n @ 1..=MAX_PAGE => Ok(n),
        n => Err(ApiError::unprocessable(format!("limit: {n} is not between 1 and {MAX_PAGE}"))),
    }
}

fn parse_at(text: Option<&str>, now: Timestamp) -> ApiResult<Timestamp> {
    match text {
        None => Ok(now),
        Some(t) => warden_core::parse_time(t, now).map_err(|e| ApiError::unprocessable(format!("at: {e}"))),
    }
}

// ---------------------------------------------------------------- operations

pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok".into(), revision: state.snapshot().revision })
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    let revision = state.snapshot().revision;
    if state.is_ready() {
        Json(Health { status: "ok".into(), revision }).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "unavailable".into(), revision })).into_response()
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    // How the model host reached its snapshot: a follower that stays on deltas never loads whole again.
    let c = &state.host.counters;
    metrics::gauge!("warden_snapshot_full_loads").set(c.full_loads.load(std::sync::atomic::Ordering::Relaxed) as f64);
    metrics::gauge!("warden_snapshot_deltas_applied").set(c.deltas_applied.load(std::sync::atomic::Ordering::Relaxed) as f64);
    metrics::gauge!("warden_snapshot_writes_applied").set(c.writes_applied.load(std::sync::atomic::Ordering::Relaxed) as f64);
    metrics::gauge!("warden_snapshot_revision").set(state.snapshot().revision as f64);
    let text = state.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

// ---------------------------------------------------------------- access checks

/// Resolves an entry point to its index id without scanning: `TYPE/NAME`
/// directly, a bare `NAME` by trying each of the five types. Returns the type
/// too, for the canonical `TYPE/NAME` in answers.
fn entry_point_id(index: &Index, text: &str) -> Result<(EntryPointId, EntryPointType), String> {
    let text = text.trim();
    if let Some((kind, name)) = text.split_once('/') {
        let kind: EntryPointType = kind.parse().map_err(|e: warden_model::ParseEnumError| e.to_string())?;
        return match index.entry_point(&EntryPointKey::new(kind, name)) {
            Some(id) => Ok((id, kind)),
            None => Err(format!("unknown entry point '{text}'")),
        };
    }
    let mut found = None;
    for kind in EntryPointType::ALL {
        if let Some(id) = index.entry_point(&EntryPointKey::new(*kind, text)) {
            if found.is_some() {
                return Err(format!("entry point name '{text}' is ambiguous; use TYPE/NAME"));
            }
            found = Some((id, *kind));
        }
    }
    found.ok_or_else(|| format!("unknown entry point '{text}'"))
}

/// A check that concerns a user under a privileged session: its entry in the
/// recording, or none for everyone else (one hash lookup).
#[allow(clippy::too_many_arguments)]
fn recorded_check(caller: &Caller, user: &str, entry_point: &str, access: Access, org: Option<&str>, at: Timestamp, decision: Decision) -> Option<warden_store::ActivityEvent> {
    if !caller.snapshot.is_recorded(user, caller.now) {
        return None;
    }
    let reported_by = caller.principal.as_ref().map(|p| p.user.clone());
    let decision = if decision.is_allowed() { "allow" } else { "deny" };
    Some(warden_store::ActivityEvent {
        id: 0,
        at: caller.now,
        user: user.to_string(),
        kind: "check".into(),
        source: Some(caller.origin.clone()),
        detail: json!({"entry_point": entry_point, "access": access.to_string(), "organization": org, "decision": decision, "checked_at": at, "reported_by": reported_by}),
        claimed_at: None,
    })
}

/// Writes recorded checks before the answer goes out, so that a recording
/// holds every check in the order it was made, with what the user did next.
async fn record(state: &AppState, events: impl IntoIterator<Item = warden_store::ActivityEvent>) -> ApiResult<()> {
    let warden = reader(state);
    for e in events {
        warden.record_activity(&e).await?;
    }
    Ok(())
}

pub async fn check(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Result<crate::problem::JsonObject<CheckRequest>, crate::problem::ApiError>) -> ApiResult<Json<CheckResponse>> {
    let crate::problem::JsonObject(mut req) = body?;
    let snap = &caller.snapshot;
    let at = parse_at(req.at.as_deref(), caller.now)?;
    let index = &snap.index;
    let part = check_part(req.control.take(), req.field.take())?;
    // The common case goes straight to the index: exact names, no explanation, no control or field.
    if !req.explain
        && part.is_none()
        && let Some(user) = index.user(&req.user)
        && let Ok((ep, kind)) = entry_point_id(index, &req.entry_point)
        && let Some(org) = match &req.org {
            None => Some(None),
            Some(o) => index.org(o).map(Some),
        }
    {
        let decision = index.check(user, ep, req.access.into(), org, at);
        let name = req.entry_point.trim().rsplit_once('/').map_or(req.entry_point.trim(), |(_, n)| n);
        record(&state, recorded_check(&caller, &req.user, &format!("{kind}/{name}"), req.access.into(), req.org.as_deref(), at, decision)).await?;
        return Ok(Json(CheckResponse {
            decision: decision_name(decision),
            entry_point: format!("{kind}/{name}"),
            control: None,
            field: None,
            user: req.user,
            access: req.access,
            org: req.org,
            at: at.to_string(),
            explanation: None,
        }));
    }
    // Explanations, and names that need folding or suggestions: the thorough path.
    let outcome = snap
        .check(&warden_core::CheckRequest {
            user: req.user,
            entry_point: req.entry_point,
            access: req.access.into(),
            org: req.org,
            at,
            explain: req.explain,
            part,
        })
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let mut recorded = recorded_check(&caller, &outcome.user, &outcome.entry_point.to_string(), outcome.access, outcome.org.as_deref(), at, outcome.decision);
    // A recording shows a control or field check as one, not as a check of its entry point.
    if let (Some(event), Some(part)) = (&mut recorded, &outcome.part) {
        event.detail[part.kind.as_str()] = json!(part.name);
    }
    record(&state, recorded).await?;
    Ok(Json(CheckResponse {
        decision: decision_name(outcome.decision),
        user: outcome.user,
        entry_point: outcome.entry_point,
        control: outcome.part.as_ref().filter(|p| p.kind == PartKind::Control).map(|p| p.name.clone()),
        field: outcome.part.as_ref().filter(|p| p.kind == PartKind::Field).map(|p| p.name.clone()),
        access: access_name(outcome.access),
        org: outcome.org,
        at: outcome.at.to_string(),
        explanation: outcome.explanation.map(|e| serde_json::to_value(e).unwrap_or_default()),
    }))
}

/// The control or field a check names: at most one, named by the identifier
/// rule; a refusal names the body field.
fn check_part(control: Option<String>, field: Option<String>) -> ApiResult<Option<Part>> {
    let part = match (control, field) {
        (Some(_), Some(_)) => return Err(ApiError::unprocessable("control, field: name a control or a field, not both")),
        (Some(c), None) => Part::control(c),
        (None, Some(f)) => Part::field(f),
        (None, None) => return Ok(None),
    };
    part.validate().map_err(|e| ApiError::unprocessable(format!("{}: {e}", part.kind)))?;
    Ok(Some(part))
}

pub async fn check_batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<crate::problem::JsonObject<BatchCheckRequest>, crate::problem::ApiError>,
) -> ApiResult<Json<BatchCheckResponse>> {
    let crate::problem::JsonObject(req) = body?;
    if req.checks.len() > MAX_BATCH {
        return Err(ApiError::unprocessable(format!("a batch holds at most {MAX_BATCH} checks, not {}", req.checks.len())));
    }
    let at = parse_at(req.at.as_deref(), caller.now)?;
    let index = &caller.snapshot.index;
    let (mut allowed, mut denied, mut errors) = (0, 0, 0);
    let mut recordings = Vec::new();
    let results = req
        .checks
        .iter()
        .map(|c| {
            let answer = (|| {
                let user = index.user(&c.user).ok_or_else(|| format!("unknown user '{}'", c.user))?;
                let (ep, _) = entry_point_id(index, &c.entry_point)?;
                let org = match &c.org {
                    None => None,
                    Some(o) => Some(index.org(o).ok_or_else(|| format!("unknown organization '{o}'"))?),
                };
                let d = index.check(user, ep, c.access.into(), org, at);
                recordings.extend(recorded_check(&caller, &c.user, c.entry_point.trim(), c.access.into(), c.org.as_deref(), at, d));
                Ok::<_, String>(d)
            })();
            match answer {
                Ok(d) => {
                    if d.is_allowed() { allowed += 1 } else { denied += 1 }
                    BatchItemResponse { decision: Some(decision_name(d)), error: None }
                }
                Err(e) => {
                    errors += 1;
                    BatchItemResponse { decision: None, error: Some(e) }
                }
            }
        })
        .collect();
    record(&state, recordings).await?;
    Ok(Json(BatchCheckResponse { at: at.to_string(), results, allowed, denied, errors }))
}

#[derive(Debug, Deserialize)]
pub struct ExplainQuery {
    user: String,
    entry_point: String,
    access: AccessName,
    org: Option<String>,
    at: Option<String>,
    control: Option<String>,
    field: Option<String>,
}

pub async fn explain(Extension(caller): Extension<Caller>, q: Result<Query<ExplainQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Response> {
    let Query(q) = q?;
    let at = parse_at(q.at.as_deref(), caller.now)?;
    let outcome = caller
        .snapshot
        .check(&warden_core::CheckRequest { user: q.user, entry_point: q.entry_point, access: q.access.into(), org: q.org, at, explain: true, part: check_part(q.control, q.field)? })
        .map_err(ApiError::from)?;
    Ok(Json(outcome.explanation).into_response())
}

#[derive(Debug, Deserialize)]
pub struct PermissionsQuery {
    org: Option<String>,
    at: Option<String>,
}

pub async fn permissions(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    q: Result<Query<PermissionsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<PermissionsResponse>> {
    let Query(q) = q?;
    let at = parse_at(q.at.as_deref(), caller.now)?;
    let snap = &caller.snapshot;
    let user = snap.user(&id)?.id.clone();
    let org = q.org.as_deref().map(|o| snap.org(o).map(|o| o.id.clone())).transpose()?;
    let rows = warden_engine::effective_permissions(&snap.model, &user, org.as_deref(), at);
    let set = |s: warden_model::AccessSet| s.iter().map(access_name).collect();
    Ok(Json(PermissionsResponse {
        user,
        org,
        at: at.to_string(),
        permissions: rows
            .into_iter()
            .map(|p| PermissionRow { entry_point: p.entry_point.to_string(), allow: set(p.allow), deny: set(p.deny), effective: set(p.effective()) })
            .collect(),
    }))
}

// ---------------------------------------------------------------- authentication

pub async fn login(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<crate::problem::JsonObject<LoginRequest>, crate::problem::ApiError>,
) -> ApiResult<Response> {
    let crate::problem::JsonObject(req) = body?;
    let warden = state.warden(&req.user, &caller.origin).with_clock(std::sync::Arc::new(move || caller.now));
    let session = match warden.sign_in(&req.user, &req.password).await? {
        SignIn::SignedIn(session) => session,
        SignIn::Refused => return Err(ApiError::unauthorized("wrong user name or password, or the user is disabled")),
        SignIn::Locked { until, .. } => {
            let wait = auth::seconds_until(until, caller.now);
            return Err(ApiError { retry_after: Some(wait), ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", format!("too many failed sign-ins; try again in {wait} s")) });
        }
    };
    state.refresh(Some(session.revision)).await?;
    let csrf = auth::csrf_token(&session.secret);
    let mut response = Json(SessionInfo { user: session.user.clone(), csrf_token: csrf, expires: session.expires.to_string() }).into_response();
    auth::set_session_cookies(response.headers_mut(), state.secure_cookies, Some((&session.id, &session.secret)));
    Ok(response)
}

pub async fn logout(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Response> {
    let p = caller.principal()?;
    if let Via::Session { credential } = &p.via {
        let outcome = state.warden(&p.actor(), &caller.origin).sign_out(&p.user, credential).await?;
        state.refresh(Some(outcome.revision)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    auth::set_session_cookies(response.headers_mut(), state.secure_cookies, None);
    Ok(response)
}

pub async fn me(Extension(caller): Extension<Caller>) -> ApiResult<Json<Me>> {
    let p = caller.principal()?;
    let snap = &caller.snapshot;
    let roles = snap
        .model
        .assignments_of(&p.user)
        .iter()
        .filter(|a| a.organizations.is_empty() && a.valid_from.is_none_or(|f| f <= caller.now) && a.valid_to.is_none_or(|t| caller.now < t))
        .map(|a| a.role.clone())
        .collect();
    let mut actions = Vec::new();
    for area in builtin::Area::ALL {
        for access in Access::ALL {
            let action = builtin::Action::new(area, access);
            if auth::permits(snap, &p.user, action, caller.now) {
                actions.push(action.to_string());
            }
        }
    }
    Ok(Json(Me {
        user: p.user.clone(),
        name: snap.model.users.get(&p.user).and_then(|u| u.name.clone()),
        via: match p.via {
            Via::Session { .. } => "session".into(),
            Via::Token { .. } => "token".into(),
            Via::Local => "local".into(),
        },
        roles,
        actions,
    }))
}

// ---------------------------------------------------------------- credentials

fn token_info(t: warden_core::credentials::TokenInfo) -> TokenInfo {
    TokenInfo { id: t.id, user: t.user, label: t.label, created: t.created.to_string(), expires: t.expires.map(|e| e.to_string()) }
}

pub async fn list_tokens(Extension(caller): Extension<Caller>) -> Json<TokenList> {
    let tokens = caller
        .snapshot
        .model
        .credentials
        .values()
        .filter(|c| c.kind == CredentialKind::ApiToken)
        .map(|c| token_info(warden_core::credentials::TokenInfo::of(c)))
        .collect();
    Json(TokenList { tokens })
}

/// A new token's answer: shown once, never cached.
fn issued(t: warden_core::credentials::IssuedToken) -> Response {
    let shown = IssuedToken { id: t.id, user: t.user, token: t.token, expires: Some(t.expires.to_string()) };
    (StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(shown)).into_response()
}

pub async fn create_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<crate::problem::JsonObject<NewToken>, crate::problem::ApiError>,
) -> ApiResult<Response> {
    let crate::problem::JsonObject(req) = body?;
    let p = caller.principal()?;
    let token = state.warden(&p.actor(), &caller.origin).issue_token(&req.user, req.label, req.expires_in_days).await?;
    state.refresh(Some(token.revision)).await?;
    Ok(issued(token))
}

pub async fn rotate_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Result<crate::problem::JsonObject<RotateToken>, crate::problem::ApiError>,
) -> ApiResult<Response> {
    let crate::problem::JsonObject(req) = body?;
    let p = caller.principal()?;
    let token = state.warden(&p.actor(), &caller.origin).rotate_token(&id, req.grace_seconds, req.expires_in_days).await?;
    state.refresh(Some(token.revision)).await?;
    Ok(issued(token))
}

pub async fn revoke_token(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let p = caller.principal()?;
    let outcome = state.warden(&p.actor(), &caller.origin).revoke_token(&id).await?;
    state.refresh(Some(outcome.revision)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn set_password(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user): Path<String>,
    body: Result<crate::problem::JsonObject<SetPassword>, crate::problem::ApiError>,
) -> ApiResult<StatusCode> {
    let crate::problem::JsonObject(req) = body?;
    let p = caller.principal()?;
    let outcome = state.warden(&p.actor(), &caller.origin).set_password(&user, &req.password).await?;
    state.refresh(Some(outcome.revision)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- audit

/// The core services for reading the trail and the activity log, which need no actor.
pub(crate) fn reader(state: &AppState) -> warden_core::Warden {
    state.reader()
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    since: Option<String>,
    actor: Option<String>,
    object: Option<String>,
    after_seq: Option<u64>,
    limit: Option<usize>,
    changes: Option<bool>,
}

pub fn object_ref(text: &str) -> ApiResult<ObjectRef> {
    let (kind, name) = text.split_once('/').ok_or_else(|| ApiError::unprocessable(format!("object: '{text}' is not KIND/KEY, e.g. role/Clerk")))?;
    let kind = ObjectKind::from_code(kind).ok_or_else(|| ApiError::unprocessable(format!("object: unknown kind '{kind}'")))?;
    Ok(ObjectRef::new(kind, name))
}

pub async fn audit(State(state): State<AppState>, Extension(caller): Extension<Caller>, q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<AuditPage>> {
    let Query(q) = q?;
    let limit = page_limit(q.limit)?;
    let filter = AuditFilter {
        since: q.since.as_deref().map(|s| parse_at(Some(s), caller.now)).transpose()?,
        actor: q.actor,
        object: q.object.as_deref().map(object_ref).transpose()?,
        limit: Some(limit),
        include_changes: q.changes.unwrap_or(false),
        after_seq: cursor("after_seq", q.after_seq)?,
    };
    let events = reader(&state).audit_events(&filter).await?;
    let next_after_seq = (events.len() == limit).then(|| events.last().map(|e| e.seq)).flatten();
    Ok(Json(AuditPage { events: events.iter().map(|e| serde_json::to_value(e).unwrap_or_default()).collect(), next_after_seq }))
}

pub async fn audit_head(State(state): State<AppState>) -> ApiResult<Json<AuditAnchorBody>> {
    let a = reader(&state).audit_head().await?;
    Ok(Json(AuditAnchorBody { seq: a.seq, hash: a.hash }))
}

/// The body is optional (no anchor), so it is read as bytes: an absent body
/// is not an error, a malformed one is a problem document like everywhere else.
pub async fn audit_verify(State(state): State<AppState>, body: Result<crate::problem::OptionalJson<VerifyRequest>, ApiError>) -> ApiResult<Json<VerifyResponse>> {
    let crate::problem::OptionalJson(req) = body?;
    if let Some(a) = req.anchor.as_ref().filter(|a| a.seq > i64::MAX as u64) {
        return Err(ApiError::unprocessable(format!("anchor.seq: {} is beyond any trail (at most {})", a.seq, i64::MAX)));
    }
    let anchor = req.anchor.map(|a| warden_store::AuditAnchor { seq: a.seq, hash: a.hash });
    Ok(Json(match reader(&state).verify_audit(anchor.as_ref()).await? {
        AuditVerification::Intact { events, head } => VerifyResponse { status: "intact".into(), events: Some(events), head: Some(head), seq: None, reason: None },
        AuditVerification::Broken { seq, reason } => VerifyResponse { status: "broken".into(), events: None, head: None, seq: Some(seq), reason: Some(reason) },
    }))
}

// ---------------------------------------------------------------- events

pub async fn session_event(
    kind: &'static str,
    state: AppState,
    caller: Caller,
    body: Result<crate::problem::JsonObject<SessionEvent>, crate::problem::ApiError>,
) -> ApiResult<Response> {
    let crate::problem::JsonObject(req) = body?;
    let p = caller.principal()?;
    if !caller.snapshot.model.users.contains_key(&req.user) {
        return Err(ApiError::unprocessable(format!("user: unknown user '{}'", req.user)));
    }
    let claimed_at = req.at.as_deref().map(|text| claimed_time(text, caller.now)).transpose()?;
    // Placed by when Warden received it: an application's `at` and `source`
    // are its claims, kept as such, so that nothing can be back-dated into a
    // (sealed) recording or attributed to another poster.
    let event = warden_store::ActivityEvent {
        id: 0,
        at: caller.now,
        user: req.user,
        kind: kind.to_string(),
        source: Some(format!("{} ({})", p.user, caller.origin)),
        detail: json!({"reported_by": p.user, "claimed_source": req.source, "detail": req.detail}),
        claimed_at,
    };
    let id = reader(&state).record_activity(&event).await?;
    Ok((StatusCode::ACCEPTED, Json(EventAccepted { id })).into_response())
}

/// How far back an application may date what it reports: a report is about
/// something that just happened, and a privileged session lasts a day at most.
const MAX_CLAIM_AGE_MS: i64 = 24 * 3_600_000;
/// How far ahead: clocks of applications drift a little.
const MAX_CLAIM_AHEAD_MS: i64 = 300_000;

/// An application's claimed time of an event, within a day before and five
/// minutes after `now`; anything else is refused naming the field.
fn claimed_time(text: &str, now: Timestamp) -> ApiResult<Timestamp> {
    let at = parse_at(Some(text), now)?;
    if at.0 > now.0.saturating_add(MAX_CLAIM_AHEAD_MS) {
        return Err(ApiError::unprocessable(format!("at: {at} is more than five minutes in the future (now is {now})")));
    }
    if at.0 < now.0.saturating_sub(MAX_CLAIM_AGE_MS) {
        return Err(ApiError::unprocessable(format!("at: {at} is more than a day in the past (now is {now}); report events as they happen")));
    }
    Ok(at)
}

#[derive(Debug, Deserialize)]
pub struct EventQuery {
    user: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    after_id: Option<u64>,
    limit: Option<usize>,
}

pub async fn events(State(state): State<AppState>, Extension(caller): Extension<Caller>, q: Result<Query<EventQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<EventPage>> {
    let Query(q) = q?;
    let limit = page_limit(q.limit)?;
    let filter = warden_store::ActivityFilter {
        user: q.user,
        kinds: q.kind.into_iter().collect(),
        since: q.since.as_deref().map(|s| parse_at(Some(s), caller.now)).transpose()?,
        until: None,
        after_id: cursor("after_id", q.after_id)?,
        limit: Some(limit),
    };
    let events = reader(&state).activity(&filter).await?;
    let next_after_id = (events.len() == limit).then(|| events.last().map(|e| e.id)).flatten();
    Ok(Json(EventPage { events: events.iter().map(|e| serde_json::to_value(e).unwrap_or_default()).collect(), next_after_id }))
}

// ---------------------------------------------------------------- objects

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    limit: Option<usize>,
    after: Option<String>,
    q: Option<String>,
}

/// The key an item path names, in the store's form.
pub fn key_from_path(c: &Collection, params: &HashMap<String, String>) -> ApiResult<ObjectRef> {
    let part = |p: &str| params.get(p).cloned().ok_or_else(|| ApiError::bad_request(format!("missing path parameter {p}")));
    let name = match c.kind {
        ObjectKind::EntryPoint => {
            let kind: EntryPointType = part("type")?.parse().map_err(|e: warden_model::ParseEnumError| ApiError::not_found(e.to_string()))?;
            EntryPointKey::new(kind, part("name")?).to_string()
        }
        ObjectKind::Assignment => warden_model::assignment_key(&part("user")?, &part("role")?),
        _ => part(c.key_params[0])?,
    };
    Ok(ObjectRef::new(c.kind, name))
}

fn label_of(o: &Object) -> Option<&str> {
    match o {
        Object::EntryPoint(x) => x.label.as_deref(),
        Object::Privilege(x) => x.label.as_deref(),
        Object::Duty(x) => x.label.as_deref(),
        Object::Role(x) => x.label.as_deref(),
        Object::Policy(x) => x.label.as_deref(),
        Object::Organization(x) => x.name.as_deref(),
        Object::User(x) => x.name.as_deref(),
        _ => None,
    }
}

pub async fn list_objects(c: &'static Collection, caller: Caller, q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<ObjectPage>> {
    let Query(q) = q?;
    let limit = page_limit(q.limit)?;
    let needle = q.q.as_deref().map(str::to_lowercase);
    let model = &caller.snapshot.model;
    // Keys in byte order, the order the store lists them in and the cursor compares by.
    let mut matching: Vec<(String, Object)> = model
        .objects_of(c.kind)
        .map(|o| (o.key().name, o))
        .filter(|(key, o)| {
            needle.as_deref().is_none_or(|n| key.to_lowercase().contains(n) || label_of(o).is_some_and(|l| l.to_lowercase().contains(n)))
        })
        .collect();
    matching.sort_by(|a, b| a.0.cmp(&b.0));
    let total = matching.len();
    let start = match &q.after {
        Some(after) => matching.partition_point(|(k, _)| k.as_str() <= after.as_str()),
        None => 0,
    };
    let page: Vec<StoredObject> = matching[start..]
        .iter()
        .take(limit)
        .map(|(key, o)| StoredObject { kind: c.kind.code().into(), key: key.clone(), version: None, layer: None, object: o.to_body() })
        .collect();
    let next = (start + page.len() < total).then(|| page.last().map(|o| o.key.clone())).flatten();
    Ok(Json(ObjectPage { items: page, next, total }))
}

fn stored(v: warden_store::Versioned) -> StoredObject {
    StoredObject {
        kind: v.object.kind().code().into(),
        key: v.object.key().name,
        version: Some(v.version),
        layer: Some(v.layer.code().to_string()),
        object: v.object.to_body(),
    }
}

fn with_etag(status: StatusCode, body: StoredObject) -> Response {
    let etag = body.version.map(|v| format!("\"{v}\""));
    let mut r = (status, Json(body)).into_response();
    if let Some(e) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        r.headers_mut().insert(header::ETAG, e);
    }
    r
}

pub async fn get_object(state: AppState, c: &'static Collection, params: HashMap<String, String>) -> ApiResult<Response> {
    let key = key_from_path(c, &params)?;
    let found = state.reader().stored(&key).await?.ok_or_else(|| ApiError::not_found(format!("{key} does not exist")))?;
    Ok(with_etag(StatusCode::OK, stored(found)))
}

/// What an `If-Match` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfMatch {
    /// `*`: whatever version is current, as long as there is one (RFC 9110 §13.1.1).
    Any,
    /// `"7"` (or `7`, or `W/"7"`).
    Version(u64),
}

/// The `If-Match` of an update or delete. Required: without it an
/// administrator could overwrite a change they never saw.
pub(crate) fn if_match(headers: &HeaderMap) -> ApiResult<IfMatch> {
    let value = headers
        .get(header::IF_MATCH)
        .ok_or_else(|| ApiError::new(StatusCode::PRECONDITION_REQUIRED, "if-match-required", "send If-Match with the object's version (its ETag from GET), or *"))?;
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(IfMatch::Any);
    }
    let version = text.trim_start_matches("W/").trim_matches('"');
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(format!("If-Match: '{text}' is neither a version nor *")));
    }
    // A version past any revision is well formed but can never be current.
    version.parse().map(IfMatch::Version).map_err(|_| ApiError::precondition_failed(format!("If-Match: version {version} is not the current one")))
}

/// The version a write may proceed from: `*` takes the current one, and
/// fails (412) when the object does not exist (RFC 9110 §13.1.1).
async fn expected_version(state: &AppState, key: &ObjectRef, wanted: IfMatch) -> ApiResult<Option<u64>> {
    match wanted {
        IfMatch::Version(v) => Ok(Some(v)),
        IfMatch::Any => match state.reader().stored(key).await? {
            Some(_) => Ok(None),
            None => Err(ApiError::precondition_failed(format!("If-Match: *: {key} does not exist"))),
        },
    }
}

/// A singleton's stored value and version (the settings); `0` and the
/// defaults when none is stored yet, so that `If-Match: "0"` means "as
/// nobody has changed them".
pub(crate) async fn singleton(state: &AppState, key: &ObjectRef) -> ApiResult<(Option<Object>, u64)> {
    Ok(match state.reader().stored(key).await? {
        Some(v) => (Some(v.object), v.version),
        None => (None, 0),
    })
}

/// The precondition of a singleton's update from its `If-Match`.
pub(crate) fn singleton_precondition(key: &ObjectRef, wanted: IfMatch) -> Option<warden_store::Precondition> {
    match wanted {
        IfMatch::Any => None,
        IfMatch::Version(0) => Some(warden_store::Precondition { object: key.clone(), version: None }),
        IfMatch::Version(v) => Some(warden_store::Precondition { object: key.clone(), version: Some(v) }),
    }
}

/// A JSON answer with its version as the `ETag`.
pub(crate) fn json_with_etag(body: impl serde::Serialize, version: u64) -> Response {
    let mut r = Json(body).into_response();
    if let Ok(e) = HeaderValue::from_str(&format!("\"{version}\"")) {
        r.headers_mut().insert(header::ETAG, e);
    }
    r
}

/// A collection's body: held to its kind's schema, then read.
fn parse_body(c: &Collection, mut body: serde_json::Value) -> ApiResult<Object> {
    crate::strict::check(crate::openapi::object_schema_name(c.kind), &mut body)?;
    Object::from_body(c.kind, body).map_err(|e| ApiError::unprocessable(format!("{}: {e}", c.kind)))
}

pub async fn create_object(state: AppState, c: &'static Collection, caller: Caller, body: Result<crate::problem::JsonValue, ApiError>) -> ApiResult<Response> {
    let crate::problem::JsonValue(body) = body?;
    let p = caller.principal()?;
    let object = parse_body(c, body)?;
    let (key, body, location) = (object.key(), object.to_body(), location(c, &object));
    // The answer depends only on the object and the revision, so it is
    // rendered before the commit and, under an Idempotency-Key, stored in it.
    let answer = move |revision| created(c, &key, &location, body.clone(), revision);
    let answer = std::sync::Arc::new(answer);
    if let Some(claim) = crate::idempotency::current() {
        let answer = answer.clone();
        claim.answer_with(Box::new(move |revision| answer(revision)));
    }
    let outcome = state.warden(&p.actor(), &caller.origin).create(object).await?;
    Ok(crate::idempotency::respond(&answer(outcome.revision)))
}

/// The answer to a create: the object as stored (a create writes its key, so
/// its version is the commit's revision), its ETag and Location.
fn created(c: &Collection, key: &ObjectRef, location: &str, object: serde_json::Value, revision: u64) -> warden_store::StoredResponse {
    let body = StoredObject { kind: c.kind.code().into(), key: key.name.clone(), version: Some(revision), layer: Some(Layer::Database.code().to_string()), object };
    warden_store::StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        headers: vec![
            (header::CONTENT_TYPE.as_str().into(), "application/json".into()),
            (header::ETAG.as_str().into(), format!("\"{revision}\"")),
            (header::LOCATION.as_str().into(), location.to_string()),
        ],
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

/// The item path of a new object: one percent-encoded segment per path
/// parameter, so a name holding `/`, `%` or non-ASCII letters still names it.
fn location(c: &Collection, object: &Object) -> String {
    let segments: Vec<String> = match object {
        Object::EntryPoint(e) => vec![e.kind.to_string(), e.name.clone()],
        Object::Assignment(a) => vec![a.user.clone(), a.role.clone()],
        other => vec![other.key().name],
    };
    let mut path = c.list_path();
    for s in &segments {
        path.push('/');
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
                path.push(char::from(b));
            } else {
                path.push_str(&format!("%{b:02X}"));
            }
        }
    }
    path
}

pub async fn replace_object(
    state: AppState,
    c: &'static Collection,
    caller: Caller,
    params: HashMap<String, String>,
    headers: HeaderMap,
    body: Result<crate::problem::JsonValue, ApiError>,
) -> ApiResult<Response> {
    let crate::problem::JsonValue(body) = body?;
    let p = caller.principal()?;
    let key = key_from_path(c, &params)?;
    // The body first: a malformed request is a 422 whatever its If-Match
    // says, so that a client learns what is wrong with what it sent before
    // being told to fetch a newer version of it.
    let object = parse_body(c, body)?;
    let wanted = if_match(&headers)?;
    if object.key() != key {
        return Err(ApiError::unprocessable(format!("the body names {}, the path {key}; renaming is not supported", object.key())));
    }
    let version = expected_version(&state, &key, wanted).await?;
    state.warden(&p.actor(), &caller.origin).replace(object, version).await?;
    let found = state.reader().stored(&key).await?.ok_or_else(|| ApiError::internal(format!("{key} vanished after its update")))?;
    Ok(with_etag(StatusCode::OK, stored(found)))
}

pub async fn delete_object(state: AppState, c: &'static Collection, caller: Caller, params: HashMap<String, String>, headers: HeaderMap) -> ApiResult<StatusCode> {
    let p = caller.principal()?;
    let key = key_from_path(c, &params)?;
    let version = expected_version(&state, &key, if_match(&headers)?).await?;
    state.warden(&p.actor(), &caller.origin).delete(&key, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- policy tree

/// An XDS policy as a tree ([`warden_model::PolicyTree`]): its context, then
/// its constrained tables and expressions, read from the effective form.
pub async fn policy_tree(state: AppState, c: &'static Collection, params: HashMap<String, String>) -> ApiResult<Json<warden_model::PolicyTree>> {
    let key = key_from_path(c, &params)?;
    match state.store.get_versioned(&key).await?.map(|v| v.object) {
        Some(Object::Policy(policy)) => Ok(Json(policy.tree())),
        Some(_) => Err(ApiError::internal(format!("{key} is stored as another kind of object"))),
        None => Err(ApiError::not_found(format!("{key} does not exist"))),
    }
}

// ---------------------------------------------------------------- layers

pub async fn object_layers(state: AppState, c: &'static Collection, params: HashMap<String, String>) -> ApiResult<Json<ObjectLayers>> {
    let key = key_from_path(c, &params)?;
    let layers = state.reader().layers(&key).await?;
    if layers.is_empty() {
        return Err(ApiError::not_found(format!("{key} does not exist in any layer")));
    }
    let form = |layer: Layer| layers.iter().find(|l| l.layer == layer);
    let effective = state.reader().stored(&key).await?.map(stored);
    Ok(Json(ObjectLayers {
        kind: key.kind.code().into(),
        key: key.name.clone(),
        code: form(Layer::Code).and_then(|l| l.object.as_ref()).map(Object::to_body),
        database: form(Layer::Database).and_then(|l| l.object.as_ref()).map(Object::to_body),
        hidden: form(Layer::Database).is_some_and(|l| l.object.is_none()),
        effective,
    }))
}

pub async fn customizations(State(state): State<AppState>) -> ApiResult<Json<CustomizationList>> {
    let items = state
        .reader()
        .customizations()
        .await?
        .into_iter()
        .map(|c| Customization { kind: c.key.kind.code().into(), key: c.key.name, hidden: c.hidden, overrides_code: c.overrides_code, revision: c.revision })
        .collect();
    Ok(Json(CustomizationList { items }))
}

pub async fn remove_customizations(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<crate::problem::JsonObject<RemoveCustomizations>, crate::problem::ApiError>,
) -> ApiResult<Json<CustomizationsRemoved>> {
    let crate::problem::JsonObject(req) = body?;
    let p = caller.principal()?;
    let keys = req
        .objects
        .iter()
        .map(|o| {
            let kind = ObjectKind::from_code(&o.kind)
                .filter(|k| k.is_deployable())
                .ok_or_else(|| ApiError::unprocessable(format!("objects: '{}' is not a kind of security object", o.kind)))?;
            Ok(ObjectRef::new(kind, o.key.clone()))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let outcome = state.warden(&p.actor(), &caller.origin).remove_customizations(&keys).await?;
    let removed = outcome.removed.into_iter().map(|k| ObjectName { kind: k.kind.code().into(), key: k.name }).collect();
    Ok(Json(CustomizationsRemoved { removed, revision: outcome.revision }))
}

/// `GET /security-config`: the database layer as D365's security configuration file.
pub async fn security_config(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Response> {
    let p = caller.principal()?;
    let (xml, _warnings, _revision) = state.warden(&p.actor(), &caller.origin).security_config_xml().await?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}

/// `POST /security-config/import`: the body is the file (`application/xml`).
pub async fn import_security_config(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<SecurityConfigImported>> {
    let xml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "application/xml" | "text/xml"));
    if !xml {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Expected request with `Content-Type: application/xml`"));
    }
    let p = caller.principal()?;
    let o = state
        .warden(&p.actor(), &caller.origin)
        .import_security_config_bytes(std::path::Path::new("request body"), &body)
        .await?;
    Ok(Json(SecurityConfigImported {
        customized: o.customized,
        new: o.new,
        disabled: o.disabled,
        written: o.written,
        unchanged: o.unchanged,
        warnings: o.warnings,
        unresolved: o.unresolved,
        changed: o.changed,
        revision: o.revision,
    }))
}

impl Caller {
    pub fn principal(&self) -> ApiResult<&Principal> {
        self.principal.as_ref().ok_or_else(|| ApiError::unauthorized("sign in, or send `Authorization: Bearer <token>`"))
    }
}
