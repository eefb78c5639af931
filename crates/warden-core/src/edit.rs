//! Adding and editing one object the way an administrator says it on the
//! command line: "add duty X to role R", "deny Delete on CustTable", "exclude
//! bob from the rule". Each edit resolves the names it is given against the
//! stored model (case-insensitively, with a did-you-mean on a miss), so a
//! typo is refused rather than stored as a reference to nothing.

use crate::error::CoreError;
use crate::names::lookup;
use crate::service::{check_ids, check_new_name, Plan, Target, Validation, Warden};
use serde::Serialize;
use std::collections::BTreeSet;
use serde_json::json;
use warden_model::{
    Access, AssignmentRule, Condition, Duty, EntryPoint, EntryPointGrant, EntryPointKey, EntryPointType, Grant, Licence, Model, Object,
    ObjectKind, ObjectRef, Permission, Privilege, Role, User, USER_FIELDS,
};
use warden_store::{Change, Revision};

/// Names to add to and remove from one list of references.
#[derive(Debug, Clone, Default)]
pub struct ListEdit {
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

impl ListEdit {
    pub fn adding(add: Vec<String>) -> ListEdit {
        ListEdit { add, remove: Vec::new() }
    }

    /// Adds (resolved, once) and removes (case-insensitively; refused when absent).
    fn apply(
        &self,
        list: &mut Vec<String>,
        resolve: impl Fn(&str) -> Result<String, CoreError>,
        owner: &ObjectRef,
        what: &str,
    ) -> Result<(), CoreError> {
        for text in &self.remove {
            let Some(i) = list.iter().position(|x| x.eq_ignore_ascii_case(text)) else {
                let listed = if list.is_empty() { "none".to_string() } else { list.join(", ") };
                return Err(CoreError::InvalidInput(format!("{owner} has no {what} '{text}' (it has: {listed})")));
            };
            list.remove(i);
        }
        for text in &self.add {
            let name = resolve(text)?;
            if !list.contains(&name) {
                list.push(name);
            }
        }
        Ok(())
    }
}

/// One object's change: fields to set and references to add or remove. The
/// same edit applied to a blank object is what `add` creates.
#[derive(Debug, Clone)]
pub enum Edit {
    Role(RoleEdit),
    Duty(DutyEdit),
    Privilege(PrivilegeEdit),
    EntryPoint(EntryPointEdit),
    User(UserEdit),
    AssignmentRule(RuleEdit),
}

#[derive(Debug, Clone, Default)]
pub struct RoleEdit {
    pub label: Option<String>,
    pub description: Option<String>,
    pub duties: ListEdit,
    pub privileges: ListEdit,
    pub sub_roles: ListEdit,
}

#[derive(Debug, Clone, Default)]
pub struct DutyEdit {
    pub label: Option<String>,
    pub description: Option<String>,
    pub privileges: ListEdit,
}

/// Grants are set per entry point and access: `allow` and `deny` set those
/// accesses (and clear the opposite), `unset` clears them; `remove` drops the
/// entry point from the privilege altogether.
#[derive(Debug, Clone, Default)]
pub struct PrivilegeEdit {
    pub label: Option<String>,
    pub description: Option<String>,
    pub allow: Vec<(String, Vec<Access>)>,
    pub deny: Vec<(String, Vec<Access>)>,
    pub unset: Vec<(String, Vec<Access>)>,
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EntryPointEdit {
    pub label: Option<String>,
    pub view_licence: Option<Licence>,
    pub maintain_licence: Option<Licence>,
}

#[derive(Debug, Clone, Default)]
pub struct UserEdit {
    pub name: Option<String>,
    pub email: Option<String>,
    pub enabled: Option<bool>,
    pub service_account: Option<bool>,
    pub set_attributes: Vec<(String, String)>,
    pub remove_attributes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RuleEdit {
    pub role: Option<String>,
    pub description: Option<String>,
    pub conditions: ListEdit,
    pub organizations: ListEdit,
    pub excluded_users: ListEdit,
    pub enabled: Option<bool>,
}

/// What `add` or `edit` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct EditOutcome {
    pub object: Object,
    /// The form before an edit; none for an add.
    pub before: Option<Object>,
    pub revision: Revision,
    /// Things worth knowing that did not stop the write (a duty or privilege similar to others).
    pub warnings: Vec<String>,
}

impl Edit {
    pub fn kind(&self) -> ObjectKind {
        match self {
            Edit::Role(_) => ObjectKind::Role,
            Edit::Duty(_) => ObjectKind::Duty,
            Edit::Privilege(_) => ObjectKind::Privilege,
            Edit::EntryPoint(_) => ObjectKind::EntryPoint,
            Edit::User(_) => ObjectKind::User,
            Edit::AssignmentRule(_) => ObjectKind::AssignmentRule,
        }
    }

