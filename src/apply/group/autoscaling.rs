//! A group run as an Auto Scaling group: made or updated so it launches from the
//! rollout's launch template version before anything else happens; the rollout's
//! launches and terminations carried out as desired capacities
//! ([`rollout::autoscaling`](crate::rollout::autoscaling) decides them); protection
//! from scale-in for new instances while old ones remain; and the end of a rollout,
//! which takes back what it raised.

use std::collections::BTreeMap;

use super::{Executor, Target};
use crate::aws::{AutoScalingSettings, AwsError};
use crate::model::{Address, Group};
use crate::observe::{LiveAutoScalingGroup, aws_name, tags};
use crate::plan::diff::groups::policy_name;
use crate::plan::spec::ownership_tags;
use crate::rollout::autoscaling::{Lower, lower, raise};

/// What group `name`'s Auto Scaling group is made and kept with, launching from
/// `target`'s version, its `max` at least `at_least` (a surge being taken back).
fn settings(
    executor: &Executor,
    name: &str,
    target: &Target,
    at_least: u32,
) -> Option<AutoScalingSettings> {
    let group = &executor.stack.groups[name];
    let autoscaling = group.autoscaling.as_ref()?;
    Some(AutoScalingSettings {
        name: aws_name(&executor.stack, name),
        template: (target.template_id.clone(), target.version),
        min: autoscaling.min,
        max: autoscaling.max.max(at_least),
        health_check: (
            autoscaling.health_check.kind,
            autoscaling.health_check.grace.0.as_secs() as u32,
        ),
        termination: autoscaling
            .termination
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        subnets: group.subnets.clone(),
    })
}

/// Makes group `name`'s Auto Scaling group, or brings its settings, target groups and
/// policies to the file's, launching from `target`'s version from now on; its launch
/// template remembers it. Returns the group's name.
pub(super) async fn prepare(
    executor: &Executor,
    name: &str,
    target: &Target,
    target_groups: &[String],
) -> Result<Option<String>, AwsError> {
    let aws = &executor.aws;
    let live = executor.observed.autoscaling_group(name);
    let Some(settings) = settings(executor, name, target, live.map_or(0, |l| l.desired)) else {
        return Ok(None);
    };
    let group = &executor.stack.groups[name];
    let remembered = super::live_template(executor, name)
        .is_some_and(|t| t.tags.get(tags::AUTOSCALING) == Some(&settings.name));
    if !remembered {
        aws.set_tags(
            &target.template_id,
            &BTreeMap::from([(tags::AUTOSCALING.to_owned(), settings.name.clone())]),
        )
        .await?;
    }
    match live {
        None => create(executor, name, settings.clone(), target_groups).await?,
        Some(live) => {
            if !in_sync(live, &settings) {
                aws.update_autoscaling_group(&settings).await?;
            }
            let attach: Vec<String> = target_groups
                .iter()
                .filter(|a| !live.target_groups.contains(a))
                .cloned()
                .collect();
            let detach: Vec<String> = live
                .target_groups
                .iter()
                .filter(|a| !target_groups.contains(a))
                .cloned()
                .collect();
            aws.set_group_target_groups(&settings.name, &attach, &detach)
                .await?;
        }
    }
    policies(executor, group, &settings.name, live, target_groups).await?;
    executor.observer.watch_autoscaling_group(&settings.name);
    Ok(Some(settings.name))
}

/// A rollback's first step: group `name`'s Auto Scaling group launches from `target`'s
/// (the previous) version again. Always written: what the plan observed is from before
/// the failed rollout moved it. Returns the group's name.
pub(super) async fn launch_from(
    executor: &Executor,
    name: &str,
    target: &Target,
) -> Result<Option<String>, AwsError> {
    if executor.stack.groups[name].autoscaling.is_none() {
        return Ok(None);
    }
    let asg = aws_name(&executor.stack, name);
    executor
        .aws
        .set_launch_template(&asg, (&target.template_id, target.version))
        .await?;
    executor.observer.watch_autoscaling_group(&asg);
    Ok(Some(asg))
}

/// Whether `live` already has `settings` (an update would change nothing).
fn in_sync(live: &LiveAutoScalingGroup, settings: &AutoScalingSettings) -> bool {
    let (template, version) = &settings.template;
    live.min == settings.min
        && live.max == settings.max
        && live.health_check == Some(settings.health_check.0)
        && live.grace == settings.health_check.1
        && live.termination == settings.termination
        && live.launch_template.as_ref() == Some(&(template.clone(), version.to_string()))
}

