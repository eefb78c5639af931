//! Assignment rules (D365's "Assign users to roles"): the list, creating and
//! editing a rule through the generic object services (so Warden re-derives
//! the assignments rules make in the same commit, as for the API and the
//! CLI), and the users each rule matches.

use crate::form::Submitted;
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
use warden_core::CoreError;
use warden_model::{Access, AssignmentRule, Condition, Model, Object, ObjectKind, ObjectRef, User};
use warden_server::builtin::Area;
use warden_server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rules", get(list).post(create))
        .route("/rules/{name}", get(rule))
        .route("/rules/{name}/edit", post(edit))
}

const PAGE: usize = 50;

pub fn href(name: &str) -> String {
    format!("/rules/{}", encode(name))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<String>,
}

pub async fn list(Extension(v): Extension<Viewer>, Query(q): Query<ListQuery>) -> PageResult {
    v.require(Area::Assignments, Access::Read)?;
    Ok(Html(list_page(&v, &q, &Draft::enabled(), &Errors::default()).into_string()).into_response())
}

fn list_page(v: &Viewer, q: &ListQuery, d: &Draft, errors: &Errors) -> Markup {
    let m = &v.snapshot.model;
    let text = q.q.clone().unwrap_or_default();
    let needle = text.to_lowercase();
    let hit = |r: &AssignmentRule| {
        needle.is_empty() || r.name.to_lowercase().contains(&needle) || r.role.to_lowercase().contains(&needle) || r.description.as_ref().is_some_and(|d| d.to_lowercase().contains(&needle))
    };
    let from: Box<dyn Iterator<Item = (&String, &AssignmentRule)>> = match q.after.as_deref() {
        Some(a) => Box::new(m.assignment_rules.range::<_, str>((Bound::Excluded(a), Bound::Unbounded))),
        None => Box::new(m.assignment_rules.iter()),
    };
    let mut items: Vec<&AssignmentRule> = from.map(|(_, r)| r).filter(|r| hit(r)).take(PAGE + 1).collect();
    let next = (items.len() > PAGE).then(|| {
        items.truncate(PAGE);
        format!("/rules?q={}&after={}", encode(&text), encode(items.last().map_or("", |r| r.name.as_str())))
    });
    let body = html! {
        p.muted { "A rule gives its role to every user whose attributes meet all its conditions, except the users it excludes. Warden re-applies the rules whenever users or rules change; a manual assignment of the same role stands instead of the rule's." }
        form.card.row method="get" action="/rules" role="search" {
            (layout::field("Search by name, role or description", "q", &text, None, TEXT))
            div.actions { button type="submit" { "Search" } }
        }
        (layout::table("Assignment rules", &["Name", "Role", "Conditions", "Organizations", "Enabled", "Description"], html! {
            @for r in &items {
                tr {
                    td { a href=(href(&r.name)) { (r.name) } }
                    td { a href=(crate::pages::security::href(ObjectKind::Role, &r.role)) { (r.role) } }
                    td { @for c in &r.conditions { code { (c) } " " } }
                    td { @if r.organizations.is_empty() { span.muted { "all (global)" } } @else { (r.organizations.join(", ")) } }
                    td { (layout::badge(if r.enabled { "Yes" } else { "No" })) }
                    td { (r.description.as_deref().unwrap_or("")) }
                }
            }
        }))
        @if items.is_empty() { p { "No assignment rules match." } }
        (layout::pager(items.len(), Some(m.assignment_rules.len()), next))
        @if v.can(Area::Assignments, Access::Create) {
            h2 { "New assignment rule" }
            (rule_form(v, None, d, errors))
        }
    };
    layout::page(v, "/rules", "Assignment rules", body)
}

/// What the create and edit forms hold, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct Draft {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    description: String,
    /// One condition per line: `department=Finance|Accounting`, `title~=payable`.
    #[serde(default)]
    conditions: String,
    #[serde(default)]
    organizations: String,
    #[serde(default)]
    excluded_users: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    enabled: Option<String>,
    /// The version the edit was made from (If-Match).
    #[serde(default)]
    version: Option<u64>,
}

impl Draft {
    fn enabled() -> Draft {
        Draft { enabled: Some("on".into()), ..Default::default() }
    }

    fn of(r: &AssignmentRule, version: Option<u64>) -> Draft {
        Draft {
            name: r.name.clone(),
            role: r.role.clone(),
            description: r.description.clone().unwrap_or_default(),
            conditions: r.conditions.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            organizations: r.organizations.join("\n"),
            excluded_users: r.excluded_users.join("\n"),
            enabled: r.enabled.then(|| "on".to_string()),
            version,
        }
    }
}

/// Errors of a submitted form, by field.
#[derive(Default)]
struct Errors {
    name: Option<String>,
    role: Option<String>,
    conditions: Option<String>,
    organizations: Option<String>,
    excluded_users: Option<String>,
    form: Option<String>,
}

