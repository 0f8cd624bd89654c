//! Changes a reviewer must not miss: instances terminated, stacks deleted or re-created,
//! security groups deleted or replaced, releases rolled back to an older version. The
//! plan lists them as structured warnings; text and markdown open with them.

use std::cmp::Ordering;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Action, Change, Detail};
use crate::diagnostic::plural;
use crate::model::Address;
use crate::observe::{ChangeAction, Observed, Replacement, tags};

/// One destructive change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Warning {
    /// Where it happens.
    pub address: Address,
    /// What is destroyed or rolled back.
    pub what: Destruction,
    /// The same in one line (`terminates 2 instances: the group is deleted`).
    pub message: String,
}

/// What a destructive change destroys or rolls back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destruction {
    /// Instances terminated without a replacement (the group deleted, or scaled in).
    TerminatesInstances {
        /// Their ids.
        instances: Vec<String>,
    },
    /// A CloudFormation stack deleted, with every resource in it.
    DeletesStack,
    /// A CloudFormation stack deleted and created again: its resources are new.
    ReplacesStack,
    /// A resource CloudFormation's change set removes or replaces.
    ReplacesStackResource {
        /// Logical id in the template.
        logical_id: String,
        /// Resource type (`AWS::RDS::DBInstance`).
        resource_type: String,
    },
    /// A security group deleted (or deleted and created again).
    DeletesSecurityGroup,
    /// An app goes back to an older version than the instances run.
    Downgrade {
        /// The app.
        app: String,
        /// The version running now.
        from: String,
        /// The older version planned.
        to: String,
    },
}

/// The destructive changes among `changes`; `observed` gives the releases the replaced
/// instances run.
pub fn warnings(changes: &[Change], observed: &Observed) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for change in changes {
        let mut warn = |what: Destruction, message: String| {
            warnings.push(Warning {
                address: change.address.clone(),
                what,
                message,
            });
        };
        match (&change.detail, change.action) {
            (Detail::Group(group), action) => {
                if !group.terminate.is_empty() {
                    let why = if action == Action::Delete {
                        "the group is deleted"
                    } else {
                        "scale-in"
                    };
                    warn(
                        Destruction::TerminatesInstances {
                            instances: group.terminate.clone(),
                        },
                        format!(
                            "terminates {}: {why}",
                            plural(group.terminate.len(), "instance")
                        ),
                    );
                }
                let Some(spec) = &group.launch_spec else {
                    continue;
                };
                for (app, from, to) in downgrades(&group.replace, &spec.releases, observed) {
                    warn(
                        Destruction::Downgrade {
                            app: app.clone(),
                            from: from.clone(),
                            to: to.clone(),
                        },
                        format!("downgrades `{app}` from {from} to {to}"),
                    );
                }
            }
            (Detail::CloudFormation(_), Action::Delete) => warn(
                Destruction::DeletesStack,
                "deletes the stack and every resource in it".to_owned(),
            ),
            (Detail::CloudFormation(_), Action::Replace) => warn(
                Destruction::ReplacesStack,
                "deletes the stack and creates it again: every resource in it is new".to_owned(),
            ),
            (Detail::CloudFormation(cfn), _) => {
                for r in &cfn.resource_changes {
                    let how = match (r.action, r.replacement) {
                        (ChangeAction::Remove, _) => "removes",
                        (_, Some(Replacement::True)) => "replaces",
                        (_, Some(Replacement::Conditional)) => "may replace",
                        _ => continue,
                    };
                    warn(
                        Destruction::ReplacesStackResource {
                            logical_id: r.logical_id.clone(),
                            resource_type: r.resource_type.clone(),
                        },
                        format!("{how} `{}` ({})", r.logical_id, r.resource_type),
                    );
                }
            }
            (Detail::SecurityGroup(_), Action::Delete | Action::Replace) => warn(
                Destruction::DeletesSecurityGroup,
                format!("{}s the security group", change.action.word()),
            ),
            _ => {}
        }
    }
    warnings
}

/// `(app, from, to)` for each app whose planned version is older than one the replaced
/// instances run.
fn downgrades(
    replaced: &[String],
    planned: &[String],
    observed: &Observed,
) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for release in planned {
        let Some((app, to)) = release.split_once('@') else {
            continue;
        };
        let running = observed
            .instances
            .iter()
            .filter(|i| replaced.contains(&i.id))
            .filter_map(|i| i.tag(tags::RELEASE))
            .flat_map(str::split_whitespace)
            .filter_map(|r| r.split_once('@'))
            .filter(|(a, _)| *a == app)
            .map(|(_, version)| version);
        let newest_older = running
            .filter(|from| compare(from, to) == VersionChange::Downgrade)
            .max_by(|a, b| order(a, b).unwrap_or(Ordering::Equal));
        if let Some(from) = newest_older {
            found.push((app.to_owned(), from.to_owned(), to.to_owned()));
        }
    }
    found.sort();
    found.dedup();
    found
}

/// How a version changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionChange {
    /// The same version.
    Same,
    /// A newer version.
    Upgrade,
    /// An older version.
    Downgrade,
    /// Another version that does not compare (not semver): neither newer nor older.
    Different,
}

impl VersionChange {
    /// `upgrade`, `downgrade`, `different version`.
    pub fn word(self) -> &'static str {
        match self {
            VersionChange::Same => "same version",
            VersionChange::Upgrade => "upgrade",
            VersionChange::Downgrade => "downgrade",
            VersionChange::Different => "different version",
        }
    }
}

/// `from` -> `to`, compared as semantic versions (`v1.2` reads as `1.2.0`).
pub fn compare(from: &str, to: &str) -> VersionChange {
    if from == to {
        return VersionChange::Same;
    }
    match order(from, to) {
        Some(Ordering::Less) => VersionChange::Upgrade,
        Some(Ordering::Greater) => VersionChange::Downgrade,
        Some(Ordering::Equal) => VersionChange::Same,
        None => VersionChange::Different,
    }
}

fn order(a: &str, b: &str) -> Option<Ordering> {
    Some(semantic(a)?.cmp_precedence(&semantic(b)?))
}

/// `1.2.3`, `v1.2.3`, `1.2` and `1` as semantic versions.
fn semantic(version: &str) -> Option<semver::Version> {
    let bare = version.strip_prefix('v').unwrap_or(version);
    let (core, rest) = match bare.find(['-', '+']) {
        Some(at) => bare.split_at(at),
        None => (bare, ""),
    };
    let parts = core.split('.').count();
    let padded = match parts {
        1 => format!("{core}.0.0{rest}"),
        2 => format!("{core}.0{rest}"),
        _ => bare.to_owned(),
    };
    semver::Version::parse(&padded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_semver_and_otherwise_only_differ() {
        use VersionChange::*;
        let cases = [
            ("1.0.0", "1.1.0", Upgrade),
            ("1.1.0", "1.0.0", Downgrade),
            ("1.9.0", "1.10.0", Upgrade),
            ("v2", "v1.9", Downgrade),
            ("1.0.0-rc.1", "1.0.0", Upgrade),
            ("1.0.0", "1.0.0+build.7", Same),
            ("abc123", "def456", Different),
            ("1.0.0", "1.0.0", Same),
        ];
        for (from, to, expected) in cases {
            assert_eq!(compare(from, to), expected, "{from} -> {to}");
        }
    }
}
