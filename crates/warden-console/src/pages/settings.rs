//! Settings: organizations (list, add), API tokens (issue, rotate, revoke;
//! the secret shown once, in the answer to the form) and the sign-in lockout
//! — through the same services as `/api/v1/tokens` and the generic object
//! create of `/api/v1/organizations`.

use crate::form::{Nothing, Submitted, given};
use crate::layout::{self, REQUIRED, TEXT};
use crate::{encode, Failure, PageResult, Viewer};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Bound;
use warden_core::credentials::{lockout_keys, token_credential_id, IssuedToken, LOCKOUT};
use warden_core::CoreError;
use warden_model::{Access, Credential, CredentialKind, Object, Organization, Timestamp};
use warden_server::builtin::Area;
use warden_server::AppState;
use warden_store::ActivityFilter;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(page))
        .route("/settings/organizations", post(add_organization))
        .route("/settings/tokens", post(issue_token))
        .route("/settings/tokens/{id}/rotate", post(rotate_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
}

const PAGE: usize = 50;
/// Lockout records read at most: the page stays cheap under a sign-in storm.
const LOCKOUT_SCAN: usize = 1_000;
/// Distinct locked keys looked up in the store at most.
const LOCKOUT_KEYS: usize = 100;

/// A secret the page shows once: the answer to the form that made it, never
/// a page that can be opened again (Warden keeps only a hash, or derives it
/// from a key it does not show).
pub fn shown_once(what: &str, secret: &str, note: &str) -> Markup {
    html! {
        section.card role="status" aria-labelledby="secret-title" {
            h2 #secret-title { (what) " — shown once" }
            p.notice { "Copy it now. It is not shown again: this page is the only place it appears, and reloading would submit the form again rather than show it." }
            code.secret #secret { (secret) }
            p { button.secondary type="button" data-copy="secret" { "Copy" } }
            p.muted { (note) }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    /// Organizations whose id or name contain this.
    org_q: Option<String>,
    org_after: Option<String>,
    /// API tokens whose user or label contain this.
    token_q: Option<String>,
    token_after: Option<String>,
}

/// What the forms of the page hold, as typed, and their errors.
#[derive(Default)]
struct Forms {
    org: OrgDraft,
    org_errors: Errors,
    token: TokenDraft,
    token_errors: Errors,
}

#[derive(Default)]
struct Errors {
    /// By field name.
    fields: BTreeMap<&'static str, String>,
    form: Option<String>,
}

impl Errors {
    fn at(field: &'static str, text: String) -> Errors {
        Errors { fields: BTreeMap::from([(field, text)]), form: None }
    }
    fn of(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

pub async fn page(Extension(v): Extension<Viewer>, Query(q): Query<SettingsQuery>) -> PageResult {
    v.require(Area::Organizations, Access::Read)?;
    Ok(Html(settings_page(&v, &q, &Forms::default()).await?.into_string()).into_response())
}

async fn settings_page(v: &Viewer, q: &SettingsQuery, forms: &Forms) -> Result<Markup, Failure> {
    let lockout = if v.can(Area::Credentials, Access::Read) || v.can(Area::Activity, Access::Read) { Some(lockout_section(v).await?) } else { None };
    let body = html! {
        nav aria-label="On this page" {
            ul.row.plain {
                li { a href="#organizations" { "Organizations" } }
                @if v.can(Area::Credentials, Access::Read) { li { a href="#tokens" { "API tokens" } } }
                @if lockout.is_some() { li { a href="#lockout" { "Sign-in lockout" } } }
            }
        }
        (organizations_section(v, q, forms))
        @if v.can(Area::Credentials, Access::Read) { (tokens_section(v, q, forms)) }
        @if let Some(l) = lockout { (l) }
    };
    Ok(layout::page(v, "/settings", "Settings", body))
}

// ---------------------------------------------------------------- organizations

fn organizations_section(v: &Viewer, q: &SettingsQuery, forms: &Forms) -> Markup {
    let orgs = &v.snapshot.model.organizations;
    let text = q.org_q.clone().unwrap_or_default();
    let needle = text.to_lowercase();
    let hit = |o: &Organization| needle.is_empty() || o.id.to_lowercase().contains(&needle) || o.name.as_ref().is_some_and(|n| n.to_lowercase().contains(&needle));
    let from: Box<dyn Iterator<Item = (&String, &Organization)>> = match q.org_after.as_deref() {
        Some(a) => Box::new(orgs.range::<_, str>((Bound::Excluded(a), Bound::Unbounded))),
        None => Box::new(orgs.iter()),
    };
    let mut items: Vec<&Organization> = from.map(|(_, o)| o).filter(|o| hit(o)).take(PAGE + 1).collect();
    let next = (items.len() > PAGE).then(|| {
        items.truncate(PAGE);
        format!("/settings?org_q={}&org_after={}#organizations", encode(&text), encode(items.last().map(|o| o.id.as_str()).unwrap_or_default()))
    });
    html! {
        section #organizations {
            h2 { "Organizations" }
            p.muted { "Legal entities (D365 companies) that role assignments can be limited to." }
            form.card.row method="get" action="/settings#organizations" role="search" {
                (layout::field("Search organizations by id or name", "org_q", &text, None, TEXT))
                div.actions { button type="submit" { "Search" } }
            }
            (layout::table("Organizations", &["Id", "Name", "Users assigned here"], html! {
                @for o in &items {
                    tr {
                        td { (o.id) }
                        td { (o.name.as_deref().unwrap_or("")) }
                        td { a href=(format!("/users?organization={}", encode(&o.id))) { "Users" } }
                    }
                }
            }))
            @if items.is_empty() { p { "No organizations match." } }
            (layout::pager(items.len(), Some(orgs.len()), next))
            @if v.can(Area::Organizations, Access::Create) {
                h3 { "Add an organization" }
                form.card method="post" action="/settings/organizations" novalidate {
                    (layout::csrf(v))
                    @if let Some(e) = &forms.org_errors.form { p.error role="alert" { (e) } }
                    div.row {
                        (layout::field("Id", "id", &forms.org.id, forms.org_errors.of("id"), REQUIRED.placeholder("USMF")))
                        (layout::field("Name", "name", forms.org.name.as_deref().unwrap_or(""), None, TEXT))
                    }
                    div.actions { button type="submit" { "Add organization" } }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct OrgDraft {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: Option<String>,
}

pub async fn add_organization(Submitted(v, d): Submitted<OrgDraft>) -> PageResult {
    v.require(Area::Organizations, Access::Create)?;
    let id = d.id.clone();
    let outcome = if id.is_empty() {
        Err(Errors::at("id", "Enter the organization's id.".into()))
    } else {
        let org = Organization { id: id.clone(), name: given(&d.name).map(String::from) };
        v.warden().create(Object::Organization(org)).await.map_err(|e| match e {
            CoreError::AlreadyExists { .. } | CoreError::LooksLike { .. } | CoreError::InvalidId(_) => Errors::at("id", e.to_string()),
            e => Errors { form: Some(e.to_string()), ..Default::default() },
        })
    };
    match outcome {
        Ok(_) => Ok(crate::see_other(&format!("/settings?org_q={}#organizations", encode(&id)))),
        Err(org_errors) => {
            let forms = Forms { org: d, org_errors, ..Default::default() };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(settings_page(&v, &SettingsQuery::default(), &forms).await?.into_string())).into_response())
        }
    }
}

// ---------------------------------------------------------------- API tokens

fn tokens_section(v: &Viewer, q: &SettingsQuery, forms: &Forms) -> Markup {
    let credentials = &v.snapshot.model.credentials;
    let text = q.token_q.clone().unwrap_or_default();
    let needle = text.to_lowercase();
    let hit = |c: &Credential| needle.is_empty() || c.user.to_lowercase().contains(&needle) || c.label.as_ref().is_some_and(|l| l.to_lowercase().contains(&needle));
    // Tokens are the `token:` keys of the credentials: a range, not a scan of every session and password.
    let start = match q.token_after.as_deref() {
        Some(a) => Bound::Excluded(token_credential_id(a)),
        None => Bound::Included(token_credential_id("")),
    };
    let mut items: Vec<&Credential> = credentials
        .range((start, Bound::Excluded("token;".to_string())))
        .map(|(_, c)| c)
        .filter(|c| c.kind == CredentialKind::ApiToken && hit(c))
        .take(PAGE + 1)
        .collect();
    let public = |c: &Credential| c.id.trim_start_matches("token:").to_string();
    let next = (items.len() > PAGE).then(|| {
        items.truncate(PAGE);
        format!("/settings?token_q={}&token_after={}#tokens", encode(&text), encode(&items.last().map(|c| public(c)).unwrap_or_default()))
    });
    let (rotate, revoke) = (v.can(Area::Credentials, Access::Update), v.can(Area::Credentials, Access::Delete));
    let mut head = vec!["Id", "User", "Label", "Created", "Expires"];
    if rotate || revoke {
        head.push("Actions");
    }
    html! {
        section #tokens {
            h2 { "API tokens" }
            p.muted { "Bearer tokens for applications and scripts. Warden keeps only a hash of each: the token itself is shown once, when it is issued or rotated." }
            form.card.row method="get" action="/settings#tokens" role="search" {
                (layout::field("Search tokens by user or label", "token_q", &text, None, TEXT))
                div.actions { button type="submit" { "Search" } }
            }
            (layout::table("API tokens", &head, html! {
                @for c in &items {
                    @let id = public(c);
                    tr {
                        td { code { (id) } }
                        td { (c.user) }
                        td { (c.label.as_deref().unwrap_or("")) }
                        td { (c.created) }
                        td {
                            @match c.expires {
                                Some(e) if e <= v.now => { (e) " " (layout::badge("Expired")) }
                                Some(e) => (e),
                                None => "never",
                            }
                        }
                        @if rotate || revoke {
                            td {
                                @if rotate { (layout::button(v, &format!("/settings/tokens/{}/rotate", encode(&id)), "Rotate", "secondary")) }
                                @if revoke { (layout::button(v, &format!("/settings/tokens/{}/revoke", encode(&id)), "Revoke", "danger")) }
                            }
                        }
                    }
                }
            }))
            @if items.is_empty() { p { "No API tokens match." } }
            (layout::pager(items.len(), None, next))
            @if rotate { p.muted { "Rotating issues a replacement; the old token keeps working for a day (the grace), so that the application can switch over." } }
            @if v.can(Area::Credentials, Access::Create) {
                h3 { "Issue a token" }
                form.card method="post" action="/settings/tokens" novalidate {
                    (layout::csrf(v))
                    @if let Some(e) = &forms.token_errors.form { p.error role="alert" { (e) } }
                    div.row {
                        (layout::field("User it acts as", "user", &forms.token.user, forms.token_errors.of("user"), REQUIRED.placeholder("svc-integration")))
                        (layout::field("Label", "label", forms.token.label.as_deref().unwrap_or(""), None, TEXT))
                        (layout::field("Valid for (days, default 90)", "expires_in_days", forms.token.expires_in_days.as_deref().unwrap_or(""), forms.token_errors.of("expires_in_days"), TEXT.kind("number")))
                    }
                    div.actions { button type="submit" { "Issue token" } }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct TokenDraft {
    #[serde(default)]
    user: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    expires_in_days: Option<String>,
}

/// A whole number typed in a form field; blank is none.
fn number(field: &'static str, text: &Option<String>) -> Result<Option<u32>, Errors> {
    given(text).map(|t| t.parse::<u32>().map_err(|_| Errors::at(field, format!("{field}: '{t}' is not a whole number of days")))).transpose()
}

fn token_errors(e: CoreError) -> Errors {
    match e {
        CoreError::InvalidField { field, .. } => Errors::at(field, e.to_string()),
        e => Errors { form: Some(e.to_string()), ..Default::default() },
    }
}

/// The answer to issuing or rotating: the token, once.
fn issued_page(v: &Viewer, title: &str, t: &IssuedToken) -> Markup {
    let body = html! {
        (shown_once("API token", &t.token, "Send it as Authorization: Bearer <token>."))
        p { "Token " code { (t.id) } " acts as " strong { (t.user) } " until " (t.expires) "." }
        @if let (Some(old), Some(until)) = (&t.replaces, t.old_expires) {
            p { "It replaces token " code { (old) } ", which keeps working until " (until) "." }
        }
        p { a href="/settings#tokens" { "Back to the API tokens" } }
    };
    layout::page(v, "/settings", title, body)
}

pub async fn issue_token(Submitted(v, d): Submitted<TokenDraft>) -> PageResult {
    v.require(Area::Credentials, Access::Create)?;
    let user = d.user.trim().to_string();
    let outcome = match number("expires_in_days", &d.expires_in_days) {
        Err(errors) => Err(errors),
        Ok(_) if user.is_empty() => Err(Errors::at("user", "Enter the user the token acts as.".into())),
        Ok(days) => v.warden().issue_token(&user, given(&d.label).map(String::from), days).await.map_err(token_errors),
    };
    match outcome {
        Ok(t) => Ok((StatusCode::CREATED, Html(issued_page(&v, "API token issued", &t).into_string())).into_response()),
        Err(token_errors) => {
            let forms = Forms { token: d, token_errors, ..Default::default() };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(settings_page(&v, &SettingsQuery::default(), &forms).await?.into_string())).into_response())
        }
    }
}

/// Rotation's options, as the API takes them; the page's button sends none (the defaults).
#[derive(Deserialize, Default)]
pub struct RotateDraft {
    #[serde(default)]
    grace_seconds: Option<String>,
    #[serde(default)]
    expires_in_days: Option<String>,
}

pub async fn rotate_token(Path(id): Path<String>, Submitted(v, d): Submitted<RotateDraft>) -> PageResult {
    v.require(Area::Credentials, Access::Update)?;
    let bad = |e: Errors| Failure::BadRequest(e.fields.into_values().next().unwrap_or_default());
    let grace = given(&d.grace_seconds).map(|t| t.parse::<u32>().map_err(|_| Failure::BadRequest(format!("grace_seconds: '{t}' is not a whole number of seconds")))).transpose()?;
    let days = number("expires_in_days", &d.expires_in_days).map_err(bad)?;
    let t = v.warden().rotate_token(&id, grace, days).await?;
    Ok((StatusCode::CREATED, Html(issued_page(&v, "API token rotated", &t).into_string())).into_response())
}

pub async fn revoke_token(Path(id): Path<String>, Submitted(v, _): Submitted<Nothing>) -> PageResult {
    v.require(Area::Credentials, Access::Delete)?;
    v.warden().revoke_token(&id).await?;
    Ok(crate::see_other("/settings#tokens"))
}

// ---------------------------------------------------------------- sign-in lockout

/// A key locked out now, as the lockout names it.
struct Locked {
    scope: &'static str,
    key: String,
    until: Timestamp,
    /// The user name tried when the lockout started.
    tried: String,
}

/// The keys locked out now. The store answers "is this key locked" but does
/// not list locks, so the candidates are the lockouts recorded in the
/// activity log (`sign_in_locked`) within one lockout window, each checked
/// against the store: one bounded read, then at most [`LOCKOUT_KEYS`] lookups.
async fn locked_now(v: &Viewer) -> Result<(Vec<Locked>, bool), Failure> {
    let window = i64::try_from(LOCKOUT.window.as_millis()).unwrap_or(i64::MAX);
    let filter = ActivityFilter { kinds: vec!["sign_in_locked".into()], since: Some(Timestamp(v.now.0.saturating_sub(window))), limit: Some(LOCKOUT_SCAN), ..Default::default() };
    let rows = v.warden().activity(&filter).await?;
    let mut truncated = rows.len() >= LOCKOUT_SCAN;
    let mut candidates: BTreeMap<String, (&'static str, String)> = BTreeMap::new();
    for r in &rows {
        let scope = r.detail["locked"].as_str().unwrap_or_default();
        let source = r.source.as_deref().unwrap_or_default();
        if let Some(k) = lockout_keys(&r.user, source).into_iter().find(|k| k.scope == scope) {
            if candidates.len() >= LOCKOUT_KEYS && !candidates.contains_key(&k.key) {
                truncated = true;
                continue;
            }
            candidates.entry(k.key).or_insert((k.scope, r.user.clone()));
        }
    }
    let mut locked = Vec::new();
    for (key, (scope, tried)) in candidates {
        if let Some(until) = v.warden().sign_in_locked_until(&key, v.now).await? {
            locked.push(Locked { scope, key, until, tried });
        }
    }
    Ok((locked, truncated))
}

async fn lockout_section(v: &Viewer) -> Result<Markup, Failure> {
    let (locked, truncated) = locked_now(v).await?;
    let minutes = LOCKOUT.window.as_secs() / 60;
    Ok(html! {
        section #lockout {
            h2 { "Sign-in lockout" }
            p {
                (LOCKOUT.max_failures) " failed sign-ins within " (minutes) " minutes lock the user name, or the client address they came from, out for the rest of those "
                (minutes) " minutes — on every replica, through the store. A successful sign-in clears a user's count but not a lockout in force."
            }
            @if locked.is_empty() {
                p { "Nothing is locked out now." }
            } @else {
                (layout::table("Locked out now", &["Locked", "Key", "User name tried", "Until"], html! {
                    @for l in &locked {
                        tr {
                            td { (layout::badge(l.scope)) }
                            td { code { (l.key) } }
                            td { (l.tried) }
                            td { (l.until) }
                        }
                    }
                }))
            }
            @if truncated { p.muted { "More lockouts started in the window than this page looks up (the first " (LOCKOUT_KEYS) " keys of at most " (LOCKOUT_SCAN) " records): the activity log (sign_in_locked) has them all." } }
        }
    })
}
