//! CloudFormation nodes, and the references their parameters make.

use std::collections::BTreeMap;

use super::Checker;
use crate::diagnostic::did_you_mean;
use crate::load::raw::*;
use crate::model::*;
use crate::validate::references::{Names, Written, resolve_interpolations};

pub(super) fn node(
    checker: &mut Checker,
    name: &str,
    raw: &RawCloudFormation,
) -> Option<CloudFormation> {
    let path = format!("cloudformation.{name}");
    let template = checker.read_template(&format!("{path}.template"), &raw.template)?;
    let (declared, outputs) = checker.cloudformation_template(&template)?;
    let declared_names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
    for key in raw.parameters.keys() {
        if !declared_names.contains(&key.as_str()) {
            let hint = did_you_mean(key, declared_names.iter().copied()).or_else(|| {
                Some(format!(
                    "`{}` declares {}",
                    template.path,
                    crate::diagnostic::list(declared_names.iter())
                ))
            });
            checker.error_at_key(
                &format!("{path}.parameters.{key}"),
                format!("template `{}` has no parameter `{key}`", template.path),
                "a parameter the template declares",
                hint,
            );
        }
    }
    for parameter in &declared {
        if !parameter.has_default && !raw.parameters.contains_key(&parameter.name) {
            checker.error_at_key(
                &format!("{path}.template"),
                format!(
                    "template `{}` requires parameter `{}`, which is not given",
                    template.path, parameter.name
                ),
                "a value for every parameter without a `Default`",
                Some(format!(
                    "add `{}: ...` under `{path}.parameters`",
                    parameter.name
                )),
            );
        }
    }
    Some(CloudFormation {
        template,
        declared,
        outputs,
        parameters: raw.parameters.clone(),
    })
}

/// Resolves `${...}` in parameter values and `depends_on` of CloudFormation nodes.
pub(super) fn references(checker: &mut Checker, names: &Names, raw: &RawStack, stack: &mut Stack) {
    let outputs: BTreeMap<String, Vec<String>> = stack
        .cloudformation
        .iter()
        .map(|(n, c)| (n.clone(), c.outputs.clone()))
        .collect();
    for (name, cfn) in &raw.cloudformation {
        let address = Address::CloudFormation(name.clone());
        for (i, dependency) in cfn.depends_on.iter().enumerate() {
            checker.dependency(
                names,
                &address,
                &format!("cloudformation.{name}.depends_on[{i}]"),
                dependency,
                &mut stack.references,
            );
        }
        for (key, value) in &cfn.parameters {
            let ParameterValue::Text(value) = value else {
                continue;
            };
            let path = format!("cloudformation.{name}.parameters.{key}");
            resolve_interpolations(
                checker,
                names,
                &outputs,
                Written {
                    value,
                    what: "parameter value",
                    path: &path,
                },
                &address,
                &mut stack.references,
            );
        }
    }
}
