//! Security configuration: roles → duties → privileges → entry points as a
//! tree that loads each branch when it is opened; each object's page with
//! its grants, its code / database / effective layers side by side, where it
//! is used; and the forms that create and edit roles, duties and privileges
//! through the same services (and so the same SoD and similarity checks) as
//! the CLI and the API.

use crate::form::{Nothing, Submitted};
use crate::layout::{self, TEXT};
use crate::{encode, see_other, Failure, PageResult, Viewer};
use axum::extract::{Path, Query};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::Deserialize;
use warden_core::CoreError;
use warden_model::{Access, Duty, EntryPointGrant, Grant, Model, Object, ObjectKind, ObjectRef, Privilege, Role};
use warden_server::builtin::Area;
use warden_server::AppState;
use warden_store::Layer;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/security", get(list))
        .route("/security/tree/{kind}/{name}", get(branch))
        .route("/security/new/{kind}", post(create))
        .route("/security/{kind}/{name}", get(object))
        .route("/security/{kind}/{name}/edit", post(edit))
        .route("/security/{kind}/{name}/remove-customization", post(remove_customization))
}

/// The kinds the console edits, by the path segment that names them.
fn kind_of(segment: &str) -> Result<ObjectKind, Failure> {
    match segment {
        "role" => Ok(ObjectKind::Role),
        "duty" => Ok(ObjectKind::Duty),
        "privilege" => Ok(ObjectKind::Privilege),
        other => Err(Failure::NotFound(format!("'{other}' is not a kind of security object the console shows (role, duty, privilege)"))),
    }
}

fn segment(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Duty => "duty",
        ObjectKind::Privilege => "privilege",
        _ => "role",
    }
}

pub fn href(kind: ObjectKind, name: &str) -> String {
    format!("/security/{}/{}", segment(kind), encode(name))
}

const PAGE: usize = 50;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    kind: Option<String>,
    after: Option<String>,
}

/// Names of one kind, in order, that contain `q` (case-insensitive) in their name or label.
fn matching<'a>(model: &'a Model, kind: ObjectKind, q: &str, after: Option<&str>) -> (Vec<(&'a str, Option<&'a str>)>, Option<String>) {
    let q = q.to_lowercase();
    let hit = |name: &str, label: Option<&String>| q.is_empty() || name.to_lowercase().contains(&q) || label.is_some_and(|l| l.to_lowercase().contains(&q));
    let items: Box<dyn Iterator<Item = (&str, Option<&str>)>> = match kind {
        ObjectKind::Duty => Box::new(model.duties.values().filter(|d| hit(&d.name, d.label.as_ref())).map(|d| (d.name.as_str(), d.label.as_deref()))),
        ObjectKind::Privilege => Box::new(model.privileges.values().filter(|p| hit(&p.name, p.label.as_ref())).map(|p| (p.name.as_str(), p.label.as_deref()))),
        _ => Box::new(model.roles.values().filter(|r| hit(&r.name, r.label.as_ref())).map(|r| (r.name.as_str(), r.label.as_deref()))),
    };
    let mut page: Vec<_> = items.skip_while(|(n, _)| after.is_some_and(|a| *n <= a)).take(PAGE + 1).collect();
    let next = (page.len() > PAGE).then(|| {
        page.truncate(PAGE);
        page.last().map(|(n, _)| n.to_string()).unwrap_or_default()
    });
    (page, next)
}

pub async fn list(Extension(v): Extension<Viewer>, Query(q): Query<ListQuery>) -> PageResult {
    v.require(Area::SecurityConfiguration, Access::Read)?;
    let kind = kind_of(q.kind.as_deref().unwrap_or("role"))?;
    let text = q.q.clone().unwrap_or_default();
    let (items, next) = matching(&v.snapshot.model, kind, &text, q.after.as_deref());
    let next = next.map(|after| format!("/security?kind={}&q={}&after={}", segment(kind), encode(&text), encode(&after)));
    let body = html! {
        form.card.row method="get" action="/security" role="search" {
            (layout::select("Kind", "kind", &[("role", "Roles"), ("duty", "Duties"), ("privilege", "Privileges")], segment(kind)))
            (layout::field("Search by name or label", "q", &text, None, TEXT))
            div.actions { button type="submit" { "Search" } }
        }
        p.muted { "Open a branch to load what it holds: a role's duties, privileges and sub-roles; a duty's privileges; a privilege's entry points and grants." }
        ul.tree {
            @for (name, label) in &items {
                li { (node(kind, name, *label)) }
            }
        }
        @if items.is_empty() { p { "Nothing matches." } }
        (layout::pager(items.len(), None, next))
        @if v.can(Area::SecurityConfiguration, Access::Create) {
            h2 { "New " (segment(kind)) }
            (object_form(&v, kind, None, &Draft::default(), &Errors::default()))
        }
    };
    Ok(Html(layout::page(&v, "/security", "Security configuration", body).into_string()).into_response())
}

