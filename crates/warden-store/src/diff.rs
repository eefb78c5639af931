//! Turns a commit's change list into the effective changes to write and audit.
//!
//! Backend-independent. A backend makes a [`Plan`] before it takes its write lock,
//! reports each stored row of the touched keys through [`Plan::observe`] inside
//! its write transaction, and writes what [`Plan::finish`] returns. Observing
//! compares the stored text with the new one on the spot, so that re-importing
//! four hundred thousand unchanged objects copies none of them.

use crate::codec;
use crate::{Change, StoreError};
use std::collections::{BTreeMap, HashMap, HashSet};
use warden_model::{Object, ObjectKind, ObjectRef};

/// One object's effective change: what the audit records and the backend writes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Effect {
    pub object: ObjectRef,
    /// The old body as the audit trail records it (see [`crate::redact`]).
    pub before: Option<String>,
    /// The new body; `None` deletes the object.
    pub after: Option<String>,
    /// The new body as the audit trail records it, where that differs from `after`.
    audited_after: Option<String>,
    /// The object's version after the change (the old version for a delete).
    pub version: i64,
}

impl Effect {
    fn new(object: ObjectRef, before: Option<String>, after: Option<String>, version: i64) -> Effect {
        let kind = object.kind;
        let before = before.map(|b| crate::redact::audit_text(kind, &b).unwrap_or(b));
        let audited_after = after.as_deref().and_then(|a| crate::redact::audit_text(kind, a));
        Effect { object, before, after, audited_after, version }
    }

    /// The new body as the audit trail records (and hashes) it.
    pub fn audit_after(&self) -> Option<&str> {
        self.audited_after.as_deref().or(self.after.as_deref())
    }
}

/// The hash of an event whose changes are `effects`, all written by a commit to `layer`.
pub(crate) fn event_hash(
    prev_hash: &str,
    header: &crate::chain::EventHeader<'_>,
    effects: &[Effect],
    layer: crate::Layer,
) -> String {
    let mut hasher = crate::chain::EventHasher::new(prev_hash, header);
    for e in effects {
        hasher.change(
            e.object.kind.code(),
            &e.object.name,
            crate::layers::layer_for(layer, e.object.kind).code(),
            e.before.as_deref(),
            e.audit_after(),
        );
    }
    hasher.finish()
}

/// What the store holds for one planned key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Found {
    /// Exactly the text the commit puts.
    Same {
        version: i64,
    },
    Differs {
        version: i64,
        body: String,
    },
}

/// The final state the commit gives one key.
struct Slot {
    key: ObjectRef,
    after: Option<Object>,
    /// The final state is a database tombstone (then `after` is `None`).
    hide: bool,
    text: Option<String>,
    /// The key's first change is a delete, so the store must hold it.
    must_exist: bool,
}

/// A commit's changes, one slot per key in the order keys first appear.
pub(crate) struct Plan {
    slots: Vec<Slot>,
}

/// Change sets at least this large are encoded on several threads.
const PARALLEL_ENCODE_MIN: usize = 20_000;

impl Plan {
    /// Collapses repeated keys (changes apply in order, the last state wins) and
    /// encodes the new bodies. Fails on a delete of a key an earlier change in the
    /// same commit deleted.
    pub fn new(changes: Vec<Change>) -> Result<Plan, StoreError> {
        let entries: Vec<(ObjectRef, Option<Object>, bool)> = changes
            .into_iter()
            .map(|change| match change {
                Change::Put(object) => (object.key(), Some(object), false),
                Change::Delete(key) => (key, None, false),
                Change::Hide(key) => (key, None, true),
            })
            .collect();
        let distinct = entries
            .iter()
            .map(|(key, _, _)| key)
            .collect::<HashSet<_>>()
            .len();
        let mut slots = Vec::with_capacity(distinct);
        if distinct == entries.len() {
            // The usual case, an import or an edit: every key once, nothing to merge.
            slots.extend(entries.into_iter().map(|(key, after, hide)| Slot {
                must_exist: after.is_none() && !hide,
                key,
                after,
                hide,
                text: None,
            }));
        } else {
            let mut index: HashMap<ObjectRef, usize> = HashMap::with_capacity(distinct);
            for (key, after, hide) in entries {
                match index.get(&key) {
                    Some(&i) => {
                        let slot = &mut slots[i];
                        let deleted = slot.after.is_none() && !slot.hide;
                        if after.is_none() && !hide && deleted {
                            return Err(StoreError::NotFound(key));
                        }
                        slot.after = after;
                        slot.hide = hide;
                    }
                    None => {
                        index.insert(key.clone(), slots.len());
                        slots.push(Slot {
                            must_exist: after.is_none() && !hide,
                            key,
                            after,
                            hide,
                            text: None,
                        });
                    }
                }
            }
        }
        encode_all(&mut slots);
        Ok(Plan { slots })
    }

