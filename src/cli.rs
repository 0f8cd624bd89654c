//! The command line: every clap type in one place.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Declarative infrastructure + release reconciler for AWS.
///
/// Stack files describe roles, instance groups, app versions and environments;
/// rollstack validates them, draws their dependency graph, and (soon) plans and applies
/// them against live AWS state.
#[derive(Debug, Parser)]
#[command(name = "rollstack", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
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
    /// Print the JSON Schema of the stack file.
    Schema,
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

/// Arguments of `rollstack completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}
