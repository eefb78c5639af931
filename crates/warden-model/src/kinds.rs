//! The one table of object kinds. Every list over the kinds that is the same
//! for each of them (the kind enum and its codes, the [`Object`] enum, its key,
//! its stored JSON, how the [`Model`] holds, finds, puts and removes it, the
//! audit trail's action names, the OpenAPI component name) is generated from
//! the rows of [`object_kinds!`], so that a new kind is one row plus its type;
//! what is particular to a kind (its validation, its API examples) stays with it.

use crate::identity::{Assignment, Credential, Organization, User};
use crate::model::{Map, Model};
use crate::rules::AssignmentRule;
use crate::security::{Duty, DutyExtension, EntryPoint, EntryPointKey, Policy, Privilege, Role, RoleExtension};
use crate::session::{PrivilegedSession, SessionSettings, TempRoleSession, SESSION_SETTINGS_KEY};
use crate::sod::{SodConflict, SodRule, SodSettings, SOD_SETTINGS_KEY};
use crate::webhook::Webhook;
use crate::Assignments;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the [`Model`] holds the objects of one kind: a map by name, the entry
/// points by their typed key, the assignments by user, a settings singleton.
/// `name` is the object's key name ([`Object::key`]); `put` takes the function
/// that makes it, so that only the maps by name pay for the string.
trait Shelf<T> {
    fn put(&mut self, x: T, name: fn(&T) -> String);
    fn remove(&mut self, name: &str) -> bool;
    fn get(&self, name: &str) -> Option<&T>;
    fn all(&self) -> Box<dyn Iterator<Item = &T> + '_>;
}

impl<T: Clone> Shelf<T> for Map<String, T> {
    fn put(&mut self, x: T, name: fn(&T) -> String) {
        self.insert(name(&x), x);
    }
    fn remove(&mut self, name: &str) -> bool {
        Map::remove(self, name).is_some()
    }
    fn get(&self, name: &str) -> Option<&T> {
        Map::get(self, name)
    }
    fn all(&self) -> Box<dyn Iterator<Item = &T> + '_> {
        Box::new(self.values())
    }
}

impl Shelf<EntryPoint> for Map<EntryPointKey, EntryPoint> {
    fn put(&mut self, x: EntryPoint, _: fn(&EntryPoint) -> String) {
        self.insert(x.key(), x);
    }
    fn remove(&mut self, name: &str) -> bool {
        name.parse::<EntryPointKey>().is_ok_and(|k| Map::remove(self, &k).is_some())
    }
    fn get(&self, name: &str) -> Option<&EntryPoint> {
        Map::get(self, &name.parse::<EntryPointKey>().ok()?)
    }
    fn all(&self) -> Box<dyn Iterator<Item = &EntryPoint> + '_> {
        Box::new(self.values())
    }
}

/// The settings kinds: one object under a fixed key, or none (the defaults).
impl<T> Shelf<T> for Option<T> {
    fn put(&mut self, x: T, _: fn(&T) -> String) {
        *self = Some(x);
    }
    fn remove(&mut self, _: &str) -> bool {
        self.take().is_some()
    }
    fn get(&self, _: &str) -> Option<&T> {
        self.as_ref()
    }
    fn all(&self) -> Box<dyn Iterator<Item = &T> + '_> {
        Box::new(self.iter())
    }
}

impl Shelf<Assignment> for Assignments {
    fn put(&mut self, x: Assignment, _: fn(&Assignment) -> String) {
        Assignments::put(self, x);
    }
    fn remove(&mut self, name: &str) -> bool {
        crate::split_key(name).is_some_and(|[user, role]| Assignments::remove(self, &user, &role).is_some())
    }
    fn get(&self, name: &str) -> Option<&Assignment> {
        let [user, role] = crate::split_key(name)?;
        self.of(&user).iter().find(|a| a.role == role)
    }
    fn all(&self) -> Box<dyn Iterator<Item = &Assignment> + '_> {
        Box::new(self.iter())
    }
}

