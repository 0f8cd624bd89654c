//! `rollstack destroy STACK --env E`: everything the environment owns, dependents first.

use std::process::ExitCode;

use super::Failure;
use super::session::{emptied, run_session};
use crate::apply::session::Session;
use crate::aws::Reach;
use crate::cli::DestroyArgs;

/// Plans the environment down to nothing, confirms, and applies that.
pub fn run(args: &DestroyArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let (stack, teardown) = emptied(super::load(&args.stack, args.env.as_deref())?);
    run_session(
        Session {
            file: args.stack.clone(),
            stack,
            command: "destroy",
            run: args.run.clone(),
            saved: None,
            teardown,
        },
        reach,
    )
}
