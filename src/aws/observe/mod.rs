//! Observation: everything one stack + environment owns, in a handful of batched,
//! paginated calls that run concurrently. The number of calls grows with pages, never
//! with instances.

mod autoscaling;
mod cloudformation;
mod container_images;
mod images;
mod launch_templates;
pub(super) mod published;
mod sites;

pub use autoscaling::Activity;
use cloudformation::cloudformation;
pub(in crate::aws) use cloudformation::described_stacks;
use container_images::container_images;
use images::{images, missing_artifacts};
pub(in crate::aws) use launch_templates::describe_launch_templates;
use launch_templates::launch_templates;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{Filter, Tag};

use super::error::required;
use super::{Aws, AwsError};
use crate::observe::{
    Direction, ForeignKind, ForeignResource, InstanceState, Interner, JobRecord,
    LiveCloudFormation, LiveInstance, LiveRule, LiveSecurityGroup, LiveTargetGroup, Observed,
    Query, owned_by, state_keys, tags,
};

/// Reads what `query`'s stack + environment owns in AWS.
pub async fn observe(aws: &Aws, query: &Query) -> Result<Observed, AwsError> {
    let (instances, (security_groups, foreign_groups), (launch_templates, foreign_templates)) = tokio::try_join!(
        instances(aws, query),
        security_groups(aws, query),
        launch_templates(aws, query),
    )?;
    let (
        images,
        missing_artifacts,
        (container_images, missing_images),
        (cloudformation, foreign_stacks),
        vpcs,
        autoscaling,
    ) = tokio::try_join!(
        images(aws, query),
        missing_artifacts(aws, &query.artifacts),
        container_images(aws, query),
        cloudformation(aws, query),
        vpcs(aws, &query.subnets),
        autoscaling_groups(aws, query, &launch_templates),
    )?;
    let (autoscaling_groups, foreign_autoscaling): (Vec<_>, Vec<_>) = autoscaling
        .into_iter()
        .partition(|g| owned_by(&g.tags, &query.stack, &query.env));
    // Security group names are unique per VPC: a same-named group elsewhere is no conflict.
    let own_vpc = match vpcs.as_slice() {
        [vpc] => Some(vpc.as_str()),
        _ => None,
    };
    let (target_groups, sites, alarms, records, job_records, published, own_published) = tokio::try_join!(
        target_groups(aws, query, &cloudformation),
        sites::sites(aws, query, &cloudformation),
        aws.alarms(&query.alarms),
        records(aws, query),
        job_records(aws, query),
        published::read_all(aws, query),
        async {
            match query.publishes_in.as_deref() {
                Some(bucket) => published::read(aws, bucket, &query.stack, &query.env).await,
                None => Ok(None),
            }
        },
    )?;
    let (sites, removed_sites) = sites;
    let foreign = foreign_groups
        .into_iter()
        .filter(|g| own_vpc.is_none() || g.vpc.is_none() || g.vpc.as_deref() == own_vpc)
        .chain(foreign_templates)
        .chain(foreign_stacks)
        .chain(foreign_autoscaling.into_iter().map(|g| ForeignResource {
            kind: ForeignKind::AutoScalingGroup,
            id: g.name.clone(),
            name: g.name,
            vpc: None,
        }))
        .collect();
    Ok(Observed {
        instances,
        security_groups,
        launch_templates,
        cloudformation,
        images,
        missing_artifacts,
        container_images,
        missing_images,
        sites,
        removed_sites,
        foreign,
        vpcs,
        target_groups,
        alarms,
        records,
        job_records,
        autoscaling_groups,
        published,
        own_published,
    })
}

/// The Auto Scaling groups the file wants, and those the environment's launch templates
/// say they launch for (a group taken out of the file): none asked, no call.
async fn autoscaling_groups(
    aws: &Aws,
    query: &Query,
    templates: &[crate::observe::LiveLaunchTemplate],
) -> Result<Vec<crate::observe::LiveAutoScalingGroup>, AwsError> {
    let names: BTreeSet<String> = query
        .autoscaling_names
        .iter()
        .cloned()
        .chain(
            templates
                .iter()
                .filter_map(|t| t.tags.get(tags::AUTOSCALING).cloned()),
        )
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    aws.autoscaling_groups(&names.into_iter().collect::<Vec<_>>(), true)
        .await
}

/// The job runs recorded in the state bucket: one `ListObjectsV2` (a page per 1,000
/// objects), when the stack has jobs.
async fn job_records(aws: &Aws, query: &Query) -> Result<Vec<JobRecord>, AwsError> {
    let Some(bucket) = &query.job_bucket else {
        return Ok(Vec::new());
    };
    let prefix = state_keys::jobs(&query.stack, &query.env);
    let listed = match aws.list_objects(bucket, &prefix).await {
        // No bucket yet (`bootstrap` makes it): no job has run.
        Err(AwsError::NoStateBucket { .. }) => Vec::new(),
        listed => listed?,
    };
    Ok(listed
        .iter()
        .filter_map(|o| state_keys::parse_job_record(o.key.strip_prefix(&prefix)?))
        .map(|(job, key, succeeded)| JobRecord {
            job,
            key,
            succeeded,
        })
        .collect())
}

