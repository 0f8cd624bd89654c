//! Observation: everything one stack + environment owns, in a handful of batched,
//! paginated calls that run concurrently. The number of calls grows with pages, never
//! with instances.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudformation::types::TemplateStage;
use aws_sdk_ec2::types::{Filter, Image, Tag};
use futures_util::future::try_join_all;

use super::error::required;
use super::{Aws, AwsError};
use crate::model::ImageRef;
use crate::observe::{
    ArtifactRef, Direction, ForeignResource, InstanceState, LaunchTemplateVersion,
    LiveCloudFormation, LiveInstance, LiveLaunchTemplate, LiveRule, LiveSecurityGroup, Observed,
    Query, REVIEW_IN_PROGRESS, ResolvedImage, owned_by, tags,
};

/// Reads what `query`'s stack + environment owns in AWS.
pub async fn observe(aws: &Aws, query: &Query) -> Result<Observed, AwsError> {
    let (instances, (security_groups, foreign_groups), (launch_templates, foreign_templates)) = tokio::try_join!(
        instances(aws, query),
        security_groups(aws, query),
        launch_templates(aws, query),
    )?;
    let (images, missing_artifacts, (cloudformation, foreign_stacks), vpcs) = tokio::try_join!(
        images(aws, query),
        missing_artifacts(aws, &query.artifacts),
        cloudformation(aws, query),
        vpcs(aws, &query.subnets),
    )?;
    // Security group names are unique per VPC: a same-named group elsewhere is no conflict.
    let own_vpc = match vpcs.as_slice() {
        [vpc] => Some(vpc.as_str()),
        _ => None,
    };
    let foreign = foreign_groups
        .into_iter()
        .filter(|g| own_vpc.is_none() || g.vpc.is_none() || g.vpc.as_deref() == own_vpc)
        .chain(foreign_templates)
        .chain(foreign_stacks)
        .collect();
    Ok(Observed {
        instances,
        security_groups,
        launch_templates,
        cloudformation,
        images,
        missing_artifacts,
        foreign,
        vpcs,
    })
}

/// The VPCs of `subnets`, or the default VPC when there are none.
async fn vpcs(aws: &Aws, subnets: &[String]) -> Result<Vec<String>, AwsError> {
    let mut vpcs = BTreeSet::new();
    if subnets.is_empty() {
        let found = aws
            .ec2
            .describe_vpcs()
            .filters(filter("is-default", ["true"]))
            .send()
            .await
            .map_err(|e| aws.error("DescribeVpcs", e))?;
        vpcs.extend(
            found
                .vpcs()
                .iter()
                .filter_map(|v| v.vpc_id())
                .map(str::to_owned),
        );
    } else {
        let mut pages = aws
            .ec2
            .describe_subnets()
            .set_subnet_ids(Some(subnets.to_vec()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws.error("DescribeSubnets", e))?;
            vpcs.extend(
                page.subnets()
                    .iter()
                    .filter_map(|s| s.vpc_id())
                    .map(str::to_owned),
            );
        }
    }
    Ok(vpcs.into_iter().collect())
}

pub(super) fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

fn ownership_filters(query: &Query) -> Vec<Filter> {
    vec![
        filter(&format!("tag:{}", tags::STACK), [query.stack.as_str()]),
        filter(&format!("tag:{}", tags::ENV), [query.env.as_str()]),
    ]
}

pub(super) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

async fn instances(aws: &Aws, query: &Query) -> Result<Vec<LiveInstance>, AwsError> {
    describe_instances(aws, ownership_filters(query)).await
}

/// Live instances (pending to stopped) matching `filters`, oldest first.
pub(super) async fn describe_instances(
    aws: &Aws,
    mut filters: Vec<Filter>,
) -> Result<Vec<LiveInstance>, AwsError> {
    filters.push(filter(
        "instance-state-name",
        InstanceState::LIVE.iter().map(|s| s.as_str()),
    ));
    let mut pages = aws
        .ec2
        .describe_instances()
        .set_filters(Some(filters))
        .max_results(1000)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("DescribeInstances", e))?;
        for instance in page.reservations().iter().flat_map(|r| r.instances()) {
            let incomplete = |missing| AwsError::Incomplete {
                operation: "DescribeInstances",
                missing,
            };
            let id = instance
                .instance_id()
                .ok_or_else(|| incomplete("an instance's `InstanceId`"))?;
            let state = instance
                .state()
                .and_then(|s| s.name())
                .and_then(|n| InstanceState::parse(n.as_str()))
                .ok_or_else(|| incomplete("a known `State` of an instance"))?;
            found.push(LiveInstance {
                id: id.to_owned(),
                state,
                instance_type: instance
                    .instance_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                image_id: instance.image_id().unwrap_or_default().to_owned(),
                subnet_id: instance.subnet_id().map(str::to_owned),
                private_ip: instance.private_ip_address().map(str::to_owned),
                launch_time: instance
                    .launch_time()
                    .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                    .unwrap_or_default(),
                security_group_ids: instance
                    .security_groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect(),
                volume_ids: instance
                    .block_device_mappings()
                    .iter()
                    .filter_map(|m| m.ebs()?.volume_id().map(str::to_owned))
                    .collect(),
                tags: tag_map(instance.tags()),
            });
        }
    }
    found.sort_by(|a, b| (&a.launch_time, &a.id).cmp(&(&b.launch_time, &b.id)));
    Ok(found)
}

