//! Users: the list with search and filters, onboarding, a user's page
//! (attributes, enable/disable, role assignments with organization scope and
//! validity, an SoD refusal with the override), and "view as user".

use crate::form::{Nothing, Submitted};
use crate::form::given;
use crate::layout::{self, REQUIRED, TEXT};
use crate::pages::check::{self, CheckQuery};
use crate::{encode, see_other, Failure, PageResult, Viewer};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;
use warden_core::CoreError;
use warden_model::{Access, Object, ObjectKind, ObjectRef, Timestamp, User, UserKind};
use warden_server::builtin::Area;
use warden_server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(onboard))
        .route("/users/{id}", get(user_page))
        .route("/users/{id}/edit", post(edit))
        .route("/users/{id}/enable", post(enable))
        .route("/users/{id}/disable", post(disable))
        .route("/users/{id}/assign", post(assign))
        .route("/users/{id}/revoke", post(revoke))
        .route("/users/{id}/view", get(view_as))
}

pub fn href(id: &str) -> String {
    format!("/users/{}", encode(id))
}

const PAGE: usize = 50;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    enabled: Option<String>,
    kind: Option<String>,
    role: Option<String>,
    org: Option<String>,
    after: Option<String>,
}


pub async fn list(Extension(v): Extension<Viewer>, Query(q): Query<ListQuery>) -> PageResult {
    Ok(Html(list_page(&v, &q, &NewUser::default(), None).into_string()).into_response())
}

