//! Diff: model + observation -> plan. A pure function: no AWS call, no clock.

pub mod cloudformation;
mod error;
pub mod groups;
pub mod jobs;
pub mod outputs;
pub mod security_groups;
pub mod sites;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{Change, Drift, FORMAT_VERSION, Plan, Redactor, Summary};
use crate::graph::StackGraph;
use crate::model::{Address, ImageRef, Stack};
use crate::observe::{ForeignKind, Observed, ResolvedImage, aws_name};
pub use cloudformation::EnvironmentValues;
pub use error::PlanError;

/// Fingerprint of an address where nothing was found.
pub const ABSENT: &str = "absent";

/// The diff of one address.
pub struct Diffed {
    /// The planned change.
    pub change: Change,
    /// Drift found there.
    pub drift: Vec<String>,
    /// What was observed there.
    pub fingerprint: String,
}

/// Plans `stack` against `observed`: the plan (its warnings are the caller's, once
/// everything that shows what it destroys is known: `planning::plan`), and what
/// was observed as if the plan's moves were carried out.
pub fn diff(
    stack: &Stack,
    observed: Observed,
    env: &EnvironmentValues,
    redactor: &Redactor,
) -> Result<(Plan, Observed), Vec<PlanError>> {
    let (relocated, moves) = super::moved::relocate(stack, &observed).map_err(|e| vec![e])?;
    let relocated = match relocated {
        std::borrow::Cow::Owned(relocated) => relocated,
        std::borrow::Cow::Borrowed(_) => observed,
    };
    let observed = &relocated;
    let images = preflight(stack, observed)?;
    let graph = StackGraph::new(stack);
    // Validation refused cycles, so an order exists.
    let order = graph.apply_order().unwrap_or_default();
    let (cfn, outputs) = cloudformation::diff(stack, observed, env, redactor, &order);
    let image_ids: BTreeMap<String, String> = images
        .iter()
        .map(|(g, i)| (g.clone(), i.id.clone()))
        .collect();
    let too_large = too_large_user_data(stack, &image_ids, &outputs);
    if !too_large.is_empty() {
        return Err(too_large);
    }
    let sites = sites::diff(stack, observed)?;
    let inputs = groups::GroupInputs {
        images: &image_ids,
        outputs: &outputs,
        redactor,
    };
    let diffed: Vec<Diffed> = security_groups::diff(stack, observed)
        .into_iter()
        .chain(cfn)
        .chain(groups::diff(stack, observed, &inputs))
        .chain(jobs::diff(stack, observed, &outputs))
        .chain(sites)
        .collect();
    let (changes, drift, fingerprints) = in_order(diffed, &order);
    let mut summary = Summary::of(&changes);
    summary.moved = moves.len() as u32;
    let (dns, dns_follow) = dns(stack, observed, &changes)?;
    summary.dns = dns.len() as u32;
    let outputs = outputs::changes(
        &outputs::planned(stack, observed, &outputs, redactor),
        observed,
    );
    summary.outputs = outputs.len() as u32;
    let plan = Plan {
        format_version: FORMAT_VERSION,
        id: uuid::Uuid::new_v4().to_string(),
        rollstack_version: env!("CARGO_PKG_VERSION").to_owned(),
        stack: stack.name.clone(),
        environment: stack.environment.name.clone(),
        region: stack.region.clone(),
        identity: None,
        commit: None,
        images,
        container_images: observed.container_images.clone(),
        freeze: None,
        warnings: Vec::new(),
        moves,
        dns,
        dns_follow,
        drift,
        outputs,
        read_outputs: outputs::read(stack, observed),
        changes,
        summary,
        fingerprints,
        model: serde_json::to_value(stack).unwrap_or_default(),
    };
    Ok((plan, relocated))
}

/// The DNS records to change before the rollouts, and the groups whose rollouts move
/// theirs (`dns:`); refused when a record in the way is not ours.
fn dns(
    stack: &Stack,
    observed: &Observed,
    changes: &[Change],
) -> Result<(Vec<super::dns::RecordChange>, Vec<Address>), Vec<PlanError>> {
    let Some(dns) = &stack.dns else {
        return Ok((Vec::new(), Vec::new()));
    };
    let rolling = super::dns::rolling(changes);
    let desired = super::dns::steady(stack, dns, &observed.instances, &observed.records, &rolling);
    let changes = super::dns::changes(&desired, &observed.records).map_err(|names| {
        names
            .into_iter()
            .map(PlanError::ForeignRecord)
            .collect::<Vec<_>>()
    })?;
    let follow = rolling
        .into_iter()
        .filter(|g| stack.groups.contains_key(g))
        .map(Address::Group)
        .collect();
    Ok((changes, follow))
}

