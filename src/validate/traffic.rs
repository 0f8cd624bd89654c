//! What a group's rollout is ordered around: the target groups its instances serve, the
//! canary batch and its bake, and the CloudWatch alarms that gate it.

use std::collections::BTreeMap;

use super::Checker;
use super::references::{Names, Written, resolve_interpolations};
use crate::load::raw::RawCanary;
use crate::model::{Address, Canary, Interpolated, Quantity, Stack};

/// The most target groups a group serves: rollstack remembers them in one tag each on
/// the launch template (so that a group removed from the file still drains), within
/// EC2's 50 tags.
pub const MAX_TARGET_GROUPS: usize = 5;

/// Checks a group's `target_groups`: ARNs of ELBv2 target groups, or references.
pub fn target_groups(checker: &mut Checker, path: &str, target_groups: &[Interpolated]) {
    let path = format!("{path}.target_groups");
    if target_groups.len() > MAX_TARGET_GROUPS {
        checker.error_at_value(
            &path,
            format!(
                "{} target groups; a group serves at most {MAX_TARGET_GROUPS}",
                target_groups.len()
            ),
            "at most five target groups",
            Some("put the instances behind fewer target groups, or split the group".to_owned()),
        );
    }
    for (i, arn) in target_groups.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if target_groups[..i].contains(arn) {
            checker.error_at_value(
                &at,
                format!("target group `{arn}` is listed twice"),
                "each target group once",
                Some("remove the repeat".to_owned()),
            );
        } else if arn.is_literal() && !is_target_group_arn(arn.as_str()) {
            checker.error_at_value(
                &at,
                format!("`{arn}` is not a target group ARN"),
                "`arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID` or `${outputs.NODE.OUTPUT}`",
                Some(
                    "a load balancer's target group is usually made by a CloudFormation node: refer to its output, `${outputs.lb.TargetGroupArn}`"
                        .to_owned(),
                ),
            );
        }
    }
}

/// `arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`.
fn is_target_group_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let resource: Vec<&str> = resource.split('/').collect();
    arn_ == "arn"
        && partition.starts_with("aws")
        && service == "elasticloadbalancing"
        && !region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && matches!(resource[..], ["targetgroup", name, id] if !name.is_empty() && !id.is_empty())
}

/// The `${...}` references of every group's `instance_profile` and `target_groups`:
/// graph edges, checked against the outputs the templates declare.
pub fn group_references(checker: &mut Checker, names: &Names, stack: &mut Stack) {
    let outputs: BTreeMap<String, Vec<String>> = stack
        .cloudformation
        .iter()
        .map(|(n, c)| (n.clone(), c.outputs.clone()))
        .collect();
    let mut edges = Vec::new();
    for (name, group) in &stack.groups {
        let from = Address::Group(name.clone());
        let profile = group.instance_profile.iter().map(|p| {
            let path = format!("groups.{name}.instance_profile");
            (p, "the instance profile", path)
        });
        let target_groups = group.target_groups.iter().enumerate().map(|(i, arn)| {
            let path = format!("groups.{name}.target_groups[{i}]");
            (arn, "the target group", path)
        });
        for (value, what, path) in profile.chain(target_groups) {
            let written = Written {
                value,
                what,
                path: &path,
            };
            resolve_interpolations(checker, names, &outputs, written, &from, &mut edges);
        }
    }
    stack.references.extend(edges);
}

/// The canary of a group of `count`, checked.
pub fn canary(
    checker: &mut Checker,
    path: &str,
    count: u32,
    raw: Option<&RawCanary>,
) -> Option<Canary> {
    let raw = raw?;
    let path = format!("{path}.canary");
    let canary = Canary {
        count: raw.count,
        bake: raw.bake,
    };
    match raw.count {
        Quantity::Count(0) | Quantity::Percent(0) => checker.error_at_value(
            &format!("{path}.count"),
            "a canary of no instances tests nothing".to_owned(),
            "at least one instance, or a percentage above 0%",
            Some("remove `canary` to roll without one".to_owned()),
        ),
        Quantity::Percent(p) if p > 100 => checker.error_at_value(
            &format!("{path}.count"),
            format!("`{p}%` is more than the whole group"),
            "a percentage from 1% to 100%",
            None,
        ),
        Quantity::Count(n) if n > count => checker.error_at_value(
            &format!("{path}.count"),
            format!("a canary of {n} is more than the group's count of {count}"),
            "at most the group's count",
            None,
        ),
        _ => {}
    }
    Some(canary)
}

/// The alarm names of a rollout, checked as CloudWatch takes them.
pub fn alarms(checker: &mut Checker, path: &str, alarms: &[String]) {
    for (i, name) in alarms.iter().enumerate() {
        let at = format!("{path}.alarms[{i}]");
        if name.trim().is_empty() || name.len() > 255 {
            checker.error_at_value(
                &at,
                "an alarm name is 1 to 255 characters".to_owned(),
                "the name of a CloudWatch alarm",
                None,
            );
        } else if alarms[..i].contains(name) {
            checker.error_at_value(
                &at,
                format!("alarm `{name}` is listed twice"),
                "each alarm once",
                Some("remove the repeat".to_owned()),
            );
        }
    }
    if alarms.len() > 100 {
        checker.error_at_value(
            &format!("{path}.alarms"),
            format!("{} alarms; a rollout watches at most 100", alarms.len()),
            "at most 100 alarms",
            Some("combine them into a composite alarm".to_owned()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_group_arns() {
        let table = [
            (
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/50dc6c495c0c9188",
                true,
            ),
            (
                "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/w/1",
                true,
            ),
            (
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1",
                false,
            ),
            (
                "arn:aws:elasticloadbalancing:us-east-1:1234:targetgroup/web/1",
                false,
            ),
            ("web", false),
            (
                "arn:aws:ec2:us-east-1:123456789012:targetgroup/web/1",
                false,
            ),
        ];
        for (arn, valid) in table {
            assert_eq!(is_target_group_arn(arn), valid, "{arn}");
        }
    }
}
