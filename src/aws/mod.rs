//! The only module that talks to AWS: clients (retries, timeouts), errors as sentences,
//! call statistics, and the batched reads that observe a stack.

mod autoscaling;
mod bucket;
mod budget;
mod cloudformation;
mod cloudfront;
mod connect;
mod ec2;
mod environments;
mod error;
mod iam;
mod identity;
mod jobs;
mod launch_template;
mod observe;
pub mod operations;
mod patience;
mod route53;
mod site;
mod state;
mod stats;
mod traffic;

pub use autoscaling::AutoScalingSettings;
pub use bucket::BucketGap;
pub use cloudformation::{
    ChangeSetKind, ChangeSetRequest, ChangeSetState, CreatedChangeSet, StackEvent, StackState,
};
pub use connect::{Connection, DEFAULT_MAX_ATTEMPTS, Reach, Timeouts};
pub use ec2::{Batch, CONSISTENCY_WAIT};
pub use error::{AwsError, NO_CAPACITY};
pub use jobs::JobLaunch;
pub use launch_template::LaunchVersion;
pub use observe::published::read as published_outputs;
pub use observe::{Activity, observe};
pub use patience::Patience;
pub use site::{SiteObject, Uploaded};
pub use state::{Condition, Listed, Stored, Written};
pub use stats::{CallStats, OperationStats};

/// Clients for one region, all counting their calls into one [`CallStats`].
#[derive(Clone, Debug)]
pub struct Aws {
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) cloudformation: aws_sdk_cloudformation::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub(crate) cloudwatch: aws_sdk_cloudwatch::Client,
    pub(crate) autoscaling: aws_sdk_autoscaling::Client,
    pub(crate) sts: aws_sdk_sts::Client,
    pub(crate) route53: aws_sdk_route53::Client,
    pub(crate) ecr: aws_sdk_ecr::Client,
    pub(crate) cloudfront: aws_sdk_cloudfront::Client,
    stats: CallStats,
    /// Where calls go: the custom endpoint, or `None` for AWS's own in `region`.
    endpoint_url: Option<String>,
    region: String,
    /// The region the environment or profile names, and where from (see
    /// [`Aws::other_configured_region`]).
    configured_region: Option<(String, String)>,
}

impl Aws {
    /// The calls made so far.
    pub fn stats(&self) -> &CallStats {
        &self.stats
    }

    /// The endpoint `operation` is sent to, as a reader knows it.
    pub fn endpoint(&self, operation: &str) -> String {
        match &self.endpoint_url {
            Some(url) => format!("`{url}`"),
            None => format!(
                "`{}`",
                operations::find(operation)
                    .map_or(operations::Service::Ec2, |o| o.service)
                    .endpoint(&self.region)
            ),
        }
    }

    /// `error` of `operation`, as a sentence naming the endpoint.
    pub(crate) fn error<E>(
        &self,
        operation: &'static str,
        error: aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> AwsError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        let mut error = AwsError::from_sdk(operation, &self.endpoint(operation), error);
        if let AwsError::Timeout {
            last: last @ None, ..
        } = &mut error
        {
            *last = self.stats.last_failure(operation);
        }
        error
    }
}

#[cfg(test)]
mod tests {
    /// The instance types the stack file accepts are the SDK's: a list no one writes by
    /// hand. `UPDATE_INSTANCE_TYPES=1` writes the SDK's list in its place.
    #[test]
    fn instance_types_are_the_sdks() {
        let sdk = aws_sdk_ec2::types::InstanceType::values();
        if crate::load::raw::instance_types() == sdk {
            return;
        }
        if std::env::var_os("UPDATE_INSTANCE_TYPES").is_some() {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src/load/raw/instance_types.txt");
            std::fs::write(path, sdk.join("\n") + "\n").unwrap();
            return;
        }
        panic!(
            "the AWS SDK knows other instance types: run `UPDATE_INSTANCE_TYPES=1 cargo test --lib instance_types`"
        );
    }
}
