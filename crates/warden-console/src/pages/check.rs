//! The access check with its explanation as a tree: every path that grants
//! or denies, and why each of the user's assignments counts or not.

use crate::form::given;
use crate::layout::{self, REQUIRED, TEXT};
use crate::{encode, PageResult, Viewer};
use axum::extract::Query;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::Deserialize;
use warden_engine::{AssignmentState, Explanation, StepKind};
use warden_model::{Access, Part, Permission, Timestamp};
use warden_server::builtin::Area;
use warden_server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/check", get(page))
}

/// The check's fields, as the query string carries them.
#[derive(Deserialize, Default, Clone)]
pub struct CheckQuery {
    pub user: Option<String>,
    pub entry_point: Option<String>,
    pub access: Option<String>,
    pub org: Option<String>,
    pub at: Option<String>,
    /// A control of the entry point's form, or a field below it (README, "Controls and fields").
    pub control: Option<String>,
    pub field: Option<String>,
}

/// The control or field the form names, if any: one of the two, by the name rule.
fn part_of(q: &CheckQuery) -> Result<Option<Part>, (&'static str, String)> {
    let part = match (given(&q.control), given(&q.field)) {
        (Some(_), Some(_)) => return Err(("control", "name a control or a field, not both".into())),
        (Some(c), None) => Part::control(c),
        (None, Some(f)) => Part::field(f),
        (None, None) => return Ok(None),
    };
    part.validate().map_err(|e| (part.kind.as_str(), e.to_string()))?;
    Ok(Some(part))
}


/// The check form (GET, so that a check is a URL to share) and, once it is
/// filled in, its answer; `user_fixed` hides the user field (view as user).
pub fn form_and_answer(v: &Viewer, action: &str, q: &CheckQuery, user_fixed: Option<&str>) -> Markup {
    let values: Vec<String> = Access::ALL.iter().map(|a| a.as_str().to_lowercase()).collect();
    let access_options: Vec<(&str, &str)> = values.iter().zip(Access::ALL).map(|(value, a)| (value.as_str(), a.as_str())).collect();
    let chosen = q.access.as_deref().unwrap_or("read").trim().to_lowercase();
    let user = user_fixed.or(given(&q.user));
    let (mut user_error, mut ep_error, mut other_error) = (None, None, None);
    let (mut control_error, mut field_error) = (None, None);
    let part = part_of(q).map_err(|(which, e)| if which == "field" { field_error = Some(e) } else { control_error = Some(e) }).ok();
    let answer = match (user, given(&q.entry_point), part) {
        (Some(user), Some(ep), Some(part)) => {
            let access: Result<Access, _> = q.access.as_deref().unwrap_or("read").parse();
            let at = given(&q.at).map(Timestamp::parse).transpose();
            let snapshot = &v.snapshot;
            match (snapshot.user(user), snapshot.entry_point(ep), access, at) {
                (Err(e), ..) => {
                    user_error = Some(e.to_string());
                    None
                }
                (_, Err(e), ..) => {
                    ep_error = Some(e.to_string());
                    None
                }
                (_, _, Err(e), _) => {
                    other_error = Some(e.to_string());
                    None
                }
                (_, _, _, Err(e)) => {
                    other_error = Some(e.to_string());
                    None
                }
                (Ok(u), Ok(key), Ok(access), Ok(at)) => {
                    let org = given(&q.org);
                    match org.map(|o| snapshot.org(o)).transpose() {
                        Err(e) => {
                            other_error = Some(e.to_string());
                            None
                        }
                        Ok(_) => Some(match &part {
                            None => warden_engine::explain(&snapshot.model, &u.id, &key, access, org, at.unwrap_or(v.now)),
                            Some(part) => warden_engine::explain_part(&snapshot.model, &u.id, &key, access, part, org, at.unwrap_or(v.now)),
                        }),
                    }
                }
            }
        }
        _ => None,
    };
    html! {
        form.card method="get" action=(action) {
            div.row {
                @if user_fixed.is_none() { (layout::field("User", "user", q.user.as_deref().unwrap_or(""), user_error.as_deref(), REQUIRED)) }
                (layout::field("Entry point (NAME or TYPE/NAME)", "entry_point", q.entry_point.as_deref().unwrap_or(""), ep_error.as_deref(), REQUIRED))
                (layout::select("Access", "access", &access_options, &chosen))
                (layout::field("Organization (optional)", "org", q.org.as_deref().unwrap_or(""), None, TEXT))
                (layout::field("At (optional, RFC 3339 or date)", "at", q.at.as_deref().unwrap_or(""), None, TEXT))
                (layout::field("Form control (optional)", "control", q.control.as_deref().unwrap_or(""), control_error.as_deref(), TEXT))
                (layout::field("Field (optional, DATASOURCE.FIELD or entity field)", "field", q.field.as_deref().unwrap_or(""), field_error.as_deref(), TEXT))
            }
            @if let Some(e) = &other_error { p.error role="alert" { (e) } }
            div.actions { button type="submit" { "Check" } }
        }
        @if let Some(x) = &answer { (explanation(x)) }
    }
}

