//! `${...}` references, parsed once. A value of the stack file that may refer to a name
//! or another resource (a CloudFormation parameter, an instance profile, a target group)
//! is [`Interpolated`]: text and [`Reference`]s, parsed where it is read. Validation
//! resolves their names and makes the graph's edges; plan, observation and apply evaluate
//! them with the values they know. A new kind of reference is one variant here.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Address, Stack};

/// One reference, as `${...}` writes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    /// `${stack}`: the stack's name.
    Stack,
    /// `${env}`: the environment's name.
    Env,
    /// `${region}`: the stack's region.
    Region,
    /// `${apps.NAME.version}`: an app's version.
    AppVersion(String),
    /// `${outputs.NODE.OUTPUT}`: an output of a CloudFormation node.
    Output {
        /// The node.
        node: String,
        /// The output, as its template's `Outputs` names it.
        output: String,
    },
    /// `${security_groups.NAME.id}`: a security group's id.
    SecurityGroupId(String),
    /// `${stacks.STACK.OUTPUT}`: an output another stack of the workspace published
    /// (`outputs:`), for the same environment.
    StackOutput {
        /// The producing stack.
        stack: String,
        /// Its output.
        output: String,
    },
}

/// Where another stack's published outputs are kept among the outputs references are
/// evaluated with: under `stacks.STACK`, a name no CloudFormation node can have.
pub fn stack_outputs_key(stack: &str) -> String {
    format!("stacks.{stack}")
}

/// Where the apps' image digests (app -> `sha256:...`) are kept among the outputs
/// templates and launch specs are rendered with: a name no CloudFormation node can have.
pub const IMAGE_DIGESTS_KEY: &str = "apps.digests";

impl Reference {
    /// Every form a reference takes, for hints.
    pub const FORMS: [&'static str; 7] = [
        "${stack}",
        "${env}",
        "${region}",
        "${apps.NAME.version}",
        "${outputs.NAME.OUTPUT}",
        "${security_groups.NAME.id}",
        "${stacks.STACK.OUTPUT}",
    ];

    /// The reference `expression` (what is inside `${...}`) writes, if it is one.
    pub fn parse(expression: &str) -> Option<Reference> {
        let parts: Vec<&str> = expression.trim().split('.').collect();
        Some(match parts.as_slice() {
            ["stack"] => Reference::Stack,
            ["env"] => Reference::Env,
            ["region"] => Reference::Region,
            ["apps", app, "version"] => Reference::AppVersion((*app).to_owned()),
            ["outputs", node, output] => Reference::Output {
                node: (*node).to_owned(),
                output: (*output).to_owned(),
            },
            ["security_groups", name, "id"] => Reference::SecurityGroupId((*name).to_owned()),
            ["stacks", stack, output] => Reference::StackOutput {
                stack: (*stack).to_owned(),
                output: (*output).to_owned(),
            },
            _ => return None,
        })
    }

    /// The resource it refers to: the edge it makes in the dependency graph.
    pub fn target(&self) -> Option<Address> {
        match self {
            Reference::Stack | Reference::Env | Reference::Region => None,
            Reference::AppVersion(app) => Some(Address::App(app.clone())),
            Reference::Output { node, .. } => Some(Address::CloudFormation(node.clone())),
            Reference::SecurityGroupId(name) => Some(Address::SecurityGroup(name.clone())),
            // Another stack's: published before this stack's apply reads it.
            Reference::StackOutput { .. } => None,
        }
    }

