//! The audit trail's hash chain: how an event is hashed, and how a stored trail is
//! checked. Backend-independent, so that SQLite and PostgreSQL chain identically
//! and a trail can move between them.
//!
//! `hash = hex(sha256(DOMAIN ‖ field(prev_hash) ‖ seq ‖ revision ‖ at ‖ field(actor)
//! ‖ field(action) ‖ field(summary) ‖ change_count ‖ for each change in order:
//! field(kind) ‖ field(key) ‖ opt(before) ‖ opt(after)))`, where integers are 8
//! bytes big-endian, `field(b) = len(b) ‖ b` and `opt` is a 0 byte for none or a 1
//! byte and a field. Length prefixes make the encoding unambiguous: no two
//! different events produce the same bytes. Text is hashed exactly as stored, so
//! verification never depends on re-serializing JSON the same way.
//!
//! Version 2 (every event written since layers and origins exist) uses the domain
//! `warden.audit.v2`, hashes `field(origin)` after the summary and `field(layer)`
//! after each change's key. Events with an empty origin are version 1, written
//! before that, and are verified as they were hashed; a version-1 event whose
//! change claims the code layer does not match its hash.

use crate::{AuditAnchor, AuditVerification};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Versions the encoding, so that a change of it cannot collide with an earlier one.
const DOMAIN_V1: &[u8] = b"warden.audit.v1\0";
const DOMAIN_V2: &[u8] = b"warden.audit.v2\0";
const DATABASE_LAYER: &str = "database";

/// The store's own record of where it is: its revision and the head of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub revision: u64,
    pub audit_seq: u64,
    pub audit_hash: String,
}

/// The hashed fields of an event, borrowed from wherever they are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventHeader<'a> {
    pub seq: u64,
    pub revision: u64,
    pub at: i64,
    pub actor: &'a str,
    pub action: &'a str,
    /// Empty only for version-1 events.
    pub origin: &'a str,
    pub summary: &'a str,
    pub change_count: u64,
}

/// Hashes one event incrementally, so that an event with a hundred thousand
/// changes is hashed as its rows stream by.
pub(crate) struct EventHasher {
    h: Sha256,
    v2: bool,
}

impl EventHasher {
    pub fn new(prev_hash: &str, event: &EventHeader<'_>) -> EventHasher {
        let v2 = !event.origin.is_empty();
        let mut h = Sha256::new();
        h.update(if v2 { DOMAIN_V2 } else { DOMAIN_V1 });
        field(&mut h, prev_hash.as_bytes());
        h.update(event.seq.to_be_bytes());
        h.update(event.revision.to_be_bytes());
        h.update(event.at.to_be_bytes());
        field(&mut h, event.actor.as_bytes());
        field(&mut h, event.action.as_bytes());
        field(&mut h, event.summary.as_bytes());
        if v2 {
            field(&mut h, event.origin.as_bytes());
        }
        h.update(event.change_count.to_be_bytes());
        EventHasher { h, v2 }
    }

    pub fn change(
        &mut self,
        kind: &str,
        key: &str,
        layer: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) {
        field(&mut self.h, kind.as_bytes());
        field(&mut self.h, key.as_bytes());
        // Version 1 knew only the database layer: any other layer must break its hash.
        if self.v2 || layer != DATABASE_LAYER {
            field(&mut self.h, layer.as_bytes());
        }
        optional(&mut self.h, before);
        optional(&mut self.h, after);
    }

