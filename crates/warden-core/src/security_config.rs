//! D365's security configuration file (`SecurityDatabaseCustomizations.xml`)
//! in and out of Warden's database layer.
//!
//! The file is D365's "security delta": roles, duties and privileges changed,
//! created or disabled in the user interface, over the AOT. Warden's database
//! layer is the same thing over its code layer, so the mapping is one to one:
//! - a customized or new object is a database-layer object of its key (it
//!   replaces the code form, if Warden holds one);
//! - a disabled object is a database-layer tombstone: the code form (if any)
//!   stays stored and no longer counts, as after `role remove`;
//! - on export, a database-layer object whose key has a code form is
//!   *customized*, one without is *new*, and a tombstone is *disabled*.
//!
//! So a file imported into a store that holds the AOT objects it customizes
//! comes back the same; into a store without them, its customized objects
//! come back as new ones (the import says which).

use crate::error::CoreError;
use crate::service::{Plan, Target, Validation, Warden};
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use warden_aot::{AotError, ConfigEntry, ConfigList, DisabledEntry, SecurityConfig};
use warden_model::{Object, ObjectKind, ObjectRef};
use warden_store::{Change, Layer, Revision};

/// The kinds a security configuration file holds.
const KINDS: [ObjectKind; 3] = [ObjectKind::Role, ObjectKind::Duty, ObjectKind::Privilege];

/// What `import security-config` read and changed.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityConfigImportOutcome {
    pub file: PathBuf,
    /// Objects read from the file's customized lists.
    pub customized: usize,
    /// Objects read from the file's new lists.
    pub new: usize,
    /// Names read from the file's disabled sets.
    pub disabled: usize,
    /// Objects and names written into the database layer.
    pub written: usize,
    /// Objects and names the database layer already held exactly so.
    pub unchanged: usize,
    /// Things worth knowing: elements kept without being interpreted, what
    /// could not be kept, objects whose list export will not reproduce.
    pub warnings: Vec<String>,
    /// References to objects neither in the file nor stored (kept; they
    /// resolve once those are loaded).
    pub unresolved: usize,
    /// Whether anything was committed; an import that changes nothing writes
    /// no revision and no audit event.
    pub changed: bool,
    pub revision: Revision,
}

/// What `export security-config` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityConfigExportOutcome {
    pub file: PathBuf,
    pub customized: usize,
    pub new: usize,
    pub disabled: usize,
    /// Database-layer customizations the file format has no place for
    /// (entry points, policies, extensions): not in the file.
    pub warnings: Vec<String>,
    pub revision: Revision,
}

/// An error at a place in the file, worded as the readers word theirs.
fn at(path: &Path, line: usize, column: usize, message: String) -> CoreError {
    CoreError::Aot(AotError::Parse { path: path.to_path_buf(), line, column, message })
}

impl Warden {
    /// `import security-config FILE`: reads a D365 security configuration
    /// export and writes its objects into the database layer, all or nothing
    /// (see the module documentation for the mapping). Objects the file does
    /// not mention stay as they are.
    pub async fn import_security_config(&self, path: &Path) -> Result<SecurityConfigImportOutcome, CoreError> {
        let config = warden_aot::read_security_config(path)?;
        self.import_read_security_config(path, config).await
    }

    /// [`Warden::import_security_config`] of a file's bytes (an API request
    /// body); `name` is what messages call it (`request body:12:5: ...`).
    pub async fn import_security_config_bytes(&self, name: &Path, bytes: &[u8]) -> Result<SecurityConfigImportOutcome, CoreError> {
        let config = warden_aot::parse_security_config(name, bytes)?;
        self.import_read_security_config(name, config).await
    }

