//! `rollstack plan` against the local endpoint: the real binary, the real SDK, moto.
//! Each test uses its own stack name, so they run in parallel on one server.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::path::Path;

use rollstack::template::Outputs;
use serde_json::Value;
use support::{Clients, rollstack_aws, scratch, seed, stderr, stdout};

const USER_DATA: &str =
    "#!/bin/sh\necho 'web {{ apps.web.version }} in {{ env.name }}' > /etc/motd\n";

/// A stack file: group `web` of `count` running app `web` at `version`, behind security
/// group `web`; `extra_rules` are more ingress rules of `web`; `extra` is appended.
fn stack_file(name: &str, version: &str, count: u32, extra_rules: &str, extra: &str) -> String {
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
    ingress:
      - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}
      - {{ protocol: tcp, ports: 22, from: bastion }}
{extra_rules}  bastion:
    description: ssh entry
    ingress: [{{ protocol: tcp, ports: 22, cidr: 203.0.113.0/24 }}]
roles:
  web: {{ app: web, health: {{ signal: {{}} }} }}
groups:
  web:
    roles: [web]
    count: {count}
    image: ami-0abc1234
    instance_type: t3.micro
    security_groups: [web]
    user_data: web.sh.j2
{extra}"#
    )
}

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("stack.yaml"), text).unwrap();
}

async fn clients() -> Clients {
    support::moto().clients().await
}

/// Plans `dir/stack.yaml` as JSON.
fn plan_json(dir: &Path) -> Value {
    let output = rollstack_aws(dir, &["plan", "stack.yaml", "--format", "json"], &[]);
    assert!(output.status.success(), "plan failed:\n{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("plan --format json prints JSON")
}

fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("no change for {address} in {plan:#}"))
}

