//! Rollout decisions: a pure function of (observed instances, policy) -> next step.
//!
//! Nothing here remembers anything between steps: apply observes the group's tagged
//! instances, asks [`next_step`] what to do, does it, and observes again. A restart
//! (or a `kill -9` and a re-run) therefore picks up exactly where AWS says the group is.
//! Every rollout decision lives here: whether an instance is current ([`current`]), how
//! healthy it is ([`health`]), and what to do next ([`next_step`]), pause included.

pub mod current;
pub mod health;

use std::time::Duration;

use crate::model::{Group, Quantity};
use crate::observe::LiveInstance;

pub use current::{Departure, REQUIRED_INSTANCE_TAGS, TargetSpec, members};

/// The bounds a group rolls within, resolved against its count (Kubernetes semantics:
/// surge rounds up, unavailability rounds down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Desired instances.
    pub count: u32,
    /// Instances allowed above `count` while rolling.
    pub max_surge: u32,
    /// Instances allowed below `count` while rolling.
    pub max_unavailable: u32,
    /// The wait after a batch of old instances is replaced, before the next batch.
    pub pause: Duration,
    /// `max_surge` and `max_unavailable` as the stack file writes them (`25%`).
    pub written: (Quantity, Quantity),
}

impl Policy {
    /// The policy of `group`.
    pub fn of(group: &Group) -> Policy {
        let rollout = &group.rollout;
        Policy {
            count: group.count,
            max_surge: rollout.max_surge.resolve(group.count, true),
            max_unavailable: rollout.max_unavailable.resolve(group.count, false),
            pause: rollout.pause.0,
            written: (rollout.max_surge, rollout.max_unavailable),
        }
    }

    /// Instances replaced at once.
    pub fn batch(&self) -> u32 {
        (self.max_surge + self.max_unavailable).max(1)
    }

    /// How the policy rolls, for the plan: `1 at a time (max_surge 1, max_unavailable 0),
    /// never below 4 healthy`.
    pub fn describe(&self) -> String {
        let (surge, unavailable) = self.written;
        format!(
            "{} at a time (max_surge {surge}, max_unavailable {unavailable}), never below {} healthy",
            self.batch(),
            self.min_available()
        )
    }

    /// Healthy in-service instances never drop below this.
    pub fn min_available(&self) -> u32 {
        self.count.saturating_sub(self.max_unavailable)
    }

    /// Live instances never exceed this.
    pub fn max_total(&self) -> u32 {
        self.count + self.max_surge
    }
}

/// How a live instance is doing, as far as the group's health gate can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// In service: passes every health check of the group's roles.
    Healthy,
    /// Not (yet) healthy, still within `health_timeout`.
    Pending,
    /// Will not become healthy: why (`signal fail`, `no healthy signal within 2m`).
    Failed(String),
}

/// One live instance of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Instance id.
    pub id: String,
    /// Whether it runs the target spec.
    pub current: bool,
    /// Health of an instance of the target spec; for the others, `Healthy` means
    /// running (they passed their gate when they were rolled out).
    pub health: Health,
    /// Subnet, for spreading scale-in.
    pub subnet: Option<String>,
    /// Launch time (RFC 3339), for oldest-first.
    pub launched: String,
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Launch this many instances of the target spec, in one batch.
    Launch(u32),
    /// Terminate these instances, then wait `pause` before the next step (the policy's
    /// pause between batches, when old instances are left to replace).
    Terminate {
        /// Instance ids.
        ids: Vec<String>,
        /// Why they go.
        why: Why,
        /// How long to wait once they are gone.
        pause: Duration,
    },
    /// Wait for instances of the target spec to turn healthy.
    Wait,
    /// Instances of the target spec failed their health gate: (id, why).
    Failed(Vec<(String, String)>),
    /// The group is at its count, every instance on the target spec and healthy.
    Done,
}

/// Why instances are terminated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Old-spec instances that serve nothing (stopped, or never came up).
    OutOfService,
    /// Old-spec instances whose replacements are healthy.
    Replaced,
    /// Instances beyond the count.
    ScaleIn,
}

impl Why {
    /// In a progress line: `terminating 2 (replaced)`.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::OutOfService => "out of service",
            Why::Replaced => "replaced",
            Why::ScaleIn => "scale-in",
        }
    }
}

