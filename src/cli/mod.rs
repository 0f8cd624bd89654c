//! The command line: every clap type in one place.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

mod complete;
mod env;
mod operate;
mod plan;

use complete::environment_completer;
pub use env::{EnvCommand, EnvDownArgs, EnvGcArgs, EnvListArgs, EnvUpArgs};
pub use operate::{FreezeArgs, HostsArgs, HostsFormat, RunJobArgs, UnfreezeArgs};
pub use plan::{PlanArgs, PlanFormat, SelectArgs};

/// Declarative infrastructure + release reconciler for AWS.
///
/// Stack files describe roles, instance groups, app versions and environments;
/// rollstack validates them, draws their dependency graph, and plans them against live
/// AWS state.
#[derive(Debug, Parser)]
#[command(
    name = "rollstack",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Exit codes: 0 success; 1 error, a mistyped command line included; \
                  2 only from `plan --detailed-exitcode`, when there are changes."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How to reach AWS: on every command that calls it, and on no other.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// AWS endpoint to use instead of the region's (a local endpoint such as moto);
    /// S3 then uses path-style addressing.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Time to open a connection to AWS [default: 5s].
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub connect_timeout: Option<std::time::Duration>,
    /// Time for one attempt of an AWS call, its answer read [default: 30s].
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub attempt_timeout: Option<std::time::Duration>,
    /// Time for one AWS call, its retries and the waits between them; a silent endpoint
    /// fails in this time [default: 100s].
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub call_timeout: Option<std::time::Duration>,
    /// The share of each EC2 API's request bucket rollstack keeps to, leaving the rest
    /// to the account's other tools [default: 50%].
    #[arg(long, value_parser = parse_share, value_name = "PERCENT")]
    pub request_share: Option<f64>,
}

/// `50%` (or `50`) as 0.5: a share from 1% to 100%.
fn parse_share(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(p) if (1.0..=100.0).contains(&p) => Ok(p / 100.0),
        _ => Err(format!("`{text}` is not a share from 1% to 100%")),
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check stack files offline: every problem at once, no AWS call.
    #[command(after_help = "Example:\n  rollstack validate stacks/*.yaml")]
    Validate(ValidateArgs),
    /// Show the dependency graph of a stack.
    #[command(
        after_help = "Example:\n  rollstack graph stacks/shop.yaml --env prod --format mermaid"
    )]
    Graph(GraphArgs),
    /// Compare a stack with live AWS state and show what `apply` would change.
    #[command(
        after_help = "Examples:\n  rollstack plan stacks/shop.yaml --env prod\n  rollstack plan stacks/shop.yaml --env prod --format markdown --out prod.plan.json --detailed-exitcode"
    )]
    Plan(PlanArgs),
    /// Plan, confirm and carry out the changes: rolling replacements with health gates.
    #[command(
        after_help = "Examples:\n  rollstack apply stacks/shop.yaml --env staging\n  rollstack apply prod.plan.json --auto-approve"
    )]
    Apply(ApplyArgs),
    /// Delete everything of one environment that rollstack owns.
    #[command(after_help = "Example:\n  rollstack destroy stacks/shop.yaml --env staging")]
    Destroy(DestroyArgs),
    /// Show groups, versions, health, rollouts in progress and the lock holder.
    #[command(after_help = "Example:\n  rollstack status stacks/shop.yaml --env prod")]
    Status(StatusArgs),
    /// List an environment's live instances by role, for Ansible, SSH or Fabric.
    #[command(
        after_help = "Examples:\n  rollstack hosts stacks/shop.yaml --env prod --role web\n  ansible-playbook -i <(rollstack hosts stacks/shop.yaml --env prod --format ansible) site.yml"
    )]
    Hosts(HostsArgs),
    /// Hold every `apply`, `rollback` and `env up` of an environment, with a reason.
    #[command(
        after_help = "Example:\n  rollstack freeze stacks/shop.yaml --env prod --reason \"incident 42: checkout errors\""
    )]
    Freeze(FreezeArgs),
    /// Lift a freeze: deploys of the environment may go on.
    #[command(after_help = "Example:\n  rollstack unfreeze stacks/shop.yaml --env prod")]
    Unfreeze(UnfreezeArgs),
    /// List the applies recorded for an environment.
    #[command(
        after_help = "Example:\n  rollstack history stacks/shop.yaml --env prod --format json"
    )]
    History(HistoryArgs),
    /// Plan and apply the model recorded by an earlier apply.
    #[command(
        after_help = "Examples:\n  rollstack rollback stacks/shop.yaml --env prod\n  rollstack rollback stacks/shop.yaml --env prod --to 3"
    )]
    Rollback(RollbackArgs),
    /// Run a release job (or a command like it) by hand; exits with its exit code.
    #[command(
        after_help = "Examples:\n  rollstack run stacks/shop.yaml migrate --env prod\n  rollstack run stacks/shop.yaml migrate --env prod --command \"bin/rails runner 'Cart.purge!'\""
    )]
    Run(RunJobArgs),
    /// Remove a lock left by an apply that is gone.
    #[command(
        after_help = "Example:\n  rollstack unlock stacks/shop.yaml --env prod --force LOCK_ID"
    )]
    Unlock(UnlockArgs),
    /// Create the state bucket (versioned, encrypted, private), or check an existing one.
    #[command(after_help = "Example:\n  rollstack bootstrap stacks/shop.yaml --fix")]
    Bootstrap(BootstrapArgs),
    /// Print the least-privilege IAM policy that `apply`, `plan` or the instances need.
    #[command(
        after_help = "Example:\n  rollstack iam-policy stacks/shop.yaml --env prod --for apply --account 123456789012"
    )]
    IamPolicy(IamPolicyArgs),
    /// Ephemeral environments: up, down, list, gc.
    #[command(
        subcommand,
        after_help = "Examples:\n  rollstack env up stacks/shop.yaml pr-123 --from pr\n  rollstack env gc stacks/shop.yaml --dry-run"
    )]
    Env(EnvCommand),
    /// Print the JSON Schema of the stack file (or of the plan JSON, or of a notification).
    #[command(after_help = "Example:\n  rollstack schema stack > schemas/stack.schema.json")]
    Schema(SchemaArgs),
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  source <(rollstack completions bash)")]
    Completions(CompletionsArgs),
}

