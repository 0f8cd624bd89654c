//! CloudFormation stacks: a change set is created (or the saved plan's is taken),
//! executed, and the stack watched until it settles; its outputs then feed the nodes
//! that depend on it.
//!
//! What to do is re-derived from the stack's live status, so a re-run after an
//! interruption waits for a stack still in progress instead of starting over.

use std::time::Duration;

use super::error::NodeError;
use super::{Executor, NodeOutcome};
use crate::aws::Patience;
use crate::aws::{AwsError, ChangeSetKind, ChangeSetState, StackEvent, StackState};
use crate::model::Address;
use crate::plan::diff::cloudformation::needs_recreate;
use crate::plan::{Action, ChangeSetRef, CloudFormationChange};
use crate::planning::change_sets::{Inputs, change_set_ready, create_change_set};

/// Longest wait between two `DescribeStacks` of one stack.
const MAX_POLL: Duration = Duration::from_secs(10);

/// Why a node stopped short of converging.
enum Stop {
    Failed(NodeError),
    Interrupted,
}

impl From<AwsError> for Stop {
    fn from(error: AwsError) -> Stop {
        Stop::Failed(error.into())
    }
}

impl Stop {
    /// What CloudFormation said went wrong.
    fn said(why: String) -> Stop {
        Stop::Failed(NodeError::CloudFormation(why))
    }
}

/// Applies the change to CloudFormation node `name`.
pub async fn apply(
    executor: &Executor,
    name: &str,
    action: Action,
    change: &CloudFormationChange,
) -> NodeOutcome {
    let node = Node {
        executor,
        name,
        address: Address::CloudFormation(name.to_owned()),
        aws_name: change.name.clone(),
    };
    let result = match action {
        Action::Delete => node.delete().await,
        Action::NoOp | Action::Run => Ok("in sync".to_owned()),
        Action::Create | Action::Update | Action::Replace => {
            node.converge(change.change_set.as_ref()).await
        }
    };
    match result {
        Ok(done) => {
            executor.progress.line(&node.address, &done);
            NodeOutcome::Done(done)
        }
        Err(Stop::Failed(why)) => {
            // The reason is in the report at the end.
            executor.progress.line(&node.address, "failed");
            NodeOutcome::Failed(why)
        }
        Err(Stop::Interrupted) => NodeOutcome::Interrupted,
    }
}

struct Node<'a> {
    executor: &'a Executor,
    name: &'a str,
    address: Address,
    aws_name: String,
}

