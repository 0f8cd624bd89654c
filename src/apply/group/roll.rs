//! One rollout: observe the group, ask [`rollout::next_step`] what to do, do it, and
//! observe again, until the group is done, fails its gate, or SIGINT stops it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use super::launch::launch;
use super::{Executor, Rolled, Target};
use crate::apply::patience::Patience;
use crate::apply::progress::GroupProgress;
use crate::apply::signals::Signals;
use crate::aws::AwsError;
use crate::diagnostic::plural;
use crate::model::{Address, Group, HealthCheck};
use crate::observe::{InstanceState, LiveInstance};
use crate::rollout::health::{self, Seen};
use crate::rollout::{self, Health, Member, Policy, Step};

/// How long an instance this run launched may be missing from listings before it is
/// taken as gone: AWS shows a new instance within seconds, usually.
const LISTING_LAG: Duration = Duration::from_secs(300);

/// Rolls group `name` to `target`.
pub(super) async fn roll(
    executor: &Executor,
    name: &str,
    group: &Group,
    target: &Target,
) -> Result<Rolled, AwsError> {
    let mut rollout = Rollout::new(executor, name, group, target);
    loop {
        if executor.cancelled() {
            rollout.progress.finish("interrupted after a safe step");
            return Ok(Rolled::Interrupted);
        }
        let Some(members) = rollout.observe().await? else {
            executor.nap(executor.options.poll_interval).await;
            continue;
        };
        let step = rollout::next_step(&members, &rollout.policy);
        if let Some(rolled) = rollout.act(step, &members).await? {
            return Ok(rolled);
        }
    }
}

/// What one rollout keeps between its steps: nothing it could not observe again, but
/// the signals already read, the HTTP client, and what it launched that listings may
/// not show yet.
struct Rollout<'a> {
    executor: &'a Executor,
    name: &'a str,
    group: &'a Group,
    target: &'a Target,
    address: Address,
    policy: Policy,
    checks: Vec<HealthCheck>,
    progress: GroupProgress,
    signals: Signals,
    http: Option<reqwest::Client>,
    // Every call of the loop may fail with AWS weather: the loop then tries again, from
    // what AWS reports next time (launches carry their client token, terminations are
    // idempotent).
    patience: Patience,
    unlisted: Unlisted,
}

impl<'a> Rollout<'a> {
    fn new(executor: &'a Executor, name: &'a str, group: &'a Group, target: &'a Target) -> Self {
        let address = Address::Group(name.to_owned());
        Rollout {
            progress: executor.progress.group(&address, group.count),
            address,
            policy: Policy::of(group),
            checks: health::checks(&executor.stack, name),
            signals: Signals::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .ok(),
            patience: Patience::default(),
            unlisted: Unlisted::default(),
            executor,
            name,
            group,
            target,
        }
    }

    /// The group's members as AWS shows them now, each judged by the health gate;
    /// `None` when AWS weather got in the way.
    async fn observe(&mut self) -> Result<Option<Vec<Member>>, AwsError> {
        let executor = self.executor;
        let stack = &executor.stack;
        let observed = executor
            .aws
            .group_instances(
                &stack.name,
                &stack.environment.name,
                &self.address.to_string(),
            )
            .await;
        let Some(live) = self.patience.poll(observed)? else {
            return Ok(None);
        };
        let spec = self.target.spec();
        let current: Vec<&LiveInstance> = live.iter().filter(|i| spec.is_current(i)).collect();
        if self.checks.contains(&HealthCheck::Signal) {
            let read = self.read_signals(&current).await;
            if self.patience.poll(read)?.is_none() {
                return Ok(None);
            }
        }
        let probes = match (&self.http, self.http_check()) {
            (Some(client), Some((port, path))) => probe(client, &current, port, path).await,
            _ => BTreeMap::new(),
        };
        let now = SystemTime::now();
        let timeout = self.group.rollout.health_timeout.0;
        let mut members = rollout::members(&live, &spec, |instance| {
            let seen = Seen {
                signal: self.signals.get(&instance.id),
                http: probes.get(&instance.id),
            };
            let age = health::age(&instance.launch_time, now);
            health::judge(
                instance,
                &self.target.hash,
                &self.checks,
                &seen,
                age,
                timeout,
            )
        });
        members.extend(self.unlisted.members(&live));
        Ok(Some(members))
    }

    async fn read_signals(&mut self, current: &[&LiveInstance]) -> Result<(), AwsError> {
        let stack = &self.executor.stack;
        let Some(bucket) = &stack.state_bucket else {
            return Ok(());
        };
        let wanted: BTreeSet<&str> = current.iter().map(|i| i.id.as_str()).collect();
        let env = (stack.name.as_str(), stack.environment.name.as_str());
        self.signals
            .refresh(&self.executor.aws, bucket, env, &wanted)
            .await
    }

    fn http_check(&self) -> Option<(u16, &str)> {
        self.checks.iter().find_map(|c| match c {
            HealthCheck::Http { port, path } => Some((*port, path.as_str())),
            _ => None,
        })
    }

    /// Carries out `step`; the rollout's end, when it is one.
    async fn act(&mut self, step: Step, members: &[Member]) -> Result<Option<Rolled>, AwsError> {
        let executor = self.executor;
        let healthy = members
            .iter()
            .filter(|m| m.current && m.health == Health::Healthy)
            .count() as u32;
        let on_target = members.iter().filter(|m| m.current).count() as u32;
        let progress = &self.progress;
        match step {
            Step::Launch(n) => {
                progress.update(on_target, healthy, &format!("launching {n}"));
                let launched = launch(executor, self.name, self.group, self.target, members, n);
                match self.patience.poll(launched.await)? {
                    Some(ids) => self.unlisted.add(ids),
                    None => executor.nap(executor.options.poll_interval).await,
                }
            }
            Step::Terminate { ids, why, pause } => {
                let what = why.as_str();
                let line = format!("terminating {} ({what}): {}", ids.len(), ids.join(" "));
                progress.update(on_target, healthy, &line);
                let terminated = executor.aws.terminate_instances(&ids).await;
                let wait = match self.patience.poll(terminated)? {
                    Some(()) => pause,
                    None => executor.options.poll_interval,
                };
                executor.nap(wait).await;
            }
            Step::Wait => {
                progress.update(on_target, healthy, "waiting for health");
                executor.nap(executor.options.poll_interval).await;
            }
            Step::Failed(failed) => {
                let line = format!(
                    "{} failed the health gate",
                    plural(failed.len(), "instance")
                );
                progress.finish(&line);
                return Ok(Some(Rolled::Failed(failed)));
            }
            Step::Done => {
                let count = self.group.count;
                let hash = &self.target.hash;
                progress.finish(&format!("{on_target}/{count} healthy on spec {hash}"));
                return Ok(Some(Rolled::Converged));
            }
        }
        Ok(None)
    }
}

/// Instances this run launched that the listing does not show yet (AWS is eventually
/// consistent): counted as current and pending, so a lagging listing never causes a
/// second launch, a capacity breach or a false failure.
#[derive(Default)]
struct Unlisted {
    /// By id: subnet, when launched (for [`LISTING_LAG`]), launch time (RFC 3339).
    launched: BTreeMap<String, (Option<String>, Instant, String)>,
}

impl Unlisted {
    /// Remembers `ids` (with their subnets) as just launched.
    fn add(&mut self, ids: Vec<(String, Option<String>)>) {
        let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        for (id, subnet) in ids {
            self.launched
                .insert(id, (subnet, Instant::now(), now.clone()));
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