/// Arguments of `rollstack validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Stack files to check, or directories of them (several are also checked as a
    /// workspace: no loop of stacks reading each other's outputs).
    #[arg(required = true, value_name = "STACK")]
    pub stacks: Vec<PathBuf>,
}

/// Arguments of `rollstack graph`.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The stack file; several, or a directory: the graph of the stacks, by the
    /// outputs they read of each other.
    #[arg(required = true, value_name = "STACK")]
    pub stacks: Vec<PathBuf>,
    /// Environment; without it, the file as written (every resource of every
    /// environment, without overlays).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

/// Formats of `rollstack graph`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    /// One line per resource, in apply order.
    Text,
    /// Graphviz (`dot -Tsvg`).
    Dot,
    /// Mermaid flowchart (renders on GitHub).
    Mermaid,
}

/// How a command that changes AWS runs.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Apply without asking for `yes` (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Resources applied at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub parallelism: usize,
    /// Wait this long for another apply's lock before giving up (`0s`: fail at once).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub lock_timeout: std::time::Duration,
    /// Time between health polls of a rolling group.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub poll_interval: std::time::Duration,
    /// Print the AWS calls made, per operation, to stderr.
    #[arg(long)]
    pub stats: bool,
    /// Roll out even though an alarm a rollout watches is in `ALARM` already (recorded
    /// in history); such an alarm stops the rollout again once it recovers and fires.
    #[arg(long)]
    pub ignore_alarms: bool,
    /// Apply even though the environment is frozen (`rollstack freeze`, or after a
    /// rollback); recorded in history. The freeze stays.
    #[arg(long)]
    pub ignore_freeze: bool,
    /// How the plan about to be carried out is printed on stdout (`json`: the plan as
    /// `plan --format json` prints it; the outcome then goes to stderr).
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// Arguments of `rollstack apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The stack file, or a plan saved with `plan --out` (applied exactly, or refused
    /// when AWS changed since); several stack files or a directory: a workspace,
    /// applied stack by stack in the order their outputs flow.
    #[arg(required = true, value_name = "STACK|PLANFILE")]
    pub targets: Vec<PathBuf>,
    /// Which stacks of the workspace to apply.
    #[command(flatten)]
    pub select: SelectArgs,
    /// Of a workspace: stacks applied at once, each once the stacks it reads converged
    /// (more than 1 needs `--auto-approve`).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub stack_parallelism: usize,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// How to run.
    #[command(flatten)]
    pub run: RunArgs,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack destroy`.
#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// Destroy even though other stacks of the workspace still read its outputs.
    #[arg(long)]
    pub force: bool,
    /// How to run.
    #[command(flatten)]
    pub run: RunArgs,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// History entry to restore (default: the last successful apply before the current
    /// state).
    #[arg(long, value_name = "N")]
    pub to: Option<u32>,
    /// How to run.
    #[command(flatten)]
    pub run: RunArgs,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The stack file; several, or a directory: each stack's, in workspace order.
    #[arg(required = true, value_name = "STACK")]
    pub stacks: Vec<PathBuf>,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The stack file; several, or a directory: each stack's, in workspace order.
    #[arg(required = true, value_name = "STACK")]
    pub stacks: Vec<PathBuf>,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// Only the entries of this workspace run (`apply DIR` prints its id).
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Formats of `status` and `history`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    /// For people.
    Text,
    /// For machines.
    Json,
}

/// Arguments of `rollstack unlock`.
#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// The id of the lock to remove, as the lock error printed it.
    #[arg(long, value_name = "LOCK_ID")]
    pub force: String,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack bootstrap`.
