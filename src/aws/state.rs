//! S3 objects of the state bucket: the lock, history entries and readiness signals.
//! Conditional writes (`If-None-Match: *`, `If-Match`) make the lock and the history
//! numbering safe between writers.

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;

use super::{Aws, AwsError};

/// An object read back, with the ETag conditional writes compare against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Body.
    pub body: Vec<u8>,
    /// ETag.
    pub etag: String,
}

/// An object listed: key and ETag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Key.
    pub key: String,
    /// ETag (changes when the object is rewritten).
    pub etag: String,
}

/// When a write may happen.
#[derive(Clone, Copy, Debug)]
pub enum Condition<'a> {
    /// Only if no object has the key (`If-None-Match: *`).
    Absent,
    /// Only if the object still has this ETag (`If-Match`).
    Matches(&'a str),
}

/// A conditional write's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// Written; the new ETag.
    Yes(String),
    /// The condition did not hold; nothing was written.
    ConditionFailed,
}

fn status<E>(error: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}

impl Aws {
    /// Object `key` of `bucket`, or `None` when there is none.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<Stored>, AwsError> {
        let got = match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(got) => got,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(self.error("GetObject", e)),
        };
        let etag = got.e_tag().unwrap_or_default().to_owned();
        let body = got
            .body
            .collect()
            .await
            .map_err(|e| AwsError::Unreachable {
                operation: "GetObject",
                endpoint: self.endpoint("GetObject"),
                cause: format!("the answer broke off ({e})"),
                source: Some(Box::new(e)),
            })?
            .into_bytes()
            .to_vec();
        Ok(Some(Stored { body, etag }))
    }

    /// Writes `body` to `key` if `condition` holds.
    pub async fn put_object_if(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        condition: Condition<'_>,
    ) -> Result<Written, AwsError> {
        let request = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        let request = match condition {
            Condition::Absent => request.if_none_match("*"),
            Condition::Matches(etag) => request.if_match(etag),
        };
        match request.send().await {
            Ok(put) => Ok(Written::Yes(put.e_tag().unwrap_or_default().to_owned())),
            // 409: a concurrent conditional write won.
            Err(e) if matches!(status(&e), Some(412 | 409)) => Ok(Written::ConditionFailed),
            Err(e) => Err(self.error("PutObject", e)),
        }
    }

    /// Writes `body` to `key` unconditionally.
    pub async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), AwsError> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("PutObject", e))
    }

    /// Deletes `key`, if its ETag is still `etag` when one is given.
    pub async fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        etag: Option<&str>,
    ) -> Result<Written, AwsError> {
        let mut request = self.s3.delete_object().bucket(bucket).key(key);
        if let Some(etag) = etag {
            request = request.if_match(etag);
        }
        match request.send().await {
            Ok(_) => Ok(Written::Yes(String::new())),
            // Gone already (a retry after a lost answer finds it so): deleted.
            Err(e) if status(&e) == Some(404) => Ok(Written::Yes(String::new())),
            Err(e) if matches!(status(&e), Some(412 | 409)) => Ok(Written::ConditionFailed),
            // 501 NotImplemented: a store that has no conditional deletes.
            Err(e) if etag.is_some() && status(&e) == Some(501) => {
                Err(AwsError::ConditionalDeleteUnsupported {
                    endpoint: self.endpoint("DeleteObject"),
                    source: None,
                }
                .caused_by(Box::new(e)))
            }
            Err(e) => Err(self.error("DeleteObject", e)),
        }
    }

    /// Every object under `prefix` (one `ListObjectsV2` per 1,000 keys).
    pub async fn list_objects(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, AwsError> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(e) if status(&e) == Some(404) => return Err(no_bucket(bucket)),
                Err(e) => return Err(self.error("ListObjectsV2", e)),
            };
            for object in page.contents() {
                found.push(Listed {
                    key: super::error::required(
                        object.key(),
                        "ListObjectsV2",
                        "an object's `Key`",
                    )?
                    .to_owned(),
                    etag: object.e_tag().unwrap_or_default().to_owned(),
                });
            }
        }
        Ok(found)
    }

    /// Whether `bucket` exists and is reachable.
    pub async fn check_bucket(&self, bucket: &str) -> Result<(), AwsError> {
        match self.s3.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => Err(no_bucket(bucket)),
            Err(e) => Err(self.error("HeadBucket", e)),
        }
    }
}

fn no_bucket(bucket: &str) -> AwsError {
    AwsError::NoStateBucket {
        bucket: bucket.to_owned(),
    }
}
