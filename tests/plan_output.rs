//! What reviewers read: text, JSON and markdown plans of one scenario with every kind of
//! change, drift, a CloudFormation node and a secret, snapshotted with ids filtered.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_cloudformation::types::{Parameter, Tag};
use serde_json::Value;
use support::{rollstack_aws, scratch, seed, stderr, stdout};

const SECRET: &str = "s3cr3t-Pa55word";

const TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Password: { Type: String, NoEcho: true }
  Size: { Type: String, Default: small }
Resources:
  Jobs:
    Type: AWS::SQS::Queue
Outputs:
  Endpoint:
    Value: db.internal:5432
  Dsn:
    Value: !Join ["", ["postgres://app:", !Ref Password, "@db.internal/app"]]
"#;

const USER_DATA: &str = "#!/bin/sh\n\
echo 'web {{ apps.web.version }}' > /etc/motd\n\
echo 'DATABASE_URL={{ outputs.db.Dsn }}' >> /etc/app.env\n\
echo 'DB_HOST={{ outputs.db.Endpoint }}' >> /etc/app.env\n";

fn stack_file(version: &str, count: u32, v2: bool) -> String {
    let (bastion_extra, legacy, worker) = if v2 {
        (
            "      - { protocol: tcp, ports: 22, cidr: 198.51.100.0/24 }\n",
            "",
            "  worker:\n    roles: [web]\n    count: 1\n    image: ami-0abc1234\n    instance_type: t3.small\n    security_groups: [web]\n",
        )
    } else {
        (
            "",
            "  legacy:\n    description: old tier\n    ingress: [{ protocol: udp, ports: 53, cidr: 10.0.0.0/8 }]\n",
            "",
        )
    };
    format!(
        r#"rollstack: 1
stack: plan-review
region: us-east-1
state_bucket: plan-review-state
releases: {{ bucket: plan-review-releases }}
apps:
  web: {{ version: "{version}" }}
security_groups:
  web:
    description: web tier
    ingress:
      - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}
      - {{ protocol: tcp, ports: 22, from: bastion }}
  bastion:
    description: ssh entry
    ingress:
      - {{ protocol: tcp, ports: 22, cidr: 203.0.113.0/24 }}
{bastion_extra}{legacy}roles:
  web: {{ app: web, health: {{ signal: {{}} }} }}
groups:
  web:
    roles: [web]
    count: {count}
    image: ami-0abc1234
    instance_type: t3.micro
    security_groups: [web]
    user_data: web.sh.j2
    depends_on: [db]
{worker}cloudformation:
  db:
    template: db.yaml
    parameters:
      Password: {{ from_env: DB_PASSWORD, sensitive: true }}
      Size: small
"#
    )
}

