//! Instance groups: instances whose spec hash differs are replaced under the rollout
//! policy; count changes scale out or in; instances changed by hand are drift.

use std::collections::{BTreeMap, BTreeSet};

use super::{Diffed, fingerprint, unified_diff};
use crate::diagnostic::plural;
use crate::model::{Address, Group, Stack};
use crate::observe::{
    LaunchTemplateVersion, LiveInstance, LiveLaunchTemplate, Observed, TagLookup, aws_name,
    group_of, tags,
};
use crate::plan::redact::Redactor;
use crate::plan::spec::{LaunchSpec, TemplateUpkeep, retag, user_tags};
use crate::plan::{Action, Change, CountChange, Detail, GroupChange, SpecChange};
use crate::rollout::{Departure, Policy, TargetSpec, scale_in};
use crate::template::{KNOWN_AFTER_APPLY, Outputs};

pub use autoscaling::policy_name;
use reasons::{retagging, scale_text, spec_reason, upkeep_reason, with_scale_and_retag};

/// Why a group whose launch spec is known only after apply is replaced: a producer's
/// apply, earlier in the workspace run, changes what it reads, or this plan does.
fn unknown_spec_reason(spec: &LaunchSpec) -> String {
    let producer = [&spec.user_data, &spec.instance_profile]
        .into_iter()
        .flatten()
        .find_map(|v| crate::template::awaited_producer(v));
    match producer {
        Some(producer) => format!(
            "launch spec reads outputs that stack `{producer}` changes: replaced once {producer} is applied"
        ),
        None => "user data depends on values known after apply".to_owned(),
    }
}

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
        if let Some(group) = group_of(instance) {
            by_group.entry(group).or_default().push(instance);
        }
    }
    let templates: BTreeMap<String, &LiveLaunchTemplate> = observed
        .launch_templates
        .iter()
        .filter_map(|t| Some((t.group(stack)?, t)))
        .collect();
    let mut out = Vec::new();
    for (name, group) in &stack.groups {
        let live = by_group.remove(name).unwrap_or_default();
        let template = templates.get(name).copied();
        let image = inputs
            .images
            .get(name)
            .map(String::as_str)
            .unwrap_or_default();
        let spec = LaunchSpec::new(stack, name, image, inputs.outputs);
        let asg = (group.autoscaling.is_some())
            .then(|| observed.autoscaling_group(name))
            .map(|live| live.is_some());
        let mut diffed = diff_one(
            stack,
            (name, group, asg),
            &spec,
            &live,
            template,
            inputs.redactor,
        );
        traffic::plan(&mut diffed.change, group, observed, inputs.outputs, stack);
        let version = template.and_then(|t| t.version_with_spec(&spec.hash()).map(|v| v.number));
        autoscaling::plan(
            &mut diffed.change,
            stack,
            (name, Some(group)),
            observed,
            version,
        );
        with_autoscaling_fingerprint(&mut diffed, observed, name);
        out.push(diffed);
    }
    let mut removed: BTreeSet<String> = by_group.keys().cloned().collect();
    removed.extend(
        templates
            .keys()
            .filter(|n| !stack.groups.contains_key(*n))
            .cloned(),
    );
    for name in removed {
        let live = by_group.remove(&name).unwrap_or_default();
        let template = templates.get(&name).copied();
        let mut diffed = gone(stack, &name, &live, template);
        autoscaling::plan(&mut diffed.change, stack, (&name, None), observed, None);
        with_autoscaling_fingerprint(&mut diffed, observed, &name);
        out.push(diffed);
    }
    out
}

/// A group's fingerprint with its Auto Scaling group's settings in it: a saved plan is
/// stale once they change.
fn with_autoscaling_fingerprint(diffed: &mut Diffed, observed: &Observed, name: &str) {
    if let Some(live) = observed.autoscaling_group(name) {
        diffed.fingerprint = fingerprint(&[&diffed.fingerprint, &live.fingerprint_text()]);
    }
}

/// Whether a live instance must be replaced to match the planned spec (rollout's
/// [`TargetSpec::departures`], the question apply's rollout asks too); what was changed
/// by hand goes to `drift`.
fn outdated(instance: &LiveInstance, target: &TargetSpec<'_>, drift: &mut Vec<String>) -> bool {
    let id = &instance.id;
    let departures = target.departures(instance);
    for departure in &departures {
        match departure {
            Departure::OtherSpec | Departure::Down(_) => {}
            Departure::MissingTags(missing) => {
                let s = if missing.len() == 1 { "" } else { "s" };
                let missing = crate::diagnostic::list(missing.iter());
                drift.push(format!("instance `{id}` is missing tag{s} {missing}"));
            }
            Departure::Stopped => {
                drift.push(format!("instance `{id}` was stopped outside rollstack"))
            }
            Departure::Retyped(planned, live) => drift.push(format!(
                "instance `{id}` was retyped outside rollstack ({planned} -> {live})"
            )),
            Departure::Reimaged(planned, live) => {
                drift.push(format!(
                    "instance `{id}` runs image `{live}`, not `{planned}`"
                ));
            }
        }
    }
    !departures.is_empty()
}

