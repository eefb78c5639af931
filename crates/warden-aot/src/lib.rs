//! D365 F&O AOT security metadata: the XML files a Finance & Operations model
//! keeps under `<Package>/<Model>/AxSecurityRole/*.xml` and its sibling folders.
//!
//! Security teams keep their roles in git next to the X++ code, so Warden has to
//! read exactly what Visual Studio writes and write files that Visual Studio
//! takes back without a diff. This crate is that bridge: [`read_paths`] turns a
//! package directory into a [`warden_model::Model`], [`write_model`] turns a model
//! back into AOT files.
//!
//! Input is treated as untrusted: files are size-capped, DTDs and custom
//! entities are refused, nesting is bounded, and every problem is reported as
//! `file:line:column: what is wrong`.

mod attributes;
mod compare;
mod error;
mod import;
mod read;
pub mod security_config;
mod spelling;
mod write;

pub use compare::{xml_difference, XmlDifference};
pub use error::AotError;
pub use import::{AotImport, read_paths};
pub use security_config::{
    ConfigEntry, ConfigList, DisabledEntry, SecurityConfig, parse_security_config, read_security_config, security_config_to_xml,
    write_file_atomically,
};
pub use spelling::{respell_references, Respelled};
pub use read::{MAX_DEPTH, MAX_FILE_SIZE, parse_object, read_file};
pub use write::{WriteReport, export_model, object_to_xml, write_model};

use warden_model::{Duty, DutyExtension, EntryPoint, EntryPointType, Object, Policy, Privilege, Role, RoleExtension, XmlElement};

/// The tables an XDS policy's `<ConstrainedTables>` tree names, depth first:
/// every `AxSecurityPolicyConstrainedEntity` (table or expression) at any
/// depth is filtered. `Err` when one has no `Name`.
pub(crate) fn constrained_table_names(tree: &XmlElement) -> Result<Vec<String>, ()> {
    let mut out = Vec::new();
    for entity in tree.children.iter().filter(|c| c.name == "AxSecurityPolicyConstrainedEntity") {
        let name = entity.child("Name").and_then(|n| n.text.as_deref()).map(str::trim).filter(|n| !n.is_empty()).ok_or(())?;
        out.push(name.to_string());
        if let Some(nested) = entity.child("ConstrainedTables") {
            out.extend(constrained_table_names(nested)?);
        }
    }
    Ok(out)
}

/// `<ConstrainedTables>` as the writer writes a flat list of tables: what a
/// tree that says no more than the list looks like.
pub(crate) fn flat_constrained_tables<'n>(names: impl IntoIterator<Item = &'n str>) -> XmlElement {
    use warden_model::XmlAttribute;
    let mut list = XmlElement::new("ConstrainedTables");
    for name in names {
        let mut entity = XmlElement::new("AxSecurityPolicyConstrainedEntity");
        entity.attributes.push(XmlAttribute { name: "xmlns".into(), value: String::new() });
        entity.attributes.push(XmlAttribute { name: "i:type".into(), value: "AxSecurityPolicyConstrainedTable".into() });
        let mut n = XmlElement::new("Name");
        n.text = Some(name.to_string());
        entity.children.push(n);
        entity.children.push(XmlElement::new("ConstrainedTables"));
        list.children.push(entity);
    }
    list
}

/// One AOT file's worth of security metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AotObject {
    Role(Role),
    Duty(Duty),
    Privilege(Privilege),
    Policy(Policy),
    RoleExtension(RoleExtension),
    DutyExtension(DutyExtension),
    /// A display, action or output menu item: the entry point and its licences.
    MenuItem(EntryPoint),
}

impl AotObject {
    /// What the object keeps of its file beyond Warden's model.
    pub(crate) fn unmodelled(&self) -> &[warden_model::Unmodelled] {
        match self {
            AotObject::Role(x) => &x.unmodelled,
            AotObject::Duty(x) => &x.unmodelled,
            AotObject::Privilege(x) => &x.unmodelled,
            AotObject::Policy(x) => &x.unmodelled,
            AotObject::RoleExtension(x) => &x.unmodelled,
            AotObject::DutyExtension(x) => &x.unmodelled,
            AotObject::MenuItem(x) => &x.unmodelled,
        }
    }

