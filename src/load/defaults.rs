//! `defaults: { groups: { ... } }`: settings every group gets, merged into each group's
//! YAML before decoding, so a value keeps the position it was written at (a problem in
//! a default is reported at the `defaults` line). A group's own values win; mappings
//! merge key by key, as environment overlays do, which merge after.

use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

/// Merges `defaults.groups` into every entry of `groups`, and takes `defaults` out of
/// the tree. A `defaults` of another shape stays, for decoding to report where it is.
pub(super) fn apply(root: &mut Node) {
    let Some(map) = root.as_mapping_mut() else {
        return;
    };
    let defaults = map
        .get_mapping("defaults")
        .filter(|d| d.keys().all(|k| k.as_str() == "groups"))
        .and_then(|d| d.get_mapping("groups"))
        .cloned();
    let Some(defaults) = defaults else {
        return;
    };
    map.retain(|key, _| key.as_str() != "defaults");
    let Some(Node::Mapping(groups)) = map.get_mut("groups") else {
        return;
    };
    for (_, group) in groups.iter_mut() {
        if let Node::Mapping(group) = group {
            fill(group, &defaults);
        }
    }
}

/// Adds what `group` lacks of `defaults`, recursively into mappings both have.
fn fill(group: &mut MarkedMappingNode, defaults: &MarkedMappingNode) {
    for (key, value) in defaults.iter() {
        match (group.get_mut(key.as_str()), value) {
            (Some(Node::Mapping(own)), Node::Mapping(default)) => fill(own, default),
            (Some(_), _) => {}
            (None, _) => {
                group.insert(key.clone(), value.clone());
            }
        }
    }
}
