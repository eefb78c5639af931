//! One function per command: call the service, render its outcome.

use crate::cli::{CheckArgs, Cli, Command, DemoArgs, ExportCommand, GenArgs, ImportCommand, OrgCommand, RoleCommand, UserCommand};
use crate::table::Table;
use anyhow::Context as _;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use warden_core::{CoreError, Snapshot, TimeState, Warden};
use warden_model::{Access, ObjectKind, Organization, Timestamp};

/// What a command prints and the exit status it ends with.
pub struct Output {
    pub stdout: String,
    pub status: u8,
    /// `stdout` is a file's content (CSV, JSON lines, HTML), printed byte for
    /// byte; anything else is text for a reader, whose control characters are
    /// escaped on the way out ([`warden_model::shown_lines`]).
    pub data: bool,
}

impl Output {
    pub fn ok(stdout: String) -> Output {
        Output { stdout, status: 0, data: false }
    }

    /// A file's content written to standard output, unescaped.
    pub fn data(stdout: String) -> Output {
        Output { stdout, status: 0, data: true }
    }
}

/// How a command opens the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    /// Reads an existing store as it is: a missing one is an error, never created.
    Read,
    /// Creates the store if missing, with the built-in model ensured first
    /// ([`warden_core::builtin::install`]), so that its roles can be assigned at once.
    Write,
    /// `demo` and `serve`: creates the store if missing; the command installs
    /// the built-in model itself, after the demo it may load into a new store.
    Setup,
}

/// Commands that only read: they never create a store, nor write to one by
/// opening it. Anything not listed here opens for writing.
fn opening(command: &Command) -> Opening {
    use crate::edit_cmd::{DutyCommand, EntryPointCommand, PrivilegeCommand, RuleCommand};
    use crate::session_cmd::{PrivilegedCommand, SessionCommand, TempCommand};
    use crate::sod_cmd::{RuleCommand as SodRuleCommand, SodCommand};
    use crate::webhook_cmd::WebhookCommand;
    let reads = match command {
        Command::Demo(_) | Command::Serve(_) => return Opening::Setup,
        Command::Check(_) | Command::Export(_) | Command::Audit(_) | Command::Doctor(_) | Command::Gen(_) => true,
        Command::Customizations(c) => matches!(c, crate::audit_cmd::CustomizationsCommand::List),
        Command::Org(c) => matches!(c, OrgCommand::List),
        Command::User(c) => matches!(c, UserCommand::List | UserCommand::Show { .. }),
        Command::Role(c) => matches!(c, RoleCommand::List | RoleCommand::Show { .. }),
        Command::Duty(c) => matches!(c, DutyCommand::List | DutyCommand::Show { .. }),
        Command::Policy(_) => true,
        Command::Privilege(c) => matches!(c, PrivilegeCommand::List | PrivilegeCommand::Show { .. }),
        Command::EntryPoint(c) => matches!(c, EntryPointCommand::List { .. }),
        Command::AssignmentRule(c) => matches!(c, RuleCommand::List | RuleCommand::Show { .. }),
        Command::Sod(c) => matches!(
            c,
            SodCommand::Rule(SodRuleCommand::List | SodRuleCommand::Export { .. })
                | SodCommand::Validate { .. }
                | SodCommand::Conflicts { .. }
                | SodCommand::Roles
                | SodCommand::Similarity { .. }
        ),
        Command::Webhook(c) => matches!(c, WebhookCommand::List | WebhookCommand::Deliveries { .. }),
        Command::Session(c) => matches!(
            c,
            SessionCommand::Temp(TempCommand::List { .. } | TempCommand::Show { .. } | TempCommand::Log { .. })
                | SessionCommand::Privileged(
                    PrivilegedCommand::List { .. } | PrivilegedCommand::Show { .. } | PrivilegedCommand::Log { .. } | PrivilegedCommand::Recording { delete: false, .. }
                )
        ),
        Command::Token(c) => matches!(c, crate::credentials_cmd::TokenCommand::List { .. }),
        Command::Import(_) | Command::Process(_) => false,
    };
    if reads { Opening::Read } else { Opening::Write }
}

/// A read-only command named a store that does not exist.
#[derive(Debug)]
pub struct NoStore {
    place: String,
}

impl std::fmt::Display for NoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} does not exist yet; this command only reads a store, so it created none", self.place)
    }
}

impl std::error::Error for NoStore {}

/// Settings every command shares.
pub struct Context {
    opening: Opening,
    data_dir: PathBuf,
    database_url: Option<String>,
    actor: String,
    /// --actor was given (the processor acts as "processor" otherwise).
    actor_given: bool,
    pub(crate) json: bool,
    /// How to spell a follow-up command for this user: `warden`, or
    /// `cargo run --release --` when run from a cargo build, plus `--data-dir`
    /// when one was given on the command line.
    prefix: String,
}

