//! Plan output for reviewers: text for terminals, markdown for pull-request comments.
//! (JSON is the `Plan` type itself.)

mod markdown;
mod text;

pub use markdown::markdown;
pub use text::text;

use super::{
    Action, Change, CloudFormationChange, Detail, GroupChange, JobChange, Plan,
    SecurityGroupChange, SecurityGroupRulesChange,
};
use crate::diagnostic::plural;
use crate::observe::{ChangeAction, Direction, Replacement};
use crate::template::KNOWN_AFTER_APPLY;

/// The heading of the destructive changes a plan opens with.
pub const WARNING_TITLE: &str =
    "Warning: this plan destroys or downgrades (read before you apply):";

/// One line per DNS record the plan changes: `+ web.prod.example.com: 10.0.0.1`,
/// `~ name: before -> after`, `- name: before`.
pub fn dns_lines(plan: &Plan) -> Vec<String> {
    plan.dns
        .iter()
        .map(|c| match c.symbol() {
            "+" => format!("+ {}: {}", c.name, c.after.join(" ")),
            "-" => format!("- {}: {}", c.name, c.before.join(" ")),
            _ => format!(
                "~ {}: {} -> {}",
                c.name,
                c.before.join(" "),
                c.after.join(" ")
            ),
        })
        .collect()
}

/// The outputs the apply publishes: `+ name: value`, `~ name: old -> new`, `- name: old`.
pub fn output_lines(plan: &Plan) -> Vec<String> {
    plan.outputs
        .iter()
        .map(|(name, change)| match (&change.before, &change.after) {
            (None, Some(after)) => format!("+ {name}: {after}"),
            (Some(before), None) => format!("- {name}: {before}"),
            (Some(before), Some(after)) if before != after => {
                format!("~ {name}: {before} -> {after}")
            }
            (_, after) => format!("~ {name}: {}", after.as_deref().unwrap_or_default()),
        })
        .collect()
}

/// One line per app whose image tag resolved to a digest:
/// `app.api: REPO:TAG -> sha256:...` (a pinned digest needs no line).
pub fn container_image_lines(plan: &Plan) -> Vec<String> {
    plan.container_images
        .iter()
        .filter(|(_, i)| i.version != i.digest)
        .map(|(app, i)| format!("app.{app}: {}:{} -> {}", i.repository, i.version, i.digest))
        .collect()
}

/// The repositories whose tags may move that the plan resolves tags in, once each: a
/// tag pushed again deploys another image.
pub fn mutable_tag_lines(plan: &Plan) -> Vec<String> {
    let repositories: std::collections::BTreeSet<&str> = plan
        .container_images
        .values()
        .filter(|i| i.mutable_tags && i.version != i.digest)
        .map(|i| i.repository.as_str())
        .collect();
    repositories
        .into_iter()
        .map(|r| {
            format!(
                "tags of `{r}` are mutable: a tag pushed again deploys another image (pin `sha256:` digests, or make the repository's tags immutable)"
            )
        })
        .collect()
}

/// `DNS: the records of group.www move with its rollout ...`, when a rollout moves some.
pub fn dns_follow_line(plan: &Plan) -> Option<String> {
    if plan.dns_follow.is_empty() {
        return None;
    }
    let groups: Vec<String> = plan.dns_follow.iter().map(|a| format!("`{a}`")).collect();
    Some(format!(
        "DNS: the records of {} move with {} (each instance added once healthy, removed before it goes).",
        groups.join(", "),
        if groups.len() == 1 {
            "its rollout"
        } else {
            "their rollouts"
        }
    ))
}

/// One line per `moved` entry carried out: `group.web -> group.www: retag 2 instances,
/// 2 volumes and launch template lt-1`.
pub fn move_lines(plan: &Plan) -> Vec<String> {
    plan.moves
        .iter()
        .map(|m| {
            let mut what = vec![
                plural(m.instances.len(), "instance"),
                plural(m.volumes.len(), "volume"),
            ];
            if let Some(template) = &m.launch_template {
                what.push(format!("launch template {template}"));
            }
            let last = what.pop().unwrap_or_default();
            let what = if what.is_empty() {
                last
            } else {
                format!("{} and {last}", what.join(", "))
            };
            format!("{} -> {}: retag {what}", m.from, m.to)
        })
        .collect()
}

