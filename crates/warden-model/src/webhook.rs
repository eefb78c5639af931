//! Where Warden sends alerts: HTTP endpoints that administrators configure.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// An HTTP endpoint that receives alerts as signed JSON POSTs. The signing
/// secret is never stored: it is derived from a key kept outside the store
/// (see `warden_core::webhooks`), and `generation` changes it on rotation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    /// `https://…` (or `http://` for a receiver on this host).
    pub url: String,
    /// Alert types to send (`sod.conflict.unresolved`, `sod.conflict.allowed`, ...); `*` for all.
    pub events: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub generation: u32,
    pub created: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

impl Webhook {
    /// Whether the webhook wants alerts of `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.enabled && self.events.iter().any(|e| e == "*" || e == kind || kind.strip_prefix(e.trim_end_matches('*')).is_some_and(|_| e.ends_with('*')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_match_exactly_or_by_prefix() {
        let mut w = Webhook { id: "w".into(), url: "http://x".into(), events: vec!["sod.conflict.*".into()], enabled: true, generation: 0, created: Timestamp(0), description: None };
        assert!(w.wants("sod.conflict.unresolved"));
        assert!(!w.wants("session.started"));
        w.events = vec!["session.started".into()];
        assert!(w.wants("session.started") && !w.wants("session.started.late"));
        w.events = vec!["*".into()];
        assert!(w.wants("anything"));
        w.enabled = false;
        assert!(!w.wants("anything"));
    }
}
