//! The local control socket. `warden serve` on a data directory also listens
//! on `DATA_DIR/warden.sock`, a Unix socket that only the owner of the store
//! can open (mode 0600), so that one-shot commands (`warden check`, `warden
//! user assign`) are answered from the running server's live model in
//! milliseconds instead of each loading the whole store (a second at D365
//! scale).
//!
//! Whoever can open the socket can open the store's files and, through the
//! command line, write to it as any actor. So the socket grants exactly what
//! the command line already has: its requests act as the local operator that
//! the `x-warden-actor` header names (checked by the identifier rule), may
//! call every endpoint, and are audited with the origin `cli via warden
//! serve`. Requests over TCP never carry that standing, whatever headers they
//! send: it is a request extension that only this listener inserts.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::path::{Path, PathBuf};

/// The socket's file name in the data directory.
pub const SOCKET_NAME: &str = "warden.sock";

/// The header naming the operator on whose behalf the command line asks.
pub const ACTOR_HEADER: &str = "x-warden-actor";

/// The standing of a request that came through the local socket.
#[derive(Debug, Clone)]
pub(crate) struct LocalOperator {
    pub actor: String,
}

/// What the audit trail records as the origin of a local request.
pub(crate) const ORIGIN: &str = "cli via warden serve";

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// Serving on the socket; stops and removes the socket file when dropped.
pub struct LocalSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl LocalSocket {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LocalSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listens on `path` with the same application as the TCP listener. A socket
/// file left by a server that died is replaced; one that a live server
/// answers on is left alone (`None`, with a warning), since that server
/// already answers the command line.
pub async fn listen(state: AppState, path: &Path) -> std::io::Result<Option<LocalSocket>> {
    if path.exists() {
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            tracing::warn!(socket = %path.display(), "another server answers on the local socket; this one does not listen there");
            return Ok(None);
        }
        std::fs::remove_file(path)?;
    }
    let listener = bind_private(path)?;
    let app = crate::router(state.clone()).layer(axum::middleware::from_fn_with_state(state, local_operator));
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the local socket stopped");
        }
    });
    Ok(Some(LocalSocket { path: path.to_path_buf(), task }))
}

/// Binds with the socket file created mode 0600 (no window in which another
/// local user could connect), then checks the mode it got.
fn bind_private(path: &Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask only swaps the process's file-creation mask; it is restored at once.
    let old = unsafe { libc::umask(0o177) };
    let bound = tokio::net::UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound?;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        let _ = std::fs::remove_file(path);
        return Err(std::io::Error::other(format!("{} was created with mode {mode:o}, not 0600", path.display())));
    }
    Ok(listener)
}

/// Gives a request that came through the socket the local operator's
/// standing, after bringing the snapshot up to the store: a command that
/// wrote to the store directly a moment ago is then seen by the next one.
async fn local_operator(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let actor = match req.headers().get(ACTOR_HEADER).map(|v| v.to_str().map(str::to_string)) {
        Some(Ok(actor)) => actor,
        Some(Err(_)) => return crate::problem::ApiError::bad_request(format!("{ACTOR_HEADER}: not visible ASCII or UTF-8")).into_response(),
        None => return crate::problem::ApiError::unauthorized(format!("send {ACTOR_HEADER}: the operator the command line acts for")).into_response(),
    };
    if let Err(e) = warden_model::validate_id(warden_model::ObjectKind::User, &actor) {
        return crate::problem::ApiError::bad_request(format!("{ACTOR_HEADER}: {e}")).into_response();
    }
    if let Err(e) = state.refresh(None).await {
        return e.into_response();
    }
    req.extensions_mut().insert(LocalOperator { actor });
    next.run(req).await
}
