//! The per-environment lock: `s3://{state_bucket}/rollstack/{stack}/{env}/lock.json`,
//! created with `If-None-Match: *`, renewed with `If-Match` while its holder runs, and
//! deleted (with `If-Match`) when it is done.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{identity, timestamp};
use crate::aws::{Aws, AwsError, Condition, Written};
use crate::observe::state_keys;

/// How long a lock holds without renewal; a holder killed with `kill -9` blocks others at
/// most this long.
pub const LEASE: Duration = Duration::from_secs(120);

/// What the lock object says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// Lock id (for `unlock --force`).
    pub id: String,
    /// `user@host`.
    pub holder: String,
    /// The command holding it (`apply`, `destroy`, `rollback`).
    pub command: String,
    /// When it was taken (RFC 3339).
    pub started: String,
    /// When the lease runs out unless renewed (RFC 3339).
    pub expires: String,
}

impl LockRecord {
    /// Whether the lease ran out by `now`.
    pub fn expired(&self, now: SystemTime) -> bool {
        humantime::parse_rfc3339_weak(self.expires.trim_end_matches('Z'))
            .is_ok_and(|expires| expires < now)
    }
}

/// Why the lock was not taken or released.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error("locked by {} since {} running {} (lock {})", .record.holder, .record.started, .record.command, .record.id)]
    Held {
        /// The lock as read.
        record: LockRecord,
        /// `rollstack unlock ...`, to paste.
        unlock: String,
    },
    /// `unlock --force ID` named another lock.
    #[error("the lock is `{held}`, not `{given}`")]
    OtherId {
        /// The lock's id.
        held: String,
        /// The id given.
        given: String,
    },
    /// Nothing to unlock.
    #[error("`{0}` is not locked")]
    NotLocked(String),
    /// The lock object is not a lock rollstack wrote.
    #[error("the lock `{key}` cannot be read as a lock: {source}")]
    Unreadable {
        /// Its key in the state bucket.
        key: String,
        /// Why not.
        #[source]
        source: serde_json::Error,
    },
    /// The state bucket could not be read or written.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl LockError {
    /// How to go on.
    pub fn hint(&self) -> Option<String> {
        match self {
            LockError::Held { unlock, .. } => Some(format!(
                "wait for it to finish (`--lock-timeout 10m` waits), or, if that run is gone, `{unlock}`"
            )),
            LockError::OtherId { .. } => Some("pass the id the lock error printed".to_owned()),
            LockError::Aws(e) => Some(e.hint()),
            LockError::Unreadable { .. } => Some(
                "look at the object with `aws s3 cp`; once no run of this stack is left, delete it to free the lock".to_owned(),
            ),
            LockError::NotLocked(_) => None,
        }
    }
}

/// A held lock; renewed in the background until [`Lock::release`].
pub struct Lock {
    aws: Aws,
    bucket: String,
    key: String,
    record: LockRecord,
    etag: Arc<Mutex<String>>,
    renewal: tokio::task::JoinHandle<()>,
}

/// What a lock is for.
pub struct LockRequest<'a> {
    /// State bucket.
    pub bucket: &'a str,
    /// Stack name.
    pub stack: &'a str,
    /// Environment.
    pub env: &'a str,
    /// Command taking it.
    pub command: &'a str,
    /// How long to wait for another holder.
    pub timeout: Duration,
    /// The stack file argument, for the unlock command printed on contention.
    pub stack_arg: &'a str,
    /// Set by SIGINT: stop waiting for another holder.
    pub interrupted: &'a std::sync::atomic::AtomicBool,
}

impl Lock {
    /// Takes the lock, waiting up to `request.timeout` for another holder; an expired
    /// lease is taken over.
    pub async fn acquire(aws: &Aws, request: &LockRequest<'_>) -> Result<Lock, LockError> {
        let key = state_keys::lock(request.stack, request.env);
        let started = SystemTime::now();
        let record = LockRecord {
            id: uuid::Uuid::new_v4().to_string(),
            holder: identity(),
            command: request.command.to_owned(),
            started: timestamp(started),
            expires: timestamp(started + LEASE),
        };
        let body = serde_json::to_vec_pretty(&record).unwrap_or_default();
        loop {
            let written = aws
                .put_object_if(request.bucket, &key, body.clone(), Condition::Absent)
                .await?;
            let etag = match written {
                Written::Yes(etag) => Some(etag),
                Written::ConditionFailed => match aws.get_object(request.bucket, &key).await? {
                    // Released between the two calls: try again at once.
                    None => continue,
                    Some(held) => {
                        let other: Option<LockRecord> = serde_json::from_slice(&held.body).ok();
                        match other {
                            // Our own write, whose answer was lost: the SDK's retry
                            // found the object it had made.
                            Some(other) if other.id == record.id => Some(held.etag),
                            Some(other) if !other.expired(SystemTime::now()) => {
                                let interrupted = request
                                    .interrupted
                                    .load(std::sync::atomic::Ordering::SeqCst);
                                if interrupted
                                    || started.elapsed().unwrap_or_default() >= request.timeout
                                {
                                    return Err(LockError::Held {
                                        unlock: format!(
                                            "rollstack unlock {} --env {} --force {}",
                                            request.stack_arg, request.env, other.id
                                        ),
                                        record: other,
                                    });
                                }
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                None
                            }
                            // Expired or unreadable: take it over if it is still that one.
                            _ => match aws
                                .put_object_if(
                                    request.bucket,
                                    &key,
                                    body.clone(),
                                    Condition::Matches(&held.etag),
                                )
                                .await?
                            {
                                Written::Yes(etag) => Some(etag),
                                Written::ConditionFailed => None,
                            },
                        }
                    }
                },
            };
            if let Some(etag) = etag {
                let etag = Arc::new(Mutex::new(etag));
                let renewal = tokio::spawn(renew(
                    aws.clone(),
                    request.bucket.to_owned(),
                    key.clone(),
                    record.clone(),
                    etag.clone(),
                ));
                return Ok(Lock {
                    aws: aws.clone(),
                    bucket: request.bucket.to_owned(),
                    key,
                    record,
                    etag,
                    renewal,
                });
            }
        }
    }

