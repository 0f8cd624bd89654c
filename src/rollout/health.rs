//! Health gates: what the group's roles ask for (`running`, `signal`, `http`), judged from
//! what one poll saw. Pure: the poll itself is in `apply::group`.

use std::time::Duration;

use super::Health;
use crate::model::{HealthCheck as Check, Stack};
use crate::observe::{InstanceState, LiveInstance, Signal};

/// The distinct checks of `group`'s roles (a role without a check needs `running`).
pub fn checks(stack: &Stack, group: &str) -> Vec<Check> {
    let mut checks: Vec<Check> = Vec::new();
    for role in &stack.groups[group].roles {
        let check = stack
            .roles
            .get(role)
            .map(|r| r.health.clone())
            .unwrap_or(Check::Running);
        if !checks.contains(&check) {
            checks.push(check);
        }
    }
    if checks.is_empty() {
        checks.push(Check::Running);
    }
    checks
}

/// What one poll saw of an instance besides its EC2 state.
#[derive(Clone, Debug, Default)]
pub struct Seen<'a> {
    /// Its readiness signal, if it wrote one.
    pub signal: Option<&'a Signal>,
    /// The answer of its HTTP check: a status code or why there was none.
    pub http: Option<&'a Result<u16, String>>,
}

/// The health of an instance of spec `spec` launched `age` ago, under `checks`, given what
/// the poll saw. Past `timeout` without passing, it has failed.
pub fn judge(
    instance: &LiveInstance,
    spec: &str,
    checks: &[Check],
    seen: &Seen<'_>,
    age: Duration,
    timeout: Duration,
) -> Health {
    if !instance.state.is_up() {
        return Health::Failed(format!("instance is {}", instance.state));
    }
    let mut waiting = Vec::new();
    for check in checks {
        match check {
            Check::Running if instance.state != InstanceState::Running => {
                waiting.push(format!("state {}", instance.state))
            }
            Check::Running => {}
            Check::Signal => match seen.signal {
                Some(s) if s.is_ok_for(spec) => {}
                Some(s) if s.spec == spec => {
                    return Health::Failed(format!("signal `{}`", s.status));
                }
                _ => waiting.push("no readiness signal".to_owned()),
            },
            Check::Http { port, path } => match seen.http {
                Some(Ok(code)) if (200..300).contains(code) => {}
                Some(Ok(code)) => waiting.push(format!("HTTP {code} from :{port}{path}")),
                Some(Err(why)) => waiting.push(format!("HTTP :{port}{path}: {why}")),
                None => waiting.push(format!("HTTP :{port}{path} not probed")),
            },
        }
    }
    if waiting.is_empty() {
        Health::Healthy
    } else if age >= timeout {
        Health::Failed(format!(
            "not healthy within {} ({})",
            humantime::format_duration(timeout),
            waiting.join(", ")
        ))
    } else {
        Health::Pending
    }
}

/// Age of an instance launched at `launched` (RFC 3339) at `now`.
pub fn age(launched: &str, now: std::time::SystemTime) -> Duration {
    humantime::parse_rfc3339_weak(launched.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339_weak(launched))
        .ok()
        .and_then(|t| now.duration_since(t).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(state: &str) -> LiveInstance {
        LiveInstance {
            id: "i-1".to_owned(),
            state: InstanceState::parse(state).unwrap(),
            instance_type: "t3.micro".into(),
            image_id: "ami-1".into(),
            subnet_id: None,
            private_ip: Some("10.0.0.1".to_owned()),
            public_ip: None,
            launch_time: "2026-01-01T00:00:00Z".into(),
            security_group_ids: Vec::new(),
            volume_ids: Vec::new(),
            tags: Default::default(),
        }
    }

    #[test]
    fn health_by_check_and_observation() {
        let ok = Signal {
            status: "ok".to_owned(),
            spec: "s1".to_owned(),
        };
        let fail = Signal {
            status: "fail".to_owned(),
            spec: "s1".to_owned(),
        };
        let stale = Signal {
            status: "ok".to_owned(),
            spec: "s0".to_owned(),
        };
        let http = |code: u16| Ok::<u16, String>(code);
        let refused = Err::<u16, String>("connection refused".to_owned());
        let ok200 = http(200);
        let bad503 = http(503);
        let short = Duration::from_secs(1);
        let long = Duration::from_secs(600);
        let signal = [Check::Signal];
        let web = [Check::Http {
            port: 80,
            path: "/health".to_owned(),
        }];
        let running = [Check::Running];
        // (state, checks, seen, age) -> health
        let table: Vec<(&str, &[Check], Seen, Duration, &str)> = vec![
            ("running", &running, Seen::default(), short, "Healthy"),
            ("pending", &running, Seen::default(), short, "Pending"),
            ("pending", &running, Seen::default(), long, "Failed"),
            ("stopped", &running, Seen::default(), short, "Failed"),
            (
                "running",
                &signal,
                Seen {
                    signal: Some(&ok),
                    http: None,
                },
                short,
                "Healthy",
            ),
            (
                "running",
                &signal,
                Seen {
                    signal: Some(&fail),
                    http: None,
                },
                short,
                "Failed",
            ),
            // A signal left by another spec does not count.
            (
                "running",
                &signal,
                Seen {
                    signal: Some(&stale),
                    http: None,
                },
                short,
                "Pending",
            ),
            ("running", &signal, Seen::default(), long, "Failed"),
            (
                "running",
                &web,
                Seen {
                    signal: None,
                    http: Some(&ok200),
                },
                short,
                "Healthy",
            ),
            (
                "running",
                &web,
                Seen {
                    signal: None,
                    http: Some(&bad503),
                },
                short,
                "Pending",
            ),
            (
                "running",
                &web,
                Seen {
                    signal: None,
                    http: Some(&bad503),
                },
                long,
                "Failed",
            ),
            (
                "running",
                &web,
                Seen {
                    signal: None,
                    http: Some(&refused),
                },
                short,
                "Pending",
            ),
        ];
        for (state, checks, seen, age, expected) in table {
            let health = judge(
                &instance(state),
                "s1",
                checks,
                &seen,
                age,
                Duration::from_secs(120),
            );
            let got = match &health {
                Health::Healthy => "Healthy",
                Health::Pending => "Pending",
                Health::Failed(_) => "Failed",
            };
            assert_eq!(
                got, expected,
                "{state} {checks:?} {seen:?} {age:?}: {health:?}"
            );
        }
        let Health::Failed(why) = judge(
            &instance("running"),
            "s1",
            &web,
            &Seen {
                signal: None,
                http: Some(&bad503),
            },
            long,
            Duration::from_secs(120),
        ) else {
            panic!("failed")
        };
        assert_eq!(why, "not healthy within 2m (HTTP 503 from :80/health)");
    }
}
