//! EC2 writes: security groups and rules, launch templates, instances. Every resource is
//! tagged when it is created (TagSpecifications); afterwards only the user's own tags
//! change in place, and the bookkeeping tags of launch templates and security groups.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{
    IpPermission, IpRange, LaunchTemplateSpecification, ResourceType, Tag, TagSpecification,
    UserIdGroupPair,
};

use super::observe::{describe_security_groups, filter};
use super::{Aws, AwsError};
use crate::model::{Peer, Protocol, Rule};
use crate::observe::{Direction, tags};

/// Tags as EC2 takes them.
pub(super) fn ec2_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(super) fn tag_spec(kind: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(ec2_tags(tags)))
        .build()
}

/// The EC2 form of `rule`; a group peer is resolved through `group_ids` (name -> id).
fn permission(rule: &Rule, group_ids: &BTreeMap<String, String>) -> Result<IpPermission, AwsError> {
    let (protocol, from, to) = match rule.protocol {
        Protocol::Tcp => ("tcp", rule.ports.from.into(), rule.ports.to.into()),
        Protocol::Udp => ("udp", rule.ports.from.into(), rule.ports.to.into()),
        Protocol::Icmp => ("icmp", -1, -1),
        Protocol::All => ("-1", -1, -1),
    };
    let builder = IpPermission::builder()
        .ip_protocol(protocol)
        .from_port(from)
        .to_port(to);
    Ok(match &rule.peer {
        Peer::Cidr(cidr) => builder.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
        Peer::SecurityGroup(name) => {
            let id = group_ids
                .get(name)
                .ok_or_else(|| AwsError::UnknownSecurityGroup {
                    operation: "AuthorizeSecurityGroupIngress",
                    group: name.clone(),
                })?;
            builder.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).build())
        }
    }
    .build())
}

impl Aws {
    /// Creates security group `name` in `vpc` (the default VPC when `None`), tagged;
    /// returns its id.
    pub async fn create_security_group(
        &self,
        name: &str,
        description: &str,
        vpc: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let created = self
            .ec2
            .create_security_group()
            .group_name(name)
            .description(description)
            .set_vpc_id(vpc.map(str::to_owned))
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, tags))
            .send()
            .await
            .map_err(|e| self.error("CreateSecurityGroup", e));
        match created {
            Ok(created) => Ok(super::error::required(
                created.group_id(),
                "CreateSecurityGroup",
                "the new group's `GroupId`",
            )?
            .to_owned()),
            // A retry after a lost answer finds the group it made: ours by its tags.
            Err(e) if e.code() == Some("InvalidGroup.Duplicate") => {
                let mut filters = vec![filter("group-name", [name])];
                if let Some(vpc) = vpc {
                    filters.push(filter("vpc-id", [vpc]));
                }
                let found = describe_security_groups(self, filters).await?;
                let ours = found.into_iter().find(|g| {
                    [tags::STACK, tags::ENV]
                        .iter()
                        .all(|k| g.tags.get(*k) == tags.get(*k))
                });
                ours.map(|g| g.id).ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// One attempt of [`Aws::authorize_rules`].
    async fn authorize_rules_once(
        &self,
        group_id: &str,
        direction: Direction,
        rules: &[&Rule],
        group_ids: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        if rules.is_empty() {
            return Ok(());
        }
        let permissions = rules
            .iter()
            .map(|r| permission(r, group_ids))
            .collect::<Result<Vec<_>, _>>()?;
        let spec = tag_spec(ResourceType::SecurityGroupRule, tags);
        let result = match direction {
            Direction::Ingress => self
                .ec2
                .authorize_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(permissions))
                .tag_specifications(spec)
                .send()
                .await
                .map(drop)
                .map_err(|e| self.error("AuthorizeSecurityGroupIngress", e)),
            Direction::Egress => self
                .ec2
                .authorize_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(permissions))
                .tag_specifications(spec)
                .send()
                .await
                .map(drop)
                .map_err(|e| self.error("AuthorizeSecurityGroupEgress", e)),
        };
        // A retry after a lost answer finds the rules it authorized.
        done_unless(result, &["InvalidPermission.Duplicate"])
    }

    /// Revokes the rules `rule_ids` of group `group_id`.
    pub async fn revoke_rules(
        &self,
        group_id: &str,
        direction: Direction,
        rule_ids: Vec<String>,
    ) -> Result<(), AwsError> {
        if rule_ids.is_empty() {
            return Ok(());
        }
        let result = match direction {
            Direction::Ingress => self
                .ec2
                .revoke_security_group_ingress()
                .group_id(group_id)
                .set_security_group_rule_ids(Some(rule_ids))
                .send()
                .await
                .map(drop)
                .map_err(|e| self.error("RevokeSecurityGroupIngress", e)),
            Direction::Egress => self
                .ec2
                .revoke_security_group_egress()
                .group_id(group_id)
                .set_security_group_rule_ids(Some(rule_ids))
                .send()
                .await
                .map(drop)
                .map_err(|e| self.error("RevokeSecurityGroupEgress", e)),
        };
        // A retry after a lost answer finds them revoked.
        done_unless(
            result,
            &[
                "InvalidPermission.NotFound",
                "InvalidSecurityGroupRuleId.NotFound",
            ],
        )
    }

    /// Deletes security group `group_id`.
    pub async fn delete_security_group(&self, group_id: &str) -> Result<(), AwsError> {
        let result = self
            .ec2
            .delete_security_group()
            .group_id(group_id)
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("DeleteSecurityGroup", e));
        done_unless(result, &["InvalidGroup.NotFound"])
    }

    /// One attempt of [`Aws::set_tags`].
    async fn set_tags_once(
        &self,
        resource_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        self.ec2
            .create_tags()
            .resources(resource_id)
            .set_tags(Some(ec2_tags(tags)))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("CreateTags", e))
    }

    /// One attempt of [`Aws::run_instances`].
    async fn run_instances_once(&self, batch: &Batch<'_>) -> Result<Vec<String>, AwsError> {
        let launched = self
            .ec2
            .run_instances()
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .launch_template_id(batch.template_id)
                    .version(batch.version.to_string())
                    .build(),
            )
            .min_count(batch.count as i32)
            .max_count(batch.count as i32)
            .set_subnet_id(batch.subnet.map(str::to_owned))
            .client_token(batch.client_token)
            .tag_specifications(tag_spec(ResourceType::Instance, batch.tags))
            .tag_specifications(tag_spec(ResourceType::Volume, batch.volume_tags))
            .send()
            .await
            .map_err(|e| self.error("RunInstances", e))?;
        Ok(launched
            .instances()
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_owned))
            .collect())
    }

    /// One attempt of [`Aws::terminate_instances`].
    async fn terminate_instances_once(&self, ids: &[String]) -> Result<(), AwsError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.ec2
            .terminate_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("TerminateInstances", e))
    }
}