/// The names under the environment's DNS domain, when the stack has `dns:`.
async fn records(
    aws: &Aws,
    query: &Query,
) -> Result<Vec<crate::observe::dns::LiveRecord>, AwsError> {
    match &query.dns {
        Some(dns) => {
            aws.records(&dns.zone_id, &dns.name, (&query.stack, &query.env))
                .await
        }
        None => Ok(Vec::new()),
    }
}

/// The target groups `query` names whose ARN is known: written, or an output of a live
/// stack of the environment.
async fn target_groups(
    aws: &Aws,
    query: &Query,
    stacks: &[LiveCloudFormation],
) -> Result<Vec<LiveTargetGroup>, AwsError> {
    let arns: BTreeSet<String> = query
        .target_groups
        .iter()
        .filter_map(|written| {
            crate::observe::resolve(written, |node, output| {
                let name = format!("{}{node}", query.name_prefix);
                let live = stacks.iter().find(|s| s.name == name)?;
                live.outputs.get(output).cloned()
            })
        })
        .collect();
    futures_util::future::try_join_all(arns.iter().map(|arn| aws.target_group(arn))).await
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

pub(in crate::aws) fn filter(
    name: &str,
    values: impl IntoIterator<Item = impl Into<String>>,
) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

pub(super) fn ownership_filters(query: &Query) -> Vec<Filter> {
    vec![
        filter(&format!("tag:{}", tags::STACK), [query.stack.as_str()]),
        filter(&format!("tag:{}", tags::ENV), [query.env.as_str()]),
    ]
}

pub(in crate::aws) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
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

impl Aws {
    /// The instances of `query`'s stack + environment in one of `states`, oldest first:
    /// one filtered `DescribeInstances` (a call per `INSTANCES_PER_PAGE` instances).
    pub async fn environment_instances(
        &self,
        query: &Query,
        states: &[InstanceState],
    ) -> Result<Vec<LiveInstance>, AwsError> {
        describe_instances_in(self, ownership_filters(query), states).await
    }
}

/// Live instances (pending to stopped) matching `filters`, oldest first.
pub(in crate::aws) async fn describe_instances(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<LiveInstance>, AwsError> {
    describe_instances_in(aws, filters, &InstanceState::LIVE).await
}

/// Instances asked for per `DescribeInstances` page. AWS allows up to 1,000, but the SDK
/// holds a whole parsed page at once (~10 KiB an instance: interfaces, volumes, every
/// attribute), so a page, not the fleet, sets the peak memory of an observation; 500
/// keeps it near 5 MB at the cost of one more call per 1,000 instances.
const INSTANCES_PER_PAGE: i32 = 500;

/// Instances in one of `states` matching `filters`, oldest first, kept as compact
/// records page by page.
pub(in crate::aws) async fn describe_instances_in(
    aws: &Aws,
    mut filters: Vec<Filter>,
    states: &[InstanceState],
) -> Result<Vec<LiveInstance>, AwsError> {
    filters.push(filter(
        "instance-state-name",
        states.iter().map(|s| s.as_str()),
    ));
    let mut pages = aws
        .ec2
        .describe_instances()
        .set_filters(Some(filters))
        .max_results(INSTANCES_PER_PAGE)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    let mut interner = Interner::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("DescribeInstances", e))?;
        let instances = || page.reservations().iter().flat_map(|r| r.instances());
        found.reserve_exact(instances().count());
        for instance in instances() {
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
                    .map(|t| interner.text(t.as_str()))
                    .ok_or_else(|| incomplete("an instance's `InstanceType`"))?,
                image_id: interner.text(
                    instance
                        .image_id()
                        .ok_or_else(|| incomplete("an instance's `ImageId`"))?,
                ),
                subnet_id: instance.subnet_id().map(|s| interner.text(s)),
                private_ip: instance.private_ip_address().map(str::to_owned),
                public_ip: instance.public_ip_address().map(str::to_owned),
                launch_time: interner.text(
                    &instance
                        .launch_time()
                        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                        .unwrap_or_default(),
                ),
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
                tags: interner.tags(
                    instance
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
                ),
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
            kind: ForeignKind::SecurityGroup,
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

pub(in crate::aws) async fn describe_security_groups(
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
                name: required(
                    group.group_name(),
                    "DescribeSecurityGroups",
                    "a group's `GroupName`",
                )?
                .to_owned(),
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
