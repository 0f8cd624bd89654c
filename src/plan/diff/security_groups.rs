//! Security groups, as two nodes each: the group (`security_group.NAME`: created,
//! re-tagged, deleted) and its rules (`security_group_rules.NAME`: authorize/revoke the
//! difference). Rules come after every group they name, so groups that allow each other
//! are no cycle. Rules in our groups that rollstack did not make are drift.

use std::collections::{BTreeMap, BTreeSet};

use super::{Diffed, fingerprint};
use crate::diagnostic::plural;
use crate::model::{Address, Peer, Protocol, Rule, SecurityGroup, Stack};
use crate::observe::{Direction, LiveRule, LiveSecurityGroup, Observed, aws_name, tags};
use crate::plan::spec::{lifecycle_tags, ownership_tags, retag, user_tags};
use crate::plan::{
    Action, BeforeAfter, Change, Detail, RuleChange, SecurityGroupChange, SecurityGroupRulesChange,
};

/// Diffs every security group of `stack` and every owned one it no longer has.
pub fn diff(stack: &Stack, observed: &Observed) -> Vec<Diffed> {
    let ids = live_ids(stack, observed);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, desired) in &stack.security_groups {
        let aws = aws_name(stack, name);
        let live = observed.security_groups.iter().find(|g| g.name == aws);
        if let Some(live) = live {
            seen.insert(live.id.clone());
        }
        out.push(diff_group(stack, name, desired, live));
        out.push(diff_rules(stack, name, desired, live, &ids));
    }
    for live in &observed.security_groups {
        if seen.contains(&live.id) {
            continue;
        }
        let Some(name) = live.name.strip_prefix(&aws_name(stack, "")) else {
            continue;
        };
        out.extend(removed_rules(name, live, &ids));
        out.push(removed(name, live));
    }
    out
}

/// Security group name -> live id, for rules that refer to groups.
fn live_ids(stack: &Stack, observed: &Observed) -> BTreeMap<String, String> {
    let prefix = aws_name(stack, "");
    observed
        .security_groups
        .iter()
        .filter_map(|g| Some((g.name.strip_prefix(&prefix)?.to_owned(), g.id.clone())))
        .collect()
}

/// The text of a rule, as reviewers read it: `tcp 80 from 0.0.0.0/0`.
pub fn rule_text(
    direction: Direction,
    protocol: &str,
    ports: Option<String>,
    peer: &str,
) -> String {
    let preposition = match direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    match ports {
        Some(ports) => format!("{protocol} {ports} {preposition} {peer}"),
        None => format!("{protocol} {preposition} {peer}"),
    }
}

/// The text of a rule of the stack file, as [`rule_text`] writes it.
pub fn desired_text(direction: Direction, rule: &Rule) -> String {
    let (protocol, ports) = match rule.protocol {
        Protocol::Tcp => ("tcp", Some(rule.ports.to_string())),
        Protocol::Udp => ("udp", Some(rule.ports.to_string())),
        Protocol::Icmp => ("icmp", None),
        Protocol::All => ("all", None),
    };
    let peer = match &rule.peer {
        Peer::Cidr(cidr) => cidr.clone(),
        Peer::SecurityGroup(name) => Address::SecurityGroup(name.clone()).to_string(),
    };
    rule_text(direction, protocol, ports, &peer)
}

fn live_text(rule: &LiveRule, ids: &BTreeMap<String, String>) -> String {
    let (protocol, ports) = match rule.protocol.as_str() {
        "-1" | "all" => ("all".to_owned(), None),
        "icmp" => ("icmp".to_owned(), None),
        other => {
            let ports = if rule.from_port == rule.to_port {
                rule.from_port.to_string()
            } else if (rule.from_port, rule.to_port) == (0, 65535) {
                "all".to_owned()
            } else {
                format!("{}-{}", rule.from_port, rule.to_port)
            };
            (other.to_owned(), Some(ports))
        }
    };
    let peer = match (&rule.cidr, &rule.group_id) {
        (Some(cidr), _) => cidr.clone(),
        (None, Some(id)) => ids
            .iter()
            .find(|(_, live)| *live == id)
            .map(|(name, _)| Address::SecurityGroup(name.clone()).to_string())
            .unwrap_or_else(|| id.clone()),
        (None, None) => "(unknown peer)".to_owned(),
    };
    rule_text(rule.direction, &protocol, ports, &peer)
}

/// The rules a group should have, by direction; `None` egress leaves AWS's default alone.
fn desired_rules(desired: &SecurityGroup) -> BTreeSet<(Direction, String)> {
    let ingress = desired
        .ingress
        .iter()
        .map(|r| (Direction::Ingress, desired_text(Direction::Ingress, r)));
    let egress = desired
        .egress
        .iter()
        .flatten()
        .map(|r| (Direction::Egress, desired_text(Direction::Egress, r)));
    ingress.chain(egress).collect()
}

