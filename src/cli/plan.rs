//! The arguments of `rollstack plan`, and the selection of a workspace's stacks.

use std::path::PathBuf;

use clap::ValueEnum;

use super::AwsArgs;
use super::complete::environment_completer;

/// Which stacks of a workspace a command takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectArgs {
    /// Only the stacks whose file, or a file it reads, changed since this git ref (and
    /// every stack reading their outputs).
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,
}

/// Arguments of `rollstack plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The stack file; several, or a directory: a workspace, planned in the order their
    /// outputs flow.
    #[arg(required = true, value_name = "STACK")]
    pub stacks: Vec<PathBuf>,
    /// Which stacks of the workspace to plan.
    #[command(flatten)]
    pub select: SelectArgs,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also save the plan (JSON, with everything `apply` needs) to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Of a workspace: save each stack's plan in this directory as `STACK.plan.json`,
    /// and with `--format markdown` its comment body as `STACK.md`.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub out_dir: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Create a CloudFormation change set per changed stack (this writes to AWS) and show
    /// CloudFormation's own resource changes; `apply` of the saved plan executes them.
    #[arg(long)]
    pub changesets: bool,
    /// Print the AWS calls made, per operation, to stderr.
    #[arg(long)]
    pub stats: bool,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Formats of `rollstack plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For terminals: `+ ~ -/+ -` lines and unified diffs.
    Text,
    /// For machines: the plan as saved by `--out` (`schemas/plan.schema.json`).
    Json,
    /// For pull-request comments: a summary table and a collapsible diff per change.
    Markdown,
}
