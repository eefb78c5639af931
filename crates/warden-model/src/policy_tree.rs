//! An XDS policy as D365 shows it: its context, then the tree of constrained
//! tables and expressions, with their relations and values.
//!
//! The model stores a policy's constrained tables as a flat list and keeps the
//! AOT tree (relations, expressions, nesting) verbatim among its kept elements
//! ([`crate::Unmodelled`]), so that `export aot` writes the file back exactly.
//! [`Policy::tree`] reads that kept tree into typed, read-only nodes for
//! display; nothing is stored in this form. An element the tree does not know
//! is listed with the node it sits in, never dropped, so that the display says
//! everything the file says.

use crate::security::{Policy, PolicyContextType};
use crate::unmodelled::XmlElement;
use serde::Serialize;

/// A policy shown as a tree: what it filters, for whom, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyTree {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The table whose query defines the restriction.
    pub primary_table: String,
    /// The AOT query that selects the allowed primary-table rows.
    pub query: String,
    pub context: PolicyContext,
    /// D365 `Operation` (Select, Insert, ...), as written; absent: D365's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub enabled: bool,
    /// Whether the primary table itself is filtered (AOT `ConstrainedTable`).
    pub constrains_primary_table: bool,
    /// AOT `PolicyGroup`, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_group: Option<String>,
    /// AOT `UseNotExistJoin` of the policy, as written (`Yes`/`No`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_not_exist_join: Option<String>,
    /// The constrained tables and expressions, in file order.
    pub constrained: Vec<ConstrainedNode>,
    /// The imported tree names other tables than the policy lists now (its
    /// constrained tables were edited in Warden): `constrained` is the list,
    /// flat, as `export aot` writes it, without the imported relations and expressions.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub imported_tree_replaced: bool,
    /// Other elements kept with the policy that this tree does not interpret.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<UnknownElement>,
}

/// Whose rows the policy filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyContext {
    #[serde(rename = "type")]
    pub kind: PolicyContextType,
    /// The context string or role property (`ContextString`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_string: Option<String>,
    /// The role (`RoleName`), for a `RoleName` context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
}

/// What a constrained entity is (its `i:type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConstrainedKind {
    /// `AxSecurityPolicyConstrainedTable`: filtered through a table relation.
    Table,
    /// `AxSecurityPolicyConstrainedExpression`: filtered through an expression (`Value`).
    Expression,
    /// Another or no `i:type`; `type_name` says which.
    Other,
}

/// One constrained table or expression and the ones nested below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConstrainedNode {
    pub kind: ConstrainedKind,
    /// The `i:type` as written, when it is not one of the two known ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// The constrained table (`Name`).
    pub table: String,
    /// The relation to the parent table (`TableRelation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    /// The expression joining it to the parent (`Value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `UseNotExistJoin` of this entity, as written (`Yes`/`No`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_not_exist_join: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<ConstrainedNode>,
    /// Elements inside this entity that the tree does not interpret.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<UnknownElement>,
}

/// An element kept from the file that the tree does not interpret: its name,
/// its text when it has one, and how many child elements it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnknownElement {
    pub element: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub children: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

const CONSTRAINED_ENTITY: &str = "AxSecurityPolicyConstrainedEntity";
/// Elements of a policy that [`PolicyTree`] shows in fields of its own.
const POLICY_FIELDS: &[&str] = &["ConstrainedTables", "PolicyGroup", "UseNotExistJoin"];

impl Policy {
    /// The policy as a tree: the kept `<ConstrainedTables>` when the file had
    /// one and it still names the tables the policy lists, otherwise the flat
    /// list of constrained tables (as `export aot` decides).
    pub fn tree(&self) -> PolicyTree {
        let top = |name: &str| self.unmodelled.iter().find(|u| u.within.is_none() && u.element.name == name).map(|u| &u.element);
        let mut unknown = Vec::new();
        let kept = top("ConstrainedTables").map(|list| entities(list, &mut unknown));
        let listed = self.constrained_tables.iter().map(String::as_str);
        let replaced = kept.as_ref().is_some_and(|nodes| self.folded_others(tables_of(nodes)) != self.folded_others(listed));
        let constrained = match kept {
            Some(nodes) if !replaced => nodes,
            _ => self
                .constrained_tables
                .iter()
                .filter(|t| !t.eq_ignore_ascii_case(&self.primary_table))
                .map(|t| ConstrainedNode {
                    kind: ConstrainedKind::Table,
                    type_name: None,
                    table: t.clone(),
                    relation: None,
                    value: None,
                    use_not_exist_join: None,
                    children: Vec::new(),
                    unknown: Vec::new(),
                })
                .collect(),
        };
        let mut tree = self.tree_with(constrained, unknown, top);
        tree.imported_tree_replaced = replaced;
        tree
    }

