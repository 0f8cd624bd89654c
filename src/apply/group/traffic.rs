//! A group's target groups during apply: their ARNs with the outputs real now, the
//! launch template tags that remember them, and draining instances that leave outside a
//! rollout (a removed group, a rollback with nothing to return to).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Executor, NodeError};
use crate::aws::AwsError;
use crate::model::Group;
use crate::observe::{LiveLaunchTemplate, group_of, tags};
use crate::plan::diff::cloudformation::interpolate;
use crate::rollout::traffic::DRAIN_GRACE;
use crate::template::unknown;

/// The ARNs of `group`'s target groups, with the CloudFormation outputs known now.
pub(super) fn arns(executor: &Executor, group: &Group) -> Result<Vec<String>, NodeError> {
    let outputs = executor.outputs();
    group
        .target_groups
        .iter()
        .map(|written| {
            let arn = interpolate(&executor.stack, written, &BTreeMap::new(), &outputs);
            if unknown(&arn) {
                Err(NodeError::UnknownTargetGroup(written.to_string()))
            } else {
                Ok(arn)
            }
        })
        .collect()
}

/// The target groups `template` remembers.
pub(super) fn remembered(template: Option<&LiveLaunchTemplate>) -> Vec<String> {
    template
        .map(LiveLaunchTemplate::target_groups)
        .unwrap_or_default()
}

/// Drains the group's instances (as observed) from the target groups it no longer
/// serves: those `before` remembers that `arns` does not list.
pub(super) async fn leave(
    executor: &Executor,
    name: &str,
    before: &[String],
    arns: &[String],
) -> Result<(), AwsError> {
    let left: Vec<String> = before
        .iter()
        .filter(|a| !arns.contains(a))
        .cloned()
        .collect();
    let ids: Vec<String> = executor
        .observed
        .instances
        .iter()
        .filter(|i| group_of(i).as_deref() == Some(name))
        .map(|i| i.id.clone())
        .collect();
    drain(executor, &left, &ids).await
}

/// Makes launch template `template_id` remember `arns` (those it remembers now are
/// `before`), before any instance is registered in them: a group removed later still
/// knows what to drain from.
pub(super) async fn remember(
    executor: &Executor,
    template_id: &str,
    before: &[String],
    arns: &[String],
) -> Result<(), AwsError> {
    if before == arns {
        return Ok(());
    }
    let wanted: BTreeMap<String, String> = arns
        .iter()
        .enumerate()
        .map(|(i, arn)| {
            (
                format!("{}{}", tags::TARGET_GROUP_PREFIX, i + 1),
                arn.clone(),
            )
        })
        .collect();
    if !wanted.is_empty() {
        executor.aws.set_tags(template_id, &wanted).await?;
    }
    let stale: Vec<String> = (wanted.len() + 1..=before.len())
        .map(|i| format!("{}{i}", tags::TARGET_GROUP_PREFIX))
        .collect();
    let id = [template_id.to_owned()];
    executor.aws.delete_tags(&id, &stale).await
}

/// Deregisters `ids` from every target group of `arns` and waits until none is
/// registered or draining there, or the longest deregistration delay (and a grace) has
/// passed: after this, terminating them drops no request.
pub(super) async fn drain(
    executor: &Executor,
    arns: &[String],
    ids: &[String],
) -> Result<(), AwsError> {
    if arns.is_empty() || ids.is_empty() {
        return Ok(());
    }
    let mut longest = Duration::ZERO;
    for arn in arns {
        let group = executor.aws.target_group(arn).await?;
        longest = longest.max(group.deregistration_delay);
        let present: Vec<String> = ids
            .iter()
            .filter(|id| group.targets.contains_key(*id))
            .cloned()
            .collect();
        if !present.is_empty() {
            executor.aws.deregister_targets(arn, &present).await?;
        }
    }
    let started = Instant::now();
    while started.elapsed() < longest + DRAIN_GRACE {
        let mut left = false;
        for arn in arns {
            let targets = executor.aws.target_health(arn).await?;
            left |= ids.iter().any(|id| targets.contains_key(id));
        }
        if !left || executor.cancelled() {
            break;
        }
        executor.nap(executor.options.poll_interval).await;
    }
    Ok(())
}
