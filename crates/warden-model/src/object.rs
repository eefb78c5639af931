//! Any one stored object, with the key the store and the audit trail know it by.

use crate::identity::{Assignment, Credential, Organization, User};
use crate::model::{Model, ObjectKind, ObjectRef};
use crate::rules::AssignmentRule;
use crate::sod::{SodConflict, SodRule, SodSettings, SOD_SETTINGS_KEY};
use crate::webhook::Webhook;
use crate::session::{PrivilegedSession, SessionSettings, TempRoleSession, SESSION_SETTINGS_KEY};
use crate::security::{Duty, DutyExtension, EntryPoint, Policy, Privilege, Role, RoleExtension};
use serde::{Deserialize, Serialize};

/// One object of any kind. The store keeps objects as documents keyed by [`Object::key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "object", rename_all = "snake_case")]
pub enum Object {
    EntryPoint(EntryPoint),
    Privilege(Privilege),
    Duty(Duty),
    Role(Role),
    RoleExtension(RoleExtension),
    DutyExtension(DutyExtension),
    Policy(Policy),
    Organization(Organization),
    User(User),
    Assignment(Assignment),
    AssignmentRule(AssignmentRule),
    Credential(Credential),
    SodRule(SodRule),
    SodConflict(SodConflict),
    SodSettings(SodSettings),
    Webhook(Webhook),
    TempRoleSession(TempRoleSession),
    PrivilegedSession(PrivilegedSession),
    SessionSettings(SessionSettings),
}

impl Object {
    pub fn kind(&self) -> ObjectKind {
        match self {
            Object::EntryPoint(_) => ObjectKind::EntryPoint,
            Object::Privilege(_) => ObjectKind::Privilege,
            Object::Duty(_) => ObjectKind::Duty,
            Object::Role(_) => ObjectKind::Role,
            Object::RoleExtension(_) => ObjectKind::RoleExtension,
            Object::DutyExtension(_) => ObjectKind::DutyExtension,
            Object::Policy(_) => ObjectKind::Policy,
            Object::Organization(_) => ObjectKind::Organization,
            Object::User(_) => ObjectKind::User,
            Object::Assignment(_) => ObjectKind::Assignment,
            Object::AssignmentRule(_) => ObjectKind::AssignmentRule,
            Object::SodRule(_) => ObjectKind::SodRule,
            Object::SodConflict(_) => ObjectKind::SodConflict,
            Object::SodSettings(_) => ObjectKind::SodSettings,
            Object::Webhook(_) => ObjectKind::Webhook,
            Object::TempRoleSession(_) => ObjectKind::TempRoleSession,
            Object::PrivilegedSession(_) => ObjectKind::PrivilegedSession,
            Object::SessionSettings(_) => ObjectKind::SessionSettings,
            Object::Credential(_) => ObjectKind::Credential,
        }
    }

    /// The object's key: its name; `TYPE/NAME` for entry points (types hold
    /// no `/`, so the first one splits it); `USER/ROLE` for assignments and
    /// `USER/RULE` for SoD conflicts, joined by [`crate::join_key`] so that
    /// names holding `/` cannot make two objects share a key.
    pub fn key(&self) -> ObjectRef {
        let name = match self {
            Object::EntryPoint(e) => e.key().to_string(),
            Object::Privilege(p) => p.name.clone(),
            Object::Duty(d) => d.name.clone(),
            Object::Role(r) => r.name.clone(),
            Object::RoleExtension(e) => e.name.clone(),
            Object::DutyExtension(e) => e.name.clone(),
            Object::Policy(p) => p.name.clone(),
            Object::Organization(o) => o.id.clone(),
            Object::User(u) => u.id.clone(),
            Object::Assignment(a) => assignment_key(&a.user, &a.role),
            Object::AssignmentRule(r) => r.name.clone(),
            Object::SodRule(r) => r.name.clone(),
            Object::SodConflict(c) => SodConflict::key_of(&c.user, &c.rule),
            Object::SodSettings(_) => SOD_SETTINGS_KEY.to_string(),
            Object::Webhook(w) => w.id.clone(),
            Object::TempRoleSession(x) => x.id.clone(),
            Object::PrivilegedSession(x) => x.id.clone(),
            Object::SessionSettings(_) => SESSION_SETTINGS_KEY.to_string(),
            Object::Credential(c) => c.id.clone(),
        };
        ObjectRef::new(self.kind(), name)
    }

