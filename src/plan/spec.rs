//! Launch specs: what an instance of a group is launched with, its hash (the
//! `rollstack:spec` tag) and the tags set at launch.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Address, Stack};
use crate::observe::{aws_name, tags};
use crate::template::{self, KNOWN_AFTER_APPLY, Outputs};

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
    /// Roles.
    pub roles: Vec<String>,
    /// `app@version` of every app the roles run.
    pub releases: Vec<String>,
    /// Rendered user data.
    pub user_data: Option<String>,
}

impl LaunchSpec {
    /// The spec of group `group` of `stack`, launching `image_id`, with user data rendered
    /// against `outputs`. For plans: validation rendered every template already, so an
    /// error here can only come from an output value, and shows up in the rendered text.
    pub fn new(stack: &Stack, group: &str, image_id: &str, outputs: &Outputs) -> LaunchSpec {
        let user_data = Self::user_data(stack, group, outputs).unwrap_or_else(Some);
        Self::with_user_data(stack, group, image_id, user_data)
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
        Ok(Self::with_user_data(stack, group, image_id, user_data))
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
    ) -> LaunchSpec {
        let g = &stack.groups[group];
        let releases: BTreeSet<String> = g
            .roles
            .iter()
            .filter_map(|r| stack.roles.get(r)?.app.as_ref())
            .filter_map(|app| Some(format!("{app}@{}", stack.apps.get(app)?.version)))
            .collect();
        LaunchSpec {
            image_id: image_id.to_owned(),
            instance_type: g.instance_type.clone(),
            security_groups: g.security_groups.clone(),
            roles: g.roles.clone(),
            releases: releases.into_iter().collect(),
            user_data,
        }
    }

    /// Whether the spec depends on a value not known until apply.
    pub fn is_known(&self) -> bool {
        !self
            .user_data
            .as_deref()
            .is_some_and(|u| u.contains(KNOWN_AFTER_APPLY))
    }

    /// The spec hash: 16 hex digits of the SHA-256 of the canonical JSON of the spec.
    pub fn hash(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(&Sha256::digest(&canonical)[..8])
    }

    /// `web@1.0.0 worker@2.1` (the `rollstack:release` tag).
    pub fn release_tag(&self) -> String {
        self.releases.join(" ")
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
    tags.insert(tags::NAME.to_owned(), aws_name(stack, group));
    tags
}

/// The tags every instance of a group must carry; one missing is drift.
pub const REQUIRED_INSTANCE_TAGS: &[&str] = &[
    tags::STACK,
    tags::ENV,
    tags::RESOURCE,
    tags::SPEC,
    tags::ROLES,
    tags::RELEASE,
    tags::NAME,
];
