//! Traffic-safe rollouts, through the real binary against the local endpoint: groups
//! behind an ELBv2 target group register new instances before counting them, deregister
//! old ones before terminating them (proved from the ordered call log of a proxy in
//! front of the endpoint, since the local endpoint drains at once), and CloudWatch alarms
//! gate the rollout. One stack name per test.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use aws_sdk_ec2::types::Filter;
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};
use support::web::{ROLLOUT, apply, assert_ok, fleet, instances, setup, unlock_killed_run, write};
use support::{FaultProxy, moto, rollstack_aws, rollstack_aws_command, stderr, stdout};

async fn elbv2() -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&moto().sdk_config().await)
}

async fn cloudwatch() -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&moto().sdk_config().await)
}

/// A new target group `name` in the default VPC; its ARN.
async fn target_group(name: &str) -> String {
    let config = moto().sdk_config().await;
    let vpcs = aws_sdk_ec2::Client::new(&config)
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .unwrap();
    let vpc = vpcs.vpcs()[0].vpc_id().unwrap().to_owned();
    let created = elbv2()
        .await
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(vpc)
        .target_type(TargetTypeEnum::Instance)
        .send()
        .await
        .unwrap();
    created.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_owned()
}

/// Target group `arn`'s targets: id -> state.
async fn targets(arn: &str) -> BTreeMap<String, String> {
    let health = elbv2()
        .await
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .unwrap();
    health
        .target_health_descriptions()
        .iter()
        .map(|d| {
            (
                d.target().unwrap().id().unwrap().to_owned(),
                d.target_health()
                    .and_then(|h| h.state())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// A metric alarm `name` (the local endpoint starts it `OK`).
async fn alarm(name: &str) {
    cloudwatch()
        .await
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(10.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
}

async fn set_alarm(name: &str, state: StateValue) {
    cloudwatch()
        .await
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason("Threshold Crossed: 1 datapoint [42.0] was greater than 10.0")
        .send()
        .await
        .unwrap();
}

/// Stack `name` of `support::web` behind target group `arn`.
fn stack_file(name: &str, version: &str, count: u32, rollout: &str, arn: &str) -> String {
    format!(
        "{}    target_groups: [\"{arn}\"]\n",
        support::web::stack_file(name, version, count, rollout)
    )
}

/// Ids of the running instances of stack `name` on `release`.
async fn running(c: &support::Clients, name: &str, release: &str) -> BTreeSet<String> {
    instances(c, name)
        .await
        .into_iter()
        .filter(|(_, state, tags)| state == "running" && tags["rollstack:release"] == release)
        .map(|(id, _, _)| id)
        .collect()
}

/// The proxy's call log: (action, ids) per line, in order.
fn calls(log: &Path) -> Vec<(String, Vec<String>)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let mut words = line.split_whitespace().map(str::to_owned);
            (words.next().unwrap_or_default(), words.collect())
        })
        .collect()
}

/// Every `TerminateInstances` of an id comes after a `DeregisterTargets` of it.
fn assert_drained_before_terminated(calls: &[(String, Vec<String>)]) -> usize {
    let mut deregistered = BTreeSet::new();
    let mut terminated = 0;
    for (action, ids) in calls {
        match action.as_str() {
            "DeregisterTargets" => deregistered.extend(ids.iter().cloned()),
            "TerminateInstances" => {
                for id in ids {
                    assert!(
                        deregistered.contains(id),
                        "`{id}` terminated before it was deregistered: {calls:?}"
                    );
                    terminated += 1;
                }
            }
            _ => {}
        }
    }
    terminated
}

/// Watches target group `arn` from another thread; the fewest healthy targets seen.
struct HealthyWatch {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(usize, usize)>>,
}

impl HealthyWatch {
    fn start(arn: &str) -> HealthyWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let arn = arn.to_owned();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let (mut fewest, mut seen) = (usize::MAX, 0);
                while !flag.load(Ordering::SeqCst) {
                    let healthy = targets(&arn)
                        .await
                        .values()
                        .filter(|s| *s == "healthy")
                        .count();
                    fewest = fewest.min(healthy);
                    seen += 1;
                }
                (fewest, seen)
            })
        });
        HealthyWatch {
            stop,
            thread: Some(thread),
        }
    }

    /// (fewest healthy, observations).
    fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_behind_a_target_group_registers_before_counting_and_drains_before_terminating() {
    let name = "traffic-roll";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    let arn = target_group(name).await;
    write(dir.path(), &stack_file(name, "1.0.0", 12, ROLLOUT, &arn));
    assert_ok(&apply(dir.path(), &[]), "the first apply");
    let old = running(&c, name, "web@1.0.0").await;
    assert_eq!(old.len(), 12);
    let registered: BTreeSet<String> = targets(&arn).await.into_keys().collect();
    assert_eq!(registered, old, "every instance registered once healthy");

    write(dir.path(), &stack_file(name, "1.1.0", 12, ROLLOUT, &arn));
    let plan = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    let plan_text = stdout(&plan);
    assert!(
        plan_text.contains("target group `traffic-roll/")
            && plan_text.contains("drain before terminating"),
        "{plan_text}"
    );
    let log = dir.path().join("calls.log");
    let proxy = FaultProxy::with("none", &["--log", log.to_str().unwrap()]);
    let watch = HealthyWatch::start(&arn);
    let rolled = proxy.rollstack(
        dir.path(),
        &[
            "apply",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "100ms",
        ],
    );
    let (fewest_healthy, observations) = watch.finish();
    assert_ok(&rolled, "the rollout");
    assert!(observations > 5, "{observations} observations");
    // max_unavailable 0: never fewer than 12 serving.
    assert!(
        fewest_healthy >= 12,
        "{fewest_healthy} healthy at one point"
    );

    let calls = calls(&log);
    assert_eq!(assert_drained_before_terminated(&calls), 12);
    // Register before counting: an old instance is deregistered only once as many new
    // ones were registered (max_unavailable 0).
    let (mut registered_new, mut deregistered_old) = (0, 0);
    for (action, ids) in &calls {
        match action.as_str() {
            "RegisterTargets" => registered_new += ids.len(),
            "DeregisterTargets" => {
                deregistered_old += ids.len();
                assert!(
                    deregistered_old <= registered_new,
                    "deregistered {deregistered_old} old with {registered_new} new registered: {calls:?}"
                );
            }
            _ => {}
        }
    }
    let new = running(&c, name, "web@1.1.0").await;
    assert_eq!(new.len(), 12);
    let registered: BTreeSet<String> = targets(&arn).await.into_keys().collect();
    assert_eq!(
        registered, new,
        "exactly the 12 new instances are registered"
    );
    assert_eq!(fleet(&c, name).await.len(), 12);
    let status = stdout(&rollstack_aws(dir.path(), &["status", "stack.yaml"], &[]));
    assert!(
        status.contains("target group `traffic-roll/")
            && status.contains(": 12 registered, 12 healthy, 0 draining"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_in_and_destroy_deregister_before_they_terminate() {
    let name = "traffic-scale";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let arn = target_group(name).await;
    write(dir.path(), &stack_file(name, "1.0.0", 3, ROLLOUT, &arn));
    assert_ok(&apply(dir.path(), &[]), "the first apply");
    assert_eq!(targets(&arn).await.len(), 3);

    let log = dir.path().join("calls.log");
    let proxy = FaultProxy::with("none", &["--log", log.to_str().unwrap()]);
    write(dir.path(), &stack_file(name, "1.0.0", 1, ROLLOUT, &arn));
    let args = [
        "apply",
        "stack.yaml",
        "--auto-approve",
        "--poll-interval",
        "100ms",
    ];
    assert_ok(&proxy.rollstack(dir.path(), &args), "the scale-in");
    assert_eq!(assert_drained_before_terminated(&calls(&log)), 2);
    let left = running(&c, name, "web@1.0.0").await;
    let registered: BTreeSet<String> = targets(&arn).await.into_keys().collect();
    assert_eq!(registered, left);
    assert_eq!(left.len(), 1);

    // Out of the target group: the plan says so, apply drains the instance from it and
    // leaves it running.
    write(
        dir.path(),
        &support::web::stack_file(name, "1.0.0", 1, ROLLOUT),
    );
    let plan = stdout(&rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]));
    assert!(
        plan.contains("- leave target group `traffic-scale/")
            && plan.contains("leave 1 target group"),
        "{plan}"
    );
    assert_ok(
        &proxy.rollstack(dir.path(), &args),
        "leaving the target group",
    );
    assert!(targets(&arn).await.is_empty(), "deregistered");
    assert_eq!(running(&c, name, "web@1.0.0").await, left, "still running");
    let again = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));

    let destroy = [
        "destroy",
        "stack.yaml",
        "--auto-approve",
        "--poll-interval",
        "100ms",
    ];
    assert_ok(&proxy.rollstack(dir.path(), &destroy), "the destroy");
    assert_eq!(assert_drained_before_terminated(&calls(&log)), 3);
    assert!(targets(&arn).await.is_empty(), "nothing left registered");
    assert!(instances(&c, name).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_during_the_canary_bake_rolls_back_and_a_firing_alarm_stops_apply() {
    let name = "traffic-alarm";
    let alarm_name = "traffic-alarm-web-5xx";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0", "1.2.0"], &[]).await;
    let arn = target_group(name).await;
    alarm(alarm_name).await;
    let rollout = format!(
        "{{ max_surge: 1, max_unavailable: 0, health_timeout: 1m, canary: {{ count: 1, bake: 30s }}, alarms: [{alarm_name}] }}"
    );
    write(dir.path(), &stack_file(name, "1.0.0", 4, &rollout, &arn));
    assert_ok(&apply(dir.path(), &[]), "the first apply");
    let old = running(&c, name, "web@1.0.0").await;
    assert_eq!(old.len(), 4);

    // The canary serves; the alarm fires during its bake.
    write(dir.path(), &stack_file(name, "1.1.0", 4, &rollout, &arn));
    let plan = stdout(&rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]));
    assert!(
        plan.contains("canary of 1 instance first, baked 30s")
            && plan.contains(&format!("alarm `{alarm_name}`: OK now")),
        "{plan}"
    );
    let child = rollstack_aws_command(
        dir.path(),
        &[
            "apply",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "100ms",
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut canary = BTreeSet::new();
    for _ in 0..600 {
        let new = running(&c, name, "web@1.1.0").await;
        let serving = targets(&arn).await;
        canary = new
            .into_iter()
            .filter(|id| serving.get(id).map(String::as_str) == Some("healthy"))
            .collect();
        if !canary.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(canary.len(), 1, "the canary serves");
    set_alarm(alarm_name, StateValue::Alarm).await;
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "alarm `{alarm_name}` is in ALARM: Threshold Crossed"
        )),
        "{err}"
    );
    // Rolled back: the old version at full count and registered, the canary gone, and
    // no batch after the canary was launched.
    let back = running(&c, name, "web@1.0.0").await;
    assert_eq!(back.len(), 4);
    let registered: BTreeSet<String> = targets(&arn).await.into_keys().collect();
    assert_eq!(registered, back);
    assert!(running(&c, name, "web@1.1.0").await.is_empty());
    let launched_new = c
        .ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
        )
        .filters(
            Filter::builder()
                .name("tag:rollstack:release")
                .values("web@1.1.0")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .reservations()
        .iter()
        .map(|r| r.instances().len())
        .sum::<usize>();
    assert_eq!(launched_new, 1, "only the canary was launched");

    let status = stdout(&rollstack_aws(dir.path(), &["status", "stack.yaml"], &[]));
    assert!(
        status.contains(&format!("alarm `{alarm_name}`: ALARM (Threshold Crossed")),
        "{status}"
    );

    // The rollback froze the environment (tests/operations.rs); someone looks, and lifts it.
    assert!(status.contains("freeze: frozen by"), "{status}");
    assert_ok(
        &rollstack_aws(dir.path(), &["unfreeze", "stack.yaml"], &[]),
        "unfreeze",
    );

    // Still in ALARM: the next apply stops before any write.
    write(dir.path(), &stack_file(name, "1.2.0", 4, &rollout, &arn));
    let refused = apply(dir.path(), &[]);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(
        err.contains(&format!("alarm `{alarm_name}` is in ALARM"))
            && err.contains("--ignore-alarms"),
        "{err}"
    );
    assert_eq!(
        running(&c, name, "web@1.0.0").await,
        back,
        "nothing changed"
    );
    assert!(running(&c, name, "web@1.2.0").await.is_empty());

    // `--ignore-alarms` rolls out under it, and history says so.
    assert_ok(
        &apply(dir.path(), &["--ignore-alarms"]),
        "the apply under the alarm",
    );
    assert_eq!(running(&c, name, "web@1.2.0").await.len(), 4);
    let history = rollstack_aws(
        dir.path(),
        &["history", "stack.yaml", "--format", "json"],
        &[],
    );
    assert!(
        stdout(&history).contains(&format!("\"ignored_alarms\": [\n      \"{alarm_name}\"")),
        "{}",
        stdout(&history)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_while_draining_converges_on_the_next_apply() {
    let name = "traffic-kill";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    let arn = target_group(name).await;
    write(dir.path(), &stack_file(name, "1.0.0", 4, ROLLOUT, &arn));
    assert_ok(&apply(dir.path(), &[]), "the first apply");

    write(dir.path(), &stack_file(name, "1.1.0", 4, ROLLOUT, &arn));
    let log = dir.path().join("calls.log");
    let proxy = FaultProxy::with("none", &["--log", log.to_str().unwrap()]);
    let mut child = rollstack_aws_command(
        dir.path(),
        &[
            "apply",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "100ms",
        ],
    )
    .env("AWS_ENDPOINT_URL", &proxy.endpoint)
    .spawn()
    .unwrap();
    // kill -9 right after the first deregistration: an old instance drains, unterminated.
    for _ in 0..1200 {
        if calls(&log).iter().any(|(a, _)| a == "DeregisterTargets") {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(calls(&log).iter().any(|(a, _)| a == "DeregisterTargets"));

    // The killed run's lock is left; the documented way lets the next one in.
    unlock_killed_run(&c, dir.path(), name).await;
    assert_ok(&apply(dir.path(), &[]), "the apply after the kill");
    let new = running(&c, name, "web@1.1.0").await;
    assert_eq!(new.len(), 4);
    assert!(running(&c, name, "web@1.0.0").await.is_empty());
    let registered: BTreeSet<String> = targets(&arn).await.into_keys().collect();
    assert_eq!(
        registered, new,
        "nothing registered that is not running, nothing unregistered"
    );
    let again = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}
