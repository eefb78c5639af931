//! Temporary role sessions and privileged user sessions: lists by status,
//! the request forms, each session's page with its actions (approve, reject,
//! cancel, process) and its logs as D365 shows them on the session form
//! (audit log, user log, user role change log) and, for privileged sessions,
//! the recording (the HTML transcript to read, JSON Lines to download).
//!
//! Every move goes through the session services of `warden_core`, which are
//! the rules: only system administrators act, the approver is not the
//! requester, an approval that breaks segregation of duties needs a reason
//! for override. The pages mirror the API's area checks
//! (`warden_server::sessions_api`) and show the services' refusals at the
//! form they concern.

use crate::form::{Nothing, Submitted, given};
use crate::layout::{self, REQUIRED, TEXT};
use crate::{encode, see_other, Failure, PageResult, Viewer};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::Deserialize;
use std::ops::Bound;
use warden_core::sessions::{Family, PrivilegedDecision, ProcessOutcome, SessionLog};
use warden_core::CoreError;
use warden_model::{
    Access, AccountAction, ObjectKind, PrivilegedSession, PrivilegedSessionRequest, PrivilegedStatus, SessionType, StatusChange, TempRoleSession,
    TempSessionRequest, TempStatus, Timestamp,
};
use warden_server::builtin::Area;
use warden_server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions/temporary", get(temp_list).post(temp_create))
        .route("/sessions/temporary/{id}", get(temp_page))
        .route("/sessions/temporary/{id}/approve", post(temp_approve))
        .route("/sessions/temporary/{id}/cancel", post(temp_cancel))
        .route("/sessions/temporary/{id}/process", post(|p: Path<String>, s: Submitted<Nothing>| process(Family::Temp, p, s)))
        .route("/sessions/privileged", get(privileged_list).post(privileged_create))
        .route("/sessions/privileged/{id}", get(privileged_page))
        .route("/sessions/privileged/{id}/approve", post(|p: Path<String>, s: Submitted<NoteForm>| decide(PrivilegedDecision::Approve, p, s)))
        .route("/sessions/privileged/{id}/reject", post(|p: Path<String>, s: Submitted<NoteForm>| decide(PrivilegedDecision::Reject, p, s)))
        .route("/sessions/privileged/{id}/cancel", post(|p: Path<String>, s: Submitted<NoteForm>| decide(PrivilegedDecision::Cancel, p, s)))
        .route("/sessions/privileged/{id}/process", post(|p: Path<String>, s: Submitted<Nothing>| process(Family::Privileged, p, s)))
        .route("/sessions/privileged/{id}/recording", get(recording))
}

/// Sessions per list page.
const PAGE: usize = 50;
/// Recording events per page of the recording tab.
const EVENTS_PAGE: usize = 50;

/// The list path of a family (also its navigation entry).
fn base(family: Family) -> &'static str {
    match family {
        Family::Temp => "/sessions/temporary",
        Family::Privileged => "/sessions/privileged",
    }
}

fn href(family: Family, id: &str) -> String {
    format!("{}/{}", base(family), encode(id))
}

fn title_of(family: Family) -> &'static str {
    match family {
        Family::Temp => "Temporary role sessions",
        Family::Privileged => "Privileged user sessions",
    }
}

fn statuses(family: Family) -> Vec<&'static str> {
    match family {
        Family::Temp => TempStatus::ALL.iter().map(|s| s.as_str()).collect(),
        Family::Privileged => PrivilegedStatus::ALL.iter().map(|s| s.as_str()).collect(),
    }
}

/// What the lists and the session page show of a session of either family.
struct Row<'a> {
    id: &'a str,
    user: &'a str,
    status: &'static str,
    /// The roles (temporary) or the account action (privileged).
    what: String,
    start: Timestamp,
    end: Timestamp,
    requested_by: &'a str,
    approved_by: Option<&'a str>,
    reason: Option<&'a str>,
    history: &'a [StatusChange],
}

impl<'a> Row<'a> {
    fn temp(s: &'a TempRoleSession) -> Row<'a> {
        let what = format!("{} ({})", s.roles.join(", "), s.session_type.as_str());
        Row {
            id: &s.id,
            user: &s.user,
            status: s.status.as_str(),
            what,
            start: s.start,
            end: s.end,
            requested_by: &s.requested_by,
            approved_by: s.approved_by.as_deref(),
            reason: s.reason.as_deref(),
            history: &s.history,
        }
    }

    fn privileged(s: &'a PrivilegedSession) -> Row<'a> {
        Row {
            id: &s.id,
            user: &s.user,
            status: s.status.as_str(),
            what: format!("{} the account", s.action.as_str()),
            start: s.start,
            end: s.end,
            requested_by: &s.requested_by,
            approved_by: s.approved_by.as_deref(),
            reason: s.reason.as_deref(),
            history: &s.history,
        }
    }
}

/// Which sessions a list shows: a status, and the search box over id, user,
/// roles or action, requester, approver and reason (case-insensitive). Read
/// straight off the sessions, nothing built per session: every list request
/// passes over all of them once to count.
struct Filter<'q> {
    status: Option<&'q str>,
    /// Lowercase; empty: no search.
    needle: String,
}

impl Filter<'_> {
    fn is_empty(&self) -> bool {
        self.status.is_none() && self.needle.is_empty()
    }

