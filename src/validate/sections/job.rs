//! Release jobs: their app, script and launch settings, and the edges that order them
//! before or after the groups running their app.

use super::Checker;
use super::group::image;
use crate::load::raw::*;
use crate::model::*;
use crate::template;
use crate::validate::launch;
use crate::validate::references::{Names, Written, resolve_interpolations};

/// How long a job may run by default.
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The model of job `name`, checked against the groups already built; `None` when it
/// is too broken to have one (every problem is reported).
pub(super) fn build(
    checker: &mut Checker,
    names: &Names,
    raw_stack: &RawStack,
    stack: &Stack,
    (name, raw): (&str, &RawJob),
) -> Option<Job> {
    let path = format!("jobs.{name}");
    if stack.groups.contains_key(name) {
        checker.error_at_key(
            &path,
            format!("job `{name}` has the name of a group"),
            "a name no group has",
            Some(format!("rename the job, e.g. `{name}-job`")),
        );
    }
    if let Err(e) = names.named("app", &raw.app) {
        checker.error_at_value(
            &format!("{path}.app"),
            e.message,
            "an app defined under `apps`",
            e.hint,
        );
    }
    if raw_stack.state_bucket.is_none() {
        checker.error_at_key(
            &path,
            format!("job `{name}` needs the stack's `state_bucket`: its result is written there"),
            "`state_bucket: NAME` in the stack file",
            Some("add `state_bucket: NAME` (`rollstack bootstrap` makes it)".to_owned()),
        );
    }
    let timeout = raw.timeout.unwrap_or(Duration(DEFAULT_TIMEOUT));
    if timeout.0.is_zero() {
        checker.error_at_value(
            &format!("{path}.timeout"),
            "a `timeout` of zero stops every run".to_owned(),
            "a duration such as `20m`",
            Some("leave it out for the default, `30m`".to_owned()),
        );
    }
    let launch = job_launch(checker, names, stack, &path, raw)?;
    let run = checker.read_template(&format!("{path}.run"), &raw.run)?;
    Some(Job {
        app: raw.app.clone(),
        run,
        launch,
        when: raw.when.unwrap_or_default(),
        timeout,
    })
}

/// The launch settings of a job: `like`'s, with its own on top.
fn job_launch(
    checker: &mut Checker,
    names: &Names,
    stack: &Stack,
    path: &str,
    raw: &RawJob,
) -> Option<JobLaunch> {
    let like = match &raw.like {
        Some(group) => match stack.groups.get(group) {
            Some(g) => Some(g),
            None => {
                let e = names.named("group", group).err()?;
                checker.error_at_value(
                    &format!("{path}.like"),
                    e.message,
                    "a group defined under `groups`",
                    e.hint,
                );
                return None;
            }
        },
        None => None,
    };
    if let Some(image_ref) = &raw.image {
        image(checker, path, image_ref);
    }
    if let Some(instance_type) = &raw.instance_type {
        launch::instance_type(checker, path, instance_type);
    }
    if let Some(subnets) = &raw.subnets {
        checker.subnets(&format!("{path}.subnets"), subnets);
    }
    for (i, sg) in raw.security_groups.iter().flatten().enumerate() {
        if let Err(e) = names.named("security_group", sg) {
            let at = format!("{path}.security_groups[{i}]");
            checker.error_at_value(
                &at,
                e.message,
                "a security group defined under `security_groups`",
                e.hint,
            );
        }
    }
    let (Some(image), Some(instance_type)) = (
        raw.image.clone().or_else(|| like.map(|g| g.image.clone())),
        raw.instance_type
            .clone()
            .or_else(|| like.map(|g| g.instance_type.clone())),
    ) else {
        checker.error_at_key(
            path,
            "a job needs an `image` and an `instance_type`, or a group to launch `like`".to_owned(),
            "`like: GROUP`, or `image` and `instance_type`",
            Some("`like: www` launches it as group `www` launches its instances".to_owned()),
        );
        return None;
    };
    Some(JobLaunch {
        like: raw.like.clone(),
        image,
        instance_type,
        subnets: raw
            .subnets
            .clone()
            .or_else(|| like.map(|g| g.subnets.clone()))
            .unwrap_or_else(|| stack.subnets.clone()),
        security_groups: raw
            .security_groups
            .clone()
            .or_else(|| like.map(|g| g.security_groups.clone()))
            .unwrap_or_default(),
        instance_profile: raw
            .instance_profile
            .as_deref()
            .map(Interpolated::parse)
            .or_else(|| like.and_then(|g| g.instance_profile.clone())),
        metadata: like.map(|g| g.metadata).unwrap_or_default(),
    })
}

