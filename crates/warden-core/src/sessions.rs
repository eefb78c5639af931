//! Temporary role sessions and privileged user sessions: the commands of
//! administrators and the background processor's transitions.
//!
//! Every status change is one commit (one transaction, one audit event), made
//! against the revision it read: two processors, or a processor and an
//! administrator, can never make the same transition twice, because the
//! loser's commit is refused, re-planned, and finds the session moved on.
//! Access itself never waits for a transition: a session counts from its
//! approval, inside its window (see `warden_model::AccessView`).

use crate::builtin::SYSTEM_ADMINISTRATOR;
use crate::error::CoreError;
use crate::names::lookup;
use crate::service::{Plan, Target, Validation, Warden};
use serde::Serialize;
use std::fmt::Write as _;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use warden_model::{
    AccountAction, Model, Object, ObjectKind, ObjectRef, PrivilegedSession, PrivilegedSessionRequest, PrivilegedStatus, RecordingDeletion,
    RecordingSeal, SessionSettings, StatusChange, TempRoleSession, TempSessionEdit, TempSessionRequest, TempStatus, Timestamp, User,
    PRIVILEGED_MAX_MS,
};
use warden_store::{ActivityEvent, ActivityFilter, ActivityPurge, AuditFilter, Change, Revision};

/// Activity kinds that make up a privileged session's recording.
pub const RECORDING_KINDS: [&str; 2] = ["check", "activity"];
/// Activity kinds that make up a session's user log.
pub const SIGN_IN_KINDS: [&str; 3] = ["sign_in", "sign_out", "sign_in_failed"];

/// A session and the revision that wrote it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionOutcome<T> {
    pub session: T,
    pub revision: Revision,
}

/// Which family a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Temp,
    Privileged,
}

/// One status change the processor made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub family: Family,
    pub session: String,
    pub user: String,
    pub from: String,
    pub to: String,
    /// When it was due (the session's start or end) and when it happened.
    pub due: Timestamp,
    pub at: Timestamp,
    pub revision: Revision,
}

impl Transition {
    fn new(family: Family, session: &str, user: &str, (from, to): (&str, &str), due: Timestamp, at: Timestamp) -> Transition {
        Transition { family, session: session.into(), user: user.into(), from: from.into(), to: to.into(), due, at, revision: 0 }
    }
}

/// What one processing run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessOutcome {
    pub transitions: Vec<Transition>,
    /// Starts refused (segregation of duties), with why; the session went back to draft.
    pub refused: Vec<String>,
}

/// A session's logs, as D365 shows them on the session form.
#[derive(Debug, Clone, Serialize)]
pub struct SessionLog {
    /// Every status change: when, who, and whether the batch process or an administrator made it.
    pub audit: Vec<StatusChange>,
    /// The user's sign-ins while the session was active, then its end.
    pub user_log: Vec<UserLogEntry>,
    /// Temporary sessions: changes to the user's role assignments while the session was active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_changes: Option<Vec<RoleChange>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserLogEntry {
    pub at: Timestamp,
    /// `sign_in`, `sign_out`, `sign_in_failed`, or `session_ended`.
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleChange {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub role: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
    pub audit_seq: u64,
}

fn entry(at: Timestamp, from: Option<&str>, to: &str, by: &str, batch: bool, note: Option<String>) -> StatusChange {
    StatusChange { at, from: from.map(str::to_string), to: to.to_string(), by: by.to_string(), batch, self_approval: false, note }
}

/// The next id of a family: `TRS-000001`, `PUS-000001`, ...
fn next_id<V: Clone>(map: &warden_model::Map<String, V>, prefix: &str) -> String {
    let n = map.keys().filter_map(|k| k.strip_prefix(prefix)?.strip_prefix('-')?.parse::<u64>().ok()).max().unwrap_or(0);
    format!("{prefix}-{:06}", n + 1)
}

fn reason(text: Option<&str>) -> Option<String> {
    text.map(str::trim).filter(|r| !r.is_empty()).map(str::to_string)
}

/// Only holders of the built-in System administrator role may create,
/// approve or process sessions (D365's rule), and only while it is in force.
pub(crate) fn require_system_administrator(model: &Model, actor: &str, now: Timestamp) -> Result<(), CoreError> {
    let holds = model.access_view().assignments_of(model, actor).iter().any(|a| a.role == SYSTEM_ADMINISTRATOR && a.is_valid_at(now));
    if holds {
        Ok(())
    } else {
        Err(CoreError::NotPermitted(format!(
            "'{actor}' does not hold the System administrator role ({SYSTEM_ADMINISTRATOR}) now; only system administrators \
             may create, edit, approve, cancel or process sessions (with the command line, name one with --actor)"
        )))
    }
}

fn check_window(start: Timestamp, end: Timestamp, now: Timestamp) -> Result<(), CoreError> {
    if start >= end {
        return Err(CoreError::InvalidInput(format!("the session's end {end} is not after its start {start}")));
    }
    if end <= now {
        return Err(CoreError::InvalidInput(format!("the session's end {end} is already past (now is {now})")));
    }
    Ok(())
}

fn check_privileged_length(start: Timestamp, end: Timestamp) -> Result<(), CoreError> {
    let length = end.0 - start.0;
    if length > PRIVILEGED_MAX_MS {
        let minutes = (length + 59_999) / 60_000;
        return Err(CoreError::InvalidInput(format!(
            "a privileged user session lasts at most 24 hours; {start} to {end} is {}h {:02}m",
            minutes / 60,
            minutes % 60
        )));
    }
    Ok(())
}

/// The stored role names and organization ids that the request's names mean.
fn resolve_roles_and_orgs(model: &Model, roles: &[String], orgs: &[String]) -> Result<(Vec<String>, Vec<String>), CoreError> {
    let mut out_roles = Vec::new();
    for r in roles {
        let name = lookup::role(model, r)?.name.clone();
        if !out_roles.contains(&name) {
            out_roles.push(name);
        }
    }
    if out_roles.is_empty() {
        return Err(CoreError::InvalidInput("a temporary role session needs at least one role (--role)".into()));
    }
    Ok((out_roles, lookup::orgs(model, orgs)?))
}

/// The temporary role session `id` names (any case), or an unknown-session error with a did-you-mean.
pub fn temp<'a>(model: &'a Model, id: &str) -> Result<&'a TempRoleSession, CoreError> {
    lookup::named(&model.temp_role_sessions, ObjectKind::TempRoleSession, id).map(|(_, s)| s)
}

/// The privileged user session `id` names (any case), or an unknown-session error with a did-you-mean.
pub fn privileged<'a>(model: &'a Model, id: &str) -> Result<&'a PrivilegedSession, CoreError> {
    lookup::named(&model.privileged_sessions, ObjectKind::PrivilegedSession, id).map(|(_, s)| s)
}

