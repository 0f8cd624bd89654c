//! Release jobs through the real binary against the local endpoint: a migration that
//! runs once per release before the groups running its app roll, a failing and a hanging
//! one, a kill -9 while one runs, an `after` job, and `rollstack run`. The instance agent
//! plays the job instances (it runs their scripts here, as their wrapper would).

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::hooks::Receiver;
use support::web::{USER_DATA, assert_ok, buckets, clients, fleet, instances};
use support::{Agent, FaultProxy, rollstack_aws, rollstack_aws_command, scratch, stderr, stdout};

const MIGRATE: &str = "#!/bin/sh\necho \"migrating to {{ job.release }} in {{ env.name }}\"\n";

/// Groups `web` and `api` running app `web` at `version`, and job `migrate` of `web`
/// (`job` is the rest of its settings).
fn stack_file(name: &str, version: &str, job: &str) -> String {
    format!(
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
  web:
    roles: [web]
    count: 2
    image: ami-0abc1234
    instance_type: t3.micro
    security_groups: [web]
    user_data: web.sh.j2
    rollout: {{ max_surge: 1, max_unavailable: 0, health_timeout: 20s }}
  api:
    roles: [web]
    count: 1
    image: ami-0abc1234
    instance_type: t3.micro
    security_groups: [web]
    user_data: web.sh.j2
    rollout: {{ max_surge: 1, max_unavailable: 0, health_timeout: 20s }}
jobs:
  migrate:
    app: web
    run: migrate.sh.j2
    like: web
{job}"#
    )
}

async fn setup(name: &str) -> (support::Clients, tempfile::TempDir) {
    let c = clients().await;
    buckets(&c, name, &["1.0.0", "1.1.0"]).await;
    let dir = scratch(&[("web.sh.j2", USER_DATA), ("migrate.sh.j2", MIGRATE)]);
    (c, dir)
}

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("stack.yaml"), text).unwrap();
}

const APPLY: &[&str] = &[
    "apply",
    "stack.yaml",
    "--auto-approve",
    "--poll-interval",
    "200ms",
];

/// A call in a proxy's log: its action and the words after it.
type Call = (String, Vec<String>);

/// The calls in a proxy's log, one a line.
fn logged_calls(log: &Path) -> Vec<Call> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let mut words = line.split_whitespace().map(str::to_owned);
            (words.next().unwrap_or_default(), words.collect())
        })
        .collect()
}

/// Every instance stack `name` launched for job `job`, in any state.
async fn job_instances(c: &support::Clients, name: &str) -> Vec<(String, String)> {
    let out = c
        .ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:rollstack:resource")
                .values("job.migrate")
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            (
                i.instance_id().unwrap().to_owned(),
                i.state().unwrap().name().unwrap().as_str().to_owned(),
            )
        })
        .collect()
}

