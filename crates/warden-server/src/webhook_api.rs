//! The webhook API: receivers of alerts, their secrets (shown once) and the delivery log.

use crate::builtin::Area;
use crate::endpoints::{ep, needs, Body, Endpoint};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use crate::Caller;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warden_model::{Access, ObjectKind, ObjectRef, Webhook};

/// The webhook endpoints, for the endpoint table.
pub fn endpoints() -> Vec<Endpoint> {
    use Body::Schema;
    let area = Area::Webhooks;
    let tag = "webhooks";
    // Paths with more than one method, written once.
    let webhooks = "/api/v1/webhooks";
    vec![
        ep(Method::GET, webhooks, needs(area, Access::Read), tag, "Webhooks that receive alerts", Body::None, (200, Schema("WebhookList")), list),
        ep(Method::POST, webhooks, needs(area, Access::Create), tag, "Add a webhook; its signing secret is shown once", Schema("NewWebhook"), (201, Schema("WebhookSecret")), create)
            .creates(vec![("id", "$response.body#/webhook/id".into())]),
        ep(Method::POST, "/api/v1/webhooks/{id}/rotate", needs(area, Access::Invoke), tag, "A new signing secret, shown once; the old one stops signing", Body::None, (200, Schema("WebhookSecret")), rotate).linked(),
        ep(Method::DELETE, "/api/v1/webhooks/{id}", needs(area, Access::Delete), tag, "Remove a webhook", Body::None, (204, Body::None), remove).linked(),
        ep(Method::GET, "/api/v1/webhooks/deliveries", needs(area, Access::Read), tag, "The delivery log: every attempt, newest last", Body::None, (200, Schema("DeliveryList")), deliveries)
            .with_query(vec![("webhook", "only this webhook's deliveries", false), ("limit", "at most this many (default 100, at most 1000)", false)]),
    ]
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://...` or `http://...` on a public address; loopback, private and
    /// link-local targets only where the operator allows them (`--allow-private-webhooks`).
    #[schema(pattern = r"^https?://[^/?#\s]+[^\s]*$")]
    pub url: String,
    /// Alert types (`sod.conflict.unresolved`, `sod.conflict.*`, `session.privileged.ended`, ...); all when empty. Unknown types are refused.
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSecret {
    pub webhook: Webhook,
    /// Verify `x-warden-signature` (`sha256=` HMAC of `TIMESTAMP.BODY`) with it; not shown again.
    pub secret: String,
    pub revision: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<serde_json::Value>,
}

fn key(state: &AppState) -> ApiResult<&warden_core::webhooks::WebhookKey> {
    state.webhooks.key.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-webhook-key",
            "this server has no webhook key: set WARDEN_WEBHOOK_KEY (64 hex digits, the same on every replica)",
        )
    })
}

async fn list(Extension(caller): Extension<Caller>) -> ApiResult<Json<WebhookList>> {
    Ok(Json(WebhookList { items: caller.snapshot.model.webhooks.values().cloned().collect() }))
}

async fn create(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Result<crate::problem::JsonObject<NewWebhook>, crate::problem::ApiError>) -> ApiResult<Response> {
    let crate::problem::JsonObject(req) = body?;
    let p = caller.principal()?;
    let out = state.warden(&p.actor(), &caller.origin).add_webhook(&req.url, req.events, req.description, key(&state)?, caller.now, state.webhooks.allow_private).await?;
    Ok((StatusCode::CREATED, Json(WebhookSecret { webhook: out.webhook, secret: out.secret, revision: out.revision })).into_response())
}

async fn rotate(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<WebhookSecret>> {
    let p = caller.principal()?;
    let out = state.warden(&p.actor(), &caller.origin).rotate_webhook(&id, key(&state)?).await?;
    Ok(Json(WebhookSecret { webhook: out.webhook, secret: out.secret, revision: out.revision }))
}

async fn remove(State(state): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let p = caller.principal()?;
    state.warden(&p.actor(), &caller.origin).delete(&ObjectRef::new(ObjectKind::Webhook, id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct DeliveryQuery {
    webhook: Option<String>,
    limit: Option<usize>,
}

async fn deliveries(State(state): State<AppState>, q: Result<Query<DeliveryQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Json<DeliveryList>> {
    let Query(q) = q?;
    let limit = crate::api::page_limit(q.limit)?;
    let filter = warden_store::ActivityFilter { kinds: vec!["webhook_delivery".into()], ..Default::default() };
    let rows = crate::api::reader(&state).activity(&filter).await?;
    let mut deliveries: Vec<serde_json::Value> = rows
        .into_iter()
        .filter(|r| q.webhook.as_deref().is_none_or(|w| r.detail["webhook"] == w))
        .map(|r| serde_json::json!({ "id": r.id, "at": r.at, "user": r.user, "detail": r.detail }))
        .collect();
    let skip = deliveries.len().saturating_sub(limit);
    deliveries.drain(..skip);
    Ok(Json(DeliveryList { deliveries }))
}
