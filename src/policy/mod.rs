//! The least-privilege IAM policy of one environment of a stack, for `rollstack
//! iam-policy`: built from the operations rollstack makes
//! ([`crate::aws::operations::OPERATIONS`]) and what the stack names (buckets, apps,
//! instance profiles, CloudFormation templates). Plain Rust: the roles of named instance
//! profiles are looked up by the command and passed in.

mod autoscaling;
mod cloudformation;
mod document;
mod images;
mod sites;

use std::collections::BTreeMap;

pub use cloudformation::Uncovered;
pub use document::{Condition, PolicyDocument, Statement};

use crate::aws::operations::{Scope, actions};
use crate::model::{HealthCheck, Interpolated, Reference, Stack};
use crate::observe::tags;

/// Who the policy is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Whoever runs `apply`, `destroy`, `rollback` and `env up`/`down`.
    Apply,
    /// Whoever runs `plan`, `status` and `history` (reads only).
    Plan,
    /// The stack's instances (their instance profile's role).
    Instance,
}

/// Where ARNs point: the partition, region and account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arns {
    /// `aws`, `aws-cn` or `aws-us-gov`, from the region.
    pub partition: &'static str,
    /// The stack's region.
    pub region: String,
    /// The account id, or `*` for any.
    pub account: String,
}

impl Arns {
    /// ARNs in `region` of `account`.
    pub fn new(region: &str, account: &str) -> Arns {
        let partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        Arns {
            partition,
            region: region.to_owned(),
            account: account.to_owned(),
        }
    }

    /// `arn:aws:ec2:REGION:ACCOUNT:{resource}`.
    fn regional(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition, self.region, self.account
        )
    }

    /// `arn:aws:ec2:REGION::{resource}` (public images and snapshots have no account).
    fn unowned(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}::{resource}",
            self.partition, self.region
        )
    }

    /// `arn:aws:s3:::{bucket_or_object}`.
    fn s3(&self, path: &str) -> String {
        format!("arn:{}:s3:::{path}", self.partition)
    }
}

/// What `iam-policy` printed, and what it could not cover.
#[derive(Debug)]
pub struct Policy {
    /// The document.
    pub document: PolicyDocument,
    /// CloudFormation resource types whose permissions rollstack does not know.
    pub uncovered: Vec<Uncovered>,
}

/// The policy for `purpose` of `stack`'s environment. `profile_roles` are the role ARNs of
/// each instance profile the groups name directly (not through a CloudFormation output).
pub fn build(
    stack: &Stack,
    purpose: Purpose,
    arns: &Arns,
    profile_roles: &BTreeMap<String, Vec<String>>,
) -> Policy {
    let mut uncovered = Vec::new();
    let statements = match purpose {
        Purpose::Plan => reads(stack, arns),
        Purpose::Instance => instance(stack, arns),
        Purpose::Apply => {
            let mut statements = reads(stack, arns);
            statements.extend(ec2_writes(stack, arns));
            statements.extend(autoscaling::writes(stack, arns));
            statements.extend(state_writes(stack, arns));
            statements.extend(target_group_writes(stack, arns));
            statements.extend(record_writes(stack, arns));
            statements.extend(sites::writes(stack, arns));
            statements.push(cloudformation_writes(stack, arns));
            let made = cloudformation::statements(stack, arns);
            uncovered = made.uncovered;
            statements.extend(made.statements);
            statements.push(pass_roles(stack, arns, profile_roles));
            statements
        }
    };
    Policy {
        document: PolicyDocument::new(statements.into_iter().filter(|s| !s.is_empty())),
        uncovered,
    }
}

/// `{state_bucket}/rollstack/{stack}/{env}/`: the environment's lock, history and signals.
fn state_prefix(stack: &Stack) -> String {
    crate::observe::state_keys::environment(&stack.name, &stack.environment.name)
}

/// Tags that say a resource, or a request, is this environment's.
fn ownership(prefix: &str, stack: &Stack) -> Condition {
    Condition::string_equals([
        (format!("{prefix}/{}", tags::STACK), stack.name.clone()),
        (
            format!("{prefix}/{}", tags::ENV),
            stack.environment.name.clone(),
        ),
    ])
}

