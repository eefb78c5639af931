//! Automatic role assignment (D365's "Assign users to roles" rules): a role
//! goes to every user whose attributes match a rule's conditions, except the
//! users the rule excludes. Warden re-evaluates the rules whenever users or
//! rules change, so what rules give is always derived, never edited by hand.

use crate::identity::{Assignment, User};
use crate::model::Model;
use crate::ParseEnumError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// How a condition compares a user attribute with its values. Comparisons
/// ignore case, as D365's queries over user fields do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionOp {
    /// The attribute equals one of the values.
    Equals,
    /// The attribute equals none of the values (an unset attribute counts as empty).
    NotEquals,
    /// The attribute contains one of the values.
    Contains,
    /// The attribute starts with one of the values.
    StartsWith,
}

impl ConditionOp {
    /// The operator as written in `ATTRIBUTE<op>VALUE` (see [`Condition::from_str`]).
    pub const fn symbol(self) -> &'static str {
        match self {
            ConditionOp::Equals => "=",
            ConditionOp::NotEquals => "!=",
            ConditionOp::Contains => "~=",
            ConditionOp::StartsWith => "^=",
        }
    }
}

/// One test over a user attribute. Attributes are the user's own fields
/// (`id`, `name`, `email`, `type`, `enabled`) and its free-form
/// [`User::attributes`] (`department`, `company`, `title`, ...).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[\p{L}\p{N}_.-]+$"))]
    pub attribute: String,
    pub op: ConditionOp,
    /// Alternatives: the condition holds when one of them matches (all of them, for `not_equals`).
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub values: Vec<String>,
}

impl Condition {
    pub fn holds_for(&self, user: &User) -> bool {
        let actual = user.attribute(&self.attribute).unwrap_or_default().to_lowercase();
        let mut values = self.values.iter().map(|v| v.to_lowercase());
        match self.op {
            ConditionOp::Equals => values.any(|v| actual == v),
            ConditionOp::NotEquals => values.all(|v| actual != v),
            ConditionOp::Contains => values.any(|v| actual.contains(&v)),
            ConditionOp::StartsWith => values.any(|v| actual.starts_with(&v)),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.attribute, self.op.symbol(), self.values.join("|"))
    }
}

/// `department=Finance|Accounting`, `title!=Intern`, `email~=@contoso.com`,
/// `company^=US`: the form the command line takes and prints.
impl FromStr for Condition {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected = "ATTRIBUTE=VALUE, ATTRIBUTE!=VALUE, ATTRIBUTE~=VALUE (contains) or ATTRIBUTE^=VALUE (starts with); alternatives separated by |";
        let eq = s.find('=').ok_or_else(|| ParseEnumError::new("condition", s, expected))?;
        let (op, attr_end) = match s[..eq].chars().last() {
            Some('!') => (ConditionOp::NotEquals, eq - 1),
            Some('~') => (ConditionOp::Contains, eq - 1),
            Some('^') => (ConditionOp::StartsWith, eq - 1),
            _ => (ConditionOp::Equals, eq),
        };
        let attribute = s[..attr_end].trim();
        let values: Vec<String> = s[eq + 1..].split('|').map(|v| v.trim().to_string()).collect();
        if attribute.is_empty() || values.iter().any(String::is_empty) {
            return Err(ParseEnumError::new("condition", s, expected));
        }
        Ok(Condition { attribute: attribute.to_string(), op, values })
    }
}

/// A rule that gives `role` (globally, or in `organizations`) to every user
/// matching all `conditions`, except `excluded_users`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentRule {
    pub name: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// All must hold. At least one: a rule never silently means "everyone".
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub conditions: Vec<Condition>,
    /// Empty: the assignments the rule makes are global.
    #[serde(default)]
    pub organizations: Vec<String>,
    /// Users the rule never assigns (D365's manually excluded users), even when they match.
    #[serde(default)]
    pub excluded_users: Vec<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

impl AssignmentRule {
    /// Whether the rule gives its role to `user`.
    pub fn applies_to(&self, user: &User) -> bool {
        self.enabled
            && !self.excluded_users.iter().any(|x| x == &user.id)
            && !self.conditions.is_empty()
            && self.conditions.iter().all(|c| c.holds_for(user))
    }
}

impl Model {
    /// The assignments the rules call for, by (user, role), before manual
    /// assignments are taken into account. When several rules give a user the
    /// same role, the first by name is recorded and their scopes merge (global
    /// if any of them is global).
    pub fn rule_assignments(&self) -> BTreeMap<(String, String), Assignment> {
        let mut out = BTreeMap::new();
        if self.assignment_rules.is_empty() {
            return out;
        }
        for user in self.users.values() {
            for (role, a) in self.rule_assignments_of(user) {
                out.insert((user.id.clone(), role), a);
            }
        }
        out
    }

