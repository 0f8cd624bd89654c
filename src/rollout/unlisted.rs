//! Instances a rollout launched that listings do not show yet: AWS is eventually
//! consistent, so a just-launched instance can be missing from `DescribeInstances` for
//! seconds. They count as members on the target spec, pending, so a lagging listing never
//! causes a second launch, a capacity breach or a false failure.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use super::{Health, Member, Traffic};
use crate::observe::LiveInstance;

/// How long an instance this run launched may be missing from listings before it is
/// taken as gone: AWS shows a new instance within seconds, usually.
pub const LISTING_LAG: Duration = Duration::from_secs(300);

/// The instances a rollout launched and has not seen listed yet.
#[derive(Debug, Default)]
pub struct Unlisted {
    /// By id: subnet, when launched (for [`LISTING_LAG`]), launch time (RFC 3339).
    launched: BTreeMap<String, (Option<String>, Instant, String)>,
}

impl Unlisted {
    /// Remembers `ids` (with their subnets) as launched at `at` (`launch_time` on the
    /// wall clock).
    pub fn add(
        &mut self,
        ids: Vec<(String, Option<String>)>,
        at: Instant,
        launch_time: SystemTime,
    ) {
        let launched = humantime::format_rfc3339_seconds(launch_time).to_string();
        for (id, subnet) in ids {
            self.launched.insert(id, (subnet, at, launched.clone()));
        }
    }

    /// As of `now`, the launched instances `live` does not show, as members on the
    /// target spec, pending, with `traffic`; those it shows (or that never showed up
    /// within [`LISTING_LAG`]) are forgotten.
    pub fn members(
        &mut self,
        live: &[LiveInstance],
        traffic: Traffic,
        now: Instant,
    ) -> Vec<Member> {
        self.launched.retain(|id, (_, at, _)| {
            now.saturating_duration_since(*at) < LISTING_LAG && !live.iter().any(|i| &i.id == id)
        });
        self.launched
            .iter()
            .map(|(id, (subnet, _, launched))| Member {
                id: id.clone(),
                current: true,
                health: Health::Pending,
                traffic,
                subnet: subnet.clone(),
                launched: launched.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (seconds since the launch, what the listing shows, the members it adds)
    #[test]
    fn launches_count_until_listed_or_the_lag_runs_out() {
        let table: [(u64, &[&str], &[&str]); 5] = [
            (0, &[], &["i-1", "i-2"]),
            (10, &["i-1"], &["i-2"]),
            (10, &["i-1", "i-2"], &[]),
            (299, &[], &["i-1", "i-2"]),
            (300, &[], &[]),
        ];
        for (after, shown, added) in table {
            let start = Instant::now();
            let mut unlisted = Unlisted::default();
            let ids = vec![
                ("i-1".to_owned(), Some("subnet-a".to_owned())),
                ("i-2".to_owned(), None),
            ];
            let launched = humantime::parse_rfc3339("2026-12-03T10:00:00Z").unwrap();
            unlisted.add(ids, start, launched);
            let live: Vec<LiveInstance> = shown
                .iter()
                .map(|id| LiveInstance::with_tags(id, &[]))
                .collect();
            let members = unlisted.members(
                &live,
                Traffic::Unregistered,
                start + Duration::from_secs(after),
            );
            let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
            assert_eq!(ids, added, "{after}s, listed {shown:?}");
            for m in &members {
                assert!(
                    m.current && m.health == Health::Pending && m.traffic == Traffic::Unregistered
                );
                assert_eq!(m.launched, "2026-12-03T10:00:00Z");
            }
        }
    }
}
