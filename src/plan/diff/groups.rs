//! Instance groups: instances whose spec hash differs are replaced under the rollout
//! policy; count changes scale out or in; instances changed by hand are drift.

use std::collections::{BTreeMap, BTreeSet};

use super::{Diffed, fingerprint, unified_diff};
use crate::diagnostic::plural;
use crate::model::{Address, Group, Stack};
use crate::observe::{
    LaunchTemplateVersion, LiveInstance, LiveLaunchTemplate, Observed, aws_name, tags,
};
use crate::plan::redact::Redactor;
use crate::plan::spec::{
    InstanceTarget, LaunchSpec, REQUIRED_INSTANCE_TAGS, TemplateUpkeep, retag, user_tags,
};
use crate::plan::{Action, Change, CountChange, Detail, GroupChange, SpecChange};
use crate::rollout::{Health, Member, oldest_first};
use crate::template::{KNOWN_AFTER_APPLY, Outputs};

/// What a group diff needs besides the model and observation.
pub struct GroupInputs<'a> {
    /// Resolved image id by group.
    pub images: &'a BTreeMap<String, String>,
    /// CloudFormation outputs as far as known.
    pub outputs: &'a Outputs,
    /// Sensitive values to hide.
    pub redactor: &'a Redactor,
}

/// Diffs every group of `stack` and every owned one it no longer has.
pub fn diff(stack: &Stack, observed: &Observed, inputs: &GroupInputs<'_>) -> Vec<Diffed> {
    let mut by_group: BTreeMap<String, Vec<&LiveInstance>> = BTreeMap::new();
    for instance in &observed.instances {
        if let Some(group) = group_of(stack, instance) {
            by_group.entry(group).or_default().push(instance);
        }
    }
    let templates: BTreeMap<&str, &LiveLaunchTemplate> = observed
        .launch_templates
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let mut out = Vec::new();
    for (name, group) in &stack.groups {
        let live = by_group.remove(name).unwrap_or_default();
        let template = templates.get(aws_name(stack, name).as_str()).copied();
        let image = inputs
            .images
            .get(name)
            .map(String::as_str)
            .unwrap_or_default();
        let spec = LaunchSpec::new(stack, name, image, inputs.outputs);
        out.push(diff_one(
            stack,
            name,
            group,
            &spec,
            &live,
            template,
            inputs.redactor,
        ));
    }
    let prefix = aws_name(stack, "");
    let mut removed: BTreeSet<String> = by_group.keys().cloned().collect();
    removed.extend(
        templates
            .keys()
            .filter_map(|n| n.strip_prefix(&prefix))
            .filter(|n| !stack.groups.contains_key(*n))
            .map(str::to_owned),
    );
    for name in removed {
        let live = by_group.remove(&name).unwrap_or_default();
        let template = templates.get(aws_name(stack, &name).as_str()).copied();
        out.push(gone(stack, &name, &live, template));
    }
    out
}

/// The group an owned instance belongs to: its `rollstack:resource` tag, or its `Name`
/// when that tag went missing.
fn group_of(stack: &Stack, instance: &LiveInstance) -> Option<String> {
    if let Some(group) = instance
        .tag(tags::RESOURCE)
        .and_then(|r| r.strip_prefix("group."))
    {
        return Some(group.to_owned());
    }
    instance
        .tag(tags::NAME)
        .and_then(|n| n.strip_prefix(&aws_name(stack, "")))
        .map(str::to_owned)
}

