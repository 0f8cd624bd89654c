//! Ephemeral environments through the real binary against the local endpoint: `env up`,
//! `env list`, `env down`, `env gc` with a clock moved forward, and the refusals.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Filter;
use support::{Clients, rollstack_aws, scratch, stderr, stdout};

const QUEUE: &str = r#"Resources:
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  Url:
    Value: !Ref Queue
"#;

fn stack_file(name: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {name}
region: us-east-1
state_bucket: {name}-state
security_groups:
  web:
    description: web tier
    ingress: [{{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}]
roles:
  web: {{ health: {{ running: {{}} }} }}
groups:
  web:
    roles: [web]
    count: 2
    image: ami-0abc1234
    instance_type: t3.small
    security_groups: [web]
cloudformation:
  queue:
    template: queue.yaml
environments:
  prod: {{}}
  pr:
    ephemeral: {{ ttl: 24h }}
    groups:
      web: {{ count: 1, instance_type: t3.micro }}
"#
    )
}

async fn setup(name: &str) -> (Clients, tempfile::TempDir) {
    let c = support::moto().clients().await;
    c.s3.create_bucket()
        .bucket(format!("{name}-state"))
        .send()
        .await
        .unwrap();
    let dir = scratch(&[("stack.yaml", &stack_file(name)), ("queue.yaml", QUEUE)]);
    (c, dir)
}

/// Everything of environment `env` of stack `name` that is live: (kind, AWS name or id).
async fn owned(c: &Clients, name: &str, env: &str) -> BTreeSet<(String, String)> {
    let filters = || {
        vec![
            Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
            Filter::builder()
                .name("tag:rollstack:env")
                .values(env)
                .build(),
        ]
    };
    let mut found = BTreeSet::new();
    let instances = c
        .ec2
        .describe_instances()
        .set_filters(Some(filters()))
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    for i in instances.reservations().iter().flat_map(|r| r.instances()) {
        found.insert(("instance".to_owned(), i.instance_id().unwrap().to_owned()));
    }
    let groups = c
        .ec2
        .describe_security_groups()
        .set_filters(Some(filters()))
        .send()
        .await
        .unwrap();
    for g in groups.security_groups() {
        found.insert((
            "security group".to_owned(),
            g.group_name().unwrap().to_owned(),
        ));
    }
    let templates = c
        .ec2
        .describe_launch_templates()
        .set_filters(Some(filters()))
        .send()
        .await
        .unwrap();
    for t in templates.launch_templates() {
        found.insert((
            "launch template".to_owned(),
            t.launch_template_name().unwrap().to_owned(),
        ));
    }
    let stacks = c.cloudformation.describe_stacks().send().await.unwrap();
    for s in stacks.stacks() {
        let tag = |key: &str| {
            s.tags()
                .iter()
                .find(|t| t.key() == Some(key))
                .and_then(|t| t.value())
        };
        if tag("rollstack:stack") == Some(name) && tag("rollstack:env") == Some(env) {
            found.insert((
                "CloudFormation stack".to_owned(),
                s.stack_name().unwrap().to_owned(),
            ));
        }
    }
    found
}

