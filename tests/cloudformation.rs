//! CloudFormation nodes through the real binary against the local endpoint: change sets,
//! outputs wired into user data, rejected templates, secrets, foreign stacks.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::path::Path;

use aws_sdk_cloudformation::types::Tag as StackTag;
use aws_sdk_ec2::types::Filter;
use support::{Agent, Clients, rollstack_aws, scratch, stderr, stdout};

async fn clients() -> Clients {
    support::moto().clients().await
}

async fn state_bucket(c: &Clients, name: &str) {
    c.s3.create_bucket()
        .bucket(format!("{name}-state"))
        .send()
        .await
        .unwrap();
}

/// `stacks/shop.yaml` as stack `name`, with what only exists in a real account swapped
/// for its local twin: the subnets, the buckets, and the owner of the Ubuntu image
/// (images registered locally belong to the local account).
fn shop_copy(dir: &Path, name: &str, subnets: &[String], image: &str, vpc: &str) {
    let text = std::fs::read_to_string(support::root().join("stacks/shop.yaml"))
        .unwrap()
        .replace("stack: shop", &format!("stack: {name}"))
        .replace("acme-rollstack", &format!("{name}-state"))
        .replace("acme-releases", &format!("{name}-releases"))
        .replace(
            "[subnet-0a1, subnet-0b2]",
            &format!("[{}]", subnets.join(", ")),
        )
        .replace("SubnetA: subnet-0a1", &format!("SubnetA: {}", subnets[0]))
        .replace("SubnetB: subnet-0b2", &format!("SubnetB: {}", subnets[1]))
        .replace("vpc-0abc1234", vpc)
        .replace("shop-www-5xx", &format!("{name}-www-5xx"))
        .replace("owner: \"099720109477\"", "owner: \"123456789012\"")
        .replace("image: ami-0abc1234", &format!("image: {image}"));
    std::fs::write(dir.join("shop.yaml"), text).unwrap();
    for folder in ["files", "templates"] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        for entry in std::fs::read_dir(support::root().join("stacks").join(folder)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(folder).join(entry.file_name())).unwrap();
        }
    }
}

/// A VPC inside 127.0.0.0/8 with two subnets, so that instances get loopback addresses
/// the HTTP health check (and the agent answering it) can reach; and the VPC.
async fn loopback_subnets(c: &Clients, octet: u8) -> (Vec<String>, String) {
    let vpc = c
        .ec2
        .create_vpc()
        .cidr_block(format!("127.{octet}.0.0/16"))
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let mut subnets = Vec::new();
    for third in [1, 2] {
        let subnet = c
            .ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("127.{octet}.{third}.0/24"))
            .send()
            .await
            .unwrap();
        subnets.push(subnet.subnet().unwrap().subnet_id().unwrap().to_owned());
    }
    (subnets, vpc)
}

