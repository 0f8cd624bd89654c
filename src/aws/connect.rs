//! Connecting: credentials, profile and endpoint found as the AWS CLI finds them; retries
//! and timeouts set on purpose, for a shared and throttled control plane.

use std::time::Duration;

use aws_config::profile::ProfileSet;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_sdk_ec2::config::retry::{RetryConfig, RetryMode, RetryPartition, TokenBucket};
use aws_sdk_ec2::config::timeout::TimeoutConfig;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::operation::run_instances::RunInstancesError;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_types::os_shim_internal::{Env, Fs};

use super::{Aws, AwsError, CallStats};

/// Attempts per call (the first and 9 retries) unless `AWS_MAX_ATTEMPTS` or the profile's
/// `max_attempts` says otherwise. The SDK's own default, 3, gives up on an account where
/// several teams deploy at once; with exponential backoff capped at 20 s, 10 attempts
/// ride out a minute and a half of throttling per call.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// How long calls may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// To open a connection.
    pub connect: Duration,
    /// One attempt, from sending to the whole answer read.
    pub attempt: Duration,
    /// One call, all its attempts and the waits between them: a silent endpoint fails
    /// in this time.
    pub call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            // A page of 1,000 instances takes seconds; 30 s leaves a wide margin.
            attempt: Duration::from_secs(30),
            // Under two minutes, with room for three silent attempts.
            call: Duration::from_secs(100),
        }
    }
}

/// How to reach AWS, from the command line: the same for every region.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    /// `--endpoint-url`; `AWS_ENDPOINT_URL` is read by the SDK itself when this is unset.
    pub endpoint_url: Option<String>,
    /// Timeouts of every call.
    pub timeouts: Timeouts,
    /// rollstack's share of EC2's request buckets (`--request-share`, 0 to 1); `None`:
    /// [`super::budget::DEFAULT_SHARE`].
    pub request_share: Option<f64>,
}

impl Reach {
    /// The connection to `region`.
    pub fn to(&self, region: &str) -> Connection {
        Connection {
            endpoint_url: self.endpoint_url.clone(),
            region: region.to_owned(),
            timeouts: self.timeouts,
            request_share: self.request_share.unwrap_or(super::budget::DEFAULT_SHARE),
        }
    }
}

/// How to reach AWS, from the command line and the standard environment variables.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// `--endpoint-url`; `AWS_ENDPOINT_URL` is read by the SDK itself when this is unset.
    pub endpoint_url: Option<String>,
    /// The stack file's region.
    pub region: String,
    /// Timeouts of every call.
    pub timeouts: Timeouts,
    /// rollstack's share of EC2's request buckets (0 to 1).
    pub request_share: f64,
}

