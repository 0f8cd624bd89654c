use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::aws::operations::OPERATIONS;

fn shop(env: &str) -> Stack {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/shop.yaml");
    crate::validate::validate_file(&path)
        .and_then(|v| v.select(&path, Some(env)))
        .expect("stacks/shop.yaml is valid")
}

fn policy(purpose: Purpose) -> PolicyDocument {
    let stack = shop("prod");
    build(
        &stack,
        purpose,
        &Arns::new("us-east-1", "123456789012"),
        &BTreeMap::new(),
    )
    .document
}

fn statement<'a>(document: &'a PolicyDocument, sid: &str) -> &'a Statement {
    document
        .statement
        .iter()
        .find(|s| s.sid == sid)
        .unwrap_or_else(|| panic!("no statement `{sid}`"))
}

#[test]
fn no_statement_allows_every_action_of_a_service() {
    for purpose in [Purpose::Apply, Purpose::Plan, Purpose::Instance] {
        for action in policy(purpose).actions() {
            assert!(!action.contains('*'), "{purpose:?}: `{action}`");
        }
    }
}

#[test]
fn apply_allows_every_operation_plan_and_apply_make() {
    let apply = policy(Purpose::Apply);
    let allowed = apply.actions();
    for operation in OPERATIONS {
        match operation.scope {
            // The template's instance profile needs `iam:GetInstanceProfile` all the same.
            Scope::PolicyLookup => {}
            // Allowed to everyone: no policy can deny it.
            Scope::Identity => {}
            // Only for stacks with target groups or alarms: `traffic_is_allowed_when_used`;
            // with `dns:`, `records_are_allowed_in_the_zone`.
            Scope::TrafficRead | Scope::TargetGroup | Scope::HostedZone => {}
            // Only for stacks with `autoscaling:`: `autoscaling_is_allowed_when_used`.
            Scope::AutoScalingRead | Scope::AutoScalingCreate | Scope::AutoScalingOwned => {}
            // Only for apps that are images: `image_repositories_are_read_and_pulled_when_used`.
            Scope::ImageRepository => {}
            // Only for stacks with `sites:`: `sites_write_under_releases_and_the_entry_files`.
            Scope::SiteObject | Scope::Distribution => {}
            Scope::Bootstrap => assert!(!allowed.contains(&operation.action), "{}", operation.name),
            _ => assert!(allowed.contains(&operation.action), "{}", operation.name),
        }
    }
}

#[test]
fn plan_allows_the_reads_and_no_write() {
    let plan = policy(Purpose::Plan);
    let allowed = plan.actions();
    for operation in OPERATIONS {
        if matches!(
            operation.scope,
            Scope::Bootstrap
                | Scope::PolicyLookup
                | Scope::TrafficRead
                | Scope::TargetGroup
                | Scope::HostedZone
                | Scope::Identity
                | Scope::AutoScalingRead
                | Scope::ImageRepository
                | Scope::Distribution
        ) {
            continue;
        }
        if !operation.writes {
            assert!(allowed.contains(&operation.action), "{}", operation.name);
        }
    }
    for action in [
        "s3:PutObject",
        "s3:DeleteObject",
        "ec2:RunInstances",
        "iam:PassRole",
    ] {
        assert!(!allowed.contains(&action), "{action}");
    }
}

#[test]
fn ec2_writes_only_touch_what_carries_the_environments_tags() {
    let apply = policy(Purpose::Apply);
    let owned = statement(&apply, "ChangeOwnResources");
    assert!(owned.action.contains(&"ec2:TerminateInstances".to_owned()));
    let condition = serde_json::to_value(&owned.condition).unwrap();
    assert_eq!(
        condition,
        serde_json::json!({"StringEquals": {
            "aws:ResourceTag/rollstack:env": "prod",
            "aws:ResourceTag/rollstack:stack": "shop",
        }})
    );
    let launch = statement(&apply, "LaunchTaggedInstances");
    assert_eq!(
        serde_json::to_value(&launch.condition).unwrap()["StringEquals"]["aws:RequestTag/rollstack:stack"],
        "shop"
    );
}