#[tokio::test(flavor = "multi_thread")]
async fn shop_applies_from_empty_and_the_database_endpoint_reaches_user_data() {
    let name = "cfn-shop";
    let secret = "Sup3r-s3cret-pw-4711";
    let c = clients().await;
    state_bucket(&c, name).await;
    c.s3.create_bucket()
        .bucket(format!("{name}-releases"))
        .send()
        .await
        .unwrap();
    for key in ["web/2024.11.3.tar.gz", "worker/2024.11.1.tar.gz"] {
        c.s3.put_object()
            .bucket(format!("{name}-releases"))
            .key(key)
            .body(b"release".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    c.ec2
        .register_image()
        .name("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20241109")
        .send()
        .await
        .unwrap();
    // The fleets' image is described for its root device, so it must exist here; so
    // must the operators' key pair.
    let image = c
        .ec2
        .register_image()
        .name("shop-base")
        .send()
        .await
        .unwrap();
    let image = image.image_id().unwrap().to_owned();
    c.ec2
        .create_key_pair()
        .key_name("ops")
        .send()
        .await
        .unwrap();
    let (subnets, vpc) = loopback_subnets(&c, 71).await;
    // The team's own alarm, which the web fleet's rollout watches.
    aws_sdk_cloudwatch::Client::new(&support::moto().sdk_config().await)
        .put_metric_alarm()
        .alarm_name(format!("{name}-www-5xx"))
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(10.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    let dir = scratch(&[]);
    shop_copy(dir.path(), name, &subnets, &image, &vpc);
    let _agent = Agent::serving(name, &format!("{name}-state"), &[], &[80]);
    let vars = [("DB_PASSWORD", secret)];
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &vars);

    let planned = run(&["plan", "shop.yaml", "--env", "prod", "--format", "json"]);
    assert!(planned.status.success(), "{}", stderr(&planned));
    let applied = run(&[
        "apply",
        "shop.yaml",
        "--env",
        "prod",
        "--auto-approve",
        "--poll-interval",
        "200ms",
        "--format",
        "json",
    ]);
    let applied_text = format!("{}{}", stdout(&applied), stderr(&applied));
    assert!(applied.status.success(), "{applied_text}");
    // `plan` prints and `apply` carries out one plan, made by one function: the same
    // but for the plan's own id.
    let without_id = |text: &str| {
        let mut plan: serde_json::Value = serde_json::from_str(text).unwrap();
        plan.as_object_mut().unwrap().remove("id");
        plan
    };
    assert_eq!(
        without_id(&stdout(&planned)),
        without_id(&stdout(&applied)),
        "the plan `plan` prints is the plan `apply` executes"
    );
    assert!(!applied_text.contains(secret), "{applied_text}");
    assert!(applied_text.contains("cloudformation.db"), "{applied_text}");

    // The stack exists, owned, with the endpoint output.
    let described = c
        .cloudformation
        .describe_stacks()
        .stack_name(format!("{name}-prod-db"))
        .send()
        .await
        .unwrap();
    let db = &described.stacks()[0];
    assert_eq!(db.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    let tag = |key: &str| {
        db.tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_owned)
    };
    assert_eq!(tag("rollstack:stack").as_deref(), Some(name));
    assert_eq!(tag("rollstack:env").as_deref(), Some("prod"));
    assert_eq!(
        tag("rollstack:resource").as_deref(),
        Some("cloudformation.db")
    );
    let endpoint = db
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("Endpoint"))
        .and_then(|o| o.output_value())
        .expect("an Endpoint output")
        .to_owned();

    // The endpoint is in the user data of the group's launch template.
    let versions = c
        .ec2
        .describe_launch_template_versions()
        .launch_template_name(format!("{name}-prod-www"))
        .versions("$Default")
        .send()
        .await
        .unwrap();
    let data = versions.launch_template_versions()[0]
        .launch_template_data()
        .and_then(|d| d.user_data())
        .expect("user data");
    let user_data = String::from_utf8(aws_smithy_types::base64::decode(data).unwrap()).unwrap();
    assert!(
        user_data.contains(&format!("DATABASE_HOST={endpoint}")),
        "{user_data}"
    );
    let www = c
        .ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:rollstack:resource")
                .values("group.www")
                .build(),
        )
        .filters(
            Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
        )
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let running: usize = www.reservations().iter().map(|r| r.instances().len()).sum();
    assert_eq!(running, 4);
    // Each runs with the instance profile the role stack made, and the operators' key.
    let role = c
        .cloudformation
        .describe_stacks()
        .stack_name(format!("{name}-prod-role"))
        .send()
        .await
        .unwrap();
    let profile = role.stacks()[0]
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("InstanceProfile"))
        .and_then(|o| o.output_value())
        .expect("an InstanceProfile output")
        .to_owned();
    for instance in www.reservations().iter().flat_map(|r| r.instances()) {
        let arn = instance
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .unwrap_or_default();
        assert!(arn.ends_with(&format!("/{profile}")), "{arn} for {profile}");
        assert_eq!(instance.key_name(), Some("ops"));
    }
    // And serves behind the load balancer the lb stack made.
    let lb = c
        .cloudformation
        .describe_stacks()
        .stack_name(format!("{name}-prod-lb"))
        .send()
        .await
        .unwrap();
    let target_group = lb.stacks()[0]
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("WebTargetGroupArn"))
        .and_then(|o| o.output_value())
        .expect("a WebTargetGroupArn output")
        .to_owned();
    let health = aws_sdk_elasticloadbalancingv2::Client::new(&support::moto().sdk_config().await)
        .describe_target_health()
        .target_group_arn(&target_group)
        .send()
        .await
        .unwrap();
    let registered: std::collections::BTreeSet<&str> = health
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target()?.id())
        .collect();
    let www_ids: std::collections::BTreeSet<&str> = www
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.instance_id())
        .collect();
    assert_eq!(registered, www_ids, "every www instance is registered");

    // Converged; and the secret is nowhere: plans in every format, status, history.
    let again = run(&["plan", "shop.yaml", "--env", "prod", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    let saved = run(&["plan", "shop.yaml", "--env", "prod", "--out", "plan.json"]);
    assert!(saved.status.success(), "{}", stderr(&saved));
    let mut shown = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    for format in ["text", "json", "markdown"] {
        let out = run(&["plan", "shop.yaml", "--env", "prod", "--format", format]);
        shown.push_str(&stdout(&out));
        shown.push_str(&stderr(&out));
    }
    for command in ["status", "history"] {
        for format in ["text", "json"] {
            let out = run(&[command, "shop.yaml", "--env", "prod", "--format", format]);
            assert!(out.status.success(), "{}", stderr(&out));
            shown.push_str(&stdout(&out));
            shown.push_str(&stderr(&out));
        }
    }
    assert!(
        shown.contains(&endpoint),
        "status shows the output: {shown}"
    );
    assert!(!shown.contains(secret), "{shown}");
    let listed =
        c.s3.list_objects_v2()
            .bucket(format!("{name}-state"))
            .send()
            .await
            .unwrap();
    for object in listed.contents() {
        let body =
            c.s3.get_object()
                .bucket(format!("{name}-state"))
                .key(object.key().unwrap())
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
        assert!(
            !String::from_utf8_lossy(&body).contains(secret),
            "{:?} holds the secret",
            object.key()
        );
    }
}

const QUEUE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Description: Jobs queue
Parameters:
  Retention:
    Type: String
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: !Ref Retention
Outputs:
  Url:
    Value: !Ref Queue
"#;

/// The same template, as JSON with its keys in another order.
const QUEUE_AS_JSON: &str = r#"{
  "Outputs": {"Url": {"Value": {"Ref": "Queue"}}},
  "Resources": {"Queue": {"Properties": {"MessageRetentionPeriod": {"Ref": "Retention"}}, "Type": "AWS::SQS::Queue"}},
  "Parameters": {"Retention": {"Type": "String"}},
  "Description": "Jobs queue",
  "AWSTemplateFormatVersion": "2010-09-09"
}
"#;

