//! `rollstack env down STACK NAME [--force NAME]`.

use std::process::ExitCode;

use super::super::Failure;
use crate::aws::Reach;
use crate::cli::EnvDownArgs;

/// Destroys everything environment `NAME` owns; refuses a long-lived one unless
/// `--force` repeats its name. Nothing in AWS is not an error: it is already down.
pub fn run(args: &EnvDownArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let file = super::validated(&args.stack)?;
    let probe = super::model_for(&file, &args.name, None);
    let Some(found) = super::environments(&probe, reach)?
        .into_iter()
        .find(|e| e.name == args.name)
    else {
        println!(
            "Environment `{}` of stack `{}` has nothing in AWS: nothing to destroy.",
            args.name, probe.name
        );
        return Ok(ExitCode::SUCCESS);
    };
    if found.expires_at.is_none() && args.force.as_deref() != Some(args.name.as_str()) {
        return Err(Failure::Refused {
            message: format!(
                "environment `{}` has no expiry: it is long-lived, and `env down` destroys only ephemeral ones",
                args.name
            ),
            hint: format!(
                "to destroy it anyway, name it twice: `rollstack env down {} {} --force {}`",
                args.stack.display(),
                args.name,
                args.name
            ),
        });
    }
    let stack = super::model_for(&file, &args.name, found.overlay.as_deref());
    let session = super::teardown(&args.stack, stack, &args.name, "env down", args.run.clone());
    crate::commands::session::run_session(session, reach)
}
