//! YAML tree -> wire types, collecting every problem instead of stopping at the first.
//!
//! Each section entry (`groups.www`, `apps.web`, ...) is decoded on its own, so one
//! misspelt field does not hide the problems of the rest of the file.

use std::collections::BTreeMap;

use marked_yaml::Error as NodeError;
use marked_yaml::{FromNodeError, Node, types::MarkedMappingNode};
use serde::de::DeserializeOwned;

use super::raw::{RawEnvironment, RawStack};
use super::spans::join;
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile, closest, did_you_mean, list};

/// The format version this rollstack reads.
pub const FORMAT: u32 = 1;

/// Top-level sections of format 1, in the order the reference documents them.
pub const SECTIONS: &[&str] = &[
    "rollstack",
    "stack",
    "region",
    "account_id",
    "state_bucket",
    "network",
    "releases",
    "apps",
    "security_groups",
    "roles",
    "groups",
    "cloudformation",
    "sites",
    "jobs",
    "outputs",
    "uses",
    "tags",
    "defaults",
    "moved",
    "dns",
    "notify",
    "environments",
];

/// Decodes a whole stack file.
pub fn decode(file: &SourceFile, root: &Node) -> Result<RawStack, Diagnostics> {
    let mut decoder = Decoder {
        file,
        errors: Diagnostics::default(),
    };
    let Some(map) = root.as_mapping() else {
        return Err(Diagnostic::new(file, "a stack file must be a mapping of sections").into());
    };
    // A newer format may mean anything; say so and stop rather than list its "errors".
    let format = decoder.format(map)?;
    for (key, _) in map.iter() {
        if !SECTIONS.contains(&key.as_str()) {
            let location = file.locate(
                key.span().start().map_or(1, |m| m.line()),
                key.span().start().map_or(1, |m| m.column()),
            );
            decoder.errors.push(
                Diagnostic::new(file, format!("unknown section `{}`", key.as_str()))
                    .at(location)
                    .expected(format!("one of {}", list(SECTIONS.iter())))
                    .maybe_hint(did_you_mean(key.as_str(), SECTIONS.iter().copied())),
            );
        }
    }
    let stack = decoder.required::<String>(map, "stack", "stack: shop");
    let region = decoder.required::<String>(map, "region", "region: us-east-1");
    let raw = RawStack {
        rollstack: format,
        stack: stack.unwrap_or_default(),
        region: region.unwrap_or_default(),
        account_id: decoder.optional(map, "account_id"),
        state_bucket: decoder.optional(map, "state_bucket"),
        network: decoder.optional(map, "network"),
        releases: decoder.optional(map, "releases"),
        apps: decoder.entries(map, "apps"),
        security_groups: decoder.entries(map, "security_groups"),
        roles: decoder.entries(map, "roles"),
        groups: decoder.entries(map, "groups"),
        cloudformation: decoder.entries(map, "cloudformation"),
        sites: decoder.entries(map, "sites"),
        jobs: decoder.entries(map, "jobs"),
        outputs: decoder.optional(map, "outputs").unwrap_or_default(),
        uses: decoder.optional(map, "uses"),
        tags: decoder.optional(map, "tags").unwrap_or_default(),
        defaults: decoder.optional(map, "defaults"),
        moved: decoder.optional(map, "moved").unwrap_or_default(),
        dns: decoder.optional(map, "dns"),
        notify: decoder.optional(map, "notify"),
        environments: decoder.environments(map),
    };
    if decoder.errors.is_empty() {
        Ok(raw)
    } else {
        Err(decoder.errors)
    }
}

struct Decoder<'a> {
    file: &'a SourceFile,
    errors: Diagnostics,
}

