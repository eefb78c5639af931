//! Segregation of duties in the write path and as commands.
//!
//! Every write passes [`review`] inside `Warden::run_to`, after the
//! assignment rules have followed it and before it is committed:
//! - a database-layer change to the security configuration that makes a role
//!   hold both sides of a rule by itself is refused, naming the rule;
//! - a direct assignment that gives a user both sides is refused, naming the
//!   rule and the roles, unless an administrator gave a reason for override,
//!   which goes into the conflicts register in the same commit;
//! - every other new conflict (made by an assignment rule, a role edit, a
//!   rule change) is recorded as unresolved in the same commit, so that it is
//!   in the audit trail and waits for a decision;
//! - conflicts that no longer occur leave the register (the audit trail keeps them).
//!
//! Only the users a change can affect are re-checked: those whose
//! assignments it touches, or everyone when it changes the security
//! configuration or the rules.

use crate::error::CoreError;
use crate::service::{Plan, Target, Validation, Warden};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use warden_engine::{SodIndex, UserConflict};
use warden_model::{ConflictStatus, Model, Object, ObjectKind, ObjectRef, SodConflict, SodRule, Timestamp};
use warden_store::{Change, Revision};

/// How a write treats the conflicts it creates.
#[derive(Debug, Clone, Default)]
pub(crate) enum Prevention {
    /// Record new conflicts as unresolved (changes other than direct assignments).
    #[default]
    Record,
    /// Direct assignments: refuse the new conflicts of the users whose manual
    /// assignments the write puts, unless overridden with a reason.
    Refuse { override_reason: Option<String> },
}

/// One new conflict, described for the administrator who caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictFound {
    pub user: String,
    pub rule: String,
    pub severity: warden_model::Severity,
    pub first: String,
    pub second: String,
    pub roles: Vec<String>,
    /// Empty: through global assignments, everywhere.
    pub organizations: Vec<String>,
}

impl std::fmt::Display for ConflictFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = if self.organizations.is_empty() { "everywhere".to_string() } else { format!("in {}", self.organizations.join(", ")) };
        write!(
            f,
            "user '{}' would break segregation-of-duties rule '{}' ({} severity): roles {} give both {} and {} {place}",
            self.user,
            self.rule,
            self.severity,
            self.roles.join(" and "),
            self.first,
            self.second
        )
    }
}

/// A role that would hold both sides of a rule by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleViolation {
    pub role: String,
    pub rule: String,
    pub first: String,
    pub second: String,
}

fn found(model: &Model, user: &str, c: &UserConflict) -> ConflictFound {
    let rule = model.sod_rules.get(&c.rule);
    ConflictFound {
        user: user.to_string(),
        rule: c.rule.clone(),
        severity: rule.map(|r| r.severity).unwrap_or_default(),
        first: rule.map(|r| r.first.to_string()).unwrap_or_default(),
        second: rule.map(|r| r.second.to_string()).unwrap_or_default(),
        roles: c.roles.clone(),
        organizations: c.organizations.clone(),
    }
}

fn touches_configuration(kind: ObjectKind) -> bool {
    kind.is_deployable() || kind == ObjectKind::SodRule
}

/// What [`review`] adds to a write.
pub(crate) struct Review {
    pub changes: Vec<Change>,
    pub summary: serde_json::Value,
}

