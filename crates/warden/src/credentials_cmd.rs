//! `warden token ...` and `warden user password`: Warden's own credentials,
//! by the same rules as the REST API (`warden_core::credentials`).

use crate::commands::{Context, Output};
use crate::table::Table;
use anyhow::{Context as _, Result};
use clap::Subcommand;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an API token for a user; prints its secret once
    Issue {
        /// The user the token acts as (usually a service account)
        #[arg(long, value_name = "USER")]
        user: String,
        /// What the token is for, e.g. "billing app"
        #[arg(long)]
        label: Option<String>,
        /// Days until it expires, 1 to 3650 [default: 90]
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
    },
    /// Replace a token by a new one for the same user; the old one keeps working for a grace period
    Rotate {
        /// The token's id (as `token list` shows it)
        id: String,
        /// Seconds the old token keeps working, 0 to 604800 (a week) [default: 86400]
        #[arg(long, value_name = "SECONDS")]
        grace_seconds: Option<u32>,
        /// Days until the new token expires, 1 to 3650 [default: 90]
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
    },
    /// Revoke a token: it stops working at once
    Revoke {
        /// The token's id
        id: String,
    },
    /// List API tokens (never their secrets)
    List {
        /// Only this user's tokens
        #[arg(long, value_name = "USER")]
        user: Option<String>,
    },
}

/// A token id as typed: `ID` or `token:ID`.
fn token_id(text: &str) -> &str {
    text.strip_prefix("token:").unwrap_or(text)
}

fn shown_once(t: &warden_core::credentials::IssuedToken) -> String {
    format!("Secret, shown once; send it as `Authorization: Bearer <secret>`:\n  {}\n", t.token)
}

pub async fn token(ctx: &Context, cmd: TokenCommand) -> Result<Output> {
    let warden = ctx.warden().await?;
    match cmd {
        TokenCommand::Issue { user, label, expires_in_days } => {
            let t = warden.issue_token(&user, label, expires_in_days).await?;
            if ctx.json {
                return ctx.json(&t);
            }
            Ok(Output::ok(format!("Issued API token {} for {}, valid until {} (revision {}).\n{}", t.id, t.user, t.expires, t.revision, shown_once(&t))))
        }
        TokenCommand::Rotate { id, grace_seconds, expires_in_days } => {
            let t = warden.rotate_token(token_id(&id), grace_seconds, expires_in_days).await?;
            if ctx.json {
                return ctx.json(&t);
            }
            let old = t.old_expires.map(|e| format!("; {} keeps working until {e}", token_id(&id))).unwrap_or_default();
            Ok(Output::ok(format!(
                "Rotated API token {} of {}: the new one is {}, valid until {}{old} (revision {}).\n{}",
                token_id(&id),
                t.user,
                t.id,
                t.expires,
                t.revision,
                shown_once(&t)
            )))
        }
        TokenCommand::Revoke { id } => {
            let out = warden.revoke_token(token_id(&id)).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            Ok(Output::ok(format!("Revoked API token {} (revision {}).\n", token_id(&id), out.revision)))
        }
        TokenCommand::List { user } => {
            let tokens = warden.tokens(user.as_deref()).await?;
            if ctx.json {
                return ctx.json(&tokens);
            }
            if tokens.is_empty() {
                return Ok(Output::ok("No API tokens.\n".into()));
            }
            let mut t = Table::new(&["ID", "USER", "LABEL", "CREATED", "EXPIRES"]);
            for k in tokens {
                t.row(vec![k.id, k.user, k.label.unwrap_or_default(), k.created.to_string(), k.expires.map(|e| e.to_string()).unwrap_or_default()]);
            }
            Ok(Output::ok(t.render("")))
        }
    }
}

/// `user password USER`: the new password is the first line of standard input.
pub async fn password(ctx: &Context, user: &str) -> Result<Output> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("New password for {user} (at least {} characters; shown as you type): ", warden_core::credentials::MIN_PASSWORD_CHARS);
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    let out = ctx.warden().await?.set_password(user, password).await?;
    if ctx.json {
        return ctx.json(&out);
    }
    Ok(Output::ok(format!("Set the password of {user} (revision {}).\n", out.revision)))
}