/// The next step for a group whose live instances are `members`, under `policy`.
///
/// Invariants the steps keep (given the instances they launch turn healthy): in-service
/// instances stay at or above `policy.min_available()` and live instances at or below
/// `policy.max_total()`.
pub fn next_step(members: &[Member], policy: &Policy) -> Step {
    let (current, old): (Vec<&Member>, Vec<&Member>) = members.iter().partition(|m| m.current);
    let failed: Vec<(String, String)> = current
        .iter()
        .filter_map(|m| match &m.health {
            Health::Failed(why) => Some((m.id.clone(), why.clone())),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        return Step::Failed(failed);
    }
    let serving = |m: &&&Member| m.health == Health::Healthy;
    let out_of_service: Vec<String> = old
        .iter()
        .filter(|m| !serving(m))
        .map(|m| m.id.clone())
        .collect();
    if !out_of_service.is_empty() {
        return Step::Terminate {
            ids: out_of_service,
            why: Why::OutOfService,
            pause: Duration::ZERO,
        };
    }
    let healthy_current = current.iter().filter(serving).count() as u32;
    let pending_current = current.len() as u32 - healthy_current;
    let available = healthy_current + old.len() as u32;
    let total = members.len() as u32;

    // Old instances go once their capacity is covered: by healthy replacements, or by
    // the unavailability the policy allows.
    if !old.is_empty() {
        let slack = available.saturating_sub(policy.min_available());
        let n = slack.min(old.len() as u32) as usize;
        if n > 0 {
            let more_to_replace = old.len() > n;
            return Step::Terminate {
                ids: oldest_first(&old, n),
                why: Why::Replaced,
                pause: if more_to_replace {
                    policy.pause
                } else {
                    Duration::ZERO
                },
            };
        }
    }
    if current.len() as u32 > policy.count {
        let surplus = current.len() as u32 - policy.count;
        // Surplus that is not serving goes first; it costs no capacity.
        let mut pending: Vec<&Member> = current
            .iter()
            .copied()
            .filter(|m| m.health != Health::Healthy)
            .collect();
        pending.truncate(surplus as usize);
        let mut ids: Vec<String> = pending.iter().map(|m| m.id.clone()).collect();
        let rest: Vec<&Member> = current
            .iter()
            .copied()
            .filter(|m| m.health == Health::Healthy)
            .collect();
        ids.extend(oldest_first(&rest, surplus as usize - ids.len()));
        return Step::Terminate {
            ids,
            why: Why::ScaleIn,
            pause: Duration::ZERO,
        };
    }
    let wanted = policy.count.saturating_sub(current.len() as u32);
    let room = policy.max_total().saturating_sub(total);
    let launch = wanted.min(room);
    if launch > 0 {
        return Step::Launch(launch);
    }
    if pending_current > 0 || !old.is_empty() {
        return Step::Wait;
    }
    Step::Done
}

/// The `n` of a group's healthy `instances` that scale-in removes: the choice
/// [`next_step`] makes, for the plan to show.
pub fn scale_in(instances: &[&LiveInstance], n: usize) -> Vec<String> {
    let members: Vec<Member> = instances
        .iter()
        .map(|i| Member::of(i, true, Health::Healthy))
        .collect();
    oldest_first(&members.iter().collect::<Vec<_>>(), n)
}

/// `n` of `members`: repeatedly the oldest of the most crowded subnet.
pub fn oldest_first(members: &[&Member], n: usize) -> Vec<String> {
    let mut by_subnet: std::collections::BTreeMap<Option<&str>, Vec<&Member>> =
        std::collections::BTreeMap::new();
    for m in members {
        by_subnet.entry(m.subnet.as_deref()).or_default().push(m);
    }
    for list in by_subnet.values_mut() {
        list.sort_by(|a, b| (&a.launched, &a.id).cmp(&(&b.launched, &b.id)));
    }
    let mut picked = Vec::new();
    for _ in 0..n {
        let Some(list) = by_subnet
            .values_mut()
            .filter(|l| !l.is_empty())
            .max_by(|a, b| {
                a.len()
                    .cmp(&b.len())
                    .then_with(|| b[0].launched.cmp(&a[0].launched))
            })
        else {
            break;
        };
        picked.push(list.remove(0).id.clone());
    }
    picked
}

#[cfg(test)]
mod tests;