impl Context {
    /// Refuses an actor that breaks the id rule ([`warden_model::validate_id`]):
    /// the actor is written into every audit event and printed by `audit log`,
    /// so a control character in it would reach auditors' terminals raw. Checked
    /// once here, so that no command (store, socket, server) sees another actor.
    pub fn new(cli: &Cli, data_dir_given: bool) -> anyhow::Result<Context> {
        let (actor, source) = match &cli.actor {
            Some(actor) => (actor.clone(), "--actor"),
            None => match std::env::var("USER").ok().filter(|u| !u.is_empty()) {
                Some(user) => (user, "the environment variable USER"),
                None => ("cli".to_string(), "the default actor"),
            },
        };
        if let Err(e) = warden_model::validate_id(ObjectKind::User, &actor) {
            let hint = if source == "--actor" { "give another --actor" } else { "set USER to a plain user id, or pass --actor ID" };
            anyhow::bail!("{source} does not name a valid actor: {e}; {hint}");
        }
        let mut prefix = program_prefix();
        if data_dir_given {
            prefix.push_str(" --data-dir ");
            prefix.push_str(&shell_quote(&cli.data_dir.display().to_string()));
        }
        Ok(Context {
            opening: opening(&cli.command),
            data_dir: cli.data_dir.clone(),
            database_url: cli.database_url.clone(),
            actor,
            actor_given: cli.actor.is_some(),
            json: cli.json,
            prefix,
        })
    }

    /// Whether --actor named who acts (rather than $USER or "cli").
    pub fn actor_given(&self) -> bool {
        self.actor_given
    }

    /// The services over the configured store, opened as the command needs
    /// ([`Opening`]): a reading command finds the store as it is, a writing
    /// one finds the built-in model in it.
    pub async fn warden(&self) -> anyhow::Result<Warden> {
        if self.opening == Opening::Read
            && let Some(file) = self.store_file()
            && !file.exists()
        {
            return Err(NoStore { place: self.place() }.into());
        }
        let store = warden_store::open(self.database_url.as_deref(), &self.data_dir).await.with_context(|| {
            match &self.database_url {
                Some(_) => "cannot open the store given by --database-url".to_string(),
                None => format!("cannot open the store in {}", self.data_dir.display()),
            }
        })?;
        if self.opening == Opening::Write {
            warden_core::builtin::install(store.as_ref(), "cli").await.context("cannot install the built-in Warden model")?;
        }
        Ok(Warden::new(store, self.actor.clone()))
    }

    /// A running `warden serve` of this store, reached over its local socket
    /// ([`crate::via_server`]); none for a PostgreSQL store.
    pub fn server(&self) -> Option<crate::via_server::ServerLink> {
        let file = self.store_file()?;
        crate::via_server::ServerLink::find(file.parent()?, &self.actor)
    }

    /// The SQLite file the store lives in, when it is one (not in memory, not PostgreSQL).
    fn store_file(&self) -> Option<PathBuf> {
        match self.database_url.as_deref() {
            None => Some(self.data_dir.join("warden.db")),
            Some(url) if url.starts_with("sqlite:") && !url.contains(":memory:") && !url.contains("mode=memory") => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                Some(PathBuf::from(path.split('?').next().unwrap_or(path)))
            }
            Some(_) => None,
        }
    }

    /// How messages name the store.
    fn place(&self) -> String {
        match &self.database_url {
            Some(_) => "the store".to_string(),
            None => format!("the store in {}", self.data_dir.display()),
        }
    }

    /// The key webhook secrets derive from: `WARDEN_WEBHOOK_KEY`, else a
    /// `webhook.key` file beside the SQLite store (made on first use). A
    /// PostgreSQL store has no folder of its own: its replicas must share the
    /// variable.
    pub fn webhook_key(&self) -> anyhow::Result<Option<warden_core::webhooks::WebhookKey>> {
        let dir = match self.database_url.as_deref() {
            None => Some(self.data_dir.clone()),
            Some(url) if url.starts_with("sqlite:") => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                Some(std::path::Path::new(path).parent().map(std::path::Path::to_path_buf).unwrap_or_default())
            }
            Some(_) => None,
        };
        Ok(warden_core::webhooks::WebhookKey::load(dir.as_deref())?)
    }

    pub fn json(&self, value: &impl Serialize) -> anyhow::Result<Output> {
        let mut text = serde_json::to_string_pretty(value).context("cannot render JSON")?;
        text.push('\n');
        Ok(Output::ok(text))
    }
}

/// `warden` when installed; `cargo run [--release] --` when run from a cargo
/// target folder, so that suggested commands can be pasted as they are.
fn program_prefix() -> String {
    let exe = std::env::current_exe().ok();
    let profile_dir = exe.as_ref().and_then(|e| e.parent());
    let profile = profile_dir.and_then(|d| d.file_name()).and_then(|n| n.to_str());
    let in_target = profile_dir.and_then(|d| d.parent()).and_then(|d| d.file_name()).is_some_and(|n| n == "target");
    match profile {
        Some("release") if in_target => "cargo run --release --".to_string(),
        Some("debug") if in_target => "cargo run --".to_string(),
        _ => "warden".to_string(),
    }
}

/// Text from a file, made safe for a terminal: control characters (escape
/// sequences included) are shown escaped instead of reaching it raw.
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    warden_model::shown(s)
}

fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

