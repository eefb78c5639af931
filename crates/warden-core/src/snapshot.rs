//! The read side: one model revision with its compiled index, and the checks,
//! explanations and listings that the command line and the server show.

use crate::error::CoreError;
use crate::names::{self, lookup};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use warden_engine::{Decision, EffectivePermission, Explanation, Index, SodIndex};
use warden_model::{
    Access, AccessSet, Assignment, EntryPointKey, EntryPointType, Model, ObjectKind, Organization, Part, PrivilegedStatus, Role, Timestamp, User,
    UserKind,
};
use warden_store::{Revision, Store};

/// An immutable model revision compiled for checks. Cheap to share: the model
/// sits behind an `Arc`, and nothing here changes after [`Snapshot::new`].
#[derive(Clone)]
pub struct Snapshot {
    pub model: Arc<Model>,
    pub index: Index,
    pub revision: Revision,
    /// Users under an approved or active privileged session, with its windows:
    /// their access checks are recorded.
    pub recorded: Arc<std::collections::HashMap<String, Vec<(Timestamp, Timestamp)>>>,
    /// The segregation-of-duties index of this model, built when first asked
    /// for and shared by the snapshots derived while roles and rules stay.
    sod: Arc<std::sync::OnceLock<SodIndex>>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("revision", &self.revision).field("index", &self.index.stats()).finish_non_exhaustive()
    }
}

/// Users under an approved or active privileged session, with its windows.
fn recorded_users(model: &Model) -> std::collections::HashMap<String, Vec<(Timestamp, Timestamp)>> {
    let mut recorded: std::collections::HashMap<String, Vec<(Timestamp, Timestamp)>> = std::collections::HashMap::new();
    for s in model.privileged_sessions.values().filter(|s| matches!(s.status, PrivilegedStatus::Approved | PrivilegedStatus::Active)) {
        recorded.entry(s.user.clone()).or_default().push((s.start, s.end));
    }
    recorded
}

/// Serializes instants as RFC 3339 text, which is what people and scripts read.
pub(crate) fn ts<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

pub(crate) fn ts_opt<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(t),
        None => s.serialize_none(),
    }
}

/// An assignment with RFC 3339 times, as every time in Warden's JSON output is.
#[derive(Serialize)]
struct AssignmentJson<'a> {
    user: &'a str,
    role: &'a str,
    organizations: &'a [String],
    #[serde(serialize_with = "ts_opt")]
    valid_from: Option<Timestamp>,
    #[serde(serialize_with = "ts_opt")]
    valid_to: Option<Timestamp>,
}

impl<'a> From<&'a Assignment> for AssignmentJson<'a> {
    fn from(a: &'a Assignment) -> Self {
        AssignmentJson { user: &a.user, role: &a.role, organizations: &a.organizations, valid_from: a.valid_from, valid_to: a.valid_to }
    }
}

pub(crate) fn assignment_json<S: Serializer>(a: &Assignment, s: S) -> Result<S::Ok, S::Error> {
    AssignmentJson::from(a).serialize(s)
}

pub(crate) fn assignment_json_opt<S: Serializer>(a: &Option<Assignment>, s: S) -> Result<S::Ok, S::Error> {
    a.as_ref().map(AssignmentJson::from).serialize(s)
}

fn accesses(set: AccessSet) -> Vec<Access> {
    set.iter().collect()
}

/// A check as asked: names as typed, resolved by [`Snapshot::check`].
#[derive(Debug, Clone)]
pub struct CheckRequest {
    pub user: String,
    /// `NAME` or `TYPE/NAME`.
    pub entry_point: String,
    pub access: Access,
    pub org: Option<String>,
    pub at: Timestamp,
    pub explain: bool,
    /// A form control or field below the entry point; `None` checks the entry point itself.
    pub part: Option<Part>,
}

/// The answer to a check, in the shape `warden check --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub decision: Decision,
    pub user: String,
    /// `TYPE/NAME`.
    pub entry_point: String,
    pub access: Access,
    /// The control or field checked, if any: `{"kind": "control", "name": "CreditMax"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<Part>,
    pub org: Option<String>,
    #[serde(serialize_with = "ts")]
    pub at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// One row of `user list`.
#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    pub id: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: UserKind,
    pub enabled: bool,
    pub email: Option<String>,
    /// Roles assigned, in any state.
    pub roles: usize,
}

