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
    PolicyContextType, Privilege, Role, RoleExtension,
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
        writer.write(AxType::Role, x.model.as_deref(), &x.name, || role_xml(x))?;
    }
    for x in model.duties.values() {
        writer.write(AxType::Duty, x.model.as_deref(), &x.name, || duty_xml(x))?;
    }
    for x in model.privileges.values() {
        writer.write(AxType::Privilege, x.model.as_deref(), &x.name, || privilege_xml(x))?;
    }
    for x in model.policies.values() {
        writer.write(AxType::Policy, x.model.as_deref(), &x.name, || policy_xml(x))?;
    }
    for x in model.role_extensions.values() {
        writer.write(AxType::RoleExtension, x.model.as_deref(), &x.name, || role_extension_xml(x))?;
    }
    for x in model.duty_extensions.values() {
        writer.write(AxType::DutyExtension, x.model.as_deref(), &x.name, || duty_extension_xml(x))?;
    }
    for x in model.entry_points.values() {
        if let (Some(ax_type), Some(model_name)) = (AxType::of_entry_point(x.kind), x.model.as_deref()) {
            writer.write(ax_type, Some(model_name), &x.name, || menu_item_xml(x))?;
        }
    }
    Ok(writer.report)
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
    let reason = if name.is_empty() {
        "the name is empty"
    } else if name == "." || name == ".." {
        "the name is not a file name"
    } else if name.chars().any(|c| matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c.is_control()) {
        "the name contains a character that file names cannot hold (AOT names are letters, digits, '_' and '.')"
    } else {
        return Ok(());
    };
    Err(AotError::InvalidName { what, name: name.to_string(), reason })
}

fn role_xml(role: &Role) -> String {
    let mut x = Xml::new(AxType::Role.as_str(), false);
    x.leaf(1, "Name", &role.name);
    x.opt(1, "Description", role.description.as_deref());
    x.opt(1, "Label", role.label.as_deref());
    x.empty(1, "DirectAccessPermissions");
    x.references(1, "Duties", "AxSecurityDutyReference", &role.duties);
    x.references(1, "Privileges", "AxSecurityPrivilegeReference", &role.privileges);
    x.references(1, "SubRoles", "AxSecurityRoleReference", &role.sub_roles);
    x.finish()
}

fn duty_xml(duty: &Duty) -> String {
    let mut x = Xml::new(AxType::Duty.as_str(), false);
    x.leaf(1, "Name", &duty.name);
    x.opt(1, "Description", duty.description.as_deref());
    x.opt(1, "Label", duty.label.as_deref());
    x.references(1, "Privileges", "AxSecurityPrivilegeReference", &duty.privileges);
    x.finish()
}

fn privilege_xml(privilege: &Privilege) -> String {
    let mut x = Xml::new(AxType::Privilege.as_str(), false);
    x.leaf(1, "Name", &privilege.name);
    x.opt(1, "Description", privilege.description.as_deref());
    x.opt(1, "Label", privilege.label.as_deref());

    let (entities, entry_points): (Vec<&EntryPointGrant>, Vec<&EntryPointGrant>) =
        privilege.entry_points.iter().partition(|g| g.kind == EntryPointType::DataEntity);
    x.list(1, "DataEntityPermissions", &entities, |x, g| {
        x.open(2, "AxSecurityDataEntityPermission");
        x.grant(3, &g.grant);
        x.leaf(3, "Name", &g.object);
        x.empty(3, "Fields");
        x.empty(3, "Methods");
        x.close(2, "AxSecurityDataEntityPermission");
    });
    x.list(1, "DirectAccessPermissions", &privilege.direct_access, |x, t| {
        x.open(2, "AxSecurityDataEntityReference");
        x.grant(3, &t.grant);
        x.leaf(3, "Name", &t.table);
        x.empty(3, "Fields");
        x.close(2, "AxSecurityDataEntityReference");
    });
    x.list(1, "EntryPoints", &entry_points, |x, g| {
        x.open(2, "AxSecurityEntryPointReference");
        x.leaf(3, "Name", &g.name);
        x.grant(3, &g.grant);
        x.opt(3, "ObjectChildName", g.child.as_deref());
        x.leaf(3, "ObjectName", &g.object);
        x.leaf(3, "ObjectType", g.kind.as_str());
        x.empty(3, "Forms");
        x.close(2, "AxSecurityEntryPointReference");
    });
    x.empty(1, "FormControlOverrides");
    x.finish()
}

