//! The command line's shape: every command, option and help text.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use warden_model::{Access, Timestamp};

/// The data directory used when neither --data-dir nor WARDEN_DATA_DIR says otherwise.
pub const DEFAULT_DATA_DIR: &str = "./warden-data";

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    arg_required_else_help = true,
    about = "User security governance for Dynamics 365 Finance & Operations-style role-based access",
    long_about = "Warden keeps a D365 F&O security model (roles, duties, privileges, entry points), the \
users and organizations it applies to, and their role assignments, and answers \"may this user do \
this here, now?\" with the reasons why.\n\n\
Every change is one transaction recorded in a tamper-evident audit trail, made by --actor.",
    after_help = "Getting started:\n  \
warden demo                         load a small realistic dataset\n  \
warden user show carlos             what a user may do, and through which roles\n  \
warden check --user carlos --entry-point DEVSQLQueryExecute --access update --explain\n\n\
Exit status: 0 success (and \"allow\" for check), 1 \"deny\" from check, 2 any error."
)]
pub struct Cli {
    /// Folder holding the embedded SQLite store (created if missing)
    #[arg(long, global = true, help_heading = "Global options", value_name = "DIR", env = "WARDEN_DATA_DIR", hide_env_values = true, default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// Store URL instead of the SQLite file in --data-dir, e.g. sqlite:///var/lib/warden/warden.db
    #[arg(long, global = true, help_heading = "Global options", value_name = "URL", env = "WARDEN_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Who is acting, as recorded in the audit trail [default: $USER, else "cli"]
    #[arg(long, global = true, help_heading = "Global options", value_name = "ID", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub actor: Option<String>,

    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load a built-in demo dataset into an empty store, and show commands to try on it
    #[command(long_about = "Load a built-in demo dataset: real D365 AOT security objects (the MIT-licensed \
xpptools model), standard AX 2012 R3 roles, five organizations and sixteen users whose assignments are \
global, organization-scoped, expired, future and temporary.\n\n\
Runs only on an empty store. If the store already holds the demo, says so and does nothing.")]
    Demo(DemoArgs),

    /// Import security objects (AOT XML), users, organizations or assignments (CSV)
    #[command(subcommand)]
    Import(ImportCommand),

    /// Export the security objects as AOT XML
    #[command(subcommand)]
    Export(ExportCommand),

    /// Add and list organizations (legal entities) that assignments can be scoped to
    #[command(subcommand)]
    Org(OrgCommand),

    /// Add users, assign and revoke roles, show what a user may do
    #[command(subcommand)]
    User(UserCommand),

    /// Add, edit, remove, list and show roles
    #[command(subcommand)]
    Role(RoleCommand),

    /// Add, edit, remove, list and show duties
    #[command(subcommand)]
    Duty(crate::edit_cmd::DutyCommand),

    /// Add, edit, remove, list and show privileges and their entry-point grants
    #[command(subcommand)]
    Privilege(crate::edit_cmd::PrivilegeCommand),

    /// List and show XDS policies: context, and the tree of constrained tables and expressions
    #[command(subcommand)]
    Policy(crate::policy_cmd::PolicyCommand),

    /// Add, edit, remove and list entry points (menu items, service operations, data entities)
    #[command(subcommand, name = "entry-point")]
    EntryPoint(crate::edit_cmd::EntryPointCommand),

    /// Segregation of duties: rules, verification, the conflicts register
    #[command(subcommand)]
    Sod(crate::sod_cmd::SodCommand),

    /// Webhooks that receive alerts (new SoD conflicts, overrides), signed and retried
    #[command(subcommand)]
    Webhook(crate::webhook_cmd::WebhookCommand),

    /// Rules that assign a role to every user whose attributes match (department, title, ...)
    #[command(subcommand, name = "assignment-rule")]
    AssignmentRule(crate::edit_cmd::RuleCommand),

    /// Temporary role sessions and privileged user sessions: request, approve, process, logs, recordings
    #[command(subcommand, long_about = "Temporary role sessions give a user roles for a while; privileged user \
sessions enable or disable an account for at most 24 hours and record what the user does. Both are requested \
and approved by system administrators (holders of SystemAdministrator; name yourself with --actor), count \
inside their window from their approval on, and are started and ended by the processor (`warden process --once`, \
or continuously inside `warden serve`).")]
    Session(crate::session_cmd::SessionCommand),

    /// Run the session processor once: start and end every session that is due
    #[command(long_about = "Make every session transition that is due now (planned → active, active → ended, \
