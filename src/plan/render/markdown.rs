//! The pull-request comment: a hidden marker, the account and commit, destructive
//! changes first, a summary table, drift, and a collapsible `<details>` per change with
//! a fenced `diff` block; cut to fit a GitHub comment.

use std::fmt::Write;

use super::{
    WARNING_TITLE, container_image_lines, detail_lines, dns_follow_line, dns_lines, effective,
    headline, move_lines, mutable_tag_lines, output_lines,
};
use crate::plan::Plan;

/// What a GitHub comment holds: 65,536 characters. The plan keeps room for a footer
/// the workflow adds (a link to the run).
pub const COMMENT_LIMIT: usize = 65_536;

/// Room left under [`COMMENT_LIMIT`] for the workflow's own lines.
const FOOTER_ROOM: usize = 1_536;

/// The plan as GitHub-flavoured markdown, at most [`COMMENT_LIMIT`] less room for a
/// footer: details that do not fit are left out, and the comment says so.
pub fn markdown(plan: &Plan) -> String {
    fit(&head(plan), &details(plan), COMMENT_LIMIT - FOOTER_ROOM)
}

/// The hidden line a workflow finds its comment by: one per stack and environment.
pub fn marker(plan: &Plan) -> String {
    format!(
        "<!-- rollstack plan: stack={} env={} -->",
        plan.stack, plan.environment
    )
}

/// Everything but the per-change details.
fn head(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n### rollstack plan: `{}` / `{}`\n",
        marker(plan),
        plan.stack,
        plan.environment
    );
    let mut facts = Vec::new();
    if let Some(identity) = &plan.identity {
        facts.push(format!(
            "account `{}` as `{}`",
            identity.account, identity.arn
        ));
    }
    facts.push(format!("region `{}`", plan.region));
    if let Some(commit) = &plan.commit {
        facts.push(format!("commit `{}`", commit.get(..12).unwrap_or(commit)));
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    let unchanged = plan.changes.len() - effective(plan).count();
    let _ = writeln!(
        out,
        "**{}**{}\n",
        plan.summary.line(),
        if unchanged > 0 {
            format!(" {unchanged} unchanged.")
        } else {
            String::new()
        }
    );
    alerts(&mut out, plan);
    if !plan.moves.is_empty() {
        let _ = writeln!(
            out,
            "**Moved** (retagged in place; nothing is terminated):\n"
        );
        for line in move_lines(plan) {
            let _ = writeln!(out, "- {}", cell(&line));
        }
        out.push('\n');
    }
    dns(&mut out, plan);
    outputs(&mut out, plan);
    let changes: Vec<_> = effective(plan).collect();
    if !plan.has_changes() {
        let _ = writeln!(out, "No changes: AWS matches the stack file.\n");
    } else if !changes.is_empty() {
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
    out
}

/// The DNS record changes, and the groups whose rollouts move their records.
fn dns(out: &mut String, plan: &Plan) {
    if !plan.dns.is_empty() {
        let _ = writeln!(
            out,
            "**DNS records** (set before the rollouts, which then move them):\n"
        );
        for line in dns_lines(plan) {
            let _ = writeln!(out, "- `{}`", line.replace('`', "'"));
        }
        out.push('\n');
    }
    if let Some(line) = dns_follow_line(plan) {
        let _ = writeln!(out, "{line}\n");
    }
}

/// The published outputs the apply changes.
fn outputs(out: &mut String, plan: &Plan) {
    if plan.outputs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "**Outputs** (published for the stacks that read them once the apply succeeds):\n"
    );
    for line in output_lines(plan) {
        let _ = writeln!(out, "- `{}`", line.replace('`', "'"));
    }
    out.push('\n');
}

/// The freeze and the destructive changes, as GitHub alerts.
fn alerts(out: &mut String, plan: &Plan) {
    if let Some(freeze) = &plan.freeze {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> **Frozen**: this environment is {}\n> `apply` refuses until `rollstack unfreeze`; `--ignore-freeze` overrides (recorded in history).\n",
            cell(&freeze.describe())
        );
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "> [!CAUTION]\n> **{WARNING_TITLE}**\n>");
        for warning in &plan.warnings {
            let _ = writeln!(out, "> - `{}`: {}", warning.address, cell(&warning.message));
        }
        out.push('\n');
    }
    let resolved = container_image_lines(plan);
    if !resolved.is_empty() {
        let _ = writeln!(
            out,
            "> [!NOTE]\n> **Container images resolved from tags**\n>"
        );
        for line in resolved {
            let _ = writeln!(out, "> - `{line}`");
        }
        for line in mutable_tag_lines(plan) {
            let _ = writeln!(out, "> - {}", cell(&line));
        }
        out.push('\n');
    }
}

/// One collapsible block per change.
fn details(plan: &Plan) -> Vec<String> {
    effective(plan)
        .map(|change| {
            let mut out = String::new();
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
            out
        })
        .collect()
}

/// `head` and as many `details` as fit in `budget` bytes (a character is at least
/// one), with a note on what was left out.
fn fit(head: &str, details: &[String], budget: usize) -> String {
    const NOTE_ROOM: usize = 400;
    let note = |left: usize, what: &str| {
        format!(
            "> [!NOTE]\n> {left} {what} left out: a GitHub comment holds {COMMENT_LIMIT} characters. The whole plan is in the saved plan (`plan --out`) and `rollstack plan --format text`.\n"
        )
    };
    if head.len() + NOTE_ROOM > budget {
        let mut cut = String::new();
        let lines: Vec<&str> = head.lines().collect();
        let mut kept = 0;
        for line in &lines {
            if cut.len() + line.len() + 1 + NOTE_ROOM > budget {
                break;
            }
            cut.push_str(line);
            cut.push('\n');
            kept += 1;
        }
        cut.push('\n');
        cut.push_str(&note(
            lines.len() - kept + details.len(),
            "lines and details",
        ));
        return cut;
    }
    let mut out = head.to_owned();
    for (n, block) in details.iter().enumerate() {
        if out.len() + block.len() + NOTE_ROOM > budget {
            out.push_str(&note(details.len() - n, "changes' details"));
            return out;
        }
        out.push_str(block);
    }
    out
}

/// Text safe inside a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_plan_fits_a_comment_and_says_what_it_left_out() {
        let head = "### plan\n".to_owned();
        let details: Vec<String> = (0..100)
            .map(|n| format!("{n}:{}\n", "x".repeat(999)))
            .collect();
        let out = fit(&head, &details, 20_000);
        assert!(out.len() <= 20_000, "{}", out.len());
        let kept = out.matches(&"x".repeat(999)).count();
        assert!(kept > 10, "{kept}");
        assert!(
            out.contains(&format!("{} changes' details left out", 100 - kept)),
            "{out}"
        );
        let whole = fit(&head, &details[..3], 20_000);
        assert!(!whole.contains("left out"));
        let long_head = "| row |\n".repeat(5_000);
        let out = fit(&long_head, &details, 20_000);
        assert!(out.len() <= 20_000 && out.contains("lines and details left out"));
    }
}
