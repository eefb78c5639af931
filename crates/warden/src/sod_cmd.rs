//! `warden sod ...`: segregation-of-duties rules, verification, the
//! conflicts register and decisions.

use crate::commands::{now, Context, Output};
use crate::table::Table;
use clap::{Args, Subcommand};
use std::fmt::Write as _;
use std::path::PathBuf;
use warden_core::Resolution;
use warden_model::{ConflictStatus, ObjectKind, Severity, SodRule, SodSide, Timestamp};

#[derive(Debug, Subcommand)]
pub enum SodCommand {
    /// Add, list, remove, import and export SoD rules
    #[command(subcommand)]
    Rule(RuleCommand),
    /// List the roles that break one rule by themselves (sub-roles included)
    #[command(long_about = "List the roles that hold both sides of one rule by themselves, sub-roles and \
extensions included (D365's \"Validate duties and roles\"). Adding a rule does not check existing roles; this does.")]
    Validate {
        /// Rule name
        rule: String,
    },
    /// Check every user against every rule; new conflicts are recorded as unresolved
    #[command(long_about = "Check every user against every rule, per organization and from now on \
(D365's \"Verify compliance of user-role assignments\"). New conflicts are recorded as unresolved, \
conflicts that no longer occur leave the register; one audited change, also when nothing changed.")]
    Verify,
    /// The conflicts register: unresolved conflicts and those allowed with a reason
    Conflicts {
        /// Only unresolved conflicts
        #[arg(long, conflicts_with = "allowed")]
        unresolved: bool,
        /// Only allowed conflicts (the register of overrides)
        #[arg(long)]
        allowed: bool,
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        #[arg(long, value_name = "RULE")]
        rule: Option<String>,
        /// Print CSV, for a spreadsheet or an auditor
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
    /// Decide an unresolved conflict: allow it with a reason, or deny it
    #[command(long_about = "Decide a conflict, named USER/RULE as `sod conflicts` lists it (a '/' or '%' \
inside a name is written %2F or %25: user kx/ka and rule kb are kx%2Fka/kb). --allow keeps the \
roles and records the reason in the conflicts register; --deny excludes the user from the assignment \
rules that gave the conflicting roles, which takes those roles away in the same change.")]
    Resolve {
        /// USER/RULE
        conflict: String,
        #[arg(long, conflicts_with = "deny", requires = "reason")]
        allow: bool,
        #[arg(long, required_unless_present = "allow")]
        deny: bool,
        /// Why the conflict is allowed (with --allow)
        #[arg(long)]
        reason: Option<String>,
    },
    /// Every role that breaks a rule by itself, with its number of violations and the rules
    Roles,
    /// Show or change the SoD parameters (similarity checking)
    #[command(long_about = "Show the SoD parameters, or change them. With --check-similarity true, adding or \
editing a duty (compared by privileges) or a privilege (compared by entry points) that overlaps an \
existing one at or above --similarity-level percent of their union is reported, or refused with \
--refuse-similar true.")]
    Settings {
        #[arg(long, value_name = "true|false")]
        check_similarity: Option<bool>,
        /// Percent of overlap (1-100) at which two duties or privileges count as similar
        #[arg(long, value_name = "PERCENT")]
        similarity_level: Option<u8>,
        /// Refuse similar duties and privileges instead of warning
        #[arg(long, value_name = "true|false")]
        refuse_similar: Option<bool>,
    },
    /// Every pair of duties, and of privileges, that overlap at or above a level
    Similarity {
        /// Percent of overlap [default: the settings' level]
        #[arg(long, value_name = "PERCENT")]
        level: Option<u8>,
    },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct FirstSide {
    /// The first side is holding this duty
    #[arg(long = "first-duty", value_name = "DUTY")]
    first_duty: Option<String>,
    /// The first side is an access on an entry point: EP:ACCESS (e.g. VendTable:create)
    #[arg(long = "first-entry-point", value_name = "EP:ACCESS")]
    first_entry_point: Option<String>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SecondSide {
    /// The second side is holding this duty
    #[arg(long = "second-duty", value_name = "DUTY")]
    second_duty: Option<String>,
    /// The second side is an access on an entry point: EP:ACCESS (e.g. VendInvoiceApprove:invoke)
    #[arg(long = "second-entry-point", value_name = "EP:ACCESS")]
    second_entry_point: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    /// Add a rule: no role and no user may hold both sides
    #[command(long_about = "Add a segregation-of-duties rule. Each side is a duty (--first-duty) or an access \
on an entry point (--first-entry-point EP:ACCESS), so that a conflict hidden in differently named duties \
is caught too. From then on, a role edit that would make a role hold both sides, or a direct assignment \
that would give a user both (in any one organization; a global assignment counts in every one), is refused \
naming the rule. Existing roles and users are not refused retroactively: see `sod validate` and `sod verify`.")]
    Add {
        name: String,
        #[command(flatten)]
        first: FirstSide,
        #[command(flatten)]
        second: SecondSide,
        #[arg(long, default_value = "medium")]
        severity: Severity,
        /// What could go wrong when one person holds both
        #[arg(long)]
        risk: Option<String>,
        /// What limits the risk when a conflict is allowed
        #[arg(long)]
        mitigation: Option<String>,
        #[arg(long, value_name = "TIME", value_parser = crate::cli::parse_time_arg, allow_hyphen_values = true)]
        from: Option<Timestamp>,
        #[arg(long, value_name = "TIME", value_parser = crate::cli::parse_time_arg, allow_hyphen_values = true)]
        to: Option<Timestamp>,
        /// Add the rule disabled
        #[arg(long)]
        disabled: bool,
    },
    /// List rules
    List,
    /// Remove a rule (its unresolved and allowed conflicts leave the register)
    Remove { name: String },
    /// Import rules from CSV or JSON (by name: added or replaced), all or nothing
    #[command(long_about = "Import rules from a CSV file with the header \
name,first_duty,first_entry_point,first_access,second_duty,second_entry_point,second_access,severity,risk,mitigation,valid_from,valid_to,enabled \
(only name and the sides are required), or from a JSON array as `sod rule export --json` writes it. \
Any problem and nothing is imported.")]
    Import { file: PathBuf },
    /// Export rules as CSV (or JSON with --json), to standard output or --out FILE
    Export {
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn side_text(side: &SodSide) -> String {
    side.to_string()
}

pub async fn sod(ctx: &Context, cmd: SodCommand) -> anyhow::Result<Output> {
    let warden = ctx.warden().await?;
    match cmd {
        SodCommand::Rule(cmd) => rule(ctx, cmd).await,
        SodCommand::Validate { rule } => {
            let (rule, roles) = warden.sod_validate(&rule, now()).await?;
            if ctx.json {
                return ctx.json(&serde_json::json!({ "rule": rule, "roles": roles }));
            }
            let mut text = format!("Rule {}: {} vs {}\n", rule.name, side_text(&rule.first), side_text(&rule.second));
            if roles.is_empty() {
                text.push_str("No role holds both sides by itself.\n");
            } else {
                let _ = writeln!(text, "{} role{} hold both sides by themselves: {}", roles.len(), if roles.len() == 1 { "" } else { "s" }, roles.join(", "));
            }
            Ok(Output::ok(text))
        }
        SodCommand::Verify => {
            let out = warden.sod_verify(now()).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            let mut text = format!(
                "Verified {} users against {} rules (revision {}): {} conflict{}.\n",
                out.users,
                out.rules,
                out.revision,
                out.conflicts,
                if out.conflicts == 1 { "" } else { "s" }
            );
            if !out.new_unresolved.is_empty() {
                let _ = writeln!(text, "  new, unresolved: {}", out.new_unresolved.join(", "));
            }
            if !out.no_longer_conflicting.is_empty() {
                let _ = writeln!(text, "  no longer conflicting: {}", out.no_longer_conflicting.join(", "));
            }
            Ok(Output::ok(text))
        }
        SodCommand::Conflicts { unresolved, allowed, user, rule, csv } => {
            let model = warden.model().await?;
            let status = if unresolved { Some(ConflictStatus::Unresolved) } else if allowed { Some(ConflictStatus::Allowed) } else { None };
            let list: Vec<_> = model
                .sod_conflicts
                .values()
                .filter(|c| status.is_none_or(|s| c.status == s))
                .filter(|c| user.as_deref().is_none_or(|u| c.user.eq_ignore_ascii_case(u)))
                .filter(|c| rule.as_deref().is_none_or(|r| c.rule.eq_ignore_ascii_case(r)))
                .collect();
            if ctx.json {
                return ctx.json(&list);
            }
            let header = ["CONFLICT", "STATUS", "SEVERITY", "ROLES", "WHERE", "SOURCE", "DETECTED", "DECIDED BY", "DECIDED", "REASON"];
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|c| {
                    vec![
                        warden_model::SodConflict::key_of(&c.user, &c.rule),
                        c.status.as_str().to_string(),
                        model.sod_rules.get(&c.rule).map(|r| r.severity.to_string()).unwrap_or_default(),
                        c.roles.join(" + "),
                        if c.organizations.is_empty() { "everywhere".into() } else { c.organizations.join(", ") },
                        c.source.clone(),
                        c.detected.to_string(),
                        c.decided_by.clone().unwrap_or_default(),
                        c.decided.map(|t| t.to_string()).unwrap_or_default(),
                        c.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            if csv {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(header.iter().map(|h| h.to_lowercase().replace(' ', "_")))?;
                for r in &rows {
                    w.write_record(r)?;
                }
                return Ok(Output::ok(String::from_utf8(w.into_inner()?)?));
            }
            if rows.is_empty() {
                return Ok(Output::ok("No conflicts.\n".into()));
            }
            let mut t = Table::new(&header);
            for r in rows {
                t.row(r);
            }
            Ok(Output::ok(t.render("")))
        }
        SodCommand::Resolve { conflict, allow, deny: _, reason } => {
            let resolution = if allow { Resolution::Allow { reason: reason.unwrap_or_default() } } else { Resolution::Deny };
            let out = warden.sod_resolve(&conflict, resolution, now()).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            let verb = if allow { "Allowed" } else { "Denied" };
            Ok(Output::ok(format!("{verb} conflict {conflict} (revision {})\n", out.revision)))
        }
        SodCommand::Settings { check_similarity, similarity_level, refuse_similar } => {
            let mut settings = warden.sod_settings().await?;
            let changing = check_similarity.is_some() || similarity_level.is_some() || refuse_similar.is_some();
            let mut revision = None;
            if changing {
                settings.check_similarity = check_similarity.unwrap_or(settings.check_similarity);
                settings.similarity_level = similarity_level.unwrap_or(settings.similarity_level);
                settings.refuse_similar = refuse_similar.unwrap_or(settings.refuse_similar);
                revision = Some(warden.set_sod_settings(settings.clone()).await?.revision);
            }
            if ctx.json {
                return ctx.json(&serde_json::json!({ "settings": settings, "revision": revision }));
            }
            let mut text = String::new();
            if let Some(r) = revision {
                let _ = writeln!(text, "Changed the SoD settings (revision {r}):");
            }
            let _ = writeln!(text, "  check similarity:     {}", settings.check_similarity);
            let _ = writeln!(text, "  similarity level:     {}%", settings.similarity_level);
            let _ = writeln!(text, "  refuse similar:       {}", settings.refuse_similar);
            Ok(Output::ok(text))
        }
        SodCommand::Similarity { level } => {
            let (level, pairs) = warden.similarity_report(level).await?;
            if ctx.json {
                return ctx.json(&serde_json::json!({ "level": level, "pairs": pairs }));
            }
            if pairs.is_empty() {
                return Ok(Output::ok(format!("No duties or privileges overlap at {level}% or more.\n")));
            }
            let mut t = Table::new(&["KIND", "FIRST", "SECOND", "OVERLAP", "SHARED"]);
            for p in pairs {
                let kind = serde_json::to_value(p.kind)?.as_str().unwrap_or_default().to_string();
                t.row(vec![kind, p.first, p.second, format!("{}%", p.percent), p.common.to_string()]);
            }
            Ok(Output::ok(t.render("")))
        }
        SodCommand::Roles => {
            let roles = warden.sod_roles(now()).await?;
            if ctx.json {
                return ctx.json(&roles);
            }
            if roles.is_empty() {
                return Ok(Output::ok("No role breaks a segregation-of-duties rule by itself.\n".into()));
            }
            let mut t = Table::new(&["ROLE", "LABEL", "VIOLATIONS", "RULES"]);
            for r in roles {
                t.row(vec![r.role, r.label.unwrap_or_default(), r.violations.to_string(), r.rules.join(", ")]);
            }
            Ok(Output::ok(t.render("")))
        }
    }
}

async fn rule(ctx: &Context, cmd: RuleCommand) -> anyhow::Result<Output> {
    let warden = ctx.warden().await?;
    match cmd {
        RuleCommand::Add { name, first, second, severity, risk, mitigation, from, to, disabled } => {
            let model = warden.model().await?;
            let side = |duty: Option<String>, ep: Option<String>| -> anyhow::Result<SodSide> {
                Ok(match (duty, ep) {
                    (Some(d), _) => SodSide::Duty { duty: warden_core::resolve_name(&model, ObjectKind::Duty, &d)? },
                    (None, Some(e)) => warden_core::parse_entry_point_side(&model, &e)?,
                    (None, None) => unreachable!("clap requires one of the two"),
                })
            };
            let rule = SodRule {
                name,
                first: side(first.first_duty, first.first_entry_point)?,
                second: side(second.second_duty, second.second_entry_point)?,
                severity,
                risk,
                mitigation,
                valid_from: from,
                valid_to: to,
                enabled: !disabled,
            };
            let out = warden.add_sod_rule(rule.clone()).await?;
            if ctx.json {
                return ctx.json(&serde_json::json!({ "rule": rule, "revision": out.revision }));
            }
            Ok(Output::ok(format!(
                "Added SoD rule {} ({} severity): {} vs {} (revision {})\n  Existing roles are not checked by adding a rule: run `sod validate {}` and `sod verify`.\n",
                rule.name,
                rule.severity,
                rule.first,
                rule.second,
                out.revision,
                rule.name
            )))
        }
        RuleCommand::List => {
            let model = warden.model().await?;
            if ctx.json {
                return ctx.json(&model.sod_rules.values().collect::<Vec<_>>());
            }
            if model.sod_rules.is_empty() {
                return Ok(Output::ok("No SoD rules. Add one with `sod rule add NAME --first-duty D --second-duty D`.\n".into()));
            }
            let mut t = Table::new(&["NAME", "SEVERITY", "FIRST", "SECOND", "ENABLED", "VALID", "CONFLICTS"]);
            for r in model.sod_rules.values() {
                let conflicts = model.sod_conflicts.values().filter(|c| c.rule == r.name).count();
                let valid = match (r.valid_from, r.valid_to) {
                    (None, None) => "always".to_string(),
                    (f, t) => format!("{} – {}", f.map(|t| t.to_string()).unwrap_or_default(), t.map(|t| t.to_string()).unwrap_or_default()),
                };
                t.row(vec![
                    r.name.clone(),
                    r.severity.to_string(),
                    r.first.to_string(),
                    r.second.to_string(),
                    if r.enabled { "yes" } else { "no" }.into(),
                    valid,
                    conflicts.to_string(),
                ]);
            }
            Ok(Output::ok(t.render("")))
        }
        RuleCommand::Remove { name } => {
            let out = warden.remove(ObjectKind::SodRule, &name).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            Ok(Output::ok(format!("Removed SoD rule {name} (revision {})\n", out.revision)))
        }
        RuleCommand::Import { file } => {
            let out = warden.import_sod_rules(&file).await?;
            if ctx.json {
                return ctx.json(&out);
            }
            let mut text = format!(
                "Imported {} SoD rule{} from {}: {} added, {} updated, {} unchanged (revision {})\n",
                out.rows,
                if out.rows == 1 { "" } else { "s" },
                out.file,
                out.added,
                out.updated,
                out.unchanged,
                out.revision
            );
            for w in &out.warnings {
                text.push_str(&format!("warning: {w}\n"));
            }
            Ok(Output::ok(text))
        }
        RuleCommand::Export { out } => {
            let model = warden.model().await?;
            let text = if ctx.json {
                let mut t = serde_json::to_string_pretty(&model.sod_rules.values().collect::<Vec<_>>())?;
                t.push('\n');
                t
            } else {
                let mut buf = Vec::new();
                warden_core::write_sod_rules_csv(&mut buf, model.sod_rules.values())?;
                String::from_utf8(buf)?
            };
            match out {
                None => Ok(Output::data(text)),
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    Ok(Output::ok(format!("Wrote {} SoD rules to {}\n", model.sod_rules.len(), path.display())))
                }
            }
        }
    }
}
