//! AWS errors as sentences: the operation, what AWS (or the network) said, the endpoint,
//! and a hint. The only place an SDK error is looked into; nothing prints an SDK type.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What an SDK error was caused by, kept as the `source` of an [`AwsError`] for whoever
/// walks the chain (`tracing`, a debugger); its text is already in the sentence.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A failed AWS call.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// AWS answered, refusing the call.
    #[error("`{operation}` failed: {code}: {message}")]
    Refused {
        /// Operation name (`DescribeInstances`).
        operation: &'static str,
        /// AWS error code (`UnauthorizedOperation`).
        code: String,
        /// AWS's message.
        message: String,
        /// The SDK's error.
        #[source]
        source: Option<Cause>,
    },
    /// No answer came in time, through every attempt.
    #[error("`{operation}` got no answer from {endpoint} in time{}", .last.as_ref().map(|l| format!(" (its last attempt: {l})")).unwrap_or_default())]
    Timeout {
        /// Operation name.
        operation: &'static str,
        /// The endpoint asked.
        endpoint: String,
        /// What the last failed attempt met, when known (`connection refused`).
        last: Option<String>,
        /// The SDK's error.
        #[source]
        source: Option<Cause>,
    },
    /// The endpoint could not be reached, or its answer broke off.
    #[error("`{operation}` could not reach {endpoint}: {cause}")]
    Unreachable {
        /// Operation name.
        operation: &'static str,
        /// The endpoint asked.
        endpoint: String,
        /// What the network said (`connection refused`).
        cause: String,
        /// The SDK's error.
        #[source]
        source: Option<Cause>,
    },
    /// The endpoint answered with something that is not an AWS answer (an HTML error
    /// page from a proxy, ...).
    #[error("`{operation}` got HTTP {status} from {endpoint}, which is not an AWS answer")]
    NotAws {
        /// Operation name.
        operation: &'static str,
        /// The endpoint asked.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The SDK's error.
        #[source]
        source: Option<Cause>,
    },
    /// The call could not be signed: no credentials.
    #[error("`{operation}` was not sent: no AWS credentials were found ({detail})")]
    NoCredentials {
        /// Operation name.
        operation: &'static str,
        /// Where the credential chain looked, as it says it.
        detail: String,
        /// The SDK's error.
        #[source]
        source: Option<Cause>,
    },
    /// The SDK failed the call in a way none of the above describes.
    #[error("`{operation}` failed: {message}")]
    Sdk {
        /// Operation name.
        operation: &'static str,
        /// The innermost cause, as it says it.
        message: String,
        /// The SDK's error.
        #[source]
        source: Cause,
    },
    /// The request could not be built from what rollstack gave the SDK.
    #[error("`{operation}` was not sent: its request is invalid ({source})")]
    Request {
        /// Operation name.
        operation: &'static str,
        /// The SDK builder's error.
        #[source]
        source: aws_smithy_types::error::operation::BuildError,
    },
    /// A rule names a security group that has no id (it was neither observed nor created
    /// by this apply).
    #[error("`{operation}` was not sent: security group `{group}` has no id yet")]
    UnknownSecurityGroup {
        /// Operation name.
        operation: &'static str,
        /// The group's name in the stack file.
        group: String,
    },
    /// The shared AWS configuration names a profile that does not exist.
    #[error("AWS profile `{profile}` is not in the shared config or credentials files")]
    UnknownProfile {
        /// The profile (`AWS_PROFILE`).
        profile: String,
    },
    /// The retry settings of the environment or profile cannot be used.
    #[error("AWS retry settings: {0}")]
    RetrySettings(String),
    /// AWS answered without something it always sends.
    #[error("`{operation}` answered without {missing}")]
    Incomplete {
        /// Operation name.
        operation: &'static str,
        /// What is missing (`an instance's `InstanceId``).
        missing: &'static str,
    },
    /// The endpoint refused a conditional delete as something it does not implement.
    #[error("{endpoint} does not support conditional deletes (`DeleteObject` with `If-Match`)")]
    ConditionalDeleteUnsupported {
        /// The endpoint asked.
        endpoint: String,
        /// The SDK's error.
        #[source]
        source: Option<Cause>,
    },
    /// The state bucket does not exist.
    #[error("state bucket `{bucket}` does not exist")]
    NoStateBucket {
        /// The bucket.
        bucket: String,
    },
}

