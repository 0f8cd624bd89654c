//! S3 objects of static sites: a release's files written once (`If-None-Match: *`), the
//! entry files copied to the root with the release they serve in their metadata, old
//! releases deleted in batches.

use std::collections::HashMap;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, MetadataDirective, ObjectIdentifier};

use super::{Aws, AwsError};

/// AWS's limit of keys in one `DeleteObjects`.
const KEYS_PER_DELETE: usize = 1000;

/// How a site file is written: its type, cache header and rollstack's metadata.
#[derive(Clone, Debug)]
pub struct SiteObject<'a> {
    /// `Content-Type`.
    pub content_type: &'a str,
    /// `Cache-Control`, when a glob of `cache:` matches.
    pub cache_control: Option<&'a str>,
    /// `x-amz-meta-*` (`rollstack-release`, `rollstack-sha256`).
    pub metadata: HashMap<String, String>,
}

/// What a conditional upload found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Uploaded {
    /// Written now.
    Written,
    /// An object had the key already; its metadata (to compare the digest).
    AlreadyThere(HashMap<String, String>),
}

impl Aws {
    /// The keys under `prefix` in `bucket`, and with `delimiter` the common prefixes
    /// (`releases/1.0.0/`) instead of what is under them.
    pub async fn site_keys(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: bool,
    ) -> Result<(Vec<String>, Vec<String>), AwsError> {
        let mut request = self.s3.list_objects_v2().bucket(bucket).prefix(prefix);
        if delimiter {
            request = request.delimiter("/");
        }
        let mut pages = request.into_paginator().send();
        let (mut keys, mut prefixes) = (Vec::new(), Vec::new());
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("ListObjectsV2", e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            prefixes.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
        }
        Ok((keys, prefixes))
    }

    /// The metadata of object `key`; `None` when there is none.
    pub async fn object_metadata(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<HashMap<String, String>>, AwsError> {
        match self.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(head) => Ok(Some(head.metadata().cloned().unwrap_or_default())),
            Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => Ok(None),
            Err(e) => Err(self.error("HeadObject", e)),
        }
    }

    /// Writes `body` at `key` unless an object has the key (`If-None-Match: *`): safe
    /// to repeat, and never overwrites a release's file.
    pub async fn upload_site_file(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        object: &SiteObject<'_>,
    ) -> Result<Uploaded, AwsError> {
        let put = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .if_none_match("*")
            .content_type(object.content_type)
            .set_cache_control(object.cache_control.map(str::to_owned))
            .set_metadata(Some(object.metadata.clone()))
            .body(ByteStream::from(body))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Uploaded::Written),
            Err(e)
                if matches!(
                    e.raw_response().map(|r| r.status().as_u16()),
                    Some(412 | 409)
                ) =>
            {
                let metadata = self.object_metadata(bucket, key).await?;
                Ok(Uploaded::AlreadyThere(metadata.unwrap_or_default()))
            }
            Err(e) => Err(self.error("PutObject", e)),
        }
    }

    /// Copies `from` to `to` in `bucket` with `object`'s headers and metadata (which
    /// replace the source's).
    pub async fn copy_site_file(
        &self,
        bucket: &str,
        from: &str,
        to: &str,
        object: &SiteObject<'_>,
    ) -> Result<(), AwsError> {
        self.s3
            .copy_object()
            .bucket(bucket)
            .copy_source(format!("{bucket}/{}", encode_key(from)))
            .key(to)
            .metadata_directive(MetadataDirective::Replace)
            .content_type(object.content_type)
            .set_cache_control(object.cache_control.map(str::to_owned))
            .set_metadata(Some(object.metadata.clone()))
            .send()
            .await
            .map_err(|e| self.error("CopyObject", e))?;
        Ok(())
    }

    /// Deletes `keys` from `bucket`, a thousand per call; a key already gone is no error.
    pub async fn delete_site_keys(&self, bucket: &str, keys: &[String]) -> Result<(), AwsError> {
        for chunk in keys.chunks(KEYS_PER_DELETE) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| AwsError::Incomplete {
                    operation: "DeleteObjects",
                    missing: "an object's `Key`",
                })?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|_| AwsError::Incomplete {
                    operation: "DeleteObjects",
                    missing: "the objects to delete",
                })?;
            let answer = self
                .s3
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.error("DeleteObjects", e))?;
            if let Some(failed) = answer.errors().first() {
                return Err(AwsError::Refused {
                    operation: "DeleteObjects",
                    code: failed.code().unwrap_or("Error").to_owned(),
                    message: format!(
                        "`{}`: {}",
                        failed.key().unwrap_or_default(),
                        failed.message().unwrap_or_default()
                    ),
                    source: None,
                });
            }
        }
        Ok(())
    }
}

/// `key` as a `CopySource` takes it: each byte outside the unreserved set and `/`
/// percent-encoded.
fn encode_key(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
