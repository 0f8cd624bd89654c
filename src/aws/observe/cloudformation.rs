//! CloudFormation stacks: every stack described, the change sets' tags of those in
//! review, and the owned ones' templates.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::TemplateStage;
use aws_smithy_types::date_time::Format;
use futures_util::future::try_join_all;

use super::super::error::required;
use super::super::{Aws, AwsError};
use crate::observe::{DescribedStack, ForeignResource, LiveCloudFormation, Query, sort_stacks};

/// Owned CloudFormation stacks with templates, and same-named foreign ones.
pub(super) async fn cloudformation(
    aws: &Aws,
    query: &Query,
) -> Result<(Vec<LiveCloudFormation>, Vec<ForeignResource>), AwsError> {
    let described = described_stacks(aws, &query.name_prefix).await?;
    let (mut owned, foreign) = sort_stacks(described, query);
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

/// Every stack `DescribeStacks` lists; for those whose name starts with `prefix` and
/// whose ownership only their change sets show, the change sets' tags too.
pub(in crate::aws) async fn described_stacks(
    aws: &Aws,
    prefix: &str,
) -> Result<Vec<DescribedStack>, AwsError> {
    let mut pages = aws.cloudformation.describe_stacks().into_paginator().send();
    let mut described = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("DescribeStacks", e))?;
        for stack in page.stacks() {
            described.push(DescribedStack {
                name: required(
                    stack.stack_name(),
                    "DescribeStacks",
                    "a stack's `StackName`",
                )?
                .to_owned(),
                id: required(stack.stack_id(), "DescribeStacks", "a stack's `StackId`")?.to_owned(),
                status: super::super::cloudformation::status(stack, "DescribeStacks")?,
                tags: super::super::cloudformation::stack_tags(stack),
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
                created: stack
                    .creation_time()
                    .and_then(|t| t.fmt(Format::DateTime).ok()),
                change_set_tags: Vec::new(),
            });
        }
    }
    let reviewed = described
        .iter_mut()
        .filter(|s| s.needs_change_set_tags() && s.name.starts_with(prefix))
        .map(|stack| async move {
            stack.change_set_tags = change_set_tags(aws, &stack.id).await?;
            Ok::<(), AwsError>(())
        });
    try_join_all(reviewed).await?;
    Ok(described)
}

/// The tags of every change set of stack `id` (one `ListChangeSets` a page, one
/// `DescribeChangeSet` each: summaries carry no tags).
async fn change_set_tags(aws: &Aws, id: &str) -> Result<Vec<BTreeMap<String, String>>, AwsError> {
    let mut pages = aws
        .cloudformation
        .list_change_sets()
        .stack_name(id)
        .into_paginator()
        .send();
    let mut change_sets = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ListChangeSets", e))?;
        change_sets.extend(
            page.summaries()
                .iter()
                .filter_map(|s| s.change_set_id().map(str::to_owned)),
        );
    }
    let described = change_sets.iter().map(|change_set| async move {
        match aws
            .cloudformation
            .describe_change_set()
            .change_set_name(change_set)
            .send()
            .await
        {
            Ok(d) => Ok(d
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect()),
            // Deleted since it was listed: it shows nobody's tags.
            Err(e)
                if e.as_service_error()
                    .is_some_and(super::super::cloudformation::not_found) =>
            {
                Ok(BTreeMap::new())
            }
            Err(e) => Err(aws.error("DescribeChangeSet", e)),
        }
    });
    try_join_all(described).await
}