    /// Its value, from what is known; `None` for one not known yet (an output of a
    /// stack not created, the id of a group not made).
    pub fn value(&self, known: &Known<'_>) -> Option<String> {
        match self {
            Reference::Stack => Some(known.stack.name.clone()),
            Reference::Env => Some(known.stack.environment.name.clone()),
            Reference::Region => Some(known.stack.region.clone()),
            Reference::AppVersion(app) => known.stack.apps.get(app).map(|a| a.version.clone()),
            Reference::Output { node, output } => known.outputs.get(node)?.get(output).cloned(),
            Reference::SecurityGroupId(name) => known.security_groups.get(name).cloned(),
            Reference::StackOutput { stack, output } => known
                .outputs
                .get(&stack_outputs_key(stack))?
                .get(output)
                .cloned(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Stack => f.write_str("${stack}"),
            Reference::Env => f.write_str("${env}"),
            Reference::Region => f.write_str("${region}"),
            Reference::AppVersion(app) => write!(f, "${{apps.{app}.version}}"),
            Reference::Output { node, output } => write!(f, "${{outputs.{node}.{output}}}"),
            Reference::SecurityGroupId(name) => write!(f, "${{security_groups.{name}.id}}"),
            Reference::StackOutput { stack, output } => write!(f, "${{stacks.{stack}.{output}}}"),
        }
    }
}

/// What references are evaluated with: the model, and what AWS holds so far.
#[derive(Clone, Copy, Debug)]
pub struct Known<'a> {
    /// The model (its name, environment, region and apps).
    pub stack: &'a Stack,
    /// Security group ids by name.
    pub security_groups: &'a BTreeMap<String, String>,
    /// CloudFormation outputs by node and output.
    pub outputs: &'a BTreeMap<String, BTreeMap<String, String>>,
}

/// A piece of an [`Interpolated`] value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text as written.
    Text(String),
    /// A reference.
    Reference(Reference),
    /// `${...}` holding no reference rollstack knows: what is inside.
    Unknown(String),
    /// A `${` never closed, and the rest of the text after it.
    Unclosed(String),
}

/// A value that may hold `${...}` references: its text as written, parsed once into
/// pieces. Written and read (JSON, YAML) as the text.
#[derive(Clone, Debug)]
pub struct Interpolated {
    written: String,
    pieces: Vec<Piece>,
}

impl Interpolated {
    /// `text`, parsed: every `${...}` a reference, or unknown, or an unclosed `${`.
    pub fn parse(text: &str) -> Interpolated {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("${") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let Some(len) = after.find('}') else {
                pieces.push(Piece::Unclosed(after.to_owned()));
                rest = "";
                break;
            };
            let expression = &after[..len];
            pieces.push(match Reference::parse(expression) {
                Some(reference) => Piece::Reference(reference),
                None => Piece::Unknown(expression.to_owned()),
            });
            rest = &after[len + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Interpolated {
            written: text.to_owned(),
            pieces,
        }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// Whether it is plain text: no `${` in it at all.
    pub fn is_literal(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Text(_)))
    }

    /// Its pieces, in order.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Its references, in order.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Reference(r) => Some(r),
            _ => None,
        })
    }

    /// Its value, each reference replaced by what `value` says of it; `None` when it
    /// cannot tell one (or the text holds an unknown or unclosed `${`).
    pub fn evaluate(&self, value: impl Fn(&Reference) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Reference(reference) => out.push_str(&value(reference)?),
                Piece::Unknown(_) | Piece::Unclosed(_) => return None,
            }
        }
        Some(out)
    }

    /// Its value with what is `known`; a reference not known yet shows as `unknown`.
    pub fn render(&self, known: &Known<'_>, unknown: &str) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Reference(reference) => {
                    out.push_str(&reference.value(known).unwrap_or_else(|| unknown.to_owned()));
                }
                Piece::Unknown(_) => out.push_str(unknown),
                Piece::Unclosed(rest) => {
                    out.push_str("${");
                    out.push_str(rest);
                }
            }
        }
        out
    }
}

impl PartialEq for Interpolated {
    fn eq(&self, other: &Interpolated) -> bool {
        self.written == other.written
    }
}

impl Eq for Interpolated {}

impl PartialOrd for Interpolated {
    fn partial_cmp(&self, other: &Interpolated) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Interpolated {
    fn cmp(&self, other: &Interpolated) -> std::cmp::Ordering {
        self.written.cmp(&other.written)
    }
}

impl fmt::Display for Interpolated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl Serialize for Interpolated {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.written)
    }
}

impl<'de> Deserialize<'de> for Interpolated {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Interpolated::parse(&text))
    }
}