fn strings(value: &Value) -> Vec<String> {
    let mut found: Vec<String> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_account_plans_every_create() {
    let aws = clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    write(dir.path(), &stack_file("plan-empty", "1.0.0", 2, "", ""));
    seed::releases(&aws.s3, &seed::model(&dir.path().join("stack.yaml"), None)).await;

    let plan = plan_json(dir.path());
    let actions: Vec<(&str, &str)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap(),
                c["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("security_group.bastion", "create"),
            ("security_group.web", "create"),
            ("security_group_rules.bastion", "create"),
            ("security_group_rules.web", "create"),
            ("group.web", "create"),
        ]
    );
    assert_eq!(change(&plan, "group.web")["detail"]["launch"], 2);
    assert_eq!(plan["summary"]["create"], 5);

    let exit = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(exit.status.code(), Some(2), "{}", stderr(&exit));
    assert!(stdout(&exit).contains("Plan: 5 to create, 0 to replace, 0 to update, 0 to delete."));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seeded_matching_fleet_plans_no_changes() {
    let aws = clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    write(dir.path(), &stack_file("plan-same", "1.0.0", 3, "", ""));
    let stack = seed::model(&dir.path().join("stack.yaml"), None);
    seed::releases(&aws.s3, &stack).await;
    seed::fleet(&aws.ec2, &stack, &Outputs::new()).await;

    let output = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("No changes"),
        "{}",
        stdout(&output)
    );
    let plan = plan_json(dir.path());
    assert!(plan["drift"].as_array().unwrap().is_empty(), "{plan:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_version_bump_replaces_exactly_the_instances_with_the_old_spec() {
    let aws = clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    let path = dir.path().join("stack.yaml");
    write(dir.path(), &stack_file("plan-bump", "1.0.0", 3, "", ""));
    let old = seed::model(&path, None);
    seed::releases(&aws.s3, &old).await;
    let ids = seed::security_groups(&aws.ec2, &old).await;
    let old_ids = seed::instances(&aws.ec2, &old, "web", 2, &ids, &Outputs::new()).await;

    write(dir.path(), &stack_file("plan-bump", "1.1.0", 3, "", ""));
    let new = seed::model(&path, None);
    seed::releases(&aws.s3, &new).await;
    let new_ids = seed::instances(&aws.ec2, &new, "web", 1, &ids, &Outputs::new()).await;

    let plan = plan_json(dir.path());
    let web = change(&plan, "group.web");
    assert_eq!(web["action"], "replace");
    assert_eq!(strings(&web["detail"]["replace"]), {
        let mut ids = old_ids.clone();
        ids.sort();
        ids
    });
    assert!(!strings(&web["detail"]["replace"]).contains(&new_ids[0]));
    assert_eq!(web["detail"]["launch"], 0);
    assert!(web["detail"]["terminate"].as_array().unwrap().is_empty());
    assert!(
        web["reason"]
            .as_str()
            .unwrap()
            .contains("release web@1.0.0 -> web@1.1.0")
    );
    let diff = web["detail"]["user_data_diff"].as_str().unwrap();
    assert!(
        diff.contains("-echo 'web 1.0.0") || diff.contains("+echo 'web 1.1.0"),
        "{diff}"
    );
    assert_eq!(plan["summary"]["replace_instances"], 2);
    assert_eq!(change(&plan, "security_group.web")["action"], "no_op");
}

#[tokio::test(flavor = "multi_thread")]
async fn count_changes_plan_scale_out_and_scale_in() {
    let aws = clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    write(dir.path(), &stack_file("plan-scale", "1.0.0", 2, "", ""));
    let stack = seed::model(&dir.path().join("stack.yaml"), None);
    seed::releases(&aws.s3, &stack).await;
    seed::fleet(&aws.ec2, &stack, &Outputs::new()).await;

    write(dir.path(), &stack_file("plan-scale", "1.0.0", 5, "", ""));
    let plan = plan_json(dir.path());
    let web = change(&plan, "group.web");
    assert_eq!(web["action"], "update");
    assert_eq!(web["reason"], "scale out 2 -> 5");
    assert_eq!(web["detail"]["launch"], 3);
    assert!(web["detail"]["replace"].as_array().unwrap().is_empty());

    write(dir.path(), &stack_file("plan-scale", "1.0.0", 1, "", ""));
    let plan = plan_json(dir.path());
    let web = change(&plan, "group.web");
    assert_eq!(web["action"], "update");
    assert_eq!(web["reason"], "scale in 2 -> 1");
    assert_eq!(web["detail"]["terminate"].as_array().unwrap().len(), 1);
    assert_eq!(web["detail"]["launch"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_change_is_an_update_and_a_rule_added_by_hand_is_drift() {
    let aws = clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    write(dir.path(), &stack_file("plan-rules", "1.0.0", 1, "", ""));
    let stack = seed::model(&dir.path().join("stack.yaml"), None);
    seed::releases(&aws.s3, &stack).await;
    let ids = seed::fleet(&aws.ec2, &stack, &Outputs::new()).await;

    // The file gains a rule: an update of the group, never a replacement.
    write(
        dir.path(),
        &stack_file(
            "plan-rules",
            "1.0.0",
            1,
            "      - { protocol: tcp, ports: 443, cidr: 0.0.0.0/0 }\n",
            "",
        ),
    );
    let plan = plan_json(dir.path());
    let web = change(&plan, "security_group_rules.web");
    assert_eq!(web["action"], "update");
    assert_eq!(change(&plan, "security_group.web")["action"], "no_op");
    assert_eq!(
        web["detail"]["add_rules"][0]["rule"],
        "tcp 443 from 0.0.0.0/0"
    );
    assert_eq!(change(&plan, "group.web")["action"], "no_op");
    assert!(plan["drift"].as_array().unwrap().is_empty());

    // Someone opens MySQL by hand: drift, and the plan revokes it.
    aws.ec2
        .authorize_security_group_ingress()
        .group_id(&ids["web"])
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(3306)
                .to_port(3306)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("10.0.0.0/8")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    write(dir.path(), &stack_file("plan-rules", "1.0.0", 1, "", ""));
    let plan = plan_json(dir.path());
    assert_eq!(
        plan["drift"][0]["message"],
        "ingress rule `tcp 3306 from 10.0.0.0/8` was added outside rollstack"
    );
    assert_eq!(plan["drift"][0]["address"], "security_group_rules.web");
    let web = change(&plan, "security_group_rules.web");
    assert_eq!(web["action"], "update");
    assert_eq!(
        web["detail"]["remove_rules"][0]["rule"],
        "tcp 3306 from 10.0.0.0/8"
    );
    let text = stdout(&rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]));
    assert!(text.contains("Drift (changed outside rollstack"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_terminated_or_retyped_by_hand_are_drift() {
    let aws = clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    write(dir.path(), &stack_file("plan-hand", "1.0.0", 3, "", ""));
    let stack = seed::model(&dir.path().join("stack.yaml"), None);
    seed::releases(&aws.s3, &stack).await;
    let ids = seed::security_groups(&aws.ec2, &stack).await;
    let launched = seed::instances(&aws.ec2, &stack, "web", 3, &ids, &Outputs::new()).await;
    aws.ec2
        .terminate_instances()
        .instance_ids(&launched[0])
        .send()
        .await
        .unwrap();
    aws.ec2
        .stop_instances()
        .instance_ids(&launched[1])
        .send()
        .await
        .unwrap();
    aws.ec2
        .modify_instance_attribute()
        .instance_id(&launched[1])
        .instance_type(
            aws_sdk_ec2::types::AttributeValue::builder()
                .value("t3.large")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let plan = plan_json(dir.path());
    let drift: Vec<&str> = plan["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        drift.contains(
            &"1 instance missing: 2 of the 3 applied are live (terminated outside rollstack)"
        ),
        "{drift:?}"
    );
    assert!(
        drift
            .iter()
            .any(|d| d.contains(&launched[1]) && d.contains("stopped outside rollstack")),
        "{drift:?}"
    );
    assert!(
        drift.contains(
            &format!(
                "instance `{}` was retyped outside rollstack (t3.micro -> t3.large)",
                launched[1]
            )
            .as_str()
        ),
        "{drift:?}"
    );
    let web = change(&plan, "group.web");
    assert_eq!(web["action"], "replace");
    assert_eq!(strings(&web["detail"]["replace"]), [launched[1].clone()]);
    assert_eq!(web["detail"]["launch"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_release_artifact_is_an_error_naming_the_s3_url() {
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    write(
        dir.path(),
        &stack_file("plan-noartifact", "9.9.9", 1, "", ""),
    );
    let output = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let err = stderr(&output);
    assert!(
        err.contains(
            "release artifact of app `web` version `9.9.9` not found: `s3://plan-noartifact-releases/web/9.9.9.tar.gz`"
        ),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_resources_never_appear_in_the_diff() {
    let aws = clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    write(dir.path(), &stack_file("plan-foreign", "1.0.0", 2, "", ""));
    let stack = seed::model(&dir.path().join("stack.yaml"), None);
    seed::releases(&aws.s3, &stack).await;
    // Instances named like ours: one untagged, one of another environment.
    let foreign = aws
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
                        .value("plan-foreign-default-web")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let foreign_id = foreign.instances()[0].instance_id().unwrap().to_owned();
    let mut other_env = stack.clone();
    other_env.environment.name = "staging".to_owned();
    let other_ids = seed::fleet(&aws.ec2, &other_env, &Outputs::new()).await;

    let plan = plan_json(dir.path());
    let text = plan.to_string();
    assert!(!text.contains(&foreign_id), "{plan:#}");
    assert!(!text.contains(&other_ids["web"]), "{plan:#}");
    assert_eq!(change(&plan, "group.web")["action"], "create");
    assert_eq!(change(&plan, "group.web")["detail"]["count"]["before"], 0);

    // A same-named security group without our tags is a conflict, not an adoption.
    let sg = aws
        .ec2
        .create_security_group()
        .group_name("plan-foreign-default-bastion")
        .description("not ours")
        .send()
        .await
        .unwrap();
    let output = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "`security_group.bastion` would be created as security group `plan-foreign-default-bastion`, but `{}` already has that name",
            sg.group_id().unwrap()
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_instances_take_one_listing() {
    let aws = clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    let extra = "  api:\n    roles: [web]\n    count: 500\n    image: ami-0abc1234\n    instance_type: t3.micro\n    security_groups: [web]\n";
    write(
        dir.path(),
        &stack_file("plan-thousand", "1.0.0", 500, "", extra),
    );
    let stack = seed::model(&dir.path().join("stack.yaml"), None);
    seed::releases(&aws.s3, &stack).await;
    seed::fleet(&aws.ec2, &stack, &Outputs::new()).await;

    // This counts calls, not time: moto lists 1,000 instances in seconds alone, but far
    // slower while the file's other tests load it, so an attempt gets the time it takes
    // (a retried listing would count twice).
    let output = rollstack_aws(
        dir.path(),
        &[
            "plan",
            "stack.yaml",
            "--stats",
            "--detailed-exitcode",
            "--attempt-timeout",
            "300s",
            "--call-timeout",
            "600s",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stats = stderr(&output);
    let calls = |operation: &str| -> u32 {
        stats
            .lines()
            .find(|l| l.trim_start().starts_with(operation))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(|n| n.parse().unwrap())
            .unwrap_or(0)
    };
    assert!(
        (1..=2).contains(&calls("ec2:DescribeInstances ")),
        "{stats}"
    );
    let total: u32 = stats
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("AWS calls: "))
        .map(|n| n.parse().unwrap())
        .expect("a total line");
    // Every operation is batched: no per-instance call of any kind, only a fixed set per
    // plan (15 here, the state bucket's freeze and published outputs among them).
    assert!(total <= 16, "{stats}");
    for line in stats.lines().skip(1) {
        let n: u32 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(n <= 2, "{line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn images_are_looked_up_once_and_recorded_in_the_plan() {
    let aws = clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA)]);
    let lookup = r#"  xenial:
    roles: [web]
    count: 1
    image: { name: "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04*", owner: "099720109477" }
    instance_type: t3.micro
  xenial2:
    roles: [web]
    count: 1
    image: { name: "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04*", owner: "099720109477" }
    instance_type: t3.micro
"#;
    write(
        dir.path(),
        &stack_file("plan-images", "1.0.0", 1, "", lookup),
    );
    seed::releases(&aws.s3, &seed::model(&dir.path().join("stack.yaml"), None)).await;

    let output = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--format", "json", "--stats"],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    // moto's built-in Ubuntu 16.04 image.
    assert_eq!(plan["images"]["xenial"]["id"], "ami-785db401");
    assert_eq!(plan["images"]["xenial2"]["id"], "ami-785db401");
    assert!(
        plan["images"]["xenial"]["name"]
            .as_str()
            .unwrap()
            .contains("xenial-16.04")
    );
    assert_eq!(
        change(&plan, "group.xenial")["detail"]["launch_spec"]["image_id"],
        "ami-785db401"
    );
    let stats = stderr(&output);
    let lookups = stats
        .lines()
        .find(|l| l.trim_start().starts_with("ec2:DescribeImages"))
        .and_then(|l| l.split_whitespace().nth(1));
    assert_eq!(lookups, Some("1"), "one lookup for both groups:\n{stats}");

    write(
        dir.path(),
        &stack_file(
            "plan-images",
            "1.0.0",
            1,
            "",
            &lookup.replace("xenial-16.04*", "no-such-image*"),
        ),
    );
    let output = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no image matches `ubuntu/images/hvm-ssd/ubuntu-no-such-image*` owned by `099720109477` for `group.xenial`"),
        "{}",
        stderr(&output)
    );
}
