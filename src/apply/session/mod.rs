//! One locked change to an environment: plan, show, confirm, execute, record. `apply`,
//! `destroy`, `rollback` and `env` share it; the command around it connects and reads
//! the environment's inputs.

mod error;
mod frozen;
mod interrupt;
mod notice;
mod published;
mod saved;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::{Executor, Known, Options, Progress, Report};
use crate::aws::{Aws, AwsError};
use crate::cli::{PlanFormat, RunArgs};
use crate::diagnostic::color_on;
use crate::model::notify::Event;
use crate::model::{Address, Edge, Stack};
use crate::observe::{AlarmState, CallerIdentity, Freeze, LiveAlarm, Observed};
use crate::plan::diff::EnvironmentValues;
use crate::plan::{self, Action, Plan, Redactor, render};
use crate::planning::{ChangeSets, Planned, Request};
use crate::state::expiry;
use crate::state::history::{self, Entry, Outcome};
use crate::state::lock::{Lock, LockRequest};

pub use error::SessionError;
use interrupt::Interrupt;

/// Exit code of a command stopped by SIGINT.
pub const INTERRUPTED: u8 = 130;

/// One locked change to an environment.
pub struct Session {
    /// The stack file (for its git commit) or the plan file.
    pub file: PathBuf,
    /// The model to converge to.
    pub stack: Stack,
    /// `apply`, `destroy`, `rollback`.
    pub command: &'static str,
    /// How to run.
    pub run: RunArgs,
    /// A saved plan to apply exactly.
    pub saved: Option<Plan>,
    /// Dependencies among resources the plan deletes, so dependents go first (`destroy`
    /// passes the stack file's; otherwise deletes are ordered by kind only).
    pub teardown: Vec<Edge>,
    /// The workspace run this session is part of, recorded in its history entry.
    pub workspace_run: Option<history::WorkspaceRun>,
}

/// What a session runs with: the clients, the state bucket, and the environment's
/// `from_env` values with the redactor of its secrets.
pub struct Inputs<'a> {
    /// AWS clients.
    pub aws: &'a Aws,
    /// The state bucket, for the lock and history.
    pub bucket: &'a str,
    /// Values of `from_env` parameters.
    pub environment: &'a EnvironmentValues,
    /// Hides every sensitive value known.
    pub redactor: &'a Redactor,
    /// Who the credentials are: shown in the plan and the prompt, kept in history.
    pub identity: &'a CallerIdentity,
}

impl Session {
    /// Runs the session; exit 0 when everything converged, 1 on failure or rollback, 130
    /// when interrupted.
    pub async fn run(&self, inputs: &Inputs<'_>) -> Result<ExitCode, SessionError> {
        // SIGINT is ours from the start: before anything is changed it stops the session
        // (the lock released); during the apply it stops every node after a safe step.
        let interrupt = Interrupt::listen();
        let result = self.interruptible(inputs, &interrupt).await;
        interrupt.stop();
        result
    }

    async fn interruptible(
        &self,
        inputs: &Inputs<'_>,
        interrupt: &Interrupt,
    ) -> Result<ExitCode, SessionError> {
        if let Some(saved) = &self.saved {
            saved::check_account(saved, inputs.identity)?;
        }
        let freeze = self.check_freeze(inputs).await?;
        if self.saved.is_none() {
            // Nothing to do takes no lock and writes nothing: a converged stack stays
            // untouched however often CI applies it.
            let (_, plan) = self.plan(inputs, freeze.as_ref()).await?;
            if !plan.has_changes() {
                self.show(inputs.redactor, &plan)?;
                expiry::extend(inputs.aws, &self.stack).await?;
                return Ok(ExitCode::SUCCESS);
            }
            if interrupt.happened() {
                return Ok(self.interrupted_before_changes());
            }
        }
        let stack_arg = self.file.display().to_string();
        let request = LockRequest {
            bucket: inputs.bucket,
            stack: &self.stack.name,
            env: &self.stack.environment.name,
            command: self.command,
            timeout: self.run.lock_timeout,
            stack_arg: &stack_arg,
            interrupted: &interrupt.flag,
        };
        let lock = Lock::acquire(inputs.aws, &request)
            .await
            .map_err(|e| SessionError::Lock(Box::new(e)))?;
        let id = lock.record().id.clone();
        let result = self.locked(inputs, &lock, interrupt, freeze).await;
        if let Err(e) = lock.release().await {
            // Said whatever the apply's own outcome, which follows.
            eprintln!("error: the lock `{id}` could not be released: {e}");
            let unlock = format!(
                "`rollstack unlock {stack_arg} --env {} --force {id}`",
                self.stack.environment.name
            );
            match e {
                AwsError::ConditionalDeleteUnsupported { .. } => {
                    eprintln!("  hint: {}; free this lock with {unlock}", e.hint());
                }
                _ => eprintln!("  hint: once no run of this stack is left, free it with {unlock}"),
            }
            return result.map(|_| ExitCode::FAILURE);
        }
        result
    }

