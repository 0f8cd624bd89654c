//! The stable part of a host's name: `{group}-{n}`, `n` counting the group's live
//! instances from 0 in launch order (oldest first, the id breaking ties). `hosts` names
//! hosts by it and `dns` names instance records by it.

use std::collections::BTreeMap;

use super::{InstanceState, LiveInstance, group_of};

/// Where an instance stands among its group's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Numbered {
    /// The group (from its `rollstack:resource` tag).
    pub group: String,
    /// `n`, or the instance id for one shutting down or terminated (they count no more).
    pub suffix: String,
}

/// The group and suffix of every instance of `instances` that belongs to a group, by
/// instance id; `instances` as observation lists them (oldest first).
pub fn numbered(instances: &[LiveInstance]) -> BTreeMap<&str, Numbered> {
    let mut next: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for instance in instances {
        let Some(group) = group_of(instance) else {
            continue;
        };
        let gone = matches!(
            instance.state,
            InstanceState::ShuttingDown | InstanceState::Terminated
        );
        let suffix = if gone {
            instance.id.clone()
        } else {
            let n = next.entry(group.clone()).or_default();
            *n += 1;
            (*n - 1).to_string()
        };
        out.insert(instance.id.as_str(), Numbered { group, suffix });
    }
    out
}
