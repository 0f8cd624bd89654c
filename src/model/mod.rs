//! The validated model of one environment of a stack: plain types, every name resolved.
//!
//! Built by `validate` from the wire types; everything downstream (graph, plan, apply)
//! reads only this.

mod address;
pub mod autoscaling;
pub mod container;
mod job;
pub mod notify;
pub mod reference;
mod rollout;
pub mod site;
pub mod values;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use address::{Address, Edge};
pub use autoscaling::{
    Autoscaling, AutoscalingHealthCheck, HealthCheckKind, ScalingMetric, ScalingPolicy,
    TerminationPolicy,
};
pub use job::{Job, JobLaunch, When};
pub use reference::{Interpolated, Known, Piece, Reference};
pub use rollout::{Canary, OnFailure, Rollout};
pub use site::{Flip, Site};
pub use values::{Duration, ImageRef, ParameterValue, PortRange, Quantity};

/// The effective model of one environment of a stack.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stack {
    /// Stack name.
    pub name: String,
    /// The environment this model is for.
    pub environment: Environment,
    /// AWS region.
    pub region: String,
    /// The only AWS account this environment may be planned and applied in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Bucket for locks, history and readiness signals.
    pub state_bucket: Option<String>,
    /// Subnets instances spread across (empty: the default VPC's).
    pub subnets: Vec<String>,
    /// Bucket of release artifacts.
    pub releases_bucket: Option<String>,
    /// Apps by name.
    pub apps: BTreeMap<String, App>,
    /// Security groups by name.
    pub security_groups: BTreeMap<String, SecurityGroup>,
    /// Roles by name.
    pub roles: BTreeMap<String, Role>,
    /// Instance groups by name.
    pub groups: BTreeMap<String, Group>,
    /// CloudFormation stacks by name.
    pub cloudformation: BTreeMap<String, CloudFormation>,
    /// Release jobs by name: run once per release, before or after the groups that run
    /// their app roll.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub jobs: BTreeMap<String, Job>,
    /// Static sites by name: an app's release uploaded to S3 and served by a flip.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sites: BTreeMap<String, Site>,
    /// The other stacks of the workspace whose outputs this one reads
    /// (`${stacks.STACK.OUTPUT}`, `uses:`), and where each published them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uses: BTreeMap<String, UsedStack>,
    /// What a successful apply publishes for other stacks, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Interpolated>,
    /// Every reference between resources; the edges of the dependency graph.
    pub references: Vec<Edge>,
    /// Tags of the user's own on everything rollstack creates.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Groups renamed in the file: what AWS holds of `from` is retagged as `to`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<Moved>,
    /// The hosted zone the fleet's DNS records go in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Dns>,
    /// Webhooks told about applies, rollbacks and freezes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<notify::Notify>,
}

/// Where the fleet's DNS records go (`dns:`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    /// The Route 53 hosted zone id.
    pub zone_id: String,
    /// The domain records are made under, without the final dot.
    pub name: String,
    /// Seconds resolvers may cache a record.
    pub ttl: u32,
}

/// A group renamed in the stack file (`moved:`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    /// The old group name.
    pub from: String,
    /// The new group name (a group of the file).
    pub to: String,
}

/// Another stack of the workspace a stack reads outputs of.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedStack {
    /// Its state bucket, where its outputs are published (`None`: its file names none,
    /// so it publishes nothing).
    pub state_bucket: Option<String>,
    /// The environment whose outputs are read, when not the reader's own (`uses:
    /// { network: { env: shared } }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl UsedStack {
    /// The environment read: the mapped one, or `own`.
    pub fn env<'a>(&'a self, own: &'a str) -> &'a str {
        self.env.as_deref().unwrap_or(own)
    }
}

impl Stack {
    /// Every `${...}` value of the model: outputs, instance profiles, target groups and
    /// CloudFormation parameters.
    pub fn interpolated(&self) -> Vec<&Interpolated> {
        let groups = self.groups.values().flat_map(|g| {
            g.instance_profile
                .iter()
                .chain(&g.target_groups)
                .chain(&g.shared_security_groups)
        });
        let parameters = self
            .cloudformation
            .values()
            .flat_map(|c| c.parameters.values())
            .filter_map(|p| match p {
                ParameterValue::Text(text) => Some(text),
                ParameterValue::FromEnv { .. } => None,
            });
        self.outputs
            .values()
            .chain(groups)
            .chain(parameters)
            .collect()
    }

