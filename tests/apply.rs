//! `apply`, `destroy`, `status`, `history`, `rollback` and `unlock` against the local
//! endpoint: the real binary, the real SDK, moto. A test-side agent plays the instances
//! and writes their readiness signals. Each test uses its own stack name.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::time::Duration;

use aws_sdk_ec2::types::Filter;
use support::web::{
    Poller, ROLLOUT, USER_DATA, apply, assert_fleet, assert_ok, buckets, clients, instances,
    releases, setup, stack_file, write,
};
use support::{Agent, rollstack_aws, rollstack_aws_command, scratch, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn apply_from_empty_creates_everything_tagged_and_converges() {
    let name = "apply-empty";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 3, ROLLOUT));

    let output = apply(dir.path(), &[]);
    assert_ok(&output, "apply");
    assert!(
        stdout(&output).contains("Apply complete"),
        "{}",
        stdout(&output)
    );

    let live = instances(&c, name).await;
    assert_eq!(live.len(), 3);
    for (_, state, tags) in &live {
        assert_eq!(state, "running");
        assert_eq!(tags["rollstack:stack"], name);
        assert_eq!(tags["rollstack:env"], "default");
        assert_eq!(tags["rollstack:resource"], "group.web");
        assert_eq!(tags["rollstack:release"], "web@1.0.0");
        assert_eq!(tags["rollstack:roles"], "web");
        assert_eq!(tags["Name"], format!("{name}-default-web"));
        assert_eq!(tags["rollstack:spec"].len(), 16);
    }
    let groups = c
        .ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups().len(), 1);
    let templates = c
        .ec2
        .describe_launch_templates()
        .launch_template_names(format!("{name}-default-web"))
        .send()
        .await
        .unwrap();
    let template = &templates.launch_templates()[0];
    let tag = |k: &str| {
        template
            .tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_owned)
    };
    assert_eq!(tag("rollstack:stack").as_deref(), Some(name));
    assert_eq!(tag("rollstack:count").as_deref(), Some("3"));

    let replan = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(replan.status.code(), Some(0), "{}", stdout(&replan));

    let status = rollstack_aws(dir.path(), &["status", "stack.yaml"], &[]);
    assert_ok(&status, "status");
    assert!(
        stdout(&status).contains("group.web: 3/3 live, in sync"),
        "{}",
        stdout(&status)
    );
    assert!(
        stdout(&status).contains("3 signalled ok"),
        "{}",
        stdout(&status)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_bump_replaces_every_instance_within_the_bounds() {
    let name = "apply-bump";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 4, ROLLOUT));
    assert_ok(&apply(dir.path(), &[]), "first apply");
    let before: Vec<String> = instances(&c, name).await.into_iter().map(|i| i.0).collect();

    write(dir.path(), &stack_file(name, "1.1.0", 4, ROLLOUT));
    let poller = Poller::start(name);
    let output = apply(dir.path(), &[]);
    let (most, fewest, seen) = poller.finish();
    assert_ok(&output, "the rolling apply");
    assert!(seen >= 3, "the poller saw the rollout {seen} times");
    assert!(
        most <= 5,
        "{most} live instances: more than count + max_surge"
    );
    assert!(
        fewest >= 4,
        "{fewest} running: fewer than count - max_unavailable"
    );

    let after = instances(&c, name).await;
    assert_fleet(&c, name, "web@1.1.0", 4).await;
    assert!(after.iter().all(|(id, _, _)| !before.contains(id)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_that_signals_fail_rolls_back() {
    let name = "apply-fail";
    let (c, _agent, dir) = setup(name, &["1.0.0", "2.0.0"], &["web@2.0.0"]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 3, ROLLOUT));
    assert_ok(&apply(dir.path(), &[]), "first apply");

    write(dir.path(), &stack_file(name, "2.0.0", 3, ROLLOUT));
    let output = apply(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("rolled back to the previous spec"), "{err}");
    let failed: Vec<&str> = err
        .lines()
        .filter(|l| l.trim_end().ends_with("signal `fail`") && l.starts_with("  i-"))
        .collect();
    assert!(
        !failed.is_empty(),
        "the report names the failed instances:\n{err}"
    );
    assert_fleet(&c, name, "web@1.0.0", 3).await;

    let history = rollstack_aws(dir.path(), &["history", "stack.yaml"], &[]);
    assert!(
        stdout(&history).contains("rolled back"),
        "{}",
        stdout(&history)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_rollout_then_apply_again_converges() {
    let name = "apply-kill";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 4, ROLLOUT));
    assert_ok(&apply(dir.path(), &[]), "first apply");

    // A pause between batches stretches the rollout so the kills land inside it.
    let slow = "{ max_surge: 1, max_unavailable: 0, pause: 1s, health_timeout: 1m }";
    write(dir.path(), &stack_file(name, "1.1.0", 4, slow));
    let poller = Poller::start(name);
    let mut mixed = 0;
    // The first kill waits for the rollout to show (a loaded machine takes longer to get
    // there); the later ones land at different points of the runs that go on with it.
    for delay in [None, Some(300), Some(900)] {
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
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
        match delay {
            Some(delay) => std::thread::sleep(Duration::from_millis(delay)),
            None => {
                let started = std::time::Instant::now();
                while releases(&c, name).await.len() < 2
                    && started.elapsed() < Duration::from_secs(60)
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if releases(&c, name).await.len() > 1 {
            mixed += 1;
        }
        // The killed run's lock stays; the next one is let in the documented way.
        let lock =
            c.s3.get_object()
                .bucket(format!("{name}-state"))
                .key(format!("rollstack/{name}/default/lock.json"))
                .send()
                .await;
        if let Ok(lock) = lock {
            let body = lock.body.collect().await.unwrap().into_bytes();
            let record: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let id = record["id"].as_str().unwrap();
            let unlock = rollstack_aws(dir.path(), &["unlock", "stack.yaml", "--force", id], &[]);
            assert_ok(&unlock, "unlock");
        }
    }
    assert!(
        mixed >= 2,
        "only {mixed} of the kills landed inside the rollout"
    );
    let output = apply(dir.path(), &[]);
    let (most, fewest, _) = poller.finish();
    assert_ok(&output, "the apply after the kills");
    assert!(
        most <= 5,
        "{most} live instances: more than count + max_surge"
    );
    assert!(fewest >= 4, "{fewest} running: fewer than the minimum");
    let live = instances(&c, name).await;
    assert_eq!(live.len(), 4, "no orphan instance: {live:?}");
    assert_fleet(&c, name, "web@1.1.0", 4).await;
    let replan = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(replan.status.code(), Some(0), "{}", stdout(&replan));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_stops_after_a_safe_step_and_releases_the_lock() {
    let name = "apply-sigint";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 3, ROLLOUT));
    assert_ok(&apply(dir.path(), &[]), "first apply");
    let slow = "{ max_surge: 1, max_unavailable: 0, pause: 2s, health_timeout: 1m }";
    write(dir.path(), &stack_file(name, "1.1.0", 3, slow));
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
    std::thread::sleep(Duration::from_millis(1500));
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("interrupted"),
        "{}",
        stderr(&output)
    );
    let lock =
        c.s3.head_object()
            .bucket(format!("{name}-state"))
            .key(format!("rollstack/{name}/default/lock.json"))
            .send()
            .await;
    assert!(lock.is_err(), "the lock is released");
    let live = instances(&c, name).await;
    let running = live.iter().filter(|(_, s, _)| s == "running").count();
    assert!(running >= 3 && live.len() <= 4, "{live:?}");
    assert_ok(&apply(dir.path(), &[]), "apply again");
    assert_fleet(&c, name, "web@1.1.0", 3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_lock_refuses_and_a_stale_plan_is_refused() {
    let name = "apply-lock";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 2, ROLLOUT));
    let lock = serde_json::json!({
        "id": "lock-123", "holder": "ci@runner-7", "command": "apply",
        "started": "2026-11-23T10:00:00Z", "expires": "2999-01-01T00:00:00Z",
    });
    c.s3.put_object()
        .bucket(format!("{name}-state"))
        .key(format!("rollstack/{name}/default/lock.json"))
        .body(lock.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();

    let refused = apply(dir.path(), &[]);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(
        err.contains(
            "locked by ci@runner-7 since 2026-11-23T10:00:00Z running apply (lock lock-123)"
        ),
        "{err}"
    );
    assert!(
        err.contains("rollstack unlock stack.yaml --env default --force lock-123"),
        "{err}"
    );
    assert!(instances(&c, name).await.is_empty(), "nothing was applied");
    let wrong = rollstack_aws(
        dir.path(),
        &["unlock", "stack.yaml", "--force", "other"],
        &[],
    );
    assert_eq!(wrong.status.code(), Some(1));
    let unlock = rollstack_aws(
        dir.path(),
        &["unlock", "stack.yaml", "--force", "lock-123"],
        &[],
    );
    assert_ok(&unlock, "unlock");
    assert_ok(&apply(dir.path(), &[]), "apply after unlock");

    // A saved plan applies exactly, unless AWS changed since it was made.
    write(dir.path(), &stack_file(name, "1.1.0", 2, ROLLOUT));
    let plan = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--out", "bump.json"],
        &[],
    );
    assert_ok(&plan, "plan --out");
    let victim = instances(&c, name).await.remove(0).0;
    c.ec2
        .terminate_instances()
        .instance_ids(&victim)
        .send()
        .await
        .unwrap();
    let stale = rollstack_aws(
        dir.path(),
        &[
            "apply",
            "bump.json",
            "--auto-approve",
            "--poll-interval",
            "100ms",
        ],
        &[],
    );
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        stderr(&stale).contains("plan is stale: group.web changed since the plan was made"),
        "{}",
        stderr(&stale)
    );
    assert_fleet(&c, name, "web@1.0.0", 1).await;

    let fresh = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--out", "bump.json"],
        &[],
    );
    assert_ok(&fresh, "plan --out");
    let saved = rollstack_aws(
        dir.path(),
        &[
            "apply",
            "bump.json",
            "--auto-approve",
            "--poll-interval",
            "100ms",
        ],
        &[],
    );
    assert_ok(&saved, "apply of a fresh saved plan");
    assert_fleet(&c, name, "web@1.1.0", 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_resources_survive_apply_and_destroy() {
    let name = "apply-foreign";
    let c = clients().await;
    buckets(&c, name, &["1.0.0"]).await;
    let _agent = Agent::start(name, &format!("{name}-state"), &[]);
    // Same names as ours, without the ownership tags.
    let foreign_sg = c
        .ec2
        .create_security_group()
        .group_name(format!("{name}-default-web"))
        .description("someone else's")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    let foreign_instance = c
        .ec2
        .run_instances()
        .image_id("ami-0abc1234")
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value(format!("{name}-default-web"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_owned();
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    write(dir.path(), &stack_file(name, "1.0.0", 2, ROLLOUT));

    let conflict = apply(dir.path(), &[]);
    assert_eq!(conflict.status.code(), Some(1));
    assert!(
        stderr(&conflict).contains(&foreign_sg),
        "{}",
        stderr(&conflict)
    );

    // Renamed, the stack applies beside the foreign group, and destroy removes only ours.
    let renamed = stack_file(name, "1.0.0", 2, ROLLOUT)
        .replace("  web:\n    description", "  front:\n    description")
        .replace("security_groups: [web]", "security_groups: [front]");
    write(dir.path(), &renamed);
    assert_ok(&apply(dir.path(), &[]), "apply");
    assert_eq!(instances(&c, name).await.len(), 2);
    let destroy = rollstack_aws(
        dir.path(),
        &[
            "destroy",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "100ms",
        ],
        &[],
    );
    assert_ok(&destroy, "destroy");
    assert!(
        instances(&c, name).await.is_empty(),
        "destroy leaves no owned instance"
    );
    let owned_groups = c
        .ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(owned_groups.security_groups().is_empty());
    let owned_templates = c
        .ec2
        .describe_launch_templates()
        .filters(
            Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(owned_templates.launch_templates().is_empty());
    let sg = c
        .ec2
        .describe_security_groups()
        .group_ids(&foreign_sg)
        .send()
        .await
        .unwrap();
    assert_eq!(sg.security_groups().len(), 1, "the foreign group survives");
    let instance = c
        .ec2
        .describe_instances()
        .instance_ids(&foreign_instance)
        .send()
        .await
        .unwrap();
    let state = instance.reservations()[0].instances()[0]
        .state()
        .unwrap()
        .name()
        .unwrap()
        .as_str()
        .to_owned();
    assert_eq!(state, "running", "the foreign instance survives");
}

#[tokio::test(flavor = "multi_thread")]
async fn history_lists_every_apply_and_rollback_restores_the_previous_version() {
    let name = "apply-history";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 2, ROLLOUT));
    assert_ok(&apply(dir.path(), &[]), "apply 1.0.0");
    write(dir.path(), &stack_file(name, "1.1.0", 2, ROLLOUT));
    assert_ok(&apply(dir.path(), &[]), "apply 1.1.0");

    let rollback = rollstack_aws(
        dir.path(),
        &[
            "rollback",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "100ms",
        ],
        &[],
    );
    assert_ok(&rollback, "rollback");
    assert!(
        stderr(&rollback).contains("to history #1"),
        "{}",
        stderr(&rollback)
    );
    assert!(
        stdout(&rollback).contains("release web@1.1.0 -> web@1.0.0"),
        "{}",
        stdout(&rollback)
    );
    assert_fleet(&c, name, "web@1.0.0", 2).await;

    let history = rollstack_aws(
        dir.path(),
        &["history", "stack.yaml", "--format", "json"],
        &[],
    );
    assert_ok(&history, "history");
    let entries: serde_json::Value = serde_json::from_str(&stdout(&history)).unwrap();
    let rows: Vec<(u64, &str, &str, &str)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["command"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
                e["releases"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, "apply", "succeeded", "web@1.0.0"),
            (2, "apply", "succeeded", "web@1.1.0"),
            (3, "rollback", "succeeded", "web@1.0.0"),
        ]
    );
    for entry in entries.as_array().unwrap() {
        assert_eq!(entry["model"]["name"], name);
        assert!(entry["who"].as_str().unwrap().contains('@'));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_of_a_rollout_of_20_in_batches_of_5() {
    let name = "apply-stats";
    let c = clients().await;
    buckets(&c, name, &["1.0.0", "1.1.0"]).await;
    let _agent = Agent::start(name, &format!("{name}-state"), &[]);
    let rollout = "{ max_surge: 5, max_unavailable: 0, health_timeout: 1m }";
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    write(dir.path(), &stack_file(name, "1.0.0", 20, rollout));
    assert_ok(&apply(dir.path(), &[]), "apply 1.0.0");
    write(dir.path(), &stack_file(name, "1.1.0", 20, rollout));
    let output = apply(dir.path(), &["--stats"]);
    assert_ok(&output, "the rollout");
    let err = stderr(&output);
    let calls = |operation: &str| -> u32 {
        err.lines()
            .find(|l| l.trim_start().starts_with(operation))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(|n| n.parse().unwrap())
            .unwrap_or(0)
    };
    // One launch per batch, never per instance: 4 when each batch of 5 is replaced
    // whole; a few more when the surge frees up piecemeal, as instances turn healthy
    // between two polls (a faster endpoint shows them one by one).
    assert!((4..=8).contains(&calls("ec2:RunInstances")), "{err}");
    assert_eq!(calls("ec2:CreateTags"), 0, "{err}");
    // One DescribeInstances and one ListObjectsV2 per poll, whatever the fleet size: the
    // two go in lockstep (how many polls a batch takes depends on how fast the instances
    // signal, which a loaded machine slows; a per-instance call would break the step).
    let (described, listed) = (calls("ec2:DescribeInstances"), calls("s3:ListObjectsV2"));
    assert!(listed >= 4, "a poll per batch at least: {err}");
    assert!(described.abs_diff(listed) <= 3, "{err}");
    assert_fleet(&c, name, "web@1.1.0", 20).await;
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    write(dir.path(), &stack_file("apply-tty", "1.0.0", 1, ROLLOUT));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let c = clients().await;
        buckets(&c, "apply-tty", &["1.0.0"]).await;
    });
    let output = rollstack_aws(dir.path(), &["apply", "stack.yaml"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("stdin is not a terminal"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("--auto-approve"));
}