    /// A new object of this edit's kind with nothing in it but its key.
    fn blank(&self, key: &str) -> Result<Object, CoreError> {
        Ok(match self {
            Edit::Role(_) => Object::Role(Role::new(key)),
            Edit::Duty(_) => Object::Duty(Duty { name: key.into(), label: None, description: None, model: None, privileges: Vec::new(), unmodelled: Vec::new() }),
            Edit::Privilege(_) => Object::Privilege(Privilege {
                name: key.into(),
                label: None,
                description: None,
                model: None,
                entry_points: Vec::new(),
                direct_access: Vec::new(),
                unmodelled: Vec::new(),
            }),
            Edit::EntryPoint(_) => {
                let k: EntryPointKey = key.parse().map_err(|e| CoreError::InvalidInput(format!("{e}")))?;
                Object::EntryPoint(EntryPoint::referenced(&k))
            }
            Edit::User(_) => Object::User(User::new(key)),
            Edit::AssignmentRule(r) => Object::AssignmentRule(AssignmentRule {
                name: key.into(),
                role: r.role.clone().ok_or_else(|| CoreError::InvalidInput("an assignment rule needs a role (--role)".into()))?,
                description: None,
                conditions: Vec::new(),
                organizations: Vec::new(),
                excluded_users: Vec::new(),
                enabled: true,
            }),
        })
    }

    fn apply(&self, model: &Model, object: &mut Object) -> Result<(), CoreError> {
        let owner = object.key();
        let named = |kind: ObjectKind| move |text: &str| resolve(model, kind, text);
        match (self, object) {
            (Edit::Role(e), Object::Role(r)) => {
                set(&mut r.label, &e.label);
                set(&mut r.description, &e.description);
                e.duties.apply(&mut r.duties, named(ObjectKind::Duty), &owner, "duty")?;
                e.privileges.apply(&mut r.privileges, named(ObjectKind::Privilege), &owner, "privilege")?;
                e.sub_roles.apply(&mut r.sub_roles, named(ObjectKind::Role), &owner, "sub-role")?;
            }
            (Edit::Duty(e), Object::Duty(d)) => {
                set(&mut d.label, &e.label);
                set(&mut d.description, &e.description);
                e.privileges.apply(&mut d.privileges, named(ObjectKind::Privilege), &owner, "privilege")?;
            }
            (Edit::Privilege(e), Object::Privilege(p)) => {
                set(&mut p.label, &e.label);
                set(&mut p.description, &e.description);
                for text in &e.remove {
                    let key = warden_engine::resolve_entry_point(model, text)?;
                    let before = p.entry_points.len();
                    p.entry_points.retain(|g| g.key() != key);
                    if p.entry_points.len() == before {
                        return Err(CoreError::InvalidInput(format!("{owner} grants nothing on entry point {key}")));
                    }
                }
                for (list, permission) in [(&e.allow, Some(Permission::Allow)), (&e.deny, Some(Permission::Deny)), (&e.unset, None)] {
                    for (text, accesses) in list {
                        let key = warden_engine::resolve_entry_point(model, text)?;
                        let grant = match p.entry_points.iter_mut().position(|g| g.key() == key) {
                            Some(i) => &mut p.entry_points[i],
                            None => {
                                p.entry_points.push(grant_for(&key));
                                p.entry_points.last_mut().expect("just pushed")
                            }
                        };
                        for a in accesses {
                            grant.grant.set(*a, permission);
                        }
                    }
                }
                // A reference that grants nothing any more is noise in an AOT export.
                p.entry_points.retain(|g| g.grant != Grant::default());
            }
            (Edit::EntryPoint(e), Object::EntryPoint(ep)) => {
                set(&mut ep.label, &e.label);
                if let Some(l) = e.view_licence {
                    ep.view_licence = l;
                }
                if let Some(l) = e.maintain_licence {
                    ep.maintain_licence = l;
                }
            }
            (Edit::User(e), Object::User(u)) => {
                set(&mut u.name, &e.name);
                if let Some(email) = &e.email {
                    if !email.is_empty() && !crate::csv_io::looks_like_email(email) {
                        return Err(CoreError::InvalidInput(format!("'{email}' is not an email address")));
                    }
                    u.email = Some(email.clone()).filter(|x| !x.is_empty());
                }
                if let Some(enabled) = e.enabled {
                    u.enabled = enabled;
                }
                if let Some(service) = e.service_account {
                    u.kind = if service { warden_model::UserKind::ServiceAccount } else { warden_model::UserKind::Person };
                }
                for name in &e.remove_attributes {
                    let key = u.attributes.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned();
                    let Some(key) = key else {
                        return Err(CoreError::InvalidInput(format!("user '{}' has no attribute '{name}'", u.id)));
                    };
                    u.attributes.remove(&key);
                }
                for (name, value) in &e.set_attributes {
                    check_attribute(name)?;
                    // One spelling per attribute: a new value keeps the stored name's case.
                    let key = u.attributes.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.clone());
                    u.attributes.insert(key, value.clone());
                }
            }
            (Edit::AssignmentRule(e), Object::AssignmentRule(r)) => {
                if let Some(role) = &e.role {
                    r.role = lookup::role(model, role)?.name.clone();
                }
                set(&mut r.description, &e.description);
                if let Some(enabled) = e.enabled {
                    r.enabled = enabled;
                }
                let mut conditions: Vec<String> = r.conditions.iter().map(ToString::to_string).collect();
                e.conditions.apply(&mut conditions, |text| parse_condition(text).map(|c| c.to_string()), &owner, "condition")?;
                r.conditions = conditions.iter().map(|c| parse_condition(c)).collect::<Result<_, _>>()?;
                e.organizations.apply(&mut r.organizations, named(ObjectKind::Organization), &owner, "organization")?;
                e.excluded_users.apply(&mut r.excluded_users, named(ObjectKind::User), &owner, "excluded user")?;
                r.organizations.sort();
                r.excluded_users.sort();
            }
            (edit, object) => {
                return Err(CoreError::InvalidInput(format!("cannot apply a {} edit to {}", edit.kind(), object.key())));
            }
        }
        Ok(())
    }
}

fn set(field: &mut Option<String>, value: &Option<String>) {
    if let Some(v) = value {
        *field = Some(v.clone()).filter(|v| !v.is_empty());
    }
}

fn parse_condition(text: &str) -> Result<Condition, CoreError> {
    text.parse::<Condition>().map_err(|e| CoreError::InvalidInput(e.to_string()))
}

/// User attribute names: not one of the user's own fields, and typeable.
pub(crate) fn check_attribute(name: &str) -> Result<(), CoreError> {
    if USER_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name)) {
        return Err(CoreError::InvalidInput(format!("'{name}' is a user field, not an attribute; set it with its own option")));
    }
    let ok = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c));
    if !ok {
        return Err(CoreError::InvalidInput(format!(
            "attribute name '{name}' must be letters, digits, '_', '-' or '.' (e.g. department)"
        )));
    }
    Ok(())
}

