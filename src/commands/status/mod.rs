//! `rollstack status STACK [--env E] [--format json]`: the live view of an environment:
//! lock, security groups, CloudFormation stacks with their outputs, and groups.

mod autoscaling;
mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use serde::Serialize;

use super::Failure;
use crate::aws::Reach;
use crate::cli::{ListFormat, StatusArgs};
use crate::model::{Address, Group, HealthCheck, Stack};
use crate::observe::{InstanceState, Observed, Query, TargetState, aws_name, group_of, tags};
use crate::plan::Redactor;
use crate::plan::diff::cloudformation::interpolate;
use crate::plan::spec::LaunchSpec;
use crate::rollout::health;
use crate::state::lock::{self, LockRecord};
use crate::state::signals::Signals;
use crate::template::Outputs;

/// The live view of one environment.
#[derive(Debug, Serialize)]
struct Status {
    stack: String,
    environment: String,
    region: String,
    lock: Option<LockRecord>,
    /// The environment's freeze: deploys refused until `rollstack unfreeze`.
    freeze: Option<crate::observe::Freeze>,
    security_groups: Vec<SecurityGroupStatus>,
    groups: Vec<GroupStatus>,
    cloudformation: Vec<StackStatus>,
    /// The last run of each release job, as recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    jobs: Vec<JobStatus>,
    /// The outputs the last successful apply published (`outputs:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<crate::state::outputs::Published>,
    /// The static sites: the release each serves, and the ones in its bucket.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sites: Vec<SiteStatus>,
}

/// A static site.
#[derive(Debug, Serialize)]
struct SiteStatus {
    address: String,
    /// The bucket; `None` while it is an output not known yet.
    bucket: Option<String>,
    /// The release served; `None`: none, or the entry files disagree.
    serving: Option<String>,
    /// The releases in the bucket.
    kept: Vec<String>,
}

/// A release job and its last run.
#[derive(Debug, Serialize)]
struct JobStatus {
    address: String,
    /// Its last recorded run; `None` when it never ran.
    last: Option<crate::state::jobs::JobRecord>,
}

/// One security group.
#[derive(Debug, Serialize)]
struct SecurityGroupStatus {
    address: String,
    name: String,
    /// `sg-...`; `None` when it does not exist.
    id: Option<String>,
    /// Rules in both directions.
    rules: u32,
}

/// One CloudFormation node.
#[derive(Debug, Serialize)]
struct StackStatus {
    address: String,
    name: String,
    /// `CREATE_COMPLETE`, ...; `None` when the stack does not exist.
    status: Option<String>,
    /// Outputs, sensitive values redacted.
    outputs: BTreeMap<String, String>,
}

/// One group: desired against live.
#[derive(Debug, Serialize)]
struct GroupStatus {
    address: String,
    desired: u32,
    live: u32,
    /// The spec the stack file asks for.
    desired_spec: String,
    /// Live instances by spec.
    specs: Vec<SpecStatus>,
    /// More than one spec is live: a rollout is in progress (or was interrupted).
    rolling: bool,
    /// The group's instances in each target group it serves.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    target_groups: Vec<TargetGroupStatus>,
    /// The alarms its rollout watches.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    alarms: Vec<AlarmStatus>,
    /// Its Auto Scaling group (`autoscaling:`), when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    autoscaling: Option<autoscaling::AutoscalingStatus>,
}

/// A group's instances in one target group.
#[derive(Debug, Serialize)]
struct TargetGroupStatus {
    /// The ARN (as written, when its output is not known).
    arn: String,
    /// Registered (in any state but draining).
    registered: u32,
    /// Registered and `healthy`.
    healthy: u32,
    /// Deregistered, still draining.
    draining: u32,
}

/// An alarm a rollout watches.
#[derive(Debug, Serialize)]
struct AlarmStatus {
    name: String,
    /// `OK`, `ALARM`, `INSUFFICIENT_DATA`; `None` when it does not exist.
    state: Option<String>,
    reason: Option<String>,
}

/// Live instances of one spec.
#[derive(Debug, Serialize)]
struct SpecStatus {
    spec: String,
    release: String,
    instances: u32,
    running: u32,
    /// Instances whose readiness signal says `ok` for this spec (signal-gated roles).
    signalled_ok: Option<u32>,
}

