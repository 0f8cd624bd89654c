//! `rollstack apply STACK... | DIR`: stack by stack in the order their outputs flow,
//! each a session of its own (its own lock, plan, confirmation and history entry). A
//! consumer plans only once its producers applied, so it reads what they just
//! published; a stack that fails stops the stacks that read it, and the others go on.

use std::collections::BTreeSet;
use std::process::ExitCode;

use super::Outcome;
use crate::apply::session::Session;
use crate::aws::Reach;
use crate::cli::ApplyArgs;
use crate::commands::Failure;
use crate::commands::session::run_session;
use crate::state::history::WorkspaceRun;

/// Applies every stack of the workspace, in order; exit 0 when every stack converged.
pub fn run(args: &ApplyArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let workspace = super::load(&args.targets, args.env.as_deref(), &args.select)?;
    let mut stopped: BTreeSet<String> = BTreeSet::new();
    let mut outcomes: Vec<(String, Outcome)> = Vec::new();
    let mut interrupted = None;
    let run = WorkspaceRun::start(
        workspace
            .members
            .iter()
            .map(|m| m.name().to_owned())
            .collect(),
    );
    for member in &workspace.members {
        let name = member.name().to_owned();
        if let Some(why) = interrupted
            .map(|_| "the run was interrupted".to_owned())
            .or_else(|| super::blocked(&workspace, member, &stopped))
        {
            eprintln!("error: stack `{name}` is not applied: {why}");
            stopped.insert(name.clone());
            outcomes.push((name, Outcome::NotRun(why)));
            continue;
        }
        say(
            args,
            &format!(
                "\n=== stack `{name}` ({})",
                crate::diagnostic::display_path(&member.path).display()
            ),
        );
        let session = Session {
            file: member.path.clone(),
            stack: member.stack.clone(),
            command: "apply",
            run: args.run.clone(),
            saved: None,
            teardown: Vec::new(),
            workspace_run: Some(run.clone()),
        };
        let code = run_session(session, reach).unwrap_or_else(crate::commands::report_failure);
        if code == ExitCode::SUCCESS {
            outcomes.push((name, Outcome::Done));
        } else {
            if code == ExitCode::from(crate::apply::session::INTERRUPTED) {
                interrupted = Some(code);
            }
            stopped.insert(name.clone());
            outcomes.push((name, Outcome::Failed));
        }
    }
    say(args, &summary(&outcomes, &run));
    Ok(match interrupted {
        Some(code) => code,
        None if stopped.is_empty() => ExitCode::SUCCESS,
        None => ExitCode::FAILURE,
    })
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