/// Checks a planned write's effect on segregation of duties; see the module
/// comment. `before` is the model before the write, `after` with it applied.
/// With `cached`, the model host's snapshot of `before`: its SoD index serves
/// for `before` always, and for `after` too when the flag says the write
/// changed no role, duty, privilege or rule.
#[allow(clippy::too_many_arguments)]
pub(crate) fn review(
    before: &Model,
    after: &Model,
    changes: &[Change],
    prevention: &Prevention,
    role_check: bool,
    actor: &str,
    now: Timestamp,
    cached: Option<(&crate::Snapshot, bool)>,
) -> Result<Option<Review>, CoreError> {
    if after.sod_rules.is_empty() && after.sod_conflicts.is_empty() {
        return Ok(None);
    }
    let configuration = changes.iter().any(|c| touches_configuration(c.key().kind));
    let mut users: BTreeSet<String> = BTreeSet::new();
    for c in changes {
        let key = c.key();
        match (key.kind, c) {
            (ObjectKind::Assignment, _) => users.extend(warden_model::split_key(&key.name).map(|[user, _]: [String; 2]| user)),
            (ObjectKind::User, _) => drop(users.insert(key.name)),
            // A session's roles count for the user while it is in force.
            (ObjectKind::TempRoleSession, Change::Put(Object::TempRoleSession(s))) => drop(users.insert(s.user.clone())),
            (ObjectKind::TempRoleSession, _) => users.extend(before.temp_role_sessions.get(&key.name).map(|s| s.user.clone())),
            _ => {}
        }
    }
    if users.is_empty() && !configuration {
        return Ok(None);
    }
    let security = changes.iter().any(|c| c.key().kind.is_deployable());
    let rules_changed = changes.iter().any(|c| c.key().kind == ObjectKind::SodRule);
    let built;
    let index = match cached {
        Some((snapshot, true)) => snapshot.sod_index(),
        _ => {
            // Rules unchanged and roles renumbered by nothing: the snapshot's
            // index with the masks of the roles the change affects computed again.
            let keys: Vec<ObjectRef> = changes.iter().map(Change::key).collect();
            let patched = match cached {
                Some((snapshot, false)) if !rules_changed => warden_engine::affected_roles(before, after, &keys)
                    .and_then(|roles| snapshot.sod_index().with_roles(after, roles.iter().map(String::as_str))),
                _ => None,
            };
            built = patched.unwrap_or_else(|| SodIndex::build(after));
            &built
        }
    };
    let old_built;
    let old: Option<&SodIndex> = match (security, cached) {
        (false, _) => None,
        (true, Some((snapshot, _))) => Some(snapshot.sod_index()),
        (true, None) => {
            old_built = SodIndex::build(before);
            Some(&old_built)
        }
    };
    if let (true, Some(old)) = (role_check, &old) {
        let mut violations = Vec::new();
        for (role, rules) in index.roles_violating(now) {
            let had: BTreeSet<&str> = old.role_violations(role, now).into_iter().collect();
            for rule in rules.into_iter().filter(|r| !had.contains(r)) {
                let r = &after.sod_rules[rule];
                violations.push(RoleViolation { role: role.into(), rule: rule.into(), first: r.first.to_string(), second: r.second.to_string() });
            }
        }
        if !violations.is_empty() {
            return Err(CoreError::SodRoles(violations));
        }
    }
    // Only the users a change can affect: those whose assignments it touches,
    // those holding a role whose SoD view it changed, or everyone when rules changed.
    if let (false, Some(old)) = (rules_changed, &old) {
        let changed: BTreeSet<&str> = index.changed_roles(old).into_iter().collect();
        if !changed.is_empty() {
            users.extend(after.assignments.iter().filter(|a| changed.contains(a.role.as_str())).map(|a| a.user.clone()));
        }
    }
    let all_users: Vec<&str>;
    let scope: Vec<&str> = if rules_changed {
        all_users = after.users.keys().map(String::as_str).collect();
        all_users
    } else {
        users.iter().map(String::as_str).filter(|u| after.users.contains_key(*u)).collect()
    };
    let mut out = Vec::new();
    let (mut recorded, mut allowed, mut cleared) = (Vec::new(), Vec::new(), BTreeSet::new());
    let mut refused = Vec::new();
    let assigned: BTreeSet<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Put(Object::Assignment(a)) if a.rule.is_none() => Some(a.user.as_str()),
            _ => None,
        })
        .collect();
    let view = after.access_view();
    for user in &scope {
        let current = index.user_conflicts_in(after, &view, user, now);
        let current_rules: BTreeSet<&str> = current.iter().map(|c| c.rule.as_str()).collect();
        for c in &current {
            let key = SodConflict::key_of(user, &c.rule);
            if after.sod_conflicts.contains_key(&key) {
                continue;
            }
            let entry = match prevention {
                Prevention::Refuse { override_reason } if assigned.contains(*user) => match override_reason {
                    None => {
                        refused.push(found(after, user, c));
                        continue;
                    }
                    Some(reason) => {
                        allowed.push(key);
                        conflict(user, c, ConflictStatus::Allowed, "assignment", Some((reason, actor)), now)
                    }
                },
                _ => {
                    recorded.push(key);
                    let source = if changes.iter().any(|ch| matches!(ch, Change::Put(Object::Assignment(a)) if a.user == *user && a.rule.is_some())) {
                        "assignment rule"
                    } else {
                        "change"
                    };
                    conflict(user, c, ConflictStatus::Unresolved, source, None, now)
                }
            };
            out.push(Change::Put(Object::SodConflict(entry)));
        }
        // Records of this user whose conflict is gone leave the register.
        let prefix = format!("{user}/");
        for (key, record) in after.sod_conflicts.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)) {
            if record.user == *user && !current_rules.contains(record.rule.as_str()) {
                cleared.insert(key.clone());
                out.push(Change::Delete(ObjectRef::new(ObjectKind::SodConflict, key.clone())));
            }
        }
    }
    // Records of users or rules that no longer exist go too (only a removal can make one).
    let removals = changes.iter().any(|c| matches!(c, Change::Delete(k) | Change::Hide(k) if matches!(k.kind, ObjectKind::User | ObjectKind::SodRule)));
    for (key, record) in after.sod_conflicts.iter().filter(|_| removals) {
        let gone = !after.users.contains_key(&record.user) || !after.sod_rules.contains_key(&record.rule);
        if gone && !cleared.contains(key) {
            cleared.insert(key.clone());
            out.push(Change::Delete(ObjectRef::new(ObjectKind::SodConflict, key.clone())));
        }
    }
    if !refused.is_empty() {
        return Err(CoreError::SodConflicts(refused));
    }
    if out.is_empty() {
        return Ok(None);
    }
    let summary = json!({ "unresolved": recorded, "allowed_with_override": allowed, "no_longer_conflicting": cleared });
    Ok(Some(Review { changes: out, summary }))
}

