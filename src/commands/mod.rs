//! One file per command. Each returns the exit code or a [`Failure`].

pub mod apply;
pub mod bootstrap;
pub mod completions;
pub mod destroy;
pub mod env;
pub mod freeze;
pub mod graph;
pub mod history;
pub mod hosts;
pub mod iam_policy;
pub mod plan;
pub mod rollback;
pub mod run;
pub mod schema;
pub mod session;
pub mod status;
pub mod unlock;
pub mod validate;
pub mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::aws::{AwsError, CallStats, Reach, Timeouts};
use crate::cli::{Cli, Command};
pub use crate::diagnostic::color_on;
use crate::diagnostic::{self, Diagnostic, Diagnostics};
use crate::plan::PlanError;

/// Why a command failed; printed to stderr, exit 1.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The input has problems.
    #[error("{} problem(s) in the input", .0.len())]
    Invalid(Diagnostics),
    /// An AWS call failed.
    #[error(transparent)]
    Aws(AwsError),
    /// The stack cannot be planned as it is.
    #[error("{} problem(s) prevent a plan", .0.len())]
    Plan(Vec<PlanError>),
    /// Writing a file failed.
    #[error("cannot write `{}`: {error}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        error: std::io::Error,
    },
    /// A JSON file given to `apply` is not a plan this rollstack saved.
    #[error("`{}` is not a plan this rollstack can apply: {source}", .path.display())]
    UnreadablePlan {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A session refused to go on.
    #[error(transparent)]
    Session(crate::apply::session::SessionError),
    /// The command refuses to go on.
    #[error("{message}")]
    Refused {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
    /// The environment's lock is held, or could not be handled.
    #[error(transparent)]
    Lock(Box<crate::state::lock::LockError>),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl From<crate::planning::PlanningError> for Failure {
    fn from(error: crate::planning::PlanningError) -> Failure {
        use crate::planning::PlanningError;
        match error {
            PlanningError::Aws(e) => Failure::Aws(e),
            PlanningError::Plan(errors) => Failure::Plan(errors),
            other => Failure::Refused {
                message: other.to_string(),
                hint: "make the plan again".to_owned(),
            },
        }
    }
}

impl From<crate::apply::session::SessionError> for Failure {
    fn from(error: crate::apply::session::SessionError) -> Failure {
        use crate::apply::session::SessionError;
        match error {
            SessionError::Aws(e) => Failure::Aws(e),
            SessionError::Plan(errors) => Failure::Plan(errors),
            SessionError::Lock(e) => Failure::Lock(e),
            SessionError::Io(e) => Failure::Output(e),
            other => Failure::Session(other),
        }
    }
}

/// Runs the command the user gave.
pub fn run(cli: Cli) -> ExitCode {
    let defaults = Timeouts::default();
    let aws = cli.command.aws().cloned().unwrap_or_default();
    let reach = &Reach {
        endpoint_url: aws.endpoint_url,
        timeouts: Timeouts {
            connect: aws.connect_timeout.unwrap_or(defaults.connect),
            attempt: aws.attempt_timeout.unwrap_or(defaults.attempt),
            call: aws.call_timeout.unwrap_or(defaults.call),
        },
        request_share: aws.request_share,
    };
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Plan(args) => plan::run(args, reach),
        Command::Apply(args) => apply::run(args, reach),
        Command::Destroy(args) => destroy::run(args, reach),
        Command::Status(args) => status::run(args, reach),
        Command::History(args) => history::run(args, reach),
        Command::Hosts(args) => hosts::run(args, reach),
        Command::Freeze(args) => freeze::freeze(args, reach),
        Command::Unfreeze(args) => freeze::unfreeze(args, reach),
        Command::Rollback(args) => rollback::run(args, reach),
        Command::Unlock(args) => unlock::run(args, reach),
        Command::Run(args) => run::run(args, reach),
        Command::Bootstrap(args) => bootstrap::run(args, reach),
        Command::IamPolicy(args) => iam_policy::run(args, reach),
        Command::Env(command) => env::run(command, reach),
        Command::Schema(args) => schema::run(args),
        Command::Completions(args) => completions::run(args),
    };
    result.unwrap_or_else(report_failure)
}

/// Prints why a command failed to stderr: exit 1 (0 for a closed pipe).
pub fn report_failure(failure: Failure) -> ExitCode {
    match failure {
        Failure::Invalid(diagnostics) => {
            report(diagnostics.sorted());
            ExitCode::FAILURE
        }
        Failure::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Failure::Aws(e) => {
            error(&e.to_string(), Some(&e.hint()));
            ExitCode::FAILURE
        }
        Failure::Plan(errors) => {
            for e in &errors {
                error(&e.to_string(), Some(&e.hint()));
            }
            eprintln!(
                "error: no plan: {} to fix",
                diagnostic::plural(errors.len(), "problem")
            );
            ExitCode::FAILURE
        }
        Failure::Refused { message, hint } => {
            error(&message, Some(&hint));
            ExitCode::FAILURE
        }
        Failure::Lock(e) => {
            error(&e.to_string(), e.hint().as_deref());
            ExitCode::FAILURE
        }
        Failure::Session(e) => {
            error(&e.to_string(), e.hint().as_deref());
            ExitCode::FAILURE
        }
        e @ Failure::UnreadablePlan { .. } => {
            error(
                &e.to_string(),
                Some("make the plan again with `rollstack plan STACK --out FILE`"),
            );
            ExitCode::FAILURE
        }
        other => {
            error(&other.to_string(), None);
            ExitCode::FAILURE
        }
    }
}

/// Prints `error: ...` and `  hint: ...` to stderr.
fn error(message: &str, hint: Option<&str>) {
    eprintln!("error: {message}");
    if let Some(hint) = hint {
        eprintln!("  hint: {hint}");
    }
}

/// Whether stderr gets colour: a terminal, and `NO_COLOR` unset.
pub fn color() -> bool {
    color_on(&std::io::stderr())
}

/// Prints diagnostics to stderr.
pub fn report(diagnostics: Vec<Diagnostic>) {
    eprint!("{}", diagnostic::render(&diagnostics, color()));
}

/// The async runtime commands that call AWS run on: one thread. Every command waits on
/// AWS, not on the CPU, and one thread keeps one allocator arena, so the memory a page of
/// `DescribeInstances` took is reused for the next rather than held per worker thread.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Prints the AWS calls made, per operation, to stderr: attempts, throttled attempts,
/// time spent, and time spent waiting for rollstack's own request budget.
pub fn print_stats(stats: &CallStats) {
    let snapshot = stats.snapshot();
    let total: u32 = snapshot.values().map(|s| s.calls).sum();
    eprintln!("AWS calls: {total}");
    for (operation, s) in snapshot {
        eprintln!(
            "  {operation:<45} {:>5} {:>9.1} ms {:>5} throttled {:>9.1} ms waited",
            s.calls,
            s.time.as_secs_f64() * 1000.0,
            s.throttled,
            s.waited.as_secs_f64() * 1000.0
        );
    }
}

/// The model of `env` of the stack file at `path`.
fn load(path: &std::path::Path, env: Option<&str>) -> Result<crate::model::Stack, Failure> {
    crate::validate::validate_file(path)
        .and_then(|v| v.select(path, env))
        .map_err(Failure::Invalid)
}

/// The stack's state bucket, which `command` needs.
fn state_bucket(stack: &crate::model::Stack, command: &str) -> Result<String, Failure> {
    stack.state_bucket.clone().ok_or_else(|| Failure::Refused {
        message: format!("`{command}` needs the stack's state bucket, and the file sets none"),
        hint: "add `state_bucket: NAME` to the stack file".to_owned(),
    })
}

/// Clients for the stack's region.
async fn connect(stack: &crate::model::Stack, reach: &Reach) -> Result<crate::aws::Aws, Failure> {
    crate::aws::Aws::connect(&reach.to(&stack.region))
        .await
        .map_err(Failure::Aws)
}

/// Who the credentials are (one `sts:GetCallerIdentity`), refused when the stack file
/// names another `account_id`; says once on stderr when `AWS_REGION` or the profile
/// names another region than the file's.
async fn identify(
    aws: &crate::aws::Aws,
    stack: &crate::model::Stack,
) -> Result<crate::observe::CallerIdentity, Failure> {
    if let Some((region, source)) = aws.other_configured_region() {
        eprintln!(
            "warning: {source} says `{region}`; stack `{}` is in `{}` (the file's `region`), and rollstack uses that",
            stack.name, stack.region
        );
    }
    let identity = aws.caller_identity().await.map_err(Failure::Aws)?;
    crate::observe::check_account(stack.account_id.as_deref(), &identity).map_err(|wrong| {
        Failure::Refused {
            message: wrong.to_string(),
            hint: format!(
                "use credentials of account `{}` (`AWS_PROFILE`, or the role CI assumes), or change the file's `account_id`",
                wrong.expected
            ),
        }
    })?;
    Ok(identity)
}

/// Writes `text` to stdout.
fn write_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// `value` as pretty JSON, with a final newline.
fn json(value: &impl serde::Serialize) -> Result<String, Failure> {
    let mut json = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Output(std::io::Error::other(e)))?;
    json.push('\n');
    Ok(json)
}
