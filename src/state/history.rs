//! Apply history: `s3://{state_bucket}/rollstack/{stack}/{env}/history/{seq}.json`, one
//! entry per apply, numbered by creating the next key with `If-None-Match: *` so two
//! writers never share a number.

use serde::{Deserialize, Serialize};

use crate::aws::{Aws, AwsError, Condition, Written};
use crate::observe::state_keys;
use crate::plan::Summary;

/// One apply, as recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// Sequence number (1, 2, ...).
    pub seq: u32,
    /// `apply`, `rollback`, `destroy`.
    pub command: String,
    /// `user@host`.
    pub who: String,
    /// Start (RFC 3339).
    pub started: String,
    /// Git commit of the stack file (`dirty` suffix when it has uncommitted changes).
    pub commit: String,
    /// `app@version` per group, for reading the list at a glance.
    pub releases: Vec<String>,
    /// The plan's counts.
    pub summary: Summary,
    /// How it ended.
    pub outcome: Outcome,
    /// What went wrong, when something did.
    pub message: Option<String>,
    /// Seconds from start to end.
    pub duration_secs: u64,
    /// Alarms in `ALARM` that `--ignore-alarms` rolled out under.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_alarms: Vec<String>,
    /// The freeze `--ignore-freeze` applied through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_freeze: Option<super::freeze::Freeze>,
    /// The freeze this apply left (a rollback freezes the environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub froze: Option<super::freeze::Freeze>,
    /// Who ran it: the account and the caller's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::observe::CallerIdentity>,
    /// The workspace run it was part of (`apply DIR`): every stack's entry has its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<WorkspaceRun>,
    /// The effective model applied, sensitive values redacted.
    pub model: serde_json::Value,
}

/// One apply of several stacks: each stack's history entry carries it, so a release of
/// several services is one thing to look up (`history DIR --run ID`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceRun {
    /// The run's id, the same in every stack's entry.
    pub id: String,
    /// The stacks it applied, in order.
    pub stacks: Vec<String>,
}

impl WorkspaceRun {
    /// A new run of `stacks`: its id is the time it started and a random suffix
    /// (`20261203T195012Z-3f9a`), so runs list in order.
    pub fn start(stacks: Vec<String>) -> WorkspaceRun {
        let time = super::timestamp(std::time::SystemTime::now()).replace(['-', ':'], "");
        let random = uuid::Uuid::new_v4().simple().to_string();
        WorkspaceRun {
            id: format!("{time}-{}", &random[..4]),
            stacks,
        }
    }
}

/// How an apply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still running (or killed before it could say).
    InProgress,
    /// Everything converged.
    Succeeded,
    /// A rollout failed and was rolled back to the previous spec.
    RolledBack,
    /// Something failed; what converged stays.
    Failed,
    /// Stopped by SIGINT after a safe step.
    Interrupted,
}

