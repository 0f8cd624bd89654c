//! Rollout decisions: a pure function of (observed instances, policy) -> next step.
//!
//! Nothing here remembers anything between steps: apply observes the group's tagged
//! instances, asks [`next_step`] what to do, does it, and observes again. A restart
//! (or a `kill -9` and a re-run) therefore picks up exactly where AWS says the group is.
//! Every rollout decision lives here: whether an instance is current ([`current`]), how
//! healthy it is ([`health`]), and what to do next ([`next_step`]), pause included.

pub mod autoscaling;
pub mod current;
pub mod gates;
pub mod health;
pub mod job;
pub mod traffic;
pub mod unlisted;

use std::time::Duration;

use crate::model::{Group, Quantity};
use crate::observe::LiveInstance;

pub use current::{Departure, Judges, REQUIRED_INSTANCE_TAGS, TargetSpec, members};
pub use gates::{AlarmGate, Bake, BakeClock, Firing, Gates};
pub use traffic::Traffic;
pub use unlisted::Unlisted;

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
    /// The canary, when the rollout has one.
    pub canary: Option<CanaryPolicy>,
}

/// A rollout's canary, resolved against the group's count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanaryPolicy {
    /// Instances in the canary batch.
    pub count: u32,
    /// The count as the stack file writes it (`10%`).
    pub written: Quantity,
    /// How long it serves alone.
    pub bake: Duration,
}

impl Policy {
    /// The policy of `group`.
    pub fn of(group: &Group) -> Policy {
        Policy::at(group, group.count)
    }

    /// The policy of `group` at `count` instances (an Auto Scaling group's: what Auto
    /// Scaling wants now).
    pub fn at(group: &Group, count: u32) -> Policy {
        let rollout = &group.rollout;
        Policy {
            count,
            max_surge: rollout.max_surge.resolve(count, true),
            max_unavailable: rollout.max_unavailable.resolve(count, false),
            pause: rollout.pause.0,
            written: (rollout.max_surge, rollout.max_unavailable),
            canary: rollout.canary.map(|c| CanaryPolicy {
                count: c.count.resolve(count, true).clamp(1, count.max(1)),
                written: c.count,
                bake: c.bake.0,
            }),
        }
    }

