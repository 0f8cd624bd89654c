//! `rollstack plan STACK [--env E] [--format text|json|markdown] [--out FILE]
//! [--detailed-exitcode] [--changesets] [--stats]`.

use std::io::Write;
use std::process::ExitCode;

use super::Failure;
use crate::aws::Reach;
use crate::cli::{PlanArgs, PlanFormat};
use crate::plan::render;
use crate::planning::{ChangeSets, PlanningError, Request};

/// Plans one environment against live AWS state and prints the plan.
pub fn run(args: &PlanArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stack = super::load(&args.stack, args.env.as_deref())?;
    let (env_values, redactor) = super::session::read_environment(&args.stack, &stack)?;
    let runtime = super::runtime()?;
    let aws = runtime.block_on(super::connect(&stack, reach))?;
    let result = runtime.block_on(async {
        // Side by side, so an endpoint that never answers costs one call timeout.
        let warned = async {
            if let Some(bucket) = &stack.state_bucket {
                super::session::warn_about(&aws, bucket, &args.stack.display().to_string())
                    .await;
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
        let ((), identity, freeze) =
            tokio::try_join!(warned, super::identify(&aws, &stack), freeze)?;
        let commit = Some(crate::git::git_commit(&args.stack)).filter(|c| c != "none");
        let request = Request {
            stack: &stack,
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
        };
        crate::planning::plan(&aws, &request)
            .await
            .map(|planned| planned.plan)
            .map_err(|e| match e {
                PlanningError::ChangeSet(_) => Failure::Refused {
                    message: e.to_string(),
                    hint: "fix the template or its parameters; change sets made before this one are left for `apply` of a later plan to replace".to_owned(),
                },
                other => other.into(),
            })
    });
    if args.stats {
        super::print_stats(aws.stats());
    }
    let plan = result?;
    if let Some(out) = &args.out {
        let json = redactor.redact(&super::json(&plan)?);
        std::fs::write(out, json).map_err(|error| Failure::Write {
            path: out.clone(),
            error,
        })?;
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
