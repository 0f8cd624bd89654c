//! `rollstack apply (STACK... [--env E] | PLANFILE)`.

mod workspace;

use std::process::ExitCode;

use super::Failure;
use super::session::{model_of, run_session, saved_plan};
use crate::apply::session::Session;
use crate::aws::Reach;
use crate::cli::ApplyArgs;

/// Applies a stack file's environment, or a saved plan.
pub fn run(args: &ApplyArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    if super::workspace::asked(&args.targets, &args.select) {
        return workspace::run(args, reach);
    }
    let target = &args.targets[0];
    let (stack, saved) = match saved_plan(target)? {
        Some(saved) => (model_of(target, &saved)?, Some(saved)),
        None => (super::load(target, args.env.as_deref())?, None),
    };
    run_session(
        Session {
            file: target.clone(),
            stack,
            command: "apply",
            run: args.run.clone(),
            saved,
            teardown: Vec::new(),
            workspace_run: None,
        },
        reach,
    )
}