    /// The files the model reads beside the stack file: user-data templates, job scripts
    /// and CloudFormation templates, as resolved on disk.
    pub fn files_read(&self) -> Vec<&std::path::Path> {
        let user_data = self.groups.values().filter_map(|g| g.user_data.as_ref());
        let scripts = self.jobs.values().map(|j| &j.run);
        let templates = self.cloudformation.values().map(|c| &c.template);
        user_data
            .chain(scripts)
            .chain(templates)
            .map(|t| t.file.as_path())
            .collect()
    }

    /// The groups whose roles run `app`: those a release job of `app` runs before or
    /// after.
    pub fn groups_running(&self, app: &str) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|(_, g)| {
                g.roles
                    .iter()
                    .any(|r| self.roles.get(r).and_then(|r| r.app.as_deref()) == Some(app))
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Every resource address of the stack, in a stable order.
    pub fn addresses(&self) -> Vec<Address> {
        let apps = self.apps.keys().map(|n| Address::App(n.clone()));
        let sgs = self
            .security_groups
            .keys()
            .map(|n| Address::SecurityGroup(n.clone()));
        let rules = self
            .security_groups
            .keys()
            .map(|n| Address::SecurityGroupRules(n.clone()));
        let cfn = self
            .cloudformation
            .keys()
            .map(|n| Address::CloudFormation(n.clone()));
        let groups = self.groups.keys().map(|n| Address::Group(n.clone()));
        let jobs = self.jobs.keys().map(|n| Address::Job(n.clone()));
        let sites = self.sites.keys().map(|n| Address::Site(n.clone()));
        apps.chain(sgs)
            .chain(rules)
            .chain(cfn)
            .chain(groups)
            .chain(jobs)
            .chain(sites)
            .collect()
    }
}

/// The environment a model is for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Environment {
    /// `default` for a file without environments.
    pub name: String,
    /// Set for short-lived environments.
    pub ephemeral: Option<Ephemeral>,
    /// For an environment made by `env up`: the overlay it was made from and when it
    /// expires. Set only by `env up`; tagged on everything it creates.
    #[serde(default)]
    pub lifecycle: Option<Lifecycle>,
}

/// The overlay and expiry of an environment made by `env up`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// The ephemeral overlay it was made from (`rollstack:overlay`).
    pub overlay: String,
    /// RFC 3339 time after which `env gc` destroys it (`rollstack:expires-at`).
    pub expires_at: String,
}

/// Name of the only environment of a file that defines none.
pub const DEFAULT_ENVIRONMENT: &str = "default";

/// Settings of an ephemeral environment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ephemeral {
    /// Lifetime before `env gc` removes it.
    pub ttl: Duration,
}

/// Default lifetime of an ephemeral environment.
pub const DEFAULT_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// An application at a version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct App {
    /// The version to run: a release tarball's, or an image's tag or `sha256:` digest.
    pub version: String,
    /// The ECR repository the app's image is in; `None`: the app is a release tarball.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<container::Repository>,
}

/// A security group and its rules.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// Description shown in AWS.
    pub description: String,
    /// Inbound rules.
    pub ingress: Vec<Rule>,
    /// Outbound rules; `None` keeps the AWS default (all traffic allowed).
    pub egress: Option<Vec<Rule>>,
}

/// One rule of a security group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rule {
    /// IP protocol.
    pub protocol: Protocol,
    /// Ports (all for `icmp` and `all`).
    pub ports: PortRange,
    /// Who may connect.
    pub peer: Peer,
}

/// IP protocol of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
    /// Every protocol.
    All,
}

/// The other side of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// An IPv4 CIDR block.
    Cidr(String),
    /// Another security group of the stack.
    SecurityGroup(String),
}

/// What runs on an instance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Role {
    /// The app the role runs.
    pub app: Option<String>,
    /// How health is judged.
    pub health: HealthCheck,
}

/// A health check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthCheck {
    /// EC2 reports the instance running.
    Running,
    /// The instance writes its readiness signal object.
    Signal,
    /// An HTTP GET answers 2xx.
    Http {
        /// Port to probe.
        port: u16,
        /// Path to probe.
        path: String,
    },
}

