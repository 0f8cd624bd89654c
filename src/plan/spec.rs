//! Launch specs: what an instance of a group is launched with, its hash (the
//! `rollstack:spec` tag) and the tags set at launch.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::reference::IMAGE_DIGESTS_KEY;
use crate::model::{Address, Metadata, RootVolume, Stack};
use crate::observe::{TagLookup, aws_name, tags};
use crate::plan::diff::cloudformation::interpolate;
use crate::template::{self, Outputs};

/// The longest value an EC2 tag takes.
const MAX_TAG_VALUE: usize = 256;

/// Everything an instance of a group is launched with. Two instances with the same spec
/// hash are interchangeable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LaunchSpec {
    /// AMI id.
    pub image_id: String,
    /// Instance type.
    pub instance_type: String,
    /// Security groups of the stack (names).
    pub security_groups: Vec<String>,
    /// Security groups of other stacks (ids, as they published them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_security_groups: Vec<String>,
    /// Roles.
    pub roles: Vec<String>,
    /// `app@version` of every app the roles run.
    pub releases: Vec<String>,
    /// `app@sha256:...` of every app the roles run that is a container image: the
    /// digest its tag resolved to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Rendered user data.
    pub user_data: Option<String>,
    /// IAM instance profile (name or ARN), references resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// EC2 key pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// The root volume, when the file sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<RootVolume>,
    /// The instance metadata service.
    #[serde(default)]
    pub metadata: Metadata,
}

impl LaunchSpec {
    /// The spec of group `group` of `stack`, launching `image_id`, with user data rendered
    /// against `outputs`. For plans: validation rendered every template already, so an
    /// error here can only come from an output value, and shows up in the rendered text.
    pub fn new(stack: &Stack, group: &str, image_id: &str, outputs: &Outputs) -> LaunchSpec {
        let user_data = Self::user_data(stack, group, outputs).unwrap_or_else(Some);
        Self::with_user_data(stack, group, image_id, user_data, outputs)
    }

    /// As [`LaunchSpec::new`], but a user-data render error is an error: what `apply`
    /// launches with.
    pub fn render(
        stack: &Stack,
        group: &str,
        image_id: &str,
        outputs: &Outputs,
    ) -> Result<LaunchSpec, String> {
        let user_data = Self::user_data(stack, group, outputs)?;
        Ok(Self::with_user_data(
            stack, group, image_id, user_data, outputs,
        ))
    }

    fn user_data(stack: &Stack, group: &str, outputs: &Outputs) -> Result<Option<String>, String> {
        let Some(t) = &stack.groups[group].user_data else {
            return Ok(None);
        };
        let context = template::context(stack, group, outputs);
        template::render(&t.path, &t.source, &context)
            .map(Some)
            .map_err(|e| format!("user data `{}` does not render: {}", t.path, e.message))
    }

    fn with_user_data(
        stack: &Stack,
        group: &str,
        image_id: &str,
        user_data: Option<String>,
        outputs: &Outputs,
    ) -> LaunchSpec {
        let g = &stack.groups[group];
        let apps: BTreeSet<&String> = g
            .roles
            .iter()
            .filter_map(|r| stack.roles.get(r)?.app.as_ref())
            .collect();
        let releases = apps
            .iter()
            .filter_map(|app| Some(format!("{app}@{}", stack.apps.get(*app)?.version)))
            .collect();
        let digests = outputs.get(IMAGE_DIGESTS_KEY);
        let images = apps
            .iter()
            .filter(|app| stack.apps.get(**app).is_some_and(|a| a.image.is_some()))
            .map(|app| {
                let digest = digests.and_then(|d| d.get(*app));
                format!(
                    "{app}@{}",
                    digest.map_or(template::KNOWN_AFTER_APPLY, String::as_str)
                )
            })
            .collect();
        LaunchSpec {
            image_id: image_id.to_owned(),
            instance_type: g.instance_type.clone(),
            security_groups: g.security_groups.clone(),
            shared_security_groups: g
                .shared_security_groups
                .iter()
                .map(|sg| interpolate(stack, sg, &BTreeMap::new(), outputs))
                .collect(),
            roles: g.roles.clone(),
            releases,
            images,
            user_data,
            instance_profile: g
                .instance_profile
                .as_ref()
                .map(|p| interpolate(stack, p, &BTreeMap::new(), outputs)),
            key_name: g.key_name.clone(),
            root_volume: g.root_volume.clone(),
            metadata: g.metadata,
        }
    }

    /// Whether the spec depends on a value not known until apply.
    pub fn is_known(&self) -> bool {
        ![&self.user_data, &self.instance_profile]
            .iter()
            .any(|v| v.as_deref().is_some_and(template::unknown))
            && !self
                .shared_security_groups
                .iter()
                .chain(&self.images)
                .any(|v| template::unknown(v))
    }