/// One row of `org list`.
#[derive(Debug, Clone, Serialize)]
pub struct OrgSummary {
    pub id: String,
    pub name: Option<String>,
    /// Users with at least one assignment scoped to this organization.
    pub scoped_users: usize,
}

/// One row of `role list`. Counts include what role extensions add.
#[derive(Debug, Clone, Serialize)]
pub struct RoleSummary {
    pub name: String,
    pub label: Option<String>,
    pub duties: usize,
    pub privileges: usize,
    pub sub_roles: usize,
    /// Users assigned this role directly, in any state.
    pub users: usize,
}

/// Where an assignment stands in time at the instant asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeState {
    Active,
    NotYetValid,
    Expired,
}

impl TimeState {
    pub fn of(a: &Assignment, at: Timestamp) -> TimeState {
        if a.valid_from.is_some_and(|f| at < f) {
            TimeState::NotYetValid
        } else if a.valid_to.is_some_and(|t| at >= t) {
            TimeState::Expired
        } else {
            TimeState::Active
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            TimeState::Active => "active",
            TimeState::NotYetValid => "not yet valid",
            TimeState::Expired => "expired",
        }
    }
}

/// One assignment of a user, with whether it counts at the instant and place asked about.
#[derive(Debug, Clone, Serialize)]
pub struct AssignmentView {
    pub role: String,
    pub role_label: Option<String>,
    /// Empty: global.
    pub organizations: Vec<String>,
    #[serde(serialize_with = "ts_opt")]
    pub valid_from: Option<Timestamp>,
    #[serde(serialize_with = "ts_opt")]
    pub valid_to: Option<Timestamp>,
    pub state: TimeState,
    /// Whether it takes part in the effective permissions shown: active, and
    /// global or scoped to the organization asked about.
    pub counts: bool,
    /// The assignment rule that made it; none for a manual assignment.
    pub rule: Option<String>,
}

/// Effective access on one entry point.
#[derive(Debug, Clone, Serialize)]
pub struct PermissionRow {
    /// `TYPE/NAME`.
    pub entry_point: String,
    #[serde(rename = "type")]
    pub kind: EntryPointType,
    pub name: String,
    pub label: Option<String>,
    /// Allowed and not denied: what the holder may do.
    pub allowed: Vec<Access>,
    /// Denied by some grant; Deny wins over every Allow.
    pub denied: Vec<Access>,
}

/// `user show`: the user, their assignments and what they may do.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub user: User,
    pub org: Option<String>,
    #[serde(serialize_with = "ts")]
    pub at: Timestamp,
    pub assignments: Vec<AssignmentView>,
    pub permissions: Vec<PermissionRow>,
}

/// A duty, privilege or sub-role of a role; `extension` names the role
/// extension that added it, if one did.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub name: String,
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// False when the member is referenced but not loaded (a partial AOT import).
    pub loaded: bool,
}

/// A role or duty extension that changes what a role gives.
#[derive(Debug, Clone, Serialize)]
pub struct ExtensionView {
    pub kind: ObjectKind,
    pub name: String,
    /// The role or duty extended.
    pub target: String,
    /// What it adds, as `duty X`, `privilege Y`, `sub-role Z`.
    pub adds: Vec<String>,
}

/// `role show`.
#[derive(Debug, Clone, Serialize)]
pub struct RoleView {
    pub name: String,
    pub label: Option<String>,
    pub description: Option<String>,
    pub model: Option<String>,
    pub duties: Vec<Member>,
    pub privileges: Vec<Member>,
    pub sub_roles: Vec<Member>,
    pub extensions: Vec<ExtensionView>,
    pub users: usize,
    /// What the role gives, sub-roles, duties and extensions included.
    pub entry_points: Vec<PermissionRow>,
}

impl Snapshot {
    /// Compiles `model`.
    pub fn new(model: Model, revision: Revision) -> Snapshot {
        let index = Index::build(&model);
        let recorded = Arc::new(recorded_users(&model));
        Snapshot { model: Arc::new(model), index, revision, recorded, sod: Arc::default() }
    }

