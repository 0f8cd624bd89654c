//! Helpers of the unit tests: models from stack files written on the spot.

use crate::model::Stack;

/// The model of the default environment of the stack file `yaml`, which must validate.
pub fn stack_from_yaml(yaml: &str) -> Stack {
    let dir = tempfile::tempdir().expect("a temporary directory");
    stack_in(dir.path(), yaml)
}

/// The model of the default environment of the stack file `yaml` written in `dir` (its
/// files beside it), which must validate.
pub fn stack_in(dir: &std::path::Path, yaml: &str) -> Stack {
    let path = dir.join("stack.yaml");
    std::fs::write(&path, yaml).expect("the stack file is written");
    let validated = crate::validate::validate_file(&path)
        .unwrap_or_else(|d| panic!("{}", crate::diagnostic::render(&d.sorted(), false)));
    validated
        .select(&path, None)
        .unwrap_or_else(|d| panic!("{}", crate::diagnostic::render(&d.sorted(), false)))
}

/// Files stay small enough to have one job: none in `src/` passes 500 lines, unit
/// tests (`tests.rs`, and what follows `#[cfg(test)]`) aside. Functions are kept short by
/// clippy's `too_many_lines`.
#[test]
fn no_source_file_is_over_500_lines() {
    fn walk(dir: &std::path::Path, long: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(&path, long);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                let text = std::fs::read_to_string(&path).expect("a source file");
                let code = text.split("\n#[cfg(test)]").next().unwrap_or_default();
                let lines = code.lines().count();
                if lines > 500 {
                    long.push(format!("{} ({lines} lines)", path.display()));
                }
            }
        }
    }
    let mut long = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut long,
    );
    assert!(
        long.is_empty(),
        "split by responsibility: {}",
        long.join(", ")
    );
}

/// The floors of the crate's modules, lowest first: a module imports only modules on
/// lower floors (`docs/architecture.md` draws them). An import up a floor is a layering
/// mistake; one across a floor would let two modules lean on each other.
pub const FLOORS: &[&[&str]] = &[
    &["diagnostic", "model", "cli", "git", "release"],
    &["observe", "graph", "load"],
    &["template", "aws", "rollout"],
    &["validate", "policy"],
    &["plan", "testing", "workspace"],
    &["state", "planning", "notify"],
    &["apply", "schema"],
    &["commands"],
    &["lib", "main"],
];

#[test]
fn modules_import_only_from_lower_floors() {
    fn floor(module: &str) -> Option<usize> {
        FLOORS.iter().position(|f| f.contains(&module))
    }
    fn walk(dir: &std::path::Path, module: Option<&str>, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("an entry").path();
            let name = path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let own = module.unwrap_or(name).to_owned();
            if path.is_dir() {
                walk(&path, Some(&own), found);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || name == "tests" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a source file");
            let code = text.split("\n#[cfg(test)]").next().unwrap_or_default();
            let Some(at) = floor(&own) else {
                found.push(format!("`{own}` is on no floor: add it to `FLOORS`"));
                continue;
            };
            for piece in code.split("crate::").skip(1) {
                let used: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if used == own || used.is_empty() {
                    continue;
                }
                match floor(&used) {
                    Some(f) if f < at => {}
                    _ => found.push(format!("{} uses `crate::{used}`", path.display())),
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        None,
        &mut found,
    );
    found.sort();
    found.dedup();
    assert!(found.is_empty(), "{}", found.join("\n"));
}