impl Aws {
    /// Loads credentials and configuration (`AWS_PROFILE`, `AWS_ENDPOINT_URL`,
    /// `AWS_MAX_ATTEMPTS`, ...) as the AWS CLI does, for the stack's region.
    pub async fn connect(connection: &Connection) -> Result<Aws, AwsError> {
        let env = Env::real();
        let profiles =
            aws_config::profile::load(&Fs::real(), &env, &EnvConfigFiles::default(), None)
                .await
                .ok();
        check_profile(&env, profiles.as_ref())?;
        let timeouts = connection.timeouts;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(connection.region.clone()))
            .retry_config(retry_config(&env, profiles.as_ref())?)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(timeouts.connect)
                    .operation_attempt_timeout(timeouts.attempt)
                    .operation_timeout(timeouts.call)
                    .build(),
            );
        if let Some(url) = &connection.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let mut aws = Aws::from_config(
            &loader.load().await,
            &connection.region,
            connection.request_share,
        );
        aws.configured_region = configured_region(&env, profiles.as_ref());
        Ok(aws)
    }

    /// Clients built from an SDK configuration; EC2 calls keep to `request_share` of
    /// EC2's request buckets.
    pub fn from_config(config: &SdkConfig, region: &str, request_share: f64) -> Aws {
        let stats = CallStats::default();
        // Local endpoints do not serve bucket subdomains.
        let path_style = config.endpoint_url().is_some();
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .retry_partition(partition("rollstack-s3"))
            .interceptor(stats.interceptor())
            .build();
        let ec2 = aws_sdk_ec2::config::Builder::from(config)
            .http_client(super::budget::Budgeted {
                inner: config
                    .http_client()
                    .unwrap_or_else(super::budget::https_client),
                budget: std::sync::Arc::new(super::budget::Budget::new(request_share)),
                stats: stats.clone(),
            })
            // A call waiting for its turn in the budget sends nothing yet: not a stall.
            .stalled_stream_protection(
                aws_sdk_ec2::config::StalledStreamProtectionConfig::disabled(),
            )
            .retry_partition(partition("rollstack-ec2"))
            .retry_classifier(NoCapacityIsFinal)
            .interceptor(stats.interceptor())
            .build();
        let cloudformation = aws_sdk_cloudformation::config::Builder::from(config)
            .retry_partition(partition("rollstack-cloudformation"))
            .interceptor(stats.interceptor())
            .build();
        let iam = aws_sdk_iam::config::Builder::from(config)
            .retry_partition(partition("rollstack-iam"))
            .interceptor(stats.interceptor())
            .build();
        let elbv2 = aws_sdk_elasticloadbalancingv2::config::Builder::from(config)
            .retry_partition(partition("rollstack-elbv2"))
            .interceptor(stats.interceptor())
            .build();
        let sts = aws_sdk_sts::config::Builder::from(config)
            .retry_partition(partition("rollstack-sts"))
            .interceptor(stats.interceptor())
            .build();
        let route53 = aws_sdk_route53::config::Builder::from(config)
            .retry_partition(partition("rollstack-route53"))
            .interceptor(stats.interceptor())
            .build();
        let autoscaling = aws_sdk_autoscaling::config::Builder::from(config)
            .retry_partition(partition("rollstack-autoscaling"))
            .interceptor(stats.interceptor())
            .build();
        let ecr = aws_sdk_ecr::config::Builder::from(config)
            .retry_partition(partition("rollstack-ecr"))
            .interceptor(stats.interceptor())
            .build();
        let cloudfront = aws_sdk_cloudfront::config::Builder::from(config)
            .retry_partition(partition("rollstack-cloudfront"))
            .interceptor(stats.interceptor())
            .build();
        let cloudwatch = aws_sdk_cloudwatch::config::Builder::from(config)
            .retry_partition(partition("rollstack-cloudwatch"))
            .interceptor(stats.interceptor())
            .build();
        Aws {
            iam: aws_sdk_iam::Client::from_conf(iam),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::from_conf(elbv2),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch),
            autoscaling: aws_sdk_autoscaling::Client::from_conf(autoscaling),
            sts: aws_sdk_sts::Client::from_conf(sts),
            route53: aws_sdk_route53::Client::from_conf(route53),
            ecr: aws_sdk_ecr::Client::from_conf(ecr),
            cloudfront: aws_sdk_cloudfront::Client::from_conf(cloudfront),
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            s3: aws_sdk_s3::Client::from_conf(s3),
            cloudformation: aws_sdk_cloudformation::Client::from_conf(cloudformation),
            stats,
            endpoint_url: config.endpoint_url().map(str::to_owned),
            region: region.to_owned(),
            configured_region: None,
        }
    }
}

/// The region `AWS_REGION` (or `AWS_DEFAULT_REGION`, or the selected profile's
/// `region`) names, and which of them named it: what the AWS CLI would use. rollstack
/// uses the stack file's instead.
fn configured_region(env: &Env, profiles: Option<&ProfileSet>) -> Option<(String, String)> {
    for variable in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Ok(region) = env.get(variable)
            && !region.trim().is_empty()
        {
            return Some((region.trim().to_owned(), format!("`{variable}`")));
        }
    }
    let profiles = profiles?;
    let name = profiles.selected_profile();
    let region = profiles.get_profile(name)?.get("region")?;
    Some((region.to_owned(), format!("profile `{name}`")))
}

/// A retry partition without the SDK's retry quota: that quota protects a service from
/// a fleet of clients retrying at once, and under steady throttling it runs dry within
/// a few hundred calls, after which every throttled call fails at once. One rollstack
/// run is one client; its retries are bounded by the attempts and the call timeout.
fn partition(name: &'static str) -> RetryPartition {
    RetryPartition::custom(name)
        .token_bucket(TokenBucket::unlimited())
        .build()
}

/// The retry settings: the user's (`AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE`, or the profile's
/// `max_attempts`/`retry_mode`), else standard mode with [`DEFAULT_MAX_ATTEMPTS`].
fn retry_config(env: &Env, profiles: Option<&ProfileSet>) -> Result<RetryConfig, AwsError> {
    let setting = |variable: &str, key: &str| {
        env.get(variable)
            .ok()
            .or_else(|| profiles?.get(key).map(str::to_owned))
    };
    let attempts = match setting("AWS_MAX_ATTEMPTS", "max_attempts") {
        None => DEFAULT_MAX_ATTEMPTS,
        Some(text) => match text.trim().parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(AwsError::RetrySettings(format!(
                    "max attempts `{text}` is not a whole number of at least 1"
                )));
            }
        },
    };
    let mode = match setting("AWS_RETRY_MODE", "retry_mode") {
        None => RetryMode::Standard,
        Some(text) => text
            .trim()
            .parse::<RetryMode>()
            .map_err(|_| AwsError::RetrySettings(format!("unknown retry mode `{text}`")))?,
    };
    Ok(RetryConfig::standard()
        .with_retry_mode(mode)
        .with_max_attempts(attempts))
}

