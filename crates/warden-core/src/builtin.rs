//! The built-in `Warden` security model: Warden's own API actions as entry
//! points, with privileges, duties and roles over them, so that Warden decides
//! who may administer it with the same engine, the same explanations and the
//! same audit trail as everything else it governs.
//!
//! [`install`] writes the objects into the code layer of every store a
//! command opens for writing (and at every `warden serve` start), only when
//! they are missing or differ, so they are visible, explainable and
//! assignable like any role from the moment a store exists. The four roles
//! are created only when missing, and receive their duties through role
//! extensions (`<Role>.Warden`): a D365 import that brings its own
//! `SystemAdministrator` keeps its content and still gets Warden's duties.

use crate::CoreError;
use serde_json::json;
use warden_model::{
    Access, AccessSet, Duty, EntryPoint, EntryPointGrant, EntryPointKey, EntryPointType, Grant, Model, Object, ObjectKind, Privilege, Role,
    RoleExtension,
};
use warden_store::{Change, Commit, Layer, Revision, Store, StoreError};

/// The AOT model name that Warden's own objects carry.
pub const MODEL: &str = "Warden";

/// Built-in role names (AOT names).
pub const SYSTEM_ADMINISTRATOR: &str = "SystemAdministrator";
pub const SECURITY_ADMINISTRATOR: &str = "SecurityAdministrator";
pub const SECURITY_AUDITOR: &str = "SecurityAuditor";
pub const APPLICATION: &str = "WardenApplication";

/// Warden's protected areas. Each is one entry point; an action is one of
/// its accesses (Read for viewing, Create/Update/Delete for changes, Invoke
/// for operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    /// `POST /check`, `/check/batch`.
    Check,
    /// Explanations and effective permissions of users.
    Analysis,
    /// Entry points, privileges, duties, roles, policies, extensions, layers.
    SecurityConfiguration,
    Organizations,
    Users,
    Assignments,
    /// Warden's own passwords and API tokens.
    Credentials,
    /// The audit trail (Read) and its verification (Invoke).
    AuditTrail,
    /// Sign-in and activity events reported by applications (Create) and their log (Read).
    Activity,
    /// `/metrics`.
    Monitoring,
    /// Segregation-of-duties rules (Read, Create, Update, Delete) and the
    /// conflicts register: verification and decisions (Invoke).
    SegregationOfDuties,
    /// Webhooks that receive alerts (Read; Create, Delete; Invoke to rotate a secret).
    Webhooks,
    /// Temporary role and privileged user sessions: their logs and recordings
    /// (Read); requests (Create), approvals and edits (Update), processing
    /// (Invoke), deleting recordings (Delete).
    Sessions,
}

impl Area {
    pub const ALL: [Area; 13] = [
        Area::Check,
        Area::Analysis,
        Area::SecurityConfiguration,
        Area::Organizations,
        Area::Users,
        Area::Assignments,
        Area::Credentials,
        Area::AuditTrail,
        Area::Activity,
        Area::Monitoring,
        Area::SegregationOfDuties,
        Area::Webhooks,
        Area::Sessions,
    ];

    /// The entry point's AOT name.
    pub const fn entry_point(self) -> &'static str {
        match self {
            Area::Check => "WardenCheck",
            Area::Analysis => "WardenAnalysis",
            Area::SecurityConfiguration => "WardenSecurityConfiguration",
            Area::Organizations => "WardenOrganizations",
            Area::Users => "WardenUsers",
            Area::Assignments => "WardenAssignments",
            Area::Credentials => "WardenCredentials",
            Area::AuditTrail => "WardenAuditTrail",
            Area::Activity => "WardenActivity",
            Area::Monitoring => "WardenMonitoring",
            Area::SegregationOfDuties => "WardenSegregationOfDuties",
            Area::Webhooks => "WardenWebhooks",
            Area::Sessions => "WardenSessions",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Area::Check => "Check access",
            Area::Analysis => "Explain access and effective permissions",
            Area::SecurityConfiguration => "Security configuration",
            Area::Organizations => "Organizations",
            Area::Users => "Users",
            Area::Assignments => "Role assignments",
            Area::Credentials => "Passwords and API tokens",
            Area::AuditTrail => "Audit trail",
            Area::Activity => "Sign-in and activity events",
            Area::Monitoring => "Metrics",
            Area::SegregationOfDuties => "Segregation of duties",
            Area::Webhooks => "Alert webhooks",
            Area::Sessions => "Temporary role and privileged user sessions",
        }
    }
}

