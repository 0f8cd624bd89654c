//! Seeding the local endpoint the way `apply` leaves AWS: tagged security groups and
//! rules, launch templates, and instances tagged at launch. Plan tests start from here.

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_ec2::types::{
    IpPermission, IpRange, RequestLaunchTemplateData, ResourceType, Tag, TagSpecification,
    UserIdGroupPair,
};
use rollstack::model::{Peer, Protocol, Rule, Stack};
use rollstack::observe::{aws_name, tags};
use rollstack::plan::diff::security_groups::rules_hash;
use rollstack::plan::spec::{LaunchSpec, instance_tags, ownership_tags};
use rollstack::template::Outputs;

/// The model of `env` (or `default`) of the stack file at `path`.
pub fn model(path: &Path, env: Option<&str>) -> Stack {
    let validated = rollstack::validate::validate_file(path)
        .unwrap_or_else(|d| panic!("{} does not validate: {} problems", path.display(), d.len()));
    validated
        .select(path, env)
        .unwrap_or_else(|_| panic!("no environment {env:?}"))
}

fn tag_spec(kind: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// An EC2 rule for `rule`, resolving group peers through `ids`.
pub fn permission(rule: &Rule, ids: &BTreeMap<String, String>) -> IpPermission {
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
    match &rule.peer {
        Peer::Cidr(cidr) => builder.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
        Peer::SecurityGroup(name) => {
            builder.user_id_group_pairs(UserIdGroupPair::builder().group_id(&ids[name]).build())
        }
    }
    .build()
}

/// Creates every security group of `stack` with its (ingress) rules, tagged as rollstack
/// does. Returns name -> id.
pub async fn security_groups(ec2: &aws_sdk_ec2::Client, stack: &Stack) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for (name, sg) in &stack.security_groups {
        let address = rollstack::model::Address::SecurityGroup(name.clone());
        let mut tags = ownership_tags(stack, &address);
        tags.insert(tags::SPEC.to_owned(), rules_hash(sg));
        let created = ec2
            .create_security_group()
            .group_name(aws_name(stack, name))
            .description(&sg.description)
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, &tags))
            .send()
            .await
            .expect("CreateSecurityGroup");
        ids.insert(name.clone(), created.group_id().unwrap().to_owned());
    }
    for (name, sg) in &stack.security_groups {
        let address = rollstack::model::Address::SecurityGroup(name.clone());
        for rule in &sg.ingress {
            ec2.authorize_security_group_ingress()
                .group_id(&ids[name])
                .ip_permissions(permission(rule, &ids))
                .tag_specifications(tag_spec(
                    ResourceType::SecurityGroupRule,
                    &ownership_tags(stack, &address),
                ))
                .send()
                .await
                .expect("AuthorizeSecurityGroupIngress");
        }
    }
    ids
}

/// Launches `n` instances of group `group` with `stack`'s spec for it (and a launch
/// template version carrying that spec), tagged at launch as rollstack does.
pub async fn instances(
    ec2: &aws_sdk_ec2::Client,
    stack: &Stack,
    group: &str,
    n: i32,
    sg_ids: &BTreeMap<String, String>,
    outputs: &Outputs,
) -> Vec<String> {
    let g = &stack.groups[group];
    let image = match &g.image {
        rollstack::model::ImageRef::Id(id) => id.clone(),
        other => panic!("seeding needs an AMI id, not {other}"),
    };
    let spec = LaunchSpec::new(stack, group, &image, outputs);
    let name = aws_name(stack, group);
    let data = RequestLaunchTemplateData::builder()
        .image_id(&image)
        .instance_type(g.instance_type.as_str().into())
        .set_user_data(
            spec.user_data
                .as_ref()
                .map(aws_smithy_types::base64::encode),
        )
        // As apply makes them: IMDSv2 required, one hop.
        .metadata_options(
            aws_sdk_ec2::types::LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(aws_sdk_ec2::types::LaunchTemplateHttpTokensState::Required)
                .http_put_response_hop_limit(1)
                .build(),
        )
        .build();
    let existing = ec2
        .describe_launch_templates()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("launch-template-name")
                .values(&name)
                .build(),
        )
        .send()
        .await
        .expect("DescribeLaunchTemplates");
    let description = format!("spec={} commit=test", spec.hash());
    if existing.launch_templates().is_empty() {
        let mut tags = ownership_tags(stack, &rollstack::model::Address::Group(group.to_owned()));
        tags.insert(tags::COUNT.to_owned(), g.count.to_string());
        ec2.create_launch_template()
            .launch_template_name(&name)
            .version_description(description)
            .launch_template_data(data)
            .tag_specifications(tag_spec(ResourceType::LaunchTemplate, &tags))
            .send()
            .await
            .expect("CreateLaunchTemplate");
    } else {
        ec2.create_launch_template_version()
            .launch_template_name(&name)
            .version_description(description)
            .launch_template_data(data)
            .send()
            .await
            .expect("CreateLaunchTemplateVersion");
    }
    let launched = ec2
        .run_instances()
        .image_id(&image)
        .instance_type(g.instance_type.as_str().into())
        .min_count(n)
        .max_count(n)
        .set_security_group_ids(Some(
            g.security_groups
                .iter()
                .map(|s| sg_ids[s].clone())
                .collect(),
        ))
        .tag_specifications(tag_spec(
            ResourceType::Instance,
            &instance_tags(stack, group, &spec),
        ))
        .send()
        .await
        .expect("RunInstances");
    launched
        .instances()
        .iter()
        .map(|i| i.instance_id().unwrap().to_owned())
        .collect()
}

/// Every security group and group of `stack`, as `apply` would leave them, with user
/// data rendered against `outputs`.
pub async fn fleet(
    ec2: &aws_sdk_ec2::Client,
    stack: &Stack,
    outputs: &Outputs,
) -> BTreeMap<String, String> {
    let ids = security_groups(ec2, stack).await;
    for (name, group) in &stack.groups {
        instances(ec2, stack, name, group.count as i32, &ids, outputs).await;
    }
    ids
}

/// Uploads the release artifact of every app of `stack`.
pub async fn releases(s3: &aws_sdk_s3::Client, stack: &Stack) {
    let Some(bucket) = &stack.releases_bucket else {
        return;
    };
    let _ = s3.create_bucket().bucket(bucket).send().await;
    for (app, a) in &stack.apps {
        s3.put_object()
            .bucket(bucket)
            .key(format!("{app}/{}.tar.gz", a.version))
            .body(b"release".to_vec().into())
            .send()
            .await
            .expect("PutObject");
    }
}
