//! The outputs stacks published in their state buckets: those of the stacks a stack
//! reads (`${stacks.STACK.OUTPUT}`), and its own, which its plan compares `outputs:` with.

use std::collections::BTreeMap;

use crate::aws::{Aws, AwsError};
use crate::observe::records::Published;
use crate::observe::{Query, state_keys};

/// The outputs each stack `query` reads published for its environment (one
/// `GetObject` each); `None` where there are none yet.
pub(super) async fn read_all(
    aws: &Aws,
    query: &Query,
) -> Result<BTreeMap<String, Option<Published>>, AwsError> {
    let reads = query.producers.iter().map(|(stack, used)| async move {
        let env = used.env(&query.env);
        let published = match used.state_bucket.as_deref() {
            Some(bucket) => read(aws, bucket, stack, env).await?,
            None => None,
        };
        Ok::<_, AwsError>((stack.clone(), published))
    });
    Ok(futures_util::future::try_join_all(reads)
        .await?
        .into_iter()
        .collect())
}

/// What `stack`/`env` published in `bucket`: none before its first publication (or
/// before the bucket exists). An object rollstack cannot read counts as none too: the
/// stack's own plan then shows every output as new, and its apply writes them anew,
/// which is how it heals (its consumers' plans say to apply it first meanwhile). The one
/// reader of `outputs.json` (plans, `status`).
pub async fn read(
    aws: &Aws,
    bucket: &str,
    stack: &str,
    env: &str,
) -> Result<Option<Published>, AwsError> {
    let stored = match aws
        .get_object(bucket, &state_keys::outputs(stack, env))
        .await
    {
        Err(AwsError::NoStateBucket { .. }) => None,
        stored => stored?,
    };
    Ok(stored.and_then(|s| serde_json::from_slice(&s.body).ok()))
}