    /// The snapshot of `model`, which is this snapshot's model with the
    /// objects in `touched` changed, at `revision`: what the touched kinds
    /// cannot have changed is shared. The access index is patched: the grant
    /// rows of the roles a change to the security configuration affects
    /// ([`warden_engine::affected_roles`], [`Index::with_roles`]), then the
    /// slots of the users the write concerns ([`Index::with_users`]); it is
    /// built anew only when roles or entry points were added or removed, or
    /// when patches left more than half of a table unused. The SoD index is
    /// kept while roles and rules stay, patched for the affected roles when
    /// only their contents changed, and built again (when first asked for)
    /// when rules changed.
    pub fn derive(&self, model: Model, revision: Revision, touched: &std::collections::BTreeSet<warden_model::ObjectRef>) -> Snapshot {
        use warden_model::ObjectKind as K;
        let started = std::time::Instant::now();
        let security = touched.iter().any(|k| k.kind.is_deployable());
        let rules = touched.iter().any(|k| k.kind == K::SodRule);
        let privileged = touched.iter().any(|k| k.kind == K::PrivilegedSession);
        // The roles whose contents the write can have changed; `None`: roles or entry points renumber.
        let affected = if security { warden_engine::affected_roles(&self.model, &model, touched) } else { Some(BTreeSet::new()) };
        let roles = || affected.iter().flatten().map(String::as_str);
        let patched_roles = match &affected {
            Some(set) if set.is_empty() => Some(self.index.clone()),
            Some(_) => self.index.with_roles(&self.model, &model, roles()),
            None => None,
        };
        let index = match patched_roles {
            None => Index::build(&model),
            Some(index) => {
                let mut users: BTreeSet<String> = BTreeSet::new();
                for key in touched {
                    match key.kind {
                        K::User => drop(users.insert(key.name.clone())),
                        K::Assignment => users.extend(warden_model::split_key(&key.name).map(|[user, _]: [String; 2]| user)),
                        K::TempRoleSession => {
                            users.extend(self.model.temp_role_sessions.get(&key.name).map(|s| s.user.clone()));
                            users.extend(model.temp_role_sessions.get(&key.name).map(|s| s.user.clone()));
                        }
                        K::PrivilegedSession => {
                            users.extend(self.model.privileged_sessions.get(&key.name).map(|s| s.user.clone()));
                            users.extend(model.privileged_sessions.get(&key.name).map(|s| s.user.clone()));
                        }
                        _ => {}
                    }
                }
                let patched = if users.is_empty() { index } else { index.with_users(&model, users.iter().map(String::as_str)) };
                // Patched users and roles leave old side-table entries and rows behind; past half, compact.
                if patched.garbage_ratio() > 0.5 { Index::build(&model) } else { patched }
            }
        };
        let recorded = if privileged { Arc::new(recorded_users(&model)) } else { self.recorded.clone() };
        let sod = match (&affected, self.sod.get()) {
            _ if rules => Arc::default(),
            (Some(set), _) if set.is_empty() => self.sod.clone(),
            (Some(_), Some(old)) => old.with_roles(&model, roles()).map_or_else(Arc::default, |s| Arc::new(std::sync::OnceLock::from(s))),
            _ => Arc::default(),
        };
        tracing::debug!(revision, keys = touched.len(), roles = affected.as_ref().map(BTreeSet::len), us = started.elapsed().as_micros() as u64, "snapshot derived");
        Snapshot { model: Arc::new(model), index, revision, recorded, sod }
    }

    /// The SoD index of this snapshot's model.
    pub fn sod_index(&self) -> &SodIndex {
        self.sod.get_or_init(|| SodIndex::build(&self.model))
    }

    /// Whether what `user` does at `at` goes into a privileged session's recording.
    pub fn is_recorded(&self, user: &str, at: Timestamp) -> bool {
        !self.recorded.is_empty() && self.recorded.get(user).is_some_and(|w| w.iter().any(|(s, e)| *s <= at && at < *e))
    }

    /// Reads the current revision from `store`.
    pub async fn load(store: &dyn Store) -> Result<Snapshot, CoreError> {
        let (model, revision) = store.load().await?;
        Ok(Snapshot::new(model, revision))
    }

    pub fn is_empty(&self) -> bool {
        let m = &self.model;
        m.roles.is_empty() && m.users.is_empty() && m.organizations.is_empty() && m.entry_points.is_empty()
    }

    pub fn user(&self, text: &str) -> Result<&User, CoreError> {
        lookup::user(&self.model, text)
    }

    pub fn org(&self, text: &str) -> Result<&Organization, CoreError> {
        lookup::org(&self.model, text)
    }

    pub fn role(&self, text: &str) -> Result<&Role, CoreError> {
        lookup::role(&self.model, text)
    }

