//! Importing package directories: find the AOT security files, parse them in
//! parallel, and assemble one [`Model`] with warnings a human can read.

use crate::read::{self, Note, Parsed};
use crate::{AotError, AxType};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use warden_model::{EntryPoint, EntryPointKey, Model, ModelError, Object, ObjectKind};

/// The result of [`read_paths`].
#[derive(Debug, Clone, Default)]
pub struct AotImport {
    /// Security objects only: no users, organizations or assignments.
    pub model: Model,
    /// Files that held an AOT security object.
    pub files: usize,
    /// Files per AOT type, e.g. `"AxSecurityRole" -> 7`.
    pub counts: BTreeMap<&'static str, usize>,
    /// Things the user should know that do not stop the import, summarised so
    /// that a full D365 package (tens of thousands of dangling references) stays readable.
    pub warnings: Vec<String>,
}

/// Reads files and directories (recursively) of AOT XML.
///
/// In a directory, `*.xml` files in the AOT security and menu-item folders are
/// read and must be valid; other Ax* folders (classes, tables, ...) are not
/// entered; `*.xml` files elsewhere are read if their root element is one of
/// ours and skipped otherwise, as are all other files. Files named explicitly
/// must be AOT security files. Files are processed in path order, so the result
/// and the first error reported do not depend on the file system.
///
/// References to objects outside the import (the standard roles an ISV model
/// extends, service operations, data entities) are kept and reported as
/// warnings; duplicates, sub-role cycles and malformed files are errors.
pub fn read_paths(paths: &[PathBuf]) -> Result<AotImport, AotError> {
    let mut candidates = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|error| AotError::Io { path: path.clone(), error })?;
        if metadata.is_dir() {
            walk(path, &mut candidates)?;
        } else if metadata.is_file() {
            candidates.push(Candidate { path: path.clone(), mode: Mode::Strict });
        } else {
            // Opening a FIFO would wait for a writer forever; devices and sockets are no files either.
            return Err(AotError::NotAFile { path: path.clone() });
        }
    }
    // Strict before sniff for the same path, then keep one of each.
    candidates.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| (a.mode == Mode::Sniff).cmp(&(b.mode == Mode::Sniff))));
    candidates.dedup_by(|later, earlier| later.path == earlier.path);

    let results = parse_all(&candidates);
    let import = assemble(&candidates, results)?;
    if import.files == 0 {
        return Err(AotError::NothingFound { paths: paths.to_vec() });
    }
    Ok(import)
}

struct Candidate {
    path: PathBuf,
    mode: Mode,
}

/// Whether a file must be an AOT security object, or may turn out to be some other XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Strict,
    /// Package directories hold descriptors and other XML beside the AOT
    /// folders: such a file is read only if its root element is one of ours.
    Sniff,
}

impl Candidate {
    /// `<Package>/<Model>/<AxType>/<Name>.xml`: the folder above the type folder names the model.
    fn folder_type(&self) -> Option<AxType> {
        let parent = self.path.parent()?.file_name()?.to_str()?;
        AxType::from_folder(parent)
    }

    fn model_name(&self) -> Option<&str> {
        self.folder_type()?;
        self.path.parent()?.parent()?.file_name()?.to_str()
    }
}

fn walk(dir: &Path, out: &mut Vec<Candidate>) -> Result<(), AotError> {
    let io = |error| AotError::Io { path: dir.to_path_buf(), error };
    let in_type_folder = dir.file_name().and_then(|n| n.to_str()).and_then(AxType::from_folder).is_some();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|error| AotError::Io { path: path.clone(), error })?;
        // Symbolic links to directories are not followed: they can form cycles.
        let is_file = if file_type.is_symlink() {
            std::fs::metadata(&path).is_ok_and(|m| m.is_file())
        } else {
            file_type.is_file()
        };
        if file_type.is_dir() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // AxClass, AxTable, AxForm, ... hold most of a package and none of its
            // security; .git and .vs hold none of it either. A type folder holds
            // files only, so an Ax* folder that holds folders is a package or a
            // model (`AxTools/AxTools/AxSecurityRole`) and is walked.
            let other_ax_folder = name.starts_with("Ax") && AxType::from_folder(&name).is_none() && !holds_folders(&path)?;
            if !other_ax_folder && !name.starts_with('.') {
                walk(&path, out)?;
            }
        } else if is_file && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) {
            let mode = if in_type_folder { Mode::Strict } else { Mode::Sniff };
            out.push(Candidate { path, mode });
        }
    }
    Ok(())
}