pub async fn run(ctx: &Context, command: Command) -> anyhow::Result<Output> {
    match command {
        Command::Demo(args) => demo(ctx, args).await,
        Command::Import(cmd) => import(ctx, cmd).await,
        Command::Export(ExportCommand::Aot { out, force }) => {
            let outcome = ctx.warden().await?.export_aot(&out, force).await?;
            if ctx.json {
                return ctx.json(&outcome);
            }
            let mut text = format!(
                "Wrote {} AOT file{} to {} (revision {}):\n",
                outcome.files,
                plural(outcome.files),
                outcome.out_dir.display(),
                outcome.revision
            );
            text.push_str(&counts_table(&outcome.counts, "  "));
            for w in &outcome.warnings {
                let _ = writeln!(text, "warning: {w}");
            }
            Ok(Output::ok(text))
        }
        Command::Export(ExportCommand::Dmf { out, entity, format, force }) => {
            let outcome = ctx.warden().await?.export_dmf(&out, entity, format, force).await?;
            if ctx.json {
                return ctx.json(&outcome);
            }
            let mut text = format!("Wrote (revision {}):\n", outcome.revision);
            for f in &outcome.files {
                let _ = writeln!(text, "  {} ({}, {} record{})", f.path.display(), f.entity.entity_name(), f.records, plural(f.records));
            }
            for w in &outcome.warnings {
                let _ = writeln!(text, "warning: {w}");
            }
            Ok(Output::ok(text))
        }
        Command::Export(ExportCommand::SecurityConfig { out, force }) => {
            let outcome = ctx.warden().await?.export_security_config(&out, force).await?;
            if ctx.json {
                return ctx.json(&outcome);
            }
            let mut text = format!(
                "Wrote {} (revision {}): {} customized, {} new, {} disabled\n",
                outcome.file.display(),
                outcome.revision,
                outcome.customized,
                outcome.new,
                outcome.disabled
            );
            for w in &outcome.warnings {
                let _ = writeln!(text, "warning: {}", printable(w));
            }
            Ok(Output::ok(text))
        }
        Command::Org(cmd) => org(ctx, cmd).await,
        Command::User(
            cmd @ (UserCommand::Add { .. } | UserCommand::Edit { .. } | UserCommand::Enable { .. } | UserCommand::Disable { .. } | UserCommand::Remove { .. }),
        ) => crate::edit_cmd::user(ctx, cmd).await,
        Command::User(UserCommand::Password { id }) => crate::credentials_cmd::password(ctx, &id).await,
        Command::User(cmd) => user(ctx, cmd).await,
        Command::Role(cmd @ (RoleCommand::List | RoleCommand::Show { .. })) => role(ctx, cmd).await,
        Command::Role(cmd) => crate::edit_cmd::role(ctx, cmd).await,
        Command::Duty(cmd) => crate::edit_cmd::duty(ctx, cmd).await,
        Command::Policy(cmd) => crate::policy_cmd::policy(ctx, cmd).await,
        Command::Privilege(cmd) => crate::edit_cmd::privilege(ctx, cmd).await,
        Command::EntryPoint(cmd) => crate::edit_cmd::entry_point(ctx, cmd).await,
        Command::AssignmentRule(cmd) => crate::edit_cmd::assignment_rule(ctx, cmd).await,
        Command::Sod(cmd) => crate::sod_cmd::sod(ctx, cmd).await,
        Command::Webhook(cmd) => crate::webhook_cmd::webhook(ctx, cmd).await,
        Command::Session(cmd) => crate::session_cmd::session(ctx, cmd).await,
        Command::Process(args) => crate::session_cmd::process(ctx, args).await,
        Command::Check(args) => check(ctx, args).await,
        Command::Gen(args) => gen_model(ctx, args),
        Command::Audit(cmd) => crate::audit_cmd::audit(ctx, cmd).await,
        Command::Customizations(cmd) => crate::audit_cmd::customizations(ctx, cmd).await,
        Command::Doctor(args) => crate::doctor_cmd::doctor(ctx, args).await,
        Command::Token(cmd) => crate::credentials_cmd::token(ctx, cmd).await,
        Command::Serve(args) => {
            let store = ctx.warden().await?.store().clone();
            let socket = ctx.store_file().and_then(|f| f.parent().map(warden_server::local::socket_path));
            crate::serve_cmd::serve(store, args, ctx.webhook_key()?, socket).await?;
            Ok(Output::ok(String::new()))
        }
    }
}

/// A follow-up suggestion for an error, when there is a useful one.
pub async fn hint(ctx: &Context, error: &anyhow::Error) -> Option<String> {
    let p = &ctx.prefix;
    if error.downcast_ref::<NoStore>().is_some() {
        return Some(format!(
            "create one with `{p} demo`, or import your security model with `{p} import aot PATH` (any command that writes creates the store)"
        ));
    }
    let core = error.downcast_ref::<CoreError>()?;
    let kind = core.unknown_kind()?;
    // An unknown name in an empty store (nothing in it but Warden's own model) is a missing import, not a typo.
    if let Ok(w) = ctx.warden().await
        && matches!(warden_core::builtin::is_blank(w.store().as_ref()).await, Ok(true))
    {
        let place = ctx.place();
        return Some(format!("{place} is empty: try `{p} demo`, or import your security model with `{p} import aot PATH`"));
    }
    Some(match kind {
        ObjectKind::User => format!("`{p} user list` lists the users"),
        ObjectKind::Role => format!("`{p} role list` lists the roles"),
        ObjectKind::Organization => format!("`{p} org list` lists the organizations"),
        ObjectKind::EntryPoint => format!(
            "name an entry point as NAME or TYPE/NAME (e.g. MenuItemDisplay/DEVSQLQueryExecute); `{p} role show ROLE` lists those a role grants"
        ),
        ObjectKind::TempRoleSession => format!("`{p} session temp list` lists the temporary role sessions"),
        ObjectKind::PrivilegedSession => format!("`{p} session privileged list` lists the privileged user sessions"),
        _ => return None,
    })
}

