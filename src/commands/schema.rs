//! `rollstack schema [stack|plan]`: the JSON Schema of the stack file or the plan JSON.

use std::io::Write;
use std::process::ExitCode;

use super::Failure;
use crate::cli::{SchemaArgs, SchemaKind};

/// Prints `schemas/stack.schema.json` or `schemas/plan.schema.json`.
pub fn run(args: &SchemaArgs) -> Result<ExitCode, Failure> {
    let schema = match args.kind {
        SchemaKind::Stack => crate::schema::stack_schema(),
        SchemaKind::Plan => crate::schema::plan_schema(),
    };
    std::io::stdout().lock().write_all(schema.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
