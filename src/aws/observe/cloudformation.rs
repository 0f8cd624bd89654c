//! CloudFormation stacks: owned ones with their templates, and same-named foreign ones.

use std::collections::BTreeSet;

use aws_sdk_cloudformation::types::TemplateStage;
use futures_util::future::try_join_all;

use super::super::error::required;
use super::super::{Aws, AwsError};
use crate::observe::{ForeignKind, ForeignResource, LiveCloudFormation, Query, owned_by};

/// Owned CloudFormation stacks with templates, and same-named foreign ones.
pub(super) async fn cloudformation(
    aws: &Aws,
    query: &Query,
) -> Result<(Vec<LiveCloudFormation>, Vec<ForeignResource>), AwsError> {
    let wanted: BTreeSet<&str> = query
        .cloudformation_names
        .iter()
        .map(String::as_str)
        .collect();
    let mut pages = aws.cloudformation.describe_stacks().into_paginator().send();
    let mut owned = Vec::new();
    let mut foreign = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("DescribeStacks", e))?;
        for stack in page.stacks() {
            let name = required(
                stack.stack_name(),
                "DescribeStacks",
                "a stack's `StackName`",
            )?
            .to_owned();
            let id =
                required(stack.stack_id(), "DescribeStacks", "a stack's `StackId`")?.to_owned();
            let tags = super::super::cloudformation::stack_tags(stack);
            if owned_by(&tags, &query.stack, &query.env) && name.starts_with(&query.name_prefix) {
                owned.push(LiveCloudFormation {
                    name,
                    id,
                    status: super::super::cloudformation::status(stack, "DescribeStacks")?,
                    tags,
                    parameters: stack
                        .parameters()
                        .iter()
                        .filter_map(|p| {
                            Some((
                                p.parameter_key()?.to_owned(),
                                p.parameter_value().unwrap_or_default().to_owned(),
                            ))
                        })
                        .collect(),
                    outputs: super::super::cloudformation::outputs(stack),
                    template: String::new(),
                });
            } else if wanted.contains(name.as_str()) {
                foreign.push(ForeignResource {
                    kind: ForeignKind::CloudFormationStack,
                    name,
                    id,
                    vpc: None,
                });
            }
        }
    }
    let templates = owned.iter().map(|stack| async move {
        // A stack no change set has run on has no template yet.
        if stack.status.is_in_review() {
            return Ok(String::new());
        }
        aws.cloudformation
            .get_template()
            .stack_name(&stack.id)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map(|t| t.template_body().unwrap_or_default().to_owned())
            .map_err(|e| aws.error("GetTemplate", e))
    });
    let templates = try_join_all(templates).await?;
    for (stack, template) in owned.iter_mut().zip(templates) {
        stack.template = template;
    }
    Ok((owned, foreign))
}
