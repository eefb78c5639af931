//! casbin-rs 2: RBAC with a role hierarchy, tenant-qualified subjects for
//! org-scoped assignments, and time-bound assignments as request attributes.
//!
//! casbin evaluates its matcher against every policy line on every check (it has
//! no index), so the number of policy lines decides its speed; the two
//! [`Encoding`]s differ in that. Both:
//! - name nodes by kind (`user:`, `role:`, `duty:`, `priv:`) so that a user and a
//!   role of the same name cannot meet (casbin treats `has_link(x, x)` as true);
//! - give disabled users no links and no attributes (casbin has no notion of a
//!   disabled subject: deprovisioning is removing its links);
//! - use the effect `some(where (p.eft == allow)) && !some(where (p.eft == deny))`;
//! - send instants as fixed-width digit strings: casbin builds rhai with
//!   `only_i32`, too narrow for milliseconds since 1970, but strings of equal
//!   width compare like the numbers;
//! - use one custom function, `accessIn("Read", "Read|Update")`, because
//!   casbin's rhai engine has no string `contains`.
//!
//! Per request the application passes the user's time-bound assignments along
//! (looked up by user, not filtered: casbin compares the windows with the
//! instant), ABAC style, as casbin has no time on a role link.

use super::{Engine, Flat};
use anyhow::{Context as _, Result};
use casbin::function_map::OperatorFunction;
use casbin::rhai::{Dynamic, Map};
use casbin::{CachedEnforcer, CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use warden_gen::Request;
use warden_model::{Access, Assignment, Model};

/// How the model becomes casbin policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Policy lines per privilege grant (`priv:X, entry point, Read|Update, allow`)
    /// and the AOT hierarchy as `g` links (`role → duty → privilege`,
    /// `role → sub-role`). A global assignment without a window links
    /// `user:U → role:R`; one scoped to organizations links `user:U@ORG → role:R`
    /// for each; a time-bound one becomes a request attribute slot
    /// `{role, from, to, orgs}` (`orgs` holds `*` when global), as many slots
    /// as the model's busiest user needs.
    Hierarchy,
    /// Policy lines per role with its sub-roles, duties and privileges flattened
    /// in (eight times as many lines); `g = _, _, _` with organizations as
    /// domains (`*` for global assignments); windows as a request map role →
    /// `[from, to]`. Measured as the alternative.
    Flat,
}

/// `accessIn("Read", "Read|Update")`: whether an access is in a policy line's list.
fn access_in(access: Dynamic, list: Dynamic) -> Dynamic {
    let access = casbin::function_map::dynamic_to_str(&access);
    let list = casbin::function_map::dynamic_to_str(&list);
    list.split('|').any(|a| a == access).into()
}

fn access_list(bits: u8) -> String {
    Access::ALL.iter().filter(|a| bits & a.bit() != 0).map(|a| a.as_str()).collect::<Vec<_>>().join("|")
}

/// An instant as 20 digits that sort like the number (see the module docs).
fn instant(ms: i64) -> String {
    format!("{:020}", (ms as i128 - i64::MIN as i128) as u64)
}

fn window(a: &Assignment) -> (String, String) {
    (instant(a.valid_from.map_or(i64::MIN, |t| t.0)), instant(a.valid_to.map_or(i64::MAX, |t| t.0)))
}

fn is_timed(a: &Assignment) -> bool {
    a.valid_from.is_some() || a.valid_to.is_some()
}

const EFFECT: &str = "some(where (p.eft == allow)) && !some(where (p.eft == deny))";

/// The casbin model text of `encoding`, with `slots` time-bound slots for [`Encoding::Hierarchy`].
pub fn model_text(encoding: Encoding, slots: usize) -> String {
    match encoding {
        Encoding::Hierarchy => {
            let request: String = (0..slots).map(|i| format!(", t{i}")).collect();
            let timed: String = (0..slots)
                .map(|i| {
                    format!(
                        " || (r.t{i}.from <= r.at && r.at < r.t{i}.to && (\"*\" in r.t{i}.orgs || r.dom in r.t{i}.orgs) && g(r.t{i}.role, p.sub))"
                    )
                })
                .collect();
            format!(
                "[request_definition]\nr = sub, dom, obj, act, at{request}\n\n\
                 [policy_definition]\np = sub, obj, act, eft\n\n\
                 [role_definition]\ng = _, _\n\n\
                 [policy_effect]\ne = {EFFECT}\n\n\
                 [matchers]\nm = r.obj == p.obj && accessIn(r.act, p.act) && (g(r.sub, p.sub) || (r.dom != \"\" && g(r.sub + \"@\" + r.dom, p.sub)){timed})\n"
            )
        }
        Encoding::Flat => format!(
            "[request_definition]\nr = sub, dom, obj, act, at, win\n\n\
             [policy_definition]\np = sub, obj, act, eft\n\n\
             [role_definition]\ng = _, _, _\n\n\
             [policy_effect]\ne = {EFFECT}\n\n\
             [matchers]\nm = r.obj == p.obj && accessIn(r.act, p.act) && (g(r.sub, p.sub, \"*\") || g(r.sub, p.sub, r.dom)) && \
             (!(p.sub in r.win) || (r.win[p.sub][0] <= r.at && r.at < r.win[p.sub][1]))\n"
        ),
    }
}

