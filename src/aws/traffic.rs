//! ELBv2 target groups (target health, registration, the drain delay) and CloudWatch
//! alarm states: what a rollout orders its steps around.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatch::types::AlarmType;
use aws_sdk_elasticloadbalancingv2::types::TargetDescription;

use super::error::required;
use super::{Aws, AwsError};
use crate::observe::{AlarmState, LiveAlarm, LiveTargetGroup, Target, TargetState};

/// What AWS uses when a target group does not say: five minutes.
const DEFAULT_DEREGISTRATION_DELAY: Duration = Duration::from_secs(300);

/// ELBv2 takes this many targets in one (de)registration call.
const TARGETS_PER_CALL: usize = 500;

/// CloudWatch describes this many alarms by name in one call.
const ALARMS_PER_CALL: usize = 100;

impl Aws {
    /// Target group `arn`: its deregistration delay and the health of every target.
    pub async fn target_group(&self, arn: &str) -> Result<LiveTargetGroup, AwsError> {
        let (targets, deregistration_delay) =
            tokio::try_join!(self.target_health(arn), self.deregistration_delay(arn))?;
        Ok(LiveTargetGroup {
            arn: arn.to_owned(),
            deregistration_delay,
            targets,
        })
    }

    /// The targets of target group `arn` (one `DescribeTargetHealth`).
    pub async fn target_health(&self, arn: &str) -> Result<BTreeMap<String, Target>, AwsError> {
        const OPERATION: &str = "DescribeTargetHealth";
        let answer = self
            .elbv2
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| self.error("DescribeTargetHealth", e))?;
        let mut targets = BTreeMap::new();
        for description in answer.target_health_descriptions() {
            let id = required(
                description.target().and_then(|t| t.id()),
                OPERATION,
                "target id",
            )?;
            let health = required(description.target_health(), OPERATION, "target health")?;
            let state = required(health.state(), OPERATION, "target state")?;
            let state = TargetState::parse(state.as_str()).ok_or(AwsError::Incomplete {
                operation: OPERATION,
                missing: "a target state rollstack knows",
            })?;
            let reason = health
                .description()
                .map(str::to_owned)
                .or_else(|| health.reason().map(|r| r.as_str().to_owned()));
            targets.insert(id.to_owned(), Target { state, reason });
        }
        Ok(targets)
    }

    /// How long a target deregistered from `arn` drains.
    async fn deregistration_delay(&self, arn: &str) -> Result<Duration, AwsError> {
        let answer = self
            .elbv2
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| self.error("DescribeTargetGroupAttributes", e))?;
        Ok(answer
            .attributes()
            .iter()
            .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
            .and_then(|a| a.value()?.parse().ok())
            .map_or(DEFAULT_DEREGISTRATION_DELAY, Duration::from_secs))
    }

    /// Registers instances `ids` in target group `arn` (a registered one stays as it is).
    pub async fn register_targets(&self, arn: &str, ids: &[String]) -> Result<(), AwsError> {
        for chunk in ids.chunks(TARGETS_PER_CALL) {
            self.elbv2
                .register_targets()
                .target_group_arn(arn)
                .set_targets(Some(targets(chunk)))
                .send()
                .await
                .map_err(|e| self.error("RegisterTargets", e))?;
        }
        Ok(())
    }

    /// Deregisters instances `ids` from target group `arn`: they drain, then leave it.
    pub async fn deregister_targets(&self, arn: &str, ids: &[String]) -> Result<(), AwsError> {
        for chunk in ids.chunks(TARGETS_PER_CALL) {
            self.elbv2
                .deregister_targets()
                .target_group_arn(arn)
                .set_targets(Some(targets(chunk)))
                .send()
                .await
                .map_err(|e| self.error("DeregisterTargets", e))?;
        }
        Ok(())
    }

    /// The alarms named `names` that exist (one `DescribeAlarms` per 100 names), metric
    /// and composite alike. The state is read here, not filtered by CloudWatch.
    pub async fn alarms(&self, names: &[String]) -> Result<Vec<LiveAlarm>, AwsError> {
        const OPERATION: &str = "DescribeAlarms";
        let mut found = Vec::new();
        for chunk in names.chunks(ALARMS_PER_CALL) {
            let mut next = None;
            loop {
                let answer = self
                    .cloudwatch
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.to_vec()))
                    .alarm_types(AlarmType::MetricAlarm)
                    .alarm_types(AlarmType::CompositeAlarm)
                    .set_next_token(next.take())
                    .send()
                    .await
                    .map_err(|e| self.error("DescribeAlarms", e))?;
                let metric = answer
                    .metric_alarms()
                    .iter()
                    .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
                let composite = answer
                    .composite_alarms()
                    .iter()
                    .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
                for (name, state, reason) in metric.chain(composite) {
                    let name = required(name, OPERATION, "alarm name")?;
                    let state = required(state, OPERATION, "alarm state")?;
                    found.push(LiveAlarm {
                        name: name.to_owned(),
                        state: AlarmState::parse(state.as_str()).ok_or(AwsError::Incomplete {
                            operation: OPERATION,
                            missing: "an alarm state rollstack knows",
                        })?,
                        reason: reason.unwrap_or_default().to_owned(),
                    });
                }
                match answer.next_token() {
                    Some(token) => next = Some(token.to_owned()),
                    None => break,
                }
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }
}

fn targets(ids: &[String]) -> Vec<TargetDescription> {
    ids.iter()
        .map(|id| TargetDescription::builder().id(id).build())
        .collect()
}
