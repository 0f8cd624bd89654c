//! `rollstack destroy STACK --env E`: everything the environment owns, dependents first.

use std::process::ExitCode;

use super::Failure;
use super::apply::run_session;
use crate::apply::session::Session;
use crate::aws::Reach;
use crate::cli::DestroyArgs;
use crate::model::{Reference, Stack};

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

/// `stack` with nothing in it, so that every owned resource is planned as a delete and
/// nothing else is looked at (nothing foreign can be touched); and its references, to
/// delete dependents first.
pub fn emptied(mut stack: Stack) -> (Stack, Vec<Reference>) {
    stack.apps.clear();
    stack.roles.clear();
    stack.groups.clear();
    stack.security_groups.clear();
    stack.cloudformation.clear();
    let references = std::mem::take(&mut stack.references);
    (stack, references)
}
