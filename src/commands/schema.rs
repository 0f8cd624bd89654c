//! `rollstack schema [stack|plan|notification]`: the JSON Schema of the stack file, the
//! plan JSON or a webhook notification.

use std::io::Write;
use std::process::ExitCode;

use super::Failure;
use crate::cli::{SchemaArgs, SchemaKind};

/// Prints `schemas/stack.schema.json`, `schemas/plan.schema.json` or
/// `schemas/notification.schema.json`.
pub fn run(args: &SchemaArgs) -> Result<ExitCode, Failure> {
    let schema = match args.kind {
        SchemaKind::Stack => crate::schema::stack_schema(),
        SchemaKind::Plan => crate::schema::plan_schema(),
        SchemaKind::Notification => crate::schema::notification_schema(),
    };
    std::io::stdout().lock().write_all(schema.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
