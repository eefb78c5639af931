//! Every endpoint of the API declared once, in one table: method, path, the
//! action of the built-in model it requires, its documentation and its
//! handler. The router ([`crate::router`]: one route per declaration, each
//! behind its own guard), the authorization of each request and the OpenAPI
//! document ([`crate::openapi`]) are all derived from this table, so that a
//! route cannot exist without deciding who may call it, nor be served without
//! being documented, and no path is written twice.

use crate::api;
use crate::builtin::{Action, Area};
use crate::state::AppState;
use crate::Caller;
use axum::extract::{Path, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};
use axum::Extension;
use std::collections::HashMap;
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
    /// A file in one of these media types (D365's entity files: CSV or XML).
    Texts(&'static [&'static str]),
    /// An XML document (`application/xml`): D365's security configuration file.
    Xml,
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
    /// Query parameters whose schema is a component of the document: (name, component).
    pub query_schemas: Vec<(&'static str, &'static str)>,
    /// Error responses this endpoint gives beyond those of every endpoint of its shape: (status, description).
    pub errors: Vec<(u16, &'static str)>,
    /// For a POST that creates something: the path parameters that name what
    /// it created, and where its answer holds each (`$response.body#/id`). The
    /// document links the answer to every operation below this path that has a `link`.
    pub creates: Vec<(&'static str, String)>,
    /// The name of the OpenAPI link to this operation from the creating POST above it.
    pub link: Option<String>,
    /// The handler, routed for this method only (HEAD too, for a GET).
    pub handler: MethodRouter<AppState>,
}

impl Endpoint {
    pub(crate) fn with_query(mut self, query: Vec<(&'static str, &'static str, bool)>) -> Self {
        self.query = query;
        self
    }
    /// A query parameter's schema is this component.
    pub(crate) fn query_schema(mut self, name: &'static str, component: &'static str) -> Self {
        self.query_schemas.push((name, component));
        self
    }
    pub(crate) fn if_match(mut self) -> Self {
        self.if_match = true;
        self
    }
    pub(crate) fn body_optional(mut self) -> Self {
        self.body_optional = true;
        self
    }
    pub(crate) fn error(mut self, status: u16, description: &'static str) -> Self {
        self.errors.push((status, description));
        self
    }
    /// See [`Endpoint::creates`].
    pub(crate) fn creates(mut self, params: Vec<(&'static str, String)>) -> Self {
        self.creates = params;
        self
    }
    /// Linked from the creating POST above, under a name made of the method
    /// and the last literal segment of the path (`postrotate`).
    pub(crate) fn linked(self) -> Self {
        let name = format!("{}{}", self.method.as_str().to_lowercase(), self.path.rsplit('/').find(|s| !s.starts_with('{')).unwrap_or("").replace('-', "_"));
        self.linked_as(name)
    }
    /// Linked from the creating POST above under this name.
    pub(crate) fn linked_as(mut self, name: impl Into<String>) -> Self {
        self.link = Some(name.into());
        self
    }
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

/// Declares an endpoint: `handler` answers `method` on `path` once the caller
/// passed `guard`. Panics on a method axum cannot route (a programming error
/// that every test that builds the table would show).
#[allow(clippy::too_many_arguments)]
pub(crate) fn ep<H, T>(method: Method, path: &str, guard: Guard, tag: &'static str, summary: &str, request: Body, response: (u16, Body), handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).unwrap_or_else(|_| panic!("{method} {path}: axum cannot route this method"));
    Endpoint {
        handler: axum::routing::on(filter, handler),
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
        query_schemas: Vec::new(),
        errors: Vec::new(),
        creates: Vec::new(),
        link: None,
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
    // Paths with more than one method, written once.
    let tokens = "/api/v1/tokens";
    let mut v = vec![
        ep(Method::GET, "/healthz", Guard::Public, "operations", "Liveness: the process serves requests", None, (200, Schema("Health")), api::healthz),
        ep(Method::GET, "/readyz", Guard::Public, "operations", "Readiness: the snapshot follows the store", None, (200, Schema("Health")), api::readyz),
        ep(Method::GET, "/metrics", needs(Area::Monitoring, Access::Read), "operations", "Prometheus metrics", None, (200, Text), api::metrics),
        ep(Method::GET, "/api/v1/openapi.json", Guard::Public, "operations", "This OpenAPI document", None, (200, Schema("OpenApiDocument")), crate::openapi::document),
        ep(Method::POST, "/api/v1/auth/login", Guard::Public, "authentication", "Sign in with a password; sets the session cookie", Schema("LoginRequest"), (200, Schema("SessionInfo")), api::login)
            .error(429, "too many failed sign-ins; see Retry-After"),
        ep(Method::POST, "/api/v1/auth/logout", Guard::Authenticated, "authentication", "Sign out (ends the session)", None, (204, None), api::logout),
        ep(Method::GET, "/api/v1/auth/me", Guard::Authenticated, "authentication", "The signed-in user and what they may do", None, (200, Schema("Me")), api::me),
        ep(Method::POST, "/api/v1/check", needs(Area::Check, Access::Invoke), "access", "Check one access", Schema("CheckRequest"), (200, Schema("CheckResponse")), api::check),
        ep(Method::POST, "/api/v1/check/batch", needs(Area::Check, Access::Invoke), "access", "Check many accesses in one request", Schema("BatchCheckRequest"), (200, Schema("BatchCheckResponse")), api::check_batch),
        ep(Method::GET, "/api/v1/explain", needs(Area::Analysis, Access::Read), "access", "Every path that grants or denies an access", None, (200, Schema("Explanation")), api::explain).with_query(vec![
            ("user", "user id", true),
            ("entry_point", "NAME or TYPE/NAME", true),
            ("access", "read, update, create, correct, delete or invoke", true),
            ("org", "organization id", false),
            ("at", "RFC 3339 instant (default now)", false),
            ("control", "a control of the entry point's form (not with field)", false),
            ("field", "DATASOURCE.FIELD of the entry point's form, or a data entity's field (not with control)", false),
        ]),
        ep(Method::GET, "/api/v1/users/{id}/permissions", needs(Area::Analysis, Access::Read), "access", "Effective permissions of a user", None, (200, Schema("PermissionsResponse")), api::permissions)
            .with_query(vec![("org", "organization id", false), ("at", "RFC 3339 instant (default now)", false)]),
        ep(Method::GET, "/api/v1/audit", needs(Area::AuditTrail, Access::Read), "audit", "Audit events, oldest first", None, (200, Schema("AuditPage")), api::audit).with_query(vec![
            ("since", "RFC 3339 instant", false),
            ("actor", "who acted", false),
            ("object", "KIND/KEY, e.g. role/Clerk", false),
            ("after_seq", "events after this sequence number", false),
            ("limit", "at most this many events (default 100, at most 1000)", false),
            ("changes", "include before/after of every change", false),
        ]),
        ep(Method::GET, "/api/v1/audit/head", needs(Area::AuditTrail, Access::Read), "audit", "The audit trail's head, to keep as an external anchor", None, (200, Schema("AuditAnchorBody")), api::audit_head),
        ep(Method::POST, "/api/v1/audit/verify", needs(Area::AuditTrail, Access::Invoke), "audit", "Recompute the hash chain, optionally up to an anchor", Schema("VerifyRequest"), (200, Schema("VerifyResponse")), api::audit_verify)
            .body_optional(),
        ep(Method::POST, "/api/v1/events/sign-in", needs(Area::Activity, Access::Create), "events", "An application reports a sign-in", Schema("SessionEvent"), (202, Schema("EventAccepted")), |State(s): State<AppState>, Extension(c): Extension<Caller>, b| {
            api::session_event("sign_in", s, c, b)
        }),
        ep(Method::POST, "/api/v1/events/sign-out", needs(Area::Activity, Access::Create), "events", "An application reports a sign-out", Schema("SessionEvent"), (202, Schema("EventAccepted")), |State(s): State<AppState>, Extension(c): Extension<Caller>, b| {
            api::session_event("sign_out", s, c, b)
        }),
        ep(Method::POST, "/api/v1/events/sign-in-failed", needs(Area::Activity, Access::Create), "events", "An application reports a failed sign-in", Schema("SessionEvent"), (202, Schema("EventAccepted")), |State(s): State<AppState>, Extension(c): Extension<Caller>, b| {
            api::session_event("sign_in_failed", s, c, b)
        }),
        ep(Method::GET, "/api/v1/events", needs(Area::Activity, Access::Read), "events", "Sign-in and activity events, oldest first", None, (200, Schema("EventPage")), api::events).with_query(vec![
            ("user", "user id", false),
            ("kind", "sign_in, sign_out, sign_in_failed, sign_in_locked, sign_in_refused or activity", false),
            ("since", "RFC 3339 instant", false),
            ("after_id", "events after this id", false),
            ("limit", "at most this many (default 100, at most 1000)", false),
        ]),
        ep(Method::GET, tokens, needs(Area::Credentials, Access::Read), "credentials", "API tokens (never their secrets)", None, (200, Schema("TokenList")), api::list_tokens),
        ep(Method::POST, tokens, needs(Area::Credentials, Access::Create), "credentials", "Create an API token; its secret is shown once", Schema("NewToken"), (201, Schema("IssuedToken")), api::create_token)
            .creates(vec![("id", "$response.body#/id".into())]),
        ep(Method::POST, "/api/v1/tokens/{id}/rotate", needs(Area::Credentials, Access::Update), "credentials", "Issue a replacement; the old token stays valid for a grace period", Schema("RotateToken"), (201, Schema("IssuedToken")), api::rotate_token)
            .linked(),
        ep(Method::DELETE, "/api/v1/tokens/{id}", needs(Area::Credentials, Access::Delete), "credentials", "Revoke an API token now", None, (204, None), api::revoke_token).linked(),
        ep(Method::PUT, "/api/v1/users/{id}/password", needs(Area::Credentials, Access::Update), "credentials", "Set a user's password (a local account)", Schema("SetPassword"), (204, None), api::set_password),
    ];
    for c in COLLECTIONS {
        v.extend(collection_endpoints(c));
    }
    v.extend(crate::sod_api::endpoints());
    v.extend(crate::dmf_api::endpoints());
    v.extend(crate::webhook_api::endpoints());
    v.extend(crate::sessions_api::endpoints());
    v.push(ep(
        Method::GET,
        "/api/v1/security-config",
        needs(Area::SecurityConfiguration, Access::Read),
        "layers",
        "The database layer's roles, duties and privileges as D365's security configuration file (SecurityDatabaseCustomizations.xml): customized, new and disabled",
        Body::None,
        (200, Body::Xml),
        api::security_config,
    ));
    v.push(
        ep(
            Method::POST,
            "/api/v1/security-config/import",
            needs(Area::SecurityConfiguration, Access::Update),
            "layers",
            "Import D365's security configuration file (the request body, application/xml) into the database layer, all or nothing; a file that changes nothing writes nothing",
            Body::Xml,
            (200, Schema("SecurityConfigImported")),
            api::import_security_config,
        )
        .error(415, "the body is not `application/xml`"),
    );
    v.push(ep(Method::GET, "/api/v1/customizations", needs(Area::SecurityConfiguration, Access::Read), "layers", "Database customizations of security objects", None, (200, Schema("CustomizationList")), api::customizations));
    v.push(ep(
        Method::POST,
        "/api/v1/customizations/remove",
        needs(Area::SecurityConfiguration, Access::Delete),
        "layers",
        "Drop customizations, so that the code form is effective again",
        Schema("RemoveCustomizations"),
        (200, Schema("CustomizationsRemoved")),
        api::remove_customizations,
    ));
    v
}

/// The generic endpoints of one collection: list, create, get, replace,
/// delete, and for deployable kinds the layers of an object.
fn collection_endpoints(c: &'static Collection) -> Vec<Endpoint> {
    use Body::*;
    let tag = "objects";
    let name = c.kind.as_str();
    let code = c.kind.code();
    // The key as a create's answer holds it (an entry point's `type` is its `kind`).
    let key: Vec<(&'static str, String)> = c.key_params.iter().map(|p| (*p, format!("$response.body#/object/{}", if *p == "type" { "kind" } else { p }))).collect();
    type Params = Path<HashMap<String, String>>;
    let mut v = vec![
        ep(Method::GET, &c.list_path(), needs(c.area, Access::Read), tag, &format!("List {name}s"), None, (200, Schema("ObjectPage")), move |Extension(caller): Extension<Caller>, q| {
            api::list_objects(c, caller, q)
        })
        .with_query(PAGE.to_vec()),
        ep(Method::POST, &c.list_path(), needs(c.area, Access::Create), tag, &format!("Create a {name}"), Object(c.kind), (201, Schema("StoredObject")), move |State(s): State<AppState>, Extension(caller): Extension<Caller>, body| {
            api::create_object(s, c, caller, body)
        })
        .creates(key),
        ep(Method::GET, &c.item_path(), needs(c.area, Access::Read), tag, &format!("Get a {name} with its version (ETag)"), None, (200, Schema("StoredObject")), move |State(s): State<AppState>, Path(p): Params| {
            api::get_object(s, c, p)
        })
        .linked_as(format!("get_{code}")),
        ep(Method::PUT, &c.item_path(), needs(c.area, Access::Update), tag, &format!("Replace a {name}; If-Match: its version"), Object(c.kind), (200, Schema("StoredObject")), move |State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(p): Params, h, body| {
            api::replace_object(s, c, caller, p, h, body)
        })
        .if_match()
        .linked_as(format!("replace_{code}")),
        ep(Method::DELETE, &c.item_path(), needs(c.area, Access::Delete), tag, &format!("Delete a {name}; If-Match: its version"), None, (204, None), move |State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(p): Params, h| {
            api::delete_object(s, c, caller, p, h)
        })
        .if_match()
        .linked_as(format!("delete_{code}")),
    ];
    if c.kind == ObjectKind::Policy {
        v.push(
            ep(
                Method::GET,
                &format!("{}/tree", c.item_path()),
                needs(c.area, Access::Read),
                tag,
                "An XDS policy as a tree: context, then its constrained tables and expressions with their relations, values and nesting; elements Warden does not interpret listed where they sit",
                None,
                (200, Schema("PolicyTree")),
                move |State(s): State<AppState>, Path(p): Params| api::policy_tree(s, c, p),
            )
            .linked_as("tree_of_policy".to_string()),
        );
    }
    if c.kind.is_deployable() {
        v.push(
            ep(Method::GET, &c.layers_path(), needs(c.area, Access::Read), "layers", &format!("A {name}'s code, database and effective form"), None, (200, Schema("ObjectLayers")), move |State(s): State<AppState>, Path(p): Params| {
                api::object_layers(s, c, p)
            })
            .linked_as(format!("layers_of_{code}")),
        );
    }
    v
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

    /// Each path is written once in this crate's code (its declaration; the
    /// collections' paths are made by `Collection`), and routes are added in
    /// one place only, the fold over the declarations, so that the router,
    /// the guards and the document cannot disagree. Test modules are left out.
    #[test]
    fn paths_are_written_once_and_routed_in_one_place() {
        let literal = regex::Regex::new(r#""(/[A-Za-z0-9_./{}-]+)""#).unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        let mut routes = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("\n#[cfg(test)]").next().unwrap_or_default();
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            for m in literal.captures_iter(code) {
                let p = m[1].to_string();
                if let Some(first) = seen.insert(p.clone(), file.clone()) {
                    panic!("{p} is written in {first} and again in {file}");
                }
            }
            routes.extend(std::iter::repeat_n(file.clone(), code.matches(".route(").count()));
        }
        assert_eq!(routes, ["lib.rs"], "routes are added only by the fold over the declarations");
        let declared: std::collections::HashSet<String> = all().into_iter().map(|e| e.path).collect();
        let literals = seen.keys().filter(|p| declared.contains(*p)).count();
        assert!(literals > 50, "only {literals} declared paths found as literals: is the pattern still right?");
    }

    #[test]
    fn only_probes_docs_and_sign_in_are_public() {
        let public: Vec<String> = all().iter().filter(|e| e.guard == Guard::Public).map(|e| e.path.clone()).collect();
        assert_eq!(public, ["/healthz", "/readyz", "/api/v1/openapi.json", "/api/v1/auth/login"]);
    }
}