/// Whether a live instance must be replaced to match the planned spec (the question
/// apply's rollout asks too, through [`InstanceTarget::holds`]); what was changed by
/// hand goes to `drift`.
fn outdated(instance: &LiveInstance, target: &InstanceTarget<'_>, drift: &mut Vec<String>) -> bool {
    let id = &instance.id;
    let missing: Vec<&str> = REQUIRED_INSTANCE_TAGS
        .iter()
        .copied()
        .filter(|t| instance.tag(t).is_none())
        .collect();
    if !missing.is_empty() {
        let s = if missing.len() == 1 { "" } else { "s" };
        let missing = crate::diagnostic::list(missing.iter());
        drift.push(format!("instance `{id}` is missing tag{s} {missing}"));
    }
    if instance.state.is_stopped() {
        drift.push(format!("instance `{id}` was stopped outside rollstack"));
    }
    let same_spec = instance.tag(tags::SPEC) == Some(target.hash);
    let instance_type = target.instance_type.unwrap_or_default();
    let image_id = target.image_id.unwrap_or_default();
    if same_spec && instance.instance_type != instance_type {
        drift.push(format!(
            "instance `{id}` was retyped outside rollstack ({instance_type} -> {})",
            instance.instance_type
        ));
    }
    if same_spec && instance.image_id != image_id {
        drift.push(format!(
            "instance `{id}` runs image `{}`, not `{image_id}`",
            instance.image_id
        ));
    }
    !target.holds(instance)
}

