//! The built-in `Warden` security model: Warden's own API actions as entry
//! points, with privileges, duties and roles over them, so that Warden decides
//! who may administer it with the same engine, the same explanations and the
//! same audit trail as everything else it governs.
//!
//! The objects are written to the store at every start (only when they
//! differ), so they are visible, explainable and assignable like any role.
//! The four roles are created only when missing, and receive their duties
//! through role extensions (`<Role>.Warden`): a D365 import that brings its own
//! `SystemAdministrator` keeps its content and still gets Warden's duties.

use warden_model::{
    Access, AccessSet, Duty, EntryPoint, EntryPointGrant, EntryPointKey, EntryPointType, Grant, Model, Object, Privilege, Role,
    RoleExtension,
};

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
            }],
            direct_access: Vec::new(),
        }));
    }
    for (name, label, privileges) in DUTIES {
        out.push(Object::Duty(Duty {
            name: name.to_string(),
            label: Some(label.to_string()),
            description: None,
            model: Some(MODEL.to_string()),
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
        }));
    }
    for (name, label, description, duties) in ROLES {
        if !stored.roles.contains_key(*name) {
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
        }));
    }
    out
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