fn list_page(v: &Viewer, q: &ListQuery, draft: &NewUser, error: Option<&FieldError>) -> Markup {
    let m = &v.snapshot.model;
    let text = given(&q.q).map(str::to_lowercase);
    let enabled = match given(&q.enabled) {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    let kind: Option<UserKind> = given(&q.kind).and_then(|k| k.parse().ok());
    let (role, org) = (given(&q.role), given(&q.org));
    let matches = |u: &User| {
        text.as_ref().is_none_or(|t| u.id.to_lowercase().contains(t) || u.name.as_ref().is_some_and(|n| n.to_lowercase().contains(t)))
            && enabled.is_none_or(|e| u.enabled == e)
            && kind.is_none_or(|k| u.kind == k)
            && (role.is_none() && org.is_none()
                || m.assignments.of(&u.id).iter().any(|a| {
                    role.is_none_or(|r| a.role.eq_ignore_ascii_case(r)) && org.is_none_or(|o| a.organizations.is_empty() || a.organizations.iter().any(|x| x.eq_ignore_ascii_case(o)))
                }))
    };
    let after = given(&q.after);
    let mut rows: Vec<&User> = match after {
        Some(a) => m.users.range::<std::ops::RangeFrom<String>, String>(a.to_string()..).map(|(_, u)| u).filter(|u| u.id != a).filter(|u| matches(u)).take(PAGE + 1).collect(),
        None => m.users.values().filter(|u| matches(u)).take(PAGE + 1).collect(),
    };
    let next = (rows.len() > PAGE).then(|| {
        rows.truncate(PAGE);
        let last = rows.last().map(|u| u.id.as_str()).unwrap_or_default();
        let keep = |name: &str, value: Option<&str>| value.map(|x| format!("&{name}={}", encode(x))).unwrap_or_default();
        format!(
            "/users?after={}{}{}{}{}{}",
            encode(last),
            keep("q", given(&q.q)),
            keep("enabled", given(&q.enabled)),
            keep("kind", given(&q.kind)),
            keep("role", role),
            keep("org", org)
        )
    });
    let body = html! {
        form.card method="get" action="/users" role="search" {
            div.row {
                (layout::field("Search by id or name", "q", given(&q.q).unwrap_or(""), None, TEXT))
                (layout::select("Enabled", "enabled", &[("", "Any"), ("yes", "Enabled"), ("no", "Disabled")], given(&q.enabled).unwrap_or("")))
                (layout::select("Type", "kind", &[("", "Any"), ("person", "Person"), ("service_account", "Service account")], given(&q.kind).unwrap_or("")))
                (layout::field("Role", "role", role.unwrap_or(""), None, TEXT))
                (layout::field("Organization", "org", org.unwrap_or(""), None, TEXT))
            }
            div.actions { button type="submit" { "Filter" } a href="/users" { "Clear" } }
        }
        (layout::table("Users", &["User", "Name", "Type", "Status", "Roles"], html! {
            @for u in &rows {
                tr {
                    td { a href=(href(&u.id)) { (u.id) } }
                    td { (u.name.as_deref().unwrap_or("")) }
                    td { (u.kind.as_str()) }
                    td { (layout::badge(if u.enabled { "Enabled" } else { "Disabled" })) }
                    td { (m.assignments.of(&u.id).len()) }
                }
            }
        }))
        @if rows.is_empty() { p { "No user matches." } }
        (layout::pager(rows.len(), None, next))
        @if v.can(Area::Users, Access::Create) {
            h2 { "Onboard a user" }
            form.card method="post" action="/users" {
                (layout::csrf(v))
                div.row {
                    (layout::field("User id", "id", &draft.id, error.filter(|e| e.field == "id").map(|e| e.text.as_str()), REQUIRED))
                    (layout::field("Name", "name", &draft.name, None, TEXT))
                    (layout::field("Email", "email", &draft.email, error.filter(|e| e.field == "email").map(|e| e.text.as_str()), TEXT.kind("email")))
                    (layout::select("Type", "kind", &[("person", "Person"), ("service_account", "Service account")], &draft.kind))
                }
                (attributes_field(&draft.attributes, error.filter(|e| e.field == "attributes").map(|e| e.text.as_str())))
                @if let Some(e) = error.filter(|e| e.field.is_empty()) { p.error role="alert" { (e.text) } }
                div.actions { button type="submit" { "Onboard" } }
            }
        }
    };
    layout::page(v, "/users", "Users", body)
}

fn attributes_field(value: &str, error: Option<&str>) -> Markup {
    html! {
        div.field {
            label for="f-attributes" { "Attributes" }
            textarea id="f-attributes" name="attributes" aria-describedby="f-attributes-help" aria-invalid=[error.map(|_| "true")] { (value) }
            span.muted id="f-attributes-help" { "One per line: name=value (department=Finance). Assignment rules select users by them." }
            @if let Some(e) = error { p.error role="alert" { (e) } }
        }
    }
}

/// A refusal, at the field it concerns (`""`: the whole form).
struct FieldError {
    field: &'static str,
    text: String,
}

#[derive(Deserialize, Default)]
pub struct NewUser {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    attributes: String,
    #[serde(default)]
    version: Option<u64>,
}

fn parse_attributes(text: &str) -> Result<BTreeMap<String, String>, FieldError> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let (k, v) = line.split_once('=').ok_or_else(|| FieldError { field: "attributes", text: format!("line {}: write name=value", n + 1) })?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

fn user_of(d: &NewUser, base: Option<&User>) -> Result<User, FieldError> {
    let mut u = base.cloned().unwrap_or_else(|| User::new(d.id.as_str()));
    u.name = Some(d.name.trim().to_string()).filter(|s| !s.is_empty());
    u.email = Some(d.email.trim().to_string()).filter(|s| !s.is_empty());
    u.kind = d.kind.parse().map_err(|e: warden_model::ParseEnumError| FieldError { field: "kind", text: e.to_string() })?;
    u.attributes = parse_attributes(&d.attributes)?;
    Ok(u)
}

fn field_of(e: CoreError) -> FieldError {
    let text = e.to_string();
    let field = match &e {
        CoreError::AlreadyExists { .. } | CoreError::LooksLike { .. } | CoreError::InvalidId(_) => "id",
        CoreError::InvalidField { field, .. } => field,
        _ => "",
    };
    FieldError { field, text }
}

pub async fn onboard(Submitted(v, d): Submitted<NewUser>) -> PageResult {
    v.require(Area::Users, Access::Create)?;
    let refused = |v: &Viewer, d: &NewUser, e: FieldError| Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(list_page(v, &ListQuery::default(), d, Some(&e)).into_string())).into_response());
    if d.id.trim().is_empty() {
        return refused(&v, &d, FieldError { field: "id", text: "Enter the user's id.".into() });
    }
    let user = match user_of(&d, None) {
        Ok(u) => u,
        Err(e) => return refused(&v, &d, e),
    };
    let id = user.id.clone();
    match v.warden().add_user(user).await {
        Ok(_) => Ok(see_other(&href(&id))),
        Err(e) => refused(&v, &d, field_of(e)),
    }
}