    pub fn finish(self) -> String {
        hex::encode(self.h.finalize())
    }
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

fn optional(h: &mut Sha256, text: Option<&str>) {
    match text {
        None => h.update([0u8]),
        Some(t) => {
            h.update([1u8]);
            field(h, t.as_bytes());
        }
    }
}

/// An event as a backend stored it, owned, for verification.
pub(crate) struct StoredEvent {
    pub seq: u64,
    pub revision: u64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub origin: String,
    pub summary: String,
    pub change_count: u64,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredEvent {
    pub fn feed(&self, verifier: &mut Verifier) -> Result<(), Broken> {
        let header = EventHeader {
            seq: self.seq,
            revision: self.revision,
            at: self.at,
            actor: &self.actor,
            action: &self.action,
            origin: &self.origin,
            summary: &self.summary,
            change_count: self.change_count,
        };
        verifier.event(&header, &self.prev_hash, &self.hash)
    }
}

/// The first problem found in a trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Broken {
    pub seq: u64,
    pub reason: String,
}

impl From<Broken> for AuditVerification {
    fn from(b: Broken) -> Self {
        AuditVerification::Broken {
            seq: b.seq,
            reason: b.reason,
        }
    }
}

fn broken<T>(seq: u64, reason: String) -> Result<T, Broken> {
    Err(Broken { seq, reason })
}

struct OpenEvent {
    seq: u64,
    revision: u64,
    change_count: u64,
    seen: u64,
    hash: String,
    hasher: EventHasher,
}

/// Walks a stored trail in sequence order. A backend feeds it each event followed
/// by that event's changes in index order, then calls [`Verifier::finish`]; the
/// first `Err` is the verdict.
pub(crate) struct Verifier {
    last_seq: u64,
    last_revision: u64,
    last_hash: String,
    open: Option<OpenEvent>,
    anchor: Option<AuditAnchor>,
    anchored_hash: Option<String>,
}

impl Verifier {
    pub fn new(anchor: Option<&AuditAnchor>) -> Verifier {
        Verifier {
            last_seq: 0,
            last_revision: 0,
            last_hash: GENESIS_HASH.to_string(),
            open: None,
            anchor: anchor.cloned(),
            anchored_hash: None,
        }
    }

    pub fn event(
        &mut self,
        event: &EventHeader<'_>,
        prev_hash: &str,
        hash: &str,
    ) -> Result<(), Broken> {
        self.close()?;
        let expected = self.last_seq + 1;
        if event.seq != expected {
            return broken(
                expected,
                format!(
                    "event {expected} is missing: the trail goes from {} to {}",
                    self.last_seq, event.seq
                ),
            );
        }
        if prev_hash != self.last_hash {
            return broken(
                event.seq,
                format!(
                    "event {} does not follow event {}: events were removed, inserted or reordered",
                    event.seq, self.last_seq
                ),
            );
        }
        self.open = Some(OpenEvent {
            seq: event.seq,
            revision: event.revision,
            change_count: event.change_count,
            seen: 0,
            hash: hash.to_string(),
            hasher: EventHasher::new(&self.last_hash, event),
        });
        Ok(())
    }

    pub fn change(
        &mut self,
        idx: u64,
        kind: &str,
        key: &str,
        layer: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<(), Broken> {
        let Some(open) = self.open.as_mut() else {
            return broken(
                self.last_seq + 1,
                "a change row precedes every event".into(),
            );
        };
        if idx != open.seen {
            return broken(
                open.seq,
                format!("change {} of event {} is missing", open.seen, open.seq),
            );
        }
        if open.seen >= open.change_count {
            return broken(
                open.seq,
                format!(
                    "event {} records {} changes but has more change rows",
                    open.seq, open.change_count
                ),
            );
        }
        open.hasher.change(kind, key, layer, before, after);
        open.seen += 1;
        Ok(())
    }

    fn close(&mut self) -> Result<(), Broken> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        if open.seen != open.change_count {
            return broken(
                open.seq,
                format!(
                    "event {} records {} changes but only {} remain",
                    open.seq, open.change_count, open.seen
                ),
            );
        }
        if open.hasher.finish() != open.hash {
            return broken(
                open.seq,
                format!(
                    "event {} does not match its hash: it or its changes were altered",
                    open.seq
                ),
            );
        }
        if self.anchor.as_ref().is_some_and(|a| a.seq == open.seq) {
            self.anchored_hash = Some(open.hash.clone());
        }
        self.last_seq = open.seq;
        self.last_revision = open.revision;
        self.last_hash = open.hash;
        Ok(())
    }

