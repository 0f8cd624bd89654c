//! SIGINT during a session: before anything changed it stops the session, during the
//! apply it stops every node after a safe step; and the confirmation it cancels.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::SessionError;
use crate::plan::Plan;

/// SIGINT, listened to for the whole session.
pub(super) struct Interrupt {
    /// Set once SIGINT came (the executor's cancel flag).
    pub(super) flag: Arc<AtomicBool>,
    /// Woken when it comes.
    notify: Arc<tokio::sync::Notify>,
    listener: tokio::task::JoinHandle<()>,
}

impl Interrupt {
    pub(super) fn listen() -> Interrupt {
        let flag = Arc::new(AtomicBool::new(false));
        let notify = Arc::new(tokio::sync::Notify::new());
        let (set, wake) = (flag.clone(), notify.clone());
        let listener = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "interrupt: finishing the current step, then stopping (the lock is released)"
                );
                set.store(true, Ordering::SeqCst);
                wake.notify_one();
            }
        });
        Interrupt {
            flag,
            notify,
            listener,
        }
    }

    pub(super) fn happened(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    pub(super) fn stop(self) {
        self.listener.abort();
    }

    /// Asks for `yes` on the terminal, naming the account and region; refuses when stdin
    /// is not one. SIGINT at the question is a no.
    pub(super) async fn confirm(
        &self,
        command: &'static str,
        plan: &Plan,
    ) -> Result<bool, SessionError> {
        if !std::io::stdin().is_terminal() {
            return Err(SessionError::NoTerminal(command));
        }
        let account = plan
            .identity
            .as_ref()
            .map(|i| format!(" in account `{}`", i.account))
            .unwrap_or_default();
        eprint!(
            "\nDo you want to {command} these changes to `{}` / `{}`{account}, region `{}`? Only `yes` is accepted: ",
            plan.stack, plan.environment, plan.region
        );
        let answer = tokio::task::spawn_blocking(|| {
            let mut answer = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut answer)
                .map(|_| answer)
        });
        tokio::select! {
            answer = answer => match answer {
                Ok(answer) => Ok(answer?.trim() == "yes"),
                Err(_) => Ok(false),
            },
            () = self.notify.notified() => Ok(false),
        }
    }
}