/// What plan, status and history read; apply reads the same.
fn reads(stack: &Stack, arns: &Arns) -> Vec<Statement> {
    let mut statements = vec![
        // EC2's Describe calls have no resource-level permissions.
        Statement::new("ReadEc2", actions(Scope::Ec2Read, false), ["*".to_owned()]),
        // Ownership of a stack is in its tags, so all are listed.
        Statement::new(
            "ListCloudFormationStacks",
            actions(Scope::CloudFormationList, false),
            ["*".to_owned()],
        ),
        Statement::new(
            "ReadOwnCloudFormationStacks",
            actions(Scope::CloudFormationStack, false),
            [cloudformation_stacks(stack, arns)],
        ),
    ];
    if let Some(bucket) = &stack.state_bucket {
        statements.push(Statement::new(
            "ReadEnvironmentState",
            actions(Scope::StateObject, false),
            [arns.s3(&format!("{bucket}/{}*", state_prefix(stack)))],
        ));
        statements.push(Statement::new(
            "CheckStateBucket",
            actions(Scope::StateBucket, false),
            [arns.s3(bucket)],
        ));
    }
    statements.extend(release_reads(stack, arns));
    statements.extend(images::reads(stack));
    statements.extend(sites::reads(stack, arns));
    statements.extend(autoscaling::reads(stack));
    statements.extend(published_reads(stack, arns));
    if uses_traffic(stack) || autoscaling::reads(stack).is_some() {
        // ELBv2 and CloudWatch reads: target health, drain delays, alarm states.
        statements.push(Statement::new(
            "ReadTargetGroupsAndAlarms",
            actions(Scope::TrafficRead, false),
            ["*".to_owned()],
        ));
    }
    if let Some(zone) = hosted_zone(stack, arns) {
        statements.push(Statement::new(
            "ReadDnsRecords",
            actions(Scope::HostedZone, false),
            [zone],
        ));
    }
    // Without it, a missing release answers 403, not 404.
    if let Some(bucket) = &stack.releases_bucket {
        statements.push(Statement::new(
            "ListReleases",
            ["s3:ListBucket"],
            [arns.s3(bucket)],
        ));
    }
    statements
}

/// Reading the outputs the stacks this one reads published for its environment
/// (`${stacks.STACK.OUTPUT}`).
fn published_reads(stack: &Stack, arns: &Arns) -> Option<Statement> {
    let objects: Vec<String> = stack
        .uses
        .iter()
        .filter_map(|(producer, used)| {
            let env = used.env(&stack.environment.name);
            let key = crate::observe::state_keys::outputs(producer, env);
            Some(arns.s3(&format!("{}/{key}", used.state_bucket.as_ref()?)))
        })
        .collect();
    (!objects.is_empty()).then(|| Statement::new("ReadPublishedOutputs", ["s3:GetObject"], objects))
}

/// Reading the release artifacts of the stack's apps.
fn release_reads(stack: &Stack, arns: &Arns) -> Option<Statement> {
    let bucket = stack.releases_bucket.as_ref()?;
    let objects = stack
        .apps
        .iter()
        .filter(|(_, a)| a.image.is_none())
        .map(|(app, _)| arns.s3(&format!("{bucket}/{app}/*")));
    Some(Statement::new(
        "ReadReleases",
        actions(Scope::ReleaseObject, false),
        objects,
    ))
}

/// `arn:…:stack/{stack}-{env}-*/*`: the environment's CloudFormation stacks.
fn cloudformation_stacks(stack: &Stack, arns: &Arns) -> String {
    arns.regional(
        "cloudformation",
        &format!("stack/{}-{}-*/*", stack.name, stack.environment.name),
    )
}