fn role_extension_xml(ext: &RoleExtension) -> String {
    let mut x = Xml::new(AxType::RoleExtension.as_str(), false);
    x.leaf(1, "Name", &ext.name);
    x.empty(1, "DirectAccessPermissions");
    x.references(1, "Duties", "AxSecurityDutyReference", &ext.duties);
    x.references(1, "Privileges", "AxSecurityPrivilegeReference", &ext.privileges);
    x.empty(1, "PropertyModifications");
    // Role extensions in the wild carry no SubRoles collection; write one only when needed.
    if !ext.sub_roles.is_empty() {
        x.references(1, "SubRoles", "AxSecurityRoleReference", &ext.sub_roles);
    }
    x.finish()
}

fn duty_extension_xml(ext: &DutyExtension) -> String {
    let mut x = Xml::new(AxType::DutyExtension.as_str(), false);
    x.leaf(1, "Name", &ext.name);
    x.references(1, "Privileges", "AxSecurityPrivilegeReference", &ext.privileges);
    x.empty(1, "PropertyModifications");
    x.finish()
}

fn policy_xml(policy: &Policy) -> String {
    // The reader lists the primary table among the constrained tables when the
    // policy's `ConstrainedTable` flag is set; undo that here.
    let constrains_primary = policy.constrained_tables.iter().any(|t| t.eq_ignore_ascii_case(&policy.primary_table));
    let others: Vec<&String> =
        policy.constrained_tables.iter().filter(|t| !t.eq_ignore_ascii_case(&policy.primary_table)).collect();

    let mut x = Xml::new(AxType::Policy.as_str(), false);
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
    x.list(1, "ConstrainedTables", &others, |x, table| {
        x.indent(2);
        x.buf.push_str("<AxSecurityPolicyConstrainedEntity xmlns=\"\" i:type=\"AxSecurityPolicyConstrainedTable\">\n");
        x.leaf(3, "Name", table);
        x.empty(3, "ConstrainedTables");
        x.close(2, "AxSecurityPolicyConstrainedEntity");
    });
    x.finish()
}

fn menu_item_xml(item: &EntryPoint) -> String {
    let root = match AxType::of_entry_point(item.kind) {
        Some(ax_type) => ax_type.as_str(),
        None if item.kind == EntryPointType::ServiceOperation => "AxServiceOperation",
        None => "AxDataEntity",
    };
    let mut x = Xml::new(root, true);
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
    x.finish()
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

    /// A collection: `<Name />` when empty, as D365 writes it.
    fn list<T>(&mut self, depth: usize, name: &str, items: &[T], mut item: impl FnMut(&mut Xml, &T)) {
        if items.is_empty() {
            self.empty(depth, name);
            return;
        }
        self.open(depth, name);
        for i in items {
            item(self, i);
        }
        self.close(depth, name);
    }

    fn references(&mut self, depth: usize, name: &str, item: &str, names: &[String]) {
        self.list(depth, name, names, |x, n| {
            x.open(depth + 1, item);
            x.leaf(depth + 2, "Name", n);
            x.close(depth + 1, item);
        });
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

/// Escapes text content. `\r` becomes a character reference so that it survives
/// the line-end normalisation every XML reader applies; other control characters
/// likewise, though XML 1.0 readers may still refuse them.
fn escape_into(buf: &mut String, text: &str) {
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
