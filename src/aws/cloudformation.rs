//! CloudFormation stacks driven through change sets: create, describe, execute, and the
//! stack's status, outputs and events while it settles.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{ChangeSetType, Parameter, Stack, Tag};

use super::error::required;
use super::{Aws, AwsError};
use crate::observe::{ChangeAction, Replacement, ResourceChange, StackStatus};

/// What a change set is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeSetKind {
    /// The stack does not exist yet.
    Create,
    /// The stack exists.
    Update,
}

/// A change set to create.
#[derive(Clone, Debug)]
pub struct ChangeSetRequest<'a> {
    /// Stack name.
    pub stack: &'a str,
    /// Change set name.
    pub name: &'a str,
    /// Create or update.
    pub kind: ChangeSetKind,
    /// Template body.
    pub template: &'a str,
    /// Parameter values (sensitive ones too: they go to AWS only).
    pub parameters: &'a BTreeMap<String, String>,
    /// Stack tags (the ownership tags).
    pub tags: &'a BTreeMap<String, String>,
    /// Description (the plan or apply that made it).
    pub description: &'a str,
}

/// A created change set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedChangeSet {
    /// Change set id (ARN).
    pub id: String,
    /// Stack id.
    pub stack_id: String,
}

/// A change set as CloudFormation reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeSetState {
    /// `CREATE_PENDING`, `CREATE_IN_PROGRESS`, `CREATE_COMPLETE`, `FAILED`, ...
    pub status: String,
    /// `AVAILABLE`, `EXECUTE_COMPLETE`, `UNAVAILABLE`, ...
    pub execution_status: String,
    /// Why it failed.
    pub reason: Option<String>,
    /// Stack id.
    pub stack_id: String,
    /// The resource changes it would make.
    pub changes: Vec<ResourceChange>,
}

impl ChangeSetState {
    /// Whether CloudFormation is still computing it.
    pub fn pending(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CREATE_PENDING" | "CREATE_IN_PROGRESS"
        )
    }

    /// Whether CloudFormation computed it, and it can be executed.
    pub fn is_ready(&self) -> bool {
        self.status == "CREATE_COMPLETE"
    }

    /// Whether it is computed and nobody executed it (or made it obsolete) since.
    pub fn is_executable(&self) -> bool {
        self.is_ready() && self.execution_status == "AVAILABLE"
    }

    /// Whether it failed because the template and parameters change nothing.
    pub fn no_changes(&self) -> bool {
        self.status == "FAILED"
            && self.reason.as_deref().is_some_and(|r| {
                r.contains("didn't contain changes") || r.contains("No updates are to be performed")
            })
    }
}

/// A stack as CloudFormation reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackState {
    /// Stack id.
    pub id: String,
    /// Its status.
    pub status: StackStatus,
    /// Why it has that status.
    pub reason: Option<String>,
    /// Outputs.
    pub outputs: BTreeMap<String, String>,
}

/// One event of a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackEvent {
    /// Logical id of the resource (the stack's own name for stack events).
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// `CREATE_FAILED`, ...
    pub status: String,
    /// Why.
    pub reason: Option<String>,
}

/// A stack's status, as `operation` answered it.
pub(super) fn status(stack: &Stack, operation: &'static str) -> Result<StackStatus, AwsError> {
    let name = required(stack.stack_status(), operation, "a stack's `StackStatus`")?;
    StackStatus::parse(name.as_str()).ok_or(AwsError::Incomplete {
        operation,
        missing: "a stack status rollstack knows",
    })
}

/// A stack's tags.
pub(super) fn stack_tags(stack: &Stack) -> BTreeMap<String, String> {
    stack
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect()
}