/// The SoD parameters in force (the defaults when none were set).
pub(crate) fn settings(model: &Model) -> warden_model::SodSettings {
    model.sod_settings.clone().unwrap_or_default()
}

/// With "Check similarity" on: the duties and privileges a write puts that
/// overlap others at or above the level. Refused when the settings say so,
/// otherwise returned as warnings (the audit event records them).
pub(crate) fn similarity_check(model: &Model, changes: &[Change]) -> Result<Vec<warden_engine::SimilarPair>, CoreError> {
    let s = settings(model);
    if !s.check_similarity {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for c in changes {
        if let Change::Put(o) = c
            && let Some((kind, _)) = warden_engine::members_of(model, o)
        {
            found.extend(warden_engine::similar_to(model, kind, &o.key().name, s.similarity_level));
        }
    }
    if s.refuse_similar && !found.is_empty() {
        return Err(CoreError::Similar { level: s.similarity_level, pairs: found });
    }
    Ok(found)
}

/// [`similarity_check`]'s warnings for one object as an edit would make it, worded for people.
pub(crate) fn similarity_warnings(model: &Model, object: &Object) -> Vec<String> {
    let s = settings(model);
    let Some((kind, members)) = warden_engine::members_of(model, object).filter(|_| s.check_similarity) else { return Vec::new() };
    let name = object.key().name;
    warden_engine::similar_to_members(model, kind, &name, &members, s.similarity_level).iter().map(describe_similar).collect()
}

pub(crate) fn describe_similar(p: &warden_engine::SimilarPair) -> String {
    let what = match p.kind {
        warden_engine::SimilarKind::Duty => "privileges",
        warden_engine::SimilarKind::Privilege => "entry points",
    };
    format!("{} and {} have {}% of their {what} in common ({} shared)", p.first, p.second, p.percent, p.common)
}

/// The conflicts a temporary role session gives its user (through one of its
/// roles) that the register does not already allow.
fn session_user_conflicts(model: &Model, session: &warden_model::TempRoleSession, now: Timestamp) -> Vec<UserConflict> {
    if model.sod_rules.is_empty() {
        return Vec::new();
    }
    let index = SodIndex::build(model);
    let mut view = model.access_view();
    if !model.temp_role_sessions.get(&session.id).is_some_and(|s| s.in_force()) {
        view.add_temp(session);
    }
    index
        .user_conflicts_in(model, &view, &session.user, now)
        .into_iter()
        .filter(|c| c.roles.iter().any(|r| session.roles.contains(r)))
        .filter(|c| {
            model.sod_conflicts.get(&SodConflict::key_of(&session.user, &c.rule)).is_none_or(|x| x.status != ConflictStatus::Allowed)
        })
        .collect()
}

/// [`session_user_conflicts`], described for the administrator.
pub(crate) fn session_conflicts(model: &Model, session: &warden_model::TempRoleSession, now: Timestamp) -> Vec<ConflictFound> {
    session_user_conflicts(model, session, now).iter().map(|c| found(model, &session.user, c)).collect()
}

/// Approving a session that creates conflicts: refused, or with a reason,
/// the conflicts go into the register as allowed, in the approval's commit.
pub(crate) fn session_decisions(
    model: &Model,
    session: &warden_model::TempRoleSession,
    override_reason: Option<&str>,
    actor: &str,
    now: Timestamp,
) -> Result<Vec<Change>, CoreError> {
    let conflicts = session_user_conflicts(model, session, now);
    if conflicts.is_empty() {
        return Ok(Vec::new());
    }
    let Some(reason) = override_reason.map(str::to_string) else {
        return Err(CoreError::SodConflicts(conflicts.iter().map(|c| found(model, &session.user, c)).collect()));
    };
    let source = format!("temporary role session {}", session.id);
    Ok(conflicts
        .iter()
        .map(|c| Change::Put(Object::SodConflict(conflict(&session.user, c, ConflictStatus::Allowed, &source, Some((&reason, actor)), now))))
        .collect())
}

fn conflict(user: &str, c: &UserConflict, status: ConflictStatus, source: &str, decision: Option<(&String, &str)>, now: Timestamp) -> SodConflict {
    SodConflict {
        user: user.to_string(),
        rule: c.rule.clone(),
        status,
        roles: c.roles.clone(),
        organizations: c.organizations.clone(),
        detected: now,
        source: source.to_string(),
        reason: decision.map(|(r, _)| r.clone()),
        decided_by: decision.map(|(_, a)| a.to_string()),
        decided: decision.map(|_| now),
    }
}

/// What `sod verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyOutcome {
    pub users: usize,
    pub rules: usize,
    /// Conflicts found, by status after the run.
    pub conflicts: usize,
    pub new_unresolved: Vec<String>,
    pub no_longer_conflicting: Vec<String>,
    pub revision: Revision,
}

