//! What CloudFormation does with the caller's permissions: rollstack passes no service
//! role, so creating a template's resources needs their services' actions too. A table
//! of the resource types rollstack knows; others are reported, not guessed.

use serde_yaml::Value;

use super::{Arns, Statement};
use crate::model::Stack;
use crate::observe::aws_name;

/// A resource type in a template whose permissions rollstack does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uncovered {
    /// The CloudFormation node.
    pub node: String,
    /// The resource type (`AWS::Lambda::Function`).
    pub resource_type: String,
}

/// The statements the stack's templates need, and the types not covered.
pub(super) struct Made {
    pub statements: Vec<Statement>,
    pub uncovered: Vec<Uncovered>,
}

/// One resource type: the actions CloudFormation calls to create, update and delete it,
/// on which resources.
struct Kind {
    resource_type: &'static str,
    /// The property that names the resource, if the template may set it.
    name_property: Option<&'static str>,
    grants: &'static [Grant],
}

/// Actions on resources of some ARN forms.
struct Grant {
    /// Ends the statement id, after the node and the type (`RoleInstanceProfile`).
    sid: &'static str,
    actions: &'static [&'static str],
    /// `{partition}`, `{region}`, `{account}`, `{stack}` (the node's stack name) and
    /// `{name}` are filled in; `{name}` is
    /// the resource's own name when the template sets it, else the node's stack name
    /// followed by `-*` (CloudFormation names what it makes `{stack}-{logical id}-{random}`).
    arns: &'static [&'static str],
}

const ROLE: &str = "arn:{partition}:iam::{account}:role/{name}";

/// ELBv2's Describe calls have no resource-level permissions.
const ELB_DESCRIBE: Grant = Grant {
    sid: "Describe",
    actions: &[
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetGroups",
    ],
    arns: &["*"],
};

