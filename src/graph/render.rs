//! The dependency graph as text, Graphviz dot, or Mermaid.

use std::fmt::Write;

use super::StackGraph;
use crate::model::Address;

/// One line per resource in apply order, with what it depends on.
pub fn text(graph: &StackGraph, order: &[Address]) -> String {
    let width = order.iter().map(|a| a.to_string().len()).max().unwrap_or(0);
    let mut out = String::new();
    for address in order {
        let deps = graph.dependencies(address);
        if deps.is_empty() {
            let _ = writeln!(out, "{address}");
        } else {
            let deps: Vec<String> = deps.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                out,
                "{:width$}  -> {}",
                address.to_string(),
                deps.join(", ")
            );
        }
    }
    out
}

/// A Graphviz digraph; edges point from a resource to what it depends on.
pub fn dot(graph: &StackGraph, stack_name: &str) -> String {
    let mut out = format!(
        "digraph \"{stack_name}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n"
    );
    for address in graph.addresses() {
        let _ = writeln!(
            out,
            "  \"{address}\" [label=\"{address}\", style=filled, fillcolor=\"{}\"];",
            color(address)
        );
    }
    for address in graph.addresses() {
        for dep in graph.dependencies(address) {
            let _ = writeln!(out, "  \"{address}\" -> \"{dep}\";");
        }
    }
    out.push_str("}\n");
    out
}

/// A Mermaid flowchart, as GitHub renders in markdown.
pub fn mermaid(graph: &StackGraph) -> String {
    let id = |a: &Address| format!("{}_{}", a.kind(), a.name().replace('-', "_"));
    let mut out = String::from("flowchart LR\n");
    for address in graph.addresses() {
        let _ = writeln!(out, "  {}[\"{address}\"]", id(address));
    }
    for address in graph.addresses() {
        for dep in graph.dependencies(address) {
            let _ = writeln!(out, "  {} --> {}", id(address), id(dep));
        }
    }
    out
}

fn color(address: &Address) -> &'static str {
    match address {
        Address::App(_) => "#e8f0fe",
        Address::SecurityGroup(_) | Address::SecurityGroupRules(_) => "#fef7e0",
        Address::CloudFormation(_) => "#fce8e6",
        Address::Group(_) => "#e6f4ea",
        Address::Job(_) => "#f3e8fd",
        Address::Site(_) => "#e0f7fa",
    }
}
