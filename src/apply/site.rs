//! A static site: its release uploaded once (each file written only if absent, a file
//! already there checked to be the same), its file list recorded, the entry files copied
//! to the root last (the flip), and releases beyond `keep` deleted.

use std::collections::{BTreeMap, HashMap};

use futures_util::stream::{self, StreamExt};

use super::error::FailedInstance;
use super::{Executor, NodeError, NodeOutcome};
use crate::aws::{SiteObject, Uploaded};
use crate::model::site::{origin_path, release_prefix};
use crate::model::{Address, Flip, Site};
use crate::observe::AlarmState;
use crate::observe::site::{SiteFile, file_list, metadata};
use crate::observe::{ArtifactRef, resolve};
use crate::plan::site::{SiteChange, files_digest};
use crate::plan::{Action, PlanError};
use crate::release::{ArchiveFile, CacheRules, content_type};

/// Uploads at a time.
const UPLOADS_AT_ONCE: usize = 8;

/// How long a CloudFront flip is waited for: AWS deploys a change in minutes.
const DEPLOY_WAIT: std::time::Duration = std::time::Duration::from_secs(20 * 60);

/// Carries out `change` of site `name`.
pub async fn apply(
    executor: &Executor,
    name: &str,
    action: Action,
    change: &SiteChange,
) -> NodeOutcome {
    let address = Address::Site(name.to_owned());
    if action == Action::NoOp {
        return NodeOutcome::Done("in sync".to_owned());
    }
    if action == Action::Delete {
        return match remove(executor, name, change).await {
            Ok(done) => {
                executor.progress.line(&address, &done);
                NodeOutcome::Done(done)
            }
            Err(why) => {
                executor.progress.line(&address, "failed");
                NodeOutcome::Failed(why)
            }
        };
    }
    match deploy(executor, name, change).await {
        Ok(Deployed::Serving(done)) => {
            executor.progress.line(&address, &done);
            NodeOutcome::Done(done)
        }
        Ok(Deployed::FlippedBack(fired)) => {
            let from = change.from.as_deref().unwrap_or_default();
            executor
                .progress
                .line(&address, &format!("flipped back to {from}: an alarm fired"));
            NodeOutcome::RolledBack(fired)
        }
        Err(NodeError::Interrupted) => NodeOutcome::Interrupted,
        Err(why) => {
            executor.progress.line(&address, "failed");
            NodeOutcome::Failed(why)
        }
    }
}

/// How a site's deploy ended.
enum Deployed {
    /// The release is served (what was done, in words).
    Serving(String),
    /// An alarm fired during `bake`: the release served before is again (the alarms
    /// in `ALARM`, and why).
    FlippedBack(Vec<FailedInstance>),
}

