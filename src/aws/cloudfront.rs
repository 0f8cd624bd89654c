//! CloudFront distributions of static sites: which release an origin points at, the
//! flip (the origin path changed with `IfMatch` on the ETag just read), one invalidation
//! of `/*`, and whether the change is deployed.

use aws_sdk_cloudfront::types::{DistributionConfig, InvalidationBatch, Paths};

use super::{Aws, AwsError};
use crate::observe::site::LiveOrigin;

/// Times a flip reads the distribution again when another change came in between.
const FLIP_ATTEMPTS: usize = 3;

/// The origin of `config` that serves `bucket`: the one whose domain is the bucket's,
/// or the only one.
fn origin_index(config: &DistributionConfig, bucket: &str) -> Option<usize> {
    let items = config.origins().map(|o| o.items()).unwrap_or_default();
    let prefix = format!("{bucket}.s3");
    items
        .iter()
        .position(|o| o.domain_name().starts_with(&prefix))
        .or_else(|| (items.len() == 1).then_some(0))
}

impl Aws {
    /// Distribution `id`'s origin for `bucket`, and whether it is deployed.
    pub async fn distribution_origin(
        &self,
        id: &str,
        bucket: &str,
    ) -> Result<LiveOrigin, AwsError> {
        let answer = self
            .cloudfront
            .get_distribution()
            .id(id)
            .send()
            .await
            .map_err(|e| self.error("GetDistribution", e))?;
        let distribution = answer.distribution();
        let config = distribution.and_then(|d| d.distribution_config());
        let path = config.and_then(|c| {
            let index = origin_index(c, bucket)?;
            let origin = &c.origins()?.items()[index];
            Some(origin.origin_path().unwrap_or_default().to_owned())
        });
        Ok(LiveOrigin {
            distribution: id.to_owned(),
            path,
            deployed: distribution.is_some_and(|d| d.status() == "Deployed"),
        })
    }

    /// Points distribution `id`'s origin for `bucket` at `path`: the configuration read
    /// with its ETag and written back only if it is still that one (read again when
    /// another change came in between).
    pub async fn flip_origin(&self, id: &str, bucket: &str, path: &str) -> Result<(), AwsError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let read = self
                .cloudfront
                .get_distribution_config()
                .id(id)
                .send()
                .await
                .map_err(|e| self.error("GetDistributionConfig", e))?;
            let etag = read.e_tag().unwrap_or_default().to_owned();
            let mut config = read.distribution_config.ok_or(AwsError::Incomplete {
                operation: "GetDistributionConfig",
                missing: "the distribution's configuration",
            })?;
            let Some(index) = origin_index(&config, bucket) else {
                return Err(AwsError::Incomplete {
                    operation: "GetDistributionConfig",
                    missing: "an origin for the site's bucket",
                });
            };
            if let Some(origins) = config.origins.as_mut() {
                origins.items[index].origin_path = Some(path.to_owned());
            }
            let written = self
                .cloudfront
                .update_distribution()
                .id(id)
                .if_match(etag)
                .distribution_config(config)
                .send()
                .await;
            match written {
                Ok(_) => return Ok(()),
                Err(e)
                    if attempt < FLIP_ATTEMPTS
                        && e.as_service_error()
                            .is_some_and(|s| s.is_precondition_failed()) => {}
                Err(e) => return Err(self.error("UpdateDistribution", e)),
            }
        }
    }

    /// Invalidates every path of distribution `id`; `reference` makes a repeat of the
    /// same flip one invalidation.
    pub async fn invalidate_all(&self, id: &str, reference: &str) -> Result<(), AwsError> {
        let paths = Paths::builder()
            .quantity(1)
            .items("/*")
            .build()
            .map_err(|_| AwsError::Incomplete {
                operation: "CreateInvalidation",
                missing: "the paths",
            })?;
        let batch = InvalidationBatch::builder()
            .paths(paths)
            .caller_reference(reference)
            .build()
            .map_err(|_| AwsError::Incomplete {
                operation: "CreateInvalidation",
                missing: "the caller reference",
            })?;
        self.cloudfront
            .create_invalidation()
            .distribution_id(id)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| self.error("CreateInvalidation", e))?;
        Ok(())
    }
}
