//! cedar-policy 4: the hierarchy precomputed on the resource side, assignments
//! on the principal, org and time in the request context.
//!
//! Entities (built once from the model, nothing per request):
//! - `EntryPoint::"MenuItemDisplay/CustTable00042"` carries one tag per access
//!   that some role allows (`"Read"` → set of role names, sub-roles flattened in)
//!   and one per access some role denies (`"!Read"` → set of role names).
//! - `User::"usr000042"` carries `enabled` and its assignments, in one of two
//!   [`Encoding`]s.
//!
//! Requests: principal, `Action::"check"`, resource, and a context
//! `{allow: "Read", deny: "!Read", org?: "USMF", at: <ms since epoch>}`.
//!
//! Two policies, a permit and a forbid (deny wins, as in D365), each asking
//! "does an assignment active here and now name a role in the resource's tag".
//! Cedar has no quantifier over a set of records, so the per-assignment test is
//! unrolled over numbered attribute slots, as many as the model's busiest user needs.

use super::{Engine, Flat};
use anyhow::{Context as _, Result};
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request as CedarRequest,
    RestrictedExpression,
};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::str::FromStr;
use warden_gen::Request;
use warden_model::{Access, Assignment, Model};

/// How a user's assignments are laid out on the `User` entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The common cases as sets Cedar can intersect in one call: `roles` (global,
    /// no window) and one tag per organization (scoped there, no window); only
    /// time-bound assignments go to record slots `t0`, `t1`, ...
    Split,
    /// Every assignment in a record slot `a0`, `a1`, ... with role, scope and
    /// window: the most direct encoding, measured as the alternative.
    Slots,
}

pub struct CedarEngine {
    authorizer: Authorizer,
    policies: PolicySet,
    entities: Entities,
    user_type: EntityTypeName,
    entry_point_type: EntityTypeName,
    action: EntityUid,
    /// The generated policies, for the README and for debugging.
    pub policy_text: String,
    /// Record slots the policies test (time-bound assignments for Split, all for Slots).
    pub slots: usize,
    errors: Cell<usize>,
}

fn string(s: impl Into<String>) -> RestrictedExpression {
    RestrictedExpression::new_string(s.into())
}

fn string_set<'a>(items: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(items.into_iter().map(string))
}

fn window(a: &Assignment) -> (i64, i64) {
    (a.valid_from.map_or(i64::MIN, |t| t.0), a.valid_to.map_or(i64::MAX, |t| t.0))
}

/// `{role, global, orgs, from, to}` for one assignment.
fn slot(a: &Assignment) -> Result<RestrictedExpression> {
    let (from, to) = window(a);
    Ok(RestrictedExpression::new_record([
        ("role".to_string(), string(a.role.as_str())),
        ("global".to_string(), RestrictedExpression::new_bool(a.is_global())),
        ("orgs".to_string(), string_set(a.organizations.iter().map(String::as_str))),
        ("from".to_string(), RestrictedExpression::new_long(from)),
        ("to".to_string(), RestrictedExpression::new_long(to)),
    ])?)
}

/// The test "slot `s` is active now, here, and its role is in the resource's tag `key`".
fn slot_condition(s: &str, key: &str) -> String {
    format!(
        "(principal has {s} && principal.{s}.from <= context.at && context.at < principal.{s}.to && \
         (principal.{s}.global || (context has org && principal.{s}.orgs.contains(context.org))) && \
         resource.getTag(context.{key}).contains(principal.{s}.role))"
    )
}

/// The permit and the forbid, for `slots` record slots.
pub fn policy_text(encoding: Encoding, slots: usize) -> String {
    let grants = |key: &str| -> String {
        let mut terms = Vec::new();
        let prefix = match encoding {
            Encoding::Split => {
                terms.push(format!("principal.roles.containsAny(resource.getTag(context.{key}))"));
                terms.push(format!(
                    "(context has org && principal.hasTag(context.org) && \
                     principal.getTag(context.org).containsAny(resource.getTag(context.{key})))"
                ));
                "t"
            }
            Encoding::Slots => "a",
        };
        for i in 0..slots {
            terms.push(slot_condition(&format!("{prefix}{i}"), key));
        }
        if terms.is_empty() { "false".to_string() } else { terms.join("\n    || ") }
    };
    format!(
        "permit(principal, action == Action::\"check\", resource) when {{\n  principal.enabled && resource.hasTag(context.allow) && (\n    {}\n  )\n}};\n\
         forbid(principal, action == Action::\"check\", resource) when {{\n  resource.hasTag(context.deny) && (\n    {}\n  )\n}};\n",
        grants("allow"),
        grants("deny")
    )
}

fn deny_tag(access: Access) -> String {
    format!("!{access}")
}

