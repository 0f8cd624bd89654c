//! `rollstack env` and its subcommands' arguments.

use std::path::PathBuf;

use clap::Subcommand;

use super::{AwsArgs, ListFormat, RunArgs};

/// `rollstack env`: short-lived copies of a stack, shaped by an ephemeral overlay.
#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Apply the stack as environment NAME, shaped by an ephemeral overlay; again, to
    /// update it and move its expiry.
    Up(EnvUpArgs),
    /// Destroy everything environment NAME owns.
    Down(EnvDownArgs),
    /// List the stack's environments found in AWS, with overlay, age and expiry.
    List(EnvListArgs),
    /// Destroy every expired ephemeral environment of the stack.
    Gc(EnvGcArgs),
}

/// Arguments of `rollstack env up`.
#[derive(Debug, clap::Args)]
pub struct EnvUpArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// The environment's name (`[a-z0-9-]{1,24}`, e.g. `pr-123`).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The ephemeral overlay (an `environments` entry with `ephemeral`) to shape it.
    #[arg(long, value_name = "OVERLAY")]
    pub from: String,
    /// Lifetime from now (default: the overlay's `ttl`).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub ttl: Option<std::time::Duration>,
    /// The time to count from (RFC 3339), instead of the clock.
    #[arg(long, value_parser = humantime::parse_rfc3339_weak, value_name = "TIME")]
    pub now: Option<std::time::SystemTime>,
    /// How to run.
    #[command(flatten)]
    pub run: RunArgs,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack env down`.
#[derive(Debug, clap::Args)]
pub struct EnvDownArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// The environment's name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Destroy an environment without an expiry (a long-lived one); must repeat NAME.
    #[arg(long, value_name = "NAME")]
    pub force: Option<String>,
    /// How to run.
    #[command(flatten)]
    pub run: RunArgs,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack env list`.
#[derive(Debug, clap::Args)]
pub struct EnvListArgs {
    /// The stack file (for the stack's name, region and endpoint).
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    /// The time to judge expiry by (RFC 3339), instead of the clock.
    #[arg(long, value_parser = humantime::parse_rfc3339_weak, value_name = "TIME")]
    pub now: Option<std::time::SystemTime>,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack env gc`.
#[derive(Debug, clap::Args)]
pub struct EnvGcArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Show what would be destroyed, and destroy nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The time to judge expiry by (RFC 3339), instead of the clock.
    #[arg(long, value_parser = humantime::parse_rfc3339_weak, value_name = "TIME")]
    pub now: Option<std::time::SystemTime>,
    /// Resources destroyed at once, per environment.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub parallelism: usize,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}
