//! What a plan does to a group's Auto Scaling group: made, its settings changed (each a
//! value diff), policies put or deleted, target groups attached or detached, what an
//! interrupted rollout left behind taken back, or deleted with the group.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Changes to a group's Auto Scaling group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AutoscalingChange {
    /// The Auto Scaling group's name.
    pub name: String,
    /// What happens to it as a whole.
    pub action: AutoscalingAction,
    /// Settings that change: (setting, live, planned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<SettingChange>,
    /// Target-tracking policies put (new or changed): `cpu 50`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub put_policies: Vec<String>,
    /// Policies deleted, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_policies: Vec<String>,
    /// Target groups attached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attach: Vec<String>,
    /// Target groups detached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detach: Vec<String>,
    /// What an interrupted rollout left and apply takes back (a raised desired
    /// capacity, instances protected from scale-in).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<String>,
    /// Desired capacity now, and what Auto Scaling wants of it (a rollout's surge taken
    /// out); neither is drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<(u32, u32)>,
}

/// What happens to an Auto Scaling group as a whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoscalingAction {
    /// Nothing.
    #[default]
    Keep,
    /// Made.
    Create,
    /// Its settings, policies or target groups change.
    Update,
    /// Drained, emptied and deleted with its policies.
    Delete,
    /// The group leaves Auto Scaling: its instances are detached and kept (a plain
    /// group's now), the Auto Scaling group and its policies deleted.
    Leave,
}

/// One setting of an Auto Scaling group that changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SettingChange {
    /// `min`, `max`, `health check`, `termination`, `launch template version`.
    pub setting: String,
    /// Live value.
    pub before: String,
    /// Planned value.
    pub after: String,
}

impl AutoscalingChange {
    /// Whether apply has anything to do to the group itself.
    pub fn is_needed(&self) -> bool {
        self.action != AutoscalingAction::Keep
    }

    /// One line for the plan: `max 12 -> 20; put policy cpu 50`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .settings
            .iter()
            .map(|s| format!("{} {} -> {}", s.setting, s.before, s.after))
            .collect();
        parts.extend(self.put_policies.iter().map(|p| format!("put policy {p}")));
        parts.extend(
            self.delete_policies
                .iter()
                .map(|p| format!("delete policy `{p}`")),
        );
        parts.extend(
            self.attach
                .iter()
                .map(|t| format!("attach {}", crate::observe::short_name(t))),
        );
        parts.extend(
            self.detach
                .iter()
                .map(|t| format!("detach {}", crate::observe::short_name(t))),
        );
        parts.extend(self.leftovers.iter().cloned());
        parts.join("; ")
    }
}
