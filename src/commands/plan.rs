//! `rollstack plan STACK [--env E] [--format text|json|markdown] [--out FILE]
//! [--detailed-exitcode] [--changesets] [--stats]`.

use std::io::Write;
use std::process::ExitCode;

use super::Failure;
use crate::change_sets::{Inputs, plan_change_sets};
use crate::aws::{Aws, Reach};
use crate::cli::{PlanArgs, PlanFormat};
use crate::model::Stack;
use crate::observe::{Observed, Query};
use crate::plan::diff::EnvironmentValues;
use crate::plan::{self, Plan, Redactor, render};

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
                super::session::warn_about(&aws, bucket, &args.stack.display().to_string()).await;
            }
            Ok(())
        };
        let observed = async {
            crate::aws::observe(&aws, &Query::for_stack(&stack))
                .await
                .map_err(Failure::Aws)
        };
        let ((), identity, observed) =
            tokio::try_join!(warned, super::identify(&aws, &stack), observed)?;
        let mut plan =
            plan::diff(&stack, &observed, &env_values, &redactor).map_err(Failure::Plan)?;
        plan.identity = Some(identity);
        if let Some(bucket) = &stack.state_bucket {
            let env = &stack.environment.name;
            plan.freeze = crate::state::freeze::read(&aws, bucket, &stack.name, env)
                .await
                .map_err(Failure::Aws)?;
        }
        plan.commit = Some(crate::git::git_commit(&args.stack)).filter(|c| c != "none");
        if args.changesets {
            change_sets(&aws, &stack, &observed, &env_values, &redactor, &mut plan).await?;
            // The change sets show resources CloudFormation replaces.
            plan.warnings = plan::destructive::warnings(&plan.changes, &observed);
        }
        Ok::<Plan, Failure>(plan)
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

/// Makes the plan's change sets (`--changesets`).
async fn change_sets(
    aws: &Aws,
    stack: &Stack,
    observed: &Observed,
    env_values: &EnvironmentValues,
    redactor: &Redactor,
    plan: &mut Plan,
) -> Result<(), Failure> {
    let security_groups = observed.security_group_ids(stack);
    let outputs = plan::diff::known_outputs(stack, observed, env_values, redactor);
    let inputs = Inputs {
        security_groups: &security_groups,
        outputs: &outputs,
        environment: env_values,
    };
    plan_change_sets(aws, stack, &inputs, plan)
        .await
        .map_err(|why| Failure::Refused {
            message: format!("CloudFormation refused a change set: {}", redactor.redact(&why)),
            hint: "fix the template or its parameters; change sets made before this one are left for `apply` of a later plan to replace".to_owned(),
        })
}
