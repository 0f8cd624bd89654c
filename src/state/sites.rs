//! The file lists of a site's uploaded releases:
//! `s3://{state_bucket}/rollstack/{stack}/{env}/sites/{site}/{version}.json`, written once
//! every file of the release is in the site's bucket, deleted with the release. Plans
//! read them to count what changed, to refuse a version whose files changed, and to find
//! what rollstack wrote for a site the file no longer has.

use std::collections::BTreeMap;

use crate::aws::{Aws, AwsError};
use crate::model::Stack;
pub use crate::observe::site::{SiteFile, SiteRelease};
use crate::observe::state_keys;

/// Records that `files` of `version` of site `site` are all uploaded to `bucket`, and
/// which of them a flip copies to the root.
pub async fn record(
    aws: &Aws,
    stack: &Stack,
    (site, bucket): (&str, &str),
    version: &str,
    files: BTreeMap<String, SiteFile>,
) -> Result<(), AwsError> {
    let Some(state) = &stack.state_bucket else {
        return Ok(());
    };
    let release = SiteRelease {
        version: version.to_owned(),
        bucket: bucket.to_owned(),
        entry: stack
            .sites
            .get(site)
            .map(|s| s.flip.entry().to_vec())
            .unwrap_or_default(),
        uploaded_at: super::timestamp(std::time::SystemTime::now()),
        files,
    };
    let key = state_keys::site_release(&stack.name, &stack.environment.name, site, version);
    let body = serde_json::to_vec_pretty(&release).unwrap_or_default();
    aws.put_object(state, &key, body).await
}

/// Forgets `version` of site `site` (its files are deleted).
pub async fn forget(aws: &Aws, stack: &Stack, site: &str, version: &str) -> Result<(), AwsError> {
    let Some(bucket) = &stack.state_bucket else {
        return Ok(());
    };
    let key = state_keys::site_release(&stack.name, &stack.environment.name, site, version);
    aws.delete_object(bucket, &key, None).await.map(drop)
}