    /// Serializes only the inner object (the kind is in the key), for storage and audit.
    pub fn to_body(&self) -> serde_json::Value {
        match self {
            Object::EntryPoint(x) => serde_json::to_value(x),
            Object::Privilege(x) => serde_json::to_value(x),
            Object::Duty(x) => serde_json::to_value(x),
            Object::Role(x) => serde_json::to_value(x),
            Object::RoleExtension(x) => serde_json::to_value(x),
            Object::DutyExtension(x) => serde_json::to_value(x),
            Object::Policy(x) => serde_json::to_value(x),
            Object::Organization(x) => serde_json::to_value(x),
            Object::User(x) => serde_json::to_value(x),
            Object::Assignment(x) => serde_json::to_value(x),
            Object::AssignmentRule(x) => serde_json::to_value(x),
            Object::SodRule(x) => serde_json::to_value(x),
            Object::SodConflict(x) => serde_json::to_value(x),
            Object::SodSettings(x) => serde_json::to_value(x),
            Object::Webhook(x) => serde_json::to_value(x),
            Object::TempRoleSession(x) => serde_json::to_value(x),
            Object::PrivilegedSession(x) => serde_json::to_value(x),
            Object::SessionSettings(x) => serde_json::to_value(x),
            Object::Credential(x) => serde_json::to_value(x),
        }
        .expect("model types serialize to JSON infallibly")
    }

    /// The inverse of [`Object::to_body`].
    pub fn from_body(kind: ObjectKind, body: serde_json::Value) -> Result<Object, serde_json::Error> {
        Ok(match kind {
            ObjectKind::EntryPoint => Object::EntryPoint(serde_json::from_value(body)?),
            ObjectKind::Privilege => Object::Privilege(serde_json::from_value(body)?),
            ObjectKind::Duty => Object::Duty(serde_json::from_value(body)?),
            ObjectKind::Role => Object::Role(serde_json::from_value(body)?),
            ObjectKind::RoleExtension => Object::RoleExtension(serde_json::from_value(body)?),
            ObjectKind::DutyExtension => Object::DutyExtension(serde_json::from_value(body)?),
            ObjectKind::Policy => Object::Policy(serde_json::from_value(body)?),
            ObjectKind::Organization => Object::Organization(serde_json::from_value(body)?),
            ObjectKind::User => Object::User(serde_json::from_value(body)?),
            ObjectKind::Assignment => Object::Assignment(serde_json::from_value(body)?),
            ObjectKind::AssignmentRule => Object::AssignmentRule(serde_json::from_value(body)?),
            ObjectKind::SodRule => Object::SodRule(serde_json::from_value(body)?),
            ObjectKind::SodConflict => Object::SodConflict(serde_json::from_value(body)?),
            ObjectKind::SodSettings => Object::SodSettings(serde_json::from_value(body)?),
            ObjectKind::Webhook => Object::Webhook(serde_json::from_value(body)?),
            ObjectKind::TempRoleSession => Object::TempRoleSession(serde_json::from_value(body)?),
            ObjectKind::PrivilegedSession => Object::PrivilegedSession(serde_json::from_value(body)?),
            ObjectKind::SessionSettings => Object::SessionSettings(serde_json::from_value(body)?),
            ObjectKind::Credential => Object::Credential(serde_json::from_value(body)?),
        })
    }
}

