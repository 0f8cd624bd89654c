//! A saved plan applies exactly: only to the AWS state it was made against, and with
//! the change sets it made.

use std::collections::BTreeMap;

use super::SessionError;
use crate::observe::CallerIdentity;
use crate::plan::Plan;

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
    if let Some(change) = differs {
        return Err(SessionError::StaleRecord(change.name.clone()));
    }
    check_read_outputs(saved, fresh)
}

/// Refuses a saved plan when a stack it reads published another value of an output
/// since (or took one back, or published one it had not).
fn check_read_outputs(saved: &Plan, fresh: &Plan) -> Result<(), SessionError> {
    let stacks = saved.read_outputs.keys().chain(fresh.read_outputs.keys());
    for stack in stacks {
        let (before, now) = (saved.read_outputs.get(stack), fresh.read_outputs.get(stack));
        let outputs = before.into_iter().chain(now).flat_map(|o| o.keys());
        for output in outputs {
            if value(before, output) != value(now, output) {
                return Err(SessionError::StaleOutput {
                    stack: stack.clone(),
                    output: output.clone(),
                });
            }
        }
    }
    Ok(())
}

fn value<'a>(read: Option<&'a BTreeMap<String, String>>, output: &str) -> Option<&'a String> {
    read.and_then(|o| o.get(output))
}
