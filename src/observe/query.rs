//! What observation looks for, derived from one environment's model.

use std::collections::{BTreeMap, BTreeSet};

use super::{ArtifactRef, aws_name};
use crate::model::{ImageRef, Stack};

/// What to look for: derived from one environment's model.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Stack name (`rollstack:stack`).
    pub stack: String,
    /// Environment name (`rollstack:env`).
    pub env: String,
    /// AWS names of the security groups the file wants (for name conflicts).
    pub security_group_names: Vec<String>,
    /// AWS names of the launch templates the file wants (for name conflicts).
    pub launch_template_names: Vec<String>,
    /// AWS names of the Auto Scaling groups the file wants.
    pub autoscaling_names: Vec<String>,
    /// AWS names of the CloudFormation stacks the file wants (for name conflicts).
    pub cloudformation_names: Vec<String>,
    /// Prefix of the AWS names of this environment's resources (`{stack}-{env}-`).
    pub name_prefix: String,
    /// Images to resolve, each once, by group.
    pub images: BTreeMap<String, ImageRef>,
    /// Release artifacts to check.
    pub artifacts: Vec<ArtifactRef>,
    /// The static sites to read.
    pub sites: Vec<super::site::SiteQuery>,
    /// The apps' container images to resolve, by app.
    pub container_images: BTreeMap<String, super::ImageVersion>,
    /// Image ids to describe (for their root device), not only to use as written.
    pub described_ids: BTreeSet<String>,
    /// Every subnet the stack launches into (the VPC they are in is the stack's).
    pub subnets: Vec<String>,
    /// The target groups the groups serve, as written (`${outputs.lb.Arn}` resolves
    /// against the live outputs of `{name_prefix}lb`).
    pub target_groups: BTreeSet<crate::model::Interpolated>,
    /// The alarms the groups' rollouts watch.
    pub alarms: Vec<String>,
    /// The hosted zone and domain of the fleet's DNS records (`dns:`).
    pub dns: Option<crate::model::Dns>,
    /// The other stacks whose published outputs the stack reads, with their state
    /// buckets and the environment read (`${stacks.STACK.OUTPUT}`).
    pub producers: BTreeMap<String, crate::model::UsedStack>,
    /// The state bucket the stack publishes its `outputs:` in, to compare them with
    /// (also when the file has none: published ones are then taken back).
    pub publishes_in: Option<String>,
    /// The state bucket, when the stack has jobs: their recorded runs are listed there.
    pub job_bucket: Option<String>,
    /// The state bucket, where the sites' file lists are recorded: read also when the
    /// file has no sites, so that one it no longer has is deleted.
    pub site_bucket: Option<String>,
}

impl Query {
    /// What to observe for `stack`.
    pub fn for_stack(stack: &Stack) -> Query {
        let prefix = aws_name(stack, "");
        Query {
            stack: stack.name.clone(),
            env: stack.environment.name.clone(),
            security_group_names: stack
                .security_groups
                .keys()
                .map(|n| aws_name(stack, n))
                .collect(),
            launch_template_names: stack.groups.keys().map(|n| aws_name(stack, n)).collect(),
            autoscaling_names: stack
                .groups
                .iter()
                .filter(|(_, g)| g.autoscaling.is_some())
                .map(|(n, _)| aws_name(stack, n))
                .collect(),
            cloudformation_names: stack
                .cloudformation
                .keys()
                .map(|n| aws_name(stack, n))
                .collect(),
            name_prefix: prefix,
            images: stack
                .groups
                .iter()
                .map(|(name, g)| (name.clone(), g.image.clone()))
                .chain(
                    stack
                        .jobs
                        .iter()
                        .map(|(name, j)| (format!("job.{name}"), j.launch.image.clone())),
                )
                .collect(),
            artifacts: artifacts(stack),
            container_images: super::container_images::wanted(stack),
            sites: super::site::wanted(stack),
            described_ids: stack
                .groups
                .values()
                .filter(|g| g.root_volume.is_some())
                .filter_map(|g| match &g.image {
                    ImageRef::Id(id) => Some(id.clone()),
                    ImageRef::Lookup { .. } => None,
                })
                .collect(),
            subnets: stack
                .subnets
                .iter()
                .chain(stack.groups.values().flat_map(|g| &g.subnets))
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            target_groups: stack
                .groups
                .values()
                .flat_map(|g| g.target_groups.iter().cloned())
                .collect(),
            alarms: stack
                .groups
                .values()
                .flat_map(|g| g.rollout.alarms.iter().cloned())
                .chain(stack.sites.values().flat_map(|s| s.alarms.iter().cloned()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            dns: stack.dns.clone(),
            producers: stack.uses.clone(),
            publishes_in: stack.state_bucket.clone(),
            job_bucket: stack
                .state_bucket
                .clone()
                .filter(|_| !stack.jobs.is_empty()),
            site_bucket: stack.state_bucket.clone(),
        }
    }

    /// The distinct image references to resolve.
    pub fn distinct_images(&self) -> BTreeSet<&ImageRef> {
        self.images.values().collect()
    }
}

/// The release tarballs of the apps that are not container images.
fn artifacts(stack: &Stack) -> Vec<ArtifactRef> {
    let Some(bucket) = &stack.releases_bucket else {
        return Vec::new();
    };
    stack
        .apps
        .iter()
        .filter(|(_, a)| a.image.is_none())
        .map(|(app, a)| ArtifactRef::new(bucket, app, &a.version))
        .collect()
}
