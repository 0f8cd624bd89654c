//! Wire types -> model, section by section, reporting every problem on the way.

mod autoscaling;
mod cloudformation;
mod group;
mod job;
mod notify;
mod outputs;
mod security_group;
mod site;
mod uses;

use std::collections::BTreeMap;

use super::Checker;
use super::formats;
use super::launch;
use super::references::Names;
use crate::load::raw::*;
use crate::model::container::Repository;
use crate::model::*;

/// Builds the model of environment `environment` from `raw`.
pub fn build(checker: &mut Checker, raw: &RawStack, environment: Environment) -> Stack {
    let subnets = top_level(checker, raw);
    let workspace = if uses::reads_other_stacks(checker, raw) {
        crate::validate::workspace::beside(checker.dir, &raw.stack)
    } else {
        BTreeMap::new()
    };
    let names = Names {
        apps: raw.apps.keys().map(String::as_str).collect(),
        security_groups: raw.security_groups.keys().map(String::as_str).collect(),
        groups: raw.groups.keys().map(String::as_str).collect(),
        cloudformation: raw.cloudformation.keys().map(String::as_str).collect(),
        stacks: &workspace,
    };
    let mut references = Vec::new();
    let security_groups = raw
        .security_groups
        .iter()
        .map(|(name, sg)| {
            let model = security_group::build(checker, &names, name, sg, &mut references);
            (name.clone(), model)
        })
        .collect();
    let roles: BTreeMap<String, Role> = raw
        .roles
        .iter()
        .map(|(name, role)| (name.clone(), self::role(checker, &names, raw, name, role)))
        .collect();
    let cloudformation = raw
        .cloudformation
        .iter()
        .filter_map(|(name, cfn)| Some((name.clone(), cloudformation::node(checker, name, cfn)?)))
        .collect();
    let context = group::Context {
        names: &names,
        raw,
        roles: &roles,
        network_subnets: &subnets,
    };
    let groups = raw
        .groups
        .iter()
        .map(|(name, g)| {
            (
                name.clone(),
                context.build(checker, name, g, &mut references),
            )
        })
        .collect();
    let mut stack = Stack {
        name: raw.stack.clone(),
        environment,
        region: raw.region.clone(),
        account_id: raw.account_id.clone(),
        state_bucket: raw.state_bucket.clone(),
        subnets,
        releases_bucket: raw.releases.as_ref().map(|r| r.bucket.clone()),
        apps: apps(checker, raw),
        security_groups,
        roles,
        groups,
        cloudformation,
        jobs: BTreeMap::new(),
        sites: BTreeMap::new(),
        outputs: BTreeMap::new(),
        uses: BTreeMap::new(),
        references,
        tags: launch::tags(checker, "tags", &raw.tags, 0),
        moved: moved(checker, raw),
        dns: raw.dns.as_ref().map(|d| dns(checker, d, raw)),
        notify: raw.notify.as_ref().map(|n| notify::build(checker, n)),
    };
    cloudformation::references(checker, &names, raw, &mut stack);
    super::traffic::group_references(checker, &names, &mut stack);
    group::user_data(checker, raw, &mut stack, &workspace);
    stack.jobs = jobs(checker, &names, raw, &stack);
    job::edges(checker, &names, &mut stack);
    stack.sites = site::build(checker, &names, raw, &mut stack);
    stack.outputs = outputs::build(checker, &names, raw, &stack);
    stack.uses = uses::build(checker, raw, &stack, &workspace);
    stack
}

/// The outputs templates are rendered with at validation: every CloudFormation output,
/// and every output the stacks beside it declare (`stacks.X.Y`), `(known after apply)`.
fn placeholder_outputs(
    stack: &Stack,
    workspace: &BTreeMap<String, crate::validate::workspace::Producer>,
) -> crate::template::Outputs {
    let mut outputs = crate::template::placeholder_outputs(stack);
    for (producer, declared) in workspace {
        let placeholders = declared
            .outputs
            .iter()
            .map(|o| (o.clone(), crate::template::KNOWN_AFTER_APPLY.to_owned()))
            .collect();
        outputs.insert(reference::stack_outputs_key(producer), placeholders);
    }
    outputs
}

/// The release jobs, built once the groups they run beside are.
fn jobs(
    checker: &mut Checker,
    names: &Names,
    raw: &RawStack,
    stack: &Stack,
) -> BTreeMap<String, Job> {
    raw.jobs
        .iter()
        .filter_map(|(name, j)| {
            Some((
                name.clone(),
                job::build(checker, names, raw, stack, (name, j))?,
            ))
        })
        .collect()
}

