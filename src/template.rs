//! User-data templates: the names a template sees, and rendering.
//!
//! `validate` renders every template with placeholder outputs to catch undefined names at
//! the template's own line; `apply` renders with real outputs.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Value, json};

use crate::model::Stack;
use crate::model::reference::IMAGE_DIGESTS_KEY;

/// Shown for a CloudFormation output that is not known until its stack is applied.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// Shown for another stack's output that its own apply, earlier in the same workspace
/// run, changes: a consumer is planned against that, never against the stale value.
pub fn known_after_apply_of(stack: &str) -> String {
    format!("(known after apply of {stack})")
}

/// Whether `text` holds a value known only after apply (of this stack, or of a
/// producer): the one test every caller asks.
pub fn unknown(text: &str) -> bool {
    text.contains("(known after apply")
}

/// The producer whose apply `text` waits on ([`known_after_apply_of`]), if any.
pub fn awaited_producer(text: &str) -> Option<&str> {
    let start = text.find("(known after apply of ")? + "(known after apply of ".len();
    let rest = &text[start..];
    rest.find(')').map(|end| &rest[..end])
}

/// Names every user-data template sees, at the top level.
pub const CONTEXT_NAMES: &[&str] = &[
    "stack", "env", "region", "group", "roles", "apps", "outputs", "stacks", "signal",
];

/// Names every job script sees, at the top level.
pub const JOB_CONTEXT_NAMES: &[&str] =
    &["stack", "env", "region", "apps", "outputs", "stacks", "job"];

/// Outputs of CloudFormation nodes: node -> output name -> value.
pub type Outputs = BTreeMap<String, BTreeMap<String, String>>;

/// Every app of `stack` with its version and artifact (or image, with the digest among
/// `outputs`), `versions` overriding the file's.
fn apps(
    stack: &Stack,
    versions: &BTreeMap<&str, &str>,
    outputs: &Outputs,
) -> serde_json::Map<String, Value> {
    let digests = outputs.get(IMAGE_DIGESTS_KEY);
    stack
        .apps
        .iter()
        .map(|(name, app)| {
            let version = versions.get(name.as_str()).copied().unwrap_or(&app.version);
            let entry = match &app.image {
                Some(repository) => {
                    let digest = digests
                        .and_then(|d| d.get(name))
                        .map_or(KNOWN_AFTER_APPLY, String::as_str);
                    json!({
                        "version": version,
                        "image": repository.uri(),
                        "digest": digest,
                        "image_ref": repository.pinned(digest),
                        "registry": repository.host(),
                    })
                }
                None => {
                    let artifact = stack
                        .releases_bucket
                        .as_ref()
                        .map(|b| format!("s3://{b}/{name}/{version}.tar.gz"));
                    json!({ "version": version, "artifact": artifact })
                }
            };
            (name.clone(), entry)
        })
        .collect()
}

/// The other stacks' published outputs among `outputs` (kept under `stacks.STACK`), by
/// stack: what templates read as `stacks.STACK.OUTPUT`.
fn stacks(outputs: &Outputs) -> BTreeMap<&str, &BTreeMap<String, String>> {
    outputs
        .iter()
        .filter_map(|(key, values)| Some((key.strip_prefix("stacks.")?, values)))
        .collect()
}

/// The context of group `group`'s user data in `stack`.
pub fn context(stack: &Stack, group: &str, outputs: &Outputs) -> Value {
    let g = &stack.groups[group];
    let apps = apps(stack, &BTreeMap::new(), outputs);
    let signal_prefix = crate::observe::state_keys::signals(&stack.name, &stack.environment.name);
    json!({
        "stack": stack.name,
        "env": { "name": stack.environment.name, "ephemeral": stack.environment.ephemeral.is_some() },
        "region": stack.region,
        "group": { "name": group, "count": g.count, "instance_type": g.instance_type },
        "roles": g.roles,
        "apps": apps,
        "outputs": outputs,
        "stacks": stacks(outputs),
        "signal": { "bucket": stack.state_bucket, "key_prefix": signal_prefix },
    })
}

/// The context of job `name`'s script in `stack`, running `version` of its app.
pub fn job_context(stack: &Stack, name: &str, version: &str, outputs: &Outputs) -> Value {
    let job = &stack.jobs[name];
    let apps = apps(
        stack,
        &BTreeMap::from([(job.app.as_str(), version)]),
        outputs,
    );
    json!({
        "stack": stack.name,
        "env": { "name": stack.environment.name, "ephemeral": stack.environment.ephemeral.is_some() },
        "region": stack.region,
        "apps": apps,
        "outputs": outputs,
        "stacks": stacks(outputs),
        "job": {
            "name": name,
            "app": job.app,
            "version": version,
            "release": format!("{}@{version}", job.app),
            "when": job.when.as_str(),
        },
    })
}

/// Where a job instance's wrapper uploads what the job did.
#[derive(Clone, Copy, Debug)]
pub struct JobResult<'a> {
    /// The state bucket.
    pub bucket: &'a str,
    /// The key prefix its result and log go under (`.../jobs/NAME/KEY/`); it adds its
    /// instance id and `.json` / `.log`.
    pub prefix: &'a str,
    /// The stack's region.
    pub region: &'a str,
}

