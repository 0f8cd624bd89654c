//! Security groups in two nodes: the group (create tagged, restore tags, delete) and its
//! rules (authorize/revoke the difference), which run after every group they name.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Executor, NodeError, NodeOutcome};
use crate::model::{Address, Rule, SecurityGroup};
use crate::observe::{Direction, aws_name, tags};
use crate::plan::diff::security_groups::{desired_text, rules_hash};
use crate::plan::spec::{ownership_tags, user_tags};
use crate::plan::{Action, RuleChange, SecurityGroupChange, SecurityGroupRulesChange};

/// How long a delete waits for instances that still use the group to go.
const DELETE_TIMEOUT: Duration = Duration::from_secs(300);

/// Applies the change to security group `name`.
pub async fn apply(
    executor: &Executor,
    name: &str,
    action: Action,
    change: &SecurityGroupChange,
) -> NodeOutcome {
    let result = match action {
        Action::Create => create(executor, name).await,
        Action::Update => restore_tags(executor, change).await,
        Action::Delete => delete(executor, change).await,
        // The plan refuses what AWS cannot change in place (a description).
        Action::Replace => Err(NodeError::Unreplaceable(change.name.clone())),
        Action::NoOp | Action::Run => Ok("in sync".to_owned()),
    };
    outcome(executor, Address::SecurityGroup(name.to_owned()), result)
}

/// Applies the change to the rules of security group `name`.
pub async fn apply_rules(
    executor: &Executor,
    name: &str,
    action: Action,
    change: &SecurityGroupRulesChange,
) -> NodeOutcome {
    let result = match action {
        Action::Create => authorize_all(executor, name).await,
        Action::Update => update_rules(executor, name, change).await,
        Action::Delete => revoke(executor, change).await,
        Action::Replace | Action::NoOp | Action::Run => Ok("in sync".to_owned()),
    };
    outcome(
        executor,
        Address::SecurityGroupRules(name.to_owned()),
        result,
    )
}

fn outcome(
    executor: &Executor,
    address: Address,
    result: Result<String, NodeError>,
) -> NodeOutcome {
    match result {
        Ok(done) => {
            executor.progress.line(&address, &done);
            NodeOutcome::Done(done)
        }
        Err(e) => NodeOutcome::Failed(e),
    }
}

fn group_tags(executor: &Executor, name: &str, group: &SecurityGroup) -> BTreeMap<String, String> {
    let mut tags = ownership_tags(&executor.stack, &Address::SecurityGroup(name.to_owned()));
    tags.insert(tags::SPEC.to_owned(), rules_hash(group));
    tags.extend(user_tags(&executor.stack, None));
    tags
}

fn rule_tags(executor: &Executor, name: &str) -> BTreeMap<String, String> {
    ownership_tags(&executor.stack, &Address::SecurityGroup(name.to_owned()))
}

/// The id of group `name`: observed, or created earlier in this apply.
fn group_id(executor: &Executor, name: &str) -> Result<String, NodeError> {
    executor
        .security_group_ids()
        .get(name)
        .cloned()
        .ok_or_else(|| NodeError::NoSecurityGroup(name.to_owned()))
}

async fn create(executor: &Executor, name: &str) -> Result<String, NodeError> {
    let group = &executor.stack.security_groups[name];
    let id = executor
        .aws
        .create_security_group(
            &aws_name(&executor.stack, name),
            &group.description,
            executor.observed.vpc(),
            &group_tags(executor, name, group),
        )
        .await?;
    executor.set_security_group_id(name, &id);
    Ok(format!("created `{id}`"))
}

async fn restore_tags(
    executor: &Executor,
    change: &SecurityGroupChange,
) -> Result<String, NodeError> {
    let id = change.id.clone().unwrap_or_default();
    executor.aws.set_tags(&id, &change.set_tags).await?;
    Ok(format!(
        "{} restored",
        crate::diagnostic::plural(change.set_tags.len(), "tag")
    ))
}

