//! Where an instance stands with the load balancer: registered and healthy in every
//! target group of its group (serving), not registered, or draining. Read from what
//! `DescribeTargetHealth` reports, so a restart reads it again; only how long an
//! instance has been draining is remembered ([`Drains`]), and forgetting it costs at
//! most one more deregistration delay of waiting.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::observe::{LiveTargetGroup, TargetState};

use super::Health;

/// A member's place in its group's target groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    /// The group serves no target group: an instance serves once it is healthy.
    Direct,
    /// Registered in none of the group's target groups, draining from none.
    Unregistered,
    /// Registered in some of them, not all.
    Partly,
    /// Registered in every one; `healthy` when every one reports it `healthy`.
    Registered {
        /// Healthy in all of them.
        healthy: bool,
    },
    /// Deregistered and draining from at least one; `overdue` once the longest
    /// deregistration delay has passed since rollstack saw it draining.
    Draining {
        /// Drained long enough: terminate it even if ELBv2 still says `draining`.
        overdue: bool,
    },
}

impl Traffic {
    /// Whether the load balancer sends it requests (or, without one, whether it may).
    pub fn is_serving(self) -> bool {
        matches!(
            self,
            Traffic::Direct | Traffic::Registered { healthy: true }
        )
    }

    /// Whether terminating it drops no request: registered nowhere, or drained.
    pub fn may_terminate(self) -> bool {
        matches!(
            self,
            Traffic::Direct | Traffic::Unregistered | Traffic::Draining { overdue: true }
        )
    }

    /// Registered somewhere: it must be deregistered before it is terminated.
    pub fn is_registered(self) -> bool {
        matches!(self, Traffic::Partly | Traffic::Registered { .. })
    }

    /// Missing from a target group it should serve.
    pub fn needs_registration(self) -> bool {
        matches!(self, Traffic::Unregistered | Traffic::Partly)
    }

    /// For a progress line or status: `serving`, `draining`.
    pub fn as_str(self) -> &'static str {
        match self {
            Traffic::Direct => "direct",
            Traffic::Unregistered => "unregistered",
            Traffic::Partly => "partly registered",
            Traffic::Registered { healthy: true } => "serving",
            Traffic::Registered { healthy: false } => "registered, not yet healthy",
            Traffic::Draining { .. } => "draining",
        }
    }
}

/// When rollstack first saw each instance draining (or deregistered it): the clock a
/// drain is bounded by. `now` is passed in, so the bound is tested on a fake clock.
#[derive(Debug, Default)]
pub struct Drains {
    since: BTreeMap<String, Instant>,
}

impl Drains {
    /// Notes that `ids` were deregistered at `now`.
    pub fn started(&mut self, ids: &[String], now: Instant) {
        for id in ids {
            self.since.entry(id.clone()).or_insert(now);
        }
    }

    /// Whether instance `id`, draining at `now`, has drained for `delay` (and a grace
    /// of a poll, since ELBv2 reports the end of a drain late).
    fn overdue(&mut self, id: &str, delay: Duration, now: Instant) -> bool {
        let since = *self.since.entry(id.to_owned()).or_insert(now);
        now.saturating_duration_since(since) >= delay + DRAIN_GRACE
    }

    /// Forgets instances no longer draining.
    fn forget(&mut self, id: &str) {
        self.since.remove(id);
    }
}

/// How long past the deregistration delay a drain may take before it is cut short.
pub const DRAIN_GRACE: Duration = Duration::from_secs(15);

/// Instance `id`'s traffic in `groups` (those of its group) at `now`.
pub fn traffic_of(
    id: &str,
    groups: &[&LiveTargetGroup],
    drains: &mut Drains,
    now: Instant,
) -> Traffic {
    if groups.is_empty() {
        return Traffic::Direct;
    }
    let states: Vec<TargetState> = groups.iter().map(|g| g.state_of(id)).collect();
    let registered = states.iter().filter(|s| s.is_registered()).count();
    if registered == groups.len() {
        drains.forget(id);
        return Traffic::Registered {
            healthy: states.iter().all(|s| *s == TargetState::Healthy),
        };
    }
    if registered > 0 {
        return Traffic::Partly;
    }
    let delay = groups
        .iter()
        .filter(|g| g.state_of(id).is_draining())
        .map(|g| g.deregistration_delay)
        .max();
    match delay {
        Some(delay) => Traffic::Draining {
            overdue: drains.overdue(id, delay, now),
        },
        None => {
            drains.forget(id);
            Traffic::Unregistered
        }
    }
}

