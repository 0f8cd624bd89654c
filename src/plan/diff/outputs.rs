//! The stack's `outputs:` against what its last successful apply published: what the
//! next apply publishes for the stacks that read them. An outputs-only change is a
//! change (apply publishes it), and a value known only after apply shows as such, so a
//! workspace plan can tell the consumers.

use std::collections::BTreeMap;

use super::cloudformation::interpolate;
use crate::model::{Reference, Stack};
use crate::observe::Observed;
use crate::plan::{BeforeAfter, Redactor};
use crate::template::Outputs;
use crate::template::StacksRead;

/// The outputs `stack` would publish, as far as the plan knows them: each value, or
/// `(known after apply)` where it names what the plan changes. One holding a sensitive
/// value is left out (it is never published).
pub fn planned(
    stack: &Stack,
    observed: &Observed,
    outputs: &Outputs,
    redactor: &Redactor,
) -> BTreeMap<String, String> {
    let security_groups = observed.security_group_ids(stack);
    stack
        .outputs
        .iter()
        .map(|(name, value)| {
            let text = interpolate(stack, value, &security_groups, outputs);
            (name.clone(), text)
        })
        .filter(|(_, text)| redactor.redact(text) == *text)
        .collect()
}

/// The published outputs that change: new, changed, known only after apply, or gone
/// from the file.
pub fn changes(
    planned: &BTreeMap<String, String>,
    observed: &Observed,
) -> BTreeMap<String, BeforeAfter> {
    let published = observed
        .own_published
        .as_ref()
        .map(|p| &p.outputs)
        .cloned()
        .unwrap_or_default();
    let mut changes: BTreeMap<String, BeforeAfter> = planned
        .iter()
        .map(|(name, after)| {
            let change = BeforeAfter {
                before: published.get(name).cloned(),
                after: Some(after.clone()),
            };
            (name.clone(), change)
        })
        .filter(|(_, c)| c.changes() || c.after.as_deref().is_some_and(crate::template::unknown))
        .collect();
    for (name, before) in published {
        if !planned.contains_key(&name) {
            let gone = BeforeAfter {
                before: Some(before),
                after: None,
            };
            changes.insert(name, gone);
        }
    }
    changes
}

/// The outputs of other stacks `stack` reads, by stack, as `observed` has them: those
/// its values and templates name (all of a stack's where a template reads it whole,
/// all of every stack's where one subscripts `stacks[...]`).
pub fn read(stack: &Stack, observed: &Observed) -> BTreeMap<String, BTreeMap<String, String>> {
    let named = stack
        .interpolated()
        .into_iter()
        .flat_map(crate::model::Interpolated::references)
        .filter_map(|r| match r {
            Reference::StackOutput { stack, output } => {
                Some(StacksRead::Output(stack.clone(), output.clone()))
            }
            _ => None,
        });
    let templates = stack
        .groups
        .values()
        .filter_map(|g| g.user_data.as_ref())
        .chain(stack.jobs.values().map(|j| &j.run))
        .flat_map(|t| crate::template::stacks_read(&t.source));
    let reads: Vec<StacksRead> = named.chain(templates).collect();
    let wanted = |producer: &str, output: &str| {
        reads.iter().any(|r| match r {
            StacksRead::Output(s, o) => s == producer && o == output,
            StacksRead::Stack(s) => s == producer,
            StacksRead::Any => true,
        })
    };
    observed
        .published
        .iter()
        .filter_map(|(producer, p)| {
            let outputs: BTreeMap<String, String> = p
                .as_ref()?
                .outputs
                .iter()
                .filter(|(o, _)| wanted(producer, o))
                .map(|(o, v)| (o.clone(), v.clone()))
                .collect();
            Some((producer.clone(), outputs))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::records::Published;

    fn published(pairs: &[(&str, &str)]) -> Observed {
        Observed {
            own_published: Some(Published {
                history: 1,
                written_at: "2026-01-01T00:00:00Z".to_owned(),
                outputs: pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            }),
            ..Observed::default()
        }
    }

    fn planned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn only_what_the_next_apply_publishes_differently_is_a_change() {
        let cases = [
            // (published, planned, the outputs that change)
            (vec![("a", "1")], vec![("a", "1")], vec![]),
            (vec![("a", "1")], vec![("a", "2")], vec!["a"]),
            (vec![], vec![("a", "1")], vec!["a"]),
            (vec![("a", "1"), ("b", "2")], vec![("a", "1")], vec!["b"]),
            (
                vec![("a", "1")],
                vec![("a", "(known after apply)")],
                vec!["a"],
            ),
        ];
        for (before, after, expected) in cases {
            let changes = changes(&planned(&after), &published(&before));
            let names: Vec<&str> = changes.keys().map(String::as_str).collect();
            assert_eq!(names, expected, "{before:?} -> {after:?}");
        }
    }

    #[test]
    fn a_stack_that_never_published_publishes_everything() {
        let changes = changes(&planned(&[("a", "1")]), &Observed::default());
        assert_eq!(changes["a"].before, None);
        assert_eq!(changes["a"].after.as_deref(), Some("1"));
    }
}