/// Lines describing one change, each starting with a diff marker (`+`, `-`, `~`, ` `,
/// `@`), so they read the same in a terminal and in a markdown `diff` block.
pub fn detail_lines(change: &Change) -> Vec<String> {
    let mut lines = Vec::new();
    match &change.detail {
        Detail::SecurityGroup(sg) => security_group_lines(&mut lines, sg),
        Detail::SecurityGroupRules(rules) => rules_lines(&mut lines, rules),
        Detail::Group(g) => group_lines(&mut lines, change.action, g),
        Detail::CloudFormation(cfn) => cloudformation_lines(&mut lines, cfn),
        Detail::Job(job) => job_lines(&mut lines, job),
        Detail::Site(site) => site_lines(&mut lines, change.action, site),
    }
    lines
}

fn site_lines(lines: &mut Vec<String>, action: Action, site: &crate::plan::site::SiteChange) {
    lines.push(format!("  bucket: {}", site.bucket));
    if action == Action::Delete {
        for path in &site.entry {
            lines.push(format!("- delete entry file {path}"));
        }
        for version in &site.delete {
            lines.push(format!(
                "- delete release {version} ({})",
                crate::model::site::release_prefix(version)
            ));
        }
        return;
    }
    let prefix = crate::model::site::release_prefix(&site.to);
    if site.upload == 0 {
        lines.push(format!("  {prefix}: uploaded already"));
    } else {
        lines.push(format!(
            "+ upload {} under {prefix}",
            plural(site.upload as usize, "file")
        ));
    }
    match &site.distribution {
        Some(distribution) => lines.push(format!(
            "~ flip: origin path of distribution {distribution} -> {}, then invalidate /*",
            crate::model::site::origin_path(&site.to)
        )),
        None => lines.push(format!(
            "~ flip: copy {} to the root, last",
            site.entry.join(", ")
        )),
    }
    for version in &site.delete {
        lines.push(format!("- delete release {version} (beyond `keep`)"));
    }
}

fn job_lines(lines: &mut Vec<String>, job: &JobChange) {
    for id in &job.terminate {
        lines.push(format!("- terminate job instance {id}"));
    }
    if job.terminate.is_empty() {
        let key = job.key.as_deref().unwrap_or(KNOWN_AFTER_APPLY);
        lines.push(format!(
            "  run {key}: one instance, at most {}",
            job.timeout
        ));
    }
    if let Some(id) = &job.running {
        lines.push(format!(
            "  running already on {id}: apply waits for its result"
        ));
    }
}

fn security_group_lines(lines: &mut Vec<String>, sg: &SecurityGroupChange) {
    if let Some(id) = &sg.id {
        lines.push(format!("  id: {id}"));
    }
    if sg.description.changes() {
        match (&sg.description.before, &sg.description.after) {
            (Some(before), Some(after)) => {
                lines.push(format!("~ description: {before:?} -> {after:?}"))
            }
            (None, Some(after)) => lines.push(format!("+ description: {after:?}")),
            _ => {}
        }
    }
    tag_lines(lines, &sg.set_tags, &sg.remove_tags);
}

fn rules_lines(lines: &mut Vec<String>, rules: &SecurityGroupRulesChange) {
    for rule in &rules.add_rules {
        lines.push(format!("+ {} {}", direction(rule.direction), rule.rule));
    }
    for rule in &rules.remove_rules {
        let id = rule
            .id
            .as_deref()
            .map(|i| format!("  ({i})"))
            .unwrap_or_default();
        lines.push(format!("- {} {}{id}", direction(rule.direction), rule.rule));
    }
}

