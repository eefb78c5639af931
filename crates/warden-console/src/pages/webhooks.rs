//! Webhooks: the receivers of alerts, adding one and rotating its signing
//! secret (each shown once, in the answer to the form, never again), and a
//! webhook's delivery log — through the same services as `warden webhook`
//! and `/api/v1/webhooks`, with the server's webhook key.

use crate::form::{Nothing, Submitted, given};
use crate::layout::{self, REQUIRED, TEXT};
use crate::pages::settings::shown_once;
use crate::{encode, see_other, Failure, PageResult, Viewer};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::Deserialize;
use warden_core::webhooks::{alert_kinds, WebhookKey};
use warden_core::CoreError;
use warden_model::{Access, ObjectKind, ObjectRef, Timestamp, Webhook};
use warden_server::builtin::Area;
use warden_server::AppState;
use warden_store::ActivityFilter;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(add))
        .route("/webhooks/{id}", get(deliveries))
        .route("/webhooks/{id}/rotate", post(rotate))
        .route("/webhooks/{id}/delete", post(remove))
}

const PAGE: usize = 50;
/// Delivery log rows read per request at most: a page of one webhook's
/// deliveries costs this much whatever the size of the log, and the next
/// page goes on from where the reading stopped.
const SCAN: usize = 5_000;
/// How far back the delivery log starts when the page does not say.
const DEFAULT_SINCE: &str = "-7d";

pub fn href(id: &str) -> String {
    format!("/webhooks/{}", encode(id))
}

/// The server's webhook key, or why adding and rotating are unavailable.
fn key(v: &Viewer) -> Result<&WebhookKey, String> {
    v.state
        .webhooks
        .key
        .as_ref()
        .ok_or_else(|| "This server has no webhook key, so webhooks cannot be added or rotated: set WARDEN_WEBHOOK_KEY (64 hex digits, the same on every replica).".to_string())
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<String>,
}

pub async fn list(Extension(v): Extension<Viewer>, Query(q): Query<ListQuery>) -> PageResult {
    v.require(Area::Webhooks, Access::Read)?;
    Ok(Html(list_page(&v, &q, &Draft::default(), &Errors::default()).into_string()).into_response())
}

/// Webhooks whose id, URL or description contain `q` (case-insensitive), from after `after`.
fn matching<'a>(v: &'a Viewer, q: &str, after: Option<&str>) -> (Vec<&'a Webhook>, Option<String>) {
    let q = q.to_lowercase();
    let hit = |w: &Webhook| q.is_empty() || w.id.to_lowercase().contains(&q) || w.url.to_lowercase().contains(&q) || w.description.as_ref().is_some_and(|d| d.to_lowercase().contains(&q));
    let webhooks = &v.snapshot.model.webhooks;
    let from: Box<dyn Iterator<Item = (&String, &Webhook)>> = match after {
        Some(a) => Box::new(webhooks.range::<_, str>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))),
        None => Box::new(webhooks.iter()),
    };
    let mut page: Vec<&Webhook> = from.map(|(_, w)| w).filter(|w| hit(w)).take(PAGE + 1).collect();
    let next = (page.len() > PAGE).then(|| {
        page.truncate(PAGE);
        page.last().map(|w| w.id.clone()).unwrap_or_default()
    });
    (page, next)
}

fn list_page(v: &Viewer, q: &ListQuery, d: &Draft, errors: &Errors) -> Markup {
    let text = q.q.clone().unwrap_or_default();
    let (items, next) = matching(v, &text, q.after.as_deref());
    let next = next.map(|after| format!("/webhooks?q={}&after={}", encode(&text), encode(&after)));
    let body = html! {
        form.card.row method="get" action="/webhooks" role="search" {
            (layout::field("Search by id, URL or description", "q", &text, None, TEXT))
            div.actions { button type="submit" { "Search" } }
        }
        (layout::table("Webhooks", &["Id", "URL", "Alert types", "Enabled", "Secret generation", "Created", "Description"], html! {
            @for w in &items {
                tr {
                    td { a href=(href(&w.id)) { (w.id) } }
                    td { code { (w.url) } }
                    td { (w.events.join(", ")) }
                    td { (layout::badge(if w.enabled { "Yes" } else { "No" })) }
                    td { (w.generation) }
                    td { (w.created) }
                    td { (w.description.as_deref().unwrap_or("")) }
                }
            }
        }))
        @if items.is_empty() { p { "No webhooks match." } }
        (layout::pager(items.len(), Some(v.snapshot.model.webhooks.len()), next))
        @if v.can(Area::Webhooks, Access::Create) {
            h2 { "Add a webhook" }
            @match key(v) {
                Err(why) => p.error role="alert" { (why) },
                Ok(_) => (add_form(v, d, errors)),
            }
        }
    };
    layout::page(v, "/webhooks", "Webhooks", body)
}

