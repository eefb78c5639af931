//! (being written)

use axum::Router;
use warden_server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
