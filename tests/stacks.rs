//! Stacks that publish outputs for other stacks, through the real binary against the
//! local endpoint: a successful apply writes `outputs.json` with the real values, keeps
//! sensitive ones out, and `status` shows them. One stack name per test.

mod support;

use support::web::clients;
use support::{ECHO, rollstack_aws, scratch, stderr, stdout};

/// A queue whose outputs echo a sensitive parameter too.
const QUEUE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Password:
    Type: String
    NoEcho: true
Resources:
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  Url:
    Value: !Ref Queue
  Echo:
    Value: !Ref Password
"#;

fn network(name: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {name}
region: us-east-1
state_bucket: {name}-state
security_groups:
  web:
    description: web tier
    ingress: [{{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}]
cloudformation:
  queue:
    template: queue.yaml
    parameters:
      Password: {{ from_env: QUEUE_PASSWORD, sensitive: true }}
outputs:
  web_sg: "${{security_groups.web.id}}"
  queue_url: "${{outputs.queue.Url}}"
  where: "${{region}}/${{stack}}-${{env}}"
  echo: "${{outputs.queue.Echo}}"
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_successful_apply_publishes_its_outputs_without_secrets() {
    let name = "pub-net";
    let c = clients().await;
    c.s3.create_bucket()
        .bucket(format!("{name}-state"))
        .send()
        .await
        .unwrap();
    let dir = scratch(&[("stack.yaml", &network(name)), ("queue.yaml", QUEUE)]);
    let secret = [("QUEUE_PASSWORD", "hunter2-very-secret")];
    let applied = rollstack_aws(
        dir.path(),
        &["apply", "stack.yaml", "--auto-approve"],
        &secret,
    );
    assert!(applied.status.success(), "{}", stderr(&applied));
    assert!(
        stderr(&applied).contains("output `echo` holds a sensitive value and is not published"),
        "{}",
        stderr(&applied)
    );
    assert!(!stderr(&applied).contains("hunter2") && !stdout(&applied).contains("hunter2"));

    let stored =
        c.s3.get_object()
            .bucket(format!("{name}-state"))
            .key(format!("rollstack/{name}/default/outputs.json"))
            .send()
            .await
            .expect("the published outputs");
    let body = stored.body.collect().await.unwrap().into_bytes();
    let published: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(published["history"], 1);
    let outputs = &published["outputs"];
    assert!(
        outputs["web_sg"].as_str().unwrap().starts_with("sg-"),
        "{published}"
    );
    assert!(
        outputs["queue_url"].as_str().unwrap().contains("queue"),
        "{published}"
    );
    assert_eq!(outputs["where"], format!("us-east-1/{name}-default"));
    assert!(
        outputs.get("echo").is_none(),
        "a sensitive value was published: {published}"
    );

    let status = rollstack_aws(dir.path(), &["status", "stack.yaml"], &secret);
    let text = stdout(&status);
    assert!(text.contains("Published outputs (history #1"), "{text}");
    assert!(
        text.contains(&format!("  where: us-east-1/{name}-default")),
        "{text}"
    );
}

/// User data that reads the producer's outputs (subscripted: its name has a dash).
const WEB_USER_DATA: &str = "#!/bin/sh\nWHERE={{ stacks[\"use-net\"].where }}\n";

fn consumer(name: &str, producer: &str, output: &str) -> String {
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
    user_data: web.sh.j2
cloudformation:
  echo:
    template: echo.yaml
    parameters:
      Given: "${{stacks.{producer}.{output}}}"
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_reads_what_another_published() {
    let (net, shop) = ("use-net", "use-shop");
    let c = clients().await;
    for name in [net, shop] {
        c.s3.create_bucket()
            .bucket(format!("{name}-state"))
            .send()
            .await
            .unwrap();
    }
    let dir = scratch(&[
        ("network.yaml", &network(net)),
        ("queue.yaml", QUEUE),
        ("echo.yaml", ECHO),
        ("shop.yaml", &consumer(shop, net, "web_gs")),
        ("web.sh.j2", WEB_USER_DATA),
    ]);
    let secret = [("QUEUE_PASSWORD", "hunter2-very-secret")];
    let run = |args: &[&str]| rollstack_aws(dir.path(), args, &secret);

    // An output the producer does not declare: a validation error, no AWS call.
    let invalid = run(&["validate", "shop.yaml"]);
    assert_eq!(invalid.status.code(), Some(1));
    let err = stderr(&invalid);
    assert!(
        err.contains(&format!("stack `{net}` declares no output `web_gs`")),
        "{err}"
    );
    assert!(err.contains("did you mean `web_sg`?"), "{err}");
    std::fs::write(dir.path().join("shop.yaml"), consumer(shop, net, "web_sg")).unwrap();

    // Declared, never published: the plan names the stack to apply first.
    let early = run(&["plan", "shop.yaml"]);
    assert_eq!(early.status.code(), Some(1), "{}", stdout(&early));
    let err = stderr(&early);
    assert!(
        err.contains(&format!("stack `{net}` has published no outputs")),
        "{err}"
    );
    assert!(err.contains(&format!("apply stack `{net}` first")), "{err}");

    let applied = run(&["apply", "network.yaml", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let applied = run(&["apply", "shop.yaml", "--auto-approve"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let described = c
        .cloudformation
        .describe_stacks()
        .stack_name(format!("{shop}-default-echo"))
        .send()
        .await
        .unwrap();
    let given = described.stacks()[0]
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("Given"))
        .and_then(|p| p.parameter_value())
        .unwrap()
        .to_owned();
    assert!(
        given.starts_with("sg-"),
        "the producer's security group id: {given}"
    );
    let clean = run(&["plan", "shop.yaml", "--detailed-exitcode"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}
