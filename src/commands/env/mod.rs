//! `rollstack env up | down | list | gc`: ephemeral environments, one file per command.
//!
//! An ephemeral environment is the stack applied under another environment name, shaped
//! by an overlay marked `ephemeral`, with everything tagged `rollstack:overlay` and
//! `rollstack:expires-at`. What exists is read from AWS by tags, never from a local file.

mod down;
mod gc;
mod list;
mod up;

use std::path::Path;
use std::process::ExitCode;

use super::Failure;
use crate::apply::session::Session;
use crate::aws::Reach;
use crate::cli::{EnvCommand, RunArgs};
use crate::model::Stack;
use crate::observe::environments::{EnvironmentSummary, summarize};
use crate::validate::{ValidatedFile, validate_file};

/// Runs one `env` subcommand.
pub fn run(command: &EnvCommand, reach: &Reach) -> Result<ExitCode, Failure> {
    match command {
        EnvCommand::Up(args) => up::run(args, reach),
        EnvCommand::Down(args) => down::run(args, reach),
        EnvCommand::List(args) => list::run(args, reach),
        EnvCommand::Gc(args) => gc::run(args, reach),
    }
}

/// The validated stack file at `path`.
fn validated(path: &Path) -> Result<ValidatedFile, Failure> {
    validate_file(path).map_err(Failure::Invalid)
}

/// A model of the file to act on environment `name` with: its own if the file has it,
/// else that of `overlay`, else the first. Overlays do not add or remove resources, so
/// any of them orders a teardown correctly.
fn model_for(file: &ValidatedFile, name: &str, overlay: Option<&str>) -> Stack {
    let pick = |wanted: &str| {
        file.environments
            .iter()
            .find(|s| s.environment.name == wanted)
    };
    pick(name)
        .or_else(|| overlay.and_then(pick))
        .or(file.environments.first())
        .unwrap_or(&file.base)
        .clone()
}

/// The stack's environments as AWS knows them (every resource tagged with its name).
fn environments(stack: &Stack, reach: &Reach) -> Result<Vec<EnvironmentSummary>, Failure> {
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let aws = super::connect(stack, reach).await?;
        let resources = aws
            .stack_resources(&stack.name)
            .await
            .map_err(Failure::Aws)?;
        Ok(summarize(&resources))
    })
}

/// The session that destroys environment `name` of `stack` (whose other settings come
/// from the file).
fn teardown(
    file: &Path,
    mut stack: Stack,
    name: &str,
    command: &'static str,
    run: RunArgs,
) -> Session {
    stack.environment.name = name.to_owned();
    stack.environment.lifecycle = None;
    let (stack, teardown) = super::session::emptied(stack);
    Session {
        file: file.to_owned(),
        stack,
        command,
        run,
        saved: None,
        teardown,
        workspace_run: None,
    }
}
