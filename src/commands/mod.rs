//! One file per command. Each returns the exit code or a [`Failure`].

pub mod completions;
pub mod graph;
pub mod schema;
pub mod validate;

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::diagnostic::{self, Diagnostic, Diagnostics};

/// Why a command failed; printed to stderr, exit 1.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The input has problems.
    #[error("{} problem(s) in the input", .0.len())]
    Invalid(Diagnostics),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// Runs the command the user gave.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Schema => schema::run(),
        Command::Completions(args) => completions::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Invalid(diagnostics)) => {
            report(diagnostics.sorted());
            ExitCode::FAILURE
        }
        Err(Failure::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(other) => {
            eprintln!("error: {other}");
            ExitCode::FAILURE
        }
    }
}

/// Whether stderr gets colour: a terminal, and `NO_COLOR` unset.
pub fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Prints diagnostics to stderr.
pub fn report(diagnostics: Vec<Diagnostic>) {
    eprint!("{}", diagnostic::render(&diagnostics, color()));
}
