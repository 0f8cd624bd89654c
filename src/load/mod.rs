//! Load: stack file on disk -> YAML tree with positions -> wire types.
//!
//! Reading is defensive: size, encoding and nesting are checked before anything else,
//! so hostile input gets a diagnostic instead of a panic, a hang or an exhausted stack.

pub mod decode;
mod defaults;
pub mod overlay;
pub mod raw;
pub mod spans;

use std::path::{Path, PathBuf};

use marked_yaml::{LoadError, LoaderOptions, Node};

use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile, display_path};
pub use spans::SpanIndex;

/// Largest stack file rollstack reads; real ones are a few kilobytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Deepest nesting of mappings and lists a stack file may have; format 1 needs six.
pub const MAX_DEPTH: usize = 32;

/// A stack file read and parsed, with positions for every value.
pub struct LoadedFile {
    /// The file as text, for diagnostics.
    pub file: SourceFile,
    /// The YAML tree.
    pub root: Node,
    /// The folder that relative paths in the file are resolved against.
    pub dir: PathBuf,
}

/// Reads and parses the stack file at `path`.
pub fn read(path: &Path) -> Result<LoadedFile, Diagnostics> {
    let shown = display_path(path);
    let empty = SourceFile::new(&shown, "");
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostic::new(&empty, format!("cannot read `{}`: {e}", shown.display()))
            .hint("check the path; stack files are usually under `stacks/`")
    })?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let file = SourceFile::new(
        &shown,
        String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]),
    );
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::new(
            &file,
            format!(
                "file is {} bytes; a stack file may be at most {MAX_FILE_BYTES} bytes",
                bytes.len()
            ),
        )
        .at(file.locate(1, 1))
        .hint("split large settings into templates referenced from the stack file")
        .into());
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => return Err(not_utf8(&shown, e).into()),
    };
    let file = SourceFile::new(&shown, text);
    let mut root = parse(&file)?;
    check_depth(&file, &root)?;
    defaults::apply(&mut root);
    Ok(LoadedFile { file, root, dir })
}

/// A diagnostic pointing at the first byte that is not UTF-8.
fn not_utf8(shown: &Path, error: std::string::FromUtf8Error) -> Diagnostic {
    let valid = error.utf8_error().valid_up_to();
    let bytes = error.into_bytes();
    let good = String::from_utf8_lossy(&bytes[..valid]).into_owned();
    let line = good.matches('\n').count() + 1;
    let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let utf16 = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
    // Shown in the terminal: control characters (NULs of UTF-16, escapes) as U+FFFD.
    let shown_text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    let file = SourceFile::new(shown, shown_text);
    Diagnostic::new(&file, "file is not UTF-8 text")
        .at(file.locate(line, column))
        .expected("this byte is not valid UTF-8")
        .hint(if utf16 {
            "this file is UTF-16; save it as UTF-8"
        } else {
            "stack files are YAML text in UTF-8; is this a binary file?"
        })
}

/// Parses YAML, refusing duplicate keys, anchors, aliases and tags.
fn parse(file: &SourceFile) -> Result<Node, Diagnostics> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    marked_yaml::parse_yaml_with_options(0, &*file.text, options)
        .map_err(|e| load_error(file, e).into())
}

