//! A group run as an Auto Scaling group (`autoscaling:`): its bounds, health check,
//! target-tracking policies and termination order. The group's instances are still
//! rolled by rollstack's own gates; these are what the Auto Scaling group does on its
//! own between applies.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Duration;

/// The Auto Scaling settings of a group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Autoscaling {
    /// Fewest instances.
    pub min: u32,
    /// Most instances (a rollout's surge may raise it for a while, and restores it).
    pub max: u32,
    /// How the group judges its instances' health.
    pub health_check: AutoscalingHealthCheck,
    /// Target-tracking policies.
    pub policies: Vec<ScalingPolicy>,
    /// Which instances a scale-in removes first.
    pub termination: Vec<TerminationPolicy>,
}

/// How an Auto Scaling group judges health.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoscalingHealthCheck {
    /// EC2 status checks, or the load balancer's target health too.
    pub kind: HealthCheckKind,
    /// How long a new instance is not judged.
    pub grace: Duration,
}

/// What an Auto Scaling group's health check reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthCheckKind {
    /// EC2's status checks.
    Ec2,
    /// EC2's status checks and the target groups' health.
    Elb,
}

impl HealthCheckKind {
    /// The name Auto Scaling gives it (`EC2`, `ELB`).
    pub fn as_aws(self) -> &'static str {
        match self {
            HealthCheckKind::Ec2 => "EC2",
            HealthCheckKind::Elb => "ELB",
        }
    }

    /// The kind Auto Scaling calls `name`.
    pub fn from_aws(name: &str) -> Option<HealthCheckKind> {
        [HealthCheckKind::Ec2, HealthCheckKind::Elb]
            .into_iter()
            .find(|k| k.as_aws() == name)
    }
}

/// A target-tracking scaling policy: keep `target` near `value`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingPolicy {
    /// The metric tracked.
    pub target: ScalingMetric,
    /// Its target value.
    pub value: f64,
}

/// The metrics target tracking follows.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ScalingMetric {
    /// Average CPU utilisation of the group, in percent.
    Cpu,
    /// Requests per target of the group's (only) target group.
    AlbRequestsPerTarget,
    /// Average bytes in per instance.
    NetworkIn,
    /// Average bytes out per instance.
    NetworkOut,
}

impl ScalingMetric {
    /// Every metric.
    pub const ALL: [ScalingMetric; 4] = [
        ScalingMetric::Cpu,
        ScalingMetric::AlbRequestsPerTarget,
        ScalingMetric::NetworkIn,
        ScalingMetric::NetworkOut,
    ];

    /// As the stack file writes it (`cpu`).
    pub fn as_str(self) -> &'static str {
        match self {
            ScalingMetric::Cpu => "cpu",
            ScalingMetric::AlbRequestsPerTarget => "alb_requests_per_target",
            ScalingMetric::NetworkIn => "network_in",
            ScalingMetric::NetworkOut => "network_out",
        }
    }

    /// Auto Scaling's predefined metric (`ASGAverageCPUUtilization`).
    pub fn as_aws(self) -> &'static str {
        match self {
            ScalingMetric::Cpu => "ASGAverageCPUUtilization",
            ScalingMetric::AlbRequestsPerTarget => "ALBRequestCountPerTarget",
            ScalingMetric::NetworkIn => "ASGAverageNetworkIn",
            ScalingMetric::NetworkOut => "ASGAverageNetworkOut",
        }
    }

    /// The metric Auto Scaling calls `name`.
    pub fn from_aws(name: &str) -> Option<ScalingMetric> {
        ScalingMetric::ALL.into_iter().find(|m| m.as_aws() == name)
    }
}

/// Which instances a scale-in removes first (Auto Scaling's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TerminationPolicy {
    /// Auto Scaling's default order.
    Default,
    /// Instances launched from the oldest launch template version first.
    OldestLaunchTemplate,
    /// The oldest instances first.
    OldestInstance,
    /// The newest instances first.
    NewestInstance,
    /// Instances closest to the next billing hour first.
    ClosestToNextInstanceHour,
    /// As the group's allocation strategy says.
    AllocationStrategy,
}

impl TerminationPolicy {
    /// Every policy.
    pub const ALL: [TerminationPolicy; 6] = [
        TerminationPolicy::Default,
        TerminationPolicy::OldestLaunchTemplate,
        TerminationPolicy::OldestInstance,
        TerminationPolicy::NewestInstance,
        TerminationPolicy::ClosestToNextInstanceHour,
        TerminationPolicy::AllocationStrategy,
    ];

    /// Auto Scaling's name, which the stack file writes too.
    pub fn as_str(self) -> &'static str {
        match self {
            TerminationPolicy::Default => "Default",
            TerminationPolicy::OldestLaunchTemplate => "OldestLaunchTemplate",
            TerminationPolicy::OldestInstance => "OldestInstance",
            TerminationPolicy::NewestInstance => "NewestInstance",
            TerminationPolicy::ClosestToNextInstanceHour => "ClosestToNextInstanceHour",
            TerminationPolicy::AllocationStrategy => "AllocationStrategy",
        }
    }

    /// The default: old launch template versions first (what a rollout leaves behind),
    /// then the oldest instances.
    pub fn defaults() -> Vec<TerminationPolicy> {
        vec![
            TerminationPolicy::OldestLaunchTemplate,
            TerminationPolicy::OldestInstance,
        ]
    }
}

/// The default health check grace period: Auto Scaling's console default.
pub const DEFAULT_GRACE: std::time::Duration = std::time::Duration::from_secs(300);
