//! Writing objects back as AOT files, formatted as Visual Studio formats them
//! (tabs, LF, properties before collections, no newline after the root end tag)
//! so that an export committed over the original shows no spurious diff.

use crate::{AotError, AotObject, AxType};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use warden_model::{
    Access, Duty, DutyExtension, EntryPoint, EntryPointGrant, EntryPointType, Grant, Licence, Model, Permission, Policy,
    PolicyContextType, Privilege, Role, RoleExtension, Unmodelled, XmlElement,
};

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const METADATA_NS: &str = "Microsoft.Dynamics.AX.Metadata.V1";
/// The model folder for objects that do not say which model they belong to.
const DEFAULT_MODEL: &str = "Warden";

/// What [`write_model`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    pub files: usize,
    /// Files per AOT type, e.g. `"AxSecurityRole" -> 7`.
    pub counts: BTreeMap<&'static str, usize>,
    /// What could not be written as it was imported (a policy's constrained
    /// tables edited in Warden); the files are written all the same.
    pub warnings: Vec<String>,
}

/// The exact text of the AOT file for `obj`.
///
/// Privileges list their data-entity grants under `DataEntityPermissions` and
/// the others under `EntryPoints`, as D365 does; a privilege whose grants
/// interleave the two kinds therefore reads back with data entities first.
/// An entry point that is not a menu item has no AOT file; it is written under a
/// root element named after its type, which no reader accepts, and
/// [`write_model`] never asks for one.
pub fn object_to_xml(obj: &AotObject) -> String {
    crate::attributes::restore(object_xml(obj), obj.unmodelled())
}

fn object_xml(obj: &AotObject) -> String {
    match obj {
        AotObject::Role(x) => role_xml(x),
        AotObject::Duty(x) => duty_xml(x),
        AotObject::Privilege(x) => privilege_xml(x),
        AotObject::Policy(x) => policy_xml(x),
        AotObject::RoleExtension(x) => role_extension_xml(x),
        AotObject::DutyExtension(x) => duty_extension_xml(x),
        AotObject::MenuItem(x) => menu_item_xml(x),
    }
}

/// Writes `<out_dir>/<model>/<AxType>/<Name>.xml` for every role, duty,
/// privilege, policy, extension and every menu item that belongs to a model.
///
/// Entry points without a model are only known by reference (service
/// operations, data entities, menu items of models not imported) and get no
/// file. Existing files are overwritten; files of objects no longer in the
/// model are left alone.
pub fn write_model(model: &Model, out_dir: &Path) -> Result<WriteReport, AotError> {
    let mut writer = Writer { out_dir, created: HashSet::new(), report: WriteReport::default() };
    for x in model.roles.values() {
        writer.write(AxType::Role, x.model.as_deref(), &x.name, || crate::attributes::restore(role_xml(x), &x.unmodelled))?;
    }
    for x in model.duties.values() {
        writer.write(AxType::Duty, x.model.as_deref(), &x.name, || crate::attributes::restore(duty_xml(x), &x.unmodelled))?;
    }
    for x in model.privileges.values() {
        writer.write(AxType::Privilege, x.model.as_deref(), &x.name, || crate::attributes::restore(privilege_xml(x), &x.unmodelled))?;
    }
    for x in model.policies.values() {
        let (xml, warning) = policy_xml_checked(x);
        writer.report.warnings.extend(warning);
        writer.write(AxType::Policy, x.model.as_deref(), &x.name, || crate::attributes::restore(xml, &x.unmodelled))?;
    }
    for x in model.role_extensions.values() {
        writer.write(AxType::RoleExtension, x.model.as_deref(), &x.name, || crate::attributes::restore(role_extension_xml(x), &x.unmodelled))?;
    }
    for x in model.duty_extensions.values() {
        writer.write(AxType::DutyExtension, x.model.as_deref(), &x.name, || crate::attributes::restore(duty_extension_xml(x), &x.unmodelled))?;
    }
    for x in model.entry_points.values() {
        if let (Some(ax_type), Some(model_name)) = (AxType::of_entry_point(x.kind), x.model.as_deref()) {
            writer.write(ax_type, Some(model_name), &x.name, || crate::attributes::restore(menu_item_xml(x), &x.unmodelled))?;
        }
    }
    Ok(writer.report)
}