/// The `moved` entries: each from a group no longer in the file to one that is, no
/// address twice.
fn moved(checker: &mut Checker, raw: &RawStack) -> Vec<Moved> {
    let mut out: Vec<Moved> = Vec::new();
    for (n, entry) in raw.moved.iter().enumerate() {
        let path = format!("moved[{n}]");
        let group = |field: &str, address: &str, checker: &mut Checker| -> Option<String> {
            let name = address.strip_prefix("group.");
            if name.is_none_or(|name| formats::name(name, formats::MAX_NAME).is_err()) {
                checker.error_at_value(
                    &format!("{path}.{field}"),
                    format!("`{address}` is not a group address"),
                    "`group.NAME`",
                    Some("only groups move: security groups, launch templates and CloudFormation stacks have names AWS cannot change".to_owned()),
                );
            }
            name.map(str::to_owned)
        };
        let (Some(from), Some(to)) = (
            group("from", &entry.from, checker),
            group("to", &entry.to, checker),
        ) else {
            continue;
        };
        if raw.groups.contains_key(&from) {
            checker.error_at_value(
                &format!("{path}.from"),
                format!(
                    "group `{from}` is still in the file; a moved group's old name must be gone"
                ),
                "a group no longer under `groups`",
                Some(format!(
                    "rename `groups.{from}` to `groups.{to}`, or drop this entry"
                )),
            );
        }
        if !raw.groups.contains_key(&to) {
            checker.error_at_value(
                &format!("{path}.to"),
                format!("no group named `{to}`"),
                "a group defined under `groups`",
                crate::diagnostic::did_you_mean(&to, raw.groups.keys().map(String::as_str)),
            );
        }
        if out
            .iter()
            .any(|m| m.from == from || m.to == to || m.to == from || m.from == to)
        {
            checker.error_at_value(
                &path,
                format!("`group.{from}` or `group.{to}` is in another `moved` entry"),
                "each address in one entry",
                Some("write one entry from the oldest name to the newest".to_owned()),
            );
        }
        out.push(Moved { from, to });
    }
    out
}

/// `dns`: a zone id and a domain name Route 53 takes, a TTL it allows.
fn dns(checker: &mut Checker, raw: &RawDns, stack: &RawStack) -> Dns {
    // `{role}.{env}.{name}` and `{group}-{n}.{env}.{name}` share one namespace.
    for role in stack.roles.keys() {
        let taken = role.rsplit_once('-').is_some_and(|(group, n)| {
            stack.groups.contains_key(group)
                && !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
        });
        if taken {
            checker.error_at_key(
                &format!("roles.{role}"),
                format!("role `{role}` would have the DNS name of an instance of its group"),
                "a role name that is not `{group}-{n}`",
                Some("rename the role: with `dns:`, `{group}-{n}` names one instance".to_owned()),
            );
        }
    }
    checker.format(
        "dns.zone_id",
        &raw.zone_id,
        formats::zone_id,
        "hosted zone id",
    );
    checker.format("dns.name", &raw.name, formats::domain, "domain name");
    let ttl = raw.ttl.unwrap_or(60);
    if ttl > 172_800 {
        checker.error_at_value(
            "dns.ttl",
            format!("a TTL of {ttl} seconds is more than Route 53 allows"),
            "0 to 172800 seconds",
            Some("records follow instances as they come and go: keep it short, `60`".to_owned()),
        );
    }
    Dns {
        zone_id: raw.zone_id.clone(),
        name: raw.name.trim_end_matches('.').to_ascii_lowercase(),
        ttl,
    }
}

/// Checks the top-level settings and entry names; the network's subnets.
fn top_level(checker: &mut Checker, raw: &RawStack) -> Vec<String> {
    checker.format(
        "stack",
        &raw.stack,
        |v| formats::name(v, formats::MAX_NAME),
        "stack name",
    );
    checker.format("region", &raw.region, formats::region, "region");
    if let Some(account) = &raw.account_id {
        checker.format("account_id", account, formats::account_id, "account id");
    }
    if let Some(bucket) = &raw.state_bucket {
        checker.format("state_bucket", bucket, formats::bucket, "bucket name");
    }
    let subnets = raw
        .network
        .as_ref()
        .map(|n| n.subnets.clone())
        .unwrap_or_default();
    checker.subnets("network.subnets", &subnets);
    if let Some(releases) = &raw.releases {
        checker.format(
            "releases.bucket",
            &releases.bucket,
            formats::bucket,
            "bucket name",
        );
    }
    for (section, names) in [
        ("apps", raw.apps.keys().collect::<Vec<_>>()),
        ("security_groups", raw.security_groups.keys().collect()),
        ("roles", raw.roles.keys().collect()),
        ("groups", raw.groups.keys().collect()),
        ("cloudformation", raw.cloudformation.keys().collect()),
    ] {
        for name in names {
            checker.entry_name(&format!("{section}.{name}"), name, formats::MAX_NAME);
        }
    }
    subnets
}

