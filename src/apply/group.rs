//! Instance groups: a launch template version per spec, then a loop of observe ->
//! [`rollout::next_step`] -> act until the group converges, fails its health gate (and
//! rolls back or halts), or SIGINT stops it after a step.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use super::health::{self, Seen, Signal};
use super::patience::Patience;
use super::{Executor, NodeOutcome};
use crate::aws::{AwsError, LaunchVersion};
use crate::diagnostic::plural;
use crate::model::{Address, Group, Health as Check, OnFailure};
use crate::observe::{InstanceState, LiveInstance, LiveLaunchTemplate, aws_name, tags};
use crate::plan::diff::short_hash;
use crate::plan::spec::{
    InstanceTarget, LaunchSpec, TemplateUpkeep, instance_tags, ownership_tags, user_tags,
};
use crate::plan::{Action, GroupChange};
use crate::rollout::{self, Health, Member, Policy, Step};

mod launch;

use launch::launch;

/// How long a removed group waits for its instances to terminate.
const TERMINATE_TIMEOUT: Duration = Duration::from_secs(600);

/// The spec a rollout converges to.
struct Target {
    /// Spec hash (`rollstack:spec`).
    hash: String,
    /// Launch template id.
    template_id: String,
    /// The version instances launch from.
    version: i64,
    /// Tags instances launch with.
    tags: BTreeMap<String, String>,
    /// Instance type and image an instance must still have to count as current.
    instance_type: Option<String>,
    image_id: Option<String>,
}

impl Target {
    fn holds(&self, instance: &LiveInstance) -> bool {
        InstanceTarget {
            hash: &self.hash,
            instance_type: self.instance_type.as_deref(),
            image_id: self.image_id.as_deref(),
        }
        .holds(instance)
    }
}

/// How a rollout ended.
enum Rolled {
    Converged,
    Failed(Vec<(String, String)>),
    Interrupted,
}

/// Applies the change to group `name`.
pub async fn apply(
    executor: &Executor,
    name: &str,
    action: Action,
    change: &GroupChange,
) -> NodeOutcome {
    let result = if action == Action::Delete {
        remove(executor, name, change).await
    } else {
        converge(executor, name, change).await
    };
    result.unwrap_or_else(|e| NodeOutcome::Failed(e.to_string()))
}

fn live_template<'a>(executor: &'a Executor, name: &str) -> Option<&'a LiveLaunchTemplate> {
    let aws = aws_name(&executor.stack, name);
    executor
        .observed
        .launch_templates
        .iter()
        .find(|t| t.name == aws)
}

