//! The freeze around a session: refused at the start unless `--ignore-freeze`, and left
//! behind by a rollback.

use super::{Inputs, Session, SessionError};
use crate::state::freeze::{self, Freeze};
use crate::state::history::{Entry, Outcome};

impl Session {
    /// The environment's freeze, when the command is one a freeze holds; refused unless
    /// `--ignore-freeze` (then it is returned, for history).
    pub(super) async fn check_freeze(
        &self,
        inputs: &Inputs<'_>,
    ) -> Result<Option<Freeze>, SessionError> {
        if !freeze::holds(self.command) {
            return Ok(None);
        }
        let (stack, env) = (&self.stack.name, &self.stack.environment.name);
        let Some(found) = freeze::read(inputs.aws, inputs.bucket, stack, env).await? else {
            return Ok(None);
        };
        if !self.run.ignore_freeze {
            return Err(SessionError::Frozen {
                freeze: Box::new(found),
                command: self.command,
                stack: stack.clone(),
                env: env.clone(),
                stack_arg: self.stack_arg(),
            });
        }
        eprintln!(
            "warning: `{stack}` / `{env}` is {}; going on, as `--ignore-freeze` says (recorded in history; the freeze stays)",
            found.describe()
        );
        Ok(Some(found))
    }

    /// Freezes the environment after a rollback: an automatic one (the failed release
    /// and what failed as the reason) or a successful `rollstack rollback`, so the next
    /// merge does not roll the undone release out again. A freeze already there stays
    /// as it is. The freeze written, if one was.
    pub(super) async fn freeze_after_rollback(
        &self,
        inputs: &Inputs<'_>,
        entry: &Entry,
        problems: &[String],
        held: Option<&Freeze>,
    ) -> Result<Option<Freeze>, SessionError> {
        let releases = entry.releases.join(" ");
        let reason = match (self.command, entry.outcome) {
            (_, Outcome::RolledBack) => format!(
                "{releases} failed and was rolled back (history #{}): {}",
                entry.seq,
                inputs.redactor.redact(&one_line(problems))
            ),
            ("rollback", Outcome::Succeeded) => format!(
                "rolled back to {releases} (history #{}); the releases it replaced are not deployed again until someone unfreezes",
                entry.seq
            ),
            _ => return Ok(None),
        };
        if held.is_some() {
            return Ok(None);
        }
        let (stack, env) = (&self.stack.name, &self.stack.environment.name);
        let written = freeze::now(self.command, reason);
        freeze::write(inputs.aws, inputs.bucket, stack, env, &written).await?;
        eprintln!(
            "`{stack}` / `{env}` is now {}\n  hint: deploys of it are refused until `rollstack unfreeze {} --env {env}`",
            written.describe(),
            self.stack_arg()
        );
        Ok(Some(written))
    }

    /// The stack file as given, for commands to paste (`STACK` for a saved plan).
    fn stack_arg(&self) -> String {
        if self.saved.is_some() {
            "STACK".to_owned()
        } else {
            self.file.display().to_string()
        }
    }
}

/// Problem lines as one line: `a: b; c:` then its indented details.
fn one_line(problems: &[String]) -> String {
    let mut line = String::new();
    let lines = problems.iter().flat_map(|p| p.lines()).map(str::trim);
    for problem in lines.filter(|p| !p.is_empty()) {
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') { " " } else { "; " });
        }
        line.push_str(problem);
    }
    line
}
