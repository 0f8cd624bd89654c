//! Making the plan: the environment observed, the model diffed against it (as if its
//! `moved:` entries were carried out), CloudFormation's change sets made (`plan
//! --changesets`) or a saved plan's adopted, and the warnings of what the plan destroys.
//! `plan` prints what [`plan`] returns and `apply` carries it out: one function, so the
//! plan a reviewer reads is the plan that runs.

pub mod change_sets;

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::{Aws, AwsError};
use crate::model::{Address, Stack};
use crate::observe::{CallerIdentity, Freeze, Observed, Query};
use crate::plan::diff::EnvironmentValues;
use crate::plan::{self, Plan, PlanError, Redactor};

/// What a plan is made for and from, besides what AWS holds.
pub struct Request<'a> {
    /// The model to converge to.
    pub stack: &'a Stack,
    /// Values of `from_env` parameters.
    pub environment: &'a EnvironmentValues,
    /// Hides every sensitive value known.
    pub redactor: &'a Redactor,
    /// Who the credentials are.
    pub identity: &'a CallerIdentity,
    /// The environment's freeze, when it has one.
    pub freeze: Option<&'a Freeze>,
    /// The git commit of the stack file (`-dirty` with uncommitted changes), when it is
    /// in a git checkout.
    pub commit: Option<&'a str>,
    /// What to do about CloudFormation change sets.
    pub change_sets: ChangeSets<'a>,
    /// The outputs of producers that their own apply, earlier in the same workspace
    /// run, changes: planned as `(known after apply of PRODUCER)`, never as the value
    /// published now.
    pub pending: &'a BTreeMap<String, BTreeSet<String>>,
}

/// CloudFormation change sets in a plan.
#[derive(Clone, Copy)]
pub enum ChangeSets<'a> {
    /// None: apply makes them (`plan` without `--changesets`, `apply STACK`).
    None,
    /// Made now, for review (`plan --changesets`).
    Make,
    /// Those of a saved plan, which apply executes exactly; the saved plan's images are
    /// used too, rather than whatever is newest now.
    Adopt(&'a Plan),
}

/// A plan, and what AWS holds as it was made: as if its moves were carried out (what
/// apply then starts from).
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// What was observed, moves carried out.
    pub observed: Observed,
}

/// Why no plan was made.
#[derive(Debug, thiserror::Error)]
pub enum PlanningError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The stack cannot be planned as it is.
    #[error("{} problem(s) prevent a plan", .0.len())]
    Plan(Vec<PlanError>),
    /// CloudFormation refused a change set of `plan --changesets`.
    #[error("CloudFormation refused a change set: {0}")]
    ChangeSet(String),
    /// A saved plan's change set can no longer be executed.
    #[error(
        "plan is stale: {address} changed since the plan was made (its change set `{name}` {problem})"
    )]
    StaleChangeSet {
        /// The node.
        address: Address,
        /// The change set's name.
        name: String,
        /// How it went stale.
        problem: String,
    },
}

/// The plan of `request.stack` against what AWS holds now.
pub async fn plan(aws: &Aws, request: &Request<'_>) -> Result<Planned, PlanningError> {
    let stack = request.stack;
    let mut observed = crate::aws::observe(aws, &Query::for_stack(stack)).await?;
    await_producers(&mut observed, request.pending);
    if let ChangeSets::Adopt(saved) = request.change_sets {
        for (group, image) in &saved.images {
            if let Some(g) = stack.groups.get(group) {
                observed.images.insert(g.image.clone(), image.clone());
            }
        }
        // The digests the plan resolved are the ones launched, wherever the tags moved.
        for (app, image) in &saved.container_images {
            if stack
                .apps
                .get(app)
                .is_some_and(|a| a.version == image.version)
            {
                observed.missing_images.retain(|m| &m.app != app);
                observed.container_images.insert(app.clone(), image.clone());
            }
        }
    }
    let (mut plan, observed) = plan::diff(stack, observed, request.environment, request.redactor)
        .map_err(PlanningError::Plan)?;
    plan.identity = Some(request.identity.clone());
    plan.freeze = request.freeze.cloned();
    plan.commit = request.commit.map(str::to_owned);
    match request.change_sets {
        ChangeSets::None => {}
        ChangeSets::Make => {
            let security_groups = observed.security_group_ids(stack);
            let outputs =
                plan::diff::known_outputs(stack, &observed, request.environment, request.redactor);
            let inputs = change_sets::Inputs {
                security_groups: &security_groups,
                outputs: &outputs,
                environment: request.environment,
            };
            change_sets::plan_change_sets(aws, stack, &inputs, &mut plan)
                .await
                .map_err(|why| PlanningError::ChangeSet(request.redactor.redact(&why)))?;
        }
        ChangeSets::Adopt(saved) => change_sets::adopt(aws, saved, &mut plan).await?,
    }
    // After the change sets: they show the resources CloudFormation replaces.
    plan.warnings = plan::destructive::warnings(&plan.changes, &observed);
    Ok(Planned { plan, observed })
}

/// Takes the outputs in `pending` (by producer) as known only after that producer's
/// apply: a producer that never published is as if it had, those outputs unknown.
fn await_producers(observed: &mut Observed, pending: &BTreeMap<String, BTreeSet<String>>) {
    for (producer, outputs) in pending {
        let Some(slot) = observed.published.get_mut(producer) else {
            continue;
        };
        let published = slot.get_or_insert_with(|| crate::observe::records::Published {
            history: 0,
            written_at: String::new(),
            outputs: BTreeMap::new(),
        });
        for output in outputs {
            let value = crate::template::known_after_apply_of(producer);
            published.outputs.insert(output.clone(), value);
        }
    }
}
