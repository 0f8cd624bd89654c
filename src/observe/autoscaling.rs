//! Live Auto Scaling groups: bounds, capacity, instances with their lifecycle and
//! scale-in protection, policies, and the record a rollout keeps on the group while it
//! has raised the desired capacity.

use std::collections::BTreeMap;

use super::tags;
use crate::model::{HealthCheckKind, ScalingMetric};

/// A live Auto Scaling group.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveAutoScalingGroup {
    /// Its name (`{stack}-{env}-{group}`).
    pub name: String,
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Desired capacity now.
    pub desired: u32,
    /// Health check kind (`None`: one rollstack does not know).
    pub health_check: Option<HealthCheckKind>,
    /// Health check grace period, seconds.
    pub grace: u32,
    /// Attached target groups (ARNs).
    pub target_groups: Vec<String>,
    /// Termination policies, as Auto Scaling names them.
    pub termination: Vec<String>,
    /// The launch template it launches from: id and version (`5`, `$Latest`).
    pub launch_template: Option<(String, String)>,
    /// Its instances.
    pub instances: Vec<AutoScalingInstance>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its scaling policies.
    pub policies: Vec<LivePolicy>,
}

/// An instance of an Auto Scaling group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoScalingInstance {
    /// Instance id.
    pub id: String,
    /// Where it is in its lifecycle.
    pub lifecycle: Lifecycle,
    /// Whether Auto Scaling finds it healthy.
    pub healthy: bool,
    /// Protected from scale-in.
    pub protected: bool,
}

/// An Auto Scaling instance's lifecycle state, as far as rollouts care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Launching (`Pending`, `Pending:Wait`, `Pending:Proceed`).
    Pending,
    /// In service.
    InService,
    /// On its way out (`Terminating*`, `Detaching`, `Detached`, `Terminated`).
    Leaving,
    /// In standby or a warm pool: not serving, not leaving.
    Parked,
}

impl Lifecycle {
    /// The state Auto Scaling calls `name`.
    pub fn parse(name: &str) -> Lifecycle {
        if name.starts_with("Pending") {
            Lifecycle::Pending
        } else if name == "InService" {
            Lifecycle::InService
        } else if name.starts_with("Terminat") || name.starts_with("Detach") {
            Lifecycle::Leaving
        } else {
            Lifecycle::Parked
        }
    }
}

/// A scaling policy of a live group.
#[derive(Clone, Debug, PartialEq)]
pub struct LivePolicy {
    /// Its name.
    pub name: String,
    /// The predefined metric it tracks, when it is a target-tracking policy on one.
    pub metric: Option<ScalingMetric>,
    /// Its target value.
    pub value: Option<f64>,
}

/// What a rollout that raised a group's desired capacity remembers on the group
/// (`rollstack:rollout`, `base=4 set=6`): the capacity Auto Scaling wanted (`base`) when
/// rollstack last set the desired capacity to `set`. Whatever moved the desired
/// capacity since moved what Auto Scaling wants by as much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolloutRecord {
    /// What Auto Scaling wanted.
    pub base: u32,
    /// The desired capacity rollstack set.
    pub set: u32,
}

impl RolloutRecord {
    /// The record written as `base=4 set=6`.
    pub fn parse(text: &str) -> Option<RolloutRecord> {
        let mut base = None;
        let mut set = None;
        for word in text.split_whitespace() {
            match word.split_once('=')? {
                ("base", n) => base = n.parse().ok(),
                ("set", n) => set = n.parse().ok(),
                _ => return None,
            }
        }
        Some(RolloutRecord {
            base: base?,
            set: set?,
        })
    }

    /// As the tag holds it.
    pub fn text(&self) -> String {
        format!("base={} set={}", self.base, self.set)
    }
}

impl LiveAutoScalingGroup {
    /// The rollout record on the group, if a rollout left one.
    pub fn rollout(&self) -> Option<RolloutRecord> {
        RolloutRecord::parse(self.tags.get(tags::ROLLOUT)?)
    }

