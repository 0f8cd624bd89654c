//! `rollstack unlock STACK --env E --force LOCK_ID`.

use std::process::ExitCode;

use super::Failure;
use crate::aws::Reach;
use crate::cli::UnlockArgs;
use crate::state::lock;

/// Removes the environment's lock if its id is the one given.
pub fn run(args: &UnlockArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stack = super::load(&args.stack, args.env.as_deref())?;
    let bucket = super::state_bucket(&stack, "unlock")?;
    let runtime = super::runtime()?;
    let record = runtime.block_on(async {
        let aws = super::connect(&stack, reach).await?;
        lock::force_unlock(
            &aws,
            &bucket,
            &stack.name,
            &stack.environment.name,
            &args.force,
        )
        .await
        .map_err(|e| Failure::Lock(Box::new(e)))
    })?;
    println!(
        "Unlocked {}/{}: removed lock `{}` held by {} since {} running {}.",
        stack.name,
        stack.environment.name,
        record.id,
        record.holder,
        record.started,
        record.command
    );
    Ok(ExitCode::SUCCESS)
}
