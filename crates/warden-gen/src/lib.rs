//! Deterministic synthetic security models of D365 Finance & Operations shape,
//! and request streams to check against them.
//!
//! Benchmarks and differential tests need a model that is big and tangled like a
//! real D365 security configuration (thousands of roles, duties and privileges,
//! sub-roles, org-scoped and time-bound assignments, a few denies) but that
//! anyone can rebuild bit for bit: the same [`Scale`] and seed give the same
//! [`Model`] and the same [`Request`]s on every machine. Everything is drawn from
//! ChaCha8 streams seeded from the seed (one stream per phase, so that changing
//! how one kind of object is drawn does not reshuffle the others) and nothing
//! depends on hash-map iteration order or the wall clock: time windows sit
//! around the fixed [`REFERENCE_INSTANT`].

use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use warden_model::{
    Access, AccessSet, Assignment, Duty, EntryPoint, EntryPointGrant, EntryPointKey, EntryPointType, Grant, Licence,
    Model, Organization, Permission, Privilege, Role, Severity, SodRule, SodSide, Timestamp, User, UserKind,
};

/// 2026-01-01T00:00:00Z: validity windows and request instants are placed
/// around this instant rather than "now", so that a model and its requests mean
/// the same thing whenever they are generated.
pub const REFERENCE_INSTANT: Timestamp = Timestamp(1_767_225_600_000);

/// The AOT model name put on generated roles, duties, privileges and menu items,
/// so that an AOT export writes them as files of one model.
pub const GENERATED_MODEL: &str = "WardenGenerated";

const DAY_MS: i64 = 86_400_000;

/// How big a model to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scale {
    /// A few hundred objects: unit tests and quick agreement runs.
    Small,
    /// The size of a large D365 F&O deployment: 1,000 roles, 60,000 entry
    /// points, 100,000 users.
    D365,
}

impl Scale {
    pub const fn as_str(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::D365 => "d365",
        }
    }

    /// The object counts and proportions of this scale.
    pub fn shape(self) -> Shape {
        match self {
            Scale::D365 => Shape::D365,
            Scale::Small => Shape::SMALL,
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scale name that is neither `small` nor `d365`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownScale(pub String);

impl fmt::Display for UnknownScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown scale {:?}: expected small or d365", self.0)
    }
}

impl std::error::Error for UnknownScale {}

impl FromStr for Scale {
    type Err = UnknownScale;
    /// Case-insensitive, for the command line.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "small" => Ok(Scale::Small),
            "d365" => Ok(Scale::D365),
            _ => Err(UnknownScale(s.to_string())),
        }
    }
}

/// Object counts and proportions. Ranges are inclusive `(min, max)`; shares are
/// probabilities in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub roles: usize,
    pub duties: usize,
    pub privileges: usize,
    pub entry_points: usize,
    pub organizations: usize,
    pub users: usize,
    pub duties_per_role: (usize, usize),
    pub direct_privileges_per_role: (usize, usize),
    /// Share of roles that have sub-roles.
    pub sub_role_share: f64,
    pub sub_roles_per_role: (usize, usize),
    /// Longest sub-role chain, counting the top role (3: a role, its sub-role, and that one's).
    pub max_role_depth: usize,
    pub privileges_per_duty: (usize, usize),
    pub entry_points_per_privilege: (usize, usize),
    /// Share of entry-point grants that deny one access.
    pub deny_share: f64,
    pub assignments_per_user: (usize, usize),
    pub service_account_share: f64,
    pub disabled_share: f64,
    /// Share of assignments scoped to organizations (the rest are global).
    pub scoped_share: f64,
    pub organizations_per_scoped: (usize, usize),
    /// Share of assignments with a validity window.
    pub time_bound_share: f64,
    /// Window ends fall within this many days of [`REFERENCE_INSTANT`].
    pub window_days: i64,
}

impl Shape {
    /// What the benchmark issue calls D365 size.
    pub const D365: Shape = Shape {
        roles: 1_000,
        duties: 5_000,
        privileges: 20_000,
        entry_points: 60_000,
        organizations: 200,
        users: 100_000,
        ..Shape::PROPORTIONS
    };

    /// The same proportions at a size that generates and checks in milliseconds.
    pub const SMALL: Shape = Shape {
        roles: 20,
        duties: 60,
        privileges: 200,
        entry_points: 500,
        organizations: 10,
        users: 200,
        ..Shape::PROPORTIONS
    };

    const PROPORTIONS: Shape = Shape {
        roles: 0,
        duties: 0,
        privileges: 0,
        entry_points: 0,
        organizations: 0,
        users: 0,
        duties_per_role: (12, 18),
        direct_privileges_per_role: (0, 4),
        sub_role_share: 0.2,
        sub_roles_per_role: (1, 2),
        max_role_depth: 3,
        privileges_per_duty: (6, 10),
        entry_points_per_privilege: (1, 3),
        deny_share: 0.05,
        assignments_per_user: (2, 4),
        service_account_share: 0.02,
        disabled_share: 0.01,
        scoped_share: 0.3,
        organizations_per_scoped: (1, 3),
        time_bound_share: 0.1,
        window_days: 180,
    };
}

/// One RNG stream per generation phase, all derived from the one seed.
fn stream(seed: u64, phase: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(phase);
    rng
}

