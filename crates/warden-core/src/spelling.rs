//! Resolving an import's references as D365 does, ignoring case
//! ([`warden_aot::respell_references`]), against the store and the import.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use warden_model::{Model, Object, ObjectKind};

/// The kinds whose objects hold references to roles, duties and privileges.
pub(crate) const REFERRING: [ObjectKind; 4] = [ObjectKind::Role, ObjectKind::RoleExtension, ObjectKind::Duty, ObjectKind::DutyExtension];

/// A reference given its referent's spelling, for the import's warnings.
pub(crate) struct Respelling {
    holder: String,
    change: warden_aot::Respelled,
}

/// The names of roles, duties and privileges by their lower case; `None`
/// where two names share it (the model then fails validation, and neither is
/// guessed at).
pub(crate) struct Spellings(HashMap<(ObjectKind, String), Option<String>>);

impl Spellings {
    pub(crate) fn new(model: &Model, imported: &[Object]) -> Spellings {
        let mut names = HashMap::new();
        let mut add = |kind: ObjectKind, name: &str| match names.entry((kind, name.to_lowercase())) {
            Entry::Vacant(e) => {
                e.insert(Some(name.to_string()));
            }
            Entry::Occupied(mut e) => {
                if e.get().as_deref() != Some(name) {
                    e.insert(None);
                }
            }
        };
        model.roles.keys().for_each(|n| add(ObjectKind::Role, n));
        model.duties.keys().for_each(|n| add(ObjectKind::Duty, n));
        model.privileges.keys().for_each(|n| add(ObjectKind::Privilege, n));
        for object in imported {
            match object {
                Object::Role(r) => add(ObjectKind::Role, &r.name),
                Object::Duty(d) => add(ObjectKind::Duty, &d.name),
                Object::Privilege(p) => add(ObjectKind::Privilege, &p.name),
                _ => {}
            }
        }
        Spellings(names)
    }

    /// Respells `object`'s references; what it changed.
    pub(crate) fn respell(&self, object: &mut Object) -> Vec<Respelling> {
        let holder = object.key().to_string();
        warden_aot::respell_references(object, |kind, name| self.0.get(&(kind, name.to_lowercase())).cloned().flatten())
            .into_iter()
            .map(|change| Respelling { holder: holder.clone(), change })
            .collect()
    }
}

/// `object`, written alone (the API, the console), with the references that
/// do not resolve as written resolved ignoring case against `model`; as it is
/// when every reference resolves, which is the usual case and costs a lookup each.
pub(crate) fn respelled(model: &Model, object: &Object) -> Object {
    let exists = |kind: ObjectKind, name: &str| match kind {
        ObjectKind::Role => model.roles.contains_key(name),
        ObjectKind::Duty => model.duties.contains_key(name),
        ObjectKind::Privilege => model.privileges.contains_key(name),
        _ => true,
    };
    let missing = std::cell::Cell::new(false);
    warden_aot::respell_references(&mut object.clone(), |kind, name| {
        if !exists(kind, name) {
            missing.set(true);
        }
        None
    });
    let mut object = object.clone();
    if missing.get() {
        Spellings::new(model, std::slice::from_ref(&object)).respell(&mut object);
    }
    object
}

/// One warning for the references resolved ignoring case, with examples.
pub(crate) fn summary(respelled: &[Respelling]) -> Option<String> {
    const EXAMPLES: usize = 5;
    if respelled.is_empty() {
        return None;
    }
    let examples: Vec<String> = respelled
        .iter()
        .take(EXAMPLES)
        .map(|r| format!("{}: {} {:?} is {:?}", r.holder, r.change.kind, r.change.written, r.change.resolved))
        .collect();
    let more = respelled.len().saturating_sub(EXAMPLES);
    Some(format!(
        "{} reference(s) name their object in another case; D365 compares names ignoring case, so Warden resolves them and keeps the file's spelling for export: {}{}",
        respelled.len(),
        examples.join("; "),
        if more > 0 { format!("; and {more} more") } else { String::new() }
    ))
}