impl AwsError {
    /// The error of `operation` sent to `endpoint`, from the SDK's.
    pub(crate) fn from_sdk<E>(
        operation: &'static str,
        endpoint: &str,
        error: SdkError<E, HttpResponse>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let endpoint = endpoint.to_owned();
        let cause = innermost(&error);
        let kind = match &error {
            SdkError::ServiceError(service) => match service.err().code() {
                Some(code) => AwsError::Refused {
                    operation,
                    code: code.to_owned(),
                    message: service.err().message().unwrap_or("(no message)").to_owned(),
                    source: None,
                },
                None => AwsError::NotAws {
                    operation,
                    endpoint,
                    status: service.raw().status().as_u16(),
                    source: None,
                },
            },
            SdkError::TimeoutError(_) => AwsError::Timeout {
                operation,
                endpoint,
                last: None,
                source: None,
            },
            SdkError::DispatchFailure(failure) if failure.is_timeout() => AwsError::Timeout {
                operation,
                endpoint,
                last: None,
                source: None,
            },
            // The credential chain's last link is the instance metadata service, so "no
            // credentials" anywhere can end as an IMDS error.
            SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
                if cause.contains("credential") || cause.contains("IMDS") =>
            {
                AwsError::NoCredentials {
                    operation,
                    detail: cause,
                    source: None,
                }
            }
            SdkError::DispatchFailure(_) => AwsError::Unreachable {
                operation,
                endpoint,
                cause,
                source: None,
            },
            SdkError::ResponseError(response) => AwsError::NotAws {
                operation,
                endpoint,
                status: response.raw().status().as_u16(),
                source: None,
            },
            _ => {
                return AwsError::Sdk {
                    operation,
                    message: cause,
                    source: Box::new(error),
                };
            }
        };
        kind.caused_by(Box::new(error))
    }

    /// This error, with `cause` as its source (where the variant keeps one).
    pub(crate) fn caused_by(mut self, cause: Cause) -> AwsError {
        match &mut self {
            AwsError::Refused { source, .. }
            | AwsError::Timeout { source, .. }
            | AwsError::Unreachable { source, .. }
            | AwsError::NotAws { source, .. }
            | AwsError::NoCredentials { source, .. }
            | AwsError::ConditionalDeleteUnsupported { source, .. } => *source = Some(cause),
            _ => {}
        }
        self
    }

    /// Whether the problem passes by itself (throttling, a timeout, a 5xx, a lost
    /// connection): worth trying again later, where an access denial is not.
    pub fn is_passing(&self) -> bool {
        match self {
            AwsError::Timeout { .. } | AwsError::Unreachable { .. } => true,
            AwsError::NotAws { status, .. } => *status >= 500 || *status == 429,
            AwsError::Refused { code, .. } => PASSING_CODES.contains(&code.as_str()),
            _ => false,
        }
    }

    /// The AWS error code, when AWS refused the call.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the bucket asked about does not exist (a site's bucket deleted already
    /// holds nothing to delete).
    pub fn is_no_such_bucket(&self) -> bool {
        self.code() == Some("NoSuchBucket")
    }

    /// What to check next.
    pub fn hint(&self) -> String {
        match self {
            AwsError::NoStateBucket { bucket } => format!(
                "create it with `rollstack bootstrap` and this stack file (versioned, encrypted, private), or set `state_bucket` to an existing bucket (`{bucket}` is not one)"
            ),
            AwsError::Refused {
                operation, code, ..
            } => refusal_hint(operation, code),
            AwsError::ConditionalDeleteUnsupported { .. } => {
                "keep the state bucket in S3, which supports `If-Match` on `DeleteObject` in general purpose buckets since September 2025, or in an S3-compatible store that does".to_owned()
            }
            AwsError::Timeout { last: Some(last), .. } if last.contains("refused") => {
                "nothing answers there: check the network, and `--endpoint-url`/`AWS_ENDPOINT_URL` when using a local endpoint".to_owned()
            }
            AwsError::Timeout { .. } => {
                "the endpoint is slow or silent; check the network, or allow more time with `--attempt-timeout` and `--call-timeout`".to_owned()
            }
            AwsError::Unreachable { .. } => {
                "check the network, and `--endpoint-url`/`AWS_ENDPOINT_URL` when using a local endpoint".to_owned()
            }
            AwsError::NotAws { .. } => {
                "something between rollstack and AWS (a proxy, a local endpoint) answered instead of AWS; check `--endpoint-url`/`AWS_ENDPOINT_URL` and any HTTPS proxy settings".to_owned()
            }
            AwsError::NoCredentials { .. } => {
                "set `AWS_PROFILE` to a configured profile, or `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`; `aws sts get-caller-identity` shows what the AWS CLI finds".to_owned()
            }
            AwsError::UnknownProfile { profile } => format!(
                "define `[profile {profile}]` in `~/.aws/config` (or `[{profile}]` in `~/.aws/credentials`), or set `AWS_PROFILE` to one of yours; `aws configure list-profiles` lists them"
            ),
            AwsError::RetrySettings(_) => {
                "`AWS_MAX_ATTEMPTS` (or `max_attempts` in the profile) is a whole number of at least 1; `AWS_RETRY_MODE` is `standard` or `adaptive`".to_owned()
            }
            AwsError::Sdk { .. } => {
                "the message above says what failed; run again to retry: every step is re-derived from AWS".to_owned()
            }
            AwsError::Request { .. } | AwsError::UnknownSecurityGroup { .. } => {
                "this is a bug in rollstack: please report it with the stack file".to_owned()
            }
            AwsError::Incomplete { .. } => {
                "AWS (or what answers in its place at `--endpoint-url`) sent an incomplete answer; run again, and if it repeats, report it".to_owned()
            }
        }
    }
}

