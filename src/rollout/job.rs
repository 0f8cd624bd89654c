//! A release job's run, decided from what AWS shows: a pure function of (observed job
//! instances and results, the job's policy) -> next step, as a group's rollout is.
//! Nothing is remembered between steps but the launch AWS may not list yet: a restart
//! (or a `kill -9` and a re-run) finds the run's instance by its tags and waits for it.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::observe::InstanceState;

/// An instance of the run, as observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobInstance {
    /// Instance id.
    pub id: String,
    /// Its state.
    pub state: InstanceState,
    /// How long since it was launched.
    pub age: Duration,
}

/// What a job's instance reported: its script's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reported {
    /// The exit code (0: it succeeded).
    pub exit_code: i32,
}

/// What is known of a run at one poll.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobObservation {
    /// Whether a run at this key is recorded as succeeded.
    pub succeeded: bool,
    /// The instances of the run's current attempt.
    pub instances: Vec<JobInstance>,
    /// What they reported, by instance id.
    pub reported: BTreeMap<String, Reported>,
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobStep {
    /// A run at this key succeeded before: nothing to do.
    AlreadySucceeded,
    /// Launch the run's instance.
    Launch,
    /// Wait for instance `id` to report.
    Wait(String),
    /// Instance `id` reported: record it, take the instance down.
    Finished {
        /// The instance.
        id: String,
        /// Its exit code.
        exit_code: i32,
    },
    /// Instance `id` ran past the job's timeout without reporting: take it down, fail.
    TimedOut(String),
    /// Instance `id` ended, or was stopped, without reporting: fail.
    Lost(String),
}

/// The next step of a run observed as `observed`, under `timeout`.
pub fn next_step(observed: &JobObservation, timeout: Duration) -> JobStep {
    if observed.succeeded {
        return JobStep::AlreadySucceeded;
    }
    if let Some((id, reported)) = observed
        .instances
        .iter()
        .find_map(|i| Some((&i.id, observed.reported.get(&i.id)?)))
    {
        return JobStep::Finished {
            id: id.clone(),
            exit_code: reported.exit_code,
        };
    }
    if let Some(live) = observed.instances.iter().find(|i| i.state.is_up()) {
        return if live.age >= timeout {
            JobStep::TimedOut(live.id.clone())
        } else {
            JobStep::Wait(live.id.clone())
        };
    }
    match observed.instances.first() {
        Some(ended) => JobStep::Lost(ended.id.clone()),
        None => JobStep::Launch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, state: InstanceState, age: u64) -> JobInstance {
        JobInstance {
            id: id.to_owned(),
            state,
            age: Duration::from_secs(age),
        }
    }

    /// (succeeded before, instances, reports, the step)
    #[test]
    fn the_next_step_of_a_run() {
        use InstanceState::*;
        let timeout = Duration::from_secs(60);
        let report = |id: &str, exit_code| (id.to_owned(), Reported { exit_code });
        type Row = (bool, Vec<JobInstance>, Vec<(String, Reported)>, JobStep);
        let table: Vec<Row> = vec![
            (true, vec![], vec![], JobStep::AlreadySucceeded),
            (
                true,
                vec![instance("i-1", Running, 5)],
                vec![],
                JobStep::AlreadySucceeded,
            ),
            (false, vec![], vec![], JobStep::Launch),
            (
                false,
                vec![instance("i-1", Pending, 1)],
                vec![],
                JobStep::Wait("i-1".into()),
            ),
            (
                false,
                vec![instance("i-1", Running, 59)],
                vec![],
                JobStep::Wait("i-1".into()),
            ),
            (
                false,
                vec![instance("i-1", Running, 60)],
                vec![],
                JobStep::TimedOut("i-1".into()),
            ),
            (
                false,
                vec![instance("i-1", Running, 30)],
                vec![report("i-1", 0)],
                JobStep::Finished {
                    id: "i-1".into(),
                    exit_code: 0,
                },
            ),
            // It reported and shut itself down: the report counts.
            (
                false,
                vec![instance("i-1", Terminated, 30)],
                vec![report("i-1", 3)],
                JobStep::Finished {
                    id: "i-1".into(),
                    exit_code: 3,
                },
            ),
            // Reported past the timeout: the report still counts.
            (
                false,
                vec![instance("i-1", Running, 90)],
                vec![report("i-1", 0)],
                JobStep::Finished {
                    id: "i-1".into(),
                    exit_code: 0,
                },
            ),
            (
                false,
                vec![instance("i-1", ShuttingDown, 30)],
                vec![],
                JobStep::Lost("i-1".into()),
            ),
            // Stopped by hand: it will not report.
            (
                false,
                vec![instance("i-1", Stopped, 30)],
                vec![],
                JobStep::Lost("i-1".into()),
            ),
        ];
        for (succeeded, instances, reported, step) in table {
            let observed = JobObservation {
                succeeded,
                instances,
                reported: reported.into_iter().collect(),
            };
            assert_eq!(next_step(&observed, timeout), step, "{observed:?}");
        }
    }
}
