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
            traffic: Traffic::Direct,
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
        canary: None,
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
        Step::Deregister { ids, why, pause } if pause.is_zero() => {
            format!("deregister {why:?} {}", ids.len())
        }
        Step::Deregister { ids, why, .. } => {
            format!("deregister {why:?} {} then pause", ids.len())
        }
        Step::Register(ids) => format!("register {}", ids.len()),
        Step::Wait => "wait".to_owned(),
        Step::Bake => "bake".to_owned(),
        Step::Alarm(a) => format!("alarm {}", a[0].name),
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
        let step = next_step(
            &members(fleet),
            &policy(count, surge, unavailable),
            &Gates::default(),
        );
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
        let step = next_step(&fleet, &policy, &Gates::default());
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
                        traffic: Traffic::Direct,
                        subnet: None,
                        launched: format!("2026-02-01T00:00:{next_id:02}Z"),
                    });
                }
            }
            Step::Terminate { ids, .. } => fleet.retain(|m| !ids.contains(&m.id)),
            Step::Wait => {}
            Step::Done => return launches,
            other => panic!("unexpected {other:?}"),
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
        traffic: Traffic::Direct,
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

/// `spec` as in [`members`], behind a target group: `o` old serving, `d` old draining,
/// `D` old drained too long, `u` old unregistered, `c` current serving, `n` current
/// healthy but not registered, `r` current registered, not yet healthy, `p` pending.
fn behind_lb(spec: &str) -> Vec<Member> {
    spec.chars()
        .enumerate()
        .map(|(i, c)| Member {
            id: format!("i-{i}{c}"),
            current: matches!(c, 'c' | 'n' | 'r' | 'p'),
            health: if c == 'p' {
                Health::Pending
            } else {
                Health::Healthy
            },
            traffic: match c {
                'o' | 'c' => Traffic::Registered { healthy: true },
                'r' => Traffic::Registered { healthy: false },
                'd' => Traffic::Draining { overdue: false },
                'D' => Traffic::Draining { overdue: true },
                _ => Traffic::Unregistered,
            },
            subnet: None,
            launched: format!("2026-01-01T00:00:{i:02}Z"),
        })
        .collect()
}

#[test]
fn next_step_behind_a_load_balancer() {
    // (live fleet, (count, max_surge, max_unavailable)) -> step
    let table = [
        ("", (2, 1, 0), "launch 2"),
        // A new instance is registered once its roles' checks pass, not before.
        ("pp", (2, 1, 0), "wait"),
        ("nn", (2, 1, 0), "register 2"),
        ("rr", (2, 1, 0), "wait"),
        ("cc", (2, 1, 0), "done"),
        // Replacing: capacity counts serving instances only.
        ("ooo", (3, 1, 0), "launch 1"),
        ("ooon", (3, 1, 0), "register 1"),
        ("ooor", (3, 1, 0), "wait"),
        // An old instance is deregistered before it is terminated, and waited for.
        ("oooc", (3, 1, 0), "deregister Replaced 1 then pause"),
        ("dooc", (3, 1, 0), "wait"),
        ("Dooc", (3, 1, 0), "terminate OutOfService 1"),
        ("uooc", (3, 1, 0), "terminate OutOfService 1"),
        // Unavailability lets one go before its replacement serves: drained first.
        ("ooo", (3, 0, 1), "deregister Replaced 1 then pause"),
        // Scale-in drains too; what does not serve goes first.
        ("ccc", (2, 1, 0), "deregister ScaleIn 1"),
        ("ncc", (2, 1, 0), "terminate ScaleIn 1"),
        // A restart after a kill: an instance deregistered but not terminated.
        ("cuc", (2, 1, 0), "terminate OutOfService 1"),
    ];
    for (fleet, (count, surge, unavailable), expected) in table {
        let step = next_step(
            &behind_lb(fleet),
            &policy(count, surge, unavailable),
            &Gates::default(),
        );
        assert_eq!(short(&step), expected, "fleet `{fleet}`, count {count}");
    }
}

fn with_canary(count: u32) -> Policy {
    Policy {
        canary: Some(CanaryPolicy {
            count: 1,
            written: crate::model::Quantity::Count(1),
            bake: Duration::from_secs(600),
        }),
        ..policy(count, 1, 0)
    }
}