/// What one API call needs: an access to an area's entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action {
    pub area: Area,
    pub access: Access,
}

impl Action {
    pub const fn new(area: Area, access: Access) -> Action {
        Action { area, access }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.area.entry_point(), self.access)
    }
}

const MAINTAIN: &[Access] = &[Access::Read, Access::Create, Access::Update, Access::Delete];

/// Privileges: (name, label, area, accesses).
const PRIVILEGES: &[(&str, &str, Area, &[Access])] = &[
    ("WardenCheckInvoke", "Check access", Area::Check, &[Access::Invoke]),
    ("WardenAnalysisView", "Explain access", Area::Analysis, &[Access::Read]),
    ("WardenSecurityConfigurationView", "View security configuration", Area::SecurityConfiguration, &[Access::Read]),
    ("WardenSecurityConfigurationMaintain", "Maintain security configuration", Area::SecurityConfiguration, MAINTAIN),
    ("WardenOrganizationsView", "View organizations", Area::Organizations, &[Access::Read]),
    ("WardenOrganizationsMaintain", "Maintain organizations", Area::Organizations, MAINTAIN),
    ("WardenUsersView", "View users", Area::Users, &[Access::Read]),
    ("WardenUsersMaintain", "Maintain users", Area::Users, MAINTAIN),
    ("WardenAssignmentsView", "View role assignments", Area::Assignments, &[Access::Read]),
    ("WardenAssignmentsMaintain", "Maintain role assignments", Area::Assignments, MAINTAIN),
    ("WardenCredentialsMaintain", "Maintain passwords and API tokens", Area::Credentials, MAINTAIN),
    ("WardenAuditTrailView", "View the audit trail", Area::AuditTrail, &[Access::Read]),
    ("WardenAuditTrailVerify", "Verify the audit trail", Area::AuditTrail, &[Access::Read, Access::Invoke]),
    ("WardenActivityReport", "Report sign-in and activity events", Area::Activity, &[Access::Create]),
    ("WardenActivityView", "View sign-in and activity events", Area::Activity, &[Access::Read]),
    ("WardenMonitoringView", "Read metrics", Area::Monitoring, &[Access::Read]),
    ("WardenSegregationOfDutiesView", "View segregation-of-duties rules and conflicts", Area::SegregationOfDuties, &[Access::Read]),
    (
        "WardenSegregationOfDutiesMaintain",
        "Maintain segregation-of-duties rules, verify compliance and decide conflicts",
        Area::SegregationOfDuties,
        &[Access::Read, Access::Create, Access::Update, Access::Delete, Access::Invoke],
    ),
    ("WardenWebhooksView", "View alert webhooks and their deliveries", Area::Webhooks, &[Access::Read]),
    (
        "WardenWebhooksMaintain",
        "Maintain alert webhooks and rotate their secrets",
        Area::Webhooks,
        &[Access::Read, Access::Create, Access::Delete, Access::Invoke],
    ),
    ("WardenSessionsView", "View sessions, their logs and recordings", Area::Sessions, &[Access::Read]),
    (
        "WardenSessionsMaintain",
        "Request, approve, cancel and process sessions; delete recordings",
        Area::Sessions,
        &[Access::Read, Access::Create, Access::Update, Access::Delete, Access::Invoke],
    ),
];

/// Duties: (name, label, privileges).
const DUTIES: &[(&str, &str, &[&str])] = &[
    ("WardenRunAccessChecks", "Run access checks", &["WardenCheckInvoke"]),
    ("WardenReportActivity", "Report sign-ins and activity", &["WardenActivityReport"]),
    (
        "WardenInquireIntoSecurity",
        "Inquire into security configuration and access",
        &[
            "WardenAnalysisView",
            "WardenSecurityConfigurationView",
            "WardenOrganizationsView",
            "WardenUsersView",
            "WardenAssignmentsView",
            "WardenActivityView",
            "WardenCheckInvoke",
            "WardenSegregationOfDutiesView",
            "WardenWebhooksView",
            "WardenSessionsView",
        ],
    ),
    (
        "WardenMaintainSecurity",
        "Maintain security configuration, users and assignments",
        &[
            "WardenSecurityConfigurationMaintain",
            "WardenOrganizationsMaintain",
            "WardenUsersMaintain",
            "WardenAssignmentsMaintain",
            "WardenSegregationOfDutiesMaintain",
            "WardenWebhooksMaintain",
        ],
    ),
    ("WardenManageCredentials", "Manage passwords and API tokens", &["WardenCredentialsMaintain"]),
    ("WardenReviewAuditTrail", "Review and verify the audit trail", &["WardenAuditTrailView", "WardenAuditTrailVerify"]),
    ("WardenMonitorService", "Monitor the Warden service", &["WardenMonitoringView"]),
    // D365: only system administrators create, approve and process sessions.
    ("WardenGovernSessions", "Request, approve and process temporary role and privileged user sessions", &["WardenSessionsMaintain"]),
];

