//! JSON Schemas generated from the Rust types (checked in under `schemas/`).

use crate::load::raw::RawStack;

/// The JSON Schema of the stack file, pretty-printed with a trailing newline.
pub fn stack_schema() -> String {
    let schema = schemars::schema_for!(RawStack);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
