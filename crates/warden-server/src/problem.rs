//! Errors, mapped once to HTTP responses as RFC 9457 problem details
//! (`application/problem+json`), so that every endpoint fails the same way.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use warden_core::CoreError;
use warden_store::StoreError;

/// An RFC 9457 problem details document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, worded for the person who sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every individual problem when there are several (validation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// An error a handler returns; becomes a [`Problem`] response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub detail: String,
    pub errors: Vec<String>,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, kind, detail: detail.into(), errors: Vec::new(), retry_after: None }
    }
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", detail)
    }
    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", detail)
    }
    pub fn unprocessable(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail)
    }
    pub fn precondition_failed(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PRECONDITION_FAILED, "stale-version", detail)
    }
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %warden_model::shown(&detail.to_string()), "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred; the server log has the details")
    }
    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        ApiError { retry_after: Some(1), ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail) }
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("https://warden.dev/problems/{}", self.kind),
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            detail: Some(self.detail.clone()),
            errors: self.errors.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"warden\""));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Conflict { .. } => ApiError::conflict(e.to_string()),
            StoreError::NotFound(_) => ApiError::not_found(e.to_string()),
            StoreError::Unsupported(_) => ApiError::bad_request(e.to_string()),
            StoreError::Stale { .. } => ApiError::new(StatusCode::PRECONDITION_FAILED, "stale-version", e.to_string()),
            StoreError::IdempotencyKeyInUse { .. } => ApiError::new(StatusCode::CONFLICT, "idempotency-key-in-use", e.to_string()),
            e => ApiError::internal(e),
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        match e {
            CoreError::Store(s) => s.into(),
            CoreError::Unknown { .. } | CoreError::EntryPoint(_) => ApiError::not_found(e.to_string()),
            CoreError::AlreadyExists { .. } | CoreError::LooksLike { .. } => ApiError::conflict(e.to_string()),
            CoreError::NotAssigned { .. } => ApiError::not_found(e.to_string()),
            CoreError::Invalid(ref list) | CoreError::Dangling(ref list) => {
                let errors = list.iter().map(ToString::to_string).collect();
                ApiError { errors, ..ApiError::unprocessable(e.to_string()) }
            }
            CoreError::ReadOnly(ref list) => {
                let errors = list.iter().map(ToString::to_string).collect();
                ApiError { errors, ..ApiError::new(StatusCode::CONFLICT, "read-only-until-fixed", e.to_string()) }
            }
            CoreError::StillReferenced { ref references, .. } => {
                let errors = references.iter().map(ToString::to_string).collect();
                ApiError { errors, ..ApiError::conflict(e.to_string()) }
            }
            CoreError::NotFound(_) => ApiError::not_found(e.to_string()),
            CoreError::EmptyWindow { .. }
            | CoreError::InvalidInput(_)
            | CoreError::InvalidField { .. }
            | CoreError::InvalidId(_)
            | CoreError::Csv { .. }
            | CoreError::Aot(_) => {
                ApiError::unprocessable(e.to_string())
            }
            CoreError::Dmf(ref problems) => {
                let errors = problems.iter().map(ToString::to_string).collect();
                ApiError { errors, ..ApiError::unprocessable(e.to_string()) }
            }
            CoreError::NotEmpty { .. } | CoreError::Transition { .. } => ApiError::conflict(e.to_string()),
            CoreError::NotPermitted(_) => ApiError::forbidden(e.to_string()),
            CoreError::RecordingAltered { .. } => ApiError::new(StatusCode::CONFLICT, "recording-altered", e.to_string()),
            CoreError::SodRoles(ref list) => {
                let errors = list.iter().map(|v| format!("role {} holds both sides of rule {}", v.role, v.rule)).collect();
                ApiError { errors, ..ApiError::new(StatusCode::CONFLICT, "segregation-of-duties", e.to_string()) }
            }
            CoreError::Similar { ref pairs, .. } => {
                let errors = pairs.iter().map(|p| format!("{} ~ {} ({}%)", p.first, p.second, p.percent)).collect();
                ApiError { errors, ..ApiError::new(StatusCode::CONFLICT, "similar-object", e.to_string()) }
            }
            CoreError::SodConflicts(ref list) => {
                let errors = list.iter().map(ToString::to_string).collect();
                ApiError { errors, ..ApiError::new(StatusCode::CONFLICT, "segregation-of-duties", e.to_string()) }
            }
            e => ApiError::internal(e),
        }
    }
}

/// Rejections of axum's extractors (malformed JSON, wrong content type, bad query)
/// as problem details rather than plain text.
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> ApiError {
        let status = r.status();
        ApiError::new(status, if status == StatusCode::UNSUPPORTED_MEDIA_TYPE { "unsupported-media-type" } else { "invalid-json" }, r.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> ApiError {
        ApiError::bad_request(r.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(r: axum::extract::rejection::PathRejection) -> ApiError {
        ApiError::bad_request(r.body_text())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A rejected body read: over the limit is 413 (a problem like every other).
fn body_rejection(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            format!("request body: larger than the limit of {} bytes", crate::MAX_BODY_BYTES),
        );
    }
    ApiError::new(e.status(), "invalid-body", e.body_text())
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// Parses a body that must be one JSON object. Serde would also build a
/// struct from an array of its fields in order (`[null, 30]`), which no
/// schema of this API describes, so only objects pass.
fn json_object(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        let status = if e.is_syntax() || e.is_eof() { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
        ApiError::new(status, "invalid-json", format!("Failed to parse the request body as JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-json", "request body: expected a JSON object"));
    }
    Ok(value)
}

/// Reads `value` as `T` once [`crate::strict`] has held it to `T`'s schema.
fn strict<T: serde::de::DeserializeOwned + utoipa::ToSchema>(mut value: serde_json::Value) -> Result<T, ApiError> {
    crate::strict::check(&T::name(), &mut value)?;
    serde_json::from_value(value).map_err(|e| ApiError::unprocessable(format!("request body: {e}")))
}

/// A JSON object body (`Content-Type: application/json`, else 415), held to
/// the schema of `T` in the OpenAPI document ([`crate::strict`]): an unknown
/// field, a wrong type or a value outside the schema is a 422 naming it.
pub struct JsonObject<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + utoipa::ToSchema> axum::extract::FromRequest<S> for JsonObject<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        JsonValue::from_request(req, state).await.and_then(|JsonValue(v)| strict(v)).map(JsonObject)
    }
}

/// A JSON object body, not yet held to a schema: for bodies whose schema
/// depends on the path (a collection's object kind); check it with
/// [`crate::strict::check`].
pub struct JsonValue(pub serde_json::Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonValue {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Expected request with `Content-Type: application/json`"));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(body_rejection)?;
        json_object(&bytes).map(JsonValue)
    }
}

/// A request body that may be left out (or be only white space): then `T`'s
/// default; otherwise a JSON object held to `T`'s schema like [`JsonObject`].
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + utoipa::ToSchema + Default> axum::extract::FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        json_object(&bytes).and_then(strict).map(OptionalJson)
    }
}
