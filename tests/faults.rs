//! AWS weather, through the real binary: a fault-injecting proxy between rollstack and
//! the local endpoint throttles, fails, resets or loses the answers of a seeded share of
//! the calls. Under each, one apply from empty and one rolling version bump of 20
//! instances succeed in a single run, within the rollout's bounds, leaving a clean plan,
//! no orphan instance and a free lock. A silent endpoint fails in bounded time, naming
//! itself.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::path::Path;

use support::web::{Poller, assert_ok, fleet, setup, stack_file, write};
use support::{FaultProxy, rollstack_aws, stderr, stdout};

/// Batches of 5 over 20 instances: `count + 5` at most, never below 20 healthy.
const ROLLOUT: &str = "{ max_surge: 5, max_unavailable: 0, health_timeout: 2m }";

fn apply_through(proxy: &FaultProxy, dir: &Path) -> std::process::Output {
    proxy.rollstack(
        dir,
        &[
            "apply",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "200ms",
        ],
    )
}

/// Applies 20 instances of 1.0.0 from nothing, then rolls them to 1.1.0, each in one run
/// through a proxy injecting `kind` faults into `rate` of the calls.
async fn weathers(name: &str, kind: &str, rate: f64) {
    weathers_with(name, FaultProxy::start(kind, rate, 7)).await;
}

