//! `outputs:`: what a successful apply publishes for other stacks. Each value is text
//! with `${...}` references, resolved like any other (an output of a CloudFormation node
//! must be one its template declares).

use std::collections::BTreeMap;

use super::{Checker, Names};
use crate::load::raw::RawStack;
use crate::model::{Address, Interpolated, Stack};
use crate::validate::references::{Written, resolve_interpolations};

/// The stack's outputs, checked.
pub(super) fn build(
    checker: &mut Checker,
    names: &Names,
    raw: &RawStack,
    stack: &Stack,
) -> BTreeMap<String, Interpolated> {
    let declared: BTreeMap<String, Vec<String>> = stack
        .cloudformation
        .iter()
        .map(|(n, c)| (n.clone(), c.outputs.clone()))
        .collect();
    let mut outputs = BTreeMap::new();
    for (name, text) in &raw.outputs {
        let path = format!("outputs.{name}");
        if !is_output_name(name) {
            checker.error_at_key(
                &path,
                format!("`{name}` is no output name"),
                "a lower-case letter, then letters, digits or `_` (64 at most)",
                Some("a consumer writes it as `${stacks.STACK.NAME}`".to_owned()),
            );
        }
        let value = Interpolated::parse(text);
        let written = Written {
            value: &value,
            what: "the output",
            path: &path,
        };
        // Published after the whole apply: its references order nothing.
        let mut edges = Vec::new();
        let from = Address::App(String::new());
        resolve_interpolations(checker, names, &declared, written, &from, &mut edges);
        outputs.insert(name.clone(), value);
    }
    outputs
}

/// `[a-z][a-z0-9_]{0,63}`: a name a `${stacks.STACK.NAME}` reference can carry.
fn is_output_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