/// How long a `NotFound` for a resource rollstack just made (or found a moment ago) is
/// taken for the control plane's lag and the call tried again. AWS documents seconds of
/// eventual consistency; Terraform's AWS provider waits minutes.
pub const CONSISTENCY_WAIT: Duration = Duration::from_secs(120);

/// `NotFound` codes that mean "not visible yet" for an id that was just made.
const LAGGING: &[&str] = &[
    "InvalidGroup.NotFound",
    "InvalidGroupId.NotFound",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateId.VersionNotFound",
    "InvalidInstanceID.NotFound",
];

/// `call`, tried again with backoff while it answers a lagging `NotFound`, up to
/// [`CONSISTENCY_WAIT`].
pub(super) async fn while_lagging<T, F, Fut>(mut call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        match call().await {
            Err(e)
                if e.code().is_some_and(|c| LAGGING.contains(&c))
                    && started.elapsed() < CONSISTENCY_WAIT =>
            {
                tracing::warn!("{e}; AWS may not show it yet, trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
            other => return other,
        }
    }
}

/// `result`, with the error codes `done` (what a retry after a lost answer meets: the
/// thing made, or gone already) taken as success.
pub(super) fn done_unless(result: Result<(), AwsError>, done: &[&str]) -> Result<(), AwsError> {
    match result {
        Err(e) if e.code().is_some_and(|c| done.contains(&c)) => Ok(()),
        other => other,
    }
}

/// One `RunInstances` call.
#[derive(Clone, Debug)]
pub struct Batch<'a> {
    /// Launch template id.
    pub template_id: &'a str,
    /// Its version to launch.
    pub version: i64,
    /// How many (MinCount = MaxCount).
    pub count: u32,
    /// Subnet, or the default VPC's.
    pub subnet: Option<&'a str>,
    /// Idempotency token derived from the rollout step.
    pub client_token: &'a str,
    /// Tags set at launch.
    pub tags: &'a BTreeMap<String, String>,
    /// Tags its volumes get at launch.
    pub volume_tags: &'a BTreeMap<String, String>,
}

impl Aws {
    /// One attempt of [`Aws::revoke_default_egress`].
    async fn revoke_default_egress_once(&self, group_id: &str) -> Result<(), AwsError> {
        let result = self
            .ec2
            .revoke_security_group_egress()
            .group_id(group_id)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("-1")
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("RevokeSecurityGroupEgress", e));
        done_unless(result, &["InvalidPermission.NotFound"])
    }
}

/// The writes that name a resource made a moment ago, each waiting out a lagging
/// `NotFound` ([`while_lagging`]).
impl Aws {
    /// Authorizes `rules` in group `group_id`, each rule tagged with `tags`.
    pub async fn authorize_rules(
        &self,
        group_id: &str,
        direction: Direction,
        rules: &[&Rule],
        group_ids: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        while_lagging(|| self.authorize_rules_once(group_id, direction, rules, group_ids, tags))
            .await
    }

    /// Sets `tags` on an existing resource of ours (a launch template's applied count, a
    /// security group's rules hash or restored ownership tags).
    pub async fn set_tags(
        &self,
        resource_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        while_lagging(|| self.set_tags_once(resource_id, tags)).await
    }

    /// Launches one batch: `count` instances from version `version` of launch template
    /// `template_id`, in `subnet`, tagged at launch. Returns the new instance ids.
    pub async fn run_instances(&self, batch: &Batch<'_>) -> Result<Vec<String>, AwsError> {
        while_lagging(|| self.run_instances_once(batch)).await
    }

    /// Terminates `ids`.
    pub async fn terminate_instances(&self, ids: &[String]) -> Result<(), AwsError> {
        while_lagging(|| self.terminate_instances_once(ids)).await
    }

    /// Revokes the allow-all egress rule AWS gives every new group, for groups whose
    /// egress the stack file spells out.
    pub async fn revoke_default_egress(&self, group_id: &str) -> Result<(), AwsError> {
        while_lagging(|| self.revoke_default_egress_once(group_id)).await
    }
}