/// The diff of group `name`; `asg`: for a group run as an Auto Scaling group, whether
/// that exists (its capacity is then its own: only replacements are planned).
fn diff_one(
    stack: &Stack,
    (name, group, asg): (&str, &Group, Option<bool>),
    spec: &LaunchSpec,
    live: &[&LiveInstance],
    template: Option<&LiveLaunchTemplate>,
    redactor: &Redactor,
) -> Diffed {
    let known = spec.is_known();
    let hash = if known {
        spec.hash()
    } else {
        KNOWN_AFTER_APPLY.to_owned()
    };
    let target = TargetSpec {
        hash: &hash,
        instance_type: Some(&spec.instance_type),
        image_id: Some(&spec.image_id),
    };
    let fleet = Fleet::sort(live, &target, template, asg.is_none());
    let upkeep = TemplateUpkeep::of(template, &hash, group.count);
    let count = match asg {
        Some(true) => live.len() as u32,
        _ => group.count,
    };
    let mut detail = GroupChange {
        name: aws_name(stack, name),
        launch_spec: Some(redacted(spec, redactor)),
        new_launch_template_version: upkeep.version.is_none(),
        ..fleet.counts(count, &hash)
    };
    // The user data the outdated instances run: the version carrying their spec, else
    // the default version (the last complete rollout).
    let base = template.and_then(|t| {
        fleet
            .stale
            .iter()
            .find_map(|i| t.version_with_spec(i.tag(tags::SPEC)?))
            .or_else(|| t.version(t.default_version))
    });
    detail.user_data_diff = user_data_diff(base, spec, redactor);
    retag_kept(
        &mut detail,
        &user_tags(stack, Some(name)),
        &fleet.current,
        template,
    );
    let (action, reason) = if !known && !live.is_empty() {
        // Every instance is replaced: what it would run is only known after apply.
        detail.replace = live.iter().map(|i| i.id.clone()).collect();
        detail.terminate.clear();
        detail.launch = count.saturating_sub(live.len() as u32);
        (Action::Replace, unknown_spec_reason(spec))
    } else {
        let reason_of_replace = || match fleet.stale.first() {
            Some(old) => spec_reason(old, base, spec, detail.user_data_diff.is_some()),
            None => "launch spec changed".to_owned(),
        };
        decide(
            &detail,
            live.is_empty() && template.is_none(),
            &upkeep,
            reason_of_replace,
        )
    };
    let (action, reason) = if asg == Some(false) && !live.is_empty() {
        moved_into_autoscaling(&mut detail, live, count)
    } else {
        (action, reason)
    };
    if action == Action::Replace {
        detail.rollout = Some(Policy::at(group, count).describe());
    }
    if action == Action::NoOp {
        detail.user_data_diff = None;
    }
    Diffed {
        change: Change {
            address: Address::Group(name.to_owned()),
            action,
            reason: with_scale_and_retag(action, reason, &detail),
            detail: Detail::Group(Box::new(detail)),
        },
        drift: fleet.drift,
        fingerprint: instances_fingerprint(live, template),
    }
}

/// A plain group moving into an Auto Scaling group: every live instance is replaced by
/// one the Auto Scaling group launches (those beyond `count` terminated), under the
/// rollout's bounds.
fn moved_into_autoscaling(
    detail: &mut GroupChange,
    live: &[&LiveInstance],
    count: u32,
) -> (Action, String) {
    let ids: Vec<String> = live.iter().map(|i| i.id.clone()).collect();
    let kept = ids.len().min(count as usize);
    detail.replace = ids[..kept].to_vec();
    detail.terminate = ids[kept..].to_vec();
    detail.launch = count.saturating_sub(kept as u32);
    let reason = format!(
        "moves into an Auto Scaling group: its {} replaced by the group's",
        plural(live.len(), "instance")
    );
    (Action::Replace, reason)
}

/// A group's live instances, sorted against the planned spec.
struct Fleet<'a> {
    /// On the planned spec, untouched.
    current: Vec<&'a LiveInstance>,
    /// To be replaced.
    stale: Vec<&'a LiveInstance>,
    /// What was changed by hand.
    drift: Vec<String>,
}

