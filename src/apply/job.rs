//! A release job's run: observe the run's instance and what it reported, ask
//! [`rollout::job::next_step`] what to do, do it, and observe again, until the run is
//! recorded. `apply` runs a job as a node of the graph; `rollstack run` runs one by hand.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use super::error::NodeError;
use super::{Executor, NodeOutcome};
use crate::aws::{Aws, AwsError, JobLaunch, Patience};
use crate::model::{Address, Stack};
use crate::observe::{InstanceState, LiveInstance, aws_name, tags};
use crate::plan::diff::short_hash;
use crate::plan::job::JobSpec;
use crate::plan::spec::{ownership_tags, user_tags};
use crate::plan::{Action, JobChange};
use crate::rollout::job::{JobInstance, JobObservation, JobStep, next_step};
use crate::state::jobs::{JobRecord, Place};

/// Lines of a job's log shown when it ends.
const LOG_LINES: usize = 20;

/// How a run ended.
#[derive(Debug)]
pub enum Ran {
    /// A run at this key succeeded before: nothing ran.
    AlreadySucceeded,
    /// The script ran to its end on `instance`: its exit code and output.
    Finished {
        /// The instance.
        instance: String,
        /// The exit code.
        exit_code: i32,
        /// Its output (the last 64 KiB).
        log: String,
    },
    /// It did not report: it timed out, or its instance went away.
    Failed {
        /// Why.
        why: String,
        /// Its output, when it uploaded any.
        log: String,
    },
    /// SIGINT stopped the wait; the instance runs on, and the next run waits for it.
    Interrupted,
}

/// What a run needs: where, how often to look, and who to tell.
pub struct Runner<'a> {
    /// AWS clients.
    pub aws: &'a Aws,
    /// The model.
    pub stack: &'a Stack,
    /// The state bucket.
    pub bucket: &'a str,
    /// Time between two looks.
    pub poll: Duration,
    /// The history entry this run is part of.
    pub history: Option<u32>,
    /// Whether SIGINT asked to stop.
    pub cancelled: &'a (dyn Fn() -> bool + Sync),
    /// Progress lines.
    pub say: &'a (dyn Fn(&str) + Sync),
}

/// What a job's instance is launched from, as known now.
pub struct Resolved {
    /// AMI id.
    pub image_id: String,
    /// Security group ids.
    pub security_group_ids: Vec<String>,
}

