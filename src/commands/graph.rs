//! `rollstack graph STACK [--env E] [--format text|dot|mermaid]`.

use std::io::Write;
use std::process::ExitCode;

use super::Failure;
use crate::cli::{GraphArgs, GraphFormat};
use crate::graph::{StackGraph, render};
use crate::validate::validate_file;

/// Prints the dependency graph of one environment, or of the file as written.
pub fn run(args: &GraphArgs) -> Result<ExitCode, Failure> {
    let validated = validate_file(&args.stack).map_err(Failure::Invalid)?;
    let stack = match &args.env {
        None => validated.base,
        Some(env) => validated
            .environment(&args.stack, env)
            .map_err(Failure::Invalid)?,
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
