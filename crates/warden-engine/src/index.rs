//! The compiled index and the hot check path.
//!
//! Layout, chosen for a random request stream, where a check costs what its
//! cache misses cost (see ARCHITECTURE.md, "Engine layout"):
//! - per user, a 16-byte slot with the role ids of up to four assignments;
//! - per entry point, a 32-byte slot with up to eight role grants, each packed
//!   with its allow and deny bits into one `u32` (sub-roles already flattened
//!   into each role);
//! - longer rows overflow into side arrays, and each assignment's scope and
//!   validity window sit in a parallel slot read only when its role sets the
//!   requested permission.
//!
//! A check starts with two independent loads, one line each, that the CPU
//! fetches in parallel; at D365 scale everything a check reads takes under
//! 4 MiB, so it stays in the CPU caches. Its cost depends on the user's
//! assignment count and on how many roles touch the entry point, never on the
//! size of the model.

use crate::names::Names;
use crate::Decision;
use rustc_hash::FxHashMap;
use warden_model::{Access, EntryPointKey, Model, Timestamp, MAX_ROLES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryPointId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrgId(pub u32);

/// An org id that no scoped assignment contains: a check in an organization the
/// model does not know still counts global assignments, as the semantics say.
const UNKNOWN_ORG: OrgId = OrgId(u32::MAX);

/// An assignment's term, next to its role: [`ALWAYS_GLOBAL`]; or, with
/// [`TERM_EXTENDED`] set, an index in `Index::terms`; or else the one
/// organization it is scoped to, valid at all times (org ids stay below 2^31).
const ALWAYS_GLOBAL: u32 = u32::MAX - 1;
const TERM_EXTENDED: u32 = 1 << 31;
/// [`Term::scope`] of a global assignment; otherwise an offset in `Index::scopes` of `[len, org, ...]`.
const GLOBAL: u32 = u32::MAX;

/// A role grant packs the role id above the permission bits: `role << 12 | deny << 6 | allow`.
const ROLE_SHIFT: u32 = 12;
const _: () = assert!(MAX_ROLES <= 1 << (31 - ROLE_SHIFT), "packed grants stay below 2^31");

/// An unused place in a slot: matches no role and no grant.
const EMPTY: u32 = u32::MAX;
/// In a slot's first word (other than [`EMPTY`]): the row lives in a side array,
/// at the offset in the rest of the word, with its length in the second word.
const OVERFLOW: u32 = 1 << 31;

/// Role ids of a user's assignments, [`EMPTY`]-padded; or an overflow reference.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(16))]
struct UserSlot([u32; 4]);

/// Packed role grants on an entry point, sorted by role, [`EMPTY`]-padded; or an overflow reference.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct GrantSlot([u32; 8]);

/// Fills `slot` with `values`, inline when they fit, else appended to `more`.
/// Returns the overflow offset, if any.
fn pack_row(slot: &mut [u32], values: &[u32], more: &mut Vec<u32>) -> Option<usize> {
    slot.fill(EMPTY);
    if values.len() <= slot.len() {
        slot[..values.len()].copy_from_slice(values);
        None
    } else {
        let at = more.len();
        slot[0] = u32::try_from(at).ok().filter(|&at| at < OVERFLOW - 1).expect("side arrays stay below 2^31 entries") | OVERFLOW;
        slot[1] = values.len() as u32;
        more.extend_from_slice(values);
        Some(at)
    }
}

/// The overflow offset and length that `slot` refers to, if it does.
#[inline]
fn overflow(slot: &[u32]) -> Option<(usize, usize)> {
    let first = slot[0];
    (first != EMPTY && first & OVERFLOW != 0).then(|| ((first & !OVERFLOW) as usize, slot[1] as usize))
}

/// A row's values: the whole slot (padding included: it matches nothing), or its overflow.
#[inline]
fn row<'a>(slot: &'a [u32], more: &'a [u32]) -> &'a [u32] {
    match overflow(slot) {
        None => slot,
        Some((at, len)) => more.get(at..at + len).unwrap_or(&[]),
    }
}

/// Validity window and scope of an assignment that is time-bound or scoped to several organizations.
#[derive(Debug, Clone, Copy)]
struct Term {
    /// `[from, to)` in milliseconds.
    from: i64,
    to: i64,
    scope: u32,
}

/// Sizes, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    pub users: usize,
    pub roles: usize,
    pub entry_points: usize,
    pub assignments: usize,
    pub role_grants: usize,
    pub bytes: usize,
}

