//! `rollstack schema`: the JSON Schema of the stack file.

use std::io::Write;
use std::process::ExitCode;

use super::Failure;

/// Prints `schemas/stack.schema.json`.
pub fn run() -> Result<ExitCode, Failure> {
    std::io::stdout()
        .lock()
        .write_all(crate::schema::stack_schema().as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
