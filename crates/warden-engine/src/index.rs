//! The compiled index and the hot check path.
//!
//! Layout, chosen for a random request stream, where a check costs what its
//! cache misses cost (see ARCHITECTURE.md, "Engine layout"):
//! - per user, a 16-byte slot with the role ids of up to four assignments and
//!   each one's term as a one-byte code: always-global, one organization, or
//!   a reference to a time-bound or multi-organization term, read only when
//!   its role sets the requested permission; users with more overflow;
//! - per entry point, its grant row (`rows.rs`), which the entry point id
//!   itself locates, so that an entry point no role touches is denied
//!   without a read.
//!
//! A check starts with independent loads (the user's slot, the row's lines)
//! that the CPU fetches in parallel, and in the common case has no branch on
//! what they hold, so consecutive checks overlap their misses. Its cost
//! depends on the user's assignment count and on how many roles touch the
//! entry point, never on the size of the model.

use crate::names::Names;
use crate::chunked::Chunked;
use crate::rows::{GrantRows, Row, ROLE_SHIFT};
use crate::Decision;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;
use warden_model::{Access, Assignment, EntryPointKey, Model, Timestamp, MAX_ROLES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryPointId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrgId(pub u32);

/// An org id that no scoped assignment contains: a check in an organization the
/// model does not know still counts global assignments, as the semantics say.
pub(crate) const UNKNOWN_ORG: OrgId = OrgId(u32::MAX);

/// An assignment's term, next to its role: [`ALWAYS_GLOBAL`]; or, with
/// [`TERM_EXTENDED`] set, an index in `Index::terms`; or else the one
/// organization it is scoped to, valid at all times (org ids stay below 2^31).
const ALWAYS_GLOBAL: u32 = u32::MAX - 1;
const TERM_EXTENDED: u32 = 1 << 31;
/// [`Term::orgs`] of a global assignment.
const GLOBAL: u32 = u32::MAX;

/// An unused place in a slot: matches no role.
const EMPTY: u32 = u32::MAX;

/// A user's assignments in 16 bytes, so that a check reads one line per user
/// and all users' slots stay small enough for the CPU caches: up to four role
/// ids, and each one's term as a one-byte code at the same position (see
/// [`code_term`]); or, with [`CODE_OVERFLOW`] first, a reference to
/// `more_roles`/`more_terms` at `base`, of length `roles[0] | roles[1] << 16`.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(16))]
struct UserSlot {
    roles: [u16; 4],
    codes: [u8; 4],
    base: u32,
}

/// The slot of a user without roles (and the fill of unused places).
const NO_ROLES: UserSlot = UserSlot { roles: [u16::MAX; 4], codes: [CODE_EMPTY; 4], base: 0 };

/// Term codes in a [`UserSlot`]: below [`SMALL_ORGS`], the one organization
/// the assignment is scoped to, valid at all times; `CODE_EXTENDED + k`, the
/// user's `k`-th entry in `Index::terms` from `base`.
const CODE_EMPTY: u8 = 0xFF;
const CODE_GLOBAL: u8 = 0xFE;
const CODE_OVERFLOW: u8 = 0xFD;
const CODE_EXTENDED: u8 = 0xF0;
/// Organizations whose id fits in a code; an assignment scoped to another one
/// alone gets an entry in `Index::terms`.
const SMALL_ORGS: u32 = CODE_EXTENDED as u32;
/// The largest role id a slot holds; a user with a role beyond overflows.
const SLOT_ROLES: u32 = u16::MAX as u32;

/// Validity window and scope of an assignment that is time-bound or scoped to
/// several organizations, in one 32-byte slot: up to four organizations
/// inline, so that a check reads one line for it.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Term {
    /// `[from, to)` in milliseconds.
    from: i64,
    to: i64,
    /// `[GLOBAL, ..]`; or up to four org ids, [`EMPTY`]-padded; or, with
    /// [`SCOPE_OVERFLOW`] in the first, the offset in `Index::scopes` and the
    /// count in the second.
    orgs: [u32; 4],
}

/// See [`Term::orgs`]. Org ids stay below 2^31.
const SCOPE_OVERFLOW: u32 = 1 << 31;

/// Sizes, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    pub users: usize,
    pub roles: usize,
    pub entry_points: usize,
    pub assignments: usize,
    pub role_grants: usize,
    /// Everything the index holds.
    pub bytes: usize,
    /// The part that checks by id read: user slots, grant rows and terms
    /// (what must stay in the CPU caches for checks to be fast).
    pub check_bytes: usize,
}