/// Everything an enforcer is loaded with, and the per-user request attributes.
struct Policies {
    model: String,
    lines: Vec<Vec<String>>,
    links: Vec<Vec<String>>,
    /// Per user: the request values after `(sub, dom, obj, act, at)`.
    attributes: HashMap<String, Vec<Dynamic>>,
    /// The same for a user with none (unknown, disabled, or nothing time-bound).
    no_attributes: Vec<Dynamic>,
}

fn line(sub: &str, obj: String, bits: u8, eft: &str) -> Vec<String> {
    vec![sub.to_string(), obj, access_list(bits), eft.to_string()]
}

impl Policies {
    fn new(model: &Model, encoding: Encoding) -> Policies {
        let enabled = |a: &&Assignment| model.users.get(&a.user).is_some_and(|u| u.enabled);
        let mut lines = Vec::new();
        let mut links = Vec::new();
        let mut attributes = HashMap::new();
        match encoding {
            Encoding::Hierarchy => {
                for p in model.privileges.values() {
                    let sub = format!("priv:{}", p.name);
                    // One line per entry point and effect, grants on the same entry point merged.
                    let mut merged: BTreeMap<String, (u8, u8)> = BTreeMap::new();
                    for g in &p.entry_points {
                        let e = merged.entry(g.key().to_string()).or_default();
                        e.0 |= g.grant.allow.0;
                        e.1 |= g.grant.deny.0;
                    }
                    for (obj, (allow, deny)) in merged {
                        if allow != 0 {
                            lines.push(line(&sub, obj.clone(), allow, "allow"));
                        }
                        if deny != 0 {
                            lines.push(line(&sub, obj, deny, "deny"));
                        }
                    }
                }
                for d in model.duties.values() {
                    for p in model.duty_privileges(d) {
                        links.push(vec![format!("duty:{}", d.name), format!("priv:{p}")]);
                    }
                }
                for r in model.roles.values() {
                    let role = format!("role:{}", r.name);
                    links.extend(model.role_duties(r).map(|d| vec![role.clone(), format!("duty:{d}")]));
                    links.extend(model.role_privileges(r).map(|p| vec![role.clone(), format!("priv:{p}")]));
                    links.extend(model.role_sub_roles(r).map(|s| vec![role.clone(), format!("role:{s}")]));
                }
                let mut slots: HashMap<&str, Vec<Dynamic>> = HashMap::new();
                for a in model.assignments.iter().filter(enabled) {
                    let role = format!("role:{}", a.role);
                    if is_timed(a) {
                        let (from, to) = window(a);
                        let mut orgs = Map::new();
                        if a.is_global() {
                            orgs.insert("*".into(), true.into());
                        }
                        for o in &a.organizations {
                            orgs.insert(o.as_str().into(), true.into());
                        }
                        let mut slot = Map::new();
                        slot.insert("role".into(), role.into());
                        slot.insert("from".into(), from.into());
                        slot.insert("to".into(), to.into());
                        slot.insert("orgs".into(), orgs.into());
                        slots.entry(a.user.as_str()).or_default().push(slot.into());
                    } else if a.is_global() {
                        links.push(vec![format!("user:{}", a.user), role]);
                    } else {
                        for o in &a.organizations {
                            links.push(vec![format!("user:{}@{o}", a.user), role.clone()]);
                        }
                    }
                }
                let count = slots.values().map(Vec::len).max().unwrap_or(0).max(1);
                // A slot that is never active: its window is empty.
                let mut inert = Map::new();
                inert.insert("role".into(), "".into());
                inert.insert("from".into(), instant(i64::MAX).into());
                inert.insert("to".into(), instant(i64::MIN).into());
                inert.insert("orgs".into(), Map::new().into());
                let inert = Dynamic::from_map(inert);
                for (user, mut list) in slots {
                    list.resize(count, inert.clone());
                    attributes.insert(user.to_string(), list);
                }
                Policies { model: model_text(encoding, count), lines, links, attributes, no_attributes: vec![inert; count] }
            }
            Encoding::Flat => {
                let flat = Flat::new(model);
                for (role, grants) in flat.role_grants.iter().enumerate() {
                    let sub = format!("role:{}", flat.role_names[role]);
                    for &(ep, allow, deny) in grants {
                        let obj = flat.entry_points[ep as usize].to_string();
                        if allow != 0 {
                            lines.push(line(&sub, obj.clone(), allow, "allow"));
                        }
                        if deny != 0 {
                            lines.push(line(&sub, obj, deny, "deny"));
                        }
                    }
                }
                let mut windows: HashMap<&str, Map> = HashMap::new();
                for a in model.assignments.iter().filter(enabled) {
                    let (user, role) = (format!("user:{}", a.user), format!("role:{}", a.role));
                    if a.is_global() {
                        links.push(vec![user.clone(), role.clone(), "*".to_string()]);
                    }
                    for o in &a.organizations {
                        links.push(vec![user.clone(), role.clone(), o.clone()]);
                    }
                    if is_timed(a) {
                        let (from, to) = window(a);
                        let pair: Vec<Dynamic> = vec![from.into(), to.into()];
                        windows.entry(a.user.as_str()).or_default().insert(role.as_str().into(), pair.into());
                    }
                }
                for (user, map) in windows {
                    attributes.insert(user.to_string(), vec![Dynamic::from_map(map)]);
                }
                Policies {
                    model: model_text(encoding, 0),
                    lines,
                    links,
                    attributes,
                    no_attributes: vec![Dynamic::from_map(Map::new())],
                }
            }
        }
    }
}