/// `amount` distinct indices below `length`, in ascending order (fewer if `length` is smaller).
fn distinct(rng: &mut ChaCha8Rng, length: usize, range: (usize, usize)) -> Vec<usize> {
    let amount = rng.random_range(range.0..=range.1.max(range.0)).min(length);
    let mut picked = index::sample(rng, length, amount).into_vec();
    picked.sort_unstable();
    picked
}

/// Functional areas: name prefix and the words used in labels.
const AREAS: &[(&str, &str)] = &[
    ("Cust", "Customer"),
    ("Vend", "Vendor"),
    ("Ledger", "General ledger"),
    ("Invent", "Inventory"),
    ("Sales", "Sales"),
    ("Purch", "Purchase"),
    ("Proj", "Project"),
    ("Hcm", "Worker"),
    ("Bank", "Bank"),
    ("Tax", "Tax"),
    ("Asset", "Fixed asset"),
    ("Prod", "Production"),
    ("WHS", "Warehouse"),
    ("TMS", "Transportation"),
    ("Budget", "Budget"),
    ("Cash", "Cash"),
    ("Retail", "Retail"),
    ("Req", "Master planning"),
    ("Cost", "Cost accounting"),
    ("Trv", "Expense"),
];

const DISPLAY_NOUNS: &[(&str, &str)] = &[
    ("Table", "records"),
    ("Trans", "transactions"),
    ("Journal", "journals"),
    ("Parameters", "parameters"),
    ("Group", "groups"),
    ("Posting", "posting profiles"),
    ("Invoice", "invoices"),
    ("Order", "orders"),
    ("Line", "lines"),
    ("Workspace", "workspace"),
    ("ListPage", "list"),
    ("Inquiry", "inquiry"),
];
const ACTION_VERBS: &[(&str, &str)] = &[
    ("Post", "Post"),
    ("Approve", "Approve"),
    ("Release", "Release"),
    ("Cancel", "Cancel"),
    ("Confirm", "Confirm"),
    ("Generate", "Generate"),
    ("Update", "Update"),
    ("Close", "Close"),
    ("Import", "Import"),
    ("Reverse", "Reverse"),
];
const OUTPUT_NOUNS: &[(&str, &str)] = &[
    ("Report", "report"),
    ("Statement", "statement"),
    ("Summary", "summary"),
    ("List", "list"),
    ("Aging", "aging"),
];
const SERVICE_OPERATIONS: &[&str] = &["read", "create", "update", "delete", "find", "getList"];
const ENTITY_NOUNS: &[&str] = &["Entity", "V2Entity", "V3Entity", "StagingEntity"];
const PRIVILEGE_VERBS: &[(&str, &str)] = &[
    ("View", "View"),
    ("Maintain", "Maintain"),
    ("FullControl", "Full control of"),
    ("Generate", "Generate"),
    ("Post", "Post"),
    ("Approve", "Approve"),
    ("Inquire", "Inquire into"),
];
const DUTY_VERBS: &[(&str, &str)] = &[
    ("Maintain", "Maintain"),
    ("Inquire", "Inquire into"),
    ("Approve", "Approve"),
    ("Process", "Process"),
    ("Review", "Review"),
    ("Manage", "Manage"),
    ("Post", "Post"),
    ("Setup", "Set up"),
];
const JOBS: &[(&str, &str)] = &[
    ("AccountsReceivableClerk", "Accounts receivable clerk"),
    ("AccountsPayableClerk", "Accounts payable clerk"),
    ("Accountant", "Accountant"),
    ("AccountingManager", "Accounting manager"),
    ("BuyingAgent", "Buying agent"),
    ("SalesClerk", "Sales clerk"),
    ("WarehouseWorker", "Warehouse worker"),
    ("ProductionSupervisor", "Production supervisor"),
    ("ProjectManager", "Project manager"),
    ("HumanResourceAssistant", "Human resource assistant"),
    ("PayrollAdministrator", "Payroll administrator"),
    ("BudgetManager", "Budget manager"),
    ("CollectionsAgent", "Collections agent"),
    ("TreasuryClerk", "Treasury clerk"),
    ("InventoryManager", "Inventory manager"),
    ("PurchasingManager", "Purchasing manager"),
    ("RetailStoreManager", "Retail store manager"),
    ("ShippingClerk", "Shipping clerk"),
    ("CostAccountant", "Cost accountant"),
    ("ComplianceManager", "Compliance manager"),
];
const COUNTRIES: &[&str] = &[
    "US", "DE", "FR", "GB", "NL", "BE", "DK", "SE", "NO", "FI", "IT", "ES", "PT", "PL", "CZ", "AT", "CH", "CA", "MX",
    "BR", "JP", "CN", "IN", "AU", "SG",
];
const COMPANY_SUFFIXES: &[&str] = &["MF", "RT", "SI", "PM", "CO", "PS", "SV", "HQ"];
const FIRST_NAMES: &[&str] = &[
    "Alex", "Maria", "John", "Yuki", "Priya", "Lars", "Sofia", "Omar", "Chen", "Ana", "Peter", "Fatima", "Lucas", "Emma",
    "Ivan", "Nora",
];
const LAST_NAMES: &[&str] = &[
    "Smith", "Garcia", "Muller", "Tanaka", "Sharma", "Jensen", "Rossi", "Haddad", "Wang", "Silva", "Novak", "Khan",
    "Dubois", "Berg", "Petrov", "Larsen",
];

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Which of the five entry point types, by the mix: 60% display, 30%
/// action, 5% output, 3% service operations, 2% data entities.
fn entry_point_type(rng: &mut ChaCha8Rng) -> EntryPointType {
    match rng.random_range(0..100u32) {
        0..60 => EntryPointType::MenuItemDisplay,
        60..90 => EntryPointType::MenuItemAction,
        90..95 => EntryPointType::MenuItemOutput,
        95..98 => EntryPointType::ServiceOperation,
        _ => EntryPointType::DataEntity,
    }
}