/// A role and the rules it breaks by itself.
#[derive(Debug, Clone, Serialize)]
pub struct RoleReport {
    pub role: String,
    pub label: Option<String>,
    pub violations: usize,
    pub rules: Vec<String>,
}

/// How an administrator resolves a conflict.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Keep the roles; the conflict joins the register with this reason.
    Allow { reason: String },
    /// Take away what the assignment rules gave: the user is excluded from them.
    Deny,
}

impl Warden {
    /// `sod settings`: stores the SoD parameters (one audited change).
    pub async fn set_sod_settings(&self, settings: warden_model::SodSettings) -> Result<crate::WriteOutcome, CoreError> {
        self.set_sod_settings_if(settings, None).await
    }

    /// [`Warden::set_sod_settings`] only while the stored settings are as the
    /// caller saw them (`If-Match`; a version of `None` means none stored
    /// yet), so that a concurrent change is never overwritten unseen.
    pub async fn set_sod_settings_if(&self, settings: warden_model::SodSettings, seen: Option<warden_store::Precondition>) -> Result<crate::WriteOutcome, CoreError> {
        if !(1..=100).contains(&settings.similarity_level) {
            return Err(CoreError::InvalidInput(format!("similarity level {} is not a percentage from 1 to 100", settings.similarity_level)));
        }
        let target = Target { preconditions: seen.into_iter().collect(), ..Target::default() };
        let (_, revision, _) = self
            .run_to(target, Validation::AllowDangling, |_| {
                let summary = json!({ "settings": settings });
                Ok(Plan { action: "sod settings", summary, changes: vec![Change::Put(Object::SodSettings(settings.clone()))], outcome: () })
            })
            .await?;
        Ok(crate::WriteOutcome { revision })
    }

    /// The SoD parameters in force.
    pub async fn sod_settings(&self) -> Result<warden_model::SodSettings, CoreError> {
        Ok(settings(&self.loaded().await?.0))
    }

    /// `sod similarity`: every pair of duties and of privileges that overlap at
    /// or above `level` percent (the settings' level when none is given).
    pub async fn similarity_report(&self, level: Option<u8>) -> Result<(u8, Vec<warden_engine::SimilarPair>), CoreError> {
        let (model, _) = self.loaded().await?;
        let level = level.unwrap_or_else(|| settings(&model).similarity_level);
        if !(1..=100).contains(&level) {
            return Err(CoreError::InvalidInput(format!("level {level} is not a percentage from 1 to 100")));
        }
        Ok((level, warden_engine::similar_pairs(&model, level)))
    }