approved → active), in audited changes by the processor (--actor, else \"processor\"; a session moves one step \
per change, so its start and end are two), print them, and exit. Safe to run any time, also beside a running `warden serve`: a transition already made is skipped.\n\n\
Without --once this is an error: the continuous processor runs inside `warden serve`.")]
    Process(crate::session_cmd::ProcessArgs),

    /// Ask whether a user may use an entry point: prints allow or deny (exit status 0 or 1)
    #[command(long_about = "Ask whether a user may use an entry point with an access level, in an \
organization, at an instant. Prints \"allow\" (exit status 0) or \"deny\" (exit status 1); an unknown \
user, entry point or organization is an error (exit status 2), never a silent deny.\n\n\
Effective access is the union of Allow over every role active for the user there and then \
(through sub-roles, duties and privileges), minus every Deny: Deny always wins. Without --org only \
global assignments count; with it, global ones and those scoped to that organization.")]
    Check(CheckArgs),

    /// Generate a synthetic D365-shaped model (AOT XML and CSV files) for tests and benchmarks
    #[command(long_about = "Generate a synthetic, D365-shaped model and write it as files that \
`warden import` reads: AOT XML under OUT/aot/, and OUT/organizations.csv, OUT/users.csv and \
OUT/assignments.csv. The same --scale and --seed always give byte-identical files.")]
    Gen(GenArgs),

    /// Run the REST API on the configured store, with a bootstrap administrator on first start
    #[command(long_about = "Run Warden's REST API (under /api/v1, OpenAPI document at /api/v1/openapi.json), /healthz, /readyz and Prometheus /metrics on the configured store.\n\nOn the first start with no accounts, creates the administrator `admin` with the password from WARDEN_ADMIN_PASSWORD, or a generated one printed once. With --demo, an empty store gets the demo dataset first. Stops on Ctrl-C or SIGTERM after finishing the requests in flight.")]
    Serve(crate::serve_cmd::ServeArgs),

    /// Verify the tamper-evident audit trail, take a checkpoint of it, or read it
    #[command(subcommand)]
    Audit(crate::audit_cmd::AuditCommand),

    /// List or drop database customizations of imported (code-layer) security objects
    #[command(subcommand)]
    Customizations(crate::audit_cmd::CustomizationsCommand),

    /// API tokens for scripts and applications: issue, rotate, revoke, list
    #[command(subcommand, long_about = "API tokens let scripts and applications call Warden's REST API as a user \
(`Authorization: Bearer wdn_...`). A token's secret is printed once when it is issued or rotated; Warden keeps only \
its hash. Every change is in the audit trail, which names the token but never holds its secret or hash.")]
    Token(crate::credentials_cmd::TokenCommand),

    /// Check the whole store: model validation, the audit trail's hash chain, the built-in model
    #[command(long_about = "Run every whole-store check and print every problem, grouped by kind, naming the \