/// Makes the Auto Scaling group. A plain group moving in starts it empty (and its `min`
/// at 0 until the rollout ends), with a record that Auto Scaling wants the group's
/// count: the rollout then launches into it and takes the plain instances out, within
/// its bounds.
async fn create(
    executor: &Executor,
    name: &str,
    mut settings: AutoScalingSettings,
    target_groups: &[String],
) -> Result<(), AwsError> {
    let aws = &executor.aws;
    let group = &executor.stack.groups[name];
    let mut owned = ownership_tags(&executor.stack, &Address::Group(name.to_owned()));
    owned.insert(tags::NAME.to_owned(), settings.name.clone());
    let moving = executor
        .observed
        .instances
        .iter()
        .any(|i| crate::observe::group_of(i).as_deref() == Some(name));
    if !moving {
        return aws
            .create_autoscaling_group(&settings, group.count, target_groups, &owned)
            .await;
    }
    settings.min = 0;
    let record = crate::observe::RolloutRecord {
        base: group.count,
        set: 0,
    };
    owned.insert(tags::ROLLOUT.to_owned(), record.text());
    aws.create_autoscaling_group(&settings, 0, target_groups, &owned)
        .await
}

/// A group that left `autoscaling:`: its Auto Scaling group's `min` to 0, every
/// instance detached (kept, a plain group's now), its policies and itself deleted, and
/// its launch template no longer naming it.
pub(super) async fn leave(
    executor: &Executor,
    name: &str,
    template_id: &str,
) -> Result<(), AwsError> {
    let aws = &executor.aws;
    let Some(live) = executor.observed.autoscaling_group(name) else {
        return Ok(());
    };
    let ids: Vec<String> = live.staying().map(|i| i.id.clone()).collect();
    aws.set_bounds(&live.name, 0, live.max.max(live.desired))
        .await?;
    unprotect(&executor.aws, live).await?;
    aws.detach_from_group(&live.name, &ids).await?;
    delete(executor, live).await?;
    aws.delete_tags(&[template_id.to_owned()], &[tags::AUTOSCALING.to_owned()])
        .await?;
    executor.progress.line(
        &Address::Group(name.to_owned()),
        &format!(
            "left Auto Scaling group `{}`: {} detached and kept, the group deleted",
            live.name,
            crate::diagnostic::plural(ids.len(), "instance")
        ),
    );
    Ok(())
}

/// Puts the file's target-tracking policies that are missing or track another value,
/// and deletes the group's others.
async fn policies(
    executor: &Executor,
    group: &Group,
    asg: &str,
    live: Option<&LiveAutoScalingGroup>,
    target_groups: &[String],
) -> Result<(), AwsError> {
    let aws = &executor.aws;
    let Some(autoscaling) = &group.autoscaling else {
        return Ok(());
    };
    let mut wanted = Vec::new();
    for policy in &autoscaling.policies {
        let name = policy_name(asg, policy.target);
        let same = live.is_some_and(|l| {
            l.policies.iter().any(|p| {
                p.name == name && p.metric == Some(policy.target) && p.value == Some(policy.value)
            })
        });
        if !same {
            let label = match (policy.target, target_groups) {
                (crate::model::ScalingMetric::AlbRequestsPerTarget, [arn]) => {
                    aws.resource_label(arn).await?
                }
                _ => None,
            };
            aws.put_policy(asg, &name, (policy.target, policy.value), label.as_deref())
                .await?;
        }
        wanted.push(name);
    }
    for old in live.into_iter().flat_map(|l| &l.policies) {
        if !wanted.contains(&old.name) {
            aws.delete_policy(asg, &old.name).await?;
        }
    }
    Ok(())
}

/// Launches `n` through the group: desired capacity raised (and max, for the surge),
/// then the record of what Auto Scaling wanted.
pub(super) async fn launch(
    executor: &Executor,
    asg: &LiveAutoScalingGroup,
    n: u32,
) -> Result<(), AwsError> {
    let aws = &executor.aws;
    let raised = raise(asg, n);
    if let Some(max) = raised.max {
        aws.set_max_size(&asg.name, max).await?;
    }
    aws.set_desired_capacity(&asg.name, raised.desired).await?;
    aws.set_group_tag(&asg.name, tags::ROLLOUT, &raised.record.text())
        .await
}