    /// Under the lock: plan again, confirm, execute, record.
    async fn locked(
        &self,
        inputs: &Inputs<'_>,
        lock: &Lock,
        interrupt: &Interrupt,
        freeze: Option<Freeze>,
    ) -> Result<ExitCode, SessionError> {
        let (observed, plan) = self.plan(inputs, freeze.as_ref()).await?;
        if let Some(saved) = &self.saved {
            saved::check_fresh(saved, &plan)?;
        }
        self.show(inputs.redactor, &plan)?;
        if !plan.has_changes() {
            expiry::extend(inputs.aws, &self.stack).await?;
            return Ok(ExitCode::SUCCESS);
        }
        if !self.run.auto_approve && !interrupt.confirm(self.command, &plan).await? {
            eprintln!("{} cancelled; nothing was changed.", self.command);
            return Ok(ExitCode::FAILURE);
        }
        if interrupt.happened() {
            return Ok(self.interrupted_before_changes());
        }
        let started = Instant::now();
        let commit = plan.commit.clone().unwrap_or_else(|| "none".to_owned());
        let mut entry = self.entry(inputs.redactor, &plan, lock, &commit);
        entry.ignored_alarms = self.ignored_alarms(&observed, &plan);
        entry.ignored_freeze.clone_from(&freeze);
        let (stack, env) = (&self.stack.name, &self.stack.environment.name);
        history::create(inputs.aws, inputs.bucket, stack, env, &mut entry).await?;
        let notices = notice::Notices::new(self, &observed);
        notices
            .send(self, inputs, Event::Started, (&plan, &entry))
            .await;
        let prepared = match carry_out_moves(inputs.aws, &plan).await {
            Ok(()) => crate::apply::dns::set_steady(inputs.aws, &self.stack, &plan).await,
            Err(e) => Err(e),
        };
        if let Err(e) = prepared {
            entry.outcome = Outcome::Failed;
            entry.message = Some(e.to_string());
            entry.duration_secs = started.elapsed().as_secs();
            history::update(inputs.aws, inputs.bucket, stack, env, &entry).await?;
            notices.ended(self, inputs, &plan, &entry).await;
            return Err(e.into());
        }
        let report = self
            .execute(inputs, observed, &plan, (commit, entry.seq), interrupt)
            .await;
        let problems = report.problems();
        entry.outcome = report.outcome();
        entry.message =
            (!problems.is_empty()).then(|| inputs.redactor.redact(&problems.join("\n")));
        entry.duration_secs = started.elapsed().as_secs();
        entry.froze = self
            .freeze_after_rollback(inputs, &entry, &problems, freeze.as_ref())
            .await?;
        history::update(inputs.aws, inputs.bucket, stack, env, &entry).await?;
        if entry.outcome == Outcome::Succeeded {
            published::publish(self, inputs, (&plan, &report.outputs), entry.seq).await?;
        }
        notices.ended(self, inputs, &plan, &entry).await;
        self.conclude(inputs, &plan, &entry, &problems).await
    }

