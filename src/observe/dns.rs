//! Route 53 records as observed under an environment's domain. Records carry no tags:
//! rollstack marks a name it owns with a TXT record at the same name, holding
//! [`marker`], and touches no name without it.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The A record (and ownership) of one name under `{env}.{dns.name}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveRecord {
    /// The name, without the final dot (`web.prod.internal.example.com`).
    pub name: String,
    /// Its A record's addresses (empty: the name has no A record).
    pub ips: BTreeSet<String>,
    /// The A record's TTL.
    pub ttl: u32,
    /// The TXT ownership marker of the name, if it carries one: (value, TTL).
    pub marker: Option<(String, u32)>,
    /// Whether the marker is this stack + environment's.
    pub owned: bool,
}

/// The TXT value that marks a name as `stack`/`env`'s, quoted as Route 53 wants it.
pub fn marker(stack: &str, env: &str) -> String {
    format!("\"rollstack:stack={stack},env={env}\"")
}

/// The domain an environment's records are under: `{env}.{name}`.
pub fn environment_domain(env: &str, name: &str) -> String {
    format!("{env}.{name}")
}

/// One name whose A record changes: created (no `before`), deleted (no `after`), or
/// given other addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecordChange {
    /// The record's name (`web.prod.internal.example.com`).
    pub name: String,
    /// Its addresses now.
    pub before: Vec<String>,
    /// Its addresses after.
    pub after: Vec<String>,
}

impl RecordChange {
    /// `+`, `-` or `~`.
    pub fn symbol(&self) -> &'static str {
        match (self.before.is_empty(), self.after.is_empty()) {
            (true, _) => "+",
            (_, true) => "-",
            _ => "~",
        }
    }
}
