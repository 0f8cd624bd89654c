//! The apps' container images: reading their digests (plan, apply) and pulling them
//! (instances), on their repositories only.

use super::document::Statement;
use crate::aws::operations::{Scope, actions};
use crate::model::Stack;

/// The ARNs of the repositories the apps' images are in.
fn repositories(stack: &Stack) -> Vec<String> {
    let mut arns: Vec<String> = stack
        .apps
        .values()
        .filter_map(|a| Some(a.image.as_ref()?.arn()))
        .collect();
    arns.sort_unstable();
    arns.dedup();
    arns
}

/// Resolving the apps' tags to digests, and whether their tags may move.
pub(super) fn reads(stack: &Stack) -> Option<Statement> {
    let repositories = repositories(stack);
    (!repositories.is_empty()).then(|| {
        Statement::new(
            "ReadContainerImages",
            actions(Scope::ImageRepository, false),
            repositories,
        )
    })
}

/// What an instance needs to pull its apps' images: a registry login (which has no
/// resource), and the image's manifest and layers from its repository only.
pub(super) fn pulls(stack: &Stack) -> Vec<Statement> {
    let repositories = repositories(stack);
    if repositories.is_empty() {
        return Vec::new();
    }
    vec![
        Statement::new(
            "LogInToEcr",
            ["ecr:GetAuthorizationToken"],
            ["*".to_owned()],
        ),
        Statement::new(
            "PullContainerImages",
            [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            repositories,
        ),
    ]
}
