//! A saved plan applies exactly: only to the AWS state it was made against, and with
//! the change sets it made.

use super::SessionError;
use crate::aws::Aws;
use crate::observe::CallerIdentity;
use crate::plan::{Detail, Plan};

/// Refuses a saved plan made with another account's credentials (a plan without an
/// identity predates it and is judged by its fingerprints alone).
pub(super) fn check_account(saved: &Plan, now: &CallerIdentity) -> Result<(), SessionError> {
    match &saved.identity {
        Some(planned) if planned.account != now.account => Err(SessionError::OtherAccount {
            planned: planned.account.clone(),
            now: now.account.clone(),
        }),
        _ => Ok(()),
    }
}

/// Refuses a saved plan when something it observed changed since.
pub(super) fn check_fresh(saved: &Plan, fresh: &Plan) -> Result<(), SessionError> {
    let stale = saved
        .fingerprints
        .iter()
        .find(|(address, print)| fresh.fingerprints.get(*address) != Some(print))
        .map(|(address, _)| address.clone())
        .or_else(|| {
            fresh
                .fingerprints
                .keys()
                .find(|a| !saved.fingerprints.contains_key(*a))
                .cloned()
        });
    if let Some(address) = stale {
        return Err(SessionError::Stale {
            address,
            change_set: None,
        });
    }
    // DNS records have no fingerprint: the changes themselves must be the same.
    let differs = saved
        .dns
        .iter()
        .find(|c| !fresh.dns.contains(c))
        .or_else(|| fresh.dns.iter().find(|c| !saved.dns.contains(c)));
    match differs {
        Some(change) => Err(SessionError::StaleRecord(change.name.clone())),
        None => Ok(()),
    }
}

/// Takes the saved plan's change sets into the fresh plan, so that apply executes
/// exactly them; one that is gone or no longer executable makes the plan stale.
pub(super) async fn adopt_change_sets(
    aws: &Aws,
    saved: &Plan,
    fresh: &mut Plan,
) -> Result<(), SessionError> {
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
            return Err(SessionError::Stale {
                address: change.address.clone(),
                change_set: Some((change_set.name.clone(), problem)),
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
