//! The Auto Scaling part of a policy, for a stack with groups run as Auto Scaling
//! groups: reads (no resource-level permissions), creation carrying the environment's
//! tags, and changes to groups that carry them.

use super::document::Statement;
use super::{Arns, ownership};
use crate::aws::operations::{Scope, actions};
use crate::model::Stack;

fn uses_autoscaling(stack: &Stack) -> bool {
    stack.groups.values().any(|g| g.autoscaling.is_some())
}

/// Auto Scaling's Describe calls, which plan and status make.
pub(super) fn reads(stack: &Stack) -> Option<Statement> {
    uses_autoscaling(stack).then(|| {
        Statement::new(
            "ReadAutoScaling",
            actions(Scope::AutoScalingRead, false),
            ["*".to_owned()],
        )
    })
}

/// Making the environment's Auto Scaling groups (tagged in the request) and changing
/// only those that carry its tags.
pub(super) fn writes(stack: &Stack, arns: &Arns) -> Vec<Statement> {
    if !uses_autoscaling(stack) {
        return Vec::new();
    }
    let groups = arns.regional(
        "autoscaling",
        &format!(
            "autoScalingGroup:*:autoScalingGroupName/{}-{}-*",
            stack.name, stack.environment.name
        ),
    );
    vec![
        Statement::new(
            "CreateOwnAutoScalingGroups",
            actions(Scope::AutoScalingCreate, true),
            [groups.clone()],
        )
        .when(ownership("aws:RequestTag", stack)),
        Statement::new(
            "ChangeOwnAutoScalingGroups",
            actions(Scope::AutoScalingOwned, true),
            [groups],
        )
        .when(ownership("aws:ResourceTag", stack)),
    ]
}
