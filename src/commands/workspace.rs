//! Glue of the commands that take a workspace (several stack files, or a directory):
//! every file validated and the stacks ordered before any AWS call, `--changed-since`
//! applied, and the outcome of each stack said at the end.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::Failure;
use crate::cli::SelectArgs;
use crate::diagnostic::{Diagnostics, display_path};
use crate::workspace::changed::{self, Selected};
use crate::workspace::{Member, Workspace, WorkspaceError};

/// Whether the command line asks for a workspace: several stack files, a directory, or
/// a selection.
pub fn asked(paths: &[PathBuf], select: &SelectArgs) -> bool {
    crate::workspace::is_workspace(paths) || select.changed_since.is_some()
}

/// The workspace of `paths` for environment `env`: every file validated (every problem
/// of every file at once), the stacks ordered (a loop refused), and with
/// `--changed-since` only the stacks selected, which are printed first with why.
pub fn load(
    paths: &[PathBuf],
    env: Option<&str>,
    select: &SelectArgs,
) -> Result<Workspace, Failure> {
    let files = crate::workspace::files(paths).map_err(refused)?;
    let mut problems = Diagnostics::default();
    let mut members = Vec::new();
    for path in files {
        match crate::validate::validate_file(&path).and_then(|v| v.select(&path, env)) {
            Ok(stack) => members.push(Member { path, stack }),
            Err(found) => found.sorted().into_iter().for_each(|d| problems.push(d)),
        }
    }
    if !problems.is_empty() {
        return Err(Failure::Invalid(problems));
    }
    let workspace = Workspace::order(members).map_err(refused)?;
    let Some(reference) = &select.changed_since else {
        return Ok(workspace);
    };
    // git is asked in the first directory named (or the first file's).
    let dir = paths
        .first()
        .map(|p| {
            if p.is_dir() {
                p.as_path()
            } else {
                p.parent().unwrap_or(p)
            }
        })
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let changed = changed::changed_files(&dir, reference).map_err(|e| Failure::Refused {
        message: e.to_string(),
        hint: e.hint(),
    })?;
    let selected = changed::select(&workspace.nodes(), &changed);
    print_selection(&workspace, &selected, reference);
    let taken: BTreeSet<&str> = selected.iter().map(|s| s.name.as_str()).collect();
    let members = workspace
        .members
        .iter()
        .filter(|m| taken.contains(m.name()))
        .cloned()
        .collect();
    Ok(Workspace { members })
}

/// The models a read-only command (`status`, `history`) shows: of the one stack file,
/// or of every stack of the workspace, in order.
pub fn stacks(paths: &[PathBuf], env: Option<&str>) -> Result<Vec<crate::model::Stack>, Failure> {
    if !crate::workspace::is_workspace(paths) {
        return Ok(vec![super::load(&paths[0], env)?]);
    }
    let workspace = load(paths, env, &SelectArgs::default())?;
    Ok(workspace.members.into_iter().map(|m| m.stack).collect())
}

/// `Stacks changed since origin/main:` and one line per stack taken, with why.
fn print_selection(workspace: &Workspace, selected: &[Selected], reference: &str) {
    if selected.is_empty() {
        eprintln!(
            "No stack changed since `{reference}` ({} looked at).",
            crate::diagnostic::plural(workspace.members.len(), "stack")
        );
        return;
    }
    eprintln!("Stacks changed since `{reference}`:");
    for s in selected {
        let file = workspace
            .member(&s.name)
            .map(|m| display_path(&m.path).display().to_string())
            .unwrap_or_default();
        eprintln!("  {}: {} ({file})", s.name, s.reason);
    }
}

/// A workspace problem, as the command reports it.
pub fn refused(error: WorkspaceError) -> Failure {
    Failure::Refused {
        message: error.to_string(),
        hint: error.hint(),
    }
}

/// How one stack of a workspace run ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum Outcome {
    /// Planned, or applied: converged.
    Done,
    /// Planned or applied, and it failed.
    Failed,
    /// Not run, because a stack it reads failed or was not run.
    NotRun(String),
}
