//! `rollstack env up STACK NAME --from OVERLAY [--ttl D] [--now T]`.

use std::process::ExitCode;
use std::time::SystemTime;

use super::super::Failure;
use crate::apply::session::Session;
use crate::aws::Reach;
use crate::cli::EnvUpArgs;
use crate::commands::session::run_session;
use crate::model::Lifecycle;

/// Applies the stack as environment `NAME`, shaped by the ephemeral overlay, expiring
/// `--ttl` (or the overlay's `ttl`) from now.
pub fn run(args: &EnvUpArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    check_name(&args.name)?;
    let file = super::validated(&args.stack)?;
    if let Some(long_lived) = file
        .environments
        .iter()
        .find(|s| s.environment.name == args.name && s.environment.ephemeral.is_none())
    {
        return Err(Failure::Refused {
            message: format!(
                "`{}` is a long-lived environment of this stack; `env up` makes only ephemeral ones",
                long_lived.environment.name
            ),
            hint: format!(
                "apply it with `rollstack apply {} --env {}`, or pick another name",
                args.stack.display(),
                args.name
            ),
        });
    }
    let mut stack = file
        .select(&args.stack, Some(&args.from))
        .map_err(Failure::Invalid)?;
    let Some(ephemeral) = stack.environment.ephemeral.clone() else {
        return Err(Failure::Refused {
            message: format!("overlay `{}` is not ephemeral", args.from),
            hint: format!(
                "mark it `ephemeral: {{ ttl: 24h }}` under `environments.{}`, or apply it as a long-lived environment with `rollstack apply --env {}`",
                args.from, args.from
            ),
        });
    };
    if let Some(existing) = super::environments(&stack, reach)?
        .into_iter()
        .find(|e| e.name == args.name && e.expires_at.is_none())
    {
        return Err(Failure::Refused {
            message: format!(
                "environment `{}` exists in AWS without an expiry: it is long-lived, and `env up` never adopts it",
                existing.name
            ),
            hint: "pick another name".to_owned(),
        });
    }
    let ttl = args.ttl.unwrap_or(ephemeral.ttl.0);
    let expires_at =
        humantime::format_rfc3339_seconds(args.now.unwrap_or_else(SystemTime::now) + ttl)
            .to_string();
    eprintln!(
        "environment `{}` from overlay `{}`, expires at {expires_at}",
        args.name, args.from
    );
    stack.environment.name = args.name.clone();
    stack.environment.lifecycle = Some(Lifecycle {
        overlay: args.from.clone(),
        expires_at,
    });
    run_session(
        Session {
            file: args.stack.clone(),
            stack,
            command: "env up",
            run: args.run.clone(),
            saved: None,
            teardown: Vec::new(),
            workspace_run: None,
        },
        reach,
    )
}

/// An environment name, by the rule a file's `environments:` obeys.
fn check_name(name: &str) -> Result<(), Failure> {
    crate::validate::formats::environment_name(name).map_err(|(message, expected)| {
        Failure::Refused {
            message,
            hint: format!("use {expected}, e.g. `pr-123`"),
        }
    })
}