    /// Table names other than the primary table, lower case, first of each.
    fn folded_others<'n>(&self, names: impl Iterator<Item = &'n str>) -> Vec<String> {
        let primary = self.primary_table.to_lowercase();
        let mut seen = std::collections::HashSet::new();
        names.map(|n| n.trim().to_lowercase()).filter(|n| *n != primary && seen.insert(n.clone())).collect()
    }

    fn tree_with<'a>(&'a self, constrained: Vec<ConstrainedNode>, mut unknown: Vec<UnknownElement>, top: impl Fn(&str) -> Option<&'a XmlElement>) -> PolicyTree {
        let text = |name: &str| top(name).and_then(|e| e.text.clone());
        unknown.extend(self.unmodelled.iter().filter(|u| u.within.is_some() || !POLICY_FIELDS.contains(&u.element.name.as_str())).map(|u| unknown_element(&u.element)));
        PolicyTree {
            name: self.name.clone(),
            label: self.label.clone(),
            primary_table: self.primary_table.clone(),
            query: self.query.clone(),
            context: PolicyContext { kind: self.context_type, context_string: self.context_string.clone(), role_name: self.role_name.clone() },
            operation: self.operation.clone(),
            enabled: self.enabled,
            constrains_primary_table: self.constrained_tables.iter().any(|t| t.eq_ignore_ascii_case(&self.primary_table)),
            policy_group: text("PolicyGroup"),
            use_not_exist_join: text("UseNotExistJoin"),
            constrained,
            imported_tree_replaced: false,
            unknown,
        }
    }
}

/// The entities of a `<ConstrainedTables>` list; anything else in it goes to `unknown`.
fn entities(list: &XmlElement, unknown: &mut Vec<UnknownElement>) -> Vec<ConstrainedNode> {
    let mut out = Vec::new();
    for child in &list.children {
        if child.name == CONSTRAINED_ENTITY {
            out.push(node(child));
        } else {
            unknown.push(unknown_element(child));
        }
    }
    out
}

fn node(entity: &XmlElement) -> ConstrainedNode {
    let type_name = entity.attributes.iter().find(|a| a.name == "i:type").map(|a| a.value.clone());
    let kind = match type_name.as_deref() {
        Some("AxSecurityPolicyConstrainedTable") => ConstrainedKind::Table,
        Some("AxSecurityPolicyConstrainedExpression") => ConstrainedKind::Expression,
        _ => ConstrainedKind::Other,
    };
    let mut n = ConstrainedNode {
        kind,
        type_name: if kind == ConstrainedKind::Other { type_name } else { None },
        table: String::new(),
        relation: None,
        value: None,
        use_not_exist_join: None,
        children: Vec::new(),
        unknown: Vec::new(),
    };
    for child in &entity.children {
        let text = || child.text.clone().filter(|t| !t.is_empty());
        match child.name.as_str() {
            "Name" if child.children.is_empty() => n.table = child.text.clone().unwrap_or_default(),
            "TableRelation" if child.children.is_empty() => n.relation = text(),
            "Value" if child.children.is_empty() => n.value = text(),
            "UseNotExistJoin" if child.children.is_empty() => n.use_not_exist_join = text(),
            "ConstrainedTables" => {
                let mut unknown = Vec::new();
                n.children = entities(child, &mut unknown);
                n.unknown.extend(unknown);
            }
            _ => n.unknown.push(unknown_element(child)),
        }
    }
    n
}