async fn deploy(
    executor: &Executor,
    name: &str,
    change: &SiteChange,
) -> Result<Deployed, NodeError> {
    let stack = &executor.stack;
    let site = &stack.sites[name];
    let outputs = executor.outputs();
    let bucket = resolve(&site.bucket, |node, output| {
        outputs.get(node)?.get(output).cloned()
    })
    .ok_or_else(|| NodeError::Render(format!("the bucket of site `{name}` is still not known")))?;
    let (files, list) = release_files(executor, site, change).await?;
    let address = Address::Site(name.to_owned());
    // A recorded release's files are as the plan checked them: the ones there are
    // skipped. Without a record (an upload cut short), each is written if absent and
    // checked if present.
    let present = executor
        .observed
        .sites
        .iter()
        .find(|s| s.name == name && s.bucket.as_deref() == Some(bucket.as_str()))
        .filter(|s| s.release(&change.to).is_some())
        .map(|s| s.present.clone())
        .unwrap_or_default();
    let rules = CacheRules::new(&site.cache)
        .map_err(|(glob, why)| NodeError::Render(format!("glob `{glob}`: {why}")))?;
    let missing: Vec<&ArchiveFile> = files
        .iter()
        .filter(|f| !present.contains(&f.path))
        .collect();
    let release = format!("{}@{}", site.app, change.to);
    let written = upload(executor, &address, (&bucket, &release), &missing, &rules).await?;
    crate::state::sites::record(
        &executor.aws,
        stack,
        (name, &bucket),
        &change.to,
        list.clone(),
    )
    .await?;
    flip(executor, site, (&bucket, &change.to), &list, &rules).await?;
    if let Some(fired) = bake(executor, &address, site).await? {
        let previous = change.from.as_deref().and_then(|from| {
            let live = executor.observed.sites.iter().find(|s| s.name == name)?;
            Some((from, live.release(from)?.files.clone()))
        });
        let Some((from, files)) = previous else {
            return Err(NodeError::Render(format!(
                "{} fired during bake, and no earlier release is recorded to flip back to",
                fired
                    .iter()
                    .map(|(alarm, _)| alarm.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        flip(executor, site, (&bucket, from), &files, &rules).await?;
        return Ok(Deployed::FlippedBack(fired));
    }
    delete_releases(executor, (name, &bucket), &change.delete).await?;
    let mut done = format!("serving {} {} ({} uploaded)", site.app, change.to, written);
    if !change.delete.is_empty() {
        done.push_str(&format!("; deleted {}", change.delete.join(", ")));
    }
    Ok(Deployed::Serving(done))
}

/// Deletes `versions` of site `name` from `bucket`: each one's files under
/// `releases/{version}/`, then its record (so a delete cut short is planned again).
async fn delete_releases(
    executor: &Executor,
    (name, bucket): (&str, &str),
    versions: &[String],
) -> Result<(), NodeError> {
    for version in versions {
        let prefix = release_prefix(version);
        let (keys, _) = match executor.aws.site_keys(bucket, &prefix, false).await {
            Err(e) if e.is_no_such_bucket() => Default::default(),
            listed => listed?,
        };
        executor.aws.delete_site_keys(bucket, &keys).await?;
        crate::state::sites::forget(&executor.aws, &executor.stack, name, version).await?;
    }
    Ok(())
}

/// Deletes what rollstack wrote for a site the file no longer has: the entry files
/// whose metadata still names one of its releases (one changed by hand since is left),
/// then the releases and their records. Nothing is flipped.
async fn remove(executor: &Executor, name: &str, change: &SiteChange) -> Result<String, NodeError> {
    let bucket = &change.bucket;
    let mut entries = Vec::new();
    for path in &change.entry {
        let found = match executor.aws.object_metadata(bucket, path).await {
            Err(e) if e.is_no_such_bucket() => None,
            found => found?,
        };
        let release = found.as_ref().and_then(|m| m.get(metadata::RELEASE));
        if release.is_some_and(|r| change.delete.contains(r)) {
            entries.push(path.clone());
        }
    }
    executor.aws.delete_site_keys(bucket, &entries).await?;
    delete_releases(executor, (name, bucket), &change.delete).await?;
    Ok(format!(
        "deleted {} and {} from {bucket}",
        crate::diagnostic::plural(change.delete.len(), "release"),
        crate::diagnostic::plural(entries.len(), "entry file"),
    ))
}

/// The release's files, read again from its tarball: the ones the plan saw, or the
/// plan is stale.
async fn release_files(
    executor: &Executor,
    site: &Site,
    change: &SiteChange,
) -> Result<(Vec<ArchiveFile>, BTreeMap<String, SiteFile>), NodeError> {
    let bucket = executor
        .stack
        .releases_bucket
        .as_deref()
        .unwrap_or_default();
    let artifact = ArtifactRef::new(bucket, &site.app, &change.to);
    let stored = executor
        .aws
        .get_object(&artifact.bucket, &artifact.key)
        .await?
        .ok_or_else(|| NodeError::Plan(PlanError::MissingArtifact(artifact.clone())))?;
    let files = crate::release::read(&stored.body, site.max_size)
        .map_err(|e| NodeError::Render(format!("`{}` is refused: {e}", artifact.url())))?;
    let list = file_list(&files);
    if files_digest(&list) != change.digest {
        return Err(NodeError::Render(format!(
            "`{}` changed since the plan was made: plan again",
            artifact.url()
        )));
    }
    Ok((files, list))
}

/// How `path` of `version` is written: its type, cache header, release and digest.
fn object<'a>(
    path: &str,
    version: &str,
    sha256: &str,
    rules: &'a CacheRules,
    content: &'a str,
) -> SiteObject<'a> {
    SiteObject {
        content_type: content,
        cache_control: rules.cache_control(path),
        metadata: HashMap::from([
            (metadata::RELEASE.to_owned(), version.to_owned()),
            (metadata::SHA256.to_owned(), sha256.to_owned()),
        ]),
    }
}

/// Uploads `files` under `releases/{version}/`, a few at a time; a file already there
/// with other contents stops the release (a version never changes). How many were
/// written (not there already).
async fn upload(
    executor: &Executor,
    address: &Address,
    (bucket, release): (&str, &str),
    files: &[&ArchiveFile],
    rules: &CacheRules,
) -> Result<usize, NodeError> {
    if files.is_empty() {
        return Ok(0);
    }
    let version = release.split_once('@').map_or(release, |(_, v)| v);
    let bar = executor.progress.group(address, files.len() as u32);
    let prefix = release_prefix(version);
    let mut uploads = stream::iter(files.iter().map(|file| {
        let key = format!("{prefix}{}", file.path);
        let content = content_type(&file.path);
        async move {
            let object = object(&file.path, version, &file.sha256, rules, &content);
            let uploaded = executor
                .aws
                .upload_site_file(bucket, &key, file.contents.clone(), &object)
                .await?;
            let (written, same) = match uploaded {
                Uploaded::Written => (true, true),
                Uploaded::AlreadyThere(found) => {
                    (false, found.get(metadata::SHA256) == Some(&file.sha256))
                }
            };
            Ok::<_, crate::aws::AwsError>((file.path.clone(), written, same))
        }
    }))
    .buffer_unordered(UPLOADS_AT_ONCE);
    let (mut done, mut written, mut differ) = (0, 0, Vec::new());
    while let Some(result) = uploads.next().await {
        let (path, was_written, same) = result?;
        done += 1;
        written += usize::from(was_written);
        if !same {
            differ.push(path);
        }
        bar.update(done, done, "uploading");
    }
    bar.finish(&format!("uploaded {written} files under {prefix}"));
    if differ.is_empty() {
        return Ok(written);
    }
    differ.sort();
    Err(NodeError::Plan(PlanError::ReleaseChanged {
        address: address.clone(),
        release: release.to_owned(),
        files: differ,
    }))
}

/// Makes `version` the one served: the distribution's origin pointed at it (then
/// `/*` invalidated, and the change waited for until deployed), or each entry file
/// copied from the release to the root.
async fn flip(
    executor: &Executor,
    site: &Site,
    (bucket, version): (&str, &str),
    files: &BTreeMap<String, SiteFile>,
    rules: &CacheRules,
) -> Result<(), NodeError> {
    let entry = match &site.flip {
        Flip::Cloudfront { distribution } => {
            let outputs = executor.outputs();
            let id = resolve(distribution, |node, output| {
                outputs.get(node)?.get(output).cloned()
            })
            .ok_or_else(|| NodeError::Render("the distribution is still not known".to_owned()))?;
            executor
                .aws
                .flip_origin(&id, bucket, &origin_path(version))
                .await?;
            // Each flip invalidates once, a flip back to a release as well.
            let reference = format!("rollstack-{version}-{}", uuid::Uuid::new_v4());
            executor.aws.invalidate_all(&id, &reference).await?;
            return deployed(executor, &id, bucket).await;
        }
        Flip::Index { entry } => entry,
    };
    let prefix = release_prefix(version);
    for path in entry {
        let Some(file) = files.get(path) else {
            return Err(NodeError::Render(format!(
                "entry file `{path}` is not in release {version}"
            )));
        };
        let content = content_type(path);
        let object = object(path, version, &file.sha256, rules, &content);
        executor
            .aws
            .copy_site_file(bucket, &format!("{prefix}{path}"), path, &object)
            .await?;
    }
    Ok(())
}

/// Watches the site's alarms for `bake` after a flip: the ones in `ALARM`, as soon as
/// one is (`None`: none fired).
async fn bake(
    executor: &Executor,
    address: &Address,
    site: &Site,
) -> Result<Option<Vec<FailedInstance>>, NodeError> {
    let Some(bake) = site.bake else {
        return Ok(None);
    };
    executor.progress.line(
        address,
        &format!(
            "baking {} under {}",
            humantime::format_duration(bake.0),
            site.alarms.join(", ")
        ),
    );
    let started = std::time::Instant::now();
    loop {
        let fired: Vec<FailedInstance> = executor
            .aws
            .alarms(&site.alarms)
            .await?
            .into_iter()
            .filter(|a| a.state == AlarmState::Alarm)
            .map(|a| (format!("alarm `{}`", a.name), a.reason))
            .collect();
        if !fired.is_empty() {
            return Ok(Some(fired));
        }
        let left = bake.0.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Ok(None);
        }
        if executor.cancelled() {
            return Err(NodeError::Interrupted);
        }
        tokio::time::sleep(executor.options.poll_interval.min(left)).await;
    }
}

/// Waits until distribution `id` has deployed the flip everywhere, at most
/// [`DEPLOY_WAIT`] (AWS takes minutes).
async fn deployed(executor: &Executor, id: &str, bucket: &str) -> Result<(), NodeError> {
    let started = std::time::Instant::now();
    loop {
        if executor.aws.distribution_origin(id, bucket).await?.deployed {
            return Ok(());
        }
        if started.elapsed() >= DEPLOY_WAIT {
            return Err(NodeError::Render(format!(
                "distribution `{id}` still deploys the flip after {}: it serves the new release where it has; the next apply waits again",
                humantime::format_duration(DEPLOY_WAIT)
            )));
        }
        tokio::time::sleep(executor.options.poll_interval).await;
    }
}
