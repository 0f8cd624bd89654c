//! A workspace: several stack files of one repository validated, planned, applied and
//! shown together, in the order their outputs flow (a stack before the stacks that read
//! its outputs). The order is a graph of stacks (`uses`, from `${stacks.S.O}` and
//! templates reading `stacks`); a loop between stacks is refused, naming all of it.

pub mod changed;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use petgraph::graph::DiGraph;

use crate::model::Stack;

/// One stack of the workspace: its file and its model for the environment.
#[derive(Clone, Debug)]
pub struct Member {
    /// The stack file.
    pub path: PathBuf,
    /// The model.
    pub stack: Stack,
}

impl Member {
    /// The stack's name.
    pub fn name(&self) -> &str {
        &self.stack.name
    }
}

/// The stacks of a workspace, in the order they are applied.
#[derive(Clone, Debug)]
pub struct Workspace {
    /// Every stack after the stacks of the workspace it reads (ties by name).
    pub members: Vec<Member>,
}

/// Why stack files do not make a workspace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkspaceError {
    /// Stacks read each other's outputs in a loop.
    #[error("stacks read each other's outputs in a loop: {}", .0.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" -> "))]
    Cycle(Vec<String>),
    /// Two files are the same stack.
    #[error("`{}` and `{}` are both stack `{name}`", .first.display(), .second.display())]
    Duplicate {
        /// The stack name.
        name: String,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A directory without stack files.
    #[error("`{}` holds no stack file (`*.yaml` or `*.yml` with `rollstack:` and `stack:`)", .0.display())]
    Empty(PathBuf),
}

impl WorkspaceError {
    /// What to do.
    pub fn hint(&self) -> String {
        match self {
            WorkspaceError::Cycle(_) => "a stack may read only stacks that do not read it back: move what both need into a stack of its own, which both read".to_owned(),
            WorkspaceError::Duplicate { .. } => "give each stack file its own `stack:` name".to_owned(),
            WorkspaceError::Empty(_) => "name stack files, or a directory that holds them".to_owned(),
        }
    }
}

/// Whether `paths` ask for a workspace: more than one, or a directory.
pub fn is_workspace(paths: &[PathBuf]) -> bool {
    paths.len() > 1 || paths.iter().any(|p| p.is_dir())
}

/// The stack files `paths` name, in the order given: a file as it is, a directory's
/// stack files in name order; each once.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, WorkspaceError> {
    let mut found: Vec<PathBuf> = Vec::new();
    for path in paths {
        let more: Vec<PathBuf> = if path.is_dir() {
            let listed: Vec<PathBuf> = crate::validate::workspace::stack_files(path)
                .into_iter()
                .map(|(file, _, _)| file)
                .collect();
            if listed.is_empty() {
                return Err(WorkspaceError::Empty(path.clone()));
            }
            listed
        } else {
            vec![path.clone()]
        };
        for file in more {
            if !found.contains(&file) {
                found.push(file);
            }
        }
    }
    Ok(found)
}

impl Workspace {
    /// Orders `members` so that every stack comes after the stacks of the workspace it
    /// reads; refuses two files of one stack, and a loop.
    pub fn order(members: Vec<Member>) -> Result<Workspace, WorkspaceError> {
        let mut by_name: BTreeMap<String, Member> = BTreeMap::new();
        for member in members {
            if let Some(first) = by_name.get(member.name()) {
                return Err(WorkspaceError::Duplicate {
                    name: member.name().to_owned(),
                    first: first.path.clone(),
                    second: member.path,
                });
            }
            by_name.insert(member.name().to_owned(), member);
        }
        let mut graph: DiGraph<String, (String, String)> = DiGraph::new();
        let nodes: BTreeMap<&str, _> = by_name
            .keys()
            .map(|name| (name.as_str(), graph.add_node(name.clone())))
            .collect();
        for (name, member) in &by_name {
            for producer in member.stack.uses.keys() {
                if let Some(&to) = nodes.get(producer.as_str()) {
                    graph.add_edge(nodes[name.as_str()], to, (name.clone(), producer.clone()));
                }
            }
        }
        if let Some(cycle) = crate::graph::loops(&graph).into_iter().next() {
            let mut stacks: Vec<String> = cycle.iter().map(|(from, _)| from.clone()).collect();
            stacks.push(cycle[0].0.clone());
            return Err(WorkspaceError::Cycle(stacks));
        }
        let order = crate::graph::stable_order(&graph).unwrap_or_default();
        let members = order
            .into_iter()
            .filter_map(|name| by_name.remove(&name))
            .collect();
        Ok(Workspace { members })
    }

    /// The stacks of the workspace `name` reads, by name.
    pub fn producers(&self, name: &str) -> BTreeSet<&str> {
        let Some(member) = self.members.iter().find(|m| m.name() == name) else {
            return BTreeSet::new();
        };
        member
            .stack
            .uses
            .keys()
            .filter(|p| self.members.iter().any(|m| m.name() == p.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// The member of stack `name`.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name() == name)
    }
}

/// What a run of the workspace does next with a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Start it: every stack it reads converged.
    Start(String),
    /// Leave it out, and why: a stack it reads did not converge.
    Skip(String, String),
}

impl Workspace {
    /// The next steps of a run, in workspace order, from the stacks that ended
    /// (converged or not) and those started: every stack not started yet whose producers
    /// all converged starts, one whose producer did not converge is skipped (and counts
    /// as not converged for its own consumers), the others wait.
    pub fn next_steps(
        &self,
        ended: &BTreeMap<String, bool>,
        started: &BTreeSet<String>,
    ) -> Vec<Step> {
        let mut ended = ended.clone();
        let mut steps = Vec::new();
        for member in &self.members {
            let name = member.name();
            if started.contains(name) || ended.contains_key(name) {
                continue;
            }
            if let Some(why) = self.stopped_by(name, &ended) {
                steps.push(Step::Skip(name.to_owned(), why));
                ended.insert(name.to_owned(), false);
            } else if self
                .producers(name)
                .iter()
                .all(|p| ended.get(*p) == Some(&true))
            {
                steps.push(Step::Start(name.to_owned()));
            }
        }
        steps
    }

    /// Why stack `name` is not run, given the stacks that ended: the first stack it
    /// reads that did not converge.
    pub fn stopped_by(&self, name: &str, ended: &BTreeMap<String, bool>) -> Option<String> {
        self.producers(name)
            .into_iter()
            .find(|p| ended.get(*p) == Some(&false))
            .map(|p| format!("it reads stack `{p}`, which did not converge"))
    }
}

/// The stacks whose files are beside the stack file at `path` and read the outputs of
/// stack `name` (as written, so in any environment), in name order. A file that does not
/// validate is judged by its text: one that names `stacks.NAME` reads it.
pub fn consumers_beside(path: &std::path::Path, name: &str) -> Vec<String> {
    let dir = path.parent().unwrap_or(std::path::Path::new(""));
    let mut found: Vec<String> = crate::validate::workspace::stack_files(dir)
        .into_iter()
        .filter(|(_, other, _)| other != name)
        .filter(|(file, _, _)| match crate::validate::validate_file(file) {
            Ok(validated) => validated.base.uses.contains_key(name),
            Err(_) => std::fs::read_to_string(file).is_ok_and(|text| {
                text.contains(&format!("stacks.{name}."))
                    || text.contains(&format!("stacks[\"{name}\"]"))
            }),
        })
        .map(|(_, other, _)| other)
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests;
