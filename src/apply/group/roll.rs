//! One rollout: observe the group, ask [`rollout::next_step`] what to do, do it, and
//! observe again, until the group is done, fails its gate, or SIGINT stops it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::autoscaling as group_autoscaling;
use super::launch::launch;
use super::probe::probe;
use super::{Executor, Rolled, Target};
use crate::apply::dns;
use crate::apply::observer::Snapshot;
use crate::apply::progress::GroupProgress;
use crate::aws::AwsError;
use crate::aws::Patience;
use crate::diagnostic::plural;
use crate::model::{Address, Group, HealthCheck};
use crate::observe::{LiveAutoScalingGroup, LiveInstance, LiveTargetGroup, TargetState, group_of};
use crate::rollout::autoscaling;
use crate::rollout::health::{self, Seen};
use crate::rollout::traffic::{self, Drains};
use crate::rollout::{
    self, AlarmGate, BakeClock, Firing, Gates, Judges, Member, Policy, Step, Traffic, Unlisted,
};
use crate::state::signals::Signals;

/// How a rollout goes beyond its target: what it takes out whatever its state, and
/// whether it is a rollback (no canary, no alarms: it restores what served).
pub(super) struct Roll<'a> {
    /// The group's target groups, resolved.
    pub target_groups: &'a [String],
    /// Instances to drain and terminate first (a rolled-back spec's).
    pub evict: BTreeSet<String>,
    /// Whether this rollout restores the previous spec.
    pub rollback: bool,
    /// The group's Auto Scaling group, when it runs as one: launches and terminations
    /// go through it.
    pub autoscaling: Option<String>,
}

/// Rolls group `name` to `target`.
pub(super) async fn roll(
    executor: &Executor,
    name: &str,
    group: &Group,
    target: &Target,
    how: Roll<'_>,
) -> Result<Rolled, AwsError> {
    let mut rollout = Rollout::new(executor, name, group, target, how).await?;
    loop {
        if executor.cancelled() {
            rollout.progress.finish("interrupted after a safe step");
            return Ok(Rolled::Interrupted);
        }
        let Some((members, gates)) = rollout.observe().await? else {
            executor.nap(executor.options.poll_interval).await;
            continue;
        };
        let step = rollout::next_step(&members, &rollout.policy, &gates);
        if let Some(rolled) = rollout.act(step, &members).await? {
            return Ok(rolled);
        }
    }
}

/// What one rollout keeps between its steps: nothing it could not observe again, but
/// the last snapshot it decided on, the HTTP client, what it launched that listings may
/// not show yet, when its deregistered instances started draining, and its bake clock.
struct Rollout<'a> {
    executor: &'a Executor,
    name: &'a str,
    group: &'a Group,
    target: &'a Target,
    policy: Policy,
    checks: Vec<HealthCheck>,
    progress: GroupProgress,
    /// The last snapshot it decided on (each step decides on one begun after the step
    /// before it ended).
    seen: Option<Arc<Snapshot>>,
    http: Option<reqwest::Client>,
    // Every call of the loop may fail with AWS weather: the loop then tries again, from
    // what AWS reports next time (launches carry their client token, terminations and
    // (de)registrations are idempotent).
    patience: Patience,
    unlisted: Unlisted,
    /// The target groups, with their deregistration delay (read once).
    target_groups: Vec<(String, Duration)>,
    drains: Drains,
    evict: BTreeSet<String>,
    alarm_names: Vec<String>,
    alarm_gate: AlarmGate,
    /// Set at the first observation: a rollout that replaces nothing has no canary.
    bake: Option<BakeClock>,
    rollback: bool,
    /// The Auto Scaling group's name, and how the last snapshot showed it.
    autoscaling: Option<(String, Option<LiveAutoScalingGroup>)>,
    /// Since when the snapshots have not shown the Auto Scaling group.
    asg_missing_since: Option<Instant>,
}