/// A generated entry point and how privileges reference it.
struct GeneratedEntryPoint {
    entry_point: EntryPoint,
    /// `ObjectName` / `ObjectChildName` of a grant on it.
    object: String,
    child: Option<String>,
}

fn entry_point(rng: &mut ChaCha8Rng, i: usize) -> GeneratedEntryPoint {
    let kind = entry_point_type(rng);
    let (area, area_label) = *pick(rng, AREAS);
    let menu_item = |name: String, label: String, object: String, object_type: Option<&str>, view: Licence, maintain: Licence| {
        GeneratedEntryPoint {
            entry_point: EntryPoint {
                kind,
                name: name.clone(),
                label: Some(label),
                help_text: None,
                object: Some(object),
                object_type: object_type.map(str::to_string),
                view_licence: view,
                maintain_licence: maintain,
                model: Some(GENERATED_MODEL.to_string()),
                unmodelled: Vec::new(),
            },
            object: name,
            child: None,
        }
    };
    const VIEW: &[Licence] = &[Licence::Universal, Licence::TeamMembers, Licence::Activity, Licence::Operations];
    const MAINTAIN: &[Licence] =
        &[Licence::Activity, Licence::Operations, Licence::Task, Licence::Functional, Licence::Enterprise, Licence::SelfServe];
    match kind {
        EntryPointType::MenuItemDisplay => {
            let (noun, noun_label) = *pick(rng, DISPLAY_NOUNS);
            let (view, maintain) = (*pick(rng, VIEW), *pick(rng, MAINTAIN));
            menu_item(
                format!("{area}{noun}{i:05}"),
                format!("{area_label} {noun_label} {i}"),
                format!("{area}{noun}"),
                None,
                view,
                maintain,
            )
        }
        EntryPointType::MenuItemAction => {
            let (verb, verb_label) = *pick(rng, ACTION_VERBS);
            let maintain = *pick(rng, MAINTAIN);
            menu_item(
                format!("{area}{verb}{i:05}"),
                format!("{verb_label} {} {i}", area_label.to_lowercase()),
                format!("{area}{verb}Controller"),
                Some("Class"),
                Licence::None,
                maintain,
            )
        }
        EntryPointType::MenuItemOutput => {
            let (noun, noun_label) = *pick(rng, OUTPUT_NOUNS);
            let view = *pick(rng, VIEW);
            menu_item(
                format!("{area}{noun}{i:05}"),
                format!("{area_label} {noun_label} {i}"),
                format!("{area}{noun}"),
                Some("SSRSReport"),
                view,
                Licence::None,
            )
        }
        EntryPointType::ServiceOperation => {
            let service = format!("{area}Service{i:05}");
            let operation = (*pick(rng, SERVICE_OPERATIONS)).to_string();
            let key = EntryPointKey::new(kind, format!("{service}.{operation}"));
            GeneratedEntryPoint { entry_point: EntryPoint::referenced(&key), object: service, child: Some(operation) }
        }
        EntryPointType::DataEntity => {
            let name = format!("{area}{}{i:05}", pick(rng, ENTITY_NOUNS));
            let key = EntryPointKey::new(kind, name.clone());
            GeneratedEntryPoint { entry_point: EntryPoint::referenced(&key), object: name, child: None }
        }
    }
}

/// The accesses a grant allows. Read is the most common; actions and service
/// operations mostly invoke.
fn allowed_accesses(rng: &mut ChaCha8Rng, kind: EntryPointType) -> AccessSet {
    use Access::*;
    let set = |accesses: &[Access]| {
        let mut s = AccessSet::EMPTY;
        for a in accesses {
            s.insert(*a);
        }
        s
    };
    let invoking = matches!(kind, EntryPointType::MenuItemAction | EntryPointType::ServiceOperation);
    let roll = rng.random_range(0..100u32);
    let fixed = if invoking {
        match roll {
            0..45 => Some(set(&[Invoke])),
            45..75 => Some(set(&[Read])),
            75..90 => Some(set(&[Read, Invoke])),
            _ => None,
        }
    } else {
        match roll {
            0..45 => Some(set(&[Read])),
            45..60 => Some(set(&[Read, Update])),
            60..70 => Some(set(&[Read, Update, Create])),
            70..82 => Some(set(&[Read, Update, Create, Correct, Delete])),
            82..88 => Some(AccessSet::ALL),
            _ => None,
        }
    };
    // The rest: any non-empty subset of the six.
    fixed.unwrap_or_else(|| AccessSet(rng.random_range(1..=AccessSet::ALL.0)))
}

fn organization_id(i: usize) -> String {
    let country = COUNTRIES[i % COUNTRIES.len()];
    match COMPANY_SUFFIXES.get(i / COUNTRIES.len()) {
        Some(suffix) => format!("{country}{suffix}"),
        None => format!("{country}{:02}", i / COUNTRIES.len() - COMPANY_SUFFIXES.len()),
    }
}