impl Decoder<'_> {
    fn format(&mut self, map: &MarkedMappingNode) -> Result<u32, Diagnostics> {
        let Some(node) = map.get_node("rollstack") else {
            return Err(
                Diagnostic::new(self.file, "missing the format version `rollstack: 1`")
                    .at(self.file.locate(1, 1))
                    .expected("a stack file starts with `rollstack: 1`")
                    .hint("add `rollstack: 1` as the first line")
                    .into(),
            );
        };
        let location = self.at(node);
        let text = node.as_scalar().map(|s| s.as_str().trim().to_owned());
        match text.as_deref().map(str::parse::<u32>) {
            Some(Ok(FORMAT)) => Ok(FORMAT),
            Some(Ok(n)) if n > FORMAT => Err(Diagnostic::new(
                self.file,
                format!("this file is format {n}; this rollstack reads format {FORMAT}"),
            )
            .path("rollstack")
            .at(location)
            .hint("upgrade rollstack to read this file")
            .into()),
            _ => Err(Diagnostic::new(
                self.file,
                format!(
                    "unknown format version `{}`",
                    text.unwrap_or_else(|| "(not a number)".into())
                ),
            )
            .path("rollstack")
            .at(location)
            .expected(format!("`{FORMAT}`"))
            .hint(format!("write `rollstack: {FORMAT}`"))
            .into()),
        }
    }

    fn at(&self, node: &Node) -> crate::diagnostic::Location {
        let m = node.span().start();
        self.file
            .locate(m.map_or(1, |m| m.line()), m.map_or(1, |m| m.column()))
    }

    fn required<T: DeserializeOwned>(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
        example: &str,
    ) -> Option<T> {
        if map.get_node(key).is_none() {
            self.errors.push(
                Diagnostic::new(self.file, format!("missing required section `{key}`"))
                    .at(self.file.locate(1, 1))
                    .hint(format!("add `{example}` near the top of the file")),
            );
            return None;
        }
        self.optional(map, key)
    }

    fn optional<T: DeserializeOwned>(&mut self, map: &MarkedMappingNode, key: &str) -> Option<T> {
        let node = map.get_node(key)?;
        self.value(node, key)
    }

    fn value<T: DeserializeOwned>(&mut self, node: &Node, path: &str) -> Option<T> {
        match marked_yaml::from_node(node) {
            Ok(value) => Some(value),
            Err(e) => {
                self.every_error::<T>(node, path, e);
                None
            }
        }
    }

    /// Decoding stops at the first problem; to report them all, each one found is
    /// reported and its value taken out of a copy of the entry, which is decoded again.
    /// A required field taken out that way comes back as "missing": that is no new
    /// problem, so the search ends there.
    fn every_error<T: DeserializeOwned>(&mut self, node: &Node, base: &str, first: FromNodeError) {
        let mut node = node.clone();
        let mut error = first;
        let mut removed = Removed::default();
        for _ in 0..MAX_PROBLEMS_PER_ENTRY {
            let current = error.path().map(segments).unwrap_or_default();
            let original = removed.original(&current);
            if removed.explains(&original, &error) {
                return;
            }
            let text = render(&original);
            // A misspelt field stands for the field it resembles.
            let suggestion = match &*error {
                NodeError::UnknownFieldError(field, expected, _) => {
                    closest(field, expected.iter().copied()).map(str::to_owned)
                }
                _ => None,
            };
            let mut diagnostic = node_error(self.file, base, error);
            if !text.is_empty() {
                diagnostic = diagnostic.path(join_path(base, &text));
            }
            self.errors.push(diagnostic);
            if current.is_empty() || !remove(&mut node, &current) {
                return;
            }
            removed.record(original, suggestion);
            match marked_yaml::from_node::<T>(&node) {
                Ok(_) => return,
                Err(next) => error = next,
            }
        }
    }

    /// A mapping of names to entries, each decoded on its own.
    fn entries<T: DeserializeOwned>(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
    ) -> BTreeMap<String, T> {
        let mut out = BTreeMap::new();
        let Some(node) = map.get_node(key) else {
            return out;
        };
        let entries = match node {
            Node::Mapping(entries) => entries,
            Node::Scalar(s) if s.as_str().is_empty() => return out,
            _ => {
                self.errors.push(
                    Diagnostic::new(self.file, format!("`{key}` must be a mapping of names"))
                        .path(key)
                        .at(self.at(node))
                        .expected("a mapping like `name: { ... }`")
                        .hint(format!(
                            "write each entry of `{key}` on its own line as `name:`"
                        )),
                );
                return out;
            }
        };
        for (name, value) in entries.iter() {
            if let Some(decoded) = self.value(value, &join(key, name.as_str())) {
                out.insert(name.as_str().to_owned(), decoded);
            }
        }
        out
    }

    /// Environments, with a clear word for the common slip of `ttl` outside `ephemeral`.
    fn environments(&mut self, map: &MarkedMappingNode) -> BTreeMap<String, RawEnvironment> {
        let Some(Node::Mapping(envs)) = map.get_node("environments") else {
            return self.entries(map, "environments");
        };
        let mut out = BTreeMap::new();
        for (name, value) in envs.iter() {
            let path = join("environments", name.as_str());
            let mut value = value.clone();
            if let Some(overlay) = value.as_mapping_mut()
                && let Some(ttl) = overlay.remove("ttl")
            {
                let example = ttl.as_scalar().map_or("24h", |s| s.as_str());
                self.errors.push(
                    Diagnostic::new(self.file, "`ttl` is only valid on ephemeral environments")
                        .path(join(&path, "ttl"))
                        .at(self.at(&ttl))
                        .expected("`ttl` inside `ephemeral`")
                        .hint(format!(
                            "mark the environment ephemeral: `ephemeral: {{ ttl: {example} }}`"
                        )),
                );
            }
            if let Some(decoded) = self.value(&value, &path) {
                out.insert(name.as_str().to_owned(), decoded);
            }
        }
        out
    }
}

/// Problems reported in one entry at most (each needs a decode of its own).
const MAX_PROBLEMS_PER_ENTRY: usize = 50;

/// One step of a decoding error's path: a mapping key or a sequence index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Key(String),
    Index(usize),
}