    /// The plan, and what AWS holds as it was made (moves carried out); for a saved plan,
    /// with its images and change sets. Refused while an alarm a rollout watches fires.
    async fn plan(
        &self,
        inputs: &Inputs<'_>,
        freeze: Option<&Freeze>,
    ) -> Result<(Observed, Plan), SessionError> {
        let commit = Some(crate::git::git_commit(&self.file)).filter(|c| c != "none");
        // In a workspace, producers apply before their consumers plan: nothing pending.
        let pending = std::collections::BTreeMap::new();
        let request = Request {
            stack: &self.stack,
            environment: inputs.environment,
            redactor: inputs.redactor,
            identity: inputs.identity,
            freeze,
            commit: commit.as_deref(),
            change_sets: self
                .saved
                .as_ref()
                .map_or(ChangeSets::None, ChangeSets::Adopt),
            pending: &pending,
        };
        let Planned { plan, observed } = crate::planning::plan(inputs.aws, &request).await?;
        let firing = firing_alarms(&self.stack, &observed, &plan);
        if !firing.is_empty() && !self.run.ignore_alarms {
            return Err(SessionError::Alarms(firing));
        }
        Ok((observed, plan))
    }

    /// The alarms in `ALARM` that this session rolls out under, by `--ignore-alarms`.
    fn ignored_alarms(&self, observed: &Observed, plan: &Plan) -> Vec<String> {
        if !self.run.ignore_alarms {
            return Vec::new();
        }
        firing_alarms(&self.stack, observed, plan)
            .into_iter()
            .map(|a| a.name)
            .collect()
    }

    /// The history entry of this session, in progress.
    fn entry(&self, redactor: &Redactor, plan: &Plan, lock: &Lock, commit: &str) -> Entry {
        Entry {
            seq: 0,
            command: self.command.to_owned(),
            who: lock.record().holder.clone(),
            started: crate::state::timestamp(SystemTime::now()),
            commit: commit.to_owned(),
            releases: self
                .stack
                .apps
                .iter()
                .map(|(app, a)| format!("{app}@{}", a.version))
                .collect(),
            summary: plan.summary,
            outcome: Outcome::InProgress,
            message: None,
            duration_secs: 0,
            ignored_alarms: Vec::new(),
            ignored_freeze: None,
            froze: None,
            identity: plan.identity.clone(),
            run: self.workspace_run.clone(),
            model: pinned_images(redacted_model(redactor, &plan.model), plan),
        }
    }

    /// Carries `plan` out; SIGINT stops it after the current step of every node.
    async fn execute(
        &self,
        inputs: &Inputs<'_>,
        observed: Observed,
        plan: &Plan,
        (commit, history): (String, u32),
        interrupt: &Interrupt,
    ) -> Report {
        let stack = &self.stack;
        let known = Known {
            outputs: plan::diff::known_outputs(
                stack,
                &observed,
                inputs.environment,
                inputs.redactor,
            ),
            environment: inputs.environment.clone(),
        };
        let options = Options {
            parallelism: self.run.parallelism,
            poll_interval: self.run.poll_interval,
            commit,
            ignored_alarms: self.ignored_alarms(&observed, plan),
            history: Some(history),
        };
        let progress = Progress::new(std::io::stderr().is_terminal());
        let mut executor = Executor::new(
            inputs.aws.clone(),
            stack.clone(),
            observed,
            plan,
            known,
            options,
            progress,
        );
        executor.cancel = interrupt.flag.clone();
        super::execute(Arc::new(executor), plan, &self.teardown).await
    }

    /// Prints the plan about to be carried out, in the format asked for.
    fn show(&self, redactor: &Redactor, plan: &Plan) -> Result<(), SessionError> {
        let shown = match self.run.format {
            PlanFormat::Text => render::text(plan, stdout_color()),
            PlanFormat::Markdown => render::markdown(plan),
            PlanFormat::Json => {
                let mut json = serde_json::to_string_pretty(plan).map_err(std::io::Error::other)?;
                json.push('\n');
                json
            }
        };
        print(redactor, &shown)
    }