/// An immutable, compiled snapshot of a model, answering checks by id.
///
/// Every table sits behind an `Arc`, so that a new revision that changes a
/// few users ([`Index::with_users`]) copies only the tables it patches and
/// shares the rest (grant rows, names) with the revision it came from.
#[derive(Debug, Clone)]
pub struct Index {
    user_ids: Arc<Names>,
    org_ids: Arc<Names>,
    /// Tagged with the entry point type.
    ep_ids: Arc<Names>,
    /// Role names to the ids grant rows and user slots hold.
    role_ids: Arc<Names>,
    role_count: usize,
    grant_count: usize,
    assignment_count: usize,
    /// By user id: assigned roles and their terms. Disabled users have none.
    /// In chunks, so that a write patching a few users copies a few chunks.
    users: Chunked<UserSlot>,
    more_roles: Arc<[u32]>,
    more_terms: Arc<[u32]>,
    terms: Arc<[Term]>,
    scopes: Arc<[u32]>,
    /// Side-table entries left behind by patched users, until the next build.
    garbage: usize,
    /// Grant rows, addressed by [`EntryPointId`].
    grants: Arc<GrantRows>,
    /// Places in `grants` held by rows that patched roles replaced, until the next build.
    grant_garbage: usize,
    /// By the entry point's number in `ep_ids`: its row handle, the id callers get.
    ep_handles: Arc<[u32]>,
}

/// The tables a user's slot points into, while they are being written: what
/// is appended after `base_*` entries that already exist (none for a build;
/// the shared tables of the index being patched, which are copied only when
/// a patched user needs entries in them).
#[derive(Default)]
struct UserTables {
    more_roles: Vec<u32>,
    more_terms: Vec<u32>,
    terms: Vec<Term>,
    scopes: Vec<u32>,
    base_more: usize,
    base_terms: usize,
    base_scopes: usize,
}

/// `old` followed by `new`, sharing `old` when there is nothing new.
fn appended<T: Copy>(old: &Arc<[T]>, new: Vec<T>) -> Arc<[T]> {
    if new.is_empty() {
        return old.clone();
    }
    let mut all = Vec::with_capacity(old.len() + new.len());
    all.extend_from_slice(old);
    all.extend(new);
    all.into()
}

impl UserTables {
    /// Compiles one user's assignments into a slot, appending to the side
    /// tables what does not fit in it; returns the slot and its assignment count.
    fn fill(&mut self, assignments: &[Assignment], role_ids: &Names, org_ids: &mut Names) -> (UserSlot, usize) {
        let mut roles_of_user = Vec::new();
        let mut terms_of_user = Vec::new();
        for a in assignments {
            let Some(role) = role_ids.get(0, &a.role) else { continue };
            if role as usize >= MAX_ROLES {
                continue;
            }
            let mut org_id = |o: &String| org_ids.insert(0, o);
            let always = a.valid_from.is_none() && a.valid_to.is_none();
            let single = match a.organizations.as_slice() {
                [one] if always => Some(org_id(one)).filter(|&id| id < SMALL_ORGS),
                _ => None,
            };
            let term = if always && a.organizations.is_empty() {
                ALWAYS_GLOBAL
            } else if let Some(id) = single {
                id
            } else {
                let mut orgs = [EMPTY; 4];
                if a.organizations.is_empty() {
                    orgs[0] = GLOBAL;
                } else if a.organizations.len() <= orgs.len() {
                    for (slot, o) in orgs.iter_mut().zip(&a.organizations) {
                        *slot = org_id(o);
                    }
                } else {
                    let at = u32::try_from(self.base_scopes + self.scopes.len()).ok().filter(|&at| at < SCOPE_OVERFLOW).expect("fewer than 2^31 scoped organizations");
                    orgs[0] = at | SCOPE_OVERFLOW;
                    orgs[1] = a.organizations.len() as u32;
                    self.scopes.extend(a.organizations.iter().map(&mut org_id));
                }
                self.terms.push(Term { from: a.valid_from.map_or(i64::MIN, |t| t.0), to: a.valid_to.map_or(i64::MAX, |t| t.0), orgs });
                (self.base_terms + self.terms.len() - 1) as u32 | TERM_EXTENDED
            };
            roles_of_user.push(role);
            terms_of_user.push(term);
        }
        let mut slot = UserSlot { roles: [u16::MAX; 4], codes: [CODE_EMPTY; 4], base: 0 };
        if roles_of_user.len() <= slot.roles.len() && roles_of_user.iter().all(|&r| r < SLOT_ROLES) {
            // The user's extended terms were pushed just now, in order: the first one is the base.
            slot.base = terms_of_user.iter().find_map(|&t| word_term(t)).unwrap_or(0);
            for (k, (&role, &term)) in roles_of_user.iter().zip(&terms_of_user).enumerate() {
                slot.roles[k] = role as u16;
                slot.codes[k] = match (term, word_term(term)) {
                    (ALWAYS_GLOBAL, _) => CODE_GLOBAL,
                    (_, Some(entry)) => CODE_EXTENDED + (entry - slot.base) as u8,
                    (org, None) => org as u8,
                };
            }
        } else {
            let at = u32::try_from(self.base_more + self.more_roles.len()).ok().filter(|&at| at < TERM_EXTENDED).expect("side arrays stay below 2^31 entries");
            let len = roles_of_user.len() as u32;
            slot = UserSlot { roles: [len as u16, (len >> 16) as u16, u16::MAX, u16::MAX], codes: [CODE_OVERFLOW, CODE_EMPTY, CODE_EMPTY, CODE_EMPTY], base: at };
            self.more_roles.extend_from_slice(&roles_of_user);
            self.more_terms.extend_from_slice(&terms_of_user);
        }
        (slot, roles_of_user.len())
    }
}