/// Each kind's key name ([`Object::key`]), from its row of [`object_kinds!`].
trait KeyName {
    const KEY: fn(&Self) -> String;
}

/// Generates everything that is one arm per kind. Each row: the kind (and its
/// model type, which has the same name), then
/// - `code`: the stable identifier in storage, JSON and URLs;
/// - `label`: how messages name it;
/// - `audit`: the first word of its audit actions (`role create`, ...);
/// - `field`: the [`Model`] field that holds it;
/// - `key`: its key name (see [`Object::key`]);
/// - `deployable`: whether the code layer (an AOT import) holds it.
macro_rules! object_kinds {
    ($(
        $(#[$doc:meta])*
        $kind:ident {
            code: $code:literal,
            label: $label:literal,
            audit: $audit:literal,
            field: $field:ident,
            key: $key:expr,
            deployable: $deployable:literal $(,)?
        }
    ),* $(,)?) => {
        /// The kinds of object Warden stores, as the AOT names them where D365 has a name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ObjectKind {
            $($(#[$doc])* $kind,)*
        }

        impl ObjectKind {
            pub const ALL: [ObjectKind; [$(stringify!($kind)),*].len()] = [$(ObjectKind::$kind),*];

            /// The stable identifier used in storage, JSON and URLs (`entry_point`, `role`, ...).
            pub const fn code(self) -> &'static str {
                match self { $(ObjectKind::$kind => $code,)* }
            }

            /// How messages name the kind (`entry point`, `SoD rule`, ...).
            pub const fn as_str(self) -> &'static str {
                match self { $(ObjectKind::$kind => $label,)* }
            }

            /// Deployable security objects, which the code layer (an AOT import) holds;
            /// the other kinds are business data and live in the database layer only.
            pub const fn is_deployable(self) -> bool {
                match self { $(ObjectKind::$kind => $deployable,)* }
            }

            /// The model type's name (`Role`, `EntryPoint`, ...), which is also
            /// the OpenAPI component that describes it.
            pub const fn type_name(self) -> &'static str {
                match self { $(ObjectKind::$kind => stringify!($kind),)* }
            }

            /// The audit trail's name for a generic `create`, `replace` or
            /// `delete` of this kind (`role create`, `user delete`, ...): a
            /// closed vocabulary, so a fixed table rather than `format!`.
            pub const fn audit_action(self, verb: Verb) -> &'static str {
                match (self, verb) {
                    $(
                        (ObjectKind::$kind, Verb::Create) => concat!($audit, " create"),
                        (ObjectKind::$kind, Verb::Replace) => concat!($audit, " replace"),
                        (ObjectKind::$kind, Verb::Delete) => concat!($audit, " delete"),
                    )*
                }
            }
        }

        /// One object of any kind. The store keeps objects as documents keyed by [`Object::key`].
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "kind", content = "object", rename_all = "snake_case")]
        pub enum Object {
            $($kind($kind),)*
        }

        $(impl KeyName for $kind {
            const KEY: fn(&$kind) -> String = $key;
        })*

        impl Object {
            pub fn kind(&self) -> ObjectKind {
                match self { $(Object::$kind(_) => ObjectKind::$kind,)* }
            }

            /// The object's key: its name; `TYPE/NAME` for entry points (types hold
            /// no `/`, so the first one splits it); `USER/ROLE` for assignments and
            /// `USER/RULE` for SoD conflicts, joined by [`crate::join_key`] so that
            /// names holding `/` cannot make two objects share a key.
            pub fn key(&self) -> crate::ObjectRef {
                crate::ObjectRef::new(self.kind(), self.key_name())
            }

            fn key_name(&self) -> String {
                match self { $(Object::$kind(x) => <$kind as KeyName>::KEY(x),)* }
            }

            /// Serializes only the inner object (the kind is in the key), for storage and audit.
            pub fn to_body(&self) -> serde_json::Value {
                match self { $(Object::$kind(x) => serde_json::to_value(x),)* }
                    .expect("model types serialize to JSON infallibly")
            }

            /// [`Object::to_body`] as text, straight from the typed struct: going
            /// through `serde_json::Value` costs an allocation per field, which
            /// shows when half a million rows are stored or loaded.
            pub fn to_json(&self) -> String {
                match self { $(Object::$kind(x) => serde_json::to_string(x),)* }
                    .expect("model types serialize to JSON infallibly")
            }

            /// The inverse of [`Object::to_body`].
            pub fn from_body(kind: ObjectKind, body: serde_json::Value) -> Result<Object, serde_json::Error> {
                Ok(match kind { $(ObjectKind::$kind => Object::$kind(serde_json::from_value(body)?),)* })
            }

            /// The inverse of [`Object::to_json`].
            pub fn from_json(kind: ObjectKind, body: &str) -> Result<Object, serde_json::Error> {
                Ok(match kind { $(ObjectKind::$kind => Object::$kind(serde_json::from_str(body)?),)* })
            }
        }

        impl Model {
            /// Adds or replaces one object.
            pub fn put(&mut self, object: Object) {
                match object { $(Object::$kind(x) => Shelf::put(&mut self.$field, x, <$kind as KeyName>::KEY),)* }
            }

            /// Removes one object; false if there was none.
            pub fn remove(&mut self, key: &crate::ObjectRef) -> bool {
                match key.kind { $(ObjectKind::$kind => Shelf::<$kind>::remove(&mut self.$field, &key.name),)* }
            }

            /// The object under `key`, if the model holds it.
            pub fn get(&self, key: &crate::ObjectRef) -> Option<Object> {
                match key.kind { $(ObjectKind::$kind => Shelf::<$kind>::get(&self.$field, &key.name).cloned().map(Object::$kind),)* }
            }

            /// The objects of one kind, in the model's order.
            pub fn objects_of(&self, kind: ObjectKind) -> Box<dyn Iterator<Item = Object> + '_> {
                match kind { $(ObjectKind::$kind => Box::new(Shelf::<$kind>::all(&self.$field).cloned().map(Object::$kind)),)* }
            }

            /// How many objects of one kind the model holds.
            pub fn count_of(&self, kind: ObjectKind) -> usize {
                match kind { $(ObjectKind::$kind => Shelf::<$kind>::all(&self.$field).count(),)* }
            }
        }
    };
}