/// A tree node: a link to the object's page and a branch, loaded when it is
/// opened, with what the object holds (a summary may not hold a link).
fn node(kind: ObjectKind, name: &str, label: Option<&str>) -> Markup {
    let holds = if kind == ObjectKind::Privilege { "grants" } else { "holds" };
    html! {
        span.muted { (segment(kind)) " " }
        a href=(href(kind, name)) { (name) }
        @if let Some(l) = label { " " span.muted { "— " (l) } }
        details.tree data-src=(format!("/security/tree/{}/{}", segment(kind), encode(name))) {
            summary aria-label=(format!("What {name} {holds}")) { "what it " (holds) }
            div data-slot { p.muted { "Loading…" } }
        }
    }
}

/// One branch of the tree, as an HTML fragment.
pub async fn branch(Extension(v): Extension<Viewer>, Path((kind, name)): Path<(String, String)>) -> PageResult {
    v.require(Area::SecurityConfiguration, Access::Read)?;
    let m = &v.snapshot.model;
    let kind = kind_of(&kind)?;
    let missing = || Failure::NotFound(format!("{} '{name}' does not exist", segment(kind)));
    let fragment = match kind {
        ObjectKind::Role => {
            let role = m.roles.get(&name).ok_or_else(missing)?;
            html! {
                ul.tree {
                    @for d in m.role_duties(role) { li { (node(ObjectKind::Duty, d, m.duties.get(d).and_then(|d| d.label.as_deref()))) } }
                    @for p in m.role_privileges(role) { li { (node(ObjectKind::Privilege, p, m.privileges.get(p).and_then(|p| p.label.as_deref()))) } }
                    @for r in m.role_sub_roles(role) { li { (node(ObjectKind::Role, r, m.roles.get(r).and_then(|r| r.label.as_deref()))) } }
                }
            }
        }
        ObjectKind::Duty => {
            let duty = m.duties.get(&name).ok_or_else(missing)?;
            html! { ul.tree { @for p in m.duty_privileges(duty) { li { (node(ObjectKind::Privilege, p, m.privileges.get(p).and_then(|p| p.label.as_deref()))) } } } }
        }
        _ => {
            let privilege = m.privileges.get(&name).ok_or_else(missing)?;
            grants_table(&privilege.entry_points)
        }
    };
    Ok(Html(fragment.into_string()).into_response())
}

/// A privilege's grants: one row per entry point, one column per access.
fn grants_table(grants: &[EntryPointGrant]) -> Markup {
    let mut head = vec!["Entry point"];
    head.extend(Access::ALL.iter().map(|a| a.as_str()));
    layout::table(
        "Grants",
        &head,
        html! {
            @for g in grants {
                tr {
                    td { a href=(format!("/check?entry_point={}", encode(&g.key().to_string()))) { (g.key()) } }
                    @for a in Access::ALL {
                        td { @match g.grant.get(a) {
                            Some(warden_model::Permission::Allow) => (layout::badge("Allow")),
                            Some(warden_model::Permission::Deny) => (layout::badge("Deny")),
                            None => span.muted { "–" },
                        } }
                    }
                }
            }
        },
    )
}

/// What the create and edit forms hold, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct Draft {
    #[serde(default)]
    name: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    duties: String,
    #[serde(default)]
    privileges: String,
    #[serde(default)]
    sub_roles: String,
    /// A privilege's grants, one per line: `TYPE/NAME read update !delete`.
    #[serde(default)]
    grants: String,
    /// The version the edit was made from (If-Match).
    #[serde(default)]
    version: Option<u64>,
}

/// Errors of a submitted form, by field.
#[derive(Default)]
struct Errors {
    name: Option<String>,
    members: Option<String>,
    form: Option<String>,
}