    fn searched<'s>(&self, mut texts: impl Iterator<Item = &'s str>) -> bool {
        self.needle.is_empty() || texts.any(|t| contains_ci(t, &self.needle))
    }

    fn temp(&self, s: &TempRoleSession) -> bool {
        self.status.is_none_or(|t| s.status.as_str() == t)
            && self.searched(
                [s.id.as_str(), &s.user, &s.requested_by, s.session_type.as_str()]
                    .into_iter()
                    .chain(s.roles.iter().map(String::as_str))
                    .chain(s.approved_by.as_deref())
                    .chain(s.reason.as_deref()),
            )
    }

    fn privileged(&self, s: &PrivilegedSession) -> bool {
        self.status.is_none_or(|t| s.status.as_str() == t)
            && self.searched([s.id.as_str(), &s.user, &s.requested_by, s.action.as_str()].into_iter().chain(s.approved_by.as_deref()).chain(s.reason.as_deref()))
    }
}

/// Whether `hay` contains `needle` (lowercase), ignoring case; without allocating for ASCII text.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        !needle.is_empty() && hay.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

// ---------------------------------------------------------------- lists

#[derive(Deserialize, Default)]
pub struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    /// Paging: the sessions listed before this id (newest first).
    before: Option<String>,
    done: Option<String>,
}

pub async fn temp_list(Extension(v): Extension<Viewer>, Query(q): Query<ListQuery>) -> PageResult {
    list(&v, Family::Temp, &q, None)
}

pub async fn privileged_list(Extension(v): Extension<Viewer>, Query(q): Query<ListQuery>) -> PageResult {
    list(&v, Family::Privileged, &q, None)
}

/// A failed request form, to draw again with its errors.
enum Failed<'a> {
    Temp(&'a TempDraft, &'a Errors),
    Privileged(&'a PrivilegedDraft, &'a Errors),
}

fn list(v: &Viewer, family: Family, q: &ListQuery, failed: Option<(StatusCode, Failed)>) -> PageResult {
    v.require(Area::Sessions, Access::Read)?;
    let status = q.status.as_deref().map(str::trim).filter(|s| !s.is_empty() && *s != "all");
    if let Some(s) = status
        && !statuses(family).contains(&s)
    {
        return Err(Failure::BadRequest(format!("status: '{s}' is not one of {}", statuses(family).join(", "))));
    }
    let text = q.q.clone().unwrap_or_default();
    let filter = Filter { status, needle: text.trim().to_lowercase() };
    let m = &v.snapshot.model;
    let upper = q.before.as_ref().map_or(Bound::Unbounded, |b| Bound::Excluded(b.clone()));
    // Newest first: ids grow with each request (TRS-000001, TRS-000002, ...).
    let (total, mut rows): (usize, Vec<Row>) = match family {
        Family::Temp => (
            if filter.is_empty() { m.temp_role_sessions.len() } else { m.temp_role_sessions.values().filter(|s| filter.temp(s)).count() },
            m.temp_role_sessions.range((Bound::Unbounded, upper)).rev().map(|(_, s)| s).filter(|s| filter.temp(s)).take(PAGE + 1).map(Row::temp).collect(),
        ),
        Family::Privileged => (
            if filter.is_empty() { m.privileged_sessions.len() } else { m.privileged_sessions.values().filter(|s| filter.privileged(s)).count() },
            m.privileged_sessions.range((Bound::Unbounded, upper)).rev().map(|(_, s)| s).filter(|s| filter.privileged(s)).take(PAGE + 1).map(Row::privileged).collect(),
        ),
    };
    let next = (rows.len() > PAGE).then(|| {
        rows.truncate(PAGE);
        let last = rows.last().map_or("", |r| r.id);
        format!("{}?status={}&q={}&before={}", base(family), encode(status.unwrap_or("")), encode(&text), encode(last))
    });
    let mut options = vec![("all", "All")];
    options.extend(statuses(family).into_iter().map(|s| (s, s)));
    let (code, failed) = match failed {
        Some((code, f)) => (code, Some(f)),
        None => (StatusCode::OK, None),
    };
    let body = html! {
        (layout::notice(done_text(q.done.as_deref())))
        form.card.row method="get" action=(base(family)) role="search" {
            (layout::select("Status", "status", &options, status.unwrap_or("all")))
            (layout::field("Search by id, user, role, requester or reason", "q", &text, None, TEXT))
            div.actions { button type="submit" { "Search" } }
        }
        (layout::table(title_of(family), &["Session", "User", match family { Family::Temp => "Roles (type)", Family::Privileged => "Action" }, "Start", "End", "Status", "Requested by", "Approved by"], html! {
            @for r in &rows {
                tr {
                    td { a href=(href(family, r.id)) { (r.id) } }
                    td { a href=(format!("/users/{}", encode(r.user))) { (r.user) } }
                    td { (r.what) }
                    td { (r.start) }
                    td { (r.end) }
                    td { (layout::badge(r.status)) }
                    td { (r.requested_by) }
                    td { (r.approved_by.unwrap_or("")) }
                }
            }
        }))
        @if rows.is_empty() { p { "No session matches." } }
        (layout::pager(rows.len(), Some(total), next))
        @if v.can(Area::Sessions, Access::Create) {
            h2 { "New " (match family { Family::Temp => "temporary role session", Family::Privileged => "privileged user session" }) }
            @match (family, failed) {
                (Family::Temp, Some(Failed::Temp(d, e))) => (temp_form(v, d, e)),
                (Family::Temp, _) => (temp_form(v, &TempDraft::new(v.now), &Errors::default())),
                (Family::Privileged, Some(Failed::Privileged(d, e))) => (privileged_form(v, d, e)),
                (Family::Privileged, _) => (privileged_form(v, &PrivilegedDraft::new(v.now), &Errors::default())),
            }
        }
    };
    Ok((code, Html(layout::page(v, base(family), title_of(family), body).into_string())).into_response())
}