/// EC2 writes: creations must carry the environment's tags, and everything else may only
/// touch resources that carry them.
fn ec2_writes(stack: &Stack, arns: &Arns) -> Vec<Statement> {
    let ec2 = |resource: &str| arns.regional("ec2", resource);
    vec![
        Statement::new(
            "CreateTaggedGroupsAndTemplates",
            ["ec2:CreateSecurityGroup", "ec2:CreateLaunchTemplate"],
            [ec2("security-group/*"), ec2("launch-template/*")],
        )
        .when(ownership("aws:RequestTag", stack)),
        // The VPC is not rollstack's.
        Statement::new(
            "CreateSecurityGroupsInVpcs",
            ["ec2:CreateSecurityGroup"],
            [ec2("vpc/*")],
        ),
        Statement::new(
            "LaunchTaggedInstances",
            ["ec2:RunInstances"],
            [ec2("instance/*"), ec2("volume/*")],
        )
        .when(ownership("aws:RequestTag", stack)),
        Statement::new(
            "LaunchFromOwnTemplatesAndGroups",
            ["ec2:RunInstances"],
            [ec2("launch-template/*"), ec2("security-group/*")],
        )
        .when(ownership("aws:ResourceTag", stack)),
        // Not rollstack's, so without tags of its own.
        Statement::new(
            "LaunchIntoSubnets",
            ["ec2:RunInstances"],
            [
                ec2("subnet/*"),
                ec2("network-interface/*"),
                ec2("key-pair/*"),
                arns.unowned("ec2", "image/*"),
                arns.unowned("ec2", "snapshot/*"),
            ],
        ),
        Statement::new(
            "TagWhileCreating",
            ["ec2:CreateTags"],
            [
                ec2("instance/*"),
                ec2("volume/*"),
                ec2("security-group/*"),
                ec2("security-group-rule/*"),
                ec2("launch-template/*"),
            ],
        )
        .when(Condition::string_equals_any(
            "ec2:CreateAction",
            [
                "AuthorizeSecurityGroupEgress",
                "AuthorizeSecurityGroupIngress",
                "CreateLaunchTemplate",
                "CreateSecurityGroup",
                "RunInstances",
            ],
        )),
        Statement::new(
            "ChangeOwnResources",
            actions(Scope::Ec2Owned, true),
            [
                ec2("instance/*"),
                ec2("volume/*"),
                ec2("security-group/*"),
                ec2("launch-template/*"),
            ],
        )
        .when(ownership("aws:ResourceTag", stack)),
        // A rule is a resource too; its group must still be the environment's (above),
        // and rules added by hand, which rollstack revokes, carry no tags.
        Statement::new(
            "ChangeRulesOfOwnGroups",
            [
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
            ],
            [ec2("security-group-rule/*")],
        ),
    ]
}

/// Whether a group serves target groups or a rollout watches alarms.
fn uses_traffic(stack: &Stack) -> bool {
    stack
        .groups
        .values()
        .any(|g| !g.target_groups.is_empty() || !g.rollout.alarms.is_empty())
        || stack.sites.values().any(|s| !s.alarms.is_empty())
}

/// Registering and deregistering instances: in the target groups the file names by ARN;
/// in any of the account's when one is a CloudFormation output (its name is not known
/// before the stack exists).
fn target_group_writes(stack: &Stack, arns: &Arns) -> Option<Statement> {
    let written: Vec<&Interpolated> = stack
        .groups
        .values()
        .flat_map(|g| &g.target_groups)
        .collect();
    if written.is_empty() {
        return None;
    }
    let resources: Vec<String> = if written.iter().any(|w| w.references().next().is_some()) {
        vec![arns.regional("elasticloadbalancing", "targetgroup/*")]
    } else {
        written.iter().map(ToString::to_string).collect()
    };
    Some(Statement::new(
        "RegisterInTargetGroups",
        actions(Scope::TargetGroup, true),
        resources,
    ))
}

/// `arn:aws:route53:::hostedzone/{zone}` of the stack's `dns:` (Route 53 is global).
fn hosted_zone(stack: &Stack, arns: &Arns) -> Option<String> {
    let dns = stack.dns.as_ref()?;
    Some(format!(
        "arn:{}:route53:::hostedzone/{}",
        arns.partition, dns.zone_id
    ))
}

