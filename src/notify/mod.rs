//! Deploy notifications: what a webhook is told (`rollstack.notification/v1`, schema in
//! `schemas/notification.schema.json`), and the one line a chat channel gets. Sending is
//! in [`send`].

pub mod send;

use serde::Serialize;

use crate::model::notify::Event;
use crate::observe::{CallerIdentity, Freeze};
use crate::plan::Summary;

/// The version of the payload; a change that removes or retypes a field makes a `v2`.
pub const SCHEMA: &str = "rollstack.notification/v1";

/// What a `json` webhook is sent: one event of one environment.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[schemars(title = "rollstack notification")]
pub struct Notification {
    /// Always `rollstack.notification/v1`.
    #[schemars(extend("const" = SCHEMA))]
    pub schema: String,
    /// What happened.
    pub event: Event,
    /// The stack.
    pub stack: String,
    /// The environment.
    pub environment: String,
    /// Its AWS region.
    pub region: String,
    /// The command: `apply`, `rollback`, `destroy`, `env up`, `freeze`, `unfreeze`.
    pub command: String,
    /// `user@host` of whoever ran it.
    pub who: String,
    /// The AWS account and caller ARN of its credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<CallerIdentity>,
    /// The git commit of the stack file (`-dirty` with uncommitted changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// `app@version` live before, and asked for by the apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub releases: Option<Releases>,
    /// The plan's counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// The plan's summary line (`Plan: 1 to replace (2 instances).`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Seconds from the start of the apply to this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    /// The apply's history entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<u32>,
    /// What went wrong, sensitive values redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The freeze set or lifted (`frozen`, `unfrozen`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze: Option<Freeze>,
    /// When (RFC 3339).
    pub at: String,
}

/// Releases before and after an apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Releases {
    /// `app@version` the live instances ran when it started.
    pub before: Vec<String>,
    /// `app@version` the stack file asks for.
    pub after: Vec<String>,
}

impl Notification {
    /// An event of `stack`/`environment` by `command`, now; the rest is filled in by
    /// whoever sends it.
    pub fn new(event: Event, stack: &crate::model::Stack, command: &str, who: &str) -> Self {
        Notification {
            schema: SCHEMA.to_owned(),
            event,
            stack: stack.name.clone(),
            environment: stack.environment.name.clone(),
            region: stack.region.clone(),
            command: command.to_owned(),
            who: who.to_owned(),
            identity: None,
            commit: None,
            releases: None,
            summary: None,
            plan: None,
            duration_secs: None,
            history: None,
            message: None,
            freeze: None,
            at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
    }

    /// The line a chat channel gets (`slack`).
    pub fn text(&self) -> String {
        let what = match self.event {
            Event::Started => "started",
            Event::Succeeded => "succeeded",
            Event::Failed => "failed",
            Event::RolledBack => "failed and rolled back",
            Event::Frozen => "froze it",
            Event::Unfrozen => "lifted its freeze",
        };
        let mut line = format!(
            "`{}` / `{}`: `{}` by {} {what}",
            self.stack, self.environment, self.command, self.who
        );
        if let Some(r) = &self.releases {
            if r.before == r.after {
                line.push_str(&format!(", {}", r.after.join(" ")));
            } else {
                line.push_str(&format!(
                    ", {} -> {}",
                    or_none(&r.before),
                    or_none(&r.after)
                ));
            }
        }
        if let Some(commit) = &self.commit {
            line.push_str(&format!(
                " (commit `{}`)",
                commit.get(..12).unwrap_or(commit)
            ));
        }
        if let Some(secs) = self.duration_secs.filter(|_| self.event != Event::Started) {
            line.push_str(&format!(
                " after {}",
                humantime::format_duration(std::time::Duration::from_secs(secs))
            ));
        }
        if let Some(plan) = &self.plan {
            line.push_str(&format!(". {plan}"));
        }
        if let Some(message) = &self.message {
            line.push_str(&format!("\n{message}"));
        }
        if let Some(freeze) = &self.freeze {
            line.push_str(&format!("\nReason: {}", freeze.reason));
        }
        line
    }
}

fn or_none(releases: &[String]) -> String {
    if releases.is_empty() {
        "(none)".to_owned()
    } else {
        releases.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_line_says_who_what_and_the_releases_at_a_glance() {
        let stack =
            crate::testing::stack_from_yaml("rollstack: 1\nstack: shop\nregion: us-east-1\n");
        let mut n = Notification::new(Event::Succeeded, &stack, "apply", "ana@ci");
        n.releases = Some(Releases {
            before: vec!["web@1.0.0".to_owned()],
            after: vec!["web@2.0.0".to_owned()],
        });
        n.commit = Some("4014ffb67087aaaa".to_owned());
        n.duration_secs = Some(95);
        n.plan = Some("Plan: 1 to replace.".to_owned());
        assert_eq!(
            n.text(),
            "`shop` / `default`: `apply` by ana@ci succeeded, web@1.0.0 -> web@2.0.0 (commit `4014ffb67087`) after 1m 35s. Plan: 1 to replace."
        );
        let json = serde_json::to_value(&n).unwrap();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["event"], "succeeded");
        assert!(json.get("freeze").is_none());
    }
}