/// The tables of a tree, depth first, as the reader listed them.
fn tables_of(nodes: &[ConstrainedNode]) -> impl Iterator<Item = &str> {
    let mut out = Vec::new();
    fn walk<'n>(nodes: &'n [ConstrainedNode], out: &mut Vec<&'n str>) {
        for n in nodes {
            out.push(n.table.as_str());
            walk(&n.children, out);
        }
    }
    walk(nodes, &mut out);
    out.into_iter()
}

fn unknown_element(e: &XmlElement) -> UnknownElement {
    UnknownElement { element: e.name.clone(), text: e.text.clone().filter(|t| !t.is_empty()), children: e.children.len() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unmodelled::{Unmodelled, XmlAttribute};

    fn el(name: &str, text: Option<&str>, children: Vec<XmlElement>) -> XmlElement {
        XmlElement { name: name.into(), attributes: Vec::new(), text: text.map(String::from), children }
    }

    fn entity(kind: &str, name: &str, rest: Vec<XmlElement>) -> XmlElement {
        let mut e = el(CONSTRAINED_ENTITY, None, vec![el("Name", Some(name), vec![])]);
        e.attributes.push(XmlAttribute { name: "i:type".into(), value: kind.into() });
        e.children.extend(rest);
        e
    }

    fn policy() -> Policy {
        Policy {
            name: "P".into(),
            label: None,
            description: None,
            model: None,
            primary_table: "VendTable".into(),
            query: "Q".into(),
            context_type: PolicyContextType::RoleProperty,
            context_string: Some("Vendors".into()),
            role_name: None,
            constrained_tables: vec!["VendTable".into(), "A".into()],
            operation: None,
            enabled: true,
            unmodelled: Vec::new(),
        }
    }

    #[test]
    fn flat_list_without_a_kept_tree() {
        let t = policy().tree();
        assert!(t.constrains_primary_table);
        assert_eq!(t.constrained.len(), 1);
        assert_eq!((t.constrained[0].kind, t.constrained[0].table.as_str()), (ConstrainedKind::Table, "A"));
    }

    #[test]
    fn kept_tree_with_nesting_and_unknown_elements() {
        let mut p = policy();
        p.constrained_tables.push("B".into());
        let nested = entity("AxSecurityPolicyConstrainedExpression", "B", vec![el("Value", Some("(A.x == B.x)"), vec![]), el("Mystery", Some("42"), vec![])]);
        let a = entity(
            "AxSecurityPolicyConstrainedTable",
            "A",
            vec![el("ConstrainedTables", None, vec![nested]), el("TableRelation", Some("VendTable"), vec![]), el("UseNotExistJoin", Some("Yes"), vec![])],
        );
        let list = el("ConstrainedTables", None, vec![a, el("Stray", None, vec![])]);
        for (name, e) in [("PolicyGroup", el("PolicyGroup", Some("G"), vec![])), ("ConstrainedTables", list), ("Tags", el("Tags", Some("t"), vec![]))] {
            p.unmodelled.push(Unmodelled { within: None, after: Some(name.into()), element: e });
        }
        let t = p.tree();
        assert_eq!(t.policy_group.as_deref(), Some("G"));
        assert_eq!(t.unknown.iter().map(|u| u.element.as_str()).collect::<Vec<_>>(), ["Stray", "Tags"]);
        let a = &t.constrained[0];
        assert_eq!((a.relation.as_deref(), a.use_not_exist_join.as_deref()), (Some("VendTable"), Some("Yes")));
        let b = &a.children[0];
        assert_eq!((b.kind, b.table.as_str(), b.value.as_deref()), (ConstrainedKind::Expression, "B", Some("(A.x == B.x)")));
        assert_eq!(b.unknown, vec![UnknownElement { element: "Mystery".into(), text: Some("42".into()), children: 0 }]);
        assert!(!t.imported_tree_replaced);
        // Edited in Warden: the list wins, as export writes it.
        p.constrained_tables = vec!["A".into(), "C".into()];
        let t = p.tree();
        assert!(t.imported_tree_replaced);
        assert_eq!(t.constrained.iter().map(|n| n.table.as_str()).collect::<Vec<_>>(), ["A", "C"]);
    }
}
