//! The workspace of a stack file: the other stack files beside it, which a
//! `${stacks.STACK.OUTPUT}` reference reads from. Only what a consumer needs is read of
//! them: their stack name, state bucket and declared `outputs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Another stack of the workspace, as a consumer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Producer {
    /// Its state bucket, where its outputs are published.
    pub state_bucket: Option<String>,
    /// The outputs its file declares.
    pub outputs: Vec<String>,
}

/// The stacks whose files are beside the stack file in `dir`, by stack name, `own`
/// left out.
pub fn beside(dir: &Path, own: &str) -> BTreeMap<String, Producer> {
    stack_files(dir)
        .into_iter()
        .filter(|(_, name, _)| name != own)
        .map(|(_, name, producer)| (name, producer))
        .collect()
}

/// The stack files in `dir` (`*.yaml`, `*.yml` with `rollstack:` and `stack:` at the
/// top), in path order, each with its stack name and what a consumer needs of it; a file
/// that is no stack file is passed over.
pub fn stack_files(dir: &Path) -> Vec<(PathBuf, String, Producer)> {
    // A stack file named without a directory is in the working one.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) && std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= 1 << 20)
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| {
            let (name, producer) = read(&path)?;
            Some((path, name, producer))
        })
        .collect()
}

/// The stack name and what a consumer needs of the stack file at `path`.
fn read(path: &Path) -> Option<(String, Producer)> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    let name = value.get("stack")?.as_str()?.to_owned();
    value.get("rollstack")?;
    let outputs = value
        .get("outputs")
        .and_then(serde_yaml::Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let state_bucket = value
        .get("state_bucket")
        .and_then(serde_yaml::Value::as_str)
        .map(str::to_owned);
    Some((
        name,
        Producer {
            state_bucket,
            outputs,
        },
    ))
}
