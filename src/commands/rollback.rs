//! `rollstack rollback STACK [--env E] [--to N]`: plan and apply a recorded model.

use std::process::ExitCode;

use super::Failure;
use super::session::run_session;
use crate::apply::session::Session;
use crate::aws::Reach;
use crate::cli::RollbackArgs;
use crate::model::Stack;
use crate::state::history;

/// Restores the model of history entry `--to` (default: the last successful apply
/// before the current state), showing the plan first.
pub fn run(args: &RollbackArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let current = super::load(&args.stack, args.env.as_deref())?;
    let bucket = super::state_bucket(&current, "rollback")?;
    let runtime = super::runtime()?;
    let entries = runtime.block_on(async {
        let aws = super::connect(&current, reach).await?;
        history::list(&aws, &bucket, &current.name, &current.environment.name)
            .await
            .map_err(Failure::Aws)
    })?;
    drop(runtime);
    let entry = match args.to {
        Some(n) => entries
            .iter()
            .find(|e| e.seq == n)
            .ok_or_else(|| Failure::Refused {
                message: format!("history has no entry #{n}"),
                hint: format!(
                    "list them with `rollstack history {}`",
                    args.stack.display()
                ),
            })?,
        None => history::rollback_target(&entries).ok_or_else(|| Failure::Refused {
            message: "history has no earlier successful apply to roll back to".to_owned(),
            hint: format!(
                "list them with `rollstack history {}`",
                args.stack.display()
            ),
        })?,
    };
    let stack: Stack =
        serde_json::from_value(entry.model.clone()).map_err(|e| Failure::Refused {
            message: format!("history entry #{} cannot be read back: {e}", entry.seq),
            hint: "pick another entry with `--to N`".to_owned(),
        })?;
    eprintln!(
        "Rolling back {}/{} to history #{} ({}, {} by {}, commit {})",
        stack.name,
        stack.environment.name,
        entry.seq,
        entry.releases.join(" "),
        entry.started,
        entry.who,
        entry.commit
    );
    run_session(
        Session {
            file: args.stack.clone(),
            stack,
            command: "rollback",
            run: args.run.clone(),
            saved: None,
            teardown: Vec::new(),
            workspace_run: None,
        },
        reach,
    )
}
