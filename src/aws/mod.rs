//! The only module that talks to AWS: SDK configuration (and, later, observe and apply).

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Where to reach AWS: the standard chain, optionally overridden.
#[derive(Clone, Debug, Default)]
pub struct Endpoint {
    /// A custom endpoint (`--endpoint-url` / `AWS_ENDPOINT_URL`), e.g. a local moto server.
    pub url: Option<String>,
    /// The region (`AWS_REGION` or the stack's).
    pub region: Option<String>,
}

/// Loads the SDK configuration the way the AWS CLI does, with `endpoint`'s overrides.
pub async fn sdk_config(endpoint: &Endpoint) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(url) = &endpoint.url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &endpoint.region {
        loader = loader.region(Region::new(region.clone()));
    }
    loader.load().await
}

/// An S3 client; path-style addressing when a custom endpoint is set, since local
/// endpoints do not serve bucket subdomains.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = config.endpoint_url().is_some();
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// An EC2 client.
pub fn ec2_client(config: &SdkConfig) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(config)
}
