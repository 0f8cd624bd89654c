//! Static sites: for each, the entry files at the root (which release they serve), the
//! releases under `releases/`, the files of the one to serve already there, the file
//! lists recorded in the state bucket, and the files of its release tarball.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::try_join_all;

use super::super::{Aws, AwsError};
use crate::model::site::release_prefix;
use crate::observe::site::{
    LiveEntry, LiveSite, SiteFile, SiteQuery, SiteRelease, file_list, metadata,
};
use crate::observe::{LiveCloudFormation, Query};

/// Every site of `query`, read concurrently.
pub(super) async fn sites(
    aws: &Aws,
    query: &Query,
    stacks: &[LiveCloudFormation],
) -> Result<Vec<LiveSite>, AwsError> {
    let reads = query.sites.iter().map(|site| async move {
        let live_output = |node: &str, output: &str| {
            let name = format!("{}{node}", query.name_prefix);
            let live = stacks.iter().find(|s| s.name == name)?;
            live.outputs.get(output).cloned()
        };
        let bucket = crate::observe::resolve(&site.bucket, live_output);
        let (archive, releases) = tokio::try_join!(archive(aws, site), releases(aws, site))?;
        let mut live = LiveSite {
            name: site.name.clone(),
            bucket: bucket.clone(),
            entries: BTreeMap::new(),
            origin: None,
            uploaded: BTreeSet::new(),
            present: BTreeSet::new(),
            releases,
            archive,
        };
        let distribution = site
            .distribution
            .as_ref()
            .and_then(|d| crate::observe::resolve(d, live_output));
        if let Some(bucket) = &bucket {
            let (entries, origin, uploaded, present) = tokio::try_join!(
                entries(aws, bucket, &site.entry),
                async {
                    match &distribution {
                        Some(id) => aws.distribution_origin(id, bucket).await.map(Some),
                        None => Ok(None),
                    }
                },
                uploaded(aws, bucket),
                present(aws, bucket, &site.artifact.version),
            )?;
            live.entries = entries;
            live.origin = origin;
            live.uploaded = uploaded;
            live.present = present;
        }
        Ok::<_, AwsError>(live)
    });
    try_join_all(reads).await
}

/// The entry files at the root, with the release and digest their metadata records.
async fn entries(
    aws: &Aws,
    bucket: &str,
    entry: &[String],
) -> Result<BTreeMap<String, LiveEntry>, AwsError> {
    let heads = entry.iter().map(|path| async move {
        let found = aws.object_metadata(bucket, path).await?;
        Ok::<_, AwsError>(found.map(|m| {
            let entry = LiveEntry {
                release: m.get(metadata::RELEASE).cloned(),
                sha256: m.get(metadata::SHA256).cloned(),
            };
            (path.clone(), entry)
        }))
    });
    Ok(try_join_all(heads).await?.into_iter().flatten().collect())
}

/// The versions with files under `releases/`.
async fn uploaded(aws: &Aws, bucket: &str) -> Result<BTreeSet<String>, AwsError> {
    let (_, prefixes) = aws.site_keys(bucket, "releases/", true).await?;
    Ok(prefixes
        .iter()
        .filter_map(|p| p.strip_prefix("releases/")?.strip_suffix('/'))
        .map(str::to_owned)
        .collect())
}

/// The paths of `version`'s files already in the bucket.
async fn present(aws: &Aws, bucket: &str, version: &str) -> Result<BTreeSet<String>, AwsError> {
    let prefix = release_prefix(version);
    let (keys, _) = aws.site_keys(bucket, &prefix, false).await?;
    Ok(keys
        .iter()
        .filter_map(|k| k.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect())
}

/// The recorded file lists of the site's releases, oldest upload first.
async fn releases(aws: &Aws, site: &SiteQuery) -> Result<Vec<SiteRelease>, AwsError> {
    let (bucket, prefix) = &site.records;
    let listed = aws.list_objects(bucket, prefix).await?;
    let reads = listed
        .iter()
        .filter(|l| l.key.ends_with(".json"))
        .map(|l| aws.get_object(bucket, &l.key));
    let mut releases: Vec<SiteRelease> = try_join_all(reads)
        .await?
        .into_iter()
        .flatten()
        // An unreadable record counts as none: the release is uploaded (and checked) again.
        .filter_map(|stored| serde_json::from_slice(&stored.body).ok())
        .collect();
    releases.sort_by(|a, b| (&a.uploaded_at, &a.version).cmp(&(&b.uploaded_at, &b.version)));
    Ok(releases)
}

/// The files of the release tarball to serve; `Err` says why it is refused (or that it
/// is missing, which the plan reports as a missing release).
async fn archive(
    aws: &Aws,
    site: &SiteQuery,
) -> Result<Result<BTreeMap<String, SiteFile>, String>, AwsError> {
    let Some(stored) = aws
        .get_object(&site.artifact.bucket, &site.artifact.key)
        .await?
    else {
        return Ok(Err(format!("`{}` does not exist", site.artifact.url())));
    };
    Ok(crate::release::read(&stored.body, site.max_size)
        .map(|files| file_list(&files))
        .map_err(|e| e.to_string()))
}
