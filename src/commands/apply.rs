//! `rollstack apply (STACK [--env E] | PLANFILE)`, and the connection around the
//! session ([`crate::apply::session`]) that `destroy`, `rollback` and `env` share.

use std::path::Path;
use std::process::ExitCode;

use super::Failure;
use crate::apply::session::{Inputs, Session};
use crate::aws::{Aws, Reach};
use crate::cli::ApplyArgs;
use crate::model::Stack;
use crate::plan::Plan;

/// Applies a stack file's environment, or a saved plan.
pub fn run(args: &ApplyArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let (stack, saved) = match read_saved_plan(&args.target)? {
        Some(saved) => {
            let stack: Stack = serde_json::from_value(saved.model.clone()).map_err(|source| {
                Failure::UnreadablePlan {
                    path: args.target.clone(),
                    source,
                }
            })?;
            (stack, Some(saved))
        }
        None => (super::load(&args.target, args.env.as_deref())?, None),
    };
    run_session(
        Session {
            file: args.target.clone(),
            stack,
            command: "apply",
            run: args.run.clone(),
            saved,
            teardown: Vec::new(),
        },
        reach,
    )
}

/// A plan file is JSON with a `format_version`; anything else is a stack file.
fn read_saved_plan(path: &Path) -> Result<Option<Plan>, Failure> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    if !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| Failure::UnreadablePlan {
            path: path.to_owned(),
            source,
        })
}

/// Reads the session's inputs (before any AWS call), connects, checks the state bucket
/// and runs `session`.
pub fn run_session(session: Session, reach: &Reach) -> Result<ExitCode, Failure> {
    let bucket = super::state_bucket(&session.stack, session.command)?;
    let (environment, redactor) = super::plan::read_environment(&session.file, &session.stack)?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let aws = Aws::connect(&reach.to(&session.stack.region))
            .await
            .map_err(Failure::Aws)?;
        let result = async {
            let identity = super::identify(&aws, &session.stack).await?;
            aws.check_bucket(&bucket).await.map_err(Failure::Aws)?;
            let stack_arg = session.file.display().to_string();
            super::bootstrap::warn_about(&aws, &bucket, &stack_arg).await;
            let inputs = Inputs {
                aws: &aws,
                bucket: &bucket,
                environment: &environment,
                redactor: &redactor,
                identity: &identity,
            };
            Ok::<_, Failure>(session.run(&inputs).await?)
        }
        .await;
        // Printed however the session ends: a refused apply shows it wrote nothing.
        if session.run.stats {
            super::print_stats(aws.stats());
        }
        result
    })
}
