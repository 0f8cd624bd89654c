//! `status` for people: one block per resource, columns aligned.

use super::{GroupStatus, Status};
use crate::diagnostic::plural;
use crate::observe::short_name;

/// The status as text.
pub(super) fn text(status: &Status) -> String {
    let mut out = format!(
        "{}/{} ({})\n",
        status.stack, status.environment, status.region
    );
    match &status.lock {
        Some(l) => out.push_str(&format!(
            "lock: held by {} since {} running {} (lock {})\n",
            l.holder, l.started, l.command, l.id
        )),
        None => out.push_str("lock: free\n"),
    }
    if let Some(freeze) = &status.freeze {
        out.push_str(&format!(
            "freeze: {} (`rollstack unfreeze` lifts it)\n",
            freeze.describe()
        ));
    }
    if !status.security_groups.is_empty() {
        out.push('\n');
        let width = status
            .security_groups
            .iter()
            .map(|s| s.address.len())
            .max()
            .unwrap_or(0);
        for s in &status.security_groups {
            let state = match &s.id {
                Some(id) => format!("{id}, {}", plural(s.rules as usize, "rule")),
                None => "does not exist".to_owned(),
            };
            out.push_str(&format!("{:<width$}  `{}` {state}\n", s.address, s.name));
        }
    }
    for s in &status.cloudformation {
        out.push_str(&format!(
            "\n{}: `{}` {}\n",
            s.address,
            s.name,
            s.status.as_deref().unwrap_or("does not exist")
        ));
        for (name, value) in &s.outputs {
            out.push_str(&format!("  output {name}: {value}\n"));
        }
    }
    for g in &status.groups {
        group(&mut out, g);
    }
    if !status.jobs.is_empty() {
        out.push('\n');
    }
    for job in &status.jobs {
        let last = match &job.last {
            Some(r) => {
                let how = match (r.exit_code, &r.reason) {
                    (Some(code), _) => format!("exit {code}"),
                    (None, Some(why)) => why.clone(),
                    (None, None) => String::new(),
                };
                format!(
                    "{} {} ({how}) at {} on {}",
                    r.release, r.outcome, r.finished, r.instance
                )
            }
            None => "never ran".to_owned(),
        };
        out.push_str(&format!("{}: last run {last}\n", job.address));
    }
    sites(&mut out, status);
    if let Some(published) = &status.outputs {
        out.push_str(&format!(
            "\nPublished outputs (history #{}, {}):\n",
            published.history, published.written_at
        ));
        for (name, value) in &published.outputs {
            out.push_str(&format!("  {name}: {value}\n"));
        }
    }
    out
}

/// Each static site: the release it serves, and the ones in its bucket.
fn sites(out: &mut String, status: &Status) {
    for site in &status.sites {
        out.push_str(&format!(
            "{}: serving {} from {} (kept: {})\n",
            site.address,
            site.serving.as_deref().unwrap_or("nothing"),
            site.bucket.as_deref().unwrap_or("(known after apply)"),
            if site.kept.is_empty() {
                "none".to_owned()
            } else {
                site.kept.join(", ")
            }
        ));
    }
}

/// One group: live against desired, its specs, target groups and alarms.
fn group(out: &mut String, g: &GroupStatus) {
    let state = if g.rolling {
        "rollout in progress (mixed specs)"
    } else if g.live == g.desired && g.specs.iter().all(|s| s.spec == g.desired_spec) {
        "in sync"
    } else {
        "differs from the stack file (run `rollstack plan`)"
    };
    out.push_str(&format!(
        "\n{}: {}/{} live, {state}\n",
        g.address, g.live, g.desired
    ));
    let release_width = g.specs.iter().map(|s| s.release.len()).max().unwrap_or(0);
    for s in &g.specs {
        let marker = if s.spec == g.desired_spec {
            "(desired)"
        } else {
            ""
        };
        let signalled = s
            .signalled_ok
            .map(|ok| format!(", {ok} signalled ok"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  spec {:<16} {marker:<9}  {:<release_width$}  {}, {} running{signalled}\n",
            s.spec,
            s.release,
            plural(s.instances as usize, "instance"),
            s.running
        ));
    }
    for t in &g.target_groups {
        out.push_str(&format!(
            "  target group `{}`: {} registered, {} healthy, {} draining\n",
            short_name(&t.arn),
            t.registered,
            t.healthy,
            t.draining
        ));
    }
    for a in &g.alarms {
        let state = a.state.as_deref().unwrap_or("does not exist");
        let reason = a.reason.as_deref().filter(|r| !r.is_empty());
        let reason = reason.map(|r| format!(" ({r})")).unwrap_or_default();
        out.push_str(&format!("  alarm `{}`: {state}{reason}\n", a.name));
    }
    if let Some(a) = &g.autoscaling {
        super::autoscaling::text(out, a);
    }
}
