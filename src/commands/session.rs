//! Glue the commands share: the locked session that `apply`, `destroy`, `rollback` and
//! `env` run, what it reads from the process environment first, the state bucket
//! warning, and the empty model a teardown plans.

use std::path::Path;
use std::process::ExitCode;

use super::Failure;
use crate::apply::session::{Inputs, Session};
use crate::aws::{Aws, BucketGap, Reach};
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile, display_path};
use crate::model::{Edge, Stack};
use crate::plan::diff::EnvironmentValues;
use crate::plan::redact::FromEnv;
use crate::plan::{Plan, Redactor};

/// Reads the session's inputs (before any AWS call), connects, checks the state bucket
/// and runs `session`.
pub fn run_session(session: Session, reach: &Reach) -> Result<ExitCode, Failure> {
    let bucket = super::state_bucket(&session.stack, session.command)?;
    let (environment, redactor) = read_environment(&session.file, &session.stack)?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let aws = Aws::connect(&reach.to(&session.stack.region))
            .await
            .map_err(Failure::Aws)?;
        let result = async {
            let identity = super::identify(&aws, &session.stack).await?;
            aws.check_bucket(&bucket).await.map_err(Failure::Aws)?;
            let stack_arg = session.file.display().to_string();
            warn_about(&aws, &bucket, &stack_arg).await;
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

/// Reads every `from_env` parameter; a missing variable is an error before any AWS
/// call. Sensitive values (and `NoEcho` ones) go into the redactor.
pub fn read_environment(
    path: &Path,
    stack: &Stack,
) -> Result<(EnvironmentValues, Redactor), Failure> {
    let read = FromEnv::read(stack, |v| std::env::var(v).ok());
    if read.missing.is_empty() {
        return Ok((read.values, read.redactor));
    }
    let file = SourceFile::new(display_path(path), "");
    let mut problems = Diagnostics::default();
    for (path, variable) in read.missing {
        problems.push(
            Diagnostic::new(
                &file,
                format!("environment variable `{variable}` is not set"),
            )
            .path(path)
            .hint(format!(
                "set it before running rollstack: `export {variable}=...`"
            )),
        );
    }
    Err(Failure::Invalid(problems))
}

/// A redactor of the sensitive values this process can know (`from_env` variables that
/// are set, `NoEcho` literals), for commands that do not need all of them.
pub fn known_secrets(stack: &Stack) -> Redactor {
    FromEnv::read(stack, |v| std::env::var(v).ok()).redactor
}

/// Warns, once, when the state bucket is unversioned or not private (plan and apply).
pub async fn warn_about(aws: &Aws, bucket: &str, stack_arg: &str) {
    let Ok(gaps) = aws.bucket_gaps(bucket).await else {
        return;
    };
    let worrying: Vec<&str> = gaps
        .iter()
        .filter(|g| matches!(g, BucketGap::Unversioned | BucketGap::NotPrivate))
        .map(|g| g.describe())
        .collect();
    if !worrying.is_empty() {
        eprintln!(
            "warning: state bucket `{bucket}` holds the lock and history, but {}; `rollstack bootstrap {stack_arg} --fix` sets it right",
            worrying.join(", and ")
        );
    }
}

/// `stack` with nothing in it, so that every owned resource is planned as a delete and
/// nothing else is looked at (nothing foreign can be touched), its published outputs
/// taken back and no other stack read; and its references, to delete dependents first.
pub fn emptied(mut stack: Stack) -> (Stack, Vec<Edge>) {
    stack.outputs.clear();
    stack.uses.clear();
    stack.apps.clear();
    stack.roles.clear();
    stack.groups.clear();
    stack.security_groups.clear();
    stack.cloudformation.clear();
    stack.jobs.clear();
    stack.sites.clear();
    let references = std::mem::take(&mut stack.references);
    (stack, references)
}

/// A plan file is JSON with a `format_version`; anything else is a stack file.
pub fn saved_plan(path: &Path) -> Result<Option<Plan>, Failure> {
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

/// The model a saved plan was made from.
pub fn model_of(path: &Path, plan: &Plan) -> Result<Stack, Failure> {
    serde_json::from_value(plan.model.clone()).map_err(|source| Failure::UnreadablePlan {
        path: path.to_owned(),
        source,
    })
}