/// Whether `dir` has a subfolder (symbolic links are not followed).
fn holds_folders(dir: &Path) -> Result<bool, AotError> {
    let io = |error| AotError::Io { path: dir.to_path_buf(), error };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        if entry.map_err(io)?.file_type().map_err(io)?.is_dir() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn parse_one(candidate: &Candidate) -> Result<Option<Parsed>, AotError> {
    if candidate.mode == Mode::Sniff && !read::is_aot_file(&candidate.path)? {
        return Ok(None);
    }
    let bytes = read::read_bytes(&candidate.path)?;
    read::parse(&candidate.path, candidate.model_name(), &bytes).map(Some)
}

/// Parses every candidate on all cores; results come back in candidate order.
fn parse_all(candidates: &[Candidate]) -> Vec<Result<Option<Parsed>, AotError>> {
    const CHUNK: usize = 32;
    let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get).min(candidates.len().div_ceil(CHUNK));
    if threads <= 1 {
        return candidates.iter().map(parse_one).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Option<Parsed>, AotError>>> = Vec::new();
    results.resize_with(candidates.len(), || None);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= candidates.len() {
                            return done;
                        }
                        for (i, candidate) in candidates.iter().enumerate().skip(start).take(CHUNK) {
                            done.push((i, parse_one(candidate)));
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            let done = worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, result) in done {
                results[i] = Some(result);
            }
        }
    });
    // Every index was claimed by exactly one worker.
    results.into_iter().map(|r| r.unwrap_or(Ok(None))).collect()
}

/// Up to this many examples per summarised warning.
const EXAMPLES: usize = 10;

fn assemble(candidates: &[Candidate], results: Vec<Result<Option<Parsed>, AotError>>) -> Result<AotImport, AotError> {
    let mut import = AotImport::default();
    let mut seen: HashMap<(AxType, String), usize> = HashMap::new();
    let mut name_mismatches = Summary::default();
    let mut folder_mismatches = Summary::default();
    let mut notes: Vec<(String, Summary)> = Vec::new();

    for (i, result) in results.into_iter().enumerate() {
        let Some(Parsed { object, ax_type, notes: file_notes }) = result? else { continue };
        let candidate = &candidates[i];
        let path = &candidate.path;
        if let Some(first) = seen.insert((ax_type, object.name().to_lowercase()), i) {
            return Err(AotError::Duplicate {
                ax_type: ax_type.as_str(),
                name: object.name().to_string(),
                first: candidates[first].path.clone(),
                second: path.clone(),
            });
        }
        import.files += 1;
        *import.counts.entry(ax_type.as_str()).or_default() += 1;
        if path.file_stem().and_then(|s| s.to_str()) != Some(object.name()) {
            name_mismatches.add(format!("{} (<Name> is {})", path.display(), object.name()));
        }
        if let Some(folder) = candidate.folder_type().filter(|f| *f != ax_type) {
            folder_mismatches.add(format!("{} (an {} in {})", path.display(), ax_type.as_str(), folder.as_str()));
        }
        for Note { what, line, column } in file_notes {
            let at = format!("{}:{line}:{column}", path.display());
            match notes.iter_mut().find(|(w, _)| *w == what) {
                Some((_, summary)) => summary.add(at),
                None => {
                    let mut summary = Summary::default();
                    summary.add(at);
                    notes.push((what, summary));
                }
            }
        }
        import.model.put(Object::from(object));
    }

    let warnings = &mut import.warnings;
    name_mismatches.warn(warnings, "file(s) whose <Name> differs from the file name (D365 expects them to match)");
    folder_mismatches.warn(warnings, "file(s) in the folder of another AOT type");
    for (what, summary) in notes {
        let what = read::warning_for(what);
        summary.warn(warnings, &what);
    }
    add_referenced_entry_points(&mut import.model, warnings);
    check_model(&import.model, warnings)?;
    Ok(import)
}