fn find<'a>(v: &'a Viewer, id: &str) -> Result<&'a User, Failure> {
    v.snapshot.user(id).map_err(Failure::from)
}

pub async fn user_page(Extension(v): Extension<Viewer>, Path(id): Path<String>) -> PageResult {
    v.require(Area::Users, Access::Read)?;
    Ok(Html(user_markup(&v, &id, None, None, None)?.into_string()).into_response())
}

#[derive(Deserialize, Default, Clone)]
pub struct AssignForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    organizations: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    #[serde(default)]
    override_reason: Option<String>,
}

/// The user's page; `assign_failed` and `edit_failed` re-show a refused form with its error.
fn user_markup(v: &Viewer, id: &str, assign_failed: Option<(&AssignForm, &FieldError, bool)>, edit_failed: Option<(&NewUser, &FieldError)>, notice: Option<&str>) -> Result<Markup, Failure> {
    let u = find(v, id)?;
    let m = &v.snapshot.model;
    let assignments = m.assignments.of(&u.id);
    let can_update = v.can(Area::Users, Access::Update);
    let can_assign = v.can(Area::Assignments, Access::Create);
    let can_revoke = v.can(Area::Assignments, Access::Delete);
    let base = href(&u.id);
    let edit_draft = NewUser {
        id: u.id.clone(),
        name: u.name.clone().unwrap_or_default(),
        email: u.email.clone().unwrap_or_default(),
        kind: u.kind.as_str().to_string(),
        attributes: u.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n"),
        version: None,
    };
    let (draft, edit_error) = match edit_failed {
        Some((d, e)) => (d, Some(e)),
        None => (&edit_draft, None),
    };
    let empty = AssignForm::default();
    let (assign_draft, assign_error, offer_override) = match assign_failed {
        Some((d, e, sod)) => (d, Some(e), sod),
        None => (&empty, None, false),
    };
    let body = html! {
        (layout::notice(notice))
        p {
            (layout::badge(if u.enabled { "Enabled" } else { "Disabled" })) " "
            (u.kind.as_str())
            @if let Some(n) = &u.name { " · " (n) }
            @if let Some(e) = &u.email { " · " (e) }
        }
        div.actions {
            @if v.can(Area::Analysis, Access::Read) { a href=(format!("{base}/view")) { "View as user" } }
            @if can_update {
                @if u.enabled { (layout::button(v, &format!("{base}/disable"), "Disable", "danger")) }
                @else { (layout::button(v, &format!("{base}/enable"), "Enable", "secondary")) }
            }
        }
        h2 { "Role assignments" }
        (layout::table("Role assignments", &["Role", "Organizations", "Valid from", "Valid to", "Made by", ""], html! {
            @for a in assignments {
                tr {
                    td { a href=(crate::pages::security::href(ObjectKind::Role, &a.role)) { (a.role) } }
                    td { @if a.organizations.is_empty() { span.muted { "all (global)" } } @else { (a.organizations.join(", ")) } }
                    td { (a.valid_from.map(|t| t.to_string()).unwrap_or_default()) }
                    td { (a.valid_to.map(|t| t.to_string()).unwrap_or_default()) }
                    td { (a.rule.as_deref().map_or("manual".to_string(), |r| format!("rule {r}"))) }
                    td {
                        @if can_revoke {
                            form.inline method="post" action=(format!("{base}/revoke")) {
                                (layout::csrf(v))
                                input type="hidden" name="role" value=(a.role);
                                button.secondary type="submit" aria-label=(format!("Revoke {}", a.role)) { "Revoke" }
                            }
                        }
                    }
                }
            }
        }))
        @if assignments.is_empty() { p { "No role assignments." } }
        @if can_assign {
            h3 { "Assign a role" }
            form.card method="post" action=(format!("{base}/assign")) {
                (layout::csrf(v))
                div.row {
                    (layout::field("Role", "role", &assign_draft.role, assign_error.filter(|e| e.field == "role").map(|e| e.text.as_str()), REQUIRED.list("roles")))
                    (layout::field("Organizations (comma-separated; empty: all)", "organizations", &assign_draft.organizations, assign_error.filter(|e| e.field == "organizations").map(|e| e.text.as_str()), TEXT))
                    (layout::field("Valid from (optional)", "valid_from", &assign_draft.valid_from, assign_error.filter(|e| e.field == "valid_from").map(|e| e.text.as_str()), TEXT.kind("date")))
                    (layout::field("Valid to (optional)", "valid_to", &assign_draft.valid_to, assign_error.filter(|e| e.field == "valid_to").map(|e| e.text.as_str()), TEXT.kind("date")))
                }
                datalist #roles { @for r in m.roles.keys() { option value=(r) {} } }
                @if let Some(e) = assign_error.filter(|e| e.field.is_empty()) { p.error role="alert" { (e.text) } }
                @if offer_override {
                    (layout::field("Override reason (allows the conflict and records it in the conflicts register)", "override_reason", assign_draft.override_reason.as_deref().unwrap_or(""), None, REQUIRED))
                }
                div.actions { button type="submit" { @if offer_override { "Assign with override" } @else { "Assign" } } }
            }
        }
        h2 { "Attributes" }
        @if u.attributes.is_empty() { p.muted { "None." } }
        dl { @for (k, val) in &u.attributes { dt { (k) } dd { (val) } } }
        @if can_update {
            h3 { "Edit" }
            form.card method="post" action=(format!("{base}/edit")) {
                (layout::csrf(v))
                input type="hidden" name="id" value=(u.id);
                div.row {
                    (layout::field("Name", "name", &draft.name, None, TEXT))
                    (layout::field("Email", "email", &draft.email, edit_error.filter(|e| e.field == "email").map(|e| e.text.as_str()), TEXT.kind("email")))
                    (layout::select("Type", "kind", &[("person", "Person"), ("service_account", "Service account")], &draft.kind))
                }
                (attributes_field(&draft.attributes, edit_error.filter(|e| e.field == "attributes").map(|e| e.text.as_str())))
                @if let Some(e) = edit_error.filter(|e| !matches!(e.field, "email" | "attributes")) { p.error role="alert" { (e.text) } }
                div.actions { button type="submit" { "Save" } }
            }
        }
    };
    Ok(layout::page(v, "/users", &format!("User {}", u.id), body))
}

