//! Static sites: for each, the entry files at the root (which release they serve), the
//! releases under `releases/`, the files of the one to serve already there, the file
//! lists recorded in the state bucket, and the files of its release tarball.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::try_join_all;

use super::super::{Aws, AwsError};
use crate::model::site::release_prefix;
use crate::observe::site::{
    LiveEntry, LiveSite, RemovedSite, SiteFile, SiteQuery, SiteRelease, file_list, metadata,
    served_in,
};
use crate::observe::state_keys;
use crate::observe::{LiveCloudFormation, Query};

/// Every site of `query`, read concurrently; and the sites with recorded releases that
/// `query` no longer has.
pub(super) async fn sites(
    aws: &Aws,
    query: &Query,
    stacks: &[LiveCloudFormation],
) -> Result<(Vec<LiveSite>, Vec<RemovedSite>), AwsError> {
    let (mut recorded, models) = tokio::try_join!(recorded(aws, query), recent_models(aws, query))?;
    let wanted: Vec<(&SiteQuery, Vec<SiteRelease>)> = query
        .sites
        .iter()
        .map(|site| (site, recorded.remove(&site.name).unwrap_or_default()))
        .collect();
    let reads = wanted.into_iter().map(|(site, releases)| {
        let models = &models;
        async move {
            let live_output = |node: &str, output: &str| {
                let name = format!("{}{node}", query.name_prefix);
                let live = stacks.iter().find(|s| s.name == name)?;
                live.outputs.get(output).cloned()
            };
            let bucket = crate::observe::resolve(&site.bucket, live_output);
            let distribution = site
                .distribution
                .as_ref()
                .and_then(|d| crate::observe::resolve(d, live_output));
            let in_bucket = async {
                let Some(bucket) = &bucket else {
                    return Ok(None);
                };
                tokio::try_join!(
                    entries(aws, bucket, &site.entry),
                    async {
                        match &distribution {
                            Some(id) => aws.distribution_origin(id, bucket).await.map(Some),
                            None => Ok(None),
                        }
                    },
                    uploaded(aws, bucket),
                    present(aws, bucket, &site.artifact.version),
                )
                .map(Some)
            };
            let (archive, in_bucket) = tokio::try_join!(archive(aws, site), in_bucket)?;
            let (entries, origin, uploaded, present) = in_bucket.unwrap_or_default();
            let live = LiveSite {
                name: site.name.clone(),
                bucket,
                entries,
                origin,
                uploaded,
                present,
                releases,
                pinned: pinned(models, &site.name, site.keep),
                archive,
            };
            Ok::<_, AwsError>(live)
        }
    });
    let removed = recorded
        .into_iter()
        .map(|(name, releases)| removed(aws, name, releases));
    tokio::try_join!(try_join_all(reads), try_join_all(removed))
}

/// What rollstack wrote for a site the file no longer has: the releases under
/// `releases/` and the entry files whose metadata names a recorded release. A bucket
/// already deleted holds nothing.
async fn removed(
    aws: &Aws,
    name: String,
    releases: Vec<SiteRelease>,
) -> Result<RemovedSite, AwsError> {
    let bucket = releases
        .last()
        .map(|r| r.bucket.clone())
        .unwrap_or_default();
    let entry: BTreeSet<String> = releases.iter().flat_map(|r| r.entry.clone()).collect();
    let entry: Vec<String> = entry.into_iter().collect();
    let read = tokio::try_join!(uploaded(aws, &bucket), entries(aws, &bucket, &entry));
    let (uploaded, entries) = unless_gone(read)?;
    let ours = entries
        .into_iter()
        .filter(|(_, e)| {
            let release = e.release.as_deref();
            releases.iter().any(|r| Some(r.version.as_str()) == release)
        })
        .map(|(path, _)| path)
        .collect();
    Ok(RemovedSite {
        name,
        bucket,
        releases,
        uploaded,
        entries: ours,
    })
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

/// What was read, or nothing when the bucket is already deleted.
fn unless_gone<T: Default>(read: Result<T, AwsError>) -> Result<T, AwsError> {
    match read {
        Err(e) if e.is_no_such_bucket() => Ok(T::default()),
        read => read,
    }
}

/// Every site's recorded file lists, by site, oldest upload first (none without a state
/// bucket).
async fn recorded(
    aws: &Aws,
    query: &Query,
) -> Result<BTreeMap<String, Vec<SiteRelease>>, AwsError> {
    let Some(bucket) = &query.site_bucket else {
        return Ok(BTreeMap::new());
    };
    let prefix = state_keys::sites(&query.stack, &query.env);
    let listed = match aws.list_objects(bucket, &prefix).await {
        // No bucket yet (`bootstrap` makes it): nothing uploaded.
        Err(AwsError::NoStateBucket { .. }) => Vec::new(),
        listed => listed?,
    };
    let reads = listed
        .into_iter()
        .filter_map(|l| {
            let (site, _) = state_keys::parse_site_release(l.key.strip_prefix(&prefix)?)?;
            Some((site, l.key))
        })
        .map(|(site, key)| async move {
            let stored = aws.get_object(bucket, &key).await?;
            Ok::<_, AwsError>(stored.map(|stored| (site, stored)))
        });
    let mut by_site: BTreeMap<String, Vec<SiteRelease>> = BTreeMap::new();
    for (site, stored) in try_join_all(reads).await?.into_iter().flatten() {
        // An unreadable record counts as none: the release is uploaded (and checked) again.
        if let Ok(release) = serde_json::from_slice::<SiteRelease>(&stored.body) {
            by_site.entry(site).or_default().push(release);
        }
    }
    for releases in by_site.values_mut() {
        releases.sort_by(|a, b| (&a.uploaded_at, &a.version).cmp(&(&b.uploaded_at, &b.version)));
    }
    Ok(by_site)
}

/// The models of the environment's last applies, oldest first: one fewer than the
/// largest `keep` of its sites (the apply being planned is one of the last `keep`).
async fn recent_models(aws: &Aws, query: &Query) -> Result<Vec<serde_json::Value>, AwsError> {
    let (Some(bucket), Some(keep)) = (
        &query.site_bucket,
        query
            .sites
            .iter()
            .map(|s| s.keep.saturating_sub(1) as usize)
            .max(),
    ) else {
        return Ok(Vec::new());
    };
    let mut listed = match aws
        .list_objects(bucket, &state_keys::history(&query.stack, &query.env))
        .await
    {
        // No bucket yet: no apply.
        Err(AwsError::NoStateBucket { .. }) => Vec::new(),
        listed => listed?,
    };
    listed.retain(|l| l.key.ends_with(".json"));
    // Zero-padded sequence numbers: key order is apply order.
    listed.sort_by(|a, b| a.key.cmp(&b.key));
    let recent = &listed[listed.len().saturating_sub(keep)..];
    let reads = recent.iter().map(|l| aws.get_object(bucket, &l.key));
    Ok(try_join_all(reads)
        .await?
        .into_iter()
        .flatten()
        .filter_map(|stored| serde_json::from_slice::<serde_json::Value>(&stored.body).ok())
        .filter_map(|entry| entry.get("model").cloned())
        .filter(|model| !model.is_null())
        .collect())
}

/// The versions site `name` served in the last `keep` applies: the one being planned
/// and the last `keep - 1` of `models`.
fn pinned(models: &[serde_json::Value], name: &str, keep: u32) -> BTreeSet<String> {
    let recent = &models[models.len().saturating_sub(keep.saturating_sub(1) as usize)..];
    recent.iter().filter_map(|m| served_in(m, name)).collect()
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
