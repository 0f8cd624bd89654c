//! The expiry of an `env up` environment: not an object in the bucket but the lifecycle
//! tags (`rollstack:overlay`, `rollstack:expires-at`) on every resource it has, moved
//! once an apply of it succeeds.

use crate::aws::{Aws, AwsError};
use crate::model::Stack;
use crate::observe::{Query, TagLookup};
use crate::plan::spec::lifecycle_tags;

/// Moves the expiry of an `env up` environment: what this apply created was tagged at
/// creation; everything of it that is live now and carries another expiry gets the new
/// tags in one batched `CreateTags` (none when all have it: a re-run with the same
/// expiry writes nothing). CloudFormation stacks take tags only with a change, so theirs
/// may lag: an environment's expiry is the latest of its resources'.
pub async fn extend(aws: &Aws, stack: &Stack) -> Result<(), AwsError> {
    let tags = lifecycle_tags(stack);
    if tags.is_empty() {
        return Ok(());
    }
    let observed = crate::aws::observe(aws, &Query::for_stack(stack)).await?;
    let stale = |live: &dyn TagLookup| tags.iter().any(|(k, v)| live.tag(k) != Some(v.as_str()));
    let ids: Vec<String> = observed
        .instances
        .iter()
        .filter(|i| stale(&i.tags))
        .map(|i| i.id.clone())
        .chain(
            observed
                .security_groups
                .iter()
                .filter(|g| stale(&g.tags))
                .map(|g| g.id.clone()),
        )
        .chain(
            observed
                .launch_templates
                .iter()
                .filter(|t| stale(&t.tags))
                .map(|t| t.id.clone()),
        )
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    aws.tag_resources(&ids, &tags).await
}
