//! Sign in and out: the API's password sign-in and session, in a form.

use crate::form::{Nothing, Submitted};
use crate::layout::{self, REQUIRED};
use crate::{Failure, PageResult};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect};
use maud::html;
use serde::Deserialize;
use std::net::SocketAddr;
use warden_core::credentials::SignIn;
use warden_model::Timestamp;
use warden_server::auth;
use warden_server::AppState;

#[derive(Deserialize, Default)]
pub struct Next {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct Credentials {
    user: String,
    password: String,
    next: Option<String>,
}

/// Where to go after signing in: a path of this site only (never `//host`).
fn local_target(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.chars().any(char::is_control) => n.to_string(),
        _ => "/".to_string(),
    }
}

fn form(user: &str, next: &str, error: Option<&str>) -> maud::Markup {
    layout::lone(
        "Sign in",
        html! {
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.card method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                (layout::field("User", "user", user, None, REQUIRED.placeholder("admin")))
                (layout::field("Password", "password", "", None, REQUIRED.kind("password")))
                div.actions { button type="submit" { "Sign in" } }
            }
            p.muted { "The first time, sign in as " code { "admin" } " with the one-time password that " code { "warden serve" } " printed." }
        },
    )
}

pub async fn page(Query(q): Query<Next>) -> Html<String> {
    Html(form("", &local_target(q.next.as_deref()), None).into_string())
}

/// Signs in with the API's own rules (lockout included) and sets the same session cookies.
pub async fn sign_in(State(state): State<AppState>, req: axum::extract::Request) -> PageResult {
    let connect = req.extensions().get::<ConnectInfo<SocketAddr>>().cloned();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024).await.map_err(|e| Failure::BadRequest(e.to_string()))?;
    // A sign-in form posted from another site would sign the victim in as the attacker.
    if !same_origin(&headers) {
        return Err(Failure::Forbidden("sign-in forms are accepted only from this site".into()));
    }
    let c: Credentials = serde_html_form::from_bytes(&body).map_err(|e| Failure::BadRequest(e.to_string()))?;
    let next = local_target(c.next.as_deref());
    let origin = connect.map_or_else(|| "console".to_string(), |ConnectInfo(a)| format!("console {a}"));
    let user = c.user.trim();
    let refused = |status: StatusCode, text: &str| Ok((status, Html(form(user, &next, Some(text)).into_string())).into_response());
    if user.is_empty() || c.password.is_empty() {
        return refused(StatusCode::UNPROCESSABLE_ENTITY, "Enter a user name and a password.");
    }
    let warden = state.warden(user, &origin);
    let session = match warden.sign_in(user, &c.password).await? {
        SignIn::SignedIn(s) => s,
        SignIn::Refused => return refused(StatusCode::UNAUTHORIZED, "Wrong user name or password, or the user is disabled."),
        SignIn::Locked { until, .. } => {
            let wait = auth::seconds_until(until, Timestamp::now());
            return refused(StatusCode::TOO_MANY_REQUESTS, &format!("Too many failed sign-ins: try again in {wait} s."));
        }
    };
    state.refresh(Some(session.revision)).await.map_err(|e| Failure::BadRequest(e.detail))?;
    let mut response = Redirect::to(&next).into_response();
    auth::set_session_cookies(response.headers_mut(), state.secure_cookies, Some((&session.id, &session.secret)));
    Ok(response)
}

/// A POST's `Origin` (or, without it, `Referer`) is this host, or absent
/// (older browsers send neither on same-site forms).
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let sent = headers.get(axum::http::header::ORIGIN).or_else(|| headers.get(axum::http::header::REFERER)).and_then(|h| h.to_str().ok());
    match sent {
        None => true,
        Some(url) => url.split_once("://").map(|(_, rest)| rest.split('/').next().unwrap_or("")) == Some(host),
    }
}

/// Ends the session (audited like the API's sign-out) and clears its cookies.
pub async fn sign_out(Submitted(v, Nothing {}): Submitted<Nothing>) -> PageResult {
    let outcome = v.warden().sign_out(&v.user, &v.session).await?;
    v.state.refresh(Some(outcome.revision)).await.map_err(|e| Failure::BadRequest(e.detail))?;
    let mut response = Redirect::to("/login").into_response();
    auth::set_session_cookies(response.headers_mut(), v.state.secure_cookies, None);
    Ok(response)
}