/// Hash of a group's desired description and rules: its `rollstack:spec` tag, so a rule
/// removed by hand is told apart from a rule added to the file. The encoding: the
/// description, then one line per rule, `Ingress tcp 80 from 0.0.0.0/0`, ingress
/// before egress and each sorted by text ([`desired_text`]); `tests` pins the result.
pub fn rules_hash(desired: &SecurityGroup) -> String {
    // The words are part of hashes stored on AWS: they must never change.
    let text: Vec<String> = desired_rules(desired)
        .into_iter()
        .map(|(d, r)| {
            let word = match d {
                Direction::Ingress => "Ingress",
                Direction::Egress => "Egress",
            };
            format!("{word} {r}")
        })
        .collect();
    super::short_hash(&format!("{}\n{}", desired.description, text.join("\n")))
}

fn diff_group(
    stack: &Stack,
    name: &str,
    desired: &SecurityGroup,
    live: Option<&LiveSecurityGroup>,
) -> Diffed {
    let address = Address::SecurityGroup(name.to_owned());
    let mut detail = SecurityGroupChange {
        name: aws_name(stack, name),
        id: live.map(|l| l.id.clone()),
        description: BeforeAfter {
            before: live.map(|l| l.description.clone()),
            after: Some(desired.description.clone()),
        },
        ..SecurityGroupChange::default()
    };
    let Some(live) = live else {
        return Diffed {
            change: Change {
                address: address.clone(),
                action: Action::Create,
                reason: "new security group".to_owned(),
                detail: Detail::SecurityGroup(detail),
            },
            drift: Vec::new(),
            fingerprint: super::ABSENT.to_owned(),
        };
    };
    let mut drift = Vec::new();
    let lifecycle = lifecycle_tags(stack);
    for (key, value) in ownership_tags(stack, &address) {
        if !lifecycle.contains_key(&key) && live.tags.get(&key) != Some(&value) {
            drift.push(format!("tag `{key}` is missing or changed"));
            detail.set_tags.insert(key, value);
        }
    }
    let (set, remove) = retag(&live.tags, &user_tags(stack, None));
    detail.set_tags.extend(set);
    detail.remove_tags = remove;
    // A description change never gets here: the plan refuses it (`PlanError`).
    let (action, reason) = if detail.set_tags.is_empty() && detail.remove_tags.is_empty() {
        (Action::NoOp, "in sync".to_owned())
    } else if drift.is_empty() {
        (Action::Update, "tags changed".to_owned())
    } else {
        (Action::Update, "ownership tags to restore".to_owned())
    };
    Diffed {
        change: Change {
            address: address.clone(),
            action,
            reason,
            detail: Detail::SecurityGroup(detail),
        },
        drift,
        fingerprint: group_fingerprint(live),
    }
}

fn diff_rules(
    stack: &Stack,
    name: &str,
    desired: &SecurityGroup,
    live: Option<&LiveSecurityGroup>,
    ids: &BTreeMap<String, String>,
) -> Diffed {
    let address = Address::SecurityGroupRules(name.to_owned());
    let wanted = desired_rules(desired);
    let hash = rules_hash(desired);
    let mut detail = SecurityGroupRulesChange {
        group: aws_name(stack, name),
        id: live.map(|l| l.id.clone()),
        ..SecurityGroupRulesChange::default()
    };
    let Some(live) = live else {
        return new_rules(address, detail, wanted, desired.egress.is_none());
    };
    let mut drift = Vec::new();
    let considered = live
        .rules
        .iter()
        .filter(|r| r.direction == Direction::Ingress || desired.egress.is_some());
    let mut have = BTreeSet::new();
    for rule in considered {
        let text = live_text(rule, ids);
        let key = (rule.direction, text.clone());
        if wanted.contains(&key) {
            have.insert(key);
            continue;
        }
        if !rule.owned {
            drift.push(format!(
                "{} rule `{text}` was added outside rollstack",
                direction_word(rule.direction)
            ));
        }
        detail.remove_rules.push(RuleChange {
            direction: rule.direction,
            rule: text,
            id: Some(rule.id.clone()),
        });
    }
    let unchanged_file = live.tags.get(tags::SPEC) == Some(&hash);
    for (direction, rule) in wanted.difference(&have) {
        if unchanged_file {
            drift.push(format!(
                "{} rule `{rule}` was removed outside rollstack",
                direction_word(*direction)
            ));
        }
        detail.add_rules.push(RuleChange {
            direction: *direction,
            rule: rule.clone(),
            id: None,
        });
    }
    detail.remove_rules.sort();
    detail.add_rules.sort();
    detail.rules_hash = (!unchanged_file).then_some(hash);
    let (action, reason) = if detail.add_rules.is_empty()
        && detail.remove_rules.is_empty()
        && detail.rules_hash.is_none()
    {
        (Action::NoOp, "in sync".to_owned())
    } else {
        (Action::Update, rules_reason(&detail))
    };
    Diffed {
        change: Change {
            address: address.clone(),
            action,
            reason,
            detail: Detail::SecurityGroupRules(detail),
        },
        drift,
        fingerprint: group_fingerprint(live),
    }
}