/// The notice after a successful action (post/redirect/get).
fn done_text(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("Session requested (draft). Another system administrator must approve it."),
        "approved" => Some("Approved. The session is in force from its start."),
        "rejected" => Some("Rejected."),
        "cancelled" => Some("Cancelled."),
        "processed" => Some("Processed: the transitions that were due were made (see the audit log)."),
        "nothing" => Some("Processed: nothing was due for this session."),
        "refused" => Some("Processed: the start was refused and the session went back to draft (see the audit log)."),
        _ => None,
    }
}

// ---------------------------------------------------------------- request forms

/// Errors of a submitted form, by field.
#[derive(Default)]
struct Errors {
    user: Option<String>,
    roles: Option<String>,
    organizations: Option<String>,
    start: Option<String>,
    end: Option<String>,
    form: Option<String>,
}

impl Errors {
    fn any(&self) -> bool {
        self.user.is_some() || self.roles.is_some() || self.organizations.is_some() || self.start.is_some() || self.end.is_some() || self.form.is_some()
    }
}

/// A time as a `datetime-local` input sends it (`2026-03-01T08:30`, read as
/// UTC, as the label says), or any form [`Timestamp::parse`] reads.
fn parse_time(text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("Enter a time.".into());
    }
    Timestamp::parse(t)
        .or_else(|e| match t.len() {
            16 => Timestamp::parse(&format!("{t}:00Z")).map_err(|_| e),
            19 => Timestamp::parse(&format!("{t}Z")).map_err(|_| e),
            _ => Err(e),
        })
        .map_err(|e| e.to_string())
}

/// A time for a `datetime-local` input: `YYYY-MM-DDTHH:MM` in UTC.
fn local_input(t: Timestamp) -> String {
    let text = t.to_string();
    text.get(..16).unwrap_or(&text).to_string()
}

/// The next whole minute and four hours after it: a window to start from.
fn default_window(now: Timestamp) -> (String, String) {
    let start = Timestamp(now.0 - now.0.rem_euclid(60_000) + 60_000);
    (local_input(start), local_input(Timestamp(start.0 + 4 * 3_600_000)))
}

