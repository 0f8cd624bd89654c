//! Why a session stopped before it executed anything, or could not record it.

use crate::aws::AwsError;
use crate::model::Address;
use crate::plan::PlanError;
use crate::state::lock::LockError;

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The stack cannot be planned as it is.
    #[error("{} problem(s) prevent a plan", .0.len())]
    Plan(Vec<PlanError>),
    /// The environment's lock is held, or could not be handled.
    #[error(transparent)]
    Lock(Box<LockError>),
    /// A saved plan no longer matches what AWS holds.
    #[error("plan is stale: {address} changed since the plan was made{}", .change_set.as_ref().map(|(name, problem)| format!(" (its change set `{name}` {problem})")).unwrap_or_default())]
    Stale {
        /// What changed.
        address: Address,
        /// The change set of the saved plan that went stale, and how: (name, problem).
        change_set: Option<(String, String)>,
    },
    /// A saved plan's DNS record changes are not what AWS needs now.
    #[error("plan is stale: DNS record `{0}` changed since the plan was made")]
    StaleRecord(String),
    /// A stack the saved plan reads published another value of an output since.
    #[error("plan is stale: stack `{stack}` published a new `{output}` since the plan was made")]
    StaleOutput {
        /// The producer.
        stack: String,
        /// Its output.
        output: String,
    },
    /// A saved plan was made with another account's credentials than these.
    #[error("the plan was made in account `{planned}`, and the credentials are account `{now}`")]
    OtherAccount {
        /// The account of the saved plan.
        planned: String,
        /// The account of the credentials now.
        now: String,
    },
    /// Confirmation is needed, and nobody can give it.
    #[error("`{0}` needs confirmation, and stdin is not a terminal")]
    NoTerminal(&'static str),
    /// Alarms a rollout watches are in `ALARM` before it starts.
    #[error("{}", firing(.0))]
    Alarms(Vec<crate::observe::LiveAlarm>),
    /// The environment is frozen, and the command rolls something out.
    #[error("`{stack}` / `{env}` is {}; `{command}` does not run while it is", .freeze.describe())]
    Frozen {
        /// The freeze.
        freeze: Box<crate::state::freeze::Freeze>,
        /// The command refused.
        command: &'static str,
        /// The stack's name.
        stack: String,
        /// The environment's name.
        env: String,
        /// The stack file argument, for the hint.
        stack_arg: String,
    },
    /// Reading the confirmation or writing the plan failed.
    #[error("cannot read the confirmation or write the plan: {0}")]
    Io(#[from] std::io::Error),
    /// No plan could be made for another reason.
    #[error(transparent)]
    Planning(crate::planning::PlanningError),
}

impl From<crate::planning::PlanningError> for SessionError {
    fn from(error: crate::planning::PlanningError) -> SessionError {
        use crate::planning::PlanningError;
        match error {
            PlanningError::Aws(e) => SessionError::Aws(e),
            PlanningError::Plan(errors) => SessionError::Plan(errors),
            PlanningError::StaleChangeSet {
                address,
                name,
                problem,
            } => SessionError::Stale {
                address,
                change_set: Some((name, problem)),
            },
            other => SessionError::Planning(other),
        }
    }
}

impl SessionError {
    /// What to do, where there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            SessionError::Aws(e) => Some(e.hint()),
            SessionError::Lock(e) => e.hint(),
            SessionError::Stale {
                change_set: Some(_),
                ..
            } => Some("nothing was changed; make a new plan with `rollstack plan STACK --changesets --out FILE`".to_owned()),
            SessionError::Stale { .. } | SessionError::StaleRecord(_) => Some(
                "nothing was changed; make a new plan with `rollstack plan STACK --out FILE`"
                    .to_owned(),
            ),
            SessionError::StaleOutput { stack, .. } => Some(format!(
                "nothing was changed; make a new plan now that `{stack}` is applied (`rollstack plan STACK --out FILE`), or plan and apply the workspace in one go (`rollstack apply DIR`)"
            )),
            SessionError::OtherAccount { planned, .. } => Some(format!(
                "nothing was changed; apply it with credentials of account `{planned}`, or make a new plan"
            )),
            SessionError::NoTerminal(_) => Some(
                "review the plan above and pass `--auto-approve` to run without asking".to_owned(),
            ),
            SessionError::Alarms(_) => Some(
                "nothing was changed; wait until the alarm recovers, or roll out anyway with `--ignore-alarms` (recorded in history)".to_owned(),
            ),
            SessionError::Frozen { stack_arg, env, .. } => Some(format!(
                "nothing was changed; once it is safe, `rollstack unfreeze {stack_arg} --env {env}`, or run anyway with `--ignore-freeze` (recorded in history)"
            )),
            SessionError::Plan(_) | SessionError::Io(_) | SessionError::Planning(_) => None,
        }
    }
}

/// `alarm `web-5xx` is in ALARM: Threshold Crossed; ...`.
fn firing(alarms: &[crate::observe::LiveAlarm]) -> String {
    alarms
        .iter()
        .map(|a| format!("alarm `{}` is in ALARM: {}", a.name, a.reason))
        .collect::<Vec<_>>()
        .join("; ")
}
