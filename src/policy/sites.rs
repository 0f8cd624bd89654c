//! Static sites: reading which release a site serves (plan), writing its releases and
//! entry files (apply), in its bucket only.

use super::Arns;
use super::document::Statement;
use crate::aws::operations::{Scope, actions};
use crate::model::{Flip, Piece, Reference, Stack};

/// Each site's bucket as an ARN pattern, with its entry files: a name as written, a
/// CloudFormation output as the names CloudFormation generates (`{stack}-{env}-{node}-*`).
fn buckets(stack: &Stack) -> Vec<(String, Vec<String>)> {
    stack
        .sites
        .values()
        .map(|site| {
            let bucket: String = site
                .bucket
                .pieces()
                .iter()
                .map(|piece| match piece {
                    Piece::Reference(Reference::Output { node, .. }) => {
                        format!("{}-{}-{node}-*", stack.name, stack.environment.name)
                    }
                    Piece::Text(text) => text.clone(),
                    _ => "*".to_owned(),
                })
                .collect();
            (bucket, site.flip.entry().to_vec())
        })
        .collect()
}

/// The distributions the sites flip, as ARNs (an output: any distribution of the
/// account, CloudFront generates their ids).
fn distributions(stack: &Stack, arns: &Arns) -> Vec<String> {
    stack
        .sites
        .values()
        .filter_map(|site| match &site.flip {
            Flip::Cloudfront { distribution } => Some(distribution),
            Flip::Index { .. } => None,
        })
        .map(|d| {
            let id = if d.is_literal() { d.as_str() } else { "*" };
            format!(
                "arn:{}:cloudfront::{}:distribution/{id}",
                arns.partition, arns.account
            )
        })
        .collect()
}

/// Listing the releases, reading the entry files' metadata and the distributions.
pub(super) fn reads(stack: &Stack, arns: &Arns) -> Vec<Statement> {
    let buckets = buckets(stack);
    if buckets.is_empty() {
        return Vec::new();
    }
    vec![
        Statement::new(
            "ReadSiteDistributions",
            actions(Scope::Distribution, false),
            distributions(stack, arns),
        ),
        Statement::new(
            "ListSiteReleases",
            ["s3:ListBucket"],
            buckets.iter().map(|(b, _)| arns.s3(b)),
        ),
        Statement::new(
            "ReadSiteEntries",
            ["s3:GetObject"],
            buckets
                .iter()
                .flat_map(|(b, entry)| entry.iter().map(move |e| arns.s3(&format!("{b}/{e}")))),
        ),
    ]
}

/// Uploading releases (and deleting old ones) under `releases/`, and the flip: the
/// entry files copied to the root.
pub(super) fn writes(stack: &Stack, arns: &Arns) -> Vec<Statement> {
    let buckets = buckets(stack);
    if buckets.is_empty() {
        return Vec::new();
    }
    let mut release_actions = actions(Scope::SiteObject, true);
    release_actions.push("s3:GetObject");
    vec![
        Statement::new(
            "FlipSiteDistributions",
            actions(Scope::Distribution, true),
            distributions(stack, arns),
        ),
        Statement::new(
            "WriteSiteReleases",
            release_actions,
            buckets
                .iter()
                .map(|(b, _)| arns.s3(&format!("{b}/releases/*"))),
        ),
        // Deleting them too: `destroy`, or a site removed from the file.
        Statement::new(
            "FlipSiteEntries",
            ["s3:DeleteObject", "s3:PutObject"],
            buckets
                .iter()
                .flat_map(|(b, entry)| entry.iter().map(move |e| arns.s3(&format!("{b}/{e}")))),
        ),
    ]
}
