//! `rollstack iam-policy STACK [--env E] --for apply|plan|instance [--account ID]`: the
//! least-privilege IAM policy for one environment, as JSON on stdout.

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::Failure;
use crate::aws::Reach;
use crate::cli::{IamPolicyArgs, PolicyFor};
use crate::policy::{self, Arns, Purpose};

/// IAM's quota for a managed policy, counted without whitespace.
const MANAGED_POLICY_SIZE: usize = 6_144;

/// Prints the policy; the roles of instance profiles named in the file are looked up in
/// IAM (`iam:GetInstanceProfile`), since `iam:PassRole` is granted on roles.
pub fn run(args: &IamPolicyArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stack = super::load(&args.stack, args.env.as_deref())?;
    let purpose = match args.purpose {
        PolicyFor::Apply => Purpose::Apply,
        PolicyFor::Plan => Purpose::Plan,
        PolicyFor::Instance => Purpose::Instance,
    };
    let named = match purpose {
        Purpose::Apply => policy::named_profiles(&stack),
        Purpose::Plan | Purpose::Instance => Vec::new(),
    };
    let profile_roles = if named.is_empty() {
        BTreeMap::new()
    } else {
        super::runtime()?.block_on(async {
            let aws = super::connect(&stack, reach).await?;
            let mut roles = BTreeMap::new();
            for profile in named {
                let arns = aws
                    .instance_profile_roles(&profile)
                    .await
                    .map_err(Failure::Aws)?;
                roles.insert(profile, arns);
            }
            Ok::<_, Failure>(roles)
        })?
    };
    let arns = Arns::new(&stack.region, args.account.as_deref().unwrap_or("*"));
    let built = policy::build(&stack, purpose, &arns, &profile_roles);
    for gap in &built.uncovered {
        eprintln!(
            "warning: `cloudformation.{}` creates `{}`, whose permissions rollstack does not know; CloudFormation creates it with the caller's permissions, so add its actions to the policy",
            gap.node, gap.resource_type
        );
    }
    if built.document.statement.is_empty() {
        eprintln!(
            "The instances of `{}` call nothing that needs a policy (no app releases, no `signal` health).",
            stack.environment.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    let size = built.document.size();
    if size > MANAGED_POLICY_SIZE {
        eprintln!(
            "warning: the policy is {size} characters, over IAM's {MANAGED_POLICY_SIZE} for a managed policy; split its statements over two policies"
        );
    }
    super::write_stdout(&super::json(&built.document)?)?;
    Ok(ExitCode::SUCCESS)
}