/// What the add form holds, as typed.
#[derive(Deserialize, Default)]
pub struct Draft {
    #[serde(default)]
    url: String,
    /// Alert types, separated by commas, spaces or lines; all when blank.
    #[serde(default)]
    events: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Default)]
struct Errors {
    url: Option<String>,
    events: Option<String>,
    form: Option<String>,
}

fn add_form(v: &Viewer, d: &Draft, errors: &Errors) -> Markup {
    let events_help = format!("Separated by commas or spaces; blank for all (*). A prefix ending in .* takes a family (sod.conflict.*). Known: {}.", alert_kinds().join(", "));
    html! {
        form.card method="post" action="/webhooks" novalidate {
            (layout::csrf(v))
            @if let Some(e) = &errors.form { p.error role="alert" { (e) } }
            (layout::field("URL", "url", &d.url, errors.url.as_deref(), REQUIRED.kind("url").placeholder("https://alerts.example.com/warden")))
            (layout::field("Alert types", "events", &d.events, errors.events.as_deref(), TEXT.placeholder("sod.conflict.*")))
            p.muted { (events_help) }
            (layout::field("Description", "description", d.description.as_deref().unwrap_or(""), None, TEXT))
            div.actions { button type="submit" { "Add webhook" } }
        }
    }
}

/// Puts a refusal at the field it concerns (the services name it first: `url: …`, `events: …`).
fn errors_of(e: CoreError) -> Errors {
    let text = e.to_string();
    if text.starts_with("url") {
        Errors { url: Some(text), ..Default::default() }
    } else if text.starts_with("events") {
        Errors { events: Some(text), ..Default::default() }
    } else {
        Errors { form: Some(text), ..Default::default() }
    }
}

pub async fn add(Submitted(v, d): Submitted<Draft>) -> PageResult {
    v.require(Area::Webhooks, Access::Create)?;
    let refused = |v: &Viewer, d: &Draft, errors: Errors| {
        Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(list_page(v, &ListQuery::default(), d, &errors).into_string())).into_response())
    };
    let key = match key(&v) {
        Ok(k) => k.clone(),
        Err(why) => return refused(&v, &d, Errors { form: Some(why), ..Default::default() }),
    };
    let url = d.url.trim();
    if url.is_empty() {
        return refused(&v, &d, Errors { url: Some("Enter the URL alerts are sent to.".into()), ..Default::default() });
    }
    let events: Vec<String> = d.events.split([',', ' ', '\n', '\r', '\t']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    let description = given(&d.description).map(String::from);
    let added = v.warden().add_webhook(url, events, description, &key, v.now, v.state.webhooks.allow_private).await;
    match added {
        Ok(out) => {
            let body = html! {
                (shown_once("Signing secret", &out.secret, "Receivers verify x-warden-signature (sha256= HMAC of TIMESTAMP.BODY) with it."))
                p { "Webhook " a href=(href(&out.webhook.id)) { (out.webhook.id) } " sends " (out.webhook.events.join(", ")) " to " code { (out.webhook.url) } "." }
                p { a href="/webhooks" { "Back to the webhooks" } }
            };
            Ok((StatusCode::CREATED, Html(layout::page(&v, "/webhooks", "Webhook added", body).into_string())).into_response())
        }
        Err(e) => refused(&v, &d, errors_of(e)),
    }
}

pub async fn rotate(Path(id): Path<String>, Submitted(v, _): Submitted<Nothing>) -> PageResult {
    v.require(Area::Webhooks, Access::Invoke)?;
    let key = key(&v).map_err(|why| Failure::Core(CoreError::InvalidInput(why)))?.clone();
    let out = v.warden().rotate_webhook(&id, &key).await?;
    let body = html! {
        (shown_once("New signing secret", &out.secret, "The old secret stopped signing at once: give this one to the receiver now."))
        p { "Webhook " a href=(href(&out.webhook.id)) { (out.webhook.id) } " is at secret generation " (out.webhook.generation) "." }
    };
    Ok(Html(layout::page(&v, "/webhooks", "Webhook secret rotated", body).into_string()).into_response())
}