fn queue_stack(name: &str, node_template: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {name}
region: us-east-1
state_bucket: {name}-state
security_groups:
  app:
    description: app tier
    ingress: [{{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}]
cloudformation:
  queue:
    template: {node_template}
    parameters:
      Retention: "3600"
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn template_edits_plan_readable_updates_and_saved_change_sets_are_executed() {
    let name = "cfn-edit";
    let c = clients().await;
    state_bucket(&c, name).await;
    let dir = scratch(&[
        ("stack.yaml", &queue_stack(name, "queue.yaml")),
        ("queue.yaml", QUEUE),
        ("queue.json", QUEUE_AS_JSON),
    ]);
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &[]);
    let applied = run(&["apply", "stack.yaml", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));

    // Reformatted, reordered, as JSON: no change.
    std::fs::write(
        dir.path().join("stack.yaml"),
        queue_stack(name, "queue.json"),
    )
    .unwrap();
    let same = run(&["plan", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));

    // An edit: an update with a readable diff of the template.
    let edited = QUEUE.replace(
        "      MessageRetentionPeriod: !Ref Retention\n",
        "      MessageRetentionPeriod: !Ref Retention\n      VisibilityTimeout: 60\n",
    );
    std::fs::write(dir.path().join("queue.yaml"), &edited).unwrap();
    std::fs::write(
        dir.path().join("stack.yaml"),
        queue_stack(name, "queue.yaml"),
    )
    .unwrap();
    let planned = run(&["plan", "stack.yaml", "--detailed-exitcode"]);
    let text = stdout(&planned);
    assert_eq!(planned.status.code(), Some(2), "{text}");
    assert!(text.contains("~ cloudformation.queue"), "{text}");
    assert!(text.contains("+      VisibilityTimeout: 60"), "{text}");
    assert!(
        !text.contains("change set"),
        "no change set without --changesets: {text}"
    );

    // With --changesets: CloudFormation's own resource changes, in the saved plan too.
    let saved = run(&["plan", "stack.yaml", "--changesets", "--out", "plan.json"]);
    let text = stdout(&saved);
    assert!(saved.status.success(), "{}", stderr(&saved));
    assert!(text.contains("change set `rollstack-"), "{text}");
    assert!(text.contains("~ Modify Queue AWS::SQS::Queue"), "{text}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    let queue = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "cloudformation.queue")
        .unwrap();
    let change_set_id = queue["detail"]["change_set"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        queue["detail"]["resource_changes"][0]["logical_id"], "Queue",
        "{queue}"
    );

    // Applying the saved plan executes exactly that change set.
    let applied = run(&["apply", "plan.json", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let executed = c
        .cloudformation
        .describe_change_set()
        .change_set_name(&change_set_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        executed.execution_status().unwrap().as_str(),
        "EXECUTE_COMPLETE"
    );
    let after = run(&["plan", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(after.status.code(), Some(0), "{}", stdout(&after));

    // A saved plan whose change set is gone is stale.
    std::fs::write(dir.path().join("queue.yaml"), QUEUE).unwrap();
    let saved = run(&["plan", "stack.yaml", "--changesets", "--out", "plan2.json"]);
    assert!(saved.status.success(), "{}", stderr(&saved));
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan2.json")).unwrap())
            .unwrap();
    let id = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| c["detail"]["change_set"]["id"].as_str())
        .unwrap()
        .to_owned();
    c.cloudformation
        .delete_change_set()
        .change_set_name(&id)
        .send()
        .await
        .unwrap();
    let stale = run(&["apply", "plan2.json", "--auto-approve"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        stderr(&stale)
            .contains("plan is stale: cloudformation.queue changed since the plan was made"),
        "{}",
        stderr(&stale)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_cloudformation_rejects_fails_with_the_reason_and_the_rest_converges() {
    let name = "cfn-reject";
    let c = clients().await;
    state_bucket(&c, name).await;
    let broken = QUEUE.replace("Value: !Ref Queue", "Value: !GetAtt Missing.Arn");
    let dir = scratch(&[
        ("stack.yaml", &queue_stack(name, "queue.yaml")),
        ("queue.yaml", &broken),
    ]);
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &[]);
    let applied = run(&["apply", "stack.yaml", "--auto-approve"]);
    let err = stderr(&applied);
    assert_eq!(applied.status.code(), Some(1), "{err}");
    assert!(err.contains("cloudformation.queue"), "{err}");
    assert!(
        err.contains("Unresolved resource dependencies [Missing]"),
        "{err}"
    );

    // The independent security group converged; the plan now holds only the stack.
    let groups = c
        .ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values(format!("{name}-default-app"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups().len(), 1);
    let plan = run(&["plan", "stack.yaml", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&stdout(&plan)).unwrap();
    let actions: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("security_group.app".to_owned(), "no_op".to_owned()),
            ("security_group_rules.app".to_owned(), "no_op".to_owned()),
            ("cloudformation.queue".to_owned(), "create".to_owned()),
        ]
    );

    // Fixed, the next apply creates it.
    std::fs::write(dir.path().join("queue.yaml"), QUEUE).unwrap();
    let fixed = run(&["apply", "stack.yaml", "--auto-approve"]);
    assert!(fixed.status.success(), "{}", stderr(&fixed));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_same_named_stack_is_a_conflict_and_left_alone() {
    let name = "cfn-foreign";
    let c = clients().await;
    state_bucket(&c, name).await;
    let foreign = c
        .cloudformation
        .create_stack()
        .stack_name(format!("{name}-default-queue"))
        .template_body(QUEUE)
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key("Retention")
                .parameter_value("60")
                .build(),
        )
        .tags(StackTag::builder().key("team").value("data").build())
        .send()
        .await
        .unwrap();
    let foreign_id = foreign.stack_id().unwrap().to_owned();
    let dir = scratch(&[
        ("stack.yaml", &queue_stack(name, "queue.yaml")),
        ("queue.yaml", QUEUE),
    ]);
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &[]);

    let plan = run(&["plan", "stack.yaml"]);
    let err = stderr(&plan);
    assert_eq!(plan.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "`cloudformation.queue` would be created as CloudFormation stack `{name}-default-queue`"
        )),
        "{err}"
    );
    let applied = run(&["apply", "stack.yaml", "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(1), "{}", stderr(&applied));
    let destroyed = run(&["destroy", "stack.yaml", "--auto-approve"]);
    assert!(destroyed.status.success(), "{}", stderr(&destroyed));

    let after = c
        .cloudformation
        .describe_stacks()
        .stack_name(&foreign_id)
        .send()
        .await
        .unwrap();
    let stack = &after.stacks()[0];
    assert_eq!(stack.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    assert_eq!(stack.parameters()[0].parameter_value(), Some("60"));
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_deletes_owned_stacks_and_waits_for_them() {
    let name = "cfn-destroy";
    let c = clients().await;
    state_bucket(&c, name).await;
    let dir = scratch(&[
        ("stack.yaml", &queue_stack(name, "queue.yaml")),
        ("queue.yaml", QUEUE),
    ]);
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &[]);
    let applied = run(&["apply", "stack.yaml", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let status = run(&["status", "stack.yaml"]);
    assert!(
        stdout(&status).contains(&format!(
            "cloudformation.queue: `{name}-default-queue` CREATE_COMPLETE"
        )),
        "{}",
        stdout(&status)
    );
    let destroyed = run(&["destroy", "stack.yaml", "--auto-approve"]);
    assert!(destroyed.status.success(), "{}", stderr(&destroyed));
    let listed = c.cloudformation.describe_stacks().send().await.unwrap();
    assert!(
        listed
            .stacks()
            .iter()
            .all(|s| s.stack_name() != Some(&format!("{name}-default-queue"))),
        "the stack is gone"
    );
    let after = run(&["plan", "stack.yaml", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&stdout(&after)).unwrap();
    // The group, its rules and the queue.
    assert_eq!(plan["summary"]["create"], 3, "{plan}");
}

/// AWS shows the stack a CREATE change set makes without tags until the change set
/// executes (the local endpoint is patched to do the same): a review stack of
/// `plan --changesets` is still rollstack's, through its change set's tags.
#[tokio::test(flavor = "multi_thread")]
async fn a_review_stack_of_plan_changesets_is_ours_until_and_after_it_runs() {
    let name = "cfn-review";
    let c = clients().await;
    state_bucket(&c, name).await;
    let dir = scratch(&[
        ("stack.yaml", &queue_stack(name, "queue.yaml")),
        ("queue.yaml", QUEUE),
    ]);
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &[]);
    let saved = run(&["plan", "stack.yaml", "--changesets", "--out", "plan.json"]);
    assert!(saved.status.success(), "{}", stderr(&saved));
    let review = c
        .cloudformation
        .describe_stacks()
        .stack_name(format!("{name}-default-queue"))
        .send()
        .await
        .unwrap();
    let review = &review.stacks()[0];
    assert_eq!(
        review.stack_status().unwrap().as_str(),
        "REVIEW_IN_PROGRESS"
    );
    assert!(review.tags().is_empty(), "{:?}", review.tags());

    // Planned again meanwhile: the review stack is no conflict, and not created yet.
    let again = run(&["plan", "stack.yaml", "--format", "json"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let again: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(again["summary"]["create"], 3, "{again}");

    let applied = run(&["apply", "plan.json", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let clean = run(&["plan", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    let destroyed = run(&["destroy", "stack.yaml", "--auto-approve"]);
    assert!(destroyed.status.success(), "{}", stderr(&destroyed));
    let wanted = run(&["plan", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(wanted.status.code(), Some(2), "{}", stdout(&wanted));
    assert!(
        stdout(&wanted).contains("+ cloudformation.queue"),
        "{}",
        stdout(&wanted)
    );
}

/// A stack in review whose change set someone else made has a name the file wants and
/// is not rollstack's: a conflict, left alone.
#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_review_stack_is_a_conflict() {
    let name = "cfn-review-foreign";
    let c = clients().await;
    state_bucket(&c, name).await;
    c.cloudformation
        .create_change_set()
        .stack_name(format!("{name}-default-queue"))
        .change_set_name("their-review")
        .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
        .template_body(QUEUE)
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key("Retention")
                .parameter_value("60")
                .build(),
        )
        .tags(StackTag::builder().key("team").value("data").build())
        .send()
        .await
        .unwrap();
    let dir = scratch(&[
        ("stack.yaml", &queue_stack(name, "queue.yaml")),
        ("queue.yaml", QUEUE),
    ]);
    let planned = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    let err = stderr(&planned);
    assert_eq!(planned.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "`cloudformation.queue` would be created as CloudFormation stack `{name}-default-queue`"
        )),
        "{err}"
    );
    let listed = c
        .cloudformation
        .list_change_sets()
        .stack_name(format!("{name}-default-queue"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.summaries().len(), 1, "left alone");
}