fn lines(text: &str) -> Vec<String> {
    text.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

fn opt(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

fn grant_line(g: &EntryPointGrant) -> String {
    let mut parts = vec![g.key().to_string()];
    for a in Access::ALL {
        match g.grant.get(a) {
            Some(warden_model::Permission::Allow) => parts.push(a.as_str().to_string()),
            Some(warden_model::Permission::Deny) => parts.push(format!("!{}", a.as_str())),
            None => {}
        }
    }
    parts.join(" ")
}

/// Reads the grant lines against the model's entry points.
fn parse_grants(v: &Viewer, text: &str, keep: &[EntryPointGrant]) -> Result<Vec<EntryPointGrant>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let ep = words.next().unwrap_or_default();
        let key = v.snapshot.entry_point(ep).map_err(|e| format!("line {}: {e}", n + 1))?;
        let mut grant = Grant::default();
        for w in words {
            let (deny, name) = w.strip_prefix('!').map_or((false, w), |n| (true, n));
            let access: Access = name.parse().map_err(|e| format!("line {}: {e}", n + 1))?;
            grant.set(access, Some(if deny { warden_model::Permission::Deny } else { warden_model::Permission::Allow }));
        }
        // What Warden keeps verbatim for export stays with the grant it came with.
        let kept = keep.iter().find(|g| g.key() == key);
        let (object, child) = match kept {
            Some(g) => (g.object.clone(), g.child.clone()),
            None => (key.name.clone(), None),
        };
        out.push(EntryPointGrant {
            name: kept.map_or_else(|| key.name.clone(), |g| g.name.clone()),
            kind: key.kind,
            object,
            child,
            grant,
            unmodelled: kept.map(|g| g.unmodelled.clone()).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The object a draft describes; `base` is the stored object an edit starts from
/// (what the form does not show, such as elements kept for export, is kept).
fn object_of(v: &Viewer, kind: ObjectKind, d: &Draft, base: Option<&Object>) -> Result<Object, Errors> {
    let name = d.name.clone();
    Ok(match kind {
        ObjectKind::Role => {
            let mut r = match base {
                Some(Object::Role(r)) => r.clone(),
                _ => Role::new(name),
            };
            (r.label, r.description) = (opt(&d.label), opt(&d.description));
            (r.duties, r.privileges, r.sub_roles) = (lines(&d.duties), lines(&d.privileges), lines(&d.sub_roles));
            Object::Role(r)
        }
        ObjectKind::Duty => {
            let mut duty = match base {
                Some(Object::Duty(x)) => x.clone(),
                _ => Duty { name, label: None, description: None, model: None, privileges: Vec::new(), unmodelled: Vec::new() },
            };
            (duty.label, duty.description, duty.privileges) = (opt(&d.label), opt(&d.description), lines(&d.privileges));
            Object::Duty(duty)
        }
        _ => {
            let mut p = match base {
                Some(Object::Privilege(x)) => x.clone(),
                _ => Privilege { name, label: None, description: None, model: None, entry_points: Vec::new(), direct_access: Vec::new(), unmodelled: Vec::new() },
            };
            (p.label, p.description) = (opt(&d.label), opt(&d.description));
            p.entry_points = parse_grants(v, &d.grants, &p.entry_points).map_err(|e| Errors { members: Some(e), ..Default::default() })?;
            Object::Privilege(p)
        }
    })
}

/// Puts a refusal at the field it concerns: the name for a name clash or a
/// bad name, the members for an SoD or similarity refusal (naming the rule).
fn errors_of(e: CoreError) -> Errors {
    let text = e.to_string();
    match e {
        CoreError::AlreadyExists { .. } | CoreError::LooksLike { .. } | CoreError::InvalidId(_) => Errors { name: Some(text), ..Default::default() },
        CoreError::SodRoles(_) | CoreError::Similar { .. } | CoreError::Dangling(_) | CoreError::Invalid(_) | CoreError::Unknown { .. } => {
            Errors { members: Some(text), ..Default::default() }
        }
        _ => Errors { form: Some(text), ..Default::default() },
    }
}

fn object_form(v: &Viewer, kind: ObjectKind, existing: Option<&str>, d: &Draft, errors: &Errors) -> Markup {
    let action = match existing {
        Some(name) => format!("{}/edit", href(kind, name)),
        None => format!("/security/new/{}", segment(kind)),
    };
    let members_help = "One per line (or separated by commas).";
    html! {
        form.card method="post" action=(action) novalidate {
            (layout::form_head(v, errors.form.as_deref(), d.version, existing.is_some(), &d.name, errors.name.as_deref()))
            div.row {
                (layout::field("Label", "label", &d.label, None, TEXT))
                (layout::field("Description", "description", &d.description, None, TEXT))
            }
            @match kind {
                ObjectKind::Role => {
                    (layout::textarea("Duties", "duties", &d.duties, errors.members.as_deref(), members_help))
                    (layout::textarea("Privileges", "privileges", &d.privileges, None, members_help))
                    (layout::textarea("Sub-roles", "sub_roles", &d.sub_roles, None, members_help))
                }
                ObjectKind::Duty => {
                    (layout::textarea("Privileges", "privileges", &d.privileges, errors.members.as_deref(), members_help))
                }
                _ => {
                    (layout::textarea("Grants", "grants", &d.grants, errors.members.as_deref(), "One entry point per line: TYPE/NAME (or NAME) then the accesses it allows; ! before an access denies it. Example: MenuItemDisplay/CustTable read update !delete"))
                }
            }
            div.actions { button type="submit" { @if existing.is_some() { "Save" } @else { "Create " (segment(kind)) } } }
        }
    }
}

fn draft_of(object: &Object, version: Option<u64>) -> Draft {
    let mut d = Draft { version, ..Default::default() };
    match object {
        Object::Role(r) => {
            d.name = r.name.clone();
            d.label = r.label.clone().unwrap_or_default();
            d.description = r.description.clone().unwrap_or_default();
            (d.duties, d.privileges, d.sub_roles) = (r.duties.join("\n"), r.privileges.join("\n"), r.sub_roles.join("\n"));
        }
        Object::Duty(x) => {
            d.name = x.name.clone();
            d.label = x.label.clone().unwrap_or_default();
            d.description = x.description.clone().unwrap_or_default();
            d.privileges = x.privileges.join("\n");
        }
        Object::Privilege(p) => {
            d.name = p.name.clone();
            d.label = p.label.clone().unwrap_or_default();
            d.description = p.description.clone().unwrap_or_default();
            d.grants = p.entry_points.iter().map(grant_line).collect::<Vec<_>>().join("\n");
        }
        _ => {}
    }
    d
}

pub async fn create(Path(kind): Path<String>, Submitted(v, d): Submitted<Draft>) -> PageResult {
    v.require(Area::SecurityConfiguration, Access::Create)?;
    let kind = kind_of(&kind)?;
    let refused = |v: &Viewer, d: &Draft, errors: Errors| {
        let body = html! { (object_form(v, kind, None, d, &errors)) };
        Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Html(layout::page(v, "/security", &format!("New {}", segment(kind)), body).into_string())).into_response())
    };
    if d.name.trim().is_empty() {
        return refused(&v, &d, Errors { name: Some("Enter a name.".into()), ..Default::default() });
    }
    let object = match object_of(&v, kind, &d, None) {
        Ok(o) => o,
        Err(errors) => return refused(&v, &d, errors),
    };
    let name = object.key().name;
    match v.warden().create(object).await {
        Ok(_) => Ok(see_other(&href(kind, &name))),
        Err(e) => refused(&v, &d, errors_of(e)),
    }
}

pub async fn edit(Path((kind, name)): Path<(String, String)>, Submitted(v, d): Submitted<Draft>) -> PageResult {
    v.require(Area::SecurityConfiguration, Access::Update)?;
    let kind = kind_of(&kind)?;
    let key = ObjectRef::new(kind, name.clone());
    let stored = v.state.reader().stored(&key).await?.ok_or_else(|| Failure::NotFound(format!("{key} does not exist")))?;
    let d = Draft { name: name.clone(), ..d };
    let object = object_of(&v, kind, &d, Some(&stored.object));
    let outcome = match object {
        Ok(o) => v.warden().replace(o, d.version).await.map_err(errors_of),
        Err(errors) => Err(errors),
    };
    match outcome {
        Ok(_) => Ok(see_other(&href(kind, &name))),
        Err(errors) => {
            let page = object_page(&v, kind, &name, Some((&d, &errors))).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Html(page.into_string())).into_response())
        }
    }
}

