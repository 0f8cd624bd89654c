//! `rollstack iam-policy` with IAM enforced on the local endpoint: a user given only the
//! printed `apply` policy applies, rolls and destroys a stack (a CloudFormation instance
//! role, a named instance profile, a security group, two groups); a user given the
//! `plan` policy plans and is refused on apply with one sentence.
//!
//! IAM is enforced for the whole moto server of this binary, so it holds this one test.
//! moto checks actions, and resources of S3 calls only; it ignores `Condition`s
//! (docs/real-aws.md).

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use support::web::{USER_DATA, assert_ok, buckets, clients};
use support::{moto, rollstack_aws, scratch, stderr, stdout};

const NAME: &str = "iam-least";

fn stack_file(version: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {NAME}
region: us-east-1
state_bucket: {NAME}-state
releases: {{ bucket: {NAME}-releases }}
apps:
  web: {{ version: "{version}" }}
security_groups:
  web:
    description: web tier
    ingress:
      - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}
      - {{ protocol: tcp, ports: 22, from: self }}
roles:
  web: {{ app: web, health: {{ running: {{}} }} }}
  ops: {{ health: {{ running: {{}} }} }}
groups:
  web:
    roles: [web]
    count: 2
    image: ami-0abc1234
    instance_type: t3.micro
    security_groups: [web]
    user_data: web.sh.j2
    instance_profile: ${{outputs.role.InstanceProfile}}
    tags: {{ team: web }}
    rollout: {{ max_surge: 1, max_unavailable: 0, health_timeout: 1m }}
  ops:
    roles: [ops]
    count: 1
    image: ami-0abc1234
    instance_type: t3.micro
    instance_profile: {NAME}-ops
cloudformation:
  role:
    template: instance-role.yaml
    parameters:
      ReleaseBucket: {NAME}-releases
      StateBucket: {NAME}-state
      SignalPrefix: rollstack/${{stack}}/${{env}}/signals/
      JobPrefix: rollstack/${{stack}}/${{env}}/jobs/
tags: {{ cost-center: "42" }}
"#
    )
}

/// Turns IAM enforcement of the local endpoint on or off.
async fn enforce_iam(on: bool) {
    rollstack::notify::send::install_tls();
    let answer = reqwest::Client::new()
        .post(format!("{}/moto-api/reset-auth", moto().endpoint))
        .header("Content-Type", "application/json")
        .body(if on { "0" } else { "inf" })
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
}

/// A user with `policy` as its only permission; its access key.
async fn user(iam: &aws_sdk_iam::Client, name: &str, policy: &str) -> (String, String) {
    iam.create_user().user_name(name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(name)
        .policy_name("rollstack")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    (
        key.access_key_id().to_owned(),
        key.secret_access_key().to_owned(),
    )
}

/// Runs rollstack as the user with access key `key`.
fn run_as(key: &(String, String), dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    rollstack_aws(
        dir,
        args,
        &[
            ("AWS_ACCESS_KEY_ID", key.0.as_str()),
            ("AWS_SECRET_ACCESS_KEY", key.1.as_str()),
        ],
    )
}

const APPLY: &[&str] = &[
    "apply",
    "stack.yaml",
    "--auto-approve",
    "--poll-interval",
    "100ms",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_printed_policies_are_enough_to_apply_roll_destroy_and_plan() {
    let c = clients().await;
    buckets(&c, NAME, &["1.0.0", "1.1.0"]).await;
    let iam = aws_sdk_iam::Client::new(&moto().sdk_config().await);
    // The operators' own profile for group `ops`, whose role `iam-policy` looks up.
    iam.create_role()
        .role_name(format!("{NAME}-ops-role"))
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();
    iam.create_instance_profile()
        .instance_profile_name(format!("{NAME}-ops"))
        .send()
        .await
        .unwrap();
    iam.add_role_to_instance_profile()
        .instance_profile_name(format!("{NAME}-ops"))
        .role_name(format!("{NAME}-ops-role"))
        .send()
        .await
        .unwrap();
    let template =
        std::fs::read_to_string(support::root().join("stacks/templates/instance-role.yaml"))
            .unwrap();
    let dir = scratch(&[
        ("web.sh.j2", USER_DATA),
        ("instance-role.yaml", &template),
        ("stack.yaml", &stack_file("1.0.0")),
    ]);

    let printed = |purpose: &str| {
        let out = rollstack_aws(
            dir.path(),
            &["iam-policy", "stack.yaml", "--for", purpose],
            &[],
        );
        assert_ok(&out, "iam-policy");
        stdout(&out)
    };
    let apply_policy = printed("apply");
    let plan_policy = printed("plan");
    let parsed: serde_json::Value = serde_json::from_str(&apply_policy).unwrap();
    let passed: Vec<&str> = parsed["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "PassInstanceRoles")
        .unwrap()["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        passed,
        [
            format!("arn:aws:iam::*:role/{NAME}-default-role-*"),
            format!("arn:aws:iam::123456789012:role/{NAME}-ops-role"),
        ]
    );
    let deployer = user(&iam, "deployer", &apply_policy).await;
    let reviewer = user(&iam, "reviewer", &plan_policy).await;

    enforce_iam(true).await;
    // Without a policy of its own, the test's identity is refused, as on AWS.
    let outsider = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert_eq!(outsider.status.code(), Some(1), "{}", stderr(&outsider));

    let plan = run_as(
        &reviewer,
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
    );
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
    assert!(stdout(&plan).contains("+ group.web"), "{}", stdout(&plan));

    let refused = run_as(&reviewer, dir.path(), APPLY);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let message = stderr(&refused);
    assert!(
        message.contains("failed: AccessDenied:") && message.contains("`s3:PutObject`"),
        "{message}"
    );
    for debug in ["{", "SdkError", "ServiceError", "Some("] {
        assert!(!message.contains(debug), "`{debug}` in:\n{message}");
    }

    assert_ok(&run_as(&deployer, dir.path(), APPLY), "apply as deployer");
    let clean = run_as(
        &deployer,
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    std::fs::write(dir.path().join("stack.yaml"), stack_file("1.1.0")).unwrap();
    assert_ok(&run_as(&deployer, dir.path(), APPLY), "roll as deployer");
    let clean = run_as(
        &reviewer,
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    enforce_iam(false).await;
    let fleet = support::web::fleet(&c, NAME).await;
    assert_eq!(
        fleet.iter().filter(|r| r.as_str() == "web@1.1.0").count(),
        2,
        "{fleet:?}"
    );
    assert!(
        !fleet.iter().any(|r| r.as_str() == "web@1.0.0"),
        "{fleet:?}"
    );

    enforce_iam(true).await;
    assert_ok(
        &run_as(
            &deployer,
            dir.path(),
            &["destroy", "stack.yaml", "--auto-approve"],
        ),
        "destroy as deployer",
    );
    enforce_iam(false).await;
    assert!(support::web::fleet(&c, NAME).await.is_empty());
}
