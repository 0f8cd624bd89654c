//! A rollout of an Auto Scaling group, as plain arithmetic: which listed instances are
//! the group's, what it is still launching, and how [`next_step`](super::next_step)'s
//! launches and terminations become desired capacities and rollout records.
//!
//! A launch raises the desired capacity (the group launches from the new launch
//! template version); a termination of an old instance lowers it while the rollout's
//! surge lasts, and otherwise leaves it for the group to replace. What Auto Scaling
//! wants is [`LiveAutoScalingGroup::wanted`]: whatever moved the desired capacity from
//! outside is kept. Each change is ordered so that a run killed between the desired
//! capacity and its record reads, next time, as capacity someone else asked for: more
//! instances, never fewer.

use super::{Health, Member, Traffic};
use crate::observe::{LiveAutoScalingGroup, LiveInstance, RolloutRecord};

/// The id prefix of an instance the group has yet to launch.
pub const LAUNCHING: &str = "launching-";

/// The listed instances a rollout of the group works with: the group's staying ones,
/// and a plain group's moving in (in no Auto Scaling group); not those on their way out
/// of the group.
pub fn with_plain<'a>(
    asg: &LiveAutoScalingGroup,
    listed: &'a [LiveInstance],
) -> Vec<&'a LiveInstance> {
    listed
        .iter()
        .filter(|i| {
            asg.staying().any(|s| s.id == i.id) || !asg.instances.iter().any(|s| s.id == i.id)
        })
        .collect()
}

/// A plain group's instances moving into the Auto Scaling group are replaced whatever
/// spec they run: they are old members.
pub fn plain_are_old(asg: &LiveAutoScalingGroup, members: &mut [Member]) {
    for member in members.iter_mut() {
        if !asg.instances.iter().any(|i| i.id == member.id) {
            member.current = false;
        }
    }
}

/// The group's instances the listing does not show yet, and those it is still to launch
/// (desired capacity not met): pending members of the target spec (the group launches
/// from it), so no launch is asked for twice.
pub fn pending(
    asg: &LiveAutoScalingGroup,
    listed: &[LiveInstance],
    traffic: Traffic,
) -> Vec<Member> {
    let member = |id: String| Member {
        id,
        current: true,
        health: Health::Pending,
        traffic,
        subnet: None,
        launched: String::new(),
    };
    let unlisted = asg
        .staying()
        .filter(|s| !listed.iter().any(|i| i.id == s.id))
        .map(|s| member(s.id.clone()));
    let launching = (0..asg.launching()).map(|n| member(format!("{LAUNCHING}{n}")));
    unlisted.chain(launching).collect()
}

/// Launching `n`: the desired capacity to set, the most instances it needs (when above
/// the group's), and the record written once it is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raise {
    /// The desired capacity.
    pub desired: u32,
    /// The group's max, raised for the surge.
    pub max: Option<u32>,
    /// What the group remembers afterwards.
    pub record: RolloutRecord,
}

/// How a launch of `n` raises the group.
pub fn raise(asg: &LiveAutoScalingGroup, n: u32) -> Raise {
    let desired = asg.desired + n;
    Raise {
        desired,
        max: (desired > asg.max).then_some(desired),
        record: RolloutRecord {
            base: asg.wanted(),
            set: desired,
        },
    }
}

/// Taking `ids` out: the record written first, the capacity no longer launched, and
/// which instances are terminated lowering the desired capacity (the rest are replaced
/// by the group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lower {
    /// What the group remembers, written before anything changes.
    pub record: RolloutRecord,
    /// The desired capacity to set for launches called off (`None`: none are).
    pub desired: Option<u32>,
    /// (instance, whether its termination lowers the desired capacity).
    pub terminate: Vec<(String, bool)>,
}