/// [`write_model`] into `out`, all or nothing, never through a link.
///
/// The files are written into a fresh folder beside `out` first; a failure
/// there removes it and leaves `out` as it was. A new or empty `out` is then
/// replaced by that folder in one rename. Into a folder that holds files
/// already (`--force`), each written file is renamed into place, after a first
/// pass has made sure that no folder or file it would replace inside `out` is
/// a symbolic link (which would send the write outside `out`) or of the
/// other kind; other files in `out` are left alone.
pub fn export_model(model: &Model, out: &Path) -> Result<WriteReport, AotError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let stem = out.file_name().map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    fs::create_dir_all(&parent).map_err(|error| AotError::Io { path: parent.clone(), error })?;
    let staging = Staging::create(&parent, &stem)?;
    let report = write_model(model, &staging.0)?;
    let empty_or_missing = match fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(error) => return Err(AotError::Io { path: out.to_path_buf(), error }),
        Ok(m) if m.is_dir() => fs::read_dir(out).map_err(|error| AotError::Io { path: out.to_path_buf(), error })?.next().is_none(),
        Ok(_) => false,
    };
    if empty_or_missing && fs::rename(&staging.0, out).is_ok() {
        return Ok(report);
    }
    merge(&staging.0, out, true)?;
    merge(&staging.0, out, false)?;
    Ok(report)
}

/// A fresh folder beside the output, removed (with what is in it) when dropped.
struct Staging(PathBuf);

impl Staging {
    fn create(parent: &Path, stem: &str) -> Result<Staging, AotError> {
        let pid = std::process::id();
        for n in 0..1000 {
            let path = parent.join(format!(".{stem}.warden-export-{pid}-{n}"));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(Staging(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(AotError::Io { path, error }),
            }
        }
        Err(AotError::Io { path: parent.to_path_buf(), error: std::io::Error::other("no free name for a staging folder") })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // After a successful rename the folder is gone and this does nothing.
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Moves what `from` holds into `to`, folder by folder; with `check_only`,
/// only makes sure it can (no link, no file where a folder goes).
fn merge(from: &Path, to: &Path, check_only: bool) -> Result<(), AotError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| AotError::Io { path, error }
    };
    for entry in fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let is_dir = entry.file_type().map_err(io(&source))?.is_dir();
        match fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => return Err(AotError::LinkInOutput { path: target }),
            Ok(m) if m.is_dir() != is_dir => {
                return Err(AotError::Io { path: target, error: std::io::Error::other(if is_dir { "a file is where export writes a folder" } else { "a folder is where export writes a file" }) });
            }
            Ok(_) if is_dir => merge(&source, &target, check_only)?,
            Ok(_) | Err(_) if check_only => {}
            Ok(_) => fs::rename(&source, &target).map_err(io(&target))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => fs::rename(&source, &target).map_err(io(&target))?,
            Err(error) => return Err(AotError::Io { path: target, error }),
        }
    }
    Ok(())
}

struct Writer<'a> {
    out_dir: &'a Path,
    created: HashSet<PathBuf>,
    report: WriteReport,
}

impl Writer<'_> {
    fn write(&mut self, ax_type: AxType, model: Option<&str>, name: &str, xml: impl FnOnce() -> String) -> Result<(), AotError> {
        let model = model.unwrap_or(DEFAULT_MODEL);
        check_file_name("model", model)?;
        check_file_name(ax_type.as_str(), name)?;
        let dir = self.out_dir.join(model).join(ax_type.as_str());
        if !self.created.contains(&dir) {
            fs::create_dir_all(&dir).map_err(|error| AotError::Io { path: dir.clone(), error })?;
            self.created.insert(dir.clone());
        }
        let path = dir.join(format!("{name}.xml"));
        fs::write(&path, xml()).map_err(|error| AotError::Io { path, error })?;
        self.report.files += 1;
        *self.report.counts.entry(ax_type.as_str()).or_default() += 1;
        Ok(())
    }
}

/// Names come from the store and from users; one like `../../x` must not
/// write outside the output directory.
fn check_file_name(what: &'static str, name: &str) -> Result<(), AotError> {
    match file_name_problem(name) {
        Some(reason) => Err(AotError::InvalidName { what, name: name.to_string(), reason }),
        None => Ok(()),
    }
}

