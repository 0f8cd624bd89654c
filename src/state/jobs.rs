//! Release jobs' results: what a job's instance reports (`{instance}.json` and
//! `{instance}.log`, written by its wrapper), and rollstack's record of each run's
//! outcome (`succeeded.json`, `failed.json`), under `jobs/{job}/{key}/`.

use serde::{Deserialize, Serialize};

use crate::aws::{Aws, AwsError};
use crate::observe::state_keys;
use crate::rollout::job::Reported;

/// rollstack's record of a run: who, when, how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job.
    pub job: String,
    /// The key of the run.
    pub key: String,
    /// `app@version` it ran.
    pub release: String,
    /// `succeeded` or `failed`.
    pub outcome: String,
    /// The script's exit code, when it reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The instance it ran on.
    pub instance: String,
    /// Attempts made at this key, this one included.
    pub attempts: u32,
    /// `user@host` of the run that recorded it.
    pub who: String,
    /// When it ended (RFC 3339).
    pub finished: String,
    /// The history entry of the apply (or `run`) it was part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<u32>,
}

impl JobRecord {
    /// Whether the run succeeded.
    pub fn succeeded(&self) -> bool {
        self.outcome == "succeeded"
    }
}

/// What a job instance's wrapper writes when the script ends.
#[derive(Deserialize)]
struct Report {
    exit_code: i32,
}

/// Where one environment's job records are.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    /// The state bucket.
    pub bucket: &'a str,
    /// The stack.
    pub stack: &'a str,
    /// The environment.
    pub env: &'a str,
}

impl Place<'_> {
    /// The failed record of job `job`'s run at `key`, if any: how many attempts it made.
    pub async fn failed(
        &self,
        aws: &Aws,
        job: &str,
        key: &str,
    ) -> Result<Option<JobRecord>, AwsError> {
        let at = state_keys::job_record(self.stack, self.env, job, key, false);
        read(aws, self.bucket, &at).await
    }

    /// Whether job `job`'s run at `key` is recorded as succeeded.
    pub async fn succeeded(&self, aws: &Aws, job: &str, key: &str) -> Result<bool, AwsError> {
        let at = state_keys::job_record(self.stack, self.env, job, key, true);
        Ok(aws.get_object(self.bucket, &at).await?.is_some())
    }

    /// What the instances `ids` of job `job`'s run at `key` reported, by id: one
    /// `ListObjectsV2` of the run, and one `GetObject` per report there.
    pub async fn reports(
        &self,
        aws: &Aws,
        (job, key): (&str, &str),
        ids: &[&str],
    ) -> Result<Vec<(String, Reported)>, AwsError> {
        let prefix = state_keys::job_runs(self.stack, self.env, job, key);
        let mut found = Vec::new();
        for object in aws.list_objects(self.bucket, &prefix).await? {
            let Some(id) = object
                .key
                .strip_prefix(&prefix)
                .and_then(|k| k.strip_suffix(".json"))
                .filter(|id| ids.contains(id))
            else {
                continue;
            };
            if let Some(stored) = aws.get_object(self.bucket, &object.key).await?
                && let Ok(report) = serde_json::from_slice::<Report>(&stored.body)
            {
                let reported = Reported {
                    exit_code: report.exit_code,
                };
                found.push((id.to_owned(), reported));
            }
        }
        Ok(found)
    }

    /// The output instance `id` of job `job`'s run at `key` uploaded (its last 64 KiB).
    pub async fn log(
        &self,
        aws: &Aws,
        (job, key): (&str, &str),
        id: &str,
    ) -> Result<String, AwsError> {
        let at = format!(
            "{}{id}.log",
            state_keys::job_runs(self.stack, self.env, job, key)
        );
        Ok(aws
            .get_object(self.bucket, &at)
            .await?
            .map(|s| String::from_utf8_lossy(&s.body).into_owned())
            .unwrap_or_default())
    }

    /// Records how a run ended (a failed record replaces the key's last one).
    pub async fn record(&self, aws: &Aws, record: &JobRecord) -> Result<(), AwsError> {
        let at = state_keys::job_record(
            self.stack,
            self.env,
            &record.job,
            &record.key,
            record.succeeded(),
        );
        let body = serde_json::to_vec_pretty(record).unwrap_or_default();
        aws.put_object(self.bucket, &at, body).await
    }

    /// The latest record of every job of the environment (for `status`).
    pub async fn latest(&self, aws: &Aws) -> Result<Vec<JobRecord>, AwsError> {
        let prefix = state_keys::jobs(self.stack, self.env);
        let mut latest: std::collections::BTreeMap<String, JobRecord> = Default::default();
        for object in aws.list_objects(self.bucket, &prefix).await? {
            let listed = object.key.strip_prefix(&prefix).unwrap_or_default();
            if state_keys::parse_job_record(listed).is_none() {
                continue;
            }
            let Some(record) = read(aws, self.bucket, &object.key).await? else {
                continue;
            };
            let newer = latest
                .get(&record.job)
                .is_none_or(|r| r.finished <= record.finished);
            if newer {
                latest.insert(record.job.clone(), record);
            }
        }
        Ok(latest.into_values().collect())
    }
}

async fn read(aws: &Aws, bucket: &str, key: &str) -> Result<Option<JobRecord>, AwsError> {
    Ok(aws
        .get_object(bucket, key)
        .await?
        .and_then(|s| serde_json::from_slice(&s.body).ok()))
}
