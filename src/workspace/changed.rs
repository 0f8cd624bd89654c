//! `--changed-since REF`: the stacks a pull request touches. A stack is selected when
//! its file or a file it reads (user data, job scripts, CloudFormation templates) changed
//! between REF and the work tree, and so is every stack that reads a selected stack's
//! outputs: a consumer is never planned without its changed producer, so no stack is
//! planned against outputs its own pull request is about to change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::Workspace;

/// A selected stack and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// The stack.
    pub name: String,
    /// Why (`shop.yaml changed`, `uses network, which changed`).
    pub reason: String,
}

/// What selection needs of one stack: its name, the files it is made of (its own file
/// first) and the stacks of the workspace it reads.
#[derive(Clone, Debug)]
pub struct Node {
    /// The stack.
    pub name: String,
    /// Its stack file, then the files it reads.
    pub files: Vec<PathBuf>,
    /// The stacks of the workspace it reads.
    pub producers: BTreeSet<String>,
}

/// Why `--changed-since` could not tell what changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangedError {
    /// Not in a git checkout.
    #[error("`--changed-since` needs a git checkout, and `{}` is not in one", .0.display())]
    NotGit(PathBuf),
    /// The reference names no commit.
    #[error("`{0}` is not a commit git knows here")]
    BadRef(String),
    /// git failed.
    #[error("git failed: {0}")]
    Git(String),
}

impl ChangedError {
    /// What to do.
    pub fn hint(&self) -> String {
        match self {
            ChangedError::NotGit(_) => "run it in the repository's checkout, or leave out `--changed-since` to take every stack".to_owned(),
            ChangedError::BadRef(_) => "fetch it first (`git fetch origin main`), or name a branch, tag or commit (`origin/main`)".to_owned(),
            ChangedError::Git(_) => "check that `git` runs here".to_owned(),
        }
    }
}

impl Workspace {
    /// What selection needs of every member, in the workspace's order; paths made
    /// absolute so that they compare with what git lists.
    pub fn nodes(&self) -> Vec<Node> {
        self.members
            .iter()
            .map(|m| Node {
                name: m.name().to_owned(),
                files: std::iter::once(m.path.as_path())
                    .chain(m.stack.files_read())
                    .map(absolute)
                    .collect(),
                producers: self
                    .producers(m.name())
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            })
            .collect()
    }
}

/// The stacks to take, in the order of `nodes` (producers first): those whose files are
/// in `changed`, then every stack reading one taken.
pub fn select(nodes: &[Node], changed: &BTreeSet<PathBuf>) -> Vec<Selected> {
    let mut reasons: BTreeMap<&str, String> = BTreeMap::new();
    let mut changed_itself: BTreeSet<&str> = BTreeSet::new();
    for node in nodes {
        if let Some(file) = node.files.iter().find(|f| changed.contains(*f)) {
            let name = file.file_name().map_or_else(
                || file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            reasons.insert(&node.name, format!("{name} changed"));
            changed_itself.insert(&node.name);
            continue;
        }
        // Producers come first, so theirs is decided already.
        let taken = node
            .producers
            .iter()
            .find(|p| changed_itself.contains(p.as_str()))
            .or_else(|| {
                node.producers
                    .iter()
                    .find(|p| reasons.contains_key(p.as_str()))
            });
        if let Some(producer) = taken {
            let how = if changed_itself.contains(producer.as_str()) {
                "changed"
            } else {
                "is taken"
            };
            reasons.insert(&node.name, format!("uses {producer}, which {how}"));
        }
    }
    nodes
        .iter()
        .filter_map(|n| {
            Some(Selected {
                name: n.name.clone(),
                reason: reasons.get(n.name.as_str())?.clone(),
            })
        })
        .collect()
}

/// The files changed between `reference` and the work tree of the checkout holding
/// `dir` (tracked files that differ, and new files git does not ignore), absolute.
pub fn changed_files(dir: &Path, reference: &str) -> Result<BTreeSet<PathBuf>, ChangedError> {
    let git_in = |dir: &Path, args: &[&str]| -> Result<std::process::Output, ChangedError> {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| ChangedError::Git(e.to_string()))
    };
    let top = git_in(dir, &["rev-parse", "--show-toplevel"])?;
    if !top.status.success() {
        return Err(ChangedError::NotGit(absolute(dir)));
    }
    let top = PathBuf::from(String::from_utf8_lossy(&top.stdout).trim());
    let commit = format!("{reference}^{{commit}}");
    if !git_in(&top, &["rev-parse", "--verify", "--quiet", &commit])?
        .status
        .success()
    {
        return Err(ChangedError::BadRef(reference.to_owned()));
    }
    let mut files = BTreeSet::new();
    // Both list paths from the top of the checkout, run there.
    for args in [
        ["diff", "--name-only", "--no-renames", reference, "--"].as_slice(),
        ["ls-files", "--others", "--exclude-standard"].as_slice(),
    ] {
        let listed = git_in(&top, args)?;
        if !listed.status.success() {
            return Err(ChangedError::Git(
                String::from_utf8_lossy(&listed.stderr).trim().to_owned(),
            ));
        }
        files.extend(
            String::from_utf8_lossy(&listed.stdout)
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| absolute(&top.join(l))),
        );
    }
    Ok(files)
}

