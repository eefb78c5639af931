//! `warden serve`: the REST API and the background session processor (and
//! later the console), on the store the global options name.

use anyhow::{Context as _, Result};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use warden_core::Warden;
use warden_server::{Bootstrap, ServeOptions, TlsConfig};
use warden_store::Store;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on
    #[arg(long, value_name = "ADDR", env = "WARDEN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Load the demo dataset first when the store is empty
    #[arg(long)]
    pub demo: bool,

    /// Mark cookies Secure (set this when a TLS-terminating proxy is in front; implied by --tls-cert)
    #[arg(long)]
    pub secure_cookies: bool,

    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key
    #[arg(long, value_name = "CERT.pem", env = "WARDEN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert; needs --tls-cert
    #[arg(long, value_name = "KEY.pem", env = "WARDEN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Do not start and end sessions here (run `warden process --once` from cron instead)
    #[arg(long)]
    pub no_processor: bool,

    /// Let webhooks point at loopback, private and link-local addresses (off: such
    /// URLs are refused when made and never connected to)
    #[arg(long, env = "WARDEN_WEBHOOK_ALLOW_PRIVATE", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_private_webhooks: bool,
}

/// Runs until Ctrl-C or SIGTERM, then finishes the requests in flight.
/// `local_socket`: where the command line finds this server (beside a SQLite
/// store; see [`warden_server::local`]).
pub async fn serve(store: Arc<dyn Store>, args: ServeArgs, webhook_key: Option<warden_core::webhooks::WebhookKey>, local_socket: Option<PathBuf>) -> Result<()> {
    // Read the certificate and key first: a bad file stops the start before anything is written.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig::load(cert, key)?),
        _ => None,
    };
    if args.demo && warden_core::builtin::is_blank(store.as_ref()).await? {
        let outcome = Warden::new(store.clone(), "warden").with_origin("server").load_demo_into_new(false, warden_model::Timestamp::now()).await?;
        if let warden_core::DemoOutcome::Loaded { revision, .. } = outcome {
            println!("Loaded the demo dataset (revision {revision}).");
        }
    }
    let webhooks = warden_server::webhooks::WebhookOptions { key: webhook_key, allow_private: args.allow_private_webhooks, ..Default::default() };
    let options = ServeOptions { listen: args.listen, secure_cookies: args.secure_cookies, tls: tls.clone(), webhooks, processor: !args.no_processor };
    let state = warden_server::prepare(store.clone(), &options).await?.with_pages(warden_console::pages);
    let password = std::env::var("WARDEN_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty());
    match warden_server::bootstrap_admin(&store, password.as_deref()).await? {
        Bootstrap::NotNeeded => {}
        Bootstrap::FromEnvironment { user } => println!("Bootstrap administrator '{user}' created with the password from WARDEN_ADMIN_PASSWORD."),
        Bootstrap::Generated { user, password } => {
            println!("Bootstrap administrator created. Sign in once with it and keep the password safe; it is not shown again:");
            println!("  user:     {user}");
            println!("  password: {password}");
        }
    }
    state.refresh(None).await.map_err(|e| anyhow::anyhow!(e.detail))?;
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    // Stops listening and removes the socket file when serving ends.
    let _local = match &local_socket {
        Some(path) => match warden_server::local::listen(state.clone(), path).await {
            Ok(socket) => {
                if let Some(s) = &socket {
                    tracing::info!(socket = %s.path().display(), "one-shot commands on this store are answered here");
                }
                socket
            }
            Err(e) => {
                tracing::warn!(socket = %path.display(), error = %e, "cannot listen on the local socket; one-shot commands will open the store themselves");
                None
            }
        },
        None => None,
    };
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("Warden listening on {scheme}://{addr} (console: {scheme}://{addr}/, API: {scheme}://{addr}/api/v1, OpenAPI: {scheme}://{addr}/api/v1/openapi.json)");
    tracing::info!(%addr, tls = tls.is_some(), revision = state.snapshot().revision, "serving");
    match &tls {
        Some(tls) => warden_server::serve_tls(state, listener, tls, shutdown_signal()).await?,
        None => warden_server::serve(state, listener, shutdown_signal()).await?,
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