/// As [`weathers`], through `proxy`.
async fn weathers_with(name: &str, proxy: FaultProxy) {
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 20, ROLLOUT));
    let created = apply_through(&proxy, dir.path());
    assert_ok(&created, &format!("apply from empty ({name})"));
    assert_eq!(fleet(&c, name).await, vec!["web@1.0.0"; 20]);

    write(dir.path(), &stack_file(name, "1.1.0", 20, ROLLOUT));
    let poller = Poller::start(name);
    let rolled = apply_through(&proxy, dir.path());
    let (most, fewest, polls) = poller.finish();
    assert_ok(&rolled, &format!("rolling bump ({name})"));
    assert!(polls > 0);
    assert!(
        most <= 25,
        "{most} instances at once: above count + max_surge"
    );
    assert!(fewest >= 20, "{fewest} running at once: below the count");

    // No orphan: exactly the 20 the file asks for; a clean plan; a free lock.
    assert_eq!(fleet(&c, name).await, vec!["web@1.1.0"; 20]);
    let planned = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(
        planned.status.code(),
        Some(0),
        "{}{}\n--- the bump:\n{}{}",
        stdout(&planned),
        stderr(&planned),
        stdout(&rolled),
        stderr(&rolled)
    );
    let lock =
        c.s3.head_object()
            .bucket(format!("{name}-state"))
            .key(format!("rollstack/{name}/default/lock.json"))
            .send()
            .await;
    assert!(lock.is_err(), "the lock is left behind");
    for output in [&created, &rolled] {
        let text = format!("{}{}", stdout(output), stderr(output));
        for debug in ["ServiceError", "SdkBody", "DispatchFailure", "{ source:"] {
            assert!(
                !text.contains(debug),
                "an SDK structure in the output:\n{text}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn thirty_percent_throttling() {
    weathers("fault-throttle", "throttle", 0.3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_percent_server_errors() {
    weathers("fault-error", "error", 0.2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_percent_connection_resets() {
    weathers("fault-reset", "reset", 0.1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_percent_lost_answers() {
    weathers("fault-lost", "lost", 0.1).await;
}

/// Eventual consistency: for 3 s after EC2 makes an instance, security group or launch
/// template, naming it answers NotFound and listings leave new instances out.
#[tokio::test(flavor = "multi_thread")]
async fn a_lagging_control_plane() {
    weathers_with("fault-lag", FaultProxy::with("hide", &["--seconds", "3"])).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_endpoint_fails_in_bounded_time_naming_itself() {
    let (_c, _agent, dir) = setup("fault-silent", &["1.0.0"], &[]).await;
    let proxy = FaultProxy::start("silent", 1.0, 1);
    write(dir.path(), &stack_file("fault-silent", "1.0.0", 1, ROLLOUT));
    // The default bound (under two minutes) is checked by a unit test; here, shorter,
    // but long enough that two call timeouts one after the other (the state bucket's
    // check, the identity, the reads) would pass the bound.
    let started = std::time::Instant::now();
    let planned = proxy.rollstack(
        dir.path(),
        &[
            "plan",
            "stack.yaml",
            "--attempt-timeout",
            "10s",
            "--call-timeout",
            "40s",
        ],
    );
    let took = started.elapsed();
    assert_eq!(planned.status.code(), Some(1));
    assert!(
        took < std::time::Duration::from_secs(40 + 30),
        "plan took {took:?}: more than the call timeout + 30 s"
    );
    let err = stderr(&planned);
    assert!(
        err.contains(&format!("got no answer from `{}` in time", proxy.endpoint)),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

/// A store without conditional deletes (`501 NotImplemented` to `DeleteObject` with
/// `If-Match`) cannot release the lock safely: the error says so and what to do, and
/// `unlock --force` frees it there.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_without_conditional_deletes_is_named_and_unlock_still_frees_the_lock() {
    let name = "fault-no-conditional-delete";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 1, ROLLOUT));
    let proxy = FaultProxy::with("unsupported", &["--match", "lock.json"]);
    let applied = apply_through(&proxy, dir.path());
    let err = stderr(&applied);
    assert_eq!(applied.status.code(), Some(1), "{err}");
    assert!(
        err.contains("could not be released")
            && err
                .contains("does not support conditional deletes (`DeleteObject` with `If-Match`)"),
        "{err}"
    );
    let id = err
        .split("--force ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no unlock command in: {err}"))
        .to_owned();
    assert!(err.contains("general purpose buckets"), "{err}");
    let unlocked = proxy.rollstack(dir.path(), &["unlock", "stack.yaml", "--force", &id]);
    assert!(unlocked.status.success(), "{}", stderr(&unlocked));
    let lock =
        c.s3.head_object()
            .bucket(format!("{name}-state"))
            .key(format!("rollstack/{name}/default/lock.json"))
            .send()
            .await;
    assert!(lock.is_err(), "the lock is left behind");
}

/// The answer to the first write of each kind is lost (the write happened): the SDK's
/// retry meets the thing made, and rollstack recognises it as its own and carries on.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_to_each_kind_of_write_is_recognised() {
    let writes = [
        ("lock", "lock.json"),
        ("history", "/history/"),
        ("sg", "Action=CreateSecurityGroup"),
        ("rules", "Action=AuthorizeSecurityGroupIngress"),
        ("template", "Action=CreateLaunchTemplate"),
        ("run", "Action=RunInstances"),
        ("cfn", "Action=CreateChangeSet"),
        ("execute", "Action=ExecuteChangeSet"),
    ];
    for (what, request) in writes {
        let name = format!("fault-once-{what}");
        let (c, _agent, dir) = setup(&name, &["1.0.0"], &[]).await;
        std::fs::write(
            dir.path().join("queue.yaml"),
            "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n",
        )
        .unwrap();
        let file = stack_file(&name, "1.0.0", 2, ROLLOUT)
            + "cloudformation:\n  queue:\n    template: queue.yaml\n";
        write(dir.path(), &file);
        let proxy = FaultProxy::with("lost", &["--match", request, "--times", "1"]);
        let applied = apply_through(&proxy, dir.path());
        assert_ok(
            &applied,
            &format!("apply with the answer to {request} lost"),
        );
        assert_eq!(fleet(&c, &name).await, vec!["web@1.0.0"; 2], "{request}");
        let planned = rollstack_aws(
            dir.path(),
            &["plan", "stack.yaml", "--detailed-exitcode"],
            &[],
        );
        assert_eq!(
            planned.status.code(),
            Some(0),
            "{request}: {}",
            stdout(&planned)
        );
        let history = rollstack_aws(
            dir.path(),
            &["history", "stack.yaml", "--format", "json"],
            &[],
        );
        let entries: serde_json::Value = serde_json::from_str(&stdout(&history)).unwrap();
        assert_eq!(
            entries.as_array().map(Vec::len),
            Some(1),
            "{request}: one apply, one entry"
        );
    }
}
