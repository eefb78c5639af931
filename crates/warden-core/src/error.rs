//! What can go wrong in a governance command, worded for the administrator
//! who ran it. Every variant means nothing was written.

use crate::csv_io::CsvProblem;
use std::path::PathBuf;
use warden_model::{ModelError, ObjectKind};

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Store(#[from] warden_store::StoreError),

    /// The AOT reader's message already says `file:line:column: what is wrong`.
    #[error(transparent)]
    Aot(#[from] warden_aot::AotError),

    /// `hint` is empty or starts with `; ` (a did-you-mean list).
    #[error("unknown {kind} '{name}'{hint}")]
    Unknown { kind: ObjectKind, name: String, hint: String },

    #[error(transparent)]
    EntryPoint(#[from] warden_engine::ResolveError),

    #[error("{kind} '{name}' already exists")]
    AlreadyExists { kind: ObjectKind, name: String },

    /// A new name that reads the same as a stored one ([`warden_model::fold`]).
    #[error("{kind} {name:?} looks the same as existing {kind} '{existing}'; names are compared ignoring case, character width and look-alike letters")]
    LooksLike { kind: ObjectKind, name: String, existing: String },

    /// An id or name breaks the identifier rule ([`warden_model::validate_id`]).
    #[error(transparent)]
    InvalidId(#[from] warden_model::IdError),

    #[error("user '{user}' does not have role '{role}'{}", roles_hint(.assigned))]
    NotAssigned { user: String, role: String, assigned: Vec<String> },

    #[error("{}", list("the change would make the security model invalid", .0))]
    Invalid(Vec<ModelError>),

    /// The write changes objects that already fail validation and leaves
    /// them failing: such objects are read-only until repaired or removed.
    #[error("{}", list("the store already fails validation here, and the objects concerned are read-only until that is fixed (repair or remove them; `warden doctor` lists every problem)", .0))]
    ReadOnly(Vec<ModelError>),

    /// `--strict` imports refuse references to objects that are not loaded.
    #[error("{}", dangling(.0))]
    Dangling(Vec<ModelError>),

    /// A delete or customization removal would leave references pointing nowhere.
    #[error("{}", list(&format!("cannot remove {object}: it is still referenced, and these references would point nowhere", object = .object), .references))]
    StillReferenced { object: String, references: Vec<ModelError> },

    #[error("{}", csv_list(.file, .problems))]
    Csv { file: String, problems: Vec<CsvProblem> },

    /// Problems in D365 data-management entity files, each `file:line:column`.
    #[error("{}", dmf_list(.0))]
    Dmf(Vec<crate::dmf::DmfProblem>),

    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },

    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },

    #[error("valid-from {from} is not before valid-to {to}; the assignment would never be in effect")]
    EmptyWindow { from: String, to: String },

    #[error("{0}")]
    InvalidInput(String),

    /// An input breaks a rule of its own (a password too short, a token
    /// lifetime out of range); `field` names it as the API does.
    #[error("{field}: {message}")]
    InvalidField { field: &'static str, message: String },

    /// What a credential command names does not exist (an API token, the
    /// user whose password is set); the message says which.
    #[error("{0}")]
    NotFound(String),

    /// Hashing a password failed (argon2 refused its parameters or ran out of memory).
    #[error("cannot hash the password: {0}")]
    Hashing(String),

    /// A security configuration change would make roles hold both sides of SoD rules.
    #[error("{}", sod_roles(.0))]
    SodRoles(Vec<crate::sod::RoleViolation>),

    /// "Check similarity" refuses duties or privileges that overlap others.
    #[error("{}", similar(*.level, .pairs))]
    Similar { level: u8, pairs: Vec<warden_engine::SimilarPair> },

    /// Direct assignments would give users both sides of SoD rules.
    #[error("{}", sod_conflicts(.0))]
    SodConflicts(Vec<crate::sod::ConflictFound>),

    /// The store holds data that is not the demo; loading it would mix the two.
    #[error(
        "the store is not empty ({summary}) and does not hold the demo; the demo loads only into an empty store. \
         Use a fresh data directory (--data-dir DIR), or pass --reset to replace everything in this store with the demo \
         (one audited change)"
    )]
    NotEmpty { summary: String },

    /// The actor may not do this (not a system administrator, approving their own request, ...).
    #[error("{0}")]
    NotPermitted(String),

    /// A session cannot make this move from where it is.
    #[error("{session} is {status}: {message}")]
    Transition { session: String, status: String, message: String },

    /// A sealed recording no longer matches its seal: activity rows were
    /// edited, added or removed after the session ended. Never served as intact.
    #[error("recording of {session} altered after sealing: {reason}")]
    RecordingAltered { session: String, reason: String },
}

