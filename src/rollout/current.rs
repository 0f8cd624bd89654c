//! Whether a live instance runs the spec a group converges to: the one answer `plan`
//! (is it outdated?) and `apply` (is it on the rollout's target?) both use, and the
//! members [`super::next_step`] decides over, built from live instances.

use crate::observe::{InstanceState, LiveInstance, tags};

use std::collections::BTreeSet;

use super::{Health, Member, Traffic};

/// The tags every instance of a group must carry; one missing is drift.
pub const REQUIRED_INSTANCE_TAGS: &[&str] = &[
    tags::STACK,
    tags::ENV,
    tags::RESOURCE,
    tags::SPEC,
    tags::ROLES,
    tags::RELEASE,
    tags::NAME,
];

/// What an instance must still be to count as running spec `hash`.
#[derive(Clone, Copy, Debug)]
pub struct TargetSpec<'a> {
    /// The spec hash (`rollstack:spec`).
    pub hash: &'a str,
    /// The instance type it must still have; `None` when only the hash is known (a
    /// rollback to a spec the file no longer describes).
    pub instance_type: Option<&'a str>,
    /// The image it must still run; `None` as for `instance_type`.
    pub image_id: Option<&'a str>,
}

/// Why an instance does not run the target spec untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Departure {
    /// It was launched with another spec.
    OtherSpec,
    /// Tags it was launched with are gone.
    MissingTags(Vec<&'static str>),
    /// Stopping or stopped (by hand: rollstack never stops instances).
    Stopped,
    /// Neither starting nor running (shutting down, terminated).
    Down(InstanceState),
    /// Its spec's, but retyped since: (planned, live).
    Retyped(String, String),
    /// Its spec's, but running another image since: (planned, live).
    Reimaged(String, String),
}

impl TargetSpec<'_> {
    /// Every way `instance` departs from this spec; none: it is current.
    pub fn departures(&self, instance: &LiveInstance) -> Vec<Departure> {
        let mut found = Vec::new();
        let same_spec = instance.tag(tags::SPEC) == Some(self.hash);
        if !same_spec {
            found.push(Departure::OtherSpec);
        }
        let missing: Vec<&'static str> = REQUIRED_INSTANCE_TAGS
            .iter()
            .copied()
            .filter(|t| instance.tag(t).is_none())
            .collect();
        if !missing.is_empty() {
            found.push(Departure::MissingTags(missing));
        }
        if instance.state.is_stopped() {
            found.push(Departure::Stopped);
        } else if !instance.state.is_up() {
            found.push(Departure::Down(instance.state));
        }
        if let Some(planned) = self.instance_type
            && same_spec
            && planned != &*instance.instance_type
        {
            found.push(Departure::Retyped(
                planned.to_owned(),
                instance.instance_type.to_string(),
            ));
        }
        if let Some(planned) = self.image_id
            && same_spec
            && planned != &*instance.image_id
        {
            found.push(Departure::Reimaged(
                planned.to_owned(),
                instance.image_id.to_string(),
            ));
        }
        found
    }

    /// Whether `instance` runs this spec untouched: tagged as launched, up, not retyped,
    /// not re-imaged.
    pub fn is_current(&self, instance: &LiveInstance) -> bool {
        self.departures(instance).is_empty()
    }
}

impl Member {
    /// `instance` as a member: current or not, with `health` and `traffic`.
    pub fn of(instance: &LiveInstance, current: bool, health: Health, traffic: Traffic) -> Member {
        Member {
            id: instance.id.clone(),
            current,
            health,
            traffic,
            subnet: instance.subnet_id.as_deref().map(str::to_owned),
            launched: instance.launch_time.to_string(),
        }
    }
}

/// How [`members`] judges a group's live instances.
pub struct Judges<'a, J, T> {
    /// Instances to take out whatever their state (a rolled-back spec's).
    pub evict: &'a BTreeSet<String>,
    /// The health of an instance of the target spec.
    pub health: J,
    /// Where an instance stands with the target groups.
    pub traffic: T,
}