objects concerned: the whole-model validation (duplicate and look-alike names, references to objects that do not \
exist, sub-role cycles, empty windows, duplicate assignments, ...), the audit trail's hash chain, and whether \
Warden's built-in model is installed and current. Reads only; nothing is written.\n\n\
Exit status: 0 when there are no errors (warnings allowed), 1 when there are errors. References to security \
objects that are not loaded (legal after a partial AOT import) are warnings unless --strict.")]
    Doctor(crate::doctor_cmd::DoctorArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Replace everything in a non-empty store with the demo (one audited change)
    #[arg(long)]
    pub reset: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import D365 AOT security XML: files, or folders searched recursively
    #[command(long_about = "Import D365 F&O AOT security XML: AxSecurityRole, AxSecurityDuty, \
AxSecurityPrivilege, AxSecurityPolicy, their extensions, and display/action/output menu items. \
Give files or folders (a package or model folder is searched recursively).\n\n\
Imported objects are added, or replace the stored object with the same name; stored objects the \
import does not mention stay. All files are read and checked before anything is written: one \
malformed file (reported as file:line:column) and nothing is imported.\n\n\
References to objects that are neither imported nor stored (a role naming a duty of a model you did \
not import) are warnings, or errors with --strict.")]
    Aot {
        /// AOT XML files or folders
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Refuse references to objects that are neither imported nor stored
        #[arg(long)]
        strict: bool,
    },

    /// Import D365's security configuration file (SecurityDatabaseCustomizations.xml) into the database layer
    #[command(name = "security-config", long_about = "Import the file D365's Security configuration form exports \
(System administration > Security > Security configuration > Data > Export, SecurityDatabaseCustomizations.xml): \
the roles, duties and privileges customized, created or disabled in D365's user interface.\n\n\
Customized and new objects become database-layer objects (they win over the code layer, as in D365); disabled \
ones hide their code form. Objects the file does not mention stay. Everything is read and checked before \
anything is written: one problem (reported as file:line:column) and nothing is imported; a file that changes \
nothing writes nothing. What Warden keeps without interpreting, and what it cannot keep, is listed as warnings.")]
    SecurityConfig {
        /// The SecurityDatabaseCustomizations.xml file
        file: PathBuf,
    },

    /// Import or update users from a CSV file: id,name,type,enabled,email
    #[command(long_about = "Import or update users from a CSV file with the header \
id,name,type,enabled,email (any order; only id is required).\n\n\
type is person or service_account; enabled is true/false, yes/no or 1/0 (default true). A row \
updates the user with that id or adds one; a column the file leaves out keeps the stored value. \
Any problem (reported as file:line: field 'x': ...) and nothing is imported.")]
    Users {
        /// The CSV file
        file: PathBuf,
    },

    /// Import or update role assignments from a CSV file: user,role,organizations,valid_from,valid_to
    #[command(long_about = "Import or update role assignments from a CSV file with the header \
user,role,organizations,valid_from,valid_to (only user and role are required).\n\n\
organizations is a list separated by ';' (empty: global). valid_from and valid_to are dates \
(2026-01-31) or RFC 3339 instants (2026-01-31T08:00:00Z); empty means unbounded, and valid_to is \
exclusive. Users, roles and organizations must exist. A row for a role the user already has \
replaces that assignment; assignments the file does not mention stay. Any problem and nothing is \
imported.")]
    Assignments {
        /// The CSV file
        file: PathBuf,
        /// Allow the segregation-of-duties conflicts the file creates, recording this reason
        /// with each in the conflicts register (without it they refuse the file, each at its line)
        #[arg(long, value_name = "TEXT")]
        override_reason: Option<String>,
    },

    /// Import or update organizations from a CSV file: id,name
    Orgs {
        /// The CSV file
        file: PathBuf,
    },

    /// Import users, role assignments and organization scopes from D365 data-management entity files (CSV or XML)
    #[command(long_about = "Import users, their role assignments and the organizations each assignment is \
limited to, from the files D365's Data management framework exports (CSV or XML): \
SystemUserEntity (\"User information\"), SystemSecurityUserRoleEntity (\"Security user role association\") \
and SystemSecurityUserRoleOrganizationEntity. Give the files, or the folder of an unpacked data package; \
each file's entity is told from its records or header (or --entity for a single file).\n\n\
Everything is checked before anything is written, as one audited change: any problem (reported as \
file:line:column) and nothing is imported. Roles must exist (import their AOT model first); organizations \
are added when missing. A new segregation-of-duties conflict refuses the import, naming the rule, unless \
--override-reason allows it. Stored users and assignments the files do not mention stay. User columns \
Warden has no field for are kept as d365.COLUMN attributes; Disabled assignments, columns D365 computes \
and Automatic (rule-made) modes are listed as warnings. An import that changes nothing writes nothing.")]
    Dmf {
        /// Entity files (.csv, .xml) or folders holding them
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// What a single file holds: users, user-roles or user-role-organizations
        #[arg(long, value_name = "ENTITY")]
        entity: Option<warden_core::dmf::DmfEntity>,
        /// Allow the segregation-of-duties conflicts the import creates, with this reason (recorded per conflict)
        #[arg(long, value_name = "TEXT")]
        override_reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write the stored security objects as AOT XML files, one folder per object type
    Aot {
        /// Folder to write into; must be empty or missing
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Write into a folder that already has files (same-named files are overwritten)
        #[arg(long)]
        force: bool,
    },

    /// Write users, role assignments and organization scopes as D365 data-management entity files
    #[command(long_about = "Write the stored users, role assignments and their organization scopes as the \
files D365's Data management framework imports: SystemUserEntity (\"User information\"), \
SystemSecurityUserRoleEntity (\"Security user role association\") and SystemSecurityUserRoleOrganizationEntity, \
as CSV or XML.\n\n\
With --entity, --out is that entity's file; without, --out is a folder that receives all three. Each file is \
written beside its place and renamed into it, never through a link. What D365's entities cannot hold \
(validity windows; Warden's own built-in roles) is listed as warnings.")]
    Dmf {
        /// The file to write (with --entity), else the folder for the three files
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Write only this entity: users, user-roles or user-role-organizations
        #[arg(long, value_name = "ENTITY")]
        entity: Option<warden_core::dmf::DmfEntity>,
        /// csv or xml
        #[arg(long, value_name = "FORMAT", default_value = "csv")]
        format: warden_core::dmf::DmfFormat,
        /// Replace files that exist
        #[arg(long)]
        force: bool,
    },
    /// Write the database layer's roles, duties and privileges as D365's security configuration file
    #[command(name = "security-config", long_about = "Write the database layer's roles, duties and privileges \
as the file D365's Security configuration form imports (SecurityDatabaseCustomizations.xml): an object whose \
code form Warden holds is customized, one without is new, a deleted code object is disabled.\n\n\
The file is written to a new file beside FILE and renamed into place, so FILE is never half written; a \
symbolic link at FILE is refused, and an existing file is replaced only with --force.")]
    SecurityConfig {
        /// The file to write
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace the file if it exists
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Add an organization
    Add {
        /// Organization id, e.g. USMF
        id: String,
        /// Display name, e.g. "Contoso Entertainment System USA"
        #[arg(long)]
        name: Option<String>,
    },
    /// List organizations
    List,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (a person unless --service-account; enabled unless --disabled)
    Add {
        /// User id, e.g. alice
        id: String,
        /// Full name
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// The user is a service account, not a person
        #[arg(long)]
        service_account: bool,
        /// Add the user disabled: disabled users have no access at all
        #[arg(long)]
        disabled: bool,
        /// An attribute that assignment rules select by, e.g. department=Finance; repeat for several
        #[arg(long = "attr", value_name = "NAME=VALUE", value_parser = parse_attr)]
        attrs: Vec<(String, String)>,
    },

    /// Change a user's name, email, type or attributes
    #[command(long_about = "Change a user's name, email, type or attributes. Assignment rules are \
evaluated again at once: a user whose department changes gains and loses rule-made roles in the \
same audited change.")]
    Edit {
        /// User id
        id: String,
        /// Full name (empty to clear)
        #[arg(long)]
        name: Option<String>,
        /// Email address (empty to clear)
        #[arg(long)]
        email: Option<String>,
        /// Make the user a service account (true) or a person (false)
        #[arg(long, value_name = "true|false")]
        service_account: Option<bool>,
        /// Set an attribute, e.g. department=Finance; repeat for several
        #[arg(long = "attr", value_name = "NAME=VALUE", value_parser = parse_attr)]
        attrs: Vec<(String, String)>,
        /// Remove an attribute
        #[arg(long = "remove-attr", value_name = "NAME")]
        remove_attrs: Vec<String>,
    },

    /// Enable a user: their assignments take effect again
    Enable {
        /// User id
        id: String,
    },

    /// Disable a user: every check for them says deny; assignments are kept
    Disable {
        /// User id
        id: String,
    },

    /// Delete a user with their assignments and credentials; their audit history stays
    Remove {
        /// User id
        id: String,
    },

    /// Assign a role to a user, globally or in organizations, optionally for a time window
    #[command(long_about = "Assign a role to a user: globally (no --org), or only in the given \
organizations (repeat --org), and only from --from until --to when given (--to is exclusive).\n\n\
A user holds each role at most once: assigning a role the user already has replaces that \
assignment's organizations and window.\n\n\
An assignment that would give the user both sides of a segregation-of-duties rule (in any one \
organization; a global assignment counts in every one) is refused, naming the rule and the roles, \
unless --override-reason says why it is allowed; the override is recorded in the conflicts register \
and the audit trail.")]
    Assign {
        /// User id
        user: String,
        /// Role name (AOT name, e.g. LedgerAccountant)
        role: String,
        /// Only in this organization; repeat for several. None: global
        #[arg(long = "org", value_name = "ORG")]
        orgs: Vec<String>,
        /// Start of validity: now, a date (2026-01-31, midnight UTC) or an RFC 3339 instant
        #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
        from: Option<Timestamp>,
        /// End of validity, exclusive: now, a date or an RFC 3339 instant
        #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
        to: Option<Timestamp>,
        /// Allow the segregation-of-duties conflicts this creates, recorded with this reason in the conflicts register
        #[arg(long, value_name = "TEXT")]
        override_reason: Option<String>,
    },

    /// Set a user's password for signing in to Warden, read from standard input
    #[command(long_about = "Set the password a user signs in to Warden's API and console with. The password \
is read from the first line of standard input (so that it appears neither in the process list nor in the shell \
history), must have at least 12 characters, and is stored only as an argon2id hash. The change is audited \
without the hash.")]
    Password {
        /// User id
        id: String,
    },

    /// Remove a role from a user (an error if the user does not have it)
    Revoke {
        /// User id
        user: String,
        /// Role name
        role: String,
    },

    /// List users
    List,

    /// Show a user: details, assignments, and effective permissions on every entry point
    #[command(long_about = "Show a user: details, role assignments (scope, window, and whether each \
is active at --at), and the effective permissions those give: per entry point, the accesses allowed \
and the accesses denied (Deny wins).\n\n\
Without --org only global assignments count, as in a check without an organization.")]
    Show {
        /// User id
        id: String,
        /// Count assignments scoped to this organization too
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        /// Judge assignments at this instant [default: now]
        #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
        at: Option<Timestamp>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// List roles with their number of duties, privileges, sub-roles and users
    List,
    /// Show a role: duties, privileges, sub-roles, extensions, and the entry points it grants
    Show {
        /// Role name (AOT name)
        name: String,
    },
    /// Add a role (a database customization) with duties, privileges and sub-roles
    #[command(long_about = "Add a role in the database layer. Every duty, privilege and sub-role named \
must exist (names are matched ignoring case). The role is exported with the AOT and can be \
assigned at once.")]
    Add {
        /// Role name (AOT name, e.g. VendInvoiceClerk)
        name: String,
        #[command(flatten)]
        text: crate::edit_cmd::TextArgs,
        /// A duty of the role; repeat for several
        #[arg(long = "duty", value_name = "DUTY")]
        duties: Vec<String>,
        /// A privilege granted to the role directly; repeat for several
        #[arg(long = "privilege", value_name = "PRIVILEGE")]
        privileges: Vec<String>,
        /// A sub-role; repeat for several
        #[arg(long = "sub-role", value_name = "ROLE")]
        sub_roles: Vec<String>,
    },
    /// Change a role's label, description, duties, privileges or sub-roles
    #[command(long_about = "Change a role. An imported (code-layer) role edited here becomes a database \
customization that wins over the code form until `customizations remove` drops it.")]
    Edit {
        /// Role name
        name: String,
        #[command(flatten)]
        text: crate::edit_cmd::TextArgs,
        #[arg(long = "add-duty", value_name = "DUTY")]
        add_duties: Vec<String>,
        #[arg(long = "remove-duty", value_name = "DUTY")]
        remove_duties: Vec<String>,
        #[arg(long = "add-privilege", value_name = "PRIVILEGE")]
        add_privileges: Vec<String>,
        #[arg(long = "remove-privilege", value_name = "PRIVILEGE")]
        remove_privileges: Vec<String>,
        #[arg(long = "add-sub-role", value_name = "ROLE")]
        add_sub_roles: Vec<String>,
        #[arg(long = "remove-sub-role", value_name = "ROLE")]
        remove_sub_roles: Vec<String>,
    },
    /// Remove a role (refused while users, roles or rules still refer to it)
    Remove {
        /// Role name
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// User id
    #[arg(long, value_name = "ID")]
    pub user: String,
    /// Entry point: NAME, or TYPE/NAME when the name is ambiguous (e.g. MenuItemDisplay/CustTable)
    #[arg(long, value_name = "EP")]
    pub entry_point: String,
    /// Read, Update, Create, Correct, Delete or Invoke (any case)
    #[arg(long, value_name = "ACCESS")]
    pub access: Access,
    /// Organization to check in; without it only global assignments count
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// Instant to check at [default: now]
    #[arg(long, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    pub at: Option<Timestamp>,
    /// Also print every path from the user's roles to the entry point, and why each assignment counts or not
    #[arg(long)]
    pub explain: bool,
    /// Check a control of the form the entry point opens, by control name: its own grant where a privilege sets the access, else the entry point's; Deny wins; denied when the user cannot Read the entry point
    #[arg(long, value_name = "NAME", conflicts_with = "field")]
    pub control: Option<String>,
    /// Check a field below the entry point (DATASOURCE.FIELD of a menu item's form, or a data entity's field), as --control does
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Folder to write into; must be empty or missing
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// small (a few hundred objects) or d365 (the size of a real D365 F&O installation)
    #[arg(long, default_value = "small")]
    pub scale: warden_gen::Scale,
    /// Seed of the random generator; the same seed gives the same files
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write into a folder that already has files (its aot/ folder is replaced)
    #[arg(long)]
    pub force: bool,
}

/// `NAME=VALUE`, for user attributes.
pub fn parse_attr(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("'{text}' is not NAME=VALUE (e.g. department=Finance)")),
    }
}

/// [`parse_time`] for other modules' arguments.
pub fn parse_time_arg(text: &str) -> Result<Timestamp, String> {
    parse_time(text)
}

/// `now`, a date or an RFC 3339 instant, for clap.
fn parse_time(text: &str) -> Result<Timestamp, String> {
    warden_core::parse_time(text, crate::commands::now()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
