//! `warden session ...` and `warden process`: temporary role sessions,
//! privileged user sessions, their logs and recordings, and the processor
//! that starts and ends them.

use crate::commands::{Context, Output};
use crate::table::Table;
use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use std::fmt::Write as _;
use std::path::PathBuf;
use warden_core::sessions::{Family, PrivilegedDecision, ProcessOutcome, SessionLog};
use warden_core::Warden;
use warden_model::{
    AccountAction, PrivilegedSession, PrivilegedSessionRequest, SessionSettings, SessionType, StatusChange,
    TempRoleSession, TempSessionEdit, TempSessionRequest, Timestamp,
};

const TEMP_STATUSES: [&str; 5] = ["draft", "planned", "active", "ended", "cancelled"];
const PRIVILEGED_STATUSES: [&str; 6] = ["draft", "approved", "active", "ended", "rejected", "cancelled"];

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Temporary role sessions: roles for a user inside a window, approved by a system administrator
    #[command(subcommand)]
    Temp(TempCommand),
    /// Privileged user sessions: an account enabled or disabled for at most 24 hours, recorded
    #[command(subcommand)]
    Privileged(PrivilegedCommand),
    /// Show or change the session settings (whether a requester may approve their own session)
    #[command(long_about = "Show the session settings, or change them. With --allow-self-approval true, the \
