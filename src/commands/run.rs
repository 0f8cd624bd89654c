//! `rollstack run STACK JOB [--env E] [--release VERSION] [--command CMD]`: a release job
//! run by hand (a data fix, a rake task), or a command with the job's launch settings,
//! under the environment's lock, recorded in history; prints the job's output and exits
//! with its exit code.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

use super::Failure;
use crate::apply::job::{Ran, Resolved, Runner};
use crate::aws::{Aws, Reach};
use crate::cli::RunJobArgs;
use crate::model::Stack;
use crate::observe::{Observed, Query};
use crate::plan::diff::short_hash;
use crate::plan::job::JobSpec;
use crate::state::history::{self, Entry, Outcome};
use crate::state::lock::{Lock, LockRequest};
use crate::template::Outputs;

/// Runs the job and exits with its exit code.
pub fn run(args: &RunJobArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let mut stack = super::load(&args.stack, args.env.as_deref())?;
    let bucket = super::state_bucket(&stack, "run")?;
    let Some(job) = stack.jobs.get(&args.job) else {
        return Err(Failure::Refused {
            message: format!("stack `{}` has no job `{}`", stack.name, args.job),
            hint: crate::diagnostic::did_you_mean(&args.job, stack.jobs.keys().map(String::as_str))
                .unwrap_or_else(|| "jobs are defined under `jobs:` in the stack file".to_owned()),
        });
    };
    let version = args.release.clone().unwrap_or_else(|| {
        stack
            .apps
            .get(&job.app)
            .map(|a| a.version.clone())
            .unwrap_or_default()
    });
    // The job runs its app at that release: an image's tag resolves as that release's.
    let app = job.app.clone();
    if let Some(app) = stack.apps.get_mut(&app) {
        app.version.clone_from(&version);
    }
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let aws = super::connect(&stack, reach).await?;
        let identity = super::identify(&aws, &stack).await?;
        aws.check_bucket(&bucket).await.map_err(Failure::Aws)?;
        let interrupted = AtomicBool::new(false);
        let request = LockRequest {
            bucket: &bucket,
            stack: &stack.name,
            env: &stack.environment.name,
            command: "run",
            timeout: args.lock_timeout,
            stack_arg: &args.stack.display().to_string(),
            interrupted: &interrupted,
        };
        let lock = Lock::acquire(&aws, &request)
            .await
            .map_err(|e| Failure::Lock(Box::new(e)))?;
        let result = locked(&aws, &stack, (&bucket, identity), args, &version).await;
        let released = lock.release().await;
        let code = result?;
        released.map_err(Failure::Aws)?;
        Ok(code)
    })
}

/// Under the lock: the job's spec from what AWS holds, a history entry, the run.
async fn locked(
    aws: &Aws,
    stack: &Stack,
    (bucket, identity): (&str, crate::observe::CallerIdentity),
    args: &RunJobArgs,
    version: &str,
) -> Result<ExitCode, Failure> {
    let observed = crate::aws::observe(aws, &Query::for_stack(stack))
        .await
        .map_err(Failure::Aws)?;
    if let Some(missing) = observed.missing_images.first() {
        return Err(Failure::Refused {
            message: format!(
                "image `{}:{}` of app `{}` is not in ECR",
                missing.repository, missing.version, missing.app
            ),
            hint: "push the image first, or run another `--release`".to_owned(),
        });
    }
    let outputs = live_outputs(&observed, stack);
    let spec = match &args.command {
        Some(command) => {
            let script = format!("#!/bin/sh\n{command}\n");
            JobSpec::with_script(stack, &args.job, version, script, &outputs)
        }
        None => {
            JobSpec::new(stack, &args.job, version, &outputs).map_err(|e| Failure::Refused {
                message: format!("job `{}`'s script does not render: {}", args.job, e.message),
                hint: "`rollstack validate` shows where".to_owned(),
            })?
        }
    };
    // A run by hand always runs: its key is its own.
    let key = short_hash(&format!(
        "{}/{}",
        spec.key().unwrap_or_default(),
        uuid::Uuid::new_v4()
    ));
    let resolved = resolve(&observed, stack, &args.job)?;
    let started = Instant::now();
    let mut entry = entry(&spec.release, args);
    entry.identity = Some(identity);
    let (name, env) = (&stack.name, &stack.environment.name);
    history::create(aws, bucket, name, env, &mut entry)
        .await
        .map_err(Failure::Aws)?;
    let say = |line: &str| eprintln!("job.{}: {line}", args.job);
    let interrupted = AtomicBool::new(false);
    let cancelled = || interrupted.load(Ordering::SeqCst);
    let runner = Runner {
        aws,
        stack,
        bucket,
        poll: args.poll_interval,
        history: Some(entry.seq),
        cancelled: &cancelled,
        say: &say,
    };
    let ran = tokio::select! {
        ran = runner.run(&spec, &key, &resolved) => ran.map_err(Failure::Aws)?,
        _ = tokio::signal::ctrl_c() => {
            interrupted.store(true, Ordering::SeqCst);
            Ran::Interrupted
        }
    };
    let (outcome, message, code, log) = ended(&ran, &args.job);
    // The job's output, as it wrote it: what `heroku run` and `kamal app exec` print.
    print!("{log}");
    entry.outcome = outcome;
    entry.message.clone_from(&message);
    entry.duration_secs = started.elapsed().as_secs();
    history::update(aws, bucket, name, env, &entry)
        .await
        .map_err(Failure::Aws)?;
    if let Some(message) = message {
        eprintln!("error: {message} (history #{})", entry.seq);
    }
    Ok(code)
}

