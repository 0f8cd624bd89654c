//! `rollstack apply STACK... | DIR | PLANFILE...`: stack by stack in the order their
//! outputs flow, each a session of its own (its own lock, plan, confirmation and history
//! entry). A consumer plans only once its producers applied, so it reads what they just
//! published (a saved plan is refused when one of them published anew since it was
//! made); a stack that fails stops the stacks that read it, and the others go on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::apply::session::Session;
use crate::aws::Reach;
use crate::cli::ApplyArgs;
use crate::commands::Failure;
use crate::commands::session::run_session;
use crate::commands::workspace::{self as glue, Outcome};
use crate::plan::Plan;
use crate::state::history::WorkspaceRun;
use crate::workspace::{Member, Step, Workspace};

/// Applies every stack of the workspace, in order (up to `--stack-parallelism` stacks
/// whose producers converged at once); exit 0 when every stack converged.
pub fn run(args: &ApplyArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let (workspace, saved) = match saved_plans(&args.targets)? {
        Some((workspace, saved)) => (workspace, saved),
        None => (
            glue::load(&args.targets, args.env.as_deref(), &args.select)?,
            BTreeMap::new(),
        ),
    };
    if args.stack_parallelism > 1 && !args.run.auto_approve {
        return Err(Failure::Refused {
            message: "stacks applied at once cannot each ask for `yes`".to_owned(),
            hint: "review the plans (`rollstack plan DIR`), then apply with `--auto-approve`"
                .to_owned(),
        });
    }
    let run = WorkspaceRun::start(
        workspace
            .members
            .iter()
            .map(|m| m.name().to_owned())
            .collect(),
    );
    let (outcomes, interrupted) = apply_all(args, reach, &workspace, saved, &run);
    let outcomes: Vec<(String, Outcome)> = workspace
        .members
        .iter()
        .map(|m| {
            let outcome = outcomes
                .get(m.name())
                .cloned()
                .unwrap_or_else(|| Outcome::NotRun("the run was interrupted".to_owned()));
            (m.name().to_owned(), outcome)
        })
        .collect();
    say(args, &summary(&outcomes, &run));
    let converged = outcomes.iter().all(|(_, o)| *o == Outcome::Done);
    Ok(match interrupted {
        Some(code) => code,
        None if converged => ExitCode::SUCCESS,
        None => ExitCode::FAILURE,
    })
}

/// How each stack ended (a stack never started is not in it), and the exit code of an
/// interrupted session: up to `--stack-parallelism` sessions at once, each in a thread of
/// its own, started as `Workspace::next_steps` allows.
fn apply_all(
    args: &ApplyArgs,
    reach: &Reach,
    workspace: &Workspace,
    saved: SavedPlans,
    run: &WorkspaceRun,
) -> (BTreeMap<String, Outcome>, Option<ExitCode>) {
    std::thread::scope(|scope| {
        let (ended_tx, ended_rx) = std::sync::mpsc::channel::<(String, ExitCode)>();
        let mut saved = saved;
        let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
        let mut ended: BTreeMap<String, bool> = BTreeMap::new();
        let mut started: BTreeSet<String> = BTreeSet::new();
        let mut interrupted = None;
        loop {
            for step in workspace.next_steps(&ended, &started) {
                match step {
                    Step::Skip(name, why) => {
                        eprintln!("error: stack `{name}` is not applied: {why}");
                        ended.insert(name.clone(), false);
                        outcomes.insert(name, Outcome::NotRun(why));
                    }
                    Step::Start(name)
                        if interrupted.is_none()
                            && started.len() < args.stack_parallelism.max(1) =>
                    {
                        let member = workspace.member(&name).expect("a step names a member");
                        let session = session(args, member, saved.remove(&name), run);
                        let tx = ended_tx.clone();
                        started.insert(name.clone());
                        scope.spawn(move || {
                            let code = run_session(session, reach)
                                .unwrap_or_else(crate::commands::report_failure);
                            let _ = tx.send((name, code));
                        });
                    }
                    Step::Start(_) => {}
                }
            }
            if started.is_empty() {
                break;
            }
            let Ok((name, code)) = ended_rx.recv() else {
                break;
            };
            started.remove(&name);
            if code == ExitCode::from(crate::apply::session::INTERRUPTED) {
                interrupted = Some(code);
            }
            let converged = code == ExitCode::SUCCESS;
            ended.insert(name.clone(), converged);
            outcomes.insert(
                name,
                if converged {
                    Outcome::Done
                } else {
                    Outcome::Failed
                },
            );
        }
        (outcomes, interrupted)
    })
}

/// The session that applies `member` (its saved plan, when there is one) in `run`.
fn session(args: &ApplyArgs, member: &Member, saved: Option<Plan>, run: &WorkspaceRun) -> Session {
    say(
        args,
        &format!(
            "\n=== stack `{}` ({})",
            member.name(),
            crate::diagnostic::display_path(&member.path).display()
        ),
    );
    Session {
        file: member.path.clone(),
        stack: member.stack.clone(),
        command: "apply",
        run: args.run.clone(),
        saved,
        teardown: Vec::new(),
        workspace_run: Some(run.clone()),
    }
}

/// Saved plans by stack.
type SavedPlans = BTreeMap<String, Plan>;

/// Saved plans of several stacks (every target a plan file), as a workspace of their
/// models, with each stack's plan; `None` when the targets are stack files.
fn saved_plans(targets: &[PathBuf]) -> Result<Option<(Workspace, SavedPlans)>, Failure> {
    let mut members = Vec::new();
    let mut saved = BTreeMap::new();
    for path in targets {
        let Some(plan) = crate::commands::session::saved_plan(path)? else {
            if members.is_empty() {
                return Ok(None);
            }
            return Err(Failure::Refused {
                message: format!(
                    "`{}` is a stack file, and the files before it saved plans",
                    path.display()
                ),
                hint: "apply saved plans, or stack files, not both at once".to_owned(),
            });
        };
        let stack = crate::commands::session::model_of(path, &plan)?;
        saved.insert(stack.name.clone(), plan);
        members.push(Member {
            path: path.clone(),
            stack,
        });
    }
    let workspace = Workspace::order(members).map_err(glue::refused)?;
    Ok(Some((workspace, saved)))
}

/// Prints `text` where the plans go: stdout, or stderr when stdout is JSON.
fn say(args: &ApplyArgs, text: &str) {
    if args.run.format == crate::cli::PlanFormat::Json {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// A line per stack: converged (applied, or nothing to do), failed, or not applied
/// and why.
fn summary(outcomes: &[(String, Outcome)], run: &WorkspaceRun) -> String {
    let mut out = format!(
        "\nWorkspace run `{}`: {}, in order:",
        run.id,
        crate::diagnostic::plural(outcomes.len(), "stack")
    );
    for (name, outcome) in outcomes {
        let line = match outcome {
            Outcome::Done => "converged".to_owned(),
            Outcome::Failed => "failed (see above)".to_owned(),
            Outcome::NotRun(why) => format!("not applied: {why}"),
        };
        out.push_str(&format!("\n  {name}: {line}"));
    }
    out.push_str(&format!(
        "\n(every stack's history entry has the run's id: `rollstack history DIR --run {}`)",
        run.id
    ));
    out
}
