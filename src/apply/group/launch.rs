//! Launching a batch of a group's instances: spread over its subnets, fullest last, and
//! moved to the other subnets when a zone has no capacity for the instance type.

use std::collections::{BTreeMap, BTreeSet};

use super::Target;
use crate::apply::Executor;
use crate::aws::{AwsError, Batch, NO_CAPACITY};
use crate::model::{Address, Group};
use crate::observe::tags;
use crate::plan::diff::short_hash;
use crate::rollout::Member;

/// Launches `n` instances of `target` for group `name`: one `RunInstances` per subnet
/// the batch lands in. A subnet whose zone has no capacity is left out and its share
/// goes to the others; only when every subnet is out (and nothing launched) does the
/// launch fail.
pub(super) async fn launch(
    executor: &Executor,
    name: &str,
    group: &Group,
    target: &Target,
    members: &[Member],
    n: u32,
) -> Result<Vec<(String, Option<String>)>, AwsError> {
    let mut counts: BTreeMap<Option<&str>, u32> = BTreeMap::new();
    if group.subnets.is_empty() {
        counts.insert(None, 0);
    }
    for subnet in &group.subnets {
        let have = members
            .iter()
            .filter(|m| m.current && m.subnet.as_deref() == Some(subnet))
            .count() as u32;
        counts.insert(Some(subnet.as_str()), have);
    }
    let on_target = members.iter().filter(|m| m.current).count();
    // Volumes carry ownership and the user's tags, not the instance's spec.
    let volume_tags: BTreeMap<String, String> = target
        .tags
        .iter()
        .filter(|(k, _)| ![tags::SPEC, tags::ROLES, tags::RELEASE].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let address = Address::Group(name.to_owned());
    let mut full: BTreeSet<Option<&str>> = BTreeSet::new();
    let mut launched = Vec::new();
    let mut left = n;
    while left > 0 {
        let open: BTreeMap<Option<&str>, u32> = counts
            .iter()
            .filter(|(subnet, _)| !full.contains(*subnet))
            .map(|(subnet, count)| (*subnet, *count))
            .collect();
        let mut refused = None;
        for (subnet, add) in spread(&open, left) {
            // Same step, same token: a retried call does not launch twice on real AWS.
            let token = short_hash(&format!(
                "{}/{}/{}/{on_target}/{}/{}",
                target.template_id,
                target.hash,
                subnet.unwrap_or("default"),
                members.len(),
                launched.len()
            ));
            let batch = Batch {
                template_id: &target.template_id,
                version: target.version,
                count: add,
                subnet,
                client_token: &token,
                tags: &target.tags,
                volume_tags: &volume_tags,
            };
            match executor.aws.run_instances(&batch).await {
                Ok(ids) => {
                    left = left.saturating_sub(add);
                    *counts.entry(subnet).or_default() += add;
                    launched.extend(ids.into_iter().map(|id| (id, subnet.map(str::to_owned))));
                }
                Err(e) if e.code() == Some(NO_CAPACITY) => {
                    full.insert(subnet);
                    let others = counts.len() - full.len();
                    let line = no_capacity(&group.instance_type, subnet, others);
                    executor.progress.line(&address, &line);
                    refused = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        if full.len() == counts.len() {
            return match (launched.is_empty(), refused) {
                (true, Some(e)) => Err(e),
                _ => Ok(launched),
            };
        }
    }
    Ok(launched)
}

/// `n` new instances spread over `subnets` (each with its current count): one at a
/// time to the subnet with the fewest, the first by name on a tie.
fn spread<'a>(subnets: &BTreeMap<Option<&'a str>, u32>, n: u32) -> Vec<(Option<&'a str>, u32)> {
    let mut adds: BTreeMap<Option<&'a str>, (u32, u32)> =
        subnets.iter().map(|(s, have)| (*s, (*have, 0))).collect();
    for _ in 0..n {
        if let Some((_, (_, add))) = adds
            .iter_mut()
            .min_by_key(|(subnet, (have, add))| (*have + *add, **subnet))
        {
            *add += 1;
        }
    }
    adds.into_iter()
        .filter(|(_, (_, add))| *add > 0)
        .map(|(subnet, (_, add))| (subnet, add))
        .collect()
}

/// `no `c6i.large` capacity in `subnet-1` (InsufficientInstanceCapacity): launching in
/// the group's other subnets`.
fn no_capacity(instance_type: &str, subnet: Option<&str>, others: usize) -> String {
    let place = subnet.map_or("the default subnet".to_owned(), |s| format!("`{s}`"));
    let next = if others > 0 {
        ": launching in the group's other subnets"
    } else {
        ""
    };
    format!("no `{instance_type}` capacity in {place} ({NO_CAPACITY}){next}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subnets with their instance counts.
    type Counts = &'static [(&'static str, u32)];

    #[test]
    fn a_batch_fills_the_emptiest_subnets_first() {
        let table: &[(Counts, u32, Counts)] = &[
            (&[("a", 0), ("b", 0)], 3, &[("a", 2), ("b", 1)]),
            (&[("a", 2), ("b", 0)], 2, &[("b", 2)]),
            (&[("a", 2), ("b", 0)], 3, &[("a", 1), ("b", 2)]),
            (&[("a", 5)], 2, &[("a", 2)]),
            (&[("a", 0), ("b", 0)], 0, &[]),
        ];
        for (subnets, n, want) in table {
            let subnets = subnets.iter().map(|(s, c)| (Some(*s), *c)).collect();
            let want: Vec<_> = want.iter().map(|(s, c)| (Some(*s), *c)).collect();
            assert_eq!(spread(&subnets, *n), want, "{subnets:?} + {n}");
        }
    }

    #[test]
    fn no_subnet_at_all_launches_in_the_default_one() {
        let subnets = BTreeMap::from([(None, 3)]);
        assert_eq!(spread(&subnets, 2), [(None, 2)]);
    }
}
