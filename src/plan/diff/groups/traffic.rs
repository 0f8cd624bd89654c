//! A group's traffic in the plan: the target groups and alarms its rollout uses, and
//! kept instances a target group is missing (a run killed between launch and
//! registration leaves them: the plan says so, and apply registers them).

use crate::diagnostic::plural;
use crate::model::{Address, Group, Stack};
use crate::observe::{InstanceState, LiveLaunchTemplate, Observed, TargetState};
use crate::plan::diff::cloudformation::interpolate;
use crate::plan::{Action, AlarmPlan, Change, Detail, TrafficPlan};
use crate::template::{Outputs, unknown};

/// Adds `group`'s traffic to its `change`; a group otherwise unchanged whose kept
/// instances are missing from a target group becomes an update that registers them.
pub(super) fn plan(
    change: &mut Change,
    group: &Group,
    observed: &Observed,
    outputs: &Outputs,
    stack: &Stack,
) {
    let Detail::Group(detail) = &mut change.detail else {
        return;
    };
    let remembered = observed
        .launch_templates
        .iter()
        .find(|t| {
            matches!(&change.address, Address::Group(name) if t.group(stack).as_deref() == Some(name))
        })
        .map(LiveLaunchTemplate::target_groups)
        .unwrap_or_default();
    if group.target_groups.is_empty() && group.rollout.alarms.is_empty() && remembered.is_empty() {
        return;
    }
    let target_groups: Vec<String> = group
        .target_groups
        .iter()
        .map(|written| {
            let arn = interpolate(stack, written, &Default::default(), outputs);
            if unknown(&arn) {
                written.to_string()
            } else {
                arn
            }
        })
        .collect();
    let leaving: Vec<&String> = detail.replace.iter().chain(&detail.terminate).collect();
    let name = change.address.name();
    let register: Vec<String> = observed
        .instances
        .iter()
        .filter(|i| crate::observe::group_of(i).as_deref() == Some(name))
        .filter(|i| i.state == InstanceState::Running && !leaving.contains(&&i.id))
        .filter(|i| {
            target_groups.iter().any(|arn| {
                observed.target_group(arn).is_some_and(|tg| {
                    let state = tg.state_of(&i.id);
                    !state.is_registered() && state != TargetState::Draining
                })
            })
        })
        .map(|i| i.id.clone())
        .collect();
    let alarms = group
        .rollout
        .alarms
        .iter()
        .map(|name| AlarmPlan {
            name: name.clone(),
            state: observed
                .alarms
                .iter()
                .find(|a| &a.name == name)
                .map(|a| a.state.as_str().to_owned()),
        })
        .collect();
    let leave: Vec<String> = remembered
        .into_iter()
        .filter(|arn| !target_groups.contains(arn))
        .collect();
    if change.action == Action::NoOp && !register.is_empty() {
        change.action = Action::Update;
        change.reason = format!(
            "register {} missing from its target groups",
            plural(register.len(), "instance")
        );
    } else if change.action == Action::NoOp && !leave.is_empty() {
        change.action = Action::Update;
        change.reason = format!("leave {}", plural(leave.len(), "target group"));
    }
    detail.traffic = Some(TrafficPlan {
        target_groups,
        register,
        leave,
        alarms,
    });
}