/// The health of an instance of the target spec once the target groups have their say:
/// one that passes its role's checks but that a target group has not reported healthy
/// within `timeout` of its launch (`age`) fails the gate, with the target group's reason.
pub fn judge(
    role_health: Health,
    traffic: Traffic,
    unhealthy_in: Option<(&str, Option<&str>)>,
    age: Duration,
    timeout: Duration,
) -> Health {
    match (role_health, traffic) {
        (Health::Healthy, Traffic::Registered { healthy: false }) if age > timeout => {
            let (group, reason) = unhealthy_in.unwrap_or(("its target group", None));
            Health::Failed(match reason {
                Some(reason) => format!(
                    "not healthy in target group `{group}` within {}: {reason}",
                    humantime::format_duration(timeout)
                ),
                None => format!(
                    "not healthy in target group `{group}` within {}",
                    humantime::format_duration(timeout)
                ),
            })
        }
        (health, _) => health,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Target;

    fn group(arn: &str, delay: u64, targets: &[(&str, TargetState)]) -> LiveTargetGroup {
        LiveTargetGroup {
            arn: arn.to_owned(),
            deregistration_delay: Duration::from_secs(delay),
            targets: targets
                .iter()
                .map(|(id, state)| {
                    let target = Target {
                        state: *state,
                        reason: None,
                    };
                    ((*id).to_owned(), target)
                })
                .collect(),
        }
    }

    #[test]
    fn traffic_by_target_states() {
        use TargetState::*;
        let a = group(
            "a",
            60,
            &[
                ("i-1", Healthy),
                ("i-2", Initial),
                ("i-3", Draining),
                ("i-4", Healthy),
            ],
        );
        let b = group(
            "b",
            30,
            &[("i-1", Healthy), ("i-2", Healthy), ("i-5", Healthy)],
        );
        let now = Instant::now();
        let mut drains = Drains::default();
        let table = [
            ("i-1", Traffic::Registered { healthy: true }),
            ("i-2", Traffic::Registered { healthy: false }),
            ("i-3", Traffic::Draining { overdue: false }),
            ("i-4", Traffic::Partly),
            ("i-6", Traffic::Unregistered),
        ];
        for (id, expected) in table {
            assert_eq!(
                traffic_of(id, &[&a, &b], &mut drains, now),
                expected,
                "{id}"
            );
        }
        assert_eq!(traffic_of("i-1", &[], &mut drains, now), Traffic::Direct);
    }

    /// The drain is bounded by the longest delay of the target groups it drains from,
    /// counted from when rollstack deregistered it (or first saw it draining).
    #[test]
    fn a_drain_is_bounded_by_the_deregistration_delay() {
        use TargetState::*;
        let a = group("a", 60, &[("i-1", Draining)]);
        let b = group("b", 300, &[("i-1", Draining)]);
        let start = Instant::now();
        let mut drains = Drains::default();
        drains.started(&["i-1".to_owned()], start);
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut traffic =
            |groups: &[&LiveTargetGroup], secs| traffic_of("i-1", groups, &mut drains, at(secs));
        assert_eq!(traffic(&[&a], 60), Traffic::Draining { overdue: false });
        assert_eq!(traffic(&[&a], 75), Traffic::Draining { overdue: true });
        assert_eq!(traffic(&[&a, &b], 75), Traffic::Draining { overdue: false });
        assert_eq!(traffic(&[&a, &b], 315), Traffic::Draining { overdue: true });
        // Seen draining for the first time after a restart: the whole delay again.
        let mut fresh = Drains::default();
        assert_eq!(
            traffic_of("i-1", &[&a], &mut fresh, at(500)),
            Traffic::Draining { overdue: false }
        );
        assert_eq!(
            traffic_of("i-1", &[&a], &mut fresh, at(575)),
            Traffic::Draining { overdue: true }
        );
    }

    #[test]
    fn a_target_group_that_never_reports_healthy_fails_the_gate() {
        let timeout = Duration::from_secs(60);
        let unhealthy = Traffic::Registered { healthy: false };
        let reason = Some(("web/1", Some("Health checks failed")));
        assert_eq!(
            judge(
                Health::Healthy,
                unhealthy,
                reason,
                Duration::from_secs(30),
                timeout
            ),
            Health::Healthy
        );
        assert_eq!(
            judge(
                Health::Healthy,
                unhealthy,
                reason,
                Duration::from_secs(61),
                timeout
            ),
            Health::Failed(
                "not healthy in target group `web/1` within 1m: Health checks failed".to_owned()
            )
        );
        assert_eq!(
            judge(
                Health::Pending,
                unhealthy,
                reason,
                Duration::from_secs(61),
                timeout
            ),
            Health::Pending
        );
    }
}