impl schemars::JsonSchema for Interpolated {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Interpolated".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": r"^([^$]|\$[^{]|\$$|\$\{[^}]*\})*$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(text: &str) -> Reference {
        match Interpolated::parse(text).pieces() {
            [Piece::Reference(r)] => r.clone(),
            other => panic!("{text}: {other:?}"),
        }
    }

    /// One row per kind of reference: how it is written, what it refers to, its value.
    #[test]
    fn each_kind_of_reference() {
        let stack = crate::testing::stack_from_yaml(
            "rollstack: 1\nstack: shop\nregion: eu-west-1\nreleases: { bucket: shop-releases }\napps:\n  web: { version: \"1.2.0\" }\n",
        );
        let security_groups = BTreeMap::from([("web".to_owned(), "sg-1".to_owned())]);
        let outputs = BTreeMap::from([(
            "db".to_owned(),
            BTreeMap::from([("Endpoint".to_owned(), "db.local".to_owned())]),
        )]);
        let known = Known {
            stack: &stack,
            security_groups: &security_groups,
            outputs: &outputs,
        };
        let table: [(&str, Reference, Option<Address>, Option<&str>); 7] = [
            ("${stack}", Reference::Stack, None, Some("shop")),
            ("${env}", Reference::Env, None, Some("default")),
            ("${ region }", Reference::Region, None, Some("eu-west-1")),
            (
                "${apps.web.version}",
                Reference::AppVersion("web".into()),
                Some(Address::App("web".into())),
                Some("1.2.0"),
            ),
            (
                "${outputs.db.Endpoint}",
                Reference::Output {
                    node: "db".into(),
                    output: "Endpoint".into(),
                },
                Some(Address::CloudFormation("db".into())),
                Some("db.local"),
            ),
            (
                "${outputs.db.Port}",
                Reference::Output {
                    node: "db".into(),
                    output: "Port".into(),
                },
                Some(Address::CloudFormation("db".into())),
                None,
            ),
            (
                "${security_groups.web.id}",
                Reference::SecurityGroupId("web".into()),
                Some(Address::SecurityGroup("web".into())),
                Some("sg-1"),
            ),
        ];
        for (written, expected, target, value) in table {
            let parsed = reference(written);
            assert_eq!(parsed, expected, "{written}");
            assert_eq!(parsed.target(), target, "{written}");
            assert_eq!(parsed.value(&known).as_deref(), value, "{written}");
            let again = Interpolated::parse(&parsed.to_string());
            assert_eq!(again.pieces(), [Piece::Reference(parsed)], "{written}");
        }
    }

    #[test]
    fn text_references_unknown_and_unclosed_pieces() {
        let parsed = Interpolated::parse("a ${stack} b ${apps.web.version}");
        assert_eq!(
            parsed.pieces(),
            [
                Piece::Text("a ".into()),
                Piece::Reference(Reference::Stack),
                Piece::Text(" b ".into()),
                Piece::Reference(Reference::AppVersion("web".into())),
            ]
        );
        assert_eq!(
            Interpolated::parse("${nope} x").pieces(),
            [Piece::Unknown("nope".into()), Piece::Text(" x".into())]
        );
        assert_eq!(
            Interpolated::parse("oops ${x").pieces(),
            [Piece::Text("oops ".into()), Piece::Unclosed("x".into())]
        );
        assert_eq!(
            Interpolated::parse("plain").pieces(),
            [Piece::Text("plain".into())]
        );
        // Written and read as the text.
        let json = serde_json::to_string(&parsed).unwrap();
        assert_eq!(json, "\"a ${stack} b ${apps.web.version}\"");
        assert_eq!(serde_json::from_str::<Interpolated>(&json).unwrap(), parsed);
    }

    #[test]
    fn evaluation_needs_every_reference() {
        let arn = Interpolated::parse("arn:${outputs.lb.Arn}");
        let output = |r: &Reference| match r {
            Reference::Output { output, .. } if output == "Arn" => Some("tg/1".to_owned()),
            _ => None,
        };
        assert_eq!(arn.evaluate(output).as_deref(), Some("arn:tg/1"));
        assert_eq!(
            Interpolated::parse("${outputs.lb.Other}").evaluate(output),
            None
        );
        assert_eq!(Interpolated::parse("${stack}").evaluate(output), None);
        assert_eq!(Interpolated::parse("${x").evaluate(output), None);
    }
}