/// Why `name` cannot be the stem of an AOT file, if it cannot. The name rule
/// of security objects ([`warden_model::validate_id`]) refuses the same
/// characters at every entrance, so nothing is stored that export could not
/// write; this is export's own guard, and the one for model folder names.
pub(crate) fn file_name_problem(name: &str) -> Option<&'static str> {
    let reason = if name.is_empty() {
        "the name is empty"
    } else if name == "." || name == ".." {
        "the name is not a file name"
    } else if name.chars().any(|c| matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c.is_control()) {
        "the name contains a character that file names cannot hold (AOT names are letters, digits, '_' and '.')"
    } else {
        return None;
    };
    Some(reason)
}

fn role_xml(role: &Role) -> String {
    let k = &role.unmodelled;
    let mut x = Xml::new(AxType::Role.as_str(), false);
    let start = x.buf.len();
    x.leaf(1, "Name", &role.name);
    x.opt(1, "Description", role.description.as_deref());
    x.opt(1, "Label", role.label.as_deref());
    x.empty(1, "DirectAccessPermissions");
    x.references(1, "Duties", "AxSecurityDutyReference", &role.duties, k);
    x.references(1, "Privileges", "AxSecurityPrivilegeReference", &role.privileges, k);
    x.references(1, "SubRoles", "AxSecurityRoleReference", &role.sub_roles, k);
    x.splice(1, start, &kept_in(k, None));
    x.finish()
}

fn duty_xml(duty: &Duty) -> String {
    let k = &duty.unmodelled;
    let mut x = Xml::new(AxType::Duty.as_str(), false);
    let start = x.buf.len();
    x.leaf(1, "Name", &duty.name);
    x.opt(1, "Description", duty.description.as_deref());
    x.opt(1, "Label", duty.label.as_deref());
    x.references(1, "Privileges", "AxSecurityPrivilegeReference", &duty.privileges, k);
    x.splice(1, start, &kept_in(k, None));
    x.finish()
}

fn privilege_xml(privilege: &Privilege) -> String {
    let k = &privilege.unmodelled;
    let mut x = Xml::new(AxType::Privilege.as_str(), false);
    let start = x.buf.len();
    x.leaf(1, "Name", &privilege.name);
    x.opt(1, "Description", privilege.description.as_deref());
    x.opt(1, "Label", privilege.label.as_deref());

    let (entities, entry_points): (Vec<&EntryPointGrant>, Vec<&EntryPointGrant>) =
        privilege.entry_points.iter().partition(|g| g.kind == EntryPointType::DataEntity);
    x.list_kept(1, "DataEntityPermissions", &entities, k, |x, g| {
        x.open(2, "AxSecurityDataEntityPermission");
        let inner = x.buf.len();
        x.grant(3, &g.grant);
        x.leaf(3, "Name", &g.object);
        x.empty(3, "Fields");
        x.empty(3, "Methods");
        x.splice(3, inner, &kept_in(&g.unmodelled, None));
        x.close(2, "AxSecurityDataEntityPermission");
    });
    x.list_kept(1, "DirectAccessPermissions", &privilege.direct_access, k, |x, t| {
        x.open(2, "AxSecurityDataEntityReference");
        let inner = x.buf.len();
        x.grant(3, &t.grant);
        x.leaf(3, "Name", &t.table);
        x.empty(3, "Fields");
        x.splice(3, inner, &kept_in(&t.unmodelled, None));
        x.close(2, "AxSecurityDataEntityReference");
    });
    x.list_kept(1, "EntryPoints", &entry_points, k, |x, g| {
        x.open(2, "AxSecurityEntryPointReference");
        let inner = x.buf.len();
        x.leaf(3, "Name", &g.name);
        x.grant(3, &g.grant);
        x.opt(3, "ObjectChildName", g.child.as_deref());
        x.leaf(3, "ObjectName", &g.object);
        x.leaf(3, "ObjectType", g.kind.as_str());
        x.empty(3, "Forms");
        x.splice(3, inner, &kept_in(&g.unmodelled, None));
        x.close(2, "AxSecurityEntryPointReference");
    });
    x.empty(1, "FormControlOverrides");
    x.splice(1, start, &kept_in(k, None));
    x.finish()
}

