//! Launch templates: a version per launch spec, the default version moved once a
//! rollout completes, and the template deleted with its group.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataOptionsRequest, LaunchTemplateInstanceMetadataTagsState,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType,
};

use super::ec2::{done_unless, ec2_tags, tag_spec, while_lagging};
use super::observe::{describe_launch_templates, filter};
use super::{Aws, AwsError};
use crate::observe::tags;

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

impl Aws {
    /// Adds a version to launch template `name` (creating the template, tagged with
    /// `template_tags`, when `template_id` is `None`). Returns (template id, version).
    pub async fn put_launch_template_version(
        &self,
        name: &str,
        template_id: Option<&str>,
        version: &LaunchVersion,
        template_tags: &BTreeMap<String, String>,
    ) -> Result<(String, i64), AwsError> {
        let data = launch_data(version);
        match template_id {
            None => {
                self.create_template(name, version, data, template_tags)
                    .await
            }
            Some(id) => self.add_version(id, version, data).await,
        }
    }

    /// Creates launch template `name` with `data` as its first version.
    async fn create_template(
        &self,
        name: &str,
        version: &LaunchVersion,
        data: RequestLaunchTemplateData,
        template_tags: &BTreeMap<String, String>,
    ) -> Result<(String, i64), AwsError> {
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
            Err(e) if e.code() == Some("InvalidLaunchTemplateName.AlreadyExistsException") => {
                let found =
                    describe_launch_templates(self, vec![filter("launch-template-name", [name])])
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

    /// Adds `data` as a new version of launch template `id`.
    async fn add_version(
        &self,
        id: &str,
        version: &LaunchVersion,
        data: RequestLaunchTemplateData,
    ) -> Result<(String, i64), AwsError> {
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

    /// Makes `version` the default version of launch template `template_id`.
    pub async fn set_default_version(
        &self,
        template_id: &str,
        version: i64,
    ) -> Result<(), AwsError> {
        while_lagging(|| self.set_default_version_once(template_id, version)).await
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
}

/// The launch template data of `version`.
fn launch_data(version: &LaunchVersion) -> RequestLaunchTemplateData {
    RequestLaunchTemplateData::builder()
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
        .build()
}
