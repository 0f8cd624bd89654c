//! The apps' container images: each tag resolved to its digest (and each digest checked)
//! with one `BatchGetImage` per repository, and whether tags may move with one
//! `DescribeRepositories` per registry.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecr::config::Region;
use aws_sdk_ecr::types::ImageIdentifier;
use futures_util::future::try_join_all;

use super::super::{Aws, AwsError};
use crate::model::container::Repository;
use crate::observe::{ContainerImage, ImageVersion, MissingImage, Query};

/// AWS's limit of image ids in one `BatchGetImage`.
const IMAGE_IDS_PER_CALL: usize = 100;

/// What ECR holds of the images the apps name, and what it does not.
pub(super) async fn container_images(
    aws: &Aws,
    query: &Query,
) -> Result<(BTreeMap<String, ContainerImage>, Vec<MissingImage>), AwsError> {
    let mut versions: BTreeMap<&Repository, BTreeSet<&str>> = BTreeMap::new();
    for wanted in query.container_images.values() {
        versions
            .entry(&wanted.repository)
            .or_default()
            .insert(&wanted.version);
    }
    let lookups = versions
        .into_iter()
        .map(|(repository, versions)| async move {
            let digests = digests(aws, repository, &versions).await?;
            Ok::<_, AwsError>((repository, digests))
        });
    // Per repository: `None` when it does not exist; else version -> digest.
    let digests: BTreeMap<&Repository, Option<BTreeMap<String, String>>> =
        try_join_all(lookups).await?.into_iter().collect();
    let existing: Vec<&Repository> = digests
        .iter()
        .filter(|(_, d)| d.is_some())
        .map(|(r, _)| *r)
        .collect();
    let mutable = mutable_repositories(aws, &existing).await?;
    let mut found = BTreeMap::new();
    let mut missing = Vec::new();
    for (app, wanted) in &query.container_images {
        let ImageVersion {
            repository,
            version,
        } = wanted;
        let held = digests.get(repository).and_then(Option::as_ref);
        match held.and_then(|d| d.get(version)) {
            Some(digest) => {
                found.insert(
                    app.clone(),
                    ContainerImage {
                        repository: repository.uri(),
                        version: version.clone(),
                        digest: digest.clone(),
                        mutable_tags: mutable.contains(repository),
                    },
                );
            }
            None => missing.push(MissingImage {
                app: app.clone(),
                repository: repository.uri(),
                version: version.clone(),
                no_repository: held.is_none(),
            }),
        }
    }
    Ok((found, missing))
}

/// The digest of each of `versions` (tags, or digests) that `repository` holds; `None`
/// when the repository does not exist.
async fn digests(
    aws: &Aws,
    repository: &Repository,
    versions: &BTreeSet<&str>,
) -> Result<Option<BTreeMap<String, String>>, AwsError> {
    let ids: Vec<ImageIdentifier> = versions
        .iter()
        .map(|v| {
            let id = ImageIdentifier::builder();
            if crate::model::container::is_digest(v) {
                id.image_digest(*v).build()
            } else {
                id.image_tag(*v).build()
            }
        })
        .collect();
    let mut digests = BTreeMap::new();
    for chunk in ids.chunks(IMAGE_IDS_PER_CALL) {
        let answer = aws
            .ecr
            .batch_get_image()
            .registry_id(&repository.registry)
            .repository_name(&repository.name)
            .set_image_ids(Some(chunk.to_vec()))
            // Every manifest kind: the digest is the image's whatever its kind.
            .accepted_media_types("application/vnd.docker.distribution.manifest.v2+json")
            .accepted_media_types("application/vnd.docker.distribution.manifest.list.v2+json")
            .accepted_media_types("application/vnd.oci.image.manifest.v1+json")
            .accepted_media_types("application/vnd.oci.image.index.v1+json")
            .customize()
            .config_override(in_region(repository))
            .send()
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(aws.error("BatchGetImage", e)),
        };
        // Each image answers with the id it was asked by: the tag, or the digest.
        for id in answer.images().iter().filter_map(|i| i.image_id()) {
            let Some(digest) = id.image_digest() else {
                continue;
            };
            let asked = id.image_tag().unwrap_or(digest);
            digests.insert(asked.to_owned(), digest.to_owned());
        }
    }
    Ok(Some(digests))
}

/// Which of `repositories` let a tag be pushed again with another image: one
/// `DescribeRepositories` per registry and region.
async fn mutable_repositories(
    aws: &Aws,
    repositories: &[&Repository],
) -> Result<BTreeSet<Repository>, AwsError> {
    let mut by_registry: BTreeMap<(&str, &str), Vec<&Repository>> = BTreeMap::new();
    for r in repositories {
        by_registry
            .entry((&r.registry, &r.region))
            .or_default()
            .push(r);
    }
    let calls = by_registry.into_values().map(|repositories| async move {
        let first = repositories[0];
        let described = aws
            .ecr
            .describe_repositories()
            .registry_id(&first.registry)
            .set_repository_names(Some(repositories.iter().map(|r| r.name.clone()).collect()))
            .customize()
            .config_override(in_region(first))
            .send()
            .await
            .map_err(|e| aws.error("DescribeRepositories", e))?;
        let mutable: BTreeSet<Repository> = described
            .repositories()
            .iter()
            .filter(|r| {
                // `MUTABLE`, and `MUTABLE_WITH_EXCLUSION` (some tags still move).
                r.image_tag_mutability()
                    .is_none_or(|m| m.as_str().starts_with("MUTABLE"))
            })
            .filter_map(|r| {
                let name = r.repository_name()?;
                repositories
                    .iter()
                    .find(|w| w.name == name)
                    .map(|w| (*w).clone())
            })
            .collect();
        Ok::<_, AwsError>(mutable)
    });
    Ok(try_join_all(calls).await?.into_iter().flatten().collect())
}

/// ECR calls go to the repository's region, whatever the stack's.
fn in_region(repository: &Repository) -> aws_sdk_ecr::config::Builder {
    aws_sdk_ecr::config::Builder::default().region(Region::new(repository.region.clone()))
}
