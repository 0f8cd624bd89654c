//! The fleet's DNS records (`dns:`), pure: an A record `{group}-{n}.{env}.{name}` per
//! serving instance, and a multi-value A record `{role}.{env}.{name}` per role, holding
//! the private address of every serving instance with that role. Plan and apply ask
//! the same functions; what "serving" means is theirs to say.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, Change};
use crate::model::{Address, Dns, Stack};
pub use crate::observe::dns::RecordChange;
use crate::observe::dns::{LiveRecord, environment_domain};
use crate::observe::group_of;
use crate::observe::numbering::numbered;
use crate::observe::{InstanceState, LiveInstance, tags};

/// Addresses by record name.
pub type Records = BTreeMap<String, BTreeSet<String>>;

/// The records of `stack` for `instances` (every live one, as observed: they number the
/// instance records) that `serving` admits; instances of a group the file no longer has
/// have none.
pub fn desired(
    stack: &Stack,
    dns: &Dns,
    instances: &[LiveInstance],
    serving: impl Fn(&LiveInstance) -> bool,
) -> Records {
    let domain = environment_domain(&stack.environment.name, &dns.name);
    let numbers = numbered(instances);
    let mut records = Records::new();
    for instance in instances {
        let (Some(number), Some(ip)) = (numbers.get(instance.id.as_str()), &instance.private_ip)
        else {
            continue;
        };
        if !stack.groups.contains_key(&number.group) || !serving(instance) {
            continue;
        }
        let name = format!("{}-{}.{domain}", number.group, number.suffix);
        records.entry(name).or_default().insert(ip.clone());
        for role in instance
            .tag(tags::ROLES)
            .unwrap_or_default()
            .split_whitespace()
        {
            if stack.roles.contains_key(role) {
                let name = format!("{role}.{domain}");
                records.entry(name).or_default().insert(ip.clone());
            }
        }
    }
    records
}

/// The groups `changes` roll (any action but none): their records move with their
/// rollouts, not before.
pub fn rolling(changes: &[Change]) -> BTreeSet<String> {
    changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .filter_map(|c| match &c.address {
            Address::Group(name) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// The records before the rollouts of `rolling` groups: every running instance of the
/// other groups serves; of a rolling group, those running that the records name now (its
/// rollout adds the others once they pass their health gate). What `plan` shows and what
/// `apply` sets before its rollouts.
pub fn steady(
    stack: &Stack,
    dns: &Dns,
    instances: &[LiveInstance],
    live: &[LiveRecord],
    rolling: &BTreeSet<String>,
) -> Records {
    let named = named(live);
    desired(stack, dns, instances, |i| match group_of(i) {
        Some(group) if rolling.contains(&group) => still_named(i, &named),
        _ => i.state == InstanceState::Running,
    })
}

/// The records while group `group` rolls: its instances that `serving` admits, and of
/// the other groups' those still running that the records name now (other rollouts
/// move their own).
pub fn during_rollout(
    stack: &Stack,
    dns: &Dns,
    instances: &[LiveInstance],
    live: &[LiveRecord],
    group: &str,
    serving: impl Fn(&LiveInstance) -> bool,
) -> Records {
    let named = named(live);
    desired(stack, dns, instances, |i| {
        if group_of(i).as_deref() == Some(group) {
            serving(i)
        } else {
            still_named(i, &named)
        }
    })
}

/// The addresses the owned records hold now.
fn named(live: &[LiveRecord]) -> BTreeSet<&str> {
    live.iter()
        .filter(|r| r.owned)
        .flat_map(|r| r.ips.iter().map(String::as_str))
        .collect()
}

/// Whether `instance` runs and the records name it now.
fn still_named(instance: &LiveInstance, named: &BTreeSet<&str>) -> bool {
    instance.state == InstanceState::Running
        && instance
            .private_ip
            .as_deref()
            .is_some_and(|ip| named.contains(ip))
}

/// The changes that make the owned records of `live` into `desired`; the names of
/// `desired` that are someone else's (a record without this environment's marker),
/// which are never touched, as the error.
pub fn changes(desired: &Records, live: &[LiveRecord]) -> Result<Vec<RecordChange>, Vec<String>> {
    let foreign: Vec<String> = live
        .iter()
        .filter(|r| !r.owned && desired.contains_key(&r.name))
        .filter(|r| !r.ips.is_empty() || r.marker.is_some())
        .map(|r| r.name.clone())
        .collect();
    if !foreign.is_empty() {
        return Err(foreign);
    }
    let owned: BTreeMap<&str, &LiveRecord> = live
        .iter()
        .filter(|r| r.owned)
        .map(|r| (r.name.as_str(), r))
        .collect();
    let names: BTreeSet<&str> = desired
        .keys()
        .map(String::as_str)
        .chain(owned.keys().copied())
        .collect();
    let mut out = Vec::new();
    for name in names {
        let before: Vec<String> = owned
            .get(name)
            .map(|r| r.ips.iter().cloned().collect())
            .unwrap_or_default();
        let after: Vec<String> = desired
            .get(name)
            .map(|ips| ips.iter().cloned().collect())
            .unwrap_or_default();
        // An owned name without an A record (a marker left behind) is deleted too.
        let stray_marker = after.is_empty() && before.is_empty() && owned.contains_key(name);
        if before != after || stray_marker {
            out.push(RecordChange {
                name: name.to_owned(),
                before,
                after,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
