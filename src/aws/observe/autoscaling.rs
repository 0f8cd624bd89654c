//! Reading Auto Scaling groups: bounds, capacity, instances with their lifecycle and
//! protection, policies (for plans), and scaling activities (for `status`).

use super::super::{Aws, AwsError};
use crate::model::{HealthCheckKind, ScalingMetric};
use crate::observe::{AutoScalingInstance, Lifecycle, LiveAutoScalingGroup, LivePolicy};

/// Auto Scaling describes this many groups by name in one call.
const GROUPS_PER_CALL: usize = 50;

/// One scaling activity, for `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    /// When it started (RFC 3339).
    pub started: String,
    /// Its status (`Successful`, `InProgress`).
    pub status: String,
    /// What it did.
    pub description: String,
}

impl Aws {
    /// The Auto Scaling groups named `names` that exist, with their policies when
    /// `policies` (a call per group).
    pub async fn autoscaling_groups(
        &self,
        names: &[String],
        policies: bool,
    ) -> Result<Vec<LiveAutoScalingGroup>, AwsError> {
        let mut groups = Vec::new();
        for chunk in names.chunks(GROUPS_PER_CALL) {
            let mut pages = self
                .autoscaling
                .describe_auto_scaling_groups()
                .set_auto_scaling_group_names(Some(chunk.to_vec()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| self.error("DescribeAutoScalingGroups", e))?;
                groups.extend(page.auto_scaling_groups().iter().map(live_group));
            }
        }
        if !policies {
            return Ok(groups);
        }
        let policies = groups.iter().map(|g| self.policies(&g.name));
        let policies = futures_util::future::try_join_all(policies).await?;
        for (group, policies) in groups.iter_mut().zip(policies) {
            group.policies = policies;
        }
        Ok(groups)
    }

    async fn policies(&self, group: &str) -> Result<Vec<LivePolicy>, AwsError> {
        let mut pages = self
            .autoscaling
            .describe_policies()
            .auto_scaling_group_name(group)
            .into_paginator()
            .send();
        let mut policies = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("DescribePolicies", e))?;
            for policy in page.scaling_policies() {
                let tracking = policy.target_tracking_configuration();
                policies.push(LivePolicy {
                    name: policy.policy_name().unwrap_or_default().to_owned(),
                    metric: tracking
                        .and_then(|t| t.predefined_metric_specification())
                        .and_then(|m| m.predefined_metric_type())
                        .and_then(|m| ScalingMetric::from_aws(m.as_str())),
                    value: tracking.and_then(|t| t.target_value()),
                });
            }
        }
        Ok(policies)
    }

    /// The last `n` scaling activities of group `name`, newest first.
    pub async fn scaling_activities(&self, name: &str, n: i32) -> Result<Vec<Activity>, AwsError> {
        let answer = self
            .autoscaling
            .describe_scaling_activities()
            .auto_scaling_group_name(name)
            .max_records(n)
            .send()
            .await
            .map_err(|e| self.error("DescribeScalingActivities", e))?;
        Ok(answer
            .activities()
            .iter()
            .map(|a| Activity {
                started: a.start_time().map(|t| t.to_string()).unwrap_or_default(),
                status: a
                    .status_code()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                description: a.description().unwrap_or_default().to_owned(),
            })
            .collect())
    }
}

fn live_group(group: &aws_sdk_autoscaling::types::AutoScalingGroup) -> LiveAutoScalingGroup {
    let count = |n: Option<i32>| n.unwrap_or_default().max(0) as u32;
    LiveAutoScalingGroup {
        name: group
            .auto_scaling_group_name()
            .unwrap_or_default()
            .to_owned(),
        min: count(group.min_size()),
        max: count(group.max_size()),
        desired: count(group.desired_capacity()),
        health_check: group
            .health_check_type()
            .and_then(HealthCheckKind::from_aws),
        grace: count(group.health_check_grace_period()),
        target_groups: group.target_group_arns().to_vec(),
        termination: group.termination_policies().to_vec(),
        launch_template: group.launch_template().map(|t| {
            (
                t.launch_template_id().unwrap_or_default().to_owned(),
                t.version().unwrap_or_default().to_owned(),
            )
        }),
        instances: group
            .instances()
            .iter()
            .map(|i| AutoScalingInstance {
                id: i.instance_id().unwrap_or_default().to_owned(),
                lifecycle: Lifecycle::parse(i.lifecycle_state().map_or("", |s| s.as_str())),
                healthy: i.health_status() != Some("Unhealthy"),
                protected: i.protected_from_scale_in().unwrap_or_default(),
            })
            .collect(),
        tags: group
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
        policies: Vec::new(),
    }
}
