//! `warden webhook ...`: where alerts go, and what happened to them.

use crate::commands::{now, Context, Output};
use crate::table::Table;
use clap::Subcommand;
use warden_model::{ObjectKind, ObjectRef};

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add a webhook; prints its signing secret once
    #[command(long_about = "Add an HTTP endpoint that `warden serve` sends alerts to, as JSON POSTs signed \
with HMAC-SHA256: `x-warden-signature: sha256=HEX` over `x-warden-timestamp`, a dot, and the body. \
Failed deliveries are retried with exponential backoff; every attempt is in `webhook deliveries`.\n\n\
Alert types: sod.conflict.unresolved, sod.conflict.allowed, session.temp.<status>, \
session.privileged.<status> (`sod.conflict.*`, `session.*` for groups, `*` for all); unknown types are refused. \
The secret is derived from WARDEN_WEBHOOK_KEY or the webhook.key file beside the SQLite store, \
never stored; it is shown once.\n\n\
URLs that point at loopback, private, link-local (cloud metadata) or other non-public addresses, \
as IP literals or through their name, are refused unless --allow-private-webhooks (or \
WARDEN_WEBHOOK_ALLOW_PRIVATE=1) is given; `warden serve` checks the addresses again at every delivery.")]
    Add {
        /// https://... or http://... on a public address
        url: String,
        /// An alert type to send; repeat for several [default: all]
        #[arg(long = "event", value_name = "TYPE")]
        events: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        /// Allow a loopback, private or link-local target (the operator's decision)
        #[arg(long, env = "WARDEN_WEBHOOK_ALLOW_PRIVATE", value_parser = clap::builder::BoolishValueParser::new())]
        allow_private_webhooks: bool,
    },
    /// List webhooks
    List,
    /// Remove a webhook
    Remove { id: String },
    /// Print a new signing secret; the old one stops signing at once
    Rotate { id: String },
    /// The delivery log: every attempt, oldest first
    Deliveries {
        #[arg(long, value_name = "ID")]
        webhook: Option<String>,
    },
}

fn need_key(ctx: &Context) -> anyhow::Result<warden_core::webhooks::WebhookKey> {
    ctx.webhook_key()?.ok_or_else(|| anyhow::anyhow!("no webhook key: set WARDEN_WEBHOOK_KEY (64 hex digits, the same for every replica of a PostgreSQL store)"))
}

pub async fn webhook(ctx: &Context, cmd: WebhookCommand) -> anyhow::Result<Output> {
    let warden = ctx.warden().await?;
    match cmd {
        WebhookCommand::Add { url, events, description, allow_private_webhooks } => {
            let out = warden.add_webhook(&url, events, description, &need_key(ctx)?, now(), allow_private_webhooks).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            Ok(Output::ok(format!(
                "Added webhook {} for {} (revision {}).\nSigning secret, shown once; keep it with the receiver:\n  {}\n",
                out.webhook.id,
                out.webhook.events.join(", "),
                out.revision,
                out.secret
            )))
        }
        WebhookCommand::Rotate { id } => {
            let out = warden.rotate_webhook(&id, &need_key(ctx)?).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            Ok(Output::ok(format!("New signing secret for {} (revision {}), shown once:\n  {}\n", out.webhook.id, out.revision, out.secret)))
        }
        WebhookCommand::List => {
            let model = warden.model().await?;
            if ctx.json {
                return ctx.json(&model.webhooks.values().collect::<Vec<_>>());
            }
            let mut t = Table::new(&["ID", "URL", "EVENTS", "ENABLED", "CREATED", "DESCRIPTION"]);
            for w in model.webhooks.values() {
                t.row(vec![
                    w.id.clone(),
                    w.url.clone(),
                    w.events.join(", "),
                    if w.enabled { "yes" } else { "no" }.into(),
                    w.created.to_string(),
                    w.description.clone().unwrap_or_default(),
                ]);
            }
            Ok(Output::ok(t.render("")))
        }
        WebhookCommand::Remove { id } => {
            let out = warden.delete(&ObjectRef::new(ObjectKind::Webhook, id.clone()), None).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            Ok(Output::ok(format!("Removed webhook {id} (revision {})\n", out.revision)))
        }
        WebhookCommand::Deliveries { webhook } => {
            let filter = warden_store::ActivityFilter { kinds: vec!["webhook_delivery".into()], ..Default::default() };
            let rows: Vec<_> = warden
                .activity(&filter)
                .await?
                .into_iter()
                .filter(|r| webhook.as_deref().is_none_or(|w| r.detail["webhook"] == w))
                .collect();
            if ctx.json {
                return ctx.json(&rows);
            }
            let mut t = Table::new(&["AT", "WEBHOOK", "DELIVERY", "TYPE", "USER", "ATTEMPT", "OUTCOME", "HTTP", "ERROR"]);
            for r in rows {
                let d = &r.detail;
                let s = |k: &str| d[k].as_str().map(str::to_string).unwrap_or_else(|| d[k].to_string().replace("null", ""));
                t.row(vec![r.at.to_string(), s("webhook"), s("delivery"), s("type"), r.user, s("attempt"), s("outcome"), s("http_status"), s("error")]);
            }
            Ok(Output::ok(t.render("")))
        }
    }
}
