use std::time::Duration;

use super::*;

/// `spec`: `o` old running, `O` old not serving, `c` current healthy, `p` current
/// pending, `f` current failed; one character per instance, oldest first.
fn members(spec: &str) -> Vec<Member> {
    spec.chars()
        .enumerate()
        .map(|(i, c)| Member {
            id: format!("i-{i}{c}"),
            current: matches!(c, 'c' | 'p' | 'f'),
            health: match c {
                'o' | 'c' => Health::Healthy,
                'O' | 'p' => Health::Pending,
                _ => Health::Failed("signal `fail`".to_owned()),
            },
            subnet: None,
            launched: format!("2026-01-01T00:00:{i:02}Z"),
        })
        .collect()
}

/// The pause between batches in every policy of the table.
const PAUSE: Duration = Duration::from_secs(30);

fn policy(count: u32, max_surge: u32, max_unavailable: u32) -> Policy {
    Policy {
        count,
        max_surge,
        max_unavailable,
        pause: PAUSE,
        written: (
            crate::model::Quantity::Count(max_surge),
            crate::model::Quantity::Count(max_unavailable),
        ),
    }
}

/// The step, written short: `launch 2`, `terminate replaced 1`, `wait`, `failed 1`, `done`.
fn short(step: &Step) -> String {
    match step {
        Step::Launch(n) => format!("launch {n}"),
        Step::Terminate { ids, why, pause } if pause.is_zero() => {
            format!("terminate {why:?} {}", ids.len())
        }
        Step::Terminate { ids, why, .. } => format!("terminate {why:?} {} then pause", ids.len()),
        Step::Wait => "wait".to_owned(),
        Step::Failed(f) => format!("failed {}", f.len()),
        Step::Done => "done".to_owned(),
    }
}

#[test]
fn next_step_by_fleet_and_policy() {
    // (live fleet, (count, max_surge, max_unavailable)) -> step
    let table = [
        // Create from nothing: the whole count in one batch, within the surge.
        ("", (4, 1, 0), "launch 4"),
        ("pppp", (4, 1, 0), "wait"),
        ("cccc", (4, 1, 0), "done"),
        // Surge 1, unavailable 0: one new, then one old goes once it is healthy.
        ("oooo", (4, 1, 0), "launch 1"),
        ("oooop", (4, 1, 0), "wait"),
        ("ooooc", (4, 1, 0), "terminate Replaced 1 then pause"),
        ("ooocc", (4, 1, 0), "terminate Replaced 1 then pause"),
        ("oooc", (4, 1, 0), "launch 1"),
        // The last old instance goes without a pause: nothing follows it.
        ("occcc", (4, 1, 0), "terminate Replaced 1"),
        // Unavailable 1 lets one old go before its replacement exists.
        ("oooo", (4, 1, 1), "terminate Replaced 1 then pause"),
        ("ooo", (4, 1, 1), "launch 2"),
        ("ooopp", (4, 1, 1), "wait"),
        // Batches of 5 out of 20.
        ("oooooooooooooooooooo", (20, 5, 0), "launch 5"),
        (
            "ooooooooooooooooooooccccc",
            (20, 5, 0),
            "terminate Replaced 5 then pause",
        ),
        // Old instances that serve nothing go first, at no cost in capacity.
        ("ooOo", (4, 1, 0), "terminate OutOfService 1"),
        // A failed new instance stops the rollout.
        ("ooooc", (4, 1, 0), "terminate Replaced 1 then pause"),
        ("oooof", (4, 1, 0), "failed 1"),
        ("ooocf", (4, 1, 0), "failed 1"),
        // Scale out and in on the current spec.
        ("cc", (4, 1, 0), "launch 2"),
        ("cccc", (2, 1, 0), "terminate ScaleIn 2"),
        ("ccpp", (2, 1, 0), "terminate ScaleIn 2"),
        // Scale in while replacing: old capacity beyond the new count goes at once.
        ("ooo", (1, 1, 0), "terminate Replaced 2 then pause"),
        ("o", (1, 1, 0), "launch 1"),
        ("oc", (1, 1, 0), "terminate Replaced 1"),
        // After a crash left more than one batch in flight: wait, then shed old.
        ("oooopp", (4, 1, 0), "wait"),
        ("oooocc", (4, 1, 0), "terminate Replaced 2 then pause"),
        // Percentages resolve before they reach here; surge 0 needs unavailability.
        ("oooo", (4, 0, 1), "terminate Replaced 1 then pause"),
        ("ooo", (4, 0, 1), "launch 1"),
    ];
    for (fleet, (count, surge, unavailable), expected) in table {
        let step = next_step(&members(fleet), &policy(count, surge, unavailable));
        assert_eq!(
            short(&step),
            expected,
            "fleet `{fleet}`, count {count}, max_surge {surge}, max_unavailable {unavailable}"
        );
    }
}