/// An immutable, compiled snapshot of a model, answering checks by id.
#[derive(Debug, Clone)]
pub struct Index {
    user_ids: Names,
    org_ids: Names,
    /// Tagged with the entry point type.
    ep_ids: Names,
    role_count: usize,
    grant_count: usize,
    assignment_count: usize,
    /// By user id: assigned roles, and in `user_terms` the matching terms.
    /// Disabled users have none.
    users: Vec<UserSlot>,
    user_terms: Vec<UserSlot>,
    more_roles: Vec<u32>,
    more_terms: Vec<u32>,
    terms: Vec<Term>,
    scopes: Vec<u32>,
    /// By entry point id.
    grants: Vec<GrantSlot>,
    more_grants: Vec<u32>,
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
                rows[ep as usize].push((role as u32) << ROLE_SHIFT | u32::from(deny & 0x3f) << 6 | u32::from(allow & 0x3f));
                grant_count += 1;
            }
        }
        drop(role_tables);
        let mut grants = vec![GrantSlot([EMPTY; 8]); rows.len()];
        let mut more_grants = Vec::new();
        for (slot, row) in grants.iter_mut().zip(&rows) {
            pack_row(&mut slot.0, row, &mut more_grants);
        }
        drop(rows);

        // Organizations: known ones, and any an assignment names.
        let mut org_ids = Names::with_capacity(model.organizations.len());
        for id in model.organizations.keys() {
            org_ids.insert(0, id);
        }

        // Users and their assignments, in user order.
        let mut user_ids = Names::with_capacity(model.users.len());
        let mut users = vec![UserSlot([EMPTY; 4]); model.users.len()];
        let mut user_terms = vec![UserSlot([EMPTY; 4]); model.users.len()];
        let (mut more_roles, mut more_terms) = (Vec::new(), Vec::new());
        let (mut roles_of_user, mut terms_of_user) = (Vec::new(), Vec::new());
        let mut terms = Vec::new();
        let mut scopes = Vec::new();
        let mut assignment_count = 0;
        // Sessions in force become assignments cut to their windows: checks never wait for the processor.
        let view = model.access_view();
        for (i, u) in model.users.values().enumerate() {
            let id = user_ids.insert(0, &u.id);
            debug_assert_eq!(id as usize, i, "user ids are unique, so ids follow user order");
            roles_of_user.clear();
            terms_of_user.clear();
            {
                for a in view.assignments_of(model, &u.id).iter() {
                    let Some(&role) = role_ids.get(a.role.as_str()) else { continue };
                    if role as usize >= MAX_ROLES {
                        continue;
                    }
                    let mut org_id = |o: &String| org_ids.insert(0, o);
                    let always = a.valid_from.is_none() && a.valid_to.is_none();
                    let single = match a.organizations.as_slice() {
                        [one] if always => Some(org_id(one)).filter(|&id| id < TERM_EXTENDED),
                        _ => None,
                    };
                    let term = if always && a.organizations.is_empty() {
                        ALWAYS_GLOBAL
                    } else if let Some(id) = single {
                        id
                    } else {
                        let scope = if a.organizations.is_empty() {
                            GLOBAL
                        } else {
                            let at = scopes.len() as u32;
                            scopes.push(a.organizations.len() as u32);
                            for o in &a.organizations {
                                scopes.push(org_id(o));
                            }
                            at
                        };
                        terms.push(Term {
                            from: a.valid_from.map_or(i64::MIN, |t| t.0),
                            to: a.valid_to.map_or(i64::MAX, |t| t.0),
                            scope,
                        });
                        (terms.len() - 1) as u32 | TERM_EXTENDED
                    };
                    roles_of_user.push(role);
                    terms_of_user.push(term);
                }
            }
            assignment_count += roles_of_user.len();
            if let Some(at) = pack_row(&mut users[i].0, &roles_of_user, &mut more_roles) {
                debug_assert_eq!(at, more_terms.len());
                more_terms.extend_from_slice(&terms_of_user);
            } else {
                user_terms[i].0[..terms_of_user.len()].copy_from_slice(&terms_of_user);
            }
        }

        Index {
            user_ids,
            org_ids,
            ep_ids,
            role_count: role_names.len(),
            grant_count,
            assignment_count,
            users,
            user_terms,
            more_roles,
            more_terms,
            terms,
            scopes,
            grants,
            more_grants,
        }
    }

    pub fn user(&self, id: &str) -> Option<UserId> {
        self.user_ids.get(0, id).map(UserId)
    }

    pub fn org(&self, id: &str) -> Option<OrgId> {
        self.org_ids.get(0, id).map(OrgId)
    }

    pub fn entry_point(&self, key: &EntryPointKey) -> Option<EntryPointId> {
        self.ep_ids.get(key.kind as u8, &key.name).map(EntryPointId)
    }

    /// May `user` use `access` on `ep` in `org` (or, with `None`, outside any
    /// organization) at `at`? Allocation-free and lock-free. Ids from another
    /// index, or out of range, are denied.
    #[inline]
    pub fn check(&self, user: UserId, ep: EntryPointId, access: Access, org: Option<OrgId>, at: Timestamp) -> Decision {
        let (Some(user_slot), Some(grant_slot)) = (self.users.get(user.0 as usize), self.grants.get(ep.0 as usize)) else {
            return Decision::Deny;
        };
        let grants = row(&grant_slot.0, &self.more_grants);
        let allow_bit = u32::from(access.bit());
        let deny_bit = allow_bit << 6;
        let mask = allow_bit | deny_bit;
        if overflow(&user_slot.0).is_none() {
            // The common case, without data-dependent branches until the one
            // that asks whether any role sets the permission at all.
            let bits = user_slot.0.map(|role| grant_bits(grants, role) & mask);
            if bits.iter().fold(0, |any, b| any | b) == 0 {
                return Decision::Deny;
            }
            return self.decide(user, user_slot, bits.into_iter().enumerate(), deny_bit, org, at);
        }
        let roles = row(&user_slot.0, &self.more_roles);
        self.decide(user, user_slot, roles.iter().map(|&role| grant_bits(grants, role) & mask).enumerate(), deny_bit, org, at)
    }

    /// The decision from the permission bits that the role of each of the
    /// user's assignments sets (by assignment position). A role that sets none
    /// cannot change the answer: its term, which sits in another array, is
    /// read only for the others.
    #[inline]
    fn decide(
        &self,
        user: UserId,
        slot: &UserSlot,
        bits: impl Iterator<Item = (usize, u32)>,
        deny_bit: u32,
        org: Option<OrgId>,
        at: Timestamp,
    ) -> Decision {
        let mut allowed = false;
        for (i, b) in bits {
            if b == 0 || !self.in_term(self.term(user, slot, i), org, at.0) {
                continue;
            }
            if b & deny_bit != 0 {
                return Decision::Deny;
            }
            allowed = true;
        }
        if allowed { Decision::Allow } else { Decision::Deny }
    }

    /// [`Index::check`] by name. Unknown users and entry points are denied; an
    /// unknown organization counts only global assignments.
    pub fn check_by_name(&self, user: &str, ep: &EntryPointKey, access: Access, org: Option<&str>, at: Timestamp) -> Decision {
        let (Some(u), Some(e)) = (self.user(user), self.entry_point(ep)) else { return Decision::Deny };
        let org = org.map(|o| self.org(o).unwrap_or(UNKNOWN_ORG));
        self.check(u, e, access, org, at)
    }

    /// The term of the user's `i`-th assignment; [`EMPTY`] (in force nowhere) if there is none.
    #[inline]
    fn term(&self, user: UserId, slot: &UserSlot, i: usize) -> u32 {
        let term = match overflow(&slot.0) {
            None => self.user_terms.get(user.0 as usize).and_then(|t| t.0.get(i)),
            Some((at, _)) => self.more_terms.get(at + i),
        };
        term.copied().unwrap_or(EMPTY)
    }

    /// Is an assignment with this term in force in `org` at `at`?
    #[inline]
    fn in_term(&self, term: u32, org: Option<OrgId>, at: i64) -> bool {
        if term == EMPTY {
            return false;
        }
        if term == ALWAYS_GLOBAL {
            return true;
        }
        if term & TERM_EXTENDED == 0 {
            return org.is_some_and(|o| o.0 == term);
        }
        let Some(t) = self.terms.get((term & !TERM_EXTENDED) as usize) else { return false };
        if at < t.from || at >= t.to {
            return false;
        }
        if t.scope == GLOBAL {
            return true;
        }
        let Some(org) = org else { return false };
        let start = t.scope as usize;
        let Some(&len) = self.scopes.get(start) else { return false };
        self.scopes.get(start + 1..start + 1 + len as usize).is_some_and(|orgs| orgs.contains(&org.0))
    }

    pub fn stats(&self) -> IndexStats {
        use std::mem::size_of;
        IndexStats {
            users: self.users.len(),
            roles: self.role_count,
            entry_points: self.grants.len(),
            assignments: self.assignment_count,
            role_grants: self.grant_count,
            bytes: (self.users.len() + self.user_terms.len()) * size_of::<UserSlot>()
                + self.grants.len() * size_of::<GrantSlot>()
                + (self.more_roles.len() + self.more_terms.len() + self.more_grants.len() + self.scopes.len()) * 4
                + self.terms.len() * size_of::<Term>()
                + self.user_ids.bytes()
                + self.org_ids.bytes()
                + self.ep_ids.bytes(),
        }
    }
}

/// The permission bits (`deny << 6 | allow`) that `role` sets in an entry
/// point's row; 0 if none. A linear scan while the row fits in a cache line
/// or two, binary search beyond.
#[inline]
fn grant_bits(grants: &[u32], role: u32) -> u32 {
    const BITS: u32 = (1 << ROLE_SHIFT) - 1;
    if grants.len() <= 32 {
        // Branch-free: a mispredicted branch here would wait for the row's cache line.
        grants.iter().fold(0, |bits, &g| bits | (g & BITS) & u32::from(g >> ROLE_SHIFT == role).wrapping_neg())
    } else {
        grants.binary_search_by_key(&role, |g| g >> ROLE_SHIFT).map_or(0, |i| grants[i] & BITS)
    }
}