/// "1 duty", "305 duties".
fn count_of(n: usize, kind: ObjectKind) -> String {
    let name = kind.as_str();
    match (n, kind) {
        (1, _) => format!("1 {name}"),
        (_, ObjectKind::Duty) => format!("{n} duties"),
        (_, ObjectKind::Policy) => format!("{n} policies"),
        _ => format!("{n} {name}s"),
    }
}

/// The current instant to the second: what people type and read back.
pub fn now() -> Timestamp {
    let t = Timestamp::now();
    Timestamp(t.0 - t.0.rem_euclid(1000))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn counts_table(counts: &std::collections::BTreeMap<String, usize>, indent: &str) -> String {
    let mut t = Table::new(&["TYPE", "COUNT"]);
    for (k, v) in counts {
        t.row(vec![k.clone(), v.to_string()]);
    }
    t.render(indent)
}

/// A date when the instant is midnight UTC (how people enter windows), else RFC 3339.
fn when(t: Option<Timestamp>) -> String {
    match t {
        None => "-".to_string(),
        Some(t) => {
            let s = t.to_string();
            s.strip_suffix("T00:00:00Z").map_or(s.clone(), str::to_string)
        }
    }
}

fn scope(orgs: &[String]) -> String {
    if orgs.is_empty() { "global".to_string() } else { orgs.join(", ") }
}

fn access_list(list: &[Access]) -> String {
    if list.is_empty() {
        "-".to_string()
    } else {
        list.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",")
    }
}

async fn demo(ctx: &Context, args: DemoArgs) -> anyhow::Result<Output> {
    let warden = ctx.warden().await?;
    let outcome = warden.load_demo_into_new(args.reset, now()).await?;
    // The demo holds the built-in model; a store that had an older one gets it now.
    warden_core::builtin::install(warden.store().as_ref(), "cli").await?;
    if ctx.json {
        return ctx.json(&outcome);
    }
    let mut text = String::new();
    match &outcome {
        warden_core::DemoOutcome::AlreadyLoaded { revision } => {
            let _ = writeln!(text, "The store already holds the demo (revision {revision}); nothing to do.");
        }
        warden_core::DemoOutcome::Loaded { revision, counts, replaced_objects } => {
            let what: Vec<String> = ObjectKind::ALL
                .iter()
                .filter_map(|k| counts.get(k.code()).map(|n| count_of(*n, *k)))
                .collect();
            let place = match &ctx.database_url {
                Some(_) => "the store".to_string(),
                None => ctx.data_dir.display().to_string(),
            };
            let _ = writeln!(text, "Loaded the demo into {place} (revision {revision}):\n  {}", what.join(", "));
            if *replaced_objects > 0 {
                let _ = writeln!(text, "  replacing the {replaced_objects} objects the store held before (see the audit trail)");
            }
            let _ = writeln!(text, "{}", warden_core::demo::ATTRIBUTION);
        }
    }
    let _ = writeln!(text, "\nTry these:");
    for (what, args) in warden_core::demo::TRY {
        let _ = writeln!(text, "  # {what}\n  {} {args}\n", ctx.prefix);
    }
    Ok(Output::ok(text))
}

