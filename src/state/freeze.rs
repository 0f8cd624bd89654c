//! The per-environment freeze: `s3://{state_bucket}/rollstack/{stack}/{env}/freeze.json`.
//! While it is there, `apply`, `rollback` and `env up` refuse before any write (unless
//! `--ignore-freeze`). A person writes it with `rollstack freeze`; a rollback (automatic
//! or `rollstack rollback`) writes it so that the release it undid is not rolled out
//! again by the next merge.

use crate::aws::{Aws, AwsError, Written};
pub use crate::observe::records::{Freeze, holds};
use crate::observe::state_keys;

/// A freeze by this process's user, now, made by command `by`, for `reason`.
pub fn now(by: &str, reason: String) -> Freeze {
    Freeze {
        who: super::identity(),
        since: super::timestamp(std::time::SystemTime::now()),
        reason,
        by: by.to_owned(),
    }
}

/// The freeze of `stack`/`env`, if any. An object rollstack cannot read is a freeze too:
/// whoever wrote it meant to stop deploys.
pub async fn read(
    aws: &Aws,
    bucket: &str,
    stack: &str,
    env: &str,
) -> Result<Option<Freeze>, AwsError> {
    Ok(read_stored(aws, bucket, stack, env).await?.map(|(f, _)| f))
}

/// The freeze of `stack`/`env` and the ETag it was read at.
async fn read_stored(
    aws: &Aws,
    bucket: &str,
    stack: &str,
    env: &str,
) -> Result<Option<(Freeze, String)>, AwsError> {
    let key = state_keys::freeze(stack, env);
    let Some(stored) = aws.get_object(bucket, &key).await? else {
        return Ok(None);
    };
    let freeze = serde_json::from_slice(&stored.body).unwrap_or_else(|e| Freeze {
        who: "unknown".to_owned(),
        since: "unknown".to_owned(),
        reason: format!(
            "`s3://{bucket}/{key}` is there but is not a freeze rollstack can read ({e})"
        ),
        by: "unknown".to_owned(),
    });
    Ok(Some((freeze, stored.etag)))
}

/// Freezes `stack`/`env` (a freeze there already is replaced: the newest reason counts).
pub async fn write(
    aws: &Aws,
    bucket: &str,
    stack: &str,
    env: &str,
    freeze: &Freeze,
) -> Result<(), AwsError> {
    let body = serde_json::to_vec_pretty(freeze).unwrap_or_default();
    aws.put_object(bucket, &state_keys::freeze(stack, env), body)
        .await
}

/// What `unfreeze` found.
#[derive(Debug)]
pub enum Unfrozen {
    /// There was no freeze.
    NotFrozen,
    /// This freeze was lifted.
    Lifted(Freeze),
    /// The freeze changed between reading and lifting it: this one is there now, and
    /// stays (a newer reason is not lifted unread).
    Replaced(Freeze),
}

/// Lifts the freeze of `stack`/`env`, if it is still the one read (`If-Match`); safe to
/// repeat (a freeze gone already is no error).
pub async fn remove(aws: &Aws, bucket: &str, stack: &str, env: &str) -> Result<Unfrozen, AwsError> {
    let Some((freeze, etag)) = read_stored(aws, bucket, stack, env).await? else {
        return Ok(Unfrozen::NotFrozen);
    };
    match aws
        .delete_object(bucket, &state_keys::freeze(stack, env), Some(&etag))
        .await?
    {
        Written::Yes(_) => Ok(Unfrozen::Lifted(freeze)),
        Written::ConditionFailed => Ok(match read(aws, bucket, stack, env).await? {
            Some(now) => Unfrozen::Replaced(now),
            None => Unfrozen::Lifted(freeze),
        }),
    }
}