fn refuse(id: &str, status: impl std::fmt::Display, message: impl Into<String>) -> CoreError {
    CoreError::Transition { session: id.to_string(), status: status.to_string(), message: message.into() }
}

/// The approver must not be the requester unless the settings allow it; returns whether it is a self-approval.
fn check_approver(settings: &SessionSettings, requested_by: &str, actor: &str) -> Result<bool, CoreError> {
    if requested_by != actor {
        return Ok(false);
    }
    if settings.allow_self_approval {
        return Ok(true);
    }
    Err(CoreError::NotPermitted(format!(
        "'{actor}' requested this session and may not approve it; another system administrator must \
         (or allow self-approval in the session settings)"
    )))
}

fn summary_of_temp(s: &TempRoleSession) -> serde_json::Value {
    json!({"session": s.id, "user": s.user, "status": s.status, "roles": s.roles, "organizations": s.organizations,
           "type": s.session_type, "start": s.start, "end": s.end})
}

fn summary_of_privileged(s: &PrivilegedSession) -> serde_json::Value {
    json!({"session": s.id, "user": s.user, "status": s.status, "action": s.action, "start": s.start, "end": s.end})
}

impl Warden {
    /// `session temp new`: a draft temporary role session requested by the actor.
    pub async fn new_temp_session(&self, request: &TempSessionRequest) -> Result<SessionOutcome<TempRoleSession>, CoreError> {
        let now = self.now();
        check_window(request.start, request.end, now)?;
        let actor = self.user().to_string();
        let (session, revision, _) = self
            .run(Validation::Strict, |model| {
                require_system_administrator(model, &actor, now)?;
                let user = lookup::user(model, &request.user)?;
                let (roles, organizations) = resolve_roles_and_orgs(model, &request.roles, &request.organizations)?;
                let s = TempRoleSession {
                    id: next_id(&model.temp_role_sessions, "TRS"),
                    user: user.id.clone(),
                    roles,
                    organizations,
                    session_type: request.session_type,
                    start: request.start,
                    end: request.end,
                    reason: reason(request.reason.as_deref()),
                    requested_by: actor.clone(),
                    status: TempStatus::Draft,
                    approved_by: None,
                    override_reason: None,
                    started_at: None,
                    ended_at: None,
                    history: vec![entry(now, None, "draft", &actor, false, Some("created".into()))],
                };
                Ok(Plan { action: "temp-session create", summary: summary_of_temp(&s), changes: vec![Change::Put(Object::TempRoleSession(s.clone()))], outcome: s })
            })
            .await?;
        Ok(SessionOutcome { session, revision })
    }

    /// `session temp edit`: only draft and planned sessions; a planned one goes back to draft.
    pub async fn edit_temp_session(&self, id: &str, edit: &TempSessionEdit) -> Result<SessionOutcome<TempRoleSession>, CoreError> {
        let now = self.now();
        let actor = self.user().to_string();
        let (session, revision, _) = self
            .run(Validation::Strict, |model| {
                require_system_administrator(model, &actor, now)?;
                let old = temp(model, id)?;
                match old.status {
                    TempStatus::Draft => {}
                    TempStatus::Planned if now >= old.start => {
                        return Err(refuse(&old.id, old.status, format!("it started at {}; a started session can no longer be edited", old.start)));
                    }
                    TempStatus::Planned => {}
                    s => return Err(refuse(&old.id, s, "only draft and planned sessions can be edited")),
                }
                let mut s = old.clone();
                if let Some(roles) = &edit.roles {
                    s.roles = roles.clone();
                }
                if let Some(orgs) = &edit.organizations {
                    s.organizations = orgs.clone();
                }
                (s.roles, s.organizations) = resolve_roles_and_orgs(model, &s.roles, &s.organizations)?;
                s.session_type = edit.session_type.unwrap_or(s.session_type);
                s.start = edit.start.unwrap_or(s.start);
                s.end = edit.end.unwrap_or(s.end);
                if edit.reason.is_some() {
                    s.reason = reason(edit.reason.as_deref());
                }
                check_window(s.start, s.end, now)?;
                let note = if old.status == TempStatus::Planned { "edited; back to draft for approval" } else { "edited" };
                s.status = TempStatus::Draft;
                s.approved_by = None;
                s.override_reason = None;
                s.history.push(entry(now, Some(old.status.as_str()), "draft", &actor, false, Some(note.into())));
                Ok(Plan { action: "temp-session edit", summary: summary_of_temp(&s), changes: vec![Change::Put(Object::TempRoleSession(s.clone()))], outcome: s })
            })
            .await?;
        Ok(SessionOutcome { session, revision })
    }

    /// `session temp approve`: draft → planned. Refused when the session
    /// would give the user both sides of a segregation-of-duties rule, unless
    /// `override_reason` says why that is allowed (recorded in the register).
    pub async fn approve_temp_session(&self, id: &str, override_reason: Option<&str>) -> Result<SessionOutcome<TempRoleSession>, CoreError> {
        let now = self.now();
        let actor = self.user().to_string();
        let override_reason = reason(override_reason);
        let (session, revision, _) = self
            .run(Validation::Strict, |model| {
                require_system_administrator(model, &actor, now)?;
                let old = temp(model, id)?;
                if old.status != TempStatus::Draft {
                    return Err(refuse(&old.id, old.status, "only a draft session can be approved"));
                }
                if old.end <= now {
                    return Err(refuse(&old.id, old.status, format!("its window ended at {}; edit the window first", old.end)));
                }
                let self_approval = check_approver(&model.session_settings(), &old.requested_by, &actor)?;
                let mut s = old.clone();
                s.status = TempStatus::Planned;
                s.approved_by = Some(actor.clone());
                s.override_reason = override_reason.clone();
                let mut change = entry(now, Some("draft"), "planned", &actor, false, None);
                change.self_approval = self_approval;
                s.history.push(change);
                let mut changes = vec![Change::Put(Object::TempRoleSession(s.clone()))];
                changes.extend(crate::sod::session_decisions(model, &s, override_reason.as_deref(), &actor, now)?);
                let mut summary = summary_of_temp(&s);
                summary["self_approval"] = json!(self_approval);
                summary["override_reason"] = json!(override_reason);
                Ok(Plan { action: "temp-session approve", summary, changes, outcome: s })
            })
            .await?;
        Ok(SessionOutcome { session, revision })
    }