impl Index {
    /// Compiles `model`. Dangling references (a role naming a duty that is not
    /// loaded, an assignment of an unknown role) grant nothing; sub-role cycles
    /// are cut; roles beyond [`MAX_ROLES`] grant nothing (validation refuses
    /// such a model). Validation reports those separately.
    pub fn build(model: &Model) -> Index {
        // Entry point ids: defined ones and any that a grant names.
        let mut ep_ids = Names::with_capacity(model.entry_points.len());
        for key in model.entry_points.keys() {
            ep_ids.insert(key.kind as u8, &key.name);
        }
        let privilege_ids: FxHashMap<&str, u32> =
            model.privileges.keys().enumerate().map(|(i, n)| (n.as_str(), i as u32)).collect();
        let mut privilege_grants: Vec<Vec<(u32, u8, u8)>> = Vec::with_capacity(model.privileges.len());
        for p in model.privileges.values() {
            let mut list = Vec::with_capacity(p.entry_points.len());
            for g in &p.entry_points {
                let key = g.key();
                let id = ep_ids.insert(key.kind as u8, &key.name);
                list.push((id, g.grant.allow.0, g.grant.deny.0));
            }
            privilege_grants.push(list);
        }

        // Privileges per duty, extensions included.
        let mut duty_privileges: FxHashMap<&str, Vec<u32>> = FxHashMap::with_capacity_and_hasher(model.duties.len(), Default::default());
        for d in model.duties.values() {
            let ids = model.duty_privileges(d).filter_map(|p| privilege_ids.get(p).copied()).collect();
            duty_privileges.insert(d.name.as_str(), ids);
        }

        // Each role's own privileges (direct and through duties), then the closure over sub-roles.
        let role_names: Vec<&str> = model.roles.keys().map(String::as_str).collect();
        let role_ids: FxHashMap<&str, u32> = role_names.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
        let mut own: Vec<Vec<u32>> = Vec::with_capacity(role_names.len());
        let mut subs: Vec<Vec<u32>> = Vec::with_capacity(role_names.len());
        for r in model.roles.values() {
            let mut ps: Vec<u32> = model.role_privileges(r).filter_map(|p| privilege_ids.get(p).copied()).collect();
            for d in model.role_duties(r) {
                if let Some(list) = duty_privileges.get(d) {
                    ps.extend_from_slice(list);
                }
            }
            own.push(ps);
            subs.push(model.role_sub_roles(r).filter_map(|s| role_ids.get(s).copied()).collect());
        }

        // Per role: merged (entry point, allow, deny), sorted by entry point.
        let mut per_ep_count = vec![0u32; ep_ids.len()];
        let mut role_tables: Vec<Vec<(u32, u8, u8)>> = Vec::with_capacity(role_names.len());
        let mut seen_role = vec![u32::MAX; role_names.len()];
        let mut seen_privilege = vec![u32::MAX; model.privileges.len()];
        for root in 0..role_names.len() as u32 {
            let mut table: Vec<(u32, u8, u8)> = Vec::new();
            let mut stack = vec![root];
            while let Some(r) = stack.pop() {
                if seen_role[r as usize] == root {
                    continue;
                }
                seen_role[r as usize] = root;
                for &p in &own[r as usize] {
                    if seen_privilege[p as usize] != root {
                        seen_privilege[p as usize] = root;
                        table.extend_from_slice(&privilege_grants[p as usize]);
                    }
                }
                stack.extend_from_slice(&subs[r as usize]);
            }
            let merged = merge_grants(table);
            for t in &merged {
                per_ep_count[t.0 as usize] += 1;
            }
            role_tables.push(merged);
        }


        // Invert into per-entry-point rows; filling in role order keeps each row sorted by role.
        let mut rows: Vec<Vec<u32>> = per_ep_count.iter().map(|&c| Vec::with_capacity(c as usize)).collect();
        let mut grant_count = 0;
        for (role, table) in role_tables.iter().enumerate().take(MAX_ROLES) {
            for &(ep, allow, deny) in table {
                rows[ep as usize].push(pack(role as u32, allow, deny));
                grant_count += 1;
            }
        }
        drop(role_tables);
        let (grants, ep_handles) = GrantRows::build(&rows);
        drop(rows);

        // Organizations: known ones, and any an assignment names.
        let mut org_ids = Names::with_capacity(model.organizations.len());
        for id in model.organizations.keys() {
            org_ids.insert(0, id);
        }

        // Users and their assignments, in user order.
        let mut role_ids_table = Names::with_capacity(role_names.len());
        for name in &role_names {
            role_ids_table.insert(0, name);
        }
        let mut user_ids = Names::with_capacity(model.users.len());
        let mut users = Vec::with_capacity(model.users.len());
        let mut tables = UserTables::default();
        let mut assignment_count = 0;
        // Sessions in force become assignments cut to their windows: checks never wait for the processor.
        let view = model.access_view();
        for (i, u) in model.users.values().enumerate() {
            let id = user_ids.insert(0, &u.id);
            debug_assert_eq!(id as usize, i, "user ids are unique, so ids follow user order");
            let (slot, count) = tables.fill(&view.assignments_of(model, &u.id), &role_ids_table, &mut org_ids);
            users.push(slot);
            assignment_count += count;
        }

        Index {
            user_ids: Arc::new(user_ids),
            org_ids: Arc::new(org_ids),
            ep_ids: Arc::new(ep_ids),
            role_ids: Arc::new(role_ids_table),
            role_count: role_names.len(),
            grant_count,
            assignment_count,
            users: Chunked::from_vec(users, NO_ROLES),
            more_roles: tables.more_roles.into(),
            more_terms: tables.more_terms.into(),
            terms: tables.terms.into(),
            scopes: tables.scopes.into(),
            garbage: 0,
            grants: Arc::new(grants),
            grant_garbage: 0,
            ep_handles: ep_handles.into(),
        }
    }

