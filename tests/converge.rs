//! Convergence, through the real binary against the local endpoint: after any apply
//! (success, rollback, halt, kill -9, refusal), `plan --detailed-exitcode` is clean or
//! shows exactly what is left, and a second `apply` makes no AWS write call (counted by
//! `--stats`). One test per scenario, each with its own stack name.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use aws_sdk_ec2::types::Filter;
use support::web::{ROLLOUT, apply, assert_ok, fleet as releases, setup, unlock_killed_run, write};
use support::{Clients, rollstack_aws, rollstack_aws_command, scratch, stderr, stdout};

/// Stack `name` of `support::web` with security group `web` described as `description`.
fn stack_file(name: &str, version: &str, count: u32, description: &str, rollout: &str) -> String {
    support::web::stack_file(name, version, count, rollout).replace(
        "description: web tier",
        &format!("description: {description}"),
    )
}

fn plan(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["plan", "stack.yaml", "--detailed-exitcode"];
    args.extend_from_slice(extra);
    rollstack_aws(dir, &args, &[])
}

fn text(output: &Output) -> String {
    format!("{}\n{}", stdout(output), stderr(output))
}

/// The AWS write calls an `apply --stats` made: every operation that is not a read.
fn writes(output: &Output) -> Vec<String> {
    let err = stderr(output);
    let table = err
        .split("AWS calls:")
        .nth(1)
        .unwrap_or_else(|| panic!("no --stats table in:\n{err}"));
    table
        .lines()
        .skip(1)
        .map(str::split_whitespace)
        .map_while(|mut words| match (words.next(), words.next()) {
            (Some(op), Some(n)) if n.parse::<u32>().is_ok() => Some(op.to_owned()),
            _ => None,
        })
        .filter(|op| {
            let name = op.split_once(':').map_or(op.as_str(), |(_, n)| n);
            !["Describe", "Get", "List", "Head"]
                .iter()
                .any(|read| name.starts_with(read))
        })
        .collect()
}

/// The convergence property: the next plan is clean and a second apply writes nothing.
fn assert_converged(dir: &Path, extra: &[&str]) {
    let planned = plan(dir, extra);
    assert_eq!(
        planned.status.code(),
        Some(0),
        "the plan after apply is not clean:\n{}",
        text(&planned)
    );
    assert!(
        stdout(&planned).contains("No changes"),
        "{}",
        text(&planned)
    );
    let mut args = extra.to_vec();
    args.push("--stats");
    let again = apply(dir, &args);
    assert_ok(&again, "the second apply");
    assert_eq!(writes(&again), Vec::<String>::new(), "{}", text(&again));
}

