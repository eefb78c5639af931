//! The audit trail: events filtered by time, actor, object and action; each
//! event's before/after side by side; the chain's verification (intact, or
//! the first broken event) and its head, the anchor to keep elsewhere.

use crate::form::{given, Submitted};
use crate::layout::{self, TEXT};
use crate::{encode, Failure, PageResult, Viewer};
use axum::extract::{Path, Query};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::Deserialize;
use warden_model::{Access, ObjectRef, Timestamp};
use warden_server::builtin::Area;
use warden_server::AppState;
use warden_store::{AuditEvent, AuditFilter, AuditVerification};

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(trail)).route("/audit/verify", post(verify)).route("/audit/{seq}", get(event))
}

const PAGE: usize = 50;
/// Events read per page when filtering by action, which the store does not index.
const SCAN: usize = 2_000;
/// Changes shown on an event's page (an import can carry a hundred thousand).
const CHANGES: usize = 200;

#[derive(Deserialize, Default)]
pub struct TrailQuery {
    since: Option<String>,
    actor: Option<String>,
    object: Option<String>,
    action: Option<String>,
    after_seq: Option<u64>,
}

fn object_ref(text: &str) -> Result<ObjectRef, String> {
    let (kind, key) = text.split_once('/').ok_or_else(|| format!("'{text}' is not KIND/KEY (e.g. role/Clerk)"))?;
    let kind = warden_model::ObjectKind::from_code(kind).ok_or_else(|| format!("unknown kind '{kind}'"))?;
    Ok(ObjectRef::new(kind, key))
}

pub async fn trail(Extension(v): Extension<Viewer>, Query(q): Query<TrailQuery>) -> PageResult {
    v.require(Area::AuditTrail, Access::Read)?;
    Ok(Html(trail_page(&v, &q, None).await?.into_string()).into_response())
}

async fn trail_page(v: &Viewer, q: &TrailQuery, verification: Option<&AuditVerification>) -> Result<Markup, Failure> {
    let warden = v.warden();
    let head = warden.audit_head().await?;
    let since = given(&q.since).map(Timestamp::parse).transpose();
    let object = given(&q.object).map(object_ref).transpose();
    let action = given(&q.action).map(str::to_lowercase);
    let (since_error, object_error) = (since.as_ref().err().map(ToString::to_string), object.as_ref().err().cloned());
    let filtered = given(&q.since).is_some() || given(&q.actor).is_some() || given(&q.object).is_some() || action.is_some();
    // Unfiltered, the page opens on the latest events.
    let after_seq = q.after_seq.or_else(|| (!filtered).then(|| head.seq.saturating_sub(PAGE as u64)));
    let events: Vec<AuditEvent> = match (since, object) {
        (Ok(since), Ok(object)) => {
            let filter = AuditFilter {
                since,
                actor: given(&q.actor).map(String::from),
                object,
                after_seq,
                limit: Some(if action.is_some() { SCAN } else { PAGE }),
                include_changes: false,
            };
            let mut events = warden.audit_events(&filter).await?;
            if let Some(a) = &action {
                events.retain(|e| e.action.to_lowercase().contains(a));
                events.truncate(PAGE);
            }
            events
        }
        _ => Vec::new(),
    };
    let keep = |name: &str, value: Option<&str>| value.map(|x| format!("&{name}={}", encode(x))).unwrap_or_default();
    let query = format!("{}{}{}{}", keep("since", given(&q.since)), keep("actor", given(&q.actor)), keep("object", given(&q.object)), keep("action", given(&q.action)));
    let next = events.last().filter(|_| events.len() == PAGE).map(|e| format!("/audit?after_seq={}{query}", e.seq));
    let earlier = after_seq.filter(|s| *s > 0 && !filtered).map(|s| format!("/audit?after_seq={}", s.saturating_sub(PAGE as u64)));
    let body = html! {
        section.card aria-label="Verification" {
            h2 { "Integrity" }
            @match verification {
                Some(AuditVerification::Intact { events, head }) => p role="status" { (layout::badge("Intact")) " All " (events) " events chain to their predecessors; head " code { (head) } "." },
                Some(AuditVerification::Broken { seq, reason }) => p role="alert" { (layout::badge("Broken")) " The first broken event is " a href=(format!("/audit/{seq}")) { "#" (seq) } ": " (reason) },
                None => p.muted { "Recompute the hash chain to see whether any event was altered, removed or inserted." },
            }
            p { "Head (the anchor to keep outside Warden): " code #anchor { (head.seq) ":" (head.hash) } " " button.secondary type="button" data-copy="anchor" { "Copy" } }
            @if v.can(Area::AuditTrail, Access::Invoke) {
                form method="post" action="/audit/verify" {
                    (layout::csrf(v))
                    div.row {
                        (layout::field("Verify up to an anchor (optional, SEQ:HASH)", "anchor", "", None, TEXT))
                        div.actions { button type="submit" { "Verify the trail" } }
                    }
                }
            }
        }
        form.card method="get" action="/audit" role="search" {
            div.row {
                (layout::field("Since (RFC 3339 or date)", "since", given(&q.since).unwrap_or(""), since_error.as_deref(), TEXT))
                (layout::field("Actor", "actor", given(&q.actor).unwrap_or(""), None, TEXT))
                (layout::field("Object (KIND/KEY)", "object", given(&q.object).unwrap_or(""), object_error.as_deref(), TEXT))
                (layout::field("Action contains", "action", given(&q.action).unwrap_or(""), None, TEXT))
            }
            div.actions { button type="submit" { "Filter" } a href="/audit" { "Latest" } }
        }
        (layout::table("Audit events", &["#", "At", "Actor", "Action", "Origin", "Summary"], html! {
            @for e in &events {
                tr {
                    td { a href=(format!("/audit/{}", e.seq)) { (e.seq) } }
                    td { (e.at) }
                    td { (e.actor) }
                    td { (e.action) }
                    td { (e.origin) }
                    td { code { (summary(&e.summary)) } }
                }
            }
        }))
        @if events.is_empty() { p { "No event matches." } }
        p.pager {
            @if let Some(e) = earlier { a href=(e) rel="prev" { "← Earlier" } " · " }
            "Events " (events.first().map_or(0, |e| e.seq)) "–" (events.last().map_or(0, |e| e.seq)) " of " (head.seq)
            @if let Some(n) = next { " · " a href=(n) rel="next" { "Later →" } }
        }
    };
    Ok(layout::page(v, "/audit", "Audit trail", body))
}

fn summary(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(159).collect::<String>())
    } else {
        text
    }
}