    /// Exit 130 for a session SIGINT stopped before it changed anything.
    fn interrupted_before_changes(&self) -> ExitCode {
        eprintln!(
            "error: {} interrupted before it changed anything",
            self.command
        );
        ExitCode::from(INTERRUPTED)
    }

    /// Says how the session ended, and exits accordingly.
    async fn conclude(
        &self,
        inputs: &Inputs<'_>,
        plan: &Plan,
        entry: &Entry,
        problems: &[String],
    ) -> Result<ExitCode, SessionError> {
        let elapsed =
            humantime::format_duration(std::time::Duration::from_secs(entry.duration_secs));
        let outcome = entry.outcome;
        if outcome == Outcome::Succeeded {
            expiry::extend(inputs.aws, &self.stack).await?;
            let done = format!(
                "\n{} complete in {elapsed}: {} (history #{})\n",
                capitalised(self.command),
                plan.summary.line().trim_start_matches("Plan: "),
                entry.seq
            );
            if self.run.format == PlanFormat::Text {
                print(inputs.redactor, &done)?;
            } else {
                eprint!("{}", inputs.redactor.redact(&done));
            }
            return Ok(ExitCode::SUCCESS);
        }
        for line in problems {
            eprintln!("{}", inputs.redactor.redact(line));
        }
        eprintln!(
            "error: {} {} after {elapsed} (history #{})",
            self.command,
            outcome.word(),
            entry.seq
        );
        if outcome != Outcome::Interrupted {
            return Ok(ExitCode::FAILURE);
        }
        eprintln!(
            "  hint: run the same command again to finish; every step is re-derived from AWS"
        );
        Ok(ExitCode::from(INTERRUPTED))
    }
}

fn stdout_color() -> bool {
    color_on(&std::io::stdout())
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn print(redactor: &Redactor, text: &str) -> Result<(), SessionError> {
    std::io::stdout()
        .lock()
        .write_all(redactor.redact(text).as_bytes())?;
    Ok(())
}

fn redacted_model(redactor: &Redactor, model: &serde_json::Value) -> serde_json::Value {
    let text = serde_json::to_string(model).unwrap_or_default();
    serde_json::from_str(&redactor.redact(&text)).unwrap_or_default()
}

/// The model a rollback to this entry restores runs the image digests this apply
/// launched, not whatever their tags name by then: each app's version is its digest.
fn pinned_images(mut model: serde_json::Value, plan: &Plan) -> serde_json::Value {
    for (app, image) in &plan.container_images {
        if let Some(version) = model.pointer_mut(&format!("/apps/{app}/version")) {
            *version = serde_json::Value::String(image.digest.clone());
        }
    }
    model
}

/// Retags the live resources of each `moved` group as its new address: one
/// `CreateTags` per move, safe to repeat (a re-run finds them moved and plans none).
async fn carry_out_moves(aws: &Aws, plan: &Plan) -> Result<(), crate::aws::AwsError> {
    for m in &plan.moves {
        aws.tag_resources(&m.resources(), &m.tags).await?;
    }
    Ok(())
}

/// The alarms in `ALARM` that a group the plan rolls (creates, replaces or updates)
/// watches: a rollout never starts under one unless told to.
fn firing_alarms(stack: &Stack, observed: &Observed, plan: &Plan) -> Vec<LiveAlarm> {
    let mut names = std::collections::BTreeSet::new();
    for (name, group) in &stack.groups {
        let rolls = plan
            .change(&Address::Group(name.clone()))
            .is_some_and(|c| !matches!(c.action, Action::NoOp | Action::Delete));
        if rolls {
            names.extend(group.rollout.alarms.iter());
        }
    }
    for (name, site) in &stack.sites {
        let flips = plan
            .change(&Address::Site(name.clone()))
            .is_some_and(|c| c.action != Action::NoOp);
        if flips {
            names.extend(site.alarms.iter());
        }
    }
    observed
        .alarms
        .iter()
        .filter(|a| a.state == AlarmState::Alarm && names.contains(&a.name))
        .cloned()
        .collect()
}