fn group_lines(lines: &mut Vec<String>, action: Action, g: &GroupChange) {
    if g.count.before != g.count.after || action == Action::Create {
        lines.push(format!("~ count: {} -> {}", g.count.before, g.count.after));
    }
    if let Some(spec) = &g.launch_spec
        && action != Action::NoOp
    {
        let images = if spec.images.is_empty() {
            String::new()
        } else {
            format!("; images {}", spec.images_tag())
        };
        lines.push(format!(
            "  launch: {} {} (roles {}; releases {}{images})",
            spec.instance_type,
            spec.image_id,
            spec.roles.join(" "),
            if spec.releases.is_empty() {
                "none".to_owned()
            } else {
                spec.releases.join(" ")
            }
        ));
    }
    if let Some(after) = &g.spec.after
        && !g.replace.is_empty()
    {
        lines.push(format!("~ spec: {} -> {after}", g.spec.before.join(", ")));
    }
    if let Some(rollout) = &g.rollout {
        lines.push(format!("  rollout: {rollout}"));
    }
    if let Some(traffic) = &g.traffic {
        traffic_lines(lines, traffic);
    }
    if let Some(asg) = &g.autoscaling {
        autoscaling_lines(lines, asg);
    }
    if !g.replace.is_empty() {
        lines.push(format!(
            "-/+ replace {}: {}",
            plural(g.replace.len(), "instance"),
            g.replace.join(" ")
        ));
    }
    if g.launch > 0 {
        lines.push(format!(
            "+ launch {}",
            plural(g.launch as usize, "instance")
        ));
    }
    if !g.terminate.is_empty() {
        lines.push(format!(
            "- terminate {}: {}",
            plural(g.terminate.len(), "instance"),
            g.terminate.join(" ")
        ));
    }
    if g.new_launch_template_version && action != Action::Delete {
        lines.push(format!("+ launch template `{}`: new version", g.name));
    }
    if !g.retag.is_empty() {
        lines.push(format!("~ retag in place: {}", g.retag.join(" ")));
        tag_lines(lines, &g.set_tags, &g.remove_tags);
    }
    if let Some(diff) = &g.user_data_diff {
        lines.extend(diff.lines().map(str::to_owned));
    }
}

/// A group's Auto Scaling group: made, changed setting by setting, or deleted.
fn autoscaling_lines(lines: &mut Vec<String>, asg: &crate::plan::autoscaling::AutoscalingChange) {
    use crate::plan::autoscaling::AutoscalingAction;
    let (sign, what) = match asg.action {
        AutoscalingAction::Keep => (" ", "settings unchanged"),
        AutoscalingAction::Create => ("+", "create"),
        AutoscalingAction::Update => ("~", "update"),
        AutoscalingAction::Delete => (
            "-",
            "drain its instances, empty it, delete it and its policies",
        ),
        AutoscalingAction::Leave => (
            "-",
            "detach its instances (kept, as the plain group's), delete it and its policies",
        ),
    };
    lines.push(format!("{sign} Auto Scaling group `{}`: {what}", asg.name));
    if let Some((desired, wanted)) = asg.desired {
        let surge = if desired == wanted {
            String::new()
        } else {
            format!(", {wanted} without a rollout's surge")
        };
        lines.push(format!(
            "    desired capacity {desired}{surge} (Auto Scaling's own: not drift)"
        ));
    }
    for s in &asg.settings {
        if asg.action == AutoscalingAction::Create {
            lines.push(format!("  + {}: {}", s.setting, s.after));
        } else {
            lines.push(format!("  ~ {}: {} -> {}", s.setting, s.before, s.after));
        }
    }
    for p in &asg.put_policies {
        lines.push(format!("  + policy: target tracking {p}"));
    }
    for p in &asg.delete_policies {
        lines.push(format!("  - policy `{p}`"));
    }
    for t in &asg.attach {
        lines.push(format!(
            "  + attach target group `{}`",
            crate::observe::short_name(t)
        ));
    }
    for t in &asg.detach {
        lines.push(format!(
            "  - detach target group `{}`",
            crate::observe::short_name(t)
        ));
    }
    for l in &asg.leftovers {
        lines.push(format!("  ~ {l}"));
    }
}

