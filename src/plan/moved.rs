//! `moved:`: a group renamed in the file keeps its live instances. What AWS holds of the
//! old group (instances, their volumes, the launch template) is retagged as the new
//! group in one `CreateTags`; the plan is made as if that had happened, so the new
//! group's change is only what else differs.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::PlanError;
use crate::model::{Address, Stack};
use crate::observe::group_of;
use crate::observe::{Observed, aws_name, tags};

/// Live resources of a group re-addressed under its new name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Move {
    /// The old address (`group.web`).
    pub from: Address,
    /// The new address (`group.www`).
    pub to: Address,
    /// The group's instances.
    pub instances: Vec<String>,
    /// Their EBS volumes.
    pub volumes: Vec<String>,
    /// The group's launch template (its name stays: AWS cannot rename one).
    pub launch_template: Option<String>,
    /// The tags every one of them gets (`rollstack:resource`, `Name`).
    pub tags: BTreeMap<String, String>,
}

impl Move {
    /// Every resource id the move retags.
    pub fn resources(&self) -> Vec<String> {
        let mut ids = self.instances.clone();
        ids.extend(self.volumes.iter().cloned());
        ids.extend(self.launch_template.iter().cloned());
        ids
    }
}

/// What AWS would hold once the stack's `moved` entries are carried out, and the moves
/// that get it there. An entry whose old group has nothing live is done (or was never
/// needed) and moves nothing; an entry whose old and new groups both have live
/// resources cannot be carried out.
pub fn relocate<'a>(
    stack: &Stack,
    observed: &'a Observed,
) -> Result<(Cow<'a, Observed>, Vec<Move>), PlanError> {
    if stack.moved.is_empty() {
        return Ok((Cow::Borrowed(observed), Vec::new()));
    }
    let mut relocated = observed.clone();
    let mut moves = Vec::new();
    // A model without the new group (`destroy` empties it) deletes what it finds; there
    // is nothing to move to.
    for entry in stack
        .moved
        .iter()
        .filter(|m| stack.groups.contains_key(&m.to))
    {
        let holds = |observed: &Observed, group: &str| {
            let instances: Vec<usize> = (0..observed.instances.len())
                .filter(|n| group_of(&observed.instances[*n]).as_deref() == Some(group))
                .collect();
            let template = (0..observed.launch_templates.len())
                .find(|n| observed.launch_templates[*n].group(stack).as_deref() == Some(group));
            (instances, template)
        };
        let (instances, template) = holds(&relocated, &entry.from);
        if instances.is_empty() && template.is_none() {
            continue;
        }
        let (already, already_template) = holds(&relocated, &entry.to);
        if !already.is_empty() || already_template.is_some() {
            return Err(PlanError::MoveConflict {
                from: Address::Group(entry.from.clone()),
                to: Address::Group(entry.to.clone()),
            });
        }
        let to = Address::Group(entry.to.clone());
        let moved_tags = BTreeMap::from([
            (tags::RESOURCE.to_owned(), to.to_string()),
            (tags::NAME.to_owned(), aws_name(stack, &entry.to)),
        ]);
        let mut volumes = Vec::new();
        for n in &instances {
            let instance = &mut relocated.instances[*n];
            instance.tags.extend(moved_tags.clone());
            volumes.extend(instance.volume_ids.iter().cloned());
        }
        let launch_template = template.map(|n| {
            let template = &mut relocated.launch_templates[n];
            template.tags.extend(moved_tags.clone());
            template.id.clone()
        });
        moves.push(Move {
            from: Address::Group(entry.from.clone()),
            to,
            instances: instances
                .iter()
                .map(|n| relocated.instances[*n].id.clone())
                .collect(),
            volumes,
            launch_template,
            tags: moved_tags,
        });
    }
    Ok((Cow::Owned(relocated), moves))
}
