//! `rollstack freeze STACK --env E --reason TEXT` and `rollstack unfreeze STACK --env E`.

use std::process::ExitCode;

use super::Failure;
use crate::aws::Reach;
use crate::cli::{FreezeArgs, UnfreezeArgs};
use crate::model::Stack;
use crate::model::notify::Event;
use crate::notify::Notification;
use crate::notify::send::Notifier;
use crate::observe::{CallerIdentity, Freeze};
use crate::state::freeze::{self, Unfrozen};

/// Freezes the environment: its `apply`, `rollback` and `env up` refuse until unfrozen.
pub fn freeze(args: &FreezeArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stack = super::load(&args.stack, args.env.as_deref())?;
    let bucket = super::state_bucket(&stack, "freeze")?;
    if args.reason.trim().is_empty() {
        return Err(Failure::Refused {
            message: "a freeze needs a reason".to_owned(),
            hint: "say why with `--reason \"...\"`: everyone whose deploy it holds reads it"
                .to_owned(),
        });
    }
    let (name, env) = (&stack.name, &stack.environment.name);
    let written = freeze::now("freeze", args.reason.trim().to_owned());
    let runtime = super::runtime()?;
    let replaced = runtime.block_on(async {
        let aws = super::connect(&stack, reach).await?;
        let identity = super::identify(&aws, &stack).await?;
        let before = freeze::read(&aws, &bucket, name, env)
            .await
            .map_err(Failure::Aws)?;
        freeze::write(&aws, &bucket, name, env, &written)
            .await
            .map_err(Failure::Aws)?;
        tell(&stack, Event::Frozen, &written, identity).await;
        Ok::<_, Failure>(before)
    })?;
    if let Some(before) = replaced {
        println!("`{name}` / `{env}` was {}", before.describe());
    }
    println!(
        "`{name}` / `{env}` is {}\n`apply`, `rollback` and `env up` refuse until `rollstack unfreeze {} --env {env}`.",
        written.describe(),
        args.stack.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Lifts the environment's freeze; unfreezing one that is not frozen is no error.
pub fn unfreeze(args: &UnfreezeArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stack = super::load(&args.stack, args.env.as_deref())?;
    let bucket = super::state_bucket(&stack, "unfreeze")?;
    let (name, env) = (&stack.name, &stack.environment.name);
    let runtime = super::runtime()?;
    let unfrozen = runtime.block_on(async {
        let aws = super::connect(&stack, reach).await?;
        let identity = super::identify(&aws, &stack).await?;
        let unfrozen = freeze::remove(&aws, &bucket, name, env)
            .await
            .map_err(Failure::Aws)?;
        if let Unfrozen::Lifted(lifted) = &unfrozen {
            tell(&stack, Event::Unfrozen, lifted, identity).await;
        }
        Ok::<_, Failure>(unfrozen)
    })?;
    match unfrozen {
        Unfrozen::Lifted(lifted) => println!(
            "Unfroze `{name}` / `{env}`: it was {}\nDeploys may go on.",
            lifted.describe()
        ),
        Unfrozen::NotFrozen => println!("`{name}` / `{env}` is not frozen; nothing to do."),
        Unfrozen::Replaced(now) => {
            return Err(Failure::Refused {
                message: format!(
                    "`{name}` / `{env}` was frozen again while unfreezing: it is {}",
                    now.describe()
                ),
                hint: format!(
                    "read the new reason; to lift it too, run `rollstack unfreeze {} --env {env}` again",
                    args.stack.display()
                ),
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Tells the stack's webhooks that `freeze` was set or lifted (`event`).
async fn tell(stack: &Stack, event: Event, freeze: &Freeze, identity: CallerIdentity) {
    let command = if event == Event::Frozen {
        "freeze"
    } else {
        "unfreeze"
    };
    let mut n = Notification::new(event, stack, command, &crate::state::identity());
    n.identity = Some(identity);
    n.freeze = Some(freeze.clone());
    let redactor = super::session::known_secrets(stack);
    Notifier::new(stack.notify.as_ref())
        .send(&n, &redactor)
        .await;
}
