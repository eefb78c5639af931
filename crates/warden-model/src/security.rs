//! Security objects as D365 defines them: entry points, privileges, duties, roles,
//! their extensions and XDS policies.

use crate::access::Grant;
use crate::ParseEnumError;
use crate::unmodelled::Unmodelled;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = ParseEnumError;
            /// Case-insensitive: D365 writes these in PascalCase, people type them in any case.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
                    let expected: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    ParseEnumError::new($what, s, &expected.join(", "))
                })
            }
        }
    };
}

string_enum!(
    /// The kind of object an entry point gates.
    EntryPointType, "entry point type" {
    MenuItemDisplay, MenuItemAction, MenuItemOutput, ServiceOperation, DataEntity,
});

string_enum!(
    /// D365 user licence types, as used by menu items' view and maintain licence properties.
    Licence, "licence" {
    None, Universal, Activity, Task, Functional, Operations, Enterprise, SelfServe, TeamMembers,
});

string_enum!(
    /// How an XDS policy decides whether it applies to a session.
    PolicyContextType, "policy context type" {
    ContextString, RoleName, RoleProperty,
});

// The enum comes from `string_enum!`, which cannot carry `#[default]`.
#[allow(clippy::derivable_impls)]
impl Default for Licence {
    fn default() -> Self {
        Licence::None
    }
}

impl EntryPointType {
    pub const fn is_menu_item(self) -> bool {
        matches!(self, EntryPointType::MenuItemDisplay | EntryPointType::MenuItemAction | EntryPointType::MenuItemOutput)
    }
}

/// Identifies an entry point. Names are unique per type only: a display and an
/// action menu item may share a name, so the type is part of the key.
///
/// For a service operation the name is `Service.Operation`, as D365 shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntryPointKey {
    pub kind: EntryPointType,
    pub name: String,
}

impl EntryPointKey {
    pub fn new(kind: EntryPointType, name: impl Into<String>) -> Self {
        EntryPointKey { kind, name: name.into() }
    }
}

impl fmt::Display for EntryPointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl FromStr for EntryPointKey {
    type Err = ParseEnumError;
    /// Parses `TYPE/NAME`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, name) = s
            .split_once('/')
            .ok_or_else(|| ParseEnumError::new("entry point", s, "TYPE/NAME, e.g. MenuItemDisplay/CustTable"))?;
        Ok(EntryPointKey { kind: kind.parse()?, name: name.to_string() })
    }
}

/// The gate to a function: a menu item, a service operation or a data entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryPoint {
    pub kind: EntryPointType,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_text: Option<String>,
    /// The object the menu item opens (form, class, report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The menu item's `ObjectType` property (e.g. `Class`), kept for export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    #[serde(default)]
    pub view_licence: Licence,
    #[serde(default)]
    pub maintain_licence: Licence,
    /// The AOT model that defines this entry point; `None` when it is only known
    /// because a privilege references it (service operations, data entities, or
    /// menu items of models that were not imported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Elements of the AOT file that Warden does not interpret, kept so that
    /// `export aot` writes them back ([`Unmodelled`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<Unmodelled>,
}

impl EntryPoint {
    pub fn key(&self) -> EntryPointKey {
        EntryPointKey::new(self.kind, self.name.clone())
    }

    /// An entry point known only by reference.
    pub fn referenced(key: &EntryPointKey) -> EntryPoint {
        EntryPoint {
            kind: key.kind,
            name: key.name.clone(),
            label: None,
            help_text: None,
            object: None,
            object_type: None,
            view_licence: Licence::None,
            maintain_licence: Licence::None,
            model: None,
            unmodelled: Vec::new(),
        }
    }
}

/// A privilege's grant on one entry point, as the AOT's `AxSecurityEntryPointReference`
/// (or `AxSecurityDataEntityPermission` for data entities) writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryPointGrant {
    /// The reference's own `Name`, which may differ from the object's name.
    pub name: String,
    pub kind: EntryPointType,
    /// `ObjectName`: the menu item, service or data entity.
    pub object: String,
    /// `ObjectChildName`: the operation of a service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    pub grant: Grant,
    /// Elements of the AOT file that Warden does not interpret, kept so that
    /// `export aot` writes them back ([`Unmodelled`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<Unmodelled>,
}