    /// The spec hash (`rollstack:spec`, stored on every instance): 16 hex digits of the
    /// SHA-256 of the spec's canonical encoding, which is its compact JSON with the
    /// fields in the order and under the names declared above, unset optional fields
    /// left out (but `"user_data":null`), the root volume's and metadata's fields as
    /// the model declares them. `tests::spec_hashes_are_pinned` holds it: renaming or
    /// reordering a field changes every stored hash, and so replaces every instance.
    pub fn hash(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a spec (strings, numbers, lists) is JSON");
        hex::encode(&Sha256::digest(&canonical)[..8])
    }

    /// The settings a plan names when they change (see
    /// [`crate::observe::launch_settings`]).
    pub fn settings(&self) -> BTreeMap<&'static str, String> {
        crate::observe::launch_settings(
            self.instance_profile.as_deref(),
            self.key_name.as_deref(),
            self.root_volume.as_ref(),
            self.metadata,
        )
    }

    /// `web@1.0.0 worker@2.1` (the `rollstack:release` tag).
    pub fn release_tag(&self) -> String {
        self.releases.join(" ")
    }

    /// `api@sha256:0123456789ab` per image (the `rollstack:images` tag): the digests
    /// shortened to 12 digits, as many as fit a tag value.
    pub fn images_tag(&self) -> String {
        let mut tag = String::new();
        for image in &self.images {
            let short = match image.split_once("@sha256:") {
                Some((app, hex)) => format!("{app}@sha256:{}", &hex[..hex.len().min(12)]),
                None => image.clone(),
            };
            if tag.len() + short.len() + 1 > MAX_TAG_VALUE {
                break;
            }
            if !tag.is_empty() {
                tag.push(' ');
            }
            tag.push_str(&short);
        }
        tag
    }
}

/// The ownership tags of resource `address` of `stack`, with the overlay and expiry of
/// an `env up` environment.
pub fn ownership_tags(stack: &Stack, address: &Address) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::from([
        (tags::STACK.to_owned(), stack.name.clone()),
        (tags::ENV.to_owned(), stack.environment.name.clone()),
        (tags::RESOURCE.to_owned(), address.to_string()),
    ]);
    tags.extend(lifecycle_tags(stack));
    tags
}

/// `rollstack:overlay` and `rollstack:expires-at` of an `env up` environment (none for
/// others). Not part of any comparison: `env up` moves the expiry on every run.
pub fn lifecycle_tags(stack: &Stack) -> BTreeMap<String, String> {
    stack
        .environment
        .lifecycle
        .iter()
        .flat_map(|l| {
            [
                (tags::OVERLAY.to_owned(), l.overlay.clone()),
                (tags::EXPIRES_AT.to_owned(), l.expires_at.clone()),
            ]
        })
        .collect()
}

/// The tags an instance of `group` with `spec` is launched with.
pub fn instance_tags(stack: &Stack, group: &str, spec: &LaunchSpec) -> BTreeMap<String, String> {
    let mut tags = ownership_tags(stack, &Address::Group(group.to_owned()));
    tags.insert(tags::SPEC.to_owned(), spec.hash());
    tags.insert(tags::ROLES.to_owned(), spec.roles.join(" "));
    tags.insert(tags::RELEASE.to_owned(), spec.release_tag());
    if !spec.images.is_empty() {
        tags.insert(tags::IMAGES.to_owned(), spec.images_tag());
    }
    tags.insert(tags::NAME.to_owned(), aws_name(stack, group));
    tags.extend(user_tags(stack, Some(group)));
    tags
}

/// The user's own tags on resources of `group` (its instances, volumes and launch
/// template; the stack's over which the group's go), or of the stack's other resources
/// when `group` is `None`; with the list of their keys (`rollstack:user-tags`).
pub fn user_tags(stack: &Stack, group: Option<&str>) -> BTreeMap<String, String> {
    let mut wanted = stack.tags.clone();
    if let Some(g) = group.and_then(|g| stack.groups.get(g)) {
        wanted.extend(g.tags.clone());
    }
    if !wanted.is_empty() {
        let keys: Vec<&str> = wanted.keys().map(String::as_str).collect();
        let list = keys.join(" ");
        wanted.insert(tags::USER_TAGS.to_owned(), list);
    }
    wanted
}

