//! The only module that talks to AWS: clients, call statistics, and the batched reads
//! that observe a stack.

mod cloudformation;
mod ec2;
mod environments;
mod observe;
mod state;
mod stats;

use aws_config::{BehaviorVersion, Region, SdkConfig};

pub use cloudformation::{
    ChangeSetKind, ChangeSetRequest, ChangeSetState, CreatedChangeSet, StackEvent, StackState,
};
pub use ec2::{Batch, LaunchVersion};
pub use observe::observe;
pub use state::{Condition, Listed, Stored, Written};
pub use stats::{CallStats, OperationStats};

/// How to reach AWS, from the command line and the standard environment variables.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// `--endpoint-url`; `AWS_ENDPOINT_URL` is read by the SDK itself when this is unset.
    pub endpoint_url: Option<String>,
    /// The stack file's region.
    pub region: String,
}

/// Clients for one region, all counting their calls into one [`CallStats`].
#[derive(Clone, Debug)]
pub struct Aws {
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) cloudformation: aws_sdk_cloudformation::Client,
    stats: CallStats,
}

impl Aws {
    /// Loads credentials and configuration (`AWS_PROFILE`, `AWS_ENDPOINT_URL`, ...) as the
    /// AWS CLI does, for the stack's region.
    pub async fn connect(connection: &Connection) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(connection.region.clone()));
        if let Some(url) = &connection.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Aws::from_config(&loader.load().await)
    }

    /// Clients built from an SDK configuration.
    pub fn from_config(config: &SdkConfig) -> Aws {
        let stats = CallStats::default();
        // Local endpoints do not serve bucket subdomains.
        let path_style = config.endpoint_url().is_some();
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .interceptor(stats.interceptor())
            .build();
        let ec2 = aws_sdk_ec2::config::Builder::from(config)
            .interceptor(stats.interceptor())
            .build();
        let cloudformation = aws_sdk_cloudformation::config::Builder::from(config)
            .interceptor(stats.interceptor())
            .build();
        Aws {
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            s3: aws_sdk_s3::Client::from_conf(s3),
            cloudformation: aws_sdk_cloudformation::Client::from_conf(cloudformation),
            stats,
        }
    }

    /// The calls made so far.
    pub fn stats(&self) -> &CallStats {
        &self.stats
    }
}

/// A failed AWS call.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The call was refused or could not be made.
    #[error("AWS call `{operation}` failed: {message}")]
    Call {
        /// Operation name (`DescribeInstances`).
        operation: &'static str,
        /// The SDK's error, with its context.
        message: String,
    },
    /// AWS answered, refusing the request (a CloudFormation `ValidationError`, ...).
    #[error("`{operation}` refused: {code}: {message}")]
    Refused {
        /// Operation name (`CreateChangeSet`).
        operation: &'static str,
        /// AWS error code (`ValidationError`).
        code: String,
        /// AWS's message.
        message: String,
    },
    /// The state bucket does not exist.
    #[error("state bucket `{bucket}` does not exist")]
    NoStateBucket {
        /// The bucket.
        bucket: String,
    },
}

impl AwsError {
    /// Wraps an SDK error from `operation`.
    pub(crate) fn call(operation: &'static str, error: impl std::error::Error) -> AwsError {
        AwsError::Call {
            operation,
            message: aws_sdk_ec2::error::DisplayErrorContext(error).to_string(),
        }
    }

    /// Wraps an SDK error from `operation`; a refusal AWS explains is kept to its code
    /// and message, which is what a reader needs.
    pub(crate) fn from_sdk<E>(operation: &'static str, error: E) -> AwsError
    where
        E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata,
    {
        match (error.code(), error.message()) {
            (Some(code), Some(message)) => AwsError::Refused {
                operation,
                code: code.to_owned(),
                message: message.to_owned(),
            },
            _ => AwsError::call(operation, error),
        }
    }

    /// What to check next.
    pub fn hint(&self) -> String {
        match self {
            AwsError::NoStateBucket { bucket } => format!(
                "create it once per account (`aws s3 mb s3://{bucket}`), or set `state_bucket` to an existing bucket"
            ),
            AwsError::Refused { .. } => {
                "AWS refused the request as made: the message above says why".to_owned()
            }
            AwsError::Call { .. } => {
                "check credentials (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`), the region, and \
         `--endpoint-url`/`AWS_ENDPOINT_URL` when using a local endpoint"
                    .to_owned()
            }
        }
    }
}
