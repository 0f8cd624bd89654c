//! A release job's instance: launched on its own (no launch template), found by its
//! run's tags.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    HttpTokensState, IamInstanceProfileSpecification, InstanceMetadataOptionsRequest,
    InstanceMetadataTagsState, ResourceType, ShutdownBehavior,
};

use super::ec2::{tag_spec, while_lagging};
use super::observe::{describe_instances_in, filter};
use super::{Aws, AwsError};
use crate::observe::{InstanceState, LiveInstance, tags};

/// What a job's instance is launched with.
#[derive(Clone, Debug)]
pub struct JobLaunch<'a> {
    /// AMI id.
    pub image_id: &'a str,
    /// Instance type.
    pub instance_type: &'a str,
    /// Subnet, or the default VPC's.
    pub subnet: Option<&'a str>,
    /// Security group ids.
    pub security_group_ids: Vec<String>,
    /// IAM instance profile (name or ARN).
    pub instance_profile: Option<&'a str>,
    /// User data (the job's wrapped script).
    pub user_data: &'a str,
    /// Whether IMDSv2 tokens are required.
    pub tokens_required: bool,
    /// The metadata response hop limit.
    pub hop_limit: u8,
    /// Tags set at launch (on the instance and its volumes).
    pub tags: &'a BTreeMap<String, String>,
    /// Idempotency token of the run's attempt.
    pub client_token: &'a str,
}

impl Aws {
    /// Launches one job instance that terminates when it shuts itself down; its id.
    pub async fn run_job_instance(&self, launch: &JobLaunch<'_>) -> Result<String, AwsError> {
        while_lagging(|| self.run_job_instance_once(launch)).await
    }

    async fn run_job_instance_once(&self, launch: &JobLaunch<'_>) -> Result<String, AwsError> {
        let profile = launch.instance_profile.map(|p| {
            let spec = IamInstanceProfileSpecification::builder();
            if p.starts_with("arn:") {
                spec.arn(p).build()
            } else {
                spec.name(p).build()
            }
        });
        let launched = self
            .ec2
            .run_instances()
            .image_id(launch.image_id)
            .instance_type(launch.instance_type.into())
            .min_count(1)
            .max_count(1)
            .set_subnet_id(launch.subnet.map(str::to_owned))
            .set_security_group_ids(Some(launch.security_group_ids.clone()))
            .set_iam_instance_profile(profile)
            .user_data(aws_smithy_types::base64::encode(launch.user_data))
            .instance_initiated_shutdown_behavior(ShutdownBehavior::Terminate)
            .metadata_options(
                InstanceMetadataOptionsRequest::builder()
                    .instance_metadata_tags(InstanceMetadataTagsState::Enabled)
                    .http_tokens(if launch.tokens_required {
                        HttpTokensState::Required
                    } else {
                        HttpTokensState::Optional
                    })
                    .http_put_response_hop_limit(launch.hop_limit.into())
                    .build(),
            )
            .client_token(launch.client_token)
            .tag_specifications(tag_spec(ResourceType::Instance, launch.tags))
            .tag_specifications(tag_spec(ResourceType::Volume, launch.tags))
            .send()
            .await
            .map_err(|e| self.error("RunInstances", e))?;
        launched
            .instances()
            .iter()
            .find_map(|i| i.instance_id().map(str::to_owned))
            .ok_or(AwsError::Incomplete {
                operation: "RunInstances",
                missing: "the instance's `InstanceId`",
            })
    }

    /// Every instance of job `job`'s run at `key` of `stack` / `env`, in any state (one
    /// that ended tells the run is over), oldest first.
    pub async fn job_instances(
        &self,
        (stack, env): (&str, &str),
        job: &str,
        key: &str,
    ) -> Result<Vec<LiveInstance>, AwsError> {
        let filters = vec![
            filter(&format!("tag:{}", tags::STACK), [stack]),
            filter(&format!("tag:{}", tags::ENV), [env]),
            filter(&format!("tag:{}", tags::RESOURCE), [format!("job.{job}")]),
            filter(&format!("tag:{}", tags::JOB_KEY), [key]),
        ];
        describe_instances_in(self, filters, &InstanceState::ALL).await
    }
}