impl EntryPointGrant {
    /// The entry point this grant is on.
    pub fn key(&self) -> EntryPointKey {
        match &self.child {
            Some(child) => EntryPointKey::new(self.kind, format!("{}.{}", self.object, child)),
            None => EntryPointKey::new(self.kind, self.object.clone()),
        }
    }
}

/// A grant on a table (`DirectAccessPermissions`). Kept so that export gives back
/// what was imported; it does not take part in entry-point checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableGrant {
    pub table: String,
    pub grant: Grant,
    /// Elements of the AOT file that Warden does not interpret, kept so that
    /// `export aot` writes them back ([`Unmodelled`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<Unmodelled>,
}

/// Grants access levels on entry points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Privilege {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub entry_points: Vec<EntryPointGrant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub direct_access: Vec<TableGrant>,
    /// Elements of the AOT file that Warden does not interpret, kept so that
    /// `export aot` writes them back ([`Unmodelled`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<Unmodelled>,
}

/// A business responsibility: a group of privileges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Duty {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub privileges: Vec<String>,
    /// Elements of the AOT file that Warden does not interpret, kept so that
    /// `export aot` writes them back ([`Unmodelled`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<Unmodelled>,
}

/// What users are assigned: duties, privileges and sub-roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Role {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub duties: Vec<String>,
    #[serde(default)]
    pub privileges: Vec<String>,
    #[serde(default)]
    pub sub_roles: Vec<String>,
    /// Elements of the AOT file that Warden does not interpret, kept so that
    /// `export aot` writes them back ([`Unmodelled`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<Unmodelled>,
}

impl Role {
    pub fn new(name: impl Into<String>) -> Role {
        Role {
            name: name.into(),
            label: None,
            description: None,
            model: None,
            duties: Vec::new(),
            privileges: Vec::new(),
            sub_roles: Vec::new(),
            unmodelled: Vec::new(),
        }
    }
}

/// `AxSecurityRoleExtension`: adds duties, privileges and sub-roles to a role of
/// another model. Its name is `Target.Suffix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleExtension {
    pub name: String,
    /// The role being extended.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub duties: Vec<String>,
    #[serde(default)]
    pub privileges: Vec<String>,
    #[serde(default)]
    pub sub_roles: Vec<String>,
    /// Elements of the AOT file that Warden does not interpret, kept so that
    /// `export aot` writes them back ([`Unmodelled`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<Unmodelled>,
}

/// `AxSecurityDutyExtension`: adds privileges to a duty of another model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DutyExtension {
    pub name: String,
    /// The duty being extended.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub privileges: Vec<String>,
    /// Elements of the AOT file that Warden does not interpret, kept so that
    /// `export aot` writes them back ([`Unmodelled`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<Unmodelled>,
}

impl RoleExtension {
    /// D365 names extensions `Target.Suffix`; the target is the part before the first dot.
    pub fn target_of(name: &str) -> &str {
        name.split_once('.').map_or(name, |(t, _)| t)
    }
}

/// An extensible data security (XDS) policy: a row-level filter applied by role context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The table whose query defines the restriction.
    pub primary_table: String,
    /// The AOT query that selects the allowed primary-table rows.
    pub query: String,
    pub context_type: PolicyContextType,
    /// The context string, role name or role property, depending on `context_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// Tables filtered through their relation to the primary table.
    #[serde(default)]
    pub constrained_tables: Vec<String>,
    /// D365 `Operation` (Select, Insert, Update, Delete, ...), as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub enabled: bool,
    /// Elements of the AOT file that Warden does not interpret, kept so that
    /// `export aot` writes them back ([`Unmodelled`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<Unmodelled>,
}