    /// The kinds touched, with how many keys of each.
    pub fn kinds(&self) -> BTreeMap<ObjectKind, usize> {
        let mut kinds = BTreeMap::new();
        for slot in &self.slots {
            *kinds.entry(slot.key.kind).or_default() += 1;
        }
        kinds
    }

    /// The keys of one kind to look up, each with the slot to report it to.
    pub fn keys_of(&self, kind: ObjectKind) -> HashMap<&str, usize> {
        let mut keys = HashMap::new();
        for (i, slot) in self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.key.kind == kind)
        {
            keys.insert(slot.key.name.as_str(), i);
        }
        keys
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// What the stored row of slot `i` means for the commit; copies the body only
    /// when it differs from the new one.
    pub fn observe(&self, i: usize, version: i64, body: &str) -> Found {
        match &self.slots[i].text {
            Some(text) if text == body => Found::Same { version },
            _ => Found::Differs {
                version,
                body: body.to_string(),
            },
        }
    }

    /// One effect per key whose state actually changes, in the order the keys first
    /// appeared; `found[i]` is what the store holds for slot `i`.
    ///
    /// A put of an object equal to the stored one is no change, even when its JSON
    /// text differs (say, after a model field was added), so that re-importing the
    /// same AOT does not flood the audit trail.
    pub fn finish(self, found: Vec<Option<Found>>) -> Result<Vec<Effect>, StoreError> {
        debug_assert_eq!(found.len(), self.slots.len());
        let mut effects = Vec::new();
        for (slot, found) in self.slots.into_iter().zip(found) {
            let Slot {
                key,
                after,
                text,
                must_exist,
                hide: _,
            } = slot;
            let effect = match (found, text) {
                (None, _) if must_exist => return Err(StoreError::NotFound(key)),
                // `observe` reports Same only for a put of identical text.
                (None, None) | (Some(Found::Same { .. }), _) => continue,
                (None, Some(text)) => Effect::new(key, None, Some(text), 1),
                (Some(Found::Differs { version, body }), None) => {
                    Effect::new(key, Some(body), None, version)
                }
                (Some(Found::Differs { version, body }), Some(text)) => {
                    let same = after.as_ref().is_some_and(|object| {
                        codec::decode(key.kind, &body).is_ok_and(|old| old == *object)
                    });
                    if same {
                        continue;
                    }
                    Effect::new(key, Some(body), Some(text), version + 1)
                }
            };
            effects.push(effect);
        }
        Ok(effects)
    }
}

