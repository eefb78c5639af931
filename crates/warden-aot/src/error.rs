//! The one error type of the crate.

use std::fmt::Write as _;
use std::path::PathBuf;
use warden_model::ModelError;

/// Why reading or writing AOT files failed.
///
/// Messages start with the file (and, for content, `line:column`) so that
/// editors and CI logs can jump straight to the problem.
#[derive(Debug, thiserror::Error)]
pub enum AotError {
    /// Malformed XML, or well-formed XML that is not a valid AOT security object.
    /// `line` and `column` are 1-based; the column counts characters.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse { path: PathBuf, line: usize, column: usize, message: String },

    /// The file system refused: missing file, permissions, disk full.
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },

    /// Refused before reading, so that a stray database dump cannot exhaust memory.
    #[error("{}: file is larger than 16 MiB ({size} bytes); AOT security files are a few KiB, so this is not one", path.display())]
    TooLarge { path: PathBuf, size: u64 },

    /// Two files define the same object. D365 names are case-insensitive, so
    /// `Clerk` and `clerk` count as the same.
    #[error("{}: duplicate {ax_type} {name}: also defined in {}", second.display(), first.display())]
    Duplicate { ax_type: &'static str, name: String, first: PathBuf, second: PathBuf },

    /// The imported objects are inconsistent in a way no partial import can excuse
    /// (a sub-role cycle, names that differ only in case).
    #[error("{}", describe_model_errors(errors))]
    Model { errors: Vec<ModelError> },

    /// Export found a symbolic link inside the output folder where it writes:
    /// writing through it could land outside the folder.
    #[error("{}: is a symbolic link inside the output folder; export does not write through links (remove it, or export to a new folder)", path.display())]
    LinkInOutput { path: PathBuf },

    /// A path that is neither a folder nor a regular file (a FIFO, a device, a socket).
    #[error("{}: not a regular file or folder (a FIFO, device or socket cannot hold AOT files)", path.display())]
    NotAFile { path: PathBuf },

    /// The paths hold no AOT security file at all: most likely the wrong folder.
    #[error("no AOT security file found in {}: expected <Package>/<Model>/AxSecurityRole/*.xml and its sibling folders (AxSecurityDuty, AxSecurityPrivilege, AxSecurityPolicy, ...)", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NothingFound { paths: Vec<PathBuf> },

    /// An object or model name that cannot become a file name (it would escape
    /// the output directory or is not a name at all).
    #[error("cannot write {what} {name:?}: {reason}")]
    InvalidName { what: &'static str, name: String, reason: &'static str },
}

fn describe_model_errors(errors: &[ModelError]) -> String {
    const SHOWN: usize = 10;
    let mut text = format!(
        "the imported security objects are inconsistent ({} problem{})",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for e in errors.iter().take(SHOWN) {
        let _ = write!(text, "; {e}");
    }
    if errors.len() > SHOWN {
        let _ = write!(text, "; and {} more", errors.len() - SHOWN);
    }
    text
}
