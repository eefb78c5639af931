//! Ties a command to an `Idempotency-Key`: the key's record goes into the
//! first commit the command makes, in the same transaction as its changes,
//! so that a retry after a crash finds the write and its record together or
//! neither. The front end (the HTTP server) decides what the record holds.

use std::sync::{Arc, Mutex, PoisonError};
use warden_store::{IdempotencyRecord, Revision, StoredResponse};

/// The answer a request will give, rendered from the revision its commit
/// creates, so that it can be stored before that commit happens.
pub type Answer = Box<dyn Fn(Revision) -> StoredResponse + Send + Sync>;

/// One request's claim on a key; clones share it.
#[derive(Clone)]
pub struct IdempotencyClaim(Arc<State>);

struct State {
    record: IdempotencyRecord,
    answer: Mutex<Option<Answer>>,
    /// The revision of the commit that took the record, once there is one.
    committed: Mutex<Option<(Revision, bool)>>,
}

impl IdempotencyClaim {
    /// A claim that will write `record` (its revision and response are filled in here).
    pub fn new(record: IdempotencyRecord) -> IdempotencyClaim {
        IdempotencyClaim(Arc::new(State { record, answer: Mutex::new(None), committed: Mutex::new(None) }))
    }

    /// Says how to render this request's answer from its commit's revision,
    /// so that the answer is stored in the commit itself.
    pub fn answer_with(&self, answer: Answer) {
        *self.0.answer.lock().unwrap_or_else(PoisonError::into_inner) = Some(answer);
    }

    /// The record for a commit that will create revision `next` (unknown
    /// when the commit does not expect a revision); `None` once a commit took it,
    /// so that only the command's first commit carries the key.
    pub fn record_for(&self, next: Option<Revision>) -> Option<IdempotencyRecord> {
        if self.committed().is_some() {
            return None;
        }
        let answer = self.0.answer.lock().unwrap_or_else(PoisonError::into_inner);
        let response = next.and_then(|rev| answer.as_ref().map(|render| render(rev)));
        Some(IdempotencyRecord { response, ..self.0.record.clone() })
    }

    /// Records that the commit creating `revision` took the record, with its answer or without.
    pub fn took(&self, revision: Revision, answered: bool) {
        let mut committed = self.0.committed.lock().unwrap_or_else(PoisonError::into_inner);
        committed.get_or_insert((revision, answered));
    }

    /// The revision of the commit that took the record, and whether the answer went with it.
    pub fn committed(&self) -> Option<(Revision, bool)> {
        *self.0.committed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn record(&self) -> &IdempotencyRecord {
        &self.0.record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_model::Timestamp;

    #[test]
    fn only_the_first_commit_carries_the_key() {
        let claim = IdempotencyClaim::new(IdempotencyRecord {
            scope: "alice s".into(),
            key: "k".into(),
            fingerprint: "f".into(),
            created: Timestamp(0),
            expires: Timestamp(1),
            revision: None,
            response: None,
        });
        assert_eq!(claim.record_for(Some(5)).and_then(|r| r.response), None, "no answer given");
        claim.answer_with(Box::new(|rev| StoredResponse { status: 201, headers: Vec::new(), body: rev.to_string().into_bytes() }));
        assert_eq!(claim.record_for(Some(7)).and_then(|r| r.response).map(|r| r.body), Some(b"7".to_vec()));
        assert_eq!(claim.record_for(None).and_then(|r| r.response), None, "no revision known, no answer");
        claim.took(7, true);
        assert!(claim.record_for(Some(8)).is_none());
        claim.took(8, false);
        assert_eq!(claim.committed(), Some((7, true)));
    }
}
