//! Workspaces through the real binary against the local endpoint: several stack files
//! planned and applied in the order their outputs flow, consumers planned against
//! `(known after apply of PRODUCER)` rather than stale values, a failed stack stopping
//! only the stacks that read it, and a loop of stacks refused before any AWS call. One
//! set of stack names per test.

mod support;

use std::path::Path;

use aws_sdk_ec2::types::Filter;
use support::web::{clients, instance_user_data, running};
use support::{Clients, ECHO, rollstack, rollstack_aws, scratch, stderr, stdout};

/// A queue with its URL as an output.
const QUEUE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  Url:
    Value: !Ref Queue
"#;

/// The network: a security group and a CloudFormation stack, published as outputs.
fn network(prefix: &str, place: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {prefix}-net
region: us-east-1
state_bucket: {prefix}-net-state
security_groups:
  web:
    description: web tier
    ingress: [{{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}]
cloudformation:
  queue: {{ template: queue.yaml }}
outputs:
  web_sg: "${{security_groups.web.id}}"
  queue_url: "${{outputs.queue.Url}}"
  place: "${{region}}/{place}"
"#
    )
}

/// The database: reads the network, publishes an endpoint of its own.
fn db(prefix: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {prefix}-db
region: us-east-1
state_bucket: {prefix}-db-state
cloudformation:
  db:
    template: echo.yaml
    parameters:
      Given: "${{stacks.{prefix}-net.queue_url}}"
outputs:
  endpoint: "${{outputs.db.Given}}"
"#
    )
}

/// The shop: two instances whose user data reads both, and a CloudFormation parameter
/// that reads the network's security group.
fn shop(prefix: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {prefix}-shop
region: us-east-1
state_bucket: {prefix}-shop-state
roles:
  web: {{ health: {{ running: {{}} }} }}
groups:
  web:
    roles: [web]
    count: 2
    image: ami-0abc1234
    instance_type: t3.micro
    user_data: web.sh.j2
    security_groups: ["${{stacks.{prefix}-net.web_sg}}"]
    rollout: {{ max_surge: 1, max_unavailable: 0, health_timeout: 1m }}
cloudformation:
  echo:
    template: echo.yaml
    parameters:
      Given: "${{stacks.{prefix}-net.web_sg}}"
"#
    )
}

fn user_data(prefix: &str) -> String {
    format!(
        "#!/bin/sh\nPLACE={{{{ stacks[\"{prefix}-net\"].place }}}}\nSG={{{{ stacks[\"{prefix}-net\"].web_sg }}}}\nDB={{{{ stacks[\"{prefix}-db\"].endpoint }}}}\n"
    )
}

async fn state_buckets(c: &Clients, names: &[String]) {
    for name in names {
        c.s3.create_bucket()
            .bucket(format!("{name}-state"))
            .send()
            .await
            .unwrap();
    }
}

