//! One observation of the environment per poll, shared by every rollout of an apply:
//! the stack's instances (one paginated `DescribeInstances`), each watched target
//! group's health (one `DescribeTargetHealth` each), every watched alarm (one
//! `DescribeAlarms`) and the readiness signals (one `ListObjectsV2`, a `GetObject` per
//! signal new or changed). The calls a poll makes grow with pages and target groups, not
//! with the groups rolling; a rollout that waits (a pause, a bake) costs nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::aws::{Aws, AwsError};
use crate::model::Stack;
use crate::observe::{
    InstanceState, LiveAlarm, LiveAutoScalingGroup, LiveInstance, LiveTargetGroup, Query,
};

/// What a poll reads besides the instances: target groups with their delays, alarms,
/// Auto Scaling groups.
type Watched = (Vec<(String, Duration)>, Vec<String>, Vec<String>);
use crate::state::signals::Signals;

/// What one poll saw.
#[derive(Debug)]
pub struct Snapshot {
    /// When its reading started: a rollout decides only on a snapshot begun after
    /// its own last step, so it never acts twice on what it already changed.
    pub at: Instant,
    /// The environment's live instances.
    pub instances: Vec<LiveInstance>,
    /// The watched target groups, with their targets.
    pub target_groups: Vec<LiveTargetGroup>,
    /// The watched alarms.
    pub alarms: Vec<LiveAlarm>,
    /// The readiness signals read so far.
    pub signals: Signals,
    /// The watched Auto Scaling groups.
    pub autoscaling_groups: Vec<LiveAutoScalingGroup>,
}

impl Snapshot {
    /// The target groups among `arns`.
    pub fn target_groups_of(&self, arns: &[(String, Duration)]) -> Vec<LiveTargetGroup> {
        self.target_groups
            .iter()
            .filter(|t| arns.iter().any(|(arn, _)| arn == &t.arn))
            .cloned()
            .collect()
    }

    /// The Auto Scaling group named `name`, if it was read.
    pub fn autoscaling_group(&self, name: &str) -> Option<&LiveAutoScalingGroup> {
        self.autoscaling_groups.iter().find(|g| g.name == name)
    }

    /// The alarms among `names`.
    pub fn alarms_of(&self, names: &[String]) -> Vec<LiveAlarm> {
        self.alarms
            .iter()
            .filter(|a| names.contains(&a.name))
            .cloned()
            .collect()
    }
}

/// What the rollouts of an apply watch besides the instances.
#[derive(Debug, Default)]
struct Interest {
    /// Target groups, with their deregistration delay.
    target_groups: BTreeMap<String, Duration>,
    alarms: BTreeSet<String>,
    autoscaling_groups: BTreeSet<String>,
}

/// The shared observation of one apply.
pub struct Observer {
    aws: Aws,
    query: Query,
    /// Where signals are read, when a role is signal-gated.
    signals_in: Option<(String, String, String)>,
    poll: Duration,
    interest: Mutex<Interest>,
    latest: Mutex<Option<Arc<Snapshot>>>,
    /// Held by the one task that refreshes; the others wait for its snapshot.
    refreshing: tokio::sync::Mutex<Signals>,
}

impl Observer {
    /// The observer of `stack`'s environment, refreshed at most once every `poll`.
    pub fn new(aws: Aws, stack: &Stack, poll: Duration) -> Observer {
        let gated = stack
            .roles
            .values()
            .any(|r| r.health == crate::model::HealthCheck::Signal);
        let signals_in = stack
            .state_bucket
            .clone()
            .filter(|_| gated)
            .map(|b| (b, stack.name.clone(), stack.environment.name.clone()));
        Observer {
            aws,
            query: Query::for_stack(stack),
            signals_in,
            poll,
            interest: Mutex::new(Interest::default()),
            latest: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(Signals::default()),
        }
    }

    /// Watches `target_groups` (ARN, deregistration delay) and `alarms` too, from the
    /// next poll on.
    pub fn watch(&self, target_groups: &[(String, Duration)], alarms: &[String]) {
        if let Ok(mut interest) = self.interest.lock() {
            interest.target_groups.extend(target_groups.iter().cloned());
            interest.alarms.extend(alarms.iter().cloned());
        }
    }

    /// A snapshot begun at or after `since`: the latest if it was, else the next poll's
    /// (begun once the latest is a poll interval old). Everyone who asked before a
    /// reading began shares it: one reading per poll, however many groups roll.
    pub async fn view(&self, since: Instant) -> Result<Arc<Snapshot>, AwsError> {
        if let Some(latest) = self.latest().filter(|s| s.at >= since) {
            return Ok(latest);
        }
        let mut signals = self.refreshing.lock().await;
        let latest = self.latest();
        if let Some(latest) = latest.clone().filter(|s| s.at >= since) {
            return Ok(latest);
        }
        if let Some(latest) = &latest {
            tokio::time::sleep(self.poll.saturating_sub(latest.at.elapsed())).await;
        }
        let snapshot = Arc::new(self.read(&mut signals).await?);
        if let Ok(mut slot) = self.latest.lock() {
            *slot = Some(snapshot.clone());
        }
        Ok(snapshot)
    }

    /// Watches Auto Scaling group `name` too, from the next poll on.
    pub fn watch_autoscaling_group(&self, name: &str) {
        if let Ok(mut interest) = self.interest.lock() {
            interest.autoscaling_groups.insert(name.to_owned());
        }
    }

    fn latest(&self) -> Option<Arc<Snapshot>> {
        self.latest.lock().ok()?.clone()
    }

    /// One poll: everything at once.
    async fn read(&self, signals: &mut Signals) -> Result<Snapshot, AwsError> {
        let (target_groups, alarms, autoscaling): Watched = match self.interest.lock() {
            Ok(i) => (
                i.target_groups
                    .iter()
                    .map(|(a, d)| (a.clone(), *d))
                    .collect(),
                i.alarms.iter().cloned().collect(),
                i.autoscaling_groups.iter().cloned().collect(),
            ),
            Err(_) => Default::default(),
        };
        let at = Instant::now();
        let health = target_groups.iter().map(|(arn, delay)| async move {
            Ok::<_, AwsError>(LiveTargetGroup {
                arn: arn.clone(),
                deregistration_delay: *delay,
                targets: self.aws.target_health(arn).await?,
            })
        });
        let (instances, target_groups, alarms, autoscaling_groups) = tokio::try_join!(
            self.aws
                .environment_instances(&self.query, &InstanceState::LIVE),
            futures_util::future::try_join_all(health),
            async {
                if alarms.is_empty() {
                    return Ok(Vec::new());
                }
                self.aws.alarms(&alarms).await
            },
            async {
                if autoscaling.is_empty() {
                    return Ok(Vec::new());
                }
                self.aws.autoscaling_groups(&autoscaling, false).await
            },
        )?;
        if let Some((bucket, stack, env)) = &self.signals_in {
            let wanted: BTreeSet<&str> = instances.iter().map(|i| i.id.as_str()).collect();
            signals
                .refresh(&self.aws, bucket, (stack, env), &wanted)
                .await?;
        }
        Ok(Snapshot {
            at,
            instances,
            target_groups,
            alarms,
            signals: signals.clone(),
            autoscaling_groups,
        })
    }
}
