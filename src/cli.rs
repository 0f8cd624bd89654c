//! The command line: every clap type in one place.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Declarative infrastructure + release reconciler for AWS.
///
/// Stack files describe roles, instance groups, app versions and environments;
/// rollstack validates them, draws their dependency graph, and plans them against live
/// AWS state.
#[derive(Debug, Parser)]
#[command(name = "rollstack", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// AWS endpoint to use instead of the region's (a local endpoint such as moto);
    /// S3 then uses path-style addressing.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check stack files offline: every problem at once, no AWS call.
    Validate(ValidateArgs),
    /// Show the dependency graph of a stack.
    Graph(GraphArgs),
    /// Compare a stack with live AWS state and show what `apply` would change.
    Plan(PlanArgs),
    /// Print the JSON Schema of the stack file (or of the plan JSON).
    Schema(SchemaArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// Arguments of `rollstack validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Stack files to check.
    #[arg(required = true, value_name = "STACK")]
    pub stacks: Vec<PathBuf>,
}

/// Arguments of `rollstack graph`.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Environment; without it, the file as written (every resource of every
    /// environment, without overlays).
    #[arg(long, short)]
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

/// Arguments of `rollstack plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Environment (required when the file defines environments).
    #[arg(long, short)]
    pub env: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also save the plan (JSON, with everything `apply` needs) to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Print the AWS calls made, per operation, to stderr.
    #[arg(long)]
    pub stats: bool,
}

/// Formats of `rollstack plan`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PlanFormat {
    /// For terminals: `+ ~ -/+ -` lines and unified diffs.
    Text,
    /// For machines: the plan as saved by `--out` (`schemas/plan.schema.json`).
    Json,
    /// For pull-request comments: a summary table and a collapsible diff per change.
    Markdown,
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
}

/// Arguments of `rollstack completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}
