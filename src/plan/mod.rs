//! Plan: the difference between one environment's model and what AWS holds, as changes
//! keyed by address. A plan is also the artifact `apply` executes (`plan --out`), so it
//! carries everything apply needs: the effective model, resolved images and a
//! fingerprint of what was observed at every address.

pub mod autoscaling;
pub mod destructive;
pub mod diff;
pub mod dns;
pub mod job;
pub mod moved;
pub mod redact;
pub mod render;
pub mod site;
pub mod spec;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::Address;
use crate::observe::{CallerIdentity, Direction, ResolvedImage};

pub use crate::observe::ResourceChange;
pub use diff::{PlanError, diff};
pub use redact::{Redactor, SENSITIVE};

/// Version of the plan JSON; bumped when a field changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 2;

/// A plan for one stack + environment.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Version of this format.
    pub format_version: u32,
    /// Unique id of this plan; change sets made for it are named after it.
    #[serde(default)]
    pub id: String,
    /// The rollstack version that made the plan.
    pub rollstack_version: String,
    /// Stack name.
    pub stack: String,
    /// Environment name.
    pub environment: String,
    /// AWS region.
    pub region: String,
    /// Who made the plan: the account it is for and the caller's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<CallerIdentity>,
    /// The git commit of the stack file (`-dirty` with uncommitted changes), when it is
    /// in a git checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The image each group launches, resolved once for the whole plan.
    pub images: BTreeMap<String, ResolvedImage>,
    /// The digest each app's container image tag resolved to, by app: launched as is.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub container_images: BTreeMap<String, crate::observe::ContainerImage>,
    /// The environment's freeze when the plan was made: `apply`, `rollback` and `env up`
    /// refuse until `rollstack unfreeze` (or `--ignore-freeze`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze: Option<crate::observe::Freeze>,
    /// The destructive changes among `changes`, which text and markdown open with.
    #[serde(default)]
    pub warnings: Vec<destructive::Warning>,
    /// Groups renamed with `moved:`: their live resources are retagged, before
    /// `changes` are carried out (which see them under the new address).
    #[serde(default)]
    pub moves: Vec<moved::Move>,
    /// The DNS records (`dns:`) to change before any rollout; rollouts then move each
    /// group's records with its instances.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<dns::RecordChange>,
    /// The groups whose DNS records move with their rollouts (`dns:`): each instance is
    /// added once healthy and removed before it goes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_follow: Vec<Address>,
    /// Live differences the stack file does not explain; `changes` set them right.
    pub drift: Vec<Drift>,
    /// The stack's `outputs:` that the apply publishes differently (new, changed, known
    /// only after apply, or gone), against what its last successful apply published.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, BeforeAfter>,
    /// The outputs of other stacks the plan read, by stack, as published then (or
    /// `(known after apply of STACK)`): `apply` of the saved plan refuses it when one
    /// has been published anew since.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub read_outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// One entry per address, in apply order (deletes last, in reverse order).
    pub changes: Vec<Change>,
    /// Counts of `changes` by action.
    pub summary: Summary,
    /// What was observed at each address when the plan was made; `apply` of a saved plan
    /// refuses to run when one no longer matches.
    pub fingerprints: BTreeMap<Address, String>,
    /// The effective model the plan was made from (sensitive values are never in it:
    /// `from_env` parameters are read again by `apply`).
    #[schemars(with = "serde_json::Value")]
    pub model: serde_json::Value,
}

impl Plan {
    /// The change at `address`, if the plan has one.
    pub fn change(&self, address: &Address) -> Option<&Change> {
        self.changes.iter().find(|c| &c.address == address)
    }

    /// Whether applying the plan would change anything.
    pub fn has_changes(&self) -> bool {
        !self.moves.is_empty()
            || !self.dns.is_empty()
            || !self.outputs.is_empty()
            || self.changes.iter().any(|c| c.action != Action::NoOp)
    }
}

/// What happens at an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The resource does not exist and will be made.
    Create,
    /// The resource changes in place (rules, scale out/in, a new launch template version).
    Update,
    /// The resource is replaced: instances roll, a CloudFormation stack is re-created.
    Replace,
    /// The resource goes away.
    Delete,
    /// A release job runs.
    Run,
    /// Nothing to do.
    NoOp,
}

impl Action {
    /// The marker reviewers know from Terraform: `+`, `~`, `-/+`, `-`, ` `.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Run => "+",
            Action::NoOp => " ",
        }
    }

    /// Lower-case words for summaries.
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Run => "run",
            Action::NoOp => "no-op",
        }
    }
}