impl CedarEngine {
    pub fn build(model: &Model, encoding: Encoding) -> Result<CedarEngine> {
        let user_type = EntityTypeName::from_str("User")?;
        let entry_point_type = EntityTypeName::from_str("EntryPoint")?;
        let action = EntityUid::from_type_name_and_id(EntityTypeName::from_str("Action")?, EntityId::new("check"));
        let flat = Flat::new(model);

        // Resource side: per entry point, (tag slot 0..12, role) pairs; slots 0..6 allow, 6..12 deny.
        let mut per_entry_point: Vec<Vec<(u8, u32)>> = vec![Vec::new(); flat.entry_points.len()];
        for (role, grants) in flat.role_grants.iter().enumerate() {
            for &(ep, allow, deny) in grants {
                for a in Access::ALL {
                    if allow & a.bit() != 0 {
                        per_entry_point[ep as usize].push((a as u8, role as u32));
                    }
                    if deny & a.bit() != 0 {
                        per_entry_point[ep as usize].push((6 + a as u8, role as u32));
                    }
                }
            }
        }
        let mut entities = Vec::with_capacity(flat.entry_points.len() + model.users.len());
        for (ep, mut pairs) in per_entry_point.into_iter().enumerate() {
            pairs.sort_unstable();
            let mut tags: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for (slot, role) in pairs {
                let access = Access::ALL[(slot % 6) as usize];
                let key = if slot < 6 { access.to_string() } else { deny_tag(access) };
                tags.entry(key).or_default().push(flat.role_names[role as usize].as_str());
            }
            let uid = EntityUid::from_type_name_and_id(entry_point_type.clone(), EntityId::new(flat.entry_points[ep].to_string()));
            let tags = tags.into_iter().map(|(k, roles)| (k, string_set(roles)));
            entities.push(Entity::new_with_tags(uid, [], [], tags)?);
        }

        // Principal side.
        let mut slots = 0;
        for u in model.users.values() {
            let assignments = model.assignments_of(&u.id);
            let uid = EntityUid::from_type_name_and_id(user_type.clone(), EntityId::new(&u.id));
            let mut attrs = vec![("enabled".to_string(), RestrictedExpression::new_bool(u.enabled))];
            let mut tags = Vec::new();
            match encoding {
                Encoding::Split => {
                    let untimed = |a: &&Assignment| a.valid_from.is_none() && a.valid_to.is_none();
                    let global = assignments.iter().filter(untimed).filter(|a| a.is_global()).map(|a| a.role.as_str());
                    attrs.push(("roles".to_string(), string_set(global)));
                    let mut by_org: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                    for a in assignments.iter().filter(untimed) {
                        for o in &a.organizations {
                            by_org.entry(o.as_str()).or_default().push(a.role.as_str());
                        }
                    }
                    tags.extend(by_org.into_iter().map(|(o, roles)| (o.to_string(), string_set(roles))));
                    let timed: Vec<&Assignment> = assignments.iter().filter(|a| !untimed(a)).collect();
                    slots = slots.max(timed.len());
                    for (i, a) in timed.into_iter().enumerate() {
                        attrs.push((format!("t{i}"), slot(a)?));
                    }
                }
                Encoding::Slots => {
                    slots = slots.max(assignments.len());
                    for (i, a) in assignments.iter().enumerate() {
                        attrs.push((format!("a{i}"), slot(a)?));
                    }
                }
            }
            entities.push(Entity::new_with_tags(uid, attrs, [], tags)?);
        }
        let entities = Entities::from_entities(entities, None).context("building the Cedar entity store")?;
        let policy_text = policy_text(encoding, slots);
        let policies = PolicySet::from_str(&policy_text).map_err(|e| anyhow::anyhow!("{e}")).context("parsing the generated policies")?;
        Ok(CedarEngine {
            authorizer: Authorizer::new(),
            policies,
            entities,
            user_type,
            entry_point_type,
            action,
            policy_text,
            slots,
            errors: Cell::new(0),
        })
    }

    fn request(&self, r: &Request) -> Result<CedarRequest> {
        let principal = EntityUid::from_type_name_and_id(self.user_type.clone(), EntityId::new(&r.user));
        let resource =
            EntityUid::from_type_name_and_id(self.entry_point_type.clone(), EntityId::new(r.entry_point.to_string()));
        let mut pairs = vec![
            ("allow".to_string(), string(r.access.as_str())),
            ("deny".to_string(), string(deny_tag(r.access))),
            ("at".to_string(), RestrictedExpression::new_long(r.at.0)),
        ];
        if let Some(org) = &r.org {
            pairs.push(("org".to_string(), string(org.as_str())));
        }
        let context = Context::from_pairs(pairs)?;
        Ok(CedarRequest::new(principal, self.action.clone(), resource, context, None)?)
    }
}

impl Engine for CedarEngine {
    /// `None` when the request could not be built (counted as an error, denied).
    type Prepared<'r> = Option<CedarRequest>;

    fn prepare(&self, r: &Request) -> Option<CedarRequest> {
        self.request(r).ok()
    }

    fn check(&self, r: &Option<CedarRequest>) -> bool {
        let Some(request) = r else {
            self.errors.set(self.errors.get() + 1);
            return false;
        };
        let response = self.authorizer.is_authorized(request, &self.policies, &self.entities);
        if let Some(e) = response.diagnostics().errors().next() {
            if self.errors.get() == 0 {
                eprintln!("[warden-bench] cedar: first policy evaluation error: {e}");
            }
            self.errors.set(self.errors.get() + 1);
        }
        response.decision() == Decision::Allow
    }

    fn errors(&self) -> usize {
        self.errors.get()
    }

    fn describe(&self) -> Option<String> {
        Some(format!("{} record slots per user in the policies", self.slots))
    }
}