/// The apps, their versions (and images) checked.
fn apps(checker: &mut Checker, raw: &RawStack) -> BTreeMap<String, App> {
    raw.apps
        .iter()
        .map(|(name, app)| {
            let image = app.image.as_ref().and_then(|uri| {
                Repository::parse(uri)
                    .map_err(|expected| {
                        checker.error_at_value(
                            &format!("apps.{name}.image"),
                            format!("invalid image repository `{uri}`"),
                            &expected,
                            Some("name the repository only; `version` is its tag or `sha256:` digest".to_owned()),
                        )
                    })
                    .ok()
            });
            app_version(checker, name, &app.version, app.image.is_some());
            let app = App {
                version: app.version.clone(),
                image,
            };
            (name.clone(), app)
        })
        .collect()
}

/// An image's version is a tag or a `sha256:` digest; a tarball's, a version name.
fn app_version(checker: &mut Checker, name: &str, version: &str, image: bool) {
    let path = format!("apps.{name}.version");
    if image {
        if !container::is_tag(version) && !container::is_digest(version) {
            checker.error_at_value(
                &path,
                format!("invalid image version `{version}`"),
                "an image tag (letters, digits, `_`, `.`, `-`) or `sha256:` and 64 hex digits",
                None,
            );
        }
    } else if container::is_digest(version) {
        checker.error_at_value(
            &path,
            format!("app `{name}` pins a digest, but has no `image`"),
            "a release version, such as `2024.11.3`",
            Some("add `image: ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`".to_owned()),
        );
    } else {
        checker.format(&path, version, formats::version, "version");
    }
}

fn role(checker: &mut Checker, names: &Names, raw: &RawStack, name: &str, role: &RawRole) -> Role {
    let path = format!("roles.{name}");
    if let Some(app) = &role.app {
        if let Err(e) = names.named("app", app) {
            checker.error_at_value(
                &format!("{path}.app"),
                e.message,
                "an app defined under `apps`",
                e.hint,
            );
        } else if raw.releases.is_none() && raw.apps.get(app).is_some_and(|a| a.image.is_none()) {
            checker.error_at_value(
                &format!("{path}.app"),
                format!("role `{name}` runs app `{app}`, but the file has no `releases.bucket`"),
                "apps need a release bucket",
                Some("add `releases: { bucket: NAME }`; artifacts are at `s3://NAME/{app}/{version}.tar.gz`".to_owned()),
            );
        }
    }
    Role {
        app: role.app.clone(),
        health: role.health.as_ref().map_or(HealthCheck::Running, |h| {
            health_check(checker, raw, &path, h)
        }),
    }
}

/// The health check `raw_check` at `path` asks for.
fn health_check(checker: &mut Checker, raw: &RawStack, path: &str, h: &RawHealth) -> HealthCheck {
    {
        {
            let set = [h.http.is_some(), h.signal.is_some(), h.running.is_some()];
            if set.iter().filter(|s| **s).count() != 1 {
                checker.error_at_value(
                    &format!("{path}.health"),
                    "a health check has exactly one of `http`, `signal`, `running`".to_owned(),
                    "one of `http: { port, path }`, `signal: {}`, `running: {}`",
                    None,
                );
                HealthCheck::Running
            } else if let Some(http) = &h.http {
                let http_path = http.path.clone().unwrap_or_else(|| "/".to_owned());
                if !http_path.starts_with('/') {
                    checker.error_at_value(
                        &format!("{path}.health.http.path"),
                        format!("health check path `{http_path}` does not start with `/`"),
                        "a path such as `/health`",
                        Some(format!("write `/{http_path}`")),
                    );
                }
                if http.port == 0 {
                    checker.error_at_value(
                        &format!("{path}.health.http.port"),
                        "port 0 cannot be probed".to_owned(),
                        "a port from 1 to 65535",
                        None,
                    );
                }
                HealthCheck::Http {
                    port: http.port,
                    path: http_path,
                }
            } else if h.signal.is_some() {
                if raw.state_bucket.is_none() {
                    checker.error_at_value(
                        &format!("{path}.health.signal"),
                        "signal health checks need `state_bucket`: instances write their signal there".to_owned(),
                        "a stack with `state_bucket`",
                        Some("add `state_bucket: NAME` at the top level".to_owned()),
                    );
                }
                HealthCheck::Signal
            } else {
                HealthCheck::Running
            }
        }
    }
}