pub async fn edit(Path(id): Path<String>, Submitted(v, d): Submitted<NewUser>) -> PageResult {
    v.require(Area::Users, Access::Update)?;
    let base = find(&v, &id)?.clone();
    let result = match user_of(&d, Some(&base)) {
        Ok(user) => v.warden().replace(Object::User(user), d.version).await.map_err(field_of),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&href(&base.id))),
        Err(e) => Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(user_markup(&v, &id, None, Some((&d, &e)), None)?.into_string())).into_response()),
    }
}

async fn set_enabled(v: Viewer, id: &str, enabled: bool) -> PageResult {
    v.require(Area::Users, Access::Update)?;
    let mut user = find(&v, id)?.clone();
    user.enabled = enabled;
    let key = ObjectRef::new(ObjectKind::User, user.id.clone());
    let version = v.state.reader().stored(&key).await?.map(|s| s.version);
    v.warden().replace(Object::User(user.clone()), version).await?;
    Ok(see_other(&href(&user.id)))
}

pub async fn enable(Path(id): Path<String>, Submitted(v, Nothing {}): Submitted<Nothing>) -> PageResult {
    set_enabled(v, &id, true).await
}

pub async fn disable(Path(id): Path<String>, Submitted(v, Nothing {}): Submitted<Nothing>) -> PageResult {
    set_enabled(v, &id, false).await
}

fn date(text: &str, field: &'static str) -> Result<Option<Timestamp>, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    Timestamp::parse(t).map(Some).map_err(|e| FieldError { field, text: e.to_string() })
}

