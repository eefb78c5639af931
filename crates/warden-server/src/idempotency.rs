//! `Idempotency-Key` on every POST (draft-ietf-httpapi-idempotency-key-header):
//! a client that lost an answer (a timeout, a crashed server) retries with the
//! same key and gets the first answer instead of a second write.
//!
//! - The key is an opaque string of 1 to [`MAX_KEY_LEN`] visible ASCII
//!   characters (bare, or as a structured-field string in quotes); anything
//!   else is refused with 422 naming the header.
//! - Keys belong to the authenticated caller: user and credential (token or
//!   session). A public POST (sign-in) has no caller: its key is checked, not
//!   kept, and a retried sign-in opens another session.
//! - The request's fingerprint (method, path and query, SHA-256 of the body) is
//!   stored with the key; the same key on another request answers 422.
//! - The record is written by the request's first commit, in the same
//!   transaction ([`warden_core::idempotency`]): after a crash the write and
//!   its record exist together or not at all, so a retry never writes twice.
//!   Object creation renders its answer before the commit, so the answer is in
//!   that transaction too; other writes store their answer right after the
//!   commit. A record without an answer (still finishing, or the server died
//!   in between) answers 409, as does a retry while the first is in flight.
//! - Answers that carry a secret (a new API token, a webhook signing secret)
//!   are never stored: the replay is a 409 that names what was created and
//!   says the secret was shown once. Secrets are not kept anywhere in clear.
//! - POSTs that write nothing (checks, audit verification) and activity
//!   reports are answered afresh; nothing is stored for them.
//! - Records expire after [`TTL`]; keyed commits purge expired ones.

use crate::problem::ApiError;
use crate::{Caller, RouteState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::time::Duration;
use warden_core::idempotency::IdempotencyClaim;
use warden_model::Timestamp;
use warden_store::{IdempotencyRecord, StoredResponse};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a key is remembered.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest key accepted; a UUID needs 36.
pub const MAX_KEY_LEN: usize = 255;

/// Response headers worth replaying; cookies never are.
const KEPT_HEADERS: [HeaderName; 4] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG, header::CACHE_CONTROL];

/// Response schemas that carry a secret shown once.
const SECRET_ANSWERS: [&str; 3] = ["IssuedToken", "WebhookSecret", "SessionInfo"];

tokio::task_local! {
    /// The claim of the request being served: every commit made while serving
    /// it records the key ([`crate::AppState::warden`] and `api::commit` read it), so
    /// no handler can forget to.
    static CLAIM: IdempotencyClaim;
}

/// The claim of the request this task serves, if it sent a key.
pub(crate) fn current() -> Option<IdempotencyClaim> {
    CLAIM.try_with(Clone::clone).ok()
}

/// The key as sent: 1 to 255 visible ASCII characters, optionally quoted.
pub fn parse_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else { return Ok(None) };
    let invalid = |why: &str| ApiError::unprocessable(format!("Idempotency-Key: {why}"));
    if values.next().is_some() {
        return Err(invalid("send the header once"));
    }
    let text = value.to_str().map_err(|_| invalid("not visible ASCII"))?.trim();
    let key = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(invalid(&format!("must have 1 to {MAX_KEY_LEN} characters, not {}", key.len())));
    }
    if let Some(c) = key.chars().find(|c| !c.is_ascii_graphic() || matches!(c, '"' | '\\')) {
        return Err(invalid(&format!("{c:?} is not allowed: use visible ASCII without quotes or backslashes (a UUID, say)")));
    }
    Ok(Some(key.to_string()))
}

/// Whose keys these are: the user and the credential used (ids, never secrets).
fn scope(caller: &Caller) -> Option<String> {
    let p = caller.principal.as_ref()?;
    let credential = match &p.via {
        crate::auth::Via::Token { credential } | crate::auth::Via::Session { credential } => credential.as_str(),
        crate::auth::Via::Local => "local",
    };
    Some(format!("{} {credential}", p.user))
}