/// The rules of a group that does not exist yet: all of them are added.
fn new_rules(
    address: Address,
    mut detail: SecurityGroupRulesChange,
    wanted: BTreeSet<(Direction, String)>,
    default_egress: bool,
) -> Diffed {
    detail.add_rules = wanted
        .into_iter()
        .map(|(direction, rule)| RuleChange {
            direction,
            rule,
            id: None,
        })
        .collect();
    let (action, reason) = if detail.add_rules.is_empty() && default_egress {
        (Action::NoOp, "no rules".to_owned())
    } else {
        (Action::Create, rules_reason(&detail))
    };
    Diffed {
        change: Change {
            address,
            action,
            reason,
            detail: Detail::SecurityGroupRules(detail),
        },
        drift: Vec::new(),
        fingerprint: super::ABSENT.to_owned(),
    }
}

fn rules_reason(detail: &SecurityGroupRulesChange) -> String {
    let mut parts = Vec::new();
    if !detail.add_rules.is_empty() {
        parts.push(format!(
            "{} to authorize",
            plural(detail.add_rules.len(), "rule")
        ));
    }
    if !detail.remove_rules.is_empty() {
        parts.push(format!(
            "{} to revoke",
            plural(detail.remove_rules.len(), "rule")
        ));
    }
    if parts.is_empty() {
        parts.push(if detail.id.is_none() {
            "only the rules the stack file gives".to_owned()
        } else {
            "record the rules hash".to_owned()
        });
    }
    parts.join(", ")
}

/// The rules of a removed group that name other groups: revoked first, since a group
/// another group's rule names cannot be deleted (two groups that allow each other
/// would wait on each other forever). Rules naming only addresses go with the group.
fn removed_rules(
    name: &str,
    live: &LiveSecurityGroup,
    ids: &BTreeMap<String, String>,
) -> Option<Diffed> {
    let remove_rules: Vec<RuleChange> = live
        .rules
        .iter()
        .filter(|r| r.group_id.is_some())
        .map(|r| RuleChange {
            direction: r.direction,
            rule: live_text(r, ids),
            id: Some(r.id.clone()),
        })
        .collect();
    if remove_rules.is_empty() {
        return None;
    }
    let detail = SecurityGroupRulesChange {
        group: live.name.clone(),
        id: Some(live.id.clone()),
        remove_rules,
        ..SecurityGroupRulesChange::default()
    };
    Some(Diffed {
        change: Change {
            address: Address::SecurityGroupRules(name.to_owned()),
            action: Action::Delete,
            reason: format!(
                "no longer in the stack file: revoke {} naming security groups",
                plural(detail.remove_rules.len(), "rule")
            ),
            detail: Detail::SecurityGroupRules(detail),
        },
        drift: Vec::new(),
        fingerprint: group_fingerprint(live),
    })
}

fn removed(name: &str, live: &LiveSecurityGroup) -> Diffed {
    let detail = SecurityGroupChange {
        name: live.name.clone(),
        id: Some(live.id.clone()),
        description: BeforeAfter {
            before: Some(live.description.clone()),
            after: None,
        },
        ..SecurityGroupChange::default()
    };
    Diffed {
        change: Change {
            address: Address::SecurityGroup(name.to_owned()),
            action: Action::Delete,
            reason: "no longer in the stack file".to_owned(),
            detail: Detail::SecurityGroup(detail),
        },
        drift: Vec::new(),
        fingerprint: group_fingerprint(live),
    }
}

fn group_fingerprint(live: &LiveSecurityGroup) -> String {
    let mut rules: Vec<String> = live
        .rules
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {} {}",
                direction_word(r.direction),
                r.protocol,
                r.from_port,
                r.to_port,
                r.cidr.as_deref().unwrap_or("-"),
                r.group_id.as_deref().unwrap_or("-"),
                if r.owned { "owned" } else { "foreign" }
            )
        })
        .collect();
    rules.sort();
    fingerprint(&[
        &live.id,
        &live.description,
        &super::pairs(&live.tags),
        &rules.join(";"),
    ])
}

fn direction_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

#[cfg(test)]
mod tests;