/// `rollstack apply stack.yaml --env prod`, which must succeed.
fn apply_prod(dir: &std::path::Path) {
    let out = rollstack_aws(
        dir,
        &[
            "apply",
            "stack.yaml",
            "--env",
            "prod",
            "--auto-approve",
            "--poll-interval",
            "200ms",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

fn names(found: &BTreeSet<(String, String)>, kind: &str) -> Vec<String> {
    found
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, n)| n.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_environments_from_one_file_are_disjoint_and_down_removes_only_one() {
    let name = "env-two";
    let (c, dir) = setup(name).await;
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &[]);
    let up = |env: &str| {
        let out = run(&[
            "env",
            "up",
            "stack.yaml",
            env,
            "--from",
            "pr",
            "--auto-approve",
            "--poll-interval",
            "200ms",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    up("pr-1");
    up("pr-2");
    apply_prod(dir.path());

    let pr1 = owned(&c, name, "pr-1").await;
    let pr2 = owned(&c, name, "pr-2").await;
    let prod_before = owned(&c, name, "prod").await;
    assert!(pr1.is_disjoint(&pr2));
    assert_eq!(
        names(&pr1, "security group"),
        vec![format!("{name}-pr-1-web")]
    );
    assert_eq!(
        names(&pr2, "CloudFormation stack"),
        vec![format!("{name}-pr-2-queue")]
    );
    assert_eq!(names(&pr1, "instance").len(), 1, "the overlay's count");
    assert_eq!(names(&prod_before, "instance").len(), 2);

    // Tagged with overlay and expiry; listed from AWS with both.
    let groups = c
        .ec2
        .describe_security_groups()
        .group_names(format!("{name}-pr-1-web"))
        .send()
        .await
        .unwrap();
    let tags: std::collections::BTreeMap<&str, &str> = groups.security_groups()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags["rollstack:env"], "pr-1");
    assert_eq!(tags["rollstack:overlay"], "pr");
    assert!(tags["rollstack:expires-at"].ends_with('Z'), "{tags:?}");
    let listed = run(&["env", "list", "stack.yaml", "--format", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&listed)).unwrap();
    let rows: Vec<(String, bool, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["expires_at"].is_string(),
                r["expired"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("pr-1".to_owned(), true, false),
            ("pr-2".to_owned(), true, false),
            ("prod".to_owned(), false, false),
        ]
    );
    let text = stdout(&run(&["env", "list", "stack.yaml"]));
    assert!(text.contains("1 t3.micro"), "{text}");
    assert!(text.contains("never (long-lived)"), "{text}");

    // Down: pr-1 goes entirely; pr-2 and prod are as they were. Again: nothing to do.
    let down = run(&["env", "down", "stack.yaml", "pr-1", "--auto-approve"]);
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(owned(&c, name, "pr-1").await.is_empty());
    assert_eq!(owned(&c, name, "pr-2").await, pr2);
    assert_eq!(owned(&c, name, "prod").await, prod_before);
    let again = run(&["env", "down", "stack.yaml", "pr-1", "--auto-approve"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("nothing to destroy"),
        "{}",
        stdout(&again)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_destroys_exactly_the_expired_environments() {
    let name = "env-gc";
    let (c, dir) = setup(name).await;
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &[]);
    let now = "2026-11-20T12:00:00Z";
    for (env, ttl) in [("pr-short", "1h"), ("pr-long", "48h")] {
        let out = run(&[
            "env",
            "up",
            "stack.yaml",
            env,
            "--from",
            "pr",
            "--ttl",
            ttl,
            "--now",
            now,
            "--auto-approve",
            "--poll-interval",
            "200ms",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    apply_prod(dir.path());
    let long_before = owned(&c, name, "pr-long").await;
    let prod_before = owned(&c, name, "prod").await;

    let later = "2026-11-20T14:00:00Z";
    let dry = run(&["env", "gc", "stack.yaml", "--now", later, "--dry-run"]);
    assert!(
        stdout(&dry).contains("would destroy pr-short"),
        "{}",
        stdout(&dry)
    );
    assert!(
        !owned(&c, name, "pr-short").await.is_empty(),
        "a dry run destroys nothing"
    );

    let gc = run(&["env", "gc", "stack.yaml", "--now", later]);
    let report = stdout(&gc);
    assert!(gc.status.success(), "{}{}", report, stderr(&gc));
    assert!(report.contains("destroyed  pr-short"), "{report}");
    assert!(report.contains("kept       pr-long"), "{report}");
    assert!(
        report.contains("kept       prod  (no expiry: long-lived)"),
        "{report}"
    );
    assert!(owned(&c, name, "pr-short").await.is_empty());
    assert_eq!(owned(&c, name, "pr-long").await, long_before);
    assert_eq!(owned(&c, name, "prod").await, prod_before);

    let second = run(&["env", "gc", "stack.yaml", "--now", later]);
    assert!(second.status.success());
    assert!(
        stdout(&second).contains("nothing expired"),
        "{}",
        stdout(&second)
    );
    assert_eq!(owned(&c, name, "pr-long").await, long_before);

    // `env up` again moves the expiry (nothing else changes).
    let again = run(&[
        "env",
        "up",
        "stack.yaml",
        "pr-long",
        "--from",
        "pr",
        "--ttl",
        "48h",
        "--now",
        later,
        "--auto-approve",
    ]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(owned(&c, name, "pr-long").await, long_before);
    let listed = run(&[
        "env",
        "list",
        "stack.yaml",
        "--format",
        "json",
        "--now",
        later,
    ]);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&listed)).unwrap();
    let long = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pr-long")
        .unwrap();
    assert_eq!(long["expires_at"], "2026-11-22T14:00:00Z", "{long}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_exit_1_and_change_nothing() {
    let name = "env-refuse";
    let (c, dir) = setup(name).await;
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &[]);
    apply_prod(dir.path());
    let before = owned(&c, name, "prod").await;

    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "env",
                "up",
                "stack.yaml",
                "x-1",
                "--from",
                "prod",
                "--auto-approve",
            ],
            "overlay `prod` is not ephemeral",
        ),
        (
            &[
                "env",
                "up",
                "stack.yaml",
                "prod",
                "--from",
                "pr",
                "--auto-approve",
            ],
            "`prod` is a long-lived environment of this stack",
        ),
        (
            &[
                "env",
                "up",
                "stack.yaml",
                "PR_1",
                "--from",
                "pr",
                "--auto-approve",
            ],
            "invalid environment name `PR_1`",
        ),
        (
            &["env", "down", "stack.yaml", "prod", "--auto-approve"],
            "environment `prod` has no expiry",
        ),
    ];
    for (args, message) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
    let wrong = run(&[
        "env",
        "down",
        "stack.yaml",
        "prod",
        "--force",
        "pr",
        "--auto-approve",
    ]);
    assert_eq!(wrong.status.code(), Some(1), "--force must repeat the name");
    assert_eq!(owned(&c, name, "prod").await, before);
    assert!(owned(&c, name, "x-1").await.is_empty());

    // Named twice, it goes.
    let forced = run(&[
        "env",
        "down",
        "stack.yaml",
        "prod",
        "--force",
        "prod",
        "--auto-approve",
    ]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(owned(&c, name, "prod").await.is_empty());
}

/// `env up` obeys the rule a file's `environments:` obeys, with the same message, and
/// refuses before any AWS call (there are no credentials and no endpoint here).
#[test]
fn env_up_refuses_the_names_a_file_refuses_with_the_same_message() {
    let long = "a".repeat(25);
    for name in ["9x", "pr-", long.as_str()] {
        let file = stack_file("env-names").replace("  prod: {}", &format!("  {name}: {{}}"));
        let dir = scratch(&[("stack.yaml", &file), ("queue.yaml", QUEUE)]);
        let validated = support::rollstack(dir.path(), &["validate", "stack.yaml"]);
        assert_eq!(validated.status.code(), Some(1), "{name}");
        let expected = format!("invalid environment name `{name}`");
        assert!(
            stderr(&validated).contains(&expected),
            "{}",
            stderr(&validated)
        );

        let dir = scratch(&[
            ("stack.yaml", &stack_file("env-names")),
            ("queue.yaml", QUEUE),
        ]);
        let up = support::rollstack(
            dir.path(),
            &[
                "env",
                "up",
                "stack.yaml",
                name,
                "--from",
                "pr",
                "--auto-approve",
            ],
        );
        let err = stderr(&up);
        assert_eq!(up.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(&format!("error: {expected}")), "{name}: {err}");
        assert!(
            err.contains("hint: use a name of lowercase letters, digits and `-`, starting with a letter, at most 24 characters"),
            "{name}: {err}"
        );
        assert!(
            !err.contains("AWS") && !err.contains("credentials"),
            "{err}"
        );
    }
}
