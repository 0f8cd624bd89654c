//! `rollstack apply (STACK [--env E] | PLANFILE)`, and the locked plan -> confirm ->
//! execute -> record session that `destroy` and `rollback` share.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use super::Failure;
use crate::apply::history::{self, Entry, Outcome};
use crate::apply::lock::{self, Lock, LockRequest};
use crate::apply::{self, Executor, Known, Options, Progress};
use crate::aws::{Aws, Reach};
use crate::cli::{ApplyArgs, RunArgs};
use crate::model::{Reference, Stack};
use crate::observe::Query;
use crate::plan::diff::EnvironmentValues;
use crate::plan::spec::lifecycle_tags;
use crate::plan::{self, Detail, Plan, Redactor, render};
use crate::validate::validate_file;

/// Exit code of a command stopped by SIGINT.
const INTERRUPTED: u8 = 130;

/// Applies a stack file's environment, or a saved plan.
pub fn run(args: &ApplyArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    if let Some(saved) = read_saved_plan(&args.target)? {
        let stack: Stack =
            serde_json::from_value(saved.model.clone()).map_err(|e| Failure::Refused {
                message: format!(
                    "`{}` is not a plan this rollstack can apply: {e}",
                    args.target.display()
                ),
                hint: "make the plan again with `rollstack plan STACK --out FILE`".to_owned(),
            })?;
        let session = Session {
            file: args.target.clone(),
            stack,
            command: "apply",
            run: args.run.clone(),
            saved: Some(saved),
            teardown: Vec::new(),
        };
        return session.run(reach);
    }
    let stack = validate_file(&args.target)
        .and_then(|v| v.select(&args.target, args.env.as_deref()))
        .map_err(Failure::Invalid)?;
    Session {
        file: args.target.clone(),
        stack,
        command: "apply",
        run: args.run.clone(),
        saved: None,
        teardown: Vec::new(),
    }
    .run(reach)
}

/// A plan file is JSON with a `format_version`; anything else is a stack file.
fn read_saved_plan(path: &Path) -> Result<Option<Plan>, Failure> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    if !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Failure::Refused {
            message: format!("`{}` is not a saved plan: {e}", path.display()),
            hint: "save one with `rollstack plan STACK --out FILE`".to_owned(),
        })
}

/// One locked change to an environment: plan, show, confirm, execute, record.
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
    pub teardown: Vec<Reference>,
}

impl Session {
    /// Runs the session; exit 0 when everything converged, 1 on failure or rollback, 130
    /// when interrupted.
    pub fn run(self, reach: &Reach) -> Result<ExitCode, Failure> {
        let Some(bucket) = self.stack.state_bucket.clone() else {
            return Err(Failure::Refused {
                message: format!(
                    "`{}` needs a state bucket for its lock and history",
                    self.command
                ),
                hint: "add `state_bucket: NAME` to the stack file".to_owned(),
            });
        };
        let (env_values, redactor) = super::plan::read_environment(&self.file, &self.stack)?;
        let runtime = super::runtime()?;
        runtime.block_on(async {
            let aws = Aws::connect(&reach.to(&self.stack.region))
                .await
                .map_err(Failure::Aws)?;
            let result = self.connected(&aws, &bucket, &env_values, &redactor).await;
            // Printed however the session ends: a refused apply shows it wrote nothing.
            if self.run.stats {
                super::print_stats(aws.stats());
            }
            result
        })
    }

    async fn connected(
        &self,
        aws: &Aws,
        bucket: &str,
        env_values: &EnvironmentValues,
        redactor: &Redactor,
    ) -> Result<ExitCode, Failure> {
        aws.check_bucket(bucket).await.map_err(Failure::Aws)?;
        super::bootstrap::warn_about(aws, bucket, &self.file.display().to_string()).await;
        if self.saved.is_none() {
            // Nothing to do takes no lock and writes nothing: a converged stack stays
            // untouched however often CI applies it.
            let (_, plan) = self.plan(aws, env_values, redactor).await?;
            if !plan.has_changes() {
                let stdout_color = super::color_on(&std::io::stdout());
                print(redactor, &render::text(&plan, stdout_color))?;
                extend_expiry(aws, &self.stack).await?;
                return Ok(ExitCode::SUCCESS);
            }
        }
        let stack_arg = self.file.display().to_string();
        let request = LockRequest {
            bucket,
            stack: &self.stack.name,
            env: &self.stack.environment.name,
            command: self.command,
            timeout: self.run.lock_timeout,
            stack_arg: &stack_arg,
        };
        let lock = Lock::acquire(aws, &request)
            .await
            .map_err(|e| Failure::Lock(Box::new(e)))?;
        let id = lock.record().id.clone();
        let result = self.locked(aws, bucket, &lock, env_values, redactor).await;
        if let Err(e) = lock.release().await {
            // Said whatever the apply's own outcome, which follows.
            eprintln!("error: the lock `{id}` could not be released: {e}");
            eprintln!(
                "  hint: once no run of this stack is left, free it with `rollstack unlock {stack_arg} --env {} --force {id}`",
                self.stack.environment.name
            );
            return result.map(|_| ExitCode::FAILURE);
        }
        result
    }

