//! Live instances and their EC2 states.

use std::collections::BTreeMap;

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
    /// Instance type.
    pub instance_type: String,
    /// AMI id.
    pub image_id: String,
    /// Subnet, when in a VPC.
    pub subnet_id: Option<String>,
    /// Private IPv4 address.
    pub private_ip: Option<String>,
    /// Public IPv4 address, when it has one.
    pub public_ip: Option<String>,
    /// Launch time, RFC 3339.
    pub launch_time: String,
    /// Security group ids.
    pub security_group_ids: Vec<String>,
    /// Its EBS volumes.
    pub volume_ids: Vec<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl LiveInstance {
    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }
}
