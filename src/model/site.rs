//! Static sites: a release of an app unpacked to an S3 bucket under `releases/{version}/`
//! and served by flipping a pointer to it (`docs/sites.md`).

use serde::{Deserialize, Serialize};

use super::{Duration, Interpolated};

/// A static site.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Site {
    /// The app whose release tarball it serves (its version from `apps`).
    pub app: String,
    /// The bucket the releases are uploaded to.
    pub bucket: Interpolated,
    /// How a release is made the one served.
    pub flip: Flip,
    /// `Cache-Control` by glob, first match wins.
    pub cache: Vec<(String, String)>,
    /// Releases kept in the bucket (the served and the previous one always are).
    pub keep: u32,
    /// How long `alarms` are watched after a flip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake: Option<Duration>,
    /// Alarms that flip the site back when one fires during `bake`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    /// The largest release (its files added up) that is unpacked and uploaded, in bytes.
    pub max_size: u64,
}

/// How a release is made the one served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flip {
    /// The CloudFront distribution's origin path is set to `/releases/{version}`, then
    /// `/*` is invalidated.
    Cloudfront {
        /// The distribution's id.
        distribution: Interpolated,
    },
    /// The entry files are copied from the release to the bucket's root, last.
    Index {
        /// The entry files (`index.html`).
        entry: Vec<String>,
    },
}

/// The key prefix of `version`'s files in a site's bucket: `releases/{version}/`.
pub fn release_prefix(version: &str) -> String {
    format!("releases/{version}/")
}

impl Flip {
    /// The files copied to the bucket's root (none for CloudFront).
    pub fn entry(&self) -> &[String] {
        match self {
            Flip::Cloudfront { .. } => &[],
            Flip::Index { entry } => entry,
        }
    }
}

/// The origin path that serves `version` (`/releases/1.3.0`).
pub fn origin_path(version: &str) -> String {
    format!("/releases/{version}")
}

/// Releases kept by default.
pub const DEFAULT_KEEP: u32 = 5;

/// The largest release unpacked by default: 512 MiB.
pub const DEFAULT_MAX_SIZE: u64 = 512 * 1024 * 1024;
