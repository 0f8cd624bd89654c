//! Static sites as AWS holds them: which release the entry files serve, the releases
//! uploaded, and the file list recorded for each.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ArtifactRef;
use crate::model::{Interpolated, Stack};

/// Object metadata rollstack writes on every file it uploads or copies.
pub mod metadata {
    /// The release a file belongs to (`1.3.0`); on an entry file at the root, the
    /// release it serves.
    pub const RELEASE: &str = "rollstack-release";
    /// The hex SHA-256 of the file's contents.
    pub const SHA256: &str = "rollstack-sha256";
}

/// What to read of one site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteQuery {
    /// The site's name.
    pub name: String,
    /// The bucket, as written (`${outputs.cdn.Bucket}` resolves against live outputs).
    pub bucket: Interpolated,
    /// The release tarball of the version to serve.
    pub artifact: ArtifactRef,
    /// The entry files copied to the root (`flip: index`).
    pub entry: Vec<String>,
    /// The distribution whose origin is flipped (`flip: cloudfront`), as written.
    pub distribution: Option<Interpolated>,
    /// The largest release unpacked, in bytes.
    pub max_size: u64,
    /// How many releases are kept, and how many recent applies' releases are spared.
    pub keep: u32,
}

/// The sites of `stack` to read.
pub fn wanted(stack: &Stack) -> Vec<SiteQuery> {
    let (Some(releases), Some(_)) = (&stack.releases_bucket, &stack.state_bucket) else {
        return Vec::new();
    };
    stack
        .sites
        .iter()
        .filter_map(|(name, site)| {
            let version = &stack.apps.get(&site.app)?.version;
            let distribution = match &site.flip {
                crate::model::Flip::Cloudfront { distribution } => Some(distribution.clone()),
                crate::model::Flip::Index { .. } => None,
            };
            Some(SiteQuery {
                name: name.clone(),
                bucket: site.bucket.clone(),
                artifact: ArtifactRef::new(releases, &site.app, version),
                entry: site.flip.entry().to_vec(),
                distribution,
                max_size: site.max_size,
                keep: site.keep,
            })
        })
        .collect()
}

/// A file of an uploaded release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteFile {
    /// Hex SHA-256 of its contents.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The file list of a release read from its tarball.
pub fn file_list(files: &[crate::release::ArchiveFile]) -> BTreeMap<String, SiteFile> {
    files
        .iter()
        .map(|f| {
            let file = SiteFile {
                sha256: f.sha256.clone(),
                size: f.contents.len() as u64,
            };
            (f.path.clone(), file)
        })
        .collect()
}

/// The file list of an uploaded release, recorded once every file is in the bucket
/// (`state_keys::site_release`): a version's files never change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRelease {
    /// The version.
    pub version: String,
    /// The bucket it is uploaded to.
    pub bucket: String,
    /// The entry files a flip to it copies to the root (`flip: index`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<String>,
    /// When its upload completed (RFC 3339).
    pub uploaded_at: String,
    /// Its files by path.
    pub files: BTreeMap<String, SiteFile>,
}

/// An entry file at the bucket's root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveEntry {
    /// The release its metadata says it serves; `None`: not written by rollstack.
    pub release: Option<String>,
    /// The SHA-256 its metadata records.
    pub sha256: Option<String>,
}

/// The origin of a site's CloudFront distribution that serves its bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveOrigin {
    /// The distribution's id.
    pub distribution: String,
    /// The origin's path (`/releases/1.3.0`); `None`: no origin serves the bucket.
    pub path: Option<String>,
    /// Whether the distribution's last change is deployed everywhere.
    pub deployed: bool,
}

/// One site as AWS holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveSite {
    /// The site's name.
    pub name: String,
    /// The bucket; `None` while it is a CloudFormation output not known yet.
    pub bucket: Option<String>,
    /// Each entry file at the root, by path; missing ones are absent (`flip: index`).
    pub entries: BTreeMap<String, LiveEntry>,
    /// The distribution's origin for the bucket (`flip: cloudfront`, once its id is
    /// known).
    pub origin: Option<LiveOrigin>,
    /// The versions with files under `releases/`.
    pub uploaded: BTreeSet<String>,
    /// The paths under `releases/{version}/` of the version to serve.
    pub present: BTreeSet<String>,
    /// The recorded file lists, by version, oldest upload first.
    pub releases: Vec<SiteRelease>,
    /// The versions the site served in the last `keep` applies (their history
    /// entries' models): never deleted, so `rollback --to` finds them.
    pub pinned: BTreeSet<String>,
    /// The files of the version to serve, read from its tarball; `Err`: refused.
    pub archive: Result<BTreeMap<String, SiteFile>, String>,
}

impl LiveSite {
    /// The release served: the one the distribution's origin points at, or the one
    /// every entry file serves (if they all serve the same one).
    pub fn served(&self) -> Option<&str> {
        if let Some(origin) = &self.origin {
            return origin.path.as_deref()?.strip_prefix("/releases/");
        }
        let mut releases = self.entries.values().map(|e| e.release.as_deref());
        let first = releases.next()??;
        releases.all(|r| r == Some(first)).then_some(first)
    }

    /// The recorded file list of `version`.
    pub fn release(&self, version: &str) -> Option<&SiteRelease> {
        self.releases.iter().find(|r| r.version == version)
    }
}

/// A site the stack file no longer has, whose releases rollstack recorded: what it
/// wrote there, all of it deleted (nothing is flipped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemovedSite {
    /// The site's name.
    pub name: String,
    /// The bucket its newest recorded release is in.
    pub bucket: String,
    /// The recorded file lists, oldest upload first.
    pub releases: Vec<SiteRelease>,
    /// The versions with files under `releases/` (also an upload cut short).
    pub uploaded: BTreeSet<String>,
    /// The entry files at the root that rollstack copied there: their metadata names a
    /// recorded release.
    pub entries: BTreeSet<String>,
}

/// The version of the release site `site` served as of `model` (a history entry's):
/// its app's version there.
pub fn served_in(model: &serde_json::Value, site: &str) -> Option<String> {
    let app = model.get("sites")?.get(site)?.get("app")?.as_str()?;
    let version = model.get("apps")?.get(app)?.get("version")?.as_str()?;
    Some(version.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_model_names_the_release_its_site_served() {
        let model = serde_json::json!({
            "apps": {"frontend": {"version": "1.2.0"}, "api": {"version": "9"}},
            "sites": {"web": {"app": "frontend"}},
        });
        assert_eq!(served_in(&model, "web").as_deref(), Some("1.2.0"));
        assert_eq!(served_in(&model, "docs"), None);
        assert_eq!(served_in(&serde_json::Value::Null, "web"), None);
        let no_app = serde_json::json!({"sites": {"web": {"app": "gone"}}, "apps": {}});
        assert_eq!(served_in(&no_app, "web"), None);
    }
}