    /// `session temp cancel`: draft or planned (not yet started) → cancelled.
    pub async fn cancel_temp_session(&self, id: &str, note: Option<&str>) -> Result<SessionOutcome<TempRoleSession>, CoreError> {
        let now = self.now();
        let actor = self.user().to_string();
        let (session, revision, _) = self
            .run(Validation::AllowDangling, |model| {
                require_system_administrator(model, &actor, now)?;
                let old = temp(model, id)?;
                match old.status {
                    TempStatus::Draft => {}
                    TempStatus::Planned if now >= old.start => {
                        return Err(refuse(&old.id, old.status, format!("it started at {}; a started session cannot be cancelled (it ends at {})", old.start, old.end)));
                    }
                    TempStatus::Planned => {}
                    s => return Err(refuse(&old.id, s, "only draft and planned sessions can be cancelled")),
                }
                let mut s = old.clone();
                s.status = TempStatus::Cancelled;
                s.history.push(entry(now, Some(old.status.as_str()), "cancelled", &actor, false, reason(note)));
                Ok(Plan { action: "temp-session cancel", summary: summary_of_temp(&s), changes: vec![Change::Put(Object::TempRoleSession(s.clone()))], outcome: s })
            })
            .await?;
        Ok(SessionOutcome { session, revision })
    }

    /// `session privileged new`: a draft privileged user session (at most 24 hours).
    pub async fn new_privileged_session(&self, request: &PrivilegedSessionRequest) -> Result<SessionOutcome<PrivilegedSession>, CoreError> {
        let now = self.now();
        check_window(request.start, request.end, now)?;
        check_privileged_length(request.start, request.end)?;
        let actor = self.user().to_string();
        let (session, revision, _) = self
            .run(Validation::Strict, |model| {
                require_system_administrator(model, &actor, now)?;
                let user = lookup::user(model, &request.user)?;
                let s = PrivilegedSession {
                    id: next_id(&model.privileged_sessions, "PUS"),
                    user: user.id.clone(),
                    start: request.start,
                    end: request.end,
                    action: request.action,
                    reason: reason(request.reason.as_deref()),
                    requested_by: actor.clone(),
                    status: PrivilegedStatus::Draft,
                    approved_by: None,
                    original_enabled: None,
                    started_at: None,
                    ended_at: None,
                    recording_deleted: None,
                    recording_seal: None,
                    history: vec![entry(now, None, "draft", &actor, false, Some("created".into()))],
                };
                Ok(Plan {
                    action: "privileged-session create",
                    summary: summary_of_privileged(&s),
                    changes: vec![Change::Put(Object::PrivilegedSession(s.clone()))],
                    outcome: s,
                })
            })
            .await?;
        Ok(SessionOutcome { session, revision })
    }

    /// `session privileged approve|reject|cancel`: the administrator's moves.
    pub async fn decide_privileged_session(&self, id: &str, decision: PrivilegedDecision, note: Option<&str>) -> Result<SessionOutcome<PrivilegedSession>, CoreError> {
        let now = self.now();
        let actor = self.user().to_string();
        let (session, revision, _) = self
            .run(Validation::AllowDangling, |model| {
                require_system_administrator(model, &actor, now)?;
                let old = privileged(model, id)?;
                let mut s = old.clone();
                let mut self_approval = false;
                let to = match (decision, old.status) {
                    (PrivilegedDecision::Approve, PrivilegedStatus::Draft) => {
                        if old.end <= now {
                            return Err(refuse(&old.id, old.status, format!("its window ended at {}", old.end)));
                        }
                        self_approval = check_approver(&model.session_settings(), &old.requested_by, &actor)?;
                        s.approved_by = Some(actor.clone());
                        PrivilegedStatus::Approved
                    }
                    (PrivilegedDecision::Reject, PrivilegedStatus::Draft) => PrivilegedStatus::Rejected,
                    (PrivilegedDecision::Cancel, PrivilegedStatus::Approved) if now >= old.start => {
                        return Err(refuse(&old.id, old.status, format!("it started at {}; a started session cannot be cancelled (it ends at {})", old.start, old.end)));
                    }
                    (PrivilegedDecision::Cancel, PrivilegedStatus::Draft | PrivilegedStatus::Approved) => PrivilegedStatus::Cancelled,
                    (d, status) => return Err(refuse(&old.id, status, format!("it cannot be {}; {}", d.past(), d.allowed_from()))),
                };
                s.status = to;
                let mut change = entry(now, Some(old.status.as_str()), to.as_str(), &actor, false, reason(note));
                change.self_approval = self_approval;
                s.history.push(change);
                let mut summary = summary_of_privileged(&s);
                summary["self_approval"] = json!(self_approval);
                Ok(Plan { action: decision.action(), summary, changes: vec![Change::Put(Object::PrivilegedSession(s.clone()))], outcome: s })
            })
            .await?;
        Ok(SessionOutcome { session, revision })
    }

    /// `session settings`: whether a requester may approve their own sessions.
    pub async fn set_session_settings(&self, settings: SessionSettings) -> Result<Revision, CoreError> {
        self.set_session_settings_if(settings, None).await
    }

    /// [`Warden::set_session_settings`] only while the stored settings are as
    /// the caller saw them (`If-Match`; a version of `None`: none stored yet).
    pub async fn set_session_settings_if(&self, settings: SessionSettings, seen: Option<warden_store::Precondition>) -> Result<Revision, CoreError> {
        let now = self.now();
        let actor = self.user().to_string();
        let target = Target { preconditions: seen.into_iter().collect(), ..Target::default() };
        let (_, revision, _) = self
            .run_to(target, Validation::Strict, |model| {
                require_system_administrator(model, &actor, now)?;
                Ok(Plan {
                    action: "session-settings replace",
                    summary: json!(settings),
                    changes: vec![Change::Put(Object::SessionSettings(settings.clone()))],
                    outcome: (),
                })
            })
            .await?;
        Ok(revision)
    }

    /// `warden process --once`, and the processor in `warden serve`: every
    /// start and end that is due, in batch commits ([`plan_batch`]), recorded
    /// with the real time. Safe to run anywhere at any time: a transition
    /// another processor made first is skipped.
    pub async fn process_sessions(&self) -> Result<ProcessOutcome, CoreError> {
        let mut out = ProcessOutcome::default();
        let by = self.user().to_string();
        loop {
            let now = self.now();
            let seals = self.seals_due(now, None).await?;
            let result = self.run_to(Target::default(), Validation::AllowDangling, |model| plan_batch(model, now, &by, &seals)).await;
            match result {
                Ok((done, revision, _)) => {
                    for mut t in done.transitions {
                        t.revision = revision;
                        tracing::info!(session = %t.session, from = %t.from, to = %t.to, late_ms = t.at.0 - t.due.0, "session transition");
                        out.transitions.push(t);
                    }
                    out.refused.extend(done.refused);
                }
                // Nothing (left) to do: another processor may have done it; no commit was made.
                Err(CoreError::Transition { .. }) => return Ok(out),
                Err(e) => return Err(e),
            }
        }
    }

