//! EC2 writes: security groups and rules, launch templates, instances. Every resource is
//! tagged when it is created (TagSpecifications); afterwards only the user's own tags
//! change in place, and the bookkeeping tags of launch templates and security groups.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{
    IpPermission, IpRange, LaunchTemplateBlockDeviceMappingRequest,
    LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataOptionsRequest, LaunchTemplateInstanceMetadataTagsState,
    LaunchTemplateSpecification, LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData,
    ResourceType, Tag, TagSpecification, UserIdGroupPair,
};

use super::observe::{
    describe_instances, describe_launch_templates, describe_security_groups, filter,
};
use super::{Aws, AwsError};
use crate::model::{Peer, Protocol, Rule};
use crate::observe::{Direction, LiveInstance, tags};

/// Tags as EC2 takes them.
pub(super) fn ec2_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn tag_spec(kind: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
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
            let id = group_ids.get(name).ok_or_else(|| AwsError::Call {
                operation: "AuthorizeSecurityGroupIngress",
                message: format!("security group `{name}` has no id yet"),
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

    /// Adds a version to launch template `name` (creating the template, tagged with
    /// `template_tags`, when `template_id` is `None`). Returns (template id, version).
    pub async fn put_launch_template_version(
        &self,
        name: &str,
        template_id: Option<&str>,
        version: &LaunchVersion,
        template_tags: &BTreeMap<String, String>,
    ) -> Result<(String, i64), AwsError> {
        let data = RequestLaunchTemplateData::builder()
            .image_id(&version.image_id)
            .instance_type(version.instance_type.as_str().into())
            .set_security_group_ids(Some(version.security_group_ids.clone()))
            .set_user_data(
                version
                    .user_data
                    .as_ref()
                    .map(aws_smithy_types::base64::encode),
            )
            // Instances read their own `rollstack:spec` tag for the readiness signal.
            .metadata_options(
                LaunchTemplateInstanceMetadataOptionsRequest::builder()
                    .instance_metadata_tags(LaunchTemplateInstanceMetadataTagsState::Enabled)
                    .http_tokens(if version.metadata.tokens_required {
                        LaunchTemplateHttpTokensState::Required
                    } else {
                        LaunchTemplateHttpTokensState::Optional
                    })
                    .http_put_response_hop_limit(version.metadata.hop_limit.into())
                    .build(),
            )
            .set_iam_instance_profile(version.instance_profile.as_ref().map(|p| {
                let profile = LaunchTemplateIamInstanceProfileSpecificationRequest::builder();
                if p.starts_with("arn:") {
                    profile.arn(p).build()
                } else {
                    profile.name(p).build()
                }
            }))
            .set_key_name(version.key_name.clone())
            .set_block_device_mappings(version.root_volume.as_ref().map(|(device, volume)| {
                vec![
                    LaunchTemplateBlockDeviceMappingRequest::builder()
                        .device_name(device)
                        .ebs(
                            LaunchTemplateEbsBlockDeviceRequest::builder()
                                .set_volume_size(volume.size_gb.map(|s| s as i32))
                                .volume_type(volume.volume_type.as_str().into())
                                .encrypted(volume.encrypted)
                                .set_iops(volume.iops.map(|i| i as i32))
                                .set_throughput(volume.throughput.map(|t| t as i32))
                                .delete_on_termination(true)
                                .build(),
                        )
                        .build(),
                ]
            }))
            .tag_specifications(
                LaunchTemplateTagSpecificationRequest::builder()
                    .resource_type(ResourceType::Instance)
                    .set_tags(Some(ec2_tags(&version.instance_tags)))
                    .build(),
            )
            .build();
        match template_id {
            None => {
                let created = self
                    .ec2
                    .create_launch_template()
                    .launch_template_name(name)
                    .version_description(&version.description)
                    .launch_template_data(data)
                    .tag_specifications(tag_spec(ResourceType::LaunchTemplate, template_tags))
                    .client_token(&version.client_token)
                    .send()
                    .await
                    .map_err(|e| self.error("CreateLaunchTemplate", e));
                match created {
                    Ok(created) => {
                        let t = created.launch_template();
                        let id = super::error::required(
                            t.and_then(|t| t.launch_template_id()),
                            "CreateLaunchTemplate",
                            "the new template's `LaunchTemplateId`",
                        )?;
                        Ok((
                            id.to_owned(),
                            t.and_then(|t| t.latest_version_number()).unwrap_or(1),
                        ))
                    }
                    // A retry after a lost answer finds the template it made (an endpoint
                    // that ignores the client token): ours by its tags, its first
                    // version the one asked for.
                    Err(e)
                        if e.code() == Some("InvalidLaunchTemplateName.AlreadyExistsException") =>
                    {
                        let found = describe_launch_templates(
                            self,
                            vec![filter("launch-template-name", [name])],
                        )
                        .await?;
                        found
                            .into_iter()
                            .find(|t| {
                                [tags::STACK, tags::ENV]
                                    .iter()
                                    .all(|k| t.tags.get(*k) == template_tags.get(*k))
                            })
                            .map(|t| (t.id, 1))
                            .ok_or(e)
                    }
                    Err(e) => Err(e),
                }
            }
            Some(id) => {
                let created = self
                    .ec2
                    .create_launch_template_version()
                    .launch_template_id(id)
                    .version_description(&version.description)
                    .launch_template_data(data)
                    .client_token(&version.client_token)
                    .send()
                    .await
                    .map_err(|e| self.error("CreateLaunchTemplateVersion", e))?;
                let number = super::error::required(
                    created
                        .launch_template_version()
                        .and_then(|v| v.version_number()),
                    "CreateLaunchTemplateVersion",
                    "the new version's `VersionNumber`",
                )?;
                Ok((id.to_owned(), number))
            }
        }
    }

    /// One attempt of [`Aws::set_default_version`].
    async fn set_default_version_once(
        &self,
        template_id: &str,
        version: i64,
    ) -> Result<(), AwsError> {
        self.ec2
            .modify_launch_template()
            .launch_template_id(template_id)
            .default_version(version.to_string())
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("ModifyLaunchTemplate", e))
    }

    /// Deletes launch template `template_id`.
    pub async fn delete_launch_template(&self, template_id: &str) -> Result<(), AwsError> {
        let result = self
            .ec2
            .delete_launch_template()
            .launch_template_id(template_id)
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("DeleteLaunchTemplate", e));
        done_unless(result, &["InvalidLaunchTemplateId.NotFound"])
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

    /// The live instances of resource `address` of stack `stack` / env `env`: one
    /// `DescribeInstances` (paginated), whatever the number of instances.
    pub async fn group_instances(
        &self,
        stack: &str,
        env: &str,
        address: &str,
    ) -> Result<Vec<LiveInstance>, AwsError> {
        describe_instances(
            self,
            vec![
                filter(&format!("tag:{}", tags::STACK), [stack]),
                filter(&format!("tag:{}", tags::ENV), [env]),
                filter(&format!("tag:{}", tags::RESOURCE), [address]),
            ],
        )
        .await
    }
}

/// One launch template version.
#[derive(Clone, Debug)]
pub struct LaunchVersion {
    /// `spec=HASH commit=SHA`.
    pub description: String,
    /// AMI id.
    pub image_id: String,
    /// Instance type.
    pub instance_type: String,
    /// Security group ids.
    pub security_group_ids: Vec<String>,
    /// Rendered user data.
    pub user_data: Option<String>,
    /// Tags instances launched from it carry.
    pub instance_tags: BTreeMap<String, String>,
    /// Idempotency token: the same version asked for again is the same version.
    pub client_token: String,
    /// IAM instance profile, by name or ARN.
    pub instance_profile: Option<String>,
    /// EC2 key pair.
    pub key_name: Option<String>,
    /// The root volume, at the image's root device (`/dev/xvda`).
    pub root_volume: Option<(String, crate::model::RootVolume)>,
    /// The instance metadata service.
    pub metadata: crate::model::Metadata,
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
async fn while_lagging<T, F, Fut>(mut call: F) -> Result<T, AwsError>
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
fn done_unless(result: Result<(), AwsError>, done: &[&str]) -> Result<(), AwsError> {
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

    /// Makes `version` the default version of launch template `template_id`.
    pub async fn set_default_version(
        &self,
        template_id: &str,
        version: i64,
    ) -> Result<(), AwsError> {
        while_lagging(|| self.set_default_version_once(template_id, version)).await
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
