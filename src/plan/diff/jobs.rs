//! Release jobs: a job whose run (its key) has not succeeded runs; one that succeeded
//! says nothing. A job instance of a job the file no longer has is stopped.

use super::{Diffed, fingerprint};
use crate::model::{Address, Stack};
use crate::observe::{LiveInstance, Observed, tags};
use crate::plan::job::JobSpec;
use crate::plan::{Action, Change, Detail, JobChange};
use crate::template::Outputs;

/// Diffs every job of `stack`, and every live job instance of a job it no longer has.
pub fn diff(stack: &Stack, observed: &Observed, outputs: &Outputs) -> Vec<Diffed> {
    let mut out = Vec::new();
    for (name, job) in &stack.jobs {
        let version = stack.apps.get(&job.app).map_or("", |a| a.version.as_str());
        // Validation rendered the script: an error here is an output's doing; the key
        // then waits for apply, as one that waits on an output does.
        let spec = JobSpec::new(stack, name, version, outputs).ok();
        let key = spec.as_ref().and_then(JobSpec::key);
        let succeeded = key.as_ref().is_some_and(|key| {
            observed
                .job_records
                .iter()
                .any(|r| &r.job == name && &r.key == key && r.succeeded)
        });
        if succeeded {
            continue;
        }
        let address = Address::Job(name.clone());
        let running = instances_of(observed, &address)
            .find(|i| key.is_some() && i.tag(tags::JOB_KEY) == key.as_deref())
            .map(|i| i.id.clone());
        let groups: Vec<Address> = stack
            .groups_running(&job.app)
            .into_iter()
            .map(|g| Address::Group(g.to_owned()))
            .collect();
        let release = format!("{}@{version}", job.app);
        let mut reason = release.clone();
        if !groups.is_empty() {
            let around: Vec<String> = groups.iter().map(ToString::to_string).collect();
            reason.push_str(&format!(", {} {}", job.when.as_str(), around.join(" and ")));
        }
        out.push(Diffed {
            fingerprint: fingerprint(&[
                key.as_deref().unwrap_or("unknown"),
                running.as_deref().unwrap_or(""),
            ]),
            change: Change {
                address,
                action: Action::Run,
                reason,
                detail: Detail::Job(JobChange {
                    release,
                    key,
                    when: job.when,
                    groups,
                    running,
                    timeout: humantime::format_duration(job.timeout.0).to_string(),
                    terminate: Vec::new(),
                }),
            },
            drift: Vec::new(),
        });
    }
    out.extend(gone(stack, observed));
    out
}

/// The live instances of `address` (a job).
fn instances_of<'a>(
    observed: &'a Observed,
    address: &Address,
) -> impl Iterator<Item = &'a LiveInstance> {
    let resource = address.to_string();
    observed
        .instances
        .iter()
        .filter(move |i| i.tag(tags::RESOURCE) == Some(resource.as_str()) && i.state.is_up())
}

/// The jobs the file no longer has whose instances still run: stopped.
fn gone(stack: &Stack, observed: &Observed) -> Vec<Diffed> {
    let mut by_job: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for instance in &observed.instances {
        let Some(Ok(Address::Job(name))) = instance
            .tag(tags::RESOURCE)
            .map(|r| Address::try_from(r.to_owned()))
        else {
            continue;
        };
        if !stack.jobs.contains_key(&name) && instance.state.is_up() {
            by_job.entry(name).or_default().push(instance.id.clone());
        }
    }
    by_job
        .into_iter()
        .map(|(name, ids)| Diffed {
            fingerprint: fingerprint(&[&ids.join(" ")]),
            change: Change {
                address: Address::Job(name),
                action: Action::Delete,
                reason: "no longer in the stack file: its running instance is stopped".to_owned(),
                detail: Detail::Job(JobChange {
                    terminate: ids,
                    ..JobChange::default()
                }),
            },
            drift: Vec::new(),
        })
        .collect()
}