/// Loads the model and policies into a fresh enforcer of either kind.
async fn load<E: CoreApi + MgmtApi>(text: &str, lines: Vec<Vec<String>>, links: Vec<Vec<String>>) -> Result<E> {
    let model = DefaultModel::from_str(text).await.context("parsing the casbin model")?;
    let mut e = E::new(model, MemoryAdapter::default()).await?;
    // The adapter would keep a second copy of every line; nothing is saved here.
    e.enable_auto_save(false);
    e.add_function("accessIn", OperatorFunction::Arg2(access_in));
    e.add_named_policies("p", lines).await?;
    e.add_named_grouping_policies("g", links).await?;
    Ok(e)
}

/// The plain `Enforcer` or the `CachedEnforcer` (same policies; its cache pays
/// off only on repeated requests, and a random stream has few).
pub struct CasbinEngine<E> {
    enforcer: E,
    attributes: HashMap<String, Vec<Dynamic>>,
    no_attributes: Vec<Dynamic>,
    /// The generated casbin model, for the README and for debugging.
    pub model_text: String,
    pub policy_lines: usize,
    pub role_links: usize,
    errors: Cell<usize>,
}

impl<E: CoreApi + MgmtApi> CasbinEngine<E> {
    pub fn build_with(model: &Model, encoding: Encoding) -> Result<CasbinEngine<E>> {
        let p = Policies::new(model, encoding);
        let (policy_lines, role_links) = (p.lines.len(), p.links.len());
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let enforcer = runtime.block_on(load::<E>(&p.model, p.lines, p.links))?;
        Ok(CasbinEngine {
            enforcer,
            attributes: p.attributes,
            no_attributes: p.no_attributes,
            model_text: p.model,
            policy_lines,
            role_links,
            errors: Cell::new(0),
        })
    }
}

impl CasbinEngine<Enforcer> {
    pub fn build(model: &Model, encoding: Encoding) -> Result<Self> {
        Self::build_with(model, encoding)
    }
}

impl CasbinEngine<CachedEnforcer> {
    pub fn build(model: &Model, encoding: Encoding) -> Result<Self> {
        Self::build_with(model, encoding)
    }
}

impl<E: CoreApi> Engine for CasbinEngine<E> {
    /// `(user:U, org or "", entry point, access, instant, attributes...)`.
    type Prepared<'r> = Vec<Dynamic>;

    fn prepare(&self, r: &Request) -> Vec<Dynamic> {
        let mut args: Vec<Dynamic> = vec![
            format!("user:{}", r.user).into(),
            r.org.clone().unwrap_or_default().into(),
            r.entry_point.to_string().into(),
            r.access.as_str().into(),
            instant(r.at.0).into(),
        ];
        args.extend(self.attributes.get(&r.user).unwrap_or(&self.no_attributes).iter().cloned());
        args
    }

    /// `enforce` takes its arguments by value: the clone is part of the timed
    /// call, and negligible next to the policy scan.
    fn check(&self, args: &Vec<Dynamic>) -> bool {
        match self.enforcer.enforce(args.clone()) {
            Ok(allowed) => allowed,
            Err(e) => {
                if self.errors.get() == 0 {
                    eprintln!("[warden-bench] casbin: first enforce error: {e}");
                }
                self.errors.set(self.errors.get() + 1);
                false
            }
        }
    }

    fn errors(&self) -> usize {
        self.errors.get()
    }

    fn describe(&self) -> Option<String> {
        Some(format!(
            "{} policy lines, {} role links, {} request attribute slots per user",
            self.policy_lines,
            self.role_links,
            self.no_attributes.len()
        ))
    }
}
