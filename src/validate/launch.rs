//! What a group's instances launch with beyond image and type: instance profile, key
//! pair, root volume, metadata service; and limits AWS enforces that the local endpoint
//! does not (instance types it knows, user data size).

use std::collections::BTreeMap;

use super::Checker;
use crate::diagnostic::did_you_mean;
use crate::load::raw::{RawGroup, RawHttpTokens};
use crate::model::{Interpolated, Metadata, RootVolume, VolumeType};

/// The most user data AWS takes, before base64: 16 KB.
pub const MAX_USER_DATA: usize = 16 * 1024;

/// The root volume a group asks for, checked.
pub fn root_volume(checker: &mut Checker, path: &str, raw: &RawGroup) -> Option<RootVolume> {
    let raw = raw.root_volume.as_ref()?;
    let path = format!("{path}.root_volume");
    let volume_type = raw.volume_type.unwrap_or(VolumeType::Gp3);
    let kind = volume_type.as_str();
    let provisioned = matches!(volume_type, VolumeType::Io1 | VolumeType::Io2);
    if raw.iops.is_some() && !provisioned && volume_type != VolumeType::Gp3 {
        checker.error_at_value(
            &format!("{path}.iops"),
            format!("`{kind}` volumes take no `iops`"),
            "`iops` only with `gp3`, `io1` or `io2`",
            Some("remove `iops`, or use `type: gp3`".to_owned()),
        );
    }
    if provisioned && raw.iops.is_none() {
        checker.error_at_key(
            &path,
            format!("`{kind}` volumes need `iops`"),
            "`iops: 3000` or more",
            Some("add `iops`, or use `type: gp3` (3,000 IOPS included)".to_owned()),
        );
    }
    if raw.throughput.is_some() && volume_type != VolumeType::Gp3 {
        checker.error_at_value(
            &format!("{path}.throughput"),
            format!("`{kind}` volumes take no `throughput`"),
            "`throughput` only with `gp3`",
            Some("remove `throughput`, or use `type: gp3`".to_owned()),
        );
    }
    if volume_type == VolumeType::Gp3 {
        if let Some(iops) = raw.iops.filter(|i| !(3000..=16000).contains(i)) {
            checker.error_at_value(
                &format!("{path}.iops"),
                format!("`gp3` takes 3000 to 16000 IOPS, not {iops}"),
                "3000 to 16000",
                None,
            );
        }
        if let Some(throughput) = raw.throughput.filter(|t| !(125..=1000).contains(t)) {
            checker.error_at_value(
                &format!("{path}.throughput"),
                format!("`gp3` takes 125 to 1000 MiB/s, not {throughput}"),
                "125 to 1000",
                None,
            );
        }
    }
    let minimum = match volume_type {
        VolumeType::Io1 | VolumeType::Io2 => 4,
        VolumeType::St1 | VolumeType::Sc1 => 125,
        _ => 1,
    };
    if let Some(size) = raw.size_gb.filter(|s| *s < minimum || *s > 16384) {
        checker.error_at_value(
            &format!("{path}.size_gb"),
            format!("a `{kind}` volume is {minimum} to 16384 GiB, not {size}"),
            "a size AWS allows for the type",
            None,
        );
    }
    Some(RootVolume {
        size_gb: raw.size_gb,
        volume_type,
        encrypted: raw.encrypted.unwrap_or(true),
        iops: raw.iops,
        throughput: raw.throughput,
    })
}

/// The metadata service settings a group asks for (IMDSv2 required, one hop, unless
/// the file says otherwise).
pub fn metadata(raw: &RawGroup) -> Metadata {
    let defaults = Metadata::default();
    raw.metadata.as_ref().map_or(defaults, |m| Metadata {
        tokens_required: m.http_tokens.is_none_or(|t| t == RawHttpTokens::Required),
        hop_limit: m.hop_limit.unwrap_or(defaults.hop_limit),
    })
}

