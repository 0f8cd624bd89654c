//! A group's `autoscaling:`: bounds, health check, policies, termination order, and the
//! count the group starts at.

use super::Checker;
use crate::load::raw::{RawAutoscaling, RawGroup};
use crate::model::{
    Autoscaling, AutoscalingHealthCheck, Duration, HealthCheckKind, ScalingMetric, ScalingPolicy,
    TerminationPolicy, autoscaling::DEFAULT_GRACE,
};

/// The count group `path` starts at, and its Auto Scaling settings, checked: `count` is
/// required of a plain group; of an Auto Scaling group it defaults to `min` and must lie
/// within `min..=max`.
pub(super) fn build(
    checker: &mut Checker,
    path: &str,
    group: &RawGroup,
) -> (u32, Option<Autoscaling>) {
    let Some(raw) = &group.autoscaling else {
        if group.count.is_none() {
            checker.error_at_key(
                path,
                "a group needs a `count`".to_owned(),
                "`count: N`, or `autoscaling: { min: N, max: M }`",
                Some(
                    "add `count: 2`, or run the group as an Auto Scaling group with `autoscaling:`"
                        .to_owned(),
                ),
            );
        }
        return (group.count.unwrap_or_default(), None);
    };
    let at = format!("{path}.autoscaling");
    if raw.min > raw.max {
        checker.error_at_value(
            &format!("{at}.max"),
            format!("`max` {} is below `min` {}", raw.max, raw.min),
            "a number at least `min`",
            None,
        );
    }
    let count = group.count.unwrap_or(raw.min);
    if !(raw.min..=raw.max).contains(&count) {
        checker.error_at_value(
            &format!("{path}.count"),
            format!(
                "`count` {count} is outside the Auto Scaling group's bounds (min {}, max {})",
                raw.min, raw.max
            ),
            "a count from `min` to `max`",
            Some("leave `count` out to start at `min`".to_owned()),
        );
    }
    let health_check = health_check(checker, &at, raw, group);
    let policies = policies(checker, &at, raw, group);
    let termination = raw
        .termination
        .clone()
        .unwrap_or_else(TerminationPolicy::defaults);
    let autoscaling = Autoscaling {
        min: raw.min,
        max: raw.max,
        health_check,
        policies,
        termination,
    };
    (count, Some(autoscaling))
}

fn health_check(
    checker: &mut Checker,
    at: &str,
    raw: &RawAutoscaling,
    group: &RawGroup,
) -> AutoscalingHealthCheck {
    let check = raw.health_check.as_ref();
    let kind = check.map_or(HealthCheckKind::Ec2, |c| c.kind);
    if kind == HealthCheckKind::Elb && group.target_groups.is_empty() {
        checker.error_at_value(
            &format!("{at}.health_check.type"),
            "an `elb` health check reads the target groups' health, and the group has no `target_groups`".to_owned(),
            "`ec2`, or `elb` with `target_groups`",
            Some("add the group's `target_groups`, or use `type: ec2`".to_owned()),
        );
    }
    AutoscalingHealthCheck {
        kind,
        grace: check
            .and_then(|c| c.grace)
            .unwrap_or(Duration(DEFAULT_GRACE)),
    }
}

fn policies(
    checker: &mut Checker,
    at: &str,
    raw: &RawAutoscaling,
    group: &RawGroup,
) -> Vec<ScalingPolicy> {
    let mut seen = Vec::new();
    for (i, policy) in raw.policies.iter().enumerate() {
        let path = format!("{at}.policies[{i}]");
        if seen.contains(&policy.target) {
            checker.error_at_value(
                &format!("{path}.target"),
                format!("a second `{}` policy", policy.target.as_str()),
                "one policy per metric",
                Some("target tracking keeps one value per metric: keep one of them".to_owned()),
            );
        }
        seen.push(policy.target);
        if !(policy.value.is_finite() && policy.value > 0.0) {
            checker.error_at_value(
                &format!("{path}.value"),
                format!("`{}` is no value to track", policy.value),
                "a number above 0",
                None,
            );
        }
        if policy.target == ScalingMetric::AlbRequestsPerTarget && group.target_groups.len() != 1 {
            checker.error_at_value(
                &format!("{path}.target"),
                format!(
                    "`alb_requests_per_target` counts the requests of one target group, and the group has {}",
                    group.target_groups.len()
                ),
                "a group with exactly one target group",
                Some("track `cpu` instead, or list one target group".to_owned()),
            );
        }
    }
    raw.policies
        .iter()
        .map(|p| ScalingPolicy {
            target: p.target,
            value: p.value,
        })
        .collect()
}
