//! `warden audit` and `warden customizations`: the trail auditors verify, and
//! the database-layer changes administrators made over the code layer.

use crate::commands::{Context, Output};
use crate::table::Table;
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use serde_json::json;
use warden_model::{ObjectKind, ObjectRef, Timestamp};
use warden_store::{AuditAnchor, AuditFilter, AuditVerification};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 0 if intact, 1 if broken (naming the first bad event)
    #[command(long_about = "Recompute the audit trail's hash chain from the first event. Reports the first \
event that was edited, deleted, reordered or inserted (exit status 1), or that the trail is intact (exit \
status 0).\n\nSomeone with write access to the database can also drop the newest events and rewrite the \
recorded head to match; only an anchor kept outside the store catches that: pass the SEQ:HASH that \
`warden audit checkpoint` printed earlier with --anchor.")]
    Verify {
        /// An earlier checkpoint, SEQ:HASH, that the trail must still contain unchanged
        #[arg(long, value_name = "SEQ:HASH", value_parser = parse_anchor)]
        anchor: Option<AuditAnchor>,
    },
    /// Print the trail's head as SEQ:HASH, to keep outside the store (a ticket, a log, a signed report)
    Checkpoint,
    /// List audit events, oldest first
    Log {
        /// Events at or after this time (now, a date, or an RFC 3339 instant)
        #[arg(long, value_name = "TIME", value_parser = crate::cli::parse_time_arg, allow_hyphen_values = true)]
        since: Option<Timestamp>,
        /// Only events by this actor
        #[arg(long)]
        actor: Option<String>,
        /// Only events that changed this object: KIND/KEY, e.g. role/Clerk, user/alice, entry_point/MenuItemDisplay/CustTable
        #[arg(long, value_name = "KIND/KEY", value_parser = parse_object)]
        object: Option<ObjectRef>,
        /// At most this many events
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Also print each change's before and after
        #[arg(long)]
        changes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustomizationsCommand {
    /// Security objects changed or deleted in the database over the imported code
    List,
    /// Drop customizations so that the code form is effective again (all when none are named)
    Remove {
        /// KIND/KEY, e.g. role/Clerk, duty/VendInvoiceApprove, entry_point/MenuItemDisplay/CustTable
        #[arg(value_name = "KIND/KEY", value_parser = parse_object)]
        objects: Vec<ObjectRef>,
    },
}

fn parse_anchor(text: &str) -> Result<AuditAnchor, String> {
    let (seq, hash) = text.split_once(':').ok_or_else(|| format!("'{text}' is not SEQ:HASH (as `warden audit checkpoint` prints it)"))?;
    let seq = seq.parse().map_err(|_| format!("'{seq}' is not an event number"))?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("'{hash}' is not a SHA-256 hash (64 hexadecimal digits)"));
    }
    Ok(AuditAnchor { seq, hash: hash.to_ascii_lowercase() })
}

/// `role/Clerk` → the role Clerk; the key may hold further slashes (entry points, assignments).
pub fn parse_object(text: &str) -> Result<ObjectRef, String> {
    let (kind, key) = text.split_once('/').ok_or_else(|| format!("'{text}' is not KIND/KEY, e.g. role/Clerk"))?;
    let kind = ObjectKind::from_code(&kind.replace('-', "_")).ok_or_else(|| {
        let kinds: Vec<&str> = ObjectKind::ALL.iter().map(|k| k.code()).collect();
        format!("'{kind}' is not a kind of object; one of: {}", kinds.join(", "))
    })?;
    if key.is_empty() {
        return Err(format!("'{text}' names no key after the kind"));
    }
    Ok(ObjectRef::new(kind, key))
}