/// Error codes of problems that pass by themselves.
const PASSING_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "SlowDown",
    "TooManyRequestsException",
    "RequestThrottled",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// `value`, which AWS always sends in its answer to `operation`; its absence is an
/// [`AwsError::Incomplete`] naming `what`.
pub(super) fn required<T>(
    value: Option<T>,
    operation: &'static str,
    what: &'static str,
) -> Result<T, AwsError> {
    value.ok_or(AwsError::Incomplete {
        operation,
        missing: what,
    })
}

/// What EC2 answers when a zone has no capacity for an instance type right now.
pub const NO_CAPACITY: &str = "InsufficientInstanceCapacity";

/// The hint for an error code AWS answered `operation` with.
fn refusal_hint(operation: &str, code: &str) -> String {
    match code {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "Forbidden"
        | "AllAccessDisabled" => format!(
            "the identity in use may not call `{}`: allow it in that identity's IAM policy (`aws sts get-caller-identity` shows which identity it is)",
            iam_action(operation)
        ),
        "RequestLimitExceeded" | "Throttling" | "ThrottlingException" | "SlowDown"
        | "TooManyRequestsException" | "RequestThrottled" => {
            "AWS throttled the call through every attempt; try again later, or allow more attempts with `AWS_MAX_ATTEMPTS`".to_owned()
        }
        "InvalidClientTokenId" | "SignatureDoesNotMatch" | "AuthFailure" | "InvalidAccessKeyId"
        | "UnrecognizedClientException" => {
            "the credentials are not valid for this account; check `AWS_PROFILE` or `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`".to_owned()
        }
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            "the credentials expired; log in again (`aws sso login`, or new session credentials)".to_owned()
        }
        NO_CAPACITY => {
            "AWS has none of this instance type left in the zones of the group's subnets right now; add subnets in other zones, choose another `instance_type`, or try again later".to_owned()
        }
        "OptInRequired" | "InvalidRegion" | "UnrecognizedRegion" => {
            "check the stack file's `region`: the account may not have it enabled".to_owned()
        }
        _ => "AWS refused the request as made: the message above says why".to_owned(),
    }
}

/// The IAM action `operation` needs (`ec2:DescribeInstances`, `s3:ListBucket`); an
/// operation missing from [`super::operations::OPERATIONS`] is named as itself.
fn iam_action(operation: &str) -> &str {
    super::operations::find(operation).map_or(operation, |o| o.action)
}

/// The innermost cause of `error`: what actually went wrong, without the SDK's wrapping.
pub(super) fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    let text = current.to_string();
    // Some causes only print their kind; the one above says more.
    if text.len() < 8 {
        aws_smithy_types::error::display::DisplayErrorContext(error).to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::operation::describe_instances::DescribeInstancesError;
    use std::error::Error as _;

    use super::*;

    #[test]
    fn the_sdk_error_stays_the_source_and_out_of_the_sentence() {
        let sdk: SdkError<DescribeInstancesError, HttpResponse> =
            SdkError::timeout_error(Box::new(std::io::Error::other("read timed out")));
        let error = AwsError::from_sdk("DescribeInstances", "`http://127.0.0.1:1`", sdk);
        assert_eq!(
            error.to_string(),
            "`DescribeInstances` got no answer from `http://127.0.0.1:1` in time"
        );
        let source = error.source().expect("the SDK error is kept as the source");
        assert!(
            source
                .downcast_ref::<SdkError<DescribeInstancesError, HttpResponse>>()
                .is_some()
        );
        assert!(error.is_passing());
    }
}
