//! Observe: what a stack looks like in AWS right now, as plain types.
//!
//! `aws::observe` fills an [`Observed`] from a [`Query`] in a handful of batched calls;
//! everything after it (diff, plan) reads only these types, so it is tested without a
//! network.

pub mod autoscaling;
mod cloudformation;
pub mod container_images;
pub mod dns;
pub mod environments;
mod identity;
mod instance;
pub mod numbering;
mod query;
pub mod records;
pub mod site;
pub mod state_keys;
mod tag_list;
mod traffic;

pub use autoscaling::{
    AutoScalingInstance, Lifecycle, LiveAutoScalingGroup, LivePolicy, RolloutRecord,
};
pub use cloudformation::{
    ChangeAction, DescribedStack, LiveCloudFormation, Replacement, ResourceChange, StackStatus,
    sort_stacks,
};
pub use container_images::{ContainerImage, ImageVersion, MissingImage};
pub use identity::{CallerIdentity, WrongAccount, check_account};
pub use instance::{InstanceState, LiveInstance, group_of};
pub use query::Query;
pub use records::{Freeze, JobRecord, Signal};
pub use tag_list::{Interner, TagLookup, Tags};
pub use traffic::{
    AlarmState, LiveAlarm, LiveTargetGroup, Target, TargetState, resolve, short_name,
};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{ImageRef, Stack};

/// Tag keys of the ownership contract (see `docs/architecture.md`).
pub mod tags {
    /// Stack name.
    pub const STACK: &str = "rollstack:stack";
    /// Environment name.
    pub const ENV: &str = "rollstack:env";
    /// The resource's address (`group.www`).
    pub const RESOURCE: &str = "rollstack:resource";
    /// Hash of an instance's launch spec, or of a security group's rules.
    pub const SPEC: &str = "rollstack:spec";
    /// Space-separated roles of an instance.
    pub const ROLES: &str = "rollstack:roles";
    /// Space-separated `app@version` of an instance.
    pub const RELEASE: &str = "rollstack:release";
    /// `app@sha256:0123456789ab ...`: the image digests (shortened) an instance runs.
    pub const IMAGES: &str = "rollstack:images";
    /// The count a group was last applied with (on its launch template).
    pub const COUNT: &str = "rollstack:count";
    /// The AWS console name.
    pub const NAME: &str = "Name";
    /// On a job's instance: the key of the run it is (see `plan::job`).
    pub const JOB_KEY: &str = "rollstack:job-key";
    /// On a job's instance: which attempt at its key it is (0, 1, ...: a failed run is
    /// tried again by a later apply, on a new instance).
    pub const JOB_ATTEMPT: &str = "rollstack:job-attempt";
    /// The ephemeral overlay an `env up` environment was made from.
    pub const OVERLAY: &str = "rollstack:overlay";
    /// When `env gc` may destroy an `env up` environment (RFC 3339).
    pub const EXPIRES_AT: &str = "rollstack:expires-at";
    /// The keys of the user's own tags rollstack set (space-separated), so that a key
    /// taken out of the file is taken off the resource, and no one else's is.
    pub const USER_TAGS: &str = "rollstack:user-tags";
    /// On a launch template: a target group its group's instances serve (ARN), one tag
    /// per target group, `rollstack:target-group-1` and on; what drains a group that is
    /// no longer in the file.
    pub const TARGET_GROUP_PREFIX: &str = "rollstack:target-group-";
    /// On an Auto Scaling group, while a rollout has raised its desired capacity: what
    /// Auto Scaling wanted and what rollstack set (see `RolloutRecord`).
    pub const ROLLOUT: &str = "rollstack:rollout";
    /// On the launch template of a group run as an Auto Scaling group: the group's
    /// name, so a group taken out of the file is still found and removed.
    pub const AUTOSCALING: &str = "rollstack:autoscaling";
}

/// The AWS name of resource `name` of `stack`: `{stack}-{env}-{name}`.
pub fn aws_name(stack: &Stack, name: &str) -> String {
    format!("{}-{}-{name}", stack.name, stack.environment.name)
}

/// A release artifact: `s3://{bucket}/{app}/{version}.tar.gz`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// App name.
    pub app: String,
    /// App version.
    pub version: String,
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
}

impl ArtifactRef {
    /// The artifact of `app` at `version` in `bucket`.
    pub fn new(bucket: &str, app: &str, version: &str) -> ArtifactRef {
        ArtifactRef {
            app: app.to_owned(),
            version: version.to_owned(),
            bucket: bucket.to_owned(),
            key: format!("{app}/{version}.tar.gz"),
        }
    }