/// The generic writes every kind has, as the audit trail names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Create,
    Replace,
    Delete,
}

object_kinds! {
    EntryPoint { code: "entry_point", label: "entry point", audit: "entry-point", field: entry_points, key: |x| x.key().to_string(), deployable: true },
    Privilege { code: "privilege", label: "privilege", audit: "privilege", field: privileges, key: |x| x.name.clone(), deployable: true },
    Duty { code: "duty", label: "duty", audit: "duty", field: duties, key: |x| x.name.clone(), deployable: true },
    Role { code: "role", label: "role", audit: "role", field: roles, key: |x| x.name.clone(), deployable: true },
    RoleExtension { code: "role_extension", label: "role extension", audit: "role-extension", field: role_extensions, key: |x| x.name.clone(), deployable: true },
    DutyExtension { code: "duty_extension", label: "duty extension", audit: "duty-extension", field: duty_extensions, key: |x| x.name.clone(), deployable: true },
    Policy { code: "policy", label: "policy", audit: "policy", field: policies, key: |x| x.name.clone(), deployable: true },
    Organization { code: "organization", label: "organization", audit: "org", field: organizations, key: |x| x.id.clone(), deployable: false },
    User { code: "user", label: "user", audit: "user", field: users, key: |x| x.id.clone(), deployable: false },
    Assignment { code: "assignment", label: "assignment", audit: "assignment", field: assignments, key: |x| crate::object::assignment_key(&x.user, &x.role), deployable: false },
    AssignmentRule { code: "assignment_rule", label: "assignment rule", audit: "assignment-rule", field: assignment_rules, key: |x| x.name.clone(), deployable: false },
    Credential { code: "credential", label: "credential", audit: "credential", field: credentials, key: |x| x.id.clone(), deployable: false },
    SodRule { code: "sod_rule", label: "SoD rule", audit: "sod-rule", field: sod_rules, key: |x| x.name.clone(), deployable: false },
    SodConflict { code: "sod_conflict", label: "SoD conflict", audit: "sod-conflict", field: sod_conflicts, key: |x| SodConflict::key_of(&x.user, &x.rule), deployable: false },
    SodSettings { code: "sod_settings", label: "SoD settings", audit: "sod-settings", field: sod_settings, key: |_| SOD_SETTINGS_KEY.to_string(), deployable: false },
    Webhook { code: "webhook", label: "webhook", audit: "webhook", field: webhooks, key: |x| x.id.clone(), deployable: false },
    TempRoleSession { code: "temp_role_session", label: "temporary role session", audit: "temp-session", field: temp_role_sessions, key: |x| x.id.clone(), deployable: false },
    PrivilegedSession { code: "privileged_session", label: "privileged user session", audit: "privileged-session", field: privileged_sessions, key: |x| x.id.clone(), deployable: false },
    SessionSettings { code: "session_settings", label: "session settings", audit: "session-settings", field: session_settings, key: |_| SESSION_SETTINGS_KEY.to_string(), deployable: false },
}

