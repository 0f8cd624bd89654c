//! Every AWS operation rollstack makes, with its service, the IAM action it needs and what
//! it touches. Error hints, endpoints in messages and `rollstack iam-policy` are all read
//! from this one list; a test checks it against the operations the code names.

/// An AWS service rollstack calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    /// Amazon EC2.
    Ec2,
    /// Amazon S3.
    S3,
    /// AWS CloudFormation.
    CloudFormation,
    /// AWS IAM (global).
    Iam,
    /// Elastic Load Balancing (v2: target groups).
    ElasticLoadBalancing,
    /// Amazon CloudWatch (alarms).
    CloudWatch,
    /// AWS STS (who the credentials are).
    Sts,
    /// Amazon Route 53 (global): the fleet's DNS records.
    Route53,
    /// Amazon EC2 Auto Scaling.
    AutoScaling,
    /// Amazon ECR: the apps' container images.
    Ecr,
    /// Amazon CloudFront (global): the distributions static sites flip.
    CloudFront,
}

impl Service {
    /// The prefix of the service's IAM actions and endpoint host (`ec2`).
    pub fn prefix(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::S3 => "s3",
            Service::CloudFormation => "cloudformation",
            Service::Iam => "iam",
            Service::ElasticLoadBalancing => "elasticloadbalancing",
            Service::CloudWatch => "cloudwatch",
            Service::Sts => "sts",
            Service::Route53 => "route53",
            Service::AutoScaling => "autoscaling",
            Service::Ecr => "ecr",
            Service::CloudFront => "cloudfront",
        }
    }

    /// The service's own endpoint in `region`.
    pub fn endpoint(self, region: &str) -> String {
        match self {
            Service::Iam => "https://iam.amazonaws.com".to_owned(),
            Service::Route53 => "https://route53.amazonaws.com".to_owned(),
            Service::CloudFront => "https://cloudfront.amazonaws.com".to_owned(),
            // CloudWatch's IAM prefix is not its host's.
            Service::CloudWatch => format!("https://monitoring.{region}.amazonaws.com"),
            Service::Ecr => format!("https://api.ecr.{region}.amazonaws.com"),
            other => format!("https://{}.{region}.amazonaws.com", other.prefix()),
        }
    }
}

/// What an operation touches: the statement of a policy that allows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// EC2 reads, which have no resource-level permissions.
    Ec2Read,
    /// EC2 resources created with the stack and environment's tags in the request.
    Ec2Create,
    /// EC2 resources that carry the stack and environment's tags.
    Ec2Owned,
    /// Objects under the environment's prefix of the state bucket.
    StateObject,
    /// The state bucket itself: its listing and settings.
    StateBucket,
    /// Release artifacts of the stack's apps.
    ReleaseObject,
    /// Listing every CloudFormation stack (ownership is in their tags).
    CloudFormationList,
    /// The environment's own CloudFormation stacks.
    CloudFormationStack,
    /// Making the state bucket: `bootstrap`, run once by an administrator.
    Bootstrap,
    /// Reading instance profiles: `iam-policy` itself.
    PolicyLookup,
    /// Load balancer and alarm reads, which have no resource-level permissions.
    TrafficRead,
    /// The target groups the stack's groups serve.
    TargetGroup,
    /// Who the credentials are: `sts:GetCallerIdentity` needs no permission.
    Identity,
    /// The hosted zone of the stack's `dns:`.
    HostedZone,
    /// Auto Scaling reads, which have no resource-level permissions.
    AutoScalingRead,
    /// Auto Scaling groups created with the environment's tags in the request.
    AutoScalingCreate,
    /// Auto Scaling groups that carry the environment's tags.
    AutoScalingOwned,
    /// The ECR repositories of the apps' container images.
    ImageRepository,
    /// The objects rollstack writes in the buckets of the static sites.
    SiteObject,
    /// The CloudFront distributions static sites flip.
    Distribution,
}

