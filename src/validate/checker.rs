//! The checker: collects the problems of one model, each located by its path in the
//! file, with what was expected and a hint.

use std::path::Path;

use super::references::Names;
use crate::diagnostic::{Diagnostic, Diagnostics, Location, SourceFile, did_you_mean, list};
use crate::load::{self, SpanIndex};
use crate::model::{Address, Edge, TemplateParameter};
use crate::template::RenderError;

/// Collects problems of one model, locating them by path.
pub(crate) struct Checker<'a> {
    pub(super) file: &'a SourceFile,
    pub(super) spans: &'a SpanIndex,
    pub(super) dir: &'a Path,
    pub(super) errors: Diagnostics,
}

impl Checker<'_> {
    pub(super) fn value_at(&self, path: &str) -> Location {
        self.spans.value(self.file, path)
    }

    /// Reports a problem with the value at `path`.
    pub(super) fn error_at_value(
        &mut self,
        path: &str,
        message: String,
        expected: &str,
        hint: Option<String>,
    ) {
        let location = self.value_at(path);
        self.push(location, path, message, expected, hint);
    }

    /// Reports a problem with the key of the entry at `path`.
    pub(super) fn error_at_key(
        &mut self,
        path: &str,
        message: String,
        expected: &str,
        hint: Option<String>,
    ) {
        let location = self.spans.key(self.file, path);
        self.push(location, path, message, expected, hint);
    }

    pub(super) fn push(
        &mut self,
        location: Location,
        path: &str,
        message: String,
        expected: &str,
        hint: Option<String>,
    ) {
        self.errors.push(
            Diagnostic::new(self.file, message)
                .path(path)
                .at(location)
                .expected(expected)
                .maybe_hint(hint),
        );
    }

    /// Checks `value` at `path` with a format rule.
    pub(super) fn format(
        &mut self,
        path: &str,
        value: &str,
        rule: impl Fn(&str) -> Result<(), String>,
        what: &str,
    ) {
        if let Err(expected) = rule(value) {
            let hint = (what == "stack name")
                .then(|| super::formats::suggest_name(value, super::formats::MAX_NAME))
                .flatten()
                .map(|s| format!("try `{s}`"));
            self.error_at_value(path, format!("invalid {what} `{value}`"), &expected, hint);
        }
    }

    /// Checks the name of the entry at `path`.
    pub(super) fn entry_name(&mut self, path: &str, name: &str, max: usize) {
        if let Err(expected) = super::formats::name(name, max) {
            let hint = super::formats::suggest_name(name, max).map(|s| format!("try `{s}`"));
            self.error_at_key(path, format!("invalid name `{name}`"), &expected, hint);
        }
    }

    pub(super) fn subnets(&mut self, path: &str, subnets: &[String]) {
        for (i, subnet) in subnets.iter().enumerate() {
            self.format(
                &format!("{path}[{i}]"),
                subnet,
                |v| super::formats::aws_id(v, "subnet"),
                "subnet id",
            );
        }
    }

    pub(super) fn dependency(
        &mut self,
        names: &Names,
        from: &Address,
        path: &str,
        text: &str,
        references: &mut Vec<Edge>,
    ) {
        match names.dependency(text) {
            Ok(to) if &to == from => self.error_at_value(
                path,
                format!("`{from}` depends on itself"),
                "another resource",
                Some("remove this entry".into()),
            ),
            Ok(to) => references.push(Edge {
                from: from.clone(),
                to,
                path: path.to_owned(),
            }),
            Err(e) => self.error_at_value(path, e.message, "a resource of this stack", e.hint),
        }
    }

    /// Reads a template file named at `path`, relative to the stack file.
    pub(super) fn read_template(
        &mut self,
        path: &str,
        relative: &str,
    ) -> Option<crate::model::Template> {
        let file = self.dir.join(relative);
        let shown = crate::diagnostic::display_path(&file);
        match std::fs::read(&file) {
            Ok(bytes) if bytes.len() > load::MAX_FILE_BYTES => {
                self.error_at_value(
                    path,
                    format!(
                        "`{}` is larger than {} bytes",
                        shown.display(),
                        load::MAX_FILE_BYTES
                    ),
                    "a template file",
                    None,
                );
                None
            }
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(source) => Some(crate::model::Template {
                    path: relative.to_owned(),
                    file: shown,
                    source,
                }),
                Err(_) => {
                    self.error_at_value(
                        path,
                        format!("`{}` is not UTF-8 text", shown.display()),
                        "a text template",
                        None,
                    );
                    None
                }
            },
            Err(e) => {
                let siblings: Vec<String> = file
                    .parent()
                    .and_then(|d| std::fs::read_dir(d).ok())
                    .map(|d| {
                        d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                            .collect()
                    })
                    .unwrap_or_default();
                let wanted = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(relative);
                let hint =
                    did_you_mean(wanted, siblings.iter().map(String::as_str)).or_else(|| {
                        Some(format!(
                            "paths are relative to the stack file's folder `{}`",
                            crate::diagnostic::display_path(self.dir).display()
                        ))
                    });
                self.error_at_value(
                    path,
                    format!("cannot read `{}`: {}", shown.display(), io_reason(&e)),
                    "an existing file, relative to the stack file",
                    hint,
                );
                None
            }
        }
    }

    /// Reads the `Parameters` and `Outputs` a CloudFormation template declares.
    pub(super) fn cloudformation_template(
        &mut self,
        template: &crate::model::Template,
    ) -> Option<(Vec<TemplateParameter>, Vec<String>)> {
        let file = SourceFile::new(&template.file, template.source.as_str());
        let document: serde_yaml::Value = match serde_yaml::from_str(&template.source) {
            Ok(v) => v,
            Err(e) => {
                let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                let message = e.to_string();
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                self.errors.push(
                    Diagnostic::new(
                        &file,
                        format!("template is not valid YAML or JSON: {message}"),
                    )
                    .at(file.locate(line, column))
                    .hint("CloudFormation templates are YAML or JSON"),
                );
                return None;
            }
        };
        if document.get("Resources").is_none() {
            self.errors.push(
                Diagnostic::new(
                    &file,
                    "not a CloudFormation template: it has no `Resources` section",
                )
                .at(file.locate(1, 1))
                .hint("a template declares at least one resource under `Resources:`"),
            );
            return None;
        }
        let declared = document
            .get("Parameters")
            .and_then(serde_yaml::Value::as_mapping)
            .map(|params| {
                params
                    .iter()
                    .filter_map(|(name, spec)| {
                        let no_echo = spec.get("NoEcho").is_some_and(|v| {
                            v.as_bool() == Some(true) || v.as_str() == Some("true")
                        });
                        Some(TemplateParameter {
                            name: name.as_str()?.to_owned(),
                            has_default: spec.get("Default").is_some(),
                            no_echo,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let outputs = document
            .get("Outputs")
            .and_then(serde_yaml::Value::as_mapping)
            .map(|o| {
                o.keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Some((declared, outputs))
    }

    /// Reports a user-data template that does not render, at the template's own line.
    pub(super) fn template_error(
        &mut self,
        path: &str,
        template: &crate::model::Template,
        error: &RenderError,
        context: &serde_json::Value,
    ) {
        let file = SourceFile::new(&template.file, template.source.as_str());
        let mut location = match (error.range.clone(), error.line) {
            (Some(range), _) => {
                let line = template.source[..range.start].matches('\n').count() + 1;
                let column = template.source[..range.start]
                    .rsplit('\n')
                    .next()
                    .map_or(0, |l| l.chars().count())
                    + 1;
                Location {
                    line,
                    column,
                    offset: range.start,
                    length: range.len(),
                }
            }
            (None, Some(line)) => file.locate(line, 1),
            (None, None) => file.locate(1, 1),
        };
        if let Some(name) = &error.undefined
            && let Some(offset) = template.source.find(name.as_str())
        {
            let line = template.source[..offset].matches('\n').count() + 1;
            if error.line.is_none_or(|l| l == line) {
                let column = template.source[..offset]
                    .rsplit('\n')
                    .next()
                    .map_or(0, |l| l.chars().count())
                    + 1;
                location = Location {
                    line,
                    column,
                    offset,
                    length: name.len(),
                };
            }
        }
        let hint = error
            .undefined
            .as_deref()
            .map(|name| undefined_hint(name, context));
        self.errors.push(
            Diagnostic::new(&file, error.message.clone())
                .path(path)
                .at(location)
                .expected("not defined when this template is rendered")
                .maybe_hint(hint),
        );
    }

    pub(super) fn cycle(&mut self, cycle: &[Edge]) {
        let loop_text: Vec<String> = cycle
            .iter()
            .map(|r| r.from.to_string())
            .chain(cycle.first().map(|r| r.from.to_string()))
            .collect();
        let first = &cycle[0];
        let mut diagnostic = Diagnostic::new(self.file, format!("dependency cycle: {}", loop_text.join(" -> ")))
            .path(first.path.clone())
            .at(self.value_at(&first.path))
            .expected(format!("`{}` depends on `{}` here", first.from, first.to))
            .hint("resources are created in dependency order, so a loop can never start; remove one of these references");
        for reference in &cycle[1..] {
            diagnostic = diagnostic.related(
                self.value_at(&reference.path),
                format!("`{}` depends on `{}`", reference.from, reference.to),
            );
        }
        self.errors.push(diagnostic);
    }
}

fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        _ => error.to_string(),
    }
}

/// "did you mean" for the last part of an undefined dotted name, among what exists.
fn undefined_hint(name: &str, context: &serde_json::Value) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    let mut current = context;
    for (i, part) in parts.iter().enumerate() {
        match current.get(part) {
            Some(next) => current = next,
            None => {
                let available: Vec<&str> = current
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let prefix = parts[..i].join(".");
                let qualified = |k: &str| {
                    if prefix.is_empty() {
                        k.to_owned()
                    } else {
                        format!("{prefix}.{k}")
                    }
                };
                return match crate::diagnostic::closest(part, available.iter().copied()) {
                    Some(best) => format!("did you mean `{}`?", qualified(best)),
                    None if prefix.is_empty() => format!(
                        "templates see {}",
                        list(crate::template::CONTEXT_NAMES.iter())
                    ),
                    None => format!(
                        "`{prefix}` has {}",
                        list(available.iter().map(|k| qualified(k)))
                    ),
                };
            }
        }
    }
    "check the name".into()
}