/// How a run by hand ended: its outcome, what went wrong, the exit code, the output.
fn ended<'a>(ran: &'a Ran, job: &str) -> (Outcome, Option<String>, ExitCode, &'a str) {
    match ran {
        Ran::Finished {
            exit_code: 0, log, ..
        } => (Outcome::Succeeded, None, ExitCode::SUCCESS, log),
        Ran::Finished { exit_code, log, .. } => (
            Outcome::Failed,
            Some(format!("job `{job}` exited with code {exit_code}")),
            ExitCode::from(
                u8::try_from(*exit_code)
                    .ok()
                    .filter(|c| *c != 0)
                    .unwrap_or(1),
            ),
            log,
        ),
        Ran::Failed { why, log } => (
            Outcome::Failed,
            Some(format!("job `{job}` {why}")),
            ExitCode::FAILURE,
            log,
        ),
        Ran::Interrupted | Ran::AlreadySucceeded => (
            Outcome::Interrupted,
            Some("interrupted: the job's instance runs on".to_owned()),
            ExitCode::from(crate::apply::session::INTERRUPTED),
            "",
        ),
    }
}

/// The outputs of the environment's live CloudFormation stacks: a run by hand uses
/// what is deployed.
fn live_outputs(observed: &Observed, stack: &Stack) -> Outputs {
    stack
        .cloudformation
        .keys()
        .filter_map(|node| {
            let name = crate::observe::aws_name(stack, node);
            let live = observed.cloudformation.iter().find(|s| s.name == name)?;
            Some((node.clone(), live.outputs.clone()))
        })
        .chain(observed.image_digests())
        .collect()
}

/// The image id and security group ids the job launches with.
fn resolve(observed: &Observed, stack: &Stack, job: &str) -> Result<Resolved, Failure> {
    let launch = &stack.jobs[job].launch;
    let refuse = |message: String| Failure::Refused {
        message,
        hint: "apply the stack first: a job launches into what it made".to_owned(),
    };
    let image_id = observed
        .images
        .get(&launch.image)
        .map(|i| i.id.clone())
        .ok_or_else(|| refuse(format!("job `{job}`'s image was not found")))?;
    let ids = observed.security_group_ids(stack);
    let security_group_ids = launch
        .security_groups
        .iter()
        .map(|sg| {
            ids.get(sg)
                .cloned()
                .ok_or_else(|| refuse(format!("security group `{sg}` does not exist")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Resolved {
        image_id,
        security_group_ids,
    })
}

/// The history entry of a run by hand, in progress.
fn entry(release: &str, args: &RunJobArgs) -> Entry {
    Entry {
        seq: 0,
        command: format!("run {}", args.job),
        who: crate::state::identity(),
        started: crate::state::timestamp(SystemTime::now()),
        commit: crate::git::git_commit(&args.stack),
        releases: vec![release.to_owned()],
        summary: crate::plan::Summary {
            run: 1,
            ..Default::default()
        },
        outcome: Outcome::InProgress,
        message: None,
        duration_secs: 0,
        ignored_alarms: Vec::new(),
        ignored_freeze: None,
        froze: None,
        identity: None,
        run: None,
        model: serde_json::Value::Null,
    }
}