/// `rollout.pause`, `roles[0]`, `ingress[1].ports` -> segments.
fn segments(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Segment::Key(key.to_owned()));
        }
        while let Some((index, after)) = rest.split_once(']') {
            if let Ok(i) = index.parse() {
                out.push(Segment::Index(i));
            }
            rest = after.trim_start_matches('[');
        }
    }
    out
}

fn render(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) if out.is_empty() => out.push_str(key),
            Segment::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn join_path(base: &str, inner: &str) -> String {
    if inner.starts_with('[') {
        format!("{base}{inner}")
    } else {
        join(base, inner)
    }
}

/// Takes the value at `path` out of `node`; false when there is none.
fn remove(node: &mut Node, path: &[Segment]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut at = node;
    for segment in parents {
        let next = match (segment, at) {
            (Segment::Key(key), Node::Mapping(map)) => map.get_mut(key.as_str()),
            (Segment::Index(i), Node::Sequence(items)) => items.get_mut(*i),
            _ => None,
        };
        let Some(next) = next else {
            return false;
        };
        at = next;
    }
    match (last, at) {
        (Segment::Key(key), Node::Mapping(map)) => map.remove(key.as_str()).is_some(),
        (Segment::Index(i), Node::Sequence(items)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

/// What was taken out of an entry so far, as paths of the original entry.
#[derive(Default)]
struct Removed {
    paths: Vec<Vec<Segment>>,
}

impl Removed {
    /// The original path of a path in the entry as it is now: sequence items taken
    /// out before an index shift it.
    fn original(&self, current: &[Segment]) -> Vec<Segment> {
        let mut out: Vec<Segment> = Vec::with_capacity(current.len());
        for segment in current {
            let segment = match segment {
                Segment::Index(i) => {
                    let mut taken: Vec<usize> = self
                        .paths
                        .iter()
                        .filter_map(|p| match p.split_last() {
                            Some((Segment::Index(t), prefix)) if prefix == out.as_slice() => {
                                Some(*t)
                            }
                            _ => None,
                        })
                        .collect();
                    taken.sort_unstable();
                    let mut index = *i;
                    for t in taken {
                        if t <= index {
                            index += 1;
                        }
                    }
                    Segment::Index(index)
                }
                key => key.clone(),
            };
            out.push(segment);
        }
        out
    }

    /// Records that the value at `original` was taken out; a misspelt field also stands
    /// for the field it resembles, so that field's absence is no new problem.
    fn record(&mut self, original: Vec<Segment>, suggestion: Option<String>) {
        if let (Some(field), Some((_, parent))) = (suggestion, original.split_last()) {
            let mut meant = parent.to_vec();
            meant.push(Segment::Key(field));
            self.paths.push(meant);
        }
        self.paths.push(original);
    }

    /// Whether `error` at `path` is only the absence of a field taken out (or misspelt).
    fn explains(&self, path: &[Segment], error: &FromNodeError) -> bool {
        let text = error.to_string();
        let Some(field) = text
            .split("missing field `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
        else {
            return false;
        };
        let mut missing = path.to_vec();
        missing.push(Segment::Key(field.to_owned()));
        self.paths.contains(&missing)
    }
}

/// Turns a decoding error into a diagnostic with a path, a location and a hint.
fn node_error(file: &SourceFile, base: &str, error: FromNodeError) -> Diagnostic {
    let path = match error.path() {
        Some(inner) if inner.starts_with('[') => format!("{base}{inner}"),
        Some(inner) => join(base, inner),
        None => base.to_owned(),
    };
    let location = error
        .start_mark()
        .map(|m| file.locate(m.line(), m.column()));
    let found = location
        .map(|l| file.text[l.offset..l.offset + l.length].to_owned())
        .unwrap_or_default();
    let mut diagnostic = match error.into_inner() {
        NodeError::UnknownFieldError(field, expected, _) => {
            Diagnostic::new(file, format!("unknown field `{field}`"))
                .expected(format!("one of {}", list(expected.iter())))
                .maybe_hint(did_you_mean(&field, expected.iter().copied()))
        }
        NodeError::NotBoolean(_) => {
            Diagnostic::new(file, format!("expected `true` or `false`, found `{found}`"))
        }
        NodeError::IntegerParseFailure(e, _) => {
            use std::num::IntErrorKind::*;
            let message = match e.kind() {
                PosOverflow => format!("`{found}` is too large here"),
                _ => format!("expected a whole number, found `{found}`"),
            };
            Diagnostic::new(file, message).expected("a whole number of at least 0")
        }
        NodeError::FloatParseFailure(_, _) => {
            Diagnostic::new(file, format!("expected a number, found `{found}`"))
        }
        NodeError::Other(message, _) => {
            let hint = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'))
                .map(|field| format!("add `{field}:` to this entry"));
            Diagnostic::new(
                file,
                message.replace("invalid type: ", "wrong kind of value: "),
            )
            .maybe_hint(hint)
        }
    };
    diagnostic = diagnostic.path(path);
    if let Some(location) = location {
        diagnostic = diagnostic.at(location);
    }
    diagnostic
}
