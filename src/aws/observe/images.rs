//! Images resolved once per reference, and release artifacts that are missing.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Image;
use futures_util::future::try_join_all;

use super::super::{Aws, AwsError};
use super::*;
use crate::model::ImageRef;
use crate::observe::{ArtifactRef, Query, ResolvedImage};

/// Each distinct image reference resolved once: ids as given, lookups to the newest match.
pub(super) async fn images(
    aws: &Aws,
    query: &Query,
) -> Result<BTreeMap<ImageRef, ResolvedImage>, AwsError> {
    let lookups = query.distinct_images().into_iter().map(|image| async move {
        let resolved = match image {
            // An id is used as written, unless its root device must be known.
            ImageRef::Id(id) if !query.described_ids.contains(id) => Some(ResolvedImage {
                id: id.clone(),
                name: None,
                created: None,
                root_device: None,
                root_size_gb: None,
            }),
            ImageRef::Id(id) => {
                let found = aws.ec2.describe_images().image_ids(id).send().await;
                match found {
                    Ok(found) => newest(found.images()).map(|mut image| {
                        // Described for its device, it is still named as written.
                        image.name = None;
                        image.created = None;
                        image
                    }),
                    Err(e)
                        if e.as_service_error().and_then(|s| s.meta().code())
                            == Some("InvalidAMIID.NotFound") =>
                    {
                        None
                    }
                    Err(e) => return Err(aws.error("DescribeImages", e)),
                }
            }
            ImageRef::Lookup { name, owner } => {
                let found = aws
                    .ec2
                    .describe_images()
                    .owners(owner)
                    .filters(filter("name", [name.as_str()]))
                    .send()
                    .await
                    .map_err(|e| aws.error("DescribeImages", e))?;
                newest(found.images())
            }
        };
        Ok::<_, AwsError>(resolved.map(|r| (image.clone(), r)))
    });
    let resolved = try_join_all(lookups).await?;
    Ok(resolved.into_iter().flatten().collect())
}

fn newest(images: &[Image]) -> Option<ResolvedImage> {
    images
        .iter()
        .max_by(|a, b| (a.creation_date(), a.image_id()).cmp(&(b.creation_date(), b.image_id())))
        .map(|image| {
            let root_device = image.root_device_name().map(str::to_owned);
            let root_size_gb = image
                .block_device_mappings()
                .iter()
                .find(|m| m.device_name() == root_device.as_deref())
                .and_then(|m| m.ebs()?.volume_size())
                .map(|s| s as u32);
            ResolvedImage {
                id: image.image_id().unwrap_or_default().to_owned(),
                name: image.name().map(str::to_owned),
                created: image.creation_date().map(str::to_owned),
                root_device,
                root_size_gb,
            }
        })
}

pub(super) async fn missing_artifacts(
    aws: &Aws,
    artifacts: &[ArtifactRef],
) -> Result<Vec<ArtifactRef>, AwsError> {
    let heads = artifacts.iter().map(|artifact| async move {
        let head = aws
            .s3
            .head_object()
            .bucket(&artifact.bucket)
            .key(&artifact.key)
            .send()
            .await;
        match head {
            Ok(_) => Ok(None),
            Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => {
                Ok(Some(artifact.clone()))
            }
            Err(e) => Err(aws.error("HeadObject", e)),
        }
    });
    Ok(try_join_all(heads).await?.into_iter().flatten().collect())
}
