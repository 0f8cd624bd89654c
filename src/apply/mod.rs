//! Apply: carries a plan out. Nodes run in dependency order, independent ones
//! concurrently (up to `--parallelism`); removed resources go last, dependents first.
//!
//! Every node re-derives what to do from what AWS reports (tags, launch template
//! versions), so an interrupted apply is finished by running it again.

mod cloudformation;
pub mod dns;
pub mod error;
mod group;
pub mod job;
mod observer;
pub mod progress;
mod security_group;
pub mod session;
mod site;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::aws::Aws;
use crate::model::{Address, Edge, Stack};
use crate::observe::Observed;
use crate::plan::diff::EnvironmentValues;
use crate::plan::{Action, Change, Detail, Plan};
use crate::state::history::Outcome;
use crate::template::Outputs;
pub use error::{FailedInstance, NodeError};
pub use progress::Progress;

/// How apply runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Nodes applied at once.
    pub parallelism: usize,
    /// Time between health polls of a rolling group.
    pub poll_interval: Duration,
    /// Git commit of the stack file, for launch template version descriptions.
    pub commit: String,
    /// Alarms already in `ALARM` that `--ignore-alarms` lets the rollouts start under;
    /// each counts again once it recovers.
    pub ignored_alarms: Vec<String>,
    /// The history entry of this apply (release jobs record it with their runs).
    pub history: Option<u32>,
}

/// Values known before apply starts.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// Outputs of the CloudFormation stacks the plan leaves as they are.
    pub outputs: Outputs,
    /// Values of `from_env` parameters.
    pub environment: EnvironmentValues,
}

/// Everything the nodes of one apply share.
pub struct Executor {
    /// AWS clients.
    pub aws: Aws,
    /// The model applied.
    pub stack: Stack,
    /// What AWS held when the plan was checked.
    pub observed: Observed,
    /// Image id per group, as planned.
    pub images: BTreeMap<String, String>,
    /// The root device of each group's image, where the plan described it.
    pub root_devices: BTreeMap<String, String>,
    /// Values of `from_env` parameters.
    pub environment: EnvironmentValues,
    /// How to run.
    pub options: Options,
    /// Where progress goes.
    pub progress: Progress,
    /// Set by SIGINT: finish the current step, start nothing new.
    pub cancel: Arc<AtomicBool>,
    /// Security group ids by name, as they are created.
    security_group_ids: Mutex<BTreeMap<String, String>>,
    /// CloudFormation outputs as known: observed, then each stack's as it completes.
    outputs: Mutex<Outputs>,
    /// The one observation per poll every rollout decides on.
    observer: observer::Observer,
}

impl Executor {
    /// An executor for `stack` over `observed`.
    pub fn new(
        aws: Aws,
        stack: Stack,
        observed: Observed,
        plan: &Plan,
        known: Known,
        options: Options,
        progress: Progress,
    ) -> Executor {
        let ids = observed.security_group_ids(&stack);
        let observer = observer::Observer::new(aws.clone(), &stack, options.poll_interval);
        Executor {
            images: plan
                .images
                .iter()
                .map(|(g, i)| (g.clone(), i.id.clone()))
                .collect(),
            root_devices: plan
                .images
                .iter()
                .filter_map(|(g, i)| Some((g.clone(), i.root_device.clone()?)))
                .collect(),
            aws,
            stack,
            observed,
            environment: known.environment,
            options,
            progress,
            cancel: Arc::new(AtomicBool::new(false)),
            security_group_ids: Mutex::new(ids),
            outputs: Mutex::new(known.outputs),
            observer,
        }
    }

    /// Whether SIGINT asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// Sleeps `duration`, waking early when cancelled.
    async fn nap(&self, duration: Duration) {
        let step = Duration::from_millis(100);
        let mut left = duration;
        while !left.is_zero() && !self.cancelled() {
            let now = left.min(step);
            tokio::time::sleep(now).await;
            left -= now;
        }
    }