/// The key of the assignment of `role` to `user` (see [`crate::join_key`]).
pub fn assignment_key(user: &str, role: &str) -> String {
    crate::join_key(&[user, role])
}

impl Model {
    /// Adds or replaces one object.
    pub fn put(&mut self, object: Object) {
        match object {
            Object::EntryPoint(x) => {
                self.entry_points.insert(x.key(), x);
            }
            Object::Privilege(x) => {
                self.privileges.insert(x.name.clone(), x);
            }
            Object::Duty(x) => {
                self.duties.insert(x.name.clone(), x);
            }
            Object::Role(x) => {
                self.roles.insert(x.name.clone(), x);
            }
            Object::RoleExtension(x) => {
                self.role_extensions.insert(x.name.clone(), x);
            }
            Object::DutyExtension(x) => {
                self.duty_extensions.insert(x.name.clone(), x);
            }
            Object::Policy(x) => {
                self.policies.insert(x.name.clone(), x);
            }
            Object::Organization(x) => {
                self.organizations.insert(x.id.clone(), x);
            }
            Object::User(x) => {
                self.users.insert(x.id.clone(), x);
            }
            Object::Assignment(x) => {
                self.assignments.put(x);
            }
            Object::Credential(x) => {
                self.credentials.insert(x.id.clone(), x);
            }
            Object::AssignmentRule(x) => {
                self.assignment_rules.insert(x.name.clone(), x);
            }
            Object::SodRule(x) => {
                self.sod_rules.insert(x.name.clone(), x);
            }
            Object::SodConflict(x) => {
                self.sod_conflicts.insert(SodConflict::key_of(&x.user, &x.rule), x);
            }
            Object::SodSettings(x) => self.sod_settings = Some(x),
            Object::Webhook(x) => {
                self.webhooks.insert(x.id.clone(), x);
            }
            Object::TempRoleSession(x) => {
                self.temp_role_sessions.insert(x.id.clone(), x);
            }
            Object::PrivilegedSession(x) => {
                self.privileged_sessions.insert(x.id.clone(), x);
            }
            Object::SessionSettings(x) => self.session_settings = Some(x),
        }
    }

    /// Removes one object; false if there was none.
    pub fn remove(&mut self, key: &ObjectRef) -> bool {
        let name = key.name.as_str();
        match key.kind {
            ObjectKind::EntryPoint => name.parse::<crate::EntryPointKey>().ok().is_some_and(|k| self.entry_points.remove(&k).is_some()),
            ObjectKind::Privilege => self.privileges.remove(name).is_some(),
            ObjectKind::Duty => self.duties.remove(name).is_some(),
            ObjectKind::Role => self.roles.remove(name).is_some(),
            ObjectKind::RoleExtension => self.role_extensions.remove(name).is_some(),
            ObjectKind::DutyExtension => self.duty_extensions.remove(name).is_some(),
            ObjectKind::Policy => self.policies.remove(name).is_some(),
            ObjectKind::Organization => self.organizations.remove(name).is_some(),
            ObjectKind::User => self.users.remove(name).is_some(),
            ObjectKind::Credential => self.credentials.remove(name).is_some(),
            ObjectKind::AssignmentRule => self.assignment_rules.remove(name).is_some(),
            ObjectKind::SodRule => self.sod_rules.remove(name).is_some(),
            ObjectKind::SodConflict => self.sod_conflicts.remove(name).is_some(),
            ObjectKind::SodSettings => self.sod_settings.take().is_some(),
            ObjectKind::Webhook => self.webhooks.remove(name).is_some(),
            ObjectKind::TempRoleSession => self.temp_role_sessions.remove(name).is_some(),
            ObjectKind::PrivilegedSession => self.privileged_sessions.remove(name).is_some(),
            ObjectKind::SessionSettings => self.session_settings.take().is_some(),
            ObjectKind::Assignment => {
                let Some([user, role]) = crate::split_key(name) else { return false };
                self.assignments.remove(&user, &role).is_some()
            }
        }
    }

