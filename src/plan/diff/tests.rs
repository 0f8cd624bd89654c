use super::*;
use crate::observe::{ForeignResource, ResolvedImage};
use crate::plan::{Action, Detail, SecurityGroupChange};

/// A stack with one security group (`web`) and one group (`www`) that uses it.
fn stack() -> Stack {
    crate::testing::stack_from_yaml(
        "rollstack: 1\nstack: shop\nregion: us-east-1\n\
         security_groups: { web: { description: web tier } }\n\
         roles: { r: {} }\n\
         groups: { www: { roles: [r], count: 1, image: ami-1, instance_type: t3.micro, security_groups: [web] } }\n",
    )
}

/// What AWS holds: nothing of the stack, the image, the default VPC and `foreign`.
fn observed(stack: &Stack, vpcs: &[&str], foreign: Vec<ForeignResource>) -> Observed {
    let image = ResolvedImage {
        id: "ami-1".to_owned(),
        name: None,
        created: None,
        root_device: None,
        root_size_gb: None,
    };
    Observed {
        images: [(stack.groups["www"].image.clone(), image)].into(),
        vpcs: vpcs.iter().map(|v| (*v).to_owned()).collect(),
        foreign,
        ..Observed::default()
    }
}

fn foreign(kind: ForeignKind, name: &str) -> ForeignResource {
    ForeignResource {
        kind,
        name: name.to_owned(),
        id: "x-1".to_owned(),
        vpc: None,
    }
}

/// Every error, as its address and a word for its kind.
fn errors(result: Result<(Plan, Observed), Vec<PlanError>>) -> Vec<String> {
    match result {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| match e {
                PlanError::Conflict { address, kind, .. } => format!("conflict {address} {kind}"),
                PlanError::NoDefaultVpc => "no default vpc".to_owned(),
                PlanError::SeveralVpcs { vpcs } => format!("vpcs {}", vpcs.join(" ")),
                other => other.to_string(),
            })
            .collect(),
    }
}

#[test]
fn what_stops_a_plan() {
    let stack = stack();
    // (vpcs, foreign resources) -> errors
    let table: Vec<(&[&str], Vec<ForeignResource>, Vec<&str>)> = vec![
        (&["vpc-1"], vec![], vec![]),
        (&[], vec![], vec!["no default vpc"]),
        (&["vpc-1", "vpc-2"], vec![], vec!["vpcs vpc-1 vpc-2"]),
        (
            &["vpc-1"],
            vec![foreign(ForeignKind::SecurityGroup, "shop-default-web")],
            vec!["conflict security_group.web security group"],
        ),
        // A group's launch template carries the group's name.
        (
            &["vpc-1"],
            vec![foreign(ForeignKind::LaunchTemplate, "shop-default-www")],
            vec!["conflict group.www launch template"],
        ),
        // Another stack's names are none of this one's business.
        (
            &["vpc-1"],
            vec![foreign(ForeignKind::SecurityGroup, "other-default-web")],
            vec![],
        ),
    ];
    for (vpcs, foreign, expected) in table {
        let observed = observed(&stack, vpcs, foreign);
        let result = diff(
            &stack,
            observed,
            &EnvironmentValues::new(),
            &Redactor::default(),
        );
        assert_eq!(errors(result), expected, "vpcs {vpcs:?}");
    }
}

#[test]
fn changes_come_in_apply_order_and_removals_dependents_first() {
    let change = |address: Address| Diffed {
        change: Change {
            address,
            action: Action::Delete,
            reason: String::new(),
            detail: Detail::SecurityGroup(SecurityGroupChange::default()),
        },
        drift: vec!["found".to_owned()],
        fingerprint: "f".to_owned(),
    };
    let sg = |n: &str| Address::SecurityGroup(n.to_owned());
    let rules = |n: &str| Address::SecurityGroupRules(n.to_owned());
    let group = |n: &str| Address::Group(n.to_owned());
    let cfn = |n: &str| Address::CloudFormation(n.to_owned());
    // (diffed, apply order) -> changes
    let table = [
        (
            vec![group("www"), sg("web"), rules("web")],
            vec![sg("web"), rules("web"), group("www")],
            "security_group.web security_group_rules.web group.www",
        ),
        // Not in the order: removed from the file; instances go before the stacks and
        // groups they use, rules before the groups they name.
        (
            vec![sg("old"), rules("old"), cfn("db"), group("gone"), sg("web")],
            vec![sg("web")],
            "security_group.web group.gone cloudformation.db security_group_rules.old security_group.old",
        ),
    ];
    for (diffed, order, expected) in table {
        let count = diffed.len();
        let (changes, drift, fingerprints) =
            in_order(diffed.into_iter().map(change).collect(), &order);
        let got: Vec<String> = changes.iter().map(|c| c.address.to_string()).collect();
        assert_eq!(got.join(" "), expected);
        assert_eq!(drift.len(), count);
        assert_eq!(fingerprints.len(), count);
    }
}
