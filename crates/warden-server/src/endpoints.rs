//! Every endpoint of the API in one table: method, path, and the action of the
//! built-in model it requires. The authorization layer and the OpenAPI
//! document both read this table, and a request whose route is missing from it
//! is refused: an endpoint cannot be added without deciding who may call it.

use crate::builtin::{Action, Area};
use axum::http::Method;
use warden_model::{Access, ObjectKind};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Anyone: health probes, the OpenAPI document, sign-in.
    Public,
    /// Any signed-in caller (sign-out, who am I).
    Authenticated,
    /// Callers whose roles grant this action.
    Requires(Action),
}

/// What an endpoint takes and returns, for the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    None,
    /// A component schema by name.
    Schema(&'static str),
    /// A stored object of this kind (its JSON document).
    Object(ObjectKind),
    /// Plain text (metrics).
    Text,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: Method,
    /// In axum's syntax (`/api/v1/roles/{name}`), which is also OpenAPI's.
    pub path: String,
    pub guard: Guard,
    pub summary: String,
    pub tag: &'static str,
    pub request: Body,
    /// Status and body of the success response.
    pub response: (u16, Body),
    /// Query parameters: (name, description, required).
    pub query: Vec<(&'static str, &'static str, bool)>,
    /// Takes `If-Match` (updates and deletes of versioned objects).
    pub if_match: bool,
    /// The request body may be left out.
    pub body_optional: bool,
}

/// A collection of stored objects under `/api/v1/<segment>`.
#[derive(Debug, Clone, Copy)]
pub struct Collection {
    pub kind: ObjectKind,
    pub segment: &'static str,
    /// The path parameters that make up the key (joined by `/`).
    pub key_params: &'static [&'static str],
    pub area: Area,
}

pub const COLLECTIONS: &[Collection] = &[
    Collection { kind: ObjectKind::EntryPoint, segment: "entry-points", key_params: &["type", "name"], area: Area::SecurityConfiguration },
    Collection { kind: ObjectKind::Privilege, segment: "privileges", key_params: &["name"], area: Area::SecurityConfiguration },
    Collection { kind: ObjectKind::Duty, segment: "duties", key_params: &["name"], area: Area::SecurityConfiguration },
    Collection { kind: ObjectKind::Role, segment: "roles", key_params: &["name"], area: Area::SecurityConfiguration },
    Collection { kind: ObjectKind::RoleExtension, segment: "role-extensions", key_params: &["name"], area: Area::SecurityConfiguration },
    Collection { kind: ObjectKind::DutyExtension, segment: "duty-extensions", key_params: &["name"], area: Area::SecurityConfiguration },
    Collection { kind: ObjectKind::Policy, segment: "policies", key_params: &["name"], area: Area::SecurityConfiguration },
    Collection { kind: ObjectKind::Organization, segment: "organizations", key_params: &["id"], area: Area::Organizations },
    Collection { kind: ObjectKind::User, segment: "users", key_params: &["id"], area: Area::Users },
    Collection { kind: ObjectKind::Assignment, segment: "assignments", key_params: &["user", "role"], area: Area::Assignments },
    Collection { kind: ObjectKind::AssignmentRule, segment: "assignment-rules", key_params: &["name"], area: Area::Assignments },
    Collection { kind: ObjectKind::SodRule, segment: "sod/rules", key_params: &["name"], area: Area::SegregationOfDuties },
];

impl Collection {
    pub fn list_path(&self) -> String {
        format!("/api/v1/{}", self.segment)
    }
    pub fn item_path(&self) -> String {
        let params: Vec<String> = self.key_params.iter().map(|p| format!("{{{p}}}")).collect();
        format!("/api/v1/{}/{}", self.segment, params.join("/"))
    }
    pub fn layers_path(&self) -> String {
        format!("{}/layers", self.item_path())
    }
    pub fn for_kind(kind: ObjectKind) -> Option<&'static Collection> {
        COLLECTIONS.iter().find(|c| c.kind == kind)
    }
}

pub(crate) fn ep(method: Method, path: &str, guard: Guard, tag: &'static str, summary: &str, request: Body, response: (u16, Body)) -> Endpoint {
    Endpoint {
        method,
        path: path.to_string(),
        guard,
        summary: summary.to_string(),
        tag,
        request,
        response,
        query: Vec::new(),
        if_match: false,
        body_optional: false,
    }
}

pub(crate) fn needs(area: Area, access: Access) -> Guard {
    Guard::Requires(Action::new(area, access))
}

const PAGE: [(&str, &str, bool); 3] = [
    ("limit", "at most this many items (1-1000, default 100)", false),
    ("after", "the `next` cursor of the previous page", false),
    ("q", "only items whose key or label contains this text (case-insensitive)", false),
];

