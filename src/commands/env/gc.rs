//! `rollstack env gc STACK [--dry-run] [--now T]`: meant for a schedule in CI.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use super::super::Failure;
use crate::aws::Reach;
use crate::cli::{EnvGcArgs, RunArgs};

/// Destroys every expired ephemeral environment of the stack, and lists what it
/// destroyed and what it kept. An environment without an expiry is never destroyed.
pub fn run(args: &EnvGcArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let file = super::validated(&args.stack)?;
    let probe = super::model_for(&file, "", None);
    let now = args.now.unwrap_or_else(SystemTime::now);
    let (expired, kept): (Vec<_>, Vec<_>) = super::environments(&probe, reach)?
        .into_iter()
        .partition(|e| e.expired(now));
    let mut report = Vec::new();
    for env in &kept {
        report.push(match &env.expires_at {
            Some(at) => format!("kept       {}  (expires at {at})", env.name),
            None => format!("kept       {}  (no expiry: long-lived)", env.name),
        });
    }
    let mut failed = false;
    for env in &expired {
        let at = env.expires_at.as_deref().unwrap_or_default();
        if args.dry_run {
            report.push(format!("would destroy {}  (expired at {at})", env.name));
            continue;
        }
        let stack = super::model_for(&file, &env.name, env.overlay.as_deref());
        let run = RunArgs {
            auto_approve: true,
            parallelism: args.parallelism,
            lock_timeout: Duration::ZERO,
            poll_interval: Duration::from_secs(5),
            stats: false,
            ignore_alarms: false,
            ignore_freeze: false,
            format: crate::cli::PlanFormat::Text,
        };
        let session = super::teardown(&args.stack, stack, &env.name, "env gc", run);
        match crate::commands::session::run_session(session, reach) {
            Ok(code) if code == ExitCode::SUCCESS => {
                report.push(format!("destroyed  {}  (expired at {at})", env.name));
            }
            // SIGINT stops the collection, not only the environment it came in.
            Ok(code) if code == ExitCode::from(crate::apply::session::INTERRUPTED) => {
                report.push(format!("INTERRUPTED {}; the rest was not tried", env.name));
                println!("\n{}", report.join("\n"));
                return Ok(code);
            }
            Ok(_) => {
                failed = true;
                report.push(format!(
                    "FAILED     {}  (expired at {at}; see above)",
                    env.name
                ));
            }
            Err(e) => {
                failed = true;
                report.push(format!("FAILED     {}  ({e})", env.name));
            }
        }
    }
    if expired.is_empty() {
        report.push("nothing expired".to_owned());
    }
    println!("\n{}", report.join("\n"));
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