    fn security_group_ids(&self) -> BTreeMap<String, String> {
        self.security_group_ids
            .lock()
            .map(|ids| ids.clone())
            .unwrap_or_default()
    }

    fn set_security_group_id(&self, name: &str, id: &str) {
        if let Ok(mut ids) = self.security_group_ids.lock() {
            ids.insert(name.to_owned(), id.to_owned());
        }
    }

    /// The CloudFormation outputs known now.
    fn outputs(&self) -> Outputs {
        self.outputs.lock().map(|o| o.clone()).unwrap_or_default()
    }

    fn set_outputs(&self, node: &str, outputs: BTreeMap<String, String>) {
        if let Ok(mut known) = self.outputs.lock() {
            known.insert(node.to_owned(), outputs);
        }
    }
}

/// How one node ended.
#[derive(Debug)]
pub enum NodeOutcome {
    /// Converged.
    Done(String),
    /// A rollout failed its health gate and the previous spec was restored: (instance,
    /// why) per failed instance.
    RolledBack(Vec<FailedInstance>),
    /// Failed; what converged stays.
    Failed(NodeError),
    /// Stopped by SIGINT after a safe step.
    Interrupted,
    /// Not started: a dependency failed or apply was interrupted.
    Skipped(String),
}

/// The outcome of every node applied.
#[derive(Debug, Default)]
pub struct Report {
    /// By address, in the order they ended.
    pub nodes: Vec<(Address, NodeOutcome)>,
    /// The stack's outputs, evaluated with the values the apply ended with.
    pub outputs: BTreeMap<String, String>,
}

impl Report {
    /// The apply's outcome as history records it.
    pub fn outcome(&self) -> Outcome {
        let any = |f: fn(&NodeOutcome) -> bool| self.nodes.iter().any(|(_, o)| f(o));
        if any(|o| matches!(o, NodeOutcome::Interrupted)) {
            Outcome::Interrupted
        } else if any(|o| matches!(o, NodeOutcome::Failed(_))) {
            Outcome::Failed
        } else if any(|o| matches!(o, NodeOutcome::RolledBack(_))) {
            Outcome::RolledBack
        } else if any(|o| matches!(o, NodeOutcome::Skipped(_))) {
            Outcome::Interrupted
        } else {
            Outcome::Succeeded
        }
    }

    /// One line per node that did not converge, for history and the final message.
    pub fn problems(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (address, outcome) in &self.nodes {
            match outcome {
                NodeOutcome::Done(_) => {}
                NodeOutcome::RolledBack(failed) => {
                    lines.push(match address {
                        Address::Site(_) => {
                            format!("{address}: flipped back to the release it served before:")
                        }
                        _ => format!(
                            "{address}: rolled back to the previous spec; failed instances:"
                        ),
                    });
                    lines.extend(failed.iter().map(|(id, why)| format!("  {id}: {why}")));
                }
                NodeOutcome::Failed(why) => lines.push(format!("{address}: {why}")),
                NodeOutcome::Interrupted => lines.push(format!("{address}: interrupted")),
                NodeOutcome::Skipped(why) => lines.push(format!("{address}: not applied ({why})")),
            }
        }
        lines
    }
}

/// Carries out `plan`'s changes. Deletes run after everything else, dependents (by
/// `teardown`, then by kind) first.
pub async fn execute(executor: Arc<Executor>, plan: &Plan, teardown: &[Edge]) -> Report {
    let in_model: BTreeSet<Address> = executor.stack.addresses().into_iter().collect();
    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    let (kept, removed): (Vec<&Change>, Vec<&Change>) = changes
        .into_iter()
        .partition(|c| in_model.contains(&c.address));
    let mut report = Report::default();
    let mut deps: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    for reference in &executor.stack.references {
        deps.entry(reference.from.clone())
            .or_default()
            .insert(reference.to.clone());
    }
    run_in_order(&executor, kept, &deps, &mut report).await;
    // Removed resources by kind (`Address::delete_rank`, the plan's order), each kind
    // once everything of the kinds before it is gone.
    let mut by_kind: BTreeMap<u8, Vec<&Change>> = BTreeMap::new();
    for change in removed {
        by_kind
            .entry(change.address.delete_rank())
            .or_default()
            .push(change);
    }
    // A resource is deleted once those that depended on it are gone.
    let mut dependents: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    for reference in teardown {
        dependents
            .entry(reference.to.clone())
            .or_default()
            .insert(reference.from.clone());
    }
    for (_, changes) in by_kind {
        run_in_order(&executor, changes, &dependents, &mut report).await;
    }
    report.outputs = published_outputs(&executor);
    report
}

