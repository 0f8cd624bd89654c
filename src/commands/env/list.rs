//! `rollstack env list STACK [--format json] [--now T]`.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::super::Failure;
use crate::aws::Reach;
use crate::cli::{EnvListArgs, ListFormat};
use crate::observe::environments::EnvironmentSummary;

/// One row of the list.
#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    summary: EnvironmentSummary,
    /// Seconds since its first resource was created.
    age_secs: Option<u64>,
    /// Past its expiry: the next `env gc` destroys it.
    expired: bool,
}

/// Lists every environment of the stack found in AWS.
pub fn run(args: &EnvListArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let file = super::validated(&args.stack)?;
    let stack = super::model_for(&file, "", None);
    let now = args.now.unwrap_or_else(SystemTime::now);
    let rows: Vec<Row> = super::environments(&stack, reach)?
        .into_iter()
        .map(|summary| Row {
            age_secs: summary
                .created
                .as_deref()
                .and_then(|c| humantime::parse_rfc3339_weak(c).ok())
                .and_then(|c| now.duration_since(c).ok())
                .map(|d| d.as_secs()),
            expired: summary.expired(now),
            summary,
        })
        .collect();
    let text = match args.format {
        ListFormat::Json => super::super::json(&rows)?,
        ListFormat::Text => text(&stack.name, &rows),
    };
    super::super::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn text(stack: &str, rows: &[Row]) -> String {
    if rows.is_empty() {
        return format!("Stack `{stack}` has no environment in AWS.\n");
    }
    let mut out = format!(
        "{:<24}  {:<10}  {:<8}  {:<30}  {}\n",
        "ENVIRONMENT", "OVERLAY", "AGE", "EXPIRES", "INSTANCES"
    );
    for row in rows {
        let s = &row.summary;
        let age = row
            .age_secs
            .map(|secs| {
                // Minutes are precise enough for a list.
                humantime::format_duration(Duration::from_secs(secs / 60 * 60)).to_string()
            })
            .unwrap_or_else(|| "-".to_owned());
        let expires = match (&s.expires_at, row.expired) {
            (Some(at), true) => format!("{at} (expired)"),
            (Some(at), false) => at.clone(),
            (None, _) => "never (long-lived)".to_owned(),
        };
        let instances = if s.instances.is_empty() {
            "none".to_owned()
        } else {
            s.instances
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "{:<24}  {:<10}  {:<8}  {:<30}  {instances}\n",
            s.name,
            s.overlay.as_deref().unwrap_or("-"),
            age,
            expires
        ));
    }
    out
}