#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    anchor: String,
}

pub async fn verify(Submitted(v, f): Submitted<VerifyForm>) -> PageResult {
    v.require(Area::AuditTrail, Access::Invoke)?;
    let anchor = match f.anchor.trim() {
        "" => None,
        text => {
            let (seq, hash) = text.split_once(':').ok_or_else(|| Failure::BadRequest(format!("anchor: '{text}' is not SEQ:HASH")))?;
            let seq = seq.trim().parse().map_err(|_| Failure::BadRequest(format!("anchor: '{seq}' is not a sequence number")))?;
            Some(warden_store::AuditAnchor { seq, hash: hash.trim().to_string() })
        }
    };
    let result = v.warden().verify_audit(anchor.as_ref()).await?;
    Ok(Html(trail_page(&v, &TrailQuery::default(), Some(&result)).await?.into_string()).into_response())
}

/// One event with each object's before and after side by side.
pub async fn event(Extension(v): Extension<Viewer>, Path(seq): Path<u64>) -> PageResult {
    v.require(Area::AuditTrail, Access::Read)?;
    let filter = AuditFilter { after_seq: Some(seq.saturating_sub(1)), limit: Some(1), include_changes: true, ..Default::default() };
    let e = v.warden().audit_events(&filter).await?.into_iter().find(|e| e.seq == seq).ok_or_else(|| Failure::NotFound(format!("no audit event #{seq}")))?;
    let pretty = |value: &Option<serde_json::Value>| value.as_ref().map_or_else(|| "(none)".to_string(), |x| serde_json::to_string_pretty(x).unwrap_or_default());
    let body = html! {
        dl {
            dt { "At" } dd { (e.at) }
            dt { "Actor" } dd { (e.actor) }
            dt { "Action" } dd { (e.action) }
            dt { "Origin" } dd { (e.origin) }
            dt { "Revision" } dd { (e.revision) }
            dt { "Hash" } dd { code { (e.hash) } }
            dt { "Previous hash" } dd { code { (e.prev_hash) } }
        }
        h2 { "Summary" }
        pre { (serde_json::to_string_pretty(&e.summary).unwrap_or_default()) }
        h2 { "Changes (" (e.changes.len()) ")" }
        @for c in e.changes.iter().take(CHANGES) {
            section.card {
                h3 { (c.object) " " span.muted { "(" (c.layer.code()) " layer)" } }
                div.side-by-side {
                    div { h4 { "Before" } pre class=[(c.before.is_some() && c.before != c.after).then_some("diff")] { (pretty(&c.before)) } }
                    div { h4 { "After" } pre class=[(c.after.is_some() && c.before != c.after).then_some("diff")] { (pretty(&c.after)) } }
                }
            }
        }
        @if e.changes.len() > CHANGES { p.muted { "The first " (CHANGES) " changes are shown; the API gives every one (" code { "GET /api/v1/audit?changes=true" } ")." } }
        p { a href=(format!("/audit?after_seq={}", seq.saturating_sub(1))) { "← Back to the trail" } }
    };
    Ok(Html(layout::page(&v, "/audit", &format!("Audit event #{seq}"), body).into_string()).into_response())
}
