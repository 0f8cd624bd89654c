//! Diff: model + observation -> plan. A pure function: no AWS call, no clock.

pub mod cloudformation;
pub mod groups;
pub mod jobs;
pub mod security_groups;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{Change, Drift, FORMAT_VERSION, Plan, Redactor, Summary};
use crate::graph::StackGraph;
use crate::model::{Address, ImageRef, Stack};
use crate::observe::{ArtifactRef, ForeignKind, Observed, ResolvedImage, aws_name};
pub use cloudformation::EnvironmentValues;

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

/// Why there is no plan: each is reported, and the plan fails with exit 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A release artifact does not exist.
    #[error("release artifact of app `{}` version `{}` not found: `{}`", .0.app, .0.version, .0.url())]
    MissingArtifact(ArtifactRef),
    /// No image matches a lookup.
    #[error("no image matches {image} for `{address}`")]
    NoImage {
        /// The group.
        address: Address,
        /// The lookup: `` `NAME` owned by `OWNER` ``.
        image: String,
    },
    /// A create would collide with a resource rollstack does not own.
    #[error(
        "`{address}` would be created as {kind} `{name}`, but `{id}` already has that name and is not owned by this stack and environment"
    )]
    Conflict {
        /// The address that would be created.
        address: Address,
        /// Kind of the foreign resource.
        kind: ForeignKind,
        /// Its name.
        name: String,
        /// Its id.
        id: String,
    },
    /// A security group's description changed; AWS cannot change it in place.
    #[error(
        "`{address}`: the description changed (`{live}` -> `{planned}`), and AWS cannot change a security group's description in place"
    )]
    DescriptionChange {
        /// The security group.
        address: Address,
        /// The live description.
        live: String,
        /// The stack file's.
        planned: String,
    },
    /// The stack's subnets are in several VPCs; its security groups can be in one.
    #[error("the stack's subnets are in several VPCs ({}); its security groups can only be in one", .vpcs.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "))]
    SeveralVpcs {
        /// The VPCs.
        vpcs: Vec<String>,
    },
    /// A root volume the image cannot give.
    #[error("`{address}`: {message}")]
    RootVolume {
        /// The group.
        address: Address,
        /// What is wrong.
        message: String,
    },
    /// User data that renders (with the outputs it uses) above AWS's limit.
    #[error(
        "`{address}`: its user data renders to {size} bytes with the outputs it uses; AWS takes at most {}",
        crate::validate::MAX_USER_DATA
    )]
    UserDataTooLarge {
        /// The group.
        address: Address,
        /// Rendered size in bytes.
        size: usize,
    },
    /// The stack names no subnets and the account has no default VPC.
    #[error("the stack names no subnets, and the region has no default VPC to launch into")]
    NoDefaultVpc,
    /// A `moved` entry whose old and new groups both have live resources.
    #[error("`moved` from `{from}` to `{to}`: both have live instances or a launch template")]
    MoveConflict {
        /// The old address.
        from: Address,
        /// The new address.
        to: Address,
    },
    /// A DNS name the fleet needs has a record that is not this environment's.
    #[error("DNS name `{0}` has a record rollstack did not make for this environment")]
    ForeignRecord(String),
    /// A rollout watches an alarm CloudWatch does not have: it could never stop it.
    #[error(
        "stack `{stack}` has published no outputs for environment `{env}` yet, and this stack reads them"
    )]
    Unpublished {
        /// The producing stack.
        stack: String,
        /// The environment.
        env: String,
    },
    #[error("`{address}` watches alarm `{name}`, which does not exist")]
    NoAlarm {
        /// The group.
        address: Address,
        /// The alarm.
        name: String,
    },
}

impl PlanError {
    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            PlanError::MissingArtifact(a) => format!(
                "upload the release first (`aws s3 cp {}.tar.gz {}`), or set `apps.{}.version` to a released version",
                a.app,
                a.url(),
                a.app
            ),
            PlanError::NoImage { .. } => {
                "check the name pattern and owner with `aws ec2 describe-images --owners OWNER --filters Name=name,Values=PATTERN`".to_owned()
            }
            PlanError::Conflict { .. } => {
                "rollstack never adopts or touches resources without its ownership tags: rename the resource in the stack file, or remove the other one".to_owned()
            }
            PlanError::DescriptionChange { .. } => {
                "restore the description in the stack file; for a new description, give the group a new name as well: rollstack then creates the new group, rolls the instances that use it onto it, and deletes the old one".to_owned()
            }
            PlanError::SeveralVpcs { .. } => {
                "list subnets of one VPC in `network.subnets` and `groups.*.subnets`".to_owned()
            }
            PlanError::RootVolume { .. } => {
                "set `root_volume.size_gb` to at least the image's size, or use an image whose root device EC2 reports".to_owned()
            }
            PlanError::UserDataTooLarge { .. } => {
                "fetch the rest at boot (from S3, say) and keep the user data a small bootstrap script".to_owned()
            }
            PlanError::NoDefaultVpc => {
                "name the subnets to launch into in `network.subnets`".to_owned()
            }
            PlanError::MoveConflict { from, .. } => format!(
                "the new group was applied before the entry was added: drop the `moved` entry to let the plan delete `{from}`, or destroy the new group's instances first"
            ),
            PlanError::ForeignRecord(_) => {
                "rollstack never touches a record it did not make (its TXT marker is missing): delete or rename the record, or move the stack's `dns.name`".to_owned()
            }
            PlanError::Unpublished { stack, .. } => format!(
                "apply stack `{stack}` first: its outputs are published by its first successful apply"
            ),
            PlanError::NoAlarm { .. } => {
                "check the name with `aws cloudwatch describe-alarms --alarm-names NAME`, or create the alarm first".to_owned()
            }
        }
    }
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
        .collect();
    let (changes, drift, fingerprints) = in_order(diffed, &order);
    let mut summary = Summary::of(&changes);
    summary.moved = moves.len() as u32;
    let (dns, dns_follow) = match &stack.dns {
        Some(dns) => {
            let rolling = super::dns::rolling(&changes);
            let desired =
                super::dns::steady(stack, dns, &observed.instances, &observed.records, &rolling);
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
            (changes, follow)
        }
        None => (Vec::new(), Vec::new()),
    };
    summary.dns = dns.len() as u32;
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
        freeze: None,
        warnings: Vec::new(),
        moves,
        dns,
        dns_follow,
        drift,
        changes,
        summary,
        fingerprints,
        model: serde_json::to_value(stack).unwrap_or_default(),
    };
    Ok((plan, relocated))
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
        .collect();
    errors.extend(
        observed
            .published
            .iter()
            .filter(|(_, published)| published.is_none())
            .map(|(producer, _)| PlanError::Unpublished {
                stack: producer.clone(),
                env: stack.environment.name.clone(),
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
    for (name, group) in &stack.groups {
        for alarm in &group.rollout.alarms {
            if !observed.alarms.iter().any(|a| &a.name == alarm) {
                errors.push(PlanError::NoAlarm {
                    address: Address::Group(name.clone()),
                    name: alarm.clone(),
                });
            }
        }
    }
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