    /// `session temp|privileged process ID`: the processor's work for one
    /// session, now, by an administrator.
    pub async fn process_session(&self, family: Family, id: &str) -> Result<ProcessOutcome, CoreError> {
        let (model, _) = self.loaded().await?;
        let now = self.now();
        require_system_administrator(&model, self.user(), now)?;
        let id = match family {
            Family::Temp => temp(&model, id)?.id.clone(),
            Family::Privileged => privileged(&model, id)?.id.clone(),
        };
        let mut out = ProcessOutcome::default();
        self.process_one(family, &id, false, &mut out).await?;
        Ok(out)
    }

    /// Makes every transition of one session that is due, one commit each.
    async fn process_one(&self, family: Family, id: &str, batch: bool, out: &mut ProcessOutcome) -> Result<(), CoreError> {
        // At most two moves (start, then end) are ever due at once.
        for _ in 0..2 {
            let step = self.step(family, id, batch).await;
            match step {
                Ok(Step::Moved(t)) => out.transitions.push(t),
                Ok(Step::Refused(why)) => {
                    out.refused.push(why);
                    break;
                }
                Ok(Step::Nothing) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// One transition, if one is due; decided and committed against one revision.
    async fn step(&self, family: Family, id: &str, batch: bool) -> Result<Step, CoreError> {
        let now = self.now();
        let actor = self.user().to_string();
        let seals = match family {
            Family::Temp => HashMap::new(),
            Family::Privileged => self.seals_due(now, Some(id)).await?,
        };
        let result = self
            .run_to(Target::default(), Validation::AllowDangling, |model| {
                let by = actor.as_str();
                match family {
                    Family::Temp => plan_temp_step(model, temp(model, id)?, now, by, batch),
                    Family::Privileged => {
                        let s = privileged(model, id)?;
                        plan_privileged_step(model, s, now, by, batch, seals.get(&s.id))
                    }
                }
            })
            .await;
        match result {
            Ok((Step::Moved(mut t), revision, _)) => {
                t.revision = revision;
                tracing::info!(session = %t.session, from = %t.from, to = %t.to, late_ms = t.at.0 - t.due.0, "session transition");
                Ok(Step::Moved(t))
            }
            Ok((step, ..)) => Ok(step),
            // Nothing due (another processor got there first): no commit was made.
            Err(CoreError::Transition { .. }) => Ok(Step::Nothing),
            Err(e) => Err(e),
        }
    }

    /// A session's audit log, user log and (temporary sessions) role change log.
    pub async fn session_log(&self, family: Family, id: &str) -> Result<SessionLog, CoreError> {
        let (model, _) = self.loaded().await?;
        let now = self.now();
        // The user log covers the window in which the session gave access: from its start
        // (once it has started) to its end, or to now while it runs.
        let (id, user, history, window, ended, temp_session) = match family {
            Family::Temp => {
                let s = temp(&model, id)?;
                (s.id.clone(), s.user.clone(), s.history.clone(), (s.start, s.end), s.ended_at, true)
            }
            Family::Privileged => {
                let s = privileged(&model, id)?;
                (s.id.clone(), s.user.clone(), s.history.clone(), (s.start, s.end), s.ended_at, false)
            }
        };
        let started = (history.iter().any(|h| h.to == "active")).then_some(window.0);
        let mut user_log = Vec::new();
        let mut role_changes = temp_session.then(Vec::new);
        if let Some(started) = started {
            let until = now.min(window.1);
            let events = self
                .store()
                .activity(&ActivityFilter {
                    user: Some(user.clone()),
                    kinds: SIGN_IN_KINDS.iter().map(|k| k.to_string()).collect(),
                    since: Some(started),
                    until: Some(until),
                    ..Default::default()
                })
                .await?;
            user_log.extend(events.into_iter().map(|e| UserLogEntry { at: e.at, event: e.kind, source: e.source }));
            if let Some(ended) = ended {
                user_log.push(UserLogEntry { at: ended, event: "session_ended".into(), source: None });
            }
            if let Some(changes) = role_changes.as_mut() {
                changes.extend(self.role_changes(&user, &id, family).await?);
            }
        }
        Ok(SessionLog { audit: history, user_log, role_changes })
    }

    /// The seals of the recordings of the privileged sessions (all, or `only`)
    /// whose end is due at `now`, made before the end is planned: the plan
    /// cannot read the store, and the end commit carries the seal.
    async fn seals_due(&self, now: Timestamp, only: Option<&str>) -> Result<HashMap<String, RecordingSeal>, CoreError> {
        let mut seals = HashMap::new();
        for object in self.store().list(ObjectKind::PrivilegedSession).await? {
            let Object::PrivilegedSession(s) = object else { continue };
            if s.status != PrivilegedStatus::Active || s.end > now || only.is_some_and(|id| !id.eq_ignore_ascii_case(&s.id)) {
                continue;
            }
            let events = self.store().activity(&recording_filter(&s)).await?;
            seals.insert(s.id.clone(), seal_of(&events, now));
        }
        Ok(seals)
    }

    /// Changes to `user`'s assignments between the session's start and end,
    /// from the audit trail. Bounded by the audit events of the start and the
    /// end themselves, so that clocks (of replicas, of tests) cannot shift it.
    async fn role_changes(&self, user: &str, id: &str, family: Family) -> Result<Vec<RoleChange>, CoreError> {
        let kind = match family {
            Family::Temp => ObjectKind::TempRoleSession,
            Family::Privileged => ObjectKind::PrivilegedSession,
        };
        let own = self.store().audit_events(&AuditFilter { object: Some(warden_model::ObjectRef::new(kind, id)), ..Default::default() }).await?;
        let Some(start) = own.iter().find(|e| e.action.ends_with(" start")).map(|e| e.seq) else { return Ok(Vec::new()) };
        let end = own.iter().find(|e| e.action.ends_with(" end")).map(|e| e.seq);
        let events = self.store().audit_events(&AuditFilter { after_seq: Some(start), include_changes: true, ..Default::default() }).await?;
        let prefix = format!("{user}/");
        let mut out = Vec::new();
        for e in events.iter().filter(|e| end.is_none_or(|end| e.seq < end)) {
            for c in e.changes.iter().filter(|c| c.object.kind == ObjectKind::Assignment) {
                let Some(role) = c.object.name.strip_prefix(&prefix) else { continue };
                let change = match (&c.before, &c.after) {
                    (None, Some(_)) => "added",
                    (Some(_), None) => "removed",
                    _ => "changed",
                };
                out.push(RoleChange { at: e.at, actor: e.actor.clone(), action: e.action.clone(), role: role.to_string(), change: change.into(), audit_seq: e.seq });
            }
        }
        Ok(out)
    }

    /// A privileged session's recording: every access check that concerned
    /// the user inside the session's window, and every activity event
    /// applications posted for them, in the order they arrived, with the
    /// state of its seal. A recording that no longer matches the seal its
    /// session's end put into the audit trail is refused
    /// ([`CoreError::RecordingAltered`]), never served as if intact.
    pub async fn recording(&self, id: &str) -> Result<Recording, CoreError> {
        let (model, _) = self.loaded().await?;
        let (session, events) = self.recording_in(&model, id).await?;
        drop(model);
        let sealed = self.sealed_in_trail(&session.id).await?;
        let seal = check_seal(&session, sealed, &events).map_err(|reason| CoreError::RecordingAltered { session: session.id.clone(), reason })?;
        Ok(Recording { session, events, seal })
    }

    async fn recording_in(&self, model: &Model, id: &str) -> Result<(PrivilegedSession, Vec<ActivityEvent>), CoreError> {
        let s = privileged(model, id)?.clone();
        // Never approved (draft, rejected, cancelled): nothing was recorded.
        if !s.in_force() {
            return Ok((s, Vec::new()));
        }
        let events = self.store().activity(&recording_filter(&s)).await?;
        Ok((s, events))
    }

    /// The seal the session's end wrote, read from the hash-chained audit
    /// trail rather than the session row, which a database writer could edit
    /// without breaking the chain.
    async fn sealed_in_trail(&self, id: &str) -> Result<Option<RecordingSeal>, CoreError> {
        let filter = AuditFilter { object: Some(ObjectRef::new(ObjectKind::PrivilegedSession, id)), include_changes: true, ..Default::default() };
        let events = self.store().audit_events(&filter).await?;
        let latest = events.iter().rev().flat_map(|e| &e.changes).find_map(|c| c.after.as_ref()?.get("recording_seal").filter(|v| !v.is_null()).cloned());
        match latest {
            None => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| CoreError::RecordingAltered { session: id.to_string(), reason: format!("the seal in the audit trail is unreadable ({e})") }),
        }
    }

    /// Deletes a privileged session's recording: the events go in the same
    /// transaction as the audit event that says who deleted how many.
    pub async fn delete_recording(&self, id: &str) -> Result<SessionOutcome<PrivilegedSession>, CoreError> {
        let now = self.now();
        let actor = self.user().to_string();
        let (model, _) = self.loaded().await?;
        require_system_administrator(&model, &actor, now)?;
        let (s, events) = self.recording_in(&model, id).await?;
        drop(model); // the commit below loads its own copy; not two whole models at once
        if s.status == PrivilegedStatus::Active || (s.in_force() && now < s.end) {
            return Err(refuse(&s.id, s.status, "its recording is still being made; delete it once the session has ended"));
        }
        // Deleting is allowed whatever the seal says, but the audit event keeps
        // what the deleted events were: intact, or altered and how.
        let seal = match check_seal(&s, self.sealed_in_trail(&s.id).await?, &events) {
            Ok(state) => json!(state),
            Err(reason) => json!({"state": "altered", "reason": reason}),
        };
        let purge = ActivityPurge { user: s.user.clone(), kinds: RECORDING_KINDS.iter().map(|k| k.to_string()).collect(), since: s.start, until: s.end };
        let count = events.len() as u64;
        let (session, revision, _) = self
            .run_to(Target { purge_activity: vec![purge], ..Target::default() }, Validation::AllowDangling, |model| {
                let mut s = privileged(model, id)?.clone();
                s.recording_deleted = Some(warden_model::RecordingDeletion { at: now, by: actor.clone(), events: count });
                let summary = json!({"session": s.id, "user": s.user, "events": count, "seal": seal});
                Ok(Plan { action: "privileged-session recording delete", summary, changes: vec![Change::Put(Object::PrivilegedSession(s.clone()))], outcome: s })
            })
            .await?;
        Ok(SessionOutcome { session, revision })
    }
}

/// An administrator's decision on a privileged user session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivilegedDecision {
    Approve,
    Reject,
    Cancel,
}

impl PrivilegedDecision {
    fn action(self) -> &'static str {
        match self {
            PrivilegedDecision::Approve => "privileged-session approve",
            PrivilegedDecision::Reject => "privileged-session reject",
            PrivilegedDecision::Cancel => "privileged-session cancel",
        }
    }
    fn past(self) -> &'static str {
        match self {
            PrivilegedDecision::Approve => "approved",
            PrivilegedDecision::Reject => "rejected",
            PrivilegedDecision::Cancel => "cancelled",
        }
    }
    fn allowed_from(self) -> &'static str {
        match self {
            PrivilegedDecision::Approve | PrivilegedDecision::Reject => "only a draft session can be",
            PrivilegedDecision::Cancel => "only draft and approved (not yet started) sessions can be",
        }
    }
}

