//! The stack file's static sites as written.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::values::Duration;

/// A static site: an app's release unpacked to an S3 bucket under `releases/{version}/`
/// and served by flipping to it (`docs/sites.md`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    /// The app whose release tarball it serves (`s3://{releases.bucket}/{app}/{version}.tar.gz`,
    /// the version from `apps`).
    pub app: String,
    /// The bucket the releases are uploaded to: a name, or `${outputs.NODE.OUTPUT}`.
    /// rollstack writes only under `releases/` and the entry files, and never deletes
    /// the bucket.
    pub bucket: String,
    /// How a release becomes the one served. `cloudfront`: the distribution's origin
    /// path is set to `/releases/{version}`, then `/*` invalidated; `index`: its entry
    /// files are copied from the release to the bucket's root, last.
    pub flip: RawFlip,
    /// With `flip: cloudfront`, the distribution's id: a literal, or
    /// `${outputs.NODE.OUTPUT}`. Its origin for the bucket is the one flipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<String>,
    /// With `flip: index`, the files copied to the root (default `[index.html]`); the
    /// other files are served under `releases/{version}/`, where the entry files must
    /// reference them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minItems" = 1, "uniqueItems" = true))]
    pub entry: Option<Vec<String>>,
    /// `Cache-Control` by glob, the first match wins (`"*.html": no-cache`); a glob
    /// without `/` matches a file's name at any depth.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub cache: IndexMap<String, String>,
    /// Releases kept in the bucket, the served and the previous one among them
    /// (default 5, at least 2); older ones are deleted after a flip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 100))]
    pub keep: Option<u32>,
    /// How long `alarms` are watched after the flip (`5m`): one in `ALARM` flips the
    /// site back to the release it served before, and freezes the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake: Option<Duration>,
    /// CloudWatch alarms watched during `bake` (and that stop an apply when one fires
    /// before the flip).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("uniqueItems" = true))]
    pub alarms: Vec<String>,
    /// The largest release unpacked, its files added up, in MiB (default 512): a larger
    /// one is refused before anything is uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10240))]
    pub max_size_mb: Option<u32>,
}

/// How a release becomes the one served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawFlip {
    /// Point the CloudFront distribution's origin at the release's folder.
    Cloudfront,
    /// Copy the release's entry files to the bucket's root.
    Index,
}
