//! Every resource of a stack, across its environments, found by tags; and the batched
//! re-tagging that moves an `env up` environment's expiry.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;

use super::observe::{
    describe_instances, describe_launch_templates, describe_security_groups, filter,
};
use super::{Aws, AwsError};
use crate::observe::environments::TaggedResource;
use crate::observe::tags;

/// Most resource ids one `CreateTags` takes.
const TAG_BATCH: usize = 1000;

impl Aws {
    /// Every live instance, security group, launch template and CloudFormation stack
    /// tagged `rollstack:stack` = `stack`, in every environment.
    pub async fn stack_resources(&self, stack: &str) -> Result<Vec<TaggedResource>, AwsError> {
        let by_stack = || vec![filter(&format!("tag:{}", tags::STACK), [stack])];
        let (instances, groups, templates, stacks) = tokio::try_join!(
            describe_instances(self, by_stack()),
            describe_security_groups(self, by_stack()),
            describe_launch_templates(self, by_stack()),
            self.cloudformation_stacks(stack),
        )?;
        let mut found: Vec<TaggedResource> = instances
            .into_iter()
            .map(|i| TaggedResource {
                kind: "instance",
                id: i.id,
                tags: i.tags.to_map(),
                created: Some(i.launch_time.to_string()).filter(|t| !t.is_empty()),
                instance_type: Some(i.instance_type.to_string()),
            })
            .collect();
        found.extend(groups.into_iter().map(|g| TaggedResource {
            kind: "security group",
            id: g.id,
            tags: g.tags,
            created: None,
            instance_type: None,
        }));
        found.extend(templates.into_iter().map(|t| TaggedResource {
            kind: "launch template",
            id: t.id,
            tags: t.tags,
            created: None,
            instance_type: None,
        }));
        found.extend(stacks);
        Ok(found)
    }

    async fn cloudformation_stacks(&self, stack: &str) -> Result<Vec<TaggedResource>, AwsError> {
        let described = super::observe::described_stacks(self, &format!("{stack}-")).await?;
        Ok(described
            .into_iter()
            .filter(|s| {
                let env = s
                    .ownership_tags()
                    .get(tags::ENV)
                    .cloned()
                    .unwrap_or_default();
                s.is_owned_by(stack, &env)
            })
            .map(|s| TaggedResource {
                kind: "CloudFormation stack",
                tags: s.ownership_tags().clone(),
                id: s.id,
                created: s.created,
                instance_type: None,
            })
            .collect())
    }

    /// Takes the tag `keys` off `ids`, batched as [`Aws::tag_resources`] tags.
    pub async fn delete_tags(&self, ids: &[String], keys: &[String]) -> Result<(), AwsError> {
        if ids.is_empty() || keys.is_empty() {
            return Ok(());
        }
        let tags: Vec<aws_sdk_ec2::types::Tag> = keys
            .iter()
            .map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build())
            .collect();
        let calls = ids.chunks(TAG_BATCH).map(|batch| {
            let tags = tags.clone();
            async move {
                self.ec2
                    .delete_tags()
                    .set_resources(Some(batch.to_vec()))
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| self.error("DeleteTags", e))
            }
        });
        try_join_all(calls).await.map(drop)
    }

    /// Sets `tags` on the EC2 resources `ids`, a thousand per `CreateTags`.
    pub async fn tag_resources(
        &self,
        ids: &[String],
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let calls = ids.chunks(TAG_BATCH).map(|batch| async move {
            self.ec2
                .create_tags()
                .set_resources(Some(batch.to_vec()))
                .set_tags(Some(super::ec2::ec2_tags(tags)))
                .send()
                .await
                .map_err(|e| self.error("CreateTags", e))
        });
        try_join_all(calls).await.map(drop)
    }
}
