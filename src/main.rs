use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    rollstack::commands::run(rollstack::cli::Cli::parse())
}