/// SHA-256 over the method, the path and query, and the body.
fn fingerprint(method: &Method, target: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [method.as_str().as_bytes(), target.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(body);
    hex::encode(h.finalize())
}

/// An answer as stored, rendered as a response (without the replay mark).
pub(crate) fn respond(stored: &StoredResponse) -> Response {
    let mut r = Response::new(Body::from(stored.body.clone()));
    *r.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
            r.headers_mut().append(name, value);
        }
    }
    r
}

/// The headers of `headers` that a replay repeats.
pub(crate) fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    KEPT_HEADERS
        .iter()
        .filter_map(|name| headers.get(name).and_then(|v| v.to_str().ok()).map(|v| (name.as_str().to_string(), v.to_string())))
        .collect()
}

fn replay(stored: &StoredResponse) -> Response {
    let mut r = respond(stored);
    r.headers_mut().insert(HeaderName::from_static(REPLAYED), HeaderValue::from_static("true"));
    r
}

/// The answer to a retry of a request that committed under this key.
fn answer_from(record: &IdempotencyRecord) -> Response {
    match &record.response {
        Some(stored) => replay(stored),
        None => ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::CONFLICT,
                "idempotency-key-in-use",
                format!(
                    "Idempotency-Key {:?}: the first request with this key committed{} but its answer is not stored: it is still finishing, or the server stopped before answering; retry in a moment, and if this stays, see the audit trail at that revision",
                    record.key,
                    record.revision.map(|r| format!(" revision {r}")).unwrap_or_default()
                ),
            )
        }
        .into_response(),
    }
}

/// What is stored for an answer that carried a secret: a 409 naming what
/// was done, with the secret left out.
fn without_secret(status: StatusCode, body: &[u8]) -> StoredResponse {
    let mut shown = serde_json::from_slice::<serde_json::Value>(body).unwrap_or_default();
    if let Some(map) = shown.as_object_mut() {
        for field in ["token", "secret", "csrf_token"] {
            map.remove(field);
        }
    }
    let problem = ApiError::new(
        StatusCode::CONFLICT,
        "idempotency-secret-not-kept",
        format!(
            "the request with this Idempotency-Key was done ({status}): {shown}; its answer held a secret, which Warden shows once and never keeps: revoke what it created and ask again with a new key"
        ),
    );
    StoredResponse {
        status: problem.status.as_u16(),
        headers: vec![(header::CONTENT_TYPE.as_str().into(), "application/problem+json".into())],
        body: serde_json::to_vec(&problem.problem()).unwrap_or_default(),
    }
}

