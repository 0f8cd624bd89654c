//! `rollstack destroy STACK --env E`: everything the environment owns, dependents first.

use std::process::ExitCode;

use super::Failure;
use super::session::{emptied, run_session};
use crate::apply::session::Session;
use crate::aws::Reach;
use crate::cli::DestroyArgs;

/// Plans the environment down to nothing, confirms, and applies that; refused while
/// other stacks of the workspace read its outputs, unless `--force`.
pub fn run(args: &DestroyArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stack = super::load(&args.stack, args.env.as_deref())?;
    let consumers = crate::workspace::consumers_beside(&args.stack, &stack.name);
    if !consumers.is_empty() && !args.force {
        let names: Vec<String> = consumers.iter().map(|c| format!("`{c}`")).collect();
        return Err(Failure::Refused {
            message: format!(
                "stack `{}` publishes outputs that {} read{}",
                stack.name,
                names.join(", "),
                if names.len() == 1 { "s" } else { "" }
            ),
            hint: format!(
                "destroy {} first, or pass `--force` (they keep what they were applied with, and their next plan fails until `{}` publishes again)",
                if names.len() == 1 { "it" } else { "them" },
                stack.name
            ),
        });
    }
    let (stack, teardown) = emptied(stack);
    run_session(
        Session {
            file: args.stack.clone(),
            stack,
            command: "destroy",
            run: args.run.clone(),
            saved: None,
            teardown,
            workspace_run: None,
        },
        reach,
    )
}