fn load_error(file: &SourceFile, error: LoadError) -> Diagnostic {
    let at = |m: &marked_yaml::Marker| file.locate(m.line(), m.column());
    match error {
        LoadError::TopLevelMustBeMapping(m) | LoadError::TopLevelMustBeSequence(m) => {
            Diagnostic::new(file, "a stack file must be a mapping of sections")
                .at(at(&m))
                .expected("expected `key: value` lines such as `rollstack: 1`")
                .hint("start from `stacks/demo.yaml`, or run `rollstack schema` for the format")
        }
        LoadError::UnexpectedAnchor(m) => anchors(file, at(&m)),
        LoadError::MappingKeyMustBeScalar(m) => {
            Diagnostic::new(file, "mapping keys must be plain names")
                .at(at(&m))
                .expected("a name such as `www`")
                .hint("keys are names; put lists and mappings on the value side")
        }
        LoadError::UnexpectedTag(m) => {
            Diagnostic::new(file, "YAML tags are not supported in stack files")
                .at(at(&m))
                .expected("a tag such as `!Ref`")
                .hint("CloudFormation functions belong in the template file, not the stack file")
        }
        LoadError::ScanError(m, e) => {
            let location = at(&m);
            let line_text = file
                .text
                .lines()
                .nth(location.line.saturating_sub(1))
                .unwrap_or("");
            let hint = if e.info().contains("recursion limit") {
                "values are nested too deeply; a stack file needs a handful of levels"
            } else if file
                .text
                .lines()
                .take(location.line)
                .any(|l| l.starts_with('\t') || l.trim_start_matches(' ').starts_with('\t'))
            {
                "YAML does not allow tabs for indentation; indent with spaces"
            } else if line_text.contains(": ") && line_text.trim_start().starts_with('-') {
                "check the indentation of this list item and the line before it"
            } else {
                "check the indentation and quoting around here; quote values containing `: ` or `#`"
            };
            Diagnostic::new(file, format!("invalid YAML: {}", e.info()))
                .at(location)
                .hint(hint)
        }
        LoadError::DuplicateKey(inner) => {
            let name = inner.key.as_str().to_owned();
            let second = inner.key.span().start().map(at);
            let first = inner.prev_key.span().start().map(at);
            let mut d = Diagnostic::new(file, format!("duplicate key `{name}`"))
                .expected("defined again here")
                .hint("each key may appear once in a mapping; remove or rename one of them");
            if let Some(second) = second {
                d = d.at(second);
            }
            if let Some(first) = first {
                d = d.related(first, "first defined here");
            }
            d
        }
    }
}

/// Anchors and aliases are refused: the loader keeps a position for every value, and an
/// alias's values would have two. The diagnostic points at each anchor and alias the
/// scanner finds (`fallback`, where the loader stopped, when it finds none) and names
/// the supported way to share settings, `defaults`.
fn anchors(file: &SourceFile, fallback: crate::diagnostic::Location) -> Diagnostic {
    use yaml_rust2::scanner::{Scanner, Token, TokenType};
    let mut found = Vec::new();
    for Token(mark, kind) in Scanner::new(file.text.chars()) {
        let label = match kind {
            TokenType::Anchor(name) => format!("anchor `&{name}`"),
            TokenType::Alias(name) => format!("alias `*{name}`"),
            _ => continue,
        };
        found.push((file.locate(mark.line(), mark.col() + 1), label));
    }
    let mut found = found.into_iter();
    let (at, label) = found.next().unwrap_or((
        fallback,
        "an anchor (`&name`) or alias (`*name`)".to_owned(),
    ));
    let mut d = Diagnostic::new(
        file,
        "YAML anchors, aliases and merge keys are not supported in stack files",
    )
    .at(at)
    .expected(label)
    .hint("share group settings with a `defaults: { groups: { ... } }` section: every group gets them, and a group's own values win; vary settings per environment with `environments`");
    for (at, label) in found {
        d = d.related(at, label);
    }
    d
}

/// Refuses trees nested deeper than [`MAX_DEPTH`], without recursion.
fn check_depth(file: &SourceFile, root: &Node) -> Result<(), Diagnostics> {
    let mut stack = vec![(root, 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            let m = node.span().start().copied();
            let mut d = Diagnostic::new(
                file,
                format!("values are nested more than {MAX_DEPTH} levels deep"),
            )
            .hint("a stack file needs a handful of levels; is this the right file?");
            if let Some(m) = m {
                d = d.at(file.locate(m.line(), m.column()));
            }
            return Err(d.into());
        }
        match node {
            Node::Mapping(map) => stack.extend(map.values().map(|v| (v, depth + 1))),
            Node::Sequence(seq) => stack.extend(seq.iter().map(|v| (v, depth + 1))),
            Node::Scalar(_) => {}
        }
    }
    Ok(())
}
