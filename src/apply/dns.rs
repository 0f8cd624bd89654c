//! Keeping the fleet's DNS records (`dns:`) in step with it: set as they stand before
//! the rollouts (which also removes those of groups about to go, and all of them for
//! `destroy`; a group about to roll adds nothing), then moved by each rollout with its instances: an instance is added once
//! healthy and removed before it is deregistered or terminated. Each change rebuilds
//! its view from AWS (instances and records), so a re-run or a restart is safe.

use std::collections::BTreeSet;

use crate::aws::{Aws, AwsError};
use crate::model::Stack;
use crate::observe::dns::LiveRecord;
use crate::observe::{InstanceState, LiveInstance, Query};
use crate::plan::Plan;
use crate::plan::dns::{self, Records};

/// Sets the records as they stand before the rollouts of `plan` (`plan::dns::steady`):
/// what the plan showed as DNS changes.
pub async fn set_steady(aws: &Aws, stack: &Stack, plan: &Plan) -> Result<(), AwsError> {
    let Some(config) = &stack.dns else {
        return Ok(());
    };
    let rolling = dns::rolling(&plan.changes);
    sync(aws, stack, None, |instances, live| {
        dns::steady(stack, config, instances, live, &rolling)
    })
    .await
}

/// Sets the records while group `group` rolls: of its instances, those in `serving`;
/// `observed` are the environment's instances as the rollout last saw them.
pub async fn set_during_rollout(
    aws: &Aws,
    stack: &Stack,
    (group, observed): (&str, Option<&[LiveInstance]>),
    serving: &BTreeSet<String>,
) -> Result<(), AwsError> {
    let Some(config) = &stack.dns else {
        return Ok(());
    };
    sync(aws, stack, observed, |instances, live| {
        dns::during_rollout(stack, config, instances, live, group, |i| {
            serving.contains(&i.id)
        })
    })
    .await
}

/// One change of the records at a time: rollouts of groups that share a role record run
/// concurrently, and each rewrites the whole record.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Observes the environment's instances (the first time, those `observed`, when given)
/// and records, and changes the records to what `desired` makes of them. A name someone
/// else's record holds is left alone.
async fn sync(
    aws: &Aws,
    stack: &Stack,
    observed: Option<&[LiveInstance]>,
    desired: impl Fn(&[LiveInstance], &[LiveRecord]) -> Records,
) -> Result<(), AwsError> {
    let Some(config) = &stack.dns else {
        return Ok(());
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let env = (stack.name.as_str(), stack.environment.name.as_str());
    let query = Query::for_stack(stack);
    let mut warned = false;
    // A second look when Route 53 refuses the batch: a delete repeated after a lost
    // answer (the record is gone already), or a record changed between read and write.
    for attempt in 0..2 {
        let instances = async {
            match observed.filter(|_| attempt == 0) {
                Some(instances) => Ok(instances.to_vec()),
                None => {
                    aws.environment_instances(&query, &InstanceState::LIVE)
                        .await
                }
            }
        };
        let (instances, live) =
            tokio::try_join!(instances, aws.records(&config.zone_id, &config.name, env),)?;
        let changes = owned_changes(desired(&instances, &live), &live, !warned);
        warned = true;
        if changes.is_empty() {
            return Ok(());
        }
        match aws
            .change_records(&config.zone_id, &changes, &live, (env.0, env.1, config.ttl))
            .await
        {
            // AWS says `InvalidChangeBatch`; the local endpoint `InvalidInput`.
            Err(e)
                if attempt == 0
                    && matches!(e.code(), Some("InvalidChangeBatch" | "InvalidInput")) =>
            {
                continue;
            }
            done => return done,
        }
    }
    Ok(())
}

/// The changes that make the owned records of `live` into `wanted`, a name someone
/// else holds left out (said on stderr when `say`).
fn owned_changes(mut wanted: Records, live: &[LiveRecord], say: bool) -> Vec<dns::RecordChange> {
    match dns::changes(&wanted, live) {
        Ok(changes) => changes,
        Err(foreign) => {
            for name in &foreign {
                if say {
                    eprintln!(
                        "warning: DNS name `{name}` has a record rollstack did not make for this environment; it is left alone (the next plan refuses it)"
                    );
                }
                wanted.remove(name);
            }
            dns::changes(&wanted, live).unwrap_or_default()
        }
    }
}
