use std::process::ExitCode;

use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    // `COMPLETE=bash rollstack -- ...` (what `rollstack completions` registers) answers a
    // completion request and exits.
    clap_complete::CompleteEnv::with_factory(rollstack::cli::Cli::command).complete();
    rollstack::notify::send::install_tls();
    match rollstack::cli::Cli::try_parse() {
        Ok(cli) => rollstack::commands::run(cli),
        Err(usage) => {
            // clap exits 2 on a usage error; 2 is `plan --detailed-exitcode`'s "changes
            // present", so a mistyped flag must not read as changes in CI.
            let _ = usage.print();
            if usage.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
