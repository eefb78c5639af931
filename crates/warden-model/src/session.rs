//! Temporary role sessions and privileged user sessions, as in D365's user
//! security governance: a request with a window, approved by a system
//! administrator, started and ended by the background processor.
//!
//! Access never waits for the processor: a session in force (approved or
//! active) changes what a user may do exactly inside its window, because
//! [`AccessView`] folds it into the user's assignments, which the engine
//! evaluates at check time. The processor's transitions record when things
//! really happened and do the work that must happen once (restoring an
//! account, ending the logs).

use crate::identity::Assignment;
use crate::model::Model;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;

/// The longest privileged user session: D365's limit of one day.
pub const PRIVILEGED_MAX_MS: i64 = 24 * 3600 * 1000;

/// Key of the one [`SessionSettings`] object.
pub const SESSION_SETTINGS_KEY: &str = "sessions";

/// How a temporary role session's roles combine with the user's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionType {
    /// The session's roles are added to the user's own.
    Merge,
    /// The user's own roles are suspended for the session; only the session's count.
    Replace,
}

impl SessionType {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionType::Merge => "merge",
            SessionType::Replace => "replace",
        }
    }
}

impl std::str::FromStr for SessionType {
    type Err = crate::ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "merge" => Ok(SessionType::Merge),
            "replace" => Ok(SessionType::Replace),
            _ => Err(crate::ParseEnumError::new("session type", s, "merge or replace")),
        }
    }
}

/// Status of a temporary role session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TempStatus {
    Draft,
    /// Approved ("Change status" in D365); in force from its start.
    Planned,
    Active,
    Ended,
    Cancelled,
}

/// Status of a privileged user session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PrivilegedStatus {
    Draft,
    /// In force from its start.
    Approved,
    Active,
    Ended,
    Rejected,
    Cancelled,
}

macro_rules! status_names {
    ($t:ty { $($v:ident => $s:literal),* }) => {
        impl $t {
            /// Every status, in the order of the life cycle.
            pub const ALL: &'static [$t] = &[$(<$t>::$v),*];

            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
status_names!(TempStatus { Draft => "draft", Planned => "planned", Active => "active", Ended => "ended", Cancelled => "cancelled" });
status_names!(PrivilegedStatus { Draft => "draft", Approved => "approved", Active => "active", Ended => "ended", Rejected => "rejected", Cancelled => "cancelled" });

/// What a privileged user session does to the account at its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountAction {
    Enable,
    Disable,
}

impl AccountAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::Enable => "enable",
            AccountAction::Disable => "disable",
        }
    }
    pub fn enabled(self) -> bool {
        self == AccountAction::Enable
    }
}

impl std::str::FromStr for AccountAction {
    type Err = crate::ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "enable" => Ok(AccountAction::Enable),
            "disable" => Ok(AccountAction::Disable),
            _ => Err(crate::ParseEnumError::new("account action", s, "enable or disable")),
        }
    }
}

/// One line of a session's audit log: a status change, or an edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    /// When it really happened (a processor that was down records when it caught up).
    pub at: Timestamp,
    /// Status before; none when the session was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub to: String,
    pub by: String,
    /// Made by the background processor rather than by an administrator.
    #[serde(default)]
    pub batch: bool,
    /// The approver is the requester (allowed by the session settings): flagged for auditors.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub self_approval: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A request to give a user roles for a while (D365: temporary role assignment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TempRoleSession {
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub id: String,
    pub user: String,
    /// Assign roles.
    pub roles: Vec<String>,
    /// Assign organizations: the session's roles count only there. Empty: everywhere.
    #[serde(default)]
    pub organizations: Vec<String>,
    #[serde(rename = "type")]
    pub session_type: SessionType,
    pub start: Timestamp,
    pub end: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub requested_by: String,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub status: TempStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub approved_by: Option<String>,
    /// Why segregation-of-duties conflicts the session creates are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub override_reason: Option<String>,
    /// When the processor really started and ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub ended_at: Option<Timestamp>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub history: Vec<StatusChange>,
}

impl TempRoleSession {
    /// Approved, active or ended: it changes (or changed) the user's access
    /// inside its window, so that checks about any instant answer the same.
    pub fn in_force(&self) -> bool {
        matches!(self.status, TempStatus::Planned | TempStatus::Active | TempStatus::Ended)
    }

    /// When the processor's next move falls due: the start of a planned
    /// session, the end of an active one; none for the others.
    pub fn next_move(&self) -> Option<Timestamp> {
        match self.status {
            TempStatus::Planned => Some(self.start),
            TempStatus::Active => Some(self.end),
            _ => None,
        }
    }

    /// The assignments the session gives, valid exactly inside its window.
    pub fn assignments(&self) -> impl Iterator<Item = Assignment> + '_ {
        self.roles.iter().map(|r| Assignment {
            user: self.user.clone(),
            role: r.clone(),
            organizations: self.organizations.clone(),
            valid_from: Some(self.start),
            valid_to: Some(self.end),
            rule: None,
        })
    }
}