/// Snapshots `text` with the ids that vary per run filtered; everything else must not.
fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\bi-[0-9a-f]{8,17}\b", "i-[id]");
    settings.add_filter(r"\bsg-[0-9a-f]{8,17}\b", "sg-[id]");
    settings.add_filter(r"\bsgr-[0-9a-f]{8,17}\b", "sgr-[id]");
    settings.add_filter(
        r"stack/plan-review-default-db/[0-9a-f-]+",
        "stack/plan-review-default-db/[uuid]",
    );
    settings.add_filter(
        r#""id": "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}""#,
        r#""id": "[plan id]""#,
    );
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_for_review_in_text_json_and_markdown() {
    let aws = support::moto().clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA), ("db.yaml", TEMPLATE)]);
    let path = dir.path().join("stack.yaml");
    std::fs::write(&path, stack_file("1.0.0", 3, false)).unwrap();
    let v1 = seed::model(&path, None);
    seed::releases(&aws.s3, &v1).await;

    // What an earlier apply left: the database stack, the fleet, and a hand-made rule.
    let tags = [
        ("rollstack:stack", "plan-review"),
        ("rollstack:env", "default"),
        ("rollstack:resource", "cloudformation.db"),
    ];
    let created = aws
        .cloudformation
        .create_stack()
        .stack_name("plan-review-default-db")
        .template_body(TEMPLATE)
        .parameters(
            Parameter::builder()
                .parameter_key("Password")
                .parameter_value(SECRET)
                .build(),
        )
        .parameters(
            Parameter::builder()
                .parameter_key("Size")
                .parameter_value("small")
                .build(),
        )
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .send()
        .await
        .expect("CreateStack");
    let described = aws
        .cloudformation
        .describe_stacks()
        .stack_name(created.stack_id().unwrap())
        .send()
        .await
        .unwrap();
    let outputs: BTreeMap<String, String> = described.stacks()[0]
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap().to_owned(),
                o.output_value().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        outputs["Dsn"].contains(SECRET),
        "the output carries the secret: {outputs:?}"
    );
    let outputs = BTreeMap::from([("db".to_owned(), outputs)]);
    let ids = seed::fleet(&aws.ec2, &v1, &outputs).await;
    aws.ec2
        .authorize_security_group_ingress()
        .group_id(&ids["web"])
        .ip_permissions(seed::permission(
            &rollstack::model::Rule {
                protocol: rollstack::model::Protocol::Tcp,
                ports: "3306".parse().unwrap(),
                peer: rollstack::model::Peer::Cidr("10.0.0.0/8".into()),
            },
            &ids,
        ))
        .send()
        .await
        .unwrap();

    std::fs::write(&path, stack_file("1.1.0", 4, true)).unwrap();
    let v2 = seed::model(&path, None);
    seed::releases(&aws.s3, &v2).await;

    let env = [("DB_PASSWORD", SECRET)];
    let run = |args: &[&str]| {
        let output = rollstack_aws(dir.path(), args, &env);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        let text = stdout(&output);
        assert!(!text.contains(SECRET), "the secret leaked:\n{text}");
        assert!(!stderr(&output).contains(SECRET));
        text
    };
    let text = run(&[
        "plan",
        "stack.yaml",
        "--detailed-exitcode",
        "--out",
        "saved.json",
    ]);
    snapshot("plan_text", &text);
    assert!(
        text.contains("DATABASE_URL=postgres://app:(sensitive)@db.internal/app"),
        "{text}"
    );

    let markdown = run(&[
        "plan",
        "stack.yaml",
        "--detailed-exitcode",
        "--format",
        "markdown",
    ]);
    snapshot("plan_markdown", &markdown);

    let json = run(&[
        "plan",
        "stack.yaml",
        "--detailed-exitcode",
        "--format",
        "json",
    ]);
    let mut plan: Value = serde_json::from_str(&json).unwrap();
    validate_against_schema(&plan);
    for fingerprint in plan["fingerprints"].as_object_mut().unwrap().values_mut() {
        *fingerprint = Value::from("[fingerprint]");
    }
    plan["rollstack_version"] = Value::from("[version]");
    snapshot("plan_json", &serde_json::to_string_pretty(&plan).unwrap());

    let saved = std::fs::read_to_string(dir.path().join("saved.json")).unwrap();
    assert!(!saved.contains(SECRET));
    let saved: Value = serde_json::from_str(&saved).unwrap();
    validate_against_schema(&saved);
    assert_eq!(
        saved["model"]["groups"]["web"]["count"], 4,
        "the effective model is saved"
    );
    assert_eq!(saved["images"]["web"]["id"], "ami-0abc1234");
}

fn validate_against_schema(plan: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(plan).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "plan JSON does not match schemas/plan.schema.json: {errors:?}"
    );
}

/// A CloudFormation stack to create is shown by its template file and the resources the
/// template declares, not the whole template; a release older than the one the instances
/// run is called a downgrade, first thing.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_stack_lists_its_resources_and_a_downgrade_opens_the_plan() {
    let aws = support::moto().clients().await;
    let dir = scratch(&[("web.sh.j2", USER_DATA), ("db.yaml", TEMPLATE)]);
    let path = dir.path().join("stack.yaml");
    let file = |version: &str| {
        stack_file(version, 2, false)
            .replace("stack: plan-review", "stack: plan-downgrade")
            .replace("plan-review-", "plan-downgrade-")
    };
    std::fs::write(&path, file("1.1.0")).unwrap();
    let v1 = seed::model(&path, None);
    seed::releases(&aws.s3, &v1).await;
    // The fleet runs 1.1.0; the database stack does not exist yet.
    let outputs = BTreeMap::from([(
        "db".to_owned(),
        BTreeMap::from([
            ("Endpoint".to_owned(), "db.internal:5432".to_owned()),
            (
                "Dsn".to_owned(),
                "postgres://app:x@db.internal/app".to_owned(),
            ),
        ]),
    )]);
    seed::fleet(&aws.ec2, &v1, &outputs).await;
    std::fs::write(&path, file("1.0.0")).unwrap();
    let v0 = seed::model(&path, None);
    seed::releases(&aws.s3, &v0).await;

    let output = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml"],
        &[("DB_PASSWORD", SECRET)],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let warning = text
        .find("! group.web: downgrades `web` from 1.1.0 to 1.0.0")
        .unwrap_or_else(|| panic!("no downgrade warning:\n{text}"));
    assert!(warning < text.find("Changes:").unwrap(), "{text}");
    snapshot("plan_new_stack_and_downgrade", &text);
}
