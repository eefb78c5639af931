//! `warden serve`: the REST API under `/api/v1`, its OpenAPI document, health
//! probes and metrics, with every call authenticated and then authorized by
//! Warden's own engine against the built-in `Warden` model.
//!
//! Handlers are thin; the request path is: the route of its declaration in
//! the [`endpoints`] table → [`authorize`] (that declaration's guard:
//! authenticate, check its action) → handler (read the snapshot, or write
//! through the core services) → errors mapped once to RFC 9457 problem
//! details ([`problem`]).

mod api;
mod dmf_api;
pub mod auth;
pub use warden_core::builtin;
mod dto;
pub mod endpoints;
pub mod idempotency;
pub mod local;
mod openapi;
mod problem;
mod sod_api;
pub mod sessions_api;
mod webhook_api;
mod state;
mod strict;
mod tls;
pub mod webhooks;

pub use state::AppState;
pub use tls::{TlsConfig, TlsError};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use endpoints::{Endpoint, Guard};
use problem::ApiError;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Instant;
use warden_core::Snapshot;
use warden_model::Timestamp;
use warden_store::Store;

/// Who is calling and the snapshot their request was authorized against; put
/// into the request by [`authorize`] for the handlers.
#[derive(Clone)]
pub struct Caller {
    pub principal: Option<auth::Principal>,
    pub snapshot: Arc<Snapshot>,
    pub now: Timestamp,
    /// `api ADDRESS:PORT`, for the audit trail.
    pub origin: String,
}

/// The declarations the router is built from, once per process, so that each
/// route's guard can hold its declaration by reference.
static ENDPOINTS: LazyLock<Vec<Endpoint>> = LazyLock::new(endpoints::all);

/// What the middlewares of one route hold: the application state and the
/// declaration the route was built from (its guard, its answer's shape).
#[derive(Clone)]
pub(crate) struct RouteState {
    pub app: AppState,
    pub endpoint: &'static Endpoint,
}

/// The largest request body, in bytes (64 MiB): room for a batch of 100,000
/// checks with long names. The one limit: axum's body extractors enforce it,
/// a larger body is refused with 413 as a problem document, and the OpenAPI
/// document states it.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Core(#[from] warden_core::CoreError),
    #[error(transparent)]
    Store(#[from] warden_store::StoreError),
    #[error("{0}")]
    Api(String),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

impl From<ApiError> for ServerError {
    fn from(e: ApiError) -> Self {
        ServerError::Api(e.detail)
    }
}

/// Authenticates the caller and checks the guard of the endpoint this route
/// was declared with (attached when the router is built, so no request is
/// served without its declaration's guard).
async fn authorize(State(route): State<RouteState>, mut req: Request, next: Next) -> Response {
    let RouteState { app: state, endpoint } = route;
    let snapshot = state.snapshot();
    let now = Timestamp::now();
    let local = req.extensions().get::<local::LocalOperator>().cloned();
    let origin = match (&local, req.extensions().get::<ConnectInfo<SocketAddr>>()) {
        (Some(_), _) => local::ORIGIN.to_string(),
        (None, Some(ConnectInfo(addr))) => format!("api {addr}"),
        (None, None) => "api".to_string(),
    };
    let principal = match (local, endpoint.guard) {
        // The local socket's operator has the command line's standing (see `local`).
        (Some(op), _) => Some(auth::Principal { user: op.actor, via: auth::Via::Local }),
        // Public endpoints ignore credentials: a stale cookie must not lock anyone out of signing in.
        (None, Guard::Public) => None,
        (None, _) => match auth::authenticate(req.headers(), req.method(), &snapshot, now) {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        },
    };
    let verdict = match endpoint.guard {
        _ if principal.as_ref().is_some_and(|p| p.via == auth::Via::Local) => Ok(()),
        Guard::Public => Ok(()),
        Guard::Authenticated => principal.as_ref().map(|_| ()).ok_or_else(|| ApiError::unauthorized("sign in, or send `Authorization: Bearer <token>`")),
        Guard::Requires(action) => auth::require(principal.as_ref(), &snapshot, action, now),
    };
    if let Err(e) = verdict {
        metrics::counter!("warden_http_denied_total", "path" => endpoint.path.clone()).increment(1);
        return e.into_response();
    }
    req.extensions_mut().insert(Caller { principal, snapshot, now, origin });
    next.run(req).await
}

/// Request counts and latencies per route, for `/metrics`.
async fn record_metrics(matched: Option<MatchedPath>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = matched.map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("warden_http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status).increment(1);
    metrics::histogram!("warden_http_request_duration_seconds", "method" => method, "path" => path).record(started.elapsed().as_secs_f64());
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/v1/openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "this method is not allowed on this endpoint; see /api/v1/openapi.json")
}

/// The routes of every declaration in [`endpoints::all`], and nothing else:
/// the declarations of one path are merged into one method router, each
/// method behind its own guard ([`authorize`]) and idempotency layer (other
/// methods answer 405 with axum's `Allow`). Overlapping declarations (the
/// same method and path twice) make axum panic here, which every server test
/// would show.
fn declared_routes(state: &AppState, table: &'static [Endpoint]) -> Router<AppState> {
    let mut paths: Vec<(&'static str, Vec<&'static Endpoint>)> = Vec::new();
    for e in table {
        match paths.iter_mut().find(|(p, _)| *p == e.path) {
            Some((_, group)) => group.push(e),
            None => paths.push((e.path.as_str(), vec![e])),
        }
    }
    let mut router = Router::new();
    for (path, group) in paths {
        let mut methods = MethodRouter::new();
        for &endpoint in &group {
            let route = RouteState { app: state.clone(), endpoint };
            methods = methods.merge(
                endpoint
                    .handler
                    .clone()
                    .route_layer(middleware::from_fn_with_state(route.clone(), idempotency::layer))
                    .route_layer(middleware::from_fn_with_state(route, authorize)),
            );
        }
        router = router.route(path, methods);
    }
    router
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let mut routes = declared_routes(&state, &ENDPOINTS);
    if let Some(pages) = state.pages {
        routes = routes.merge(pages(state.clone()));
    }
    routes
        .route_layer(middleware::from_fn(record_metrics))
        .fallback(not_found)
        // After the metrics layer, as before: a 405 is answered here, unlayered and uncounted.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// One Prometheus recorder per process (tests start several servers in one).
fn prometheus() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "metrics are off");
                None
            }
        })
        .clone()
}