/// Changing the fleet's records in the stack's hosted zone.
fn record_writes(stack: &Stack, arns: &Arns) -> Option<Statement> {
    Some(Statement::new(
        "ChangeDnsRecords",
        actions(Scope::HostedZone, true),
        [hosted_zone(stack, arns)?],
    ))
}

/// Taking the lock, writing history, clearing signals.
fn state_writes(stack: &Stack, arns: &Arns) -> Option<Statement> {
    let bucket = stack.state_bucket.as_ref()?;
    Some(Statement::new(
        "WriteEnvironmentState",
        actions(Scope::StateObject, true),
        [arns.s3(&format!("{bucket}/{}*", state_prefix(stack)))],
    ))
}

/// Creating, changing and deleting the environment's CloudFormation stacks.
fn cloudformation_writes(stack: &Stack, arns: &Arns) -> Statement {
    // A node removed from the file is deleted: this holds even when the file has none.
    Statement::new(
        "ChangeOwnCloudFormationStacks",
        actions(Scope::CloudFormationStack, true),
        [cloudformation_stacks(stack, arns)],
    )
}

/// `iam:PassRole` for the roles of the instance profiles groups and jobs launch with:
/// those named (looked up as `profile_roles`), and those a CloudFormation node of the
/// stack makes.
fn pass_roles(
    stack: &Stack,
    arns: &Arns,
    profile_roles: &BTreeMap<String, Vec<String>>,
) -> Statement {
    let mut roles: Vec<String> = Vec::new();
    for profile in profiles(stack) {
        match profile_node(profile) {
            Some(node) => roles.extend(cloudformation::roles_made_by(stack, &node, arns)),
            None => roles.extend(
                profile_roles
                    .get(profile.as_str())
                    .into_iter()
                    .flatten()
                    .cloned(),
            ),
        }
    }
    roles.sort();
    roles.dedup();
    Statement::new("PassInstanceRoles", ["iam:PassRole"], roles).when(Condition::string_equals_any(
        "iam:PassedToService",
        ["ec2.amazonaws.com"],
    ))
}

/// The instance profiles the groups' and jobs' instances launch with, as written.
fn profiles(stack: &Stack) -> impl Iterator<Item = &Interpolated> {
    let groups = stack
        .groups
        .values()
        .filter_map(|g| g.instance_profile.as_ref());
    let jobs = stack
        .jobs
        .values()
        .filter_map(|j| j.launch.instance_profile.as_ref());
    groups.chain(jobs)
}

/// The CloudFormation node an instance profile is an output of.
fn profile_node(profile: &Interpolated) -> Option<String> {
    profile.references().find_map(|r| match r {
        Reference::Output { node, .. } => Some(node.clone()),
        _ => None,
    })
}

/// The instance profiles the groups and jobs name directly: what the caller looks up.
pub fn named_profiles(stack: &Stack) -> Vec<String> {
    let mut named: Vec<String> = profiles(stack)
        .filter(|p| profile_node(p).is_none())
        .map(ToString::to_string)
        .collect();
    named.sort();
    named.dedup();
    named
}

/// The instances' own policy: read their apps' releases, write their readiness signals
/// and their jobs' results.
fn instance(stack: &Stack, arns: &Arns) -> Vec<Statement> {
    let mut statements: Vec<Statement> = release_reads(stack, arns).into_iter().collect();
    statements.extend(images::pulls(stack));
    let signals = stack
        .roles
        .values()
        .any(|r| matches!(r.health, HealthCheck::Signal));
    if let (true, Some(bucket)) = (signals, &stack.state_bucket) {
        statements.push(Statement::new(
            "WriteReadinessSignals",
            ["s3:PutObject"],
            [arns.s3(&format!("{bucket}/{}signals/*", state_prefix(stack)))],
        ));
    }
    // A job's instance uploads its output and exit code; only this environment's.
    if let (false, Some(bucket)) = (stack.jobs.is_empty(), &stack.state_bucket) {
        statements.push(Statement::new(
            "WriteJobResults",
            ["s3:PutObject"],
            [arns.s3(&format!("{bucket}/{}jobs/*", state_prefix(stack)))],
        ));
    }
    statements
}

#[cfg(test)]
mod tests;