/// An instance group.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Group {
    /// Roles every instance carries.
    pub roles: Vec<String>,
    /// Desired instance count (with `autoscaling`: where a new Auto Scaling group
    /// starts; after that its desired capacity is Auto Scaling's).
    pub count: u32,
    /// Machine image.
    pub image: ImageRef,
    /// EC2 instance type.
    pub instance_type: String,
    /// Security groups of the stack the instances join.
    pub security_groups: Vec<String>,
    /// Security groups of other stacks the instances join, by the id they publish
    /// (`${stacks.STACK.OUTPUT}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_security_groups: Vec<Interpolated>,
    /// Subnets (already defaulted from the network).
    pub subnets: Vec<String>,
    /// The user-data template, if any.
    pub user_data: Option<Template>,
    /// IAM instance profile (name or ARN) as written; may hold `${outputs.NODE.OUTPUT}`.
    pub instance_profile: Option<Interpolated>,
    /// EC2 key pair.
    pub key_name: Option<String>,
    /// The root volume, when the file sets it (else the image's own).
    pub root_volume: Option<RootVolume>,
    /// The instance metadata service.
    #[serde(default)]
    pub metadata: Metadata,
    /// Tags of the user's own on the instances and volumes (over the stack's).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// ELBv2 target groups the instances serve (ARNs as written; each may hold
    /// `${outputs.NODE.OUTPUT}`).
    #[serde(default)]
    pub target_groups: Vec<Interpolated>,
    /// Rollout policy.
    pub rollout: Rollout,
    /// Run as an Auto Scaling group (`autoscaling:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
}

/// The root volume of a group's instances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RootVolume {
    /// Size in GiB; `None`: the image's.
    pub size_gb: Option<u32>,
    /// EBS volume type (`gp3`).
    pub volume_type: VolumeType,
    /// Encrypted with the account's default EBS key.
    pub encrypted: bool,
    /// Provisioned IOPS.
    pub iops: Option<u32>,
    /// Throughput, MiB/s.
    pub throughput: Option<u32>,
}

/// An EBS volume type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VolumeType {
    /// General purpose SSD.
    Gp3,
    /// General purpose SSD, previous generation.
    Gp2,
    /// Provisioned IOPS SSD.
    Io1,
    /// Provisioned IOPS SSD, current generation.
    Io2,
    /// Throughput optimised HDD.
    St1,
    /// Cold HDD.
    Sc1,
    /// Magnetic.
    Standard,
}

impl VolumeType {
    /// The type EBS calls `name`.
    pub fn parse(name: &str) -> Option<VolumeType> {
        [
            VolumeType::Gp3,
            VolumeType::Gp2,
            VolumeType::Io1,
            VolumeType::Io2,
            VolumeType::St1,
            VolumeType::Sc1,
            VolumeType::Standard,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }

    /// The EBS name (`gp3`).
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeType::Gp3 => "gp3",
            VolumeType::Gp2 => "gp2",
            VolumeType::Io1 => "io1",
            VolumeType::Io2 => "io2",
            VolumeType::St1 => "st1",
            VolumeType::Sc1 => "sc1",
            VolumeType::Standard => "standard",
        }
    }
}

/// The instance metadata service of a group's instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Metadata {
    /// IMDSv2 session tokens required.
    pub tokens_required: bool,
    /// Network hops a metadata answer may travel.
    pub hop_limit: u8,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            tokens_required: true,
            hop_limit: 1,
        }
    }
}

/// A template file read from disk, relative to the stack file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Template {
    /// Path as written in the stack file.
    pub path: String,
    /// Resolved path on disk (not saved in plans: it is this machine's).
    #[serde(skip, default)]
    pub file: PathBuf,
    /// Template text.
    pub source: String,
}

/// A CloudFormation stack driven by rollstack.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CloudFormation {
    /// The template.
    pub template: Template,
    /// Parameters declared by the template.
    pub declared: Vec<TemplateParameter>,
    /// Outputs declared by the template.
    pub outputs: Vec<String>,
    /// Parameter values.
    pub parameters: BTreeMap<String, ParameterValue>,
}

/// A parameter a CloudFormation template declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateParameter {
    /// Logical name.
    pub name: String,
    /// Whether the template gives a default.
    pub has_default: bool,
    /// `NoEcho: true`: the value is sensitive.
    pub no_echo: bool,
}
