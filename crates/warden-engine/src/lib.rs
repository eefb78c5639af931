//! Warden's access engine.
//!
//! [`Index::build`] compiles a [`Model`](warden_model::Model) snapshot into an
//! immutable index of small integer ids and flat arrays, so that
//! [`Index::check`] answers "may this user do this here, now?" without
//! allocating, locking, or looking at more than the user's own assignments and
//! the entry point's own grant list. Everything that needs names and paths
//! rather than speed — [`explain`], [`effective_permissions`],
//! [`role_permissions`] — works on the model directly.
//!
//! [`reference`](mod@reference) is the naive evaluator written straight from the semantics in
//! DESIGN.md; property tests and benchmarks hold the index to it.

mod affected;
mod chunked;
mod explain;
mod flatten;
mod index;
mod names;
mod parts;
pub mod reference;
mod resolve;
mod rows;
mod similarity;
pub mod sod;

pub use affected::affected_roles;
pub use explain::{explain, explain_part, AssignmentState, AssignmentStatus, Explanation, GrantPath, PathStep, StepKind};
pub use flatten::{effective_permissions, role_permissions, EffectivePermission};
pub use index::{EntryPointId, Index, IndexStats, OrgId, UserId};
pub use parts::check_part;
pub use resolve::{resolve_entry_point, ResolveError};
pub use similarity::{members_of, similar_pairs, similar_to, similar_to_members, SimilarKind, SimilarPair};
pub use sod::{SodIndex, UserConflict};

use serde::{Deserialize, Serialize};

/// The answer to an access check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    pub const fn is_allowed(self) -> bool {
        matches!(self, Decision::Allow)
    }
    pub const fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
