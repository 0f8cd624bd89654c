//! `rollstack validate STACK...`: offline checks of stack files, every problem at once.

use std::io::Write;
use std::process::ExitCode;

use super::{Failure, report};
use crate::cli::ValidateArgs;
use crate::diagnostic::display_path;
use crate::graph::StackGraph;
use crate::validate::validate_file;

/// Validates each file; exits 1 when any has a problem.
pub fn run(args: &ValidateArgs) -> Result<ExitCode, Failure> {
    let mut failed = 0;
    let mut stdout = std::io::stdout().lock();
    for path in &args.stacks {
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
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
