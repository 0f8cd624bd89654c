//! `sts:GetCallerIdentity`: which account and caller the credentials are.

use super::{Aws, AwsError};
use crate::observe::CallerIdentity;

impl Aws {
    /// The account and ARN of the credentials (one call; it needs no permission).
    pub async fn caller_identity(&self) -> Result<CallerIdentity, AwsError> {
        let output = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| self.error("GetCallerIdentity", e))?;
        Ok(CallerIdentity {
            account: output.account().unwrap_or_default().to_owned(),
            arn: output.arn().unwrap_or_default().to_owned(),
        })
    }

    /// The region the environment or profile names when it is not the stack file's:
    /// `(region, where it was set)`. The file's region wins; this is what a user who
    /// set `AWS_REGION` expected instead.
    pub fn other_configured_region(&self) -> Option<(String, String)> {
        self.configured_region
            .clone()
            .filter(|(region, _)| region != &self.region)
    }
}
