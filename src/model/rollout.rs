//! How a group rolls: batch bounds, pause, health timeout, failure handling, canary and
//! alarms.

use serde::{Deserialize, Serialize};

use super::{Duration, Quantity};

/// A rolling replacement policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// Instances allowed above the count.
    pub max_surge: Quantity,
    /// Instances allowed below the count.
    pub max_unavailable: Quantity,
    /// Wait between batches.
    pub pause: Duration,
    /// Longest wait for new instances to turn healthy.
    pub health_timeout: Duration,
    /// What a failure does.
    pub on_failure: OnFailure,
    /// The first batch, watched for a bake time before the others.
    #[serde(default)]
    pub canary: Option<Canary>,
    /// CloudWatch alarms that stop the rollout (and roll it back) when they fire.
    #[serde(default)]
    pub alarms: Vec<String>,
}

/// A rollout's canary: its first batch, and how long it serves alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canary {
    /// Instances in the canary batch (a percentage rounds up).
    pub count: Quantity,
    /// How long the canary serves, watched, before the other batches.
    pub bake: Duration,
}

impl Default for Rollout {
    fn default() -> Self {
        Rollout {
            max_surge: Quantity::Count(1),
            max_unavailable: Quantity::Count(0),
            pause: Duration::default(),
            health_timeout: Duration(std::time::Duration::from_secs(600)),
            on_failure: OnFailure::Rollback,
            canary: None,
            alarms: Vec::new(),
        }
    }
}

/// What a failed rollout does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Terminate the failed instances and restore the previous spec.
    Rollback,
    /// Stop where it is, never below the minimum.
    Halt,
}