    /// `s3://bucket/key`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// Everything observed for one stack + environment.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Owned live instances (pending, running, stopping, stopped).
    pub instances: Vec<LiveInstance>,
    /// Owned security groups, with their rules.
    pub security_groups: Vec<LiveSecurityGroup>,
    /// Owned launch templates, with their latest version.
    pub launch_templates: Vec<LiveLaunchTemplate>,
    /// Owned CloudFormation stacks, with template and parameters.
    pub cloudformation: Vec<LiveCloudFormation>,
    /// Resolved images by reference.
    pub images: BTreeMap<ImageRef, ResolvedImage>,
    /// Release artifacts that do not exist.
    pub missing_artifacts: Vec<ArtifactRef>,
    /// The apps' container images ECR holds, by app.
    pub container_images: BTreeMap<String, ContainerImage>,
    /// The apps' container images ECR does not hold.
    pub missing_images: Vec<MissingImage>,
    /// The static sites, as their buckets and records hold them.
    pub sites: Vec<site::LiveSite>,
    /// The sites the file no longer has whose releases rollstack recorded.
    pub removed_sites: Vec<site::RemovedSite>,
    /// Resources with a name the file wants but without this environment's ownership
    /// tags: never touched, reported as conflicts. Security groups only count in the
    /// stack's VPC, since their names are unique per VPC.
    pub foreign: Vec<ForeignResource>,
    /// The VPCs the stack's subnets are in (the default VPC's when it names none); more
    /// than one is an error, none means the account has no default VPC.
    pub vpcs: Vec<String>,
    /// The target groups the groups serve whose ARN is known (written, or a live
    /// output), with their targets.
    pub target_groups: Vec<LiveTargetGroup>,
    /// The alarms the rollouts watch that exist.
    pub alarms: Vec<LiveAlarm>,
    /// The names under the environment's DNS domain (`dns:`), owned or not.
    pub records: Vec<dns::LiveRecord>,
    /// The job runs rollstack recorded in the state bucket (stacks with `jobs:`).
    pub job_records: Vec<JobRecord>,
    /// Owned Auto Scaling groups.
    pub autoscaling_groups: Vec<LiveAutoScalingGroup>,
    /// The outputs each stack this one reads published for this environment; `None`:
    /// none yet.
    pub published: BTreeMap<String, Option<records::Published>>,
    /// The outputs this environment last published (a stack with `outputs:`).
    pub own_published: Option<records::Published>,
}

impl Observed {
    /// The owned Auto Scaling group of group `name`.
    pub fn autoscaling_group(&self, name: &str) -> Option<&LiveAutoScalingGroup> {
        self.autoscaling_groups
            .iter()
            .find(|g| g.group() == Some(name))
    }
}

impl Observed {
    /// Target group `arn`, if observed.
    pub fn target_group(&self, arn: &str) -> Option<&LiveTargetGroup> {
        self.target_groups.iter().find(|t| t.arn == arn)
    }

    /// The VPC the stack deploys into, when there is exactly one.
    pub fn vpc(&self) -> Option<&str> {
        match self.vpcs.as_slice() {
            [vpc] => Some(vpc),
            _ => None,
        }
    }
}

/// A live security group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveSecurityGroup {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The VPC it belongs to.
    pub vpc_id: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Its rules, both directions.
    pub rules: Vec<LiveRule>,
}

/// Direction of a rule.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Inbound.
    Ingress,
    /// Outbound.
    Egress,
}

/// A live security group rule, as AWS reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveRule {
    /// Rule id (`sgr-...`).
    pub id: String,
    /// Direction.
    pub direction: Direction,
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    pub protocol: String,
    /// First port (-1 for all).
    pub from_port: i32,
    /// Last port (-1 for all).
    pub to_port: i32,
    /// CIDR peer.
    pub cidr: Option<String>,
    /// Security group peer (id).
    pub group_id: Option<String>,
    /// Whether the rule carries this environment's ownership tags (rollstack made it).
    pub owned: bool,
}

/// A live launch template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveLaunchTemplate {
    /// Template id.
    pub id: String,
    /// Template name.
    pub name: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Latest version number.
    pub latest_version: i64,
    /// Default version number: the spec the group last rolled out completely.
    pub default_version: i64,
    /// The latest and default versions' contents.
    pub versions: Vec<LaunchTemplateVersion>,
}

impl LiveLaunchTemplate {
    /// The group it launches for: its `rollstack:resource` tag (which `moved` retags),
    /// or its name when that tag went missing. A moved group keeps its template, whose
    /// name AWS cannot change.
    pub fn group(&self, stack: &Stack) -> Option<String> {
        if let Some(group) = self
            .tags
            .get(tags::RESOURCE)
            .and_then(|r| r.strip_prefix("group."))
        {
            return Some(group.to_owned());
        }
        self.name
            .strip_prefix(&aws_name(stack, ""))
            .map(str::to_owned)
    }