    async fn import_read_security_config(&self, path: &Path, config: SecurityConfig) -> Result<SecurityConfigImportOutcome, CoreError> {
        let mut warnings = config.warnings.clone();
        // Which keys the layers hold now: code forms decide "customized" against
        // "new", database rows (and tombstones) what is unchanged.
        let mut code: HashSet<ObjectRef> = HashSet::new();
        let mut database: HashMap<ObjectRef, bool> = HashMap::new();
        for kind in KINDS {
            for k in self.store().layer_keys(Layer::Code, kind).await? {
                code.insert(ObjectRef::new(kind, k.key));
            }
            for k in self.store().layer_keys(Layer::Database, kind).await? {
                database.insert(ObjectRef::new(kind, k.key), k.hidden);
            }
        }
        let mut as_new = Vec::new();
        let mut as_customized = Vec::new();
        for entry in &config.objects {
            let key = entry.object.key();
            match (entry.list, code.contains(&key)) {
                (ConfigList::Customized, false) => as_new.push(key.to_string()),
                (ConfigList::New, true) => as_customized.push(key.to_string()),
                _ => {}
            }
        }
        if !as_new.is_empty() {
            warnings.push(format!(
                "{} customized object(s) whose code (AOT) form Warden does not hold: stored in the database layer, and exported as new objects \
                 until their AOT model is imported: {}",
                as_new.len(),
                examples(&as_new)
            ));
        }
        if !as_customized.is_empty() {
            warnings.push(format!(
                "{} new object(s) that Warden holds in its code layer: stored as customizations of them, and exported as customized: {}",
                as_customized.len(),
                examples(&as_customized)
            ));
        }
        let disabled_without_code: Vec<String> =
            config.disabled.iter().filter(|d| !code.contains(&d.key)).map(|d| d.key.to_string()).collect();
        if !disabled_without_code.is_empty() {
            warnings.push(format!(
                "{} disabled object(s) that Warden does not hold in its code layer: recorded as disabled all the same (they stay hidden once their AOT model is imported): {}",
                disabled_without_code.len(),
                examples(&disabled_without_code)
            ));
        }

        let file = path.to_path_buf();
        let file_text = path.display().to_string();
        let target = Target { layer: Layer::Database, nothing_if_unchanged: true, ..Target::default() };
        let (tally, revision, dangling) = self
            .run_to(target, Validation::AllowDangling, |model| {
                let mut tally = (0usize, 0usize);
                let mut changes = Vec::new();
                let imported: Vec<Object> = config.objects.iter().map(|e| e.object.clone()).collect();
                let spellings = crate::spelling::Spellings::new(model, &imported);
                for ConfigEntry { object, line, column, .. } in &config.objects {
                    let key = object.key();
                    crate::service::check_ids(object).map_err(|e| at(path, *line, *column, format!("<Name>: {e}")))?;
                    if let Some(existing) = model.look_alike(key.kind, &key.name) {
                        return Err(at(
                            path,
                            *line,
                            *column,
                            format!(
                                "<Name>: {} {:?} reads the same as stored {} '{existing}' (names are compared ignoring case, width and look-alike letters); \
                                 rename one of them",
                                key.kind, key.name, key.kind
                            ),
                        ));
                    }
                    let stored = model.get(&key);
                    let mut object = with_model_of(object.clone(), stored.as_ref());
                    // References resolve ignoring case, as in D365 (see `import aot`).
                    spellings.respell(&mut object);
                    if database.get(&key) == Some(&false) && stored.as_ref() == Some(&object) {
                        tally.1 += 1;
                    } else {
                        tally.0 += 1;
                        changes.push(Change::Put(object));
                    }
                }
                for DisabledEntry { key, line, column } in &config.disabled {
                    if let Some(existing) = model.look_alike(key.kind, &key.name) {
                        return Err(at(
                            path,
                            *line,
                            *column,
                            format!("disabled {} {:?} reads the same as stored {} '{existing}'; D365 names are case-insensitive, write it as stored", key.kind, key.name, key.kind),
                        ));
                    }
                    if database.get(key) == Some(&true) {
                        tally.1 += 1;
                    } else {
                        tally.0 += 1;
                        changes.push(Change::Hide(key.clone()));
                    }
                }
                let summary = json!({
                    "file": file_text,
                    "customized": config.count(ConfigList::Customized),
                    "new": config.count(ConfigList::New),
                    "disabled": config.disabled.len(),
                    "written": tally.0, "unchanged": tally.1,
                });
                Ok(Plan { action: "import security-config", summary, changes, outcome: tally })
            })
            .await?;
        Ok(SecurityConfigImportOutcome {
            file,
            customized: config.count(ConfigList::Customized),
            new: config.count(ConfigList::New),
            disabled: config.disabled.len(),
            written: tally.0,
            unchanged: tally.1,
            warnings,
            unresolved: dangling.len(),
            changed: tally.0 > 0,
            revision,
        })
    }

