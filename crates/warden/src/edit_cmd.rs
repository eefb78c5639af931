//! The commands that define the security configuration and its users:
//! `role|duty|privilege|entry-point add|edit|remove`, `user edit|enable|
//! disable|remove` and `assignment-rule ...`. Each one is one audited write
//! through `warden_core::Warden::add/edit/remove`.

use crate::commands::{Context, Output};
use crate::table::Table;
use clap::{Args, Subcommand};
use std::fmt::Write as _;
use warden_core::{DutyEdit, Edit, EditOutcome, EntryPointEdit, ListEdit, PrivilegeEdit, RoleEdit, RuleEdit, UserEdit};
use warden_model::{Access, Licence, Model, Object, ObjectKind};

/// Label and description, which every security object has.
#[derive(Debug, Args, Default)]
pub struct TextArgs {
    /// Label shown to people (empty to clear)
    #[arg(long)]
    pub label: Option<String>,
    /// Description (empty to clear)
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DutyCommand {
    /// List duties with their number of privileges and the roles that hold them
    List,
    /// Show a duty: its privileges and the roles that hold it
    Show { name: String },
    /// Add a duty with privileges
    Add {
        name: String,
        #[command(flatten)]
        text: TextArgs,
        /// A privilege of the duty; repeat for several
        #[arg(long = "privilege", value_name = "PRIVILEGE")]
        privileges: Vec<String>,
    },
    /// Change a duty's label, description or privileges
    Edit {
        name: String,
        #[command(flatten)]
        text: TextArgs,
        #[arg(long = "add-privilege", value_name = "PRIVILEGE")]
        add_privileges: Vec<String>,
        #[arg(long = "remove-privilege", value_name = "PRIVILEGE")]
        remove_privileges: Vec<String>,
    },
    /// Remove a duty (refused while roles or extensions still refer to it)
    Remove { name: String },
}

/// `EP:ACCESS[,ACCESS...]`: an entry point (NAME or TYPE/NAME) and the accesses to set.
#[derive(Debug, Clone)]
pub struct GrantArg(pub String, pub Vec<Access>);

fn parse_grant(text: &str) -> Result<GrantArg, String> {
    let usage = || format!("'{text}' is not EP:ACCESS[,ACCESS...] (e.g. MenuItemDisplay/VendTable:read,update, or CustTable:all)");
    let (ep, list) = text.rsplit_once(':').ok_or_else(usage)?;
    if ep.trim().is_empty() || list.trim().is_empty() {
        return Err(usage());
    }
    let mut accesses = Vec::new();
    for a in list.split(',') {
        if a.trim().eq_ignore_ascii_case("all") {
            accesses.extend(Access::ALL);
        } else {
            accesses.push(a.parse::<Access>().map_err(|e| e.to_string())?);
        }
    }
    Ok(GrantArg(ep.trim().to_string(), accesses))
}

#[derive(Debug, Args, Default)]
pub struct GrantArgs {
    /// Allow accesses on an entry point: EP:ACCESS[,ACCESS...] (ACCESS: read, update, create, correct, delete, invoke, all)
    #[arg(long = "allow", value_name = "EP:ACCESS", value_parser = parse_grant)]
    allow: Vec<GrantArg>,
    /// Deny accesses on an entry point (Deny wins over every Allow the user has): EP:ACCESS[,ACCESS...]
    #[arg(long = "deny", value_name = "EP:ACCESS", value_parser = parse_grant)]
    deny: Vec<GrantArg>,
}

#[derive(Debug, Subcommand)]
pub enum PrivilegeCommand {
    /// List privileges with their number of entry points and duties
    List,
    /// Show a privilege: its grants and the duties and roles that hold it
    Show { name: String },
    /// Add a privilege with entry-point grants
    #[command(long_about = "Add a privilege. --allow and --deny take EP:ACCESS[,ACCESS...], where EP is an entry \
point's NAME (or TYPE/NAME when the name is ambiguous) and ACCESS is read, update, create, correct, delete, \
invoke or all. The entry points must exist (see `entry-point add`).")]
    Add {
        name: String,
        #[command(flatten)]
        text: TextArgs,
        #[command(flatten)]
        grants: GrantArgs,
    },
    /// Change a privilege's label, description or grants
    Edit {
        name: String,
        #[command(flatten)]
        text: TextArgs,
        #[command(flatten)]
        grants: GrantArgs,
        /// Clear accesses (neither Allow nor Deny): EP:ACCESS[,ACCESS...]
        #[arg(long = "unset", value_name = "EP:ACCESS", value_parser = parse_grant)]
        unset: Vec<GrantArg>,
        /// Drop every grant on an entry point
        #[arg(long = "remove-entry-point", value_name = "EP")]
        remove: Vec<String>,
    },
    /// Remove a privilege (refused while duties or roles still refer to it)
    Remove { name: String },
}

#[derive(Debug, Args, Default)]
pub struct EntryPointArgs {
    /// Label shown to people (empty to clear)
    #[arg(long)]
    label: Option<String>,
    /// Licence needed to view through it: None, Universal, Activity, Task, Functional, Operations, Enterprise, SelfServe, TeamMembers
    #[arg(long, value_name = "LICENCE")]
    view_licence: Option<Licence>,
    /// Licence needed to change data through it
    #[arg(long, value_name = "LICENCE")]
    maintain_licence: Option<Licence>,
}

#[derive(Debug, Subcommand)]
pub enum EntryPointCommand {
    /// List entry points, optionally only those whose name contains TEXT
    List {
        /// Only entry points whose name or label contains this (ignoring case)
        filter: Option<String>,
    },
    /// Add an entry point: TYPE/NAME, e.g. MenuItemDisplay/VendTable or ServiceOperation/Svc.op
    Add {
        /// TYPE/NAME; TYPE is MenuItemDisplay, MenuItemAction, MenuItemOutput, ServiceOperation or DataEntity
        key: String,
        #[command(flatten)]
        fields: EntryPointArgs,
    },
    /// Change an entry point's label or licences
    Edit {
        /// NAME, or TYPE/NAME when the name is ambiguous
        key: String,
        #[command(flatten)]
        fields: EntryPointArgs,
    },
    /// Remove an entry point (refused while privileges still grant on it)
    Remove {
        /// NAME, or TYPE/NAME
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    /// List assignment rules with the number of users each one assigns
    List,
    /// Show a rule: its conditions, and the users it assigns, skips and excludes
    Show { name: String },
    /// Add a rule: every user matching all --where conditions gets --role
    #[command(long_about = "Add an assignment rule: every user matching all --where conditions gets --role, \
globally or in the --org organizations, except the --exclude users. Warden evaluates rules again \
whenever users or rules change, in the same audited change; a manual assignment of the same role \
stands instead of the rule's, and revoking a rule-made assignment excludes the user from the rule.\n\n\
A condition is ATTRIBUTE=VALUE, ATTRIBUTE!=VALUE, ATTRIBUTE~=VALUE (contains) or ATTRIBUTE^=VALUE \
(starts with), ignoring case, with alternatives separated by | (department=Finance|Accounting). \
Attributes are the user's id, name, email, type (person, service_account), enabled (true, false), \
and the attributes set with `user edit --attr`.")]
    Add {
        name: String,
        /// The role the rule assigns
        #[arg(long)]
        role: String,
        /// A condition every selected user meets; repeat for several (all must hold)
        #[arg(long = "where", value_name = "CONDITION", required = true)]
        conditions: Vec<String>,
        /// Assign in this organization only; repeat for several. None: global
        #[arg(long = "org", value_name = "ORG")]
        orgs: Vec<String>,
        /// Never assign this user; repeat for several
        #[arg(long = "exclude", value_name = "USER")]
        exclude: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        /// Add the rule disabled: it assigns nothing until enabled
        #[arg(long)]
        disabled: bool,
    },
    /// Change a rule; its assignments follow in the same audited change
    Edit {
        name: String,
        /// Assign this role instead
        #[arg(long)]
        role: Option<String>,
        #[arg(long = "add-where", value_name = "CONDITION")]
        add_conditions: Vec<String>,
        #[arg(long = "remove-where", value_name = "CONDITION")]
        remove_conditions: Vec<String>,
        #[arg(long = "add-org", value_name = "ORG")]
        add_orgs: Vec<String>,
        #[arg(long = "remove-org", value_name = "ORG")]
        remove_orgs: Vec<String>,
        /// Exclude a user from the rule
        #[arg(long = "exclude", value_name = "USER")]
        exclude: Vec<String>,
        /// Take a user off the exclusion list
        #[arg(long = "include", value_name = "USER")]
        include: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
    },
    /// Remove a rule and the assignments it made (manual assignments stay)
    Remove { name: String },
}

fn list(add: Vec<String>, remove: Vec<String>) -> ListEdit {
    ListEdit { add, remove }
}

fn grants(list: Vec<GrantArg>) -> Vec<(String, Vec<Access>)> {
    list.into_iter().map(|GrantArg(ep, a)| (ep, a)).collect()
}

/// What an add or edit did, in one line (plus the rule-made assignments that followed).
fn written(ctx: &Context, verb: &str, outcome: &EditOutcome) -> anyhow::Result<Output> {
    if ctx.json {
        return ctx.json(outcome);
    }
    let key = outcome.object.key();
    if outcome.before.as_ref() == Some(&outcome.object) {
        return Ok(Output::ok(format!("{key}: nothing to change; nothing written (revision {})\n", outcome.revision)));
    }
    let mut text = format!("{verb} {key} (revision {})\n", outcome.revision);
    for w in &outcome.warnings {
        let _ = writeln!(text, "  warning: {w}");
    }
    Ok(Output::ok(text))
}

async fn removed(ctx: &Context, kind: ObjectKind, name: &str) -> anyhow::Result<Output> {
    let outcome = ctx.warden().await?.remove(kind, name).await?;
    if ctx.json {
        return ctx.json(&outcome);
    }
    Ok(Output::ok(format!("Removed {kind} {name} (revision {})\n", outcome.revision)))
}

pub async fn role(ctx: &Context, cmd: crate::cli::RoleCommand) -> anyhow::Result<Output> {
    use crate::cli::RoleCommand as C;
    let warden = ctx.warden().await?;
    match cmd {
        C::Add { name, text, duties, privileges, sub_roles } => {
            let edit = Edit::Role(RoleEdit {
                label: text.label,
                description: text.description,
                duties: ListEdit::adding(duties),
                privileges: ListEdit::adding(privileges),
                sub_roles: ListEdit::adding(sub_roles),
            });
            written(ctx, "Added", &warden.add(&name, &edit).await?)
        }
        C::Edit { name, text, add_duties, remove_duties, add_privileges, remove_privileges, add_sub_roles, remove_sub_roles } => {
            let edit = Edit::Role(RoleEdit {
                label: text.label,
                description: text.description,
                duties: list(add_duties, remove_duties),
                privileges: list(add_privileges, remove_privileges),
                sub_roles: list(add_sub_roles, remove_sub_roles),
            });
            written(ctx, "Changed", &warden.edit(&name, &edit).await?)
        }
        C::Remove { name } => removed(ctx, ObjectKind::Role, &name).await,
        C::List | C::Show { .. } => unreachable!("listings are rendered by commands::role"),
    }
}

pub async fn duty(ctx: &Context, cmd: DutyCommand) -> anyhow::Result<Output> {
    let warden = ctx.warden().await?;
    match cmd {
        DutyCommand::List => {
            let model = warden.model().await?;
            if ctx.json {
                return ctx.json(&model.duties.values().collect::<Vec<_>>());
            }
            let mut t = Table::new(&["NAME", "LABEL", "PRIVILEGES", "ROLES"]);
            for d in model.duties.values() {
                let roles = model.roles.values().filter(|r| model.role_duties(r).any(|x| x == d.name)).count();
                t.row(vec![d.name.clone(), d.label.clone().unwrap_or_default(), model.duty_privileges(d).count().to_string(), roles.to_string()]);
            }
            Ok(Output::ok(t.render("")))
        }
        DutyCommand::Show { name } => {
            let model = warden.model().await?;
            let d = resolve(&model, &model.duties, ObjectKind::Duty, &name)?;
            if ctx.json {
                return ctx.json(d);
            }
            let mut text = header("Duty", &d.name, &d.label, &d.description);
            let privileges: Vec<&str> = model.duty_privileges(d).collect();
            let _ = writeln!(text, "\nPrivileges ({}): {}", privileges.len(), join_or_none(&privileges));
            let roles: Vec<&str> = model.roles.values().filter(|r| model.role_duties(r).any(|x| x == d.name)).map(|r| r.name.as_str()).collect();
            let _ = writeln!(text, "Roles holding it ({}): {}", roles.len(), join_or_none(&roles));
            Ok(Output::ok(text))
        }
        DutyCommand::Add { name, text, privileges } => {
            let edit = Edit::Duty(DutyEdit { label: text.label, description: text.description, privileges: ListEdit::adding(privileges) });
            written(ctx, "Added", &warden.add(&name, &edit).await?)
        }
        DutyCommand::Edit { name, text, add_privileges, remove_privileges } => {
            let edit =
                Edit::Duty(DutyEdit { label: text.label, description: text.description, privileges: list(add_privileges, remove_privileges) });
            written(ctx, "Changed", &warden.edit(&name, &edit).await?)
        }
        DutyCommand::Remove { name } => removed(ctx, ObjectKind::Duty, &name).await,
    }
}

pub async fn privilege(ctx: &Context, cmd: PrivilegeCommand) -> anyhow::Result<Output> {
    let warden = ctx.warden().await?;
    match cmd {
        PrivilegeCommand::List => {
            let model = warden.model().await?;
            if ctx.json {
                return ctx.json(&model.privileges.values().collect::<Vec<_>>());
            }
            let mut t = Table::new(&["NAME", "LABEL", "ENTRY POINTS", "DUTIES"]);
            for p in model.privileges.values() {
                let duties = model.duties.values().filter(|d| model.duty_privileges(d).any(|x| x == p.name)).count();
                t.row(vec![p.name.clone(), p.label.clone().unwrap_or_default(), p.entry_points.len().to_string(), duties.to_string()]);
            }
            Ok(Output::ok(t.render("")))
        }
        PrivilegeCommand::Show { name } => {
            let model = warden.model().await?;
            let p = resolve(&model, &model.privileges, ObjectKind::Privilege, &name)?;
            if ctx.json {
                return ctx.json(p);
            }
            let mut text = header("Privilege", &p.name, &p.label, &p.description);
            let _ = writeln!(text, "\nGrants ({}):", p.entry_points.len());
            let mut t = Table::new(&["ENTRY POINT", "TYPE", "GRANT"]);
            for g in &p.entry_points {
                t.row(vec![g.key().name, g.kind.to_string(), g.grant.to_string()]);
            }
            text.push_str(&t.render("  "));
            let duties: Vec<&str> =
                model.duties.values().filter(|d| model.duty_privileges(d).any(|x| x == p.name)).map(|d| d.name.as_str()).collect();
            let _ = writeln!(text, "Duties holding it ({}): {}", duties.len(), join_or_none(&duties));
            let roles: Vec<&str> =
                model.roles.values().filter(|r| model.role_privileges(r).any(|x| x == p.name)).map(|r| r.name.as_str()).collect();
            let _ = writeln!(text, "Roles holding it directly ({}): {}", roles.len(), join_or_none(&roles));
            Ok(Output::ok(text))
        }
        PrivilegeCommand::Add { name, text, grants: g } => {
            let edit = Edit::Privilege(PrivilegeEdit {
                label: text.label,
                description: text.description,
                allow: grants(g.allow),
                deny: grants(g.deny),
                ..PrivilegeEdit::default()
            });
            written(ctx, "Added", &warden.add(&name, &edit).await?)
        }
        PrivilegeCommand::Edit { name, text, grants: g, unset, remove } => {
            let edit = Edit::Privilege(PrivilegeEdit {
                label: text.label,
                description: text.description,
                allow: grants(g.allow),
                deny: grants(g.deny),
                unset: grants(unset),
                remove,
            });
            written(ctx, "Changed", &warden.edit(&name, &edit).await?)
        }
        PrivilegeCommand::Remove { name } => removed(ctx, ObjectKind::Privilege, &name).await,
    }
}

pub async fn entry_point(ctx: &Context, cmd: EntryPointCommand) -> anyhow::Result<Output> {
    let warden = ctx.warden().await?;
    let edit = |f: EntryPointArgs| {
        Edit::EntryPoint(EntryPointEdit { label: f.label, view_licence: f.view_licence, maintain_licence: f.maintain_licence })
    };
    match cmd {
        EntryPointCommand::List { filter } => {
            let model = warden.model().await?;
            let needle = filter.unwrap_or_default().to_lowercase();
            let shown: Vec<_> = model
                .entry_points
                .values()
                .filter(|e| e.name.to_lowercase().contains(&needle) || e.label.as_deref().is_some_and(|l| l.to_lowercase().contains(&needle)))
                .collect();
            if ctx.json {
                return ctx.json(&shown);
            }
            let mut t = Table::new(&["NAME", "TYPE", "LABEL", "VIEW LICENCE", "MAINTAIN LICENCE"]);
            for e in shown {
                t.row(vec![e.name.clone(), e.kind.to_string(), e.label.clone().unwrap_or_default(), e.view_licence.to_string(), e.maintain_licence.to_string()]);
            }
            Ok(Output::ok(t.render("")))
        }
        EntryPointCommand::Add { key, fields } => written(ctx, "Added", &warden.add(&key, &edit(fields)).await?),
        EntryPointCommand::Edit { key, fields } => written(ctx, "Changed", &warden.edit(&key, &edit(fields)).await?),
        EntryPointCommand::Remove { key } => removed(ctx, ObjectKind::EntryPoint, &key).await,
    }
}

/// `user add/edit/enable/disable/remove`.
pub async fn user(ctx: &Context, cmd: crate::cli::UserCommand) -> anyhow::Result<Output> {
    use crate::cli::UserCommand as C;
    let warden = ctx.warden().await?;
    let toggle = |enabled| Edit::User(UserEdit { enabled: Some(enabled), ..UserEdit::default() });
    match cmd {
        C::Add { id, name, email, service_account, disabled, attrs } => {
            let edit = Edit::User(UserEdit {
                name,
                email,
                enabled: Some(!disabled),
                service_account: Some(service_account),
                set_attributes: attrs,
                remove_attributes: Vec::new(),
            });
            let outcome = warden.add(&id, &edit).await?;
            if ctx.json {
                return ctx.json(&outcome);
            }
            let Object::User(user) = &outcome.object else { unreachable!("a user add writes a user") };
            let mut details = vec![user.kind.as_str().replace('_', " ")];
            if !user.enabled {
                details.push("disabled".into());
            }
            if let Some(n) = &user.name {
                details.insert(0, n.clone());
            }
            let mut text = format!("Added user {} ({}) (revision {})\n", user.id, details.join(", "), outcome.revision);
            text.push_str(&rule_roles(ctx, &user.id).await?);
            Ok(Output::ok(text))
        }
        C::Edit { id, name, email, service_account, attrs, remove_attrs } => {
            let edit =
                Edit::User(UserEdit { name, email, enabled: None, service_account, set_attributes: attrs, remove_attributes: remove_attrs });
            let outcome = warden.edit(&id, &edit).await?;
            let mut out = written(ctx, "Changed", &outcome)?;
            if !ctx.json {
                out.stdout.push_str(&rule_roles(ctx, &outcome.object.key().name).await?);
            }
            Ok(out)
        }
        C::Enable { id } => written(ctx, "Enabled", &warden.edit(&id, &toggle(true)).await?),
        C::Disable { id } => written(ctx, "Disabled", &warden.edit(&id, &toggle(false)).await?),
        C::Remove { id } => removed(ctx, ObjectKind::User, &id).await,
        _ => unreachable!("the other user commands are in commands::user"),
    }
}

/// "  roles from assignment rules: ..." after a user change, so the effect of the rules is visible.
async fn rule_roles(ctx: &Context, user: &str) -> anyhow::Result<String> {
    let model = ctx.warden().await?.model().await?;
    let made: Vec<String> = model
        .assignments_of(user)
        .iter()
        .filter_map(|a| a.rule.as_ref().map(|r| format!("{} (rule {r})", a.role)))
        .collect();
    Ok(if made.is_empty() { String::new() } else { format!("  roles from assignment rules: {}\n", made.join(", ")) })
}

pub async fn assignment_rule(ctx: &Context, cmd: RuleCommand) -> anyhow::Result<Output> {
    let warden = ctx.warden().await?;
    match cmd {
        RuleCommand::List => {
            let model = warden.model().await?;
            if ctx.json {
                return ctx.json(&model.assignment_rules.values().collect::<Vec<_>>());
            }
            if model.assignment_rules.is_empty() {
                return Ok(Output::ok(
                    "No assignment rules. Add one with `assignment-rule add NAME --role ROLE --where department=Finance`.\n".into(),
                ));
            }
            let mut t = Table::new(&["NAME", "ROLE", "CONDITIONS", "SCOPE", "ENABLED", "USERS", "EXCLUDED"]);
            for r in model.assignment_rules.values() {
                let users = model.assignments.iter().filter(|a| a.rule.as_deref() == Some(&r.name)).count();
                let conditions: Vec<String> = r.conditions.iter().map(ToString::to_string).collect();
                t.row(vec![
                    r.name.clone(),
                    r.role.clone(),
                    conditions.join(" and "),
                    if r.organizations.is_empty() { "global".into() } else { r.organizations.join(", ") },
                    if r.enabled { "yes" } else { "no" }.into(),
                    users.to_string(),
                    r.excluded_users.len().to_string(),
                ]);
            }
            Ok(Output::ok(t.render("")))
        }
        RuleCommand::Show { name } => {
            let model = warden.model().await?;
            let r = resolve(&model, &model.assignment_rules, ObjectKind::AssignmentRule, &name)?;
            let assigned: Vec<&str> =
                model.assignments.iter().filter(|a| a.rule.as_deref() == Some(&r.name)).map(|a| a.user.as_str()).collect();
            let matching: Vec<&str> = model.users.values().filter(|u| r.enabled && r.applies_to(u)).map(|u| u.id.as_str()).collect();
            let manual: Vec<&str> = matching
                .iter()
                .copied()
                .filter(|u| model.assignments_of(u).iter().any(|a| a.role == r.role && a.rule.is_none()))
                .collect();
            if ctx.json {
                return ctx.json(&serde_json::json!({ "rule": r, "assigned": assigned, "matching": matching, "manual": manual }));
            }
            let mut text = header("Assignment rule", &r.name, &None, &r.description);
            let conditions: Vec<String> = r.conditions.iter().map(ToString::to_string).collect();
            let scope = if r.organizations.is_empty() { "globally".to_string() } else { format!("in {}", r.organizations.join(", ")) };
            let _ = writeln!(text, "  gives role {} {scope} to users where {}", r.role, conditions.join(" and "));
            let _ = writeln!(text, "  enabled: {}", if r.enabled { "yes" } else { "no (it assigns nothing)" });
            let _ = writeln!(text, "\nAssigned by this rule ({}): {}", assigned.len(), join_or_none(&assigned));
            let _ = writeln!(text, "Matching, with a manual assignment of the role instead ({}): {}", manual.len(), join_or_none(&manual));
            let excluded: Vec<&str> = r.excluded_users.iter().map(String::as_str).collect();
            let _ = writeln!(text, "Excluded ({}): {}", excluded.len(), join_or_none(&excluded));
            Ok(Output::ok(text))
        }
        RuleCommand::Add { name, role, conditions, orgs, exclude, description, disabled } => {
            let edit = Edit::AssignmentRule(RuleEdit {
                role: Some(role),
                description,
                conditions: ListEdit::adding(conditions),
                organizations: ListEdit::adding(orgs),
                excluded_users: ListEdit::adding(exclude),
                enabled: Some(!disabled),
            });
            let outcome = warden.add(&name, &edit).await?;
            rule_written(ctx, "Added", &outcome).await
        }
        RuleCommand::Edit {
            name,
            role,
            add_conditions,
            remove_conditions,
            add_orgs,
            remove_orgs,
            exclude,
            include,
            description,
            enable,
            disable,
        } => {
            let edit = Edit::AssignmentRule(RuleEdit {
                role,
                description,
                conditions: list(add_conditions, remove_conditions),
                organizations: list(add_orgs, remove_orgs),
                excluded_users: list(exclude, include),
                enabled: if enable { Some(true) } else if disable { Some(false) } else { None },
            });
            let outcome = warden.edit(&name, &edit).await?;
            rule_written(ctx, "Changed", &outcome).await
        }
        RuleCommand::Remove { name } => removed(ctx, ObjectKind::AssignmentRule, &name).await,
    }
}

/// [`written`] plus the users the rule now assigns.
async fn rule_written(ctx: &Context, verb: &str, outcome: &EditOutcome) -> anyhow::Result<Output> {
    let mut out = written(ctx, verb, outcome)?;
    if !ctx.json {
        let model = ctx.warden().await?.model().await?;
        let name = outcome.object.key().name;
        let users: Vec<&str> = model.assignments.iter().filter(|a| a.rule.as_deref() == Some(&name)).map(|a| a.user.as_str()).collect();
        let _ = writeln!(out.stdout, "  assigns its role to {} user{}: {}", users.len(), if users.len() == 1 { "" } else { "s" }, join_or_none(&users));
    }
    Ok(out)
}

fn header(what: &str, name: &str, label: &Option<String>, description: &Option<String>) -> String {
    let mut text = String::new();
    let label = label.as_deref().map(|l| format!(" — {}", crate::commands::printable(l))).unwrap_or_default();
    let _ = writeln!(text, "{what} {}{label}", crate::commands::printable(name));
    if let Some(d) = description {
        let _ = writeln!(text, "  {}", crate::commands::printable(d));
    }
    text
}

fn join_or_none(names: &[&str]) -> String {
    if names.is_empty() { "none".to_string() } else { names.join(", ") }
}

/// A named object by the name a person typed (exact, else the one match ignoring case).
fn resolve<'a, V: Clone>(model: &Model, map: &'a warden_model::Map<String, V>, kind: ObjectKind, text: &str) -> anyhow::Result<&'a V> {
    let name = warden_core::resolve_name(model, kind, text)?;
    map.get(&name).ok_or_else(|| anyhow::anyhow!("{kind} '{name}' vanished while reading"))
}
