//! The environment's published outputs:
//! `s3://{state_bucket}/rollstack/{stack}/{env}/outputs.json`, written by every
//! successful apply of a stack with `outputs:`, with the history entry that wrote it. What
//! other stacks read as `${stacks.STACK.NAME}`, and what `status` shows.

use crate::aws::{Aws, AwsError};
pub use crate::observe::records::Published;
use crate::observe::state_keys;

/// `outputs`, published now by history entry `history`.
pub fn published_now(
    history: u32,
    outputs: std::collections::BTreeMap<String, String>,
) -> Published {
    Published {
        history,
        written_at: super::timestamp(std::time::SystemTime::now()),
        outputs,
    }
}

/// The outputs `stack`/`env` last published, if any.
pub async fn read(
    aws: &Aws,
    bucket: &str,
    stack: &str,
    env: &str,
) -> Result<Option<Published>, AwsError> {
    crate::aws::published_outputs(aws, bucket, stack, env).await
}

/// Takes back what `stack`/`env` published (its file has no `outputs:` any more, or it
/// is torn down).
pub async fn delete(aws: &Aws, bucket: &str, (stack, env): (&str, &str)) -> Result<(), AwsError> {
    aws.delete_object(bucket, &state_keys::outputs(stack, env), None)
        .await
        .map(drop)
}

/// Publishes `published` for `stack`/`env` (the last apply's replace the ones before).
pub async fn write(
    aws: &Aws,
    bucket: &str,
    (stack, env): (&str, &str),
    published: &Published,
) -> Result<(), AwsError> {
    let body = serde_json::to_vec_pretty(published).unwrap_or_default();
    aws.put_object(bucket, &state_keys::outputs(stack, env), body)
        .await
}