impl Node<'_> {
    /// Brings the stack to the planned template and parameters.
    async fn converge(&self, saved: Option<&ChangeSetRef>) -> Result<String, Stop> {
        let aws = &self.executor.aws;
        let mut live = self.settled().await?;
        if let Some(stack) = live.as_ref().filter(|s| s.status.is_in_review()) {
            // Never created: the saved plan's change set creates it; otherwise the empty
            // stack goes, and a new change set creates it.
            if saved.is_none() {
                self.delete_and_wait(&stack.id.clone()).await?;
            }
            live = None;
        } else if let Some(why) = live.as_ref().and_then(|s| needs_recreate(s.status)) {
            let id = live.as_ref().map(|s| s.id.clone()).unwrap_or_default();
            self.line(&format!("{why}: deleting it first"));
            self.delete_and_wait(&id).await?;
            live = None;
        }
        let (id, kind) = match saved {
            Some(saved) => (saved.id.clone(), None),
            None => {
                let kind = if live.is_some() {
                    ChangeSetKind::Update
                } else {
                    ChangeSetKind::Create
                };
                (self.create_change_set(kind).await?, Some(kind))
            }
        };
        let state = self.change_set_ready(&id).await?;
        if state.no_changes() {
            aws.delete_change_set(&id).await?;
            self.publish_outputs(live.as_ref());
            return Ok("no changes (CloudFormation reports none)".to_owned());
        }
        if !state.is_ready() {
            return Err(Stop::said(format!(
                "change set `{id}` is {}: {}",
                state.status,
                state.reason.as_deref().unwrap_or("no reason given")
            )));
        }
        let verb = match kind {
            Some(ChangeSetKind::Create) => "creating",
            Some(ChangeSetKind::Update) => "updating",
            None => "executing the planned change set on",
        };
        self.line(&format!(
            "{verb} `{}` ({})",
            self.aws_name,
            crate::diagnostic::plural(state.changes.len(), "resource change")
        ));
        aws.execute_change_set(&id).await?;
        let done = self.wait(&state.stack_id).await?;
        if done.status.is_complete() {
            self.publish_outputs(Some(&done));
            Ok(format!("`{}` is {}", self.aws_name, done.status))
        } else {
            Err(Stop::said(self.failure(&done).await))
        }
    }

    /// The live stack once no operation is in progress on it (an earlier, interrupted
    /// apply may have left one running).
    async fn settled(&self) -> Result<Option<StackState>, Stop> {
        let live = self.executor.aws.describe_stack(&self.aws_name).await?;
        let Some(live) = live.filter(|s| !s.status.is_deleted()) else {
            return Ok(None);
        };
        if live.status.is_in_progress() {
            self.line(&format!(
                "waiting for `{}` ({})",
                self.aws_name, live.status
            ));
            return self.wait(&live.id).await.map(Some);
        }
        Ok(Some(live))
    }

    async fn create_change_set(&self, kind: ChangeSetKind) -> Result<String, Stop> {
        let executor = self.executor;
        let inputs = Inputs {
            security_groups: &executor.security_group_ids(),
            outputs: &executor.outputs(),
            environment: &executor.environment,
        };
        let name = format!("rollstack-{}", uuid::Uuid::new_v4());
        let description = format!("rollstack apply of {}", executor.options.commit);
        let id = create_change_set(
            &executor.aws,
            &executor.stack,
            self.name,
            kind,
            &inputs,
            &name,
            &description,
        )
        .await
        .map_err(Stop::said)?;
        Ok(id)
    }

    /// Change set `id` once CloudFormation has computed it.
    async fn change_set_ready(&self, id: &str) -> Result<ChangeSetState, Stop> {
        let cancelled = || self.executor.cancelled();
        match change_set_ready(&self.executor.aws, id, &cancelled).await {
            Ok(state) => Ok(state),
            Err(_) if self.executor.cancelled() => Err(Stop::Interrupted),
            Err(why) => Err(Stop::said(why)),
        }
    }

    /// Polls stack `id` until no operation is in progress; at most once a second,
    /// backing off to [`MAX_POLL`].
    async fn wait(&self, id: &str) -> Result<StackState, Stop> {
        let mut pause = Duration::from_secs(1);
        let mut last = None;
        let mut patience = Patience::default();
        loop {
            let Some(described) = patience.poll(self.executor.aws.describe_stack(id).await)? else {
                self.pause(&mut pause).await?;
                continue;
            };
            let Some(state) = described else {
                return Err(Stop::said(format!("`{}` disappeared", self.aws_name)));
            };
            if !state.status.is_in_progress() {
                return Ok(state);
            }
            if last != Some(state.status) {
                self.line(state.status.as_str());
                last = Some(state.status);
            }
            self.pause(&mut pause).await?;
        }
    }

    /// Sleeps `pause`, then doubles it up to [`MAX_POLL`]. SIGINT stops the wait; the
    /// operation goes on in CloudFormation, and the next apply waits for it.
    async fn pause(&self, pause: &mut Duration) -> Result<(), Stop> {
        self.executor.nap(*pause).await;
        if self.executor.cancelled() {
            return Err(Stop::Interrupted);
        }
        *pause = (*pause * 2).min(MAX_POLL);
        Ok(())
    }

    /// Why the stack failed: the status reasons of the resources that failed during
    /// this operation, from its events.
    async fn failure(&self, stack: &StackState) -> String {
        let mut lines = vec![format!("`{}` is {}", self.aws_name, stack.status)];
        match self.executor.aws.stack_events(&stack.id).await {
            Ok(events) => {
                for e in failed_in_last_operation(&events, &self.aws_name) {
                    lines.push(format!(
                        "  {} ({}): {}: {}",
                        e.logical_id,
                        e.resource_type,
                        e.status,
                        e.reason.as_deref().unwrap_or("no reason given")
                    ));
                }
            }
            Err(e) => lines.push(format!("  (its events could not be read: {e})")),
        }
        if lines.len() == 1
            && let Some(reason) = &stack.reason
        {
            lines.push(format!("  {reason}"));
        }
        lines.join("\n")
    }

    /// Deletes the stack and waits until it is gone.
    async fn delete(&self) -> Result<String, Stop> {
        let live = self.executor.aws.describe_stack(&self.aws_name).await?;
        match live.filter(|s| !s.status.is_deleted()) {
            Some(live) => {
                self.line(&format!("deleting `{}`", self.aws_name));
                self.delete_and_wait(&live.id).await?;
                Ok(format!("deleted `{}`", self.aws_name))
            }
            None => Ok(format!("`{}` is already gone", self.aws_name)),
        }
    }

    async fn delete_and_wait(&self, id: &str) -> Result<(), Stop> {
        self.executor.aws.delete_stack(id).await?;
        let gone = self.wait(id).await?;
        if gone.status.is_deleted() {
            Ok(())
        } else {
            Err(Stop::said(self.failure(&gone).await))
        }
    }

    /// Makes the stack's outputs known to the nodes that depend on it.
    fn publish_outputs(&self, stack: Option<&StackState>) {
        if let Some(stack) = stack {
            self.executor.set_outputs(self.name, stack.outputs.clone());
        }
    }

    fn line(&self, message: &str) {
        self.executor.progress.line(&self.address, message);
    }
}

