//! Why a node of an apply did not converge.

use std::time::Duration;

use crate::aws::AwsError;
use crate::diagnostic::plural;
use crate::plan::PlanError;

/// An instance that failed its health gate, and why (`signal `fail``).
pub type FailedInstance = (String, String);

/// Why a node did not converge; what converged before it stays.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A check the plan made with known outputs failed with the real ones.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The launch spec could not be rendered with the outputs real now.
    #[error("{0}")]
    Render(String),
    /// Instances failed their health gate and the group stays as it is (`on_failure:
    /// halt`, or nothing to roll back to).
    #[error("{}", halted(.0))]
    Halted(Vec<FailedInstance>),
    /// Instances failed their health gate, and so did the rollback.
    #[error("{}; the rollback failed too: {}", halted(.failed), halted(.again))]
    RollbackFailed {
        /// What failed the rollout.
        failed: Vec<FailedInstance>,
        /// What failed the rollback.
        again: Vec<FailedInstance>,
    },
    /// A removed group's instances did not terminate in time.
    #[error("{} still not terminated after {}", plural(*.left, "instance"), humantime::format_duration(*.waited))]
    NotTerminated {
        /// Instances still live.
        left: usize,
        /// How long apply waited.
        waited: Duration,
    },
    /// CloudFormation refused a change set, or a stack operation ended failed: what the
    /// change set or the stack's events say.
    #[error("{0}")]
    CloudFormation(String),
    /// A security group whose description changed cannot be replaced in place (the
    /// plan refuses it; a hand-edited plan file can still ask).
    #[error("security group `{0}` cannot be replaced: rename it instead")]
    Unreplaceable(String),
    /// A target group's ARN is an output that is still not known.
    #[error("target group `{0}` is not known: its CloudFormation output does not exist")]
    UnknownTargetGroup(String),
    /// A rule names a security group that neither exists nor was created by this apply.
    #[error("security group `{0}` does not exist")]
    NoSecurityGroup(String),
    /// A release job failed: why, and the last lines of its output.
    #[error("{why}{}", if .log.is_empty() { String::new() } else { format!("; the last lines of its output:\n{}", .log.lines().map(|l| format!("  | {l}")).collect::<Vec<_>>().join("\n")) })]
    Job {
        /// Exited with code 3, or did not finish within its timeout.
        why: String,
        /// The last lines of its output.
        log: String,
    },
    /// SIGINT stopped it after a safe step.
    #[error("interrupted")]
    Interrupted,
}

/// `rollout halted: 2 instances failed its health gate (`i-1`: ...; `i-2`: ...)`.
fn halted(failed: &[FailedInstance]) -> String {
    let lines: Vec<String> = failed
        .iter()
        .map(|(id, why)| format!("`{id}`: {why}"))
        .collect();
    format!(
        "rollout halted: {} failed its health gate ({})",
        plural(failed.len(), "instance"),
        lines.join("; ")
    )
}
