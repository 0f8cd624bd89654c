//! JSON Schemas generated from the Rust types (checked in under `schemas/`).

use crate::load::raw::RawStack;
use crate::plan::Plan;

/// The JSON Schema of the stack file, pretty-printed with a trailing newline.
pub fn stack_schema() -> String {
    pretty(schemars::schema_for!(RawStack))
}

/// The JSON Schema of the plan JSON, pretty-printed with a trailing newline.
pub fn plan_schema() -> String {
    pretty(schemars::schema_for!(Plan))
}

fn pretty(schema: schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