/// The members of a group whose live instances are `live`, rolling to `target`: an
/// instance of the target spec is as healthy as `judges.health` finds it; any other
/// serves while it runs (it passed its gate when it was rolled out), unless evicted.
pub fn members<J, T>(
    live: &[LiveInstance],
    target: &TargetSpec<'_>,
    judges: Judges<'_, J, T>,
) -> Vec<Member>
where
    J: FnMut(&LiveInstance, Traffic) -> Health,
    T: FnMut(&LiveInstance) -> Traffic,
{
    let Judges {
        evict,
        health: mut judge,
        traffic: mut traffic_of,
    } = judges;
    live.iter()
        .map(|instance| {
            let traffic = traffic_of(instance);
            if evict.contains(&instance.id) {
                let why = Health::Failed("rolled back".to_owned());
                Member::of(instance, false, why, traffic)
            } else if target.is_current(instance) {
                Member::of(instance, true, judge(instance, traffic), traffic)
            } else if instance.state == InstanceState::Running {
                Member::of(instance, false, Health::Healthy, traffic)
            } else {
                Member::of(instance, false, Health::Pending, traffic)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(spec: &str, state: InstanceState, instance_type: &str) -> LiveInstance {
        let tags = REQUIRED_INSTANCE_TAGS
            .iter()
            .map(|t| {
                (
                    (*t).to_owned(),
                    if *t == tags::SPEC { spec } else { "x" }.to_owned(),
                )
            })
            .collect();
        LiveInstance {
            id: "i-1".to_owned(),
            state,
            instance_type: instance_type.into(),
            image_id: "ami-1".into(),
            subnet_id: None,
            private_ip: None,
            public_ip: None,
            launch_time: "2026-01-01T00:00:00Z".into(),
            security_group_ids: Vec::new(),
            volume_ids: Vec::new(),
            tags,
        }
    }

    #[test]
    fn departures_by_instance() {
        let target = TargetSpec {
            hash: "s1",
            instance_type: Some("t3.micro"),
            image_id: Some("ami-1"),
        };
        let rollback = TargetSpec {
            hash: "s1",
            instance_type: None,
            image_id: None,
        };
        let running = InstanceState::Running;
        let untagged = {
            let mut i = instance("s1", running, "t3.micro");
            i.tags.remove(tags::ROLES);
            i
        };
        // (instance, target) -> departures
        let table: Vec<(LiveInstance, TargetSpec, Vec<Departure>)> = vec![
            (instance("s1", running, "t3.micro"), target, vec![]),
            (
                instance("s1", InstanceState::Pending, "t3.micro"),
                target,
                vec![],
            ),
            (
                instance("s0", running, "t3.micro"),
                target,
                vec![Departure::OtherSpec],
            ),
            (
                instance("s1", InstanceState::Stopped, "t3.micro"),
                target,
                vec![Departure::Stopped],
            ),
            (
                instance("s1", InstanceState::ShuttingDown, "t3.micro"),
                target,
                vec![Departure::Down(InstanceState::ShuttingDown)],
            ),
            (
                instance("s1", running, "t3.large"),
                target,
                vec![Departure::Retyped(
                    "t3.micro".to_owned(),
                    "t3.large".to_owned(),
                )],
            ),
            // A rollback knows only the hash.
            (instance("s1", running, "t3.large"), rollback, vec![]),
            // Another spec's type is no retyping: it is replaced anyway.
            (
                instance("s0", running, "t3.large"),
                target,
                vec![Departure::OtherSpec],
            ),
            (
                untagged,
                target,
                vec![Departure::MissingTags(vec![tags::ROLES])],
            ),
        ];
        for (live, target, expected) in table {
            assert_eq!(
                target.departures(&live),
                expected,
                "{} {} {}",
                live.tag(tags::SPEC).unwrap_or_default(),
                live.state,
                live.instance_type
            );
            assert_eq!(target.is_current(&live), expected.is_empty());
        }
    }

    #[test]
    fn members_judge_only_the_target_spec() {
        let target = TargetSpec {
            hash: "s1",
            instance_type: None,
            image_id: None,
        };
        let live = vec![
            instance("s1", InstanceState::Running, "t3.micro"),
            instance("s0", InstanceState::Running, "t3.micro"),
            instance("s0", InstanceState::Pending, "t3.micro"),
        ];
        let mut judged = 0;
        let judges = Judges {
            evict: &BTreeSet::new(),
            health: |_: &LiveInstance, _| {
                judged += 1;
                Health::Pending
            },
            traffic: |_: &LiveInstance| Traffic::Direct,
        };
        let members = members(&live, &target, judges);
        let got: Vec<(bool, Health)> = members.into_iter().map(|m| (m.current, m.health)).collect();
        assert_eq!(
            got,
            vec![
                (true, Health::Pending),
                (false, Health::Healthy),
                (false, Health::Pending)
            ]
        );
        assert_eq!(judged, 1);
    }
}