async fn import(ctx: &Context, cmd: ImportCommand) -> anyhow::Result<Output> {
    let warden = ctx.warden().await?;
    let outcome = match cmd {
        ImportCommand::Aot { paths, strict } => {
            let outcome = warden.import_aot(&paths, strict).await?;
            if ctx.json {
                return ctx.json(&outcome);
            }
            let mut text = format!("Read {} AOT file{}:\n", outcome.files, plural(outcome.files));
            text.push_str(&counts_table(&outcome.counts, "  "));
            if outcome.changed {
                let _ = writeln!(
                    text,
                    "{} added, {} updated, {} unchanged (revision {})",
                    outcome.added, outcome.updated, outcome.unchanged, outcome.revision
                );
            } else {
                let _ = writeln!(text, "no changes: all {} object(s) are stored as read; nothing was written (revision {})", outcome.unchanged, outcome.revision);
            }
            const SHOWN: usize = 20;
            if !outcome.warnings.is_empty() {
                let _ = writeln!(text, "\n{} warning{}:", outcome.warnings.len(), plural(outcome.warnings.len()));
                for w in outcome.warnings.iter().take(SHOWN) {
                    let _ = writeln!(text, "  {w}");
                }
                if outcome.warnings.len() > SHOWN {
                    let _ = writeln!(text, "  ... and {} more (--json lists them all)", outcome.warnings.len() - SHOWN);
                }
            }
            return Ok(Output::ok(text));
        }
        ImportCommand::Dmf { paths, entity, override_reason } => {
            let outcome = warden.import_dmf(&paths, entity, override_reason.as_deref()).await?;
            if ctx.json {
                return ctx.json(&outcome);
            }
            let mut text = String::new();
            for f in &outcome.files {
                let _ = writeln!(text, "Read {}: {} record{} of {}", f.file, f.records, plural(f.records), f.entity.entity_name());
            }
            for (what, c) in [("organizations", outcome.organizations), ("users", outcome.users), ("assignments", outcome.assignments)] {
                let _ = writeln!(text, "  {what}: {} added, {} updated, {} unchanged", c.added, c.updated, c.unchanged);
            }
            if outcome.changed {
                let _ = writeln!(text, "revision {}", outcome.revision);
            } else {
                let _ = writeln!(text, "no changes: everything is stored as read; nothing was written (revision {})", outcome.revision);
            }
            if !outcome.warnings.is_empty() {
                let _ = writeln!(text, "\n{} warning{}:", outcome.warnings.len(), plural(outcome.warnings.len()));
                for w in &outcome.warnings {
                    let _ = writeln!(text, "  {w}");
                }
            }
            return Ok(Output::ok(text));
        }
        ImportCommand::SecurityConfig { file } => {
            let outcome = warden.import_security_config(&file).await?;
            if ctx.json {
                return ctx.json(&outcome);
            }
            let mut text = format!(
                "Read {}: {} customized, {} new, {} disabled\n",
                outcome.file.display(),
                outcome.customized,
                outcome.new,
                outcome.disabled
            );
            if outcome.changed {
                let _ = writeln!(
                    text,
                    "{} written to the database layer, {} unchanged (revision {})",
                    outcome.written, outcome.unchanged, outcome.revision
                );
            } else {
                let _ = writeln!(
                    text,
                    "no changes: all {} are stored as read; nothing was written (revision {})",
                    outcome.unchanged, outcome.revision
                );
            }
            if outcome.unresolved > 0 {
                let _ = writeln!(text, "{} reference(s) to objects neither in the file nor stored (kept)", outcome.unresolved);
            }
            const SHOWN: usize = 20;
            if !outcome.warnings.is_empty() {
                let _ = writeln!(text, "\n{} warning{}:", outcome.warnings.len(), plural(outcome.warnings.len()));
                for w in outcome.warnings.iter().take(SHOWN) {
                    let _ = writeln!(text, "  {}", printable(w));
                }
                if outcome.warnings.len() > SHOWN {
                    let _ = writeln!(text, "  ... and {} more (--json lists them all)", outcome.warnings.len() - SHOWN);
                }
            }
            return Ok(Output::ok(text));
        }
        ImportCommand::Users { file } => warden.import_users(&file).await?,
        ImportCommand::Assignments { file, override_reason } => warden.import_assignments(&file, override_reason).await?,
        ImportCommand::Orgs { file } => warden.import_orgs(&file).await?,
    };
    if ctx.json {
        return ctx.json(&outcome);
    }
    let kind = outcome.kind.as_str();
    Ok(Output::ok(format!(
        "Imported {}: {} {kind}{} — {} added, {} updated, {} unchanged (revision {})\n",
        outcome.file,
        outcome.rows,
        plural(outcome.rows),
        outcome.added,
        outcome.updated,
        outcome.unchanged,
        outcome.revision
    )))
}

async fn org(ctx: &Context, cmd: OrgCommand) -> anyhow::Result<Output> {
    let warden = ctx.warden().await?;
    match cmd {
        OrgCommand::Add { id, name } => {
            let org = Organization { id, name };
            let outcome = warden.add_org(org.clone()).await?;
            if ctx.json {
                return ctx.json(&serde_json::json!({ "organization": org, "revision": outcome.revision }));
            }
            let name = org.name.map(|n| format!(" ({n})")).unwrap_or_default();
            Ok(Output::ok(format!("Added organization {}{name} (revision {})\n", org.id, outcome.revision)))
        }
        OrgCommand::List => {
            let orgs = warden.snapshot().await?.orgs();
            if ctx.json {
                return ctx.json(&orgs);
            }
            if orgs.is_empty() {
                return Ok(Output::ok(format!("No organizations. Add one with `{} org add ID --name NAME`.\n", ctx.prefix)));
            }
            let mut t = Table::new(&["ID", "NAME", "SCOPED USERS"]);
            for o in orgs {
                t.row(vec![o.id, o.name.unwrap_or_default(), o.scoped_users.to_string()]);
            }
            Ok(Output::ok(t.render("")))
        }
    }
}