    /// The target groups it remembers its group serving (`rollstack:target-group-N`).
    pub fn target_groups(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter(|(k, _)| k.starts_with(tags::TARGET_GROUP_PREFIX))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Version `number`, if observed.
    pub fn version(&self, number: i64) -> Option<&LaunchTemplateVersion> {
        self.versions.iter().find(|v| v.number == number)
    }

    /// The observed version whose description carries spec `hash`.
    pub fn version_with_spec(&self, hash: &str) -> Option<&LaunchTemplateVersion> {
        self.versions.iter().find(|v| v.spec() == Some(hash))
    }
}

/// The parts of a launch template version a plan compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchTemplateVersion {
    /// Version number.
    pub number: i64,
    /// Version description (carries the spec hash).
    pub description: String,
    /// Decoded user data.
    pub user_data: Option<String>,
    /// Instance profile, key pair, root volume and metadata service, as
    /// [`launch_settings`] says them.
    pub settings: BTreeMap<&'static str, String>,
}

/// The launch settings a plan names when they change, each as one readable value: what
/// a launch template version holds and what a launch spec asks for are said alike.
pub fn launch_settings(
    instance_profile: Option<&str>,
    key_name: Option<&str>,
    root_volume: Option<&crate::model::RootVolume>,
    metadata: crate::model::Metadata,
) -> BTreeMap<&'static str, String> {
    let mut settings = BTreeMap::new();
    if let Some(profile) = instance_profile {
        settings.insert("instance profile", profile.to_owned());
    }
    if let Some(key) = key_name {
        settings.insert("key pair", key.to_owned());
    }
    if let Some(volume) = root_volume {
        let size = volume
            .size_gb
            .map_or("the image's size".to_owned(), |s| format!("{s} GiB"));
        let mut text = format!("{size} {}", volume.volume_type.as_str());
        if let Some(iops) = volume.iops {
            text.push_str(&format!(", {iops} IOPS"));
        }
        if let Some(throughput) = volume.throughput {
            text.push_str(&format!(", {throughput} MiB/s"));
        }
        text.push_str(if volume.encrypted {
            ", encrypted"
        } else {
            ", unencrypted"
        });
        settings.insert("root volume", text);
    }
    settings.insert(
        "metadata",
        format!(
            "{}, hop limit {}",
            if metadata.tokens_required {
                "IMDSv2 required"
            } else {
                "IMDSv1 allowed"
            },
            metadata.hop_limit
        ),
    );
    settings
}

impl LaunchTemplateVersion {
    /// The spec hash in the description (`spec=HASH ...`).
    pub fn spec(&self) -> Option<&str> {
        self.description
            .split_whitespace()
            .find_map(|w| w.strip_prefix("spec="))
    }
}

impl Observed {
    /// Ids of `stack`'s owned security groups, by name in the stack file.
    pub fn security_group_ids(&self, stack: &Stack) -> BTreeMap<String, String> {
        let prefix = aws_name(stack, "");
        self.security_groups
            .iter()
            .filter_map(|g| Some((g.name.strip_prefix(&prefix)?.to_owned(), g.id.clone())))
            .collect()
    }
}

/// A resolved machine image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResolvedImage {
    /// AMI id.
    pub id: String,
    /// Image name, when looked up.
    pub name: Option<String>,
    /// Creation date, when looked up.
    pub created: Option<String>,
    /// Its root device (`/dev/xvda`), when the image was described.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_device: Option<String>,
    /// The size of its root snapshot in GiB, when the image was described.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_size_gb: Option<u32>,
}

/// A resource with a name the file wants, owned by someone else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignResource {
    /// What it is.
    pub kind: ForeignKind,
    /// Its AWS name.
    pub name: String,
    /// Its id.
    pub id: String,
    /// The VPC of a security group (their names are unique per VPC).
    pub vpc: Option<String>,
}

/// The kinds of resource whose names can collide with the stack's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForeignKind {
    /// A security group (names are unique per VPC).
    SecurityGroup,
    /// A launch template (a group's carries the group's name).
    LaunchTemplate,
    /// A CloudFormation stack.
    CloudFormationStack,
    /// An Auto Scaling group (a group's carries the group's name).
    AutoScalingGroup,
}

impl ForeignKind {
    /// `security group`, `launch template`, `CloudFormation stack`.
    pub fn as_str(self) -> &'static str {
        match self {
            ForeignKind::SecurityGroup => "security group",
            ForeignKind::LaunchTemplate => "launch template",
            ForeignKind::CloudFormationStack => "CloudFormation stack",
            ForeignKind::AutoScalingGroup => "Auto Scaling group",
        }
    }
}

impl std::fmt::Display for ForeignKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `tags` carry the ownership tags of `stack`/`env`.
pub fn owned_by(tags: &BTreeMap<String, String>, stack: &str, env: &str) -> bool {
    tags.get(tags::STACK).map(String::as_str) == Some(stack)
        && tags.get(tags::ENV).map(String::as_str) == Some(env)
}