/// Owned security groups with their rules, and same-named foreign ones.
async fn security_groups(
    aws: &Aws,
    query: &Query,
) -> Result<(Vec<LiveSecurityGroup>, Vec<ForeignResource>), AwsError> {
    let owned = describe_security_groups(aws, ownership_filters(query));
    let named = async {
        if query.security_group_names.is_empty() {
            return Ok(Vec::new());
        }
        let names = query.security_group_names.iter().map(String::as_str);
        describe_security_groups(aws, vec![filter("group-name", names)]).await
    };
    let (mut owned, named) = tokio::try_join!(owned, named)?;
    let foreign = named
        .into_iter()
        .filter(|g| !owned_by(&g.tags, &query.stack, &query.env))
        .map(|g| ForeignResource {
            kind: "security group",
            name: g.name,
            id: g.id,
            vpc: g.vpc_id,
        })
        .collect();
    let ids: Vec<&str> = owned.iter().map(|g| g.id.as_str()).collect();
    if !ids.is_empty() {
        let mut rules = security_group_rules(aws, &ids, query).await?;
        for group in &mut owned {
            group.rules = rules.remove(&group.id).unwrap_or_default();
        }
    }
    Ok((owned, foreign))
}

pub(super) async fn describe_security_groups(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<LiveSecurityGroup>, AwsError> {
    let mut pages = aws
        .ec2
        .describe_security_groups()
        .set_filters(Some(filters))
        .max_results(1000)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("DescribeSecurityGroups", e))?;
        for group in page.security_groups() {
            found.push(LiveSecurityGroup {
                id: required(
                    group.group_id(),
                    "DescribeSecurityGroups",
                    "a group's `GroupId`",
                )?
                .to_owned(),
                name: group.group_name().unwrap_or_default().to_owned(),
                description: group.description().unwrap_or_default().to_owned(),
                vpc_id: group.vpc_id().map(str::to_owned),
                tags: tag_map(group.tags()),
                rules: Vec::new(),
            });
        }
    }
    Ok(found)
}

/// Rules of the groups `ids`, by group id.
async fn security_group_rules(
    aws: &Aws,
    ids: &[&str],
    query: &Query,
) -> Result<BTreeMap<String, Vec<LiveRule>>, AwsError> {
    let mut pages = aws
        .ec2
        .describe_security_group_rules()
        .filters(filter("group-id", ids.iter().copied()))
        .max_results(1000)
        .into_paginator()
        .send();
    let mut rules: BTreeMap<String, Vec<LiveRule>> = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("DescribeSecurityGroupRules", e))?;
        for rule in page.security_group_rules() {
            let Some(group) = rule.group_id() else {
                continue;
            };
            let direction = if rule.is_egress() == Some(true) {
                Direction::Egress
            } else {
                Direction::Ingress
            };
            rules.entry(group.to_owned()).or_default().push(LiveRule {
                id: required(
                    rule.security_group_rule_id(),
                    "DescribeSecurityGroupRules",
                    "a rule's `SecurityGroupRuleId`",
                )?
                .to_owned(),
                direction,
                protocol: rule.ip_protocol().unwrap_or("-1").to_owned(),
                from_port: rule.from_port().unwrap_or(-1),
                to_port: rule.to_port().unwrap_or(-1),
                cidr: rule.cidr_ipv4().map(str::to_owned),
                group_id: rule
                    .referenced_group_info()
                    .and_then(|r| r.group_id())
                    .map(str::to_owned),
                owned: owned_by(&tag_map(rule.tags()), &query.stack, &query.env),
            });
        }
    }
    Ok(rules)
}

