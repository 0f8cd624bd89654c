//! The editor and the CLI agree: every file of `tests/invalid/` that `rollstack
//! validate` refuses, the JSON Schema refuses too, unless the file's header says why the
//! schema cannot (`# schema: cannot express ...`: a reference, a file, a cycle); every
//! file of `stacks/` both accept.

mod support;

use std::path::Path;

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::root().join("schemas/stack.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

/// The schema's errors for `text`; a file that is no YAML document is refused by an
/// editor as much as by the CLI.
fn schema_errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    let Ok(yaml) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return vec!["not a YAML document".to_owned()];
    };
    let Ok(mut yaml) = serde_yaml::to_value(yaml) else {
        return vec!["not a YAML document".to_owned()];
    };
    // Merge keys as an editor's YAML parser applies them.
    if yaml.apply_merge().is_err() {
        return vec!["a merge key that does not merge".to_owned()];
    }
    let Ok(json) = serde_json::to_value(yaml) else {
        return vec!["YAML that is not JSON (a non-string key)".to_owned()];
    };
    validator
        .iter_errors(&json)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn validate(dir: &Path, file: &str) -> bool {
    support::rollstack(dir, &["validate", file])
        .status
        .success()
}

#[test]
fn the_schema_refuses_every_invalid_file_it_can_express() {
    let validator = validator();
    let dir = support::root().join("tests/invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    let mut wrong = Vec::new();
    for name in &names {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!validate(&dir, name), "`rollstack validate` accepts {name}");
        let inexpressible = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .any(|l| l.starts_with("# schema: cannot express"));
        let errors = schema_errors(&validator, &text);
        match (errors.is_empty(), inexpressible) {
            (true, false) => wrong.push(format!(
                "{name}: the schema accepts it (say why with `# schema: cannot express ...` if it cannot refuse it)"
            )),
            (false, true) => wrong.push(format!(
                "{name}: the schema refuses it ({}), yet its header says it cannot",
                errors.join("; ")
            )),
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_schema_and_validate_accept_every_example_stack() {
    let validator = validator();
    let dir = support::root().join("stacks");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let errors = schema_errors(&validator, &std::fs::read_to_string(&path).unwrap());
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        assert!(validate(&dir, &name), "`rollstack validate` refuses {name}");
    }
}

/// An editor (yaml-language-server, from npm) completes `groups.*.rollout` with every
/// rollout field and its description, and its hovers read cleanly: one title, backticks
/// as code, no `null`.
#[test]
fn an_editor_completes_rollout_fields_with_their_descriptions() {
    let output = std::process::Command::new(support::root().join("scripts/yaml-ls-check.sh"))
        .current_dir(support::root())
        .output()
        .expect("scripts/yaml-ls-check.sh runs (it needs node and npm)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let items = shown["items"].as_array().unwrap();
    let labels: Vec<&str> = items.iter().filter_map(|i| i["label"].as_str()).collect();
    for field in [
        "max_surge",
        "max_unavailable",
        "pause",
        "health_timeout",
        "on_failure",
        "canary",
        "alarms",
    ] {
        assert!(labels.contains(&field), "no `{field}` in {labels:?}");
    }
    assert!(!labels.contains(&"null"), "{labels:?}");
    for item in items {
        assert!(
            !item["documentation"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "`{}` has no description",
            item["label"]
        );
    }
    for (key, hover) in shown["hovers"].as_object().unwrap() {
        let hover = hover.as_str().unwrap();
        assert!(
            hover.starts_with("#### rollstack stack file\n\n"),
            "`{key}`: {hover}"
        );
        assert!(
            !hover.contains("||") && !hover.contains("\\`"),
            "`{key}`: {hover}"
        );
    }
}