/// Prints the live view of the environment (of each stack of a workspace, in order).
pub fn run(args: &StatusArgs, reach: &Reach) -> Result<ExitCode, Failure> {
    let stacks = super::workspace::stacks(&args.stacks, args.env.as_deref())?;
    let runtime = super::runtime()?;
    let mut statuses = Vec::new();
    for stack in &stacks {
        statuses.push(runtime.block_on(status(stack, reach))?);
    }
    let text = match (args.format, statuses.as_slice()) {
        (ListFormat::Json, [one]) => super::json(one)?,
        (ListFormat::Json, all) => super::json(&serde_json::json!({ "stacks": all }))?,
        (ListFormat::Text, all) => all.iter().map(text::text).collect::<Vec<_>>().join("\n"),
    };
    super::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The live view of `stack`'s environment.
async fn status(stack: &Stack, reach: &Reach) -> Result<Status, Failure> {
    let (observed, (lock, freeze, runs, published), signals, activities) =
        observe(stack, reach).await?;
    let stack = stack.clone();
    let redactor = super::session::known_secrets(&stack);
    let prefix = aws_name(&stack, "");
    // The outputs the live stacks have; placeholders where a stack does not exist.
    let mut outputs = crate::template::placeholder_outputs(&stack);
    for live in &observed.cloudformation {
        if let Some(node) = live.name.strip_prefix(&prefix) {
            outputs.insert(node.to_owned(), live.outputs.clone());
        }
    }
    outputs.extend(observed.image_digests());
    let status = Status {
        stack: stack.name.clone(),
        environment: stack.environment.name.clone(),
        region: stack.region.clone(),
        lock,
        freeze,
        security_groups: stack
            .security_groups
            .keys()
            .map(|name| {
                let aws = aws_name(&stack, name);
                let live = observed.security_groups.iter().find(|g| g.name == aws);
                SecurityGroupStatus {
                    address: Address::SecurityGroup(name.clone()).to_string(),
                    id: live.map(|g| g.id.clone()),
                    rules: live.map_or(0, |g| g.rules.len() as u32),
                    name: aws,
                }
            })
            .collect(),
        groups: stack
            .groups
            .keys()
            .map(|name| {
                let mut status = group_status(&stack, name, &observed, &outputs, &signals);
                if let Some(live) = observed.autoscaling_group(name) {
                    status.desired = live.desired;
                    status.autoscaling = Some(autoscaling::status(live, &activities));
                }
                status
            })
            .collect(),
        cloudformation: stack
            .cloudformation
            .keys()
            .map(|name| stack_status(&stack, name, &observed, &redactor))
            .collect(),
        jobs: stack
            .jobs
            .keys()
            .map(|name| JobStatus {
                address: Address::Job(name.clone()).to_string(),
                last: runs.iter().find(|r| &r.job == name).cloned(),
            })
            .collect(),
        outputs: published,
        sites: observed
            .sites
            .iter()
            .map(|live| SiteStatus {
                address: Address::Site(live.name.clone()).to_string(),
                bucket: live.bucket.clone(),
                serving: live.served().map(str::to_owned),
                kept: live.uploaded.iter().cloned().collect(),
            })
            .collect(),
    };
    Ok(status)
}

/// The lock, the freeze, the jobs' last runs and the published outputs of an
/// environment.
type Holds = (
    Option<LockRecord>,
    Option<crate::observe::Freeze>,
    Vec<crate::state::jobs::JobRecord>,
    Option<crate::state::outputs::Published>,
);

/// The last scaling activities of each Auto Scaling group, by its name.
type Activities = BTreeMap<String, Vec<crate::aws::Activity>>;

/// What AWS holds, the lock and freeze, the signals of the live instances, and the Auto
/// Scaling groups' last activities.
async fn observe(
    stack: &Stack,
    reach: &Reach,
) -> Result<(Observed, Holds, Signals, Activities), Failure> {
    let aws = super::connect(stack, reach).await?;
    let observed = crate::aws::observe(&aws, &Query::for_stack(stack))
        .await
        .map_err(Failure::Aws)?;
    let read = observed.autoscaling_groups.iter().map(|g| async {
        let activities = aws
            .scaling_activities(&g.name, autoscaling::ACTIVITIES)
            .await?;
        Ok::<_, crate::aws::AwsError>((g.name.clone(), activities))
    });
    let activities: Activities = futures_util::future::try_join_all(read)
        .await
        .map_err(Failure::Aws)?
        .into_iter()
        .collect();
    let mut signals = Signals::default();
    let Some(bucket) = &stack.state_bucket else {
        return Ok((
            observed,
            (None, None, Vec::new(), None),
            signals,
            activities,
        ));
    };
    let env = (stack.name.as_str(), stack.environment.name.as_str());
    let place = crate::state::jobs::Place {
        bucket,
        stack: env.0,
        env: env.1,
    };
    let runs = async {
        if stack.jobs.is_empty() {
            return Ok(Vec::new());
        }
        place.latest(&aws).await
    };
    let published = async {
        if stack.outputs.is_empty() {
            return Ok(None);
        }
        crate::state::outputs::read(&aws, bucket, env.0, env.1).await
    };
    let held = tokio::try_join!(
        lock::read(&aws, bucket, env.0, env.1),
        crate::state::freeze::read(&aws, bucket, env.0, env.1),
        runs,
        published,
    )
    .map_err(Failure::Aws)?;
    let live: BTreeSet<&str> = observed.instances.iter().map(|i| i.id.as_str()).collect();
    signals
        .refresh(&aws, bucket, env, &live)
        .await
        .map_err(Failure::Aws)?;
    Ok((observed, held, signals, activities))
}

/// CloudFormation node `name`, outputs redacted.
fn stack_status(
    stack: &Stack,
    name: &str,
    observed: &Observed,
    redactor: &Redactor,
) -> StackStatus {
    let aws = aws_name(stack, name);
    let live = observed.cloudformation.iter().find(|s| s.name == aws);
    StackStatus {
        address: Address::CloudFormation(name.to_owned()).to_string(),
        status: live.map(|l| l.status.to_string()),
        outputs: live
            .map(|l| {
                l.outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), redactor.redact(v)))
                    .collect()
            })
            .unwrap_or_default(),
        name: aws,
    }
}

