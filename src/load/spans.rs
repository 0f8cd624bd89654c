//! Where each value of a stack file is, by path (`groups.www.rollout.max_surge`).
//!
//! Validation works on plain types and names problems by path; this index turns a
//! path back into a file position for the diagnostic.

use std::collections::HashMap;

use marked_yaml::Node;

use crate::diagnostic::{Location, SourceFile};

/// Positions of keys and values in one YAML tree, by path.
#[derive(Default)]
pub struct SpanIndex {
    values: HashMap<String, (usize, usize)>,
    keys: HashMap<String, (usize, usize)>,
}

impl SpanIndex {
    /// Indexes every key and value below `root`.
    pub fn new(root: &Node) -> Self {
        let mut index = SpanIndex::default();
        let mut stack = vec![(String::new(), root)];
        while let Some((path, node)) = stack.pop() {
            if let Some(m) = node.span().start() {
                index.values.insert(path.clone(), (m.line(), m.column()));
            }
            match node {
                Node::Mapping(map) => {
                    for (key, value) in map.iter() {
                        let child = join(&path, key.as_str());
                        if let Some(m) = key.span().start() {
                            index.keys.insert(child.clone(), (m.line(), m.column()));
                        }
                        stack.push((child, value));
                    }
                }
                Node::Sequence(seq) => {
                    for (i, value) in seq.iter().enumerate() {
                        stack.push((format!("{path}[{i}]"), value));
                    }
                }
                Node::Scalar(_) => {}
            }
        }
        index
    }

    /// The value at `path`, or the nearest enclosing value that exists.
    pub fn value(&self, file: &SourceFile, path: &str) -> Location {
        let (line, column) = self.nearest(&self.values, path);
        file.locate(line, column)
    }

    /// The key of the entry at `path` (falling back to its value, then to the nearest
    /// enclosing entry).
    pub fn key(&self, file: &SourceFile, path: &str) -> Location {
        match self.keys.get(path) {
            Some(&(line, column)) => file.locate(line, column),
            None => self.value(file, path),
        }
    }

    fn nearest(&self, map: &HashMap<String, (usize, usize)>, path: &str) -> (usize, usize) {
        let mut current = path;
        loop {
            if let Some(&position) = map.get(current) {
                return position;
            }
            match parent(current) {
                Some(up) => current = up,
                None => return (1, 1),
            }
        }
    }
}

/// `parent.child`, or `child` at the top.
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// The path one level up: `a.b[0]` -> `a.b` -> `a` -> ``.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}