impl<'a> Rollout<'a> {
    async fn new(
        executor: &'a Executor,
        name: &'a str,
        group: &'a Group,
        target: &'a Target,
        how: Roll<'_>,
    ) -> Result<Rollout<'a>, AwsError> {
        let address = Address::Group(name.to_owned());
        let mut target_groups = Vec::new();
        for arn in how.target_groups {
            let live = executor.aws.target_group(arn).await?;
            target_groups.push((arn.clone(), live.deregistration_delay));
        }
        let policy = Policy::of(group);
        let (policy, alarm_names) = if how.rollback {
            (policy.without_canary(), Vec::new())
        } else {
            (policy, group.rollout.alarms.clone())
        };
        executor.observer.watch(&target_groups, &alarm_names);
        Ok(Rollout {
            progress: executor.progress.group(&address, group.count),
            policy,
            checks: health::checks(&executor.stack, name),
            seen: None,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .ok(),
            patience: Patience::default(),
            unlisted: Unlisted::default(),
            target_groups,
            drains: Drains::default(),
            evict: how.evict,
            alarm_gate: AlarmGate::new(executor.options.ignored_alarms.iter().cloned()),
            alarm_names,
            bake: None,
            rollback: how.rollback,
            autoscaling: how.autoscaling.map(|name| (name, None)),
            asg_missing_since: None,
            executor,
            name,
            group,
            target,
        })
    }

    /// The group's members as the next poll of the environment shows them, each judged
    /// by the health gate and placed in the target groups, and the gates; `None` when
    /// AWS weather got in the way.
    async fn observe(&mut self) -> Result<Option<(Vec<Member>, Gates)>, AwsError> {
        let executor = self.executor;
        // A snapshot begun before this rollout's last step may not show what it did.
        let viewed = executor.observer.view(Instant::now()).await;
        let Some(snapshot) = self.patience.poll(viewed)? else {
            return Ok(None);
        };
        self.seen = Some(snapshot.clone());
        let mut live: Vec<LiveInstance> = snapshot
            .instances
            .iter()
            .filter(|i| group_of(i).as_deref() == Some(self.name))
            .cloned()
            .collect();
        let asg = match &self.autoscaling {
            None => None,
            Some((name, _)) => match snapshot.autoscaling_group(name) {
                Some(asg) => Some(asg.clone()),
                // Not shown yet (just made: listings lag), for a bounded while.
                None => {
                    let since = *self.asg_missing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > crate::aws::CONSISTENCY_WAIT {
                        return Err(AwsError::Incomplete {
                            operation: "DescribeAutoScalingGroups",
                            missing: "the group's Auto Scaling group, for 2 minutes",
                        });
                    }
                    return Ok(None);
                }
            },
        };
        if let Some(asg) = &asg {
            live = autoscaling::with_plain(asg, &live)
                .into_iter()
                .cloned()
                .collect();
            let policy = Policy::at(self.group, asg.wanted());
            self.policy = if self.rollback {
                policy.without_canary()
            } else {
                policy
            };
        }
        let target_groups = snapshot.target_groups_of(&self.target_groups);
        let alarms = snapshot.alarms_of(&self.alarm_names);
        let spec = self.target.spec();
        let current: Vec<&LiveInstance> = live.iter().filter(|i| spec.is_current(i)).collect();
        let probes = match (&self.http, self.http_check()) {
            (Some(client), Some((port, path))) => probe(client, &current, port, path).await,
            _ => BTreeMap::new(),
        };
        let mut members = self.judge(&live, &target_groups, &probes, &snapshot.signals);
        if let Some(asg) = &asg {
            autoscaling::plain_are_old(asg, &mut members);
        }
        let traffic = if target_groups.is_empty() {
            Traffic::Direct
        } else {
            Traffic::Unregistered
        };
        let now = Instant::now();
        match &asg {
            Some(asg) => members.extend(autoscaling::pending(asg, &live, traffic)),
            None => members.extend(self.unlisted.members(&live, traffic, now)),
        }
        if let Some((_, seen)) = &mut self.autoscaling {
            *seen = asg;
        }
        let policy = &self.policy;
        let bake = self
            .bake
            .get_or_insert_with(|| BakeClock::for_rollout(policy, &members));
        let gates = Gates {
            bake: bake.state(now),
            firing: self.alarm_gate.firing(&alarms),
        };
        Ok(Some((members, gates)))
    }

    /// Members of `live`, judged with what the target groups and probes report.
    fn judge(
        &mut self,
        live: &[LiveInstance],
        target_groups: &[LiveTargetGroup],
        probes: &BTreeMap<String, Result<u16, String>>,
        signals: &Signals,
    ) -> Vec<Member> {
        let now = SystemTime::now();
        let clock = Instant::now();
        let timeout = self.group.rollout.health_timeout.0;
        let groups: Vec<&LiveTargetGroup> = target_groups.iter().collect();
        let drains = &mut self.drains;
        let (checks, hash) = (&self.checks, &self.target.hash);
        let judges = Judges {
            evict: &self.evict,
            health: |instance: &LiveInstance, traffic: Traffic| {
                let seen = Seen {
                    signal: signals.get(&instance.id),
                    http: probes.get(&instance.id),
                };
                let age = health::age(&instance.launch_time, now);
                let role = health::judge(instance, hash, checks, &seen, age, timeout);
                let unhealthy_in = groups.iter().find_map(|g| {
                    let target = g.targets.get(&instance.id)?;
                    (target.state != TargetState::Healthy)
                        .then(|| (g.short_name(), target.reason.as_deref()))
                });
                traffic::judge(role, traffic, unhealthy_in, age, timeout)
            },
            traffic: |instance: &LiveInstance| {
                traffic::traffic_of(&instance.id, &groups, drains, clock)
            },
        };
        rollout::members(live, &self.target.spec(), judges)
    }

    fn http_check(&self) -> Option<(u16, &str)> {
        self.checks.iter().find_map(|c| match c {
            HealthCheck::Http { port, path } => Some((*port, path.as_str())),
            _ => None,
        })
    }

    /// The Auto Scaling group as the last snapshot showed it, when the group runs as one.
    fn asg(&self) -> Option<&LiveAutoScalingGroup> {
        self.autoscaling
            .as_ref()
            .and_then(|(_, seen)| seen.as_ref())
    }

    /// Carries out `step`; the rollout's end, when it is one.
    async fn act(&mut self, step: Step, members: &[Member]) -> Result<Option<Rolled>, AwsError> {
        let executor = self.executor;
        if !self.protect_new(members).await? || !self.records_follow(&step, members).await? {
            executor.nap(executor.options.poll_interval).await;
            return Ok(None);
        }
        let (on_target, serving) = rollout::counts(members);
        let update = |line: &str| self.progress.update(on_target, serving, line);
        match step {
            Step::Launch(n) => {
                update(&format!("launching {n}"));
                self.launch(members, n).await?;
            }
            Step::Register(ids) => {
                update(&format!("registering {}: {}", ids.len(), ids.join(" ")));
                let registered = self.register(&ids).await;
                if self.patience.poll(registered)?.is_none() {
                    executor.nap(executor.options.poll_interval).await;
                }
            }
            Step::Deregister { ids, why, pause } => {
                let what = why.as_str();
                update(&format!(
                    "deregistering {} ({what}): {}",
                    ids.len(),
                    ids.join(" ")
                ));
                let deregistered = self.deregister(&ids).await;
                let wait = match self.patience.poll(deregistered)? {
                    Some(()) => pause.max(executor.options.poll_interval),
                    None => executor.options.poll_interval,
                };
                executor.nap(wait).await;
            }
            Step::Terminate { ids, why, pause } => {
                let what = why.as_str();
                update(&format!(
                    "terminating {} ({what}): {}",
                    ids.len(),
                    ids.join(" ")
                ));
                let terminated = self.terminate(&ids).await;
                let wait = match self.patience.poll(terminated)? {
                    Some(()) => pause,
                    None => executor.options.poll_interval,
                };
                executor.nap(wait).await;
            }
            Step::Wait => {
                update("waiting for health and draining");
                executor.nap(executor.options.poll_interval).await;
            }
            Step::Bake => {
                let (line, wait) = self.bake();
                self.progress.update(on_target, serving, &line);
                executor.nap(wait).await;
            }
            Step::Failed(failed) => {
                let line = format!(
                    "{} failed the health gate",
                    plural(failed.len(), "instance")
                );
                self.progress.finish(&line);
                return Ok(Some(Rolled::Failed(failed)));
            }
            Step::Alarm(firing) => return Ok(Some(self.alarmed(&firing, members))),
            Step::Done => {
                if !self.finish_autoscaling().await? {
                    return Ok(None);
                }
                let count = self.policy.count;
                let hash = &self.target.hash;
                self.progress
                    .finish(&format!("{on_target}/{count} serving on spec {hash}"));
                return Ok(Some(Rolled::Converged));
            }
        }
        Ok(None)
    }

    /// Launches `n`: through the Auto Scaling group's desired capacity, or as a batch
    /// of instances this run remembers until listings show them.
    async fn launch(&mut self, members: &[Member], n: u32) -> Result<(), AwsError> {
        let executor = self.executor;
        if let Some(asg) = self.asg() {
            let launched = group_autoscaling::launch(executor, asg, n).await;
            if self.patience.poll(launched)?.is_none() {
                executor.nap(executor.options.poll_interval).await;
            }
            return Ok(());
        }
        let launched = launch(executor, self.name, self.group, self.target, members, n);
        match self.patience.poll(launched.await)? {
            Some(ids) => self.unlisted.add(ids, Instant::now(), SystemTime::now()),
            None => executor.nap(executor.options.poll_interval).await,
        }
        Ok(())
    }

    /// An Auto Scaling group's end of a rollout; whether it is done (false: AWS weather
    /// got in the way, and the rollout observes again).
    async fn finish_autoscaling(&mut self) -> Result<bool, AwsError> {
        let Some(asg) = self.asg() else {
            return Ok(true);
        };
        let finished = group_autoscaling::finish(self.executor, self.name, asg).await;
        Ok(self.patience.poll(finished)?.is_some())
    }

    /// Terminates `ids`: through the Auto Scaling group, or directly.
    async fn terminate(&self, ids: &[String]) -> Result<(), AwsError> {
        match self.asg() {
            Some(asg) => group_autoscaling::take_out(self.executor, asg, ids).await,
            None => self.executor.aws.terminate_instances(ids).await,
        }
    }

    /// In an Auto Scaling group, while old instances remain, protects the new ones from
    /// scale-in, so a scale-in takes old ones. Whether that is done (false: AWS weather
    /// got in the way, and the step waits for the next poll).
    async fn protect_new(&mut self, members: &[Member]) -> Result<bool, AwsError> {
        let Some(asg) = self.asg() else {
            return Ok(true);
        };
        if members.iter().all(|m| m.current) {
            return Ok(true);
        }
        let current: Vec<String> = members
            .iter()
            .filter(|m| m.current)
            .map(|m| m.id.clone())
            .collect();
        let protected = group_autoscaling::protect(self.executor, asg, &current).await;
        Ok(self.patience.poll(protected)?.is_some())
    }

    /// The canary's bake (started now if it has not been): the progress line, and how
    /// long to wait before the next poll.
    fn bake(&mut self) -> (String, Duration) {
        let left = self
            .bake
            .as_mut()
            .map_or(Duration::ZERO, |b| b.bake(Instant::now()));
        let left_text = humantime::format_duration(Duration::from_secs(left.as_secs()));
        let poll = self.executor.options.poll_interval;
        (
            format!("canary serving; baking, {left_text} left"),
            poll.min(left.max(Duration::from_millis(100))),
        )
    }

    /// The end of a rollout an alarm stopped: every instance of the target spec failed,
    /// with the alarm and its reason.
    fn alarmed(&self, firing: &[Firing], members: &[Member]) -> Rolled {
        let why = firing
            .iter()
            .map(|f| format!("alarm `{}` is in ALARM: {}", f.name, f.reason))
            .collect::<Vec<_>>()
            .join("; ");
        self.progress.finish(&why);
        let failed = members
            .iter()
            .filter(|m| m.current)
            .map(|m| (m.id.clone(), why.clone()))
            .collect();
        Rolled::Failed(failed)
    }

    /// Moves the group's DNS records (`dns:`) before a step that takes instances out of
    /// service or ends the rollout: to the serving members, less those the step takes
    /// out. Whether they are set (other steps: true); when AWS weather got in the way,
    /// the step waits for the next poll.
    async fn records_follow(&mut self, step: &Step, members: &[Member]) -> Result<bool, AwsError> {
        let leaving: &[String] = match step {
            Step::Deregister { ids, .. } | Step::Terminate { ids, .. } => ids,
            Step::Done => &[],
            _ => return Ok(true),
        };
        let serving: BTreeSet<String> = members
            .iter()
            .filter(|m| m.is_serving() && !leaving.contains(&m.id))
            .map(|m| m.id.clone())
            .collect();
        let executor = self.executor;
        let instances = self.seen.as_ref().map(|s| s.instances.as_slice());
        let set = dns::set_during_rollout(
            &executor.aws,
            &executor.stack,
            (self.name, instances),
            &serving,
        );
        Ok(self.patience.poll(set.await)?.is_some())
    }

    async fn register(&self, ids: &[String]) -> Result<(), AwsError> {
        for (arn, _) in &self.target_groups {
            self.executor.aws.register_targets(arn, ids).await?;
        }
        Ok(())
    }

    async fn deregister(&mut self, ids: &[String]) -> Result<(), AwsError> {
        for (arn, _) in &self.target_groups {
            self.executor.aws.deregister_targets(arn, ids).await?;
        }
        self.drains.started(ids, Instant::now());
        Ok(())
    }
}
