//! The terminal plan: `+ ~ -/+ -` lines, unified diffs, the summary line.

use std::fmt::Write;

use super::{
    WARNING_TITLE, container_image_lines, detail_lines, dns_follow_line, dns_lines, effective,
    headline, move_lines, mutable_tag_lines, output_lines,
};
use crate::plan::{Action, Plan};

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";

struct Paint(bool);

impl Paint {
    fn paint(&self, color: &str, text: &str) -> String {
        if self.0 {
            format!("{color}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    fn action(&self, action: Action, text: &str) -> String {
        let color = match action {
            Action::Create | Action::Run => GREEN,
            Action::Update => YELLOW,
            Action::Replace => MAGENTA,
            Action::Delete => RED,
            Action::NoOp => "",
        };
        self.paint(color, text)
    }

    fn line(&self, line: &str) -> String {
        let color = if line.starts_with("-/+") {
            MAGENTA
        } else if line.starts_with("+++") || line.starts_with("---") {
            BOLD
        } else if line.starts_with('+') {
            GREEN
        } else if line.starts_with('-') {
            RED
        } else if line.starts_with('~') {
            YELLOW
        } else if line.starts_with("@@") {
            CYAN
        } else {
            return line.to_owned();
        };
        self.paint(color, line)
    }
}

/// The plan for a terminal; `color` adds ANSI colours.
pub fn text(plan: &Plan, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    header(&mut out, plan, &paint);
    notes(&mut out, plan, &paint);
    changes(&mut out, plan, &paint);
    out
}

/// The first line, who runs it, and the destructive changes and images.
fn header(out: &mut String, plan: &Plan, paint: &Paint) {
    let _ = writeln!(
        out,
        "{}",
        paint.paint(
            BOLD,
            &format!(
                "rollstack plan: stack `{}`, environment `{}` ({})",
                plan.stack, plan.environment, plan.region
            )
        )
    );
    if let Some(identity) = &plan.identity {
        let _ = writeln!(out, "{}", identity.describe());
    }
    if let Some(freeze) = &plan.freeze {
        let _ = writeln!(
            out,
            "\n{} this environment is {}\n  `apply` refuses until `rollstack unfreeze`; `--ignore-freeze` overrides (recorded in history).",
            paint.paint(RED, &paint.paint(BOLD, "Frozen:")),
            freeze.describe()
        );
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint.paint(RED, &paint.paint(BOLD, WARNING_TITLE))
        );
        for warning in &plan.warnings {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                paint.paint(RED, "!"),
                warning.address,
                warning.message
            );
        }
    }
    let looked_up: Vec<_> = plan
        .images
        .iter()
        .filter(|(_, i)| i.name.is_some())
        .collect();
    if !looked_up.is_empty() {
        let _ = writeln!(out, "\nImages:");
        for (group, image) in looked_up {
            let _ = writeln!(
                out,
                "  group.{group}: {} ({})",
                image.id,
                image.name.as_deref().unwrap_or_default()
            );
        }
    }
    let containers = container_image_lines(plan);
    if !containers.is_empty() {
        let _ = writeln!(out, "\nContainer images:");
        for line in containers {
            let _ = writeln!(out, "  {line}");
        }
        for line in mutable_tag_lines(plan) {
            let _ = writeln!(out, "  {} {line}", paint.paint(YELLOW, "!"));
        }
    }
}

/// Drift found, groups moved and DNS records changed.
fn notes(out: &mut String, plan: &Plan, paint: &Paint) {
    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint.paint(
                BOLD,
                "Drift (changed outside rollstack; the changes below set it right):"
            )
        );
        for drift in &plan.drift {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                paint.paint(YELLOW, "!"),
                drift.address,
                drift.message
            );
        }
    }
    if !plan.moves.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint.paint(BOLD, "Moved (retagged in place; nothing is terminated):")
        );
        for line in move_lines(plan) {
            let _ = writeln!(out, "  {} {line}", paint.paint(CYAN, ">"));
        }
    }
    if !plan.dns.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint.paint(
                BOLD,
                "DNS records (set before the rollouts, which then move them):"
            )
        );
        for line in dns_lines(plan) {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some(line) = dns_follow_line(plan) {
        let _ = writeln!(out, "\n{line}");
    }
    if !plan.outputs.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint.paint(
                BOLD,
                "Outputs (published for the stacks that read them once the apply succeeds):"
            )
        );
        for line in output_lines(plan) {
            let _ = writeln!(out, "  {}", paint.line(&line));
        }
    }
}

/// The changes and the summary line.
fn changes(out: &mut String, plan: &Plan, paint: &Paint) {
    let changes: Vec<_> = effective(plan).collect();
    if !plan.has_changes() {
        let _ = writeln!(out, "\nNo changes: AWS matches the stack file.");
    } else if !changes.is_empty() {
        let _ = writeln!(out, "\n{}", paint.paint(BOLD, "Changes:"));
        for change in changes {
            let _ = writeln!(
                out,
                "  {} {}: {} ({})",
                paint.action(change.action, change.action.symbol()),
                paint.paint(BOLD, &change.address.to_string()),
                headline(change),
                change.reason
            );
            for line in detail_lines(change) {
                let _ = writeln!(out, "      {}", paint.line(&line));
            }
        }
    }
    let unchanged = plan.changes.len() - effective(plan).count();
    let _ = writeln!(
        out,
        "\n{}{}",
        paint.paint(BOLD, &plan.summary.line()),
        if unchanged > 0 {
            format!(" {unchanged} unchanged.")
        } else {
            String::new()
        }
    );
}
