//! Which stacks of the workspace a stack reads outputs of: those its values name
//! (`${stacks.S.O}`), those its templates read (`stacks.S.O`; a template subscripting
//! `stacks[...]` reads all), and those `uses:` lists, which may map one to another
//! environment's outputs (`network: { env: shared }`).

use std::collections::BTreeMap;

use super::Checker;
use crate::load::raw::{RawStack, RawUses};
use crate::model::{Interpolated, Reference, Stack, UsedStack};
use crate::template::StacksRead;
use crate::validate::formats;
use crate::validate::workspace::Producer;

/// Whether the stack file may read another stack: it writes `${stacks.`, lists `uses:`,
/// or a template it names reads `stacks`. Only then are the files beside it read.
pub(super) fn reads_other_stacks(checker: &Checker, raw: &RawStack) -> bool {
    let templates = raw
        .groups
        .values()
        .filter_map(|g| g.user_data.as_deref())
        .chain(raw.jobs.values().map(|j| j.run.as_str()));
    checker.file.text.contains("${stacks.")
        || raw.uses.is_some()
        || templates.into_iter().any(|t| {
            std::fs::read_to_string(checker.dir.join(t)).is_ok_and(|s| s.contains("stacks"))
        })
}

/// The stacks of the workspace `stack` reads, with where each publishes; every name in
/// `uses:` checked against the workspace.
pub(super) fn build(
    checker: &mut Checker,
    raw: &RawStack,
    stack: &Stack,
    workspace: &BTreeMap<String, Producer>,
) -> BTreeMap<String, UsedStack> {
    let mut uses: BTreeMap<String, UsedStack> = inferred(stack, workspace)
        .into_iter()
        .filter_map(|name| {
            let producer = workspace.get(&name)?;
            let used = UsedStack {
                state_bucket: producer.state_bucket.clone(),
                env: None,
            };
            Some((name, used))
        })
        .collect();
    for (name, env, path) in listed(raw) {
        let Some(producer) = workspace.get(&name) else {
            let (message, hint) = if name == raw.stack {
                (
                    "a stack cannot read its own outputs".to_owned(),
                    "take it out of `uses:`".to_owned(),
                )
            } else {
                let hint =
                    crate::diagnostic::did_you_mean(&name, workspace.keys().map(String::as_str))
                        .unwrap_or_else(|| {
                            "put its stack file in the same directory as this one".to_owned()
                        });
                (format!("no stack `{name}` beside this file"), hint)
            };
            let expected = "the `stack:` name of a stack file in the same directory";
            if path.ends_with(']') {
                checker.error_at_value(&path, message, expected, Some(hint));
            } else {
                checker.error_at_key(&path, message, expected, Some(hint));
            }
            continue;
        };
        if let Some(env) = &env
            && let Err((message, expected)) = formats::environment_name(env)
        {
            checker.error_at_value(&format!("{path}.env"), message, &expected, None);
            continue;
        }
        uses.insert(
            name,
            UsedStack {
                state_bucket: producer.state_bucket.clone(),
                env,
            },
        );
    }
    uses
}

/// The stacks `uses:` names, each with the environment it maps to and where it is
/// written.
fn listed(raw: &RawStack) -> Vec<(String, Option<String>, String)> {
    match &raw.uses {
        None => Vec::new(),
        Some(RawUses::Names(names)) => names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), None, format!("uses[{i}]")))
            .collect(),
        Some(RawUses::Mapped(mapped)) => mapped
            .iter()
            .map(|(name, used)| (name.clone(), used.env.clone(), format!("uses.{name}")))
            .collect(),
    }
}

/// The stacks `stack`'s values and templates name.
fn inferred(stack: &Stack, workspace: &BTreeMap<String, Producer>) -> Vec<String> {
    let in_values = stack
        .interpolated()
        .into_iter()
        .flat_map(Interpolated::references)
        .filter_map(|r| match r {
            Reference::StackOutput { stack, .. } => Some(stack.clone()),
            _ => None,
        });
    let templates = stack
        .groups
        .values()
        .filter_map(|g| g.user_data.as_ref())
        .chain(stack.jobs.values().map(|j| &j.run));
    let in_templates = templates
        .flat_map(|t| crate::template::stacks_read(&t.source))
        .flat_map(|read| match read {
            StacksRead::Output(one, _) | StacksRead::Stack(one) => vec![one],
            StacksRead::Any => workspace.keys().cloned().collect(),
        });
    in_values.chain(in_templates).collect()
}