/// What retagging a resource with `live` tags to the user tags `wanted` takes: the tags
/// to set, and the keys to take off (those rollstack set before, by the live list, that
/// the file no longer has). Both empty: nothing to do.
pub fn retag(
    live: &dyn TagLookup,
    wanted: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set: BTreeMap<String, String> = wanted
        .iter()
        .filter(|(k, v)| live.tag(k) != Some(v.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let listed = live.tag(tags::USER_TAGS);
    let mut remove: Vec<String> = listed
        .unwrap_or_default()
        .split_whitespace()
        .chain(listed.is_some().then_some(tags::USER_TAGS))
        .filter(|k| !wanted.contains_key(*k) && live.tag(k).is_some())
        .map(str::to_owned)
        .collect();
    remove.dedup();
    (set, remove)
}

/// What a group's launch template needs, besides instances, to hold spec `hash` at
/// `count`: `plan` shows it and `apply` does exactly it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateUpkeep {
    /// The version carrying the spec, when one was observed; `None`: apply adds one.
    pub version: Option<i64>,
    /// The default version (what a rollback returns to) moves to the spec's version
    /// once the rollout completes: `Some((from, to))` when it is another one now.
    pub default_moves: Option<(i64, i64)>,
    /// Whether the applied count recorded on the template (`rollstack:count`) changes.
    pub count_changes: bool,
}

impl TemplateUpkeep {
    /// The upkeep of `template` (absent: not created yet) for spec `hash` at `count`.
    pub fn of(
        template: Option<&crate::observe::LiveLaunchTemplate>,
        hash: &str,
        count: u32,
    ) -> TemplateUpkeep {
        let Some(template) = template else {
            // A new template is created with the version as default and the count tag.
            return TemplateUpkeep {
                version: None,
                default_moves: None,
                count_changes: false,
            };
        };
        let version = template.version_with_spec(hash).map(|v| v.number);
        TemplateUpkeep {
            version,
            default_moves: version
                .filter(|v| *v != template.default_version)
                .map(|v| (template.default_version, v)),
            count_changes: template.tags.get(tags::COUNT) != Some(&count.to_string()),
        }
    }

    /// The upkeep left once apply added `version` to `template` (absent: it created the
    /// template, default version and count tag included).
    pub fn with_new_version(
        self,
        template: Option<&crate::observe::LiveLaunchTemplate>,
        version: i64,
    ) -> TemplateUpkeep {
        TemplateUpkeep {
            version: Some(version),
            default_moves: template.map(|t| (t.default_version, version)),
            count_changes: template.is_some() && self.count_changes,
        }
    }

    /// Whether anything is to be done.
    pub fn is_needed(&self) -> bool {
        self.version.is_none() || self.default_moves.is_some() || self.count_changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VolumeType;

    fn spec() -> LaunchSpec {
        LaunchSpec {
            image_id: "ami-0abc1234".to_owned(),
            instance_type: "t3.micro".to_owned(),
            security_groups: vec!["web".to_owned()],
            shared_security_groups: Vec::new(),
            roles: vec!["web".to_owned(), "pgbouncer".to_owned()],
            releases: vec!["web@1.0.0".to_owned()],
            images: Vec::new(),
            user_data: Some("#!/bin/sh\necho hi\n".to_owned()),
            instance_profile: None,
            key_name: None,
            root_volume: None,
            metadata: Metadata::default(),
        }
    }

    /// The hashes stored on AWS for these specs: a change here replaces every instance
    /// of every stack, so it must be deliberate (and said in the release notes).
    #[test]
    fn spec_hashes_are_pinned() {
        assert_eq!(
            String::from_utf8(serde_json::to_vec(&spec()).unwrap()).unwrap(),
            r##"{"image_id":"ami-0abc1234","instance_type":"t3.micro","security_groups":["web"],"roles":["web","pgbouncer"],"releases":["web@1.0.0"],"user_data":"#!/bin/sh\necho hi\n","metadata":{"tokens_required":true,"hop_limit":1}}"##
        );
        assert_eq!(spec().hash(), PINNED_PLAIN);
        let full = LaunchSpec {
            instance_profile: Some("web-instances".to_owned()),
            key_name: Some("ops".to_owned()),
            root_volume: Some(RootVolume {
                size_gb: Some(30),
                volume_type: VolumeType::Gp3,
                encrypted: true,
                iops: None,
                throughput: None,
            }),
            ..spec()
        };
        assert_eq!(full.hash(), PINNED_FULL);
    }

    /// An app that is an image puts its digest in the spec (so a new digest is a new
    /// spec) and, shortened, in the `rollstack:images` tag.
    #[test]
    fn an_image_digest_is_part_of_the_spec() {
        let stack = crate::testing::stack_from_yaml(
            "rollstack: 1\nstack: shop\nregion: us-east-1\napps:\n  api: { image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/api, version: \"1.0\" }\nroles:\n  api: { app: api }\ngroups:\n  api: { roles: [api], count: 1, image: ami-0abc1234, instance_type: t3.micro }\n",
        );
        let digest = |hex: char| format!("sha256:{}", hex.to_string().repeat(64));
        let outputs = |hex: char| {
            Outputs::from([(
                IMAGE_DIGESTS_KEY.to_owned(),
                BTreeMap::from([("api".to_owned(), digest(hex))]),
            )])
        };
        let first = LaunchSpec::new(&stack, "api", "ami-0abc1234", &outputs('a'));
        assert_eq!(first.images, vec![format!("api@{}", digest('a'))]);
        assert_eq!(first.releases, vec!["api@1.0".to_owned()]);
        assert!(first.is_known());
        assert_eq!(first.images_tag(), "api@sha256:aaaaaaaaaaaa");
        let moved = LaunchSpec::new(&stack, "api", "ami-0abc1234", &outputs('b'));
        assert_ne!(first.hash(), moved.hash());
        let unresolved = LaunchSpec::new(&stack, "api", "ami-0abc1234", &Outputs::new());
        assert!(!unresolved.is_known());
    }

    const PINNED_PLAIN: &str = "ab1dfd913dfa8568";
    const PINNED_FULL: &str = "faec4b358f142400";
}