/// Generates the model of `scale` from `seed`. Same arguments, same model, on every machine.
///
/// The result passes [`Model::validate`] with no findings at all: every
/// reference resolves, names are unique (case-insensitively), sub-roles form no
/// cycle (a role only names roles generated before it, at most
/// [`Shape::max_role_depth`] deep), no user has a role twice, and every window is non-empty.
pub fn generate(scale: Scale, seed: u64) -> Model {
    generate_shape(&scale.shape(), seed)
}

/// [`generate`] for any shape, e.g. a scaled-down variant in a test.
pub fn generate_shape(shape: &Shape, seed: u64) -> Model {
    let mut model = Model::default();

    // Entry points.
    let mut rng = stream(seed, 1);
    let eps: Vec<GeneratedEntryPoint> = (0..shape.entry_points).map(|i| entry_point(&mut rng, i)).collect();

    // Privileges: 1–3 entry points each, mostly Read, 5% with one Deny.
    let mut rng = stream(seed, 2);
    let mut privilege_names = Vec::with_capacity(shape.privileges);
    for i in 0..shape.privileges {
        let (area, area_label) = *pick(&mut rng, AREAS);
        let (verb, verb_label) = *pick(&mut rng, PRIVILEGE_VERBS);
        let name = format!("{area}{verb}{i:05}");
        let mut grants = Vec::new();
        for e in distinct(&mut rng, eps.len(), shape.entry_points_per_privilege) {
            let ep = &eps[e];
            let mut grant = Grant { allow: allowed_accesses(&mut rng, ep.entry_point.kind), deny: AccessSet::EMPTY };
            if rng.random_bool(shape.deny_share) {
                let denied = Access::ALL[rng.random_range(0..Access::ALL.len())];
                grant.set(denied, Some(Permission::Deny));
            }
            grants.push(EntryPointGrant {
                name: ep.entry_point.name.clone(),
                kind: ep.entry_point.kind,
                object: ep.object.clone(),
                child: ep.child.clone(),
                grant,
                unmodelled: Vec::new(),
            });
        }
        privilege_names.push(name.clone());
        model.privileges.insert(
            name.clone(),
            Privilege {
                name,
                label: Some(format!("{verb_label} {} {i}", area_label.to_lowercase())),
                description: None,
                model: Some(GENERATED_MODEL.to_string()),
                entry_points: grants,
                direct_access: Vec::new(),
                unmodelled: Vec::new(),
            },
        );
    }
    for ep in eps {
        model.entry_points.insert(ep.entry_point.key(), ep.entry_point);
    }

    // Duties: 6–10 privileges each.
    let mut rng = stream(seed, 3);
    let mut duty_names = Vec::with_capacity(shape.duties);
    for i in 0..shape.duties {
        let (area, area_label) = *pick(&mut rng, AREAS);
        let (verb, verb_label) = *pick(&mut rng, DUTY_VERBS);
        let name = format!("{area}{verb}Duty{i:04}");
        let privileges =
            distinct(&mut rng, privilege_names.len(), shape.privileges_per_duty).into_iter().map(|p| privilege_names[p].clone()).collect();
        duty_names.push(name.clone());
        model.duties.insert(
            name.clone(),
            Duty {
                name,
                label: Some(format!("{verb_label} {} {i}", area_label.to_lowercase())),
                description: None,
                model: Some(GENERATED_MODEL.to_string()),
                privileges,
                unmodelled: Vec::new(),
            },
        );
    }

    // Roles: 12–18 duties, 0–4 direct privileges, 20% with 1–2 sub-roles generated
    // earlier and shallow enough that no chain gets deeper than max_role_depth.
    let mut rng = stream(seed, 4);
    let mut role_names: Vec<String> = Vec::with_capacity(shape.roles);
    let mut depth: Vec<usize> = Vec::with_capacity(shape.roles);
    for i in 0..shape.roles {
        let (job, job_label) = *pick(&mut rng, JOBS);
        let name = format!("{job}{i:04}");
        let mut role = Role::new(name.clone());
        role.label = Some(format!("{job_label} {i}"));
        role.description = Some(format!("Generated {} role number {i}.", job_label.to_lowercase()));
        role.model = Some(GENERATED_MODEL.to_string());
        role.duties = distinct(&mut rng, duty_names.len(), shape.duties_per_role).into_iter().map(|d| duty_names[d].clone()).collect();
        role.privileges = distinct(&mut rng, privilege_names.len(), shape.direct_privileges_per_role)
            .into_iter()
            .map(|p| privilege_names[p].clone())
            .collect();
        let mut my_depth = 1;
        if i > 0 && rng.random_bool(shape.sub_role_share) {
            let wanted = rng.random_range(shape.sub_roles_per_role.0..=shape.sub_roles_per_role.1.max(shape.sub_roles_per_role.0));
            let mut subs = BTreeSet::new();
            // Rejection sampling: most earlier roles are shallow, so this rarely retries.
            for _ in 0..wanted * 20 {
                if subs.len() == wanted {
                    break;
                }
                let j = rng.random_range(0..i);
                if depth[j] < shape.max_role_depth {
                    subs.insert(j);
                }
            }
            for &j in &subs {
                my_depth = my_depth.max(depth[j] + 1);
            }
            role.sub_roles = subs.into_iter().map(|j| role_names[j].clone()).collect();
        }
        depth.push(my_depth);
        role_names.push(name);
        model.roles.insert(role.name.clone(), role);
    }

    // Organizations.
    let org_ids: Vec<String> = (0..shape.organizations).map(organization_id).collect();
    for id in &org_ids {
        model.organizations.insert(id.clone(), Organization { id: id.clone(), name: Some(format!("Contoso {id}")) });
    }

    // Users and their assignments.
    let mut rng = stream(seed, 5);
    for i in 0..shape.users {
        let service = rng.random_bool(shape.service_account_share);
        let enabled = !rng.random_bool(shape.disabled_share);
        let user = if service {
            User {
                id: format!("svc{i:06}"),
                name: Some(format!("Integration service {i}")),
                kind: UserKind::ServiceAccount,
                enabled,
                email: None,
                attributes: Default::default(),
            }
        } else {
            let (first, last) = (*pick(&mut rng, FIRST_NAMES), *pick(&mut rng, LAST_NAMES));
            let id = format!("usr{i:06}");
            User {
                email: Some(format!("{}.{}{i}@contoso.example", first.to_lowercase(), last.to_lowercase())),
                id,
                name: Some(format!("{first} {last}")),
                kind: UserKind::Person,
                enabled,
                attributes: Default::default(),
            }
        };
        for r in distinct(&mut rng, role_names.len(), shape.assignments_per_user) {
            let mut a = Assignment::global(user.id.clone(), role_names[r].clone());
            if rng.random_bool(shape.scoped_share) {
                a.organizations =
                    distinct(&mut rng, org_ids.len(), shape.organizations_per_scoped).into_iter().map(|o| org_ids[o].clone()).collect();
            }
            if rng.random_bool(shape.time_bound_share) {
                let span = shape.window_days.max(1) * DAY_MS;
                // Whole seconds, as an administrator would enter them.
                let around = |rng: &mut ChaCha8Rng| REFERENCE_INSTANT.0 + rng.random_range(-span / 1000..=span / 1000) * 1000;
                match rng.random_range(0..3u32) {
                    0 => a.valid_from = Some(Timestamp(around(&mut rng))),
                    1 => a.valid_to = Some(Timestamp(around(&mut rng))),
                    _ => {
                        let from = around(&mut rng);
                        let length = rng.random_range(1..=span / 1000) * 1000;
                        a.valid_from = Some(Timestamp(from));
                        a.valid_to = Some(Timestamp(from + length));
                    }
                }
            }
            model.assignments.push(a);
        }
        model.users.insert(user.id.clone(), user);
    }
    model
}