#[test]
fn state_and_stacks_are_scoped_to_the_environment() {
    let apply = policy(Purpose::Apply);
    assert_eq!(
        statement(&apply, "WriteEnvironmentState").resource,
        ["arn:aws:s3:::acme-rollstack/rollstack/shop/prod/*"]
    );
    assert_eq!(
        statement(&apply, "ChangeOwnCloudFormationStacks").resource,
        ["arn:aws:cloudformation:us-east-1:123456789012:stack/shop-prod-*/*"]
    );
    assert_eq!(
        statement(&apply, "ReadReleases").resource,
        [
            "arn:aws:s3:::acme-releases/web/*",
            "arn:aws:s3:::acme-releases/worker/*"
        ]
    );
}

#[test]
fn roles_of_profiles_a_node_makes_are_passed_by_name_pattern() {
    let apply = policy(Purpose::Apply);
    assert_eq!(
        statement(&apply, "PassInstanceRoles").resource,
        ["arn:aws:iam::123456789012:role/shop-prod-role-*"]
    );
    let role = statement(&apply, "RoleRole");
    assert!(role.action.contains(&"iam:CreateRole".to_owned()));
    assert_eq!(
        statement(&apply, "DbDBInstance").resource,
        ["arn:aws:rds:us-east-1:123456789012:db:*"]
    );
}

#[test]
fn named_profiles_pass_the_roles_iam_answered() {
    let mut stack = shop("prod");
    stack.groups.get_mut("bastion").unwrap().instance_profile =
        Some(crate::model::Interpolated::parse("ops-bastion"));
    assert_eq!(named_profiles(&stack), ["ops-bastion"]);
    let roles = BTreeMap::from([(
        "ops-bastion".to_owned(),
        vec!["arn:aws:iam::123456789012:role/ops/bastion".to_owned()],
    )]);
    let apply = build(&stack, Purpose::Apply, &Arns::new("us-east-1", "*"), &roles).document;
    assert_eq!(
        statement(&apply, "PassInstanceRoles").resource,
        [
            "arn:aws:iam::*:role/shop-prod-role-*",
            "arn:aws:iam::123456789012:role/ops/bastion"
        ]
    );
}

#[test]
fn instances_read_their_releases_and_write_their_signals() {
    let instance = policy(Purpose::Instance);
    assert_eq!(instance.actions(), ["s3:GetObject", "s3:PutObject"]);
    assert_eq!(
        statement(&instance, "WriteReadinessSignals").resource,
        ["arn:aws:s3:::acme-rollstack/rollstack/shop/prod/signals/*"]
    );
}

#[test]
fn unknown_resource_types_are_reported_not_guessed() {
    let mut stack = shop("prod");
    let db = stack.cloudformation.get_mut("db").unwrap();
    db.template.source = "Resources:\n  F: {Type: AWS::Lambda::Function}\n".to_owned();
    let built = build(
        &stack,
        Purpose::Apply,
        &Arns::new("us-east-1", "*"),
        &BTreeMap::new(),
    );
    assert_eq!(
        built.uncovered,
        [Uncovered {
            node: "db".to_owned(),
            resource_type: "AWS::Lambda::Function".to_owned()
        }]
    );
}

#[test]
fn partitions_follow_the_region() {
    assert_eq!(Arns::new("cn-north-1", "*").partition, "aws-cn");
    assert_eq!(Arns::new("us-gov-west-1", "*").partition, "aws-us-gov");
    assert_eq!(Arns::new("eu-west-1", "*").partition, "aws");
}

