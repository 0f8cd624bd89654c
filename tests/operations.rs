//! Operating a fleet, against the local endpoint: hosts by role read back by a real
//! `ansible-inventory`, and the pipeline stopped by a freeze a rollback leaves, with a
//! webhook told of every event.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use support::hooks::Receiver;
use support::web::{apply, assert_ok, instances, setup, stack_file, write};
use support::{rollstack_aws, scratch, stderr, stdout};

/// Two groups whose instances carry several roles each: `www` (web, pgbouncer) and `api`
/// (web, proxy), and a `jobs` group without `web`.
fn fleet_file(name: &str) -> String {
    format!(
        r"rollstack: 1
stack: {name}
region: us-east-1
state_bucket: {name}-state
roles:
  web: {{ health: {{ running: {{}} }} }}
  pgbouncer: {{}}
  proxy: {{}}
  worker: {{}}
groups:
  www: {{ roles: [web, pgbouncer], count: 2, image: ami-0abc1234, instance_type: t3.micro }}
  api: {{ roles: [web, proxy], count: 1, image: ami-0abc1234, instance_type: t3.micro }}
  jobs: {{ roles: [worker, pgbouncer], count: 1, image: ami-0abc1234, instance_type: t3.micro }}
"
    )
}

/// `ansible-inventory --list` of an inventory script printing `inventory`.
fn ansible_inventory(dir: &Path, inventory: &str) -> serde_json::Value {
    let setup = Command::new(support::root().join("scripts/setup-ansible.sh"))
        .output()
        .expect("scripts/setup-ansible.sh runs (it needs python3 and PyPI)");
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    std::fs::write(dir.join("inventory.json"), inventory).unwrap();
    let script = dir.join("inventory.sh");
    // A dynamic inventory is asked `--list`, and answers with the JSON.
    std::fs::write(
        &script,
        "#!/bin/sh\n[ \"$1\" = --list ] && exec cat \"$(dirname \"$0\")/inventory.json\"\necho '{}'\n",
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    let output = Command::new(support::root().join(".venv-ansible/bin/ansible-inventory"))
        .args(["-i", script.to_str().unwrap(), "--list"])
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .env("ANSIBLE_LOCAL_TEMP", dir.join("ansible-tmp"))
        .env("ANSIBLE_HOME", dir.join("ansible-home"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ansible-inventory:\n{}{}",
        stdout(&output),
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).expect("ansible-inventory prints JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn hosts_by_role_read_back_as_an_ansible_inventory() {
    let name = "ops-hosts";
    let c = support::web::clients().await;
    support::web::buckets(&c, name, &[]).await;
    let dir = scratch(&[]);
    write(dir.path(), &fleet_file(name));
    assert_ok(&apply(dir.path(), &[]), "apply");
    let live = instances(&c, name).await;
    assert_eq!(live.len(), 4);
    // One `www` instance stopped by hand: running ones only, unless `--all`.
    let stopped = live
        .iter()
        .find(|(_, _, tags)| tags["rollstack:resource"] == "group.www")
        .map(|(id, _, _)| id.clone())
        .unwrap();
    c.ec2
        .stop_instances()
        .instance_ids(&stopped)
        .send()
        .await
        .unwrap();
    let web_running: BTreeSet<String> = live
        .iter()
        .filter(|(id, _, tags)| {
            *id != stopped && tags["rollstack:roles"].split(' ').any(|r| r == "web")
        })
        .map(|(id, _, _)| id.clone())
        .collect();
    assert_eq!(web_running.len(), 2, "one www and the api instance");

    let hosts = rollstack_aws(
        dir.path(),
        &[
            "hosts",
            "stack.yaml",
            "--role",
            "web",
            "--format",
            "ansible",
        ],
        &[],
    );
    assert_ok(&hosts, "hosts --format ansible");
    let inventory = ansible_inventory(dir.path(), &stdout(&hosts));
    let members = |group: &str| -> BTreeSet<String> {
        inventory[group]["hosts"]
            .as_array()
            .map(|hosts| {
                hosts
                    .iter()
                    .map(|h| h.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let hostvars = &inventory["_meta"]["hostvars"];
    let ids: BTreeSet<String> = members("web")
        .iter()
        .map(|h| hostvars[h]["rollstack_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids, web_running,
        "exactly the running web instances:\n{inventory:#}"
    );
    assert_eq!(members("group_www").len(), 1, "{inventory:#}");
    assert_eq!(members("group_api").len(), 1, "{inventory:#}");
    assert!(members("group_jobs").is_empty(), "{inventory:#}");
    assert_eq!(members("pgbouncer"), members("group_www"), "{inventory:#}");
    assert_eq!(members("proxy"), members("group_api"), "{inventory:#}");
    for host in members("web") {
        assert!(
            hostvars[&host]["ansible_host"]
                .as_str()
                .is_some_and(|ip| ip.contains('.')),
            "{host} has an address:\n{inventory:#}"
        );
    }

    // AND and OR of roles, a group, every state, and the other formats.
    let hosts_json = |extra: &[&str]| -> Vec<(String, String)> {
        let mut args = vec!["hosts", "stack.yaml", "--format", "json"];
        args.extend_from_slice(extra);
        let out = rollstack_aws(dir.path(), &args, &[]);
        assert_ok(&out, "hosts --format json");
        let hosts: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        hosts
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["name"].as_str().unwrap().to_owned(),
                    h["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let both = hosts_json(&["--role", "web+pgbouncer"]);
    assert_eq!(both.len(), 1, "{both:?}");
    assert_ne!(both[0].1, stopped);
    let www_running = both[0].0.clone();
    let www_all = hosts_json(&["--group", "www", "--all"]);
    // `n` counts launch order, oldest first; the stopped one keeps its number.
    assert_eq!(
        www_all
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([
            format!("{name}-default-www-0").as_str(),
            format!("{name}-default-www-1").as_str()
        ])
    );
    assert!(
        www_all
            .iter()
            .any(|(n, id)| *n == www_running && *id == both[0].1)
    );
    assert_eq!(
        hosts_json(&["--role", "proxy", "--role", "worker"]).len(),
        2
    );
    assert_eq!(
        hosts_json(&["--role", "pgbouncer"]).len(),
        2,
        "stopped www left out"
    );
    let config = rollstack_aws(
        dir.path(),
        &[
            "hosts",
            "stack.yaml",
            "--role",
            "web",
            "--format",
            "ssh-config",
        ],
        &[],
    );
    assert!(
        stdout(&config).contains(&format!("Host {www_running}\n  HostName ")),
        "{}",
        stdout(&config)
    );
    let table = rollstack_aws(dir.path(), &["hosts", "stack.yaml", "--all"], &[]);
    assert!(stdout(&table).contains("stopped"), "{}", stdout(&table));

    // A role the file does not have is an error, not an empty list.
    let typo = rollstack_aws(dir.path(), &["hosts", "stack.yaml", "--role", "wbe"], &[]);
    assert_eq!(typo.status.code(), Some(1));
    assert!(stderr(&typo).contains("no role `wbe`"), "{}", stderr(&typo));
    assert!(stderr(&typo).contains("`web`"), "{}", stderr(&typo));
}

/// A webhook that takes connections and never answers.
fn silent() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

const SECRET: &str = "T0KEN-s3cr3t";

fn notify_section(receiver: u16, silent: u16) -> String {
    format!(
        r#"notify:
  timeout: 1s
  webhooks:
    - {{ url: "http://127.0.0.1:{receiver}/json" }}
    - {{ url: {{ from_env: OPS_HOOK }}, format: slack }}
    - {{ url: "http://127.0.0.1:{silent}/never", events: [started] }}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_release_freezes_the_environment_and_every_event_is_told() {
    let name = "ops-freeze";
    let (c, _agent, dir) = setup(name, &["1.0.0", "2.0.0"], &["web@2.0.0"]).await;
    let receiver = Receiver::start();
    let notify = notify_section(receiver.port, silent());
    let hook = format!("http://127.0.0.1:{}/slack/{SECRET}", receiver.port);
    let vars = [("OPS_HOOK", hook.as_str())];
    let rollout = "{ max_surge: 1, max_unavailable: 0, health_timeout: 20s }";
    let file = |version: &str, count: u32| {
        format!("{}{notify}", stack_file(name, version, count, rollout))
    };
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &vars);
    let apply_args = [
        "apply",
        "stack.yaml",
        "--auto-approve",
        "--poll-interval",
        "100ms",
    ];
    let mut outputs = Vec::new();

    write(dir.path(), &file("1.0.0", 2));
    let first = run(&apply_args);
    assert_ok(&first, "apply 1.0.0");
    assert!(
        stderr(&first).contains("warning: webhook `http://127.0.0.1:")
            && stderr(&first).contains("was not told `started`: it did not answer in time"),
        "the silent webhook is a warning:\n{}",
        stderr(&first)
    );
    outputs.push(first);

    // 2.0.0 fails its health check: rolled back, and frozen with the reason.
    write(dir.path(), &file("2.0.0", 2));
    let failed = run(&apply_args);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert!(
        stderr(&failed).contains("is now frozen by")
            && stderr(&failed).contains("(by `apply`): web@2.0.0 failed and was rolled back"),
        "{}",
        stderr(&failed)
    );
    assert_eq!(support::web::releases(&c, name).await.len(), 1);
    outputs.push(failed);

    // The same file again (CI re-running the merge): refused, nothing written.
    let entries = || {
        let out = run(&["history", "stack.yaml", "--format", "json"]);
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let before = entries().as_array().unwrap().len();
    let again = run(&apply_args);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains(&format!("error: `{name}` / `default` is frozen by"))
            && stderr(&again).contains("web@2.0.0 failed and was rolled back")
            && stderr(&again).contains("`apply` does not run while it is")
            && stderr(&again).contains("rollstack unfreeze stack.yaml --env default"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        entries().as_array().unwrap().len(),
        before,
        "no history written"
    );
    outputs.push(again);

    // Plan, status and history show it.
    let plan = run(&["plan", "stack.yaml"]);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"frozen by \S+ since \S+", "frozen by [who] since [time]");
    settings.add_filter(r"\bi-[0-9a-f]{8,17}\b", "i-[id]");
    settings.bind(|| insta::assert_snapshot!("frozen_plan", stdout(&plan)));
    assert!(
        stdout(&plan).contains("Frozen: this environment is frozen by"),
        "{}",
        stdout(&plan)
    );
    let markdown = run(&["plan", "stack.yaml", "--format", "markdown"]);
    assert!(
        stdout(&markdown).contains("> [!WARNING]\n> **Frozen**"),
        "{}",
        stdout(&markdown)
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run(&["plan", "stack.yaml", "--format", "json"]))).unwrap();
    assert_eq!(json["freeze"]["by"], "apply");
    let status = run(&["status", "stack.yaml"]);
    assert!(
        stdout(&status).contains("freeze: frozen by"),
        "{}",
        stdout(&status)
    );

    // `--ignore-freeze` goes on (recorded), and the freeze stays.
    write(dir.path(), &file("1.0.0", 3));
    let mut ignoring = apply_args.to_vec();
    ignoring.push("--ignore-freeze");
    let ignored = run(&ignoring);
    assert_ok(&ignored, "apply --ignore-freeze");
    let last = entries().as_array().unwrap().last().cloned().unwrap();
    assert_eq!(last["ignored_freeze"]["by"], "apply", "{last:#}");
    let history = stdout(&run(&["history", "stack.yaml"]));
    assert!(
        history.starts_with("Frozen: this environment is frozen by"),
        "{history}"
    );
    assert!(
        history.contains("--ignore-freeze: ran while frozen by"),
        "{history}"
    );
    assert!(
        history.contains("froze the environment: web@2.0.0 failed"),
        "{history}"
    );
    outputs.push(ignored);

    // Unfrozen, the apply proceeds.
    let unfrozen = run(&["unfreeze", "stack.yaml"]);
    assert_ok(&unfrozen, "unfreeze");
    assert!(
        stdout(&unfrozen).contains("Unfroze"),
        "{}",
        stdout(&unfrozen)
    );
    write(dir.path(), &file("1.0.0", 2));
    let proceeds = run(&apply_args);
    assert_ok(&proceeds, "apply after unfreeze");
    outputs.push(proceeds);

    // `rollstack rollback` freezes too: what it replaced is not to come back by itself.
    let rollback = run(&[
        "rollback",
        "stack.yaml",
        "--auto-approve",
        "--poll-interval",
        "100ms",
    ]);
    assert_ok(&rollback, "rollback");
    assert!(
        stderr(&rollback).contains("(by `rollback`): rolled back to web@1.0.0"),
        "{}",
        stderr(&rollback)
    );
    assert_ok(&run(&["unfreeze", "stack.yaml"]), "unfreeze after rollback");

    // A freeze by hand holds it too, naming who and why.
    let frozen = run(&[
        "freeze",
        "stack.yaml",
        "--reason",
        "incident 42: checkout errors",
    ]);
    assert_ok(&frozen, "freeze");
    write(dir.path(), &file("1.0.0", 3));
    let held = run(&apply_args);
    assert_eq!(held.status.code(), Some(1));
    assert!(
        stderr(&held).contains(": incident 42: checkout errors"),
        "{}",
        stderr(&held)
    );
    assert_ok(&run(&["unfreeze", "stack.yaml"]), "unfreeze");

    // One notification per event, in order, with the documented fields.
    assert_eq!(
        receiver.events(),
        [
            "started",
            "succeeded", // 1.0.0
            "started",
            "rolled_back",
            "frozen", // 2.0.0
            "started",
            "succeeded", // --ignore-freeze
            "unfrozen",
            "started",
            "succeeded", // after unfreeze
            "started",
            "succeeded",
            "frozen",
            "unfrozen", // rollback
            "frozen",
            "unfrozen", // by hand
        ]
    );
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::root().join("schemas/notification.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let json = receiver.bodies("/json");
    for body in &json {
        let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{body:#}");
        assert_eq!(body["schema"], "rollstack.notification/v1");
        assert_eq!(body["stack"], name);
        assert_eq!(body["environment"], "default");
        assert!(
            body["who"].as_str().is_some_and(|w| w.contains('@')),
            "{body:#}"
        );
        assert_eq!(body["identity"]["account"], "123456789012", "{body:#}");
    }
    let rolled_back = &json[3];
    assert_eq!(rolled_back["command"], "apply");
    assert_eq!(
        rolled_back["releases"]["before"],
        serde_json::json!(["web@1.0.0"])
    );
    assert_eq!(
        rolled_back["releases"]["after"],
        serde_json::json!(["web@2.0.0"])
    );
    assert_eq!(
        rolled_back["summary"]["replace_instances"], 2,
        "{rolled_back:#}"
    );
    assert!(rolled_back["plan"].as_str().unwrap().starts_with("Plan: "));
    assert!(rolled_back["duration_secs"].is_u64() && rolled_back["history"].is_u64());
    assert!(rolled_back["message"].as_str().is_some(), "{rolled_back:#}");
    assert!(
        json[4]["freeze"]["reason"]
            .as_str()
            .unwrap()
            .contains("web@2.0.0 failed")
    );
    assert_eq!(json[15]["freeze"]["reason"], "incident 42: checkout errors");
    assert_eq!(json[12]["command"], "rollback");
    assert_eq!(json[12]["freeze"]["by"], "rollback");
    let slack = receiver.bodies("/slack/");
    assert_eq!(
        slack.len(),
        json.len(),
        "the slack webhook gets every event too"
    );
    assert!(
        slack[3]["text"].as_str().unwrap().contains("`apply` by ")
            && slack[3]["text"]
                .as_str()
                .unwrap()
                .contains("failed and rolled back, web@1.0.0 -> web@2.0.0"),
        "{:#}",
        slack[3]
    );

    // The secret URL is never shown, sent or stored.
    let sent = serde_json::to_string(&[json, slack]).unwrap();
    assert!(!sent.contains(SECRET));
    for output in &outputs {
        assert!(!stdout(output).contains(SECRET) && !stderr(output).contains(SECRET));
    }
    assert!(!entries().to_string().contains(SECRET));
}