/// An explanation as a tree: the decision and its reason, each assignment and
/// whether it counts, each path (role › … › privilege) with what it says.
pub fn explanation(x: &Explanation) -> Markup {
    let decision = if x.decision.is_allowed() { "Allow" } else { "Deny" };
    html! {
        section.card.explain aria-label="Answer" {
            h2 { (layout::badge(decision)) " " (x.user) " · " (x.access.as_str()) " · " (x.entry_point) @if let Some(p) = &x.part { " · " (p) } @if let Some(o) = &x.organization { " in " (o) } }
            p { (x.reason) }
            p.muted { "At " (x.at) "." }
            details open {
                summary { "Assignments (" (x.assignments.len()) ")" }
                ul {
                    @for a in &x.assignments {
                        li {
                            "Role " a href=(crate::pages::security::href(warden_model::ObjectKind::Role, &a.assignment.role)) { (a.assignment.role) }
                            @if !a.assignment.organizations.is_empty() { " in " (a.assignment.organizations.join(", ")) }
                            @if let Some(s) = &a.session { " (temporary role session " (s) ")" }
                            ": " (assignment_state(&a.state))
                        }
                    }
                }
            }
            details open {
                summary { "Paths to the entry point (" (x.paths.len()) ")" }
                @if x.paths.is_empty() { p { "No role of this user reaches the entry point." } }
                ul {
                    @for p in &x.paths {
                        li {
                            details {
                                summary {
                                    @match p.permission {
                                        Some(Permission::Allow) => (layout::badge("Allow")),
                                        Some(Permission::Deny) => (layout::badge("Deny")),
                                        None => (layout::badge("Unset")),
                                    }
                                    " "
                                    @for (i, s) in p.steps.iter().enumerate() {
                                        @if i > 0 { " › " }
                                        (s.name)
                                    }
                                    @if !p.active { " " span.muted { "(assignment does not count)" } }
                                }
                                ul {
                                    @for s in &p.steps {
                                        li {
                                            (step_kind(s.kind)) " "
                                            a href=(step_href(s.kind, &s.name)) { (s.name) }
                                            @if let Some(e) = &s.extension { " (added by extension " (e) ")" }
                                        }
                                    }
                                    li { "Grant on the entry point: " code { (p.grant) } }
                                    @if let (Some(part), Some(g)) = (&x.part, p.part_grant) {
                                        li { "Grant on " (part) ": " code { (g) } @if !p.from_part { " (silent on " (x.access.as_str()) ": the entry point's grant applies)" } }
                                    } @else if let Some(part) = &x.part {
                                        li { "No grant on " (part) ": the entry point's grant applies" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn step_kind(k: StepKind) -> &'static str {
    match k {
        StepKind::Role => "role",
        StepKind::SubRole => "sub-role",
        StepKind::Duty => "duty",
        StepKind::Privilege => "privilege",
    }
}

fn step_href(k: StepKind, name: &str) -> String {
    let kind = match k {
        StepKind::Role | StepKind::SubRole => "role",
        StepKind::Duty => "duty",
        StepKind::Privilege => "privilege",
    };
    format!("/security/{kind}/{}", encode(name))
}

fn assignment_state(s: &AssignmentState) -> String {
    match s {
        AssignmentState::Active => "counts (active)".into(),
        AssignmentState::NotYetValid { valid_from } => format!("does not count: valid from {valid_from}"),
        AssignmentState::Expired { valid_to } => format!("does not count: expired {valid_to}"),
        AssignmentState::OutOfScope => "does not count: scoped to other organizations than the one checked".into(),
        AssignmentState::UnknownRole => "does not count: the role does not exist".into(),
        AssignmentState::Suspended { session } => format!("does not count: suspended by temporary role session {session}"),
    }
}

pub async fn page(Extension(v): Extension<Viewer>, Query(q): Query<CheckQuery>) -> PageResult {
    v.require(Area::Analysis, Access::Read)?;
    let body = form_and_answer(&v, "/check", &q, None);
    Ok(Html(layout::page(&v, "/check", "Check", body).into_string()).into_response())
}