/// Privileges grant on service operations, data entities and menu items of
/// other models, none of which has a file here; they become entry points known
/// by reference so that grants on them can be evaluated.
fn add_referenced_entry_points(model: &mut Model, warnings: &mut Vec<String>) {
    let mut known: HashSet<(warden_model::EntryPointType, String)> =
        model.entry_points.keys().map(|k| (k.kind, k.name.to_lowercase())).collect();
    let mut added: Vec<EntryPointKey> = Vec::new();
    for privilege in model.privileges.values() {
        for grant in &privilege.entry_points {
            let key = grant.key();
            // A name that differs only in case from a known entry point is left
            // dangling (and reported) rather than added as a case duplicate.
            if !model.entry_points.contains_key(&key) && known.insert((key.kind, key.name.to_lowercase())) {
                added.push(key);
            }
        }
    }
    if added.is_empty() {
        return;
    }
    let examples: Vec<String> = added.iter().take(5).map(ToString::to_string).collect();
    warnings.push(format!(
        "{} entry point(s) are granted by privileges but not defined by an imported menu item (service operations, \
         data entities, menu items of other models); kept as references, e.g. {}",
        added.len(),
        examples.join(", ")
    ));
    for key in added {
        model.entry_points.insert(key.clone(), EntryPoint::referenced(&key));
    }
}

/// Dangling references are normal in a partial import and become one warning
/// per kind; anything else fails the import.
fn check_model(model: &Model, warnings: &mut Vec<String>) -> Result<(), AotError> {
    let (dangling, errors): (Vec<ModelError>, Vec<ModelError>) = model.validate().into_iter().partition(ModelError::is_dangling);
    if !errors.is_empty() {
        return Err(AotError::Model { errors });
    }
    let mut groups: BTreeMap<(u8, ObjectKind, ObjectKind), (Vec<&ModelError>, Summary)> = BTreeMap::new();
    for error in &dangling {
        let (group, example) = match error {
            ModelError::UnknownReference { from, to } => ((0, from.kind, to.kind), format!("{} → {}", from.name, to.name)),
            ModelError::ExtensionTargetMissing { extension, target } => {
                ((1, extension.kind, target.kind), format!("{} → {}", extension.name, target.name))
            }
            _ => continue,
        };
        let (errors, summary) = groups.entry(group).or_default();
        errors.push(error);
        summary.add(example);
    }
    for ((variant, from, to), (errors, summary)) in groups {
        if let [only] = errors.as_slice() {
            warnings.push(only.to_string());
            continue;
        }
        let what = if variant == 0 {
            format!(
                "references from {} to {} that are not in the import (kept; they resolve once those are loaded)",
                plural(from),
                plural(to)
            )
        } else {
            format!("{} of {} that are not in the import (kept; each applies once its target is loaded)", plural(from), plural(to))
        };
        summary.warn(warnings, &what);
    }
    Ok(())
}

fn plural(kind: ObjectKind) -> String {
    match kind {
        ObjectKind::Duty => "duties".into(),
        ObjectKind::Policy => "policies".into(),
        other => format!("{other}s"),
    }
}

/// A count and the first few examples of one kind of warning.
#[derive(Default)]
struct Summary {
    count: usize,
    examples: Vec<String>,
}

impl Summary {
    fn add(&mut self, example: String) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example);
        }
    }

    fn warn(self, warnings: &mut Vec<String>, what: &str) {
        if self.count == 0 {
            return;
        }
        let more = self.count - self.examples.len();
        let mut text = format!("{} {what}: {}", self.count, self.examples.join(", "));
        if more > 0 {
            let _ = write!(text, " and {more} more");
        }
        warnings.push(text);
    }
}