pub async fn assign(Path(id): Path<String>, Submitted(v, f): Submitted<AssignForm>) -> PageResult {
    v.require(Area::Assignments, Access::Create)?;
    let orgs: Vec<String> = f.organizations.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    let reason = f.override_reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let window = date(&f.valid_from, "valid_from").and_then(|from| Ok((from, date(&f.valid_to, "valid_to")?)));
    let result = match window {
        Err(e) => Err((e, false)),
        Ok((from, to)) => v.warden().assign_with_override(&id, &f.role, &orgs, from, to, v.now, reason).await.map_err(|e| {
            let sod = matches!(e, CoreError::SodConflicts(_));
            let field = match &e {
                CoreError::Unknown { kind: ObjectKind::Role, .. } => "role",
                CoreError::Unknown { kind: ObjectKind::Organization, .. } => "organizations",
                _ => "",
            };
            let text = if sod { format!("{e} To assign it anyway, give the reason for the override.") } else { e.to_string() };
            (FieldError { field, text }, sod)
        }),
    };
    match result {
        Ok(_) => Ok(see_other(&href(&id))),
        Err((e, sod)) => Ok((StatusCode::CONFLICT, Html(user_markup(&v, &id, Some((&f, &e, sod)), None, None)?.into_string())).into_response()),
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    role: String,
}

pub async fn revoke(Path(id): Path<String>, Submitted(v, f): Submitted<RevokeForm>) -> PageResult {
    v.require(Area::Assignments, Access::Delete)?;
    v.warden().revoke(&id, &f.role).await?;
    Ok(see_other(&href(&id)))
}

#[derive(Deserialize, Default)]
pub struct ViewQuery {
    org: Option<String>,
    q: Option<String>,
    entry_point: Option<String>,
    access: Option<String>,
    at: Option<String>,
    control: Option<String>,
    field: Option<String>,
}

/// At most this many permission rows are listed; a search narrows them.
const PERMISSION_ROWS: usize = 200;

/// What the user may do, as they would experience it, and for any entry point the explanation.
pub async fn view_as(Extension(v): Extension<Viewer>, Path(id): Path<String>, Query(q): Query<ViewQuery>) -> PageResult {
    v.require(Area::Analysis, Access::Read)?;
    let u = find(&v, &id)?.clone();
    let org = given(&q.org);
    let view = v.snapshot.user_view(&u.id, org, v.now)?;
    let text = given(&q.q).map(str::to_lowercase);
    let rows: Vec<_> = view
        .permissions
        .iter()
        .filter(|p| text.as_ref().is_none_or(|t| p.entry_point.to_lowercase().contains(t) || p.label.as_ref().is_some_and(|l| l.to_lowercase().contains(t))))
        .collect();
    let base = format!("{}/view", href(&u.id));
    let check_q = CheckQuery { user: Some(u.id.clone()), entry_point: q.entry_point.clone(), access: q.access.clone(), org: q.org.clone(), at: q.at.clone(), control: q.control.clone(), field: q.field.clone() };
    let body = html! {
        p { "What " a href=(href(&u.id)) { (u.id) } " may do now" @if let Some(o) = org { " in " (o) } ", from the assignments that count." }
        h2 { "Explain one entry point" }
        (check::form_and_answer(&v, &base, &check_q, Some(&u.id)))
        h2 { "Effective permissions" }
        form.card.row method="get" action=(base) role="search" {
            (layout::field("Search entry points", "q", given(&q.q).unwrap_or(""), None, TEXT))
            (layout::field("Organization", "org", org.unwrap_or(""), None, TEXT))
            div.actions { button type="submit" { "Show" } }
        }
        (layout::table("Effective permissions", &["Entry point", "Label", "Allowed", "Denied", ""], html! {
            @for p in rows.iter().take(PERMISSION_ROWS) {
                tr {
                    td { (p.entry_point) }
                    td { (p.label.as_deref().unwrap_or("")) }
                    td { (p.allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")) }
                    td { (p.denied.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")) }
                    td { a href=(format!("{base}?entry_point={}&access={}{}", encode(&p.entry_point), p.allowed.first().or(p.denied.first()).map_or("read", |a| a.as_str()), org.map(|o| format!("&org={}", encode(o))).unwrap_or_default())) { "Why?" } }
                }
            }
        }))
        (layout::pager(rows.len().min(PERMISSION_ROWS), Some(rows.len()), None))
    };
    Ok(Html(layout::page(&v, "/users", &format!("View as {}", u.id), body).into_string()).into_response())
}
