use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::model::PortRange;

fn demo() -> Stack {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/demo.yaml");
    crate::validate::validate_file(&path)
        .and_then(|v| v.select(&path, None))
        .expect("stacks/demo.yaml is valid")
}

fn tcp(port: u16, peer: Peer) -> Rule {
    Rule {
        protocol: Protocol::Tcp,
        ports: PortRange {
            from: port,
            to: port,
        },
        peer,
    }
}

fn cidr(block: &str) -> Peer {
    Peer::Cidr(block.to_owned())
}

fn group(ingress: Vec<Rule>) -> SecurityGroup {
    SecurityGroup {
        description: "web tier".to_owned(),
        ingress,
        egress: None,
    }
}

fn live_rule(id: &str, port: i32, cidr: &str, owned: bool) -> LiveRule {
    LiveRule {
        id: id.to_owned(),
        direction: Direction::Ingress,
        protocol: "tcp".to_owned(),
        from_port: port,
        to_port: port,
        cidr: Some(cidr.to_owned()),
        group_id: None,
        owned,
    }
}

fn live(rules: Vec<LiveRule>, spec: Option<&str>) -> LiveSecurityGroup {
    LiveSecurityGroup {
        id: "sg-1".to_owned(),
        name: "demo-default-web".to_owned(),
        description: "web tier".to_owned(),
        vpc_id: Some("vpc-1".to_owned()),
        tags: spec
            .map(|s| BTreeMap::from([(tags::SPEC.to_owned(), s.to_owned())]))
            .unwrap_or_default(),
        rules,
    }
}

/// The hash stored on every group (`rollstack:spec`): a change here makes every group
/// report its rules as changed once, so it must be deliberate.
#[test]
fn the_rules_hash_is_pinned() {
    let web = group(vec![
        tcp(80, cidr("0.0.0.0/0")),
        tcp(22, Peer::SecurityGroup("bastion".to_owned())),
    ]);
    assert_eq!(rules_hash(&web), "2290caec809316f1");
}

#[test]
fn rules_read_alike_from_the_file_and_from_aws() {
    let ids = BTreeMap::from([("bastion".to_owned(), "sg-b".to_owned())]);
    let table: &[(Rule, LiveRule, &str)] = &[
        (
            tcp(80, cidr("0.0.0.0/0")),
            live_rule("r", 80, "0.0.0.0/0", true),
            "tcp 80 from 0.0.0.0/0",
        ),
        (
            tcp(22, Peer::SecurityGroup("bastion".to_owned())),
            LiveRule {
                cidr: None,
                group_id: Some("sg-b".to_owned()),
                ..live_rule("r", 22, "", true)
            },
            "tcp 22 from security_group.bastion",
        ),
        (
            Rule {
                protocol: Protocol::Udp,
                ports: PortRange { from: 0, to: 65535 },
                peer: cidr("10.0.0.0/8"),
            },
            LiveRule {
                protocol: "udp".to_owned(),
                from_port: 0,
                to_port: 65535,
                ..live_rule("r", 0, "10.0.0.0/8", true)
            },
            "udp all from 10.0.0.0/8",
        ),
        (
            Rule {
                protocol: Protocol::All,
                ports: PortRange::ALL,
                peer: cidr("10.0.0.0/8"),
            },
            LiveRule {
                protocol: "-1".to_owned(),
                from_port: -1,
                to_port: -1,
                ..live_rule("r", 0, "10.0.0.0/8", true)
            },
            "all from 10.0.0.0/8",
        ),
    ];
    for (desired, observed, text) in table {
        assert_eq!(desired_text(Direction::Ingress, desired), *text);
        assert_eq!(live_text(observed, &ids), *text);
    }
}

/// (live rules, rules hash tag matches the file) -> (action, added, removed, drift).
#[test]
fn rules_are_diffed_by_text_and_drift_is_told_apart_by_the_hash() {
    let stack = demo();
    let desired = group(vec![
        tcp(80, cidr("0.0.0.0/0")),
        tcp(443, cidr("0.0.0.0/0")),
    ]);
    let hash = rules_hash(&desired);
    struct Case {
        live: Vec<LiveRule>,
        hash_matches: bool,
        action: Action,
        added: &'static [&'static str],
        removed: &'static [&'static str],
        drift: &'static [&'static str],
    }
    let cases = [
        Case {
            live: vec![
                live_rule("r1", 80, "0.0.0.0/0", true),
                live_rule("r2", 443, "0.0.0.0/0", true),
            ],
            hash_matches: true,
            action: Action::NoOp,
            added: &[],
            removed: &[],
            drift: &[],
        },
        // A rule added to the file: an update, no drift.
        Case {
            live: vec![live_rule("r1", 80, "0.0.0.0/0", true)],
            hash_matches: false,
            action: Action::Update,
            added: &["tcp 443 from 0.0.0.0/0"],
            removed: &[],
            drift: &[],
        },
        // The same rule removed by hand: the hash says the file did not change.
        Case {
            live: vec![live_rule("r1", 80, "0.0.0.0/0", true)],
            hash_matches: true,
            action: Action::Update,
            added: &["tcp 443 from 0.0.0.0/0"],
            removed: &[],
            drift: &["ingress rule `tcp 443 from 0.0.0.0/0` was removed outside rollstack"],
        },
        // A rule without our tags: drift, revoked.
        Case {
            live: vec![
                live_rule("r1", 80, "0.0.0.0/0", true),
                live_rule("r2", 443, "0.0.0.0/0", true),
                live_rule("r3", 22, "0.0.0.0/0", false),
            ],
            hash_matches: true,
            action: Action::Update,
            added: &[],
            removed: &["tcp 22 from 0.0.0.0/0"],
            drift: &["ingress rule `tcp 22 from 0.0.0.0/0` was added outside rollstack"],
        },
    ];
    for (n, case) in cases.into_iter().enumerate() {
        let live = live(case.live, case.hash_matches.then_some(hash.as_str()));
        let diffed = diff_rules(&stack, "web", &desired, Some(&live), &BTreeMap::new());
        let Detail::SecurityGroupRules(detail) = &diffed.change.detail else {
            panic!("case {n}: not a rules change");
        };
        let texts = |rules: &[RuleChange]| rules.iter().map(|r| r.rule.clone()).collect::<Vec<_>>();
        assert_eq!(diffed.change.action, case.action, "case {n}");
        assert_eq!(texts(&detail.add_rules), case.added, "case {n}");
        assert_eq!(texts(&detail.remove_rules), case.removed, "case {n}");
        assert_eq!(diffed.drift, case.drift, "case {n}");
    }
}

#[test]
fn a_new_group_creates_its_rules_and_a_group_without_rules_needs_none() {
    let stack = demo();
    let with = diff_rules(
        &stack,
        "web",
        &group(vec![tcp(80, cidr("0.0.0.0/0"))]),
        None,
        &BTreeMap::new(),
    );
    assert_eq!(with.change.action, Action::Create);
    let without = diff_rules(&stack, "web", &group(Vec::new()), None, &BTreeMap::new());
    assert_eq!(without.change.action, Action::NoOp);
}