/// Encodes every slot's new object, on all cores when there are many.
fn encode_all(slots: &mut [Slot]) {
    let encode = |slots: &mut [Slot]| {
        for slot in slots {
            slot.text = match &slot.after {
                Some(object) => Some(codec::encode(object)),
                None if slot.hide => Some(codec::TOMBSTONE.to_string()),
                None => None,
            };
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if slots.len() < PARALLEL_ENCODE_MIN || threads < 2 {
        encode(slots);
        return;
    }
    let chunk = slots.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for part in slots.chunks_mut(chunk) {
            scope.spawn(move || encode(part));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_model::{Role, User};

    fn user(id: &str, enabled: bool) -> Object {
        let mut u = User::new(id);
        u.enabled = enabled;
        Object::User(u)
    }

    /// Plans `changes` against a store holding `existing` (each at version 3).
    fn run(changes: Vec<Change>, existing: &[Object]) -> Result<Vec<Effect>, StoreError> {
        let plan = Plan::new(changes)?;
        let stored: HashMap<ObjectRef, String> = existing
            .iter()
            .map(|o| (o.key(), codec::encode(o)))
            .collect();
        let mut found = vec![None; plan.len()];
        for kind in plan.kinds().into_keys() {
            for (name, i) in plan.keys_of(kind) {
                if let Some(body) = stored.get(&ObjectRef::new(kind, name)) {
                    found[i] = Some(plan.observe(i, 3, body));
                }
            }
        }
        plan.finish(found)
    }

    #[test]
    fn create_update_delete_and_noop() {
        let existing = [user("a", true), user("b", true), user("c", true)];
        let changes = vec![
            Change::Put(user("a", true)),  // identical: dropped
            Change::Put(user("b", false)), // update
            Change::Delete(user("c", true).key()),
            Change::Put(Object::Role(Role::new("R"))), // create
        ];
        let effects = run(changes, &existing).unwrap();
        let summary: Vec<(String, bool, bool, i64)> = effects
            .iter()
            .map(|e| {
                (
                    e.object.name.clone(),
                    e.before.is_some(),
                    e.after.is_some(),
                    e.version,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("b".into(), true, true, 4),
                ("c".into(), true, false, 3),
                ("R".into(), false, true, 1)
            ]
        );
    }

    #[test]
    fn same_key_twice_is_one_change_from_first_state_to_last() {
        let key = user("a", true).key();
        let changes = vec![
            Change::Put(user("a", false)),
            Change::Delete(key.clone()),
            Change::Put(user("a", true)),
        ];
        assert_eq!(run(changes, &[]).unwrap().len(), 1);
        // Created and deleted within one commit: nothing happened.
        let changes = vec![Change::Put(user("a", false)), Change::Delete(key.clone())];
        assert!(run(changes, &[]).unwrap().is_empty());
        // Deleted twice: the second delete finds nothing.
        let changes = vec![Change::Delete(key.clone()), Change::Delete(key.clone())];
        assert!(
            matches!(run(changes, &[user("a", true)]), Err(StoreError::NotFound(k)) if k == key)
        );
        // Deleted, though never stored.
        assert!(
            matches!(run(vec![Change::Delete(key.clone())], &[]), Err(StoreError::NotFound(k)) if k == key)
        );
        // Deleted and put back: an update from the stored state.
        let changes = vec![Change::Delete(key.clone()), Change::Put(user("a", false))];
        let effects = run(changes, &[user("a", true)]).unwrap();
        assert_eq!((effects.len(), effects[0].version), (1, 4));
    }

    #[test]
    fn semantically_equal_text_is_no_change() {
        let object = user("a", true);
        let plan = Plan::new(vec![Change::Put(object)]).unwrap();
        // The same user with keys in another order and an explicit default.
        let found = plan.observe(0, 1, r#"{"enabled":true,"kind":"person","id":"a"}"#);
        assert!(matches!(found, Found::Differs { .. }));
        assert!(plan.finish(vec![Some(found)]).unwrap().is_empty());
    }

    #[test]
    fn parallel_encoding_keeps_order() {
        let changes: Vec<Change> = (0..PARALLEL_ENCODE_MIN + 7)
            .map(|i| Change::Put(user(&format!("u{i}"), true)))
            .collect();
        let effects = run(changes, &[]).unwrap();
        assert_eq!(effects.len(), PARALLEL_ENCODE_MIN + 7);
        for (i, e) in effects.iter().enumerate() {
            assert_eq!(e.object.name, format!("u{i}"));
            assert_eq!(
                e.after.as_deref(),
                Some(codec::encode(&user(&format!("u{i}"), true)).as_str())
            );
        }
    }
}
