//! `rollstack plan STACK... [--env E] [--format text|json|markdown] [--out FILE]
//! [--out-dir DIR] [--changed-since REF] [--detailed-exitcode] [--changesets] [--stats]`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

mod workspace;

use super::Failure;
use crate::aws::Reach;
use crate::cli::{PlanArgs, PlanFormat};
use crate::model::Stack;
use crate::plan::{Plan, Redactor, render};
use crate::planning::{ChangeSets, PlanningError, Request};

/// Plans one environment (or a workspace of stacks) against live AWS state and prints
/// the plan.
pub fn run(args: &PlanArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    if super::workspace::asked(&args.stacks, &args.select) {
        return workspace::run(args, reach);
    }
    let path = &args.stacks[0];
    let stack = super::load(path, args.env.as_deref())?;
    let runtime = super::runtime()?;
    let made = runtime.block_on(make(path, &stack, args, reach, &BTreeMap::new()))?;
    let (plan, redactor) = (made.plan, made.redactor);
    if let Some(out) = &args.out {
        save(out, &plan, &redactor)?;
    }
    let output = match args.format {
        PlanFormat::Text => render::text(&plan, super::color_on(&std::io::stdout())),
        PlanFormat::Json => super::json(&plan)?,
        PlanFormat::Markdown => render::markdown(&plan),
    };
    std::io::stdout()
        .lock()
        .write_all(redactor.redact(&output).as_bytes())?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// A plan, and the redactor of the secrets it was made with.
pub struct Made {
    /// The plan.
    pub plan: Plan,
    /// Hides every sensitive value known.
    pub redactor: Redactor,
}

/// The plan of `stack` (the file at `path`), with `pending`: the outputs of producers
/// that their apply, earlier in the same workspace run, changes.
pub async fn make(
    path: &Path,
    stack: &Stack,
    args: &PlanArgs,
    reach: &Reach,
    pending: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Made, Failure> {
    let (env_values, redactor) = super::session::read_environment(path, stack)?;
    let aws = super::connect(stack, reach).await?;
    // Side by side, so an endpoint that never answers costs one call timeout.
    let warned = async {
        if let Some(bucket) = &stack.state_bucket {
            super::session::warn_about(&aws, bucket, &path.display().to_string()).await;
        }
        Ok(())
    };
    let freeze = async {
        match &stack.state_bucket {
            Some(bucket) => {
                let env = &stack.environment.name;
                crate::state::freeze::read(&aws, bucket, &stack.name, env)
                    .await
                    .map_err(Failure::Aws)
            }
            None => Ok(None),
        }
    };
    let result = async {
        let ((), identity, freeze) =
            tokio::try_join!(warned, super::identify(&aws, stack), freeze)?;
        let commit = Some(crate::git::git_commit(path)).filter(|c| c != "none");
        let request = Request {
            stack,
            environment: &env_values,
            redactor: &redactor,
            identity: &identity,
            freeze: freeze.as_ref(),
            commit: commit.as_deref(),
            change_sets: if args.changesets {
                ChangeSets::Make
            } else {
                ChangeSets::None
            },
            pending,
        };
        crate::planning::plan(&aws, &request)
            .await
            .map(|planned| planned.plan)
            .map_err(refused)
    }
    .await;
    if args.stats {
        super::print_stats(aws.stats());
    }
    Ok(Made {
        plan: result?,
        redactor,
    })
}

/// A plan that could not be made, as the command reports it.
fn refused(error: PlanningError) -> Failure {
    match error {
        PlanningError::ChangeSet(_) => Failure::Refused {
            message: error.to_string(),
            hint: "fix the template or its parameters; change sets made before this one are left for `apply` of a later plan to replace".to_owned(),
        },
        other => other.into(),
    }
}

/// Saves `plan` for `apply` (sensitive values redacted: apply reads them again).
pub fn save(out: &Path, plan: &Plan, redactor: &Redactor) -> Result<(), Failure> {
    let json = redactor.redact(&super::json(plan)?);
    std::fs::write(out, json).map_err(|error| Failure::Write {
        path: out.to_owned(),
        error,
    })
}
