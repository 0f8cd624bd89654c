//! `rollstack history STACK [--env E] [--format json]`.

use std::process::ExitCode;

use super::Failure;
use crate::apply::history;
use crate::aws::Reach;
use crate::cli::{HistoryArgs, ListFormat};

/// Lists the applies recorded for the environment, oldest first.
pub fn run(args: &HistoryArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stack = super::load(&args.stack, args.env.as_deref())?;
    let bucket = super::state_bucket(&stack, "history")?;
    let runtime = super::runtime()?;
    let entries = runtime.block_on(async {
        let aws = super::connect(&stack, reach).await?;
        history::list(&aws, &bucket, &stack.name, &stack.environment.name)
            .await
            .map_err(Failure::Aws)
    })?;
    let text = match args.format {
        ListFormat::Json => super::json(&entries)?,
        ListFormat::Text if entries.is_empty() => format!(
            "No applies recorded for {}/{}.\n",
            stack.name, stack.environment.name
        ),
        ListFormat::Text => {
            let mut text = format!(
                "{:>4}  {:<20}  {:<8}  {:<11}  {:<24}  {:<18}  {}\n",
                "#", "started", "command", "outcome", "releases", "commit", "who"
            );
            for e in &entries {
                text.push_str(&format!(
                    "{:>4}  {:<20}  {:<8}  {:<11}  {:<24}  {:<18}  {}\n",
                    e.seq,
                    e.started,
                    e.command,
                    e.outcome.word(),
                    e.releases.join(" "),
                    short_commit(&e.commit),
                    e.who
                ));
                if !e.ignored_alarms.is_empty() {
                    let alarms = crate::diagnostic::list(e.ignored_alarms.iter());
                    text.push_str(&format!(
                        "      --ignore-alarms: rolled out under {alarms} in ALARM\n"
                    ));
                }
            }
            text
        }
    };
    super::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `4014ffb67087` or `4014ffb67087-dirty`.
fn short_commit(commit: &str) -> String {
    let dirty = commit.ends_with("-dirty");
    let head = commit.trim_end_matches("-dirty");
    let short = head.get(..12).unwrap_or(head);
    if dirty {
        format!("{short}-dirty")
    } else {
        short.to_owned()
    }
}