/// The resource events that failed in the stack's latest operation, oldest first.
/// `events` come newest first, as AWS lists them; the operation began at the newest
/// event of the stack itself that starts one. Derived from the events alone, so no
/// clock (ours or AWS's) is compared.
fn failed_in_last_operation<'a>(events: &'a [StackEvent], stack_name: &str) -> Vec<&'a StackEvent> {
    const STARTS: &[&str] = &[
        "CREATE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
        "IMPORT_IN_PROGRESS",
    ];
    let operation = events
        .iter()
        .position(|e| e.logical_id == stack_name && STARTS.contains(&e.status.as_str()))
        .unwrap_or(events.len());
    events[..operation]
        .iter()
        .rev()
        .filter(|e| e.logical_id != stack_name && e.status.ends_with("_FAILED"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(logical_id: &str, status: &str, reason: &str) -> StackEvent {
        StackEvent {
            logical_id: logical_id.to_owned(),
            resource_type: "AWS::RDS::DBInstance".to_owned(),
            status: status.to_owned(),
            reason: Some(reason.to_owned()).filter(|r| !r.is_empty()),
        }
    }

    #[test]
    fn only_failures_of_the_latest_operation_are_reported() {
        // Newest first, as DescribeStackEvents lists them.
        let events = [
            event("db", "UPDATE_ROLLBACK_COMPLETE", ""),
            event(
                "Database",
                "UPDATE_FAILED",
                "DBInstanceClass db.x1 is not supported",
            ),
            event("Queue", "UPDATE_FAILED", "Resource update cancelled"),
            event(
                "db",
                "UPDATE_ROLLBACK_IN_PROGRESS",
                "The following resource(s) failed",
            ),
            event("db", "UPDATE_IN_PROGRESS", "User Initiated"),
            event("Database", "CREATE_FAILED", "an older failure"),
            event("db", "CREATE_IN_PROGRESS", "User Initiated"),
        ];
        let failed: Vec<(&str, &str)> = failed_in_last_operation(&events, "db")
            .iter()
            .map(|e| {
                (
                    e.logical_id.as_str(),
                    e.reason.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            failed,
            vec![
                ("Queue", "Resource update cancelled"),
                ("Database", "DBInstanceClass db.x1 is not supported"),
            ]
        );
        assert!(failed_in_last_operation(&events[..1], "db").is_empty());
        assert!(failed_in_last_operation(&[], "db").is_empty());
    }
}
