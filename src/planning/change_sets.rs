//! CloudFormation change sets: made for a node with its parameters rendered from what
//! is known, and waited for. `plan --changesets` makes them for review; apply makes them,
//! or adopts a saved plan's, and executes them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::aws::Patience;
use crate::aws::{Aws, ChangeSetKind, ChangeSetRequest, ChangeSetState};
use crate::model::{Address, Stack};
use crate::observe::aws_name;
use crate::plan::diff::EnvironmentValues;
use crate::plan::diff::cloudformation::parameter_values;
use crate::plan::spec::ownership_tags;
use crate::plan::{Action, ChangeSetRef, Detail, Plan};
use crate::template::{Outputs, unknown};

/// Longest wait between two polls of a change set.
const MAX_POLL: Duration = Duration::from_secs(10);
/// Longest wait for a change set to be computed.
const CHANGE_SET_TIMEOUT: Duration = Duration::from_secs(600);

/// `plan --changesets`: a change set named after the plan for every CloudFormation node
/// the plan creates or updates, with CloudFormation's own resource changes recorded in
/// the plan. A node whose parameters wait on another node's outputs, or whose stack must
/// be deleted first, gets its change set at apply (the plan says so).
pub async fn plan_change_sets(
    aws: &Aws,
    stack: &Stack,
    inputs: &Inputs<'_>,
    plan: &mut Plan,
) -> Result<(), String> {
    let name = format!("rollstack-{}", plan.id);
    let description = format!("rollstack plan {}", plan.id);
    for change in &mut plan.changes {
        let Detail::CloudFormation(detail) = &mut change.detail else {
            continue;
        };
        let kind = match change.action {
            Action::Create => ChangeSetKind::Create,
            Action::Update => ChangeSetKind::Update,
            Action::Replace => {
                change
                    .reason
                    .push_str("; its change set is made at apply, once the stack is deleted");
                continue;
            }
            Action::Delete | Action::NoOp | Action::Run => continue,
        };
        let node = change.address.name();
        let values = parameter_values(
            stack,
            &stack.cloudformation[node],
            inputs.security_groups,
            inputs.outputs,
            inputs.environment,
        );
        if values.values().any(|v| unknown(&v.text)) {
            change
                .reason
                .push_str("; its change set is made at apply, once the outputs it takes are known");
            continue;
        }
        let id = create_change_set(aws, stack, node, kind, inputs, &name, &description)
            .await
            .map_err(|why| format!("{}: {why}", change.address))?;
        let state = change_set_ready(aws, &id, &|| false)
            .await
            .map_err(|why| format!("{}: {why}", change.address))?;
        if state.no_changes() {
            aws.delete_change_set(&id)
                .await
                .map_err(|e| format!("{}: {e}", change.address))?;
            change
                .reason
                .push_str("; CloudFormation reports no resource changes");
            continue;
        }
        if !state.is_ready() {
            return Err(format!(
                "{}: change set `{name}` is {}: {}",
                change.address,
                state.status,
                state.reason.as_deref().unwrap_or("no reason given")
            ));
        }
        detail.change_set = Some(ChangeSetRef {
            name: name.clone(),
            id,
        });
        detail.resource_changes = state.changes;
    }
    Ok(())
}

/// Takes the saved plan's change sets into the fresh plan, so that apply executes
/// exactly them; one that is gone or no longer executable makes the plan stale.
pub async fn adopt(aws: &Aws, saved: &Plan, fresh: &mut Plan) -> Result<(), super::PlanningError> {
    for change in &saved.changes {
        let Detail::CloudFormation(detail) = &change.detail else {
            continue;
        };
        let Some(change_set) = &detail.change_set else {
            continue;
        };
        let problem = match aws.describe_change_set(&change_set.id).await? {
            None => Some("no longer exists".to_owned()),
            Some(s) if !s.is_executable() => {
                Some(format!("is {} / {}", s.status, s.execution_status))
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            return Err(super::PlanningError::StaleChangeSet {
                address: change.address.clone(),
                name: change_set.name.clone(),
                problem,
            });
        }
        let adopted = fresh.changes.iter_mut().find_map(|c| match &mut c.detail {
            Detail::CloudFormation(d) if c.address == change.address => Some(d),
            _ => None,
        });
        if let Some(fresh_detail) = adopted {
            fresh_detail.change_set = Some(change_set.clone());
            fresh_detail.resource_changes = detail.resource_changes.clone();
        }
    }
    Ok(())
}

/// What a node's parameters are rendered from.
pub struct Inputs<'a> {
    /// Security group ids by name.
    pub security_groups: &'a BTreeMap<String, String>,
    /// CloudFormation outputs known so far.
    pub outputs: &'a Outputs,
    /// Values of `from_env` parameters.
    pub environment: &'a EnvironmentValues,
}

/// Creates change set `change_set` for node `name` of `stack`, its parameters rendered
/// from `inputs`. Returns its id, or why CloudFormation refused it.
pub async fn create_change_set(
    aws: &Aws,
    stack: &Stack,
    name: &str,
    kind: ChangeSetKind,
    inputs: &Inputs<'_>,
    change_set: &str,
    description: &str,
) -> Result<String, String> {
    let desired = &stack.cloudformation[name];
    let values = parameter_values(
        stack,
        desired,
        inputs.security_groups,
        inputs.outputs,
        inputs.environment,
    );
    if let Some((parameter, _)) = values.iter().find(|(_, v)| unknown(&v.text)) {
        return Err(format!(
            "parameter `{parameter}` depends on an output that is not known yet"
        ));
    }
    let parameters: BTreeMap<String, String> =
        values.into_iter().map(|(k, v)| (k, v.text)).collect();
    let mut tags = ownership_tags(stack, &Address::CloudFormation(name.to_owned()));
    tags.extend(crate::plan::spec::user_tags(stack, None));
    aws.create_change_set(&ChangeSetRequest {
        stack: &aws_name(stack, name),
        name: change_set,
        kind,
        template: &desired.template.source,
        parameters: &parameters,
        tags: &tags,
        description,
    })
    .await
    .map(|created| created.id)
    .map_err(|e| e.to_string())
}

/// Change set `id` once CloudFormation has computed it; polled at most once a second,
/// until [`CHANGE_SET_TIMEOUT`] or `cancelled`.
pub async fn change_set_ready(
    aws: &Aws,
    id: &str,
    cancelled: &dyn Fn() -> bool,
) -> Result<ChangeSetState, String> {
    let started = Instant::now();
    let mut pause = Duration::from_secs(1);
    let mut patience = Patience::default();
    loop {
        let described = patience
            .poll(aws.describe_change_set(id).await)
            .map_err(|e| e.to_string())?;
        match described {
            Some(Some(state)) if !state.pending() => return Ok(state),
            Some(None) => return Err(format!("change set `{id}` no longer exists")),
            // Pending, or the poll failed with a passing problem.
            Some(Some(_)) | None => {}
        }
        if started.elapsed() > CHANGE_SET_TIMEOUT || cancelled() {
            return Err(format!(
                "change set `{id}` was not ready after {}",
                humantime::format_duration(started.elapsed())
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}