/// Most sessions one processing commit moves: a commit loads and checks the
/// whole model, so due transitions share commits, in batches of this size.
const BATCH: usize = 200;

/// What one batch commit does.
struct Batch {
    transitions: Vec<Transition>,
    refused: Vec<String>,
}

/// The next transition of every session with one due at `now` (up to
/// [`BATCH`] sessions), as one plan.
fn plan_batch(model: &Model, now: Timestamp, by: &str, seals: &HashMap<String, RecordingSeal>) -> Result<Plan<Batch>, CoreError> {
    let mut batch = Batch { transitions: Vec::new(), refused: Vec::new() };
    let mut changes = Vec::new();
    let mut actions = Vec::new();
    for (family, id) in due(model, now).into_iter().take(BATCH) {
        let mut session = match family {
            Family::Temp => model.temp_role_sessions.get(&id).cloned().map(Object::TempRoleSession),
            Family::Privileged => model.privileged_sessions.get(&id).cloned().map(Object::PrivilegedSession),
        };
        // One move per session and commit: a session whose start and end are
        // both past starts in this commit and ends in the next, so that the
        // audit trail shows each transition.
        let plan = match &session {
            Some(Object::TempRoleSession(s)) => plan_temp_step(model, s, now, by, true),
            Some(Object::PrivilegedSession(s)) => plan_privileged_step(model, s, now, by, true, seals.get(&s.id)),
            _ => continue,
        };
        let Ok(plan) = plan else { continue };
        actions.push(plan.action);
        for c in plan.changes {
            match c {
                Change::Put(o @ (Object::TempRoleSession(_) | Object::PrivilegedSession(_))) => session = Some(o),
                other => changes.push(other),
            }
        }
        match plan.outcome {
            Step::Moved(t) => batch.transitions.push(t),
            Step::Refused(why) => batch.refused.push(why),
            Step::Nothing => {}
        }
        changes.extend(session.map(Change::Put));
    }
    if changes.is_empty() {
        return Err(refuse("sessions", "processed", "nothing is due"));
    }
    // One transition keeps its own name in the audit trail; a batch says so.
    let action = if actions.len() == 1 { actions[0] } else { "sessions process" };
    let summary = json!({
        "batch": true,
        "transitions": batch.transitions.iter().map(|t| json!({"session": t.session, "user": t.user, "from": t.from, "to": t.to, "due": t.due})).collect::<Vec<_>>(),
        "refused": batch.refused,
    });
    Ok(Plan { action, summary, changes, outcome: batch })
}