pub async fn remove_customization(Path((kind, name)): Path<(String, String)>, Submitted(v, _): Submitted<Nothing>) -> PageResult {
    v.require(Area::SecurityConfiguration, Access::Delete)?;
    let kind = kind_of(&kind)?;
    v.warden().remove_customizations(&[ObjectRef::new(kind, name.clone())]).await?;
    Ok(see_other(&href(kind, &name)))
}

pub async fn object(Extension(v): Extension<Viewer>, Path((kind, name)): Path<(String, String)>) -> PageResult {
    v.require(Area::SecurityConfiguration, Access::Read)?;
    let kind = kind_of(&kind)?;
    Ok(Html(object_page(&v, kind, &name, None).await?.into_string()).into_response())
}

/// Where an object is used: what refers to it.
fn used_by(m: &Model, kind: ObjectKind, name: &str) -> Vec<(ObjectKind, String)> {
    let mut out = Vec::new();
    match kind {
        ObjectKind::Role => out.extend(m.roles.values().filter(|r| m.role_sub_roles(r).any(|s| s == name)).map(|r| (ObjectKind::Role, r.name.clone()))),
        ObjectKind::Duty => out.extend(m.roles.values().filter(|r| m.role_duties(r).any(|s| s == name)).map(|r| (ObjectKind::Role, r.name.clone()))),
        _ => {
            out.extend(m.roles.values().filter(|r| m.role_privileges(r).any(|s| s == name)).map(|r| (ObjectKind::Role, r.name.clone())));
            out.extend(m.duties.values().filter(|d| m.duty_privileges(d).any(|s| s == name)).map(|d| (ObjectKind::Duty, d.name.clone())));
        }
    }
    out
}