/// The middleware (inside authentication): see the module documentation.
pub(crate) async fn layer(State(route): State<RouteState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let key = match parse_key(req.headers()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(req).await,
        Err(e) => return e.into_response(),
    };
    let Some(caller) = req.extensions().get::<Caller>() else { return next.run(req).await };
    let Some(scope) = scope(caller) else { return next.run(req).await };
    let now = caller.now;
    let secret = matches!(route.endpoint.response.1, crate::endpoints::Body::Schema(s) if SECRET_ANSWERS.contains(&s));
    let state = route.app;

    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(format!("cannot read the request body: {e}")).into_response(),
    };
    let target = parts.uri.path_and_query().map_or(parts.uri.path(), |p| p.as_str());
    let fingerprint = fingerprint(&parts.method, target, &body);
    let earlier = |record: Option<IdempotencyRecord>| match record {
        Some(r) if r.fingerprint != fingerprint => Some(
            ApiError::unprocessable(format!(
                "Idempotency-Key {key:?} was used for another request (method, path or body differ) in the last 24 hours; use a new key for a new request"
            ))
            .into_response(),
        ),
        Some(r) => Some(answer_from(&r)),
        None => None,
    };
    match state.store.idempotency(&scope, &key, now).await {
        Ok(found) => {
            if let Some(answer) = earlier(found) {
                return answer;
            }
        }
        Err(e) => return ApiError::from(e).into_response(),
    }

    let claim = IdempotencyClaim::new(IdempotencyRecord {
        scope: scope.clone(),
        key: key.clone(),
        fingerprint: fingerprint.clone(),
        created: now,
        expires: Timestamp(now.0.saturating_add(TTL.as_millis() as i64)),
        revision: None,
        response: None,
    });
    let req = Request::from_parts(parts, Body::from(body));
    let response = CLAIM.scope(claim.clone(), next.run(req)).await;

    match claim.committed() {
        // The answer went into the commit (or nothing was written: nothing to keep).
        Some((_, true)) => response,
        Some((_, false)) => {
            let (parts, body) = response.into_parts();
            let body = match axum::body::to_bytes(body, usize::MAX).await {
                Ok(b) => b,
                Err(e) => return ApiError::internal(format!("reading an answer to store it: {e}")).into_response(),
            };
            let stored = if secret {
                without_secret(parts.status, &body)
            } else {
                StoredResponse { status: parts.status.as_u16(), headers: kept_headers(&parts.headers), body: body.to_vec() }
            };
            if let Err(e) = state.store.complete_idempotency(&scope, &key, &stored).await {
                tracing::warn!(error = %e, "could not store the answer to an Idempotency-Key; a retry will get 409");
            }
            Response::from_parts(parts, Body::from(body))
        }
        // Refused before any commit: perhaps because the same request committed
        // meanwhile under this key (a concurrent retry); answer as a retry then.
        None if !response.status().is_success() => match state.store.idempotency(&scope, &key, now).await {
            Ok(found) => earlier(found).unwrap_or(response),
            Err(_) => response,
        },
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str) -> Result<Option<String>, String> {
        let mut h = HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_str(value).unwrap());
        parse_key(&h).map_err(|e| e.detail)
    }

    #[test]
    fn keys_are_bounded_visible_ascii() {
        assert_eq!(key("0b6f6c1e-5bd5-4b8f-9a35-0c8d1f5e6f70").unwrap().as_deref(), Some("0b6f6c1e-5bd5-4b8f-9a35-0c8d1f5e6f70"));
        assert_eq!(key("\"quoted\"").unwrap().as_deref(), Some("quoted"), "a structured-field string");
        assert_eq!(parse_key(&HeaderMap::new()).unwrap(), None);
        for bad in ["", "\"\"", "two words", "tab\there", "back\\slash", "a\"b"] {
            let e = key(bad).unwrap_err();
            assert!(e.starts_with("Idempotency-Key: "), "{bad:?}: {e}");
        }
        assert!(key(&"k".repeat(MAX_KEY_LEN)).is_ok());
        assert!(key(&"k".repeat(MAX_KEY_LEN + 1)).unwrap_err().contains("1 to 255"));
        let mut twice = HeaderMap::new();
        twice.append(HEADER, HeaderValue::from_static("a"));
        twice.append(HEADER, HeaderValue::from_static("b"));
        assert!(parse_key(&twice).unwrap_err().detail.contains("once"));
    }

    #[test]
    fn fingerprints_separate_method_path_and_body() {
        let f = |m: &Method, p: &str, b: &[u8]| fingerprint(m, p, b);
        assert_eq!(f(&Method::POST, "/a", b"x"), f(&Method::POST, "/a", b"x"));
        assert_ne!(f(&Method::POST, "/a", b"x"), f(&Method::POST, "/ax", b""));
        assert_ne!(f(&Method::POST, "/a", b"x"), f(&Method::POST, "/a", b"y"));
        assert_ne!(f(&Method::POST, "/a?q=1", b"x"), f(&Method::POST, "/a", b"x"));
    }

    #[test]
    fn secrets_are_never_stored() {
        let body = br#"{"id":"tok_1","user":"alice","token":"wdn_s3cret","expires":null}"#;
        let stored = without_secret(StatusCode::CREATED, body);
        let text = String::from_utf8(stored.body).unwrap();
        assert_eq!(stored.status, 409);
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("tok_1"), "names what was created: {text}");
    }
}