impl ObjectKind {
    pub fn from_code(code: &str) -> Option<ObjectKind> {
        ObjectKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Model {
    /// Every object in the model, kind by kind in [`ObjectKind::ALL`]'s order
    /// (security objects first), each kind in the model's order.
    pub fn objects(&self) -> impl Iterator<Item = Object> + '_ {
        ObjectKind::ALL.into_iter().flat_map(move |kind| self.objects_of(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_type_names_are_unique_and_codes_match_serde() {
        let codes: std::collections::HashSet<_> = ObjectKind::ALL.iter().map(|k| k.code()).collect();
        let types: std::collections::HashSet<_> = ObjectKind::ALL.iter().map(|k| k.type_name()).collect();
        assert_eq!(codes.len(), ObjectKind::ALL.len());
        assert_eq!(types.len(), ObjectKind::ALL.len());
        for kind in ObjectKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.code(), "{kind:?}");
            assert_eq!(ObjectKind::from_code(kind.code()), Some(kind));
        }
    }

    #[test]
    fn every_kind_round_trips_through_the_model_by_its_key() {
        let mut model = Model::default();
        let objects = [
            Object::Organization(Organization { id: "USMF".into(), name: None }),
            Object::User(User::new("a/b")),
            Object::Assignment(Assignment::global("a/b", "Clerk")),
            Object::SodSettings(SodSettings::default()),
        ];
        for object in &objects {
            model.put(object.clone());
            assert_eq!(model.get(&object.key()).as_ref(), Some(object), "{:?}", object.key());
            assert_eq!(model.count_of(object.kind()), 1);
            let text = object.to_json();
            assert_eq!(&Object::from_json(object.kind(), &text).unwrap(), object);
            assert_eq!(&Object::from_body(object.kind(), object.to_body()).unwrap(), object);
        }
        assert_eq!(model.objects().count(), objects.len());
        for object in &objects {
            assert!(model.remove(&object.key()), "{:?}", object.key());
            assert!(!model.remove(&object.key()));
            assert_eq!(model.get(&object.key()), None);
        }
    }

    #[test]
    fn audit_actions_name_the_kind_and_the_verb() {
        assert_eq!(ObjectKind::Role.audit_action(Verb::Create), "role create");
        assert_eq!(ObjectKind::Organization.audit_action(Verb::Delete), "org delete");
        assert_eq!(ObjectKind::TempRoleSession.audit_action(Verb::Replace), "temp-session replace");
    }
}
