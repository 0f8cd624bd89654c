//! `rollstack plan STACK [--env E] [--format text|json|markdown] [--out FILE]
//! [--detailed-exitcode] [--stats]`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::Failure;
use crate::aws::{Aws, Connection};
use crate::cli::{PlanArgs, PlanFormat};
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile, display_path};
use crate::model::{ParameterValue, Stack};
use crate::observe::Query;
use crate::plan::diff::EnvironmentValues;
use crate::plan::{self, Redactor, render};
use crate::validate::validate_file;

/// Plans one environment against live AWS state and prints the plan.
pub fn run(args: &PlanArgs, endpoint_url: Option<&str>) -> Result<ExitCode, Failure> {
    let stack = validate_file(&args.stack)
        .and_then(|v| v.select(&args.stack, args.env.as_deref()))
        .map_err(Failure::Invalid)?;
    let (env_values, redactor) = read_environment(&args.stack, &stack)?;
    let connection = Connection {
        endpoint_url: endpoint_url.map(str::to_owned),
        region: stack.region.clone(),
    };
    let runtime = super::runtime()?;
    let (plan, aws) = runtime.block_on(async {
        let aws = Aws::connect(&connection).await;
        let observed = crate::aws::observe(&aws, &Query::for_stack(&stack)).await;
        (observed, aws)
    });
    let observed = plan.map_err(Failure::Aws)?;
    let result = plan::diff(&stack, &observed, &env_values, &redactor);
    if args.stats {
        super::print_stats(aws.stats());
    }
    let plan = result.map_err(Failure::Plan)?;
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

/// Reads every `from_env` parameter; a missing variable is an error before any AWS
/// call. Sensitive values (and `NoEcho` ones) go into the redactor.
pub(super) fn read_environment(
    path: &Path,
    stack: &Stack,
) -> Result<(EnvironmentValues, Redactor), Failure> {
    let mut values = BTreeMap::new();
    let mut secrets = Vec::new();
    let mut problems = Diagnostics::default();
    let file = SourceFile::new(display_path(path), "");
    for (node, cfn) in &stack.cloudformation {
        for (name, value) in &cfn.parameters {
            let no_echo = cfn.declared.iter().any(|d| &d.name == name && d.no_echo);
            match value {
                ParameterValue::FromEnv {
                    from_env,
                    sensitive,
                } => match std::env::var(from_env) {
                    Ok(v) => {
                        if *sensitive || no_echo {
                            secrets.push(v.clone());
                        }
                        values.insert(from_env.clone(), v);
                    }
                    Err(_) => problems.push(
                        Diagnostic::new(
                            &file,
                            format!("environment variable `{from_env}` is not set"),
                        )
                        .path(format!("cloudformation.{node}.parameters.{name}"))
                        .hint(format!(
                            "set it before running rollstack: `export {from_env}=...`"
                        )),
                    ),
                },
                ParameterValue::Text(text) if no_echo => secrets.push(text.clone()),
                ParameterValue::Text(_) => {}
            }
        }
    }
    if !problems.is_empty() {
        return Err(Failure::Invalid(problems));
    }
    Ok((values, Redactor::new(secrets)))
}