#[test]
fn the_canary_serves_alone_until_it_has_baked() {
    let unbaked = Gates::default();
    let baked = Gates {
        bake: Bake::Baked,
        firing: Vec::new(),
    };
    // (fleet, gates) -> step, for 4 instances behind a target group, canary of 1.
    let table = [
        ("oooo", &unbaked, "launch 1"),
        ("oooon", &unbaked, "register 1"),
        ("ooooc", &unbaked, "deregister Replaced 1 then pause"),
        ("uoooc", &unbaked, "terminate OutOfService 1"),
        // The canary replaced one instance; nothing more until it has baked.
        ("oooc", &unbaked, "bake"),
        ("oooc", &baked, "launch 1"),
        ("ooocn", &baked, "register 1"),
    ];
    for (fleet, gates, expected) in table {
        let step = next_step(&behind_lb(fleet), &with_canary(4), gates);
        assert_eq!(short(&step), expected, "fleet `{fleet}`, {:?}", gates.bake);
    }
    let firing = Gates {
        bake: Bake::Unbaked,
        firing: vec![Firing {
            name: "web-5xx".to_owned(),
            reason: "Threshold Crossed".to_owned(),
        }],
    };
    assert_eq!(
        short(&next_step(&behind_lb("oooc"), &with_canary(4), &firing)),
        "alarm web-5xx"
    );
}

/// Plays a whole rollout behind a load balancer: a launched instance passes its checks
/// one observation later, a registered one turns healthy one later, a deregistered one
/// drains one later. Checks serving capacity and that nothing registered is terminated.
#[test]
fn a_whole_rollout_behind_a_load_balancer_keeps_its_bounds() {
    for (count, surge, unavailable) in [(12, 1, 0), (12, 3, 1), (5, 0, 1), (3, 2, 0)] {
        let policy = policy(count, surge, unavailable);
        let mut fleet = behind_lb(&"o".repeat(count as usize));
        let mut next_id = 0;
        let mut done = false;
        for _ in 0..1000 {
            let serving = fleet.iter().filter(|m| m.is_serving()).count() as u32;
            assert!(serving >= policy.min_available(), "{fleet:?}");
            assert!(fleet.len() as u32 <= policy.max_total(), "{fleet:?}");
            let step = next_step(&fleet, &policy, &Gates::default());
            for m in fleet.iter_mut() {
                m.health = Health::Healthy;
                m.traffic = match m.traffic {
                    Traffic::Registered { .. } => Traffic::Registered { healthy: true },
                    Traffic::Draining { .. } => Traffic::Unregistered,
                    other => other,
                };
            }
            match step {
                Step::Launch(n) => {
                    for _ in 0..n {
                        next_id += 1;
                        fleet.push(Member {
                            id: format!("i-new{next_id}"),
                            current: true,
                            health: Health::Pending,
                            traffic: Traffic::Unregistered,
                            subnet: None,
                            launched: format!("2026-02-01T00:00:{next_id:02}Z"),
                        });
                    }
                }
                Step::Register(ids) => {
                    for m in fleet.iter_mut().filter(|m| ids.contains(&m.id)) {
                        m.traffic = Traffic::Registered { healthy: false };
                    }
                }
                Step::Deregister { ids, .. } => {
                    for m in fleet.iter_mut().filter(|m| ids.contains(&m.id)) {
                        m.traffic = Traffic::Draining { overdue: false };
                    }
                }
                Step::Terminate { ids, .. } => {
                    for m in fleet.iter().filter(|m| ids.contains(&m.id)) {
                        assert!(
                            m.traffic.may_terminate(),
                            "{m:?} terminated while registered"
                        );
                    }
                    fleet.retain(|m| !ids.contains(&m.id));
                }
                Step::Wait => {}
                Step::Done => {
                    done = true;
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(done, "count {count}: the rollout did not finish");
        assert_eq!(fleet.len() as u32, count);
        assert!(fleet.iter().all(|m| m.current && m.is_serving()));
    }
}

/// (members when the rollout starts, canary, whether the bake is already done)
#[test]
fn a_rollout_that_replaces_nothing_has_no_canary() {
    let canary = Some(CanaryPolicy {
        count: 1,
        written: crate::model::Quantity::Count(1),
        bake: Duration::from_secs(300),
    });
    let table = [
        ("oooo", canary, false),
        ("ccoo", canary, false),
        ("", canary, true),
        ("cccc", canary, true),
        ("pp", canary, true),
        ("oooo", None, true),
    ];
    for (spec, canary, done) in table {
        let policy = Policy {
            canary,
            ..policy(4, 1, 0)
        };
        let mut clock = BakeClock::for_rollout(&policy, &members(spec));
        let expected = if done { Bake::Baked } else { Bake::Unbaked };
        assert_eq!(
            clock.state(std::time::Instant::now()),
            expected,
            "{spec} {canary:?}"
        );
    }
}