/// Takes `ids` out of the group: the record first, then launches called off and
/// instances terminated, lowering the desired capacity by the surge it holds.
pub(super) async fn take_out(
    executor: &Executor,
    asg: &LiveAutoScalingGroup,
    ids: &[String],
) -> Result<(), AwsError> {
    let aws = &executor.aws;
    // A plain group's instances, moving in, are not the Auto Scaling group's to count.
    let (inside, outside): (Vec<String>, Vec<String>) = ids.iter().cloned().partition(|id| {
        id.starts_with(crate::rollout::autoscaling::LAUNCHING)
            || asg.instances.iter().any(|i| &i.id == id)
    });
    if !outside.is_empty() {
        aws.terminate_instances(&outside).await?;
    }
    if inside.is_empty() {
        return Ok(());
    }
    let Lower {
        record,
        desired,
        terminate,
    } = lower(asg, &inside);
    aws.set_group_tag(&asg.name, tags::ROLLOUT, &record.text())
        .await?;
    if let Some(desired) = desired {
        aws.set_desired_capacity(&asg.name, desired).await?;
    }
    for (id, decrement) in terminate {
        aws.terminate_in_group(&id, decrement).await?;
    }
    Ok(())
}

/// Clears the scale-in protection of every instance of `asg` that has it.
async fn unprotect(aws: &crate::aws::Aws, asg: &LiveAutoScalingGroup) -> Result<(), AwsError> {
    let protected: Vec<String> = asg
        .instances
        .iter()
        .filter(|i| i.protected)
        .map(|i| i.id.clone())
        .collect();
    if protected.is_empty() {
        return Ok(());
    }
    aws.set_protection(&asg.name, &protected, false).await
}

/// Protects the group's instances of the target spec from scale-in while old ones
/// remain, so a scale-in during the rollout removes old ones.
pub(super) async fn protect(
    executor: &Executor,
    asg: &LiveAutoScalingGroup,
    current: &[String],
) -> Result<(), AwsError> {
    let unprotected: Vec<String> = asg
        .staying()
        .filter(|i| !i.protected && current.contains(&i.id))
        .map(|i| i.id.clone())
        .collect();
    if unprotected.is_empty() {
        return Ok(());
    }
    executor
        .aws
        .set_protection(&asg.name, &unprotected, true)
        .await
}

/// The end of a rollout: protection cleared, the bounds back to the file's (a surge
/// raised `max`; a plain group moving in started at `min` 0), the record taken off (set
/// empty).
pub(super) async fn finish(
    executor: &Executor,
    name: &str,
    asg: &LiveAutoScalingGroup,
) -> Result<(), AwsError> {
    let aws = &executor.aws;
    unprotect(&executor.aws, asg).await?;
    let (min, max) = executor.stack.groups[name]
        .autoscaling
        .as_ref()
        .map_or((asg.min, asg.max), |a| (a.min, a.max));
    if (asg.min, asg.max) != (min, max) && (min..=max).contains(&asg.desired) {
        aws.set_bounds(&asg.name, min, max).await?;
    }
    if asg.tags.get(tags::ROLLOUT).is_some_and(|r| !r.is_empty()) {
        aws.set_group_tag(&asg.name, tags::ROLLOUT, "").await?;
    }
    Ok(())
}

/// A removed group's Auto Scaling group, once its instances are drained: protection
/// cleared and emptied (its bounds to 0), so it terminates them itself and launches no
/// more.
pub(super) async fn empty(executor: &Executor, asg: &LiveAutoScalingGroup) -> Result<(), AwsError> {
    unprotect(&executor.aws, asg).await?;
    executor.aws.empty_autoscaling_group(&asg.name).await
}

/// A removed group's Auto Scaling group, once it has no instances: its policies and
/// itself deleted.
pub(super) async fn delete(
    executor: &Executor,
    asg: &LiveAutoScalingGroup,
) -> Result<(), AwsError> {
    for policy in &asg.policies {
        executor.aws.delete_policy(&asg.name, &policy.name).await?;
    }
    executor.aws.delete_autoscaling_group(&asg.name).await
}
