//! CloudFormation nodes: template and parameter differences; outputs of stacks that do
//! not change are known to the rest of the plan.

use std::collections::BTreeMap;

use super::{Diffed, fingerprint, short_hash, unified_diff};
use crate::model::{Address, CloudFormation, Interpolated, Known, ParameterValue, Stack};
use crate::observe::{LiveCloudFormation, Observed, StackStatus, aws_name};
use crate::plan::redact::{Redactor, SENSITIVE};
use crate::plan::{Action, BeforeAfter, Change, CloudFormationChange, Detail, TemplateResource};
use crate::template::{KNOWN_AFTER_APPLY, Outputs};

/// Values of `from_env` parameters, read from the environment before any AWS call.
pub type EnvironmentValues = BTreeMap<String, String>;

/// Diffs every CloudFormation node (in dependency order, so outputs flow), and every
/// owned stack the file no longer has. Returns the outputs known after the diff (the
/// other stacks' published ones among them, `${stacks.STACK.OUTPUT}`, and the apps'
/// image digests).
pub fn diff(
    stack: &Stack,
    observed: &Observed,
    env: &EnvironmentValues,
    redactor: &Redactor,
    order: &[Address],
) -> (Vec<Diffed>, Outputs) {
    let mut outputs: Outputs = observed
        .published
        .iter()
        .filter_map(|(producer, published)| {
            let values = published.as_ref()?.outputs.clone();
            Some((crate::model::reference::stack_outputs_key(producer), values))
        })
        .chain(observed.image_digests())
        .collect();
    let mut out = Vec::new();
    let security_groups = observed.security_group_ids(stack);
    for address in order {
        let Address::CloudFormation(name) = address else {
            continue;
        };
        let desired = &stack.cloudformation[name];
        let aws = aws_name(stack, name);
        // A stack whose creating change set has not run yet does not exist so far.
        let live = observed
            .cloudformation
            .iter()
            .find(|s| s.name == aws && !s.status.is_in_review());
        let values = parameter_values(stack, desired, &security_groups, &outputs, env);
        let diffed = diff_one(stack, name, desired, live, &values, redactor);
        let known = diffed.change.action == Action::NoOp;
        let node_outputs = desired
            .outputs
            .iter()
            .map(|o| {
                let value = live
                    .filter(|_| known)
                    .and_then(|l| l.outputs.get(o).cloned())
                    .unwrap_or_else(|| KNOWN_AFTER_APPLY.to_owned());
                (o.clone(), value)
            })
            .collect();
        outputs.insert(name.clone(), node_outputs);
        out.push(diffed);
    }
    let prefix = aws_name(stack, "");
    for live in &observed.cloudformation {
        let Some(name) = live.name.strip_prefix(&prefix) else {
            continue;
        };
        if stack.cloudformation.contains_key(name) {
            continue;
        }
        out.push(Diffed {
            change: Change {
                address: Address::CloudFormation(name.to_owned()),
                action: Action::Delete,
                reason: "no longer in the stack file".to_owned(),
                detail: Detail::CloudFormation(CloudFormationChange {
                    name: live.name.clone(),
                    status: Some(live.status.to_string()),
                    ..CloudFormationChange::default()
                }),
            },
            drift: Vec::new(),
            fingerprint: stack_fingerprint(live),
        });
    }
    (out, outputs)
}

/// A parameter's value and whether it is sensitive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The value; `(known after apply)` where it depends on an unknown output.
    pub text: String,
    /// Whether it is redacted wherever it is shown.
    pub sensitive: bool,
}

/// The parameter values of node `desired`, given the security group ids (by name) and
/// outputs known so far.
pub fn parameter_values(
    stack: &Stack,
    desired: &CloudFormation,
    security_groups: &BTreeMap<String, String>,
    outputs: &Outputs,
    env: &EnvironmentValues,
) -> BTreeMap<String, Value> {
    desired
        .parameters
        .iter()
        .map(|(name, value)| {
            let no_echo = desired
                .declared
                .iter()
                .any(|d| &d.name == name && d.no_echo);
            let (text, sensitive) = match value {
                ParameterValue::Text(text) => {
                    (interpolate(stack, text, security_groups, outputs), no_echo)
                }
                ParameterValue::FromEnv {
                    from_env,
                    sensitive,
                } => (
                    env.get(from_env).cloned().unwrap_or_default(),
                    *sensitive || no_echo,
                ),
            };
            (name.clone(), Value { text, sensitive })
        })
        .collect()
}

