//! Addresses of the stack's resources, and the edges between them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The address of a resource: `group.www`, `security_group.web`,
/// `security_group_rules.web`, `cloudformation.db`, `app.web`, `job.migrate`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Address {
    /// An app version.
    App(String),
    /// A security group.
    SecurityGroup(String),
    /// The rules of a security group: a node of their own, after every group they
    /// name, so groups that allow each other (or themselves) are no cycle.
    SecurityGroupRules(String),
    /// A CloudFormation stack.
    CloudFormation(String),
    /// An instance group.
    Group(String),
    /// A release job.
    Job(String),
    /// A static site.
    Site(String),
}

impl Address {
    /// The kind prefix of the address.
    pub fn kind(&self) -> &'static str {
        match self {
            Address::App(_) => "app",
            Address::SecurityGroup(_) => "security_group",
            Address::SecurityGroupRules(_) => "security_group_rules",
            Address::CloudFormation(_) => "cloudformation",
            Address::Group(_) => "group",
            Address::Job(_) => "job",
            Address::Site(_) => "site",
        }
    }

    /// The resource's name within its kind.
    pub fn name(&self) -> &str {
        match self {
            Address::App(n)
            | Address::SecurityGroup(n)
            | Address::SecurityGroupRules(n)
            | Address::CloudFormation(n)
            | Address::Group(n)
            | Address::Job(n)
            | Address::Site(n) => n,
        }
    }
}

impl Address {
    /// Where a removed resource is deleted, earliest first: instances (of groups and
    /// jobs) go before the stacks and groups they use, rules before the groups they name.
    pub fn delete_rank(&self) -> u8 {
        match self {
            Address::Group(_) | Address::Job(_) | Address::Site(_) => 0,
            Address::CloudFormation(_) => 1,
            Address::SecurityGroupRules(_) => 2,
            Address::SecurityGroup(_) => 3,
            Address::App(_) => 4,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind(), self.name())
    }
}

impl TryFrom<String> for Address {
    type Error = String;
    fn try_from(text: String) -> Result<Address, String> {
        let (kind, name) = text
            .split_once('.')
            .ok_or_else(|| format!("expected an address like `group.www`, found `{text}`"))?;
        let name = name.to_owned();
        match kind {
            "app" => Ok(Address::App(name)),
            "security_group" => Ok(Address::SecurityGroup(name)),
            "security_group_rules" => Ok(Address::SecurityGroupRules(name)),
            "cloudformation" => Ok(Address::CloudFormation(name)),
            "group" => Ok(Address::Group(name)),
            "job" => Ok(Address::Job(name)),
            "site" => Ok(Address::Site(name)),
            _ => Err(format!("unknown resource kind `{kind}` in `{text}`")),
        }
    }
}

/// An address is a string in plan JSON (`group.www`).
impl schemars::JsonSchema for Address {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Address".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

impl From<Address> for String {
    fn from(address: Address) -> String {
        address.to_string()
    }
}

/// One resource referring to another: an edge of the dependency graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// The resource that refers (and so depends).
    pub from: Address,
    /// The resource referred to.
    pub to: Address,
    /// Where in the stack file the reference is written.
    pub path: String,
}
