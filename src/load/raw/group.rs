//! The stack file's groups as written: instances, volumes, metadata, rollouts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::values::{Duration, ImageRef, Quantity};

/// An instance group.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{ "required": ["count"] }, { "required": ["autoscaling"] }]))]
pub struct RawGroup {
    /// Roles every instance of the group carries.
    #[schemars(extend("minItems" = 1, "uniqueItems" = true))]
    pub roles: Vec<String>,
    /// How many instances (with `autoscaling`: where the group starts, default its
    /// `min`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "count_schema")]
    pub count: Option<u32>,
    /// The machine image.
    pub image: ImageRef,
    /// The EC2 instance type, e.g. `t3.small`.
    #[schemars(schema_with = "instance_type_schema")]
    pub instance_type: String,
    /// Security groups the instances join: this stack's by name (`web`), another
    /// stack's by the id it publishes (`${stacks.network.web_sg}`).
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Subnets for this group (default: `network.subnets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("items" = { "type": "string", "pattern": "^subnet-[0-9a-f]{1,17}$" }))]
    pub subnets: Option<Vec<String>>,
    /// A user-data template (minijinja), relative to the stack file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// The IAM instance profile the instances run with (its name or ARN), which gives
    /// them credentials to fetch releases and write signals; may be a reference to a
    /// CloudFormation output, `${outputs.NODE.OUTPUT}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// An existing EC2 key pair for SSH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// The image's root volume: size, type, encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<RawRootVolume>,
    /// The instance metadata service (IMDSv2 required by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<RawMetadata>,
    /// Tags of your own on the group's instances and their volumes (over the stack's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// ELBv2 target groups the instances serve: ARNs, or references to a CloudFormation
    /// node's outputs (`${outputs.lb.WebTargetGroupArn}`). An instance is registered once
    /// it passes its role's checks, counts as serving once the target groups report it
    /// `healthy`, and is deregistered and drained before it is terminated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_groups: Vec<String>,
    /// Resources that must be in place first: `db` or `cloudformation.db`.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// How instances are replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RawRollout>,
    /// Run the group as an Auto Scaling group: AWS replaces instances that die and
    /// scales between `min` and `max`; rollstack still rolls releases out with its own
    /// gates (see `docs/autoscaling.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<RawAutoscaling>,
}

/// A group's Auto Scaling settings.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscaling {
    /// Fewest instances.
    #[schemars(schema_with = "count_schema")]
    pub min: u32,
    /// Most instances.
    #[schemars(schema_with = "count_schema")]
    pub max: u32,
    /// How the group judges health: `{ type: ec2 }` (default) or `{ type: elb, grace: 2m }`
    /// (the target groups' health too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<RawAutoscalingHealthCheck>,
    /// Target-tracking policies: `{ target: cpu, value: 50 }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<RawScalingPolicy>,
    /// Which instances a scale-in removes first (default
    /// `[OldestLaunchTemplate, OldestInstance]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minItems" = 1, "uniqueItems" = true))]
    pub termination: Option<Vec<crate::model::TerminationPolicy>>,
}

/// An Auto Scaling group's health check.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscalingHealthCheck {
    /// `ec2` or `elb`.
    #[serde(rename = "type")]
    pub kind: crate::model::HealthCheckKind,
    /// How long a new instance is not judged (default `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace: Option<Duration>,
}

/// A target-tracking scaling policy.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScalingPolicy {
    /// The metric to track.
    pub target: crate::model::ScalingMetric,
    /// The value to keep it near (percent for `cpu`, requests for
    /// `alb_requests_per_target`, bytes for the network metrics).
    #[schemars(range(min = 0))]
    pub value: f64,
}

/// The root volume of a group's instances (the image's root device).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRootVolume {
    /// Size in GiB (default: the image's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65536))]
    pub size_gb: Option<u32>,
    /// EBS volume type (default `gp3`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<crate::model::VolumeType>,
    /// Encrypted with the account's default EBS key (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    /// Provisioned IOPS (`gp3`, `io1`, `io2` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iops: Option<u32>,
    /// Throughput in MiB/s (`gp3` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<u32>,
}

/// The instance metadata service of a group's instances.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMetadata {
    /// `required` (IMDSv2 only, the default) or `optional` (IMDSv1 allowed too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_tokens: Option<RawHttpTokens>,
    /// How many network hops a metadata answer may travel (default 1; 2 for
    /// containers that reach the metadata service through a bridge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 64))]
    pub hop_limit: Option<u8>,
}

/// Whether instances must use IMDSv2 session tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawHttpTokens {
    /// IMDSv2 only.
    Required,
    /// IMDSv1 allowed too.
    Optional,
}

/// A rolling replacement policy.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = {
    "description": "`max_surge` and `max_unavailable` both 0: the rollout could never progress.",
    "properties": {
        "max_surge": { "enum": [0, "0", "0%"] },
        "max_unavailable": { "enum": [0, "0", "0%"] }
    },
    "required": ["max_surge", "max_unavailable"]
}))]
pub struct RawRollout {
    /// Instances above `count` allowed during a rollout (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<Quantity>,
    /// Instances below `count` allowed during a rollout (default 0), at most 100%.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("not" = { "type": "string", "pattern": "^(10[1-9]|1[1-9][0-9]|[2-9][0-9]{2}|[1-9][0-9]{3,})%$" }))]
    pub max_unavailable: Option<Quantity>,
    /// Wait between batches (default `0s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<Duration>,
    /// How long new instances may take to become healthy (default `10m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_timeout: Option<Duration>,
    /// `rollback` (default) or `halt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<RawOnFailure>,
    /// A canary: the first batch, which serves alone for `bake` before the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<RawCanary>,
    /// CloudWatch alarm names: one in `ALARM` before the rollout stops the apply (unless
    /// `--ignore-alarms`); one that goes to `ALARM` during it triggers `on_failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<Vec<String>>,
}

/// A rollout's canary batch.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCanary {
    /// Instances in the canary: a number or a percentage of the count (rounds up).
    pub count: Quantity,
    /// How long the canary serves, watched for health and alarms, before the other
    /// batches (`10m`).
    pub bake: Duration,
}

/// What a failed rollout does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawOnFailure {
    /// Terminate the failed instances and restore the previous spec.
    Rollback,
    /// Stop where it is, never below the minimum.
    Halt,
}

/// How many instances: a number, written as one or quoted (`2`, `"2"`), as `validate`
/// reads it.
pub(super) fn count_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "How many instances.",
        "type": ["integer", "string"],
        "minimum": 0,
        "maximum": 4294967295u64,
        "pattern": "^[0-9]{1,9}$"
    })
}

/// Every instance type EC2 knows (the SDK's list), so an editor completes them: one
/// definition, which groups and jobs refer to.
pub(super) fn instance_type_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<super::instance_types::InstanceType>()
}
