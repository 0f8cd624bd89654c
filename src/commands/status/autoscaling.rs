//! A group's Auto Scaling group in `status`: bounds, capacity, instances by lifecycle,
//! protection, and its last scaling activities (what it did on its own).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aws::Activity;
use crate::observe::{Lifecycle, LiveAutoScalingGroup};

/// How many scaling activities `status` shows per group.
pub(super) const ACTIVITIES: i32 = 5;

/// An Auto Scaling group, as `status` shows it.
#[derive(Debug, Serialize)]
pub(super) struct AutoscalingStatus {
    pub name: String,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    pub in_service: u32,
    pub pending: u32,
    /// Protected from scale-in (a rollout in progress, or interrupted).
    pub protected: u32,
    /// The last scaling activities, newest first.
    pub activities: Vec<ActivityStatus>,
}

/// One scaling activity.
#[derive(Debug, Serialize)]
pub(super) struct ActivityStatus {
    pub started: String,
    pub status: String,
    pub description: String,
}

/// The status of `live`, with the `activities` read of it.
pub(super) fn status(
    live: &LiveAutoScalingGroup,
    activities: &BTreeMap<String, Vec<Activity>>,
) -> AutoscalingStatus {
    let count = |lifecycle: Lifecycle| {
        live.instances
            .iter()
            .filter(|i| i.lifecycle == lifecycle)
            .count() as u32
    };
    AutoscalingStatus {
        name: live.name.clone(),
        min: live.min,
        max: live.max,
        desired: live.desired,
        in_service: count(Lifecycle::InService),
        pending: count(Lifecycle::Pending),
        protected: live.instances.iter().filter(|i| i.protected).count() as u32,
        activities: activities
            .get(&live.name)
            .into_iter()
            .flatten()
            .map(|a| ActivityStatus {
                started: a.started.clone(),
                status: a.status.clone(),
                description: a.description.clone(),
            })
            .collect(),
    }
}

/// Its lines under the group.
pub(super) fn text(out: &mut String, a: &AutoscalingStatus) {
    let protected = if a.protected > 0 {
        format!(", {} protected from scale-in", a.protected)
    } else {
        String::new()
    };
    out.push_str(&format!(
        "  Auto Scaling group `{}`: desired {} (min {}, max {}), {} in service, {} pending{protected}\n",
        a.name, a.desired, a.min, a.max, a.in_service, a.pending
    ));
    for activity in &a.activities {
        out.push_str(&format!(
            "    {} {}: {}\n",
            activity.started, activity.status, activity.description
        ));
    }
}
