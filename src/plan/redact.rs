//! Redaction: sensitive values never reach plan output, saved plans or logs; which
//! values are sensitive.

use std::collections::BTreeMap;

use crate::model::{ParameterValue, Stack};

/// Shown in place of a sensitive value.
pub const SENSITIVE: &str = "(sensitive)";

/// Replaces every known sensitive value in text with [`SENSITIVE`], wherever it shows up
/// (a parameter, or a secret that a template output carried into user data).
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for `secrets`; empty values are ignored.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), SENSITIVE);
            }
        }
        out
    }
}

/// The stack's `from_env` parameters, read through `lookup` (the process environment,
/// or a test's): their values, a redactor of every sensitive value known (sensitive
/// `from_env` values and `NoEcho` parameters, literal or not), and (path, variable) of
/// each one whose variable is not set.
pub struct FromEnv {
    /// Values of the variables that are set, by variable.
    pub values: BTreeMap<String, String>,
    /// Hides every sensitive value.
    pub redactor: Redactor,
    /// (`cloudformation.NODE.parameters.NAME`, variable) of each variable not set.
    pub missing: Vec<(String, String)>,
}

impl FromEnv {
    /// Reads `stack`'s `from_env` parameters with `lookup`.
    pub fn read(stack: &Stack, lookup: impl Fn(&str) -> Option<String>) -> FromEnv {
        let mut values = BTreeMap::new();
        let mut secrets = Vec::new();
        let mut missing = Vec::new();
        for (node, cfn) in &stack.cloudformation {
            for (name, value) in &cfn.parameters {
                let no_echo = cfn.declared.iter().any(|d| &d.name == name && d.no_echo);
                match value {
                    ParameterValue::FromEnv {
                        from_env,
                        sensitive,
                    } => match lookup(from_env) {
                        Some(v) => {
                            if *sensitive || no_echo {
                                secrets.push(v.clone());
                            }
                            values.insert(from_env.clone(), v);
                        }
                        None => missing.push((
                            format!("cloudformation.{node}.parameters.{name}"),
                            from_env.clone(),
                        )),
                    },
                    ParameterValue::Text(text) if no_echo => secrets.push(text.to_string()),
                    ParameterValue::Text(_) => {}
                }
            }
        }
        FromEnv {
            values,
            redactor: Redactor::new(secrets),
            missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_wherever_they_appear() {
        let r = Redactor::new([
            "hunter2".to_owned(),
            String::new(),
            "hunter2-long".to_owned(),
        ]);
        assert_eq!(
            r.redact("PASSWORD=hunter2-long\nOTHER=hunter2"),
            "PASSWORD=(sensitive)\nOTHER=(sensitive)"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }
}