    /// Closes the walk. `head` is the store's record of its revision and chain head;
    /// `orphan` the lowest seq of change rows whose event is gone, if any.
    pub fn finish(mut self, head: &Head, orphan: Option<u64>) -> Result<AuditVerification, Broken> {
        self.close()?;
        let last = self.last_seq;
        let next = last + 1;
        if let Some(o) = orphan.filter(|o| *o > last) {
            return broken(
                next,
                format!("events after {last} were removed: change rows of event {o} remain"),
            );
        }
        if head.audit_seq > last {
            return broken(
                next,
                format!(
                    "the store records event {} as its last, but the trail ends at event {last}: events were removed",
                    head.audit_seq
                ),
            );
        }
        if head.audit_seq < last {
            return broken(
                head.audit_seq + 1,
                format!(
                    "events after {} were added outside the store",
                    head.audit_seq
                ),
            );
        }
        if head.audit_hash != self.last_hash {
            return broken(
                last,
                format!("event {last} differs from the head the store recorded for it"),
            );
        }
        if head.revision != self.last_revision {
            let seq = if head.revision > self.last_revision {
                next
            } else {
                last
            };
            return broken(
                seq,
                format!(
                    "the store is at revision {}, but the trail's last event records revision {}",
                    head.revision, self.last_revision
                ),
            );
        }
        if let Some(anchor) = &self.anchor {
            if anchor.seq > last {
                return broken(
                    next,
                    format!(
                        "the trail ends at event {last}, but the anchor names event {}: events were removed from the end",
                        anchor.seq
                    ),
                );
            }
            let anchored = if anchor.seq == 0 {
                Some(GENESIS_HASH)
            } else {
                self.anchored_hash.as_deref()
            };
            if anchored != Some(anchor.hash.as_str()) {
                return broken(
                    anchor.seq.max(1),
                    format!(
                        "event {} differs from the anchor taken of it: the trail was rewritten",
                        anchor.seq
                    ),
                );
            }
        }
        Ok(AuditVerification::Intact {
            events: last,
            head: self.last_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(seq: u64, actor: &str) -> EventHeader<'_> {
        EventHeader {
            seq,
            revision: seq,
            at: 1_700_000_000_000,
            actor,
            action: "test",
            origin: "cli",
            summary: "{}",
            change_count: 1,
        }
    }

    fn hash(prev: &str, seq: u64, actor: &str, after: &str) -> String {
        let mut h = EventHasher::new(prev, &header(seq, actor));
        h.change("user", "u1", "database", None, Some(after));
        h.finish()
    }

    #[test]
    fn encoding_is_unambiguous() {
        // Moving a byte between adjacent fields changes the hash.
        let mut a = EventHasher::new(GENESIS_HASH, &header(1, "ab"));
        a.change("user", "u1", "database", Some(""), None);
        let mut b = EventHasher::new(GENESIS_HASH, &header(1, "ab"));
        b.change("user", "u1", "database", None, Some(""));
        assert_ne!(a.finish(), b.finish());
        let x = EventHeader {
            actor: "ab",
            action: "c",
            ..header(1, "")
        };
        let y = EventHeader {
            actor: "a",
            action: "bc",
            ..header(1, "")
        };
        assert_ne!(
            EventHasher::new(GENESIS_HASH, &x).finish(),
            EventHasher::new(GENESIS_HASH, &y).finish()
        );
    }

    #[test]
    fn verifier_accepts_a_chain_and_pinpoints_a_changed_event() {
        let h1 = hash(GENESIS_HASH, 1, "alice", "{}");
        let h2 = hash(&h1, 2, "bob", "{}");
        let head = Head {
            revision: 2,
            audit_seq: 2,
            audit_hash: h2.clone(),
        };
        let walk = |actor2: &str, anchor: Option<&AuditAnchor>| {
            let mut v = Verifier::new(anchor);
            v.event(&header(1, "alice"), GENESIS_HASH, &h1)?;
            v.change(0, "user", "u1", "database", None, Some("{}"))?;
            v.event(&header(2, actor2), &h1, &h2)?;
            v.change(0, "user", "u1", "database", None, Some("{}"))?;
            v.finish(&head, None)
        };
        assert_eq!(
            walk("bob", None),
            Ok(AuditVerification::Intact {
                events: 2,
                head: h2.clone()
            })
        );
        assert_eq!(walk("mallory", None).unwrap_err().seq, 2);
        let anchor = AuditAnchor {
            seq: 3,
            hash: "x".into(),
        };
        assert_eq!(walk("bob", Some(&anchor)).unwrap_err().seq, 3);
    }
}