/// A profile named by `AWS_PROFILE` must exist, unless credentials come from the
/// environment anyway; the SDK's own message for a missing one names no profile.
fn check_profile(env: &Env, profiles: Option<&ProfileSet>) -> Result<(), AwsError> {
    let Ok(profile) = env.get("AWS_PROFILE") else {
        return Ok(());
    };
    if env.get("AWS_ACCESS_KEY_ID").is_ok() {
        return Ok(());
    }
    match profiles {
        Some(set) if set.get_profile(&profile).is_none() => {
            Err(AwsError::UnknownProfile { profile })
        }
        _ => Ok(()),
    }
}

/// The profile `name` would select, for tests of the checks above.
#[cfg(test)]
async fn profiles_from(config: &str) -> ProfileSet {
    let fs = Fs::from_slice(&[("config", config)]);
    let env = Env::from_slice(&[("AWS_CONFIG_FILE", "config")]);
    aws_config::profile::load(&fs, &env, &EnvConfigFiles::default(), None)
        .await
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_configured_region_comes_from_the_environment_then_the_profile() {
        let profiles = profiles_from("[default]\nregion = eu-west-1\n").await;
        let from =
            |vars: &[(&str, &str)]| configured_region(&Env::from_slice(vars), Some(&profiles));
        assert_eq!(
            from(&[("AWS_REGION", "us-west-2")]),
            Some(("us-west-2".to_owned(), "`AWS_REGION`".to_owned()))
        );
        assert_eq!(
            from(&[]),
            Some(("eu-west-1".to_owned(), "profile `default`".to_owned()))
        );
        assert_eq!(configured_region(&Env::from_slice(&[]), None), None);
    }

    #[tokio::test]
    async fn retries_default_to_ten_attempts_and_follow_the_users_settings() {
        let empty = profiles_from("").await;
        let config = |vars: &[(&str, &str)], profiles: &ProfileSet| {
            retry_config(&Env::from_slice(vars), Some(profiles))
        };
        let default = config(&[], &empty).unwrap();
        assert_eq!(default.max_attempts(), DEFAULT_MAX_ATTEMPTS);
        assert_eq!(default.mode(), RetryMode::Standard);
        let from_env = config(
            &[("AWS_MAX_ATTEMPTS", "3"), ("AWS_RETRY_MODE", "adaptive")],
            &empty,
        )
        .unwrap();
        assert_eq!(from_env.max_attempts(), 3);
        assert_eq!(from_env.mode(), RetryMode::Adaptive);
        let profile = profiles_from("[default]\nmax_attempts = 25\n").await;
        assert_eq!(config(&[], &profile).unwrap().max_attempts(), 25);
        assert!(config(&[("AWS_MAX_ATTEMPTS", "0")], &empty).is_err());
        assert!(config(&[("AWS_RETRY_MODE", "eager")], &empty).is_err());
    }

    #[tokio::test]
    async fn a_missing_profile_is_named_unless_keys_are_in_the_environment() {
        let profiles = profiles_from("[profile ci]\nregion = us-east-1\n").await;
        let check = |vars: &[(&str, &str)]| check_profile(&Env::from_slice(vars), Some(&profiles));
        assert!(check(&[("AWS_PROFILE", "ci")]).is_ok());
        assert!(matches!(
            check(&[("AWS_PROFILE", "prod")]),
            Err(AwsError::UnknownProfile { profile }) if profile == "prod"
        ));
        assert!(check(&[("AWS_PROFILE", "prod"), ("AWS_ACCESS_KEY_ID", "x")]).is_ok());
    }

    #[test]
    fn a_silent_endpoint_fails_within_two_minutes_by_default() {
        assert!(Timeouts::default().call < Duration::from_secs(120));
        assert!(Timeouts::default().attempt < Timeouts::default().call);
    }
}

/// `InsufficientInstanceCapacity` is answered as a server error, which the SDK would
/// retry in the same zone for every attempt; it is final for the call, and the launch
/// moves to the group's other subnets instead.
#[derive(Debug)]
struct NoCapacityIsFinal;

impl ClassifyRetry for NoCapacityIsFinal {
    fn classify_retry(&self, context: &InterceptorContext) -> RetryAction {
        let code = match context.output_or_error() {
            Some(Err(error)) => error
                .as_operation_error()
                .and_then(|e| e.downcast_ref::<RunInstancesError>())
                .and_then(|e| e.code()),
            _ => None,
        };
        if code == Some(super::NO_CAPACITY) {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "NoCapacityIsFinal"
    }
}