    async fn locked(
        &self,
        aws: &Aws,
        bucket: &str,
        lock: &Lock,
        env_values: &EnvironmentValues,
        redactor: &Redactor,
    ) -> Result<ExitCode, Failure> {
        let stack = &self.stack;
        let (observed, mut plan) = self.plan(aws, env_values, redactor).await?;
        if let Some(saved) = &self.saved {
            check_fresh(saved, &plan)?;
            adopt_change_sets(aws, saved, &mut plan).await?;
        }
        let stdout_color = super::color_on(&std::io::stdout());
        print(redactor, &render::text(&plan, stdout_color))?;
        if !plan.has_changes() {
            extend_expiry(aws, stack).await?;
            return Ok(ExitCode::SUCCESS);
        }
        if !self.run.auto_approve && !confirm(self.command)? {
            eprintln!("{} cancelled; nothing was changed.", self.command);
            return Ok(ExitCode::FAILURE);
        }
        let started = Instant::now();
        let commit = history::git_commit(&self.file);
        let model = redacted_model(redactor, &plan.model);
        let mut entry = Entry {
            seq: 0,
            command: self.command.to_owned(),
            who: lock.record().holder.clone(),
            started: lock::timestamp(SystemTime::now()),
            commit: commit.clone(),
            releases: stack
                .apps
                .iter()
                .map(|(app, a)| format!("{app}@{}", a.version))
                .collect(),
            summary: plan.summary,
            outcome: Outcome::InProgress,
            message: None,
            duration_secs: 0,
            model,
        };
        history::create(
            aws,
            bucket,
            &stack.name,
            &stack.environment.name,
            &mut entry,
        )
        .await
        .map_err(Failure::Aws)?;
        let executor = Arc::new(Executor::new(
            aws.clone(),
            stack.clone(),
            observed.clone(),
            &plan,
            Known {
                outputs: crate::plan::diff::known_outputs(stack, &observed, env_values, redactor),
                environment: env_values.clone(),
            },
            Options {
                parallelism: self.run.parallelism,
                poll_interval: self.run.poll_interval,
                commit,
            },
            Progress::new(std::io::stderr().is_terminal()),
        ));
        let cancel = executor.cancel.clone();
        let interrupt = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "interrupt: finishing the current step, then stopping (the lock is released)"
                );
                cancel.store(true, Ordering::SeqCst);
            }
        });
        let report = apply::execute(executor, &plan, &self.teardown).await;
        interrupt.abort();
        let problems = report.problems();
        entry.outcome = report.outcome();
        entry.message = (!problems.is_empty()).then(|| redactor.redact(&problems.join("\n")));
        entry.duration_secs = started.elapsed().as_secs();
        history::update(aws, bucket, &stack.name, &stack.environment.name, &entry)
            .await
            .map_err(Failure::Aws)?;
        let elapsed =
            humantime::format_duration(std::time::Duration::from_secs(entry.duration_secs));
        match entry.outcome {
            Outcome::Succeeded => {
                extend_expiry(aws, stack).await?;
                print(
                    redactor,
                    &format!(
                        "\n{} complete in {elapsed}: {} (history #{})\n",
                        capitalised(self.command),
                        plan.summary.line().trim_start_matches("Plan: "),
                        entry.seq
                    ),
                )?;
                Ok(ExitCode::SUCCESS)
            }
            outcome => {
                for line in &problems {
                    eprintln!("{}", redactor.redact(line));
                }
                eprintln!(
                    "error: {} {} after {elapsed} (history #{})",
                    self.command,
                    outcome.word(),
                    entry.seq
                );
                if outcome == Outcome::Interrupted {
                    eprintln!(
                        "  hint: run the same command again to finish; every step is re-derived from AWS"
                    );
                    Ok(ExitCode::from(INTERRUPTED))
                } else {
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

impl Session {
    /// What AWS holds now, and the plan from it (for a saved plan, with the images it
    /// resolved rather than whatever is newest now).
    async fn plan(
        &self,
        aws: &Aws,
        env_values: &EnvironmentValues,
        redactor: &Redactor,
    ) -> Result<(crate::observe::Observed, Plan), Failure> {
        let stack = &self.stack;
        let mut observed = crate::aws::observe(aws, &Query::for_stack(stack))
            .await
            .map_err(Failure::Aws)?;
        if let Some(saved) = &self.saved {
            for (group, image) in &saved.images {
                if let Some(g) = stack.groups.get(group) {
                    observed.images.insert(g.image.clone(), image.clone());
                }
            }
        }
        let plan = plan::diff(stack, &observed, env_values, redactor).map_err(Failure::Plan)?;
        Ok((observed, plan))
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn print(redactor: &Redactor, text: &str) -> Result<(), Failure> {
    std::io::stdout()
        .lock()
        .write_all(redactor.redact(text).as_bytes())?;
    Ok(())
}

fn redacted_model(redactor: &Redactor, model: &serde_json::Value) -> serde_json::Value {
    let text = serde_json::to_string(model).unwrap_or_default();
    serde_json::from_str(&redactor.redact(&text)).unwrap_or_default()
}

/// Moves the expiry of an `env up` environment: what this apply created was tagged at
/// creation; everything of it that is live now and carries another expiry gets the new
/// tags in one batched `CreateTags` (none when all have it: a re-run with the same
/// expiry writes nothing). CloudFormation stacks take tags only with a change, so theirs
/// may lag: an environment's expiry is the latest of its resources'.
async fn extend_expiry(aws: &Aws, stack: &Stack) -> Result<(), Failure> {
    let tags = lifecycle_tags(stack);
    if tags.is_empty() {
        return Ok(());
    }
    let observed = crate::aws::observe(aws, &Query::for_stack(stack))
        .await
        .map_err(Failure::Aws)?;
    let stale = |live: &std::collections::BTreeMap<String, String>| {
        tags.iter().any(|(k, v)| live.get(k) != Some(v))
    };
    let ids: Vec<String> = observed
        .instances
        .iter()
        .filter(|i| stale(&i.tags))
        .map(|i| i.id.clone())
        .chain(
            observed
                .security_groups
                .iter()
                .filter(|g| stale(&g.tags))
                .map(|g| g.id.clone()),
        )
        .chain(
            observed
                .launch_templates
                .iter()
                .filter(|t| stale(&t.tags))
                .map(|t| t.id.clone()),
        )
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    aws.tag_resources(&ids, &tags).await.map_err(Failure::Aws)
}

/// A saved plan applies only to the AWS state it was made against.
fn check_fresh(saved: &Plan, fresh: &Plan) -> Result<(), Failure> {
    let stale = saved
        .fingerprints
        .iter()
        .find(|(address, print)| fresh.fingerprints.get(*address) != Some(print))
        .map(|(address, _)| address.clone())
        .or_else(|| {
            fresh
                .fingerprints
                .keys()
                .find(|a| !saved.fingerprints.contains_key(*a))
                .cloned()
        });
    match stale {
        Some(address) => Err(Failure::Refused {
            message: format!("plan is stale: {address} changed since the plan was made"),
            hint: "nothing was changed; make a new plan with `rollstack plan STACK --out FILE`"
                .to_owned(),
        }),
        None => Ok(()),
    }
}

/// Takes the saved plan's change sets into the fresh plan, so that apply executes
/// exactly them; one that is gone or no longer executable makes the plan stale.
async fn adopt_change_sets(aws: &Aws, saved: &Plan, fresh: &mut Plan) -> Result<(), Failure> {
    for change in &saved.changes {
        let Detail::CloudFormation(detail) = &change.detail else {
            continue;
        };
        let Some(change_set) = &detail.change_set else {
            continue;
        };
        let state = aws
            .describe_change_set(&change_set.id)
            .await
            .map_err(Failure::Aws)?;
        let problem = match &state {
            None => Some("no longer exists".to_owned()),
            Some(s) if s.status != "CREATE_COMPLETE" || s.execution_status != "AVAILABLE" => {
                Some(format!("is {} / {}", s.status, s.execution_status))
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            return Err(Failure::Refused {
                message: format!(
                    "plan is stale: {} changed since the plan was made (its change set `{}` {problem})",
                    change.address, change_set.name
                ),
                hint: "nothing was changed; make a new plan with `rollstack plan STACK --changesets --out FILE`".to_owned(),
            });
        }
        let adopted = fresh.changes.iter_mut().find_map(|c| match &mut c.detail {
            Detail::CloudFormation(d) if c.address == change.address => Some(d),
            _ => None,
        });
        if let Some(fresh_detail) = adopted {
            fresh_detail.change_set = Some(change_set.clone());
            fresh_detail.resource_changes = detail.resource_changes.clone();
        }
    }
    Ok(())
}

/// Asks for `yes` on the terminal; refuses when stdin is not one.
fn confirm(command: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Refused {
            message: format!("`{command}` needs confirmation, and stdin is not a terminal"),
            hint: "review the plan above and pass `--auto-approve` to run without asking"
                .to_owned(),
        });
    }
    eprint!("\nDo you want to {command} these changes? Only `yes` is accepted: ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