/// Security groups carrying stack `name`'s ownership tag: (name, id).
async fn owned_groups(c: &Clients, name: &str) -> Vec<(String, String)> {
    let out = c
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
    let mut found: Vec<(String, String)> = out
        .security_groups()
        .iter()
        .map(|g| {
            (
                g.group_name().unwrap().to_owned(),
                g.group_id().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_create_converges() {
    let name = "conv-fresh";
    let (_c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    write(
        dir.path(),
        &stack_file(name, "1.0.0", 2, "web tier", ROLLOUT),
    );
    assert_ok(&apply(dir.path(), &[]), "apply");
    assert_converged(dir.path(), &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_out_and_in_converge() {
    let name = "conv-scale";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    for count in [1, 3, 2] {
        write(
            dir.path(),
            &stack_file(name, "1.0.0", count, "web tier", ROLLOUT),
        );
        assert_ok(&apply(dir.path(), &[]), &format!("apply count {count}"));
        assert_eq!(releases(&c, name).await.len(), count as usize);
        assert_converged(dir.path(), &[]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_bump_converges() {
    let name = "conv-bump";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    write(
        dir.path(),
        &stack_file(name, "1.0.0", 2, "web tier", ROLLOUT),
    );
    assert_ok(&apply(dir.path(), &[]), "apply 1.0.0");
    write(
        dir.path(),
        &stack_file(name, "1.1.0", 2, "web tier", ROLLOUT),
    );
    assert_ok(&apply(dir.path(), &[]), "apply 1.1.0");
    assert_eq!(releases(&c, name).await, ["web@1.1.0", "web@1.1.0"]);
    assert_converged(dir.path(), &[]);
}

/// Issue point 1: after an automatic rollback, the plan shows exactly what is left (the
/// failed release, still wanted by the file, and the freeze the rollback left); unfrozen,
/// with the old version back in the file, it is clean, and stays clean.
#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_then_the_old_version_back_in_the_file_converges() {
    let name = "conv-rollback";
    let (c, _agent, dir) = setup(name, &["1.0.0", "2.0.0"], &["web@2.0.0"]).await;
    let rollout = "{ max_surge: 1, max_unavailable: 0, health_timeout: 20s }";
    write(
        dir.path(),
        &stack_file(name, "1.0.0", 2, "web tier", rollout),
    );
    assert_ok(&apply(dir.path(), &[]), "apply 1.0.0");
    write(
        dir.path(),
        &stack_file(name, "2.0.0", 2, "web tier", rollout),
    );
    let failed = apply(dir.path(), &[]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert!(text(&failed).contains("rolled back"), "{}", text(&failed));
    assert_eq!(releases(&c, name).await, ["web@1.0.0", "web@1.0.0"]);

    // What is left: the file still asks for 2.0.0.
    let left = plan(dir.path(), &[]);
    assert_eq!(left.status.code(), Some(2), "{}", text(&left));
    assert!(
        stdout(&left).contains("replace 2 instances (release web@1.0.0 -> web@2.0.0;"),
        "{}",
        text(&left)
    );
    assert!(
        !stdout(&left).contains("new version"),
        "the failed release's launch template version is reused:\n{}",
        text(&left)
    );
    // The rollback froze the environment until a person looks (tests/operations.rs).
    assert!(stdout(&left).contains("Frozen: "), "{}", text(&left));
    let unfreeze = rollstack_aws(dir.path(), &["unfreeze", "stack.yaml"], &[]);
    assert!(unfreeze.status.success(), "{}", text(&unfreeze));

    write(
        dir.path(),
        &stack_file(name, "1.0.0", 2, "web tier", rollout),
    );
    assert_converged(dir.path(), &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_halted_rollout_shows_what_is_left_and_converges_when_fixed() {
    let name = "conv-halt";
    let (c, _agent, dir) = setup(name, &["1.0.0", "2.0.0"], &["web@2.0.0"]).await;
    let rollout = "{ max_surge: 1, max_unavailable: 0, health_timeout: 20s, on_failure: halt }";
    write(
        dir.path(),
        &stack_file(name, "1.0.0", 2, "web tier", rollout),
    );
    assert_ok(&apply(dir.path(), &[]), "apply 1.0.0");
    write(
        dir.path(),
        &stack_file(name, "2.0.0", 2, "web tier", rollout),
    );
    let halted = apply(dir.path(), &[]);
    assert_eq!(halted.status.code(), Some(1), "{}", text(&halted));
    assert!(text(&halted).contains("halted"), "{}", text(&halted));
    // Never below the count of old, healthy instances.
    let live = releases(&c, name).await;
    assert!(
        live.iter().filter(|r| *r == "web@1.0.0").count() >= 2,
        "{live:?}"
    );
    let left = plan(dir.path(), &[]);
    assert_eq!(left.status.code(), Some(2), "{}", text(&left));

    // Back to the version that works: the failed instance goes, the rest stays.
    write(
        dir.path(),
        &stack_file(name, "1.0.0", 2, "web tier", rollout),
    );
    assert_ok(&apply(dir.path(), &[]), "apply 1.0.0 again");
    assert_eq!(releases(&c, name).await, ["web@1.0.0", "web@1.0.0"]);
    assert_converged(dir.path(), &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_rollout_then_a_rerun_converges() {
    let name = "conv-kill";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    let rollout = "{ max_surge: 1, max_unavailable: 0, pause: 2s, health_timeout: 1m }";
    write(
        dir.path(),
        &stack_file(name, "1.0.0", 3, "web tier", rollout),
    );
    assert_ok(&apply(dir.path(), &[]), "apply 1.0.0");
    write(
        dir.path(),
        &stack_file(name, "1.1.0", 3, "web tier", rollout),
    );
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
    // Kill once the rollout is under way: some instance runs the new release.
    for _ in 0..300 {
        if releases(&c, name).await.iter().any(|r| r == "web@1.1.0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let live = releases(&c, name).await;
    assert!(live.len() >= 3, "below the count after kill -9: {live:?}");

    // The killed run's lock is left; the documented way lets the next one in.
    unlock_killed_run(&c, dir.path(), name).await;
    assert_ok(&apply(dir.path(), &[]), "the apply after kill -9");
    assert_eq!(
        releases(&c, name).await,
        ["web@1.1.0", "web@1.1.0", "web@1.1.0"]
    );
    assert_converged(dir.path(), &[]);
}

/// Issue point 4: plan and apply say the same about a description change, up front, and
/// apply changes nothing; the way the hint gives (a new name) converges.
#[tokio::test(flavor = "multi_thread")]
async fn a_description_change_is_refused_alike_by_plan_and_apply_and_a_rename_converges() {
    let name = "conv-describe";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    write(
        dir.path(),
        &stack_file(name, "1.0.0", 2, "web tier", ROLLOUT),
    );
    assert_ok(&apply(dir.path(), &[]), "apply");
    let before = owned_groups(&c, name).await;
    let history = |dir: &Path| {
        stdout(&rollstack_aws(
            dir,
            &["history", "stack.yaml", "--format", "json"],
            &[],
        ))
    };
    let recorded = history(dir.path());

    write(
        dir.path(),
        &stack_file(name, "1.0.0", 2, "public web tier", ROLLOUT),
    );
    let planned = plan(dir.path(), &[]);
    let applied = apply(dir.path(), &["--stats"]);
    for (what, output) in [("plan", &planned), ("apply", &applied)] {
        assert_eq!(output.status.code(), Some(1), "{what}:\n{}", text(output));
        assert!(
            stderr(output).contains(
                "the description changed (`web tier` -> `public web tier`), and AWS cannot change a security group's description in place"
            ),
            "{what}:\n{}",
            text(output)
        );
        assert!(
            stderr(output).contains("give the group a new name"),
            "{what}:\n{}",
            text(output)
        );
    }
    assert_eq!(writes(&applied), Vec::<String>::new(), "{}", text(&applied));
    assert_eq!(owned_groups(&c, name).await, before);
    assert_eq!(
        history(dir.path()),
        recorded,
        "a refused apply is no history"
    );

    // The hint's way: a new name, which rolls the instances onto the new group.
    let renamed = stack_file(name, "1.0.0", 2, "public web tier", ROLLOUT)
        .replace("security_groups:\n  web:", "security_groups:\n  public:")
        .replace("security_groups: [web]", "security_groups: [public]");
    write(dir.path(), &renamed);
    assert_ok(&apply(dir.path(), &[]), "apply with the group renamed");
    let groups: Vec<String> = owned_groups(&c, name)
        .await
        .into_iter()
        .map(|g| g.0)
        .collect();
    assert_eq!(groups, [format!("{name}-default-public")]);
    assert_converged(dir.path(), &[]);
}

/// Issue point 2: groups that allow each other, and a group that allows itself.
const MUTUAL: &str = r#"rollstack: 1
stack: NAME
region: us-east-1
state_bucket: NAME-state
security_groups:
  api:
    ingress:
      - { protocol: tcp, ports: 8080, from: cache }
      - { protocol: tcp, ports: 9000-9100, from: self }
  cache:
    ingress:
      - { protocol: tcp, ports: 6379, from: api }
      - { protocol: tcp, ports: 7000, from: cache }
roles:
  api: { health: { running: {} } }
groups:
  api:
    roles: [api]
    count: 1
    image: ami-0abc1234
    instance_type: t3.micro
    security_groups: [api]
  cache:
    roles: [api]
    count: 1
    image: ami-0abc1234
    instance_type: t3.micro
    security_groups: [cache]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn security_groups_that_allow_each_other_apply_converge_and_destroy() {
    let name = "conv-mutual";
    let (c, _agent, dir) = setup(name, &[], &[]).await;
    write(dir.path(), &MUTUAL.replace("NAME", name));
    let validated = rollstack_aws(dir.path(), &["validate", "stack.yaml"], &[]);
    assert_ok(&validated, "validate");
    let graph = rollstack_aws(dir.path(), &["graph", "stack.yaml"], &[]);
    assert_ok(&graph, "graph");
    assert!(
        stdout(&graph).contains("security_group_rules.api"),
        "{}",
        text(&graph)
    );
    assert_ok(&apply(dir.path(), &[]), "apply");

    // Each group's rules name the other group (and itself), by id.
    let groups = owned_groups(&c, name).await;
    assert_eq!(groups.len(), 2, "{groups:?}");
    let id = |n: &str| {
        groups
            .iter()
            .find(|(g, _)| g == &format!("{name}-default-{n}"))
            .unwrap()
            .1
            .clone()
    };
    let rules = c
        .ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(id("api")).build())
        .send()
        .await
        .unwrap();
    let peers: Vec<String> = rules
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .filter_map(|r| r.referenced_group_info()?.group_id().map(str::to_owned))
        .collect();
    assert!(peers.contains(&id("cache")), "{peers:?}");
    assert!(peers.contains(&id("api")), "{peers:?}");
    assert_converged(dir.path(), &[]);

    let destroyed = rollstack_aws(
        dir.path(),
        &["destroy", "stack.yaml", "--auto-approve"],
        &[],
    );
    assert_ok(&destroyed, "destroy");
    assert_eq!(owned_groups(&c, name).await, Vec::new());
    assert_eq!(releases(&c, name).await, Vec::<String>::new());
}

/// Issue point 3: a same-named group in another VPC is no conflict; one in the stack's
/// own VPC is, and is never touched.
#[tokio::test(flavor = "multi_thread")]
async fn a_same_named_group_only_conflicts_in_the_stacks_own_vpc() {
    let name = "conv-vpc";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let other_vpc = c
        .ec2
        .create_vpc()
        .cidr_block("10.77.0.0/16")
        .send()
        .await
        .unwrap();
    let other_vpc = other_vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let elsewhere = c
        .ec2
        .create_security_group()
        .group_name(format!("{name}-default-web"))
        .description("someone else's, in another VPC")
        .vpc_id(&other_vpc)
        .send()
        .await
        .unwrap();
    let elsewhere = elsewhere.group_id().unwrap().to_owned();
    write(
        dir.path(),
        &stack_file(name, "1.0.0", 1, "web tier", ROLLOUT),
    );
    assert_ok(
        &apply(dir.path(), &[]),
        "apply beside a same-named group in another VPC",
    );
    assert_converged(dir.path(), &[]);
    let foreign = c
        .ec2
        .describe_security_groups()
        .group_ids(&elsewhere)
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign.security_groups()[0].description(),
        Some("someone else's, in another VPC")
    );

    // The same name in the default VPC (the stack's, as it names no subnets) conflicts.
    let other = "conv-vpc-own";
    let (c, _agent, dir) = setup(other, &["1.0.0"], &[]).await;
    let own = c
        .ec2
        .create_security_group()
        .group_name(format!("{other}-default-web"))
        .description("someone else's, in the default VPC")
        .send()
        .await
        .unwrap();
    let own = own.group_id().unwrap().to_owned();
    write(
        dir.path(),
        &stack_file(other, "1.0.0", 1, "web tier", ROLLOUT),
    );
    let refused = apply(dir.path(), &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        stderr(&refused).contains("already has that name and is not owned"),
        "{}",
        text(&refused)
    );
    let untouched = c
        .ec2
        .describe_security_groups()
        .group_ids(&own)
        .send()
        .await
        .unwrap();
    assert!(untouched.security_groups()[0].tags().is_empty());
    assert_eq!(releases(&c, other).await, Vec::<String>::new());
}

/// Issue point 3, the other half: groups are made in the VPC of the stack's subnets.
#[tokio::test(flavor = "multi_thread")]
async fn security_groups_are_created_in_the_vpc_of_the_subnets() {
    let name = "conv-subnets";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let vpc = c
        .ec2
        .create_vpc()
        .cidr_block("10.78.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let subnet = c
        .ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.78.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    let file = stack_file(name, "1.0.0", 1, "web tier", ROLLOUT).replace(
        "releases:",
        &format!("network: {{ subnets: [{subnet}] }}\nreleases:"),
    );
    write(dir.path(), &file);
    assert_ok(&apply(dir.path(), &[]), "apply");
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
    assert_eq!(groups.security_groups()[0].vpc_id(), Some(vpc.as_str()));
    assert_converged(dir.path(), &[]);

    // A group's own subnets in another VPC: refused by the plan, before any change.
    let other = c
        .ec2
        .create_vpc()
        .cidr_block("10.79.0.0/16")
        .send()
        .await
        .unwrap();
    let other = other.vpc().unwrap().vpc_id().unwrap().to_owned();
    let elsewhere = c
        .ec2
        .create_subnet()
        .vpc_id(&other)
        .cidr_block("10.79.1.0/24")
        .send()
        .await
        .unwrap();
    let elsewhere = elsewhere.subnet().unwrap().subnet_id().unwrap().to_owned();
    write(
        dir.path(),
        &file.replace(
            "    security_groups: [web]\n",
            &format!("    security_groups: [web]\n    subnets: [{elsewhere}]\n"),
        ),
    );
    let refused = plan(dir.path(), &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        stderr(&refused).contains("subnets are in several VPCs"),
        "{}",
        text(&refused)
    );
}

/// Issue point 6: `AWSTemplateFormatVersion: "2010-09-09"` or not is the same template.
#[tokio::test(flavor = "multi_thread")]
async fn the_template_format_version_alone_is_no_change() {
    let name = "conv-tplversion";
    let c = support::moto().clients().await;
    c.s3.create_bucket()
        .bucket(format!("{name}-state"))
        .send()
        .await
        .unwrap();
    let queue = "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n";
    let file = format!(
        "rollstack: 1\nstack: {name}\nregion: us-east-1\nstate_bucket: {name}-state\n\
         cloudformation:\n  queue:\n    template: queue.yaml\n"
    );
    let dir = scratch(&[("stack.yaml", &file), ("queue.yaml", queue)]);
    assert_ok(&apply(dir.path(), &[]), "apply");
    std::fs::write(
        dir.path().join("queue.yaml"),
        format!("AWSTemplateFormatVersion: \"2010-09-09\"\n{queue}"),
    )
    .unwrap();
    assert_converged(dir.path(), &[]);
}

const DATABASE: &str = r#"Parameters:
  Storage:
    Type: String
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      DBInstanceClass: db.t3.micro
      AllocatedStorage: !Ref Storage
      MasterUsername: app
      MasterUserPassword: not-a-secret-1
Outputs:
  Endpoint:
    Value: !GetAtt Db.Endpoint.Address
"#;

/// Issue point 5: a stack with `!GetAtt` outputs, updated through a change set; its
/// outputs flow into a dependent group's user data, the plan is clean afterwards, and a
/// foreign same-named stack is still a conflict.
#[tokio::test(flavor = "multi_thread")]
async fn a_cloudformation_update_with_outputs_converges() {
    let name = "conv-cfn";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let file = |storage: &str, extra: &str| {
        format!(
            r#"rollstack: 1
stack: {name}
region: us-east-1
state_bucket: {name}-state
roles:
  web: {{ health: {{ running: {{}} }} }}
groups:
  web:
    roles: [web]
    count: 1
    image: ami-0abc1234
    instance_type: t3.micro
    user_data: db.sh.j2
cloudformation:
  db:
    template: db.yaml
    parameters: {{ Storage: "{storage}" }}
{extra}"#
        )
    };
    std::fs::write(dir.path().join("db.yaml"), DATABASE).unwrap();
    std::fs::write(
        dir.path().join("db.sh.j2"),
        "#!/bin/sh\necho {{ outputs.db.Endpoint }} > /etc/db-host\n",
    )
    .unwrap();
    write(dir.path(), &file("20", ""));
    assert_ok(&apply(dir.path(), &[]), "create");

    write(dir.path(), &file("30", ""));
    let planned = plan(dir.path(), &[]);
    assert_eq!(planned.status.code(), Some(2), "{}", text(&planned));
    assert!(
        stdout(&planned).contains("~ cloudformation.db: update"),
        "{}",
        text(&planned)
    );
    assert_ok(&apply(dir.path(), &[]), "update");

    // The stack still answers, with its output, and the output reached the user data.
    let described = c
        .cloudformation
        .describe_stacks()
        .stack_name(format!("{name}-default-db"))
        .send()
        .await
        .unwrap();
    let stack = &described.stacks()[0];
    assert_eq!(stack.stack_status().unwrap().as_str(), "UPDATE_COMPLETE");
    let endpoint = stack
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("Endpoint"))
        .and_then(|o| o.output_value())
        .expect("the Endpoint output")
        .to_owned();
    let versions = c
        .ec2
        .describe_launch_template_versions()
        .launch_template_name(format!("{name}-default-web"))
        .versions("$Latest")
        .send()
        .await
        .unwrap();
    let encoded = versions.launch_template_versions()[0]
        .launch_template_data()
        .and_then(|d| d.user_data())
        .unwrap()
        .to_owned();
    let user_data = String::from_utf8(aws_smithy_types::base64::decode(&encoded).unwrap()).unwrap();
    assert!(user_data.contains(&endpoint), "{user_data}");
    assert_converged(dir.path(), &[]);

    // A same-named stack rollstack does not own is still found, and is a conflict.
    c.cloudformation
        .create_stack()
        .stack_name(format!("{name}-default-cache"))
        .template_body("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n")
        .send()
        .await
        .unwrap();
    std::fs::write(
        dir.path().join("cache.yaml"),
        "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n",
    )
    .unwrap();
    write(
        dir.path(),
        &file("30", "  cache:\n    template: cache.yaml\n"),
    );
    let conflict = plan(dir.path(), &[]);
    assert_eq!(conflict.status.code(), Some(1), "{}", text(&conflict));
    assert!(
        stderr(&conflict).contains("already has that name and is not owned"),
        "{}",
        text(&conflict)
    );
}

/// An `env up` environment converges like any other: a second `env up` at the same
/// expiry writes nothing, `env down` leaves nothing owned, and a second `env down`
/// finds nothing to do.
#[tokio::test(flavor = "multi_thread")]
async fn environment_up_and_down_converge() {
    let name = "conv-env";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let file = stack_file(name, "1.0.0", 2, "web tier", ROLLOUT)
        + "environments:\n  prod: {}\n  pr:\n    ephemeral: { ttl: 24h }\n    groups: { web: { count: 1 } }\n";
    write(dir.path(), &file);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--auto-approve", "--poll-interval", "100ms"]);
        rollstack_aws(dir.path(), &all, &[])
    };
    let up = &[
        "env",
        "up",
        "stack.yaml",
        "pr-7",
        "--from",
        "pr",
        "--now",
        "2026-11-25T00:00:00Z",
    ];
    assert_ok(&run(up), "env up");
    assert_eq!(releases(&c, name).await, ["web@1.0.0"]);
    let mut again = up.to_vec();
    again.push("--stats");
    let again = run(&again);
    assert_ok(&again, "env up again");
    assert_eq!(writes(&again), Vec::<String>::new(), "{}", text(&again));

    assert_ok(&run(&["env", "down", "stack.yaml", "pr-7"]), "env down");
    assert_eq!(releases(&c, name).await, Vec::<String>::new());
    assert_eq!(owned_groups(&c, name).await, Vec::new());
    // Down again: found to have nothing, it only reads.
    let down_again = run(&["env", "down", "stack.yaml", "pr-7"]);
    assert_ok(&down_again, "env down again");
    assert!(
        stdout(&down_again).contains("nothing to destroy"),
        "{}",
        text(&down_again)
    );
}
