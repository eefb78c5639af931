//! One-shot commands answered by a running `warden serve`. Opening the store
//! loads and compiles the whole model (a second at D365 scale); a server on
//! the same store already holds it live. So `warden check` and `warden user
//! assign` first try the server's local control socket beside the store
//! ([`warden_server::local`]: mode 0600, the command line's own standing,
//! audited as `cli via warden serve`) and answer in milliseconds; with no
//! server, they open the store as before. `WARDEN_NO_SERVER=1` always opens
//! the store.
//!
//! Only a failure to connect falls back to the store: once a request has
//! been sent, its answer (or its error) is the command's, so that a write is
//! never applied twice.

use anyhow::{anyhow, Context as _};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A running server of this store, reached over its local socket.
pub struct ServerLink {
    client: reqwest::Client,
    socket: PathBuf,
    actor: String,
}

impl ServerLink {
    /// The server answering on the socket beside `store_dir`, if there may be
    /// one: the socket file exists, and `actor` can travel in a header.
    pub fn find(store_dir: &Path, actor: &str) -> Option<ServerLink> {
        if std::env::var_os("WARDEN_NO_SERVER").is_some_and(|v| !v.is_empty() && v != "0") {
            return None;
        }
        let socket = warden_server::local::socket_path(store_dir);
        if !socket.exists() || !actor.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return None;
        }
        let client = reqwest::Client::builder().unix_socket(socket.clone()).build().ok()?;
        Some(ServerLink { client, socket, actor: actor.to_string() })
    }

    /// Sends `body` to `path` and reads the answer; `Ok(None)` when no server
    /// accepted the connection (a socket left behind by one that stopped).
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> anyhow::Result<Option<T>> {
        let sent = self
            .client
            .post(format!("http://warden{path}"))
            .header(warden_server::local::ACTOR_HEADER, &self.actor)
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                tracing::debug!(socket = %self.socket.display(), error = %e, "no server on the local socket; opening the store");
                return Ok(None);
            }
            Err(e) => return Err(e).with_context(|| format!("the server on {} did not answer", self.socket.display())),
        };
        let status = response.status();
        let text = response.text().await.with_context(|| format!("the server on {} broke off its answer", self.socket.display()))?;
        if !status.is_success() {
            // The server's problem document carries the core's own message, as the store path would print it.
            let problem: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let detail = problem["detail"].as_str().map_or_else(|| format!("the server answered {status}: {text}"), str::to_string);
            return Err(anyhow!(detail));
        }
        serde_json::from_str(&text).map(Some).with_context(|| format!("the server on {} answered what this command cannot read: {text}", self.socket.display()))
    }
}