#[derive(Debug, clap::Args)]
pub struct BootstrapArgs {
    /// The stack file (for its `state_bucket` and region).
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// Set what an existing bucket lacks (otherwise it is listed, exit 1).
    #[arg(long)]
    pub fix: bool,
    /// Print the AWS calls made, per operation, to stderr.
    #[arg(long)]
    pub stats: bool,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack iam-policy`.
#[derive(Debug, clap::Args)]
pub struct IamPolicyArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// Who the policy is for.
    #[arg(long = "for", value_enum, value_name = "WHO")]
    pub purpose: PolicyFor,
    /// The account id to put in ARNs (default `*`: any account).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Who an IAM policy is for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyFor {
    /// Whoever runs `apply`, `destroy`, `rollback` and `env up`/`down` (a CI role).
    Apply,
    /// Whoever runs `plan`, `status` and `history`: reads only.
    Plan,
    /// The instances, through their instance profile's role.
    Instance,
}

/// Arguments of `rollstack schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which document.
    #[arg(value_enum, default_value_t = SchemaKind::Stack)]
    pub kind: SchemaKind,
}

/// Documents with a JSON Schema.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// The stack file (`schemas/stack.schema.json`).
    Stack,
    /// The plan JSON of `plan --format json` and `plan --out` (`schemas/plan.schema.json`).
    Plan,
    /// What a `json` webhook of `notify:` is sent (`schemas/notification.schema.json`).
    Notification,
}

/// Arguments of `rollstack completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

impl Command {
    /// How the command reaches AWS; `None` for the commands that never call it.
    pub fn aws(&self) -> Option<&AwsArgs> {
        match self {
            Command::Validate(_)
            | Command::Graph(_)
            | Command::Schema(_)
            | Command::Completions(_) => None,
            Command::Plan(a) => Some(&a.aws),
            Command::Apply(a) => Some(&a.aws),
            Command::Destroy(a) => Some(&a.aws),
            Command::Status(a) => Some(&a.aws),
            Command::History(a) => Some(&a.aws),
            Command::Hosts(a) => Some(&a.aws),
            Command::Freeze(a) => Some(&a.aws),
            Command::Unfreeze(a) => Some(&a.aws),
            Command::Rollback(a) => Some(&a.aws),
            Command::Unlock(a) => Some(&a.aws),
            Command::Run(a) => Some(&a.aws),
            Command::Bootstrap(a) => Some(&a.aws),
            Command::IamPolicy(a) => Some(&a.aws),
            Command::Env(EnvCommand::Up(a)) => Some(&a.aws),
            Command::Env(EnvCommand::Down(a)) => Some(&a.aws),
            Command::Env(EnvCommand::List(a)) => Some(&a.aws),
            Command::Env(EnvCommand::Gc(a)) => Some(&a.aws),
        }
    }
}