    /// Resolves `NAME` or `TYPE/NAME` (see [`warden_engine::resolve_entry_point`]),
    /// suggesting close names when nothing matches.
    pub fn entry_point(&self, text: &str) -> Result<EntryPointKey, CoreError> {
        match warden_engine::resolve_entry_point(&self.model, text) {
            Ok(key) => Ok(key),
            Err(warden_engine::ResolveError::Unknown(_)) => {
                // Suggest by name, whatever type was typed: the type is the likelier mistake.
                let name = text.trim().rsplit_once('/').map_or(text.trim(), |(_, n)| n);
                let names: BTreeSet<&str> = self.model.entry_points.keys().map(|k| k.name.as_str()).collect();
                let close = names::closest(names.iter().copied(), name, 3);
                let shown: Vec<String> = self
                    .model
                    .entry_points
                    .keys()
                    .filter(|k| close.contains(&k.name.as_str()))
                    .map(ToString::to_string)
                    .take(3)
                    .collect();
                let hint = names::suggestion(&shown);
                Err(CoreError::Unknown { kind: ObjectKind::EntryPoint, name: text.trim().to_string(), hint })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Answers a check. Unknown users, entry points and organizations are
    /// errors rather than a deny: a typo must not look like a security answer.
    pub fn check(&self, req: &CheckRequest) -> Result<CheckOutcome, CoreError> {
        let user = self.user(&req.user)?.id.clone();
        let ep = self.entry_point(&req.entry_point)?;
        let org = req.org.as_deref().map(|o| self.org(o).map(|o| o.id.clone())).transpose()?;
        if let Some(part) = &req.part {
            part.validate().map_err(|e| CoreError::InvalidField { field: part.kind.as_str(), message: e.to_string() })?;
        }
        let (decision, explanation) = match &req.part {
            None => (
                self.index.check_by_name(&user, &ep, req.access, org.as_deref(), req.at),
                req.explain.then(|| warden_engine::explain(&self.model, &user, &ep, req.access, org.as_deref(), req.at)),
            ),
            Some(part) => (
                warden_engine::check_part(&self.index, &self.model, &user, &ep, req.access, part, org.as_deref(), req.at),
                req.explain.then(|| warden_engine::explain_part(&self.model, &user, &ep, req.access, part, org.as_deref(), req.at)),
            ),
        };
        if let Some(e) = &explanation {
            debug_assert_eq!(e.decision, decision, "index and explanation disagree on {user} {ep} {}", req.access);
        }
        Ok(CheckOutcome { decision, user, entry_point: ep.to_string(), access: req.access, part: req.part.clone(), org, at: req.at, explanation })
    }

    pub fn users(&self) -> Vec<UserSummary> {
        self.model
            .users
            .values()
            .map(|u| UserSummary {
                id: u.id.clone(),
                name: u.name.clone(),
                kind: u.kind,
                enabled: u.enabled,
                email: u.email.clone(),
                roles: self.model.assignments_of(&u.id).len(),
            })
            .collect()
    }

    pub fn orgs(&self) -> Vec<OrgSummary> {
        let mut scoped: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for a in &self.model.assignments {
            for o in &a.organizations {
                scoped.entry(o.as_str()).or_default().insert(a.user.as_str());
            }
        }
        self.model
            .organizations
            .values()
            .map(|o| OrgSummary {
                id: o.id.clone(),
                name: o.name.clone(),
                scoped_users: scoped.get(o.id.as_str()).map_or(0, BTreeSet::len),
            })
            .collect()
    }

    fn users_per_role(&self) -> BTreeMap<&str, usize> {
        let mut users = BTreeMap::new();
        for a in &self.model.assignments {
            *users.entry(a.role.as_str()).or_default() += 1;
        }
        users
    }

    pub fn roles(&self) -> Vec<RoleSummary> {
        let users = self.users_per_role();
        let m = &self.model;
        m.roles
            .values()
            .map(|r| RoleSummary {
                name: r.name.clone(),
                label: r.label.clone(),
                duties: m.role_duties(r).count(),
                privileges: m.role_privileges(r).count(),
                sub_roles: m.role_sub_roles(r).count(),
                users: users.get(r.name.as_str()).copied().unwrap_or(0),
            })
            .collect()
    }

    fn permission_rows(&self, perms: Vec<EffectivePermission>) -> Vec<PermissionRow> {
        perms
            .into_iter()
            .map(|p| PermissionRow {
                entry_point: p.entry_point.to_string(),
                kind: p.entry_point.kind,
                label: self.model.entry_points.get(&p.entry_point).and_then(|e| e.label.clone()),
                allowed: accesses(p.effective()),
                denied: accesses(p.deny),
                name: p.entry_point.name,
            })
            .collect()
    }

    /// `user show`: assignments are judged at `at` and in `org` (without one,
    /// only global assignments count, as in a check without an organization).
    pub fn user_view(&self, id: &str, org: Option<&str>, at: Timestamp) -> Result<UserView, CoreError> {
        let user = self.user(id)?.clone();
        let org = org.map(|o| self.org(o).map(|o| o.id.clone())).transpose()?;
        let assignments = self
            .model
            .assignments_of(&user.id)
            .iter()
            .map(|a| {
                let state = TimeState::of(a, at);
                AssignmentView {
                    role: a.role.clone(),
                    role_label: self.model.roles.get(&a.role).and_then(|r| r.label.clone()),
                    organizations: a.organizations.clone(),
                    valid_from: a.valid_from,
                    valid_to: a.valid_to,
                    state,
                    counts: user.enabled && state == TimeState::Active && a.applies_to(org.as_deref()),
                    rule: a.rule.clone(),
                }
            })
            .collect();
        let permissions =
            self.permission_rows(warden_engine::effective_permissions(&self.model, &user.id, org.as_deref(), at));
        Ok(UserView { user, org, at, assignments, permissions })
    }

    /// `role show`.
    pub fn role_view(&self, name: &str) -> Result<RoleView, CoreError> {
        let m = &self.model;
        let role = self.role(name)?;
        let ext_adding = |list: fn(&warden_model::RoleExtension) -> &Vec<String>, item: &str| {
            m.extensions_of_role(&role.name).find(|e| list(e).iter().any(|x| x == item)).map(|e| e.name.clone())
        };
        let member = |name: &str, label: Option<&Option<String>>, extension: Option<String>| Member {
            name: name.to_string(),
            label: label.cloned().flatten(),
            extension,
            loaded: label.is_some(),
        };
        let duties = m
            .role_duties(role)
            .map(|d| {
                let ext = if role.duties.iter().any(|x| x == d) { None } else { ext_adding(|e| &e.duties, d) };
                member(d, m.duties.get(d).map(|x| &x.label), ext)
            })
            .collect();
        let privileges = m
            .role_privileges(role)
            .map(|p| {
                let ext = if role.privileges.iter().any(|x| x == p) { None } else { ext_adding(|e| &e.privileges, p) };
                member(p, m.privileges.get(p).map(|x| &x.label), ext)
            })
            .collect();
        let sub_roles = m
            .role_sub_roles(role)
            .map(|s| {
                let ext = if role.sub_roles.iter().any(|x| x == s) { None } else { ext_adding(|e| &e.sub_roles, s) };
                member(s, m.roles.get(s).map(|x| &x.label), ext)
            })
            .collect();
        let mut extensions: Vec<ExtensionView> = m
            .extensions_of_role(&role.name)
            .map(|e| ExtensionView {
                kind: ObjectKind::RoleExtension,
                name: e.name.clone(),
                target: e.target.clone(),
                adds: e
                    .duties
                    .iter()
                    .map(|d| format!("duty {d}"))
                    .chain(e.privileges.iter().map(|p| format!("privilege {p}")))
                    .chain(e.sub_roles.iter().map(|s| format!("sub-role {s}")))
                    .collect(),
            })
            .collect();
        let role_duties: BTreeSet<&str> = m.role_duties(role).collect();
        extensions.extend(m.duty_extensions.values().filter(|e| role_duties.contains(e.target.as_str())).map(|e| ExtensionView {
            kind: ObjectKind::DutyExtension,
            name: e.name.clone(),
            target: e.target.clone(),
            adds: e.privileges.iter().map(|p| format!("privilege {p}")).collect(),
        }));
        Ok(RoleView {
            name: role.name.clone(),
            label: role.label.clone(),
            description: role.description.clone(),
            model: role.model.clone(),
            duties,
            privileges,
            sub_roles,
            extensions,
            users: self.users_per_role().get(role.name.as_str()).copied().unwrap_or(0),
            entry_points: self.permission_rows(warden_engine::role_permissions(m, &role.name)),
        })
    }
}
