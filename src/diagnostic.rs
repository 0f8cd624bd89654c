//! Problems found in user input, each tied to a file, a line and a column.
//!
//! Every check in `load` and `validate` reports through [`Diagnostic`] so that
//! all problems of a file can be collected in one pass and printed alike:
//! what is wrong, where (with the source line), what was expected, and a hint.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceSpan};

/// A source file that diagnostics point into (a stack file or a template).
#[derive(Clone)]
pub struct SourceFile {
    /// The path as the user gave it (or as it is relative to the stack file).
    pub path: PathBuf,
    /// The file's text; empty when it could not be read as text.
    pub text: Arc<str>,
}

impl SourceFile {
    /// A source file with the given display path and text.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    /// The byte range of 1-based `line`/`column` (counted in characters), at least one
    /// character long where the line has one, covering the token that starts there.
    pub fn locate(&self, line: usize, column: usize) -> Location {
        let mut offset = 0;
        for (index, text) in self.text.split_inclusive('\n').enumerate() {
            if index + 1 == line {
                let start = text
                    .char_indices()
                    .nth(column.saturating_sub(1))
                    .map(|(byte, _)| byte)
                    .unwrap_or(text.trim_end_matches(['\n', '\r']).len());
                let length = token_length(&text[start..]);
                return Location {
                    line,
                    column,
                    offset: offset + start,
                    length,
                };
            }
            offset += text.len();
        }
        Location {
            line: line.max(1),
            column: column.max(1),
            offset: self.text.len(),
            length: 0,
        }
    }
}

/// Length in bytes of the YAML token at the start of `rest`: a quoted string, or a plain
/// scalar up to the next separator.
fn token_length(rest: &str) -> usize {
    let line = rest.trim_end_matches(['\n', '\r']);
    let mut chars = line.char_indices();
    match chars.next() {
        None => 0,
        Some((_, quote @ ('"' | '\''))) => chars
            .find(|&(_, c)| c == quote)
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(line.len()),
        Some(_) => {
            let end = line
                .char_indices()
                .find(|&(i, c)| {
                    matches!(c, ',' | ']' | '}' | '#')
                        || (c == ':' && line[i + 1..].starts_with([' ', '\t']))
                        || (c == ':' && i + 1 == line.len())
                })
                .map(|(i, _)| i)
                .unwrap_or(line.len());
            line[..end].trim_end().len().max(1).min(line.len())
        }
    }
}

/// A position in a [`SourceFile`]: 1-based line and column, and the byte range to underline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes of the underlined text.
    pub length: usize,
}

/// One problem, with everything a user needs to fix it.
#[derive(Clone)]
pub struct Diagnostic {
    /// What is wrong, in one sentence (values in backticks).
    pub message: String,
    /// The path of the offending value, like `groups.www.rollout.max_surge`.
    pub path: Option<String>,
    /// The file the location points into.
    pub file: SourceFile,
    /// Where the problem is; `None` only when the file itself is the problem.
    pub location: Option<Location>,
    /// What was expected at the location (shown as the label under the source line).
    pub expected: Option<String>,
    /// How to fix it.
    pub hint: Option<String>,
    /// The environment whose effective model has the problem, when only that one has it.
    pub environment: Option<String>,
    /// Further places involved (the other half of a duplicate, each step of a cycle).
    pub related: Vec<(Location, String)>,
}

impl Diagnostic {
    /// A diagnostic with a message in `file` and nothing else set yet.
    pub fn new(file: &SourceFile, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            path: None,
            file: file.clone(),
            location: None,
            expected: None,
            hint: None,
            environment: None,
            related: Vec::new(),
        }
    }

    /// Sets the path of the offending value.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets the location.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Sets what was expected.
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Sets the hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the hint when there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    /// Adds another place involved in the problem.
    pub fn related(mut self, location: Location, label: impl Into<String>) -> Self {
        self.related.push((location, label.into()));
        self
    }

    /// `file:line:column` of the problem.
    pub fn position(&self) -> String {
        match self.location {
            Some(l) => format!("{}:{}:{}", self.file.path.display(), l.line, l.column),
            None => self.file.path.display().to_string(),
        }
    }

    /// Key used to drop the same problem found again in another environment.
    fn identity(&self) -> (PathBuf, Option<Location>, &str) {
        (self.file.path.clone(), self.location, &self.message)
    }
}

impl fmt::Debug for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position(), self.message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Without a location miette draws no `file:line:column` header, so say where.
        if self.location.is_none() {
            write!(f, "{}: ", self.file.path.display())?;
        }
        if let Some(path) = &self.path {
            write!(f, "`{path}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(env) = &self.environment {
            write!(f, " (in environment `{env}`)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.hint
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.location.map(|_| &self.file as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let location = self.location?;
        let primary = LabeledSpan::new_primary_with_span(
            self.expected.clone(),
            SourceSpan::new(location.offset.into(), location.length),
        );
        let related = self.related.iter().map(|(l, label)| {
            LabeledSpan::new_with_span(
                Some(label.clone()),
                SourceSpan::new(l.offset.into(), l.length),
            )
        });
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

impl miette::SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let text: &'a str = &self.text;
        let contents = text.read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.path.display().to_string(),
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// All problems found in one or more files.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Adds a problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Adds problems found in environment `env`, except those already reported.
    pub fn extend_for_environment(&mut self, env: Option<&str>, found: Diagnostics) {
        for mut diagnostic in found.items {
            if self
                .items
                .iter()
                .any(|d| d.identity() == diagnostic.identity())
            {
                continue;
            }
            diagnostic.environment = env.map(str::to_owned);
            self.items.push(diagnostic);
        }
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many problems were found.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The problems, in file order.
    pub fn sorted(mut self) -> Vec<Diagnostic> {
        self.items
            .sort_by(|a, b| (&a.file.path, a.location).cmp(&(&b.file.path, b.location)));
        self.items
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Self {
            items: vec![diagnostic],
        }
    }
}

/// Renders diagnostics for a terminal (or, without colour, for logs and snapshots).
pub fn render(diagnostics: &[Diagnostic], color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_wrap_lines(false)
        .with_context_lines(1);
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str("error: ");
        if handler.render_report(&mut out, diagnostic).is_err() {
            out.push_str(&format!("{}: {diagnostic}\n", diagnostic.position()));
        }
        out.push('\n');
    }
    out
}

/// "did you mean `x`?" for the closest of `candidates` to `wrong`, when one is close.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(wrong, candidates).map(|best| format!("did you mean `{best}`?"))
}

/// The closest of `candidates` to `wrong`, when one is close: a typo or transposition
/// away (edit distance up to a third of the length), or very similar by Jaro-Winkler.
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let allowed = (wrong.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != wrong)
        .filter_map(|c| {
            let distance = strsim::osa_distance(wrong, c);
            let similarity = strsim::jaro_winkler(wrong, c);
            (distance <= allowed || similarity >= 0.85).then_some((distance, -similarity, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map(|(_, _, c)| c)
}

/// "`a`, `b` and `c`" for hints and messages.
/// `1 rule`, `2 rules`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let items: Vec<String> = items
        .into_iter()
        .map(|i| format!("`{}`", i.as_ref()))
        .collect();
    match items.as_slice() {
        [] => "none".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Display path of `path` relative to the current directory when it is below it.
pub fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// Whether `stream` gets colour: a terminal, and `NO_COLOR` unset.
pub fn color_on(stream: &impl std::io::IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