    /// This index with the slots of `users` compiled again from `model`, which
    /// differs from the model this index was built from only in those users,
    /// their assignments, sessions and organizations (not in roles, duties,
    /// privileges or entry points: those need [`Index::build`]). Users new to
    /// the index are added; users gone from the model keep an id with no
    /// roles, so they are denied everything. Costs a copy of the chunks of
    /// user slots it patches (16 KiB each) and of the side tables when a
    /// patched user appends to them; never a walk over the security
    /// configuration.
    pub fn with_users<'a>(&self, model: &Model, users: impl IntoIterator<Item = &'a str>) -> Index {
        let mut next = self.clone();
        let mut slots = next.users.edit();
        let mut tables = UserTables {
            base_more: self.more_roles.len(),
            base_terms: self.terms.len(),
            base_scopes: self.scopes.len(),
            ..UserTables::default()
        };
        let view = model.access_view();
        let (mut user_ids, mut org_ids) = (None::<Names>, None::<Names>);
        for user in users {
            let id = match self.user_ids.get(0, user) {
                Some(id) => id as usize,
                None if model.users.contains_key(user) => {
                    let ids = user_ids.get_or_insert_with(|| (*self.user_ids).clone());
                    let id = ids.get(0, user).unwrap_or_else(|| ids.insert(0, user)) as usize;
                    if id == slots.len() {
                        slots.push(NO_ROLES);
                    }
                    id
                }
                None => continue,
            };
            let old = slots.get(id);
            next.garbage += if old.codes[0] == CODE_OVERFLOW {
                (u32::from(old.roles[0]) | u32::from(old.roles[1]) << 16) as usize
            } else {
                old.codes.iter().filter(|&&c| code_term(c, old.base).is_some()).count()
            };
            next.assignment_count -= slot_len(&old);
            let orgs = org_ids.get_or_insert_with(|| (*self.org_ids).clone());
            let (slot, count) = if model.users.contains_key(user) {
                tables.fill(&view.assignments_of(model, user), &self.role_ids, orgs)
            } else {
                (NO_ROLES, 0)
            };
            slots.set(id, slot);
            next.assignment_count += count;
        }
        if let Some(ids) = user_ids {
            next.user_ids = Arc::new(ids);
        }
        if let Some(ids) = org_ids.filter(|ids| ids.len() != self.org_ids.len()) {
            next.org_ids = Arc::new(ids);
        }
        next.users = slots.finish();
        next.more_roles = appended(&self.more_roles, tables.more_roles);
        next.more_terms = appended(&self.more_terms, tables.more_terms);
        next.terms = appended(&self.terms, tables.terms);
        next.scopes = appended(&self.scopes, tables.scopes);
        next
    }

    /// What patched users and roles left unused, as a share of what is in
    /// use (the larger of the two: users' side-table entries, grant rows'
    /// places): past a limit, building anew is worth its cost.
    pub fn garbage_ratio(&self) -> f64 {
        let ratio = |garbage: usize, total: usize| if total == 0 { 0.0 } else { garbage as f64 / total as f64 };
        let users = ratio(self.garbage, self.more_roles.len() + self.terms.len());
        users.max(ratio(self.grant_garbage, self.grants.places()))
    }

    /// This index with the grant rows of `roles` compiled again: `before` is
    /// the model this index was built from (or patched to), and `after`
    /// differs from it in the contents of roles, duties, privileges or
    /// extensions, and `roles` holds every role whose grants that can change
    /// ([`crate::affected_roles`]: the roles changed and every role that
    /// reaches what changed). Each of those roles is flattened in both models;
    /// the rows of the entry points where one of them grants something else
    /// are rebuilt from the old row (the other roles' grants) and the new
    /// grants, appended to the rows, and their entry points re-pointed (the
    /// entry point's id is its row's handle). User slots, names and every
    /// other row are shared with this index.
    ///
    /// `None` when a patch cannot express the change, and [`Index::build`]
    /// must: a role in `roles` that this index does not number (roles added
    /// or removed renumber them), or a grant on an entry point this index has
    /// no id for.
    pub fn with_roles<'a>(&self, before: &Model, after: &Model, roles: impl IntoIterator<Item = &'a str>) -> Option<Index> {
        let mut patched: FxHashSet<u32> = FxHashSet::default();
        // New grants of the patched roles by entry point, and the entry points whose rows change.
        let mut new_grants: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        let mut dirty: Vec<u32> = Vec::new();
        for name in roles {
            let role = self.role_ids.get(0, name)?;
            if !after.roles.contains_key(name) || !before.roles.contains_key(name) {
                return None;
            }
            if role as usize >= MAX_ROLES {
                // Such roles grant nothing in a build either.
                continue;
            }
            let old = self.flatten_role(before, name)?;
            let new = self.flatten_role(after, name)?;
            if old == new {
                // Its grants stay, but a row rewritten for another role must keep them.
                for &(ep, allow, deny) in &new {
                    new_grants.entry(ep).or_default().push(pack(role, allow, deny));
                }
                patched.insert(role);
                continue;
            }
            patched.insert(role);
            let (mut i, mut j) = (0, 0);
            while i < old.len() || j < new.len() {
                match (old.get(i), new.get(j)) {
                    (Some(o), Some(n)) if o.0 == n.0 => {
                        if o != n {
                            dirty.push(o.0);
                        }
                        i += 1;
                        j += 1;
                    }
                    (Some(o), Some(n)) if o.0 < n.0 => {
                        dirty.push(o.0);
                        i += 1;
                    }
                    (Some(o), None) => {
                        dirty.push(o.0);
                        i += 1;
                    }
                    (_, Some(n)) => {
                        dirty.push(n.0);
                        j += 1;
                    }
                    (None, None) => unreachable!("the loop runs while one side has entries"),
                }
            }
            for &(ep, allow, deny) in &new {
                new_grants.entry(ep).or_default().push(pack(role, allow, deny));
            }
        }
        dirty.sort_unstable();
        dirty.dedup();
        let mut next = self.clone();
        if dirty.is_empty() {
            return Some(next);
        }
        let mut rows: Vec<Vec<u32>> = Vec::with_capacity(dirty.len());
        for &ep in &dirty {
            let old = self.grants.read(self.ep_handles[ep as usize]);
            next.grant_garbage += old.len();
            next.grant_count -= old.len();
            let mut row: Vec<u32> = old.into_iter().filter(|g| !patched.contains(&(g >> ROLE_SHIFT))).collect();
            row.extend(new_grants.get(&ep).into_iter().flatten());
            row.sort_unstable();
            next.grant_count += row.len();
            rows.push(row);
        }
        let (grants, handles) = self.grants.with_rows(&rows);
        let mut ep_handles = self.ep_handles.to_vec();
        for (&ep, handle) in dirty.iter().zip(handles) {
            ep_handles[ep as usize] = handle;
        }
        next.grants = Arc::new(grants);
        next.ep_handles = ep_handles.into();
        Some(next)
    }

    /// What `role` grants in `model`, flattened as [`Index::build`] does (its
    /// duties, privileges and sub-roles, extensions included; what is not
    /// loaded grants nothing; cycles are cut): `(entry point id, allow,
    /// deny)`, sorted by entry point, without empty entries. `None` when a
    /// grant names an entry point this index has no id for.
    fn flatten_role(&self, model: &Model, role: &str) -> Option<Vec<(u32, u8, u8)>> {
        let mut seen_roles: FxHashSet<&str> = FxHashSet::default();
        let mut seen_privileges: FxHashSet<&str> = FxHashSet::default();
        let mut table: Vec<(u32, u8, u8)> = Vec::new();
        let mut stack = vec![role];
        while let Some(name) = stack.pop() {
            if !seen_roles.insert(name) {
                continue;
            }
            let Some(r) = model.roles.get(name) else { continue };
            let duties = model.role_duties(r).filter_map(|d| model.duties.get(d));
            for p in model.role_privileges(r).chain(duties.flat_map(|d| model.duty_privileges(d))) {
                let Some(privilege) = model.privileges.get(p).filter(|_| seen_privileges.insert(p)) else { continue };
                for g in &privilege.entry_points {
                    let key = g.key();
                    let ep = self.ep_ids.get(key.kind as u8, &key.name)?;
                    table.push((ep, g.grant.allow.0, g.grant.deny.0));
                }
            }
            stack.extend(model.role_sub_roles(r));
        }
        Some(merge_grants(table))
    }

    pub fn user(&self, id: &str) -> Option<UserId> {
        self.user_ids.get(0, id).map(UserId)
    }

    pub fn org(&self, id: &str) -> Option<OrgId> {
        self.org_ids.get(0, id).map(OrgId)
    }

    pub fn entry_point(&self, key: &EntryPointKey) -> Option<EntryPointId> {
        self.ep_ids.get(key.kind as u8, &key.name).and_then(|i| self.ep_handles.get(i as usize)).map(|&h| EntryPointId(h))
    }

    /// May `user` use `access` on `ep` in `org` (or, with `None`, outside any
    /// organization) at `at`? Allocation-free and lock-free. Ids out of range
    /// are denied; ids are only meaningful for the index that issued them.
    #[inline]
    pub fn check(&self, user: UserId, ep: EntryPointId, access: Access, org: Option<OrgId>, at: Timestamp) -> Decision {
        let grants = self.grants.row(ep.0);
        let (Some(slot), false) = (self.users.get(user.0 as usize), matches!(grants, Row::None)) else {
            return Decision::Deny;
        };
        let allow_bit = u32::from(access.bit());
        let deny_bit = allow_bit << 6;
        let mask = allow_bit | deny_bit;
        // An org word that no single-organization term equals, when the check names none.
        let org_word = org.map_or(u32::MAX, |o| o.0);
        let mut acc = Accumulator::default();
        if slot.codes[0] != CODE_OVERFLOW {
            let mut role_bits = [0; 4];
            for (bits, (&role, &code)) in role_bits.iter_mut().zip(slot.roles.iter().zip(&slot.codes)) {
                // A place without an assignment asks for a role that no row holds.
                *bits = grants.bits(if role == u16::MAX { EMPTY } else { u32::from(role) }) & mask;
                let in_force = (code == CODE_GLOBAL) | ((u32::from(code) < SMALL_ORGS) & (u32::from(code) == org_word));
                acc.add(*bits, in_force, code_term(code, slot.base).is_some());
            }
            if acc.extended != 0 {
                for (&bits, &code) in role_bits.iter().zip(&slot.codes) {
                    acc.add_extended(self, bits, code_term(code, slot.base), org, at.0);
                }
            }
        } else {
            let (start, len) = (slot.base as usize, (u32::from(slot.roles[0]) | u32::from(slot.roles[1]) << 16) as usize);
            let roles = self.more_roles.get(start..start + len).unwrap_or(&[]);
            let terms = self.more_terms.get(start..start + len).unwrap_or(&[]);
            for (&role, &term) in roles.iter().zip(terms) {
                let in_force = (term == ALWAYS_GLOBAL) | ((term < TERM_EXTENDED) & (term == org_word));
                acc.add(grants.bits(role) & mask, in_force, word_term(term).is_some());
            }
            if acc.extended != 0 {
                for (&role, &term) in roles.iter().zip(terms) {
                    acc.add_extended(self, grants.bits(role) & mask, word_term(term), org, at.0);
                }
            }
        }
        if acc.bits & allow_bit != 0 && acc.bits & deny_bit == 0 { Decision::Allow } else { Decision::Deny }
    }

    /// [`Index::check`] by name. Unknown users and entry points are denied; an
    /// unknown organization counts only global assignments.
    pub fn check_by_name(&self, user: &str, ep: &EntryPointKey, access: Access, org: Option<&str>, at: Timestamp) -> Decision {
        let (Some(u), Some(e)) = (self.user(user), self.entry_point(ep)) else { return Decision::Deny };
        let org = org.map(|o| self.org(o).unwrap_or(UNKNOWN_ORG));
        self.check(u, e, access, org, at)
    }

    /// The names of the roles of `user`'s assignments in force in `org` (or,
    /// with `None`, outside any organization) at `at`, as [`Index::check`]
    /// counts them; a role may appear more than once. Not on the check path:
    /// control and field checks ([`crate::check_part`]) start from it.
    pub fn roles_in_force(&self, user: UserId, org: Option<OrgId>, at: Timestamp) -> Vec<&str> {
        let Some(slot) = self.users.get(user.0 as usize) else { return Vec::new() };
        let org_word = org.map_or(u32::MAX, |o| o.0);
        let mut roles = Vec::new();
        if slot.codes[0] != CODE_OVERFLOW {
            for (&role, &code) in slot.roles.iter().zip(&slot.codes) {
                if role == u16::MAX {
                    continue;
                }
                let in_force = code == CODE_GLOBAL
                    || (u32::from(code) < SMALL_ORGS && u32::from(code) == org_word)
                    || code_term(code, slot.base).is_some_and(|t| self.in_term(t, org, at.0));
                if in_force {
                    roles.push(u32::from(role));
                }
            }
        } else {
            let (start, len) = (slot.base as usize, (u32::from(slot.roles[0]) | u32::from(slot.roles[1]) << 16) as usize);
            let ids = self.more_roles.get(start..start + len).unwrap_or(&[]);
            let terms = self.more_terms.get(start..start + len).unwrap_or(&[]);
            for (&role, &term) in ids.iter().zip(terms) {
                let in_force = term == ALWAYS_GLOBAL
                    || (term < TERM_EXTENDED && term == org_word)
                    || word_term(term).is_some_and(|t| self.in_term(t, org, at.0));
                if in_force {
                    roles.push(role);
                }
            }
        }
        roles.into_iter().filter_map(|r| self.role_ids.name(r)).collect()
    }

    /// Is an assignment whose term is entry `term` of `Index::terms` in force in `org` at `at`?
    #[inline]
    fn in_term(&self, term: u32, org: Option<OrgId>, at: i64) -> bool {
        let Some(t) = self.terms.get(term as usize) else { return false };
        if at < t.from || at >= t.to {
            return false;
        }
        let Some(org) = org else { return t.orgs[0] == GLOBAL };
        match t.orgs[0] {
            GLOBAL => true,
            first if first & SCOPE_OVERFLOW != 0 => {
                let (start, len) = ((first & !SCOPE_OVERFLOW) as usize, t.orgs[1] as usize);
                self.scopes.get(start..start + len).is_some_and(|orgs| orgs.contains(&org.0))
            }
            // Padding is EMPTY, which no org id is; UNKNOWN_ORG is that too.
            _ => org.0 < SCOPE_OVERFLOW && t.orgs.contains(&org.0),
        }
    }

    pub fn stats(&self) -> IndexStats {
        use std::mem::size_of;
        let check_bytes = self.users.len() * size_of::<UserSlot>()
            + self.grants.bytes()
            + (self.more_roles.len() + self.more_terms.len() + self.scopes.len()) * 4
            + self.terms.len() * size_of::<Term>();
        IndexStats {
            users: self.users.len(),
            roles: self.role_count,
            entry_points: self.ep_ids.len(),
            assignments: self.assignment_count,
            role_grants: self.grant_count,
            bytes: check_bytes + self.ep_handles.len() * 4 + self.user_ids.bytes() + self.org_ids.bytes() + self.ep_ids.bytes(),
            check_bytes,
        }
    }
}

