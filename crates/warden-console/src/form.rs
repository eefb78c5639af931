//! Forms as the console receives them: every POST carries the session's CSRF
//! token in the `csrf` field, checked before the form is read.

use crate::{Failure, Viewer};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use warden_server::AppState;

/// The largest form the console takes (a pasted SoD rules CSV fits).
const MAX_FORM_BYTES: usize = 8 * 1024 * 1024;

/// A submitted form of the signed-in [`Viewer`], its CSRF token checked.
pub struct Submitted<T>(pub Viewer, pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Submitted<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Failure> {
        let viewer = req.extensions().get::<Viewer>().cloned().ok_or_else(|| Failure::Forbidden("sign in first".into()))?;
        let body = Bytes::from_request(req, state).await.map_err(|e| Failure::BadRequest(e.to_string()))?;
        if body.len() > MAX_FORM_BYTES {
            return Err(Failure::BadRequest(format!("the form is larger than {MAX_FORM_BYTES} bytes")));
        }
        let fields: Vec<(String, String)> = serde_html_form::from_bytes(&body).map_err(|e| Failure::BadRequest(e.to_string()))?;
        let sent = fields.iter().find(|(k, _)| k == "csrf").map_or("", |(_, v)| v.as_str());
        if !warden_server::auth::csrf_matches_token(&viewer.csrf, sent) {
            return Err(Failure::Csrf);
        }
        let form = serde_html_form::from_bytes(&body).map_err(|e| Failure::BadRequest(e.to_string()))?;
        Ok(Submitted(viewer, form))
    }
}

/// A form of one button: nothing but its CSRF token.
#[derive(serde::Deserialize)]
pub struct Nothing {}

/// An optional text field: blank is none.
pub fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}
