//! Release jobs: a script run once per release on an instance of its own, before the
//! groups that run its app roll (a database migration) or after they all rolled.

use serde::{Deserialize, Serialize};

use super::{Duration, ImageRef, Interpolated, Metadata, Template};

/// A release job (`jobs.NAME`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// The app whose release it runs (its version from `apps`).
    pub app: String,
    /// The script, a template like user data.
    pub run: Template,
    /// What its instance launches with.
    pub launch: JobLaunch,
    /// Before the groups running its app roll, or once they all rolled.
    pub when: When,
    /// How long it may run; past it, it is stopped and the apply fails.
    pub timeout: Duration,
}

/// When a job runs.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Before any group running its app launches an instance of the new release.
    #[default]
    Before,
    /// Once every group running its app rolled to it.
    After,
}

impl When {
    /// `before` or `after`.
    pub fn as_str(self) -> &'static str {
        match self {
            When::Before => "before",
            When::After => "after",
        }
    }
}

/// What a job's instance launches with: a group's launch settings (`like`), or its own.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobLaunch {
    /// The group whose settings these are (`like`), if any.
    pub like: Option<String>,
    /// Machine image.
    pub image: ImageRef,
    /// EC2 instance type.
    pub instance_type: String,
    /// Subnets (the first is used).
    pub subnets: Vec<String>,
    /// Security groups of the stack it joins.
    pub security_groups: Vec<String>,
    /// IAM instance profile; it needs to read the release and write the job's result.
    pub instance_profile: Option<Interpolated>,
    /// The instance metadata service.
    pub metadata: Metadata,
}
