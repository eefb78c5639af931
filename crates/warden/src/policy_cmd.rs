//! `warden policy list|show`: XDS policies as D365 shows them, the context
//! and then the tree of constrained tables and expressions
//! ([`warden_model::PolicyTree`]), read from what the AOT import kept.

use crate::commands::{printable, Context, Output};
use crate::table::Table;
use clap::Subcommand;
use std::fmt::Write as _;
use warden_model::{ConstrainedKind, ConstrainedNode, ObjectKind, PolicyTree, UnknownElement};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// List XDS policies with their primary table, context and number of constrained tables
    List,
    /// Show an XDS policy: primary table, query, context, and the tree of constrained tables and expressions
    Show {
        /// Policy name (AOT name)
        name: String,
    },
}

pub async fn policy(ctx: &Context, cmd: PolicyCommand) -> anyhow::Result<Output> {
    let (model, _) = ctx.warden().await?.store().load().await?;
    match cmd {
        PolicyCommand::List => {
            let trees: Vec<PolicyTree> = model.policies.values().map(|p| p.tree()).collect();
            if ctx.json {
                return ctx.json(&trees);
            }
            if trees.is_empty() {
                return Ok(Output::ok("No XDS policies. They come with an AOT import (AxSecurityPolicy).\n".to_string()));
            }
            let mut t = Table::new(&["NAME", "PRIMARY TABLE", "CONTEXT", "CONSTRAINED", "ENABLED"]);
            for tree in &trees {
                t.row(vec![tree.name.clone(), tree.primary_table.clone(), context(tree), count(&tree.constrained).to_string(), yes_no(tree.enabled).into()]);
            }
            Ok(Output::ok(t.render("")))
        }
        PolicyCommand::Show { name } => {
            let name = warden_core::resolve_name(&model, ObjectKind::Policy, &name)?;
            let policy = model.policies.get(&name).ok_or_else(|| anyhow::anyhow!("policy '{name}' vanished while reading"))?;
            let tree = policy.tree();
            if ctx.json {
                return ctx.json(&tree);
            }
            Ok(Output::ok(render(&tree)))
        }
    }
}

/// The tree as indented text; every value from the file escaped.
pub fn render(tree: &PolicyTree) -> String {
    let mut text = String::new();
    let label = tree.label.as_deref().map(|l| format!(" — {}", printable(l))).unwrap_or_default();
    let _ = writeln!(text, "Policy {}{label}", printable(&tree.name));
    let constrained = if tree.constrains_primary_table { " (constrained)" } else { "" };
    let _ = writeln!(text, "  primary table: {}{constrained}", printable(&tree.primary_table));
    let _ = writeln!(text, "  query: {}", printable(&tree.query));
    let _ = writeln!(text, "  context: {}", printable(&context(tree)));
    let _ = writeln!(text, "  operation: {}", tree.operation.as_deref().map_or("not set (D365's default)".into(), printable));
    let _ = writeln!(text, "  enabled: {}", yes_no(tree.enabled));
    if let Some(g) = &tree.policy_group {
        let _ = writeln!(text, "  policy group: {}", printable(g));
    }
    if let Some(j) = &tree.use_not_exist_join {
        let _ = writeln!(text, "  use not-exist join: {}", printable(j));
    }
    unknown(&mut text, "  ", &tree.unknown);
    let n = count(&tree.constrained);
    if n == 0 {
        let _ = writeln!(text, "\nConstrained tables: none");
    } else {
        let _ = writeln!(text, "\nConstrained tables and expressions ({n}):");
        if tree.imported_tree_replaced {
            let _ = writeln!(text, "  (edited in Warden: the list as export writes it; the imported relations and expressions are not written)");
        }
        for node in &tree.constrained {
            write_node(&mut text, 1, node);
        }
    }
    text
}

fn write_node(text: &mut String, depth: usize, node: &ConstrainedNode) {
    let indent = "  ".repeat(depth);
    let kind = match node.kind {
        ConstrainedKind::Table => "table".to_string(),
        ConstrainedKind::Expression => "expression".to_string(),
        ConstrainedKind::Other => format!("constrained entity of type {}", printable(node.type_name.as_deref().unwrap_or("(none)"))),
    };
    let table = if node.table.is_empty() { "(no name)".into() } else { printable(&node.table) };
    let _ = write!(text, "{indent}{kind} {table}");
    if let Some(r) = &node.relation {
        let _ = write!(text, ", relation {}", printable(r));
    }
    if let Some(j) = &node.use_not_exist_join {
        let _ = write!(text, ", use not-exist join: {}", printable(j));
    }
    text.push('\n');
    if let Some(v) = &node.value {
        let _ = writeln!(text, "{indent}  value: {}", printable(v));
    }
    unknown(text, &format!("{indent}  "), &node.unknown);
    for child in &node.children {
        write_node(text, depth + 1, child);
    }
}

/// Elements the tree does not interpret: listed, never left out.
fn unknown(text: &mut String, indent: &str, elements: &[UnknownElement]) {
    for e in elements {
        let _ = write!(text, "{indent}unknown element {}", printable(&e.element));
        if let Some(t) = &e.text {
            let _ = write!(text, ": {}", printable(t));
        }
        if e.children > 0 {
            let _ = write!(text, " ({} child element{})", e.children, if e.children == 1 { "" } else { "s" });
        }
        text.push('\n');
    }
}

fn context(tree: &PolicyTree) -> String {
    let value = tree.context.role_name.as_deref().or(tree.context.context_string.as_deref());
    match value {
        Some(v) => format!("{} {v}", tree.context.kind),
        None => tree.context.kind.to_string(),
    }
}

fn count(nodes: &[ConstrainedNode]) -> usize {
    nodes.iter().map(|n| 1 + count(&n.children)).sum()
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