pub async fn audit(ctx: &Context, cmd: AuditCommand) -> Result<Output> {
    let warden = ctx.warden().await?;
    match cmd {
        AuditCommand::Verify { anchor } => {
            let verdict = warden.verify_audit(anchor.as_ref()).await.context("cannot read the audit trail")?;
            let status = if verdict.is_intact() { 0 } else { 1 };
            if ctx.json {
                return Ok(Output { status, ..ctx.json(&verdict)? });
            }
            let text = match verdict {
                AuditVerification::Intact { events, head } => {
                    let anchored = anchor.map(|a| format!(", and reaches the anchor at event {}", a.seq)).unwrap_or_default();
                    format!("intact: {events} events chain correctly{anchored}; head {events}:{head}\n")
                }
                AuditVerification::Broken { seq, reason } => format!("BROKEN at event {seq}: {reason}\n"),
            };
            Ok(Output { stdout: text, status, data: false })
        }
        AuditCommand::Checkpoint => {
            let head = warden.audit_head().await?;
            if ctx.json {
                return ctx.json(&head);
            }
            Ok(Output { stdout: format!("{}:{}\n", head.seq, head.hash), status: 0, data: false })
        }
        AuditCommand::Log { since, actor, object, limit, changes } => {
            let filter = AuditFilter { since, actor, object, limit: Some(limit), include_changes: changes, ..AuditFilter::default() };
            let events = warden.audit_events(&filter).await?;
            if ctx.json {
                return ctx.json(&events);
            }
            let mut out = String::new();
            if changes {
                for e in &events {
                    out.push_str(&format!("#{} {} {} from {}: {} {}\n", e.seq, e.at, e.actor, e.origin, e.action, e.summary));
                    for c in &e.changes {
                        let side = |v: &Option<serde_json::Value>| v.as_ref().map_or("-".to_string(), ToString::to_string);
                        out.push_str(&format!("    {} [{}]\n      before: {}\n      after:  {}\n", c.object, c.layer, side(&c.before), side(&c.after)));
                    }
                }
            } else {
                let mut t = Table::new(&["SEQ", "TIME", "ACTOR", "ORIGIN", "ACTION", "SUMMARY"]);
                for e in &events {
                    let mut summary = e.summary.to_string();
                    if summary.chars().count() > 80 {
                        summary = summary.chars().take(77).collect::<String>() + "...";
                    }
                    t.row(vec![e.seq.to_string(), e.at.to_string(), e.actor.clone(), e.origin.clone(), e.action.clone(), summary]);
                }
                out = t.render("");
            }
            Ok(Output { stdout: out, status: 0, data: false })
        }
    }
}

pub async fn customizations(ctx: &Context, cmd: CustomizationsCommand) -> Result<Output> {
    let warden = ctx.warden().await?;
    match cmd {
        CustomizationsCommand::List => {
            let rows: Vec<_> = warden
                .customizations()
                .await?
                .into_iter()
                .map(|c| json!({ "kind": c.key.kind.code(), "key": c.key.name, "change": c.change(), "revision": c.revision }))
                .collect();
            if ctx.json {
                return ctx.json(&rows);
            }
            if rows.is_empty() {
                return Ok(Output { stdout: "No customizations: every security object is as imported.\n".into(), status: 0, data: false });
            }
            let mut t = Table::new(&["OBJECT", "CHANGE", "REVISION"]);
            for r in &rows {
                t.row(vec![format!("{}/{}", r["kind"].as_str().unwrap_or(""), r["key"].as_str().unwrap_or("")), r["change"].as_str().unwrap_or("").into(), r["revision"].to_string()]);
            }
            Ok(Output { stdout: t.render(""), status: 0, data: false })
        }
        CustomizationsCommand::Remove { objects } => {
            if objects.iter().any(|o| !o.kind.is_deployable()) {
                bail!("only security objects (entry points, privileges, duties, roles, policies, extensions) have customizations");
            }
            let outcome = warden.remove_customizations(&objects).await?;
            if ctx.json {
                return ctx.json(&outcome);
            }
            let mut text = format!("Removed {} customization(s) (revision {}); the code form is effective again:\n", outcome.removed.len(), outcome.revision);
            for k in &outcome.removed {
                text.push_str(&format!("  {}/{}\n", k.kind.code(), k.name));
            }
            Ok(Output { stdout: text, status: 0, data: false })
        }
    }
}
