//! The stack file as written (format 1): serde types that reject unknown fields.
//!
//! These are the wire format and the source of `schemas/stack.schema.json`. They say
//! nothing about whether names resolve or values make sense; `validate` turns them into
//! the model.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::values::{Duration, ImageRef, ParameterValue, PortRange};

mod group;
mod instance_types;
mod job;
mod site;

pub use group::*;
pub use instance_types::instance_types;
pub use job::RawJob;
pub use site::{RawFlip, RawSite};

/// A rollstack stack file, format 1 (`docs/stack-format.md`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "rollstack stack file")]
#[schemars(extend("allOf" = [
    {
        "description": "A role that runs an app needs `releases`: the artifacts are there.",
        "if": {
            "required": ["roles"],
            "properties": { "roles": { "not": { "additionalProperties": { "not": { "required": ["app"] } } } } }
        },
        "then": { "required": ["releases"] }
    },
    {
        "description": "A `signal` health check needs `state_bucket`: instances write their signal there.",
        "if": {
            "required": ["roles"],
            "properties": { "roles": { "not": { "additionalProperties": { "not": {
                "required": ["health"],
                "properties": { "health": { "required": ["signal"] } }
            } } } } }
        },
        "then": { "required": ["state_bucket"] }
    }
]))]
pub struct RawStack {
    /// Format version of this file. This rollstack reads format 1.
    #[schemars(range(min = 1, max = 1))]
    pub rollstack: u32,
    /// Name of the stack: `[a-z][a-z0-9-]*`, at most 32 characters.
    #[schemars(regex(pattern = r"^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$"))]
    pub stack: String,
    /// AWS region, e.g. `us-east-1`.
    #[schemars(regex(pattern = r"^[a-z0-9]{2}(-[a-z0-9]+)+-[0-9]+$"))]
    pub region: String,
    /// The AWS account (12 digits) this file is for: `plan` and `apply` refuse to run
    /// with credentials of any other account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account_id: Option<String>,
    /// S3 bucket for locks and apply history (`apply` needs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"), extend("not" = { "pattern": "\\.\\." }))]
    pub state_bucket: Option<String>,
    /// The existing network to launch into (not managed). The default VPC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<RawNetwork>,
    /// Where release artifacts live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub releases: Option<RawReleases>,
    /// Applications and the version each runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$" }))]
    pub apps: BTreeMap<String, RawApp>,
    /// Security groups rollstack manages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$" }))]
    pub security_groups: BTreeMap<String, RawSecurityGroup>,
    /// What runs on an instance.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$" }))]
    pub roles: BTreeMap<String, RawRole>,
    /// Instance groups: how many, where, and how they roll.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$" }))]
    pub groups: BTreeMap<String, RawGroup>,
    /// CloudFormation stacks for resources rollstack does not model.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$" }))]
    pub cloudformation: BTreeMap<String, RawCloudFormation>,
    /// Static sites: an app's release uploaded to S3 and served by a flip
    /// (`docs/sites.md`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$" }))]
    pub sites: BTreeMap<String, RawSite>,
    /// Release jobs: scripts run once per release of an app (database migrations),
    /// before or after the groups running it roll (`docs/jobs.md`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$" }))]
    pub jobs: BTreeMap<String, RawJob>,
    /// What a successful apply publishes for other stacks to read
    /// (`${stacks.NAME.OUTPUT}`): values that may use `${...}` references
    /// (`${security_groups.web.id}`, `${outputs.lb.TargetGroupArn}`, `${region}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z][a-z0-9_]{0,63}$" }))]
    pub outputs: BTreeMap<String, String>,
    /// The stacks of the workspace this one reads outputs of. Optional: they are
    /// inferred from `${stacks.NAME.OUTPUT}` references and templates reading
    /// `stacks`; list one to order this stack after it, or map it to read another
    /// environment's outputs (`network: { env: shared }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<RawUses>,
    /// Tags of your own (`team`, `cost-center`) on everything rollstack creates:
    /// instances and their volumes, launch templates, security groups, CloudFormation
    /// stacks. Keys starting with `rollstack:` or `aws:` are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Groups renamed in the file whose live instances keep running: each entry
    /// re-addresses what AWS holds of `from` as `to` by retagging it, instead of
    /// terminating it and launching anew (as Terraform's `moved` blocks). An entry may be
    /// dropped once every environment applied it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<RawMoved>,
    /// Settings every group gets; a group's own values win, and environments override
    /// both. Merged into the groups as the file is read, so a decoded file has none left
    /// (only one of the wrong shape reaches decoding, to be reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<RawDefaults>,
    /// DNS names for the fleet in a Route 53 hosted zone: an A record per instance and a
    /// multi-value A record per role, kept in step with every rollout
    /// (`docs/operations.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<RawDns>,
    /// Webhooks told when an apply starts and ends, a rollout rolls back, and the
    /// environment is frozen or unfrozen (`docs/operations.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<RawNotify>,
    /// Environments: overlays on this file. Without any, the file has the single
    /// environment `default`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$" }))]
    pub environments: BTreeMap<String, RawEnvironment>,
}

