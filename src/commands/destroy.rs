//! `rollstack destroy STACK --env E`: everything the environment owns, dependents first.

use std::process::ExitCode;

use super::Failure;
use super::apply::Session;
use crate::cli::DestroyArgs;

/// Plans the environment down to nothing, confirms, and applies that.
pub fn run(args: &DestroyArgs, endpoint_url: Option<&str>) -> Result<ExitCode, Failure> {
    let mut stack = super::load(&args.stack, args.env.as_deref())?;
    // An empty model: every owned resource is planned as a delete; nothing else is
    // looked at, so nothing foreign can be touched.
    stack.apps.clear();
    stack.roles.clear();
    stack.groups.clear();
    stack.security_groups.clear();
    stack.cloudformation.clear();
    let teardown = std::mem::take(&mut stack.references);
    Session {
        file: args.stack.clone(),
        stack,
        command: "destroy",
        run: args.run.clone(),
        saved: None,
        teardown,
    }
    .run(endpoint_url)
}