/// One AWS operation rollstack makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The API name (`DescribeInstances`).
    pub name: &'static str,
    /// Its service.
    pub service: Service,
    /// The IAM action that allows it (`HeadObject` needs `s3:GetObject`).
    pub action: &'static str,
    /// Whether it changes anything.
    pub writes: bool,
    /// What it touches.
    pub scope: Scope,
}

const fn op(
    name: &'static str,
    service: Service,
    action: &'static str,
    writes: bool,
    scope: Scope,
) -> Operation {
    Operation {
        name,
        service,
        action,
        writes,
        scope,
    }
}

use Scope::*;
use Service::*;

/// Every operation rollstack makes.
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    op("DescribeInstances", Ec2, "ec2:DescribeInstances", false, Ec2Read),
    op("DescribeSecurityGroups", Ec2, "ec2:DescribeSecurityGroups", false, Ec2Read),
    op("DescribeSecurityGroupRules", Ec2, "ec2:DescribeSecurityGroupRules", false, Ec2Read),
    op("DescribeLaunchTemplates", Ec2, "ec2:DescribeLaunchTemplates", false, Ec2Read),
    op("DescribeLaunchTemplateVersions", Ec2, "ec2:DescribeLaunchTemplateVersions", false, Ec2Read),
    op("DescribeImages", Ec2, "ec2:DescribeImages", false, Ec2Read),
    op("DescribeSubnets", Ec2, "ec2:DescribeSubnets", false, Ec2Read),
    op("DescribeVpcs", Ec2, "ec2:DescribeVpcs", false, Ec2Read),
    op("RunInstances", Ec2, "ec2:RunInstances", true, Ec2Create),
    op("CreateSecurityGroup", Ec2, "ec2:CreateSecurityGroup", true, Ec2Create),
    op("CreateLaunchTemplate", Ec2, "ec2:CreateLaunchTemplate", true, Ec2Create),
    op("CreateLaunchTemplateVersion", Ec2, "ec2:CreateLaunchTemplateVersion", true, Ec2Owned),
    op("ModifyLaunchTemplate", Ec2, "ec2:ModifyLaunchTemplate", true, Ec2Owned),
    op("DeleteLaunchTemplate", Ec2, "ec2:DeleteLaunchTemplate", true, Ec2Owned),
    op("AuthorizeSecurityGroupIngress", Ec2, "ec2:AuthorizeSecurityGroupIngress", true, Ec2Owned),
    op("AuthorizeSecurityGroupEgress", Ec2, "ec2:AuthorizeSecurityGroupEgress", true, Ec2Owned),
    op("RevokeSecurityGroupIngress", Ec2, "ec2:RevokeSecurityGroupIngress", true, Ec2Owned),
    op("RevokeSecurityGroupEgress", Ec2, "ec2:RevokeSecurityGroupEgress", true, Ec2Owned),
    op("DeleteSecurityGroup", Ec2, "ec2:DeleteSecurityGroup", true, Ec2Owned),
    op("TerminateInstances", Ec2, "ec2:TerminateInstances", true, Ec2Owned),
    op("CreateTags", Ec2, "ec2:CreateTags", true, Ec2Owned),
    op("DeleteTags", Ec2, "ec2:DeleteTags", true, Ec2Owned),
    op("GetObject", S3, "s3:GetObject", false, StateObject),
    op("PutObject", S3, "s3:PutObject", true, StateObject),
    op("DeleteObject", S3, "s3:DeleteObject", true, StateObject),
    op("ListObjectsV2", S3, "s3:ListBucket", false, StateBucket),
    op("HeadBucket", S3, "s3:ListBucket", false, StateBucket),
    op("GetBucketVersioning", S3, "s3:GetBucketVersioning", false, StateBucket),
    op("GetBucketEncryption", S3, "s3:GetEncryptionConfiguration", false, StateBucket),
    op("GetPublicAccessBlock", S3, "s3:GetBucketPublicAccessBlock", false, StateBucket),
    op("HeadObject", S3, "s3:GetObject", false, ReleaseObject),
    op("CreateBucket", S3, "s3:CreateBucket", true, Bootstrap),
    op("PutBucketVersioning", S3, "s3:PutBucketVersioning", true, Bootstrap),
    op("PutBucketEncryption", S3, "s3:PutEncryptionConfiguration", true, Bootstrap),
    op("PutPublicAccessBlock", S3, "s3:PutBucketPublicAccessBlock", true, Bootstrap),
    op("PutBucketTagging", S3, "s3:PutBucketTagging", true, Bootstrap),
    op("DescribeStacks", CloudFormation, "cloudformation:DescribeStacks", false, CloudFormationList),
    op("GetTemplate", CloudFormation, "cloudformation:GetTemplate", false, CloudFormationStack),
    op("DescribeStackEvents", CloudFormation, "cloudformation:DescribeStackEvents", false, CloudFormationStack),
    op("DescribeChangeSet", CloudFormation, "cloudformation:DescribeChangeSet", false, CloudFormationStack),
    op("ListChangeSets", CloudFormation, "cloudformation:ListChangeSets", false, CloudFormationStack),
    op("CreateChangeSet", CloudFormation, "cloudformation:CreateChangeSet", true, CloudFormationStack),
    op("ExecuteChangeSet", CloudFormation, "cloudformation:ExecuteChangeSet", true, CloudFormationStack),
    op("DeleteChangeSet", CloudFormation, "cloudformation:DeleteChangeSet", true, CloudFormationStack),
    op("DeleteStack", CloudFormation, "cloudformation:DeleteStack", true, CloudFormationStack),
    op("GetInstanceProfile", Iam, "iam:GetInstanceProfile", false, PolicyLookup),
    op("DescribeTargetHealth", ElasticLoadBalancing, "elasticloadbalancing:DescribeTargetHealth", false, TrafficRead),
    op("DescribeTargetGroupAttributes", ElasticLoadBalancing, "elasticloadbalancing:DescribeTargetGroupAttributes", false, TrafficRead),
    op("RegisterTargets", ElasticLoadBalancing, "elasticloadbalancing:RegisterTargets", true, TargetGroup),
    op("DeregisterTargets", ElasticLoadBalancing, "elasticloadbalancing:DeregisterTargets", true, TargetGroup),
    op("DescribeAlarms", CloudWatch, "cloudwatch:DescribeAlarms", false, TrafficRead),
    op("GetCallerIdentity", Sts, "sts:GetCallerIdentity", false, Identity),
    op("ListResourceRecordSets", Route53, "route53:ListResourceRecordSets", false, HostedZone),
    op("ChangeResourceRecordSets", Route53, "route53:ChangeResourceRecordSets", true, HostedZone),
    op("DescribeTargetGroups", ElasticLoadBalancing, "elasticloadbalancing:DescribeTargetGroups", false, TrafficRead),
    op("DescribeAutoScalingGroups", AutoScaling, "autoscaling:DescribeAutoScalingGroups", false, AutoScalingRead),
    op("DescribePolicies", AutoScaling, "autoscaling:DescribePolicies", false, AutoScalingRead),
    op("DescribeScalingActivities", AutoScaling, "autoscaling:DescribeScalingActivities", false, AutoScalingRead),
    op("CreateAutoScalingGroup", AutoScaling, "autoscaling:CreateAutoScalingGroup", true, AutoScalingCreate),
    op("CreateOrUpdateTags", AutoScaling, "autoscaling:CreateOrUpdateTags", true, AutoScalingCreate),
    op("UpdateAutoScalingGroup", AutoScaling, "autoscaling:UpdateAutoScalingGroup", true, AutoScalingOwned),
    op("AttachLoadBalancerTargetGroups", AutoScaling, "autoscaling:AttachLoadBalancerTargetGroups", true, AutoScalingOwned),
    op("DetachLoadBalancerTargetGroups", AutoScaling, "autoscaling:DetachLoadBalancerTargetGroups", true, AutoScalingOwned),
    op("SetDesiredCapacity", AutoScaling, "autoscaling:SetDesiredCapacity", true, AutoScalingOwned),
    op("TerminateInstanceInAutoScalingGroup", AutoScaling, "autoscaling:TerminateInstanceInAutoScalingGroup", true, AutoScalingOwned),
    op("SetInstanceProtection", AutoScaling, "autoscaling:SetInstanceProtection", true, AutoScalingOwned),
    op("PutScalingPolicy", AutoScaling, "autoscaling:PutScalingPolicy", true, AutoScalingOwned),
    op("DeletePolicy", AutoScaling, "autoscaling:DeletePolicy", true, AutoScalingOwned),
    op("DetachInstances", AutoScaling, "autoscaling:DetachInstances", true, AutoScalingOwned),
    op("DeleteAutoScalingGroup", AutoScaling, "autoscaling:DeleteAutoScalingGroup", true, AutoScalingOwned),
    op("CopyObject", S3, "s3:PutObject", true, SiteObject),
    op("DeleteObjects", S3, "s3:DeleteObject", true, SiteObject),
    op("GetDistribution", CloudFront, "cloudfront:GetDistribution", false, Distribution),
    op("GetDistributionConfig", CloudFront, "cloudfront:GetDistributionConfig", false, Distribution),
    op("UpdateDistribution", CloudFront, "cloudfront:UpdateDistribution", true, Distribution),
    op("CreateInvalidation", CloudFront, "cloudfront:CreateInvalidation", true, Distribution),
    op("BatchGetImage", Ecr, "ecr:BatchGetImage", false, ImageRepository),
    op("DescribeRepositories", Ecr, "ecr:DescribeRepositories", false, ImageRepository),
];

