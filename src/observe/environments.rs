//! Environments as AWS knows them: every resource carrying a stack's ownership tags,
//! grouped by `rollstack:env`. `env list` and `env gc` read only this, never a local
//! file, so they see environments made from any branch or machine.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use super::tags;

/// One resource carrying `rollstack:stack`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedResource {
    /// `instance`, `security group`, `launch template`, `CloudFormation stack`.
    pub kind: &'static str,
    /// Its id.
    pub id: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// When it was created (RFC 3339), where AWS says.
    pub created: Option<String>,
    /// Instance type, for instances.
    pub instance_type: Option<String>,
}

/// One environment of a stack, summarised from its resources' tags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvironmentSummary {
    /// `rollstack:env`.
    pub name: String,
    /// `rollstack:overlay`, for environments made by `env up`.
    pub overlay: Option<String>,
    /// The earliest creation time of its resources (RFC 3339).
    pub created: Option<String>,
    /// The latest `rollstack:expires-at` of its resources; `None` for long-lived
    /// environments.
    pub expires_at: Option<String>,
    /// Live instances by instance type.
    pub instances: BTreeMap<String, u32>,
    /// Resources by kind.
    pub resources: BTreeMap<String, u32>,
}

impl EnvironmentSummary {
    /// Whether it has an expiry and `now` is past it. An expiry that does not parse is
    /// never past: nothing is destroyed on a guess.
    pub fn expired(&self, now: SystemTime) -> bool {
        self.expires_at
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
            .is_some_and(|expiry| expiry <= now)
    }
}

/// The environments `resources` belong to, by name.
pub fn summarize(resources: &[TaggedResource]) -> Vec<EnvironmentSummary> {
    let mut found: BTreeMap<String, EnvironmentSummary> = BTreeMap::new();
    for resource in resources {
        let Some(env) = resource.tags.get(tags::ENV) else {
            continue;
        };
        let summary = found
            .entry(env.clone())
            .or_insert_with(|| EnvironmentSummary {
                name: env.clone(),
                overlay: None,
                created: None,
                expires_at: None,
                instances: BTreeMap::new(),
                resources: BTreeMap::new(),
            });
        if let Some(overlay) = resource.tags.get(tags::OVERLAY) {
            summary.overlay = Some(overlay.clone());
        }
        // RFC 3339 in UTC with the same precision orders as text.
        if let Some(expiry) = resource.tags.get(tags::EXPIRES_AT)
            && summary.expires_at.as_ref().is_none_or(|e| e < expiry)
        {
            summary.expires_at = Some(expiry.clone());
        }
        if let Some(created) = &resource.created
            && summary.created.as_ref().is_none_or(|c| c > created)
        {
            summary.created = Some(created.clone());
        }
        if let Some(kind) = &resource.instance_type {
            *summary.instances.entry(kind.clone()).or_default() += 1;
        }
        *summary
            .resources
            .entry(resource.kind.to_owned())
            .or_default() += 1;
    }
    found.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(kind: &'static str, env: &str, extra: &[(&str, &str)]) -> TaggedResource {
        let mut tags = BTreeMap::from([
            (tags::STACK.to_owned(), "shop".to_owned()),
            (tags::ENV.to_owned(), env.to_owned()),
        ]);
        for (k, v) in extra {
            tags.insert((*k).to_owned(), (*v).to_owned());
        }
        TaggedResource {
            kind,
            id: format!("{kind}-{env}"),
            tags,
            created: Some("2026-11-20T10:00:00Z".to_owned()),
            instance_type: (kind == "instance").then(|| "t3.micro".to_owned()),
        }
    }

    #[test]
    fn environments_take_the_latest_expiry_and_count_instances_by_type() {
        let old = [
            (tags::OVERLAY, "pr"),
            (tags::EXPIRES_AT, "2026-11-21T10:00:00Z"),
        ];
        let new = [
            (tags::OVERLAY, "pr"),
            (tags::EXPIRES_AT, "2026-11-22T10:00:00Z"),
        ];
        let summaries = summarize(&[
            resource("instance", "pr-1", &old),
            resource("instance", "pr-1", &new),
            resource("security group", "pr-1", &new),
            resource("instance", "prod", &[]),
        ]);
        assert_eq!(summaries.len(), 2);
        let pr = &summaries[0];
        assert_eq!(pr.name, "pr-1");
        assert_eq!(pr.overlay.as_deref(), Some("pr"));
        assert_eq!(pr.expires_at.as_deref(), Some("2026-11-22T10:00:00Z"));
        assert_eq!(pr.instances, BTreeMap::from([("t3.micro".to_owned(), 2)]));
        assert_eq!(pr.resources["security group"], 1);
        let at = |t: &str| humantime::parse_rfc3339(t).unwrap();
        assert!(!pr.expired(at("2026-11-22T09:59:59Z")));
        assert!(pr.expired(at("2026-11-22T10:00:00Z")));
        let prod = &summaries[1];
        assert_eq!(prod.expires_at, None);
        assert!(
            !prod.expired(at("2099-01-01T00:00:00Z")),
            "no expiry, never expired"
        );
    }
}