/// `value` with every reference replaced by its value, or `(known after apply)`.
pub fn interpolate(
    stack: &Stack,
    value: &Interpolated,
    security_groups: &BTreeMap<String, String>,
    outputs: &Outputs,
) -> String {
    let known = Known {
        stack,
        security_groups,
        outputs,
    };
    value.render(&known, KNOWN_AFTER_APPLY)
}

/// The parameters whose value changes, or is known only after apply; sensitive ones
/// shown as such.
fn parameter_changes(
    live: Option<&LiveCloudFormation>,
    values: &BTreeMap<String, Value>,
    redactor: &Redactor,
) -> BTreeMap<String, BeforeAfter> {
    let shown = |value: &Value, text: &str| {
        if value.sensitive {
            SENSITIVE.to_owned()
        } else {
            redactor.redact(text)
        }
    };
    values
        .iter()
        .filter_map(|(param, value)| {
            let change = BeforeAfter {
                before: live
                    .and_then(|l| l.parameters.get(param))
                    .map(|b| shown(value, b)),
                after: Some(shown(value, &value.text)),
            };
            let unknown = crate::template::unknown(&value.text);
            (change.changes() || unknown).then(|| (param.clone(), change))
        })
        .collect()
}

fn diff_one(
    stack: &Stack,
    name: &str,
    desired: &CloudFormation,
    live: Option<&LiveCloudFormation>,
    values: &BTreeMap<String, Value>,
    redactor: &Redactor,
) -> Diffed {
    let address = Address::CloudFormation(name.to_owned());
    let new_template = normalise(&desired.template.source);
    let mut detail = CloudFormationChange {
        name: aws_name(stack, name),
        status: live.map(|l| l.status.to_string()),
        ..CloudFormationChange::default()
    };
    detail.parameters = parameter_changes(live, values, redactor);
    let Some(live) = live else {
        // A new stack's template is read in the file it lives in; the plan names it and
        // the resources it makes rather than print it whole.
        detail.template = Some(desired.template.path.clone());
        detail.template_resources = template_resources(&desired.template.source);
        return Diffed {
            change: Change {
                address: address.clone(),
                action: Action::Create,
                reason: "new CloudFormation stack".to_owned(),
                detail: Detail::CloudFormation(detail),
            },
            drift: Vec::new(),
            fingerprint: super::ABSENT.to_owned(),
        };
    };
    let old_template = normalise(&live.template);
    if old_template != new_template {
        detail.template_diff = Some(unified_diff(
            &redactor.redact(&old_template),
            &redactor.redact(&new_template),
            "template (live)",
            "template (planned)",
        ));
    }
    let (action, reason) = if let Some(why) = needs_recreate(live.status) {
        (Action::Replace, format!("{why}: delete and re-create"))
    } else if detail.template_diff.is_some() || !detail.parameters.is_empty() {
        let mut parts = Vec::new();
        if detail.template_diff.is_some() {
            parts.push("template changed".to_owned());
        }
        if !detail.parameters.is_empty() {
            let names: Vec<&String> = detail.parameters.keys().collect();
            parts.push(format!("parameters {}", crate::diagnostic::list(names)));
        }
        (Action::Update, parts.join("; "))
    } else {
        (Action::NoOp, "in sync".to_owned())
    };
    Diffed {
        change: Change {
            address: address.clone(),
            action,
            reason,
            detail: Detail::CloudFormation(detail),
        },
        drift: Vec::new(),
        fingerprint: stack_fingerprint(live),
    }
}

/// Why a stack in `status` cannot be updated and must be deleted and created again.
pub fn needs_recreate(status: StackStatus) -> Option<&'static str> {
    match status {
        StackStatus::RollbackComplete => Some("left in ROLLBACK_COMPLETE by a failed create"),
        _ => None,
    }
}

/// The only template format version there is; writing it or not is the same template.
const TEMPLATE_FORMAT_VERSION: &str = "2010-09-09";

/// The resources a template declares: logical id and type, in the template's order.
fn template_resources(template: &str) -> Vec<TemplateResource> {
    let Ok(value) = serde_yaml::from_str::<serde_yaml::Value>(template) else {
        return Vec::new();
    };
    let Some(resources) = value.get("Resources").and_then(|r| r.as_mapping()) else {
        return Vec::new();
    };
    resources
        .iter()
        .map(|(id, resource)| TemplateResource {
            logical_id: id.as_str().unwrap_or_default().to_owned(),
            resource_type: resource
                .get("Type")
                .and_then(|t| t.as_str())
                .unwrap_or("(no Type)")
                .to_owned(),
        })
        .collect()
}