/// The operation named `name`, if rollstack makes it.
pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.name == name)
}

/// The IAM actions of the operations in `scope` that write (or read, if not `writes`),
/// sorted and without repeats.
pub fn actions(scope: Scope, writes: bool) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = OPERATIONS
        .iter()
        .filter(|o| o.scope == scope && o.writes == writes)
        .map(|o| o.action)
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation the code names in an error (`.error("RunInstances", e)`) is in
    /// the list, and every operation in the list is made somewhere: a call added without
    /// its entry would be missing from every printed policy.
    #[test]
    fn the_list_is_the_operations_the_code_makes() {
        fn walk(dir: &std::path::Path, named: &mut std::collections::BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, named);
                    continue;
                }
                let text = std::fs::read_to_string(path).unwrap();
                for piece in text.split(".error(\"").skip(1) {
                    named.insert(piece.split('"').next().unwrap().to_owned());
                }
            }
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws");
        let mut named = std::collections::BTreeSet::new();
        walk(&dir, &mut named);
        let listed: std::collections::BTreeSet<String> =
            OPERATIONS.iter().map(|o| o.name.to_owned()).collect();
        assert_eq!(named, listed);
    }

    #[test]
    fn operations_name_their_iam_actions() {
        let table = [
            ("DescribeInstances", "ec2:DescribeInstances"),
            ("ListObjectsV2", "s3:ListBucket"),
            ("HeadObject", "s3:GetObject"),
            ("GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
            ("CreateChangeSet", "cloudformation:CreateChangeSet"),
        ];
        for (operation, action) in table {
            assert_eq!(find(operation).map(|o| o.action), Some(action));
        }
    }

    #[test]
    fn every_action_belongs_to_its_service() {
        for o in OPERATIONS {
            assert!(
                o.action.starts_with(&format!("{}:", o.service.prefix())),
                "{o:?}"
            );
        }
    }
}