/// A grant of nothing yet on `key`, shaped as the AOT writes it (service
/// operations keep their `Object.Operation` split).
fn grant_for(key: &EntryPointKey) -> EntryPointGrant {
    let (object, child) = match key.kind {
        EntryPointType::ServiceOperation => match key.name.split_once('.') {
            Some((o, c)) => (o.to_string(), Some(c.to_string())),
            None => (key.name.clone(), None),
        },
        _ => (key.name.clone(), None),
    };
    EntryPointGrant { name: key.name.clone(), kind: key.kind, object, child, grant: Grant::default(), unmodelled: Vec::new() }
}

/// The stored name that `text` means, for any kind with a name key.
pub fn resolve(model: &Model, kind: ObjectKind, text: &str) -> Result<String, CoreError> {
    fn by_name<V: Clone>(map: &warden_model::Map<String, V>, kind: ObjectKind, text: &str) -> Result<String, CoreError> {
        lookup::named(map, kind, text).map(|(k, _)| k.clone())
    }
    match kind {
        ObjectKind::Role => Ok(lookup::role(model, text)?.name.clone()),
        ObjectKind::Duty => by_name(&model.duties, kind, text),
        ObjectKind::Privilege => by_name(&model.privileges, kind, text),
        ObjectKind::Organization => by_name(&model.organizations, kind, text),
        ObjectKind::User => by_name(&model.users, kind, text),
        ObjectKind::AssignmentRule => by_name(&model.assignment_rules, kind, text),
        ObjectKind::SodRule => by_name(&model.sod_rules, kind, text),
        ObjectKind::Policy => by_name(&model.policies, kind, text),
        ObjectKind::EntryPoint => Ok(warden_engine::resolve_entry_point(model, text)?.to_string()),
        _ => Err(CoreError::InvalidInput(format!("{kind}s are not named by the command line"))),
    }
}

/// The keys of the conflicts register's unresolved entries.
fn unresolved(model: &Model) -> BTreeSet<String> {
    model.sod_conflicts.iter().filter(|(_, c)| c.status == warden_model::ConflictStatus::Unresolved).map(|(k, _)| k.clone()).collect()
}

/// The object named `key` before and after `edit`.
fn planned_edit(model: &Model, kind: ObjectKind, key: &str, edit: &Edit) -> Result<(Object, Object), CoreError> {
    let name = resolve(model, kind, key)?;
    let before = model.get(&ObjectRef::new(kind, name.clone()))
        .ok_or_else(|| CoreError::Unknown { kind, name, hint: String::new() })?;
    let mut after = before.clone();
    edit.apply(model, &mut after)?;
    Ok((before, after))
}

