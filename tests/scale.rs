//! A wide release inside the account's EC2 request budget: 20 groups of 10 instances
//! rolled at once through a proxy that enforces EC2's per-API token buckets at 20% of
//! their published size and rate (an account whose other tools spend the rest). One
//! observation of the stack per poll feeds every rollout; rollstack's own budget
//! (`--request-share`) keeps it under the buckets.

mod support;

use std::fmt::Write as _;
use std::time::Instant;

use support::web::{USER_DATA, assert_ok, buckets, clients, fleet};
use support::{Agent, FaultProxy, rollstack_aws, scratch, stderr};

const GROUPS: usize = 20;
const COUNT: usize = 10;

/// `GROUPS` groups of `COUNT` instances, all running app `web` at `version`.
fn stack_file(name: &str, version: &str) -> String {
    let mut text = format!(
        r#"rollstack: 1
stack: {name}
region: us-east-1
state_bucket: {name}-state
releases: {{ bucket: {name}-releases }}
apps:
  web: {{ version: "{version}" }}
security_groups:
  web:
    description: web tier
    ingress: [{{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}]
roles:
  web: {{ app: web, health: {{ signal: {{}} }} }}
groups:
"#
    );
    for n in 0..GROUPS {
        write!(
            text,
            "  g{n:02}:\n    roles: [web]\n    count: {COUNT}\n    image: ami-0abc1234\n    instance_type: t3.micro\n    security_groups: [web]\n    user_data: web.sh.j2\n    rollout: {{ max_surge: 5, max_unavailable: 0, health_timeout: 5m }}\n"
        )
        .unwrap();
    }
    text
}

/// (calls, throttled) of each operation in an `--stats` table.
fn stats(err: &str) -> Vec<(String, u32, u32)> {
    err.split("AWS calls:")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let calls = words.get(1)?.parse().ok()?;
            let throttled = words.get(4)?.parse().ok()?;
            Some((words[0].to_owned(), calls, throttled))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wide_release_stays_inside_the_ec2_request_budget() {
    let name = "scale-wide";
    let c = clients().await;
    buckets(&c, name, &["1.0.0", "1.1.0"]).await;
    let _agent = Agent::start(name, &format!("{name}-state"), &[]);
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    let write = |version: &str| {
        std::fs::write(dir.path().join("stack.yaml"), stack_file(name, version)).unwrap();
    };
    let apply = [
        "apply",
        "stack.yaml",
        "--auto-approve",
        "--parallelism",
        "20",
        "--poll-interval",
        "1s",
        "--stats",
    ];
    write("1.0.0");
    assert_ok(
        &rollstack_aws(dir.path(), &apply, &[]),
        "the fleet of 1.0.0",
    );

    write("1.1.0");
    let proxy = FaultProxy::with("quota", &["--share", "0.2"]);
    let mut args = apply.to_vec();
    args.extend(["--request-share", "15%"]);
    let started = Instant::now();
    let rolled = proxy.rollstack(dir.path(), &args);
    let took = started.elapsed();
    assert_ok(&rolled, "the wide release");
    assert_eq!(fleet(&c, name).await, vec!["web@1.1.0"; GROUPS * COUNT]);

    let table = stats(&stderr(&rolled));
    let ec2: Vec<&(String, u32, u32)> = table
        .iter()
        .filter(|(op, _, _)| op.starts_with("ec2:"))
        .collect();
    let calls: u32 = ec2.iter().map(|(_, n, _)| n).sum();
    let throttled: u32 = ec2.iter().map(|(_, _, t)| t).sum();
    let describes = table
        .iter()
        .find(|(op, _, _)| op == "ec2:DescribeInstances")
        .map_or(0, |(_, n, _)| *n);
    let polls = took.as_secs_f64();
    println!(
        "{GROUPS} groups x {COUNT}: {calls} EC2 calls, {throttled} throttled, {describes} DescribeInstances in {polls:.0} s ({:.2} a second)",
        f64::from(describes) / polls
    );
    assert!(
        f64::from(throttled) <= f64::from(calls) * 0.05,
        "{throttled} of {calls} EC2 calls throttled:\n{}",
        stderr(&rolled)
    );
    // One observation per poll (1 s) for the whole stack, not one per group; a few more
    // for the plans before the rollouts.
    assert!(
        f64::from(describes) <= polls * 1.1 + 5.0,
        "{describes} DescribeInstances in {polls:.0} s:\n{}",
        stderr(&rolled)
    );
}