system administrator who requested a session may approve it too; every such approval is flagged in the \
session's audit log and the audit trail.")]
    Settings {
        #[arg(long, value_name = "true|false")]
        allow_self_approval: Option<bool>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TempCommand {
    /// Request a temporary role session (a draft); prints only its id
    #[command(long_about = "Request a temporary role session for a user: the roles (--role, repeat for \
several), only in organizations (--org, repeat; none: everywhere), merged with the user's own roles or \
replacing them for the session (--type), from --start until --end.\n\n\
Times are `now`, relative (+2h, +30m, +1d, -1h), a date or an RFC 3339 instant. The session is a draft \
until another system administrator approves it (`session temp approve`); it counts from its start once \
approved, whether or not the processor has started it yet. Prints only the new session's id.")]
    New {
        /// The user who gets the roles
        #[arg(long, value_name = "USER")]
        user: String,
        /// A role to assign; repeat for several
        #[arg(long = "role", value_name = "ROLE", required = true)]
        roles: Vec<String>,
        /// Only in this organization; repeat for several. None: everywhere
        #[arg(long = "org", value_name = "ORG")]
        orgs: Vec<String>,
        /// merge: added to the user's own roles; replace: the user's own roles are suspended for the session
        #[arg(long = "type", value_name = "merge|replace")]
        session_type: SessionType,
        /// Start: now, +15m, a date or an RFC 3339 instant
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        start: String,
        /// End, exclusive: +2h, +1d, a date or an RFC 3339 instant
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        end: String,
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Change a draft or planned session (a planned one goes back to draft for approval)
    #[command(long_about = "Change a draft or planned (not yet started) session. --role and --org, when given, \
replace the session's lists (--global clears the organizations); fields not given stay. A planned session \
goes back to draft and needs approval again.")]
    Edit {
        /// Session id, e.g. TRS-000001
        id: String,
        /// A role to assign; repeat for several. Replaces the session's roles
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Only in this organization; repeat for several. Replaces the session's organizations
        #[arg(long = "org", value_name = "ORG", conflicts_with = "global")]
        orgs: Vec<String>,
        /// The session's roles count in every organization
        #[arg(long)]
        global: bool,
        #[arg(long = "type", value_name = "merge|replace")]
        session_type: Option<SessionType>,
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        start: Option<String>,
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        end: Option<String>,
        /// Reason (empty to clear)
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Approve a draft session (draft → planned); the requester may not, unless the settings allow it
    #[command(long_about = "Approve a draft session: it becomes planned, and counts inside its window from then \
on. Another system administrator than the requester must approve (see `session settings`). A session that \
would give the user both sides of a segregation-of-duties rule is refused, unless --override-reason says \
why that is allowed (recorded in the conflicts register).")]
    Approve {
        id: String,
        #[arg(long, value_name = "TEXT")]
        override_reason: Option<String>,
    },
    /// Cancel a draft or planned session that has not started
    Cancel {
        id: String,
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Make the transitions of one session that are due now (start, end), as the processor would
    Process { id: String },
    /// List sessions
    List {
        #[arg(long, value_name = "STATUS", value_parser = TEMP_STATUSES)]
        status: Option<String>,
        #[arg(long, value_name = "USER")]
        user: Option<String>,
    },
    /// Show a session and its audit log
    Show { id: String },
    /// A session's audit log, user log (sign-ins while active) and role change log
    Log { id: String },
}

#[derive(Debug, Subcommand)]
pub enum PrivilegedCommand {
    /// Request a privileged user session (a draft, at most 24 hours); prints only its id
    #[command(long_about = "Request a privileged user session: the user's account is enabled (or disabled) \
from --start until --end, at most 24 hours, and everything the user does meanwhile is recorded. Times are \
`now`, relative (+2h, +30m, -1h), a date or an RFC 3339 instant. Another system administrator must approve \
it; it counts from its start once approved. Prints only the new session's id.")]
    New {
        #[arg(long, value_name = "USER")]
        user: String,
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        start: String,
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        end: String,
        /// What happens to the account for the session
        #[arg(long, value_name = "enable|disable")]
        action: AccountAction,
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Approve a draft session (draft → approved); the requester may not, unless the settings allow it
    Approve {
        id: String,
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Reject a draft session
    Reject {
        id: String,
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Cancel a draft or approved session that has not started
    Cancel {
        id: String,
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Make the transitions of one session that are due now (start, end), as the processor would
    Process { id: String },
    /// List sessions
    List {
        #[arg(long, value_name = "STATUS", value_parser = PRIVILEGED_STATUSES)]
        status: Option<String>,
        #[arg(long, value_name = "USER")]
        user: Option<String>,
    },
    /// Show a session and its audit log
    Show { id: String },
    /// A session's audit log and user log (sign-ins while active)
    Log { id: String },
    /// A session's recording: every check and activity of the user inside its window
    #[command(long_about = "Print a session's recording: every access check that concerned the user inside \
the session's window and every activity event applications posted for them, in order. --format jsonl \
(default) prints one JSON object per event; html a self-contained transcript page. --out writes to a file.\n\n\
--delete deletes the recording (once the session is no longer in force), after writing it to --out when \
given, and prints how many events were deleted; the deletion is in the audit trail.")]
    Recording {
        id: String,
        #[arg(long, value_enum, default_value_t = RecordingFormat::Jsonl)]
        format: RecordingFormat,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Delete the recording (after writing it to --out, if given)
        #[arg(long)]
        delete: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordingFormat {
    /// One JSON object per event and line
    Jsonl,
    /// A self-contained HTML transcript
    Html,
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Make every transition that is due now, once, and exit
    #[arg(long)]
    pub once: bool,
}

async fn service(ctx: &Context) -> anyhow::Result<Warden> {
    ctx.warden().await
}

/// `--start +2h` and friends, relative to the service's now taken to the
/// second (windows read back as people type them; `now` is then at most a
/// second in the past); the error names the flag.
fn time(warden: &Warden, flag: &str, text: &str) -> anyhow::Result<Timestamp> {
    let now = warden.now();
    let now = Timestamp(now.0 - now.0.rem_euclid(1000));
    warden_core::parse_time(text, now).map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
}

fn opt_time(warden: &Warden, flag: &str, text: Option<&str>) -> anyhow::Result<Option<Timestamp>> {
    text.map(|t| time(warden, flag, t)).transpose()
}

pub async fn session(ctx: &Context, cmd: SessionCommand) -> anyhow::Result<Output> {
    match cmd {
        SessionCommand::Temp(cmd) => temp(ctx, cmd).await,
        SessionCommand::Privileged(cmd) => privileged(ctx, cmd).await,
        SessionCommand::Settings { allow_self_approval } => {
            let warden = service(ctx).await?;
            let mut settings: SessionSettings = warden.model().await?.session_settings();
            let mut revision = None;
            if let Some(allow) = allow_self_approval {
                settings.allow_self_approval = allow;
                revision = Some(warden.set_session_settings(settings.clone()).await?);
            }
            if ctx.json {
                return ctx.json(&serde_json::json!({ "settings": settings, "revision": revision }));
            }
            let mut text = String::new();
            if let Some(r) = revision {
                let _ = writeln!(text, "Changed the session settings (revision {r}):");
            }
            let _ = writeln!(text, "  allow self-approval:  {}", settings.allow_self_approval);
            Ok(Output::ok(text))
        }
    }
}

async fn temp(ctx: &Context, cmd: TempCommand) -> anyhow::Result<Output> {
    let warden = service(ctx).await?;
    match cmd {
        TempCommand::New { user, roles, orgs, session_type, start, end, reason } => {
            let request = TempSessionRequest {
                user,
                roles,
                organizations: orgs,
                session_type,
                start: time(&warden, "start", &start)?,
                end: time(&warden, "end", &end)?,
                reason,
            };
            let out = warden.new_temp_session(&request).await?;
            if ctx.json {
                return ctx.json(&out.session);
            }
            Ok(Output::ok(format!("{}\n", out.session.id)))
        }
        TempCommand::Edit { id, roles, orgs, global, session_type, start, end, reason } => {
            let edit = TempSessionEdit {
                roles: (!roles.is_empty()).then_some(roles),
                organizations: if global { Some(Vec::new()) } else { (!orgs.is_empty()).then_some(orgs) },
                session_type,
                start: opt_time(&warden, "start", start.as_deref())?,
                end: opt_time(&warden, "end", end.as_deref())?,
                reason,
            };
            let out = warden.edit_temp_session(&id, &edit).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            let s = &out.session;
            Ok(Output::ok(format!(
                "Edited {}: {} (revision {}); it is a draft and needs approval: `session temp approve {}`\n",
                s.id,
                describe_temp(s),
                out.revision,
                s.id
            )))
        }
        TempCommand::Approve { id, override_reason } => {
            let out = warden.approve_temp_session(&id, override_reason.as_deref()).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            let s = &out.session;
            let mut text = format!("Approved {}: {} (revision {})\n", s.id, describe_temp(s), out.revision);
            text.push_str(&approval_notes(&s.history, s.override_reason.as_deref()));
            Ok(Output::ok(text))
        }
        TempCommand::Cancel { id, note } => {
            let out = warden.cancel_temp_session(&id, note.as_deref()).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            Ok(Output::ok(format!("Cancelled {} (revision {})\n", out.session.id, out.revision)))
        }
        TempCommand::Process { id } => {
            let out = warden.process_session(Family::Temp, &id).await?;
            process_output(ctx, &out)
        }
        TempCommand::List { status, user } => {
            let model = warden.model().await?;
            let list: Vec<&TempRoleSession> = model
                .temp_role_sessions
                .values()
                .filter(|s| status.as_deref().is_none_or(|st| s.status.as_str() == st))
                .filter(|s| user.as_deref().is_none_or(|u| s.user.eq_ignore_ascii_case(u)))
                .collect();
            if ctx.json {
                return ctx.json(&list);
            }
            if list.is_empty() {
                return Ok(Output::ok("No temporary role sessions.\n".into()));
            }
            let mut t = Table::new(&["ID", "USER", "STATUS", "ROLES", "SCOPE", "TYPE", "START", "END", "REQUESTED BY", "APPROVED BY"]);
            for s in list {
                t.row(vec![
                    s.id.clone(),
                    s.user.clone(),
                    s.status.to_string(),
                    s.roles.join(", "),
                    scope(&s.organizations),
                    s.session_type.as_str().into(),
                    s.start.to_string(),
                    s.end.to_string(),
                    s.requested_by.clone(),
                    s.approved_by.clone().unwrap_or_default(),
                ]);
            }
            Ok(Output::ok(t.render("")))
        }
        TempCommand::Show { id } => {
            let model = warden.model().await?;
            let s = warden_core::sessions::temp(&model, &id)?;
            if ctx.json {
                return ctx.json(s);
            }
            let mut text = format!("Temporary role session {}\n", s.id);
            let mut fields = vec![
                ("user", s.user.clone()),
                ("status", s.status.to_string()),
                ("roles", s.roles.join(", ")),
                ("scope", scope(&s.organizations)),
                ("type", type_text(s.session_type)),
                ("window", window(s.start, s.end)),
                ("requested by", s.requested_by.clone()),
                ("approved by", s.approved_by.clone().unwrap_or_else(|| "-".into())),
            ];
            push_some(&mut fields, "reason", s.reason.clone());
            push_some(&mut fields, "override reason", s.override_reason.clone());
            push_some(&mut fields, "started at", s.started_at.map(|t| t.to_string()));
            push_some(&mut fields, "ended at", s.ended_at.map(|t| t.to_string()));
            text.push_str(&field_lines(&fields));
            let _ = writeln!(text, "\nAudit log:");
            text.push_str(&history_table(&s.history).render("  "));
            Ok(Output::ok(text))
        }
        TempCommand::Log { id } => {
            let log = warden.session_log(Family::Temp, &id).await?;
            log_output(ctx, &id, &log)
        }
    }
}

async fn privileged(ctx: &Context, cmd: PrivilegedCommand) -> anyhow::Result<Output> {
    let warden = service(ctx).await?;
    let decide = |id: String, decision: PrivilegedDecision, note: Option<String>| {
        let warden = &warden;
        async move {
            let out = warden.decide_privileged_session(&id, decision, note.as_deref()).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            let s = &out.session;
            let verb = match decision {
                PrivilegedDecision::Approve => "Approved",
                PrivilegedDecision::Reject => "Rejected",
                PrivilegedDecision::Cancel => "Cancelled",
            };
            let mut text = format!("{verb} {}: {} (revision {})\n", s.id, describe_privileged(s), out.revision);
            if decision == PrivilegedDecision::Approve {
                text.push_str(&approval_notes(&s.history, None));
            }
            Ok(Output::ok(text))
        }
    };
    match cmd {
        PrivilegedCommand::New { user, start, end, action, reason } => {
            let request = PrivilegedSessionRequest { user, start: time(&warden, "start", &start)?, end: time(&warden, "end", &end)?, action, reason };
            let out = warden.new_privileged_session(&request).await?;
            if ctx.json {
                return ctx.json(&out.session);
            }
            Ok(Output::ok(format!("{}\n", out.session.id)))
        }
        PrivilegedCommand::Approve { id, note } => decide(id, PrivilegedDecision::Approve, note).await,
        PrivilegedCommand::Reject { id, note } => decide(id, PrivilegedDecision::Reject, note).await,
        PrivilegedCommand::Cancel { id, note } => decide(id, PrivilegedDecision::Cancel, note).await,
        PrivilegedCommand::Process { id } => {
            let out = warden.process_session(Family::Privileged, &id).await?;
            process_output(ctx, &out)
        }
        PrivilegedCommand::List { status, user } => {
            let model = warden.model().await?;
            let list: Vec<&PrivilegedSession> = model
                .privileged_sessions
                .values()
                .filter(|s| status.as_deref().is_none_or(|st| s.status.as_str() == st))
                .filter(|s| user.as_deref().is_none_or(|u| s.user.eq_ignore_ascii_case(u)))
                .collect();
            if ctx.json {
                return ctx.json(&list);
            }
            if list.is_empty() {
                return Ok(Output::ok("No privileged user sessions.\n".into()));
            }
            let mut t = Table::new(&["ID", "USER", "STATUS", "ACTION", "START", "END", "REQUESTED BY", "APPROVED BY"]);
            for s in list {
                t.row(vec![
                    s.id.clone(),
                    s.user.clone(),
                    s.status.to_string(),
                    s.action.as_str().into(),
                    s.start.to_string(),
                    s.end.to_string(),
                    s.requested_by.clone(),
                    s.approved_by.clone().unwrap_or_default(),
                ]);
            }
            Ok(Output::ok(t.render("")))
        }
        PrivilegedCommand::Show { id } => {
            let model = warden.model().await?;
            let s = warden_core::sessions::privileged(&model, &id)?;
            if ctx.json {
                return ctx.json(s);
            }
            let mut text = format!("Privileged user session {}\n", s.id);
            let mut fields = vec![
                ("user", s.user.clone()),
                ("status", s.status.to_string()),
                ("action", action_text(s.action).into()),
                ("window", window(s.start, s.end)),
                ("requested by", s.requested_by.clone()),
                ("approved by", s.approved_by.clone().unwrap_or_else(|| "-".into())),
            ];
            push_some(&mut fields, "reason", s.reason.clone());
            push_some(&mut fields, "started at", s.started_at.map(|t| t.to_string()));
            push_some(&mut fields, "ended at", s.ended_at.map(|t| t.to_string()));
            push_some(&mut fields, "account at start", s.original_enabled.map(|e| if e { "enabled" } else { "disabled" }.to_string()));
            push_some(&mut fields, "recording", s.recording_deleted.as_ref().map(|d| format!("deleted at {} by {} ({} events)", d.at, d.by, d.events)));
            text.push_str(&field_lines(&fields));
            let _ = writeln!(text, "\nAudit log:");
            text.push_str(&history_table(&s.history).render("  "));
            Ok(Output::ok(text))
        }
        PrivilegedCommand::Log { id } => {
            let log = warden.session_log(Family::Privileged, &id).await?;
            log_output(ctx, &id, &log)
        }
        PrivilegedCommand::Recording { id, format, out, delete } => recording(ctx, &warden, &id, format, out, delete).await,
    }
}

async fn recording(ctx: &Context, warden: &Warden, id: &str, format: RecordingFormat, out: Option<PathBuf>, delete: bool) -> anyhow::Result<Output> {
    let mut text = String::new();
    // Without --out, --delete only deletes: the events are not mixed with the report.
    if out.is_some() || !delete {
        // An altered recording is an error (exit status 2), never printed as if intact.
        let warden_core::sessions::Recording { session, events, seal } = warden.recording(id).await?;
        eprintln!("recording of {}: {}", session.id, seal.describe());
        let body = match format {
            RecordingFormat::Jsonl => warden_core::sessions::recording_jsonl(&events),
            RecordingFormat::Html => warden_core::sessions::recording_html(&session, &events, &seal),
        };
        match &out {
            None => return Ok(Output::data(body)),
            Some(path) => {
                std::fs::write(path, body).with_context(|| format!("cannot write {}", path.display()))?;
                if !ctx.json {
                    let _ = writeln!(text, "Wrote the recording of {} ({} event{}) to {}", session.id, events.len(), plural(events.len()), path.display());
                }
                if !delete {
                    if ctx.json {
                        return ctx.json(&serde_json::json!({ "session": session.id, "events": events.len(), "file": path, "seal": seal }));
                    }
                    return Ok(Output::ok(text));
                }
            }
        }
    }
    let deleted = warden.delete_recording(id).await?;
    if ctx.json {
        return ctx.json(&deleted);
    }
    let n = deleted.session.recording_deleted.as_ref().map_or(0, |d| d.events);
    let _ = writeln!(text, "Deleted the recording of {}: {n} event{} (revision {})", deleted.session.id, if n == 1 { "" } else { "s" }, deleted.revision);
    Ok(Output::ok(text))
}

/// `warden process --once`: every transition that is due, by the processor.
pub async fn process(ctx: &Context, args: ProcessArgs) -> anyhow::Result<Output> {
    if !args.once {
        anyhow::bail!(
            "the continuous session processor runs inside `warden serve`; `warden process --once` makes the transitions that are due now, once, and exits"
        );
    }
    let warden = service(ctx).await?;
    let actor = if ctx.actor_given() { warden.actor().to_string() } else { "processor".to_string() };
    let warden = warden.acting_as(actor).with_origin("processor");
    let out = warden.process_sessions().await?;
    process_output(ctx, &out)
}

fn process_output(ctx: &Context, out: &ProcessOutcome) -> anyhow::Result<Output> {
    if ctx.json {
        return ctx.json(out);
    }
    let mut text = String::new();
    for t in &out.transitions {
        let _ = writeln!(text, "{} {} → {} (due {}, at {})", t.session, t.from, t.to, t.due, t.at);
    }
    for r in &out.refused {
        let _ = writeln!(text, "refused start: {r}");
    }
    if text.is_empty() {
        text.push_str("Nothing is due.\n");
    }
    Ok(Output::ok(text))
}

fn log_output(ctx: &Context, id: &str, log: &SessionLog) -> anyhow::Result<Output> {
    if ctx.json {
        return ctx.json(log);
    }
    let id = id.to_uppercase();
    let mut text = format!("Audit log of {id}:\n");
    text.push_str(&history_table(&log.audit).render("  "));
    let _ = writeln!(text, "\nUser log (sign-ins while the session was active):");
    if log.user_log.is_empty() {
        let _ = writeln!(text, "  none");
    } else {
        let mut t = Table::new(&["AT", "EVENT", "SOURCE"]);
        for e in &log.user_log {
            t.row(vec![e.at.to_string(), e.event.clone(), e.source.clone().unwrap_or_default()]);
        }
        text.push_str(&t.render("  "));
    }
    if let Some(changes) = &log.role_changes {
        let _ = writeln!(text, "\nRole change log (the user's role assignments changed while the session was active):");
        if changes.is_empty() {
            let _ = writeln!(text, "  none");
        } else {
            let mut t = Table::new(&["AT", "ROLE", "CHANGE", "BY", "ACTION", "AUDIT SEQ"]);
            for c in changes {
                t.row(vec![c.at.to_string(), c.role.clone(), c.change.clone(), c.actor.clone(), c.action.clone(), c.audit_seq.to_string()]);
            }
            text.push_str(&t.render("  "));
        }
    }
    Ok(Output::ok(text))
}

fn history_table(history: &[StatusChange]) -> Table {
    let mut t = Table::new(&["AT", "FROM", "TO", "BY", "HOW", "SELF-APPROVAL", "NOTE"]);
    for c in history {
        t.row(vec![
            c.at.to_string(),
            c.from.clone().unwrap_or_else(|| "-".into()),
            c.to.clone(),
            c.by.clone(),
            if c.batch { "batch" } else { "administrator" }.into(),
            if c.self_approval { "yes" } else { "" }.into(),
            c.note.clone().unwrap_or_default(),
        ]);
    }
    t
}

/// A line under the approval message when it was a self-approval or overrides SoD.
fn approval_notes(history: &[StatusChange], override_reason: Option<&str>) -> String {
    let mut text = String::new();
    if history.last().is_some_and(|c| c.self_approval) {
        let _ = writeln!(text, "  note: self-approval (allowed by the session settings), flagged in the session's audit log");
    }
    if let Some(r) = override_reason {
        let _ = writeln!(text, "  segregation-of-duties conflicts allowed with your reason, recorded in the register: {r}");
    }
    text
}

fn describe_temp(s: &TempRoleSession) -> String {
    let scope = if s.organizations.is_empty() { String::new() } else { format!(" in {}", s.organizations.join(", ")) };
    format!("{} gets {}{scope} ({}), {}", s.user, s.roles.join(", "), s.session_type.as_str(), window(s.start, s.end))
}

fn describe_privileged(s: &PrivilegedSession) -> String {
    format!("{}'s account {}, {}", s.user, action_text(s.action), window(s.start, s.end))
}

fn action_text(a: AccountAction) -> &'static str {
    match a {
        AccountAction::Enable => "enabled for the session",
        AccountAction::Disable => "disabled for the session",
    }
}

fn type_text(t: SessionType) -> String {
    match t {
        SessionType::Merge => "merge (added to the user's own roles)".into(),
        SessionType::Replace => "replace (the user's own roles are suspended for the session)".into(),
    }
}

fn window(start: Timestamp, end: Timestamp) -> String {
    format!("from {start} until {end}")
}

fn scope(orgs: &[String]) -> String {
    if orgs.is_empty() { "everywhere".to_string() } else { orgs.join(", ") }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn push_some(fields: &mut Vec<(&'static str, String)>, name: &'static str, value: Option<String>) {
    if let Some(v) = value {
        fields.push((name, v));
    }
}

fn field_lines(fields: &[(&str, String)]) -> String {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (k, v) in fields {
        let _ = writeln!(text, "  {k:<width$}  {v}");
    }
    text
}

// ---------------------------------------------------------------- recordings