/// What one processing step found to do.
#[derive(Debug)]
enum Step {
    Moved(Transition),
    Refused(String),
    Nothing,
}

/// The sessions with a transition due at `now`, in order of when it fell due.
pub fn due(model: &Model, now: Timestamp) -> Vec<(Family, String)> {
    let mut out: Vec<(Timestamp, Family, &String)> = next_moves(model).filter(|(t, ..)| *t <= now).collect();
    out.sort();
    out.into_iter().map(|(_, f, id)| (f, id.clone())).collect()
}

/// When the next transition falls due after `now`, for a processor that sleeps until then.
pub fn next_due(model: &Model, now: Timestamp) -> Option<Timestamp> {
    next_moves(model).map(|(t, ..)| t).filter(|t| *t > now).min()
}

/// Every session's next start or end, with its family and id.
fn next_moves(model: &Model) -> impl Iterator<Item = (Timestamp, Family, &String)> {
    let temp = model.temp_role_sessions.values().filter_map(|s| Some((s.next_move()?, Family::Temp, &s.id)));
    let privileged = model.privileged_sessions.values().filter_map(|s| Some((s.next_move()?, Family::Privileged, &s.id)));
    temp.chain(privileged)
}

fn nothing_due(id: &str, status: impl std::fmt::Display) -> CoreError {
    refuse(id, status, "nothing is due")
}

fn plan_temp_step(model: &Model, old: &TempRoleSession, now: Timestamp, by: &str, batch: bool) -> Result<Plan<Step>, CoreError> {
    let id = old.id.as_str();
    let mut s = old.clone();
    let transition = |from: &str, to: &str, due: Timestamp| Transition::new(Family::Temp, &old.id, &old.user, (from, to), due, now);
    match old.status {
        TempStatus::Planned if old.start <= now => {
            // Conflicts that appeared after approval (a new rule, a changed role) stop the start.
            let found = crate::sod::session_conflicts(model, old, now);
            if !found.is_empty() && old.override_reason.is_none() {
                let why = found.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                if !batch {
                    return Err(CoreError::SodConflicts(found));
                }
                s.status = TempStatus::Draft;
                s.approved_by = None;
                s.history.push(entry(now, Some("planned"), "draft", by, batch, Some(format!("start refused by segregation of duties: {why}"))));
                let summary = json!({"session": s.id, "user": s.user, "from": "planned", "to": "draft", "refused": why, "batch": batch});
                return Ok(Plan { action: "temp-session start refused", summary, changes: vec![Change::Put(Object::TempRoleSession(s))], outcome: Step::Refused(format!("{id}: {why}")) });
            }
            s.status = TempStatus::Active;
            s.started_at = Some(now);
            s.history.push(entry(now, Some("planned"), "active", by, batch, late_note(old.start, now)));
            let mut summary = summary_of_temp(&s);
            summary["batch"] = json!(batch);
            summary["due"] = json!(old.start);
            Ok(Plan { action: "temp-session start", summary, changes: vec![Change::Put(Object::TempRoleSession(s))], outcome: Step::Moved(transition("planned", "active", old.start)) })
        }
        TempStatus::Active if old.end <= now => {
            s.status = TempStatus::Ended;
            s.ended_at = Some(now);
            s.history.push(entry(now, Some("active"), "ended", by, batch, late_note(old.end, now)));
            let mut summary = summary_of_temp(&s);
            summary["batch"] = json!(batch);
            summary["due"] = json!(old.end);
            Ok(Plan { action: "temp-session end", summary, changes: vec![Change::Put(Object::TempRoleSession(s))], outcome: Step::Moved(transition("active", "ended", old.end)) })
        }
        status => Err(nothing_due(id, status)),
    }
}

/// `seal`: the recording's seal, made just before; an end without one waits
/// for the next run (the session became due after the seals were made).
fn plan_privileged_step(
    model: &Model,
    old: &PrivilegedSession,
    now: Timestamp,
    by: &str,
    batch: bool,
    seal: Option<&RecordingSeal>,
) -> Result<Plan<Step>, CoreError> {
    let id = old.id.as_str();
    let mut s = old.clone();
    let transition = |from: &str, to: &str, due: Timestamp| Transition::new(Family::Privileged, &old.id, &old.user, (from, to), due, now);
    let user: Option<&User> = model.users.get(&old.user);
    match old.status {
        PrivilegedStatus::Approved if old.start <= now => {
            // The account's own flag stays as it is: the engine applies the
            // session's state inside the window; the end puts back this one.
            s.original_enabled = Some(user.is_some_and(|u| u.enabled));
            s.status = PrivilegedStatus::Active;
            s.started_at = Some(now);
            let what = match old.action {
                AccountAction::Enable => "account enabled for the session",
                AccountAction::Disable => "account disabled for the session",
            };
            let note = [Some(what.to_string()), late_note(old.start, now)].into_iter().flatten().collect::<Vec<_>>().join("; ");
            s.history.push(entry(now, Some("approved"), "active", by, batch, Some(note)));
            let mut summary = summary_of_privileged(&s);
            summary["batch"] = json!(batch);
            summary["due"] = json!(old.start);
            summary["original_enabled"] = json!(s.original_enabled);
            Ok(Plan { action: "privileged-session start", summary, changes: vec![Change::Put(Object::PrivilegedSession(s))], outcome: Step::Moved(transition("approved", "active", old.start)) })
        }
        PrivilegedStatus::Active if old.end <= now => {
            let Some(seal) = seal else { return Err(refuse(id, old.status, "its recording is not sealed yet")) };
            s.status = PrivilegedStatus::Ended;
            s.ended_at = Some(now);
            s.recording_seal = Some(seal.clone());
            let mut changes = Vec::new();
            let mut note = late_note(old.end, now);
            // Back to the state at the start, whatever happened in between.
            if let (Some(u), Some(original)) = (user, old.original_enabled)
                && u.enabled != original
            {
                changes.push(Change::Put(Object::User(User { enabled: original, ..u.clone() })));
                let restored = format!("account {} again, as at the start", if original { "enabled" } else { "disabled" });
                note = Some(note.map_or(restored.clone(), |n| format!("{restored}; {n}")));
            }
            s.history.push(entry(now, Some("active"), "ended", by, batch, note));
            let mut summary = summary_of_privileged(&s);
            summary["batch"] = json!(batch);
            summary["due"] = json!(old.end);
            summary["restored_enabled"] = json!(!changes.is_empty());
            summary["recording_seal"] = json!(seal);
            changes.insert(0, Change::Put(Object::PrivilegedSession(s)));
            Ok(Plan { action: "privileged-session end", summary, changes, outcome: Step::Moved(transition("active", "ended", old.end)) })
        }
        status => Err(nothing_due(id, status)),
    }
}