/// The change at one address.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// `group.www`, `security_group.web`, `cloudformation.db`.
    pub address: Address,
    /// What happens.
    pub action: Action,
    /// Why, in one line (`release web@1.0.0 -> web@1.1.0`).
    pub reason: String,
    /// What changes, by kind of resource.
    pub detail: Detail,
}

/// What changes, by kind of resource.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    /// A security group.
    SecurityGroup(SecurityGroupChange),
    /// The rules of a security group.
    SecurityGroupRules(SecurityGroupRulesChange),
    /// An instance group.
    Group(Box<GroupChange>),
    /// A CloudFormation stack.
    #[serde(rename = "cloudformation")]
    CloudFormation(CloudFormationChange),
    /// A release job.
    Job(JobChange),
    /// A static site.
    Site(site::SiteChange),
}

/// A release job to run, or a job instance to stop.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct JobChange {
    /// `app@version` it runs.
    pub release: String,
    /// The key of the run (`None` while its script waits on an output not known yet).
    pub key: Option<String>,
    /// `before` or `after` the groups in `groups`.
    pub when: crate::model::When,
    /// The groups running its app: they roll after a `before` job, and an `after` job
    /// runs once they rolled.
    pub groups: Vec<Address>,
    /// The instance of this run that is running already (an apply killed while it ran):
    /// apply waits for it instead of starting another.
    pub running: Option<String>,
    /// How long it may run, as written (`20m`).
    pub timeout: String,
    /// The job instances apply terminates (a job no longer in the file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terminate: Vec<String>,
}

/// Changes to a security group.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct SecurityGroupChange {
    /// AWS name.
    pub name: String,
    /// Group id, when it exists.
    pub id: Option<String>,
    /// Description (before, when it differs, and after).
    pub description: BeforeAfter,
    /// Tags to set on the group: ownership tags that went missing, the user's tags.
    pub set_tags: BTreeMap<String, String>,
    /// User tag keys to take off (taken out of the file).
    #[serde(default)]
    pub remove_tags: Vec<String>,
}

/// Changes to the rules of a security group.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct SecurityGroupRulesChange {
    /// AWS name of the group.
    pub group: String,
    /// Group id, when the group exists.
    pub id: Option<String>,
    /// Rules to authorize.
    pub add_rules: Vec<RuleChange>,
    /// Rules to revoke.
    pub remove_rules: Vec<RuleChange>,
    /// The rules hash to record on the group (`rollstack:spec`), when it changes.
    pub rules_hash: Option<String>,
}

/// A value before and after; `before` is absent for creates, `after` for deletes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BeforeAfter {
    /// Live value.
    pub before: Option<String>,
    /// Planned value.
    pub after: Option<String>,
}

impl BeforeAfter {
    /// Whether the value changes.
    pub fn changes(&self) -> bool {
        self.before != self.after
    }
}

/// One security group rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct RuleChange {
    /// Inbound or outbound.
    pub direction: Direction,
    /// `tcp 80 from 0.0.0.0/0`.
    pub rule: String,
    /// Rule id, for rules that exist.
    pub id: Option<String>,
}

/// Changes to an instance group.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct GroupChange {
    /// AWS name of its instances and launch template.
    pub name: String,
    /// Instance count: live, planned.
    pub count: CountChange,
    /// Live instances to replace with the new spec (rolling).
    pub replace: Vec<String>,
    /// Live instances to terminate without replacement (scale-in, removed group).
    pub terminate: Vec<String>,
    /// New instances to launch beyond replacements (scale-out).
    pub launch: u32,
    /// Launch-spec hashes: live (distinct) and planned.
    pub spec: SpecChange,
    /// The planned launch spec.
    pub launch_spec: Option<spec::LaunchSpec>,
    /// Unified diff of the rendered user data, sensitive values redacted.
    pub user_data_diff: Option<String>,
    /// How the replacement rolls (`1 at a time, never below 4 healthy`).
    pub rollout: Option<String>,
    /// Whether the launch template gets a new version.
    pub new_launch_template_version: bool,
    /// Kept instances, their volumes and the launch template, retagged in place with
    /// `set_tags` and without `remove_tags`: the user's tags changed.
    #[serde(default)]
    pub retag: Vec<String>,
    /// The user's tags the resources of `retag` get.
    #[serde(default)]
    pub set_tags: BTreeMap<String, String>,
    /// User tag keys taken off the resources of `retag`.
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// The load balancer target groups and alarms the rollout is ordered around.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficPlan>,
    /// The group's Auto Scaling group (`autoscaling:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<autoscaling::AutoscalingChange>,
}

