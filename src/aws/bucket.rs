//! The state bucket's settings: versioned, encrypted by default, with every public
//! access block on. Read by `plan` and `apply` (a warning), made and fixed by
//! `bootstrap`.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
    VersioningConfiguration,
};

use super::{Aws, AwsError};

/// A setting the state bucket lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BucketGap {
    /// Versioning is not enabled: an overwritten history entry or lock is lost.
    Unversioned,
    /// No default encryption.
    Unencrypted,
    /// Not every public access block is on.
    NotPrivate,
}

impl BucketGap {
    /// What is missing, in words.
    pub fn describe(self) -> &'static str {
        match self {
            BucketGap::Unversioned => "versioning is not enabled",
            BucketGap::Unencrypted => "it has no default encryption",
            BucketGap::NotPrivate => "not all four public access blocks are on",
        }
    }
}

impl Aws {
    /// Whether `bucket` exists (and is reachable with these credentials).
    pub async fn bucket_exists(&self, bucket: &str) -> Result<bool, AwsError> {
        match self.check_bucket(bucket).await {
            Ok(()) => Ok(true),
            Err(AwsError::NoStateBucket { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The settings `bucket` lacks.
    pub async fn bucket_gaps(&self, bucket: &str) -> Result<Vec<BucketGap>, AwsError> {
        let mut gaps = Vec::new();
        let versioning = self
            .s3
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| self.error("GetBucketVersioning", e))?;
        if versioning.status() != Some(&BucketVersioningStatus::Enabled) {
            gaps.push(BucketGap::Unversioned);
        }
        match self.s3.get_bucket_encryption().bucket(bucket).send().await {
            Ok(found)
                if found
                    .server_side_encryption_configuration()
                    .is_some_and(|c| !c.rules().is_empty()) => {}
            Ok(_) => gaps.push(BucketGap::Unencrypted),
            Err(e) if no_such_configuration(&e) => gaps.push(BucketGap::Unencrypted),
            Err(e) => return Err(self.error("GetBucketEncryption", e)),
        }
        match self
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(found) => {
                let all_on = found.public_access_block_configuration().is_some_and(|c| {
                    [
                        c.block_public_acls(),
                        c.ignore_public_acls(),
                        c.block_public_policy(),
                        c.restrict_public_buckets(),
                    ]
                    .iter()
                    .all(|b| *b == Some(true))
                });
                if !all_on {
                    gaps.push(BucketGap::NotPrivate);
                }
            }
            Err(e) if no_such_configuration(&e) => gaps.push(BucketGap::NotPrivate),
            Err(e) => return Err(self.error("GetPublicAccessBlock", e)),
        }
        Ok(gaps)
    }

    /// Creates `bucket` in `region`, tagged with `tags`.
    pub async fn create_bucket(
        &self,
        bucket: &str,
        region: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let mut request = self.s3.create_bucket().bucket(bucket);
        // us-east-1 is the one region that takes no location constraint.
        if region != "us-east-1" {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match request
            .send()
            .await
            .map_err(|e| self.error("CreateBucket", e))
        {
            Ok(_) => {}
            // A retry after a lost answer finds the bucket it made.
            Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => {}
            Err(e) => return Err(e),
        }
        let tag_set = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| AwsError::Request {
                operation: "PutBucketTagging",
                source,
            })?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(tag_set))
            .build()
            .map_err(|source| AwsError::Request {
                operation: "PutBucketTagging",
                source,
            })?;
        self.s3
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging)
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("PutBucketTagging", e))
    }

    /// Sets what `gap` says `bucket` lacks.
    pub async fn close_gap(&self, bucket: &str, gap: BucketGap) -> Result<(), AwsError> {
        match gap {
            BucketGap::Unversioned => self
                .s3
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .map(drop)
                .map_err(|e| self.error("PutBucketVersioning", e)),
            BucketGap::Unencrypted => {
                let default = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .map_err(|source| AwsError::Request {
                        operation: "PutBucketEncryption",
                        source,
                    })?;
                let configuration = ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(default)
                            .build(),
                    )
                    .build()
                    .map_err(|source| AwsError::Request {
                        operation: "PutBucketEncryption",
                        source,
                    })?;
                self.s3
                    .put_bucket_encryption()
                    .bucket(bucket)
                    .server_side_encryption_configuration(configuration)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| self.error("PutBucketEncryption", e))
            }
            BucketGap::NotPrivate => self
                .s3
                .put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .ignore_public_acls(true)
                        .block_public_policy(true)
                        .restrict_public_buckets(true)
                        .build(),
                )
                .send()
                .await
                .map(drop)
                .map_err(|e| self.error("PutPublicAccessBlock", e)),
        }
    }
}

/// Whether an S3 error says the bucket has no such configuration (none was ever set).
fn no_such_configuration<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> bool {
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| {
            matches!(
                code,
                "ServerSideEncryptionConfigurationNotFoundError"
                    | "NoSuchPublicAccessBlockConfiguration"
            )
        })
}
