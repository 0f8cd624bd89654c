//! Arguments of the commands around `apply` that operators use: `hosts`, `freeze`,
//! `unfreeze`, `run`.

use std::path::PathBuf;

use clap::ValueEnum;

use super::AwsArgs;
use super::complete::environment_completer;

/// Arguments of `rollstack hosts`.
#[derive(Debug, clap::Args)]
pub struct HostsArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// Only hosts with this role; repeat for hosts with any of them (`--role web --role
    /// db`), join with `+` for hosts with all of them (`--role web+pgbouncer`).
    #[arg(long, value_name = "ROLE")]
    pub role: Vec<String>,
    /// Only the hosts of this group.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HostsFormat::Text)]
    pub format: HostsFormat,
    /// Every instance, whatever its state (default: `running` ones only).
    #[arg(long)]
    pub all: bool,
    /// Reach hosts at their public address in `ansible` and `ssh-config` (default: the
    /// private one).
    #[arg(long)]
    pub public: bool,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Formats of `rollstack hosts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HostsFormat {
    /// A table for people.
    Text,
    /// A JSON array of hosts.
    Json,
    /// An Ansible dynamic inventory: `ansible-playbook -i <(rollstack hosts ...)`.
    Ansible,
    /// OpenSSH `Host` blocks named `{stack}-{env}-{group}-{n}`, for `Include`.
    SshConfig,
}

/// Arguments of `rollstack freeze`.
#[derive(Debug, clap::Args)]
pub struct FreezeArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// Why: shown to everyone whose apply the freeze refuses.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack unfreeze`.
#[derive(Debug, clap::Args)]
pub struct UnfreezeArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Arguments of `rollstack run`.
#[derive(Debug, clap::Args)]
pub struct RunJobArgs {
    /// The stack file.
    #[arg(value_name = "STACK")]
    pub stack: PathBuf,
    /// The job to run (`jobs:` in the stack file).
    #[arg(value_name = "JOB")]
    pub job: String,
    /// Environment (required when the file defines environments).
    #[arg(long, short, add = environment_completer())]
    pub env: Option<String>,
    /// Run this version of the job's app instead of the file's.
    #[arg(long, value_name = "VERSION")]
    pub release: Option<String>,
    /// Run this shell command instead of the job's script, with the job's launch
    /// settings (`heroku run`, `kamal app exec`).
    #[arg(long, value_name = "COMMAND")]
    pub command: Option<String>,
    /// Wait this long for another apply's lock before giving up (`0s`: fail at once).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub lock_timeout: std::time::Duration,
    /// Time between two looks at the job's instance.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub poll_interval: std::time::Duration,
    /// How to reach AWS.
    #[command(flatten)]
    pub aws: AwsArgs,
}
