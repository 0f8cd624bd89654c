//! The outputs stacks published in their state buckets: those of the stacks a stack
//! reads (`${stacks.STACK.OUTPUT}`), and its own, which its plan compares `outputs:` with.

use std::collections::BTreeMap;

use crate::aws::{Aws, AwsError};
use crate::observe::{Query, state_keys};

/// The outputs each stack `query` reads published for its environment (one
/// `GetObject` each); `None` where there are none yet.
pub(super) async fn read_all(
    aws: &Aws,
    query: &Query,
) -> Result<BTreeMap<String, Option<crate::observe::records::Published>>, AwsError> {
    let reads = query.producers.iter().map(|(stack, used)| async move {
        let env = used.env(&query.env);
        let published = read(aws, used.state_bucket.as_deref(), stack, env).await?;
        Ok::<_, AwsError>((stack.clone(), published))
    });
    Ok(futures_util::future::try_join_all(reads)
        .await?
        .into_iter()
        .collect())
}

/// What `stack`/`env` published in `bucket` (none without a bucket, or before it exists).
pub(super) async fn read(
    aws: &Aws,
    bucket: Option<&str>,
    stack: &str,
    env: &str,
) -> Result<Option<crate::observe::records::Published>, AwsError> {
    let Some(bucket) = bucket else {
        return Ok(None);
    };
    let stored = match aws
        .get_object(bucket, &state_keys::outputs(stack, env))
        .await
    {
        Err(AwsError::NoStateBucket { .. }) => None,
        stored => stored?,
    };
    Ok(stored.and_then(|s| serde_json::from_slice(&s.body).ok()))
}
