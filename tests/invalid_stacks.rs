//! Every file in `tests/invalid/` is refused: exit 1, a `file:line:column`, no panic,
//! and the diagnostic a user sees is snapshotted.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::path::Path;

/// Whether `stderr` names a `file:line:column` (the stack file's, or a template's).
fn has_position(stderr: &str) -> bool {
    stderr.split("─[").skip(1).any(|rest| {
        let inside = rest.split(']').next().unwrap_or("");
        let mut parts = inside.rsplitn(3, ':');
        let column = parts.next().unwrap_or("");
        let line = parts.next().unwrap_or("");
        let file = parts.next().unwrap_or("");
        !file.is_empty() && line.parse::<usize>().is_ok() && column.parse::<usize>().is_ok()
    })
}

fn check_refused(dir: &Path, file: &str) -> String {
    let output = support::rollstack(dir, &["validate", file]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{file} must exit 1:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{file} panicked:\n{stderr}");
    assert!(
        has_position(&stderr),
        "{file} has no file:line:column:\n{stderr}"
    );
    assert!(output.stdout.is_empty(), "{file} wrote to stdout");
    stderr
}

#[test]
fn every_invalid_file_is_refused_with_a_located_diagnostic() {
    let dir = support::root().join("tests/invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/invalid")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "only {} invalid files", names.len());
    for name in names {
        let stderr = check_refused(&dir, &name);
        insta::assert_snapshot!(name.trim_end_matches(".yaml"), stderr);
    }
}

#[test]
fn a_ten_megabyte_file_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("rollstack: 1\nstack: big\nregion: us-east-1\n# ");
    text.push_str(&"x".repeat(10 * 1024 * 1024));
    std::fs::write(dir.path().join("big.yaml"), text).unwrap();
    let stderr = check_refused(dir.path(), "big.yaml");
    assert!(stderr.contains("at most 1048576 bytes"), "{stderr}");
}

#[test]
fn a_missing_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let output = support::rollstack(dir.path(), &["validate", "nope.yaml"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("cannot read `nope.yaml`"), "{stderr}");
}

#[test]
fn a_cycle_is_reported_as_the_whole_loop() {
    let dir = support::root().join("tests/invalid");
    let stderr = check_refused(&dir, "cycle-groups.yaml");
    assert!(
        stderr.contains("dependency cycle: group.api -> group.www -> group.jobs -> group.api"),
        "{stderr}"
    );
    let stderr = check_refused(&dir, "cycle-through-cloudformation.yaml");
    assert!(
        stderr.contains("cloudformation.db -> group.www -> cloudformation.db"),
        "{stderr}"
    );
}

#[test]
fn misspelt_references_get_a_did_you_mean() {
    let dir = support::root().join("tests/invalid");
    for (file, suggestion) in [
        ("misspelt-role.yaml", "did you mean `web`?"),
        ("unknown-rule-source.yaml", "did you mean `bastion`?"),
        ("unknown-dependency.yaml", "did you mean `db`?"),
        ("overlay-unknown-group.yaml", "did you mean `www`?"),
        ("unknown-group-field.yaml", "did you mean `count`?"),
        (
            "user-data-undefined.yaml",
            "did you mean `apps.web.version`?",
        ),
        ("unknown-parameter.yaml", "did you mean `InstanceClass`?"),
        ("unknown-output.yaml", "did you mean `Endpoint`?"),
    ] {
        let stderr = check_refused(&dir, file);
        assert!(
            stderr.contains(suggestion),
            "{file} lacks `{suggestion}`:\n{stderr}"
        );
    }
}

#[test]
fn all_problems_of_a_file_are_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(support::root().join("tests/invalid/misspelt-role.yaml"))
        .unwrap()
        .replace("region: us-east-1", "region: useast1")
        .replace("from: bastion", "from: bastoin");
    std::fs::create_dir_all(dir.path().join("files")).unwrap();
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    for f in ["files/ok.sh.j2", "templates/db.yaml"] {
        std::fs::copy(
            support::root().join("tests/invalid").join(f),
            dir.path().join(f),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("many.yaml"), text).unwrap();
    let stderr = check_refused(dir.path(), "many.yaml");
    assert!(stderr.contains("has 3 problems"), "{stderr}");
}

/// `defaults.groups` is what every group gets: a group's own values win, mappings merge
/// key by key, environments override both; a problem in a default is reported at the
/// `defaults` line.
#[test]
fn defaults_fill_every_group_and_problems_point_at_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = |defaults: &str| {
        format!(
            r#"rollstack: 1
stack: shared
region: us-east-1
defaults:
  groups:
{defaults}
roles:
  web: {{}}
groups:
  www:
    roles: [web]
    count: 2
    image: ami-0abc1234
  api:
    roles: [web]
    count: 1
    image: ami-0abc1234
    instance_type: c6i.large
    rollout: {{ pause: 30s }}
environments:
  prod: {{}}
  staging: {{ groups: {{ www: {{ instance_type: t3.micro }} }} }}
"#
        )
    };
    let path = dir.path().join("stack.yaml");
    std::fs::write(
        &path,
        file("    instance_type: t3.small\n    rollout: { max_surge: 2, pause: 5s }"),
    )
    .unwrap();
    let validated = rollstack::validate::validate_file(&path).expect("valid");
    let prod = &validated.environments[0];
    assert_eq!(prod.environment.name, "prod");
    assert_eq!(prod.groups["www"].instance_type, "t3.small");
    assert_eq!(
        prod.groups["api"].instance_type, "c6i.large",
        "the group's own wins"
    );
    assert_eq!(
        prod.groups["api"].rollout.max_surge.to_string(),
        "2",
        "mappings merge"
    );
    assert_eq!(prod.groups["api"].rollout.pause.to_string(), "30s");
    assert_eq!(prod.groups["www"].rollout.pause.to_string(), "5s");
    let staging = &validated.environments[1];
    assert_eq!(
        staging.groups["www"].instance_type, "t3.micro",
        "environments win"
    );

    std::fs::write(&path, file("    instance_type: t3.small\n    cuont: 3")).unwrap();
    let stderr = check_refused(dir.path(), "stack.yaml");
    assert!(stderr.contains("unknown field `cuont`"), "{stderr}");
    assert!(
        stderr.contains("[stack.yaml:7:5]"),
        "at the default's line: {stderr}"
    );
}

/// `account_id` is the file's, and an environment may name its own.
#[test]
fn an_environment_may_be_in_another_account() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stack.yaml");
    std::fs::write(
        &path,
        r#"rollstack: 1
stack: accounts
region: us-east-1
account_id: "111111111111"
roles: { web: {} }
groups: { www: { roles: [web], count: 1, image: ami-0abc1234, instance_type: t3.micro } }
environments:
  prod: {}
  staging: { account_id: "222222222222" }
"#,
    )
    .unwrap();
    let validated = rollstack::validate::validate_file(&path).expect("valid");
    let accounts: Vec<(&str, Option<&str>)> = validated
        .environments
        .iter()
        .map(|s| (s.environment.name.as_str(), s.account_id.as_deref()))
        .collect();
    assert_eq!(
        accounts,
        [
            ("prod", Some("111111111111")),
            ("staging", Some("222222222222"))
        ]
    );
}