    /// `sod rule add`: a new rule. Its sides must name existing duties or entry
    /// points; creating it does not check existing roles (`sod validate` does).
    pub async fn add_sod_rule(&self, rule: SodRule) -> Result<crate::WriteOutcome, CoreError> {
        self.create(Object::SodRule(rule)).await
    }

    /// `sod rule import FILE`: adds or replaces rules by name from CSV or JSON
    /// ([`crate::parse_sod_rules`]), all or nothing.
    pub async fn import_sod_rules(&self, path: &std::path::Path) -> Result<crate::CsvImportOutcome, CoreError> {
        let data = std::fs::read(path).map_err(|source| CoreError::Read { path: path.to_path_buf(), source })?;
        self.import_sod_rules_data(&path.display().to_string(), data).await
    }

    /// [`Warden::import_sod_rules`] from data already read (a form, a request
    /// body); `file` names it in errors.
    pub async fn import_sod_rules_data(&self, file: &str, data: Vec<u8>) -> Result<crate::CsvImportOutcome, CoreError> {
        let file = file.to_string();
        self.import_csv(&file, ObjectKind::SodRule, "sod rule import", Target::default(), |model| {
            let (rules, warnings) = crate::sod_files::parse_sod_rules(&file, &data, model)?;
            Ok((rules.into_iter().map(Object::SodRule).collect(), warnings))
        })
        .await
    }

    /// `sod validate RULE`: the roles that break one rule by themselves.
    pub async fn sod_validate(&self, rule: &str, now: Timestamp) -> Result<(SodRule, Vec<String>), CoreError> {
        let (model, _) = self.loaded().await?;
        let name = crate::edit::resolve(&model, ObjectKind::SodRule, rule)?;
        let r = model.sod_rules[&name].clone();
        // The index over this one rule (as if enabled): the rest of the model as it is.
        let mut model = (*model).clone();
        model.sod_rules = warden_model::Map::unit(name, SodRule { enabled: true, ..r.clone() });
        let index = SodIndex::build(&model);
        let roles = index.roles_violating(now).into_iter().map(|(role, _)| role.to_string()).collect();
        Ok((r, roles))
    }

    /// `sod roles`: every role that breaks a rule by itself.
    pub async fn sod_roles(&self, now: Timestamp) -> Result<Vec<RoleReport>, CoreError> {
        let (model, _) = self.loaded().await?;
        let index = SodIndex::build(&model);
        Ok(index
            .roles_violating(now)
            .into_iter()
            .map(|(role, rules)| RoleReport {
                role: role.to_string(),
                label: model.roles.get(role).and_then(|r| r.label.clone()),
                violations: rules.len(),
                rules: rules.into_iter().map(str::to_string).collect(),
            })
            .collect())
    }

    /// `sod verify`: checks every user against every rule (D365's "Verify
    /// compliance of user-role assignments"); new conflicts are recorded as
    /// unresolved, vanished ones leave the register. One audited commit, also
    /// when nothing changed, so that the trail shows when compliance was verified.
    pub async fn sod_verify(&self, now: Timestamp) -> Result<VerifyOutcome, CoreError> {
        let ((users, rules, conflicts, new_unresolved, gone), revision, _) = self
            .run(Validation::AllowDangling, |model| {
                let index = SodIndex::build(model);
                let all = index.verify(model, now);
                let mut changes = Vec::new();
                let mut new_unresolved = Vec::new();
                let mut current = BTreeSet::new();
                for (user, c) in &all {
                    let key = SodConflict::key_of(user, &c.rule);
                    current.insert(key.clone());
                    if !model.sod_conflicts.contains_key(&key) {
                        new_unresolved.push(key);
                        changes.push(Change::Put(Object::SodConflict(conflict(user, c, ConflictStatus::Unresolved, "verify", None, now))));
                    }
                }
                let gone: Vec<String> = model.sod_conflicts.keys().filter(|k| !current.contains(*k)).cloned().collect();
                changes.extend(gone.iter().map(|k| Change::Delete(ObjectRef::new(ObjectKind::SodConflict, k.clone()))));
                let summary = json!({
                    "users": model.users.len(), "rules": model.sod_rules.len(), "conflicts": all.len(),
                    "new_unresolved": new_unresolved, "no_longer_conflicting": gone,
                });
                let outcome = (model.users.len(), model.sod_rules.len(), all.len(), new_unresolved, gone);
                Ok(Plan { action: "sod verify", summary, changes, outcome })
            })
            .await?;
        Ok(VerifyOutcome { users, rules, conflicts, new_unresolved, no_longer_conflicting: gone, revision })
    }

