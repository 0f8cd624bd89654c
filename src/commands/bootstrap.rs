//! `rollstack bootstrap STACK [--env E] [--fix]`: the state bucket, made or checked.

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::Failure;
use crate::aws::{BucketGap, Reach};
use crate::cli::BootstrapArgs;
use crate::observe::tags;

/// Creates the state bucket versioned, encrypted and private; checks an existing one,
/// setting what it lacks only with `--fix`.
pub fn run(args: &BootstrapArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stack = super::load(&args.stack, args.env.as_deref())?;
    let bucket = super::state_bucket(&stack, "bootstrap")?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let aws = super::connect(&stack, reach).await?;
        let result = ready(&aws, &bucket, &stack, args).await;
        if args.stats {
            super::print_stats(aws.stats());
        }
        result
    })
}

/// Makes `bucket` ready, or says what it lacks.
async fn ready(
    aws: &crate::aws::Aws,
    bucket: &str,
    stack: &crate::model::Stack,
    args: &BootstrapArgs,
) -> Result<ExitCode, Failure> {
    let exists = aws.bucket_exists(bucket).await.map_err(Failure::Aws)?;
    let gaps = if exists {
        aws.bucket_gaps(bucket).await.map_err(Failure::Aws)?
    } else {
        let owner = BTreeMap::from([
            (tags::STACK.to_owned(), stack.name.clone()),
            (tags::RESOURCE.to_owned(), "state_bucket".to_owned()),
        ]);
        aws.create_bucket(bucket, &stack.region, &owner)
            .await
            .map_err(Failure::Aws)?;
        println!("Created state bucket `{bucket}` in {}.", stack.region);
        vec![
            BucketGap::Unversioned,
            BucketGap::Unencrypted,
            BucketGap::NotPrivate,
        ]
    };
    if gaps.is_empty() {
        println!(
            "State bucket `{bucket}` is ready (versioned, encrypted, private): nothing to change."
        );
        return Ok(ExitCode::SUCCESS);
    }
    if exists && !args.fix {
        for gap in &gaps {
            eprintln!("error: state bucket `{bucket}`: {}", gap.describe());
        }
        eprintln!(
            "  hint: `rollstack bootstrap {} --fix` sets what is missing",
            args.stack.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    for gap in gaps {
        aws.close_gap(bucket, gap).await.map_err(Failure::Aws)?;
        println!("State bucket `{bucket}`: fixed: {}.", gap.describe());
    }
    Ok(ExitCode::SUCCESS)
}