/// An existing network.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Subnets instances are spread across, e.g. `subnet-0a1b2c3d`.
    #[serde(default)]
    #[schemars(extend("items" = { "type": "string", "pattern": "^subnet-[0-9a-f]{1,17}$" }))]
    pub subnets: Vec<String>,
}

/// Where release artifacts are stored: `s3://{bucket}/{app}/{version}.tar.gz`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReleases {
    /// The S3 bucket holding the artifacts.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"), extend("not" = { "pattern": "\\.\\." }))]
    pub bucket: String,
}

/// An application.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawApp {
    /// The version to run, e.g. `2024.11.3`. Quote it if it looks like a number. With
    /// `image`: the image's tag, or `sha256:...` to pin its digest.
    #[schemars(regex(pattern = r"^([A-Za-z0-9._+-]{1,128}|sha256:[a-f0-9]{64})$"))]
    pub version: String,
    /// The app is a container image in this ECR repository
    /// (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`), not a release tarball; plans
    /// resolve `version` to the image's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]{2,256}$"
    ))]
    pub image: Option<String>,
}

/// A security group.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSecurityGroup {
    /// Description (AWS requires one; defaults to the address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Inbound rules.
    #[serde(default)]
    pub ingress: Vec<RawRule>,
    /// Outbound rules. When absent, all outbound traffic is allowed (the AWS default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<RawRule>>,
}

/// One security group rule: a protocol, ports, and a peer (`cidr` or `from`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "oneOf" = [{ "required": ["cidr"] }, { "required": ["from"] }],
    "if" = { "properties": { "protocol": { "enum": ["icmp", "all", "-1"] } } },
    "then" = { "properties": { "ports": { "const": "all" } } }
))]
pub struct RawRule {
    /// `tcp`, `udp`, `icmp` or `all` (`-1`, as AWS writes it).
    #[schemars(extend("enum" = ["tcp", "udp", "icmp", "all", "-1"]))]
    pub protocol: String,
    /// A port, a range `8000-8100`, or `all` (default `all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortRange>,
    /// An IPv4 CIDR block, e.g. `203.0.113.0/24`, its host bits zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$"))]
    pub cidr: Option<String>,
    /// Another security group of this stack (a graph edge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// A role: what runs on an instance.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    /// The application this role runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// How to tell an instance carrying this role is healthy (default: `running`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<RawHealth>,
}

/// A health check. Exactly one of `http`, `signal`, `running`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["http"] },
    { "required": ["signal"] },
    { "required": ["running"] }
]))]
pub struct RawHealth {
    /// Healthy when `GET http://{private_ip}:{port}{path}` answers 2xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<RawHttpHealth>,
    /// Healthy when the instance writes its readiness signal to the state bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<RawEmpty>,
    /// Healthy when EC2 reports the instance `running`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<RawEmpty>,
}

/// An HTTP health check.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttpHealth {
    /// The port to probe.
    pub port: u16,
    /// The path to probe (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/"))]
    pub path: Option<String>,
}

/// An empty mapping, `{}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEmpty {}