impl Outcome {
    /// Lower-case words for listings.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::InProgress => "in progress",
            Outcome::Succeeded => "succeeded",
            Outcome::RolledBack => "rolled back",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// Sequence numbers recorded for `stack`/`env`, ascending.
async fn numbers(aws: &Aws, bucket: &str, stack: &str, env: &str) -> Result<Vec<u32>, AwsError> {
    let prefix = state_keys::history(stack, env);
    let mut seqs: Vec<u32> = aws
        .list_objects(bucket, &prefix)
        .await?
        .iter()
        .filter_map(|o| {
            o.key
                .strip_prefix(&prefix)?
                .strip_suffix(".json")?
                .parse()
                .ok()
        })
        .collect();
    seqs.sort_unstable();
    Ok(seqs)
}

/// Records `entry` under the next free number, which it returns.
pub async fn create(
    aws: &Aws,
    bucket: &str,
    stack: &str,
    env: &str,
    entry: &mut Entry,
) -> Result<u32, AwsError> {
    let mut seq = numbers(aws, bucket, stack, env)
        .await?
        .last()
        .copied()
        .unwrap_or(0)
        + 1;
    loop {
        entry.seq = seq;
        let body = serde_json::to_vec_pretty(entry).unwrap_or_default();
        let key = state_keys::history_entry(stack, env, seq);
        match aws
            .put_object_if(bucket, &key, body.clone(), Condition::Absent)
            .await?
        {
            Written::Yes(_) => return Ok(seq),
            // Our own write, whose answer was lost, or another writer's.
            Written::ConditionFailed => {
                if aws
                    .get_object(bucket, &key)
                    .await?
                    .is_some_and(|stored| stored.body == body)
                {
                    return Ok(seq);
                }
                seq += 1;
            }
        }
    }
}

/// Rewrites entry `entry.seq` (its final outcome).
pub async fn update(
    aws: &Aws,
    bucket: &str,
    stack: &str,
    env: &str,
    entry: &Entry,
) -> Result<(), AwsError> {
    let body = serde_json::to_vec_pretty(entry).unwrap_or_default();
    aws.put_object(
        bucket,
        &state_keys::history_entry(stack, env, entry.seq),
        body,
    )
    .await
}

/// Every entry of `stack`/`env`, oldest first.
pub async fn list(aws: &Aws, bucket: &str, stack: &str, env: &str) -> Result<Vec<Entry>, AwsError> {
    let seqs = numbers(aws, bucket, stack, env).await?;
    let keys: Vec<String> = seqs
        .iter()
        .map(|seq| state_keys::history_entry(stack, env, *seq))
        .collect();
    let reads = keys.iter().map(|key| aws.get_object(bucket, key));
    let objects = futures_util::future::try_join_all(reads).await?;
    Ok(objects
        .into_iter()
        .flatten()
        .filter_map(|o| serde_json::from_slice(&o.body).ok())
        .collect())
}

/// The entry `rollback` restores by default: the last successful apply before the one
/// that made the current state (a job run by hand, which records no model, is none).
pub fn rollback_target(entries: &[Entry]) -> Option<&Entry> {
    let mut succeeded = entries.iter().rev().filter(|e| {
        e.outcome == Outcome::Succeeded && e.summary != Summary::default() && !e.model.is_null()
    });
    succeeded.next()?;
    succeeded.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u32, outcome: Outcome, changed: bool) -> Entry {
        Entry {
            seq,
            command: "apply".to_owned(),
            who: "a@b".to_owned(),
            started: String::new(),
            commit: "none".to_owned(),
            releases: Vec::new(),
            summary: Summary {
                update: u32::from(changed),
                ..Summary::default()
            },
            outcome,
            message: None,
            duration_secs: 0,
            ignored_alarms: Vec::new(),
            ignored_freeze: None,
            froze: None,
            identity: None,
            run: None,
            model: serde_json::json!({ "name": "shop" }),
        }
    }

    #[test]
    fn rollback_goes_to_the_success_before_the_current_state() {
        let ok = Outcome::Succeeded;
        let cases: &[(&[Entry], Option<u32>)] = &[
            (&[], None),
            (&[entry(1, ok, true)], None),
            (&[entry(1, ok, true), entry(2, ok, true)], Some(1)),
            // A rolled-back apply left the state of #2 in place.
            (
                &[
                    entry(1, ok, true),
                    entry(2, ok, true),
                    entry(3, Outcome::RolledBack, true),
                ],
                Some(1),
            ),
            (
                &[
                    entry(1, ok, true),
                    entry(2, Outcome::Failed, true),
                    entry(3, ok, true),
                ],
                Some(1),
            ),
        ];
        // A job run by hand records no model: it is nothing to roll back to.
        let by_hand = Entry {
            model: serde_json::Value::Null,
            ..entry(2, ok, true)
        };
        let entries = [entry(1, ok, true), by_hand, entry(3, ok, true)];
        assert_eq!(rollback_target(&entries).map(|e| e.seq), Some(1));
        for (entries, expected) in cases {
            assert_eq!(rollback_target(entries).map(|e| e.seq), *expected);
        }
    }
}