/// Who deleted a privileged session's recording, and how much of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingDeletion {
    pub at: Timestamp,
    pub by: String,
    pub events: u64,
}

/// The seal put on a privileged session's recording when the session ends:
/// how many events it held and a SHA-256 over them (see
/// `warden_core::sessions::seal_of`). It is part of the session object the end
/// transition writes, so it sits under the audit trail's hash chain; reading
/// the recording recomputes it, so that rows edited, added or removed after
/// the end are found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingSeal {
    pub events: u64,
    /// Lowercase hex.
    pub sha256: String,
    pub at: Timestamp,
}

/// A request to enable or disable an account for at most a day (D365:
/// privileged user session), with everything the user does recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrivilegedSession {
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub id: String,
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub action: AccountAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub requested_by: String,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub status: PrivilegedStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub approved_by: Option<String>,
    /// The account's enabled flag when the session started, restored at its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub original_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub ended_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub recording_deleted: Option<RecordingDeletion>,
    /// Set at the end: what the recording held then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub recording_seal: Option<RecordingSeal>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub history: Vec<StatusChange>,
}

impl PrivilegedSession {
    /// Approved, active or ended: it sets (or set) the account's state inside its window.
    pub fn in_force(&self) -> bool {
        matches!(self.status, PrivilegedStatus::Approved | PrivilegedStatus::Active | PrivilegedStatus::Ended)
    }

    /// When the processor's next move falls due: the start of an approved
    /// session, the end of an active one; none for the others.
    pub fn next_move(&self) -> Option<Timestamp> {
        match self.status {
            PrivilegedStatus::Approved => Some(self.start),
            PrivilegedStatus::Active => Some(self.end),
            _ => None,
        }
    }
}

/// Session parameters; the defaults when none are stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionSettings {
    /// Let an administrator approve a session they requested (each such
    /// approval is flagged in the session's log and the audit trail).
    #[serde(default)]
    pub allow_self_approval: bool,
}

