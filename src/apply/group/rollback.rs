//! Rolling a group back after its rollout failed the health gate: to the spec of its
//! launch template's default version (the last complete rollout).

use std::collections::BTreeMap;

use super::{Executor, FailedInstance, NodeError, NodeOutcome, Rolled, Target, live_template};
use crate::model::{Address, Group};
use crate::observe::{aws_name, tags};
use crate::plan::spec::ownership_tags;

/// A rollout that failed: its target, the target groups it served, and why.
pub(super) struct Failing<'a> {
    pub target: &'a Target,
    pub target_groups: &'a [String],
    pub failed: Vec<FailedInstance>,
}

/// Drains and terminates the failed rollout's instances and rolls group `name` back to
/// the previous spec, under the same traffic rules as any rollout.
pub(super) async fn rollback(
    executor: &Executor,
    name: &str,
    group: &Group,
    failing: Failing<'_>,
) -> Result<NodeOutcome, NodeError> {
    let Failing {
        target: failed_target,
        target_groups,
        failed,
    } = failing;
    let progress = executor
        .progress
        .group(&Address::Group(name.to_owned()), group.count);
    let failed_ids: Vec<String> = failed.iter().map(|(id, _)| id.clone()).collect();
    let previous = live_template(executor, name).and_then(|t| {
        let v = t.version(t.default_version)?;
        Some((t.id.clone(), v.number, v.spec()?.to_owned()))
    });
    let Some((template_id, version, hash)) =
        previous.filter(|(_, _, hash)| *hash != failed_target.hash)
    else {
        super::traffic::drain(executor, target_groups, &failed_ids).await?;
        executor.aws.terminate_instances(&failed_ids).await?;
        progress.finish("no previous spec to roll back to");
        return Err(NodeError::Halted(failed));
    };
    progress.event(&format!(
        "rolling back to spec {hash} (launch template version {version})"
    ));
    let target = Target {
        tags: previous_tags(executor, name, &hash),
        hash,
        template_id,
        version,
        instance_type: None,
        image_id: None,
    };
    // An Auto Scaling group launches from the previous version again, first.
    let autoscaling = super::autoscaling::launch_from(executor, name, &target).await?;
    let how = super::roll::Roll {
        target_groups,
        evict: failed_ids.into_iter().collect(),
        rollback: true,
        autoscaling,
    };
    match super::roll::roll(executor, name, group, &target, how).await? {
        Rolled::Converged => Ok(NodeOutcome::RolledBack(failed)),
        Rolled::Interrupted => Ok(NodeOutcome::Interrupted),
        Rolled::Failed(again) => Err(NodeError::RollbackFailed { failed, again }),
    }
}

/// The tags of spec `hash`, as its live instances carry them (or, when none is left,
/// the ownership tags, the spec and the name).
fn previous_tags(executor: &Executor, name: &str, hash: &str) -> BTreeMap<String, String> {
    let live = executor
        .observed
        .instances
        .iter()
        .find(|i| i.tag(tags::SPEC) == Some(hash));
    match live {
        Some(instance) => instance
            .tags
            .iter()
            .filter(|(k, _)| k.starts_with("rollstack:") || *k == tags::NAME)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        None => {
            let mut tags = ownership_tags(&executor.stack, &Address::Group(name.to_owned()));
            tags.insert(tags::SPEC.to_owned(), hash.to_owned());
            tags.insert(tags::NAME.to_owned(), aws_name(&executor.stack, name));
            tags
        }
    }
}
