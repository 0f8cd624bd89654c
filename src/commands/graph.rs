//! `rollstack graph STACK... [--env E] [--format text|dot|mermaid]`: one stack's
//! resources, or (several files, a directory) the stacks of a workspace by the outputs
//! they read of each other.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use super::Failure;
use crate::cli::{GraphArgs, GraphFormat, SelectArgs};
use crate::graph::{StackGraph, render};
use crate::validate::validate_file;
use crate::workspace::Workspace;

/// Prints the dependency graph of one environment, or of the file as written.
pub fn run(args: &GraphArgs) -> Result<ExitCode, Failure> {
    if crate::workspace::is_workspace(&args.stacks) {
        let workspace =
            super::workspace::load(&args.stacks, args.env.as_deref(), &SelectArgs::default())?;
        super::write_stdout(&stacks(&workspace, args.format))?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = &args.stacks[0];
    let validated = validate_file(path).map_err(Failure::Invalid)?;
    let stack = match &args.env {
        None => validated.base,
        Some(env) => validated.environment(path, env).map_err(Failure::Invalid)?,
    };
    let graph = StackGraph::new(&stack);
    let output = match args.format {
        GraphFormat::Text => {
            // Validation has already refused cycles, so an order always exists.
            let order = graph.apply_order().unwrap_or_default();
            render::text(&graph, &order)
        }
        GraphFormat::Dot => render::dot(&graph, &stack.name),
        GraphFormat::Mermaid => render::mermaid(&graph),
    };
    std::io::stdout().lock().write_all(output.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The stacks in apply order with the stacks each reads; edges point from a consumer to
/// its producer, as between resources.
fn stacks(workspace: &Workspace, format: GraphFormat) -> String {
    let id = |name: &str| format!("stack_{}", name.replace('-', "_"));
    let mut out = match format {
        GraphFormat::Text => String::new(),
        GraphFormat::Dot => {
            "digraph \"workspace\" {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n"
                .to_owned()
        }
        GraphFormat::Mermaid => "flowchart LR\n".to_owned(),
    };
    let width = workspace
        .members
        .iter()
        .map(|m| m.name().len())
        .max()
        .unwrap_or(0);
    for member in &workspace.members {
        let name = member.name();
        let producers: Vec<&str> = workspace.producers(name).into_iter().collect();
        let _ = match format {
            GraphFormat::Text if producers.is_empty() => writeln!(out, "{name}"),
            GraphFormat::Text => writeln!(out, "{name:width$}  -> {}", producers.join(", ")),
            GraphFormat::Dot => writeln!(out, "  \"{name}\";"),
            GraphFormat::Mermaid => writeln!(out, "  {}[\"{name}\"]", id(name)),
        };
        for producer in producers {
            let _ = match format {
                GraphFormat::Text => Ok(()),
                GraphFormat::Dot => writeln!(out, "  \"{name}\" -> \"{producer}\";"),
                GraphFormat::Mermaid => writeln!(out, "  {} --> {}", id(name), id(producer)),
            };
        }
    }
    if matches!(format, GraphFormat::Dot) {
        out.push_str("}\n");
    }
    out
}
