//! Security groups: create with tags, authorize/revoke the difference, delete.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Executor, NodeOutcome};
use crate::aws::AwsError;
use crate::model::{Address, Rule, SecurityGroup};
use crate::observe::{Direction, aws_name, tags};
use crate::plan::diff::security_groups::{desired_text, rules_hash};
use crate::plan::spec::ownership_tags;
use crate::plan::{Action, SecurityGroupChange};

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
        Action::Update => update(executor, name, change).await,
        Action::Delete => delete(executor, change).await,
        Action::Replace => Err(AwsError::Call {
            operation: "CreateSecurityGroup",
            message: format!(
                "`{}` cannot change its description in place, and replacing a group in use is not supported: restore the description, or destroy and re-apply",
                change.name
            ),
        }),
        Action::NoOp => Ok("in sync".to_owned()),
    };
    match result {
        Ok(done) => {
            executor
                .progress
                .line(&Address::SecurityGroup(name.to_owned()).to_string(), &done);
            NodeOutcome::Done(done)
        }
        Err(e) => NodeOutcome::Failed(e.to_string()),
    }
}

fn tags_of(executor: &Executor, name: &str, group: &SecurityGroup) -> BTreeMap<String, String> {
    let mut tags = ownership_tags(&executor.stack, &Address::SecurityGroup(name.to_owned()));
    tags.insert(tags::SPEC.to_owned(), rules_hash(group));
    tags
}

async fn create(executor: &Executor, name: &str) -> Result<String, AwsError> {
    let group = &executor.stack.security_groups[name];
    let tags = tags_of(executor, name, group);
    let id = executor
        .aws
        .create_security_group(&aws_name(&executor.stack, name), &group.description, &tags)
        .await?;
    executor.set_security_group_id(name, &id);
    let ids = executor.security_group_ids();
    let rule_tags = ownership_tags(&executor.stack, &Address::SecurityGroup(name.to_owned()));
    let ingress: Vec<&Rule> = group.ingress.iter().collect();
    executor
        .aws
        .authorize_rules(&id, Direction::Ingress, &ingress, &ids, &rule_tags)
        .await?;
    if let Some(egress) = &group.egress {
        executor.aws.revoke_default_egress(&id).await?;
        let egress: Vec<&Rule> = egress.iter().collect();
        executor
            .aws
            .authorize_rules(&id, Direction::Egress, &egress, &ids, &rule_tags)
            .await?;
    }
    Ok(format!("created `{id}`"))
}

async fn update(
    executor: &Executor,
    name: &str,
    change: &SecurityGroupChange,
) -> Result<String, AwsError> {
    let group = &executor.stack.security_groups[name];
    let id = change.id.clone().unwrap_or_default();
    let ids = executor.security_group_ids();
    let rule_tags = ownership_tags(&executor.stack, &Address::SecurityGroup(name.to_owned()));
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
        let remove: Vec<String> = change
            .remove_rules
            .iter()
            .filter(|r| r.direction == direction)
            .filter_map(|r| r.id.clone())
            .collect();
        executor.aws.revoke_rules(&id, direction, remove).await?;
        executor
            .aws
            .authorize_rules(&id, direction, &add, &ids, &rule_tags)
            .await?;
    }
    let live_tags = executor
        .observed
        .security_groups
        .iter()
        .find(|g| g.id == id)
        .map(|g| g.tags.clone())
        .unwrap_or_default();
    let missing: BTreeMap<String, String> = tags_of(executor, name, group)
        .into_iter()
        .filter(|(k, v)| live_tags.get(k) != Some(v))
        .collect();
    if !missing.is_empty() {
        executor.aws.set_tags(&id, &missing).await?;
    }
    Ok(format!(
        "{} authorized, {} revoked",
        change.add_rules.len(),
        change.remove_rules.len()
    ))
}

async fn delete(executor: &Executor, change: &SecurityGroupChange) -> Result<String, AwsError> {
    let id = change.id.clone().unwrap_or_default();
    let started = Instant::now();
    loop {
        match executor.aws.delete_security_group(&id).await {
            Ok(()) => return Ok(format!("deleted `{id}`")),
            // Instances that used it may still be shutting down.
            Err(e)
                if e.to_string().contains("DependencyViolation")
                    && started.elapsed() < DELETE_TIMEOUT =>
            {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
