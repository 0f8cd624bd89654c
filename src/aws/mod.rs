//! The only module that talks to AWS: SDK clients (observe and apply join it with `plan`).

use aws_config::SdkConfig;

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