/// Group `name`: desired against live, by spec.
fn group_status(
    stack: &Stack,
    name: &str,
    observed: &Observed,
    outputs: &Outputs,
    signals: &Signals,
) -> GroupStatus {
    let group = &stack.groups[name];
    let address = Address::Group(name.to_owned()).to_string();
    let image = observed
        .images
        .get(&group.image)
        .map(|i| i.id.clone())
        .unwrap_or_default();
    let desired_spec = LaunchSpec::new(stack, name, &image, outputs);
    let signal_gated = health::checks(stack, name).contains(&HealthCheck::Signal);
    let mut specs: BTreeMap<String, SpecStatus> = BTreeMap::new();
    let members = observed
        .instances
        .iter()
        .filter(|i| group_of(i).as_deref() == Some(name));
    let mut live = 0;
    let mut ids = BTreeSet::new();
    for instance in members {
        live += 1;
        ids.insert(instance.id.as_str());
        let spec = instance.tag(tags::SPEC).unwrap_or("(untagged)").to_owned();
        let entry = specs.entry(spec.clone()).or_insert_with(|| SpecStatus {
            spec: spec.clone(),
            release: instance.tag(tags::RELEASE).unwrap_or_default().to_owned(),
            instances: 0,
            running: 0,
            signalled_ok: signal_gated.then_some(0),
        });
        entry.instances += 1;
        if instance.state == InstanceState::Running {
            entry.running += 1;
        }
        if let Some(ok) = entry.signalled_ok.as_mut()
            && signals
                .get(&instance.id)
                .is_some_and(|s| s.is_ok_for(&spec))
        {
            *ok += 1;
        }
    }
    GroupStatus {
        address,
        desired: group.count,
        live,
        desired_spec: if desired_spec.is_known() {
            desired_spec.hash()
        } else {
            crate::template::KNOWN_AFTER_APPLY.to_owned()
        },
        rolling: specs.len() > 1,
        specs: specs.into_values().collect(),
        target_groups: target_groups(stack, group, observed, outputs, &ids),
        alarms: group
            .rollout
            .alarms
            .iter()
            .map(|name| {
                let live = observed.alarms.iter().find(|a| &a.name == name);
                AlarmStatus {
                    name: name.clone(),
                    state: live.map(|a| a.state.to_string()),
                    reason: live.map(|a| a.reason.clone()),
                }
            })
            .collect(),
        autoscaling: None,
    }
}

/// How many of the group's instances (`ids`) each of its target groups holds, and how.
fn target_groups(
    stack: &Stack,
    group: &Group,
    observed: &Observed,
    outputs: &Outputs,
    ids: &BTreeSet<&str>,
) -> Vec<TargetGroupStatus> {
    group
        .target_groups
        .iter()
        .map(|written| {
            let arn = interpolate(stack, written, &BTreeMap::new(), outputs);
            let mut status = TargetGroupStatus {
                arn: arn.clone(),
                registered: 0,
                healthy: 0,
                draining: 0,
            };
            let Some(live) = observed.target_group(&arn) else {
                status.arn = written.to_string();
                return status;
            };
            for (id, target) in &live.targets {
                if !ids.contains(id.as_str()) {
                    continue;
                }
                status.registered += u32::from(target.state.is_registered());
                status.healthy += u32::from(target.state == TargetState::Healthy);
                status.draining += u32::from(target.state.is_draining());
            }
            status
        })
        .collect()
}
