//! Environment overlays: the effective stack file of one environment.
//!
//! An overlay is merged into the file as YAML, before decoding, so that every value of
//! the effective model keeps the position it was written at: a problem caused by
//! `environments.staging.groups.www.count` is reported there, not at the base value.
//!
//! Merge rules (also in `docs/stack-format.md`):
//! - an overlay names only entries that exist (`groups.www`, `apps.web`, ...);
//! - mappings merge key by key, recursively; scalars and lists replace;
//! - `ephemeral` belongs to the environment and is not merged.

use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

use super::spans::join;
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile, did_you_mean, list};

/// Sections whose entries are named; an overlay may only name entries that exist.
const NAMED_SECTIONS: &[&str] = &[
    "apps",
    "security_groups",
    "roles",
    "groups",
    "cloudformation",
];

/// The tree of environment `env`: the file without `environments`, with the overlay of
/// `env` merged in. `env` must be an environment of the file.
pub fn effective_root(file: &SourceFile, root: &Node, env: &str) -> Result<Node, Diagnostics> {
    let mut merged = root.clone();
    let Some(map) = merged.as_mapping_mut() else {
        return Ok(merged);
    };
    let overlay = map
        .get_mapping("environments")
        .and_then(|envs| envs.get_mapping(env))
        .cloned();
    map.retain(|key, _| key.as_str() != "environments");
    let Some(overlay) = overlay else {
        return Ok(merged);
    };
    let mut errors = Diagnostics::default();
    let base_path = format!("environments.{env}");
    for (key, value) in overlay.iter() {
        let section = key.as_str();
        if section == "ephemeral" {
            continue;
        }
        if NAMED_SECTIONS.contains(&section) {
            check_names_exist(
                file,
                map,
                section,
                value,
                &join(&base_path, section),
                &mut errors,
            );
        }
        merge_into(map, key, value);
    }
    if errors.is_empty() {
        Ok(merged)
    } else {
        Err(errors)
    }
}

fn check_names_exist(
    file: &SourceFile,
    base: &MarkedMappingNode,
    section: &str,
    overlay: &Node,
    path: &str,
    errors: &mut Diagnostics,
) {
    let Some(entries) = overlay.as_mapping() else {
        return;
    };
    let existing: Vec<&str> = base
        .get_mapping(section)
        .map(|m| m.keys().map(|k| k.as_str()).collect())
        .unwrap_or_default();
    for (name, _) in entries.iter() {
        if existing.contains(&name.as_str()) {
            continue;
        }
        let m = name.span().start();
        let location = file.locate(m.map_or(1, |m| m.line()), m.map_or(1, |m| m.column()));
        errors.push(
            Diagnostic::new(
                file,
                format!("overlay names `{section}.{}`, which the file does not define", name.as_str()),
            )
            .path(join(path, name.as_str()))
            .at(location)
            .expected(format!("one of {}", list(existing.iter())))
            .maybe_hint(did_you_mean(name.as_str(), existing.iter().copied()).or_else(|| {
                Some(format!(
                    "environments override entries; define `{section}.{}` at the top level first",
                    name.as_str()
                ))
            })),
        );
    }
}

/// Merges `value` into `map[key]`: mappings key by key, anything else replaces.
fn merge_into(
    map: &mut MarkedMappingNode,
    key: &marked_yaml::types::MarkedScalarNode,
    value: &Node,
) {
    match (map.get_mut(key.as_str()), value) {
        (Some(Node::Mapping(existing)), Node::Mapping(overlay)) => {
            for (k, v) in overlay.iter() {
                merge_into(existing, k, v);
            }
        }
        (Some(existing), _) => *existing = value.clone(),
        (None, _) => {
            map.insert(key.clone(), value.clone());
        }
    }
}