#[test]
fn traffic_is_allowed_when_used() {
    let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1";
    let mut stack = shop("prod");
    stack.cloudformation.remove("lb");
    for group in stack.groups.values_mut() {
        group.target_groups.clear();
        group.rollout.alarms.clear();
    }
    let arns = Arns::new("us-east-1", "123456789012");
    let build_for =
        |stack: &Stack, purpose| build(stack, purpose, &arns, &BTreeMap::new()).document;
    let before = build_for(&stack, Purpose::Apply);
    assert!(
        !before
            .actions()
            .iter()
            .any(|a| a.starts_with("elasticloadbalancing:"))
    );
    let www = stack.groups.get_mut("www").unwrap();
    www.target_groups = vec![crate::model::Interpolated::parse(arn)];
    www.rollout.alarms = vec!["www-5xx".to_owned()];
    let apply = build_for(&stack, Purpose::Apply);
    for operation in OPERATIONS {
        if matches!(operation.scope, Scope::TrafficRead | Scope::TargetGroup) {
            assert!(
                apply.actions().contains(&operation.action),
                "{}",
                operation.name
            );
        }
    }
    assert_eq!(statement(&apply, "RegisterInTargetGroups").resource, [arn]);
    let plan = build_for(&stack, Purpose::Plan);
    assert!(plan.actions().contains(&"cloudwatch:DescribeAlarms"));
    assert!(
        !plan
            .actions()
            .contains(&"elasticloadbalancing:RegisterTargets")
    );
    // A target group made by CloudFormation: any of the account's in the region.
    let www = stack.groups.get_mut("www").unwrap();
    www.target_groups = vec![crate::model::Interpolated::parse(
        "${outputs.lb.TargetGroup}",
    )];
    let apply = build_for(&stack, Purpose::Apply);
    assert_eq!(
        statement(&apply, "RegisterInTargetGroups").resource,
        ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/*"]
    );
}

#[test]
fn records_are_allowed_in_the_zone_of_the_stack_only() {
    let mut stack = shop("prod");
    let arns = Arns::new("us-east-1", "123456789012");
    let without = build(&stack, Purpose::Apply, &arns, &BTreeMap::new()).document;
    assert!(!without.actions().iter().any(|a| a.starts_with("route53:")));
    stack.dns = Some(crate::model::Dns {
        zone_id: "Z0123456789".to_owned(),
        name: "internal.example.com".to_owned(),
        ttl: 60,
    });
    let apply = build(&stack, Purpose::Apply, &arns, &BTreeMap::new()).document;
    let zone = "arn:aws:route53:::hostedzone/Z0123456789";
    assert_eq!(statement(&apply, "ChangeDnsRecords").resource, [zone]);
    assert_eq!(statement(&apply, "ReadDnsRecords").resource, [zone]);
    let plan = build(&stack, Purpose::Plan, &arns, &BTreeMap::new()).document;
    assert!(plan.actions().contains(&"route53:ListResourceRecordSets"));
    assert!(!plan.actions().contains(&"route53:ChangeResourceRecordSets"));
}

#[test]
fn sites_write_under_releases_and_the_entry_files() {
    let mut stack = shop("prod");
    let arns = Arns::new("us-east-1", "123456789012");
    let build_for =
        |stack: &Stack, purpose| build(stack, purpose, &arns, &BTreeMap::new()).document;
    stack.sites.insert(
        "web".to_owned(),
        crate::model::Site {
            app: "web".to_owned(),
            bucket: crate::model::Interpolated::parse("${outputs.cdn.Bucket}"),
            flip: crate::model::Flip::Index {
                entry: vec!["index.html".to_owned()],
            },
            cache: Vec::new(),
            keep: 5,
            bake: None,
            alarms: Vec::new(),
            max_size: 1024,
        },
    );
    let bucket = "arn:aws:s3:::shop-prod-cdn-*";
    let plan = build_for(&stack, Purpose::Plan);
    assert_eq!(statement(&plan, "ListSiteReleases").resource, [bucket]);
    assert_eq!(
        statement(&plan, "ReadSiteEntries").resource,
        [format!("{bucket}/index.html")]
    );
    assert!(!plan.actions().contains(&"s3:DeleteObject"));
    let apply = build_for(&stack, Purpose::Apply);
    let releases = statement(&apply, "WriteSiteReleases");
    assert_eq!(
        releases.action,
        ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    );
    assert_eq!(releases.resource, [format!("{bucket}/releases/*")]);
    let flip = statement(&apply, "FlipSiteEntries");
    assert_eq!(flip.action, ["s3:DeleteObject", "s3:PutObject"]);
    assert_eq!(flip.resource, [format!("{bucket}/index.html")]);

    // A CloudFront flip: the distribution, no entry files.
    stack.sites.get_mut("web").unwrap().flip = crate::model::Flip::Cloudfront {
        distribution: crate::model::Interpolated::parse("E2QWRUHAPOMQZL"),
    };
    let distribution = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL";
    let plan = build_for(&stack, Purpose::Plan);
    let reads = statement(&plan, "ReadSiteDistributions");
    assert_eq!(
        reads.action,
        [
            "cloudfront:GetDistribution",
            "cloudfront:GetDistributionConfig"
        ]
    );
    assert_eq!(reads.resource, [distribution]);
    let apply = build_for(&stack, Purpose::Apply);
    let flip = statement(&apply, "FlipSiteDistributions");
    assert_eq!(
        flip.action,
        [
            "cloudfront:CreateInvalidation",
            "cloudfront:UpdateDistribution"
        ]
    );
    assert_eq!(flip.resource, [distribution]);
    assert!(!apply.statement.iter().any(|s| s.sid == "FlipSiteEntries"));
}

#[test]
fn image_repositories_are_read_and_pulled_when_used() {
    let mut stack = shop("prod");
    let arns = Arns::new("us-east-1", "123456789012");
    let build_for =
        |stack: &Stack, purpose| build(stack, purpose, &arns, &BTreeMap::new()).document;
    assert!(
        !build_for(&stack, Purpose::Apply)
            .actions()
            .iter()
            .any(|a| a.starts_with("ecr:"))
    );
    let repository = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/web";
    stack.apps.get_mut("web").unwrap().image =
        Some(crate::model::container::Repository::parse(repository).unwrap());
    let arn = "arn:aws:ecr:eu-west-1:210987654321:repository/team/web".to_owned();
    for purpose in [Purpose::Plan, Purpose::Apply] {
        let document = build_for(&stack, purpose);
        let reads = statement(&document, "ReadContainerImages");
        assert_eq!(
            reads.action,
            ["ecr:BatchGetImage", "ecr:DescribeRepositories"]
        );
        assert_eq!(reads.resource, std::slice::from_ref(&arn));
        // The app's tarball is no longer read.
        let releases = serde_json::to_string(&document).unwrap();
        assert!(!releases.contains("acme-releases/web/*"), "{releases}");
    }
    let instance = build_for(&stack, Purpose::Instance);
    let pulls = statement(&instance, "PullContainerImages");
    assert_eq!(
        pulls.action,
        [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer"
        ]
    );
    assert_eq!(pulls.resource, [arn]);
    assert_eq!(statement(&instance, "LogInToEcr").resource, ["*"]);
}

#[test]
fn autoscaling_is_allowed_when_used_on_the_environments_groups_only() {
    let mut stack = shop("prod");
    let arns = Arns::new("us-east-1", "123456789012");
    let build_for =
        |stack: &Stack, purpose| build(stack, purpose, &arns, &BTreeMap::new()).document;
    let before = build_for(&stack, Purpose::Apply);
    assert!(
        !before
            .actions()
            .iter()
            .any(|a| a.starts_with("autoscaling:"))
    );
    stack.groups.get_mut("www").unwrap().autoscaling = Some(crate::model::Autoscaling {
        min: 2,
        max: 4,
        health_check: crate::model::AutoscalingHealthCheck {
            kind: crate::model::HealthCheckKind::Ec2,
            grace: crate::model::Duration(std::time::Duration::from_secs(60)),
        },
        policies: Vec::new(),
        termination: crate::model::TerminationPolicy::defaults(),
    });
    let apply = build_for(&stack, Purpose::Apply);
    let plan = build_for(&stack, Purpose::Plan);
    for operation in OPERATIONS
        .iter()
        .filter(|o| o.service == crate::aws::operations::Service::AutoScaling)
    {
        assert!(
            apply.actions().contains(&operation.action),
            "{}",
            operation.name
        );
        assert_eq!(
            plan.actions().contains(&operation.action),
            !operation.writes,
            "{}",
            operation.name
        );
    }
    let owned = statement(&apply, "ChangeOwnAutoScalingGroups");
    let text = serde_json::to_string(owned).unwrap();
    assert!(text.contains("autoScalingGroupName/shop-prod-*"), "{text}");
    assert!(text.contains("aws:ResourceTag/rollstack:stack"), "{text}");
    let created = serde_json::to_string(statement(&apply, "CreateOwnAutoScalingGroups")).unwrap();
    assert!(
        created.contains("aws:RequestTag/rollstack:env"),
        "{created}"
    );
}
