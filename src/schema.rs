//! JSON Schemas generated from the Rust types (checked in under `schemas/`).

use crate::load::raw::RawStack;
use crate::plan::Plan;

/// The JSON Schema of the stack file, pretty-printed with a trailing newline. An
/// optional field is absent, never `null` (the loader refuses `null`), so editors do
/// not offer it.
pub fn stack_schema() -> String {
    let mut schema = schemars::schema_for!(RawStack).to_value();
    without_null(&mut schema);
    with_markdown(&mut schema);
    pretty(schema)
}

/// Each `description` also as `markdownDescription`, which yaml-language-server renders
/// (backticks as code) where it would escape a plain description.
fn with_markdown(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get("description") {
                let text = text.clone();
                map.insert("markdownDescription".to_owned(), Value::String(text));
            }
            map.values_mut().for_each(with_markdown);
        }
        Value::Array(items) => items.iter_mut().for_each(with_markdown),
        _ => {}
    }
}

/// Takes `null` out of every `type` list and `anyOf`: what the SDK-style `Option` gives
/// the schema, and what a stack file never holds.
fn without_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    map.insert("type".to_owned(), only);
                }
            }
            if let Some(Value::Array(any)) = map.get_mut("anyOf") {
                any.retain(|s| s.get("type").is_none_or(|t| t != "null"));
                if any.len() == 1 {
                    let only = any.remove(0);
                    map.remove("anyOf");
                    if let Value::Object(only) = only {
                        for (key, value) in only {
                            map.entry(key).or_insert(value);
                        }
                    }
                }
            }
            map.values_mut().for_each(without_null);
        }
        Value::Array(items) => items.iter_mut().for_each(without_null),
        _ => {}
    }
}

/// The JSON Schema of the plan JSON, pretty-printed with a trailing newline.
pub fn plan_schema() -> String {
    pretty(schemars::schema_for!(Plan))
}

/// The JSON Schema of a `json` webhook's notification (`schemas/notification.schema.json`).
pub fn notification_schema() -> String {
    pretty(schemars::schema_for!(crate::notify::Notification))
}

fn pretty(schema: impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
