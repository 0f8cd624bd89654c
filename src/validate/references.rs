//! Resolving what a stack file refers to: `depends_on` entries and `${...}` references.

use crate::diagnostic::{closest, list};
use crate::model::{Address, Interpolated, Piece, Reference};

/// The names a stack defines, by kind, for resolving references.
pub struct Names<'a> {
    /// App names.
    pub apps: Vec<&'a str>,
    /// Security group names.
    pub security_groups: Vec<&'a str>,
    /// Group names.
    pub groups: Vec<&'a str>,
    /// CloudFormation node names.
    pub cloudformation: Vec<&'a str>,
    /// The other stacks of the workspace (`${stacks.STACK.OUTPUT}`).
    pub stacks: &'a std::collections::BTreeMap<String, super::workspace::Producer>,
}

/// Why a reference did not resolve: a message and maybe a hint.
pub struct Unresolved {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Names<'_> {
    fn of_kind(&self, kind: &str) -> Option<&[&str]> {
        match kind {
            "app" => Some(&self.apps),
            "security_group" => Some(&self.security_groups),
            "group" => Some(&self.groups),
            "cloudformation" => Some(&self.cloudformation),
            _ => None,
        }
    }

    /// Resolves a `depends_on` entry: a full address (`cloudformation.db`) or a bare name
    /// that only one kind defines.
    pub fn dependency(&self, text: &str) -> Result<Address, Unresolved> {
        if let Some((kind, name)) = text.split_once('.') {
            let Some(names) = self.of_kind(kind) else {
                return Err(Unresolved {
                    message: format!("`{kind}` is not a kind of resource"),
                    hint: Some(format!(
                        "addresses look like {}",
                        list([
                            "group.www",
                            "security_group.web",
                            "cloudformation.db",
                            "app.web"
                        ])
                    )),
                });
            };
            return if names.contains(&name) {
                Ok(address(kind, name))
            } else {
                Err(unknown(kind, name, names))
            };
        }
        let matches: Vec<&str> = ["group", "cloudformation", "security_group", "app"]
            .into_iter()
            .filter(|kind| self.of_kind(kind).is_some_and(|n| n.contains(&text)))
            .collect();
        match matches.as_slice() {
            [kind] => Ok(address(kind, text)),
            [] => {
                let all: Vec<String> = ["group", "cloudformation", "security_group", "app"]
                    .into_iter()
                    .flat_map(|kind| {
                        self.of_kind(kind)
                            .unwrap_or(&[])
                            .iter()
                            .map(move |n| format!("{kind}.{n}"))
                    })
                    .collect();
                let names: Vec<&str> = self
                    .groups
                    .iter()
                    .chain(&self.cloudformation)
                    .chain(&self.security_groups)
                    .chain(&self.apps)
                    .copied()
                    .collect();
                Err(Unresolved {
                    message: format!("nothing named `{text}` to depend on"),
                    hint: closest(text, names.iter().copied())
                        .map(|best| format!("did you mean `{best}`?"))
                        .or_else(|| Some(format!("resources of this stack: {}", list(all.iter())))),
                })
            }
            _ => Err(Unresolved {
                message: format!(
                    "`{text}` is ambiguous: {} share the name",
                    list(matches.iter().map(|k| format!("{k}.{text}")))
                ),
                hint: Some(format!(
                    "write the full address, e.g. `{}.{text}`",
                    matches[0]
                )),
            }),
        }
    }

    /// Resolves the names `reference` names: the address it refers to, if any.
    /// `has_output` says, for an output its node's template does not declare, which it
    /// does.
    pub fn reference(
        &self,
        reference: &Reference,
        has_output: impl Fn(&str, &str) -> Option<Vec<String>>,
    ) -> Result<Option<Address>, Unresolved> {
        match reference {
            Reference::Stack | Reference::Env | Reference::Region => Ok(None),
            Reference::AppVersion(app) => self.named("app", app).map(Some),
            Reference::SecurityGroupId(name) => self.named("security_group", name).map(Some),
            Reference::StackOutput { stack, output } => self.stack_output(stack, output),
            Reference::Output { node, output } => {
                let address = self.named("cloudformation", node)?;
                match has_output(node, output) {
                    None => Ok(Some(address)),
                    Some(outputs) => Err(Unresolved {
                        message: format!("`cloudformation.{node}` has no output `{output}`"),
                        hint: closest(output, outputs.iter().map(String::as_str))
                            .map(|best| format!("did you mean `{best}`?"))
                            .or_else(|| {
                                Some(format!(
                                    "its template declares outputs {}",
                                    list(outputs.iter())
                                ))
                            }),
                    }),
                }
            }
        }
    }

