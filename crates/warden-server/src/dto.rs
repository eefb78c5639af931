//! The JSON bodies of the API, with their OpenAPI schemas.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `starting` / `unavailable` for readiness.
    pub status: String,
    /// The store revision this process serves.
    pub revision: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub user: String,
    /// Send this in the `X-CSRF-Token` header with every state-changing request
    /// authenticated by the session cookie.
    pub csrf_token: String,
    /// RFC 3339.
    pub expires: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: String,
    pub name: Option<String>,
    /// `session` or `token`.
    pub via: String,
    /// Roles in force now, global assignments.
    pub roles: Vec<String>,
    /// The built-in actions this user holds, as `ENTRY_POINT access`.
    pub actions: Vec<String>,
}

/// The six access levels of a grant.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessName {
    Read,
    Update,
    Create,
    Correct,
    Delete,
    Invoke,
}

impl From<AccessName> for warden_model::Access {
    fn from(a: AccessName) -> Self {
        use warden_model::Access::*;
        match a {
            AccessName::Read => Read,
            AccessName::Update => Update,
            AccessName::Create => Create,
            AccessName::Correct => Correct,
            AccessName::Delete => Delete,
            AccessName::Invoke => Invoke,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DecisionName {
    Allow,
    Deny,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub user: String,
    /// `TYPE/NAME` (fastest), or a `NAME` that only one entry point type has.
    pub entry_point: String,
    pub access: AccessName,
    /// Organization: counts assignments scoped to it as well as global ones.
    #[serde(default)]
    pub org: Option<String>,
    /// RFC 3339; default now.
    #[serde(default)]
    pub at: Option<String>,
    /// Include every path that grants or denies.
    #[serde(default)]
    pub explain: bool,
    /// A control of the form the entry point opens, by control name: its own
    /// grant where a privilege sets the access, else the entry point's; Deny
    /// wins; denied when the user cannot Read the entry point. Not with `field`.
    #[serde(default)]
    pub control: Option<String>,
    /// A field below the entry point: `DATASOURCE.FIELD` of a menu item's
    /// form, or a data entity's field name; evaluated as `control` is. Not with `control`.
    #[serde(default)]
    pub field: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    pub decision: DecisionName,
    pub user: String,
    /// `TYPE/NAME`.
    pub entry_point: String,
    /// The control checked, when the request named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// The field checked, when the request named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub access: AccessName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub explanation: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItemRequest {
    pub user: String,
    pub entry_point: String,
    pub access: AccessName,
    #[serde(default)]
    pub org: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchCheckRequest {
    /// RFC 3339, for every check of the batch; default now.
    #[serde(default)]
    pub at: Option<String>,
    /// At most 100,000 checks.
    pub checks: Vec<BatchItemRequest>,
}

/// One answer of a batch, in request order: a decision, or why the check could
/// not be answered (an unknown user, entry point or organization).
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCheckResponse {
    pub at: String,
    pub results: Vec<BatchItemResponse>,
    pub allowed: usize,
    pub denied: usize,
    pub errors: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionRow {
    pub entry_point: String,
    pub allow: Vec<AccessName>,
    pub deny: Vec<AccessName>,
    pub effective: Vec<AccessName>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionsResponse {
    pub user: String,
    pub org: Option<String>,
    pub at: String,
    pub permissions: Vec<PermissionRow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    /// Pass as `after_seq` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after_seq: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditAnchorBody {
    pub seq: u64,
    pub hash: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// A head recorded earlier (`GET /audit/head`, `warden audit checkpoint`):
    /// proves the trail still reaches it unchanged, which detects truncation.
    #[serde(default)]
    pub anchor: Option<AuditAnchorBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// `intact` or `broken`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// The first broken event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionEvent {
    pub user: String,
    /// When the application says it happened (RFC 3339), at most a day ago and
    /// five minutes ahead. Kept as `claimed_at`: the event is placed by the
    /// time Warden receives it.
    #[serde(default)]
    pub at: Option<String>,
    /// Where the application says it comes from; kept as `claimed_source` in
    /// the detail. The event's `source` is the authenticated caller.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventAccepted {
    pub id: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after_id: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub user: String,
    pub label: Option<String>,
    pub created: String,
    pub expires: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The user the token acts as (usually a service account).
    pub user: String,
    #[serde(default)]
    pub label: Option<String>,
    /// 1 to 3650 days; default 90.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateToken {
    /// How long the old token stays valid, 0 to 604,800 seconds (a week); default 86,400.
    #[serde(default)]
    #[schema(maximum = 604800)]
    pub grace_seconds: Option<u32>,
    /// 1 to 3650 days; default 90.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct IssuedToken {
    pub id: String,
    pub user: String,
    /// The secret, shown this once: Warden keeps only its hash.
    pub token: String,
    pub expires: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// At least 12 characters.
    pub password: String,
}

// Debug without the secrets, so that no trace or log line can carry one.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").field("user", &self.user).field("password", &"<redacted>").finish()
    }
}

impl std::fmt::Debug for SetPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPassword").field("password", &"<redacted>").finish()
    }
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken").field("id", &self.id).field("user", &self.user).field("token", &"<redacted>").field("expires", &self.expires).finish()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoredObject {
    /// `role`, `user`, ...
    pub kind: String,
    pub key: String,
    /// Changes with every change of the object; send it back in `If-Match`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// `code` (imported) or `database` (changed through the API or CLI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    #[schema(value_type = Object)]
    pub object: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectPage {
    pub items: Vec<StoredObject>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Items matching the filter, on all pages.
    pub total: usize,
}

/// An object's code form, database form and effective form.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectLayers {
    pub kind: String,
    pub key: String,
    /// As imported from AOT XML; absent if the object exists only in the database.
    #[schema(value_type = Option<Object>)]
    pub code: Option<serde_json::Value>,
    /// The database customization; absent if none, or if it hides the code object.
    #[schema(value_type = Option<Object>)]
    pub database: Option<serde_json::Value>,
    /// The database layer deletes (hides) the code object.
    pub hidden: bool,
    /// What checks use: the database form if any, else the code form; absent when hidden.
    pub effective: Option<StoredObject>,
}

/// One database-layer row of a security object.
#[derive(Debug, Serialize, ToSchema)]
pub struct Customization {
    pub kind: String,
    pub key: String,
    /// The customization deletes the code object rather than changing it.
    pub hidden: bool,
    /// A code object lies beneath (false: the object was created in the database).
    pub overrides_code: bool,
    /// The revision that last wrote the customization.
    pub revision: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomizationList {
    pub items: Vec<Customization>,
}

/// Names one stored object.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectName {
    /// `role`, `duty`, `privilege`, `entry_point`, ...
    pub kind: String,
    /// As in the object's path: `Clerk`, or `MenuItemDisplay/CustTable` for an entry point.
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveCustomizations {
    /// The customizations to drop; all of them when empty.
    #[serde(default)]
    pub objects: Vec<ObjectName>,
}

/// What `POST /security-config/import` read and wrote.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityConfigImported {
    /// Objects in the file's customized lists.
    pub customized: usize,
    /// Objects in the file's new lists.
    pub new: usize,
    /// Names in the file's disabled sets.
    pub disabled: usize,
    /// Objects and names written into the database layer.
    pub written: usize,
    /// Objects and names the database layer already held exactly so.
    pub unchanged: usize,
    /// Elements kept without being interpreted, what could not be kept, objects whose list export will not reproduce.
    pub warnings: Vec<String>,
    /// References to objects neither in the file nor stored (kept).
    pub unresolved: usize,
    /// Whether anything was committed (no revision and no audit event otherwise).
    pub changed: bool,
    pub revision: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomizationsRemoved {
    pub removed: Vec<ObjectName>,
    pub revision: u64,
}