/// A CloudFormation stack driven by rollstack.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCloudFormation {
    /// Template file (YAML or JSON), relative to the stack file.
    pub template: String,
    /// Template parameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterValue>,
    /// Resources that must be in place first.
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// `dns`: the hosted zone the fleet's records go in.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    /// The Route 53 hosted zone's id, e.g. `Z0123456789ABCDEFGHIJ`.
    #[schemars(regex(pattern = r"^[A-Z0-9]{1,32}$"))]
    pub zone_id: String,
    /// The domain under which records are made: `{group}-{n}.{env}.{name}` and
    /// `{role}.{env}.{name}`. It must be in the zone.
    #[schemars(regex(
        pattern = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
    ))]
    pub name: String,
    /// Seconds resolvers may cache a record (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 172_800))]
    pub ttl: Option<u32>,
}

/// `notify`: deploy notifications.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// How long one webhook call may take (default `3s`, at most `30s`): a webhook that
    /// fails or is slower is logged and never fails the apply, nor holds it longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Where to send.
    pub webhooks: Vec<crate::model::notify::Webhook>,
}

/// `defaults`: what every entry of a section gets unless it sets it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// Fields of a group (`instance_type`, `image`, `security_groups`, `rollout`, ...)
    /// that every group gets unless it sets them.
    pub groups: RawGroupOverlay,
}

/// A group renamed: `{ from: group.web, to: group.www }`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMoved {
    /// The old address, no longer in the file (`group.web`).
    #[schemars(regex(pattern = r"^group\.[a-z][a-z0-9-]*$"))]
    pub from: String,
    /// The new address, a group of the file (`group.www`).
    #[schemars(regex(pattern = r"^group\.[a-z][a-z0-9-]*$"))]
    pub to: String,
}

/// An environment: an overlay on the stack file.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    /// Marks a short-lived environment (pull request, load test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<RawEphemeral>,
    /// Overrides `region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Overrides `account_id`: the account this environment is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account_id: Option<String>,
    /// Overrides `state_bucket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_bucket: Option<String>,
    /// Overrides `network`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<RawNetwork>,
    /// Overrides `releases`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub releases: Option<RawReleases>,
    /// Tags to add or change.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Overrides fields of existing apps.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub apps: BTreeMap<String, RawAppOverlay>,
    /// Overrides fields of existing security groups.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub security_groups: BTreeMap<String, RawSecurityGroup>,
    /// Overrides fields of existing roles.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, RawRole>,
    /// Overrides fields of existing groups.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, RawGroupOverlay>,
    /// Overrides fields of existing CloudFormation stacks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cloudformation: BTreeMap<String, RawCloudFormationOverlay>,
}

/// Settings of an ephemeral environment.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEphemeral {
    /// How long it lives before `env gc` removes it (default `24h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
}

/// Fields of an app an environment may override.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAppOverlay {
    /// The version to run in this environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Fields of a group an environment may override.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroupOverlay {
    /// Roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minItems" = 1, "uniqueItems" = true))]
    pub roles: Option<Vec<String>>,
    /// How many instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "count_schema")]
    pub count: Option<u32>,
    /// The machine image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
    /// The instance type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "instance_type_schema")]
    pub instance_type: Option<String>,
    /// Security groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    /// Subnets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("items" = { "type": "string", "pattern": "^subnet-[0-9a-f]{1,17}$" }))]
    pub subnets: Option<Vec<String>>,
    /// User-data template.
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
    /// ELBv2 target groups the instances serve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_groups: Option<Vec<String>>,
    /// Dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
    /// Rollout policy fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RawRollout>,
    /// Auto Scaling settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<RawAutoscaling>,
}

/// Fields of a CloudFormation stack an environment may override.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCloudFormationOverlay {
    /// Template file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Parameters to set or replace.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, ParameterValue>,
    /// Dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
}

/// `uses:`: stack names, or stack names each with how it is read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawUses {
    /// `[network, db]`: their outputs of this stack's environment.
    Names(Vec<String>),
    /// `{ network: { env: shared } }`.
    Mapped(BTreeMap<String, RawUse>),
}

/// How a stack named in `uses:` is read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUse {
    /// The environment whose published outputs are read (default: this stack's
    /// environment name): `shared` for one network every environment uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}