impl<'a> Fleet<'a> {
    /// `counted`: whether instances missing from the applied count are drift (not of an
    /// Auto Scaling group, which replaces them itself).
    fn sort(
        live: &[&'a LiveInstance],
        target: &TargetSpec<'_>,
        template: Option<&LiveLaunchTemplate>,
        counted: bool,
    ) -> Fleet<'a> {
        let mut fleet = Fleet {
            current: Vec::new(),
            stale: Vec::new(),
            drift: Vec::new(),
        };
        for instance in live {
            if outdated(instance, target, &mut fleet.drift) {
                fleet.stale.push(*instance);
            } else {
                fleet.current.push(*instance);
            }
        }
        if let Some(last) = template
            .and_then(|t| t.tags.get(tags::COUNT))
            .and_then(|c| c.parse::<usize>().ok())
            && counted
            && live.len() < last
        {
            fleet.drift.push(format!(
                "{} missing: {} of the {last} applied are live (terminated outside rollstack)",
                plural(last - live.len(), "instance"),
                live.len()
            ));
        }
        fleet
    }

    /// What reaching `count` instances of spec `hash` takes: stale instances are
    /// replaced as far as the count needs them and terminated beyond; the current ones
    /// beyond the count are scaled in.
    fn counts(&self, count: u32, hash: &str) -> GroupChange {
        let count = count as usize;
        let live = self.current.len() + self.stale.len();
        let keep = self.current.len().min(count);
        let launch_total = count - keep;
        // Scale-in terminates the most crowded subnet's oldest instances first.
        let surplus = scale_in(&self.current, self.current.len() - keep);
        let replace_n = self.stale.len().min(launch_total);
        let ids = |instances: &[&LiveInstance]| -> Vec<String> {
            instances.iter().map(|i| i.id.clone()).collect()
        };
        let mut terminate = ids(&self.stale[replace_n..]);
        terminate.extend(surplus);
        let before: BTreeSet<String> = self
            .current
            .iter()
            .chain(&self.stale)
            .filter_map(|i| i.tag(tags::SPEC).map(str::to_owned))
            .collect();
        GroupChange {
            count: CountChange {
                before: live as u32,
                after: count as u32,
            },
            replace: ids(&self.stale[..replace_n]),
            terminate,
            launch: (launch_total - replace_n) as u32,
            spec: SpecChange {
                before: before.into_iter().collect(),
                after: Some(hash.to_owned()),
            },
            ..GroupChange::default()
        }
    }
}

/// `spec` with its user data redacted, for the plan to show.
fn redacted(spec: &LaunchSpec, redactor: &Redactor) -> LaunchSpec {
    let mut redacted = spec.clone();
    redacted.user_data = spec.user_data.as_deref().map(|u| redactor.redact(u));
    redacted
}

/// The diff between the user data of `base` (what outdated instances run) and `spec`'s.
fn user_data_diff(
    base: Option<&LaunchTemplateVersion>,
    spec: &LaunchSpec,
    redactor: &Redactor,
) -> Option<String> {
    let old = base.and_then(|v| v.user_data.as_deref());
    let new = spec.user_data.as_deref();
    (old != new).then(|| {
        unified_diff(
            &redactor.redact(old.unwrap_or_default()),
            &redactor.redact(new.unwrap_or_default()),
            "user data (live)",
            "user data (planned)",
        )
    })
}

/// The action on a group whose instances and template are as `detail` counts them, and
/// why: a create, a replacement (`reason_of_replace`), a scale, template upkeep, a
/// retag, or nothing.
fn decide(
    detail: &GroupChange,
    is_new: bool,
    upkeep: &TemplateUpkeep,
    reason_of_replace: impl FnOnce() -> String,
) -> (Action, String) {
    let live = detail.count.before as usize;
    let count = detail.count.after as usize;
    if is_new {
        (
            Action::Create,
            format!("new group of {}", plural(count, "instance")),
        )
    } else if !detail.replace.is_empty() {
        (Action::Replace, reason_of_replace())
    } else if live != count || !detail.terminate.is_empty() || detail.launch > 0 {
        let reason = scale_text(live, count)
            .unwrap_or_else(|| "replace stopped or untagged instances".to_owned());
        (Action::Update, reason)
    } else if upkeep.is_needed() {
        (Action::Update, upkeep_reason(upkeep))
    } else if !detail.retag.is_empty() {
        (
            Action::Update,
            format!("tags changed: {}", retagging(detail)),
        )
    } else {
        (Action::NoOp, "in sync".to_owned())
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
    let mut note = |id: &str, extra: &[String], live: &dyn TagLookup| {
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
            address: Address::Group(name.to_owned()),
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

mod autoscaling;
mod reasons;
#[cfg(test)]
mod tests;
mod traffic;