    pub(crate) fn unmodelled_mut(&mut self) -> &mut Vec<warden_model::Unmodelled> {
        match self {
            AotObject::Role(x) => &mut x.unmodelled,
            AotObject::Duty(x) => &mut x.unmodelled,
            AotObject::Privilege(x) => &mut x.unmodelled,
            AotObject::Policy(x) => &mut x.unmodelled,
            AotObject::RoleExtension(x) => &mut x.unmodelled,
            AotObject::DutyExtension(x) => &mut x.unmodelled,
            AotObject::MenuItem(x) => &mut x.unmodelled,
        }
    }

    /// The object's AOT `Name`, which is also its file stem.
    pub fn name(&self) -> &str {
        match self {
            AotObject::Role(x) => &x.name,
            AotObject::Duty(x) => &x.name,
            AotObject::Privilege(x) => &x.name,
            AotObject::Policy(x) => &x.name,
            AotObject::RoleExtension(x) => &x.name,
            AotObject::DutyExtension(x) => &x.name,
            AotObject::MenuItem(x) => &x.name,
        }
    }
}

impl From<AotObject> for Object {
    fn from(object: AotObject) -> Object {
        match object {
            AotObject::Role(x) => Object::Role(x),
            AotObject::Duty(x) => Object::Duty(x),
            AotObject::Privilege(x) => Object::Privilege(x),
            AotObject::Policy(x) => Object::Policy(x),
            AotObject::RoleExtension(x) => Object::RoleExtension(x),
            AotObject::DutyExtension(x) => Object::DutyExtension(x),
            AotObject::MenuItem(x) => Object::EntryPoint(x),
        }
    }
}

/// The AOT types this crate reads and writes; each is a root element name and a folder name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum AxType {
    Role,
    Duty,
    Privilege,
    Policy,
    RoleExtension,
    DutyExtension,
    MenuItemDisplay,
    MenuItemAction,
    MenuItemOutput,
}

impl AxType {
    pub(crate) const ALL: [AxType; 9] = [
        AxType::Role,
        AxType::Duty,
        AxType::Privilege,
        AxType::Policy,
        AxType::RoleExtension,
        AxType::DutyExtension,
        AxType::MenuItemDisplay,
        AxType::MenuItemAction,
        AxType::MenuItemOutput,
    ];

    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            AxType::Role => "AxSecurityRole",
            AxType::Duty => "AxSecurityDuty",
            AxType::Privilege => "AxSecurityPrivilege",
            AxType::Policy => "AxSecurityPolicy",
            AxType::RoleExtension => "AxSecurityRoleExtension",
            AxType::DutyExtension => "AxSecurityDutyExtension",
            AxType::MenuItemDisplay => "AxMenuItemDisplay",
            AxType::MenuItemAction => "AxMenuItemAction",
            AxType::MenuItemOutput => "AxMenuItemOutput",
        }
    }

    pub(crate) fn from_name(name: &[u8]) -> Option<AxType> {
        AxType::ALL.into_iter().find(|t| t.as_str().as_bytes() == name)
    }

    /// Folder names are compared without case because Windows, where D365 lives, does.
    pub(crate) fn from_folder(name: &str) -> Option<AxType> {
        AxType::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(name))
    }

    pub(crate) const fn of_entry_point(kind: EntryPointType) -> Option<AxType> {
        match kind {
            EntryPointType::MenuItemDisplay => Some(AxType::MenuItemDisplay),
            EntryPointType::MenuItemAction => Some(AxType::MenuItemAction),
            EntryPointType::MenuItemOutput => Some(AxType::MenuItemOutput),
            EntryPointType::ServiceOperation | EntryPointType::DataEntity => None,
        }
    }
}
