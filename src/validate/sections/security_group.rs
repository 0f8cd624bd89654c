//! Security groups and their rules.

use super::Checker;
use super::Names;
use super::formats;
use crate::diagnostic::did_you_mean;
use crate::load::raw::*;
use crate::model::*;

/// `from: self` in a rule: the group the rule belongs to.
const SELF: &str = "self";

pub(super) fn build(
    checker: &mut Checker,
    names: &Names,
    name: &str,
    raw: &RawSecurityGroup,
    references: &mut Vec<Edge>,
) -> SecurityGroup {
    let path = format!("security_groups.{name}");
    if name == SELF {
        checker.error_at_key(
            &path,
            "`self` cannot name a security group".to_owned(),
            "another name",
            Some("`from: self` in a rule means the group the rule belongs to".to_owned()),
        );
    }
    // A group's rules are applied once the group itself exists.
    references.push(Edge {
        from: Address::SecurityGroupRules(name.to_owned()),
        to: Address::SecurityGroup(name.to_owned()),
        path: path.clone(),
    });
    let mut rules = |kind: &str, raw_rules: &[RawRule]| -> Vec<Rule> {
        raw_rules
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| {
                let at = RuleAt {
                    group: name,
                    path: format!("{path}.{kind}[{i}]"),
                };
                at.build(checker, names, rule, references)
            })
            .collect()
    };
    let ingress = rules("ingress", &raw.ingress);
    let egress = raw.egress.as_deref().map(|e| rules("egress", e));
    SecurityGroup {
        description: raw
            .description
            .clone()
            .unwrap_or_else(|| format!("security_group.{name}")),
        ingress,
        egress,
    }
}

/// Where a rule stands: its group and its path in the file.
struct RuleAt<'a> {
    group: &'a str,
    path: String,
}

impl RuleAt<'_> {
    /// The model of `rule`; `None` when it has a problem (reported).
    fn build(
        &self,
        checker: &mut Checker,
        names: &Names,
        rule: &RawRule,
        references: &mut Vec<Edge>,
    ) -> Option<Rule> {
        let protocol = self.protocol(checker, &rule.protocol)?;
        let peer = self.peer(checker, names, rule, references)?;
        let rule_path = &self.path;
        let ports = match (protocol, rule.ports) {
            (Protocol::Icmp | Protocol::All, Some(ports)) if ports != PortRange::ALL => {
                checker.error_at_value(
                    &format!("{rule_path}.ports"),
                    format!("`{}` rules cover every port", rule.protocol),
                    "no `ports`, or `ports: all`",
                    Some("remove `ports`, or use `tcp` or `udp`".to_owned()),
                );
                PortRange::ALL
            }
            (_, ports) => ports.unwrap_or(PortRange::ALL),
        };
        Some(Rule {
            protocol,
            ports,
            peer,
        })
    }

    fn protocol(&self, checker: &mut Checker, protocol: &str) -> Option<Protocol> {
        match protocol {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "icmp" => Some(Protocol::Icmp),
            "all" | "-1" => Some(Protocol::All),
            other => {
                let hint = did_you_mean(&other.to_ascii_lowercase(), ["tcp", "udp", "icmp", "all"]);
                checker.error_at_value(
                    &format!("{}.protocol", self.path),
                    format!("unknown protocol `{other}`"),
                    "one of `tcp`, `udp`, `icmp`, `all`",
                    hint,
                );
                None
            }
        }
    }

    /// The rule's peer: a CIDR block, or a security group (a reference).
    fn peer(
        &self,
        checker: &mut Checker,
        names: &Names,
        rule: &RawRule,
        references: &mut Vec<Edge>,
    ) -> Option<Peer> {
        let rule_path = &self.path;
        match (&rule.cidr, &rule.from) {
            (Some(cidr), None) => {
                checker.format(
                    &format!("{rule_path}.cidr"),
                    cidr,
                    formats::cidr,
                    "CIDR block",
                );
                Some(Peer::Cidr(cidr.clone()))
            }
            (None, Some(from)) => {
                let from_path = format!("{rule_path}.from");
                // `self`: the group itself (a cluster whose members talk).
                let from = if from == SELF {
                    self.group
                } else {
                    from.as_str()
                };
                match names.named("security_group", from) {
                    Ok(to) => references.push(Edge {
                        from: Address::SecurityGroupRules(self.group.to_owned()),
                        to,
                        path: from_path,
                    }),
                    Err(e) => checker.error_at_value(
                        &from_path,
                        e.message,
                        "a security group of this stack",
                        e.hint,
                    ),
                }
                Some(Peer::SecurityGroup(from.to_owned()))
            }
            (cidr, _) => {
                let message = if cidr.is_some() {
                    "a rule has either `cidr` or `from`, not both"
                } else {
                    "a rule needs a peer: `cidr` or `from`"
                };
                checker.error_at_value(
                    rule_path,
                    message.to_owned(),
                    "`cidr: 203.0.113.0/24` or `from: <security group>`",
                    Some("split it into two rules if both are meant".to_owned()),
                );
                None
            }
        }
    }
}
