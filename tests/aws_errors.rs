//! What a user reads when AWS cannot be used: no credentials, an unknown profile, an
//! endpoint nothing answers on, and a call the identity may not make. Each is one or two
//! sentences with a hint, never an SDK structure; snapshotted.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::process::{Command, Output, Stdio};

use support::{rollstack, root, scratch, stderr};

const STACK: &str = "rollstack: 1\nstack: errs\nregion: us-east-1\n\
    security_groups:\n  web:\n    ingress: [{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }]\n";

/// `rollstack plan` with only `vars` in its environment (and an empty home, so no
/// shared config of this machine's is read).
fn plan_with(vars: &[(&str, &str)], extra: &[&str]) -> Output {
    let dir = scratch(&[("stack.yaml", STACK)]);
    let home = tempfile::tempdir().unwrap();
    let mut args = vec!["plan", "stack.yaml"];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_rollstack"))
        .args(&args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        // No instance metadata service to ask on a test machine.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the rollstack binary runs")
}

/// Asserts the refusal reads as sentences: exit 1, a hint, no SDK debug structure.
fn refused(output: &Output) -> String {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("  hint: "), "{err}");
    for debug in [
        "ServiceError",
        "SdkBody",
        "DispatchFailure",
        "{ source",
        "Error {",
    ] {
        assert!(!err.contains(debug), "an SDK structure:\n{err}");
    }
    err
}

#[test]
fn no_credentials() {
    let output = plan_with(&[], &["--endpoint-url", &support::moto().endpoint]);
    let err = refused(&output);
    insta::with_settings!({filters => vec![
        (r"`[A-Za-z]+` was not sent", "`[operation]` was not sent"),
    ]}, {
        insta::assert_snapshot!(err);
    });
}

#[test]
fn an_unknown_profile() {
    let output = plan_with(&[("AWS_PROFILE", "prodd")], &[]);
    insta::assert_snapshot!(refused(&output));
}

#[test]
fn an_endpoint_nothing_answers_on() {
    // A port just freed: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let output = plan_with(
        &[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")],
        &["--endpoint-url", &endpoint, "--call-timeout", "3s"],
    );
    let err = refused(&output);
    assert!(err.contains(&endpoint), "{err}");
    insta::with_settings!({filters => vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"^error: `[A-Za-z]+`", "error: `[operation]`"),
    ]}, {
        insta::assert_snapshot!(err);
    });
}

/// An identity allowed S3 only, with moto enforcing IAM: the plan's first EC2 call is
/// denied, and the message names the action to allow.
#[test]
fn access_denied_names_the_action() {
    let endpoint = &support::moto().endpoint;
    let setup = Command::new(root().join(".venv/bin/python"))
        .arg("-c")
        .arg(
            r#"
import json, sys, urllib.request, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="a", aws_secret_access_key="b")
iam.create_user(UserName="s3-only")
iam.put_user_policy(UserName="s3-only", PolicyName="s3", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="s3-only")["AccessKey"]
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/moto-api/reset-auth",
                                              data=b"0", method="POST",
                                              headers={"Content-Type": "application/json"}))
print(key["AccessKeyId"], key["SecretAccessKey"])
"#,
        )
        .arg(endpoint)
        .output()
        .unwrap();
    assert!(setup.status.success(), "{}", stderr(&setup));
    let keys = String::from_utf8(setup.stdout).unwrap();
    let (id, secret) = keys.trim().split_once(' ').unwrap();
    let output = plan_with(
        &[("AWS_ACCESS_KEY_ID", id), ("AWS_SECRET_ACCESS_KEY", secret)],
        &["--endpoint-url", endpoint],
    );
    let err = refused(&output);
    insta::with_settings!({filters => vec![
        (r"`[A-Za-z]+` failed", "`[operation]` failed"),
        (r"ec2:[A-Za-z]+", "ec2:[operation]"),
    ]}, {
        insta::assert_snapshot!(err);
    });
}

#[test]
fn usage_errors_are_not_aws_errors() {
    let dir = scratch(&[("stack.yaml", STACK)]);
    let output = rollstack(
        dir.path(),
        &["plan", "stack.yaml", "--call-timeout", "soon"],
    );
    // 1, as every error: 2 is only `--detailed-exitcode`'s "changes present".
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("invalid value 'soon'"),
        "{}",
        stderr(&output)
    );
}