    /// The same policy without a canary: a rollback's.
    pub fn without_canary(self) -> Policy {
        Policy {
            canary: None,
            ..self
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
        let batches = format!(
            "{} at a time (max_surge {surge}, max_unavailable {unavailable}), never below {} healthy",
            self.batch(),
            self.min_available()
        );
        match self.canary {
            None => batches,
            Some(c) => format!(
                "canary of {} first, baked {} before the rest; then {batches}",
                crate::diagnostic::plural(c.count as usize, "instance"),
                humantime::format_duration(c.bake)
            ),
        }
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
    /// Where it stands with the group's target groups.
    pub traffic: Traffic,
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
    /// Register these instances (healthy by their roles' checks) in every target group
    /// of the group.
    Register(Vec<String>),
    /// Deregister these instances from every target group, so they drain before they
    /// are terminated; then wait `pause` (as for [`Step::Terminate`]).
    Deregister {
        /// Instance ids.
        ids: Vec<String>,
        /// Why they go.
        why: Why,
        /// How long to wait once they are deregistered.
        pause: Duration,
    },
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
    /// Wait for instances of the target spec to turn healthy, or old ones to drain.
    Wait,
    /// The canary serves: wait out its bake, watching health and alarms.
    Bake,
    /// Instances of the target spec failed their health gate: (id, why).
    Failed(Vec<(String, String)>),
    /// Alarms the rollout watches went to `ALARM`.
    Alarm(Vec<Firing>),
    /// The group is at its count, every instance on the target spec and serving.
    Done,
}

/// Why instances are terminated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Old-spec instances that serve nothing (stopped, never came up, unregistered, or
    /// rolled back).
    OutOfService,
    /// Old-spec instances whose replacements are serving.
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

impl Member {
    /// Whether it counts toward the group's capacity: healthy by its roles' checks and
    /// serving (registered and healthy in every target group, when the group has any).
    /// What the rollout's bounds, apply's progress and the DNS records all count.
    pub fn is_serving(&self) -> bool {
        self.health == Health::Healthy && self.traffic.is_serving()
    }
}

/// The step that takes `ids` (chosen to go, for `why`) out: terminate those that may go
/// now, else deregister those still registered; `None` while they all drain.
fn take_out(members: &[&Member], why: Why, pause: Duration) -> Option<Step> {
    let ids = |keep: fn(&Member) -> bool| -> Vec<String> {
        members
            .iter()
            .filter(|m| keep(m))
            .map(|m| m.id.clone())
            .collect()
    };
    let terminate = ids(|m| m.traffic.may_terminate());
    if !terminate.is_empty() {
        return Some(Step::Terminate {
            ids: terminate,
            why,
            pause,
        });
    }
    let deregister = ids(|m| m.traffic.is_registered());
    (!deregister.is_empty()).then_some(Step::Deregister {
        ids: deregister,
        why,
        pause,
    })
}

/// The next step for a group whose live instances are `members`, under `policy`, with
/// the canary's bake and the alarms as `gates` say.
///
/// Invariants the steps keep (given the instances they launch turn healthy): serving
/// instances stay at or above `policy.min_available()`, live instances at or below
/// `policy.max_total()`, and no instance is terminated while it is registered in a
/// target group (it is deregistered and drained first).
pub fn next_step(members: &[Member], policy: &Policy, gates: &Gates) -> Step {
    if !gates.firing.is_empty() {
        return Step::Alarm(gates.firing.clone());
    }
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
    let (serving_old, out_of_service): (Vec<&Member>, Vec<&Member>) =
        old.iter().partition(|m| m.is_serving());
    if let Some(step) = take_out(&out_of_service, Why::OutOfService, Duration::ZERO) {
        return step;
    }
    let canary = policy.canary.filter(|c| {
        gates.bake == Bake::Unbaked && (!old.is_empty() || current.len() as u32 <= c.count)
    });
    if let Some(step) = replace(&current, &serving_old, policy, canary) {
        return step;
    }
    if current.len() as u32 > policy.count {
        let surplus = surplus(&current, (current.len() as u32 - policy.count) as usize);
        if let Some(step) = take_out(&surplus, Why::ScaleIn, Duration::ZERO) {
            return step;
        }
    }
    let register: Vec<String> = current
        .iter()
        .filter(|m| m.health == Health::Healthy && m.traffic.needs_registration())
        .map(|m| m.id.clone())
        .collect();
    if !register.is_empty() {
        return Step::Register(register);
    }
    let mut wanted = policy.count.saturating_sub(current.len() as u32);
    if let Some(canary) = canary {
        wanted = wanted.min(canary.count.saturating_sub(current.len() as u32));
    }
    let room = policy.max_total().saturating_sub(members.len() as u32);
    let launch = wanted.min(room);
    if launch > 0 {
        return Step::Launch(launch);
    }
    let all_serving = current.iter().all(|m| m.is_serving());
    if canary.is_some() && all_serving && !current.is_empty() {
        return Step::Bake;
    }
    if !all_serving || !old.is_empty() || current.len() as u32 > policy.count {
        return Step::Wait;
    }
    Step::Done
}

/// Old instances go once their capacity is covered: by serving replacements, or by the
/// unavailability the policy allows. During a canary, only those the canary replaces.
fn replace(
    current: &[&Member],
    serving_old: &[&Member],
    policy: &Policy,
    canary: Option<CanaryPolicy>,
) -> Option<Step> {
    if serving_old.is_empty() {
        return None;
    }
    let available = current.iter().filter(|m| m.is_serving()).count() + serving_old.len();
    let slack = (available as u32).saturating_sub(policy.min_available());
    let mut n = slack.min(serving_old.len() as u32);
    if let Some(canary) = canary {
        let kept = policy.count.saturating_sub(canary.count);
        n = n.min((serving_old.len() as u32).saturating_sub(kept));
    }
    if n == 0 {
        return None;
    }
    let more_to_replace = serving_old.len() as u32 > n;
    let pause = if more_to_replace {
        policy.pause
    } else {
        Duration::ZERO
    };
    let ids = oldest_first(serving_old, n as usize);
    let chosen: Vec<&Member> = serving_old
        .iter()
        .copied()
        .filter(|m| ids.contains(&m.id))
        .collect();
    take_out(&chosen, Why::Replaced, pause)
}

/// The `n` current instances scale-in removes: those not serving first (they cost no
/// capacity; draining ones before all), then the oldest of the most crowded subnet.
fn surplus<'a>(current: &[&'a Member], n: usize) -> Vec<&'a Member> {
    let rank = |m: &Member| match m.traffic {
        Traffic::Draining { .. } => 0,
        _ if !m.is_serving() => 1,
        _ => 2,
    };
    let mut chosen: Vec<&Member> = Vec::new();
    for level in 0..2 {
        chosen.extend(current.iter().copied().filter(|m| rank(m) == level));
    }
    chosen.truncate(n);
    let rest: Vec<&Member> = current.iter().copied().filter(|m| rank(m) == 2).collect();
    let oldest = oldest_first(&rest, n - chosen.len());
    chosen.extend(rest.into_iter().filter(|m| oldest.contains(&m.id)));
    chosen
}

/// The `n` of a group's healthy `instances` that scale-in removes: the choice
/// [`next_step`] makes, for the plan to show.
pub fn scale_in(instances: &[&LiveInstance], n: usize) -> Vec<String> {
    let members: Vec<Member> = instances
        .iter()
        .map(|i| Member::of(i, true, Health::Healthy, Traffic::Direct))
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

/// Members on the target spec, and those of them healthy and serving: the progress
/// line's numbers.
pub fn counts(members: &[Member]) -> (u32, u32) {
    let on_target = members.iter().filter(|m| m.current).count() as u32;
    let serving = members
        .iter()
        .filter(|m| m.current && m.is_serving())
        .count() as u32;
    (on_target, serving)
}

#[cfg(test)]
mod tests;