    /// The lock as written.
    pub fn record(&self) -> &LockRecord {
        &self.record
    }

    /// Stops renewing and deletes the lock, if it is still ours. A release that meets
    /// AWS weather is tried again, [`RELEASE_ROUNDS`] times (each with the SDK's own
    /// retries) before it gives up.
    pub async fn release(self) -> Result<(), AwsError> {
        self.renewal.abort();
        let mut round = 0;
        loop {
            round += 1;
            match self.delete_if_ours().await {
                Err(e) if e.is_passing() && round < RELEASE_ROUNDS => {
                    tracing::warn!("releasing the lock: {e}; trying again");
                    tokio::time::sleep(Duration::from_secs(2 * round)).await;
                }
                done => return done,
            }
        }
    }

    async fn delete_if_ours(&self) -> Result<(), AwsError> {
        let etag = self.etag.lock().map(|e| e.clone()).unwrap_or_default();
        match self
            .aws
            .delete_object(&self.bucket, &self.key, Some(&etag))
            .await?
        {
            Written::Yes(_) => Ok(()),
            // Renewed by a write whose answer was lost, or forced open and taken.
            Written::ConditionFailed => match self.aws.get_object(&self.bucket, &self.key).await? {
                Some(held) if is_ours(&held.body, &self.record.id) => self
                    .aws
                    .delete_object(&self.bucket, &self.key, Some(&held.etag))
                    .await
                    .map(drop),
                _ => Ok(()),
            },
        }
    }
}

/// Release attempts, each with the SDK's own retries.
const RELEASE_ROUNDS: u64 = 3;

/// Whether a lock object's `body` is the lock `id`.
fn is_ours(body: &[u8], id: &str) -> bool {
    serde_json::from_slice::<LockRecord>(body).is_ok_and(|r| r.id == id)
}

/// Extends the lease every third of it, as long as the lock is still ours.
async fn renew(
    aws: Aws,
    bucket: String,
    key: String,
    mut record: LockRecord,
    etag: Arc<Mutex<String>>,
) {
    loop {
        tokio::time::sleep(LEASE / 3).await;
        record.expires = timestamp(SystemTime::now() + LEASE);
        let body = serde_json::to_vec_pretty(&record).unwrap_or_default();
        let current = etag.lock().map(|e| e.clone()).unwrap_or_default();
        match aws
            .put_object_if(&bucket, &key, body, Condition::Matches(&current))
            .await
        {
            Ok(Written::Yes(new)) => {
                if let Ok(mut e) = etag.lock() {
                    *e = new;
                }
            }
            // Our renewal whose answer was lost (the lock is still ours, at a new ETag),
            // or forced open by someone else: then nothing more to renew.
            Ok(Written::ConditionFailed) => match aws.get_object(&bucket, &key).await {
                Ok(Some(held)) if is_ours(&held.body, &record.id) => {
                    if let Ok(mut e) = etag.lock() {
                        *e = held.etag;
                    }
                }
                Ok(_) => return,
                Err(e) => tracing::warn!("lock renewal: {e}; trying again"),
            },
            Err(e) => tracing::warn!("lock renewal failed: {e}; trying again"),
        }
    }
}

/// The lock of `stack`/`env`, if any.
pub async fn read(
    aws: &Aws,
    bucket: &str,
    stack: &str,
    env: &str,
) -> Result<Option<LockRecord>, AwsError> {
    Ok(aws
        .get_object(bucket, &state_keys::lock(stack, env))
        .await?
        .and_then(|o| serde_json::from_slice(&o.body).ok()))
}

/// Deletes the lock of `stack`/`env` if its id is `id`.
pub async fn force_unlock(
    aws: &Aws,
    bucket: &str,
    stack: &str,
    env: &str,
    id: &str,
) -> Result<LockRecord, LockError> {
    let key = state_keys::lock(stack, env);
    let Some(held) = aws.get_object(bucket, &key).await? else {
        return Err(LockError::NotLocked(format!("{stack}/{env}")));
    };
    let record: LockRecord =
        serde_json::from_slice(&held.body).map_err(|source| LockError::Unreadable {
            key: key.clone(),
            source,
        })?;
    if record.id != id {
        return Err(LockError::OtherId {
            held: record.id,
            given: id.to_owned(),
        });
    }
    match aws.delete_object(bucket, &key, Some(&held.etag)).await {
        // A store without conditional deletes: the id was checked just now, and the
        // user forced the lock open; delete it as it is.
        Err(AwsError::ConditionalDeleteUnsupported { .. }) => {
            aws.delete_object(bucket, &key, None).await?;
        }
        other => {
            other?;
        }
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_expires_at_its_time() {
        let record = LockRecord {
            id: "l".to_owned(),
            holder: "a@b".to_owned(),
            command: "apply".to_owned(),
            started: "2026-11-23T10:00:00Z".to_owned(),
            expires: "2026-11-23T10:02:00Z".to_owned(),
        };
        let at = |t: &str| humantime::parse_rfc3339(t).unwrap();
        assert!(!record.expired(at("2026-11-23T10:01:59Z")));
        assert!(record.expired(at("2026-11-23T10:02:01Z")));
    }
}
