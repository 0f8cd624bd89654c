//! What holds a rollout besides instance health: the canary's bake time and the
//! CloudWatch alarms it watches. Both clocks take `now` as an argument, so the timing is
//! tested on a fake clock.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::observe::{AlarmState, LiveAlarm};

/// What [`super::next_step`] is told beside the members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gates {
    /// Whether the canary has baked.
    pub bake: Bake,
    /// Alarms that went to `ALARM` during the rollout.
    pub firing: Vec<Firing>,
}

/// Whether the canary has served its bake time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Bake {
    /// Not yet (or not started).
    #[default]
    Unbaked,
    /// Baked, or no canary applies: the normal batches go on.
    Baked,
}

/// An alarm in `ALARM`: its name and CloudWatch's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firing {
    /// The alarm.
    pub name: String,
    /// Why it is in `ALARM`.
    pub reason: String,
}

/// The canary's bake: started when the canary first serves in full.
#[derive(Clone, Copy, Debug)]
pub struct BakeClock {
    bake: Duration,
    started: Option<Instant>,
    done: bool,
}

impl BakeClock {
    /// A bake of `bake`; `done` when no canary applies (no canary, or nothing to replace).
    pub fn new(bake: Duration, done: bool) -> BakeClock {
        BakeClock {
            bake,
            started: None,
            done,
        }
    }

    /// The bake of a rollout under `policy` whose members were `members` when it
    /// started: a rollout that replaces nothing (every member on the target spec, as
    /// when a group is created or scaled) has no canary.
    pub fn for_rollout(policy: &super::Policy, members: &[super::Member]) -> BakeClock {
        let replaces = members.iter().any(|m| !m.current);
        let bake = policy.canary.map_or(Duration::ZERO, |c| c.bake);
        BakeClock::new(bake, policy.canary.is_none() || !replaces)
    }

    /// The bake as of `now`.
    pub fn state(&mut self, now: Instant) -> Bake {
        if let Some(started) = self.started
            && now.saturating_duration_since(started) >= self.bake
        {
            self.done = true;
        }
        if self.done {
            Bake::Baked
        } else {
            Bake::Unbaked
        }
    }

    /// Starts the bake at `now` (once); the time left.
    pub fn bake(&mut self, now: Instant) -> Duration {
        let started = *self.started.get_or_insert(now);
        self.bake
            .saturating_sub(now.saturating_duration_since(started))
    }
}

/// The alarms a rollout watches, and those it was told to ignore while they stay in
/// `ALARM` (`--ignore-alarms` on one already firing): an ignored alarm that recovers
/// and fires again stops the rollout like any other.
#[derive(Clone, Debug, Default)]
pub struct AlarmGate {
    ignored: BTreeSet<String>,
}

impl AlarmGate {
    /// A gate that ignores `ignored` while they stay in `ALARM`.
    pub fn new(ignored: impl IntoIterator<Item = String>) -> AlarmGate {
        AlarmGate {
            ignored: ignored.into_iter().collect(),
        }
    }

    /// The alarms of `observed` (as `DescribeAlarms` answered) that stop the rollout.
    pub fn firing(&mut self, observed: &[LiveAlarm]) -> Vec<Firing> {
        let mut firing = Vec::new();
        for alarm in observed {
            if alarm.state != AlarmState::Alarm {
                self.ignored.remove(&alarm.name);
            } else if !self.ignored.contains(&alarm.name) {
                firing.push(Firing {
                    name: alarm.name.clone(),
                    reason: alarm.reason.clone(),
                });
            }
        }
        firing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bake_runs_from_its_start() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut clock = BakeClock::new(Duration::from_secs(600), false);
        assert_eq!(clock.state(at(0)), Bake::Unbaked);
        // Not started: time does not count.
        assert_eq!(clock.state(at(900)), Bake::Unbaked);
        assert_eq!(clock.bake(at(1000)), Duration::from_secs(600));
        assert_eq!(clock.bake(at(1400)), Duration::from_secs(200));
        assert_eq!(clock.state(at(1599)), Bake::Unbaked);
        assert_eq!(clock.state(at(1600)), Bake::Baked);
        // Baked stays baked.
        assert_eq!(clock.state(at(1)), Bake::Baked);
        assert_eq!(
            BakeClock::new(Duration::from_secs(600), true).state(at(0)),
            Bake::Baked
        );
    }

    #[test]
    fn an_ignored_alarm_counts_again_once_it_recovers() {
        let alarm = |state| LiveAlarm {
            name: "web-5xx".to_owned(),
            state,
            reason: "Threshold Crossed".to_owned(),
        };
        let mut gate = AlarmGate::new(["web-5xx".to_owned()]);
        assert!(gate.firing(&[alarm(AlarmState::Alarm)]).is_empty());
        assert!(gate.firing(&[alarm(AlarmState::Ok)]).is_empty());
        assert_eq!(
            gate.firing(&[alarm(AlarmState::Alarm)]),
            [Firing {
                name: "web-5xx".to_owned(),
                reason: "Threshold Crossed".to_owned()
            }]
        );
        assert!(
            AlarmGate::default()
                .firing(&[alarm(AlarmState::InsufficientData)])
                .is_empty()
        );
    }
}
