//! `rollstack apply (STACK... [--env E] | PLANFILE)`.

use std::path::Path;
use std::process::ExitCode;

use super::Failure;
use super::session::run_session;
use crate::apply::session::Session;
use crate::aws::Reach;
use crate::cli::ApplyArgs;
use crate::model::Stack;
use crate::plan::Plan;

/// Applies a stack file's environment, or a saved plan.
pub fn run(args: &ApplyArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    if super::workspace::asked(&args.targets, &args.select) {
        return super::workspace::apply::run(args, reach);
    }
    let target = &args.targets[0];
    let (stack, saved) = match read_saved_plan(target)? {
        Some(saved) => {
            let stack: Stack = serde_json::from_value(saved.model.clone()).map_err(|source| {
                Failure::UnreadablePlan {
                    path: target.clone(),
                    source,
                }
            })?;
            (stack, Some(saved))
        }
        None => (super::load(target, args.env.as_deref())?, None),
    };
    run_session(
        Session {
            file: target.clone(),
            stack,
            command: "apply",
            run: args.run.clone(),
            saved,
            teardown: Vec::new(),
            workspace_run: None,
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
