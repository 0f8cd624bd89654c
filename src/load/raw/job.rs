//! The stack file's release jobs as written.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::When;
use crate::model::values::{Duration, ImageRef};

/// A release job: a script run once per release of its app, on an instance of its own,
/// before the groups running the app roll (a database migration) or after they all
/// rolled (`docs/jobs.md`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [
    { "required": ["like"] },
    { "required": ["image", "instance_type"] }
]))]
pub struct RawJob {
    /// The app whose release it runs (its version from `apps`).
    pub app: String,
    /// The script (a template like `user_data`, relative to the stack file); it sees
    /// `apps`, `env`, `outputs` and `job`.
    pub run: String,
    /// Launch as this group does: its image, instance type, subnets, security groups,
    /// instance profile, root volume and metadata settings. Fields set here win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like: Option<String>,
    /// The machine image (without `like`, required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
    /// The EC2 instance type (without `like`, required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::group::instance_type_schema")]
    pub instance_type: Option<String>,
    /// Subnets (the first is used; default: `like`'s, or `network.subnets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("items" = { "type": "string", "pattern": "^subnet-[0-9a-f]{1,17}$" }))]
    pub subnets: Option<Vec<String>>,
    /// Security groups of this stack it joins (default: `like`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    /// The IAM instance profile it runs with (name, ARN or `${outputs.NODE.OUTPUT}`): it
    /// must read the release and write the job's result to the state bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// `before` (default): before any group running `app` rolls; `after`: once they all
    /// rolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    /// How long it may run (default `30m`); past it, its instance is terminated and the
    /// apply fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}
