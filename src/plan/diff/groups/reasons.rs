//! Why a group changes, in one line of the plan.

use std::collections::BTreeSet;

use crate::diagnostic::plural;
use crate::observe::{LaunchTemplateVersion, LiveInstance, tags};
use crate::plan::Action;
use crate::plan::GroupChange;
use crate::plan::destructive::{VersionChange, compare};
use crate::plan::spec::{LaunchSpec, TemplateUpkeep};

/// One line on what changed between an old instance (launched from `base`) and the new
/// spec.
pub(super) fn spec_reason(
    old: &LiveInstance,
    base: Option<&LaunchTemplateVersion>,
    spec: &LaunchSpec,
    user_data_changed: bool,
) -> String {
    let mut parts = Vec::new();
    let old_release = old.tag(tags::RELEASE).unwrap_or_default();
    if old_release != spec.release_tag() {
        let downgrade = spec.releases.iter().any(|new| {
            let Some((app, to)) = new.split_once('@') else {
                return false;
            };
            old_release
                .split_whitespace()
                .filter_map(|r| r.split_once('@'))
                .any(|(a, from)| a == app && compare(from, to) == VersionChange::Downgrade)
        });
        parts.push(format!(
            "release {old_release} -> {}{}",
            spec.release_tag(),
            if downgrade { " (downgrade)" } else { "" }
        ));
    } else {
        parts.extend(moved_tags(old.tag(tags::IMAGES).unwrap_or_default(), spec));
    }
    if *old.instance_type != *spec.instance_type {
        parts.push(format!(
            "instance type {} -> {}",
            old.instance_type, spec.instance_type
        ));
    }
    if *old.image_id != *spec.image_id {
        parts.push(format!("image {} -> {}", old.image_id, spec.image_id));
    }
    let old_roles = old.tag(tags::ROLES).unwrap_or_default();
    if old_roles != spec.roles.join(" ") {
        parts.push(format!("roles `{old_roles}` -> `{}`", spec.roles.join(" ")));
    }
    if user_data_changed {
        parts.push("user data changed".to_owned());
    }
    if let Some(base) = base {
        let planned = spec.settings();
        let names: BTreeSet<&&str> = base.settings.keys().chain(planned.keys()).collect();
        for name in names {
            match (base.settings.get(*name), planned.get(*name)) {
                (Some(old), Some(new)) if old != new => {
                    parts.push(format!("{name} {old} -> {new}"));
                }
                (None, Some(new)) => parts.push(format!("{name} {new}")),
                (Some(old), None) => parts.push(format!("no {name} (was {old})")),
                _ => {}
            }
        }
    }
    if parts.is_empty() {
        parts.push("launch spec changed".to_owned());
    }
    parts.join("; ")
}

/// `image digest changed for tag T` for each app of `spec` running the same tag as
/// before (`old_images`, the `rollstack:images` tag) at another digest.
fn moved_tags(old_images: &str, spec: &LaunchSpec) -> Vec<String> {
    let new_images = spec.images_tag();
    let digest_of = |tag: &str, app: &str| {
        tag.split_whitespace()
            .filter_map(|i| i.split_once('@'))
            .find(|(a, _)| *a == app)
            .map(|(_, d)| d.to_owned())
    };
    spec.releases
        .iter()
        .filter_map(|r| r.split_once('@'))
        .filter(|(app, _)| {
            let (before, after) = (digest_of(old_images, app), digest_of(&new_images, app));
            before.is_some() && after.is_some() && before != after
        })
        .map(|(_, version)| format!("image digest changed for tag {version}"))
        .collect()
}

/// What an update that only looks after the launch template does, in words.
pub(super) fn upkeep_reason(upkeep: &TemplateUpkeep) -> String {
    let mut parts = Vec::new();
    if upkeep.version.is_none() {
        parts.push("launch template gets a version with this spec".to_owned());
    }
    if let Some((from, to)) = upkeep.default_moves {
        parts.push(format!(
            "launch template default version {from} -> {to} (the last complete rollout)"
        ));
    }
    if upkeep.count_changes {
        parts.push("record the applied count on the launch template".to_owned());
    }
    parts.join("; ")
}

pub(super) fn scale_text(live: usize, count: usize) -> Option<String> {
    match live.cmp(&count) {
        std::cmp::Ordering::Less => Some(format!("scale out {live} -> {count}")),
        std::cmp::Ordering::Greater => Some(format!("scale in {live} -> {count}")),
        std::cmp::Ordering::Equal => None,
    }
}

/// `reason`, with the scaling a replacement does and the retagging any update does.
pub(super) fn with_scale_and_retag(
    action: Action,
    mut reason: String,
    detail: &GroupChange,
) -> String {
    if action == Action::Replace
        && let Some(scale) = scale_text(detail.count.before as usize, detail.count.after as usize)
    {
        reason.push_str("; ");
        reason.push_str(&scale);
    }
    if !detail.retag.is_empty() {
        let retagging = retagging(detail);
        if !reason.contains(&retagging) {
            reason.push_str("; ");
            reason.push_str(&retagging);
        }
    }
    reason
}

/// `retag 3 resources`.
pub(super) fn retagging(detail: &GroupChange) -> String {
    format!("retag {}", plural(detail.retag.len(), "resource"))
}