    /// [`Model::rule_assignments`] of one user, by role.
    pub fn rule_assignments_of(&self, user: &User) -> BTreeMap<String, Assignment> {
        let mut out: BTreeMap<String, Assignment> = BTreeMap::new();
        for rule in self.assignment_rules.values().filter(|r| r.applies_to(user)) {
            match out.get_mut(&rule.role) {
                None => {
                    let mut a = Assignment::global(&user.id, &rule.role);
                    a.organizations = rule.organizations.clone();
                    a.organizations.sort();
                    a.rule = Some(rule.name.clone());
                    out.insert(rule.role.clone(), a);
                }
                Some(a) if a.is_global() => {}
                Some(a) if rule.organizations.is_empty() => a.organizations.clear(),
                Some(a) => {
                    a.organizations.extend(rule.organizations.iter().cloned());
                    a.organizations.sort();
                    a.organizations.dedup();
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn user(id: &str, attrs: &[(&str, &str)]) -> User {
        let mut u = User::new(id);
        u.attributes = attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        u
    }

    fn rule(name: &str, role: &str, conditions: &[&str], orgs: &[&str]) -> AssignmentRule {
        AssignmentRule {
            name: name.into(),
            role: role.into(),
            description: None,
            conditions: conditions.iter().map(|c| c.parse().unwrap()).collect(),
            organizations: orgs.iter().map(|o| o.to_string()).collect(),
            excluded_users: Vec::new(),
            enabled: true,
        }
    }

    #[test]
    fn conditions_parse_and_print() {
        for (text, op) in [
            ("department=Finance|Accounting", ConditionOp::Equals),
            ("title!=Intern", ConditionOp::NotEquals),
            ("email~=@contoso.com", ConditionOp::Contains),
            ("company^=US", ConditionOp::StartsWith),
        ] {
            let c: Condition = text.parse().unwrap();
            assert_eq!(c.op, op);
            assert_eq!(c.to_string(), text);
        }
        for bad in ["department", "=Finance", "department=", "department=A||B", "!=x"] {
            let e = bad.parse::<Condition>().unwrap_err().to_string();
            assert!(e.contains("ATTRIBUTE=VALUE"), "{bad}: {e}");
        }
    }

    #[test]
    fn conditions_ignore_case_and_treat_unset_as_empty() {
        let alice = user("alice", &[("Department", "Finance"), ("title", "Controller")]);
        assert!("department=finance".parse::<Condition>().unwrap().holds_for(&alice));
        assert!("TITLE^=contr".parse::<Condition>().unwrap().holds_for(&alice));
        assert!("company!=USMF".parse::<Condition>().unwrap().holds_for(&alice));
        assert!(!"company=USMF".parse::<Condition>().unwrap().holds_for(&alice));
        assert!("type=person".parse::<Condition>().unwrap().holds_for(&alice));
        assert!("enabled=true".parse::<Condition>().unwrap().holds_for(&alice));
        assert!("id=ALICE".parse::<Condition>().unwrap().holds_for(&alice));
    }

    #[test]
    fn rules_exclude_users_merge_scopes_and_never_mean_everyone() {
        let mut m = Model::default();
        m.roles.insert("Clerk".into(), Role::new("Clerk"));
        for u in [user("a", &[("department", "Finance")]), user("b", &[("department", "Finance")]), user("c", &[])] {
            m.users.insert(u.id.clone(), u);
        }
        let mut r1 = rule("r1", "Clerk", &["department=Finance"], &["USMF"]);
        r1.excluded_users.push("b".into());
        m.assignment_rules.insert("r1".into(), r1);
        m.assignment_rules.insert("r2".into(), rule("r2", "Clerk", &["department=Finance"], &["DEMF"]));
        let got = m.rule_assignments();
        let a = &got[&("a".to_string(), "Clerk".to_string())];
        assert_eq!((a.organizations.clone(), a.rule.as_deref()), (vec!["DEMF".to_string(), "USMF".to_string()], Some("r1")));
        let b = &got[&("b".to_string(), "Clerk".to_string())];
        assert_eq!((b.organizations.clone(), b.rule.as_deref()), (vec!["DEMF".to_string()], Some("r2")));
        assert!(!got.contains_key(&("c".to_string(), "Clerk".to_string())));

        m.assignment_rules.insert("r3".into(), rule("r3", "Clerk", &["department=Finance"], &[]));
        assert!(m.rule_assignments()[&("a".to_string(), "Clerk".to_string())].is_global());

        m.assignment_rules.clear();
        let mut empty = rule("all", "Clerk", &[], &[]);
        assert!(!empty.applies_to(&m.users["c"]));
        empty.conditions.push("id!=nobody".parse().unwrap());
        assert!(empty.applies_to(&m.users["c"]));
        empty.enabled = false;
        assert!(!empty.applies_to(&m.users["c"]));
    }
}