/// One access check: may `user` use `access` on `entry_point` in `org` at `at`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub user: String,
    pub entry_point: EntryPointKey,
    pub access: Access,
    /// `None`: a check outside any organization (only global assignments count).
    pub org: Option<String>,
    pub at: Timestamp,
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "user={} entry_point={} access={} org={} at={}",
            self.user,
            self.entry_point,
            self.access,
            self.org.as_deref().unwrap_or("-"),
            self.at
        )
    }
}

/// Everything [`requests`] draws from, indexed once so that a million requests take a second.
struct Pools<'a> {
    users: Vec<&'a str>,
    /// Per user (same index), its assignments.
    assignments: Vec<&'a [Assignment]>,
    entry_points: Vec<&'a EntryPointKey>,
    orgs: Vec<&'a str>,
    /// Per role name: every (entry point index, allowed accesses) it reaches
    /// through its duties, privileges and sub-roles.
    reach: HashMap<&'a str, Vec<(u32, AccessSet)>>,
}

impl<'a> Pools<'a> {
    fn new(model: &'a Model) -> Pools<'a> {
        let entry_points: Vec<&EntryPointKey> = model.entry_points.keys().collect();
        let ep_index: HashMap<&EntryPointKey, u32> = entry_points.iter().enumerate().map(|(i, k)| (*k, i as u32)).collect();
        // Each privilege's grants as (entry point index, allow), grants on unknown entry points dropped.
        let privilege_grants: HashMap<&str, Vec<(u32, AccessSet)>> = model
            .privileges
            .values()
            .map(|p| {
                let grants = p
                    .entry_points
                    .iter()
                    .filter_map(|g| ep_index.get(&g.key()).map(|&e| (e, g.grant.allow)))
                    .collect();
                (p.name.as_str(), grants)
            })
            .collect();
        let mut reach = HashMap::with_capacity(model.roles.len());
        for role in model.roles.values() {
            // Depth-first over sub-roles, each role once (cycles in a hand-made model are cut).
            let mut list = Vec::new();
            let mut seen = BTreeSet::new();
            let mut stack = vec![role];
            while let Some(r) = stack.pop() {
                if !seen.insert(r.name.as_str()) {
                    continue;
                }
                let mut privileges: Vec<&str> = model.role_privileges(r).collect();
                for d in model.role_duties(r) {
                    if let Some(duty) = model.duties.get(d) {
                        privileges.extend(model.duty_privileges(duty));
                    }
                }
                for p in privileges {
                    if let Some(grants) = privilege_grants.get(p) {
                        list.extend_from_slice(grants);
                    }
                }
                stack.extend(model.role_sub_roles(r).filter_map(|s| model.roles.get(s)));
            }
            reach.insert(role.name.as_str(), list);
        }
        let users: Vec<&str> = model.users.keys().map(String::as_str).collect();
        let assignments = users.iter().map(|u| model.assignments_of(u)).collect();
        Pools { users, assignments, entry_points, orgs: model.organizations.keys().map(String::as_str).collect(), reach }
    }

    fn random_org(&self, rng: &mut ChaCha8Rng) -> Option<String> {
        if self.orgs.is_empty() { None } else { Some(self.orgs[rng.random_range(0..self.orgs.len())].to_string()) }
    }

    fn random_instant(rng: &mut ChaCha8Rng) -> Timestamp {
        Timestamp(REFERENCE_INSTANT.0 + rng.random_range(-REQUEST_SPAN_MS..=REQUEST_SPAN_MS))
    }

    /// Uniform: any user, any entry point, any access, no org or any org, any instant.
    fn uniform(&self, rng: &mut ChaCha8Rng) -> Request {
        let user = self.users[rng.random_range(0..self.users.len())].to_string();
        let entry_point = self.entry_points[rng.random_range(0..self.entry_points.len())].clone();
        let access = Access::ALL[rng.random_range(0..Access::ALL.len())];
        let org = if rng.random_bool(0.5) { None } else { self.random_org(rng) };
        Request { user, entry_point, access, org, at: Pools::random_instant(rng) }
    }

    /// Aimed: an entry point and access that one of the user's assigned roles
    /// grants, in that assignment's scope and (mostly) inside its window, with
    /// the window's own edges drawn now and then. `None` when the draw finds nothing to aim at.
    fn aimed(&self, rng: &mut ChaCha8Rng) -> Option<Request> {
        let u = rng.random_range(0..self.users.len());
        let assignments = self.assignments[u];
        if assignments.is_empty() {
            return None;
        }
        let a = &assignments[rng.random_range(0..assignments.len())];
        let reach = self.reach.get(a.role.as_str()).filter(|r| !r.is_empty())?;
        let (e, allow) = reach[rng.random_range(0..reach.len())];
        let access = if allow.is_empty() {
            Access::ALL[rng.random_range(0..Access::ALL.len())]
        } else {
            let allowed: Vec<Access> = allow.iter().collect();
            allowed[rng.random_range(0..allowed.len())]
        };
        let org = if a.organizations.is_empty() {
            if rng.random_bool(0.5) { None } else { self.random_org(rng) }
        } else if rng.random_bool(0.9) {
            Some(a.organizations[rng.random_range(0..a.organizations.len())].clone())
        } else {
            self.random_org(rng)
        };
        let at = if a.valid_from.is_none() && a.valid_to.is_none() {
            Pools::random_instant(rng)
        } else {
            match rng.random_range(0..10u32) {
                // The edges: from is inside the window, to is not.
                0 => a.valid_from.or(a.valid_to).unwrap_or(REFERENCE_INSTANT),
                1 => a.valid_to.or(a.valid_from).unwrap_or(REFERENCE_INSTANT),
                2..=8 => {
                    let lo = a.valid_from.map_or(REFERENCE_INSTANT.0 - REQUEST_SPAN_MS, |t| t.0);
                    let hi = a.valid_to.map_or(REFERENCE_INSTANT.0 + REQUEST_SPAN_MS, |t| t.0);
                    if lo < hi { Timestamp(rng.random_range(lo..hi)) } else { Pools::random_instant(rng) }
                }
                _ => Pools::random_instant(rng),
            }
        };
        Some(Request {
            user: self.users[u].to_string(),
            entry_point: self.entry_points[e as usize].clone(),
            access,
            org,
            at,
        })
    }
}

/// Request instants fall within this many milliseconds (200 days) of [`REFERENCE_INSTANT`].
const REQUEST_SPAN_MS: i64 = 200 * DAY_MS;

/// `count` requests against `model`, the same for the same model and seed.
///
/// Half are uniform random (almost all denied); half are aimed at something one
/// of the user's assignments grants, in its organization and window, so that
/// about 40% of the stream is allowed and both outcomes exercise the whole
/// check path. Empty when the model has no users or no entry points.
pub fn requests(model: &Model, count: usize, seed: u64) -> Vec<Request> {
    let pools = Pools::new(model);
    if pools.users.is_empty() || pools.entry_points.is_empty() {
        return Vec::new();
    }
    let mut rng = stream(seed, 6);
    (0..count)
        .map(|_| {
            if rng.random_bool(0.5)
                && let Some(r) = pools.aimed(&mut rng)
            {
                return r;
            }
            pools.uniform(&mut rng)
        })
        .collect()
}

/// Share of duty-pair rules drawn from two duties one role holds (that role,
/// and every role above it, then breaks the rule by itself).
const SOD_SAME_ROLE_SHARE: f64 = 0.01;
/// Share of duty-pair rules drawn from two roles one user holds (a duty of each).
const SOD_SAME_USER_SHARE: f64 = 0.05;
/// Share of entry-point rules drawn from two accesses one role allows.
const SOD_EP_SAME_ROLE_SHARE: f64 = 0.02;
/// Share of rules that are entry-point rules (the rest are duty pairs).
const SOD_ENTRY_POINT_SHARE: f64 = 0.2;
/// Share of rules switched off (D365 rules can be disabled).
const SOD_DISABLED_SHARE: f64 = 0.02;

/// Every duty a role holds, through its sub-roles and extensions too, sorted.
fn duty_closure<'a>(model: &'a Model, role: &'a str) -> Vec<&'a str> {
    let (mut roles, mut duties) = (BTreeSet::new(), BTreeSet::new());
    let mut stack = vec![role];
    while let Some(name) = stack.pop() {
        if !roles.insert(name) {
            continue;
        }
        let Some(r) = model.roles.get(name) else { continue };
        duties.extend(model.role_duties(r).filter(|d| model.duties.contains_key(*d)));
        stack.extend(model.role_sub_roles(r));
    }
    duties.into_iter().collect()
}

/// Every (entry point, access) a role's privileges allow, sub-roles included, sorted.
fn allowed_closure(model: &Model, role: &str) -> Vec<(EntryPointKey, Access)> {
    let (mut roles, mut out) = (BTreeSet::new(), BTreeSet::new());
    let mut stack = vec![role];
    while let Some(name) = stack.pop() {
        if !roles.insert(name) {
            continue;
        }
        let Some(r) = model.roles.get(name) else { continue };
        let via_duties = model.role_duties(r).filter_map(|d| model.duties.get(d)).flat_map(|d| model.duty_privileges(d));
        for p in model.role_privileges(r).chain(via_duties).filter_map(|p| model.privileges.get(p)) {
            for g in &p.entry_points {
                let key = g.key();
                if model.entry_points.contains_key(&key) {
                    out.extend(g.grant.allow.iter().map(|a| (key.clone(), a)));
                }
            }
        }
        stack.extend(model.role_sub_roles(r));
    }
    out.into_iter().collect()
}

/// `count` segregation-of-duties rules over `model`'s duties and entry points,
/// the same for the same model, count and seed, named `SOD0001`, `SOD0002`, ...
///
/// About 80% oppose two duties, 20% two accesses on entry points (an access
/// some privilege actually allows). Most pairs are drawn at random, which
/// almost nobody holds both of; a few are drawn from what one role holds
/// (the role breaks the rule by itself) or from two roles one user holds, so
/// that a realistic minority of roles and users is in conflict. Severities
/// are spread (10% critical, 30% high, 40% medium, 20% low); 2% of the rules
/// are disabled; none has a validity window. The two sides always differ and
/// no unordered pair appears twice (fewer rules come back only when the model
/// has too few duties or entry points to make `count` distinct pairs).
pub fn sod_rules(model: &Model, count: usize, seed: u64) -> Vec<SodRule> {
    let mut rng = stream(seed, 7);
    let duties: Vec<&str> = model.duties.keys().map(String::as_str).collect();
    let roles: Vec<&str> = model.roles.keys().map(String::as_str).collect();
    let users_with_two: Vec<&str> =
        model.users.keys().map(String::as_str).filter(|u| model.assignments_of(u).len() >= 2).collect();
    // Every (privilege, grant) on a known entry point that allows something: entry-point sides are drawn from these.
    let grants: Vec<(&EntryPointKey, AccessSet)> = model
        .privileges
        .values()
        .flat_map(|p| p.entry_points.iter())
        .filter(|g| !g.grant.allow.is_empty())
        .filter_map(|g| model.entry_points.get_key_value(&g.key()).map(|(k, _)| (k, g.grant.allow)))
        .collect();
    let random_access = |rng: &mut ChaCha8Rng, allow: AccessSet| {
        let accesses: Vec<Access> = allow.iter().collect();
        accesses[rng.random_range(0..accesses.len())]
    };
    let duty_side = |d: &str| SodSide::Duty { duty: d.to_string() };
    let ep_side = |(entry_point, access): (EntryPointKey, Access)| SodSide::EntryPoint { entry_point, access };

    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut out = Vec::with_capacity(count);
    // Bounded: a model too small for `count` distinct pairs returns what it has.
    let mut attempts = 0usize;
    while out.len() < count && attempts < count.saturating_mul(50) + 1_000 {
        attempts += 1;
        let entry_point_rule = !grants.is_empty() && (duties.len() < 2 || rng.random_bool(SOD_ENTRY_POINT_SHARE));
        let pair: Option<(SodSide, SodSide)> = if entry_point_rule {
            if rng.random_bool(SOD_EP_SAME_ROLE_SHARE) && !roles.is_empty() {
                let allowed = allowed_closure(model, roles[rng.random_range(0..roles.len())]);
                (allowed.len() >= 2).then(|| {
                    let two = index::sample(&mut rng, allowed.len(), 2);
                    (ep_side(allowed[two.index(0)].clone()), ep_side(allowed[two.index(1)].clone()))
                })
            } else {
                let side = |rng: &mut ChaCha8Rng| {
                    let (key, allow) = grants[rng.random_range(0..grants.len())];
                    (key.clone(), random_access(rng, allow))
                };
                let (a, b) = (side(&mut rng), side(&mut rng));
                Some((ep_side(a), ep_side(b)))
            }
        } else if duties.len() >= 2 {
            let roll = rng.random_range(0.0..1.0);
            if roll < SOD_SAME_ROLE_SHARE && !roles.is_empty() {
                let held = duty_closure(model, roles[rng.random_range(0..roles.len())]);
                (held.len() >= 2).then(|| {
                    let two = index::sample(&mut rng, held.len(), 2);
                    (duty_side(held[two.index(0)]), duty_side(held[two.index(1)]))
                })
            } else if roll < SOD_SAME_ROLE_SHARE + SOD_SAME_USER_SHARE && !users_with_two.is_empty() {
                let assignments = model.assignments_of(users_with_two[rng.random_range(0..users_with_two.len())]);
                let two = index::sample(&mut rng, assignments.len(), 2);
                let a = duty_closure(model, &assignments[two.index(0)].role);
                let b = duty_closure(model, &assignments[two.index(1)].role);
                (!a.is_empty() && !b.is_empty())
                    .then(|| (duty_side(a[rng.random_range(0..a.len())]), duty_side(b[rng.random_range(0..b.len())])))
            } else {
                let two = index::sample(&mut rng, duties.len(), 2);
                Some((duty_side(duties[two.index(0)]), duty_side(duties[two.index(1)])))
            }
        } else {
            None
        };
        let Some((first, second)) = pair else { continue };
        if first == second {
            continue;
        }
        let (x, y) = (first.to_string(), second.to_string());
        let key = if x < y { (x, y) } else { (y, x) };
        if !seen.insert(key) {
            continue;
        }
        let severity = match rng.random_range(0..10u32) {
            0 => Severity::Critical,
            1..=3 => Severity::High,
            4..=7 => Severity::Medium,
            _ => Severity::Low,
        };
        let number = out.len() + 1;
        out.push(SodRule {
            name: format!("SOD{number:04}"),
            risk: Some(format!("Holding both {first} and {second} lets one person start and finish the same transaction.")),
            mitigation: (severity <= Severity::Medium).then(|| "Monthly review of the transactions by a second person.".to_string()),
            first,
            second,
            severity,
            valid_from: None,
            valid_to: None,
            enabled: !rng.random_bool(SOD_DISABLED_SHARE),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_model_is_valid_and_deterministic() {
        let model = generate(Scale::Small, 7);
        assert!(model.validate().is_empty(), "{:?}", model.validate());
        assert_eq!(model, generate(Scale::Small, 7));
        assert_ne!(model, generate(Scale::Small, 8));
        let shape = Scale::Small.shape();
        assert_eq!(model.roles.len(), shape.roles);
        assert_eq!(model.duties.len(), shape.duties);
        assert_eq!(model.privileges.len(), shape.privileges);
        assert_eq!(model.entry_points.len(), shape.entry_points);
        assert_eq!(model.organizations.len(), shape.organizations);
        assert_eq!(model.users.len(), shape.users);
    }

    #[test]
    fn requests_are_deterministic_and_name_known_objects() {
        let model = generate(Scale::Small, 1);
        let a = requests(&model, 2_000, 3);
        assert_eq!(a, requests(&model, 2_000, 3));
        assert_eq!(a.len(), 2_000);
        for r in &a {
            assert!(model.users.contains_key(&r.user));
            assert!(model.entry_points.contains_key(&r.entry_point));
            assert!(r.org.as_ref().is_none_or(|o| model.organizations.contains_key(o)));
        }
    }

    #[test]
    fn requests_on_an_empty_model_are_empty() {
        assert!(requests(&Model::default(), 10, 1).is_empty());
    }

    #[test]
    fn sod_rules_are_deterministic_and_name_known_sides() {
        let model = generate(Scale::Small, 5);
        let rules = sod_rules(&model, 60, 9);
        assert_eq!(rules, sod_rules(&model, 60, 9));
        assert_ne!(rules, sod_rules(&model, 60, 10));
        assert_eq!(rules.len(), 60);
        assert_eq!(rules[0].name, "SOD0001");
        assert_eq!(rules[59].name, "SOD0060");
        let pairs: BTreeSet<(String, String)> = rules
            .iter()
            .map(|r| {
                let (a, b) = (r.first.to_string(), r.second.to_string());
                if a < b { (a, b) } else { (b, a) }
            })
            .collect();
        assert_eq!(pairs.len(), rules.len(), "no pair twice");
        let entry_point_rules = rules.iter().filter(|r| matches!(r.first, SodSide::EntryPoint { .. })).count();
        assert!((3..=25).contains(&entry_point_rules), "{entry_point_rules} entry-point rules of 60");
        for r in &rules {
            assert_ne!(r.first, r.second);
            for side in [&r.first, &r.second] {
                match side {
                    SodSide::Duty { duty } => assert!(model.duties.contains_key(duty), "{duty}"),
                    SodSide::EntryPoint { entry_point, access } => {
                        assert!(model.entry_points.contains_key(entry_point), "{entry_point}");
                        let allowed = model.privileges.values().flat_map(|p| &p.entry_points).any(|g| g.key() == *entry_point && g.grant.allow.contains(*access));
                        assert!(allowed, "no privilege allows {access} on {entry_point}");
                    }
                }
            }
        }
        let mut with_rules = model.clone();
        with_rules.sod_rules = rules.into_iter().map(|r| (r.name.clone(), r)).collect();
        assert_eq!(with_rules.validate(), model.validate());
        assert!(with_rules.validate().is_empty(), "{:?}", with_rules.validate());
    }

    #[test]
    fn sod_rules_on_an_empty_model_are_empty() {
        assert!(sod_rules(&Model::default(), 10, 1).is_empty());
    }

    #[test]
    fn scale_parses() {
        assert_eq!("D365".parse::<Scale>(), Ok(Scale::D365));
        assert_eq!("small".parse::<Scale>(), Ok(Scale::Small));
        assert!("huge".parse::<Scale>().is_err());
    }

    #[test]
    fn organization_ids_are_four_characters_and_unique() {
        let ids: BTreeSet<String> = (0..400).map(organization_id).collect();
        assert_eq!(ids.len(), 400);
        assert!(ids.iter().all(|i| i.len() == 4));
        assert_eq!(organization_id(0), "USMF");
    }
}