/// "2 min 5 s late": a processor that was down records how late it caught up.
fn late_note(due: Timestamp, now: Timestamp) -> Option<String> {
    let late = (now.0 - due.0) / 1000;
    (late >= 1).then(|| format!("processed {} after it was due ({due})", human_seconds(late)))
}

fn human_seconds(s: i64) -> String {
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// Which activity rows make up a session's recording: the user's checks and
/// activity received inside the window.
fn recording_filter(s: &PrivilegedSession) -> ActivityFilter {
    ActivityFilter {
        user: Some(s.user.clone()),
        kinds: RECORDING_KINDS.iter().map(|k| k.to_string()).collect(),
        since: Some(s.start),
        until: Some(s.end),
        ..Default::default()
    }
}

/// The seal over a recording's events, as of `at`: SHA-256 over a versioned
/// header, the count, and each event's JSON (every field, id and the claimed
/// time included) on its own line, in id order. Any edited, added, removed or
/// reordered row changes it.
pub fn seal_of(events: &[ActivityEvent], at: Timestamp) -> RecordingSeal {
    let mut hash = Sha256::new();
    hash.update(format!("warden-recording-v1\n{}\n", events.len()));
    for e in events {
        hash.update(serde_json::to_vec(e).expect("activity events serialize"));
        hash.update(b"\n");
    }
    RecordingSeal { events: events.len() as u64, sha256: hex::encode(hash.finalize()), at }
}

/// A privileged session's recording as read: the events and the state of its seal.
#[derive(Debug, Clone, Serialize)]
pub struct Recording {
    pub session: PrivilegedSession,
    pub events: Vec<ActivityEvent>,
    pub seal: SealState,
}

/// What the seal says about a recording that was not altered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SealState {
    /// Ended and sealed; the events are exactly the sealed ones.
    Intact { events: u64, sha256: String, sealed_at: Timestamp },
    /// Approved or active: still being made, not sealed yet.
    Open,
    /// Deleted (audited); `sealed` is what it held at the end, if it was sealed by then.
    Deleted { deletion: RecordingDeletion, sealed: Option<RecordingSeal> },
    /// Ended before recordings were sealed: nothing to check it against.
    Unsealed,
    /// Never in force (draft, rejected, cancelled): nothing was recorded.
    NotRecorded,
}

impl SealState {
    /// One line for people: `sealed, intact (3 events, sha256 ab12…)`.
    pub fn describe(&self) -> String {
        match self {
            SealState::Intact { events, sha256, sealed_at } => format!("sealed at {sealed_at}, intact ({events} event{}, sha256 {sha256})", if *events == 1 { "" } else { "s" }),
            SealState::Open => "not sealed yet: the session has not ended".into(),
            SealState::Deleted { deletion, sealed } => {
                let at_end = sealed.as_ref().map(|s| format!("; it held {} events at its end (sha256 {})", s.events, s.sha256)).unwrap_or_default();
                format!("deleted at {} by {} ({} events){at_end}", deletion.at, deletion.by, deletion.events)
            }
            SealState::Unsealed => "not sealed: the session ended before recordings were sealed".into(),
            SealState::NotRecorded => "nothing recorded: the session was never in force".into(),
        }
    }

    /// A short token for headers: `intact`, `open`, `deleted`, `unsealed`, `not_recorded`.
    pub fn name(&self) -> &'static str {
        match self {
            SealState::Intact { .. } => "intact",
            SealState::Open => "open",
            SealState::Deleted { .. } => "deleted",
            SealState::Unsealed => "unsealed",
            SealState::NotRecorded => "not_recorded",
        }
    }
}

/// Holds the recording's `events` to the seal the audit trail holds for the
/// session (`sealed`); `Err` says how they differ.
fn check_seal(s: &PrivilegedSession, sealed: Option<RecordingSeal>, events: &[ActivityEvent]) -> Result<SealState, String> {
    let Some(sealed) = sealed else {
        if s.recording_seal.is_some() {
            return Err("the session carries a seal that its audit trail never recorded".into());
        }
        return Ok(match (&s.recording_deleted, s.status) {
            (Some(d), _) if events.is_empty() => SealState::Deleted { deletion: d.clone(), sealed: None },
            (Some(d), _) => return Err(format!("{} event(s) are in its window although it was deleted at {} by {}", events.len(), d.at, d.by)),
            _ if !s.in_force() => SealState::NotRecorded,
            (None, PrivilegedStatus::Ended) => SealState::Unsealed,
            _ => SealState::Open,
        });
    };
    if s.recording_seal.as_ref() != Some(&sealed) {
        return Err("the session's seal differs from the one its end wrote into the audit trail".into());
    }
    if let Some(d) = &s.recording_deleted {
        if !events.is_empty() {
            return Err(format!("{} event(s) are in its window although it was deleted at {} by {}", events.len(), d.at, d.by));
        }
        return Ok(SealState::Deleted { deletion: d.clone(), sealed: Some(sealed) });
    }
    let now = seal_of(events, sealed.at);
    if now != sealed {
        return Err(format!(
            "sealed at {} with {} events (sha256 {}), the store now holds {} (sha256 {})",
            sealed.at, sealed.events, sealed.sha256, now.events, now.sha256
        ));
    }
    Ok(SealState::Intact { events: sealed.events, sha256: sealed.sha256, sealed_at: sealed.at })
}

