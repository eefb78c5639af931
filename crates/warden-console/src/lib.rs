//! The web console: server-rendered HTML pages over the same model host,
//! services and built-in roles as the API, for security administrators and
//! auditors in a browser.
//!
//! - **Who may do what** is Warden's own check against the built-in model,
//!   as for the API ([`warden_server::auth::permits`]): a page needs its
//!   area's Read, a button its area's Create/Update/Delete/Invoke. What a user
//!   may not do is not shown, and the handler refuses it anyway.
//! - **Sign-in** is the API's session: the same cookie (HttpOnly,
//!   SameSite=Strict), the same lockout. Every form carries the session's
//!   CSRF token in a hidden field and every POST is refused without it
//!   ([`form::Submitted`]).
//! - **Plain HTML forms** post and redirect (post/redirect/get), so every
//!   action works with the keyboard and without script, and every page's
//!   state is in its URL (filters in the query string). The little script
//!   there is only loads tree branches lazily and copies text.
//! - Writes go through `warden_core::Warden`, the API's own services: the
//!   same validation, SoD checks and audit trail as every other entrance.

mod form;
mod layout;
mod pages;
mod svg;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use warden_core::{CoreError, Snapshot, Warden};
use warden_model::{Access, Timestamp};
use warden_server::auth;
use warden_server::builtin::{Action, Area};
use warden_server::AppState;

pub use layout::{CONSOLE_JS, STYLESHEET};

/// The signed-in user of a console request and what the page is drawn from.
#[derive(Clone)]
pub struct Viewer {
    pub user: String,
    /// The sign-in session's credential (`session:ID`), to end it.
    pub session: String,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
    pub snapshot: Arc<Snapshot>,
    pub now: Timestamp,
    /// `console ADDRESS:PORT`, for the audit trail.
    pub origin: String,
    pub state: AppState,
}

impl Viewer {
    /// Whether the signed-in user's roles grant `access` on `area`.
    pub fn can(&self, area: Area, access: Access) -> bool {
        auth::permits(&self.snapshot, &self.user, Action::new(area, access), self.now)
    }

    /// Refuses the request unless [`Viewer::can`].
    pub fn require(&self, area: Area, access: Access) -> Result<(), Failure> {
        if self.can(area, access) {
            Ok(())
        } else {
            Err(Failure::Forbidden(format!("user '{}' does not hold {}", self.user, Action::new(area, access))))
        }
    }

    /// The governance services acting as the signed-in user.
    pub fn warden(&self) -> Warden {
        self.state.warden(&self.user, &self.origin).with_clock(Arc::new({
            let now = self.now;
            move || now.max(Timestamp::now())
        }))
    }

    /// The snapshot after a write of this request (read-your-writes).
    pub fn fresh(&self) -> Arc<Snapshot> {
        self.state.snapshot()
    }
}

/// Why a console request was not served, rendered as a page.
#[derive(Debug)]
pub enum Failure {
    Forbidden(String),
    NotFound(String),
    /// A form that could not be read (a missing or malformed field).
    BadRequest(String),
    /// The form's CSRF token was missing or wrong.
    Csrf,
    Core(CoreError),
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Self {
        Failure::Core(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, title, detail) = match self {
            Failure::Forbidden(d) => (StatusCode::FORBIDDEN, "Not permitted", d),
            Failure::NotFound(d) => (StatusCode::NOT_FOUND, "Not found", d),
            Failure::BadRequest(d) => (StatusCode::UNPROCESSABLE_ENTITY, "The form could not be read", d),
            Failure::Csrf => (
                StatusCode::FORBIDDEN,
                "Form refused",
                "This form did not carry the CSRF token of your session (it came from another page, or your session changed). Go back, reload the page and submit it again.".to_string(),
            ),
            Failure::Core(e) => {
                let status = match &e {
                    CoreError::Unknown { .. } | CoreError::NotFound(_) => StatusCode::NOT_FOUND,
                    CoreError::NotPermitted(_) => StatusCode::FORBIDDEN,
                    CoreError::Store(_) | CoreError::Hashing(_) | CoreError::Read { .. } | CoreError::Write { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::CONFLICT,
                };
                (status, "Refused", e.to_string())
            }
        };
        (status, Html(layout::bare(title, &detail).into_string())).into_response()
    }
}

pub type PageResult = Result<Response, Failure>;

/// The console's routes, to serve beside the API
/// ([`warden_server::AppState::with_pages`]).
pub fn pages(state: AppState) -> Router<AppState> {
    let signed_in = Router::new()
        .route("/", get(pages::dashboard::page))
        .route("/logout", post(pages::sign_in::sign_out))
        .merge(pages::security::routes())
        .merge(pages::users::routes())
        .merge(pages::check::routes())
        .merge(pages::rules::routes())
        .merge(pages::sod::routes())
        .merge(pages::sessions::routes())
        .merge(pages::audit::routes())
        .merge(pages::webhooks::routes())
        .merge(pages::settings::routes())
        .route_layer(middleware::from_fn_with_state(state, require_session));
    Router::new()
        .route("/login", get(pages::sign_in::page).post(pages::sign_in::sign_in))
        .route("/console/style.css", get(|| async { asset("text/css; charset=utf-8", STYLESHEET) }))
        .route("/console/console.js", get(|| async { asset("text/javascript; charset=utf-8", CONSOLE_JS) }))
        .merge(signed_in)
        .layer(middleware::map_response(security_headers))
}

/// The console's pages load only their own stylesheet and script, post only
/// to themselves and are never framed (clickjacking).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut header::HeaderMap, name: header::HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, header::HeaderValue::from_static(value));
        }
    };
    set(headers, header::CONTENT_SECURITY_POLICY, "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// Lets a request through only with a live session of an enabled user, and
/// gives the handlers its [`Viewer`]; anyone else is sent to sign in, and
/// comes back to the page asked for afterwards.
async fn require_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let snapshot = state.snapshot();
    let now = Timestamp::now();
    match auth::signed_in(req.headers(), &snapshot, now) {
        Ok(Some((auth::Principal { user, via: auth::Via::Session { credential: session } }, csrf))) => {
            let origin = match req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
                Some(axum::extract::ConnectInfo(addr)) => format!("console {addr}"),
                None => "console".to_string(),
            };
            req.extensions_mut().insert(Viewer { user, session, csrf, snapshot, now, origin, state });
            let mut response = next.run(req).await;
            // Pages show who may do what, and secrets once: never from a cache.
            response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            response
        }
        Ok(_) | Err(_) => {
            if req.method() != axum::http::Method::GET {
                return Failure::Forbidden("your session has ended; sign in again".into()).into_response();
            }
            Redirect::to(&format!("/login?next={}", encode(&path_and_query(req.uri())))).into_response()
        }
    }
}

fn path_and_query(uri: &Uri) -> String {
    uri.path_and_query().map_or_else(|| "/".to_string(), |p| p.as_str().to_string())
}

/// What [`encode`] leaves as it is: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes a value for a URL's path segment or query string.
pub fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

/// A page's answer to a successful form: back to `to` (post/redirect/get).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