/// The rules of a group just created: the default egress goes when the file gives
/// egress rules of its own.
async fn authorize_all(executor: &Executor, name: &str) -> Result<String, NodeError> {
    let group = &executor.stack.security_groups[name];
    let id = group_id(executor, name)?;
    let ids = executor.security_group_ids();
    let tags = rule_tags(executor, name);
    let ingress: Vec<&Rule> = group.ingress.iter().collect();
    executor
        .aws
        .authorize_rules(&id, Direction::Ingress, &ingress, &ids, &tags)
        .await?;
    let mut count = ingress.len();
    if let Some(egress) = &group.egress {
        executor.aws.revoke_default_egress(&id).await?;
        let egress: Vec<&Rule> = egress.iter().collect();
        executor
            .aws
            .authorize_rules(&id, Direction::Egress, &egress, &ids, &tags)
            .await?;
        count += egress.len();
    }
    Ok(format!(
        "{} authorized",
        crate::diagnostic::plural(count, "rule")
    ))
}

async fn update_rules(
    executor: &Executor,
    name: &str,
    change: &SecurityGroupRulesChange,
) -> Result<String, NodeError> {
    let group = &executor.stack.security_groups[name];
    let id = change.id.clone().unwrap_or_default();
    let ids = executor.security_group_ids();
    let tags = rule_tags(executor, name);
    for direction in [Direction::Ingress, Direction::Egress] {
        let wanted: Vec<&str> = change
            .add_rules
            .iter()
            .filter(|r| r.direction == direction)
            .map(|r| r.rule.as_str())
            .collect();
        let rules = match direction {
            Direction::Ingress => group.ingress.as_slice(),
            Direction::Egress => group.egress.as_deref().unwrap_or_default(),
        };
        let add: Vec<&Rule> = rules
            .iter()
            .filter(|r| wanted.contains(&desired_text(direction, r).as_str()))
            .collect();
        revoke_ids(executor, &id, direction, &change.remove_rules).await?;
        executor
            .aws
            .authorize_rules(&id, direction, &add, &ids, &tags)
            .await?;
    }
    if let Some(hash) = &change.rules_hash {
        executor
            .aws
            .set_tags(
                &id,
                &BTreeMap::from([(tags::SPEC.to_owned(), hash.clone())]),
            )
            .await?;
    }
    Ok(format!(
        "{} authorized, {} revoked",
        change.add_rules.len(),
        change.remove_rules.len()
    ))
}

/// The rules of a removed group that name other groups.
async fn revoke(
    executor: &Executor,
    change: &SecurityGroupRulesChange,
) -> Result<String, NodeError> {
    let id = change.id.clone().unwrap_or_default();
    for direction in [Direction::Ingress, Direction::Egress] {
        revoke_ids(executor, &id, direction, &change.remove_rules).await?;
    }
    Ok(format!("{} revoked", change.remove_rules.len()))
}

/// Revokes the rules of `direction` among `rules` from group `id`.
async fn revoke_ids(
    executor: &Executor,
    id: &str,
    direction: Direction,
    rules: &[RuleChange],
) -> Result<(), NodeError> {
    let ids: Vec<String> = rules
        .iter()
        .filter(|r| r.direction == direction)
        .filter_map(|r| r.id.clone())
        .collect();
    Ok(executor.aws.revoke_rules(id, direction, ids).await?)
}

async fn delete(executor: &Executor, change: &SecurityGroupChange) -> Result<String, NodeError> {
    let id = change.id.clone().unwrap_or_default();
    let started = Instant::now();
    loop {
        match executor.aws.delete_security_group(&id).await {
            Ok(()) => return Ok(format!("deleted `{id}`")),
            // Instances that used it may still be shutting down.
            Err(e)
                if e.code() == Some("DependencyViolation")
                    && started.elapsed() < DELETE_TIMEOUT =>
            {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