/// Writes the built-in `Warden` model into the code layer when the store's
/// copy is missing or differs (first start, or a new Warden version); see
/// [`warden_core::builtin::install`].
pub async fn install_builtin(store: &dyn Store) -> Result<(), ServerError> {
    builtin::install(store, "server").await?;
    Ok(())
}

pub use warden_core::credentials::{Bootstrap, BOOTSTRAP_USER};

/// On a store where nobody can sign in yet, creates the `admin` user with the
/// System administrator role and a password: `password` (from
/// `WARDEN_ADMIN_PASSWORD`) if given, else a generated one that is returned
/// to be shown once ([`warden_core::Warden::bootstrap_admin`]).
pub async fn bootstrap_admin(store: &Arc<dyn Store>, password: Option<&str>) -> Result<Bootstrap, ServerError> {
    let warden = warden_core::Warden::new(store.clone(), "warden").with_origin("server");
    match warden.bootstrap_admin(password).await {
        Err(warden_core::CoreError::InvalidField { field: "password", .. }) => Err(ServerError::Api(format!(
            "WARDEN_ADMIN_PASSWORD must have at least {} characters",
            warden_core::credentials::MIN_PASSWORD_CHARS
        ))),
        other => Ok(other?),
    }
}

/// Logs one warning when the store fails the whole-model validation (errors;
/// dangling references after a partial import are legal): the server still
/// starts, the objects those problems concern are read-only until repaired
/// (the write path refuses to change them otherwise), and `warden doctor`
/// lists every problem.
fn warn_if_invalid(snapshot: &Snapshot) {
    let groups = warden_core::doctor::group(&snapshot.model.validate(), false);
    if groups.iter().all(|g| g.severity != warden_core::doctor::Severity::Error) {
        return;
    }
    tracing::warn!(
        revision = snapshot.revision,
        "the store fails validation: {}; the objects concerned are read-only until repaired or removed; run `warden doctor` for the list (serving the rest)",
        warden_core::doctor::summary(&groups)
    );
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Set `Secure` on cookies (behind a TLS-terminating proxy).
    pub secure_cookies: bool,
    /// Serve HTTPS with this certificate and key ([`serve_tls`]); cookies are then always `Secure`.
    pub tls: Option<TlsConfig>,
    /// Alert delivery to webhooks.
    pub webhooks: webhooks::WebhookOptions,
    /// Run the background processor that starts and ends sessions (off when
    /// `warden process --once` runs from cron instead).
    pub processor: bool,
}

/// Prepares the store (built-in model) and the state, ready to serve.
pub async fn prepare(store: Arc<dyn Store>, options: &ServeOptions) -> Result<AppState, ServerError> {
    install_builtin(store.as_ref()).await?;
    let host = warden_core::ModelHost::open(store).await?;
    // The whole validation takes a while at D365 scale: the server starts meanwhile.
    let snapshot = host.snapshot();
    tokio::task::spawn_blocking(move || warn_if_invalid(&snapshot));
    Ok(AppState::new(host, prometheus(), options.secure_cookies || options.tls.is_some())
        .with_webhooks(options.webhooks.clone())
        .with_processor(options.processor))
}

/// The tasks that run beside the requests: the snapshot follower, the
/// webhook deliverer and (unless turned off) the session processor.
struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    fn start(state: &AppState) -> Background {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(state.clone().follow(stop_rx.clone())),
            tokio::spawn(webhooks::deliver(state.clone(), state.webhooks.clone(), stop_rx.clone())),
        ];
        if state.processor {
            tasks.push(tokio::spawn(sessions_api::processor(state.clone(), stop_rx)));
        }
        Background { stop, tasks }
    }

    /// Tells every task to stop and waits for them.
    async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Serves plain HTTP until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
    let background = Background::start(&state);
    let app = router(state);
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
        })
        .await;
    background.stop().await;
    served?;
    Ok(())
}

/// Serves HTTPS with `tls` until `shutdown` resolves, then finishes the
/// requests in flight. `state` must come from [`prepare`] with `tls` in its
/// options, so that session cookies are `Secure`.
pub async fn serve_tls(
    state: AppState,
    listener: tokio::net::TcpListener,
    tls: &TlsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    if !state.secure_cookies {
        return Err(ServerError::Api("serving HTTPS needs a state prepared with the TLS options (Secure cookies)".into()));
    }
    let background = Background::start(&state);
    let app = router(state);
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let signal = tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        // No deadline, as with plain HTTP: idle connections close at once, busy ones after their response.
        stopper.graceful_shutdown(None);
    });
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.config.clone());
    let served = axum_server::from_tcp_rustls(listener.into_std()?, config)
        .handle(handle)
        .serve(app.into_make_service_with_connect_info::<SocketAddr>())
        .await;
    signal.abort();
    background.stop().await;
    served?;
    Ok(())
}