async fn user(ctx: &Context, cmd: UserCommand) -> anyhow::Result<Output> {
    if let UserCommand::Assign { user, role, orgs, from, to, override_reason: None } = &cmd
        && let Some(outcome) = assign_on_server(ctx, user, role, orgs, *from, *to).await?
    {
        return assigned(ctx, &outcome);
    }
    let warden = ctx.warden().await?;
    match cmd {
        UserCommand::Assign { user, role, orgs, from, to, override_reason } => {
            let outcome = warden.assign_with_override(&user, &role, &orgs, from, to, now(), override_reason.as_deref()).await?;
            if override_reason.is_none() {
                return assigned(ctx, &outcome);
            }
            if ctx.json {
                return ctx.json(&outcome);
            }
            let a = &outcome.assignment;
            let mut text = assigned_text(&outcome);
            if let Some(reason) = &override_reason {
                let model = warden.snapshot().await?.model.clone();
                let allowed: Vec<&str> = model
                    .sod_conflicts
                    .values()
                    .filter(|c| c.user == a.user && c.reason.as_ref() == Some(reason) && c.decided.is_some())
                    .map(|c| c.rule.as_str())
                    .collect();
                if !allowed.is_empty() {
                    let _ = writeln!(text, "  segregation-of-duties conflict allowed with your reason, recorded in the register: {}", allowed.join(", "));
                }
            }
            Ok(Output::ok(text))
        }
        UserCommand::Revoke { user, role } => {
            let outcome = warden.revoke(&user, &role).await?;
            if ctx.json {
                return ctx.json(&outcome);
            }
            let a = &outcome.revoked;
            Ok(Output::ok(format!("Revoked role {} from {} (revision {})\n", a.role, a.user, outcome.revision)))
        }
        UserCommand::List => {
            let users = warden.snapshot().await?.users();
            if ctx.json {
                return ctx.json(&users);
            }
            if users.is_empty() {
                return Ok(Output::ok(format!(
                    "No users. Add one with `{p} user add ID`, or import users.csv with `{p} import users FILE`.\n",
                    p = ctx.prefix
                )));
            }
            let mut t = Table::new(&["ID", "NAME", "TYPE", "ENABLED", "EMAIL", "ROLES"]);
            for u in users {
                t.row(vec![
                    u.id,
                    u.name.unwrap_or_default(),
                    u.kind.as_str().to_string(),
                    if u.enabled { "yes" } else { "no" }.to_string(),
                    u.email.unwrap_or_default(),
                    u.roles.to_string(),
                ]);
            }
            Ok(Output::ok(t.render("")))
        }
        UserCommand::Show { id, org, at } => {
            let snapshot = warden.snapshot().await?;
            user_show(ctx, &snapshot, &id, org.as_deref(), at.unwrap_or_else(now))
        }
        _ => unreachable!("edits are in edit_cmd::user"),
    }
}

fn describe_scope_window(a: &warden_model::Assignment) -> String {
    let mut s = if a.organizations.is_empty() { "globally".to_string() } else { format!("in {}", a.organizations.join(", ")) };
    match (a.valid_from, a.valid_to) {
        (None, None) => {}
        (Some(f), None) => s.push_str(&format!(", from {}", when(Some(f)))),
        (None, Some(t)) => s.push_str(&format!(", until {} (exclusive)", when(Some(t)))),
        (Some(f), Some(t)) => s.push_str(&format!(", from {} until {} (exclusive)", when(Some(f)), when(Some(t)))),
    }
    s
}

fn user_show(ctx: &Context, snapshot: &Snapshot, id: &str, org: Option<&str>, at: Timestamp) -> anyhow::Result<Output> {
    let view = snapshot.user_view(id, org, at)?;
    if ctx.json {
        return ctx.json(&view);
    }
    let u = &view.user;
    let mut text = String::new();
    let name = u.name.as_deref().map(|n| format!(" — {n}")).unwrap_or_default();
    let _ = writeln!(text, "User {}{name}", u.id);
    let _ = writeln!(text, "  type     {}", u.kind.as_str().replace('_', " "));
    let _ = writeln!(text, "  enabled  {}", if u.enabled { "yes" } else { "no: disabled users have no access" });
    if let Some(e) = &u.email {
        let _ = writeln!(text, "  email    {e}");
    }
    for (k, v) in &u.attributes {
        let _ = writeln!(text, "  {k}: {v}");
    }
    let place = match &view.org {
        Some(o) => format!("in {o} (global assignments and those scoped to {o} count)"),
        None => "without an organization (only global assignments count; --org ORG adds scoped ones)".to_string(),
    };
    let _ = writeln!(text, "\nAssignments at {}, {place}:", view.at);
    if view.assignments.is_empty() {
        let _ = writeln!(text, "  none. Assign a role with `{} user assign {} ROLE`.", ctx.prefix, u.id);
    } else {
        let mut t = Table::new(&["ROLE", "LABEL", "SCOPE", "FROM", "TO", "STATUS", "BY"]);
        for a in &view.assignments {
            let status = match (a.state, a.counts) {
                (_, true) => "active".to_string(),
                (TimeState::Active, false) if !u.enabled => "active, but the user is disabled".to_string(),
                (TimeState::Active, false) => match &view.org {
                    Some(o) => format!("active, not in {o}"),
                    None => "active in its organizations".to_string(),
                },
                (state, false) => state.as_str().to_string(),
            };
            t.row(vec![
                a.role.clone(),
                a.role_label.clone().unwrap_or_default(),
                scope(&a.organizations),
                when(a.valid_from),
                when(a.valid_to),
                status,
                a.rule.as_deref().map_or_else(|| "manual".to_string(), |r| format!("rule {r}")),
            ]);
        }
        text.push_str(&t.render("  "));
    }
    let n = view.permissions.len();
    if n == 0 {
        let scoped: BTreeSet<&str> = view
            .assignments
            .iter()
            .filter(|a| a.state == TimeState::Active && !a.counts)
            .flat_map(|a| a.organizations.iter().map(String::as_str))
            .collect();
        let why = if !u.enabled {
            " (the user is disabled)".to_string()
        } else if let (None, Some(first)) = (&view.org, scoped.first()) {
            let list: Vec<&str> = scoped.iter().copied().collect();
            format!(" without an organization; their active roles are scoped to {} (try --org {first})", list.join(", "))
        } else {
            String::new()
        };
        let _ = writeln!(text, "\nEffective permissions: none{why}");
    } else {
        let _ = writeln!(text, "\nEffective permissions ({n} entry point{}):", plural(n));
        text.push_str(&permission_table(&view.permissions).render("  "));
    }
    Ok(Output::ok(text))
}

