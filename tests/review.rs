//! What a reviewer of a pull request relies on, against the local endpoint: a rename
//! with `moved:` retags instead of replacing (and one without it shouts), the account
//! is named in plan, prompt and history and guarded by `account_id:`, and a saved plan
//! applies from another checkout.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use support::web::{ROLLOUT, apply, assert_ok, instances, setup, stack_file, write};
use support::{rollstack_aws, scratch, stderr, stdout};

/// The moto account and the ARN its `GetCallerIdentity` answers with.
const ACCOUNT: &str = "123456789012";

fn renamed(name: &str, moved: bool) -> String {
    let file =
        stack_file(name, "1.0.0", 2, ROLLOUT).replace("\ngroups:\n  web:", "\ngroups:\n  www:");
    if moved {
        format!("{file}moved:\n  - {{ from: group.web, to: group.www }}\n")
    } else {
        file
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_renamed_with_moved_is_retagged_and_nothing_is_replaced() {
    let name = "review-moved";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 2, ROLLOUT));
    assert_ok(&apply(dir.path(), &[]), "first apply");
    let before: Vec<String> = instances(&c, name).await.into_iter().map(|i| i.0).collect();
    assert_eq!(before.len(), 2);

    // Renamed without `moved:`: two instances would go; the plan says so first.
    write(dir.path(), &renamed(name, false));
    let plan = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert_ok(&plan, "plan of the rename");
    let text = stdout(&plan);
    let warning = text.find("Warning: this plan destroys").expect(&text);
    assert!(
        warning < text.find("Changes:").unwrap(),
        "the warning opens the plan:\n{text}"
    );
    assert!(
        text.contains("! group.web: terminates 2 instances: the group is deleted"),
        "{text}"
    );
    let markdown = stdout(&rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--format", "markdown"],
        &[],
    ));
    assert!(
        markdown.contains("> [!CAUTION]")
            && markdown.contains("`group.web`: terminates 2 instances"),
        "{markdown}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--format", "json"],
        &[],
    )))
    .unwrap();
    assert_eq!(json["warnings"][0]["what"]["kind"], "terminates_instances");
    assert_eq!(json["warnings"][0]["address"], "group.web");

    // With `moved:`, the same rename is a retag: no delete, no warning.
    write(dir.path(), &renamed(name, true));
    let plan = rollstack_aws(
        dir.path(),
        &[
            "plan",
            "stack.yaml",
            "--detailed-exitcode",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
    let json: serde_json::Value = serde_json::from_str(&stdout(&plan)).unwrap();
    assert_eq!(json["summary"]["delete"], 0, "{json:#}");
    assert_eq!(json["summary"]["moved"], 1);
    assert_eq!(json["warnings"], serde_json::json!([]));
    assert_eq!(json["moves"][0]["from"], "group.web");
    assert_eq!(json["moves"][0]["to"], "group.www");
    let text = stdout(&rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]));
    assert!(
        text.contains("Moved (retagged in place; nothing is terminated):")
            && text.contains(
                "> group.web -> group.www: retag 2 instances, 2 volumes and launch template lt-"
            ),
        "{text}"
    );
    assert!(text.contains("Plan: 1 to move, 0 to create"), "{text}");
    assert!(!text.contains("Warning:"), "{text}");

    let applied = apply(dir.path(), &["--stats"]);
    assert_ok(&applied, "apply of the move");
    let calls = stderr(&applied);
    for write in ["TerminateInstances", "RunInstances", "DeleteLaunchTemplate"] {
        assert!(!calls.contains(write), "the move made `{write}`:\n{calls}");
    }
    let create_tags = calls
        .lines()
        .find(|l| l.trim_start().starts_with("ec2:CreateTags"))
        .unwrap_or_else(|| panic!("no CreateTags:\n{calls}"));
    assert_eq!(
        create_tags.split_whitespace().nth(1),
        Some("1"),
        "one batched CreateTags: {create_tags}"
    );
    let after = instances(&c, name).await;
    let mut ids: Vec<String> = after.iter().map(|i| i.0.clone()).collect();
    ids.sort();
    let mut before = before;
    before.sort();
    assert_eq!(ids, before, "the same instances run");
    for (_, _, tags) in &after {
        assert_eq!(tags["rollstack:resource"], "group.www");
        assert_eq!(tags["Name"], format!("{name}-default-www"));
    }

    let replan = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(replan.status.code(), Some(0), "{}", stdout(&replan));
    // The entry may go once applied.
    write(dir.path(), &renamed(name, false));
    let dropped = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(dropped.status.code(), Some(0), "{}", stdout(&dropped));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_is_named_and_guarded() {
    let name = "review-account";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let file = stack_file(name, "1.0.0", 1, ROLLOUT);
    let guarded = |account: &str| {
        file.replace(
            "region: us-east-1\n",
            &format!("region: us-east-1\naccount_id: \"{account}\"\n"),
        )
    };

    write(dir.path(), &guarded("111111111111"));
    for command in [
        &["plan", "stack.yaml"][..],
        &["apply", "stack.yaml", "--auto-approve", "--stats"],
    ] {
        let refused = rollstack_aws(dir.path(), command, &[]);
        assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
        let err = stderr(&refused);
        assert!(
            err.contains(&format!(
                "error: the stack file is for account `111111111111`, and the credentials are account `{ACCOUNT}`"
            )),
            "{err}"
        );
        assert!(
            err.contains("hint: use credentials of account `111111111111`"),
            "{err}"
        );
        if command[0] == "apply" {
            assert!(
                err.contains("AWS calls: 1\n"),
                "only GetCallerIdentity: {err}"
            );
        }
    }
    assert!(instances(&c, name).await.is_empty(), "nothing was applied");

    write(dir.path(), &guarded(ACCOUNT));
    let plan = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml"],
        &[("AWS_REGION", "eu-west-1")],
    );
    assert_ok(&plan, "plan in the file's account");
    let err = stderr(&plan);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("`AWS_REGION` says `eu-west-1`"))
        .collect();
    let expected = format!(
        "warning: `AWS_REGION` says `eu-west-1`; stack `{name}` is in `us-east-1` (the file's `region`), and rollstack uses that"
    );
    assert_eq!(warnings, [expected.as_str()], "said once");
    assert!(
        stdout(&plan).contains(&format!("account `{ACCOUNT}` as `arn:aws:sts::{ACCOUNT}:")),
        "{}",
        stdout(&plan)
    );
    let markdown = stdout(&rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--format", "markdown"],
        &[],
    ));
    assert!(
        markdown.contains(&format!("account `{ACCOUNT}`"))
            && markdown.contains("region `us-east-1`"),
        "{markdown}"
    );

    // The prompt names the account and region: `script` gives apply a terminal, and
    // the `no` typed into it declines.
    let mut prompt = std::process::Command::new("script")
        .args(["-qec", "\"$ROLLSTACK_BIN\" apply stack.yaml", "/dev/null"])
        .current_dir(dir.path())
        .env("ROLLSTACK_BIN", env!("CARGO_BIN_EXE_rollstack"))
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", &support::moto().endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs");
    std::thread::sleep(std::time::Duration::from_secs(5));
    {
        use std::io::Write;
        let mut stdin = prompt.stdin.take().unwrap();
        let _ = stdin.write_all(b"no\n");
    }
    let shown = String::from_utf8_lossy(&prompt.wait_with_output().unwrap().stdout).into_owned();
    assert!(
        shown.contains(&format!(
            "Do you want to apply these changes to `{name}` / `default` in account `{ACCOUNT}`, region `us-east-1`?"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("apply cancelled; nothing was changed."),
        "{shown}"
    );
    assert!(
        instances(&c, name).await.is_empty(),
        "declined: nothing was applied"
    );

    assert_ok(&apply(dir.path(), &[]), "apply in the file's account");
    let status = stdout(&rollstack_aws(dir.path(), &["status", "stack.yaml"], &[]));
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"sg-[0-9a-f]+", "sg-[id]");
    settings.add_filter(r"spec [0-9a-f]{16}", "spec [hash]        ");
    settings.bind(|| insta::assert_snapshot!("status_text", status));
    let history = stdout(&rollstack_aws(dir.path(), &["history", "stack.yaml"], &[]));
    assert!(
        history.contains(&format!("History of {name}/default (us-east-1):")),
        "{history}"
    );
    let row = history
        .lines()
        .find(|l| l.contains("succeeded"))
        .expect(&history);
    assert!(row.contains(ACCOUNT), "{history}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&rollstack_aws(
        dir.path(),
        &["history", "stack.yaml", "--format", "json"],
        &[],
    )))
    .unwrap();
    assert_eq!(json[0]["identity"]["account"], ACCOUNT);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_saved_in_one_checkout_applies_from_another() {
    let name = "review-artifact";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", 1, ROLLOUT));
    let plan = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--out", "plan.json"],
        &[],
    );
    assert_ok(&plan, "plan --out");

    // The merge job: another directory, only the downloaded artifact in it.
    let elsewhere = scratch(&[]);
    std::fs::copy(
        dir.path().join("plan.json"),
        elsewhere.path().join("plan.json"),
    )
    .unwrap();
    let apply_saved = || {
        rollstack_aws(
            elsewhere.path(),
            &[
                "apply",
                "plan.json",
                "--auto-approve",
                "--poll-interval",
                "100ms",
            ],
            &[],
        )
    };
    assert_ok(&apply_saved(), "apply PLANFILE from another checkout");
    assert_eq!(instances(&c, name).await.len(), 1);
    // Applied once, the same artifact is stale: AWS changed since it was made.
    let again = apply_saved();
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    assert!(
        stderr(&again).contains("plan is stale"),
        "{}",
        stderr(&again)
    );
}