async fn converge(
    executor: &Executor,
    name: &str,
    change: &GroupChange,
) -> Result<NodeOutcome, AwsError> {
    let stack = &executor.stack;
    let group = &stack.groups[name];
    let address = Address::Group(name.to_owned()).to_string();
    let image = executor.images.get(name).cloned().unwrap_or_default();
    let spec = match LaunchSpec::render(stack, name, &image, &executor.outputs()) {
        Ok(spec) => spec,
        Err(message) => return Ok(NodeOutcome::Failed(message)),
    };
    // The outputs it uses are real now; the plan could only measure known ones.
    if let Some(size) = spec
        .user_data
        .as_ref()
        .map(String::len)
        .filter(|size| *size > crate::validate::MAX_USER_DATA)
    {
        return Ok(NodeOutcome::Failed(
            crate::plan::PlanError::UserDataTooLarge {
                address: Address::Group(name.to_owned()).to_string(),
                size,
            }
            .to_string(),
        ));
    }
    let hash = spec.hash();
    let template = live_template(executor, name);
    let mut upkeep = TemplateUpkeep::of(template, &hash, group.count);
    let ids = executor.security_group_ids();
    let (template_id, version) = match template.zip(upkeep.version) {
        Some((t, v)) => (t.id.clone(), v),
        None => {
            let mut template_tags = ownership_tags(stack, &Address::Group(name.to_owned()));
            template_tags.insert(tags::COUNT.to_owned(), group.count.to_string());
            template_tags.extend(user_tags(stack, Some(name)));
            let version = LaunchVersion {
                description: format!("spec={hash} commit={}", executor.options.commit),
                image_id: spec.image_id.clone(),
                instance_type: spec.instance_type.clone(),
                security_group_ids: group
                    .security_groups
                    .iter()
                    .filter_map(|s| ids.get(s).cloned())
                    .collect(),
                user_data: spec.user_data.clone(),
                instance_tags: instance_tags(stack, name, &spec),
                instance_profile: spec.instance_profile.clone(),
                key_name: spec.key_name.clone(),
                root_volume: spec.root_volume.clone().and_then(|volume| {
                    let device = executor.root_devices.get(name)?;
                    Some((device.clone(), volume))
                }),
                metadata: spec.metadata,
                client_token: short_hash(&format!(
                    "{}/{}/spec={hash} commit={}",
                    aws_name(stack, name),
                    template.map(|t| t.id.as_str()).unwrap_or("new"),
                    executor.options.commit
                )),
            };
            let (id, number) = executor
                .aws
                .put_launch_template_version(
                    &aws_name(stack, name),
                    template.map(|t| t.id.as_str()),
                    &version,
                    &template_tags,
                )
                .await?;
            executor.progress.line(
                &address,
                &format!("launch template version {number} (spec {hash})"),
            );
            upkeep = upkeep.with_new_version(template, number);
            (id, number)
        }
    };
    let target = Target {
        hash: hash.clone(),
        template_id: template_id.clone(),
        version,
        tags: instance_tags(stack, name, &spec),
        instance_type: Some(spec.instance_type.clone()),
        image_id: Some(spec.image_id.clone()),
    };
    match roll(executor, name, group, &target).await? {
        Rolled::Converged => {
            finish(executor, group, &template_id, &upkeep).await?;
            // The user's tags changed: kept instances, their volumes and the template
            // are retagged in place (what this run launched has them already).
            executor
                .aws
                .tag_resources(&change.retag, &change.set_tags)
                .await?;
            executor
                .aws
                .delete_tags(&change.retag, &change.remove_tags)
                .await?;
            Ok(NodeOutcome::Done(format!(
                "{} on spec {hash}",
                plural(group.count as usize, "instance")
            )))
        }
        Rolled::Interrupted => Ok(NodeOutcome::Interrupted),
        Rolled::Failed(failed) => {
            let progress = executor.progress.group(&address, group.count);
            for (id, why) in &failed {
                progress.event(&format!("instance `{id}` failed: {why}"));
            }
            match group.rollout.on_failure {
                OnFailure::Halt => {
                    progress.finish("halted in place (on_failure: halt)");
                    Ok(NodeOutcome::Failed(halt_message(&failed)))
                }
                OnFailure::Rollback => rollback(executor, name, group, &target, failed).await,
            }
        }
    }
}

fn halt_message(failed: &[(String, String)]) -> String {
    let lines: Vec<String> = failed
        .iter()
        .map(|(id, why)| format!("`{id}`: {why}"))
        .collect();
    format!(
        "rollout halted: {} failed its health gate ({})",
        plural(failed.len(), "instance"),
        lines.join("; ")
    )
}