/// The edges of every job: to its app, its security groups and their rules, what its
/// instance profile and script refer to; and to the groups running its app (they
/// depend on a `before` job; an `after` job depends on them). Its script is rendered as
/// validation renders user data, and checked against AWS's 16 KB.
pub(super) fn edges(checker: &mut Checker, names: &Names, stack: &mut Stack) {
    let outputs = stack
        .cloudformation
        .iter()
        .map(|(n, c)| (n.clone(), c.outputs.clone()))
        .collect();
    let mut edges = Vec::new();
    for (name, job) in &stack.jobs {
        let path = format!("jobs.{name}");
        let address = Address::Job(name.clone());
        let edge = |from: &Address, to: Address, path: &str| Edge {
            from: from.clone(),
            to,
            path: path.to_owned(),
        };
        edges.push(edge(
            &address,
            Address::App(job.app.clone()),
            &format!("{path}.app"),
        ));
        for sg in &job.launch.security_groups {
            let at = format!("{path}.security_groups");
            edges.push(edge(&address, Address::SecurityGroup(sg.clone()), &at));
            edges.push(edge(&address, Address::SecurityGroupRules(sg.clone()), &at));
        }
        if let Some(profile) = &job.launch.instance_profile {
            let at = format!("{path}.instance_profile");
            let written = Written {
                value: profile,
                what: "the instance profile",
                path: &at,
            };
            resolve_interpolations(checker, names, &outputs, written, &address, &mut edges);
        }
        let when = format!("{path}.when");
        for group in stack.groups_running(&job.app) {
            let group = Address::Group(group.to_owned());
            edges.push(match job.when {
                When::Before => edge(&group, address.clone(), &when),
                When::After => edge(&address, group, &when),
            });
        }
        script(checker, (stack, names), name, job, &mut edges);
    }
    stack.references.extend(edges);
}

/// Renders job `name`'s script with placeholder outputs: template errors at their line,
/// user data over 16 KB, and the edges to the apps and CloudFormation outputs it uses.
fn script(
    checker: &mut Checker,
    (stack, names): (&Stack, &Names),
    name: &str,
    job: &Job,
    edges: &mut Vec<Edge>,
) {
    let path = format!("jobs.{name}.run");
    let address = Address::Job(name.to_owned());
    for used in template::used_names(&job.run.source) {
        let mut parts = used.split('.');
        let to = match (parts.next(), parts.next()) {
            (Some("outputs"), Some(node)) if stack.cloudformation.contains_key(node) => {
                Address::CloudFormation(node.to_owned())
            }
            _ => continue,
        };
        if !edges.iter().any(|e| e.from == address && e.to == to) {
            edges.push(Edge {
                from: address.clone(),
                to,
                path: path.clone(),
            });
        }
    }
    let version = stack.apps.get(&job.app).map_or("", |a| a.version.as_str());
    let outputs = super::placeholder_outputs(stack, names.stacks);
    let context = template::job_context(stack, name, version, &outputs);
    let shown = job.run.file.display().to_string();
    match template::render(&shown, &job.run.source, &context) {
        Err(e) => checker.template_error(&path, &job.run, &e, &context),
        Ok(rendered) => {
            let result = template::JobResult {
                bucket: stack.state_bucket.as_deref().unwrap_or_default(),
                prefix: &crate::observe::state_keys::job_runs(
                    &stack.name,
                    &stack.environment.name,
                    name,
                    "0123456789abcdef",
                ),
                region: &stack.region,
            };
            let size = template::job_user_data(name, &rendered, result).len();
            if size > launch::MAX_USER_DATA {
                checker.error_at_value(
                    &path,
                    format!(
                        "`{}` makes {size} bytes of user data; AWS takes at most {}",
                        job.run.path,
                        launch::MAX_USER_DATA
                    ),
                    "a job script of at most about 15 KB",
                    Some("keep the script short and fetch the rest from the release".to_owned()),
                );
            }
        }
    }
}