/// A template as sorted YAML, so key order, formatting and the optional
/// `AWSTemplateFormatVersion` are not changes. JSON templates are YAML too. A template
/// that does not parse is compared as text.
pub fn normalise(template: &str) -> String {
    match serde_yaml::from_str::<serde_yaml::Value>(template) {
        Ok(mut value) => {
            if let Some(top) = value.as_mapping_mut()
                && top.get("AWSTemplateFormatVersion").and_then(|v| v.as_str())
                    == Some(TEMPLATE_FORMAT_VERSION)
            {
                top.remove("AWSTemplateFormatVersion");
            }
            serde_yaml::to_string(&sorted(value)).unwrap_or_else(|_| template.to_owned())
        }
        Err(_) => template.to_owned(),
    }
}

fn sorted(value: serde_yaml::Value) -> serde_yaml::Value {
    use serde_yaml::Value as V;
    match value {
        V::Mapping(map) => {
            let mut entries: Vec<(V, V)> = map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            entries.sort_by_key(|(k, _)| serde_yaml::to_string(k).unwrap_or_default());
            V::Mapping(entries.into_iter().collect())
        }
        V::Sequence(items) => V::Sequence(items.into_iter().map(sorted).collect()),
        // Short-form intrinsics (`!Ref X`) are their long form (`{Ref: X}`), as in JSON.
        V::Tagged(tagged) => {
            let tagged = *tagged;
            let name = tagged.tag.to_string();
            let name = name.trim_start_matches('!');
            let (key, value) = match (name, tagged.value) {
                ("Ref", value) => ("Ref".to_owned(), value),
                // `!GetAtt Resource.Attribute.Path` splits at the first dot only.
                ("GetAtt", V::String(path)) => {
                    let parts = path.splitn(2, '.').map(|p| V::String(p.to_owned()));
                    ("Fn::GetAtt".to_owned(), V::Sequence(parts.collect()))
                }
                (name, value) => (format!("Fn::{name}"), value),
            };
            let mut map = serde_yaml::Mapping::new();
            map.insert(V::String(key), value);
            sorted(V::Mapping(map))
        }
        other => other,
    }
}

fn stack_fingerprint(live: &LiveCloudFormation) -> String {
    fingerprint(&[
        &live.id,
        live.status.as_str(),
        &short_hash(&live.template),
        &super::pairs(&live.parameters),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_json_are_not_changes() {
        let yaml =
            "Resources:\n  B: {Type: X}\n  A:\n    Type: Y\n    Properties: {Name: !Ref P}\n";
        let reordered =
            "Resources:\n  A: {Properties: {Name: !Ref P}, Type: Y}\n  B:\n    Type: X\n";
        assert_eq!(normalise(yaml), normalise(reordered));
        let json = r#"{"Resources": {"B": {"Type": "X"}}}"#;
        assert_eq!(
            normalise(json),
            normalise("Resources:\n  B:\n    Type: X\n")
        );
        assert_ne!(normalise(yaml), normalise("Resources: {}\n"));
        let long = r#"{"Resources": {"A": {"Type": "Y", "Properties": {"Name": {"Ref": "P"}}},
            "B": {"Type": "X"}}, "Outputs": {"O": {"Value": {"Fn::GetAtt": ["A", "Endpoint.Port"]}},
            "S": {"Value": {"Fn::Sub": "${A}"}}}}"#;
        let short = format!(
            "{yaml}Outputs:\n  O:\n    Value: !GetAtt A.Endpoint.Port\n  S:\n    Value: !Sub '${{A}}'\n"
        );
        assert_eq!(normalise(long), normalise(&short));
    }

    #[test]
    fn the_template_format_version_is_not_a_change() {
        let bare = "Resources:\n  A: {Type: X}\n";
        for versioned in [
            "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  A: {Type: X}\n",
            "AWSTemplateFormatVersion: 2010-09-09\nResources:\n  A: {Type: X}\n",
            r#"{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"A": {"Type": "X"}}}"#,
        ] {
            assert_eq!(normalise(bare), normalise(versioned), "{versioned}");
        }
    }
}
