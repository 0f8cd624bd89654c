//! Auto Scaling groups: every write a rollout, an update, a move and a removal make (the
//! reads are `observe::autoscaling`'s). Each write is safe to repeat: a group that already exists, a policy put again, protection set
//! again and a desired capacity set again change nothing more.

use std::collections::BTreeMap;

use aws_sdk_autoscaling::types::{
    LaunchTemplateSpecification, MetricType, PredefinedMetricSpecification, Tag,
    TargetTrackingConfiguration,
};

use super::observe::filter;
use super::{Aws, AwsError};
use crate::model::{HealthCheckKind, ScalingMetric};

/// `DetachInstances` takes this many instances in one call.
const DETACH_PER_CALL: usize = 20;
/// `SetInstanceProtection` takes this many instances in one call.
const PROTECT_PER_CALL: usize = 50;

/// What an Auto Scaling group is made or updated with.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoScalingSettings {
    /// Group name.
    pub name: String,
    /// Launch template id and the version it launches from.
    pub template: (String, i64),
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Health check kind and grace period (seconds).
    pub health_check: (HealthCheckKind, u32),
    /// Termination policies.
    pub termination: Vec<String>,
    /// Subnets (empty: the default VPC's).
    pub subnets: Vec<String>,
}

impl Aws {
    /// Makes Auto Scaling group `settings.name` at `desired`, tagged with `tags` (not
    /// propagated: its instances are tagged by their launch template version). One that
    /// exists already (a lost answer, a re-run) is left to the update that follows.
    pub async fn create_autoscaling_group(
        &self,
        settings: &AutoScalingSettings,
        desired: u32,
        target_groups: &[String],
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let subnets = self.subnets_or_default(&settings.subnets).await?;
        let result = self
            .autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(&settings.name)
            .launch_template(template(&settings.template))
            .min_size(settings.min as i32)
            .max_size(settings.max as i32)
            .desired_capacity(desired as i32)
            .vpc_zone_identifier(subnets.join(","))
            .health_check_type(settings.health_check.0.as_aws())
            .health_check_grace_period(settings.health_check.1 as i32)
            .set_termination_policies(Some(settings.termination.clone()))
            .set_target_group_arns(Some(target_groups.to_vec()))
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| group_tag(&settings.name, k, v))
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| self.error("CreateAutoScalingGroup", e));
        match result {
            Err(e) if e.code() != Some("AlreadyExists") => Err(e),
            _ => Ok(()),
        }
    }

    /// Sets the group's launch template version, bounds, health check and termination
    /// policies (its desired capacity is the group's own business).
    pub async fn update_autoscaling_group(
        &self,
        settings: &AutoScalingSettings,
    ) -> Result<(), AwsError> {
        let subnets = self.subnets_or_default(&settings.subnets).await?;
        self.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(&settings.name)
            .launch_template(template(&settings.template))
            .min_size(settings.min as i32)
            .max_size(settings.max as i32)
            .vpc_zone_identifier(subnets.join(","))
            .health_check_type(settings.health_check.0.as_aws())
            .health_check_grace_period(settings.health_check.1 as i32)
            .set_termination_policies(Some(settings.termination.clone()))
            .send()
            .await
            .map_err(|e| self.error("UpdateAutoScalingGroup", e))?;
        Ok(())
    }

    /// Sets the launch template version the group launches from, alone.
    pub async fn set_launch_template(
        &self,
        name: &str,
        (id, version): (&str, i64),
    ) -> Result<(), AwsError> {
        self.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .launch_template(template(&(id.to_owned(), version)))
            .send()
            .await
            .map_err(|e| self.error("UpdateAutoScalingGroup", e))?;
        Ok(())
    }

    /// Sets the group's bounds and desired capacity to 0: it terminates its instances
    /// and launches no more.
    pub async fn empty_autoscaling_group(&self, name: &str) -> Result<(), AwsError> {
        self.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .min_size(0)
            .max_size(0)
            .desired_capacity(0)
            .send()
            .await
            .map_err(|e| self.error("UpdateAutoScalingGroup", e))?;
        Ok(())
    }

    /// Detaches `ids` from group `name`, lowering its desired capacity: they keep
    /// running, out of the group (its `min` must allow it).
    pub async fn detach_from_group(&self, name: &str, ids: &[String]) -> Result<(), AwsError> {
        for chunk in ids.chunks(DETACH_PER_CALL) {
            self.autoscaling
                .detach_instances()
                .auto_scaling_group_name(name)
                .set_instance_ids(Some(chunk.to_vec()))
                .should_decrement_desired_capacity(true)
                .send()
                .await
                .map_err(|e| self.error("DetachInstances", e))?;
        }
        Ok(())
    }

    /// Sets the group's bounds alone.
    pub async fn set_bounds(&self, name: &str, min: u32, max: u32) -> Result<(), AwsError> {
        self.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .min_size(min as i32)
            .max_size(max as i32)
            .send()
            .await
            .map_err(|e| self.error("UpdateAutoScalingGroup", e))?;
        Ok(())
    }

    /// Sets the group's most instances alone (a surge beyond `max`, and back).
    pub async fn set_max_size(&self, name: &str, max: u32) -> Result<(), AwsError> {
        self.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .max_size(max as i32)
            .send()
            .await
            .map_err(|e| self.error("UpdateAutoScalingGroup", e))?;
        Ok(())
    }

    /// Attaches and detaches target groups so the group's are `wanted`.
    pub async fn set_group_target_groups(
        &self,
        name: &str,
        attach: &[String],
        detach: &[String],
    ) -> Result<(), AwsError> {
        if !attach.is_empty() {
            self.autoscaling
                .attach_load_balancer_target_groups()
                .auto_scaling_group_name(name)
                .set_target_group_arns(Some(attach.to_vec()))
                .send()
                .await
                .map_err(|e| self.error("AttachLoadBalancerTargetGroups", e))?;
        }
        if !detach.is_empty() {
            self.autoscaling
                .detach_load_balancer_target_groups()
                .auto_scaling_group_name(name)
                .set_target_group_arns(Some(detach.to_vec()))
                .send()
                .await
                .map_err(|e| self.error("DetachLoadBalancerTargetGroups", e))?;
        }
        Ok(())
    }

    /// Sets the group's desired capacity (cooldowns ignored: a rollout's surge is not a
    /// scaling decision).
    pub async fn set_desired_capacity(&self, name: &str, desired: u32) -> Result<(), AwsError> {
        self.autoscaling
            .set_desired_capacity()
            .auto_scaling_group_name(name)
            .desired_capacity(desired as i32)
            .honor_cooldown(false)
            .send()
            .await
            .map_err(|e| self.error("SetDesiredCapacity", e))?;
        Ok(())
    }

    /// Terminates instance `id` of its group, lowering the desired capacity by one when
    /// `decrement` (else the group launches a replacement). One already gone is done.
    pub async fn terminate_in_group(&self, id: &str, decrement: bool) -> Result<(), AwsError> {
        let result = self
            .autoscaling
            .terminate_instance_in_auto_scaling_group()
            .instance_id(id)
            .should_decrement_desired_capacity(decrement)
            .send()
            .await
            .map_err(|e| self.error("TerminateInstanceInAutoScalingGroup", e));
        gone_is_done(result)
    }

    /// Protects (or stops protecting) `ids` of group `name` from scale-in.
    pub async fn set_protection(
        &self,
        name: &str,
        ids: &[String],
        protected: bool,
    ) -> Result<(), AwsError> {
        for chunk in ids.chunks(PROTECT_PER_CALL) {
            self.autoscaling
                .set_instance_protection()
                .auto_scaling_group_name(name)
                .set_instance_ids(Some(chunk.to_vec()))
                .protected_from_scale_in(protected)
                .send()
                .await
                .map_err(|e| self.error("SetInstanceProtection", e))?;
        }
        Ok(())
    }

    /// Sets tag `key` of group `name` to `value` (not propagated). A record taken off
    /// is set empty: Auto Scaling's `DeleteTags` shares its name with EC2's, and an
    /// empty record reads as none.
    pub async fn set_group_tag(&self, name: &str, key: &str, value: &str) -> Result<(), AwsError> {
        self.autoscaling
            .create_or_update_tags()
            .tags(group_tag(name, key, value))
            .send()
            .await
            .map_err(|e| self.error("CreateOrUpdateTags", e))?;
        Ok(())
    }

    /// Puts target-tracking policy `policy` on group `name` (`label`: the target group's
    /// resource label, for `alb_requests_per_target`).
    pub async fn put_policy(
        &self,
        name: &str,
        policy: &str,
        (metric, value): (ScalingMetric, f64),
        label: Option<&str>,
    ) -> Result<(), AwsError> {
        let metric = PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::from(metric.as_aws()))
            .set_resource_label(label.map(str::to_owned))
            .build();
        let tracking = TargetTrackingConfiguration::builder()
            .predefined_metric_specification(metric)
            .target_value(value)
            .build();
        self.autoscaling
            .put_scaling_policy()
            .auto_scaling_group_name(name)
            .policy_name(policy)
            .policy_type("TargetTrackingScaling")
            .target_tracking_configuration(tracking)
            .send()
            .await
            .map_err(|e| self.error("PutScalingPolicy", e))?;
        Ok(())
    }

    /// Deletes policy `policy` of group `name`.
    pub async fn delete_policy(&self, name: &str, policy: &str) -> Result<(), AwsError> {
        self.autoscaling
            .delete_policy()
            .auto_scaling_group_name(name)
            .policy_name(policy)
            .send()
            .await
            .map_err(|e| self.error("DeletePolicy", e))?;
        Ok(())
    }

    /// Deletes group `name` (it has no instances left). One already gone is done.
    pub async fn delete_autoscaling_group(&self, name: &str) -> Result<(), AwsError> {
        let result = self
            .autoscaling
            .delete_auto_scaling_group()
            .auto_scaling_group_name(name)
            .send()
            .await
            .map_err(|e| self.error("DeleteAutoScalingGroup", e));
        gone_is_done(result)
    }

    /// `subnets`, or the default VPC's default subnets when it names none: an Auto
    /// Scaling group needs somewhere to launch.
    async fn subnets_or_default(&self, subnets: &[String]) -> Result<Vec<String>, AwsError> {
        if !subnets.is_empty() {
            return Ok(subnets.to_vec());
        }
        let answer = self
            .ec2
            .describe_subnets()
            .filters(filter("default-for-az", ["true"]))
            .send()
            .await
            .map_err(|e| self.error("DescribeSubnets", e))?;
        let mut found: Vec<String> = answer
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_id())
            .map(str::to_owned)
            .collect();
        found.sort();
        Ok(found)
    }

    /// The resource label `alb_requests_per_target` tracks of target group `arn`:
    /// `app/LB/ID/targetgroup/TG/ID`, from its load balancer.
    pub async fn resource_label(&self, arn: &str) -> Result<Option<String>, AwsError> {
        let answer = self
            .elbv2
            .describe_target_groups()
            .target_group_arns(arn)
            .send()
            .await
            .map_err(|e| self.error("DescribeTargetGroups", e))?;
        let balancer = answer
            .target_groups()
            .first()
            .and_then(|t| t.load_balancer_arns().first().cloned());
        Ok(balancer.and_then(|lb| {
            let lb = lb.split_once(":loadbalancer/")?.1.to_owned();
            let tg = arn.split_once(":")?.1.rsplit_once(':')?.1.to_owned();
            Some(format!("{lb}/{tg}"))
        }))
    }
}

/// Auto Scaling says a group or instance is not there with a `ValidationError` whose
/// message says `not found`: for a removal, that is done.
fn gone_is_done<T>(result: Result<T, AwsError>) -> Result<(), AwsError> {
    match result {
        Err(AwsError::Refused { code, message, .. })
            if code == "ValidationError" && message.contains("not found") =>
        {
            Ok(())
        }
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

fn template((id, version): &(String, i64)) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification::builder()
        .launch_template_id(id)
        .version(version.to_string())
        .build()
}

fn group_tag(name: &str, key: &str, value: &str) -> Tag {
    Tag::builder()
        .resource_id(name)
        .resource_type("auto-scaling-group")
        .key(key)
        .value(value)
        .propagate_at_launch(false)
        .build()
}