/// The union of the permission bits that the user's assignments in force set
/// on the entry point, from each assignment's bits (already masked to the
/// access asked for) and term. Without branches on the data in the common
/// case (global or single-organization terms, which sit in the user's slot),
/// so that the CPU runs ahead into the next check while this one waits for
/// memory; a time-bound or multi-organization term is read only when its role
/// sets the requested permission at all.
#[derive(Default)]
struct Accumulator {
    bits: u32,
    /// Bits of assignments whose term must be read from `Index::terms`.
    extended: u32,
}

impl Accumulator {
    /// An assignment whose term is known to be in force or not, or must be read (`extended`).
    #[inline(always)]
    fn add(&mut self, bits: u32, in_force: bool, extended: bool) {
        self.bits |= bits & u32::from(in_force).wrapping_neg();
        self.extended |= bits & u32::from(extended).wrapping_neg();
    }

    /// An assignment whose term is entry `term` of `Index::terms`, if it has one there.
    #[inline(always)]
    fn add_extended(&mut self, index: &Index, bits: u32, term: Option<u32>, org: Option<OrgId>, at: i64) {
        if let Some(term) = term
            && bits != 0
            && index.in_term(term, org, at)
        {
            self.bits |= bits;
        }
    }
}

/// A role's `(entry point, allow, deny)` grants sorted by entry point, one
/// entry per entry point (allows and denies of its grants united), without
/// entries that set nothing.
fn merge_grants(mut table: Vec<(u32, u8, u8)>) -> Vec<(u32, u8, u8)> {
    table.sort_unstable_by_key(|t| t.0);
    let mut merged: Vec<(u32, u8, u8)> = Vec::with_capacity(table.len());
    for (ep, allow, deny) in table {
        match merged.last_mut() {
            Some(last) if last.0 == ep => {
                last.1 |= allow;
                last.2 |= deny;
            }
            _ => merged.push((ep, allow, deny)),
        }
    }
    merged.retain(|t| t.1 | t.2 != 0);
    merged
}

/// A role's grant on an entry point as rows hold it: `role << ROLE_SHIFT | deny << 6 | allow`.
fn pack(role: u32, allow: u8, deny: u8) -> u32 {
    role << ROLE_SHIFT | u32::from(deny & 0x3f) << 6 | u32::from(allow & 0x3f)
}

/// The entry in `Index::terms` that a term word refers to, if it does.
#[inline]
fn word_term(term: u32) -> Option<u32> {
    (TERM_EXTENDED..ALWAYS_GLOBAL).contains(&term).then_some(term & !TERM_EXTENDED)
}

/// The entry in `Index::terms` that a slot's code refers to, if it does.
#[inline]
fn code_term(code: u8, base: u32) -> Option<u32> {
    (CODE_EXTENDED..CODE_EXTENDED + 4).contains(&code).then(|| base.wrapping_add(u32::from(code - CODE_EXTENDED)))
}

/// How many assignments a slot holds.
fn slot_len(slot: &UserSlot) -> usize {
    if slot.codes[0] == CODE_OVERFLOW {
        (u32::from(slot.roles[0]) | u32::from(slot.roles[1]) << 16) as usize
    } else {
        slot.roles.iter().filter(|&&r| r != u16::MAX).count()
    }
}
