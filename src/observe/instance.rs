//! Live instances, their EC2 states, and the group each belongs to.

use std::sync::Arc;

use super::{Tags, tags};
use crate::model::Address;

/// An instance's EC2 state, read once where AWS answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceState {
    /// Starting.
    Pending,
    /// Running.
    Running,
    /// Stopping.
    Stopping,
    /// Stopped.
    Stopped,
    /// Terminating.
    ShuttingDown,
    /// Gone.
    Terminated,
}

impl InstanceState {
    /// Every state, in EC2's order.
    pub const ALL: [InstanceState; 6] = [
        InstanceState::Pending,
        InstanceState::Running,
        InstanceState::ShuttingDown,
        InstanceState::Terminated,
        InstanceState::Stopping,
        InstanceState::Stopped,
    ];

    /// The states that count as live: the ones observation lists.
    pub const LIVE: [InstanceState; 4] = [
        InstanceState::Pending,
        InstanceState::Running,
        InstanceState::Stopping,
        InstanceState::Stopped,
    ];

    /// EC2's name of the state (`shutting-down`).
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
        }
    }

    /// The state EC2 names `name`.
    pub fn parse(name: &str) -> Option<InstanceState> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Starting or running: what a launch is expected to become.
    pub fn is_up(self) -> bool {
        matches!(self, InstanceState::Pending | InstanceState::Running)
    }

    /// Stopping or stopped: someone stopped it (drift; out of service).
    pub fn is_stopped(self) -> bool {
        matches!(self, InstanceState::Stopping | InstanceState::Stopped)
    }
}

impl std::fmt::Display for InstanceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A live instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveInstance {
    /// Instance id.
    pub id: String,
    /// Its state.
    pub state: InstanceState,
    /// Instance type (shared with the observation's others, as are the image, subnet
    /// and launch time).
    pub instance_type: Arc<str>,
    /// AMI id.
    pub image_id: Arc<str>,
    /// Subnet, when in a VPC.
    pub subnet_id: Option<Arc<str>>,
    /// Private IPv4 address.
    pub private_ip: Option<String>,
    /// Public IPv4 address, when it has one.
    pub public_ip: Option<String>,
    /// Launch time, RFC 3339.
    pub launch_time: Arc<str>,
    /// Security group ids.
    pub security_group_ids: Vec<String>,
    /// Its EBS volumes.
    pub volume_ids: Vec<String>,
    /// Tags, their texts shared with the observation's other instances.
    pub tags: Tags,
}

impl LiveInstance {
    /// A running instance `id` with `tags` and nothing else, for tests.
    #[cfg(test)]
    pub fn with_tags(id: &str, tags: &[(&str, &str)]) -> LiveInstance {
        LiveInstance {
            id: id.to_owned(),
            state: InstanceState::Running,
            instance_type: "t3.micro".into(),
            image_id: "ami-1".into(),
            subnet_id: None,
            private_ip: None,
            public_ip: None,
            launch_time: "".into(),
            security_group_ids: Vec::new(),
            volume_ids: Vec::new(),
            tags: tags.iter().copied().collect(),
        }
    }

    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key)
    }
}

/// The group an owned instance belongs to: the group its `rollstack:resource` tag names.
/// When that tag is gone (taken off by hand), the group its `Name` names
/// (`{stack}-{env}-{group}`, read against its own ownership tags): without that, such an
/// instance would belong to no group, and plan and apply would leave it running,
/// unaccounted for; with it, the plan reports the missing tag as drift and the rollout
/// replaces the instance. Plan, apply, `status`, `hosts` and DNS all ask this.
pub fn group_of(instance: &LiveInstance) -> Option<String> {
    if let Some(resource) = instance.tag(tags::RESOURCE) {
        return match Address::try_from(resource.to_owned()).ok()? {
            Address::Group(name) => Some(name),
            _ => None,
        };
    }
    let prefix = format!(
        "{}-{}-",
        instance.tag(tags::STACK)?,
        instance.tag(tags::ENV)?
    );
    instance
        .tag(tags::NAME)?
        .strip_prefix(&prefix)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (tags, the group it belongs to)
    #[test]
    fn the_group_an_instance_belongs_to() {
        let owned = [("rollstack:stack", "shop"), ("rollstack:env", "prod")];
        let with = |more: &[(&'static str, &'static str)]| {
            let mut all = owned.to_vec();
            all.extend_from_slice(more);
            all
        };
        type Row = (Vec<(&'static str, &'static str)>, Option<&'static str>);
        let table: Vec<Row> = vec![
            (
                with(&[
                    ("rollstack:resource", "group.www"),
                    ("Name", "shop-prod-www"),
                ]),
                Some("www"),
            ),
            // The resource tag decides, whatever the Name says.
            (
                with(&[("rollstack:resource", "group.www"), ("Name", "renamed")]),
                Some("www"),
            ),
            (
                with(&[
                    ("rollstack:resource", "job.migrate"),
                    ("Name", "shop-prod-www"),
                ]),
                None,
            ),
            (with(&[("rollstack:resource", "nonsense")]), None),
            // The resource tag taken off by hand: the Name, against its own ownership.
            (with(&[("Name", "shop-prod-www")]), Some("www")),
            (with(&[("Name", "shop-dev-www")]), None),
            (with(&[]), None),
            (vec![("Name", "shop-prod-www")], None),
        ];
        for (tags, group) in table {
            assert_eq!(
                group_of(&LiveInstance::with_tags("i-1", &tags)).as_deref(),
                group,
                "{tags:?}"
            );
        }
    }
}