/// A recording as JSON Lines: one activity event per line, in order.
pub fn recording_jsonl(events: &[ActivityEvent]) -> String {
    let mut out = String::new();
    for e in events {
        out.push_str(&serde_json::to_string(e).expect("activity events serialize"));
        out.push('\n');
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What one recorded event says, as plain text.
fn event_what(e: &ActivityEvent) -> String {
    let d = &e.detail;
    if e.kind == "check" {
        let field = |k: &str| value_text(&d[k]);
        let mut parts = vec![field("entry_point"), field("access")];
        let org = field("organization");
        if !org.is_empty() {
            parts.push(org);
        }
        let parts: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).collect();
        return format!("{} → {}", parts.join(" · "), field("decision"));
    }
    // Applications post `{"action": ..., ...}`; through the REST API it arrives as `{"reported_by", "detail": {...}}`.
    let inner = match (d.get("action"), d.get("detail")) {
        (None, Some(inner)) if inner.is_object() => inner,
        _ => d,
    };
    match inner {
        serde_json::Value::Object(map) => {
            let action = map.get("action").map(value_text);
            let rest: Vec<String> = map.iter().filter(|(k, _)| k.as_str() != "action").map(|(k, v)| format!("{k}: {}", value_text(v))).collect();
            match (action, rest.is_empty()) {
                (Some(a), true) => a,
                (Some(a), false) => format!("{a} ({})", rest.join(", ")),
                (None, _) => rest.join(", "),
            }
        }
        other => value_text(other),
    }
}

const HTML_STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#1a1a1a;line-height:1.4}\
h1{font-size:1.4em;margin-bottom:.5em}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1.5em;margin:0 0 1.5em}\
dt{font-weight:600;color:#555}dd{margin:0}\
table{border-collapse:collapse;width:100%}\
th,td{border-bottom:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.time{white-space:nowrap;font-family:ui-monospace,monospace;font-size:.9em}\
tr.deny td.what{color:#a40000}tr.allow td.what{color:#1a6b1a}.muted{color:#777}";

/// A recording as a readable, self-contained HTML transcript. Every piece
/// of text is escaped: recorded details come from applications. Times are
/// when Warden received each event; an application's own claim is shown
/// apart, labelled as such.
pub fn recording_html(s: &PrivilegedSession, events: &[ActivityEvent], seal: &SealState) -> String {
    let mut h = String::new();
    let title = format!("Recording of privileged user session {}", s.id);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<dl>\n",
        escape(&title),
        escape(&title)
    );
    let mut fields: Vec<(&str, String)> = vec![
        ("Session", s.id.clone()),
        ("User", s.user.clone()),
        ("Window", format!("from {} until {}", s.start, s.end)),
        ("Action at start", format!("{} the account", s.action.as_str())),
        ("Status", s.status.to_string()),
        ("Requested by", s.requested_by.clone()),
        ("Approver", s.approved_by.clone().unwrap_or_else(|| "-".into())),
        ("Reason", s.reason.clone().unwrap_or_else(|| "-".into())),
    ];
    fields.push(("Seal", seal.describe()));
    for (k, v) in fields {
        let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(&v));
    }
    let _ = writeln!(h, "</dl>");
    if events.is_empty() {
        let _ = writeln!(h, "<p class=\"muted\">No events recorded.</p>");
    } else {
        let _ = writeln!(h, "<p>{} event{}, in order.</p>", events.len(), if events.len() == 1 { "" } else { "s" });
        let _ = writeln!(h, "<table>\n<thead><tr><th>#</th><th>Received</th><th>Kind</th><th>Reported by</th><th>What</th><th>Time the application claims</th></tr></thead>\n<tbody>");
        for (i, e) in events.iter().enumerate() {
            let class = match (e.kind.as_str(), e.detail["decision"].as_str()) {
                ("check", Some("allow")) => " class=\"allow\"",
                ("check", Some("deny")) => " class=\"deny\"",
                _ => "",
            };
            let _ = writeln!(
                h,
                "<tr{class}><td>{}</td><td class=\"time\">{}</td><td>{}</td><td>{}</td><td class=\"what\">{}</td><td class=\"time muted\">{}</td></tr>",
                i + 1,
                escape(&e.at.to_string()),
                escape(&e.kind),
                escape(e.source.as_deref().unwrap_or("")),
                escape(&event_what(e)),
                escape(&e.claimed_at.map(|t| t.to_string()).unwrap_or_default())
            );
        }
        let _ = writeln!(h, "</tbody>\n</table>");
    }
    let _ = writeln!(h, "</body>\n</html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transcript_escapes_what_applications_sent() {
        let s = PrivilegedSession {
            id: "PUS-000001".into(),
            user: "<img src=x>".into(),
            start: Timestamp(0),
            end: Timestamp(1000),
            action: AccountAction::Enable,
            reason: Some("<script>alert(1)</script>".into()),
            requested_by: "kenji".into(),
            status: PrivilegedStatus::Ended,
            approved_by: Some("mike".into()),
            original_enabled: Some(false),
            started_at: None,
            ended_at: None,
            recording_deleted: None,
            recording_seal: None,
            history: vec![],
        };
        let e = ActivityEvent { id: 1, at: Timestamp(5), user: "x".into(), kind: "activity".into(), source: Some("erp\"><b>".into()), detail: json!({"action": "<b>posted</b>"}), claimed_at: None };
        let html = recording_html(&s, &[e], &SealState::Open);
        for raw in ["<script>", "<img", "<b>"] {
            assert!(!html.contains(raw), "{raw} is escaped");
        }
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && html.contains("&lt;b&gt;posted&lt;/b&gt;"));
        assert!(html.contains("<dt>Seal</dt><dd>not sealed yet") && html.contains("Time the application claims"), "{html}");
    }

    fn event(kind: &str, detail: serde_json::Value) -> ActivityEvent {
        ActivityEvent { id: 1, at: Timestamp(0), user: "bella".into(), kind: kind.into(), source: Some("erp".into()), detail, claimed_at: None }
    }

    #[test]
    fn the_seal_changes_with_any_field_of_any_event_and_with_their_order() {
        let a = ActivityEvent { claimed_at: Some(Timestamp(1)), ..event("activity", json!({"action": "post"})) };
        let b = ActivityEvent { id: 2, ..event("check", json!({"decision": "allow"})) };
        let seal = seal_of(&[a.clone(), b.clone()], Timestamp(9));
        assert_eq!((seal.events, seal.sha256.len()), (2, 64));
        assert_eq!(seal, seal_of(&[a.clone(), b.clone()], Timestamp(9)), "deterministic");
        let edits = [
            vec![b.clone(), a.clone()],
            vec![a.clone()],
            vec![a.clone(), b.clone(), b.clone()],
            vec![ActivityEvent { at: Timestamp(5), ..a.clone() }, b.clone()],
            vec![ActivityEvent { claimed_at: None, ..a.clone() }, b.clone()],
            vec![ActivityEvent { source: Some("other".into()), ..a.clone() }, b.clone()],
            vec![ActivityEvent { detail: json!({"action": "delete"}), ..a.clone() }, b.clone()],
        ];
        for edited in edits {
            assert_ne!(seal_of(&edited, Timestamp(9)).sha256, seal.sha256, "{edited:?}");
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"<script>alert("x")</script> & 'y'"#), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
    }

    #[test]
    fn describes_checks_and_activity() {
        let check = event("check", json!({"entry_point":"MenuItemDisplay/CustTable","access":"Read","organization":"USMF","decision":"allow"}));
        assert_eq!(event_what(&check), "MenuItemDisplay/CustTable · Read · USMF → allow");
        let global = event("check", json!({"entry_point":"CustTable","access":"Read","organization":null,"decision":"deny"}));
        assert_eq!(event_what(&global), "CustTable · Read → deny");
        assert_eq!(event_what(&event("activity", json!({"action": "post journal", "journal": "GJ-1"}))), "post journal (journal: GJ-1)");
        assert_eq!(event_what(&event("activity", json!({"reported_by": "app", "detail": {"action": "open form"}}))), "open form");
    }
}