const KINDS: &[Kind] = &[
    Kind {
        resource_type: "AWS::ElasticLoadBalancingV2::LoadBalancer",
        name_property: Some("Name"),
        grants: &[
            Grant {
                sid: "",
                actions: &[
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:CreateLoadBalancer",
                    "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:ModifyLoadBalancerAttributes",
                    "elasticloadbalancing:RemoveTags",
                    "elasticloadbalancing:SetSecurityGroups",
                    "elasticloadbalancing:SetSubnets",
                ],
                // CloudFormation cuts generated load balancer names to 32 characters.
                arns: &[
                    "arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/app/{name_or_any}/*",
                ],
            },
            ELB_DESCRIBE,
        ],
    },
    Kind {
        resource_type: "AWS::ElasticLoadBalancingV2::TargetGroup",
        name_property: Some("Name"),
        grants: &[
            Grant {
                sid: "",
                actions: &[
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:CreateTargetGroup",
                    "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:RemoveTags",
                ],
                arns: &[
                    "arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{name_or_any}/*",
                ],
            },
            ELB_DESCRIBE,
        ],
    },
    Kind {
        resource_type: "AWS::ElasticLoadBalancingV2::Listener",
        name_property: None,
        grants: &[
            Grant {
                sid: "",
                actions: &[
                    "elasticloadbalancing:CreateListener",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:ModifyListener",
                ],
                arns: &[
                    "arn:{partition}:elasticloadbalancing:{region}:{account}:listener/app/*",
                    "arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/app/*",
                ],
            },
            ELB_DESCRIBE,
        ],
    },
    Kind {
        resource_type: "AWS::IAM::Role",
        name_property: Some("RoleName"),
        grants: &[Grant {
            sid: "",
            actions: &[
                "iam:AttachRolePolicy",
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
            ],
            arns: &[ROLE],
        }],
    },
    Kind {
        resource_type: "AWS::IAM::InstanceProfile",
        name_property: Some("InstanceProfileName"),
        grants: &[
            Grant {
                sid: "",
                actions: &[
                    "iam:AddRoleToInstanceProfile",
                    "iam:CreateInstanceProfile",
                    "iam:DeleteInstanceProfile",
                    "iam:GetInstanceProfile",
                    "iam:RemoveRoleFromInstanceProfile",
                ],
                arns: &["arn:{partition}:iam::{account}:instance-profile/{name}"],
            },
            // Adding a role to a profile passes the role.
            Grant {
                sid: "PassRole",
                actions: &["iam:PassRole"],
                arns: &["arn:{partition}:iam::{account}:role/{stack}-*"],
            },
        ],
    },
    Kind {
        resource_type: "AWS::IAM::Policy",
        name_property: None,
        grants: &[Grant {
            sid: "",
            actions: &[
                "iam:DeleteRolePolicy",
                "iam:GetRolePolicy",
                "iam:PutRolePolicy",
            ],
            arns: &[ROLE],
        }],
    },
    Kind {
        resource_type: "AWS::IAM::ManagedPolicy",
        name_property: Some("ManagedPolicyName"),
        grants: &[Grant {
            sid: "",
            actions: &[
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
            ],
            arns: &["arn:{partition}:iam::{account}:policy/{name}"],
        }],
    },
    Kind {
        resource_type: "AWS::RDS::DBInstance",
        name_property: Some("DBInstanceIdentifier"),
        grants: &[
            Grant {
                sid: "",
                actions: &[
                    "rds:AddTagsToResource",
                    "rds:CreateDBInstance",
                    "rds:DeleteDBInstance",
                    "rds:DescribeDBInstances",
                    "rds:ListTagsForResource",
                    "rds:ModifyDBInstance",
                    "rds:RemoveTagsFromResource",
                ],
                // RDS names are cut to 63 characters, so a generated one may not start
                // with the whole stack name: any DB instance, unless the template names it.
                arns: &["arn:{partition}:rds:{region}:{account}:db:{name_or_any}"],
            },
            // A new instance joins the default subnet, parameter and option groups.
            Grant {
                sid: "Groups",
                actions: &["rds:CreateDBInstance"],
                arns: &[
                    "arn:{partition}:rds:{region}:{account}:subgrp:*",
                    "arn:{partition}:rds:{region}:{account}:pg:*",
                    "arn:{partition}:rds:{region}:{account}:og:*",
                ],
            },
        ],
    },
    Kind {
        resource_type: "AWS::S3::Bucket",
        name_property: Some("BucketName"),
        grants: &[Grant {
            sid: "",
            actions: &[
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:GetBucketLocation",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
            ],
            arns: &["arn:{partition}:s3:::{lowercase_name}"],
        }],
    },
    Kind {
        resource_type: "AWS::SQS::Queue",
        name_property: Some("QueueName"),
        grants: &[Grant {
            sid: "",
            actions: &[
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
            ],
            arns: &["arn:{partition}:sqs:{region}:{account}:{name}"],
        }],
    },
    Kind {
        resource_type: "AWS::SNS::Topic",
        name_property: Some("TopicName"),
        grants: &[Grant {
            sid: "",
            actions: &[
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            arns: &["arn:{partition}:sns:{region}:{account}:{name}"],
        }],
    },
];

/// A resource of a template: its type and properties.
struct Resource {
    resource_type: String,
    properties: Value,
}

/// The resources of `template` (YAML or JSON); none when it does not parse (validation
/// has already said so).
fn resources(template: &str) -> Vec<Resource> {
    let Ok(Value::Mapping(top)) = serde_yaml::from_str::<Value>(template) else {
        return Vec::new();
    };
    let Some(Value::Mapping(resources)) = top.get("Resources") else {
        return Vec::new();
    };
    resources
        .values()
        .filter_map(|r| {
            Some(Resource {
                resource_type: r.get("Type")?.as_str()?.to_owned(),
                properties: r.get("Properties").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// The statements every node's template needs, one per node and resource type.
pub(super) fn statements(stack: &Stack, arns: &Arns) -> Made {
    let mut statements = Vec::new();
    let mut uncovered = Vec::new();
    for (node, cfn) in &stack.cloudformation {
        let stack_name = aws_name(stack, node);
        let mut by_kind: std::collections::BTreeMap<usize, Vec<Resource>> = Default::default();
        for resource in resources(&cfn.template.source) {
            match KINDS
                .iter()
                .position(|k| k.resource_type == resource.resource_type)
            {
                Some(kind) => by_kind.entry(kind).or_default().push(resource),
                None => uncovered.push(Uncovered {
                    node: node.clone(),
                    resource_type: resource.resource_type,
                }),
            }
        }
        for (kind, resources) in by_kind {
            let kind = &KINDS[kind];
            let resource_type = kind.resource_type;
            let stack_name = stack_name.as_str();
            for grant in kind.grants {
                let arns: Vec<String> = resources
                    .iter()
                    .flat_map(|r| {
                        let name = given_name(kind, r);
                        grant
                            .arns
                            .iter()
                            .map(move |arn| fill(arn, arns, stack_name, name))
                    })
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let sid = format!(
                    "{}{}{}",
                    pascal(node),
                    resource_type.rsplit("::").next().unwrap_or(resource_type),
                    grant.sid
                );
                statements.push(Statement::new(&sid, grant.actions.iter(), arns));
            }
        }
    }
    Made {
        statements,
        uncovered,
    }
}

/// The role ARNs the template of `node` makes (what `iam:PassRole` of an instance
/// profile from that node's outputs needs).
pub(super) fn roles_made_by(stack: &Stack, node: &str, arns: &Arns) -> Vec<String> {
    let Some(cfn) = stack.cloudformation.get(node) else {
        return Vec::new();
    };
    let stack_name = aws_name(stack, node);
    let Some(role) = KINDS.iter().find(|k| k.resource_type == "AWS::IAM::Role") else {
        return Vec::new();
    };
    resources(&cfn.template.source)
        .iter()
        .filter(|r| r.resource_type == role.resource_type)
        .map(|r| fill(ROLE, arns, &stack_name, given_name(role, r)))
        .collect()
}

/// The name the template gives a resource, when it is a plain string.
fn given_name<'a>(kind: &Kind, resource: &'a Resource) -> Option<&'a str> {
    resource
        .properties
        .get(kind.name_property?)
        .and_then(Value::as_str)
}

/// `arn` with its placeholders filled.
fn fill(arn: &str, arns: &Arns, stack_name: &str, name: Option<&str>) -> String {
    let generated = format!("{stack_name}-*");
    arn.replace("{partition}", arns.partition)
        .replace("{region}", &arns.region)
        .replace("{account}", &arns.account)
        .replace("{name_or_any}", name.unwrap_or("*"))
        .replace(
            "{lowercase_name}",
            &name.map_or_else(|| generated.to_lowercase(), str::to_owned),
        )
        .replace("{name}", name.unwrap_or(&generated))
        .replace("{stack}", stack_name)
}

/// `db-main` -> `DbMain`: a node name as part of a statement id (letters and digits).
fn pascal(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