    /// The objects of one kind, in the model's order.
    pub fn objects_of(&self, kind: ObjectKind) -> Box<dyn Iterator<Item = Object> + '_> {
        match kind {
            ObjectKind::EntryPoint => Box::new(self.entry_points.values().cloned().map(Object::EntryPoint)),
            ObjectKind::Privilege => Box::new(self.privileges.values().cloned().map(Object::Privilege)),
            ObjectKind::Duty => Box::new(self.duties.values().cloned().map(Object::Duty)),
            ObjectKind::Role => Box::new(self.roles.values().cloned().map(Object::Role)),
            ObjectKind::RoleExtension => Box::new(self.role_extensions.values().cloned().map(Object::RoleExtension)),
            ObjectKind::DutyExtension => Box::new(self.duty_extensions.values().cloned().map(Object::DutyExtension)),
            ObjectKind::Policy => Box::new(self.policies.values().cloned().map(Object::Policy)),
            ObjectKind::Organization => Box::new(self.organizations.values().cloned().map(Object::Organization)),
            ObjectKind::User => Box::new(self.users.values().cloned().map(Object::User)),
            ObjectKind::Assignment => Box::new(self.assignments.iter().cloned().map(Object::Assignment)),
            ObjectKind::Credential => Box::new(self.credentials.values().cloned().map(Object::Credential)),
            ObjectKind::AssignmentRule => Box::new(self.assignment_rules.values().cloned().map(Object::AssignmentRule)),
            ObjectKind::SodRule => Box::new(self.sod_rules.values().cloned().map(Object::SodRule)),
            ObjectKind::SodConflict => Box::new(self.sod_conflicts.values().cloned().map(Object::SodConflict)),
            ObjectKind::SodSettings => Box::new(self.sod_settings.iter().cloned().map(Object::SodSettings)),
            ObjectKind::Webhook => Box::new(self.webhooks.values().cloned().map(Object::Webhook)),
            ObjectKind::TempRoleSession => Box::new(self.temp_role_sessions.values().cloned().map(Object::TempRoleSession)),
            ObjectKind::PrivilegedSession => Box::new(self.privileged_sessions.values().cloned().map(Object::PrivilegedSession)),
            ObjectKind::SessionSettings => Box::new(self.session_settings.iter().cloned().map(Object::SessionSettings)),
        }
    }

    /// Every object in the model, in a deterministic order (security objects first).
    pub fn objects(&self) -> impl Iterator<Item = Object> + '_ {
        self.entry_points
            .values()
            .cloned()
            .map(Object::EntryPoint)
            .chain(self.privileges.values().cloned().map(Object::Privilege))
            .chain(self.duties.values().cloned().map(Object::Duty))
            .chain(self.roles.values().cloned().map(Object::Role))
            .chain(self.role_extensions.values().cloned().map(Object::RoleExtension))
            .chain(self.duty_extensions.values().cloned().map(Object::DutyExtension))
            .chain(self.policies.values().cloned().map(Object::Policy))
            .chain(self.organizations.values().cloned().map(Object::Organization))
            .chain(self.users.values().cloned().map(Object::User))
            .chain(self.assignment_rules.values().cloned().map(Object::AssignmentRule))
            .chain(self.assignments.iter().cloned().map(Object::Assignment))
            .chain(self.credentials.values().cloned().map(Object::Credential))
            .chain(self.sod_rules.values().cloned().map(Object::SodRule))
            .chain(self.sod_conflicts.values().cloned().map(Object::SodConflict))
            .chain(self.sod_settings.iter().cloned().map(Object::SodSettings))
            .chain(self.webhooks.values().cloned().map(Object::Webhook))
            .chain(self.temp_role_sessions.values().cloned().map(Object::TempRoleSession))
            .chain(self.privileged_sessions.values().cloned().map(Object::PrivilegedSession))
            .chain(self.session_settings.iter().cloned().map(Object::SessionSettings))
    }
}