fn role_extension_xml(ext: &RoleExtension) -> String {
    let k = &ext.unmodelled;
    let mut x = Xml::new(AxType::RoleExtension.as_str(), false);
    let start = x.buf.len();
    x.leaf(1, "Name", &ext.name);
    x.empty(1, "DirectAccessPermissions");
    x.references(1, "Duties", "AxSecurityDutyReference", &ext.duties, k);
    x.references(1, "Privileges", "AxSecurityPrivilegeReference", &ext.privileges, k);
    x.empty(1, "PropertyModifications");
    // Role extensions in the wild carry no SubRoles collection; write one only when needed.
    if !ext.sub_roles.is_empty() || !kept_in(k, Some("SubRoles")).is_empty() {
        x.references(1, "SubRoles", "AxSecurityRoleReference", &ext.sub_roles, k);
    }
    x.splice(1, start, &kept_in(k, None));
    x.finish()
}

fn duty_extension_xml(ext: &DutyExtension) -> String {
    let k = &ext.unmodelled;
    let mut x = Xml::new(AxType::DutyExtension.as_str(), false);
    let start = x.buf.len();
    x.leaf(1, "Name", &ext.name);
    x.references(1, "Privileges", "AxSecurityPrivilegeReference", &ext.privileges, k);
    x.empty(1, "PropertyModifications");
    x.splice(1, start, &kept_in(k, None));
    x.finish()
}

/// The policy's file, and a warning when the kept tree of its constrained
/// tables had to give way to the model's flat list.
fn policy_xml_checked(policy: &Policy) -> (String, Option<String>) {
    // The reader lists the primary table among the constrained tables when the
    // policy's `ConstrainedTable` flag is set; undo that here.
    let constrains_primary = policy.constrained_tables.iter().any(|t| t.eq_ignore_ascii_case(&policy.primary_table));
    let others: Vec<&String> =
        policy.constrained_tables.iter().filter(|t| !t.eq_ignore_ascii_case(&policy.primary_table)).collect();
    // The kept `<ConstrainedTables>` tree (relations, expressions, nesting) is
    // written as it was while it names the tables the model lists; once the
    // list was edited in Warden, the list wins and the tree is dropped, said aloud.
    let mut kept = kept_in(&policy.unmodelled, None);
    let tree = kept.iter().position(|u| u.element.name == "ConstrainedTables");
    let mut warning = None;
    let write_list = match tree {
        Some(i) => {
            let folded = |names: Vec<&str>| {
                let mut seen = HashSet::new();
                names.into_iter().map(str::to_lowercase).filter(|n| *n != policy.primary_table.to_lowercase() && seen.insert(n.clone())).collect::<Vec<_>>()
            };
            let from_tree = crate::constrained_table_names(&kept[i].element).unwrap_or_default();
            if folded(from_tree.iter().map(String::as_str).collect()) == folded(others.iter().map(|s| s.as_str()).collect()) {
                false
            } else {
                kept.remove(i);
                warning = Some(format!(
                    "policy {}: its constrained tables were changed in Warden, so they are written as a flat list; the relations and expressions of the imported tree are not written",
                    policy.name
                ));
                true
            }
        }
        None => true,
    };

    let mut x = Xml::new(AxType::Policy.as_str(), false);
    let start = x.buf.len();
    x.leaf(1, "Name", &policy.name);
    if constrains_primary {
        x.leaf(1, "ConstrainedTable", "Yes");
    }
    x.opt(1, "ContextString", policy.context_string.as_deref());
    if policy.context_type != PolicyContextType::ContextString {
        x.leaf(1, "ContextType", policy.context_type.as_str());
    }
    x.opt(1, "Description", policy.description.as_deref());
    x.leaf(1, "Enabled", if policy.enabled { "Yes" } else { "No" });
    x.opt(1, "Label", policy.label.as_deref());
    x.opt(1, "Operation", policy.operation.as_deref());
    x.leaf(1, "PrimaryTable", &policy.primary_table);
    x.leaf(1, "Query", &policy.query);
    x.opt(1, "RoleName", policy.role_name.as_deref());
    if write_list {
        render(&mut x.buf, 1, &crate::flat_constrained_tables(others.iter().map(|t| t.as_str())));
    }
    x.splice(1, start, &kept);
    (x.finish(), warning)
}

fn policy_xml(policy: &Policy) -> String {
    policy_xml_checked(policy).0
}