impl Runner<'_> {
    fn place(&self) -> Place<'_> {
        Place {
            bucket: self.bucket,
            stack: &self.stack.name,
            env: &self.stack.environment.name,
        }
    }

    /// Runs `spec` at `key` (once: a key recorded as succeeded does not run again),
    /// waiting for the run's instance an earlier, interrupted run left.
    pub async fn run(
        &self,
        spec: &JobSpec,
        key: &str,
        resolved: &Resolved,
    ) -> Result<Ran, AwsError> {
        let place = self.place();
        if place.succeeded(self.aws, &spec.name, key).await? {
            return Ok(Ran::AlreadySucceeded);
        }
        let attempt = place
            .failed(self.aws, &spec.name, key)
            .await?
            .map_or(0, |r| r.attempts);
        let timeout = self.stack.jobs[&spec.name].timeout.0;
        let mut launched: Option<(String, Instant)> = None;
        let mut patience = Patience::default();
        loop {
            if (self.cancelled)() {
                return Ok(Ran::Interrupted);
            }
            let Some(observed) =
                patience.poll(self.observe(spec, key, attempt, &launched).await)?
            else {
                self.nap().await;
                continue;
            };
            match next_step(&observed, timeout) {
                JobStep::AlreadySucceeded => return Ok(Ran::AlreadySucceeded),
                JobStep::Launch => {
                    let id = self.launch(spec, key, attempt, resolved).await?;
                    (self.say)(&format!("running on {id} ({})", spec.release));
                    launched = Some((id, Instant::now()));
                }
                JobStep::Wait(_) => self.nap().await,
                JobStep::Finished { id, exit_code } => {
                    let log = place.log(self.aws, (&spec.name, key), &id).await?;
                    let ran = Ran::Finished {
                        instance: id.clone(),
                        exit_code,
                        log,
                    };
                    return self.end(spec, key, attempt, &id, ran).await;
                }
                JobStep::TimedOut(id) => {
                    let why = format!(
                        "did not finish within its timeout of {}",
                        humantime::format_duration(timeout)
                    );
                    let log = place.log(self.aws, (&spec.name, key), &id).await?;
                    return self
                        .end(spec, key, attempt, &id, Ran::Failed { why, log })
                        .await;
                }
                JobStep::Lost(id) => {
                    let why = format!("its instance `{id}` ended without reporting");
                    let ran = Ran::Failed {
                        why,
                        log: String::new(),
                    };
                    return self.end(spec, key, attempt, &id, ran).await;
                }
            }
        }
    }

    /// The run's instances of attempt `attempt` and what they reported; an instance
    /// this run launched that the listing does not show yet counts as pending.
    async fn observe(
        &self,
        spec: &JobSpec,
        key: &str,
        attempt: u32,
        launched: &Option<(String, Instant)>,
    ) -> Result<JobObservation, AwsError> {
        let scope = (
            self.stack.name.as_str(),
            self.stack.environment.name.as_str(),
        );
        let attempt_tag = attempt.to_string();
        let live = self.aws.job_instances(scope, &spec.name, key).await?;
        let mut instances: Vec<JobInstance> = live
            .iter()
            .filter(|i| i.tag(tags::JOB_ATTEMPT) == Some(attempt_tag.as_str()))
            .map(job_instance)
            .collect();
        if let Some((id, at)) = launched
            && !instances.iter().any(|i| &i.id == id)
        {
            instances.push(JobInstance {
                id: id.clone(),
                state: InstanceState::Pending,
                age: at.elapsed(),
            });
        }
        let ids: Vec<&str> = instances.iter().map(|i| i.id.as_str()).collect();
        let reported = self
            .place()
            .reports(self.aws, (&spec.name, key), &ids)
            .await?;
        Ok(JobObservation {
            succeeded: false,
            instances,
            reported: reported.into_iter().collect(),
        })
    }

    /// Launches the run's instance; a repeat of the call (a lost answer) gets the same
    /// instance back, by the client token of the key's attempt.
    async fn launch(
        &self,
        spec: &JobSpec,
        key: &str,
        attempt: u32,
        resolved: &Resolved,
    ) -> Result<String, AwsError> {
        let stack = self.stack;
        let mut tags: BTreeMap<String, String> =
            ownership_tags(stack, &Address::Job(spec.name.clone()));
        tags.extend(user_tags(stack, None));
        tags.insert(tags::JOB_KEY.to_owned(), key.to_owned());
        tags.insert(tags::JOB_ATTEMPT.to_owned(), attempt.to_string());
        tags.insert(tags::RELEASE.to_owned(), spec.release.clone());
        tags.insert(
            tags::NAME.to_owned(),
            aws_name(stack, &format!("job-{}", spec.name)),
        );
        let user_data = spec.user_data(stack, key);
        let token = short_hash(&format!(
            "{}/{}/{key}/{attempt}",
            stack.name, stack.environment.name
        ));
        let launch = JobLaunch {
            image_id: &resolved.image_id,
            instance_type: &spec.instance_type,
            subnet: spec.subnet.as_deref(),
            security_group_ids: resolved.security_group_ids.clone(),
            instance_profile: spec.instance_profile.as_deref(),
            user_data: &user_data,
            tokens_required: spec.metadata.tokens_required,
            hop_limit: spec.metadata.hop_limit,
            tags: &tags,
            client_token: &token,
        };
        self.aws.run_job_instance(&launch).await
    }

    /// Takes the run's instance down (it shuts itself down once it reported; a timed
    /// out one is stopped here), records how it ended, and says so.
    async fn end(
        &self,
        spec: &JobSpec,
        key: &str,
        attempt: u32,
        id: &str,
        ran: Ran,
    ) -> Result<Ran, AwsError> {
        self.aws.terminate_instances(&[id.to_owned()]).await?;
        let (exit_code, reason, log) = match &ran {
            Ran::Finished { exit_code, log, .. } => (Some(*exit_code), None, log.as_str()),
            Ran::Failed { why, log } => (None, Some(why.clone()), log.as_str()),
            Ran::AlreadySucceeded | Ran::Interrupted => return Ok(ran),
        };
        let succeeded = exit_code == Some(0);
        let record = JobRecord {
            job: spec.name.clone(),
            key: key.to_owned(),
            release: spec.release.clone(),
            outcome: if succeeded { "succeeded" } else { "failed" }.to_owned(),
            exit_code,
            reason,
            instance: id.to_owned(),
            attempts: attempt + 1,
            who: crate::state::identity(),
            finished: crate::state::timestamp(SystemTime::now()),
            history: self.history,
        };
        self.place().record(self.aws, &record).await?;
        let ended = match exit_code {
            Some(code) => format!("{id} exited {code}"),
            None => record.reason.clone().unwrap_or_default(),
        };
        (self.say)(&ended);
        for line in tail(log, LOG_LINES) {
            (self.say)(&format!("  | {line}"));
        }
        Ok(ran)
    }

    async fn nap(&self) {
        let step = Duration::from_millis(100);
        let mut left = self.poll;
        while !left.is_zero() && !(self.cancelled)() {
            let now = left.min(step);
            tokio::time::sleep(now).await;
            left -= now;
        }
    }
}