/// Plays a whole rollout: every launched instance turns healthy one observation later.
/// Returns the launches made, checking the bounds at every observation.
fn simulate(count: u32, surge: u32, unavailable: u32) -> Vec<u32> {
    let policy = policy(count, surge, unavailable);
    let mut fleet = members(&"o".repeat(count as usize));
    let mut launches = Vec::new();
    let mut next_id = 0;
    for _ in 0..1000 {
        let serving = fleet.iter().filter(|m| m.health == Health::Healthy).count() as u32;
        assert!(fleet.len() as u32 <= policy.max_total(), "{fleet:?}");
        assert!(serving >= policy.min_available(), "{fleet:?}");
        let step = next_step(&fleet, &policy);
        for m in fleet.iter_mut() {
            m.health = Health::Healthy;
        }
        match step {
            Step::Launch(n) => {
                launches.push(n);
                for _ in 0..n {
                    next_id += 1;
                    fleet.push(Member {
                        id: format!("i-new{next_id}"),
                        current: true,
                        health: Health::Pending,
                        subnet: None,
                        launched: format!("2026-02-01T00:00:{next_id:02}Z"),
                    });
                }
            }
            Step::Terminate { ids, .. } => fleet.retain(|m| !ids.contains(&m.id)),
            Step::Wait => {}
            Step::Failed(f) => panic!("unexpected failure {f:?}"),
            Step::Done => return launches,
        }
    }
    panic!("the rollout did not finish");
}

#[test]
fn a_whole_rollout_keeps_its_bounds() {
    assert_eq!(simulate(20, 5, 0), [5, 5, 5, 5]);
    assert_eq!(simulate(4, 1, 0), [1, 1, 1, 1]);
    assert_eq!(simulate(4, 2, 1).iter().sum::<u32>(), 4);
    assert_eq!(simulate(3, 0, 1), [1, 1, 1]);
    assert_eq!(simulate(1, 1, 0), [1]);
}

#[test]
fn scale_in_takes_the_oldest_of_the_most_crowded_subnet() {
    let member = |id: &str, subnet: &str, launched: &str| Member {
        id: id.to_owned(),
        current: true,
        health: Health::Healthy,
        subnet: Some(subnet.to_owned()),
        launched: launched.to_owned(),
    };
    let all = [
        member("i-a1", "a", "2026-01-01"),
        member("i-a2", "a", "2026-01-02"),
        member("i-a3", "a", "2026-01-03"),
        member("i-b1", "b", "2025-12-01"),
        member("i-b2", "b", "2026-01-04"),
    ];
    let refs: Vec<&Member> = all.iter().collect();
    assert_eq!(oldest_first(&refs, 1), ["i-a1"]);
    // a and b are then level (2 each): the subnet with the older oldest goes first.
    assert_eq!(oldest_first(&refs, 2), ["i-a1", "i-b1"]);
    assert_eq!(oldest_first(&refs, 9).len(), 5);
}

#[test]
fn the_policy_describes_itself_as_written() {
    let mut group_policy = policy(4, 1, 0);
    assert_eq!(
        group_policy.describe(),
        "1 at a time (max_surge 1, max_unavailable 0), never below 4 healthy"
    );
    group_policy.max_surge = 2;
    group_policy.max_unavailable = 1;
    group_policy.written = (
        crate::model::Quantity::Percent(50),
        crate::model::Quantity::Percent(25),
    );
    assert_eq!(
        group_policy.describe(),
        "3 at a time (max_surge 50%, max_unavailable 25%), never below 3 healthy"
    );
}