fn menu_item_xml(item: &EntryPoint) -> String {
    let root = match AxType::of_entry_point(item.kind) {
        Some(ax_type) => ax_type.as_str(),
        None if item.kind == EntryPointType::ServiceOperation => "AxServiceOperation",
        None => "AxDataEntity",
    };
    let mut x = Xml::new(root, true);
    let start = x.buf.len();
    x.leaf(1, "Name", &item.name);
    x.opt(1, "HelpText", item.help_text.as_deref());
    x.opt(1, "Label", item.label.as_deref());
    if item.maintain_licence != Licence::None {
        x.leaf(1, "MaintainUserLicense", item.maintain_licence.as_str());
    }
    x.opt(1, "Object", item.object.as_deref());
    x.opt(1, "ObjectType", item.object_type.as_deref());
    if item.view_licence != Licence::None {
        x.leaf(1, "ViewUserLicense", item.view_licence.as_str());
    }
    x.splice(1, start, &kept_in(&item.unmodelled, None));
    x.finish()
}

/// The kept elements that sit in `within` (`None`: in the object's own element).
fn kept_in<'k>(kept: &'k [Unmodelled], within: Option<&str>) -> Vec<&'k Unmodelled> {
    kept.iter().filter(|u| u.within.as_deref() == within).collect()
}

/// An XML text builder for the one layout D365 uses.
struct Xml {
    buf: String,
    root: &'static str,
}

impl Xml {
    fn new(root: &'static str, metadata_namespace: bool) -> Xml {
        let mut buf = String::with_capacity(1024);
        buf.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<");
        buf.push_str(root);
        buf.push_str(" xmlns:i=\"");
        buf.push_str(XSI);
        buf.push('"');
        if metadata_namespace {
            buf.push_str(" xmlns=\"");
            buf.push_str(METADATA_NS);
            buf.push('"');
        }
        buf.push_str(">\n");
        Xml { buf, root }
    }

