//! Container images: the tag or digest each app names, and the digest ECR holds for it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Stack;
use crate::model::container::{Repository, is_digest};

/// An app's image to resolve: its repository and the tag or digest the file names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageVersion {
    /// The repository.
    pub repository: Repository,
    /// A tag, or a `sha256:` digest.
    pub version: String,
}

impl ImageVersion {
    /// Whether the version pins a digest (checked to exist, used as is).
    pub fn is_digest(&self) -> bool {
        is_digest(&self.version)
    }
}

/// The image of every app that has one, by app.
pub fn wanted(stack: &Stack) -> BTreeMap<String, ImageVersion> {
    stack
        .apps
        .iter()
        .filter_map(|(name, app)| {
            let repository = app.image.clone()?;
            Some((
                name.clone(),
                ImageVersion {
                    repository,
                    version: app.version.clone(),
                },
            ))
        })
        .collect()
}

/// An app's image as ECR holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContainerImage {
    /// The repository (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`).
    pub repository: String,
    /// The tag or digest the file names.
    pub version: String,
    /// The image's digest (`sha256:...`).
    pub digest: String,
    /// Whether the repository lets a tag be pushed again with another image.
    pub mutable_tags: bool,
}

impl ContainerImage {
    /// `REPOSITORY@DIGEST`: what an instance pulls and runs.
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }
}

/// An app's image that ECR does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingImage {
    /// The app.
    pub app: String,
    /// The repository.
    pub repository: String,
    /// The tag or digest the file names.
    pub version: String,
    /// Whether the repository itself does not exist (or is not readable as one).
    pub no_repository: bool,
}

impl super::Observed {
    /// The apps' image digests as the outputs entry templates and launch specs read
    /// (`IMAGE_DIGESTS_KEY` -> app -> digest); `None` when no app has an image.
    pub fn image_digests(&self) -> Option<(String, BTreeMap<String, String>)> {
        let digests: BTreeMap<String, String> = self
            .container_images
            .iter()
            .map(|(app, image)| (app.clone(), image.digest.clone()))
            .collect();
        (!digests.is_empty()).then(|| {
            (
                crate::model::reference::IMAGE_DIGESTS_KEY.to_owned(),
                digests,
            )
        })
    }
}