fn permission_table(rows: &[warden_core::PermissionRow]) -> Table {
    let mut t = Table::new(&["ENTRY POINT", "TYPE", "LABEL", "ALLOWED", "DENIED"]);
    for p in rows {
        t.row(vec![
            p.name.clone(),
            p.kind.as_str().to_string(),
            p.label.clone().unwrap_or_default(),
            access_list(&p.allowed),
            access_list(&p.denied),
        ]);
    }
    t
}

async fn role(ctx: &Context, cmd: RoleCommand) -> anyhow::Result<Output> {
    let snapshot = ctx.warden().await?.snapshot().await?;
    match cmd {
        RoleCommand::List => {
            let roles = snapshot.roles();
            if ctx.json {
                return ctx.json(&roles);
            }
            if roles.is_empty() {
                return Ok(Output::ok(format!(
                    "No roles. Import your AOT security model with `{p} import aot PATH`, or try `{p} demo`.\n",
                    p = ctx.prefix
                )));
            }
            let mut t = Table::new(&["NAME", "LABEL", "DUTIES", "PRIVILEGES", "SUB-ROLES", "USERS"]);
            for r in roles {
                t.row(vec![
                    r.name,
                    r.label.unwrap_or_default(),
                    r.duties.to_string(),
                    r.privileges.to_string(),
                    r.sub_roles.to_string(),
                    r.users.to_string(),
                ]);
            }
            Ok(Output::ok(t.render("")))
        }
        RoleCommand::Show { name } => {
            let view = snapshot.role_view(&name)?;
            if ctx.json {
                return ctx.json(&view);
            }
            let mut text = String::new();
            let label = view.label.as_deref().map(|l| format!(" — {}", printable(l))).unwrap_or_default();
            let _ = writeln!(text, "Role {}{label}", printable(&view.name));
            if let Some(d) = &view.description {
                let _ = writeln!(text, "  {}", printable(d));
            }
            if let Some(m) = &view.model {
                let _ = writeln!(text, "  model: {}", printable(m));
            }
            let _ = writeln!(text, "  assigned to {} user{}", view.users, plural(view.users));
            for (title, members) in [("Duties", &view.duties), ("Privileges", &view.privileges), ("Sub-roles", &view.sub_roles)] {
                if members.is_empty() {
                    let _ = writeln!(text, "\n{title}: none");
                    continue;
                }
                let _ = writeln!(text, "\n{title} ({}):", members.len());
                let mut t = Table::new(&["NAME", "LABEL", "NOTE"]);
                for m in members {
                    let note = match (&m.extension, m.loaded) {
                        (Some(e), _) => format!("added by extension {e}"),
                        (None, false) => "not loaded".to_string(),
                        (None, true) => String::new(),
                    };
                    t.row(vec![m.name.clone(), m.label.clone().unwrap_or_default(), note]);
                }
                text.push_str(&t.render("  "));
            }
            if view.extensions.is_empty() {
                let _ = writeln!(text, "\nExtensions applied: none");
            } else {
                let _ = writeln!(text, "\nExtensions applied ({}):", view.extensions.len());
                for e in &view.extensions {
                    let _ = writeln!(text, "  {} {} (extends {}): adds {}", e.kind, e.name, e.target, e.adds.join(", "));
                }
            }
            let n = view.entry_points.len();
            if n == 0 {
                let _ = writeln!(text, "\nEntry points: none (no privilege of this role grants access to a known entry point)");
            } else {
                let _ = writeln!(text, "\nEntry points granted, sub-roles, duties and extensions included ({n}):");
                text.push_str(&permission_table(&view.entry_points).render("  "));
            }
            Ok(Output::ok(text))
        }
        _ => unreachable!("edits are in edit_cmd::role"),
    }
}

async fn check(ctx: &Context, args: CheckArgs) -> anyhow::Result<Output> {
    let request = warden_core::CheckRequest {
        user: args.user,
        entry_point: args.entry_point,
        access: args.access,
        org: args.org,
        at: args.at.unwrap_or_else(now),
        explain: args.explain,
        part: args.control.map(warden_model::Part::control).or(args.field.map(warden_model::Part::field)),
    };
    let outcome = match check_on_server(ctx, &request).await? {
        Some(outcome) => outcome,
        None => ctx.warden().await?.snapshot().await?.check(&request)?,
    };
    let status = if outcome.decision.is_allowed() { 0 } else { 1 };
    let stdout = if ctx.json {
        ctx.json(&outcome)?.stdout
    } else {
        match &outcome.explanation {
            // The explanation's first line starts with the decision, so the first word is still allow/deny.
            Some(e) => e.to_string(),
            None => format!("{}\n", outcome.decision),
        }
    };
    Ok(Output { stdout, status, data: false })
}