fn names(text: &str) -> Vec<String> {
    text.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// Puts a refusal of a request at the field it concerns.
fn request_errors(e: CoreError) -> Errors {
    let text = e.to_string();
    match e {
        CoreError::Unknown { kind: ObjectKind::User, .. } => Errors { user: Some(text), ..Default::default() },
        CoreError::Unknown { kind: ObjectKind::Role, .. } => Errors { roles: Some(text), ..Default::default() },
        CoreError::Unknown { kind: ObjectKind::Organization, .. } => Errors { organizations: Some(text), ..Default::default() },
        CoreError::InvalidInput(m) if m.contains("role") => Errors { roles: Some(m), ..Default::default() },
        CoreError::InvalidInput(m) => Errors { end: Some(m), ..Default::default() },
        _ => Errors { form: Some(text), ..Default::default() },
    }
}

fn refusal_status(e: &CoreError) -> StatusCode {
    match e {
        CoreError::NotPermitted(_) => StatusCode::FORBIDDEN,
        CoreError::Unknown { .. } | CoreError::InvalidInput(_) => StatusCode::UNPROCESSABLE_ENTITY,
        CoreError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::CONFLICT,
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct TempDraft {
    #[serde(default)]
    user: String,
    #[serde(default)]
    roles: String,
    #[serde(default)]
    organizations: String,
    #[serde(default, rename = "type")]
    session_type: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    reason: Option<String>,
}

impl TempDraft {
    fn new(now: Timestamp) -> TempDraft {
        let (start, end) = default_window(now);
        TempDraft { session_type: "merge".into(), start, end, ..Default::default() }
    }
}

fn window_fields(d_start: &str, d_end: &str, e: &Errors) -> Markup {
    html! {
        div.row {
            (layout::field("Start (UTC)", "start", d_start, e.start.as_deref(), REQUIRED.kind("datetime-local")))
            (layout::field("End (UTC)", "end", d_end, e.end.as_deref(), REQUIRED.kind("datetime-local")))
        }
    }
}

fn temp_form(v: &Viewer, d: &TempDraft, e: &Errors) -> Markup {
    html! {
        form.card method="post" action=(base(Family::Temp)) novalidate {
            (layout::csrf(v))
            @if let Some(err) = &e.form { p.error role="alert" { (err) } }
            (layout::field("User", "user", &d.user, e.user.as_deref(), REQUIRED))
            (layout::field("Roles (separated by commas)", "roles", &d.roles, e.roles.as_deref(), REQUIRED))
            (layout::field("Organizations (separated by commas; empty: everywhere)", "organizations", &d.organizations, e.organizations.as_deref(), TEXT))
            (layout::select("Type", "type", &[("merge", "Merge: added to the user's own roles"), ("replace", "Replace: only the session's roles count")], &d.session_type))
            (window_fields(&d.start, &d.end, e))
            (layout::field("Reason", "reason", d.reason.as_deref().unwrap_or(""), None, TEXT))
            div.actions { button type="submit" { "Request session" } }
        }
    }
}

pub async fn temp_create(Submitted(v, d): Submitted<TempDraft>) -> PageResult {
    v.require(Area::Sessions, Access::Create)?;
    let mut e = Errors::default();
    if d.user.trim().is_empty() {
        e.user = Some("Enter the user the session is for.".into());
    }
    let roles = names(&d.roles);
    if roles.is_empty() {
        e.roles = Some("Enter at least one role.".into());
    }
    let session_type = d.session_type.parse::<SessionType>().map_err(|x| e.form = Some(x.to_string())).ok();
    let start = parse_time(&d.start).map_err(|x| e.start = Some(x)).ok();
    let end = parse_time(&d.end).map_err(|x| e.end = Some(x)).ok();
    let request = match (session_type, start, end) {
        (Some(session_type), Some(start), Some(end)) if !e.any() => TempSessionRequest {
            user: d.user.trim().to_string(),
            roles,
            organizations: names(&d.organizations),
            session_type,
            start,
            end,
            reason: given(&d.reason).map(str::to_string),
        },
        _ => return list(&v, Family::Temp, &ListQuery::default(), Some((StatusCode::UNPROCESSABLE_ENTITY, Failed::Temp(&d, &e)))),
    };
    match v.warden().new_temp_session(&request).await {
        Ok(out) => Ok(see_other(&format!("{}?done=created", href(Family::Temp, &out.session.id)))),
        Err(err) => {
            let code = refusal_status(&err);
            let e = request_errors(err);
            list(&v, Family::Temp, &ListQuery::default(), Some((code, Failed::Temp(&d, &e))))
        }
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct PrivilegedDraft {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    reason: Option<String>,
}

impl PrivilegedDraft {
    fn new(now: Timestamp) -> PrivilegedDraft {
        let (start, end) = default_window(now);
        PrivilegedDraft { action: "enable".into(), start, end, ..Default::default() }
    }
}

fn privileged_form(v: &Viewer, d: &PrivilegedDraft, e: &Errors) -> Markup {
    html! {
        form.card method="post" action=(base(Family::Privileged)) novalidate {
            (layout::csrf(v))
            @if let Some(err) = &e.form { p.error role="alert" { (err) } }
            (layout::field("User", "user", &d.user, e.user.as_deref(), REQUIRED))
            (layout::select("Account action at the start (undone at the end)", "action", &[("enable", "Enable the account"), ("disable", "Disable the account")], &d.action))
            (window_fields(&d.start, &d.end, e))
            p.muted { "A privileged user session lasts at most 24 hours; what the user does in it is recorded." }
            (layout::field("Reason", "reason", d.reason.as_deref().unwrap_or(""), None, TEXT))
            div.actions { button type="submit" { "Request session" } }
        }
    }
}

pub async fn privileged_create(Submitted(v, d): Submitted<PrivilegedDraft>) -> PageResult {
    v.require(Area::Sessions, Access::Create)?;
    let mut e = Errors::default();
    if d.user.trim().is_empty() {
        e.user = Some("Enter the user the session is for.".into());
    }
    let action = d.action.parse::<AccountAction>().map_err(|x| e.form = Some(x.to_string())).ok();
    let start = parse_time(&d.start).map_err(|x| e.start = Some(x)).ok();
    let end = parse_time(&d.end).map_err(|x| e.end = Some(x)).ok();
    let request = match (action, start, end) {
        (Some(action), Some(start), Some(end)) if !e.any() => {
            PrivilegedSessionRequest { user: d.user.trim().to_string(), start, end, action, reason: given(&d.reason).map(str::to_string) }
        }
        _ => return list(&v, Family::Privileged, &ListQuery::default(), Some((StatusCode::UNPROCESSABLE_ENTITY, Failed::Privileged(&d, &e)))),
    };
    match v.warden().new_privileged_session(&request).await {
        Ok(out) => Ok(see_other(&format!("{}?done=created", href(Family::Privileged, &out.session.id)))),
        Err(err) => {
            let code = refusal_status(&err);
            let e = request_errors(err);
            list(&v, Family::Privileged, &ListQuery::default(), Some((code, Failed::Privileged(&d, &e))))
        }
    }
}

// ---------------------------------------------------------------- a session's page

#[derive(Deserialize, Default)]
pub struct PageQuery {
    tab: Option<String>,
    done: Option<String>,
    /// Recording tab: the events before this many are skipped.
    skip: Option<usize>,
}

/// An action the service refused, shown at its form.
struct Refusal {
    /// `approve`, `reject`, `cancel`, `process`.
    action: &'static str,
    message: String,
    /// Segregation-of-duties conflicts an approval would create: the rules, and the override field.
    conflicts: Vec<String>,
    status: StatusCode,
}

impl Refusal {
    fn of(action: &'static str, e: CoreError) -> Refusal {
        let status = refusal_status(&e);
        let conflicts = match &e {
            CoreError::SodConflicts(found) => found.iter().map(ToString::to_string).collect(),
            _ => Vec::new(),
        };
        let message = match &e {
            CoreError::SodConflicts(_) => "Approving would give the user both sides of segregation-of-duties rules:".to_string(),
            _ => e.to_string(),
        };
        Refusal { action, message, conflicts, status }
    }
}

pub async fn temp_page(Extension(v): Extension<Viewer>, Path(id): Path<String>, Query(q): Query<PageQuery>) -> PageResult {
    session_page(&v, Family::Temp, &id, &q, None).await
}

pub async fn privileged_page(Extension(v): Extension<Viewer>, Path(id): Path<String>, Query(q): Query<PageQuery>) -> PageResult {
    session_page(&v, Family::Privileged, &id, &q, None).await
}

/// The session (any case of its id), or a not-found page.
enum Found<'a> {
    Temp(&'a TempRoleSession),
    Privileged(&'a PrivilegedSession),
}

fn find<'a>(v: &'a Viewer, family: Family, id: &str) -> Result<Found<'a>, Failure> {
    let m = &v.snapshot.model;
    Ok(match family {
        Family::Temp => Found::Temp(warden_core::sessions::temp(m, id)?),
        Family::Privileged => Found::Privileged(warden_core::sessions::privileged(m, id)?),
    })
}

async fn session_page(v: &Viewer, family: Family, id: &str, q: &PageQuery, refusal: Option<Refusal>) -> PageResult {
    v.require(Area::Sessions, Access::Read)?;
    let found = find(v, family, id)?;
    let row = match &found {
        Found::Temp(s) => Row::temp(s),
        Found::Privileged(s) => Row::privileged(s),
    };
    let tabs: &[(&str, &str)] = match family {
        Family::Temp => &[("audit", "Audit log"), ("user", "User log"), ("roles", "User role change log")],
        Family::Privileged => &[("audit", "Audit log"), ("user", "User log"), ("recording", "Recording")],
    };
    let tab = q.tab.as_deref().filter(|t| tabs.iter().any(|(k, _)| k == t)).unwrap_or("audit");
    let here = href(family, row.id);
    let tab_body = match tab {
        "user" | "roles" => match v.warden().session_log(family, row.id).await {
            Ok(log) => log_tab(tab, &log, &row),
            Err(e) => html! { p.error role="alert" { (e) } },
        },
        "recording" => recording_tab(v, row.id, &here, q.skip.unwrap_or(0)).await,
        _ => audit_tab(row.history),
    };
    let status = refusal.as_ref().map_or(StatusCode::OK, |r| r.status);
    let body = html! {
        (layout::notice(done_text(q.done.as_deref())))
        p { "Status: " (layout::badge(row.status)) }
        dl.details {
            dt { "User" } dd { a href=(format!("/users/{}", encode(row.user))) { (row.user) } }
            @match &found {
                Found::Temp(s) => {
                    dt { "Roles" } dd { @for (i, r) in s.roles.iter().enumerate() { @if i > 0 { ", " } a href=(format!("/security/role/{}", encode(r))) { (r) } } }
                    dt { "Organizations" } dd { @if s.organizations.is_empty() { "everywhere" } @else { (s.organizations.join(", ")) } }
                    dt { "Type" } dd { (s.session_type.as_str()) @match s.session_type { SessionType::Merge => " (added to the user's own roles)", SessionType::Replace => " (the user's own roles are suspended)" } }
                }
                Found::Privileged(s) => {
                    dt { "Action" } dd { (s.action.as_str()) " the account at the start; restored at the end" }
                    @if let Some(e) = s.original_enabled { dt { "Account before the session" } dd { @if e { "enabled" } @else { "disabled" } } }
                }
            }
            dt { "Window (UTC)" } dd { (row.start) " to " (row.end) }
            dt { "Reason" } dd { (row.reason.unwrap_or("—")) }
            dt { "Requested by" } dd { (row.requested_by) }
            dt { "Approved by" } dd { (row.approved_by.unwrap_or("—")) }
            @if let Found::Temp(s) = &found {
                @if let Some(r) = &s.override_reason { dt { "Reason for override (segregation of duties)" } dd { (r) } }
            }
        }
        (actions(v, family, &found, &here, refusal.as_ref()))
        nav aria-label="Session logs" {
            ul.tabs {
                @for (key, label) in tabs {
                    li {
                        @if *key == tab {
                            a href=(format!("{here}?tab={key}")) aria-current="page" { (label) }
                        } @else {
                            a href=(format!("{here}?tab={key}")) { (label) }
                        }
                    }
                }
            }
        }
        (tab_body)
    };
    let title = format!("{} {}", match family { Family::Temp => "Temporary role session", Family::Privileged => "Privileged user session" }, row.id);
    Ok((status, Html(layout::page(v, base(family), &title, body).into_string())).into_response())
}

/// The moves the session's status allows and the user's roles permit.
fn actions(v: &Viewer, family: Family, found: &Found, here: &str, refusal: Option<&Refusal>) -> Markup {
    let update = v.can(Area::Sessions, Access::Update);
    let invoke = v.can(Area::Sessions, Access::Invoke);
    let not_started = v.now < match found {
        Found::Temp(s) => s.start,
        Found::Privileged(s) => s.start,
    };
    let (approve, reject, cancel, process) = match found {
        Found::Temp(s) => (
            s.status == TempStatus::Draft,
            false,
            s.status == TempStatus::Draft || (s.status == TempStatus::Planned && not_started),
            matches!(s.status, TempStatus::Planned | TempStatus::Active),
        ),
        Found::Privileged(s) => (
            s.status == PrivilegedStatus::Draft,
            s.status == PrivilegedStatus::Draft,
            s.status == PrivilegedStatus::Draft || (s.status == PrivilegedStatus::Approved && not_started),
            matches!(s.status, PrivilegedStatus::Approved | PrivilegedStatus::Active),
        ),
    };
    let refused = |action: &str| refusal.filter(|r| r.action == action);
    let shown = (update && (approve || reject || cancel)) || (invoke && process) || refusal.is_some();
    html! {
        @if shown {
            h2 { "Actions" }
            @if let Some(r) = refusal.filter(|r| !["approve", "reject", "cancel", "process"].contains(&r.action)) { p.error role="alert" { (r.message) } }
            div.side-by-side {
                @if update && approve {
                    form.card method="post" action=(format!("{here}/approve")) {
                        (layout::csrf(v))
                        h3 { "Approve" }
                        p.muted { "Another system administrator than the requester approves." }
                        @if let Some(r) = refused("approve") {
                            p.error role="alert" { (r.message) }
                            @if !r.conflicts.is_empty() {
                                ul.error { @for c in &r.conflicts { li { (c) } } }
                                @if family == Family::Temp {
                                    p.muted { "To approve anyway, say why these conflicts are allowed (recorded in the conflicts register); otherwise cancel the session and request other roles." }
                                    (layout::field("Reason for override", "override_reason", "", None, REQUIRED))
                                }
                            }
                        }
                        @if family == Family::Privileged { (layout::field("Note (optional)", "note", "", None, TEXT)) }
                        div.actions { button type="submit" { @if refused("approve").is_some_and(|r| !r.conflicts.is_empty()) { "Approve with override" } @else { "Approve" } } }
                    }
                }
                @if update && reject {
                    form.card method="post" action=(format!("{here}/reject")) {
                        (layout::csrf(v))
                        h3 { "Reject" }
                        @if let Some(r) = refused("reject") { p.error role="alert" { (r.message) } }
                        (layout::field("Note (optional)", "note", "", None, TEXT))
                        div.actions { button.danger type="submit" { "Reject" } }
                    }
                }
                @if update && cancel {
                    form.card method="post" action=(format!("{here}/cancel")) {
                        (layout::csrf(v))
                        h3 { "Cancel" }
                        @if let Some(r) = refused("cancel") { p.error role="alert" { (r.message) } }
                        (layout::field("Note (optional)", "note", "", None, TEXT))
                        div.actions { button.secondary type="submit" { "Cancel session" } }
                    }
                }
                @if invoke && process {
                    form.card method="post" action=(format!("{here}/process")) {
                        (layout::csrf(v))
                        h3 { "Process" }
                        p.muted { "Makes now the start or end that is due (the background processor does it on its own)." }
                        @if let Some(r) = refused("process") { p.error role="alert" { (r.message) } }
                        div.actions { button.secondary type="submit" { "Process now" } }
                    }
                }
            }
        }
    }
}

fn audit_tab(history: &[StatusChange]) -> Markup {
    layout::table(
        "Audit log",
        &["When", "From", "To", "By", "Made by", "Note"],
        html! {
            @for h in history {
                tr {
                    td { (h.at) }
                    td { (h.from.as_deref().unwrap_or("—")) }
                    td { (layout::badge(&h.to)) }
                    td { (h.by) @if h.self_approval { " " (layout::badge("self-approval")) } }
                    td { @if h.batch { "batch process" } @else { "administrator" } }
                    td { (h.note.as_deref().unwrap_or("")) }
                }
            }
        },
    )
}

fn log_tab(tab: &str, log: &SessionLog, row: &Row) -> Markup {
    let started = row.history.iter().any(|h| h.to == "active");
    html! {
        @if !started { p.muted { "The session has not started: these logs cover the time it is active." } }
        @if tab == "roles" {
            @let changes = log.role_changes.as_deref().unwrap_or(&[]);
            (layout::table("User role change log", &["When", "Role", "Change", "By", "Action", "Audit event"], html! {
                @for c in changes {
                    tr {
                        td { (c.at) }
                        td { a href=(format!("/security/role/{}", encode(&c.role))) { (c.role) } }
                        td { (c.change) }
                        td { (c.actor) }
                        td { (c.action) }
                        td { (c.audit_seq) }
                    }
                }
            }))
            @if started && changes.is_empty() { p { "No change to the user's roles while the session was active." } }
        } @else {
            (layout::table("User log", &["When", "Event", "Source"], html! {
                @for e in &log.user_log {
                    tr { td { (e.at) } td { (e.event.replace('_', " ")) } td { (e.source.as_deref().unwrap_or("")) } }
                }
            }))
            @if started && log.user_log.is_empty() { p { "The user did not sign in while the session was active." } }
        }
    }
}

async fn recording_tab(v: &Viewer, id: &str, here: &str, skip: usize) -> Markup {
    let rec = match v.warden().recording(id).await {
        Ok(r) => r,
        Err(e) => return html! { p.error role="alert" { (e) } },
    };
    let shown: Vec<_> = rec.events.iter().skip(skip).take(EVENTS_PAGE).collect();
    let next = (skip + EVENTS_PAGE < rec.events.len()).then(|| format!("{here}?tab=recording&skip={}", skip + EVENTS_PAGE));
    html! {
        p { "Seal: " (layout::badge(rec.seal.name())) " " (rec.seal.describe()) }
        p.actions {
            a href=(format!("{here}/recording?format=html")) { "View the transcript (HTML)" }
            " · "
            a href=(format!("{here}/recording?format=jsonl")) download { "Download JSON Lines" }
        }
        (layout::table("Recording", &["When", "Kind", "Source", "Detail"], html! {
            @for e in &shown {
                tr {
                    td { (e.at) }
                    td { (e.kind) }
                    td { (e.source.as_deref().unwrap_or("")) }
                    td { code { (e.detail) } }
                }
            }
        }))
        @if rec.events.is_empty() { p { "Nothing recorded." } }
        @if skip > 0 { p { a href=(format!("{here}?tab=recording&skip={}", skip.saturating_sub(EVENTS_PAGE))) { "← Previous page" } } }
        (layout::pager(shown.len(), Some(rec.events.len()), next))
    }
}

#[derive(Deserialize)]
pub struct RecordingQuery {
    format: Option<String>,
}

/// The recording as a file: the HTML transcript to read (a document that
/// runs nothing) or JSON Lines, with the seal's verdict in headers, as the API serves it.
pub async fn recording(Extension(v): Extension<Viewer>, Path(id): Path<String>, Query(q): Query<RecordingQuery>) -> PageResult {
    v.require(Area::Sessions, Access::Read)?;
    let rec = v.warden().recording(&id).await?;
    let format = q.format.as_deref().unwrap_or("html");
    warden_server::sessions_api::recording_answer(&rec, format, warden_server::sessions_api::RecordingView::Inline)
        .ok_or_else(|| Failure::BadRequest(format!("format: '{format}' is not html or jsonl")))
}

// ---------------------------------------------------------------- actions

#[derive(Deserialize, Default)]
pub struct ApproveForm {
    #[serde(default)]
    override_reason: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NoteForm {
    #[serde(default)]
    note: Option<String>,
}

/// After a move: back to the session's page, or the page again with the refusal at its form.
async fn answer<T>(v: &Viewer, family: Family, id: &str, action: &'static str, done: &str, outcome: Result<T, CoreError>) -> PageResult {
    match outcome {
        Ok(_) => Ok(see_other(&format!("{}?done={done}", href(family, id)))),
        Err(e @ (CoreError::Unknown { .. } | CoreError::Store(_))) => Err(e.into()),
        Err(e) => session_page(v, family, id, &PageQuery::default(), Some(Refusal::of(action, e))).await,
    }
}

/// The session's stored id for a URL's (any case) id, or a not-found page.
fn stored_id(v: &Viewer, family: Family, id: &str) -> Result<String, Failure> {
    Ok(match find(v, family, id)? {
        Found::Temp(s) => s.id.clone(),
        Found::Privileged(s) => s.id.clone(),
    })
}

pub async fn temp_approve(Path(id): Path<String>, Submitted(v, f): Submitted<ApproveForm>) -> PageResult {
    v.require(Area::Sessions, Access::Update)?;
    let id = stored_id(&v, Family::Temp, &id)?;
    let outcome = v.warden().approve_temp_session(&id, given(&f.override_reason)).await;
    answer(&v, Family::Temp, &id, "approve", "approved", outcome).await
}

pub async fn temp_cancel(Path(id): Path<String>, Submitted(v, f): Submitted<NoteForm>) -> PageResult {
    v.require(Area::Sessions, Access::Update)?;
    let id = stored_id(&v, Family::Temp, &id)?;
    let outcome = v.warden().cancel_temp_session(&id, given(&f.note)).await;
    answer(&v, Family::Temp, &id, "cancel", "cancelled", outcome).await
}

async fn decide(decision: PrivilegedDecision, Path(id): Path<String>, Submitted(v, f): Submitted<NoteForm>) -> PageResult {
    v.require(Area::Sessions, Access::Update)?;
    let id = stored_id(&v, Family::Privileged, &id)?;
    let outcome = v.warden().decide_privileged_session(&id, decision, given(&f.note)).await;
    let (action, done) = match decision {
        PrivilegedDecision::Approve => ("approve", "approved"),
        PrivilegedDecision::Reject => ("reject", "rejected"),
        PrivilegedDecision::Cancel => ("cancel", "cancelled"),
    };
    answer(&v, Family::Privileged, &id, action, done, outcome).await
}

async fn process(family: Family, Path(id): Path<String>, Submitted(v, Nothing {}): Submitted<Nothing>) -> PageResult {
    v.require(Area::Sessions, Access::Invoke)?;
    let id = stored_id(&v, family, &id)?;
    let outcome = v.warden().process_session(family, &id).await;
    let done = match &outcome {
        Ok(ProcessOutcome { refused, .. }) if !refused.is_empty() => "refused",
        Ok(ProcessOutcome { transitions, .. }) if transitions.is_empty() => "nothing",
        _ => "processed",
    };
    answer(&v, family, &id, "process", done, outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_datetime_local_sends_them_in_utc() {
        let t = parse_time("2026-03-01T08:30").unwrap();
        assert_eq!(t, Timestamp::parse("2026-03-01T08:30:00Z").unwrap());
        assert_eq!(parse_time("2026-03-01T08:30:15").unwrap(), Timestamp::parse("2026-03-01T08:30:15Z").unwrap());
        assert_eq!(parse_time(" 2026-03-01T08:30:00+02:00 ").unwrap(), Timestamp::parse("2026-03-01T06:30:00Z").unwrap());
        assert_eq!(local_input(t), "2026-03-01T08:30");
        assert_eq!(parse_time("").unwrap_err(), "Enter a time.");
        assert!(parse_time("tomorrow").unwrap_err().contains("RFC 3339"));
        assert!(parse_time("2026-02-30T08:30").is_err());
    }

    #[test]
    fn the_default_window_starts_at_the_next_minute_and_lasts_four_hours() {
        let now = Timestamp::parse("2026-03-01T08:30:15Z").unwrap();
        assert_eq!(default_window(now), ("2026-03-01T08:31".to_string(), "2026-03-01T12:31".to_string()));
    }

    #[test]
    fn search_ignores_case() {
        assert!(contains_ci("VendInvoiceAccountsPayableClerk", "payable"));
        assert!(contains_ci("TRS-000042", "trs-000042"));
        assert!(!contains_ci("julia", "julian"));
        assert!(contains_ci("Überprüfung der Zahlungen", "überprüfung"));
        assert!(!contains_ci("anything", ""));
    }
}