/// One line on what changed between an old instance (launched from `base`) and the new
/// spec.
fn spec_reason(
    old: &LiveInstance,
    base: Option<&LaunchTemplateVersion>,
    spec: &LaunchSpec,
    user_data_changed: bool,
) -> String {
    let mut parts = Vec::new();
    let old_release = old.tag(tags::RELEASE).unwrap_or_default();
    if old_release != spec.release_tag() {
        parts.push(format!("release {old_release} -> {}", spec.release_tag()));
    }
    if old.instance_type != spec.instance_type {
        parts.push(format!(
            "instance type {} -> {}",
            old.instance_type, spec.instance_type
        ));
    }
    if old.image_id != spec.image_id {
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

fn diff_one(
    stack: &Stack,
    name: &str,
    group: &Group,
    spec: &LaunchSpec,
    live: &[&LiveInstance],
    template: Option<&LiveLaunchTemplate>,
    redactor: &Redactor,
) -> Diffed {
    let address = Address::Group(name.to_owned());
    let known = spec.is_known();
    let hash = if known {
        spec.hash()
    } else {
        KNOWN_AFTER_APPLY.to_owned()
    };
    let mut drift = Vec::new();
    let mut current = Vec::new();
    let mut stale = Vec::new();
    let target = InstanceTarget {
        hash: &hash,
        instance_type: Some(&spec.instance_type),
        image_id: Some(&spec.image_id),
    };
    for instance in live {
        if outdated(instance, &target, &mut drift) {
            stale.push(*instance);
        } else {
            current.push(*instance);
        }
    }
    if let Some(last) = template
        .and_then(|t| t.tags.get(tags::COUNT))
        .and_then(|c| c.parse::<usize>().ok())
        && live.len() < last
    {
        drift.push(format!(
            "{} missing: {} of the {last} applied are live (terminated outside rollstack)",
            plural(last - live.len(), "instance"),
            live.len()
        ));
    }
    let count = group.count as usize;
    let keep = current.len().min(count);
    let launch_total = count - keep;
    // Scale-in terminates the most crowded subnet's oldest instances first.
    let surplus = pick_surplus(&current, current.len() - keep);
    let replace_n = stale.len().min(launch_total);
    let replace: Vec<String> = stale[..replace_n].iter().map(|i| i.id.clone()).collect();
    let mut terminate: Vec<String> = stale[replace_n..].iter().map(|i| i.id.clone()).collect();
    terminate.extend(surplus);
    let launch = (launch_total - replace_n) as u32;

    // The user data the outdated instances run: the version carrying their spec, else
    // the default version (the last complete rollout).
    let base = template.and_then(|t| {
        stale
            .iter()
            .find_map(|i| t.version_with_spec(i.tag(tags::SPEC)?))
            .or_else(|| t.version(t.default_version))
    });
    let old_user_data = base.and_then(|v| v.user_data.clone());
    let new_user_data = spec.user_data.clone();
    let user_data_diff = (old_user_data != new_user_data).then(|| {
        unified_diff(
            &redactor.redact(old_user_data.as_deref().unwrap_or_default()),
            &redactor.redact(new_user_data.as_deref().unwrap_or_default()),
            "user data (live)",
            "user data (planned)",
        )
    });
    let upkeep = TemplateUpkeep::of(template, &hash, group.count);
    let mut redacted_spec = spec.clone();
    redacted_spec.user_data = spec.user_data.as_deref().map(|u| redactor.redact(u));
    let before: BTreeSet<String> = live
        .iter()
        .filter_map(|i| i.tag(tags::SPEC).map(str::to_owned))
        .collect();
    let mut detail = GroupChange {
        name: aws_name(stack, name),
        count: CountChange {
            before: live.len() as u32,
            after: group.count,
        },
        replace,
        terminate,
        launch,
        spec: SpecChange {
            before: before.into_iter().collect(),
            after: Some(hash.clone()),
        },
        launch_spec: Some(redacted_spec),
        user_data_diff,
        rollout: None,
        new_launch_template_version: upkeep.version.is_none(),
        ..GroupChange::default()
    };
    retag_kept(
        &mut detail,
        &user_tags(stack, Some(name)),
        &current,
        template,
    );
    let retagging = (!detail.retag.is_empty())
        .then(|| format!("retag {}", plural(detail.retag.len(), "resource")));
    let (action, mut reason) = if live.is_empty() && template.is_none() {
        (
            Action::Create,
            format!("new group of {}", plural(count, "instance")),
        )
    } else if !detail.replace.is_empty() || (!known && !live.is_empty()) {
        if !known {
            detail.replace = live.iter().map(|i| i.id.clone()).collect();
            detail.terminate.clear();
            detail.launch = group.count.saturating_sub(live.len() as u32);
        }
        detail.rollout = Some(rollout_text(group));
        let mut reason = match (stale.first(), known) {
            (_, false) => "user data depends on values known after apply".to_owned(),
            (Some(old), true) => spec_reason(old, base, spec, detail.user_data_diff.is_some()),
            (None, true) => "launch spec changed".to_owned(),
        };
        if let Some(scale) = scale_text(live.len(), count) {
            reason.push_str("; ");
            reason.push_str(&scale);
        }
        (Action::Replace, reason)
    } else if live.len() != count || !detail.terminate.is_empty() || detail.launch > 0 {
        let reason = scale_text(live.len(), count)
            .unwrap_or_else(|| "replace stopped or untagged instances".to_owned());
        (Action::Update, reason)
    } else if upkeep.is_needed() {
        (Action::Update, upkeep_reason(&upkeep))
    } else if let Some(retagging) = retagging.clone() {
        (Action::Update, format!("tags changed: {retagging}"))
    } else {
        (Action::NoOp, "in sync".to_owned())
    };
    if let Some(retagging) = retagging
        && !reason.contains(&retagging)
    {
        reason.push_str("; ");
        reason.push_str(&retagging);
    }
    if action == Action::NoOp {
        detail.user_data_diff = None;
    }
    Diffed {
        change: Change {
            address: address.to_string(),
            action,
            reason,
            detail: Detail::Group(Box::new(detail)),
        },
        drift,
        fingerprint: instances_fingerprint(live, template),
    }
}

/// The kept instances (with their volumes) and the launch template whose user tags
/// differ from `wanted`: retagged in place, never replaced for it, with the tags that
/// differ somewhere (setting one where it is already so changes nothing).
fn retag_kept(
    detail: &mut GroupChange,
    wanted: &BTreeMap<String, String>,
    kept: &[&LiveInstance],
    template: Option<&LiveLaunchTemplate>,
) {
    let mut remove = BTreeSet::new();
    let mut changed = BTreeMap::new();
    let mut note = |id: &str, extra: &[String], live: &BTreeMap<String, String>| {
        let (set, gone) = retag(live, wanted);
        if !set.is_empty() || !gone.is_empty() {
            detail.retag.push(id.to_owned());
            detail.retag.extend(extra.iter().cloned());
            changed.extend(set);
            remove.extend(gone);
        }
    };
    for instance in kept {
        note(&instance.id, &instance.volume_ids, &instance.tags);
    }
    if let Some(t) = template {
        note(&t.id, &[], &t.tags);
    }
    if !detail.retag.is_empty() {
        detail.set_tags = changed;
        detail.remove_tags = remove.into_iter().collect();
    }
}

/// What an update that only looks after the launch template does, in words.
fn upkeep_reason(upkeep: &TemplateUpkeep) -> String {
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

fn scale_text(live: usize, count: usize) -> Option<String> {
    match live.cmp(&count) {
        std::cmp::Ordering::Less => Some(format!("scale out {live} -> {count}")),
        std::cmp::Ordering::Greater => Some(format!("scale in {live} -> {count}")),
        std::cmp::Ordering::Equal => None,
    }
}

/// `1 at a time (max_surge 1, max_unavailable 0)`.
fn rollout_text(group: &Group) -> String {
    let surge = group.rollout.max_surge.resolve(group.count, true);
    let unavailable = group.rollout.max_unavailable.resolve(group.count, false);
    let batch = (surge + unavailable).max(1);
    format!(
        "{batch} at a time (max_surge {}, max_unavailable {}), never below {} healthy",
        group.rollout.max_surge,
        group.rollout.max_unavailable,
        group.count.saturating_sub(unavailable)
    )
}

/// The `n` instances scale-in removes: repeatedly the oldest of the most crowded subnet
/// (the same choice apply's rollout makes).
fn pick_surplus(instances: &[&LiveInstance], n: usize) -> Vec<String> {
    let members: Vec<Member> = instances
        .iter()
        .map(|i| Member {
            id: i.id.clone(),
            current: true,
            health: Health::Healthy,
            subnet: i.subnet_id.clone(),
            launched: i.launch_time.clone(),
        })
        .collect();
    oldest_first(&members.iter().collect::<Vec<_>>(), n)
}

fn gone(
    stack: &Stack,
    name: &str,
    live: &[&LiveInstance],
    template: Option<&LiveLaunchTemplate>,
) -> Diffed {
    let detail = GroupChange {
        name: aws_name(stack, name),
        count: CountChange {
            before: live.len() as u32,
            after: 0,
        },
        terminate: live.iter().map(|i| i.id.clone()).collect(),
        ..GroupChange::default()
    };
    Diffed {
        change: Change {
            address: Address::Group(name.to_owned()).to_string(),
            action: Action::Delete,
            reason: format!(
                "no longer in the stack file: terminate {}",
                plural(live.len(), "instance")
            ),
            detail: Detail::Group(Box::new(detail)),
        },
        drift: Vec::new(),
        fingerprint: instances_fingerprint(live, template),
    }
}

fn instances_fingerprint(live: &[&LiveInstance], template: Option<&LiveLaunchTemplate>) -> String {
    if live.is_empty() && template.is_none() {
        return super::ABSENT.to_owned();
    }
    let mut parts: Vec<String> = live
        .iter()
        .map(|i| {
            format!(
                "{} {} {} {} {}",
                i.id,
                i.state,
                i.instance_type,
                i.image_id,
                i.tag(tags::SPEC).unwrap_or_default()
            )
        })
        .collect();
    parts.sort();
    let template = template
        .map(|t| format!("{} {}", t.id, t.latest_version))
        .unwrap_or_default();
    fingerprint(&[&parts.join(";"), &template])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::InstanceState;

    fn instance(id: &str, subnet: &str, launched: &str) -> LiveInstance {
        LiveInstance {
            id: id.to_owned(),
            state: InstanceState::Running,
            instance_type: "t3.micro".to_owned(),
            image_id: "ami-1".to_owned(),
            subnet_id: Some(subnet.to_owned()),
            private_ip: None,
            launch_time: launched.to_owned(),
            security_group_ids: Vec::new(),
            volume_ids: Vec::new(),
            tags: BTreeMap::new(),
        }
    }

    /// A one-group stack (`web`, count `count`) as validated from a file.
    fn stack(count: u32) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            format!(
                "rollstack: 1\nstack: t\nregion: us-east-1\nreleases: {{ bucket: rel }}\napps: {{ web: {{ version: '1' }} }}\n\
                 roles: {{ web: {{ app: web }} }}\ngroups:\n  web: {{ roles: [web], count: {count}, \
                 image: ami-1, instance_type: t3.micro }}\n"
            ),
        )
        .unwrap();
        let validated = crate::validate::validate_file(&path)
            .unwrap_or_else(|d| panic!("{}", crate::diagnostic::render(&d.sorted(), false)));
        validated.select(&path, None).ok().unwrap()
    }

    /// Live instances: `current` at the planned spec, `old` at another, `stopped` at the
    /// planned spec but stopped by hand.
    fn fleet(stack: &Stack, current: usize, old: usize, stopped: usize) -> Vec<LiveInstance> {
        let spec = LaunchSpec::new(stack, "web", "ami-1", &Outputs::new());
        let tags = crate::plan::spec::instance_tags(stack, "web", &spec);
        let mut old_tags = tags.clone();
        old_tags.insert(tags::SPEC.to_owned(), "0000000000000000".to_owned());
        let make = |n: usize, tags: &BTreeMap<String, String>, state, at: usize| {
            (0..n)
                .map(|i| LiveInstance {
                    state,
                    tags: tags.clone(),
                    ..instance(&format!("i-{at}{i}"), "a", &format!("2026-01-0{}", 1 + at))
                })
                .collect::<Vec<_>>()
        };
        let mut all = make(current, &tags, InstanceState::Running, 0);
        all.extend(make(old, &old_tags, InstanceState::Running, 1));
        all.extend(make(stopped, &tags, InstanceState::Stopped, 2));
        all
    }

    #[test]
    fn group_changes_by_live_fleet_and_count() {
        // (count, current, old, stopped) -> (action, replace, launch, terminate, drift)
        let table = [
            ((3, 0, 0, 0), (Action::Create, 0, 3, 0, 0)),
            ((3, 3, 0, 0), (Action::NoOp, 0, 0, 0, 0)),
            ((3, 1, 2, 0), (Action::Replace, 2, 0, 0, 0)),
            ((3, 0, 3, 0), (Action::Replace, 3, 0, 0, 0)),
            ((5, 1, 2, 0), (Action::Replace, 2, 2, 0, 0)),
            ((1, 0, 3, 0), (Action::Replace, 1, 0, 2, 0)),
            ((5, 3, 0, 0), (Action::Update, 0, 2, 0, 0)),
            ((1, 3, 0, 0), (Action::Update, 0, 0, 2, 0)),
            ((3, 2, 0, 1), (Action::Replace, 1, 0, 0, 1)),
        ];
        for ((count, current, old, stopped), expected) in table {
            let stack = stack(count);
            let live = fleet(&stack, current, old, stopped);
            // What the apply that launched them left: a template whose latest version
            // carries the planned spec, with the count it applied.
            let spec = LaunchSpec::new(&stack, "web", "ami-1", &Outputs::new());
            let template = LiveLaunchTemplate {
                id: "lt-1".to_owned(),
                name: "t-default-web".to_owned(),
                tags: BTreeMap::from([(
                    tags::COUNT.to_owned(),
                    (current + old + stopped).to_string(),
                )]),
                latest_version: 1,
                default_version: 1,
                versions: vec![crate::observe::LaunchTemplateVersion {
                    number: 1,
                    description: format!("spec={}", spec.hash()),
                    user_data: None,
                    settings: BTreeMap::new(),
                }],
            };
            let observed = Observed {
                launch_templates: if live.is_empty() {
                    Vec::new()
                } else {
                    vec![template]
                },
                instances: live,
                ..Observed::default()
            };
            let images = BTreeMap::from([("web".to_owned(), "ami-1".to_owned())]);
            let inputs = GroupInputs {
                images: &images,
                outputs: &Outputs::new(),
                redactor: &Redactor::default(),
            };
            let diffed = diff(&stack, &observed, &inputs).remove(0);
            let Detail::Group(g) = &diffed.change.detail else {
                panic!("a group change");
            };
            let got = (
                diffed.change.action,
                g.replace.len(),
                g.launch as usize,
                g.terminate.len(),
                diffed.drift.len(),
            );
            assert_eq!(
                got, expected,
                "count {count}, live {current}+{old}+{stopped}: {}",
                diffed.change.reason
            );
        }
    }
}