/// The most tags AWS takes on one resource.
pub const MAX_TAGS: usize = 50;

/// Tags rollstack itself may put on an instance (ownership, spec, roles, release, name,
/// the environment's overlay and expiry, the list of the user's keys).
pub const OWN_TAGS: usize = 11;

/// User tags at `path`, checked: no reserved prefix, AWS's lengths, and room for them
/// (with `beside` tags from elsewhere on the same resource) beside rollstack's own.
pub fn tags(
    checker: &mut Checker,
    path: &str,
    tags: &BTreeMap<String, String>,
    beside: usize,
) -> BTreeMap<String, String> {
    for (key, value) in tags {
        let at = format!("{path}.{key}");
        let lower = key.to_ascii_lowercase();
        if lower.starts_with("rollstack:") || lower.starts_with("aws:") {
            checker.error_at_key(
                &at,
                format!("tag key `{key}` is reserved"),
                "a key not starting with `rollstack:` or `aws:`",
                Some(
                    "rollstack sets its own tags; AWS refuses `aws:` keys: rename the tag"
                        .to_owned(),
                ),
            );
        } else if key.is_empty() || key.chars().count() > 128 {
            checker.error_at_key(
                &at,
                "a tag key is 1 to 128 characters".to_owned(),
                "a shorter key",
                None,
            );
        }
        if value.chars().count() > 256 {
            checker.error_at_value(
                &at,
                format!("the value of tag `{key}` is over 256 characters"),
                "a value of at most 256 characters",
                None,
            );
        }
    }
    if tags.len() + beside + OWN_TAGS > MAX_TAGS {
        checker.error_at_key(
            path,
            format!(
                "{} tags here leave no room: AWS takes {MAX_TAGS} per resource, and rollstack sets up to {OWN_TAGS} of its own",
                tags.len() + beside
            ),
            "fewer tags",
            Some(format!("keep the stack's and a group's tags to {} together", MAX_TAGS - OWN_TAGS)),
        );
    }
    tags.clone()
}

/// An instance type AWS knows (its list, from the SDK), with a "did you mean".
pub fn instance_type(checker: &mut Checker, path: &str, instance_type: &str) {
    let known = crate::load::raw::instance_types();
    if known.contains(&instance_type) {
        return;
    }
    checker.error_at_value(
        &format!("{path}.instance_type"),
        format!("unknown instance type `{instance_type}`"),
        "an EC2 instance type, e.g. `t3.micro`",
        did_you_mean(instance_type, known.iter().copied()).or_else(|| {
            Some(
                "the types rollstack knows come from its AWS SDK: a type newer than this rollstack needs a newer rollstack"
                    .to_owned(),
            )
        }),
    );
}

/// A key pair name and an instance profile name or ARN, as AWS takes them.
pub fn names(
    checker: &mut Checker,
    path: &str,
    raw: &RawGroup,
    instance_profile: Option<&Interpolated>,
) {
    if let Some(key) = &raw.key_name
        && (key.is_empty() || key.len() > 255)
    {
        checker.error_at_value(
            &format!("{path}.key_name"),
            "a key pair name is 1 to 255 characters".to_owned(),
            "the name of an existing EC2 key pair",
            None,
        );
    }
    if let Some(profile) = instance_profile
        .filter(|p| p.is_literal())
        .map(Interpolated::as_str)
    {
        let name = profile
            .strip_prefix("arn:")
            .and_then(|arn| arn.split_once(":instance-profile/"))
            .map_or(profile, |(_, name)| name.rsplit('/').next().unwrap_or(name));
        let valid = !name.is_empty()
            && name.len() <= 128
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !valid {
            checker.error_at_value(
                &format!("{path}.instance_profile"),
                format!("invalid instance profile `{profile}`"),
                "an instance profile name, its ARN, or `${outputs.NODE.OUTPUT}`",
                None,
            );
        }
    }
}