    fn finish(mut self) -> String {
        self.buf.push_str("</");
        self.buf.push_str(self.root);
        self.buf.push('>');
        self.buf
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.buf.push('\t');
        }
    }

    fn leaf(&mut self, depth: usize, name: &str, value: &str) {
        self.indent(depth);
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
        escape_into(&mut self.buf, value);
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    /// Absent and empty values are both left out, as D365 leaves out unset properties.
    fn opt(&mut self, depth: usize, name: &str, value: Option<&str>) {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.leaf(depth, name, value);
        }
    }

    fn empty(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(" />\n");
    }

    fn open(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    fn close(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    /// A collection, with the object's kept elements that sit in it: `<Name />`
    /// when it holds nothing, as D365 writes it.
    fn list_kept<T>(&mut self, depth: usize, name: &str, items: &[T], kept: &[Unmodelled], mut item: impl FnMut(&mut Xml, &T)) {
        let kept = kept_in(kept, Some(name));
        if items.is_empty() && kept.is_empty() {
            self.empty(depth, name);
            return;
        }
        self.open(depth, name);
        let start = self.buf.len();
        for i in items {
            item(self, i);
        }
        self.splice(depth + 1, start, &kept);
        self.close(depth, name);
    }

    /// A list of references; a reference kept as written
    /// ([`Unmodelled::reference_as_written`]) is written as it was read.
    fn references(&mut self, depth: usize, name: &str, item: &str, names: &[String], kept: &[Unmodelled]) {
        let (written, others): (Vec<Unmodelled>, Vec<Unmodelled>) = kept.iter().cloned().partition(|u| u.is_reference_in(name, item));
        self.list_kept(depth, name, names, &others, |x, n| match Unmodelled::written_reference(&written, name, item, n) {
            Some(as_written) => render(&mut x.buf, depth + 1, &as_written.element),
            None => {
                x.open(depth + 1, item);
                x.leaf(depth + 2, "Name", n);
                x.close(depth + 1, item);
            }
        });
    }

    /// Puts kept elements back among the children written since `from` (all
    /// at `depth`): each after the last sibling of the name it followed in its
    /// file, or after the others when there is none; a kept element replaces
    /// an empty one of its name that the writer wrote by default (`<Forms />`).
    ///
    /// The writer's layout makes the split safe: every child starts on a line
    /// of `depth` tabs and `<`, and text never holds a raw `<`.
    fn splice(&mut self, depth: usize, from: usize, kept: &[&Unmodelled]) {
        if kept.is_empty() {
            return;
        }
        let written = self.buf.split_off(from);
        let prefix = format!("{}<", "\t".repeat(depth));
        let mut children: Vec<(String, String)> = Vec::new();
        for line in written.split_inclusive('\n') {
            match line.strip_prefix(&prefix).filter(|rest| !rest.starts_with('/')) {
                Some(rest) => {
                    let name = rest.split([' ', '>', '/']).next().unwrap_or_default();
                    children.push((name.to_string(), line.to_string()));
                }
                None => match children.last_mut() {
                    Some((_, text)) => text.push_str(line),
                    None => children.push((String::new(), line.to_string())),
                },
            }
        }
        children.retain(|(name, text)| {
            let default_empty = *text == format!("{prefix}{name} />\n");
            !(default_empty && kept.iter().any(|u| u.element.name == *name))
        });
        let mut leading = 0;
        for u in kept {
            let at = match &u.after {
                None => {
                    leading += 1;
                    leading - 1
                }
                Some(after) => children.iter().rposition(|(name, _)| name == after).map_or(children.len(), |i| i + 1),
            };
            let mut text = String::new();
            render(&mut text, depth, &u.element);
            children.insert(at.min(children.len()), (u.element.name.clone(), text));
        }
        for (_, text) in children {
            self.buf.push_str(&text);
        }
    }

    /// Permissions in alphabetical order, unset ones left out; a grant of
    /// nothing is no `Grant` element at all, as D365 writes it.
    fn grant(&mut self, depth: usize, grant: &Grant) {
        const ORDER: [Access; 6] = [Access::Correct, Access::Create, Access::Delete, Access::Invoke, Access::Read, Access::Update];
        if grant.allow.union(grant.deny).is_empty() {
            return;
        }
        self.open(depth, "Grant");
        for (access, permission) in ORDER.into_iter().filter_map(|a| grant.get(a).map(|p| (a, p))) {
            let value = match permission {
                Permission::Allow => "Allow",
                Permission::Deny => "Deny",
            };
            self.leaf(depth + 1, access.as_str(), value);
        }
        self.close(depth, "Grant");
    }
}

/// A kept element as Visual Studio lays it out: one element per line, tabs,
/// `<Name />` when it holds nothing.
fn render(out: &mut String, depth: usize, e: &XmlElement) {
    for _ in 0..depth {
        out.push('\t');
    }
    out.push('<');
    out.push_str(&e.name);
    for a in &e.attributes {
        out.push(' ');
        out.push_str(&a.name);
        out.push_str("=\"");
        escape_attribute_into(out, &a.value);
        out.push('"');
    }
    let text = e.text.as_deref().filter(|t| !t.is_empty());
    if e.children.is_empty() {
        match text {
            None => out.push_str(" />\n"),
            Some(t) => {
                out.push('>');
                escape_into(out, t);
                out.push_str("</");
                out.push_str(&e.name);
                out.push_str(">\n");
            }
        }
        return;
    }
    out.push('>');
    if let Some(t) = text {
        escape_into(out, t);
    }
    out.push('\n');
    for child in &e.children {
        render(out, depth + 1, child);
    }
    for _ in 0..depth {
        out.push('\t');
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push_str(">\n");
}

/// Escapes an attribute value: markup, the quote, and the white space that
/// attribute-value normalisation would turn into spaces.
pub(crate) fn escape_attribute_into(buf: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => buf.push_str("&amp;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '"' => buf.push_str("&quot;"),
            c if c.is_control() => {
                let _ = write!(buf, "&#x{:X};", u32::from(c));
            }
            c => buf.push(c),
        }
    }
}

/// Escapes text content. `\r` becomes a character reference so that it survives
/// the line-end normalisation every XML reader applies; other control characters
/// likewise, though XML 1.0 readers may still refuse them.
pub(crate) fn escape_into(buf: &mut String, text: &str) {
    if !text.contains(|c: char| matches!(c, '&' | '<' | '>') || (c.is_control() && c != '\t' && c != '\n')) {
        buf.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '&' => buf.push_str("&amp;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '\t' | '\n' => buf.push(c),
            c if c.is_control() => {
                let _ = write!(buf, "&#x{:X};", u32::from(c));
            }
            c => buf.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_carriage_returns() {
        let mut s = String::new();
        escape_into(&mut s, "a & b < c > d \"e\" 'f'\r\n\tü");
        assert_eq!(s, "a &amp; b &lt; c &gt; d \"e\" 'f'&#xD;\n\tü");
    }

    #[test]
    fn refuses_names_that_leave_the_output_directory() {
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "c:x", "a\0b"] {
            assert!(check_file_name("role", bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_file_name("role", "SysServerAXBasicMaintain.DEVCommon").is_ok());
    }
}