/// A stack's outputs by key.
pub(super) fn outputs(stack: &Stack) -> BTreeMap<String, String> {
    stack
        .outputs()
        .iter()
        .filter_map(|o| {
            Some((
                o.output_key()?.to_owned(),
                o.output_value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// Whether an error says the named thing does not exist.
pub(super) fn not_found(error: &impl ProvideErrorMetadata) -> bool {
    error.code() == Some("ChangeSetNotFound")
        || error
            .message()
            .is_some_and(|m| m.contains("does not exist"))
}

impl Aws {
    /// Creates a change set. A template or parameters CloudFormation refuses is an
    /// error carrying its message.
    pub async fn create_change_set(
        &self,
        request: &ChangeSetRequest<'_>,
    ) -> Result<CreatedChangeSet, AwsError> {
        let parameters = request
            .parameters
            .iter()
            .map(|(k, v)| {
                Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build()
            })
            .collect();
        let tags = request
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let created = self
            .cloudformation
            .create_change_set()
            .stack_name(request.stack)
            .change_set_name(request.name)
            .change_set_type(match request.kind {
                ChangeSetKind::Create => ChangeSetType::Create,
                ChangeSetKind::Update => ChangeSetType::Update,
            })
            .template_body(request.template)
            .set_parameters(Some(parameters))
            .set_tags(Some(tags))
            .description(request.description)
            .send()
            .await
            .map_err(|e| self.error("CreateChangeSet", e));
        match created {
            Ok(created) => Ok(CreatedChangeSet {
                id: required(created.id(), "CreateChangeSet", "the change set's `Id`")?.to_owned(),
                stack_id: required(created.stack_id(), "CreateChangeSet", "its `StackId`")?
                    .to_owned(),
            }),
            // A retry after a lost answer finds the change set it made (names are
            // unique per plan and node).
            Err(e) if e.code() == Some("AlreadyExistsException") => {
                let found = self
                    .cloudformation
                    .describe_change_set()
                    .stack_name(request.stack)
                    .change_set_name(request.name)
                    .send()
                    .await
                    .map_err(|e| self.error("DescribeChangeSet", e))?;
                Ok(CreatedChangeSet {
                    id: required(
                        found.change_set_id(),
                        "DescribeChangeSet",
                        "the change set's `ChangeSetId`",
                    )?
                    .to_owned(),
                    stack_id: required(found.stack_id(), "DescribeChangeSet", "its `StackId`")?
                        .to_owned(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Change set `id`, or `None` when it no longer exists.
    pub async fn describe_change_set(&self, id: &str) -> Result<Option<ChangeSetState>, AwsError> {
        let described = match self
            .cloudformation
            .describe_change_set()
            .change_set_name(id)
            .send()
            .await
        {
            Ok(d) => d,
            Err(e) if e.as_service_error().is_some_and(not_found) => return Ok(None),
            Err(e) => return Err(self.error("DescribeChangeSet", e)),
        };
        let changes = described
            .changes()
            .iter()
            .filter_map(|c| c.resource_change())
            .map(|r| {
                let action = r.action().and_then(|a| ChangeAction::parse(a.as_str()));
                Ok(ResourceChange {
                    action: required(
                        action,
                        "DescribeChangeSet",
                        "a change action rollstack knows",
                    )?,
                    logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: r.resource_type().unwrap_or_default().to_owned(),
                    replacement: r.replacement().and_then(|p| Replacement::parse(p.as_str())),
                })
            })
            .collect::<Result<_, AwsError>>()?;
        Ok(Some(ChangeSetState {
            status: required(described.status(), "DescribeChangeSet", "its `Status`")?
                .as_str()
                .to_owned(),
            execution_status: described
                .execution_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: described.status_reason().map(str::to_owned),
            stack_id: required(
                described.stack_id(),
                "DescribeChangeSet",
                "the change set's `StackId`",
            )?
            .to_owned(),
            changes,
        }))
    }

    /// Executes change set `id`.
    pub async fn execute_change_set(&self, id: &str) -> Result<(), AwsError> {
        match self
            .cloudformation
            .execute_change_set()
            .change_set_name(id)
            .send()
            .await
            .map_err(|e| self.error("ExecuteChangeSet", e))
        {
            Ok(_) => Ok(()),
            // A retry after a lost answer finds it executing or executed: the stack's
            // status, waited for next, tells how it went.
            Err(e) if e.code() == Some("InvalidChangeSetStatus") => {
                match self.describe_change_set(id).await? {
                    Some(state)
                        if matches!(
                            state.execution_status.as_str(),
                            "EXECUTE_IN_PROGRESS" | "EXECUTE_COMPLETE" | "EXECUTE_FAILED"
                        ) =>
                    {
                        Ok(())
                    }
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes change set `id` (one that changes nothing, or a stale one).
    pub async fn delete_change_set(&self, id: &str) -> Result<(), AwsError> {
        match self
            .cloudformation
            .delete_change_set()
            .change_set_name(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(not_found) => Ok(()),
            Err(e) => Err(self.error("DeleteChangeSet", e)),
        }
    }

    /// Stack `name_or_id`, or `None` when there is none.
    pub async fn describe_stack(&self, name_or_id: &str) -> Result<Option<StackState>, AwsError> {
        let described = match self
            .cloudformation
            .describe_stacks()
            .stack_name(name_or_id)
            .send()
            .await
        {
            Ok(d) => d,
            Err(e) if e.as_service_error().is_some_and(not_found) => return Ok(None),
            Err(e) => return Err(self.error("DescribeStacks", e)),
        };
        let Some(s) = described.stacks().first() else {
            return Ok(None);
        };
        Ok(Some(StackState {
            id: required(s.stack_id(), "DescribeStacks", "a stack's `StackId`")?.to_owned(),
            status: status(s, "DescribeStacks")?,
            reason: s.stack_status_reason().map(str::to_owned),
            outputs: outputs(s),
        }))
    }

    /// The newest events of stack `id`, newest first (one page: the newest 100).
    pub async fn stack_events(&self, id: &str) -> Result<Vec<StackEvent>, AwsError> {
        let described = self
            .cloudformation
            .describe_stack_events()
            .stack_name(id)
            .send()
            .await
            .map_err(|e| self.error("DescribeStackEvents", e))?;
        Ok(described
            .stack_events()
            .iter()
            .map(|e| StackEvent {
                logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: e.resource_type().unwrap_or_default().to_owned(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_owned),
            })
            .collect())
    }

    /// Starts deleting stack `id`.
    pub async fn delete_stack(&self, id: &str) -> Result<(), AwsError> {
        self.cloudformation
            .delete_stack()
            .stack_name(id)
            .send()
            .await
            .map_err(|e| self.error("DeleteStack", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status the SDK knows and rollstack does not would fail every plan of a stack
    /// in it: the two lists are the same.
    #[test]
    fn every_status_the_sdk_knows_is_parsed() {
        let sdk = aws_sdk_cloudformation::types::StackStatus::values();
        for name in sdk {
            let status = StackStatus::parse(name).unwrap_or_else(|| panic!("`{name}` is unknown"));
            assert_eq!(status.as_str(), *name);
        }
        assert_eq!(sdk.len(), 23);
    }

    /// Likewise every change action and replacement a change set can report.
    #[test]
    fn every_change_action_and_replacement_the_sdk_knows_is_parsed() {
        for name in aws_sdk_cloudformation::types::ChangeAction::values() {
            let action = ChangeAction::parse(name).unwrap_or_else(|| panic!("`{name}` is unknown"));
            assert_eq!(action.as_str(), *name);
        }
        for name in aws_sdk_cloudformation::types::Replacement::values() {
            assert!(Replacement::parse(name).is_some(), "`{name}` is unknown");
        }
    }
}