/// Terminates the failed instances and rolls the group back to the spec of its launch
/// template's default version (the last complete rollout).
async fn rollback(
    executor: &Executor,
    name: &str,
    group: &Group,
    failed_target: &Target,
    failed: Vec<(String, String)>,
) -> Result<NodeOutcome, AwsError> {
    let address = Address::Group(name.to_owned()).to_string();
    let progress = executor.progress.group(&address, group.count);
    let failed_ids: Vec<String> = failed.iter().map(|(id, _)| id.clone()).collect();
    executor.aws.terminate_instances(&failed_ids).await?;
    let previous = live_template(executor, name).and_then(|t| {
        let v = t.version(t.default_version)?;
        Some((t.id.clone(), v.number, v.spec()?.to_owned()))
    });
    let Some((template_id, version, hash)) =
        previous.filter(|(_, _, hash)| *hash != failed_target.hash)
    else {
        progress.finish("no previous spec to roll back to");
        return Ok(NodeOutcome::Failed(halt_message(&failed)));
    };
    // The previous spec's tags, as its instances carry them.
    let tags: BTreeMap<String, String> = executor
        .observed
        .instances
        .iter()
        .find(|i| i.tag(tags::SPEC) == Some(hash.as_str()))
        .map(|i| {
            i.tags
                .iter()
                .filter(|(k, _)| k.starts_with("rollstack:") || *k == tags::NAME)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_else(|| {
            let mut tags = ownership_tags(&executor.stack, &Address::Group(name.to_owned()));
            tags.insert(tags::SPEC.to_owned(), hash.clone());
            tags.insert(tags::NAME.to_owned(), aws_name(&executor.stack, name));
            tags
        });
    progress.event(&format!(
        "rolling back to spec {hash} (launch template version {version})"
    ));
    let target = Target {
        hash,
        template_id,
        version,
        tags,
        instance_type: None,
        image_id: None,
    };
    match roll(executor, name, group, &target).await? {
        Rolled::Converged => Ok(NodeOutcome::RolledBack(failed)),
        Rolled::Interrupted => Ok(NodeOutcome::Interrupted),
        Rolled::Failed(more) => Ok(NodeOutcome::Failed(format!(
            "{}; the rollback failed too: {}",
            halt_message(&failed),
            halt_message(&more)
        ))),
    }
}

/// After a complete rollout: the version becomes the template's default (what a
/// rollback returns to) and the applied count is recorded, as `upkeep` (the plan's
/// reading of the template) says.
async fn finish(
    executor: &Executor,
    group: &Group,
    template_id: &str,
    upkeep: &TemplateUpkeep,
) -> Result<(), AwsError> {
    if let Some((_, version)) = upkeep.default_moves {
        executor
            .aws
            .set_default_version(template_id, version)
            .await?;
    }
    if upkeep.count_changes {
        let count = group.count.to_string();
        executor
            .aws
            .set_tags(
                template_id,
                &BTreeMap::from([(tags::COUNT.to_owned(), count)]),
            )
            .await?;
    }
    Ok(())
}

/// What the health poll keeps between polls: signals already read, by instance.
#[derive(Default)]
struct SignalCache {
    read: BTreeMap<String, (String, Signal)>,
}

async fn roll(
    executor: &Executor,
    name: &str,
    group: &Group,
    target: &Target,
) -> Result<Rolled, AwsError> {
    let stack = &executor.stack;
    let address = Address::Group(name.to_owned()).to_string();
    let policy = Policy::of(group);
    let checks = health::checks(stack, name);
    let progress = executor.progress.group(&address, group.count);
    let mut signals = SignalCache::default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .ok();
    // Every call of the loop may fail with AWS weather: the loop then tries again, from
    // what AWS reports next time (launches carry their client token, terminations are
    // idempotent).
    let mut patience = Patience::default();
    let mut unlisted = Unlisted::default();
    loop {
        if executor.cancelled() {
            progress.finish("interrupted after a safe step");
            return Ok(Rolled::Interrupted);
        }
        let observed = executor
            .aws
            .group_instances(&stack.name, &stack.environment.name, &address)
            .await;
        let Some(live) = patience.poll(observed)? else {
            executor.nap(executor.options.poll_interval).await;
            continue;
        };
        let current: Vec<&LiveInstance> = live.iter().filter(|i| target.holds(i)).collect();
        if checks.contains(&Check::Signal)
            && patience
                .poll(poll_signals(executor, &current, &mut signals).await)?
                .is_none()
        {
            executor.nap(executor.options.poll_interval).await;
            continue;
        }
        let probes = match (
            &http,
            checks.iter().find(|c| matches!(c, Check::Http { .. })),
        ) {
            (Some(client), Some(Check::Http { port, path })) => {
                probe(client, &current, *port, path).await
            }
            _ => BTreeMap::new(),
        };
        let now = SystemTime::now();
        let members: Vec<Member> = live
            .iter()
            .map(|i| {
                let is_current = target.holds(i);
                let health = if is_current {
                    let seen = Seen {
                        signal: signals.read.get(&i.id).map(|(_, s)| s),
                        http: probes.get(&i.id),
                    };
                    health::judge(
                        i,
                        &target.hash,
                        &checks,
                        &seen,
                        health::age(&i.launch_time, now),
                        group.rollout.health_timeout.0,
                    )
                } else if i.state == InstanceState::Running {
                    Health::Healthy
                } else {
                    Health::Pending
                };
                Member {
                    id: i.id.clone(),
                    current: is_current,
                    health,
                    subnet: i.subnet_id.clone(),
                    launched: i.launch_time.clone(),
                }
            })
            .chain(unlisted.members(&live))
            .collect();
        let healthy = members
            .iter()
            .filter(|m| m.current && m.health == Health::Healthy)
            .count() as u32;
        let on_target = members.iter().filter(|m| m.current).count() as u32;
        match rollout::next_step(&members, &policy) {
            Step::Launch(n) => {
                progress.update(on_target, healthy, &format!("launching {n}"));
                match patience.poll(launch(executor, name, group, target, &members, n).await)? {
                    Some(ids) => unlisted.add(ids),
                    None => executor.nap(executor.options.poll_interval).await,
                }
            }
            Step::Terminate(ids, why) => {
                // Scale-in terminates current instances, so this can be more than the
                // old ones.
                let old_left = members
                    .iter()
                    .filter(|m| !m.current)
                    .count()
                    .saturating_sub(ids.len());
                let what = match why {
                    rollout::Why::OutOfService => "out of service",
                    rollout::Why::Replaced => "replaced",
                    rollout::Why::ScaleIn => "scale-in",
                };
                progress.update(
                    on_target,
                    healthy,
                    &format!("terminating {} ({what}): {}", ids.len(), ids.join(" ")),
                );
                if patience
                    .poll(executor.aws.terminate_instances(&ids).await)?
                    .is_none()
                {
                    executor.nap(executor.options.poll_interval).await;
                    continue;
                }
                if why == rollout::Why::Replaced && old_left > 0 {
                    executor.nap(group.rollout.pause.0).await;
                }
            }
            Step::Wait => {
                progress.update(on_target, healthy, "waiting for health");
                executor.nap(executor.options.poll_interval).await;
            }
            Step::Failed(failed) => {
                progress.finish(&format!(
                    "{} failed the health gate",
                    plural(failed.len(), "instance")
                ));
                return Ok(Rolled::Failed(failed));
            }
            Step::Done => {
                progress.finish(&format!(
                    "{on_target}/{} healthy on spec {}",
                    group.count, target.hash
                ));
                return Ok(Rolled::Converged);
            }
        }
    }
}

/// How long an instance this run launched may be missing from listings before it is
/// taken as gone: AWS shows a new instance within seconds, usually.
const LISTING_LAG: Duration = Duration::from_secs(300);

/// Instances this run launched that the listing does not show yet (AWS is eventually
/// consistent): counted as current and pending, so a lagging listing never causes a
/// second launch, a capacity breach or a false failure.
#[derive(Default)]
struct Unlisted {
    launched: BTreeMap<String, (Option<String>, std::time::Instant, String)>,
}

impl Unlisted {
    /// Remembers `ids` (with their subnets) as just launched.
    fn add(&mut self, ids: Vec<(String, Option<String>)>) {
        let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        for (id, subnet) in ids {
            self.launched
                .insert(id, (subnet, std::time::Instant::now(), now.clone()));
        }
    }

    /// The launched instances `live` does not show, as members; those it shows (or that
    /// never showed up within [`LISTING_LAG`]) are forgotten.
    fn members(&mut self, live: &[LiveInstance]) -> Vec<Member> {
        self.launched.retain(|id, (_, at, _)| {
            at.elapsed() < LISTING_LAG && !live.iter().any(|i| &i.id == id)
        });
        self.launched
            .iter()
            .map(|(id, (subnet, _, launched))| Member {
                id: id.clone(),
                current: true,
                health: Health::Pending,
                subnet: subnet.clone(),
                launched: launched.clone(),
            })
            .collect()
    }
}

/// Reads the signals of `current` instances that are new or changed since the last
/// poll: one `ListObjectsV2`, plus one `GetObject` per signal written.
async fn poll_signals(
    executor: &Executor,
    current: &[&LiveInstance],
    cache: &mut SignalCache,
) -> Result<(), AwsError> {
    let Some(bucket) = &executor.stack.state_bucket else {
        return Ok(());
    };
    let prefix = health::signal_prefix(&executor.stack.name, &executor.stack.environment.name);
    let wanted: BTreeSet<&str> = current.iter().map(|i| i.id.as_str()).collect();
    for object in executor.aws.list_objects(bucket, &prefix).await? {
        let Some(id) = object.key.strip_prefix(&prefix) else {
            continue;
        };
        if !wanted.contains(id)
            || cache
                .read
                .get(id)
                .is_some_and(|(etag, _)| *etag == object.etag)
        {
            continue;
        }
        if let Some(stored) = executor.aws.get_object(bucket, &object.key).await?
            && let Ok(signal) = serde_json::from_slice::<Signal>(&stored.body)
        {
            cache
                .read
                .insert(id.to_owned(), (object.etag.clone(), signal));
        }
    }
    Ok(())
}

/// GETs `http://{private_ip}:{port}{path}` of every running instance, concurrently.
async fn probe(
    client: &reqwest::Client,
    instances: &[&LiveInstance],
    port: u16,
    path: &str,
) -> BTreeMap<String, Result<u16, String>> {
    let probes = instances
        .iter()
        .filter(|i| i.state == InstanceState::Running)
        .filter_map(|i| Some((i.id.clone(), i.private_ip.clone()?)))
        .map(|(id, ip)| async move {
            let url = format!("http://{ip}:{port}{path}");
            let answer = match client.get(&url).send().await {
                Ok(response) => Ok(response.status().as_u16()),
                Err(e) if e.is_timeout() => Err("timed out".to_owned()),
                Err(e) if e.is_connect() => Err("connection refused".to_owned()),
                Err(e) => Err(e.to_string()),
            };
            (id, answer)
        });
    futures_util::future::join_all(probes)
        .await
        .into_iter()
        .collect()
}

/// A group removed from the file: terminate its instances, wait for them, delete its
/// launch template.
async fn remove(
    executor: &Executor,
    name: &str,
    change: &GroupChange,
) -> Result<NodeOutcome, AwsError> {
    let stack = &executor.stack;
    let address = Address::Group(name.to_owned()).to_string();
    let started = std::time::Instant::now();
    let mut patience = Patience::default();
    loop {
        let observed = executor
            .aws
            .group_instances(&stack.name, &stack.environment.name, &address)
            .await;
        let Some(live) = patience.poll(observed)? else {
            executor.nap(executor.options.poll_interval).await;
            continue;
        };
        if live.is_empty() {
            break;
        }
        if started.elapsed() > TERMINATE_TIMEOUT {
            return Ok(NodeOutcome::Failed(format!(
                "{} still not terminated after {}",
                plural(live.len(), "instance"),
                humantime::format_duration(TERMINATE_TIMEOUT)
            )));
        }
        let ids: Vec<String> = live.iter().map(|i| i.id.clone()).collect();
        patience.poll(executor.aws.terminate_instances(&ids).await)?;
        executor.nap(executor.options.poll_interval).await;
    }
    if let Some(template) = live_template(executor, name) {
        executor.aws.delete_launch_template(&template.id).await?;
    }
    let message = format!(
        "terminated {}; launch template `{}` deleted",
        plural(change.terminate.len(), "instance"),
        change.name
    );
    executor.progress.line(&address, &message);
    Ok(NodeOutcome::Done(message))
}