    /// The capacity Auto Scaling wants, rollstack's surge taken out: the desired
    /// capacity, less what a rollout added (by its record), within `min..=max`.
    pub fn wanted(&self) -> u32 {
        let Some(record) = self.rollout() else {
            return self.desired;
        };
        let moved = i64::from(self.desired) - i64::from(record.set);
        let wanted = (i64::from(record.base) + moved).max(0) as u32;
        wanted.clamp(self.min, self.max.max(self.min))
    }

    /// Its instances that are not leaving.
    pub fn staying(&self) -> impl Iterator<Item = &AutoScalingInstance> {
        self.instances
            .iter()
            .filter(|i| i.lifecycle != Lifecycle::Leaving)
    }

    /// The instances it is about to launch: desired capacity not yet met by instances
    /// that stay.
    pub fn launching(&self) -> u32 {
        self.desired.saturating_sub(self.staying().count() as u32)
    }

    /// What a saved plan remembers of it: everything the plan compares, not the desired
    /// capacity (Auto Scaling's own) nor its instances (the group's fingerprint has them).
    pub fn fingerprint_text(&self) -> String {
        let policies: Vec<String> = self
            .policies
            .iter()
            .map(|p| format!("{} {:?} {:?}", p.name, p.metric, p.value))
            .collect();
        format!(
            "{} {}..{} {:?} {} [{}] {:?} [{}] [{}] {:?}",
            self.name,
            self.min,
            self.max,
            self.health_check,
            self.grace,
            self.termination.join(","),
            self.launch_template,
            self.target_groups.join(","),
            policies.join(","),
            self.rollout(),
        )
    }

    /// The group a group of `stack` it is, by its `rollstack:resource` tag.
    pub fn group(&self) -> Option<&str> {
        self.tags.get(tags::RESOURCE)?.strip_prefix("group.")
    }
}

#[cfg(test)]
impl LiveAutoScalingGroup {
    /// A group of 4..=12 at `desired`, with a rollout `record` and `instances`, for tests.
    pub fn example(
        desired: u32,
        record: Option<&str>,
        instances: &[(&str, Lifecycle)],
    ) -> LiveAutoScalingGroup {
        LiveAutoScalingGroup {
            name: "shop-prod-www".to_owned(),
            min: 4,
            max: 12,
            desired,
            health_check: Some(HealthCheckKind::Ec2),
            grace: 300,
            target_groups: Vec::new(),
            termination: Vec::new(),
            launch_template: None,
            instances: instances
                .iter()
                .map(|(id, lifecycle)| AutoScalingInstance {
                    id: (*id).to_owned(),
                    lifecycle: *lifecycle,
                    healthy: true,
                    protected: false,
                })
                .collect(),
            tags: record
                .map(|r| (tags::ROLLOUT.to_owned(), r.to_owned()))
                .into_iter()
                .collect(),
            policies: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(desired: u32, record: Option<&str>) -> LiveAutoScalingGroup {
        LiveAutoScalingGroup::example(desired, record, &[])
    }

    /// What Auto Scaling wants: the desired capacity, less a rollout's surge; whatever
    /// moved the desired capacity since the rollout set it moved it by as much.
    #[test]
    fn wanted_capacity() {
        let table = [
            (6, None, 6),
            (6, Some("base=4 set=6"), 4),
            (8, Some("base=4 set=6"), 6),
            (5, Some("base=4 set=6"), 4),
            (4, Some("base=4 set=6"), 4),
            (6, Some("garbage"), 6),
            (13, Some("base=12 set=13"), 12),
        ];
        for (desired, record, wanted) in table {
            assert_eq!(
                group(desired, record).wanted(),
                wanted,
                "{desired} {record:?}"
            );
        }
    }

    #[test]
    fn records_read_back() {
        let record = RolloutRecord { base: 4, set: 6 };
        assert_eq!(RolloutRecord::parse(&record.text()), Some(record));
        assert_eq!(RolloutRecord::parse("base=4"), None);
    }
}