/// The user data of a job's instance: the job's rendered `script`, run once by a wrapper
/// that uploads its output (the last 64 KiB) and `{"status", "exit_code"}` to
/// `result`, then shuts the instance down (it terminates itself).
pub fn job_user_data(job: &str, script: &str, result: JobResult<'_>) -> String {
    // A heredoc delimiter the script does not contain.
    let mut delimiter = "ROLLSTACK_JOB_SCRIPT".to_owned();
    while script.contains(&delimiter) {
        delimiter.push('_');
    }
    let JobResult {
        bucket,
        prefix,
        region,
    } = result;
    let mut script = script.to_owned();
    if !script.ends_with('\n') {
        script.push('\n');
    }
    format!(
        r#"#!/bin/bash
# rollstack release job `{job}`: runs the job's script once, uploads its output (the last
# 64 KiB) and exit code to the state bucket, and shuts the instance down (it terminates).
set -u
token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token \
  -H "X-aws-ec2-metadata-token-ttl-seconds: 21600")
id=$(curl -sf -H "X-aws-ec2-metadata-token: $token" \
  http://169.254.169.254/latest/meta-data/instance-id)
result="s3://{bucket}/{prefix}$id"
script=$(mktemp)
cat > "$script" <<'{delimiter}'
{script}{delimiter}
chmod +x "$script"
"$script" > /var/log/rollstack-job.log 2>&1
code=$?
tail -c 65536 /var/log/rollstack-job.log | aws s3 cp --region {region} - "$result.log"
if [ "$code" -eq 0 ]; then status=succeeded; else status=failed; fi
printf '{{"status":"%s","exit_code":%d}}\n' "$status" "$code" \
  | aws s3 cp --region {region} - "$result.json"
shutdown -h now
"#
    )
}

/// Placeholder outputs for validation and plans: every declared output, and every
/// app's image digest, is [`KNOWN_AFTER_APPLY`].
pub fn placeholder_outputs(stack: &Stack) -> Outputs {
    let mut outputs: Outputs = stack
        .cloudformation
        .iter()
        .map(|(name, cfn)| {
            let outputs = cfn
                .outputs
                .iter()
                .map(|o| (o.clone(), KNOWN_AFTER_APPLY.to_owned()))
                .collect();
            (name.clone(), outputs)
        })
        .collect();
    let digests: BTreeMap<String, String> = stack
        .apps
        .iter()
        .filter(|(_, app)| app.image.is_some())
        .map(|(name, _)| (name.clone(), KNOWN_AFTER_APPLY.to_owned()))
        .collect();
    if !digests.is_empty() {
        outputs.insert(IMAGE_DIGESTS_KEY.to_owned(), digests);
    }
    outputs
}

/// Why a template did not render.
#[derive(Debug)]
pub struct RenderError {
    /// What went wrong.
    pub message: String,
    /// 1-based line in the template, when known.
    pub line: Option<usize>,
    /// Byte range in the template, when known.
    pub range: Option<std::ops::Range<usize>>,
    /// The dotted name that was undefined, when that was the problem.
    pub undefined: Option<String>,
}

/// Renders `source` (named `name` in errors) with `context`, failing on undefined names.
pub fn render(name: &str, source: &str, context: &Value) -> Result<String, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let template = env
        .template_from_named_str(name, source)
        .map_err(|e| convert(&e, None))?;
    template
        .render(minijinja::value::Serde(context))
        .map_err(|e| {
            let undefined = (e.kind() == minijinja::ErrorKind::UndefinedError)
                .then(|| {
                    template
                        .undeclared_variables(true)
                        .into_iter()
                        .filter(|v| !lookup(context, v))
                        .min()
                })
                .flatten();
            convert(&e, undefined)
        })
}

/// The dotted names (`apps.web.version`) a template uses from its context.
pub fn used_names(source: &str) -> BTreeSet<String> {
    let env = Environment::new();
    match env.template_from_str(source) {
        Ok(template) => template.undeclared_variables(true).into_iter().collect(),
        Err(_) => BTreeSet::new(),
    }
}

/// What a template reads of other stacks' outputs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StacksRead {
    /// `stacks.STACK.OUTPUT`.
    Output(String, String),
    /// `stacks.STACK` as a whole: every output of that stack.
    Stack(String),
    /// `stacks[...]` subscripted (a name with a dash): any stack, any output.
    Any,
}

/// What the template `source` reads of other stacks' outputs.
pub fn stacks_read(source: &str) -> Vec<StacksRead> {
    used_names(source)
        .into_iter()
        .filter_map(|used| {
            let mut parts = used.split('.');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("stacks"), Some(stack), Some(output)) => {
                    Some(StacksRead::Output(stack.to_owned(), output.to_owned()))
                }
                (Some("stacks"), Some(stack), None) => Some(StacksRead::Stack(stack.to_owned())),
                (Some("stacks"), None, _) => Some(StacksRead::Any),
                _ => None,
            }
        })
        .collect()
}

fn convert(error: &minijinja::Error, undefined: Option<String>) -> RenderError {
    let message = match (&undefined, error.detail()) {
        (Some(name), _) => format!("undefined variable `{name}`"),
        (None, Some(detail)) => format!("{}: {detail}", error.kind()),
        (None, None) => error.kind().to_string(),
    };
    RenderError {
        message,
        line: error.line(),
        range: error.range(),
        undefined,
    }
}

/// Whether the dotted `name` exists in `context`.
fn lookup(context: &Value, name: &str) -> bool {
    let mut current = context;
    for part in name.split('.') {
        match current.get(part) {
            Some(next) => current = next,
            None => return false,
        }
    }
    true
}