/// The alarms a group's rollout or a site's bake watches that do not exist.
fn missing_alarms(stack: &Stack, observed: &Observed) -> Vec<PlanError> {
    let watched = stack
        .groups
        .iter()
        .flat_map(|(n, g)| {
            g.rollout
                .alarms
                .iter()
                .map(|a| (Address::Group(n.clone()), a))
        })
        .chain(
            stack
                .sites
                .iter()
                .flat_map(|(n, s)| s.alarms.iter().map(|a| (Address::Site(n.clone()), a))),
        );
    watched
        .filter(|(_, alarm)| !observed.alarms.iter().any(|a| &a.name == *alarm))
        .map(|(address, alarm)| PlanError::NoAlarm {
            address,
            name: alarm.clone(),
        })
        .collect()
}

/// What stops a plan before anything is diffed: missing releases and images, foreign
/// resources in the way, unchangeable fields, no single VPC. Without any, the image of
/// each group.
fn preflight(
    stack: &Stack,
    observed: &Observed,
) -> Result<BTreeMap<String, ResolvedImage>, Vec<PlanError>> {
    let mut errors: Vec<PlanError> = observed
        .missing_artifacts
        .iter()
        .cloned()
        .map(PlanError::MissingArtifact)
        .chain(
            observed
                .missing_images
                .iter()
                .cloned()
                .map(PlanError::MissingImage),
        )
        .collect();
    errors.extend(
        observed
            .published
            .iter()
            .filter(|(_, published)| published.is_none())
            .map(|(producer, _)| PlanError::Unpublished {
                stack: producer.clone(),
                env: stack
                    .uses
                    .get(producer)
                    .map_or(&stack.environment.name, |u| {
                        u.env.as_ref().unwrap_or(&stack.environment.name)
                    })
                    .clone(),
            }),
    );
    let mut images = BTreeMap::new();
    for (name, group) in &stack.groups {
        match observed.images.get(&group.image) {
            Some(image) => {
                if let Some(volume) = &group.root_volume {
                    errors.extend(root_volume_problem(name, image, volume));
                }
                images.insert(name.clone(), image.clone());
            }
            None => errors.push(PlanError::NoImage {
                address: Address::Group(name.clone()),
                image: match &group.image {
                    ImageRef::Lookup { name, owner } => format!("`{name}` owned by `{owner}`"),
                    ImageRef::Id(id) => format!("`{id}`"),
                },
            }),
        }
    }
    errors.extend(conflicts(stack, observed));
    errors.extend(unchangeable(stack, observed));
    errors.extend(missing_alarms(stack, observed));
    // Only what is created needs the VPC (a destroy plans nothing to create).
    let creates = !stack.security_groups.is_empty() || !stack.groups.is_empty();
    match observed.vpcs.len() {
        _ if !creates => {}
        0 => errors.push(PlanError::NoDefaultVpc),
        1 => {}
        _ => errors.push(PlanError::SeveralVpcs {
            vpcs: observed.vpcs.clone(),
        }),
    }
    if errors.is_empty() {
        Ok(images)
    } else {
        Err(errors)
    }
}

/// Groups whose user data renders above AWS's limit with the outputs known now
/// (validation measured it with placeholder outputs; real ones may be longer).
fn too_large_user_data(
    stack: &Stack,
    image_ids: &BTreeMap<String, String>,
    outputs: &crate::template::Outputs,
) -> Vec<PlanError> {
    stack
        .groups
        .keys()
        .filter_map(|name| {
            let image = image_ids.get(name).map(String::as_str).unwrap_or_default();
            let spec = crate::plan::spec::LaunchSpec::new(stack, name, image, outputs);
            let size = spec.user_data.as_ref()?.len();
            (size > crate::validate::MAX_USER_DATA).then(|| PlanError::UserDataTooLarge {
                address: Address::Group(name.clone()),
                size,
            })
        })
        .collect()
}

