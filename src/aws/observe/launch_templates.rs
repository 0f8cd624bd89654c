//! Launch templates: owned ones with their versions, and same-named foreign ones.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;

use super::super::error::required;
use super::super::{Aws, AwsError};
use super::*;
use crate::observe::{
    ForeignKind, ForeignResource, LaunchTemplateVersion, LiveLaunchTemplate, Query,
};

/// Owned launch templates with their latest version, and same-named foreign ones.
pub(super) async fn launch_templates(
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
            kind: ForeignKind::LaunchTemplate,
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
                    number: required(
                        version.version_number(),
                        "DescribeLaunchTemplateVersions",
                        "a version's `VersionNumber`",
                    )?,
                    description: version.version_description().unwrap_or_default().to_owned(),
                    user_data,
                    settings: version
                        .launch_template_data()
                        .map(settings_of)
                        .unwrap_or_default(),
                };
                let of_template = versions
                    .entry(
                        required(
                            version.launch_template_id(),
                            "DescribeLaunchTemplateVersions",
                            "a version's `LaunchTemplateId`",
                        )?
                        .to_owned(),
                    )
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

pub(in crate::aws) async fn describe_launch_templates(
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
                name: required(
                    template.launch_template_name(),
                    "DescribeLaunchTemplates",
                    "a template's `LaunchTemplateName`",
                )?
                .to_owned(),
                tags: tag_map(template.tags()),
                latest_version: required(
                    template.latest_version_number(),
                    "DescribeLaunchTemplates",
                    "a template's `LatestVersionNumber`",
                )?,
                default_version: required(
                    template.default_version_number(),
                    "DescribeLaunchTemplates",
                    "a template's `DefaultVersionNumber`",
                )?,
                versions: Vec::new(),
            });
        }
    }
    Ok(found)
}
