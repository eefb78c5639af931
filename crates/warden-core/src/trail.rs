//! Reading the audit trail and the activity log, for every front end: the
//! store keeps them, the core is the one way to them, so that what a caller
//! may see of them (credential hashes never: `warden_store::redact`) and how
//! they are paged is decided once.

use crate::error::CoreError;
use crate::service::Warden;
use warden_store::{ActivityEvent, ActivityFilter, AuditAnchor, AuditEvent, AuditFilter, AuditVerification};

impl Warden {
    /// Audit events, oldest first, as `filter` selects them.
    pub async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, CoreError> {
        Ok(self.store().audit_events(filter).await?)
    }

    /// The trail's head, to keep outside the store as a checkpoint.
    pub async fn audit_head(&self) -> Result<AuditAnchor, CoreError> {
        Ok(self.store().audit_head().await?)
    }

    /// Recomputes the hash chain from the first event; with `anchor`, also
    /// requires that checkpoint to be still in the trail unchanged.
    pub async fn verify_audit(&self, anchor: Option<&AuditAnchor>) -> Result<AuditVerification, CoreError> {
        Ok(self.store().verify_audit(anchor).await?)
    }

    /// Sign-in and activity events, oldest first, as `filter` selects them.
    pub async fn activity(&self, filter: &ActivityFilter) -> Result<Vec<ActivityEvent>, CoreError> {
        Ok(self.store().activity(filter).await?)
    }

    /// Appends an event to the activity log (outside the hash chain: it takes
    /// rates no administrative action reaches); returns its id.
    pub async fn record_activity(&self, event: &ActivityEvent) -> Result<u64, CoreError> {
        Ok(self.store().append_activity(event).await?)
    }
}