/// Roles: (name, label, description, duties given through the `.Warden` extension).
pub const ROLES: &[(&str, &str, &str, &[&str])] = &[
    (
        SYSTEM_ADMINISTRATOR,
        "System administrator",
        "Everything in Warden, including passwords, API tokens and sessions.",
        &[
            "WardenRunAccessChecks",
            "WardenReportActivity",
            "WardenInquireIntoSecurity",
            "WardenMaintainSecurity",
            "WardenManageCredentials",
            "WardenReviewAuditTrail",
            "WardenMonitorService",
            "WardenGovernSessions",
        ],
    ),
    (
        SECURITY_ADMINISTRATOR,
        "Security administrator",
        "Maintains roles, duties, privileges, users and assignments; reads the audit trail.",
        &["WardenRunAccessChecks", "WardenInquireIntoSecurity", "WardenMaintainSecurity", "WardenReviewAuditTrail"],
    ),
    (
        SECURITY_AUDITOR,
        "Security auditor",
        "Reads everything and verifies the audit trail; changes nothing.",
        &["WardenInquireIntoSecurity", "WardenReviewAuditTrail", "WardenMonitorService"],
    ),
    (
        APPLICATION,
        "Application",
        "For applications that call Warden: the check API, and reporting their users' sign-ins.",
        &["WardenRunAccessChecks", "WardenReportActivity"],
    ),
];

/// The built-in objects to keep in the store, given what it holds: roles that
/// already exist are left as they are (their duties come from the extensions).
pub fn objects(stored: &Model) -> Vec<Object> {
    objects_unless(|role| stored.roles.contains_key(role))
}

/// The built-in objects, leaving out the roles for which `exists` says yes.
fn objects_unless(exists: impl Fn(&str) -> bool) -> Vec<Object> {
    let mut out = Vec::new();
    for area in Area::ALL {
        let mut ep = EntryPoint::referenced(&EntryPointKey::new(EntryPointType::ServiceOperation, area.entry_point()));
        ep.label = Some(area.label().to_string());
        ep.object = Some(area.entry_point().to_string());
        ep.model = Some(MODEL.to_string());
        out.push(Object::EntryPoint(ep));
    }
    for (name, label, area, accesses) in PRIVILEGES {
        let mut allow = AccessSet::EMPTY;
        for a in *accesses {
            allow.insert(*a);
        }
        out.push(Object::Privilege(Privilege {
            name: name.to_string(),
            label: Some(label.to_string()),
            description: None,
            model: Some(MODEL.to_string()),
            entry_points: vec![EntryPointGrant {
                name: area.entry_point().to_string(),
                kind: EntryPointType::ServiceOperation,
                object: area.entry_point().to_string(),
                child: None,
                grant: Grant { allow, deny: AccessSet::EMPTY },
                unmodelled: Vec::new(),
            }],
            direct_access: Vec::new(),
            unmodelled: Vec::new(),
        }));
    }
    for (name, label, privileges) in DUTIES {
        out.push(Object::Duty(Duty {
            name: name.to_string(),
            label: Some(label.to_string()),
            description: None,
            model: Some(MODEL.to_string()),
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
            unmodelled: Vec::new(),
        }));
    }
    for (name, label, description, duties) in ROLES {
        if !exists(name) {
            let mut r = Role::new(*name);
            r.label = Some(label.to_string());
            r.description = Some(description.to_string());
            r.model = Some(MODEL.to_string());
            out.push(Object::Role(r));
        }
        out.push(Object::RoleExtension(RoleExtension {
            name: format!("{name}.{MODEL}"),
            target: name.to_string(),
            model: Some(MODEL.to_string()),
            duties: duties.iter().map(|d| d.to_string()).collect(),
            privileges: Vec::new(),
            sub_roles: Vec::new(),
            unmodelled: Vec::new(),
        }));
    }
    out
}

/// The audit trail's name for [`install`]'s commit.
pub const INSTALL_ACTION: &str = "install built-in model";

