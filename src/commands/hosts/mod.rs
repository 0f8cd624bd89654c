//! `rollstack hosts STACK [--env E] [--role R]... [--group G] [--format F]`: the live
//! instances of an environment by role, from one filtered `DescribeInstances` (and the
//! readiness signals of signal-gated groups).

mod inventory;

use std::collections::BTreeSet;
use std::process::ExitCode;

use super::Failure;
use crate::aws::Reach;
use crate::cli::{HostsArgs, HostsFormat};
use crate::diagnostic::did_you_mean;
use crate::model::{HealthCheck, Stack};
use crate::observe::{InstanceState, LiveInstance, Query};
use crate::state::signals::Signals;
pub use inventory::RoleFilter;

/// Prints the hosts of the environment.
pub fn run(args: &HostsArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stack = super::load(&args.stack, args.env.as_deref())?;
    let roles = RoleFilter::new(&args.role);
    check_names(&stack, &roles, args.group.as_deref())?;
    // Every live instance even when only running ones are listed: they count in `n`.
    let states: &[InstanceState] = if args.all {
        &InstanceState::ALL
    } else {
        &InstanceState::LIVE
    };
    let runtime = super::runtime()?;
    let (instances, signals) = runtime.block_on(observe(&stack, reach, states))?;
    let selection = inventory::Selection {
        group: args.group.as_deref(),
        roles,
        all: args.all,
    };
    let hosts = inventory::hosts(&stack, &instances, &signals, &selection);
    let address = if args.public {
        inventory::Reach::Public
    } else {
        inventory::Reach::Private
    };
    let text = match args.format {
        HostsFormat::Text => inventory::text(&hosts),
        HostsFormat::Json => super::json(&hosts)?,
        HostsFormat::Ansible => super::json(&inventory::ansible(&hosts, address))?,
        HostsFormat::SshConfig => inventory::ssh_config(&hosts, address),
    };
    super::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Refuses a role or group the file does not have: a typo would list nothing, which
/// reads as "no such hosts".
fn check_names(stack: &Stack, roles: &RoleFilter, group: Option<&str>) -> Result<(), Failure> {
    for role in roles.roles() {
        if !stack.roles.contains_key(role) {
            return Err(Failure::Refused {
                message: format!("stack `{}` has no role `{role}`", stack.name),
                hint: did_you_mean(role, stack.roles.keys().map(String::as_str)).unwrap_or_else(
                    || format!("its roles: {}", crate::diagnostic::list(stack.roles.keys())),
                ),
            });
        }
    }
    if let Some(group) = group
        && !stack.groups.contains_key(group)
    {
        return Err(Failure::Refused {
            message: format!("stack `{}` has no group `{group}`", stack.name),
            hint: did_you_mean(group, stack.groups.keys().map(String::as_str)).unwrap_or_else(
                || {
                    format!(
                        "its groups: {}",
                        crate::diagnostic::list(stack.groups.keys())
                    )
                },
            ),
        });
    }
    Ok(())
}

/// The environment's instances in `states`, and the signals of those in signal-gated
/// groups.
async fn observe(
    stack: &Stack,
    reach: &Reach,
    states: &[InstanceState],
) -> Result<(Vec<LiveInstance>, Signals), Failure> {
    let aws = super::connect(stack, reach).await?;
    let instances = aws
        .environment_instances(&Query::for_stack(stack), states)
        .await
        .map_err(Failure::Aws)?;
    let mut signals = Signals::default();
    let signal_gated = stack
        .groups
        .keys()
        .any(|g| crate::rollout::health::checks(stack, g).contains(&HealthCheck::Signal));
    if let Some(bucket) = stack.state_bucket.as_deref()
        && signal_gated
        && !instances.is_empty()
    {
        let live: BTreeSet<&str> = instances.iter().map(|i| i.id.as_str()).collect();
        signals
            .refresh(&aws, bucket, (&stack.name, &stack.environment.name), &live)
            .await
            .map_err(Failure::Aws)?;
    }
    Ok((instances, signals))
}
