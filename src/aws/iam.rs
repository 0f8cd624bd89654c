//! IAM reads: which roles an instance profile carries (for `iam:PassRole`).

use super::{Aws, AwsError};

impl Aws {
    /// The ARNs of the roles in instance profile `profile` (a name, or an ARN whose last
    /// path segment is the name).
    pub async fn instance_profile_roles(&self, profile: &str) -> Result<Vec<String>, AwsError> {
        let name = profile.rsplit('/').next().unwrap_or(profile);
        let answer = self
            .iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .map_err(|e| self.error("GetInstanceProfile", e))?;
        let profile = super::error::required(
            answer.instance_profile(),
            "GetInstanceProfile",
            "the `InstanceProfile`",
        )?;
        Ok(profile.roles().iter().map(|r| r.arn().to_owned()).collect())
    }
}