/// The stack's `outputs:` with the values this apply ended with; one whose references
/// are not all known (something it names failed) is left out.
fn published_outputs(executor: &Executor) -> BTreeMap<String, String> {
    let ids = executor.security_group_ids();
    let outputs = executor.outputs();
    let known = crate::model::Known {
        stack: &executor.stack,
        security_groups: &ids,
        outputs: &outputs,
    };
    executor
        .stack
        .outputs
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), value.evaluate(|r| r.value(&known))?)))
        .collect()
}

/// Runs `changes`, each once its dependencies in `deps` that are part of this apply
/// have converged.
async fn run_in_order(
    executor: &Arc<Executor>,
    changes: Vec<&Change>,
    deps: &BTreeMap<Address, BTreeSet<Address>>,
    report: &mut Report,
) {
    let applying: BTreeSet<&Address> = changes.iter().map(|c| &c.address).collect();
    let mut waiting: Vec<&Change> = changes;
    let mut converged: BTreeSet<Address> = BTreeSet::new();
    let mut not_converged: BTreeSet<Address> = BTreeSet::new();
    let mut running = FuturesUnordered::new();
    loop {
        let mut still = Vec::new();
        for change in waiting {
            let needs: Vec<&Address> = deps
                .get(&change.address)
                .into_iter()
                .flatten()
                .filter(|d| applying.contains(*d))
                .collect();
            if let Some(failed) = needs.iter().find(|d| not_converged.contains(**d)) {
                not_converged.insert(change.address.clone());
                report.nodes.push((
                    change.address.clone(),
                    NodeOutcome::Skipped(format!("`{failed}` did not converge")),
                ));
            } else if executor.cancelled() {
                not_converged.insert(change.address.clone());
                report.nodes.push((
                    change.address.clone(),
                    NodeOutcome::Skipped("interrupted before it started".to_owned()),
                ));
            } else if needs.iter().all(|d| converged.contains(*d))
                && running.len() < executor.options.parallelism.max(1)
            {
                let executor = executor.clone();
                let change = change.clone();
                running.push(async move {
                    let outcome = apply_node(&executor, &change).await;
                    (change.address, outcome)
                });
            } else {
                still.push(change);
            }
        }
        waiting = still;
        let Some((address, outcome)) = running.next().await else {
            break;
        };
        if matches!(outcome, NodeOutcome::Done(_)) {
            converged.insert(address.clone());
        } else {
            not_converged.insert(address.clone());
        }
        report.nodes.push((address, outcome));
    }
}

async fn apply_node(executor: &Executor, change: &Change) -> NodeOutcome {
    let name = change.address.name();
    match &change.detail {
        Detail::SecurityGroup(detail) => {
            security_group::apply(executor, name, change.action, detail).await
        }
        Detail::SecurityGroupRules(detail) => {
            security_group::apply_rules(executor, name, change.action, detail).await
        }
        Detail::Group(detail) => group::apply(executor, name, change.action, detail).await,
        Detail::CloudFormation(detail) => {
            cloudformation::apply(executor, name, change.action, detail).await
        }
        Detail::Job(detail) => job::apply(executor, name, change.action, detail).await,
        Detail::Site(detail) => site::apply(executor, name, change.action, detail).await,
    }
}