fn history(dir: &Path) -> serde_json::Value {
    let out = rollstack_aws(dir, &["history", "stack.yaml", "--format", "json"], &[]);
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_before_job_runs_once_per_release_before_any_new_instance() {
    let name = "job-before";
    let (c, dir) = setup(name).await;
    let _agent = Agent::with(name, &format!("{name}-state"), &["--run-jobs"]);
    write(dir.path(), &stack_file(name, "1.0.0", ""));
    let created = rollstack_aws(dir.path(), APPLY, &[]);
    assert_ok(&created, "apply 1.0.0");
    assert!(
        stdout(&created).contains("+ job.migrate: run (web@1.0.0, before group.api and group.web)"),
        "{}",
        stdout(&created)
    );

    // The bump, through a proxy that logs every call in the order answered.
    write(dir.path(), &stack_file(name, "1.1.0", ""));
    let planned = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert!(
        stdout(&planned).contains("+ job.migrate: run (web@1.1.0, before group.api and group.web)"),
        "{}",
        stdout(&planned)
    );
    assert!(
        stdout(&planned).contains("1 job to run"),
        "{}",
        stdout(&planned)
    );
    let log = dir.path().join("calls.log");
    let proxy = FaultProxy::with("none", &["--log", log.to_str().unwrap()]);
    let bumped = proxy.rollstack(dir.path(), APPLY);
    assert_ok(&bumped, "the bump");
    assert!(
        stderr(&bumped).contains("migrating to web@1.1.0 in default"),
        "the log tail: {}",
        stderr(&bumped)
    );
    let calls = logged_calls(&log);
    let position = |wanted: &dyn Fn(&Call) -> bool| calls.iter().position(wanted);
    let job_launches: Vec<&Vec<String>> = calls
        .iter()
        .filter(|(a, w)| {
            a == "RunInstances" && w.first().map(String::as_str) == Some("job.migrate")
        })
        .map(|(_, w)| w)
        .collect();
    assert_eq!(job_launches.len(), 1, "the job ran exactly once: {calls:?}");
    let job = job_launches[0][1].clone();
    let launched = position(&|(a, w)| a == "RunInstances" && w.contains(&job)).unwrap();
    let result =
        position(&|(a, w)| a == "S3" && w[0] == "GET" && w[1].ends_with(&format!("/{job}.json")))
            .unwrap();
    let terminated = position(&|(a, w)| a == "TerminateInstances" && w.contains(&job)).unwrap();
    let first_group = position(&|(a, w)| {
        a == "RunInstances" && w.first().is_some_and(|r| r.starts_with("group."))
    })
    .unwrap();
    assert!(
        launched < result && result < terminated && terminated < first_group,
        "{calls:?}"
    );
    assert_eq!(fleet(&c, name).await, vec!["web@1.1.0"; 3]);

    let clean = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    let again = dir.path().join("again.log");
    let proxy = FaultProxy::with("none", &["--log", again.to_str().unwrap()]);
    assert_ok(&proxy.rollstack(dir.path(), APPLY), "a second apply");
    assert!(
        logged_calls(&again)
            .iter()
            .all(|(a, _)| a != "RunInstances"),
        "a second apply launches nothing: {:?}",
        logged_calls(&again)
    );
    let status = rollstack_aws(dir.path(), &["status", "stack.yaml"], &[]);
    assert!(
        stdout(&status).contains("job.migrate: last run web@1.1.0 succeeded (exit 0)"),
        "{}",
        stdout(&status)
    );
    assert!(
        job_instances(&c, name)
            .await
            .iter()
            .all(|(_, state)| state != "running")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_job_stops_the_release_before_any_new_instance() {
    let name = "job-fails";
    let (c, dir) = setup(name).await;
    let _agent = Agent::with(
        name,
        &format!("{name}-state"),
        &["--run-jobs", "--fail", "web@1.1.0"],
    );
    let receiver = Receiver::start();
    let notify = format!(
        "notify:\n  webhooks:\n    - {{ url: \"http://127.0.0.1:{}/json\" }}\n",
        receiver.port
    );
    write(dir.path(), &(stack_file(name, "1.0.0", "") + &notify));
    assert_ok(&rollstack_aws(dir.path(), APPLY, &[]), "apply 1.0.0");
    let before: Vec<String> = instances(&c, name)
        .await
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();

    write(dir.path(), &(stack_file(name, "1.1.0", "") + &notify));
    let failed = rollstack_aws(dir.path(), APPLY, &[]);
    let err = stderr(&failed);
    assert_eq!(failed.status.code(), Some(1), "{err}");
    assert!(err.contains("job.migrate: exited with code 3"), "{err}");
    assert!(
        err.contains("| failing as told: web@1.1.0"),
        "the log tail: {err}"
    );
    assert!(
        err.contains("group.web: not applied (`job.migrate` did not converge)"),
        "{err}"
    );
    // Nothing of the new release launched; every old instance still runs.
    assert_eq!(fleet(&c, name).await, vec!["web@1.0.0"; 3]);
    let after: Vec<String> = instances(&c, name)
        .await
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(before, after);
    assert!(
        job_instances(&c, name)
            .await
            .iter()
            .all(|(_, state)| state != "running" && state != "pending")
    );
    let entries = history(dir.path());
    let last = entries.as_array().unwrap().last().unwrap();
    let message = last["message"].as_str().unwrap();
    assert!(
        message.contains("exited with code 3") && message.contains("failing as told"),
        "{last}"
    );
    let failures: Vec<serde_json::Value> = receiver
        .bodies("/json")
        .into_iter()
        .filter(|b| b["event"] == "failed")
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].to_string().contains("job.migrate"),
        "{}",
        failures[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_that_never_reports_times_out_and_is_stopped() {
    let name = "job-hangs";
    let (c, dir) = setup(name).await;
    let _agent = Agent::with(name, &format!("{name}-state"), &["--mute-jobs"]);
    write(dir.path(), &stack_file(name, "1.0.0", "    timeout: 20s\n"));
    let started = Instant::now();
    let failed = rollstack_aws(dir.path(), APPLY, &[]);
    let took = started.elapsed();
    let err = stderr(&failed);
    assert_eq!(failed.status.code(), Some(1), "{err}");
    assert!(
        err.contains("did not finish within its timeout of 20s"),
        "{err}"
    );
    // 20 s, two polls of 200 ms, and the launch and the plan around them.
    assert!(took < Duration::from_secs(20 + 15), "{took:?}");
    let jobs = job_instances(&c, name).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(
        jobs.iter()
            .all(|(_, state)| state == "terminated" || state == "shutting-down"),
        "{jobs:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_apply_waits_for_the_job_it_started_instead_of_starting_another() {
    let name = "job-killed";
    let (c, dir) = setup(name).await;
    write(dir.path(), &stack_file(name, "1.0.0", ""));
    let muted = Agent::with(name, &format!("{name}-state"), &["--mute-jobs"]);
    let mut apply = rollstack_aws_command(dir.path(), APPLY).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while job_instances(&c, name).await.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    apply.kill().unwrap();
    apply.wait().unwrap();
    assert_eq!(job_instances(&c, name).await.len(), 1);
    // The lock lease of the killed run: unlock it as its holder would be told to.
    let lock =
        c.s3.get_object()
            .bucket(format!("{name}-state"))
            .key(format!("rollstack/{name}/default/lock.json"))
            .send()
            .await
            .unwrap();
    let lock: serde_json::Value =
        serde_json::from_slice(&lock.body.collect().await.unwrap().into_bytes()).unwrap();
    let id = lock["id"].as_str().unwrap();
    assert_ok(
        &rollstack_aws(dir.path(), &["unlock", "stack.yaml", "--force", id], &[]),
        "unlock",
    );
    drop(muted);

    let _agent = Agent::with(name, &format!("{name}-state"), &["--run-jobs"]);
    let resumed = rollstack_aws(dir.path(), APPLY, &[]);
    assert_ok(&resumed, "the apply after kill -9");
    assert_eq!(
        job_instances(&c, name).await.len(),
        1,
        "one job instance for the key, in all"
    );
    assert_eq!(fleet(&c, name).await, vec!["web@1.0.0"; 3]);
    let clean = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_after_job_runs_once_the_groups_rolled_and_not_after_a_rollback() {
    let name = "job-after";
    let (c, dir) = setup(name).await;
    let _agent = Agent::with(
        name,
        &format!("{name}-state"),
        &["--run-jobs", "--fail", "web@1.1.0"],
    );
    let after = "    when: after\n";
    write(dir.path(), &stack_file(name, "1.0.0", after));
    let log = dir.path().join("calls.log");
    let proxy = FaultProxy::with("none", &["--log", log.to_str().unwrap()]);
    let created = proxy.rollstack(dir.path(), APPLY);
    assert_ok(&created, "apply 1.0.0");
    assert!(
        stdout(&created).contains("+ job.migrate: run (web@1.0.0, after group.api and group.web)"),
        "{}",
        stdout(&created)
    );
    let calls = logged_calls(&log);
    let job = calls
        .iter()
        .position(|(a, w)| a == "RunInstances" && w[0] == "job.migrate")
        .unwrap();
    let last_group = calls
        .iter()
        .rposition(|(a, w)| a == "RunInstances" && w[0].starts_with("group."))
        .unwrap();
    assert!(last_group < job, "{calls:?}");

    // 1.1.0 fails its health gate: the groups roll back, and the job does not run.
    write(dir.path(), &stack_file(name, "1.1.0", after));
    let rolled_back = rollstack_aws(dir.path(), APPLY, &[]);
    assert_eq!(
        rolled_back.status.code(),
        Some(1),
        "{}",
        stderr(&rolled_back)
    );
    assert!(
        stderr(&rolled_back).contains("job.migrate: not applied"),
        "{}",
        stderr(&rolled_back)
    );
    assert_eq!(
        job_instances(&c, name).await.len(),
        1,
        "the job ran for 1.0.0 only"
    );
    assert_eq!(fleet(&c, name).await, vec!["web@1.0.0"; 3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn run_runs_a_job_or_a_command_by_hand_with_its_output_and_exit_code() {
    let name = "job-run";
    let (_c, dir) = setup(name).await;
    let _agent = Agent::with(name, &format!("{name}-state"), &["--run-jobs"]);
    write(dir.path(), &stack_file(name, "1.0.0", ""));
    assert_ok(&rollstack_aws(dir.path(), APPLY, &[]), "apply 1.0.0");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "stack.yaml", "migrate", "--poll-interval", "200ms"];
        args.extend_from_slice(extra);
        rollstack_aws(dir.path(), &args, &[])
    };

    let migrated = run(&["--release", "1.1.0"]);
    assert_ok(&migrated, "run migrate");
    assert_eq!(stdout(&migrated), "migrating to web@1.1.0 in default\n");
    let hi = run(&["--command", "echo hi"]);
    assert_ok(&hi, "run --command");
    assert_eq!(stdout(&hi), "hi\n");
    let failing = run(&["--command", "echo broken >&2; exit 7"]);
    assert_eq!(failing.status.code(), Some(7), "{}", stderr(&failing));
    assert_eq!(stdout(&failing), "broken\n");
    assert!(
        stderr(&failing).contains("job `migrate` exited with code 7"),
        "{}",
        stderr(&failing)
    );

    let entries = history(dir.path());
    let runs: Vec<&serde_json::Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["command"] == "run migrate")
        .collect();
    assert_eq!(runs.len(), 3, "{entries}");
    assert_eq!(runs[0]["outcome"], "succeeded");
    assert_eq!(runs[0]["releases"][0], "web@1.1.0");
    assert_eq!(runs[2]["outcome"], "failed");
    // A run by hand changes nothing the plan sees.
    let clean = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}
