//! `rollstack completions SHELL`.

use std::process::ExitCode;

use clap::CommandFactory;

use super::Failure;
use crate::cli::{Cli, CompletionsArgs};

/// Prints the completion script for the shell.
pub fn run(args: &CompletionsArgs) -> Result<ExitCode, Failure> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "rollstack",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}