/// Owned launch templates with their latest version, and same-named foreign ones.
async fn launch_templates(
    aws: &Aws,
    query: &Query,
) -> Result<(Vec<LiveLaunchTemplate>, Vec<ForeignResource>), AwsError> {
    let owned = describe_launch_templates(aws, ownership_filters(query));
    let named = async {
        if query.launch_template_names.is_empty() {
            return Ok(Vec::new());
        }
        let names = query.launch_template_names.iter().map(String::as_str);
        describe_launch_templates(aws, vec![filter("launch-template-name", names)]).await
    };
    let (mut owned, named) = tokio::try_join!(owned, named)?;
    let foreign = named
        .into_iter()
        .filter(|t| !owned_by(&t.tags, &query.stack, &query.env))
        .map(|t| ForeignResource {
            kind: "launch template",
            name: t.name,
            id: t.id,
            vpc: None,
        })
        .collect();
    if !owned.is_empty() {
        // `$Latest`/`$Default` without a template id describe those versions of every
        // template in one call, instead of one call per group.
        let mut pages = aws
            .ec2
            .describe_launch_template_versions()
            .versions("$Latest")
            .versions("$Default")
            .max_results(200)
            .into_paginator()
            .send();
        let mut versions: BTreeMap<String, Vec<LaunchTemplateVersion>> = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws.error("DescribeLaunchTemplateVersions", e))?;
            for version in page.launch_template_versions() {
                let user_data = version
                    .launch_template_data()
                    .and_then(|d| d.user_data())
                    .and_then(|b64| aws_smithy_types::base64::decode(b64).ok())
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
                let found = LaunchTemplateVersion {
                    number: version.version_number().unwrap_or_default(),
                    description: version.version_description().unwrap_or_default().to_owned(),
                    user_data,
                    settings: version
                        .launch_template_data()
                        .map(settings_of)
                        .unwrap_or_default(),
                };
                let of_template = versions
                    .entry(version.launch_template_id().unwrap_or_default().to_owned())
                    .or_default();
                if !of_template.contains(&found) {
                    of_template.push(found);
                }
            }
        }
        for template in &mut owned {
            template.versions = versions.remove(&template.id).unwrap_or_default();
        }
    }
    Ok((owned, foreign))
}

/// What a launch template version holds of the settings a plan names.
fn settings_of(
    data: &aws_sdk_ec2::types::ResponseLaunchTemplateData,
) -> BTreeMap<&'static str, String> {
    let profile = data
        .iam_instance_profile()
        .and_then(|p| p.name().or(p.arn()));
    let root_volume = data
        .block_device_mappings()
        .iter()
        .find_map(|m| m.ebs())
        .map(|ebs| crate::model::RootVolume {
            size_gb: ebs.volume_size().map(|s| s as u32),
            volume_type: ebs
                .volume_type()
                .and_then(|t| crate::model::VolumeType::parse(t.as_str()))
                .unwrap_or(crate::model::VolumeType::Gp3),
            encrypted: ebs.encrypted().unwrap_or(false),
            iops: ebs.iops().map(|i| i as u32),
            throughput: ebs.throughput().map(|t| t as u32),
        });
    let metadata = data.metadata_options().map_or(
        crate::model::Metadata {
            tokens_required: false,
            hop_limit: 1,
        },
        |m| crate::model::Metadata {
            tokens_required: m.http_tokens().map(|t| t.as_str()) == Some("required"),
            hop_limit: m.http_put_response_hop_limit().unwrap_or(1) as u8,
        },
    );
    crate::observe::launch_settings(profile, data.key_name(), root_volume.as_ref(), metadata)
}

pub(super) async fn describe_launch_templates(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<LiveLaunchTemplate>, AwsError> {
    let mut pages = aws
        .ec2
        .describe_launch_templates()
        .set_filters(Some(filters))
        .max_results(200)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("DescribeLaunchTemplates", e))?;
        for template in page.launch_templates() {
            found.push(LiveLaunchTemplate {
                id: required(
                    template.launch_template_id(),
                    "DescribeLaunchTemplates",
                    "a template's `LaunchTemplateId`",
                )?
                .to_owned(),
                name: template
                    .launch_template_name()
                    .unwrap_or_default()
                    .to_owned(),
                tags: tag_map(template.tags()),
                latest_version: template.latest_version_number().unwrap_or_default(),
                default_version: template.default_version_number().unwrap_or_default(),
                versions: Vec::new(),
            });
        }
    }
    Ok(found)
}

