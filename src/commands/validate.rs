//! `rollstack validate STACK...`: offline checks of stack files (or directories of
//! them), every problem at once; several are also checked as a workspace.

use std::io::Write;
use std::process::ExitCode;

use super::{Failure, report};
use crate::cli::ValidateArgs;
use crate::diagnostic::display_path;
use crate::graph::StackGraph;
use crate::validate::validate_file;
use crate::workspace::{Member, Workspace};

/// Validates each file; exits 1 when any has a problem.
pub fn run(args: &ValidateArgs) -> Result<ExitCode, Failure> {
    let mut failed = 0;
    let mut stdout = std::io::stdout().lock();
    let files = crate::workspace::files(&args.stacks).map_err(|e| Failure::Refused {
        message: e.to_string(),
        hint: e.hint(),
    })?;
    let mut members = Vec::new();
    for path in &files {
        let shown = display_path(path);
        match validate_file(path) {
            Ok(validated) => {
                let names: Vec<String> = validated
                    .environments
                    .iter()
                    .map(|s| format!("`{}`", s.environment.name))
                    .collect();
                let resources = validated
                    .environments
                    .first()
                    .map_or(0, |s| StackGraph::new(s).addresses().len());
                writeln!(
                    stdout,
                    "ok: `{}` is valid ({}; environments {})",
                    shown.display(),
                    crate::diagnostic::plural(resources, "resource"),
                    names.join(", ")
                )?;
                members.push(Member {
                    path: path.clone(),
                    stack: validated.base,
                });
            }
            Err(diagnostics) => {
                failed += 1;
                let count = diagnostics.len();
                report(diagnostics.sorted());
                eprintln!(
                    "error: `{}` has {count} problem{}",
                    shown.display(),
                    if count == 1 { "" } else { "s" }
                );
            }
        }
    }
    // As a workspace: every file as written, so every environment's reads count.
    if members.len() > 1
        && let Err(e) = Workspace::order(members)
    {
        failed += 1;
        eprintln!("error: {e}\n  hint: {}", e.hint());
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