/// What a group's rollout is ordered around: target groups and alarms.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TrafficPlan {
    /// Target group ARNs (as written, when known only after apply).
    pub target_groups: Vec<String>,
    /// Kept instances a target group is missing: apply registers them.
    #[serde(default)]
    pub register: Vec<String>,
    /// Target groups the group served and no longer lists: apply deregisters and
    /// drains its instances from them.
    #[serde(default)]
    pub leave: Vec<String>,
    /// The alarms the rollout watches, with their state now.
    #[serde(default)]
    pub alarms: Vec<AlarmPlan>,
}

/// An alarm a rollout watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AlarmPlan {
    /// Its name.
    pub name: String,
    /// Its state now (`OK`, `ALARM`, `INSUFFICIENT_DATA`); `None` when it does not exist.
    pub state: Option<String>,
}

/// Instance counts of a group.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct CountChange {
    /// Live instances.
    pub before: u32,
    /// Planned instances.
    pub after: u32,
}

/// Launch-spec hashes of a group.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct SpecChange {
    /// Distinct hashes of the live instances.
    pub before: Vec<String>,
    /// The planned hash (`(known after apply)` when it depends on unknown outputs).
    pub after: Option<String>,
}

/// Changes to a CloudFormation stack.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct CloudFormationChange {
    /// AWS stack name.
    pub name: String,
    /// Stack status, when it exists.
    pub status: Option<String>,
    /// Unified diff of the normalised template (of a stack that exists).
    pub template_diff: Option<String>,
    /// The template file of a stack to create, as written in the stack file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The resources the template of a stack to create declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub template_resources: Vec<TemplateResource>,
    /// Parameters that change (sensitive ones redacted).
    pub parameters: BTreeMap<String, BeforeAfter>,
    /// The change set made for this change by `plan --changesets`; `apply` of the saved
    /// plan executes exactly it.
    pub change_set: Option<ChangeSetRef>,
    /// CloudFormation's own resource changes, as its change set reports them.
    #[serde(default)]
    pub resource_changes: Vec<ResourceChange>,
}

/// A resource a template declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateResource {
    /// Logical id in the template.
    pub logical_id: String,
    /// Resource type (`AWS::RDS::DBInstance`).
    pub resource_type: String,
}

/// A change set made for a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeSetRef {
    /// Change set name (`rollstack-{plan id}`).
    pub name: String,
    /// Change set id (ARN).
    pub id: String,
}

/// A live difference the stack file does not explain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Drift {
    /// The address it belongs to.
    pub address: Address,
    /// What was found (`ingress rule tcp 3306 from 10.0.0.0/8 was added outside rollstack`).
    pub message: String,
}

/// Counts of changes by action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Resources to create.
    pub create: u32,
    /// Resources to replace.
    pub replace: u32,
    /// Instances those replacements roll.
    pub replace_instances: u32,
    /// Resources to update in place.
    pub update: u32,
    /// Resources to delete.
    pub delete: u32,
    /// Groups re-addressed by `moved:` (retagged, nothing replaced).
    #[serde(default)]
    pub moved: u32,
    /// DNS records to create, change or delete (`dns:`).
    #[serde(default)]
    pub dns: u32,
    /// Release jobs to run.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub run: u32,
    /// Outputs to publish (or take back) for other stacks.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub outputs: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Summary {
    /// Counts `changes`.
    pub fn of(changes: &[Change]) -> Summary {
        let mut summary = Summary::default();
        for change in changes {
            match change.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Replace => {
                    summary.replace += 1;
                    if let Detail::Group(g) = &change.detail {
                        summary.replace_instances += g.replace.len() as u32;
                    }
                }
                Action::Delete => summary.delete += 1,
                Action::Run => summary.run += 1,
                Action::NoOp => {}
            }
        }
        summary
    }

    /// `Plan: 1 to create, 1 to replace (4 instances), 0 to update, 1 to delete.`
    pub fn line(&self) -> String {
        let instances = match self.replace_instances {
            0 => String::new(),
            1 => " (1 instance)".to_owned(),
            n => format!(" ({n} instances)"),
        };
        let moved = match self.moved {
            0 => String::new(),
            n => format!("{n} to move, "),
        };
        let dns = match self.dns {
            0 => String::new(),
            n => format!(
                ", {} to set",
                crate::diagnostic::plural(n as usize, "DNS record")
            ),
        };
        let run = match self.run {
            0 => String::new(),
            n => format!(", {} to run", crate::diagnostic::plural(n as usize, "job")),
        };
        let outputs = match self.outputs {
            0 => String::new(),
            n => format!(
                ", {} to publish",
                crate::diagnostic::plural(n as usize, "output")
            ),
        };
        format!(
            "Plan: {moved}{} to create, {} to replace{instances}, {} to update, {} to delete{dns}{run}{outputs}.",
            self.create, self.replace, self.update, self.delete
        )
    }
}