/// Each distinct image reference resolved once: ids as given, lookups to the newest match.
async fn images(aws: &Aws, query: &Query) -> Result<BTreeMap<ImageRef, ResolvedImage>, AwsError> {
    let lookups = query.distinct_images().into_iter().map(|image| async move {
        let resolved = match image {
            // An id is used as written, unless its root device must be known.
            ImageRef::Id(id) if !query.described_ids.contains(id) => Some(ResolvedImage {
                id: id.clone(),
                name: None,
                created: None,
                root_device: None,
                root_size_gb: None,
            }),
            ImageRef::Id(id) => {
                let found = aws.ec2.describe_images().image_ids(id).send().await;
                match found {
                    Ok(found) => newest(found.images()).map(|mut image| {
                        // Described for its device, it is still named as written.
                        image.name = None;
                        image.created = None;
                        image
                    }),
                    Err(e)
                        if e.as_service_error().and_then(|s| s.meta().code())
                            == Some("InvalidAMIID.NotFound") =>
                    {
                        None
                    }
                    Err(e) => return Err(aws.error("DescribeImages", e)),
                }
            }
            ImageRef::Lookup { name, owner } => {
                let found = aws
                    .ec2
                    .describe_images()
                    .owners(owner)
                    .filters(filter("name", [name.as_str()]))
                    .send()
                    .await
                    .map_err(|e| aws.error("DescribeImages", e))?;
                newest(found.images())
            }
        };
        Ok::<_, AwsError>(resolved.map(|r| (image.clone(), r)))
    });
    let resolved = try_join_all(lookups).await?;
    Ok(resolved.into_iter().flatten().collect())
}

fn newest(images: &[Image]) -> Option<ResolvedImage> {
    images
        .iter()
        .max_by(|a, b| (a.creation_date(), a.image_id()).cmp(&(b.creation_date(), b.image_id())))
        .map(|image| {
            let root_device = image.root_device_name().map(str::to_owned);
            let root_size_gb = image
                .block_device_mappings()
                .iter()
                .find(|m| m.device_name() == root_device.as_deref())
                .and_then(|m| m.ebs()?.volume_size())
                .map(|s| s as u32);
            ResolvedImage {
                id: image.image_id().unwrap_or_default().to_owned(),
                name: image.name().map(str::to_owned),
                created: image.creation_date().map(str::to_owned),
                root_device,
                root_size_gb,
            }
        })
}

async fn missing_artifacts(
    aws: &Aws,
    artifacts: &[ArtifactRef],
) -> Result<Vec<ArtifactRef>, AwsError> {
    let heads = artifacts.iter().map(|artifact| async move {
        let head = aws
            .s3
            .head_object()
            .bucket(&artifact.bucket)
            .key(&artifact.key)
            .send()
            .await;
        match head {
            Ok(_) => Ok(None),
            Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => {
                Ok(Some(artifact.clone()))
            }
            Err(e) => Err(aws.error("HeadObject", e)),
        }
    });
    Ok(try_join_all(heads).await?.into_iter().flatten().collect())
}

/// Owned CloudFormation stacks with templates, and same-named foreign ones.
async fn cloudformation(
    aws: &Aws,
    query: &Query,
) -> Result<(Vec<LiveCloudFormation>, Vec<ForeignResource>), AwsError> {
    let wanted: BTreeSet<&str> = query
        .cloudformation_names
        .iter()
        .map(String::as_str)
        .collect();
    let mut pages = aws.cloudformation.describe_stacks().into_paginator().send();
    let mut owned = Vec::new();
    let mut foreign = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("DescribeStacks", e))?;
        for stack in page.stacks() {
            let name = required(
                stack.stack_name(),
                "DescribeStacks",
                "a stack's `StackName`",
            )?
            .to_owned();
            let id =
                required(stack.stack_id(), "DescribeStacks", "a stack's `StackId`")?.to_owned();
            let tags = super::cloudformation::stack_tags(stack);
            if owned_by(&tags, &query.stack, &query.env) && name.starts_with(&query.name_prefix) {
                owned.push(LiveCloudFormation {
                    name,
                    id,
                    status: super::cloudformation::status(stack),
                    tags,
                    parameters: stack
                        .parameters()
                        .iter()
                        .filter_map(|p| {
                            Some((
                                p.parameter_key()?.to_owned(),
                                p.parameter_value().unwrap_or_default().to_owned(),
                            ))
                        })
                        .collect(),
                    outputs: super::cloudformation::outputs(stack),
                    template: String::new(),
                });
            } else if wanted.contains(name.as_str()) {
                foreign.push(ForeignResource {
                    kind: "CloudFormation stack",
                    name,
                    id,
                    vpc: None,
                });
            }
        }
    }
    let templates = owned.iter().map(|stack| async move {
        // A stack no change set has run on has no template yet.
        if stack.status == REVIEW_IN_PROGRESS {
            return Ok(String::new());
        }
        aws.cloudformation
            .get_template()
            .stack_name(&stack.id)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map(|t| t.template_body().unwrap_or_default().to_owned())
            .map_err(|e| aws.error("GetTemplate", e))
    });
    let templates = try_join_all(templates).await?;
    for (stack, template) in owned.iter_mut().zip(templates) {
        stack.template = template;
    }
    Ok((owned, foreign))
}
