//! Instance groups: a launch template version per spec, then a loop of observe ->
//! [`rollout::next_step`](crate::rollout::next_step) -> act until the group converges,
//! fails its health gate (and rolls back or halts), or SIGINT stops it after a step.

mod autoscaling;
mod launch;
mod probe;
mod roll;
mod rollback;
mod template;
mod traffic;

use std::collections::BTreeMap;
use std::time::Duration;

use super::error::{FailedInstance, NodeError};
use super::{Executor, NodeOutcome};
use crate::aws::Patience;
use crate::diagnostic::plural;
use crate::model::{Address, Group, OnFailure};
use crate::observe::{LiveLaunchTemplate, tags};
use crate::plan::spec::{LaunchSpec, TemplateUpkeep, instance_tags};
use crate::plan::{Action, GroupChange};
use crate::rollout::TargetSpec;

/// How long a removed group waits for its instances to terminate.
const TERMINATE_TIMEOUT: Duration = Duration::from_secs(600);

/// The spec a rollout converges to.
struct Target {
    /// Spec hash (`rollstack:spec`).
    hash: String,
    /// Launch template id.
    template_id: String,
    /// The version instances launch from.
    version: i64,
    /// Tags instances launch with.
    tags: BTreeMap<String, String>,
    /// Instance type and image an instance must still have to count as current.
    instance_type: Option<String>,
    image_id: Option<String>,
}

impl Target {
    /// What rollout asks of an instance to count it as current.
    fn spec(&self) -> TargetSpec<'_> {
        TargetSpec {
            hash: &self.hash,
            instance_type: self.instance_type.as_deref(),
            image_id: self.image_id.as_deref(),
        }
    }
}

/// How a rollout ended.
enum Rolled {
    Converged,
    Failed(Vec<FailedInstance>),
    Interrupted,
}

/// Applies the change to group `name`.
pub async fn apply(
    executor: &Executor,
    name: &str,
    action: Action,
    change: &GroupChange,
) -> NodeOutcome {
    let result = if action == Action::Delete {
        remove(executor, name, change).await
    } else {
        converge(executor, name, change).await
    };
    result.unwrap_or_else(NodeOutcome::Failed)
}

fn live_template<'a>(executor: &'a Executor, name: &str) -> Option<&'a LiveLaunchTemplate> {
    executor
        .observed
        .launch_templates
        .iter()
        .find(|t| t.group(&executor.stack).as_deref() == Some(name))
}

async fn converge(
    executor: &Executor,
    name: &str,
    change: &GroupChange,
) -> Result<NodeOutcome, NodeError> {
    let stack = &executor.stack;
    let group = &stack.groups[name];
    let image = executor.images.get(name).cloned().unwrap_or_default();
    let spec =
        LaunchSpec::render(stack, name, &image, &executor.outputs()).map_err(NodeError::Render)?;
    // The outputs it uses are real now; the plan could only measure known ones.
    if let Some(size) = spec
        .user_data
        .as_ref()
        .map(String::len)
        .filter(|size| *size > crate::validate::MAX_USER_DATA)
    {
        return Err(crate::plan::PlanError::UserDataTooLarge {
            address: Address::Group(name.to_owned()),
            size,
        }
        .into());
    }
    let hash = spec.hash();
    let template = live_template(executor, name);
    let upkeep = TemplateUpkeep::of(template, &hash, group.count);
    let target_groups = traffic::arns(executor, group)?;
    let (template_id, version, upkeep) =
        template::version_for(executor, name, &spec, template, upkeep).await?;
    if group.autoscaling.is_none() {
        autoscaling::leave(executor, name, &template_id).await?;
    }
    let remembered = traffic::remembered(template);
    traffic::leave(executor, name, &remembered, &target_groups).await?;
    traffic::remember(executor, &template_id, &remembered, &target_groups).await?;
    let target = Target {
        hash: hash.clone(),
        template_id: template_id.clone(),
        version,
        tags: instance_tags(stack, name, &spec),
        instance_type: Some(spec.instance_type.clone()),
        image_id: Some(spec.image_id.clone()),
    };
    let how = roll::Roll {
        target_groups: &target_groups,
        evict: Default::default(),
        rollback: false,
        autoscaling: autoscaling::prepare(executor, name, &target, &target_groups).await?,
    };
    match roll::roll(executor, name, group, &target, how).await? {
        Rolled::Converged => {
            finish(executor, group, &template_id, &upkeep, change).await?;
            Ok(NodeOutcome::Done(format!(
                "{} on spec {hash}",
                plural(group.count as usize, "instance")
            )))
        }
        Rolled::Interrupted => Ok(NodeOutcome::Interrupted),
        Rolled::Failed(failed) => {
            let progress = executor
                .progress
                .group(&Address::Group(name.to_owned()), group.count);
            for (id, why) in &failed {
                progress.event(&format!("instance `{id}` failed: {why}"));
            }
            match group.rollout.on_failure {
                OnFailure::Halt => {
                    progress.finish("halted in place (on_failure: halt)");
                    Err(NodeError::Halted(failed))
                }
                OnFailure::Rollback => {
                    let failing = rollback::Failing {
                        target: &target,
                        target_groups: &target_groups,
                        failed,
                    };
                    rollback::rollback(executor, name, group, failing).await
                }
            }
        }
    }
}