    /// Resolves `${stacks.STACK.OUTPUT}`: a stack of the workspace that declares the
    /// output. It makes no edge: the other stack publishes before this one plans.
    fn stack_output(&self, stack: &str, output: &str) -> Result<Option<Address>, Unresolved> {
        let Some(producer) = self.stacks.get(stack) else {
            return Err(Unresolved {
                message: format!("no stack `{stack}` in this workspace"),
                hint: closest(stack, self.stacks.keys().map(String::as_str))
                    .map(|best| format!("did you mean `{best}`?"))
                    .or_else(|| {
                        Some(
                            "a stack read with `${stacks.STACK.OUTPUT}` is a stack file beside this one"
                                .to_owned(),
                        )
                    }),
            });
        };
        if producer.outputs.iter().any(|o| o == output) {
            return Ok(None);
        }
        Err(Unresolved {
            message: format!("stack `{stack}` declares no output `{output}`"),
            hint: closest(output, producer.outputs.iter().map(String::as_str))
                .map(|best| format!("did you mean `{best}`?"))
                .or_else(|| {
                    Some(if producer.outputs.is_empty() {
                        format!("`{stack}` has no `outputs:`")
                    } else {
                        format!("its `outputs:` are {}", list(producer.outputs.iter()))
                    })
                }),
        })
    }

    /// Resolves `name` among the names of `kind`.
    pub fn named(&self, kind: &str, name: &str) -> Result<Address, Unresolved> {
        let names = self.of_kind(kind).unwrap_or(&[]);
        if names.contains(&name) {
            Ok(address(kind, name))
        } else {
            Err(unknown(kind, name, names))
        }
    }
}

fn address(kind: &str, name: &str) -> Address {
    let name = name.to_owned();
    match kind {
        "app" => Address::App(name),
        "security_group" => Address::SecurityGroup(name),
        "cloudformation" => Address::CloudFormation(name),
        _ => Address::Group(name),
    }
}

fn unknown(kind: &str, name: &str, names: &[&str]) -> Unresolved {
    let section = match kind {
        "app" => "apps",
        "security_group" => "security_groups",
        "group" => "groups",
        _ => "cloudformation",
    };
    Unresolved {
        message: format!("no {} named `{name}`", kind.replace('_', " ")),
        hint: closest(name, names.iter().copied())
            .map(|best| format!("did you mean `{best}`?"))
            .or_else(|| {
                Some(if names.is_empty() {
                    format!("this stack defines no `{section}`")
                } else {
                    format!("`{section}` defines {}", list(names.iter()))
                })
            }),
    }
}

/// A value that may hold `${...}` references, and where it is.
pub(super) struct Written<'a> {
    /// The value.
    pub value: &'a Interpolated,
    /// What it is, for messages (`parameter value`).
    pub what: &'a str,
    /// Where it is (`cloudformation.db.parameters.Name`).
    pub path: &'a str,
}

/// The `${...}` references of `value` (a value of `from`), resolved: each one to another
/// resource becomes a graph edge in `edges`; what does not resolve, or an unclosed `${`,
/// is reported. `outputs` are the outputs each CloudFormation node declares.
pub(super) fn resolve_interpolations(
    checker: &mut super::Checker,
    names: &Names,
    outputs: &std::collections::BTreeMap<String, Vec<String>>,
    value: Written<'_>,
    from: &Address,
    edges: &mut Vec<crate::model::Edge>,
) {
    let Written { value, what, path } = value;
    if value
        .pieces()
        .iter()
        .any(|p| matches!(p, Piece::Unclosed(_)))
    {
        checker.error_at_value(
            path,
            format!("unclosed `${{` in {what}"),
            "`${reference}`",
            Some("close it with `}`".to_owned()),
        );
        return;
    }
    let has_output = |node: &str, output: &str| {
        outputs
            .get(node)
            .filter(|o| !o.iter().any(|x| x == output))
            .cloned()
    };
    for piece in value.pieces() {
        let resolved = match piece {
            Piece::Reference(reference) => names.reference(reference, has_output),
            Piece::Unknown(expression) => Err(Unresolved {
                message: format!("unknown reference `${{{expression}}}`"),
                hint: Some(format!("references are {}", list(Reference::FORMS))),
            }),
            Piece::Text(_) | Piece::Unclosed(_) => Ok(None),
        };
        match resolved {
            Ok(Some(to)) => edges.push(crate::model::Edge {
                from: from.clone(),
                to,
                path: path.to_owned(),
            }),
            Ok(None) => {}
            Err(e) => checker.error_at_value(path, e.message, "a reference that resolves", e.hint),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names<'static> {
        static NONE: std::sync::LazyLock<
            std::collections::BTreeMap<String, crate::validate::workspace::Producer>,
        > = std::sync::LazyLock::new(Default::default);
        Names {
            apps: vec!["web"],
            security_groups: vec!["web", "bastion"],
            groups: vec!["www"],
            cloudformation: vec!["db"],
            stacks: &NONE,
        }
    }

    #[test]
    fn dependencies_resolve_by_name_or_address() {
        let n = names();
        assert_eq!(
            n.dependency("db").ok(),
            Some(Address::CloudFormation("db".into()))
        );
        assert_eq!(
            n.dependency("group.www").ok(),
            Some(Address::Group("www".into()))
        );
        assert!(
            n.dependency("web")
                .err()
                .unwrap()
                .message
                .contains("ambiguous")
        );
        assert_eq!(
            n.dependency("dbb").err().unwrap().hint.as_deref(),
            Some("did you mean `db`?")
        );
    }
}
