//! Validate: wire types -> the model of each environment, with every problem found in
//! one pass.
//!
//! The file is validated as written and then as each environment sees it (overlay
//! merged); a problem found again in an environment is reported once.

mod checker;
pub mod formats;
mod launch;
pub use launch::MAX_USER_DATA;
mod references;
mod sections;
mod traffic;
pub mod workspace;

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile, did_you_mean, list};
use crate::graph::StackGraph;
use crate::load::{self, LoadedFile, SpanIndex, decode, overlay, raw::RawStack};
use crate::model::{DEFAULT_ENVIRONMENT, DEFAULT_TTL, Duration, Environment, Ephemeral, Stack};
pub(crate) use checker::Checker;

/// A stack file that validated, with the model of every environment.
pub struct ValidatedFile {
    /// The file as written, without any overlay (for a file without environments, the
    /// same as its `default` environment). Overlays cannot add or remove resources, so
    /// this has every resource of every environment.
    pub base: Stack,
    /// The models, one per environment, in name order.
    pub environments: Vec<Stack>,
}

/// Name of the model of a file as written, when it also defines environments.
pub const AS_WRITTEN: &str = "(as written)";

/// Loads and validates every environment of the stack file at `path`.
pub fn validate_file(path: &Path) -> Result<ValidatedFile, Diagnostics> {
    let loaded = load::read(path)?;
    let raw = decode::decode(&loaded.file, &loaded.root)?;
    let mut diagnostics = Diagnostics::default();
    let spans = SpanIndex::new(&loaded.root);
    for name in raw.environments.keys() {
        if let Err((message, expected)) = formats::environment_name(name) {
            diagnostics.push(
                Diagnostic::new(&loaded.file, message)
                    .path(format!("environments.{name}"))
                    .at(spans.key(&loaded.file, &format!("environments.{name}")))
                    .expected(expected),
            );
        }
    }
    let base_name = if raw.environments.is_empty() {
        DEFAULT_ENVIRONMENT
    } else {
        AS_WRITTEN
    };
    let base = check_model(&loaded, &spans, &raw, environment(&raw, base_name));
    let mut environments = Vec::new();
    let base = match base {
        Ok(stack) => Some(stack),
        Err(found) => {
            diagnostics.extend_for_environment(None, found);
            None
        }
    };
    if let Some(stack) = &base
        && raw.environments.is_empty()
    {
        environments.push(stack.clone());
    }
    for name in raw.environments.keys() {
        match environment_model(&loaded, &raw, name) {
            Ok(stack) => environments.push(stack),
            Err(found) => diagnostics.extend_for_environment(Some(name), found),
        }
    }
    match base {
        Some(base) if diagnostics.is_empty() => Ok(ValidatedFile { base, environments }),
        _ => Err(diagnostics),
    }
}

impl ValidatedFile {
    /// The model `plan` and `apply` work on: environment `env`, or `default` for a file
    /// without environments. A file with environments needs one named.
    pub fn select(self, path: &Path, env: Option<&str>) -> Result<Stack, Diagnostics> {
        match env {
            Some(env) => self.environment(path, env),
            None if self.environments.len() == 1
                && self.environments[0].environment.name == DEFAULT_ENVIRONMENT =>
            {
                self.environment(path, DEFAULT_ENVIRONMENT)
            }
            None => {
                let names: Vec<&String> = self
                    .environments
                    .iter()
                    .map(|s| &s.environment.name)
                    .collect();
                let file = SourceFile::new(crate::diagnostic::display_path(path), "");
                Err(Diagnostic::new(
                    &file,
                    "this stack defines environments; name one with `--env`",
                )
                .hint(format!("environments: {}", list(names)))
                .into())
            }
        }
    }

    /// The model of environment `env` of the file at `path`.
    pub fn environment(self, path: &Path, env: &str) -> Result<Stack, Diagnostics> {
        let names: Vec<String> = self
            .environments
            .iter()
            .map(|s| s.environment.name.clone())
            .collect();
        let found = self
            .environments
            .into_iter()
            .find(|s| s.environment.name == env);
        found.ok_or_else(|| {
            let file = SourceFile::new(crate::diagnostic::display_path(path), "");
            let hint = did_you_mean(env, names.iter().map(String::as_str))
                .unwrap_or_else(|| format!("environments: {}", list(names.iter())));
            Diagnostic::new(&file, format!("no environment `{env}` in this stack"))
                .hint(hint)
                .into()
        })
    }
}

fn environment(raw: &RawStack, name: &str) -> Environment {
    let ephemeral = raw
        .environments
        .get(name)
        .and_then(|e| e.ephemeral.as_ref())
        .map(|e| Ephemeral {
            ttl: e.ttl.unwrap_or(Duration(DEFAULT_TTL)),
        });
    Environment {
        name: name.to_owned(),
        ephemeral,
        lifecycle: None,
    }
}

fn environment_model(
    loaded: &LoadedFile,
    raw: &RawStack,
    name: &str,
) -> Result<Stack, Diagnostics> {
    let root = overlay::effective_root(&loaded.file, &loaded.root, name)?;
    let effective = decode::decode(&loaded.file, &root)?;
    let spans = SpanIndex::new(&root);
    check_model(loaded, &spans, &effective, environment(raw, name))
}

fn check_model(
    loaded: &LoadedFile,
    spans: &SpanIndex,
    raw: &RawStack,
    env: Environment,
) -> Result<Stack, Diagnostics> {
    let mut checker = Checker {
        file: &loaded.file,
        spans,
        dir: &loaded.dir,
        errors: Diagnostics::default(),
    };
    let stack = sections::build(&mut checker, raw, env);
    if checker.errors.is_empty() {
        for cycle in StackGraph::new(&stack).cycles() {
            checker.cycle(&cycle);
        }
    }
    if checker.errors.is_empty() {
        Ok(stack)
    } else {
        Err(checker.errors)
    }
}