/// The whole API.
pub fn all() -> Vec<Endpoint> {
    use Body::*;
    let mut v = vec![
        ep(Method::GET, "/healthz", Guard::Public, "operations", "Liveness: the process serves requests", None, (200, Schema("Health"))),
        ep(Method::GET, "/readyz", Guard::Public, "operations", "Readiness: the snapshot follows the store", None, (200, Schema("Health"))),
        ep(Method::GET, "/metrics", needs(Area::Monitoring, Access::Read), "operations", "Prometheus metrics", None, (200, Text)),
        ep(Method::GET, "/api/v1/openapi.json", Guard::Public, "operations", "This OpenAPI document", None, (200, Schema("OpenApiDocument"))),
        ep(Method::POST, "/api/v1/auth/login", Guard::Public, "authentication", "Sign in with a password; sets the session cookie", Schema("LoginRequest"), (200, Schema("SessionInfo"))),
        ep(Method::POST, "/api/v1/auth/logout", Guard::Authenticated, "authentication", "Sign out (ends the session)", None, (204, None)),
        ep(Method::GET, "/api/v1/auth/me", Guard::Authenticated, "authentication", "The signed-in user and what they may do", None, (200, Schema("Me"))),
        ep(Method::POST, "/api/v1/check", needs(Area::Check, Access::Invoke), "access", "Check one access", Schema("CheckRequest"), (200, Schema("CheckResponse"))),
        ep(Method::POST, "/api/v1/check/batch", needs(Area::Check, Access::Invoke), "access", "Check many accesses in one request", Schema("BatchCheckRequest"), (200, Schema("BatchCheckResponse"))),
        {
            let mut e = ep(Method::GET, "/api/v1/explain", needs(Area::Analysis, Access::Read), "access", "Every path that grants or denies an access", None, (200, Schema("Explanation")));
            e.query = vec![
                ("user", "user id", true),
                ("entry_point", "NAME or TYPE/NAME", true),
                ("access", "read, update, create, correct, delete or invoke", true),
                ("org", "organization id", false),
                ("at", "RFC 3339 instant (default now)", false),
            ];
            e
        },
        {
            let mut e = ep(Method::GET, "/api/v1/users/{id}/permissions", needs(Area::Analysis, Access::Read), "access", "Effective permissions of a user", None, (200, Schema("PermissionsResponse")));
            e.query = vec![("org", "organization id", false), ("at", "RFC 3339 instant (default now)", false)];
            e
        },
        {
            let mut e = ep(Method::GET, "/api/v1/audit", needs(Area::AuditTrail, Access::Read), "audit", "Audit events, oldest first", None, (200, Schema("AuditPage")));
            e.query = vec![
                ("since", "RFC 3339 instant", false),
                ("actor", "who acted", false),
                ("object", "KIND/KEY, e.g. role/Clerk", false),
                ("after_seq", "events after this sequence number", false),
                ("limit", "at most this many events (default 100, at most 1000)", false),
                ("changes", "include before/after of every change", false),
            ];
            e
        },
        ep(Method::GET, "/api/v1/audit/head", needs(Area::AuditTrail, Access::Read), "audit", "The audit trail's head, to keep as an external anchor", None, (200, Schema("AuditAnchorBody"))),
        {
            let mut e = ep(Method::POST, "/api/v1/audit/verify", needs(Area::AuditTrail, Access::Invoke), "audit", "Recompute the hash chain, optionally up to an anchor", Schema("VerifyRequest"), (200, Schema("VerifyResponse")));
            e.body_optional = true;
            e
        },
        ep(Method::POST, "/api/v1/events/sign-in", needs(Area::Activity, Access::Create), "events", "An application reports a sign-in", Schema("SessionEvent"), (202, Schema("EventAccepted"))),
        ep(Method::POST, "/api/v1/events/sign-out", needs(Area::Activity, Access::Create), "events", "An application reports a sign-out", Schema("SessionEvent"), (202, Schema("EventAccepted"))),
        ep(Method::POST, "/api/v1/events/sign-in-failed", needs(Area::Activity, Access::Create), "events", "An application reports a failed sign-in", Schema("SessionEvent"), (202, Schema("EventAccepted"))),
        {
            let mut e = ep(Method::GET, "/api/v1/events", needs(Area::Activity, Access::Read), "events", "Sign-in and activity events, oldest first", None, (200, Schema("EventPage")));
            e.query = vec![
                ("user", "user id", false),
                ("kind", "sign_in, sign_out, sign_in_failed, sign_in_locked, sign_in_refused or activity", false),
                ("since", "RFC 3339 instant", false),
                ("after_id", "events after this id", false),
                ("limit", "at most this many (default 100, at most 1000)", false),
            ];
            e
        },
        ep(Method::GET, "/api/v1/tokens", needs(Area::Credentials, Access::Read), "credentials", "API tokens (never their secrets)", None, (200, Schema("TokenList"))),
        ep(Method::POST, "/api/v1/tokens", needs(Area::Credentials, Access::Create), "credentials", "Create an API token; its secret is shown once", Schema("NewToken"), (201, Schema("IssuedToken"))),
        ep(Method::POST, "/api/v1/tokens/{id}/rotate", needs(Area::Credentials, Access::Update), "credentials", "Issue a replacement; the old token stays valid for a grace period", Schema("RotateToken"), (201, Schema("IssuedToken"))),
        ep(Method::DELETE, "/api/v1/tokens/{id}", needs(Area::Credentials, Access::Delete), "credentials", "Revoke an API token now", None, (204, None)),
        ep(Method::PUT, "/api/v1/users/{id}/password", needs(Area::Credentials, Access::Update), "credentials", "Set a user's password (a local account)", Schema("SetPassword"), (204, None)),
    ];
    for c in COLLECTIONS {
        let tag = "objects";
        let name = c.kind.as_str();
        let mut list = ep(Method::GET, &c.list_path(), needs(c.area, Access::Read), tag, &format!("List {name}s"), None, (200, Schema("ObjectPage")));
        list.query = PAGE.to_vec();
        v.push(list);
        v.push(ep(Method::POST, &c.list_path(), needs(c.area, Access::Create), tag, &format!("Create a {name}"), Object(c.kind), (201, Schema("StoredObject"))));
        v.push(ep(Method::GET, &c.item_path(), needs(c.area, Access::Read), tag, &format!("Get a {name} with its version (ETag)"), None, (200, Schema("StoredObject"))));
        let mut put = ep(Method::PUT, &c.item_path(), needs(c.area, Access::Update), tag, &format!("Replace a {name}; If-Match: its version"), Object(c.kind), (200, Schema("StoredObject")));
        put.if_match = true;
        v.push(put);
        let mut del = ep(Method::DELETE, &c.item_path(), needs(c.area, Access::Delete), tag, &format!("Delete a {name}; If-Match: its version"), None, (204, None));
        del.if_match = true;
        v.push(del);
        if c.kind.is_deployable() {
            v.push(ep(Method::GET, &c.layers_path(), needs(c.area, Access::Read), "layers", &format!("A {name}'s code, database and effective form"), None, (200, Schema("ObjectLayers"))));
        }
    }
    v.extend(crate::sod_api::endpoints());
    v.extend(crate::webhook_api::endpoints());
    v.extend(crate::sessions_api::endpoints());
    v.push(ep(Method::GET, "/api/v1/customizations", needs(Area::SecurityConfiguration, Access::Read), "layers", "Database customizations of security objects", None, (200, Schema("CustomizationList"))));
    v.push(ep(
        Method::POST,
        "/api/v1/customizations/remove",
        needs(Area::SecurityConfiguration, Access::Delete),
        "layers",
        "Drop customizations, so that the code form is effective again",
        Schema("RemoveCustomizations"),
        (200, Schema("CustomizationsRemoved")),
    ));
    v
}

/// The endpoint a request matched, by method and matched route. `HEAD` is
/// `GET` without the body (RFC 9110 §9.3.2): it needs what `GET` needs.
pub fn find<'a>(table: &'a [Endpoint], method: &Method, path: &str) -> Option<&'a Endpoint> {
    let method = if method == Method::HEAD { &Method::GET } else { method };
    table.iter().find(|e| e.method == method && e.path == path)
}

/// The methods a route answers, for the `Allow` header of a 405.
pub fn allowed(table: &[Endpoint], path: &str) -> String {
    let mut methods: Vec<&str> = table.iter().filter(|e| e.path == path).map(|e| e.method.as_str()).collect();
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once() {
        let table = all();
        let mut seen = std::collections::HashSet::new();
        for e in &table {
            assert!(seen.insert((e.method.clone(), e.path.clone())), "{} {} twice", e.method, e.path);
        }
    }

    #[test]
    fn only_probes_docs_and_sign_in_are_public() {
        let public: Vec<String> = all().iter().filter(|e| e.guard == Guard::Public).map(|e| e.path.clone()).collect();
        assert_eq!(public, ["/healthz", "/readyz", "/api/v1/openapi.json", "/api/v1/auth/login"]);
    }
}