fn items(text: &str) -> Vec<String> {
    text.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The rule a draft describes, checked against the snapshot field by field
/// (the write checks it again, whole, against the model it commits to).
fn rule_of(m: &Model, d: &Draft) -> Result<AssignmentRule, Box<Errors>> {
    let mut errors = Errors::default();
    let name = d.name.clone();
    if name.is_empty() {
        errors.name = Some("Enter a name.".into());
    }
    let role = d.role.trim().to_string();
    if role.is_empty() {
        errors.role = Some("Enter the role the rule gives.".into());
    } else if !m.roles.contains_key(&role) {
        errors.role = Some(format!("unknown role '{role}'"));
    }
    let mut conditions: Vec<Condition> = Vec::new();
    for (n, line) in d.conditions.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match line.trim().parse::<Condition>() {
            Ok(c) => conditions.push(c),
            Err(e) => {
                errors.conditions = Some(format!("line {}: {e}", n + 1));
                break;
            }
        }
    }
    if conditions.is_empty() && errors.conditions.is_none() {
        errors.conditions = Some("Enter at least one condition: a rule never means everyone.".into());
    }
    let organizations = items(&d.organizations);
    if let Some(o) = organizations.iter().find(|o| !m.organizations.contains_key(*o)) {
        errors.organizations = Some(format!("unknown organization '{o}'"));
    }
    let excluded_users = items(&d.excluded_users);
    if let Some(u) = excluded_users.iter().find(|u| !m.users.contains_key(*u)) {
        errors.excluded_users = Some(format!("unknown user '{u}'"));
    }
    if errors.name.is_some() || errors.role.is_some() || errors.conditions.is_some() || errors.organizations.is_some() || errors.excluded_users.is_some() {
        return Err(Box::new(errors));
    }
    let description = Some(d.description.trim().to_string()).filter(|t| !t.is_empty());
    Ok(AssignmentRule { name, role, description, conditions, organizations, excluded_users, enabled: d.enabled.is_some() })
}

/// Puts a refusal of the write at the field it concerns.
fn errors_of(e: CoreError) -> Errors {
    let text = e.to_string();
    match e {
        CoreError::AlreadyExists { .. } | CoreError::LooksLike { .. } | CoreError::InvalidId(_) => Errors { name: Some(text), ..Default::default() },
        _ => Errors { form: Some(text), ..Default::default() },
    }
}

fn rule_form(v: &Viewer, existing: Option<&str>, d: &Draft, errors: &Errors) -> Markup {
    let action = existing.map_or_else(|| "/rules".to_string(), |name| format!("{}/edit", href(name)));
    html! {
        form.card method="post" action=(action) novalidate {
            (layout::form_head(v, errors.form.as_deref(), d.version, existing.is_some(), &d.name, errors.name.as_deref()))
            div.row {
                (layout::field("Role it gives", "role", &d.role, errors.role.as_deref(), REQUIRED))
                (layout::field("Description", "description", &d.description, None, TEXT))
            }
            (layout::textarea("Conditions (all must hold)", "conditions", &d.conditions, errors.conditions.as_deref(),
                "One per line: ATTRIBUTE=VALUE, != (none of), ~= (contains) or ^= (starts with); alternatives separated by |. Attributes: id, name, email, type, enabled and the user's own (department, title, company, ...). Case is ignored. Example: department=Finance|Accounting"))
            (layout::textarea("Organizations", "organizations", &d.organizations, errors.organizations.as_deref(), "One per line (or separated by commas); none for a global assignment."))
            (layout::textarea("Excluded users", "excluded_users", &d.excluded_users, errors.excluded_users.as_deref(), "Users the rule never assigns, even when they match."))
            div.field {
                label { input type="checkbox" name="enabled" value="on" checked[d.enabled.is_some()]; " Enabled" }
            }
            div.actions { button type="submit" { @if existing.is_some() { "Save rule" } @else { "Create rule" } } }
        }
    }
}

pub async fn create(Submitted(v, d): Submitted<Draft>) -> PageResult {
    v.require(Area::Assignments, Access::Create)?;
    let outcome = match rule_of(&v.snapshot.model, &d) {
        Ok(r) => {
            let name = r.name.clone();
            v.warden().create(Object::AssignmentRule(r)).await.map(|_| name).map_err(errors_of)
        }
        Err(errors) => Err(*errors),
    };
    match outcome {
        Ok(name) => Ok(see_other(&href(&name))),
        Err(errors) => Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(list_page(&v, &ListQuery::default(), &d, &errors).into_string())).into_response()),
    }
}