/// How many times [`install`] reads again when another writer commits first.
const INSTALL_ATTEMPTS: usize = 3;

/// What [`install`] would write: the built-in objects whose code-layer form is
/// missing or differs, and the roles that exist in no layer at all. Reads one
/// key at a time (a few dozen point reads), never the whole model, so that it
/// costs the same on an empty store and on one with 100,000 users.
///
/// The code layer is compared rather than the effective object: an
/// administrator's customization of a built-in duty wins over it as any
/// customization does, and must not make every command write it again.
pub async fn pending(store: &dyn Store) -> Result<Vec<Change>, StoreError> {
    let mut changes = Vec::new();
    for object in objects_unless(|_| false) {
        let key = object.key();
        let layers = store.layers(&key).await?;
        let wanted = if key.kind == ObjectKind::Role {
            // Created when missing, otherwise left as whoever wrote it made it (even hidden).
            layers.is_empty()
        } else {
            layers.iter().find(|l| l.layer == Layer::Code).and_then(|l| l.object.as_ref()) != Some(&object)
        };
        if wanted {
            changes.push(Change::Put(object));
        }
    }
    Ok(changes)
}

/// Writes the built-in model into the code layer when [`pending`] finds
/// anything to write (a new store, or a new Warden version), as one audited
/// commit by `warden` from `origin`; returns its revision, or `None` when the
/// store was already current (nothing is written then).
pub async fn install(store: &dyn Store, origin: &str) -> Result<Option<Revision>, CoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let started = std::time::Instant::now();
        let revision = store.revision().await?;
        let changes = pending(store).await?;
        if changes.is_empty() {
            tracing::debug!(us = started.elapsed().as_micros() as u64, "built-in model current");
            return Ok(None);
        }
        let mut c = Commit::new("warden", INSTALL_ACTION);
        c.layer = Layer::Code;
        c.origin = origin.to_string();
        c.summary = json!({"model": MODEL, "objects": changes.len()});
        c.changes = changes;
        // Planned on `revision`: two processes installing at once write it once.
        c.expected_revision = Some(revision);
        match store.commit(c).await {
            Ok(rev) => {
                tracing::info!(revision = rev, "built-in model installed");
                return Ok(Some(rev));
            }
            Err(StoreError::Conflict { .. }) if attempt < INSTALL_ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether the store holds nothing but what [`install`] wrote: no revision
/// yet, or only install commits (at most a few, so this reads a few events).
pub async fn is_blank(store: &dyn Store) -> Result<bool, StoreError> {
    const MOST: usize = 3;
    let revision = store.revision().await?;
    if revision == 0 {
        return Ok(true);
    }
    if revision > MOST as u64 {
        return Ok(false);
    }
    let events = store.audit_events(&warden_store::AuditFilter { limit: Some(MOST), ..Default::default() }).await?;
    Ok(events.iter().all(|e| e.action == INSTALL_ACTION))
}

impl crate::Warden {
    /// `demo`: [`crate::Warden::load_demo`], where a store that holds nothing
    /// but the built-in model counts as empty. The demo holds that model too,
    /// so loading it over one replaces nothing: the outcome says so.
    pub async fn load_demo_into_new(&self, reset: bool, now: warden_model::Timestamp) -> Result<crate::DemoOutcome, CoreError> {
        let blank = !reset && self.store().revision().await? > 0 && is_blank(self.store().as_ref()).await?;
        let outcome = self.load_demo(reset || blank, now).await?;
        Ok(match outcome {
            crate::DemoOutcome::Loaded { revision, counts, .. } if blank => crate::DemoOutcome::Loaded { revision, counts, replaced_objects: 0 },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_model_is_valid_and_complete() {
        let mut model = Model::default();
        for o in objects(&Model::default()) {
            model.put(o);
        }
        assert_eq!(model.validate(), vec![]);
        // Every area is reachable by the system administrator, and every privilege is used by a duty.
        let used: std::collections::BTreeSet<&str> = DUTIES.iter().flat_map(|(_, _, p)| p.iter().copied()).collect();
        for (p, ..) in PRIVILEGES {
            assert!(used.contains(p), "privilege {p} is in no duty");
        }
        let sysadmin = ROLES.iter().find(|r| r.0 == SYSTEM_ADMINISTRATOR).unwrap();
        assert_eq!(sysadmin.3.len(), DUTIES.len(), "the system administrator holds every duty");
    }
}