/// A new temporary role session, as requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TempSessionRequest {
    pub user: String,
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub roles: Vec<String>,
    #[serde(default)]
    pub organizations: Vec<String>,
    #[serde(rename = "type")]
    pub session_type: SessionType,
    pub start: Timestamp,
    pub end: Timestamp,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Changes to a draft or planned temporary role session; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TempSessionEdit {
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub organizations: Option<Vec<String>>,
    #[serde(default, rename = "type")]
    pub session_type: Option<SessionType>,
    #[serde(default)]
    pub start: Option<Timestamp>,
    #[serde(default)]
    pub end: Option<Timestamp>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A new privileged user session, as requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PrivilegedSessionRequest {
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub action: AccountAction,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Half-open `[from, to)` stretches of time, sorted and disjoint; `i64::MIN`
/// and `i64::MAX` stand for "since ever" and "for ever".
type Stretches = Vec<(i64, i64)>;

fn union(mut spans: Vec<(i64, i64)>) -> Stretches {
    spans.sort_unstable();
    let mut out: Stretches = Vec::with_capacity(spans.len());
    for (f, t) in spans.into_iter().filter(|(f, t)| f < t) {
        match out.last_mut() {
            Some(last) if f <= last.1 => last.1 = last.1.max(t),
            _ => out.push((f, t)),
        }
    }
    out
}

/// `base` minus `holes` (both sorted and disjoint).
fn minus(base: &[(i64, i64)], holes: &[(i64, i64)]) -> Stretches {
    let mut out = Vec::new();
    for &(mut f, t) in base {
        for &(hf, ht) in holes {
            if ht <= f || hf >= t {
                continue;
            }
            if hf > f {
                out.push((f, hf));
            }
            f = f.max(ht);
        }
        if f < t {
            out.push((f, t));
        }
    }
    out
}

fn bounds(a: &Assignment) -> (i64, i64) {
    (a.valid_from.map_or(i64::MIN, |t| t.0), a.valid_to.map_or(i64::MAX, |t| t.0))
}

/// `a` cut to the parts of its window inside `allowed`.
fn clip(a: &Assignment, allowed: &[(i64, i64)], out: &mut Vec<Assignment>) {
    let (f, t) = bounds(a);
    for &(af, at) in allowed {
        let (lo, hi) = (f.max(af), t.min(at));
        if lo < hi {
            out.push(Assignment {
                valid_from: (lo != i64::MIN).then_some(Timestamp(lo)),
                valid_to: (hi != i64::MAX).then_some(Timestamp(hi)),
                ..a.clone()
            });
        }
    }
}

/// The sessions in force, by user: what turns stored assignments into the
/// assignments that grant access.
#[derive(Debug, Default)]
pub struct AccessView<'a> {
    temp: HashMap<&'a str, Vec<&'a TempRoleSession>>,
    privileged: HashMap<&'a str, Vec<&'a PrivilegedSession>>,
}

impl<'a> AccessView<'a> {
    pub fn new(model: &'a Model) -> AccessView<'a> {
        let mut view = AccessView::default();
        for s in model.temp_role_sessions.values().filter(|s| s.in_force()) {
            view.temp.entry(s.user.as_str()).or_default().push(s);
        }
        for s in model.privileged_sessions.values().filter(|s| s.in_force()) {
            view.privileged.entry(s.user.as_str()).or_default().push(s);
        }
        view
    }

    /// Counts `session` as in force too (a session about to be approved).
    pub fn add_temp(&mut self, session: &'a TempRoleSession) {
        self.temp.entry(session.user.as_str()).or_default().push(session);
    }

    /// Whether any session in force concerns `user`.
    pub fn has_sessions(&self, user: &str) -> bool {
        self.temp.contains_key(user) || self.privileged.contains_key(user)
    }

    /// When `user`'s account counts as enabled: its own flag, overridden
    /// inside the windows of privileged sessions in force.
    fn enabled_stretches(&self, model: &Model, user: &str) -> Stretches {
        let base = model.users.get(user).is_some_and(|u| u.enabled);
        let sessions = self.privileged.get(user).map(Vec::as_slice).unwrap_or_default();
        let windows = |enable: bool| union(sessions.iter().filter(|s| s.action.enabled() == enable).map(|s| (s.start.0, s.end.0)).collect());
        if base {
            minus(&[(i64::MIN, i64::MAX)], &windows(false))
        } else {
            windows(true)
        }
    }

    /// The assignments that give `user` access, each valid exactly when it
    /// counts: own assignments outside Replace sessions, the roles of
    /// temporary sessions inside their windows, all of it only while the
    /// account counts as enabled. Borrowed when no session concerns the user.
    pub fn assignments_of(&self, model: &'a Model, user: &str) -> Cow<'a, [Assignment]> {
        // Sessions of a user who does not exist (any more) give nobody anything.
        if !self.has_sessions(user) || !model.users.contains_key(user) {
            let enabled = model.users.get(user).is_some_and(|u| u.enabled);
            return Cow::Borrowed(if enabled { model.assignments_of(user) } else { &[] });
        }
        self.cut(model, user, self.enabled_stretches(model, user))
    }

    /// The roles `user` holds and when, whatever the account's state: own
    /// assignments outside Replace sessions, and the roles of temporary
    /// sessions in force. Segregation of duties looks at this.
    pub fn held_assignments_of(&self, model: &'a Model, user: &str) -> Cow<'a, [Assignment]> {
        if !self.temp.contains_key(user) || !model.users.contains_key(user) {
            return Cow::Borrowed(model.assignments_of(user));
        }
        self.cut(model, user, vec![(i64::MIN, i64::MAX)])
    }

    fn cut(&self, model: &'a Model, user: &str, enabled: Stretches) -> Cow<'a, [Assignment]> {
        let own = model.assignments_of(user);
        let temp = self.temp.get(user).map(Vec::as_slice).unwrap_or_default();
        let replaced = union(temp.iter().filter(|s| s.session_type == SessionType::Replace).map(|s| (s.start.0, s.end.0)).collect());
        let own_allowed = minus(&enabled, &replaced);
        let mut out = Vec::new();
        for a in own {
            clip(a, &own_allowed, &mut out);
        }
        for s in temp {
            for a in s.assignments() {
                clip(&a, &enabled, &mut out);
            }
        }
        out.sort_by(|a, b| a.role.cmp(&b.role));
        Cow::Owned(out)
    }

    /// Whether the account counts as enabled at `at` (the reference semantics, for explanations).
    pub fn enabled_at(&self, model: &Model, user: &str, at: Timestamp) -> bool {
        let in_window = self.privileged.get(user).and_then(|v| v.iter().find(|s| s.start <= at && at < s.end));
        match in_window {
            Some(s) => s.action.enabled(),
            None => model.users.get(user).is_some_and(|u| u.enabled),
        }
    }

    /// Temporary sessions in force for `user` whose window contains `at`.
    pub fn temp_sessions_at(&self, user: &str, at: Timestamp) -> impl Iterator<Item = &'a TempRoleSession> + '_ {
        self.temp.get(user).into_iter().flatten().copied().filter(move |s| s.start <= at && at < s.end)
    }
}

impl Model {
    /// Sessions in force, by user; see [`AccessView`].
    pub fn access_view(&self) -> AccessView<'_> {
        AccessView::new(self)
    }

    pub fn session_settings(&self) -> SessionSettings {
        self.session_settings.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minus_cuts_holes() {
        assert_eq!(minus(&[(0, 10)], &[(2, 3), (5, 7)]), vec![(0, 2), (3, 5), (7, 10)]);
        assert_eq!(minus(&[(0, 10)], &[(-5, 15)]), vec![]);
        assert_eq!(minus(&[(i64::MIN, i64::MAX)], &[(5, 7)]), vec![(i64::MIN, 5), (7, i64::MAX)]);
        assert_eq!(union(vec![(5, 7), (0, 2), (1, 3), (7, 8)]), vec![(0, 3), (5, 8)]);
    }
}
