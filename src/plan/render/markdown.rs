//! The pull-request comment: a summary table, drift, and a collapsible `<details>` per
//! change with a fenced `diff` block.

use std::fmt::Write;

use super::{detail_lines, effective, headline};
use crate::plan::Plan;

/// The plan as GitHub-flavoured markdown.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### rollstack plan: `{}` / `{}`\n\n**{}**\n",
        plan.stack,
        plan.environment,
        plan.summary.line()
    );
    let changes: Vec<_> = effective(plan).collect();
    if changes.is_empty() {
        let _ = writeln!(out, "No changes: AWS matches the stack file.\n");
    } else {
        let _ = writeln!(out, "| | Address | Action | Reason |\n|---|---|---|---|");
        for change in &changes {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} | {} |",
                change.action.symbol(),
                change.address,
                headline(change),
                cell(&change.reason)
            );
        }
        out.push('\n');
    }
    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "#### Drift\n\nChanged outside rollstack; the plan sets it right.\n"
        );
        for drift in &plan.drift {
            let _ = writeln!(out, "- `{}`: {}", drift.address, cell(&drift.message));
        }
        out.push('\n');
    }
    for change in changes {
        let _ = writeln!(
            out,
            "<details><summary><code>{} {}</code>: {}</summary>\n\n```diff",
            change.action.symbol().trim(),
            change.address,
            headline(change)
        );
        for line in detail_lines(change) {
            // A fence inside the block would end it early.
            let _ = writeln!(out, "{}", line.replace("```", "'''"));
        }
        let _ = writeln!(out, "```\n\n</details>\n");
    }
    out
}

/// Text safe inside a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