/// How taking `ids` out lowers the group: only by the surge it holds above what Auto
/// Scaling wants, launches not yet made first.
pub fn lower(asg: &LiveAutoScalingGroup, ids: &[String]) -> Lower {
    let wanted = asg.wanted();
    let mut surge = asg.desired.saturating_sub(wanted);
    let (launching, real): (Vec<&String>, Vec<&String>) =
        ids.iter().partition(|id| id.starts_with(LAUNCHING));
    let called_off = (launching.len() as u32).min(surge);
    surge -= called_off;
    let mut desired = asg.desired - called_off;
    let terminate = real
        .into_iter()
        .map(|id| {
            let decrement = surge > 0;
            if decrement {
                surge -= 1;
                desired -= 1;
            }
            (id.clone(), decrement)
        })
        .collect();
    Lower {
        record: RolloutRecord {
            base: wanted,
            set: desired,
        },
        desired: (called_off > 0).then_some(asg.desired - called_off),
        terminate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Lifecycle;

    /// A group of 4..=6: a surge of 2 over 4 reaches its max.
    fn asg(
        desired: u32,
        record: Option<&str>,
        instances: &[(&str, Lifecycle)],
    ) -> LiveAutoScalingGroup {
        LiveAutoScalingGroup {
            max: 6,
            ..LiveAutoScalingGroup::example(desired, record, instances)
        }
    }

    /// (desired, record, n) -> (desired set, max raised, record)
    #[test]
    fn launches_raise_desired_and_record_what_autoscaling_wanted() {
        let table = [
            (4, None, 2, 6, None, (4, 6)),
            (6, Some("base=4 set=6"), 1, 7, Some(7), (4, 7)),
            // Desired moved from outside (+2) since the rollout set 6: kept.
            (8, Some("base=4 set=6"), 1, 9, Some(9), (6, 9)),
        ];
        for (desired, record, n, set, max, (base, recorded)) in table {
            let raised = raise(&asg(desired, record, &[]), n);
            assert_eq!(raised.desired, set);
            assert_eq!(raised.max, max);
            assert_eq!(
                raised.record,
                RolloutRecord {
                    base,
                    set: recorded
                }
            );
        }
    }

    /// (desired, record, ids) -> (record set, desired for called-off launches, decrements)
    type Lowering<'a> = (
        u32,
        Option<&'a str>,
        &'a [&'a str],
        u32,
        Option<u32>,
        &'a [bool],
    );

    /// What [`lower`] does, case by case.
    #[test]
    fn terminations_lower_desired_only_by_the_surge() {
        let ids = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let table: [Lowering; 5] = [
            (
                6,
                Some("base=4 set=6"),
                &["i-1", "i-2"],
                4,
                None,
                &[true, true],
            ),
            (
                6,
                Some("base=4 set=6"),
                &["i-1", "i-2", "i-3"],
                4,
                None,
                &[true, true, false],
            ),
            // No surge (max_unavailable): the group replaces what goes.
            (4, None, &["i-1"], 4, None, &[false]),
            (
                5,
                Some("base=4 set=5"),
                &["launching-0", "i-1"],
                4,
                Some(4),
                &[false],
            ),
            // An outside scale-out since: what it added is not the rollout's to take.
            (
                8,
                Some("base=4 set=6"),
                &["i-1", "i-2", "i-3"],
                6,
                None,
                &[true, true, false],
            ),
        ];
        for (desired, record, taken, set, called_off, decrements) in table {
            let lowered = lower(&asg(desired, record, &[]), &ids(taken));
            assert_eq!(lowered.record.set, set, "{taken:?}");
            assert_eq!(lowered.desired, called_off, "{taken:?}");
            let got: Vec<bool> = lowered.terminate.iter().map(|(_, d)| *d).collect();
            assert_eq!(got, decrements, "{taken:?}");
        }
    }

    #[test]
    fn pending_members_are_unlisted_instances_and_launches_not_made() {
        let group = asg(
            4,
            None,
            &[
                ("i-1", Lifecycle::InService),
                ("i-2", Lifecycle::Pending),
                ("i-3", Lifecycle::Leaving),
            ],
        );
        let ids: Vec<String> = pending(&group, &[], Traffic::Direct)
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["i-1", "i-2", "launching-0", "launching-1"]);
    }
}