pub async fn edit(Path(name): Path<String>, Submitted(v, d): Submitted<Draft>) -> PageResult {
    v.require(Area::Assignments, Access::Update)?;
    let key = ObjectRef::new(ObjectKind::AssignmentRule, name.clone());
    if v.state.reader().stored(&key).await?.is_none() {
        return Err(Failure::NotFound(format!("assignment rule '{name}' does not exist")));
    }
    let d = Draft { name: name.clone(), ..d };
    let outcome = match rule_of(&v.snapshot.model, &d) {
        Ok(r) => v.warden().replace(Object::AssignmentRule(r), d.version).await.map(|_| ()).map_err(errors_of),
        Err(errors) => Err(*errors),
    };
    match outcome {
        Ok(()) => Ok(see_other(&href(&name))),
        Err(errors) => {
            let page = rule_page(&v, &name, &MatchQuery::default(), Some((&d, &errors))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.into_string())).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
pub struct MatchQuery {
    /// Matched users whose id or name contain this.
    q: Option<String>,
    after: Option<String>,
}

pub async fn rule(Extension(v): Extension<Viewer>, Path(name): Path<String>, Query(q): Query<MatchQuery>) -> PageResult {
    v.require(Area::Assignments, Access::Read)?;
    Ok(Html(rule_page(&v, &name, &q, None).await?.into_string()).into_response())
}

/// Whether a user meets the rule's conditions and is not excluded (whether
/// or not the rule is enabled: a disabled rule still shows whom it would take).
fn matches(r: &AssignmentRule, u: &User) -> bool {
    !r.conditions.is_empty() && !r.excluded_users.iter().any(|x| x == &u.id) && r.conditions.iter().all(|c| c.holds_for(u))
}

/// How a matched user holds the rule's role now.
fn holds(m: &Model, r: &AssignmentRule, user: &str) -> Markup {
    let held = m.assignments_of(user).iter().find(|a| a.role == r.role);
    html! {
        @match held {
            Some(a) if a.rule.as_deref() == Some(r.name.as_str()) => { "by this rule" @if !a.organizations.is_empty() { " in " (a.organizations.join(", ")) } }
            Some(a) => @match &a.rule {
                Some(other) => { "by rule " a href=(href(other)) { (other) } }
                None => "manually (stands instead of the rule)",
            },
            None => span.muted { "no" },
        }
    }
}

async fn rule_page(v: &Viewer, name: &str, q: &MatchQuery, failed: Option<(&Draft, &Errors)>) -> Result<Markup, Failure> {
    let m = &v.snapshot.model;
    let r = m.assignment_rules.get(name).ok_or_else(|| Failure::NotFound(format!("assignment rule '{name}' does not exist")))?;
    let text = q.q.clone().unwrap_or_default();
    let needle = text.to_lowercase();
    let hit = |u: &User| needle.is_empty() || u.id.to_lowercase().contains(&needle) || u.name.as_ref().is_some_and(|n| n.to_lowercase().contains(&needle));
    // One pass over the users: the matches of this page, and how many there are in all.
    let mut shown: Vec<&User> = Vec::new();
    let mut total = 0;
    for u in m.users.values().filter(|u| hit(u) && matches(r, u)) {
        total += 1;
        if shown.len() <= PAGE && q.after.as_deref().is_none_or(|a| u.id.as_str() > a) {
            shown.push(u);
        }
    }
    let next = (shown.len() > PAGE).then(|| {
        shown.truncate(PAGE);
        format!("{}?q={}&after={}#matches", href(name), encode(&text), encode(shown.last().map_or("", |u| u.id.as_str())))
    });
    let version = if v.can(Area::Assignments, Access::Update) {
        v.state.reader().stored(&ObjectRef::new(ObjectKind::AssignmentRule, name.to_string())).await?.map(|s| s.version)
    } else {
        None
    };
    let body = html! {
        dl {
            dt { "Role" } dd { a href=(crate::pages::security::href(ObjectKind::Role, &r.role)) { (r.role) } }
            @if let Some(d) = &r.description { dt { "Description" } dd { (d) } }
            dt { "Conditions (all must hold)" } dd { @for c in &r.conditions { code { (c) } " " } }
            dt { "Organizations" } dd { @if r.organizations.is_empty() { "all (global)" } @else { (r.organizations.join(", ")) } }
            dt { "Excluded users" } dd { @if r.excluded_users.is_empty() { "none" } @else { (r.excluded_users.join(", ")) } }
            dt { "Enabled" } dd { (if r.enabled { "yes" } else { "no: it gives nobody its role" }) }
        }
        section #matches {
            h2 { "Users it matches" }
            form.card.row method="get" action=(format!("{}#matches", href(name))) role="search" {
                (layout::field("Search matched users by id or name", "q", &text, None, TEXT))
                div.actions { button type="submit" { "Search" } }
            }
            (layout::table("Users the rule matches", &["User", "Name", "Enabled", "Holds the role"], html! {
                @for u in &shown {
                    tr {
                        td { a href=(format!("/users/{}", encode(&u.id))) { (u.id) } }
                        td { (u.name.as_deref().unwrap_or("")) }
                        td { (if u.enabled { "yes" } else { "no" }) }
                        td { (holds(m, r, &u.id)) }
                    }
                }
            }))
            @if shown.is_empty() { p { "No users match." } }
            (layout::pager(shown.len(), Some(total), next))
        }
        @if v.can(Area::Assignments, Access::Update) {
            h2 { "Edit" }
            @match failed {
                Some((d, errors)) => (rule_form(v, Some(name), d, errors)),
                None => (rule_form(v, Some(name), &Draft::of(r, version), &Errors::default())),
            }
        }
    };
    Ok(layout::page(v, "/rules", &format!("Assignment rule {name}"), body))
}