/// The security groups of each running instance of stack `name`.
async fn instance_security_groups(c: &Clients, name: &str) -> Vec<Vec<String>> {
    running(c, name)
        .await
        .iter()
        .map(|i| {
            i.security_groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// The published outputs of stack `name`.
async fn published(c: &Clients, name: &str) -> serde_json::Value {
    let stored =
        c.s3.get_object()
            .bucket(format!("{name}-state"))
            .key(format!("rollstack/{name}/default/outputs.json"))
            .send()
            .await
            .expect("the published outputs");
    let body = stored.body.collect().await.unwrap().into_bytes();
    serde_json::from_slice(&body).unwrap()
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    rollstack_aws(dir, args, &[])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_applies_in_order_and_consumers_read_what_producers_publish() {
    let p = "wsa";
    let c = clients().await;
    let names = ["net", "db", "shop"].map(|s| format!("{p}-{s}"));
    state_buckets(&c, &names).await;
    let dir = scratch(&[
        ("stacks/network.yaml", &network(p, "one")),
        ("stacks/db.yaml", &db(p)),
        ("stacks/shop.yaml", &shop(p)),
        ("stacks/queue.yaml", QUEUE),
        ("stacks/echo.yaml", ECHO),
        ("stacks/web.sh.j2", &user_data(p)),
    ]);
    let dir = dir.path();
    applies_from_empty_in_order(&c, dir, &names).await;
    let applied = an_output_change_reaches_the_consumer(&c, dir).await;

    // JSON: one document, a plan per stack in order.
    let json = run(dir, &["plan", "stacks", "--format", "json"]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let stacks: Vec<&str> = document["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stack"].as_str().unwrap())
        .collect();
    assert_eq!(stacks, names.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(document["stacks"][2]["plan"]["stack"], "wsa-shop");

    // The run is one thing to look up in the history of every stack it changed (the
    // db had nothing to do, and wrote nothing).
    let id = stdout(&applied)
        .split("Workspace run `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("the run's id")
        .to_owned();
    let history = run(dir, &["history", "stacks", "--run", &id]);
    let text = stdout(&history);
    let line = format!("workspace run `{id}` of `wsa-net`, `wsa-db` and `wsa-shop`");
    assert_eq!(text.matches(&line).count(), 2, "{text}");
    let none = format!("No applies of workspace run `{id}` recorded for wsa-db/default.");
    assert!(text.contains(&none), "{text}");

    saved_plans_go_stale_when_a_producer_publishes_anew(dir).await;
    destroy_is_refused_while_a_stack_reads_the_outputs(dir);
    changed_since_selects_changed_stacks_and_their_consumers(dir);
}

/// The graph of stacks, the plan from empty (consumers planned against what the
/// producers will publish), and the apply in order: the consumers' instances carry the
/// producers' real values.
async fn applies_from_empty_in_order(c: &Clients, dir: &Path, names: &[String]) {
    let graph = run(dir, &["graph", "stacks"]);
    assert_eq!(
        stdout(&graph),
        "wsa-net\nwsa-db    -> wsa-net\nwsa-shop  -> wsa-db, wsa-net\n"
    );
    let planned = run(dir, &["plan", "stacks", "--detailed-exitcode"]);
    assert_eq!(planned.status.code(), Some(2), "{}", stderr(&planned));
    let text = stdout(&planned);
    assert!(text.contains("+ place: us-east-1/one"), "{text}");
    assert!(
        text.contains("+PLACE=(known after apply of wsa-net)"),
        "{text}"
    );
    assert!(text.contains("+DB=(known after apply of wsa-db)"), "{text}");
    assert!(text.contains("Workspace: 3 stacks, in order:"), "{text}");

    let applied = run(dir, &["apply", "stacks", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let text = stdout(&applied);
    let order: Vec<usize> = names
        .iter()
        .map(|n| {
            text.find(&format!("=== stack `{n}`"))
                .expect("each stack is applied")
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "in order: {text}");
    assert!(text.contains("  wsa-shop: converged"), "{text}");

    let net = published(c, "wsa-net").await;
    let db = published(c, "wsa-db").await;
    let sg = net["outputs"]["web_sg"].as_str().unwrap().to_owned();
    assert!(sg.starts_with("sg-"), "{net}");
    let endpoint = db["outputs"]["endpoint"].as_str().unwrap().to_owned();
    assert_eq!(endpoint, net["outputs"]["queue_url"].as_str().unwrap());
    let data = instance_user_data(c, "wsa-shop").await;
    assert_eq!(data.len(), 2);
    for d in &data {
        assert!(d.contains("PLACE=us-east-1/one"), "{d}");
        assert!(d.contains(&format!("SG={sg}")), "{d}");
        assert!(d.contains(&format!("DB={endpoint}")), "{d}");
    }
    let groups = instance_security_groups(c, "wsa-shop").await;
    assert_eq!(
        groups,
        vec![vec![sg.clone()]; 2],
        "they join the network's group"
    );
    let clean = run(dir, &["plan", "stacks", "--detailed-exitcode"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}

/// An output's source changes: the network publishes it, the shop's user data waits on
/// it (never the old value), and the shop is replaced after the network. Returns the
/// apply.
async fn an_output_change_reaches_the_consumer(c: &Clients, dir: &Path) -> std::process::Output {
    std::fs::write(dir.join("stacks/network.yaml"), network("wsa", "two")).unwrap();
    let planned = run(dir, &["plan", "stacks", "--detailed-exitcode"]);
    assert_eq!(planned.status.code(), Some(2), "{}", stderr(&planned));
    let text = stdout(&planned);
    assert!(
        text.contains("~ place: us-east-1/one -> us-east-1/two"),
        "{text}"
    );
    assert!(
        text.contains("+PLACE=(known after apply of wsa-net)"),
        "{text}"
    );
    assert!(!text.contains("+PLACE=us-east-1/one"), "{text}");
    let reason =
        "launch spec reads outputs that stack `wsa-net` changes: replaced once wsa-net is applied";
    assert!(text.contains(reason), "{text}");
    assert!(text.contains("  wsa-db: no changes"), "{text}");

    let applied = run(dir, &["apply", "stacks", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let data = instance_user_data(c, "wsa-shop").await;
    assert_eq!(data.len(), 2);
    assert!(
        data.iter().all(|d| d.contains("PLACE=us-east-1/two")),
        "{data:?}"
    );
    let clean = run(dir, &["plan", "stacks", "--detailed-exitcode"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    applied
}

/// A saved plan of the shop, made before the network published a new value of an
/// output it reads, is refused, naming the output.
async fn saved_plans_go_stale_when_a_producer_publishes_anew(dir: &Path) {
    let saved = run(
        dir,
        &["plan", "stacks/shop.yaml", "--out", "shop.plan.json"],
    );
    assert!(saved.status.success(), "{}", stderr(&saved));
    std::fs::write(dir.join("stacks/network.yaml"), network("wsa", "three")).unwrap();
    let applied = run(dir, &["apply", "stacks/network.yaml", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let refused = run(dir, &["apply", "shop.plan.json", "--auto-approve"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let err = stderr(&refused);
    assert!(
        err.contains(
            "plan is stale: stack `wsa-net` published a new `place` since the plan was made"
        ),
        "{err}"
    );
    let applied = run(dir, &["apply", "stacks", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));

    // Saved plans of the whole workspace, applied in order: the network's goes through,
    // the shop's (made against the place the network was about to change) is refused.
    std::fs::write(dir.join("stacks/network.yaml"), network("wsa", "four")).unwrap();
    let saved = run(
        dir,
        &[
            "plan",
            "stacks",
            "--out-dir",
            "plans",
            "--format",
            "markdown",
        ],
    );
    assert!(saved.status.success(), "{}", stderr(&saved));
    let body = std::fs::read_to_string(dir.join("plans/wsa-shop.md")).unwrap();
    assert!(
        body.starts_with("<!-- rollstack plan: stack=wsa-shop env=default -->"),
        "{body}"
    );
    let plans = ["wsa-shop", "wsa-net", "wsa-db"].map(|s| format!("plans/{s}.plan.json"));
    let mut args = vec!["apply", "--auto-approve"];
    args.extend(plans.iter().map(String::as_str));
    let applied = run(dir, &args);
    assert_eq!(applied.status.code(), Some(1), "{}", stdout(&applied));
    let (out, err) = (stdout(&applied), stderr(&applied));
    assert!(
        out.contains("  wsa-net: converged\n  wsa-db: converged\n  wsa-shop: failed"),
        "{out}"
    );
    assert!(
        err.contains("stack `wsa-net` published a new `place`"),
        "{err}"
    );
    let applied = run(dir, &["apply", "stacks", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
}

/// The network cannot be destroyed while the db and the shop read it.
fn destroy_is_refused_while_a_stack_reads_the_outputs(dir: &Path) {
    let refused = run(dir, &["destroy", "stacks/network.yaml", "--auto-approve"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let err = stderr(&refused);
    assert!(
        err.contains("stack `wsa-net` publishes outputs that `wsa-db`, `wsa-shop` read"),
        "{err}"
    );
    assert!(err.contains("or pass `--force`"), "{err}");
}

/// `--changed-since`: a changed producer takes its consumers; a changed consumer is
/// taken alone.
fn changed_since_selects_changed_stacks_and_their_consumers(dir: &Path) {
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.email=ci@example.com", "-c", "user.name=ci"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "stacks"]);
    git(&["commit", "-q", "-m", "workspace"]);
    let network_file = dir.join("stacks/network.yaml");
    let before = std::fs::read_to_string(&network_file).unwrap();
    std::fs::write(&network_file, format!("{before}# a comment\n")).unwrap();
    let planned = run(dir, &["plan", "stacks", "--changed-since", "main"]);
    assert!(planned.status.success(), "{}", stderr(&planned));
    let err = stderr(&planned);
    assert!(err.contains("Stacks changed since `main`:"), "{err}");
    assert!(err.contains("  wsa-net: network.yaml changed"), "{err}");
    assert!(
        err.contains("  wsa-db: uses wsa-net, which changed"),
        "{err}"
    );
    assert!(
        err.contains("  wsa-shop: uses wsa-net, which changed"),
        "{err}"
    );

    std::fs::write(&network_file, before).unwrap();
    let shop_file = dir.join("stacks/shop.yaml");
    let shop = std::fs::read_to_string(&shop_file).unwrap();
    std::fs::write(&shop_file, format!("{shop}# a comment\n")).unwrap();
    let planned = run(dir, &["plan", "stacks", "--changed-since", "main"]);
    assert!(planned.status.success(), "{}", stderr(&planned));
    let (out, err) = (stdout(&planned), stderr(&planned));
    assert!(err.contains("  wsa-shop: shop.yaml changed"), "{err}");
    assert!(
        !err.contains("wsa-net:") && !err.contains("wsa-db:"),
        "{err}"
    );
    assert!(out.contains("Workspace: 1 stack, in order:"), "{out}");

    let bad = run(dir, &["plan", "stacks", "--changed-since", "no-such-ref"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("`no-such-ref` is not a commit git knows here"),
        "{}",
        stderr(&bad)
    );
}

/// The database, broken: its release is not uploaded.
fn broken_db(prefix: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {prefix}-db
region: us-east-1
state_bucket: {prefix}-db-state
releases: {{ bucket: {prefix}-releases }}
apps:
  schema: {{ version: "9.9.9" }}
outputs:
  endpoint: "${{stacks.{prefix}-net.queue_url}}"
"#
    )
}

/// A stack of its own.
fn blog(prefix: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {prefix}-blog
region: us-east-1
state_bucket: {prefix}-blog-state
security_groups:
  blog: {{ description: blog }}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_stack_stops_the_stacks_that_read_it_and_no_other() {
    let p = "wsb";
    let c = clients().await;
    let names = ["net", "db", "shop", "blog"].map(|s| format!("{p}-{s}"));
    state_buckets(&c, &names).await;
    c.s3.create_bucket()
        .bucket(format!("{p}-releases"))
        .send()
        .await
        .unwrap();
    let dir = scratch(&[
        ("stacks/network.yaml", &network(p, "one")),
        ("stacks/db.yaml", &broken_db(p)),
        ("stacks/shop.yaml", &shop(p)),
        ("stacks/blog.yaml", &blog(p)),
        ("stacks/queue.yaml", QUEUE),
        ("stacks/echo.yaml", ECHO),
        ("stacks/web.sh.j2", &user_data(p)),
    ]);
    let dir = dir.path();
    // Independent stacks at once: the network and the blog start together.
    let args = [
        "apply",
        "stacks",
        "--auto-approve",
        "--stack-parallelism",
        "3",
    ];
    let applied = run(dir, &args);
    assert_eq!(applied.status.code(), Some(1), "{}", stdout(&applied));
    let (out, err) = (stdout(&applied), stderr(&applied));
    assert!(
        err.contains("release artifact of app `schema` version `9.9.9` not found"),
        "{err}"
    );
    assert!(
        err.contains(
            "stack `wsb-shop` is not applied: it reads stack `wsb-db`, which did not converge"
        ),
        "{err}"
    );
    assert!(out.contains("  wsb-net: converged"), "{out}");
    assert!(out.contains("  wsb-db: failed"), "{out}");
    assert!(
        out.contains("  wsb-shop: not applied: it reads stack `wsb-db`"),
        "{out}"
    );
    assert!(out.contains("  wsb-blog: converged"), "{out}");
    // The shop was not touched; the independent blog was applied.
    let shop = c
        .ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:rollstack:stack")
                .values("wsb-shop")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(shop.reservations().is_empty());
    let blog = c
        .ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values("wsb-blog-default-blog")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(blog.security_groups().len(), 1);
}

/// A consumer that reads the `shared` environment of the network, named in `uses:`.
fn app(prefix: &str, producer: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {prefix}-app
region: us-east-1
state_bucket: {prefix}-app-state
uses:
  {producer}: {{ env: shared }}
outputs:
  net_place: "${{stacks.{prefix}-net.place}}"
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn uses_maps_a_stack_to_another_environment_and_names_are_checked() {
    let p = "wsc";
    let c = clients().await;
    let names = ["net", "app"].map(|s| format!("{p}-{s}"));
    state_buckets(&c, &names).await;
    let shared = format!("{}environments:\n  shared: {{}}\n", network(p, "shared"));
    let dir = scratch(&[
        ("network.yaml", &shared),
        ("app.yaml", &app(p, "wsc-nett")),
        ("queue.yaml", QUEUE),
    ]);
    let dir = dir.path();
    let invalid = run(dir, &["validate", "app.yaml"]);
    assert_eq!(invalid.status.code(), Some(1));
    let err = stderr(&invalid);
    assert!(
        err.contains("no stack `wsc-nett` beside this file"),
        "{err}"
    );
    assert!(err.contains("did you mean `wsc-net`?"), "{err}");
    std::fs::write(dir.join("app.yaml"), app(p, "wsc-net")).unwrap();

    let applied = run(
        dir,
        &["apply", "network.yaml", "--env", "shared", "--auto-approve"],
    );
    assert!(applied.status.success(), "{}", stderr(&applied));
    let planned = run(dir, &["plan", "app.yaml"]);
    assert!(planned.status.success(), "{}", stderr(&planned));
    let text = stdout(&planned);
    assert!(text.contains("+ net_place: us-east-1/shared"), "{text}");
    let policy = run(dir, &["iam-policy", "app.yaml", "--for", "plan"]);
    let text = stdout(&policy);
    assert!(
        text.contains("wsc-net-state/rollstack/wsc-net/shared/outputs.json"),
        "{text}"
    );
}

#[test]
fn a_loop_of_stacks_is_refused_naming_it_before_any_aws_call() {
    let stack = |name: &str, reads: &str| {
        format!(
            "rollstack: 1\nstack: {name}\nregion: us-east-1\nstate_bucket: {name}-state\noutputs:\n  here: \"${{region}}\"\n  there: \"${{stacks.{reads}.here}}\"\n"
        )
    };
    let dir = scratch(&[("a.yaml", &stack("a", "b")), ("b.yaml", &stack("b", "a"))]);
    // An endpoint nothing listens on: any AWS call would fail on it, and say so.
    for command in ["validate", "plan", "apply"] {
        let mut args = vec![command, "."];
        if command != "validate" {
            args.extend(["--endpoint-url", "http://127.0.0.1:9"]);
        }
        let refused = rollstack(dir.path(), &args);
        assert_eq!(refused.status.code(), Some(1), "{command}");
        let err = stderr(&refused);
        assert!(
            err.contains("stacks read each other's outputs in a loop: `a` -> `b` -> `a`"),
            "{command}: {err}"
        );
        assert!(
            err.contains("hint: a stack may read only stacks that do not read it back"),
            "{err}"
        );
        assert!(!err.contains("127.0.0.1:9"), "{command} called AWS: {err}");
    }
}