/// `path` made absolute and free of `.`, `..` and links where it exists (so that two
/// spellings of one file compare equal); as given, joined to the working directory,
/// where it does not.
fn absolute(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, files: &[&str], producers: &[&str]) -> Node {
        Node {
            name: name.to_owned(),
            files: files.iter().map(PathBuf::from).collect(),
            producers: producers.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn a_changed_producer_takes_every_consumer_and_a_consumer_takes_no_producer() {
        let nodes = [
            node("network", &["/r/network.yaml", "/r/net.json"], &[]),
            node("db", &["/r/db.yaml"], &["network"]),
            node(
                "shop",
                &["/r/shop.yaml", "/r/www.sh.j2"],
                &["db", "network"],
            ),
            node("blog", &["/r/blog.yaml"], &[]),
        ];
        // (files changed, stacks taken with why)
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
        let cases: [Case; 5] = [
            (&[], &[]),
            (
                &["/r/network.yaml"],
                &[
                    ("network", "network.yaml changed"),
                    ("db", "uses network, which changed"),
                    ("shop", "uses network, which changed"),
                ],
            ),
            (&["/r/shop.yaml"], &[("shop", "shop.yaml changed")]),
            (
                &["/r/db.yaml", "/r/www.sh.j2"],
                &[("db", "db.yaml changed"), ("shop", "www.sh.j2 changed")],
            ),
            (
                &["/r/net.json", "/r/README.md"],
                &[
                    ("network", "net.json changed"),
                    ("db", "uses network, which changed"),
                    ("shop", "uses network, which changed"),
                ],
            ),
        ];
        for (changed, expected) in cases {
            let changed: BTreeSet<PathBuf> = changed.iter().map(PathBuf::from).collect();
            let selected: Vec<(String, String)> = select(&nodes, &changed)
                .into_iter()
                .map(|s| (s.name, s.reason))
                .collect();
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(n, r)| ((*n).to_owned(), (*r).to_owned()))
                .collect();
            assert_eq!(selected, expected, "changed: {changed:?}");
        }
    }

    #[test]
    fn a_consumer_of_a_taken_consumer_says_so() {
        let nodes = [
            node("network", &["/r/network.yaml"], &[]),
            node("db", &["/r/db.yaml"], &["network"]),
            node("shop", &["/r/shop.yaml"], &["db"]),
        ];
        let changed = BTreeSet::from([PathBuf::from("/r/network.yaml")]);
        let selected = select(&nodes, &changed);
        assert_eq!(selected[2].reason, "uses db, which is taken");
    }
}
