//! The file lists of a site's uploaded releases:
//! `s3://{state_bucket}/rollstack/{stack}/{env}/sites/{site}/{version}.json`, written once
//! every file of the release is in the site's bucket, deleted with the release. Plans
//! read them to count what changed and to refuse a version whose files changed.

use std::collections::BTreeMap;

use crate::aws::{Aws, AwsError};
use crate::model::Stack;
pub use crate::observe::site::{SiteFile, SiteRelease};
use crate::observe::state_keys;

/// Records that `files` of `version` of site `site` are all uploaded.
pub async fn record(
    aws: &Aws,
    stack: &Stack,
    site: &str,
    version: &str,
    files: BTreeMap<String, SiteFile>,
) -> Result<(), AwsError> {
    let Some(bucket) = &stack.state_bucket else {
        return Ok(());
    };
    let release = SiteRelease {
        version: version.to_owned(),
        uploaded_at: super::timestamp(std::time::SystemTime::now()),
        files,
    };
    let key = state_keys::site_release(&stack.name, &stack.environment.name, site, version);
    let body = serde_json::to_vec_pretty(&release).unwrap_or_default();
    aws.put_object(bucket, &key, body).await
}

/// Forgets `version` of site `site` (its files are deleted).
pub async fn forget(aws: &Aws, stack: &Stack, site: &str, version: &str) -> Result<(), AwsError> {
    let Some(bucket) = &stack.state_bucket else {
        return Ok(());
    };
    let key = state_keys::site_release(&stack.name, &stack.environment.name, site, version);
    aws.delete_object(bucket, &key, None).await.map(drop)
}
