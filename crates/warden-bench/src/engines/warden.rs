//! Warden itself: the compiled index by id and by name, and the naive reference evaluator.

use super::Engine;
use warden_engine::{reference, EntryPointId, Index, OrgId, UserId};
use warden_gen::Request;
use warden_model::{Access, Model, Timestamp};

/// [`Index::check`] with ids resolved beforehand, as a server holding ids would call it.
pub struct Warden {
    pub index: Index,
}

/// A request in ids. An unknown user or entry point is denied without a check;
/// an unknown organization becomes an id no assignment has (global assignments still count).
pub enum WardenRequest {
    Resolved { user: UserId, ep: EntryPointId, access: Access, org: Option<OrgId>, at: Timestamp },
    Unknown,
}

impl Warden {
    pub fn build(model: &Model) -> Warden {
        Warden { index: Index::build(model) }
    }
}

impl Engine for Warden {
    type Prepared<'r> = WardenRequest;

    fn describe(&self) -> Option<String> {
        let s = self.index.stats();
        Some(format!(
            "{} users, {} roles, {} entry points, {} assignments, {} role grants; {:.1} MiB, of which checks read {:.1} MiB",
            s.users,
            s.roles,
            s.entry_points,
            s.assignments,
            s.role_grants,
            s.bytes as f64 / 1048576.0,
            s.check_bytes as f64 / 1048576.0
        ))
    }

    fn prepare(&self, r: &Request) -> WardenRequest {
        match (self.index.user(&r.user), self.index.entry_point(&r.entry_point)) {
            (Some(user), Some(ep)) => WardenRequest::Resolved {
                user,
                ep,
                access: r.access,
                org: r.org.as_deref().map(|o| self.index.org(o).unwrap_or(OrgId(u32::MAX))),
                at: r.at,
            },
            _ => WardenRequest::Unknown,
        }
    }

    #[inline]
    fn check(&self, p: &WardenRequest) -> bool {
        match *p {
            WardenRequest::Resolved { user, ep, access, org, at } => self.index.check(user, ep, access, org, at).is_allowed(),
            WardenRequest::Unknown => false,
        }
    }
}

/// [`Index::check_by_name`]: the string lookups of users, entry points and organizations included.
pub struct WardenByName {
    pub index: Index,
}

impl WardenByName {
    pub fn build(model: &Model) -> WardenByName {
        WardenByName { index: Index::build(model) }
    }
}

impl Engine for WardenByName {
    type Prepared<'r> = &'r Request;

    fn prepare<'r>(&self, r: &'r Request) -> &'r Request {
        r
    }

    #[inline]
    fn check(&self, r: &&Request) -> bool {
        self.index.check_by_name(&r.user, &r.entry_point, r.access, r.org.as_deref(), r.at).is_allowed()
    }
}

/// `warden_engine::reference::check`: the semantics of DESIGN.md evaluated on the
/// model with no precomputation. The yardstick for Warden's own agreement.
pub struct Reference<'m> {
    pub model: &'m Model,
}

impl Engine for Reference<'_> {
    type Prepared<'r> = &'r Request;

    fn prepare<'r>(&self, r: &'r Request) -> &'r Request {
        r
    }

    fn check(&self, r: &&Request) -> bool {
        reference::check(self.model, &r.user, &r.entry_point, r.access, r.org.as_deref(), r.at).is_allowed()
    }
}