/// After a complete rollout: the version becomes the template's default (what a
/// rollback returns to) and the applied count is recorded, as `upkeep` (the plan's
/// reading of the template) says; the user's tags changed, kept instances, their
/// volumes and the template are retagged in place (what this run launched has them).
async fn finish(
    executor: &Executor,
    group: &Group,
    template_id: &str,
    upkeep: &TemplateUpkeep,
    change: &GroupChange,
) -> Result<(), NodeError> {
    let aws = &executor.aws;
    if let Some((_, version)) = upkeep.default_moves {
        aws.set_default_version(template_id, version).await?;
    }
    if upkeep.count_changes {
        let count = group.count.to_string();
        aws.set_tags(
            template_id,
            &BTreeMap::from([(tags::COUNT.to_owned(), count)]),
        )
        .await?;
    }
    aws.tag_resources(&change.retag, &change.set_tags).await?;
    aws.delete_tags(&change.retag, &change.remove_tags).await?;
    Ok(())
}

/// A group removed from the file: drain its instances from the target groups its
/// launch template remembers, terminate them, wait for them, delete the template.
async fn remove(
    executor: &Executor,
    name: &str,
    change: &GroupChange,
) -> Result<NodeOutcome, NodeError> {
    let address = Address::Group(name.to_owned());
    let started = std::time::Instant::now();
    let mut patience = Patience::default();
    let target_groups = traffic::remembered(live_template(executor, name));
    let asg = executor.observed.autoscaling_group(name);
    let mut since = std::time::Instant::now();
    loop {
        let observed = executor.observer.view(since).await;
        let Some(snapshot) = patience.poll(observed)? else {
            executor.nap(executor.options.poll_interval).await;
            continue;
        };
        let live: Vec<&crate::observe::LiveInstance> = snapshot
            .instances
            .iter()
            .filter(|i| crate::observe::group_of(i).as_deref() == Some(name))
            .collect();
        if live.is_empty() {
            break;
        }
        if started.elapsed() > TERMINATE_TIMEOUT {
            return Err(NodeError::NotTerminated {
                left: live.len(),
                waited: TERMINATE_TIMEOUT,
            });
        }
        let ids: Vec<String> = live.iter().map(|i| i.id.clone()).collect();
        if patience
            .poll(traffic::drain(executor, &target_groups, &ids).await)?
            .is_none()
        {
            continue;
        }
        if executor.cancelled() {
            return Ok(NodeOutcome::Interrupted);
        }
        let terminated = match asg {
            // Emptied, the group terminates its instances itself and launches no more.
            Some(asg) => autoscaling::empty(executor, asg).await,
            None => executor.aws.terminate_instances(&ids).await,
        };
        patience.poll(terminated)?;
        since = std::time::Instant::now();
    }
    if let Some(asg) = asg {
        autoscaling::empty(executor, asg).await?;
        autoscaling::delete(executor, asg).await?;
    }
    if let Some(template) = live_template(executor, name) {
        executor.aws.delete_launch_template(&template.id).await?;
    }
    let message = format!(
        "terminated {}; launch template `{}` deleted",
        plural(change.terminate.len(), "instance"),
        change.name
    );
    executor.progress.line(&address, &message);
    Ok(NodeOutcome::Done(message))
}
