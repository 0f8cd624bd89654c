//! `rollstack plan STACK... | DIR`: one plan per stack, in the order their outputs flow.
//! A producer's plan that changes a published output makes each consumer's values that
//! read it `(known after apply of PRODUCER)`, never the value published now; a stack
//! whose producer has no plan is not planned.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use super::{Made, make, save};
use crate::aws::Reach;
use crate::cli::{PlanArgs, PlanFormat};
use crate::commands::Failure;
use crate::commands::workspace::{self as glue, Outcome};
use crate::plan::{Plan, render};

/// Version of the workspace plan JSON.
pub const FORMAT_VERSION: u32 = 1;

/// `plan --format json` of a workspace: one document, a plan per stack in order.
#[derive(Serialize)]
struct WorkspacePlan<'a> {
    format_version: u32,
    stacks: Vec<StackPlan<'a>>,
}

/// One stack of the workspace plan.
#[derive(Serialize)]
struct StackPlan<'a> {
    stack: &'a str,
    file: String,
    #[serde(flatten)]
    outcome: &'a Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a Plan>,
}

/// Plans every stack of the workspace, in order; prints them; exit 1 when one failed,
/// else 2 with `--detailed-exitcode` when one has changes.
pub fn run(args: &PlanArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    if args.out.is_some() {
        return Err(Failure::Refused {
            message: "`--out` saves one plan, and a workspace has one per stack".to_owned(),
            hint: "use `--out-dir DIR`: each stack's plan is saved as `DIR/STACK.plan.json`"
                .to_owned(),
        });
    }
    let workspace = glue::load(&args.stacks, args.env.as_deref(), &args.select)?;
    let runtime = crate::commands::runtime()?;
    let mut pending: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Each stack planned: whether it has a plan.
    let mut ended: BTreeMap<String, bool> = BTreeMap::new();
    let mut results: Vec<(Outcome, Option<Made>)> = Vec::new();
    for member in &workspace.members {
        if let Some(why) = workspace.stopped_by(member.name(), &ended) {
            eprintln!("error: stack `{}` is not planned: {why}", member.name());
            ended.insert(member.name().to_owned(), false);
            results.push((Outcome::NotRun(why), None));
            continue;
        }
        match runtime.block_on(make(&member.path, &member.stack, args, reach, &pending)) {
            Ok(made) => {
                let changing: BTreeSet<String> = made
                    .plan
                    .outputs
                    .iter()
                    .filter(|(_, change)| change.after.is_some())
                    .map(|(name, _)| name.clone())
                    .collect();
                if !changing.is_empty() {
                    pending.insert(member.name().to_owned(), changing);
                }
                ended.insert(member.name().to_owned(), true);
                results.push((Outcome::Done, Some(made)));
            }
            Err(failure) => {
                eprintln!("error: stack `{}` has no plan:", member.name());
                crate::commands::report_failure(failure);
                ended.insert(member.name().to_owned(), false);
                results.push((Outcome::Failed, None));
            }
        }
    }
    print(args, &workspace, &results)?;
    let made = results.iter().filter_map(|(_, m)| m.as_ref());
    Ok(if ended.values().any(|planned| !planned) {
        ExitCode::FAILURE
    } else if args.detailed_exitcode && made.clone().any(|m| m.plan.has_changes()) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints the plans in the format asked for, saves them with `--out-dir`, and ends the
/// text with a line per stack.
fn print(
    args: &PlanArgs,
    workspace: &crate::workspace::Workspace,
    results: &[(Outcome, Option<Made>)],
) -> Result<(), Failure> {
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).map_err(|error| Failure::Write {
            path: dir.clone(),
            error,
        })?;
    }
    let mut out = String::new();
    let mut document = WorkspacePlan {
        format_version: FORMAT_VERSION,
        stacks: Vec::new(),
    };
    for (member, (outcome, made)) in workspace.members.iter().zip(results) {
        document.stacks.push(StackPlan {
            stack: member.name(),
            file: crate::diagnostic::display_path(&member.path)
                .display()
                .to_string(),
            outcome,
            plan: made.as_ref().map(|m| &m.plan),
        });
        let Some(Made { plan, redactor }) = made else {
            continue;
        };
        let shown = match args.format {
            PlanFormat::Text => render::text(plan, crate::commands::color_on(&std::io::stdout())),
            PlanFormat::Markdown => render::markdown(plan),
            PlanFormat::Json => String::new(),
        };
        let shown = redactor.redact(&shown);
        if let Some(dir) = &args.out_dir {
            save(
                &dir.join(format!("{}.plan.json", plan.stack)),
                plan,
                redactor,
            )?;
            if args.format == PlanFormat::Markdown {
                let path = dir.join(format!("{}.md", plan.stack));
                std::fs::write(&path, &shown).map_err(|error| Failure::Write { path, error })?;
            }
        }
        if !out.is_empty() {
            out.push_str(if args.format == PlanFormat::Markdown {
                "\n---\n\n"
            } else {
                "\n"
            });
        }
        out.push_str(&shown);
    }
    match args.format {
        PlanFormat::Json => {
            // Each plan is redacted with its own stack's secrets.
            let mut json = crate::commands::json(&document)?;
            for (_, made) in results {
                if let Some(m) = made {
                    json = m.redactor.redact(&json);
                }
            }
            out = json;
        }
        PlanFormat::Text => out.push_str(&summary(workspace, results)),
        PlanFormat::Markdown => {}
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

/// `Workspace: 3 stacks` and a line per stack: its plan's summary, or why it has none.
fn summary(workspace: &crate::workspace::Workspace, results: &[(Outcome, Option<Made>)]) -> String {
    let mut out = format!(
        "\nWorkspace: {}, in order:\n",
        crate::diagnostic::plural(workspace.members.len(), "stack")
    );
    for (member, (outcome, made)) in workspace.members.iter().zip(results) {
        let line = match (outcome, made) {
            (_, Some(m)) if m.plan.has_changes() => m
                .plan
                .summary
                .line()
                .trim_start_matches("Plan: ")
                .to_owned(),
            (_, Some(_)) => "no changes".to_owned(),
            (Outcome::NotRun(why), _) => format!("not planned: {why}"),
            _ => "no plan (see the error above)".to_owned(),
        };
        out.push_str(&format!("  {}: {line}\n", member.name()));
    }
    out
}