/// A check answered by a running server of this store ([`crate::via_server`]);
/// `None` when there is none, or for an explanation (which the command line
/// renders from the model itself).
async fn check_on_server(ctx: &Context, req: &warden_core::CheckRequest) -> anyhow::Result<Option<warden_core::CheckOutcome>> {
    #[derive(serde::Deserialize)]
    struct Answer {
        decision: warden_engine::Decision,
        user: String,
        entry_point: String,
        org: Option<String>,
    }
    let Some(server) = ctx.server().filter(|_| !req.explain) else { return Ok(None) };
    let mut body = serde_json::json!({ "user": req.user, "entry_point": req.entry_point, "access": req.access.as_str().to_ascii_lowercase(), "org": req.org, "at": req.at.to_string() });
    if let Some(part) = &req.part {
        body[part.kind.as_str()] = serde_json::json!(part.name);
    }
    Ok(server.post::<Answer>("/api/v1/check", &body).await?.map(|a| warden_core::CheckOutcome {
        decision: a.decision,
        user: a.user,
        entry_point: a.entry_point,
        access: req.access,
        part: req.part.clone(),
        org: a.org,
        at: req.at,
        explanation: None,
    }))
}

/// An assignment made by a running server of this store ([`crate::via_server`]).
async fn assign_on_server(
    ctx: &Context,
    user: &str,
    role: &str,
    orgs: &[String],
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> anyhow::Result<Option<warden_core::AssignOutcome>> {
    #[derive(serde::Deserialize)]
    struct Answer {
        assignment: warden_model::Assignment,
        replaced: Option<warden_model::Assignment>,
        notes: Vec<String>,
        revision: u64,
    }
    let Some(server) = ctx.server() else { return Ok(None) };
    let path = format!("/api/v1/users/{}/assign", path_segment(user));
    let body = serde_json::json!({
        "role": role,
        "organizations": orgs,
        "valid_from": from.map(|t| t.to_string()),
        "valid_to": to.map(|t| t.to_string()),
    });
    Ok(server.post::<Answer>(&path, &body).await?.map(|a| warden_core::AssignOutcome { assignment: a.assignment, replaced: a.replaced, notes: a.notes, revision: a.revision }))
}

/// What [`path_segment`] leaves as it is: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// One percent-encoded path segment, so that any id names itself.
fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

/// What `user assign` prints (without an override reason).
fn assigned(ctx: &Context, outcome: &warden_core::AssignOutcome) -> anyhow::Result<Output> {
    if ctx.json {
        return ctx.json(outcome);
    }
    Ok(Output::ok(assigned_text(outcome)))
}

fn assigned_text(outcome: &warden_core::AssignOutcome) -> String {
    let a = &outcome.assignment;
    let mut text = format!("Assigned role {} to {} {}", a.role, a.user, describe_scope_window(a));
    let _ = writeln!(text, " (revision {})", outcome.revision);
    if let Some(old) = &outcome.replaced {
        let _ = writeln!(text, "  replaces the previous assignment of this role: {}", describe_scope_window(old));
    }
    for n in &outcome.notes {
        let _ = writeln!(text, "  note: {n}");
    }
    text
}

fn gen_model(ctx: &Context, args: GenArgs) -> anyhow::Result<Output> {
    let model = warden_gen::generate(args.scale, args.seed);
    let report = warden_core::write_dataset(&model, &args.out, args.force)?;
    // SoD rules to try `sod` on the generated model: 1,000 at D365 size, as the benchmark uses.
    let rules = warden_gen::sod_rules(&model, if model.users.len() > 10_000 { 1000 } else { 20 }, args.seed);
    let mut csv = Vec::new();
    warden_core::write_sod_rules_csv(&mut csv, &rules)?;
    std::fs::write(args.out.join("sod-rules.csv"), csv).context("cannot write sod-rules.csv")?;
    if ctx.json {
        return ctx.json(&report);
    }
    let out = report.out_dir.display();
    let mut text = format!("Wrote the {} model (seed {}) to {out}:\n", args.scale, args.seed);
    let _ = writeln!(text, "  aot/               {} AOT XML file{}", report.aot_files, plural(report.aot_files));
    text.push_str(&counts_table(&report.aot_counts, "    "));
    let _ = writeln!(text, "  organizations.csv  {} organization{}", report.organizations, plural(report.organizations));
    let _ = writeln!(text, "  users.csv          {} user{}", report.users, plural(report.users));
    let _ = writeln!(text, "  assignments.csv    {} assignment{}", report.assignments, plural(report.assignments));
    let _ = writeln!(text, "  sod-rules.csv      {} SoD rule{}", rules.len(), plural(rules.len()));
    let p = &ctx.prefix;
    let dir = shell_quote(&out.to_string());
    let _ = writeln!(
        text,
        "\nLoad it with:\n  {p} import aot {dir}/aot\n  {p} import orgs {dir}/organizations.csv\n  {p} import users {dir}/users.csv\n  {p} import assignments {dir}/assignments.csv\n  {p} sod rule import {dir}/sod-rules.csv"
    );
    Ok(Output::ok(text))
}
