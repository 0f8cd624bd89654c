//! What load balancers and alarms say: ELBv2 target groups with the health of their
//! targets, and CloudWatch alarm states.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::model::{Interpolated, Reference};

/// A target's state in a target group, as ELBv2 reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetState {
    /// Registered, its first health checks running.
    Initial,
    /// Registered and passing the target group's health checks.
    Healthy,
    /// Registered and failing them.
    Unhealthy,
    /// Not registered (or its target group serves no load balancer).
    Unused,
    /// Deregistered, finishing in-flight requests for up to the deregistration delay.
    Draining,
    /// Registered, health checks turned off.
    Unavailable,
    /// Registered in a zone the load balancer does not serve.
    UnhealthyDraining,
}

impl TargetState {
    /// ELBv2's name of the state (`unhealthy.draining`).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Initial => "initial",
            TargetState::Healthy => "healthy",
            TargetState::Unhealthy => "unhealthy",
            TargetState::Unused => "unused",
            TargetState::Draining => "draining",
            TargetState::Unavailable => "unavailable",
            TargetState::UnhealthyDraining => "unhealthy.draining",
        }
    }

    /// The state ELBv2 names `name`.
    pub fn parse(name: &str) -> Option<TargetState> {
        [
            TargetState::Initial,
            TargetState::Healthy,
            TargetState::Unhealthy,
            TargetState::Unused,
            TargetState::Draining,
            TargetState::Unavailable,
            TargetState::UnhealthyDraining,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Registered: the load balancer may send it requests (or will once it is healthy).
    pub fn is_registered(self) -> bool {
        matches!(
            self,
            TargetState::Initial
                | TargetState::Healthy
                | TargetState::Unhealthy
                | TargetState::Unavailable
        )
    }

    /// Deregistered and still finishing requests.
    pub fn is_draining(self) -> bool {
        matches!(self, TargetState::Draining | TargetState::UnhealthyDraining)
    }
}

impl fmt::Display for TargetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One target of a target group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its state.
    pub state: TargetState,
    /// Why, when ELBv2 says (`Target.ResponseCodeMismatch`).
    pub reason: Option<String>,
}

/// A live ELBv2 target group: its settings and every target registered in it (or
/// draining from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveTargetGroup {
    /// Its ARN.
    pub arn: String,
    /// `deregistration_delay.timeout_seconds`: how long a deregistered target drains.
    pub deregistration_delay: Duration,
    /// Targets by instance id.
    pub targets: BTreeMap<String, Target>,
}

impl LiveTargetGroup {
    /// `web/50dc6c495c0c9188` of its ARN: how a reader tells target groups apart.
    pub fn short_name(&self) -> &str {
        short_name(&self.arn)
    }

    /// The state of instance `id` here (`unused` when it is not a target).
    pub fn state_of(&self, id: &str) -> TargetState {
        self.targets
            .get(id)
            .map_or(TargetState::Unused, |t| t.state)
    }
}

/// `written` (an ARN, or `${outputs.NODE.OUTPUT}` references) with each reference
/// replaced by `output(node, output)`; `None` when one is not known.
pub fn resolve(
    written: &Interpolated,
    output: impl Fn(&str, &str) -> Option<String>,
) -> Option<String> {
    written.evaluate(|reference| match reference {
        Reference::Output { node, output: name } => output(node, name),
        _ => None,
    })
}

/// `NAME/ID` of a target group ARN (all of it, when it is not one).
pub fn short_name(arn: &str) -> &str {
    arn.split_once(":targetgroup/")
        .map_or(arn, |(_, name)| name)
}

/// A CloudWatch alarm's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlarmState {
    /// Within its threshold.
    Ok,
    /// Beyond it.
    Alarm,
    /// Not enough data to tell (a new alarm, on AWS).
    InsufficientData,
}

impl AlarmState {
    /// CloudWatch's name of the state (`INSUFFICIENT_DATA`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// The state CloudWatch names `name`.
    pub fn parse(name: &str) -> Option<AlarmState> {
        [
            AlarmState::Ok,
            AlarmState::Alarm,
            AlarmState::InsufficientData,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A live CloudWatch alarm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveAlarm {
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: AlarmState,
    /// Why it is in that state, as CloudWatch says.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_as_aws_names_them() {
        for name in [
            "initial",
            "healthy",
            "unhealthy.draining",
            "draining",
            "unused",
        ] {
            assert_eq!(
                TargetState::parse(name).map(TargetState::as_str),
                Some(name)
            );
        }
        for name in ["OK", "ALARM", "INSUFFICIENT_DATA"] {
            assert_eq!(AlarmState::parse(name).map(AlarmState::as_str), Some(name));
        }
        assert_eq!(TargetState::parse("gone"), None);
        assert_eq!(
            short_name("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/5d"),
            "web/5d"
        );
    }
}
