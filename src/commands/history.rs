//! `rollstack history STACK... [--env E] [--run ID] [--format json]`.

use std::process::ExitCode;

use super::Failure;
use crate::aws::Reach;
use crate::cli::{HistoryArgs, ListFormat};
use crate::model::Stack;
use crate::state::history;

/// Lists the applies recorded for the environment (of each stack of a workspace, in
/// order), oldest first; with `--run`, those of one workspace run.
pub fn run(args: &HistoryArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stacks = super::workspace::stacks(&args.stacks, args.env.as_deref())?;
    let runtime = super::runtime()?;
    let mut listed = Vec::new();
    for stack in &stacks {
        let (mut entries, frozen) = runtime.block_on(read(stack, reach))?;
        if let Some(id) = &args.run {
            entries.retain(|e| e.run.as_ref().is_some_and(|r| &r.id == id));
        }
        listed.push((stack, entries, frozen));
    }
    let text = match (args.format, listed.as_slice()) {
        (ListFormat::Json, [(_, entries, _)]) => super::json(entries)?,
        (ListFormat::Json, all) => {
            let stacks: Vec<serde_json::Value> = all
                .iter()
                .map(|(stack, entries, _)| serde_json::json!({ "stack": stack.name, "entries": entries }))
                .collect();
            super::json(&serde_json::json!({ "stacks": stacks }))?
        }
        (ListFormat::Text, all) => all
            .iter()
            .map(|(stack, entries, frozen)| {
                listing(stack, entries, frozen.as_ref(), args.run.as_deref())
            })
            .collect::<Vec<_>>()
            .join("\n"),
    };
    super::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The history and freeze of `stack`'s environment.
async fn read(
    stack: &Stack,
    reach: &Reach,
) -> Result<(Vec<history::Entry>, Option<crate::state::freeze::Freeze>), Failure> {
    let bucket = super::state_bucket(stack, "history")?;
    let aws = super::connect(stack, reach).await?;
    let (name, env) = (&stack.name, &stack.environment.name);
    tokio::try_join!(
        history::list(&aws, &bucket, name, env),
        crate::state::freeze::read(&aws, &bucket, name, env),
    )
    .map_err(Failure::Aws)
}

/// The freeze, then the entries, or a line saying there are none (of workspace run
/// `run`, when asked for one).
fn listing(
    stack: &Stack,
    entries: &[history::Entry],
    frozen: Option<&crate::state::freeze::Freeze>,
    run: Option<&str>,
) -> String {
    let mut text = frozen
        .map(|f| format!("Frozen: this environment is {}\n\n", f.describe()))
        .unwrap_or_default();
    if entries.is_empty() {
        let of_run = run
            .map(|id| format!(" of workspace run `{id}`"))
            .unwrap_or_default();
        text.push_str(&format!(
            "No applies{of_run} recorded for {}/{}.\n",
            stack.name, stack.environment.name
        ));
    } else {
        text.push_str(&self::text(stack, entries));
    }
    text
}

/// The entries as a table, each followed by what went wrong, the alarms and freeze it
/// ignored, and the freeze it left.
fn text(stack: &Stack, entries: &[history::Entry]) -> String {
    let mut text = format!(
        "History of {}/{} ({}):\n\n{:>4}  {:<20}  {:>7}  {:<8}  {:<11}  {:<12}  {:<24}  {:<18}  {}\n",
        stack.name,
        stack.environment.name,
        stack.region,
        "#",
        "started",
        "took",
        "command",
        "outcome",
        "account",
        "releases",
        "commit",
        "who"
    );
    for e in entries {
        let account = e.identity.as_ref().map_or("-", |i| i.account.as_str());
        text.push_str(&format!(
            "{:>4}  {:<20}  {:>7}  {:<8}  {:<11}  {:<12}  {:<24}  {:<18}  {}\n",
            e.seq,
            e.started,
            took(e.duration_secs),
            e.command,
            e.outcome.word(),
            account,
            e.releases.join(" "),
            short_commit(&e.commit),
            e.who
        ));
        if let Some(message) = &e.message {
            for line in message.lines() {
                text.push_str(&format!("      {line}\n"));
            }
        }
        if !e.ignored_alarms.is_empty() {
            let alarms = crate::diagnostic::list(e.ignored_alarms.iter());
            text.push_str(&format!(
                "      --ignore-alarms: rolled out under {alarms} in ALARM\n"
            ));
        }
        if let Some(freeze) = &e.ignored_freeze {
            text.push_str(&format!(
                "      --ignore-freeze: ran while {}\n",
                freeze.describe()
            ));
        }
        if let Some(freeze) = &e.froze {
            text.push_str(&format!("      froze the environment: {}\n", freeze.reason));
        }
        if let Some(run) = &e.run {
            let stacks = crate::diagnostic::list(run.stacks.iter());
            text.push_str(&format!("      workspace run `{}` of {stacks}\n", run.id));
        }
    }
    text
}

/// `42s`, `3m05s`, `1h02m`.
fn took(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_at_a_glance() {
        for (secs, text) in [(0, "0s"), (59, "59s"), (185, "3m05s"), (3720, "1h02m")] {
            assert_eq!(super::took(secs), text);
        }
    }
}