    /// The database layer's roles, duties and privileges as a security
    /// configuration: customized (a code form exists), new (none does) and
    /// disabled (tombstones); and warnings for database-layer objects of
    /// other kinds, which the file has no place for.
    pub async fn security_config(&self) -> Result<(SecurityConfig, Vec<String>, Revision), CoreError> {
        let (model, revision) = self.loaded().await?;
        let mut config = SecurityConfig::default();
        for kind in KINDS {
            let code: HashSet<String> = self.store().layer_keys(Layer::Code, kind).await?.into_iter().map(|k| k.key).collect();
            for k in self.store().layer_keys(Layer::Database, kind).await? {
                let key = ObjectRef::new(kind, k.key);
                if k.hidden {
                    config.disabled.push(DisabledEntry { key, line: 0, column: 0 });
                    continue;
                }
                let Some(object) = model.get(&key) else { continue };
                let list = if code.contains(&key.name) { ConfigList::Customized } else { ConfigList::New };
                config.objects.push(ConfigEntry { list, object, line: 0, column: 0 });
            }
        }
        let mut warnings = Vec::new();
        for kind in ObjectKind::ALL.into_iter().filter(|k| k.is_deployable() && !KINDS.contains(k)) {
            let keys = self.store().layer_keys(Layer::Database, kind).await?;
            if !keys.is_empty() {
                let names: Vec<String> = keys.iter().map(|k| k.key.clone()).collect();
                warnings.push(format!(
                    "{} database-layer {kind} customization(s) are not in the file, which holds roles, duties and privileges only: {}",
                    keys.len(),
                    examples(&names)
                ));
            }
        }
        Ok((config, warnings, revision))
    }

    /// [`Warden::security_config`] as the file's text (`GET /security-config`).
    pub async fn security_config_xml(&self) -> Result<(String, Vec<String>, Revision), CoreError> {
        let (config, warnings, revision) = self.security_config().await?;
        Ok((warden_aot::security_config_to_xml(&config), warnings, revision))
    }

    /// `export security-config --out FILE`: the database layer's roles,
    /// duties and privileges as D365's security configuration file, written
    /// atomically (a new file beside `out`, renamed over it) and never
    /// through a link; an existing file is replaced only with `overwrite`.
    pub async fn export_security_config(&self, out: &Path, overwrite: bool) -> Result<SecurityConfigExportOutcome, CoreError> {
        let (config, warnings, revision) = self.security_config().await?;
        let text = warden_aot::security_config_to_xml(&config);
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| CoreError::Write { path: parent.to_path_buf(), source })?;
        }
        warden_aot::write_file_atomically(out, &text, overwrite)?;
        Ok(SecurityConfigExportOutcome {
            file: out.to_path_buf(),
            customized: config.count(ConfigList::Customized),
            new: config.count(ConfigList::New),
            disabled: config.disabled.len(),
            warnings,
            revision,
        })
    }
}

/// The file does not say which AOT model an object belongs to; a stored
/// object's model stays with it, so that `export aot` still writes it into
/// its model's folder and a re-import of the same file changes nothing.
fn with_model_of(mut object: Object, stored: Option<&Object>) -> Object {
    let stored_model = match stored {
        Some(Object::Role(x)) => x.model.clone(),
        Some(Object::Duty(x)) => x.model.clone(),
        Some(Object::Privilege(x)) => x.model.clone(),
        _ => None,
    };
    match &mut object {
        Object::Role(x) if x.model.is_none() => x.model = stored_model,
        Object::Duty(x) if x.model.is_none() => x.model = stored_model,
        Object::Privilege(x) if x.model.is_none() => x.model = stored_model,
        _ => {}
    }
    object
}

/// The first few of a list, for a warning.
fn examples(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}