    /// `sod resolve USER/RULE --allow --reason ... | --deny`.
    pub async fn sod_resolve(&self, key: &str, resolution: Resolution, now: Timestamp) -> Result<crate::WriteOutcome, CoreError> {
        if let Resolution::Allow { reason } = &resolution
            && reason.trim().is_empty()
        {
            return Err(CoreError::InvalidInput("allowing a conflict needs a reason for override".into()));
        }
        let actor = self.actor().to_string();
        let (_, revision, _) = self
            .run(Validation::AllowDangling, |model| {
                let record = model
                    .sod_conflicts
                    .get(key)
                    .or_else(|| model.sod_conflicts.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
                    .ok_or_else(|| CoreError::unknown(ObjectKind::SodConflict, key, model.sod_conflicts.keys().map(String::as_str)))?;
                let mut changes = Vec::new();
                let summary;
                match &resolution {
                    Resolution::Allow { reason } => {
                        let mut r = record.clone();
                        r.status = ConflictStatus::Allowed;
                        r.reason = Some(reason.trim().to_string());
                        r.decided_by = Some(actor.clone());
                        r.decided = Some(now);
                        summary = json!({ "conflict": SodConflict::key_of(&r.user, &r.rule), "decision": "allow", "reason": r.reason });
                        changes.push(Change::Put(Object::SodConflict(r)));
                    }
                    Resolution::Deny => {
                        let mut excluded = BTreeMap::new();
                        for a in model.assignments_of(&record.user).iter().filter(|a| record.roles.contains(&a.role)) {
                            if let Some(rule) = a.rule.as_deref().and_then(|r| model.assignment_rules.get(r)) {
                                let mut rule = excluded.remove(&rule.name).unwrap_or_else(|| rule.clone());
                                if !rule.excluded_users.contains(&record.user) {
                                    rule.excluded_users.push(record.user.clone());
                                    rule.excluded_users.sort();
                                }
                                excluded.insert(rule.name.clone(), rule);
                            }
                        }
                        if excluded.is_empty() {
                            return Err(CoreError::InvalidInput(format!(
                                "conflict {key}: none of its roles ({}) was given by an assignment rule, so there is nothing to deny; \
                                 revoke one of them with `user revoke`, or allow the conflict with a reason",
                                record.roles.join(", ")
                            )));
                        }
                        summary = json!({
                            "conflict": SodConflict::key_of(&record.user, &record.rule), "decision": "deny",
                            "excluded_from": excluded.keys().collect::<Vec<_>>(),
                        });
                        changes.extend(excluded.into_values().map(|r| Change::Put(Object::AssignmentRule(r))));
                    }
                }
                let action = match resolution {
                    Resolution::Allow { .. } => "sod conflict allow",
                    Resolution::Deny => "sod conflict deny",
                };
                Ok(Plan { action, summary, changes, outcome: () })
            })
            .await?;
        Ok(crate::WriteOutcome { revision })
    }
}

/// The conflicts that refused a file of assignments, each at the last line
/// that gives the user one of the conflict's roles, so that the person who
/// wrote the file finds every row to change; all of them, however many.
pub(crate) fn conflicts_at_rows(file: &str, rows: &[(u64, warden_model::Assignment)], found: &[ConflictFound]) -> Vec<crate::CsvProblem> {
    found
        .iter()
        .map(|c| {
            let line = rows.iter().filter(|(_, a)| a.user == c.user && c.roles.contains(&a.role)).map(|(line, _)| *line).max().unwrap_or(0);
            crate::CsvProblem {
                file: file.to_string(),
                line,
                field: Some("role".into()),
                message: format!("{c}; leave the row out, or allow every such conflict with --override-reason TEXT (recorded in the conflicts register)"),
            }
        })
        .collect()
}

/// A target that refuses the new conflicts of directly assigned users unless `override_reason`.
pub(crate) fn refusing(override_reason: Option<String>) -> Target {
    Target { prevention: Prevention::Refuse { override_reason }, ..Target::default() }
}
