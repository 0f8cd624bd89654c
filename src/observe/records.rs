//! The state bucket's records that plans and rollouts judge, as plain values: an
//! environment's freeze (who stopped its deploys, when and why) and an instance's
//! readiness signal. `state/` reads and writes them; `docs/state.md` describes every
//! record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the freeze object says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Freeze {
    /// `user@host` of whoever froze it (a person, or the apply that rolled back).
    pub who: String,
    /// When (RFC 3339).
    pub since: String,
    /// Why.
    pub reason: String,
    /// What froze it: `freeze`, or the command that rolled back (`apply`, `rollback`).
    pub by: String,
}

impl Freeze {
    /// `frozen by a@b since T (by `apply`): why`.
    pub fn describe(&self) -> String {
        let by = if self.by == "freeze" {
            String::new()
        } else {
            format!(" (by `{}`)", self.by)
        };
        format!(
            "frozen by {} since {}{by}: {}",
            self.who, self.since, self.reason
        )
    }
}

/// What an instance writes to its readiness signal key
/// ([`super::state_keys::signal`]) once its user data has it serving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// `ok` or `fail`.
    pub status: String,
    /// The spec hash the instance runs (its `rollstack:spec` tag).
    pub spec: String,
}

impl Signal {
    /// Whether it says the instance is ready on spec `spec`.
    pub fn is_ok_for(&self, spec: &str) -> bool {
        self.status == "ok" && self.spec == spec
    }
}

/// A job run rollstack recorded: job `job`'s run at `key` succeeded or failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
    /// The job.
    pub job: String,
    /// The key of the run.
    pub key: String,
    /// Whether it succeeded.
    pub succeeded: bool,
}

/// The commands a freeze holds: the ones that roll something out. `destroy` and `env
/// down` remove an environment and are not held.
pub fn holds(command: &str) -> bool {
    matches!(command, "apply" | "rollback" | "env up")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freeze_holds_what_rolls_out_and_says_who_and_why() {
        assert!(holds("apply") && holds("rollback") && holds("env up"));
        assert!(!holds("destroy") && !holds("env down") && !holds("env gc"));
        let freeze = Freeze {
            who: "ana@ci".to_owned(),
            since: "2026-12-02T10:00:00Z".to_owned(),
            reason: "incident 42".to_owned(),
            by: "freeze".to_owned(),
        };
        assert_eq!(
            freeze.describe(),
            "frozen by ana@ci since 2026-12-02T10:00:00Z: incident 42"
        );
        let automatic = Freeze {
            by: "apply".to_owned(),
            ..freeze
        };
        assert!(automatic.describe().contains("(by `apply`)"));
    }
}

/// The outputs one successful apply of a stack published (`outputs.json`): what other
/// stacks read as `${stacks.STACK.OUTPUT}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The history entry of the apply that wrote them.
    pub history: u32,
    /// When (RFC 3339).
    pub written_at: String,
    /// The values, by output name.
    pub outputs: BTreeMap<String, String>,
}