/// The last `n` lines of `log`.
pub fn tail(log: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// `instance` as the run's decisions see it: its state and age.
fn job_instance(instance: &LiveInstance) -> JobInstance {
    let launched = humantime::parse_rfc3339_weak(instance.launch_time.trim_end_matches('Z'))
        .unwrap_or_else(|_| SystemTime::now());
    JobInstance {
        id: instance.id.clone(),
        state: instance.state,
        age: SystemTime::now()
            .duration_since(launched)
            .unwrap_or_default(),
    }
}

/// Applies the change to job `name`: runs it, or stops a removed job's instances.
pub async fn apply(
    executor: &Executor,
    name: &str,
    action: Action,
    change: &JobChange,
) -> NodeOutcome {
    let address = Address::Job(name.to_owned());
    let result = match action {
        Action::Delete => executor
            .aws
            .terminate_instances(&change.terminate)
            .await
            .map(|()| format!("terminated {}", change.terminate.join(" ")))
            .map_err(NodeError::from),
        _ => run(executor, name).await,
    };
    match result {
        Ok(done) => {
            executor.progress.line(&address, &done);
            NodeOutcome::Done(done)
        }
        Err(NodeError::Interrupted) => NodeOutcome::Interrupted,
        Err(why) => {
            executor.progress.line(&address, "failed");
            NodeOutcome::Failed(why)
        }
    }
}

/// Runs job `name` as the model says, with the outputs known now.
async fn run(executor: &Executor, name: &str) -> Result<String, NodeError> {
    let stack = &executor.stack;
    let job = &stack.jobs[name];
    let version = stack.apps.get(&job.app).map_or("", |a| a.version.as_str());
    let spec = JobSpec::new(stack, name, version, &executor.outputs())
        .map_err(|e| NodeError::Render(e.message))?;
    let key = spec.key().ok_or_else(|| {
        NodeError::Render("its script needs an output that is still not known".to_owned())
    })?;
    let resolved = resolve(executor, name)?;
    let address = Address::Job(name.to_owned());
    let say = |line: &str| executor.progress.line(&address, line);
    let cancelled = || executor.cancelled();
    let runner = Runner {
        aws: &executor.aws,
        stack,
        bucket: stack.state_bucket.as_deref().unwrap_or_default(),
        poll: executor.options.poll_interval,
        history: executor.options.history,
        cancelled: &cancelled,
        say: &say,
    };
    match runner.run(&spec, &key, &resolved).await? {
        Ran::AlreadySucceeded => Ok(format!("{} ran already (run {key})", spec.release)),
        Ran::Finished {
            exit_code: 0,
            instance,
            ..
        } => Ok(format!("{} ran on {instance}", spec.release)),
        Ran::Finished { exit_code, log, .. } => Err(NodeError::Job {
            why: format!("exited with code {exit_code}"),
            log: tail(&log, LOG_LINES).join("\n"),
        }),
        Ran::Failed { why, log } => Err(NodeError::Job {
            why,
            log: tail(&log, LOG_LINES).join("\n"),
        }),
        Ran::Interrupted => Err(NodeError::Interrupted),
    }
}

/// The image id and security group ids job `name` launches with, as known now.
pub fn resolve(executor: &Executor, name: &str) -> Result<Resolved, NodeError> {
    let launch = &executor.stack.jobs[name].launch;
    let image_id = executor
        .observed
        .images
        .get(&launch.image)
        .map(|i| i.id.clone())
        .ok_or_else(|| NodeError::Render("its image was not resolved".to_owned()))?;
    let ids = executor.security_group_ids();
    let security_group_ids = launch
        .security_groups
        .iter()
        .map(|sg| {
            ids.get(sg)
                .cloned()
                .ok_or_else(|| NodeError::NoSecurityGroup(sg.clone()))
        })
        .collect::<Result<_, _>>()?;
    Ok(Resolved {
        image_id,
        security_group_ids,
    })
}