pub async fn remove(Path(id): Path<String>, Submitted(v, _): Submitted<Nothing>) -> PageResult {
    v.require(Area::Webhooks, Access::Delete)?;
    v.warden().delete(&ObjectRef::new(ObjectKind::Webhook, id), None).await?;
    Ok(see_other("/webhooks"))
}

#[derive(Deserialize, Default)]
pub struct LogQuery {
    /// From this instant (`2026-12-01`, `7d` ago, ...).
    since: Option<String>,
    /// After this activity event id (the next page).
    after: Option<u64>,
}

/// One webhook and its delivery log, oldest first from `since`.
pub async fn deliveries(Extension(v): Extension<Viewer>, Path(id): Path<String>, Query(q): Query<LogQuery>) -> PageResult {
    v.require(Area::Webhooks, Access::Read)?;
    let w = v.snapshot.model.webhooks.get(&id).cloned().ok_or_else(|| Failure::NotFound(format!("webhook '{id}' does not exist")))?;
    let since_text = given(&q.since).unwrap_or(DEFAULT_SINCE).to_string();
    let (since, since_error) = match warden_core::parse_time(&since_text, v.now) {
        Ok(t) => (t, None),
        Err(e) => (Timestamp(v.now.0 - 7 * 86_400_000), Some(e.to_string())),
    };
    let filter = ActivityFilter { kinds: vec!["webhook_delivery".into()], since: Some(since), after_id: q.after, limit: Some(SCAN), ..Default::default() };
    let rows = v.warden().activity(&filter).await?;
    let scanned_all = rows.len() < SCAN;
    let mut shown = Vec::new();
    let mut last_read = None;
    for r in &rows {
        last_read = Some(r.id);
        if r.detail["webhook"] == w.id.as_str() {
            shown.push(r);
            if shown.len() == PAGE {
                break;
            }
        }
    }
    let more = shown.len() == PAGE || !scanned_all;
    let next = last_read.filter(|_| more).map(|after| format!("{}?since={}&after={after}", href(&w.id), encode(&since_text)));
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let body = html! {
        dl.facts {
            dt { "URL" } dd { code { (w.url) } }
            dt { "Alert types" } dd { (w.events.join(", ")) }
            dt { "Enabled" } dd { (if w.enabled { "yes" } else { "no" }) }
            dt { "Secret generation" } dd { (w.generation) }
            dt { "Created" } dd { (w.created) }
            @if let Some(d) = &w.description { dt { "Description" } dd { (d) } }
        }
        div.actions {
            @if v.can(Area::Webhooks, Access::Invoke) && key(&v).is_ok() {
                (layout::button(&v, &format!("{}/rotate", href(&w.id)), "Rotate the signing secret", "secondary"))
            }
            @if v.can(Area::Webhooks, Access::Delete) {
                (layout::button(&v, &format!("{}/delete", href(&w.id)), "Remove this webhook", "danger"))
            }
        }
        h2 { "Deliveries" }
        form.card.row method="get" action=(href(&w.id)) role="search" {
            (layout::field("Since (a date such as 2026-12-01, or -24h, -7d, -30d)", "since", &since_text, since_error.as_deref(), TEXT))
            div.actions { button type="submit" { "Show" } }
        }
        p.muted { "Every attempt to deliver an alert, oldest first; a failed one is retried with a growing wait." }
        (layout::table("Deliveries", &["At", "Alert", "Type", "Attempt", "Outcome", "HTTP status", "Error"], html! {
            @for r in &shown {
                tr {
                    td { (r.at) }
                    td { code { (text(&r.detail["delivery"])) } }
                    td { (text(&r.detail["type"])) }
                    td { (text(&r.detail["attempt"])) }
                    td { (text(&r.detail["outcome"])) }
                    td { (text(&r.detail["http_status"])) }
                    td { (text(&r.detail["error"])) }
                }
            }
        }))
        @if shown.is_empty() { p { "No deliveries in this stretch of the log." } }
        (layout::pager(shown.len(), None, next))
    };
    Ok(Html(layout::page(&v, "/webhooks", &format!("Webhook {}", w.id), body).into_string()).into_response())
}
