//! A group's Auto Scaling group in the plan: made, updated setting by setting, or
//! deleted; what an interrupted rollout left taken back. Its desired capacity is Auto
//! Scaling's business (never drift), and so are the instances it replaced on its own.

use crate::diagnostic::plural;
use crate::model::{Autoscaling, Group, Stack};
use crate::observe::{LiveAutoScalingGroup, Observed, aws_name};
use crate::plan::autoscaling::{AutoscalingAction, AutoscalingChange, SettingChange};
use crate::plan::{Action, Change, Detail};
use crate::template::unknown;

/// The name of a group's target-tracking policy on `metric`.
pub fn policy_name(group: &str, metric: crate::model::ScalingMetric) -> String {
    format!("{group}-{}", metric.as_str().replace('_', "-"))
}

/// Adds the Auto Scaling group of group `name` to its `change` (an otherwise unchanged
/// group whose Auto Scaling group changes becomes an update); `version`: the launch
/// template version of the planned spec, when one exists.
pub(super) fn plan(
    change: &mut Change,
    stack: &Stack,
    (name, group): (&str, Option<&Group>),
    observed: &Observed,
    version: Option<i64>,
) {
    let live = observed.autoscaling_group(name);
    let wanted = group.and_then(|g| g.autoscaling.as_ref());
    let Detail::Group(detail) = &mut change.detail else {
        return;
    };
    let planned_arns: Vec<String> = detail
        .traffic
        .as_ref()
        .map(|t| t.target_groups.clone())
        .unwrap_or_default();
    let asg = match (wanted, live) {
        (None, None) => return,
        (Some(settings), None) => created(
            &aws_name(stack, name),
            settings,
            group,
            !detail.replace.is_empty(),
        ),
        (None, Some(live)) => AutoscalingChange {
            name: live.name.clone(),
            action: if group.is_some() {
                AutoscalingAction::Leave
            } else {
                AutoscalingAction::Delete
            },
            desired: Some((live.desired, live.wanted())),
            ..AutoscalingChange::default()
        },
        (Some(settings), Some(live)) => update(live, settings, &planned_arns, version),
    };
    if change.action == Action::NoOp && asg.is_needed() {
        change.action = Action::Update;
        change.reason = format!("Auto Scaling group: {}", asg.summary());
    }
    detail.autoscaling = Some(asg);
}

/// A new Auto Scaling group: every setting from nothing, every policy put.
/// `moving`: a plain group's instances are replaced into it, so it starts empty.
fn created(
    name: &str,
    settings: &Autoscaling,
    group: Option<&Group>,
    moving: bool,
) -> AutoscalingChange {
    let count = if moving {
        0
    } else {
        group.map_or(settings.min, |g| g.count)
    };
    let none = || "-".to_owned();
    let setting = |setting: &str, after: String| SettingChange {
        setting: setting.to_owned(),
        before: none(),
        after,
    };
    AutoscalingChange {
        name: name.to_owned(),
        action: AutoscalingAction::Create,
        settings: vec![
            setting("min", settings.min.to_string()),
            setting("max", settings.max.to_string()),
            setting("desired", count.to_string()),
            setting(
                "health check",
                health_check(
                    Some(settings.health_check.kind),
                    settings.health_check.grace.0.as_secs(),
                ),
            ),
            setting("termination", termination(settings)),
        ],
        put_policies: settings
            .policies
            .iter()
            .map(|p| format!("{} {}", p.target.as_str(), p.value))
            .collect(),
        ..AutoscalingChange::default()
    }
}

fn health_check(kind: Option<crate::model::HealthCheckKind>, grace: u64) -> String {
    format!(
        "{}, grace {}",
        kind.map_or("unknown", |k| k.as_aws()),
        humantime::format_duration(std::time::Duration::from_secs(grace))
    )
}

fn termination(settings: &Autoscaling) -> String {
    settings
        .termination
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn update(
    live: &LiveAutoScalingGroup,
    settings: &Autoscaling,
    planned_arns: &[String],
    version: Option<i64>,
) -> AutoscalingChange {
    let mut change = AutoscalingChange {
        name: live.name.clone(),
        desired: Some((live.desired, live.wanted())),
        ..AutoscalingChange::default()
    };
    let mut setting = |setting: &str, before: String, after: String| {
        if before != after {
            change.settings.push(SettingChange {
                setting: setting.to_owned(),
                before,
                after,
            });
        }
    };
    setting("min", live.min.to_string(), settings.min.to_string());
    setting("max", live.max.to_string(), settings.max.to_string());
    setting(
        "health check",
        health_check(live.health_check, u64::from(live.grace)),
        health_check(
            Some(settings.health_check.kind),
            settings.health_check.grace.0.as_secs(),
        ),
    );
    setting(
        "termination",
        live.termination.join(", "),
        termination(settings),
    );
    if let (Some(version), Some((_, live_version))) = (version, &live.launch_template) {
        setting(
            "launch template version",
            live_version.clone(),
            version.to_string(),
        );
    }
    policies(&mut change, live, settings);
    let known: Vec<&String> = planned_arns.iter().filter(|a| !unknown(a)).collect();
    if known.len() == planned_arns.len() {
        change.attach = known
            .iter()
            .filter(|a| !live.target_groups.contains(a))
            .map(|a| (*a).clone())
            .collect();
        change.detach = live
            .target_groups
            .iter()
            .filter(|a| !planned_arns.contains(a))
            .cloned()
            .collect();
    }
    change.leftovers = leftovers(live);
    let changed = !change.settings.is_empty()
        || !change.put_policies.is_empty()
        || !change.delete_policies.is_empty()
        || !change.attach.is_empty()
        || !change.detach.is_empty()
        || !change.leftovers.is_empty();
    if changed {
        change.action = AutoscalingAction::Update;
    }
    change
}

/// Policies to put (missing or tracking another value) and to delete (not the file's).
fn policies(change: &mut AutoscalingChange, live: &LiveAutoScalingGroup, settings: &Autoscaling) {
    let mut wanted = Vec::new();
    for policy in &settings.policies {
        let name = policy_name(&live.name, policy.target);
        let same = live.policies.iter().any(|p| {
            p.name == name && p.metric == Some(policy.target) && p.value == Some(policy.value)
        });
        if !same {
            change
                .put_policies
                .push(format!("{} {}", policy.target.as_str(), policy.value));
        }
        wanted.push(name);
    }
    change.delete_policies = live
        .policies
        .iter()
        .filter(|p| !wanted.contains(&p.name))
        .map(|p| p.name.clone())
        .collect();
}

/// What a rollout that did not finish left on the group: a raised desired capacity and
/// instances protected from scale-in.
fn leftovers(live: &LiveAutoScalingGroup) -> Vec<String> {
    let mut left = Vec::new();
    if live.rollout().is_some() && live.desired != live.wanted() {
        left.push(format!(
            "desired capacity {} holds an interrupted rollout's surge: back to {}",
            live.desired,
            live.wanted()
        ));
    }
    let protected = live.instances.iter().filter(|i| i.protected).count();
    if protected > 0 {
        left.push(format!(
            "{} protected from scale-in by an interrupted rollout: cleared",
            plural(protected, "instance")
        ));
    }
    left
}
