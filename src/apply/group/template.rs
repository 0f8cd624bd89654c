//! The launch template version a group's spec launches from: the observed one that
//! carries the spec, or a new one (a new template for a new group).

use super::Executor;
use crate::aws::{AwsError, LaunchVersion};
use crate::model::Address;
use crate::observe::{LiveLaunchTemplate, aws_name, tags};
use crate::plan::diff::short_hash;
use crate::plan::spec::{LaunchSpec, TemplateUpkeep, instance_tags, ownership_tags, user_tags};

/// (template id, version, the upkeep left) for `spec` of group `name`, adding the
/// version when `upkeep` (the plan's reading of `template`) says there is none.
pub(super) async fn version_for(
    executor: &Executor,
    name: &str,
    spec: &LaunchSpec,
    template: Option<&LiveLaunchTemplate>,
    upkeep: TemplateUpkeep,
) -> Result<(String, i64, TemplateUpkeep), AwsError> {
    if let Some((template, version)) = template.zip(upkeep.version) {
        return Ok((template.id.clone(), version, upkeep));
    }
    let stack = &executor.stack;
    let group = &stack.groups[name];
    let hash = spec.hash();
    let mut template_tags = ownership_tags(stack, &Address::Group(name.to_owned()));
    template_tags.insert(tags::COUNT.to_owned(), group.count.to_string());
    template_tags.extend(user_tags(stack, Some(name)));
    let (id, number) = executor
        .aws
        .put_launch_template_version(
            &aws_name(stack, name),
            template.map(|t| t.id.as_str()),
            &launch_version(executor, name, spec, template),
            &template_tags,
        )
        .await?;
    executor.progress.line(
        &Address::Group(name.to_owned()),
        &format!("launch template version {number} (spec {hash})"),
    );
    Ok((id, number, upkeep.with_new_version(template, number)))
}

/// The launch template version of `spec`; its client token makes a repeated call (after
/// a lost answer, or a re-run) find the version the first one made.
fn launch_version(
    executor: &Executor,
    name: &str,
    spec: &LaunchSpec,
    template: Option<&LiveLaunchTemplate>,
) -> LaunchVersion {
    let stack = &executor.stack;
    let group = &stack.groups[name];
    let hash = spec.hash();
    let ids = executor.security_group_ids();
    LaunchVersion {
        description: format!("spec={hash} commit={}", executor.options.commit),
        image_id: spec.image_id.clone(),
        instance_type: spec.instance_type.clone(),
        security_group_ids: group
            .security_groups
            .iter()
            .filter_map(|s| ids.get(s).cloned())
            .chain(spec.shared_security_groups.iter().cloned())
            .collect(),
        user_data: spec.user_data.clone(),
        instance_tags: instance_tags(stack, name, spec),
        instance_profile: spec.instance_profile.clone(),
        key_name: spec.key_name.clone(),
        root_volume: spec.root_volume.clone().and_then(|volume| {
            let device = executor.root_devices.get(name)?;
            Some((device.clone(), volume))
        }),
        metadata: spec.metadata,
        client_token: short_hash(&format!(
            "{}/{}/spec={hash} commit={}",
            aws_name(stack, name),
            template.map(|t| t.id.as_str()).unwrap_or("new"),
            executor.options.commit
        )),
    }
}
