//! What a session tells the stack's webhooks: that it started, how it ended, and the
//! freeze a rollback left.

use std::collections::BTreeSet;

use super::{Inputs, Session};
use crate::model::notify::Event;
use crate::notify::send::Notifier;
use crate::notify::{Notification, Releases};
use crate::observe::{Observed, tags};
use crate::plan::Plan;
use crate::state::history::{Entry, Outcome};

/// A session's notifications: the webhooks, and what every event of it shares.
pub(super) struct Notices {
    notifier: Notifier,
    /// `app@version` the live instances ran when the session started.
    before: Vec<String>,
}

impl Notices {
    /// The notices of `session`, with the releases `observed` runs.
    pub(super) fn new(session: &Session, observed: &Observed) -> Notices {
        let before: BTreeSet<String> = observed
            .instances
            .iter()
            .filter_map(|i| i.tag(tags::RELEASE))
            .flat_map(str::split_whitespace)
            .map(str::to_owned)
            .collect();
        Notices {
            notifier: Notifier::new(session.stack.notify.as_ref()),
            before: before.into_iter().collect(),
        }
    }

    /// Tells the webhooks `event` of the session as `entry` records it.
    pub(super) async fn send(
        &self,
        session: &Session,
        inputs: &Inputs<'_>,
        event: Event,
        (plan, entry): (&Plan, &Entry),
    ) {
        let mut n = Notification::new(event, &session.stack, session.command, &entry.who);
        n.identity = Some(inputs.identity.clone());
        n.commit = Some(entry.commit.clone()).filter(|c| c != "none");
        n.releases = Some(Releases {
            before: self.before.clone(),
            after: entry.releases.clone(),
        });
        n.summary = Some(plan.summary);
        n.plan = Some(plan.summary.line());
        n.duration_secs = Some(entry.duration_secs);
        n.history = Some(entry.seq);
        n.message.clone_from(&entry.message);
        if event == Event::Frozen {
            n.freeze.clone_from(&entry.froze);
            n.message = None;
        }
        self.notifier.send(&n, inputs.redactor).await;
    }

    /// Tells the webhooks how the session ended, and the freeze it left.
    pub(super) async fn ended(
        &self,
        session: &Session,
        inputs: &Inputs<'_>,
        plan: &Plan,
        entry: &Entry,
    ) {
        let event = match entry.outcome {
            Outcome::Succeeded => Event::Succeeded,
            Outcome::RolledBack => Event::RolledBack,
            Outcome::Failed | Outcome::Interrupted | Outcome::InProgress => Event::Failed,
        };
        self.send(session, inputs, event, (plan, entry)).await;
        if entry.froze.is_some() {
            self.send(session, inputs, Event::Frozen, (plan, entry))
                .await;
        }
    }
}