impl CoreError {
    pub(crate) fn unknown<'a>(kind: ObjectKind, name: &str, known: impl IntoIterator<Item = &'a str>) -> CoreError {
        CoreError::Unknown { kind, name: name.to_string(), hint: crate::names::did_you_mean(known, name) }
    }
}

fn sod_roles(list: &[crate::sod::RoleViolation]) -> String {
    let lines: Vec<String> = list
        .iter()
        .map(|v| format!("role '{}' would hold both sides of segregation-of-duties rule '{}': {} and {}", v.role, v.rule, v.first, v.second))
        .collect();
    list_strings("refused: the change breaks segregation of duties", &lines)
}

fn similar(level: u8, pairs: &[warden_engine::SimilarPair]) -> String {
    let lines: Vec<String> = pairs.iter().map(crate::sod::describe_similar).collect();
    let mut out = list_strings(&format!("refused: similar to existing objects at or above the similarity level of {level}%"), &lines);
    out.push_str("\nMake the object distinct, reuse the existing one, or change the SoD settings (sod settings).");
    out
}

fn sod_conflicts(list: &[crate::sod::ConflictFound]) -> String {
    let lines: Vec<String> = list.iter().map(ToString::to_string).collect();
    let mut out = list_strings("refused: the assignment breaks segregation of duties", &lines);
    out.push_str("\nAllow it with a reason for override (--override-reason TEXT, recorded in the conflicts register), or choose another role.");
    out
}

fn roles_hint(assigned: &[String]) -> String {
    if assigned.is_empty() { "; they have no roles".to_string() } else { format!("; their roles: {}", assigned.join(", ")) }
}

/// Lists at most a screenful of problems; a long list is usually one mistake repeated.
fn list(headline: &str, errors: &[ModelError]) -> String {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    list_strings(headline, &text)
}

fn list_strings(headline: &str, errors: &[String]) -> String {
    const SHOWN: usize = 15;
    let mut out = format!("{headline}:");
    for e in errors.iter().take(SHOWN) {
        out.push_str("\n  ");
        out.push_str(e);
    }
    if errors.len() > SHOWN {
        out.push_str(&format!("\n  ... and {} more", errors.len() - SHOWN));
    }
    out
}

fn dangling(errors: &[ModelError]) -> String {
    let plain: Vec<String> = errors
        .iter()
        .map(|e| match e {
            ModelError::ExtensionTargetMissing { extension, target } => format!("{extension} extends {target}, which does not exist"),
            other => other.to_string(),
        })
        .collect();
    let mut out = list_strings(
        "--strict refuses this import: it references objects that are neither in the import nor in the store",
        &plain,
    );
    out.push_str("
Import the models they belong to in the same command, or leave out --strict to import them as warnings.");
    out
}

fn csv_list(file: &str, problems: &[CsvProblem]) -> String {
    let n = problems.len();
    let mut out = format!("{file}: {n} problem{}; nothing was imported", if n == 1 { "" } else { "s" });
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    out
}

fn dmf_list(problems: &[crate::dmf::DmfProblem]) -> String {
    let n = problems.len();
    let mut out = format!("{n} problem{} in the entity files; nothing was imported", if n == 1 { "" } else { "s" });
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    out
}

/// Which part of the model an error is about, so the command line can add the
/// command that lists that kind of object.
impl CoreError {
    pub fn unknown_kind(&self) -> Option<ObjectKind> {
        match self {
            CoreError::Unknown { kind, .. } => Some(*kind),
            CoreError::EntryPoint(warden_engine::ResolveError::Unknown(_)) => Some(ObjectKind::EntryPoint),
            _ => None,
        }
    }
}