/// The changes in apply order (`order`, the graph's), then what was removed from the
/// file, dependents first ([`Address::delete_rank`]); with the drift and fingerprints
/// of each.
fn in_order(
    diffed: Vec<Diffed>,
    order: &[Address],
) -> (Vec<Change>, Vec<Drift>, BTreeMap<Address, String>) {
    let mut by_address: BTreeMap<Address, Diffed> = diffed
        .into_iter()
        .map(|d| (d.change.address.clone(), d))
        .collect();
    let mut changes = Vec::new();
    let mut drift = Vec::new();
    let mut fingerprints = BTreeMap::new();
    let mut take = |d: Diffed| {
        drift.extend(d.drift.into_iter().map(|message| Drift {
            address: d.change.address.clone(),
            message,
        }));
        fingerprints.insert(d.change.address.clone(), d.fingerprint);
        changes.push(d.change);
    };
    for address in order {
        if let Some(d) = by_address.remove(address) {
            take(d);
        }
    }
    let mut removed: Vec<Diffed> = by_address.into_values().collect();
    removed.sort_by_key(|d| d.change.address.delete_rank());
    removed.into_iter().for_each(&mut take);
    (changes, drift, fingerprints)
}

/// Creates that would collide with a same-named resource rollstack does not own.
fn conflicts(stack: &Stack, observed: &Observed) -> Vec<PlanError> {
    observed
        .foreign
        .iter()
        .filter_map(|foreign| {
            let name = foreign.name.strip_prefix(&aws_name(stack, ""))?;
            let address = match foreign.kind {
                ForeignKind::SecurityGroup => Address::SecurityGroup(name.to_owned()),
                ForeignKind::CloudFormationStack => Address::CloudFormation(name.to_owned()),
                // A group's launch template carries the group's name.
                ForeignKind::LaunchTemplate | ForeignKind::AutoScalingGroup => {
                    Address::Group(name.to_owned())
                }
            };
            Some(PlanError::Conflict {
                address: address.clone(),
                kind: foreign.kind,
                name: foreign.name.clone(),
                id: foreign.id.clone(),
            })
        })
        .collect()
}

/// Why `image` cannot give group `name` the root `volume`, if it cannot.
fn root_volume_problem(
    name: &str,
    image: &crate::observe::ResolvedImage,
    volume: &crate::model::RootVolume,
) -> Option<PlanError> {
    let address = Address::Group(name.to_owned());
    let Some(device) = &image.root_device else {
        return Some(PlanError::RootVolume {
            address,
            message: format!("image `{}` reports no root device to size", image.id),
        });
    };
    match (volume.size_gb, image.root_size_gb) {
        (Some(size), Some(snapshot)) if size < snapshot => Some(PlanError::RootVolume {
            address,
            message: format!(
                "`root_volume.size_gb: {size}` is below the {snapshot} GiB of image `{}`'s root snapshot ({device})",
                image.id
            ),
        }),
        _ => None,
    }
}

/// Changes AWS cannot make in place and rollstack does not make by replacement: refused
/// here, so that apply never meets them.
fn unchangeable(stack: &Stack, observed: &Observed) -> Vec<PlanError> {
    stack
        .security_groups
        .iter()
        .filter_map(|(name, desired)| {
            let live = observed
                .security_groups
                .iter()
                .find(|g| g.name == aws_name(stack, name))?;
            (live.description != desired.description).then(|| PlanError::DescriptionChange {
                address: Address::SecurityGroup(name.clone()),
                live: live.description.clone(),
                planned: desired.description.clone(),
            })
        })
        .collect()
}

/// 16 hex digits of the SHA-256 of `text`.
pub fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// A fingerprint of observed parts.
pub fn fingerprint(parts: &[&str]) -> String {
    short_hash(&parts.join("\u{1f}"))
}

/// `key=value` lines of `map`, in key order: a map as a fingerprint part.
fn pairs(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// A unified diff of `old` and `new`, three lines of context.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .missing_newline_hint(false)
        .to_string()
}

/// The CloudFormation outputs as far as `observed` knows them: those of stacks the plan
/// leaves unchanged (the rest are `(known after apply)`).
pub fn known_outputs(
    stack: &Stack,
    observed: &Observed,
    env: &EnvironmentValues,
    redactor: &Redactor,
) -> crate::template::Outputs {
    let order = StackGraph::new(stack).apply_order().unwrap_or_default();
    cloudformation::diff(stack, observed, env, redactor, &order).1
}

#[cfg(test)]
mod tests;
