//! `rollstack completions SHELL`: the shell code that asks rollstack itself what to
//! complete (`COMPLETE=SHELL rollstack -- WORDS...`), so that `--env <TAB>` offers the
//! environments of the stack file on the command line.

use std::process::ExitCode;

use clap_complete::Shell;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use super::Failure;
use crate::cli::CompletionsArgs;

/// Prints the completion registration for the shell.
pub fn run(args: &CompletionsArgs) -> Result<ExitCode, Failure> {
    let shell: &dyn EnvCompleter = match args.shell {
        Shell::Bash => &Bash,
        Shell::Elvish => &Elvish,
        Shell::Fish => &Fish,
        Shell::PowerShell => &Powershell,
        _ => &Zsh,
    };
    let mut script = Vec::new();
    shell.write_registration(
        "COMPLETE",
        "rollstack",
        "rollstack",
        "rollstack",
        &mut script,
    )?;
    super::write_stdout(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}