/// The target groups and alarms a group's rollout uses, and registrations left to make.
fn traffic_lines(lines: &mut Vec<String>, traffic: &crate::plan::TrafficPlan) {
    for arn in &traffic.target_groups {
        lines.push(format!(
            "  target group `{}`: register once healthy, drain before terminating",
            crate::observe::short_name(arn)
        ));
    }
    for alarm in &traffic.alarms {
        let state = alarm.state.as_deref().unwrap_or("missing");
        let warning = if state == "ALARM" {
            " (apply stops before any change unless `--ignore-alarms`)"
        } else {
            ""
        };
        lines.push(format!(
            "  alarm `{}`: {state} now; ALARM during the rollout triggers on_failure{warning}",
            alarm.name
        ));
    }
    for arn in &traffic.leave {
        lines.push(format!(
            "- leave target group `{}`: deregister and drain the group's instances",
            crate::observe::short_name(arn)
        ));
    }
    if !traffic.register.is_empty() {
        lines.push(format!(
            "+ register {}: {}",
            plural(traffic.register.len(), "instance"),
            traffic.register.join(" ")
        ));
    }
}

fn cloudformation_lines(lines: &mut Vec<String>, cfn: &CloudFormationChange) {
    if let Some(status) = &cfn.status {
        lines.push(format!("  status: {status}"));
    }
    for (name, value) in &cfn.parameters {
        match (&value.before, &value.after) {
            (Some(b), Some(a)) => lines.push(format!("~ parameter {name}: {b} -> {a}")),
            (None, Some(a)) => lines.push(format!("+ parameter {name}: {a}")),
            (Some(b), None) => lines.push(format!("- parameter {name}: {b}")),
            (None, None) => {}
        }
    }
    if let Some(change_set) = &cfn.change_set {
        lines.push(format!(
            "  change set `{}`: {}",
            change_set.name,
            plural(cfn.resource_changes.len(), "resource change")
        ));
    }
    for r in &cfn.resource_changes {
        let symbol = match (r.action, r.replacement) {
            (ChangeAction::Add, _) => "+",
            (ChangeAction::Remove, _) => "-",
            (_, Some(Replacement::True)) => "-/+",
            _ => "~",
        };
        let replacement = match r.replacement {
            Some(Replacement::True) => " (replacement)",
            Some(Replacement::Conditional) => " (may need replacement)",
            _ => "",
        };
        lines.push(format!(
            "{symbol} {} {} {}{replacement}",
            r.action.as_str(),
            r.logical_id,
            r.resource_type
        ));
    }
    if let Some(template) = &cfn.template {
        lines.push(format!(
            "  template: {template} ({})",
            plural(cfn.template_resources.len(), "resource")
        ));
    }
    for r in &cfn.template_resources {
        lines.push(format!("+ {} {}", r.logical_id, r.resource_type));
    }
    if let Some(diff) = &cfn.template_diff {
        lines.extend(diff.lines().map(str::to_owned));
    }
}

/// `~ tag key = "value"` per tag set, `- tag key` per tag taken off (the key list
/// rollstack keeps for itself is not shown).
fn tag_lines(
    lines: &mut Vec<String>,
    set: &std::collections::BTreeMap<String, String>,
    remove: &[String],
) {
    let shown = |key: &str| key != crate::observe::tags::USER_TAGS;
    for (key, value) in set.iter().filter(|(k, _)| shown(k)) {
        lines.push(format!("~ tag {key} = {value:?}"));
    }
    for key in remove.iter().filter(|k| shown(k)) {
        lines.push(format!("- tag {key}"));
    }
}

fn direction(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

/// Changes that do something (no-ops are only in JSON).
pub fn effective(plan: &Plan) -> impl Iterator<Item = &Change> {
    plan.changes.iter().filter(|c| c.action != Action::NoOp)
}

/// `replace 4 instances`, `create`, `update`.
pub fn headline(change: &Change) -> String {
    match (&change.detail, change.action) {
        (Detail::Group(g), Action::Replace) => {
            format!("replace {}", plural(g.replace.len(), "instance"))
        }
        (Detail::Site(s), action) if action != Action::Delete => match &s.from {
            Some(from) if from != &s.to => format!("{} {from} -> {}", s.app, s.to),
            _ => format!("{} {}", s.app, s.to),
        },
        (_, action) => action.word().to_owned(),
    }
}
