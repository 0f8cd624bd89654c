//! The stack's `outputs:` against what its last successful apply published: what the
//! next apply publishes for the stacks that read them. An outputs-only change is a
//! change (apply publishes it), and a value known only after apply shows as such, so a
//! workspace plan can tell the consumers.

use std::collections::BTreeMap;

use super::cloudformation::interpolate;
use crate::model::Stack;
use crate::observe::Observed;
use crate::plan::{BeforeAfter, Redactor};
use crate::template::Outputs;

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

/// The outputs of the stacks `observed` read, by stack, as the plan uses them.
pub fn read(observed: &Observed) -> BTreeMap<String, BTreeMap<String, String>> {
    observed
        .published
        .iter()
        .filter_map(|(stack, p)| Some((stack.clone(), p.as_ref()?.outputs.clone())))
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