fn pretty(object: Option<&Object>) -> String {
    object.map_or_else(|| "(none)".to_string(), |o| serde_json::to_string_pretty(&o.to_body()).unwrap_or_default())
}

async fn object_page(v: &Viewer, kind: ObjectKind, name: &str, failed: Option<(&Draft, &Errors)>) -> Result<maud::Markup, Failure> {
    let key = ObjectRef::new(kind, name.to_string());
    let layers = v.state.reader().layers(&key).await?;
    let stored = v.state.reader().stored(&key).await?;
    if layers.is_empty() && stored.is_none() {
        return Err(Failure::NotFound(format!("{} '{name}' does not exist", segment(kind))));
    }
    let form_of = |layer: Layer| layers.iter().find(|l| l.layer == layer);
    let code = form_of(Layer::Code).and_then(|l| l.object.as_ref());
    let database = form_of(Layer::Database);
    let hidden = database.is_some_and(|l| l.object.is_none());
    let database = database.and_then(|l| l.object.as_ref());
    let effective = stored.as_ref().map(|s| &s.object);
    let (code_text, db_text, eff_text) = (pretty(code), pretty(database), pretty(effective));
    let customized = database.is_some() || hidden;
    let m = &v.snapshot.model;
    let users = m.assignments.iter().filter(|a| kind == ObjectKind::Role && a.role == name).count();
    let uses = used_by(m, kind, name);
    let body = html! {
        @if let Some(o) = effective {
            @match o {
                Object::Role(_) | Object::Duty(_) => {
                    h2 { "What it holds" }
                    ul.tree {
                        @if let Object::Role(r) = o {
                            @for d in m.role_duties(r) { li { (node(ObjectKind::Duty, d, None)) } }
                            @for p in m.role_privileges(r) { li { (node(ObjectKind::Privilege, p, None)) } }
                            @for s in m.role_sub_roles(r) { li { (node(ObjectKind::Role, s, None)) } }
                        }
                        @if let Object::Duty(d) = o {
                            @for p in m.duty_privileges(d) { li { (node(ObjectKind::Privilege, p, None)) } }
                        }
                    }
                }
                Object::Privilege(p) => { h2 { "Grants" } (grants_table(&p.entry_points)) }
                _ => {}
            }
        }
        h2 { "Layers" }
        p.muted { "The code layer is what was imported from D365's AOT; the database layer is what was changed here; the effective form is what checks use. Differences from the code layer are marked." }
        div.layers {
            section { h3 { "Code" } pre { (code_text) } }
            section { h3 { "Database" @if hidden { " (hidden)" } } pre class=[(db_text != code_text && database.is_some()).then_some("diff")] { (db_text) } }
            section { h3 { "Effective" } pre class=[(eff_text != code_text && code.is_some()).then_some("diff")] { (eff_text) } }
        }
        @if customized && code.is_some() && v.can(Area::SecurityConfiguration, Access::Delete) {
            div.actions { (layout::button(v, &format!("{}/remove-customization", href(kind, name)), "Remove customization", "secondary")) }
        }
        h2 { "Where it is used" }
        @if kind == ObjectKind::Role { p { (users) " assignments. " a href=(format!("/users?role={}", encode(name))) { "Users holding it" } } }
        @if uses.is_empty() { p.muted { "Not referred to by any role or duty." } }
        ul { @for (k, n) in &uses { li { (segment(*k)) " " a href=(href(*k, n)) { (n) } } } }
        @if v.can(Area::SecurityConfiguration, Access::Update) {
            @if let Some(s) = &stored {
                h2 { "Edit" }
                @match failed {
                    Some((d, errors)) => (object_form(v, kind, Some(name), d, errors)),
                    None => (object_form(v, kind, Some(name), &draft_of(&s.object, Some(s.version)), &Errors::default())),
                }
            }
        }
    };
    Ok(layout::page(v, "/security", &format!("{} {name}", match kind { ObjectKind::Duty => "Duty", ObjectKind::Privilege => "Privilege", _ => "Role" }), body))
}