impl Warden {
    /// `role add`, `duty add`, ...: creates the object that `edit` describes,
    /// in the database layer. Every name it references must exist.
    pub async fn add(&self, key: &str, edit: &Edit) -> Result<EditOutcome, CoreError> {
        let kind = edit.kind();
        if let Edit::User(u) = edit
            && let Some(email) = u.email.as_deref().filter(|e| !e.is_empty() && !crate::csv_io::looks_like_email(e))
        {
            return Err(CoreError::InvalidInput(format!("'{email}' is not an email address")));
        }
        let blank = edit.blank(key)?;
        check_ids(&blank)?;
        let mut unresolved_before = BTreeSet::new();
        let (object, revision, _) = self
            .run_to(Target::default(), Validation::Strict, |model| {
                unresolved_before = unresolved(model);
                if let Ok(existing) = resolve(model, kind, key) {
                    return Err(CoreError::AlreadyExists { kind, name: existing });
                }
                check_new_name(model, kind, &blank.key().name)?;
                let mut fresh = blank.clone();
                edit.apply(model, &mut fresh)?;
                let summary = json!({ "object": fresh.key(), "body": fresh.to_body() });
                let warnings = crate::sod::similarity_warnings(model, &fresh);
                Ok(Plan { action: kind.audit_action(warden_model::Verb::Create), summary, changes: vec![Change::Put(fresh.clone())], outcome: (fresh, warnings) })
            })
            .await?;
        let (object, mut warnings) = object;
        warnings.extend(self.new_conflicts(&unresolved_before).await?);
        Ok(EditOutcome { object, before: None, revision, warnings })
    }

    /// `role edit`, `user disable`, ...: changes the object named `key` (its
    /// effective form, code or database) and writes the result to the
    /// database layer, where it overrides the code form.
    /// An edit that changes nothing writes nothing (and no audit event).
    pub async fn edit(&self, key: &str, edit: &Edit) -> Result<EditOutcome, CoreError> {
        let kind = edit.kind();
        let (model, revision) = self.loaded().await?;
        let (before, after) = planned_edit(&model, kind, key, edit)?;
        if before == after {
            return Ok(EditOutcome { object: after, before: Some(before), revision, warnings: Vec::new() });
        }
        let mut unresolved_before = BTreeSet::new();
        let ((before, after, mut warnings), revision, _) = self
            .run_to(Target::default(), Validation::Strict, |model| {
                unresolved_before = unresolved(model);
                let (before, after) = planned_edit(model, kind, key, edit)?;
                let summary = json!({ "object": after.key() });
                let changes = vec![Change::Put(after.clone())];
                let warnings = crate::sod::similarity_warnings(model, &after);
                Ok(Plan { action: kind.audit_action(warden_model::Verb::Replace), summary, changes, outcome: (before, after, warnings) })
            })
            .await?;
        warnings.extend(self.new_conflicts(&unresolved_before).await?);
        Ok(EditOutcome { object: after, before: Some(before), revision, warnings })
    }

    /// A warning naming the unresolved SoD conflicts that a write recorded
    /// (a role edit or an assignment rule that makes users hold both sides
    /// of a rule is not refused, but it must not pass unnoticed).
    async fn new_conflicts(&self, before: &BTreeSet<String>) -> Result<Option<String>, CoreError> {
        const EXAMPLES: usize = 5;
        let model = self.model().await?;
        let new: Vec<&warden_model::SodConflict> =
            model.sod_conflicts.iter().filter(|(k, c)| c.status == warden_model::ConflictStatus::Unresolved && !before.contains(*k)).map(|(_, c)| c).collect();
        if new.is_empty() {
            return Ok(None);
        }
        let examples: Vec<String> = new.iter().take(EXAMPLES).map(|c| format!("user '{}' breaks rule '{}'", c.user, c.rule)).collect();
        let more = new.len().saturating_sub(EXAMPLES);
        Ok(Some(format!(
            "recorded {} new unresolved segregation-of-duties conflict(s): {}{}; review them with `warden sod conflicts --unresolved`",
            new.len(),
            examples.join("; "),
            if more > 0 { format!("; and {more} more") } else { String::new() }
        )))
    }

    /// `role remove`, `user remove`, ...: [`Warden::delete`] by the name a person typed.
    pub async fn remove(&self, kind: ObjectKind, key: &str) -> Result<crate::WriteOutcome, CoreError> {
        let (model, _) = self.loaded().await?;
        let name = resolve(&model, kind, key)?;
        self.delete(&ObjectRef::new(kind, name), None).await
    }
}
