//! Wire types -> model, section by section, reporting every problem on the way.

use std::collections::BTreeMap;

use super::Checker;
use super::formats;
use super::launch;
use super::references::{Names, Written, resolve_interpolations};
use crate::diagnostic::did_you_mean;
use crate::load::raw::*;
use crate::model::*;
use crate::template;

/// Builds the model of environment `environment` from `raw`.
pub fn build(checker: &mut Checker, raw: &RawStack, environment: Environment) -> Stack {
    checker.format(
        "stack",
        &raw.stack,
        |v| formats::name(v, formats::MAX_NAME),
        "stack name",
    );
    checker.format("region", &raw.region, formats::region, "region");
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
    let names = Names {
        apps: raw.apps.keys().map(String::as_str).collect(),
        security_groups: raw.security_groups.keys().map(String::as_str).collect(),
        groups: raw.groups.keys().map(String::as_str).collect(),
        cloudformation: raw.cloudformation.keys().map(String::as_str).collect(),
    };
    let mut references = Vec::new();
    let apps = raw
        .apps
        .iter()
        .map(|(name, app)| {
            checker.format(
                &format!("apps.{name}.version"),
                &app.version,
                formats::version,
                "version",
            );
            (
                name.clone(),
                App {
                    version: app.version.clone(),
                },
            )
        })
        .collect();
    let security_groups = raw
        .security_groups
        .iter()
        .map(|(name, sg)| {
            (
                name.clone(),
                security_group(checker, &names, name, sg, &mut references),
            )
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
        .filter_map(|(name, cfn)| Some((name.clone(), cloudformation_node(checker, name, cfn)?)))
        .collect();
    let groups = raw
        .groups
        .iter()
        .map(|(name, group)| {
            (
                name.clone(),
                self::group(
                    checker,
                    &names,
                    raw,
                    &roles,
                    &subnets,
                    name,
                    group,
                    &mut references,
                ),
            )
        })
        .collect();
    let mut stack = Stack {
        name: raw.stack.clone(),
        environment,
        region: raw.region.clone(),
        state_bucket: raw.state_bucket.clone(),
        subnets,
        releases_bucket: raw.releases.as_ref().map(|r| r.bucket.clone()),
        apps,
        security_groups,
        roles,
        groups,
        cloudformation,
        references,
        tags: launch::tags(checker, "tags", &raw.tags, 0),
    };
    cloudformation_references(checker, &names, raw, &mut stack);
    launch::instance_profile_references(checker, &names, &raw.groups, &mut stack);
    user_data(checker, raw, &mut stack);
    stack
}

/// `from: self` in a rule: the group the rule belongs to.
const SELF: &str = "self";

fn security_group(
    checker: &mut Checker,
    names: &Names,
    name: &str,
    raw: &RawSecurityGroup,
    references: &mut Vec<Reference>,
) -> SecurityGroup {
    let path = format!("security_groups.{name}");
    if name == SELF {
        checker.error_at_key(
            &path,
            "`self` cannot name a security group".to_owned(),
            "another name",
            Some("`from: self` in a rule means the group the rule belongs to".to_owned()),
        );
    }
    // A group's rules are applied once the group itself exists.
    references.push(Reference {
        from: Address::SecurityGroupRules(name.to_owned()),
        to: Address::SecurityGroup(name.to_owned()),
        path: path.clone(),
    });
    let mut rules = |kind: &str, raw_rules: &[RawRule]| -> Vec<Rule> {
        raw_rules
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| {
                let rule_path = format!("{path}.{kind}[{i}]");
                let protocol = match rule.protocol.as_str() {
                    "tcp" => Protocol::Tcp,
                    "udp" => Protocol::Udp,
                    "icmp" => Protocol::Icmp,
                    "all" | "-1" => Protocol::All,
                    other => {
                        let hint = did_you_mean(
                            &other.to_ascii_lowercase(),
                            ["tcp", "udp", "icmp", "all"],
                        );
                        checker.error_at_value(
                            &format!("{rule_path}.protocol"),
                            format!("unknown protocol `{other}`"),
                            "one of `tcp`, `udp`, `icmp`, `all`",
                            hint,
                        );
                        return None;
                    }
                };
                let peer = match (&rule.cidr, &rule.from) {
                    (Some(cidr), None) => {
                        checker.format(
                            &format!("{rule_path}.cidr"),
                            cidr,
                            formats::cidr,
                            "CIDR block",
                        );
                        Peer::Cidr(cidr.clone())
                    }
                    (None, Some(from)) => {
                        let from_path = format!("{rule_path}.from");
                        // `self`: the group itself (a cluster whose members talk).
                        let from = if from == SELF { name } else { from.as_str() };
                        match names.named("security_group", from) {
                            Ok(to) => references.push(Reference {
                                from: Address::SecurityGroupRules(name.to_owned()),
                                to,
                                path: from_path,
                            }),
                            Err(e) => checker.error_at_value(
                                &from_path,
                                e.message,
                                "a security group of this stack",
                                e.hint,
                            ),
                        }
                        Peer::SecurityGroup(from.to_owned())
                    }
                    (cidr, _) => {
                        let message = if cidr.is_some() {
                            "a rule has either `cidr` or `from`, not both"
                        } else {
                            "a rule needs a peer: `cidr` or `from`"
                        };
                        checker.error_at_value(
                            &rule_path,
                            message.to_owned(),
                            "`cidr: 203.0.113.0/24` or `from: <security group>`",
                            Some("split it into two rules if both are meant".to_owned()),
                        );
                        return None;
                    }
                };
                let ports = match (protocol, rule.ports) {
                    (Protocol::Icmp | Protocol::All, Some(ports)) if ports != PortRange::ALL => {
                        checker.error_at_value(
                            &format!("{rule_path}.ports"),
                            format!("`{}` rules cover every port", rule.protocol),
                            "no `ports`, or `ports: all`",
                            Some("remove `ports`, or use `tcp` or `udp`".to_owned()),
                        );
                        PortRange::ALL
                    }
                    (_, ports) => ports.unwrap_or(PortRange::ALL),
                };
                Some(Rule {
                    protocol,
                    ports,
                    peer,
                })
            })
            .collect()
    };
    let ingress = rules("ingress", &raw.ingress);
    let egress = raw.egress.as_deref().map(|e| rules("egress", e));
    SecurityGroup {
        description: raw
            .description
            .clone()
            .unwrap_or_else(|| format!("security_group.{name}")),
        ingress,
        egress,
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
        } else if raw.releases.is_none() {
            checker.error_at_value(
                &format!("{path}.app"),
                format!("role `{name}` runs app `{app}`, but the file has no `releases.bucket`"),
                "apps need a release bucket",
                Some("add `releases: { bucket: NAME }`; artifacts are at `s3://NAME/{app}/{version}.tar.gz`".to_owned()),
            );
        }
    }
    let health = match &role.health {
        None => Health::Running,
        Some(h) => {
            let set = [h.http.is_some(), h.signal.is_some(), h.running.is_some()];
            if set.iter().filter(|s| **s).count() != 1 {
                checker.error_at_value(
                    &format!("{path}.health"),
                    "a health check has exactly one of `http`, `signal`, `running`".to_owned(),
                    "one of `http: { port, path }`, `signal: {}`, `running: {}`",
                    None,
                );
                Health::Running
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
                Health::Http {
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
                Health::Signal
            } else {
                Health::Running
            }
        }
    };
    Role {
        app: role.app.clone(),
        health,
    }
}

#[allow(clippy::too_many_arguments)]
fn group(
    checker: &mut Checker,
    names: &Names,
    raw: &RawStack,
    roles: &BTreeMap<String, Role>,
    network_subnets: &[String],
    name: &str,
    group: &RawGroup,
    references: &mut Vec<Reference>,
) -> Group {
    let path = format!("groups.{name}");
    let address = Address::Group(name.to_owned());
    if group.roles.is_empty() {
        checker.error_at_value(
            &format!("{path}.roles"),
            "a group needs at least one role".to_owned(),
            "a list of roles",
            Some(format!(
                "roles defined: {}",
                crate::diagnostic::list(roles.keys())
            )),
        );
    }
    for (i, role) in group.roles.iter().enumerate() {
        let role_path = format!("{path}.roles[{i}]");
        if group.roles[..i].contains(role) {
            checker.error_at_value(
                &role_path,
                format!("role `{role}` is listed twice"),
                "each role once",
                Some("remove the repeat".to_owned()),
            );
        } else if let Some(r) = roles.get(role) {
            if let Some(app) = &r.app
                && raw.apps.contains_key(app)
            {
                references.push(Reference {
                    from: address.clone(),
                    to: Address::App(app.clone()),
                    path: role_path,
                });
            }
        } else if !raw.roles.contains_key(role) {
            let hint = did_you_mean(role, roles.keys().map(String::as_str)).or_else(|| {
                Some(format!(
                    "roles defined: {}",
                    crate::diagnostic::list(raw.roles.keys())
                ))
            });
            checker.error_at_value(
                &role_path,
                format!("no role named `{role}`"),
                "a role defined under `roles`",
                hint,
            );
        }
    }
    match &group.image {
        ImageRef::Id(id) => checker.format(
            &format!("{path}.image"),
            id,
            |v| formats::aws_id(v, "ami"),
            "image id",
        ),
        ImageRef::Lookup {
            name: pattern,
            owner,
        } => {
            if pattern.trim().is_empty() {
                checker.error_at_value(
                    &format!("{path}.image.name"),
                    "image name pattern is empty".to_owned(),
                    "a pattern such as `ubuntu/images/*24.04*`",
                    None,
                );
            }
            checker.format(
                &format!("{path}.image.owner"),
                owner,
                formats::image_owner,
                "image owner",
            );
        }
    }
    checker.format(
        &format!("{path}.instance_type"),
        &group.instance_type,
        formats::instance_type,
        "instance type",
    );
    if formats::instance_type(&group.instance_type).is_ok() {
        launch::instance_type(checker, &path, &group.instance_type);
    }
    launch::names(checker, &path, group);
    for (i, sg) in group.security_groups.iter().enumerate() {
        let sg_path = format!("{path}.security_groups[{i}]");
        match names.named("security_group", sg) {
            Ok(to) => {
                // Instances start once their groups' rules are in place: health checks
                // and peers reach them through those rules.
                references.push(Reference {
                    from: address.clone(),
                    to: Address::SecurityGroupRules(to.name().to_owned()),
                    path: sg_path.clone(),
                });
                references.push(Reference {
                    from: address.clone(),
                    to,
                    path: sg_path,
                });
            }
            Err(e) => checker.error_at_value(
                &sg_path,
                e.message,
                "a security group defined under `security_groups`",
                e.hint,
            ),
        }
    }
    let subnets = match &group.subnets {
        Some(own) => {
            checker.subnets(&format!("{path}.subnets"), own);
            own.clone()
        }
        None => network_subnets.to_vec(),
    };
    for (i, dependency) in group.depends_on.iter().enumerate() {
        checker.dependency(
            names,
            &address,
            &format!("{path}.depends_on[{i}]"),
            dependency,
            references,
        );
    }
    let user_data = group
        .user_data
        .as_ref()
        .and_then(|file| checker.read_template(&format!("{path}.user_data"), file));
    let rollout = rollout(checker, &path, group.count, group.rollout.as_ref());
    Group {
        roles: group.roles.clone(),
        count: group.count,
        image: group.image.clone(),
        instance_type: group.instance_type.clone(),
        security_groups: group.security_groups.clone(),
        subnets,
        user_data,
        instance_profile: group.instance_profile.clone(),
        key_name: group.key_name.clone(),
        root_volume: launch::root_volume(checker, &path, group),
        metadata: launch::metadata(group),
        tags: launch::tags(
            checker,
            &format!("{path}.tags"),
            &group.tags,
            raw.tags.len(),
        ),
        rollout,
    }
}

fn rollout(
    checker: &mut Checker,
    group_path: &str,
    count: u32,
    raw: Option<&RawRollout>,
) -> Rollout {
    let defaults = Rollout::default();
    let Some(raw) = raw else { return defaults };
    let path = format!("{group_path}.rollout");
    let rollout = Rollout {
        max_surge: raw.max_surge.unwrap_or(defaults.max_surge),
        max_unavailable: raw.max_unavailable.unwrap_or(defaults.max_unavailable),
        pause: raw.pause.unwrap_or(defaults.pause),
        health_timeout: raw.health_timeout.unwrap_or(defaults.health_timeout),
        on_failure: match raw.on_failure {
            Some(RawOnFailure::Halt) => OnFailure::Halt,
            _ => OnFailure::Rollback,
        },
    };
    if let Quantity::Percent(p) = rollout.max_unavailable
        && p > 100
    {
        checker.error_at_value(
            &format!("{path}.max_unavailable"),
            format!("`{p}%` is more than the whole group"),
            "a percentage from 0% to 100%",
            None,
        );
    }
    let surge = rollout.max_surge.resolve(count, true);
    let unavailable = rollout.max_unavailable.resolve(count, false);
    if count > 0 && surge == 0 && unavailable == 0 {
        let which = if raw.max_surge.is_some() {
            "max_surge"
        } else {
            "max_unavailable"
        };
        checker.error_at_value(
            &format!("{path}.{which}"),
            format!(
                "this rollout cannot make progress: with count {count}, max_surge {} allows 0 extra instances and max_unavailable {} allows 0 missing ones",
                rollout.max_surge, rollout.max_unavailable
            ),
            "max_surge or max_unavailable of at least one instance",
            Some("set `max_surge: 1` (replace one at a time, above count) or `max_unavailable: 1`".to_owned()),
        );
    }
    if rollout.health_timeout.0.is_zero() {
        checker.error_at_value(
            &format!("{path}.health_timeout"),
            "`health_timeout` of zero fails every rollout".to_owned(),
            "a duration such as `10m`",
            None,
        );
    }
    rollout
}

fn cloudformation_node(
    checker: &mut Checker,
    name: &str,
    raw: &RawCloudFormation,
) -> Option<CloudFormation> {
    let path = format!("cloudformation.{name}");
    let template = checker.read_template(&format!("{path}.template"), &raw.template)?;
    let (declared, outputs) = checker.cloudformation_template(&template)?;
    let declared_names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
    for key in raw.parameters.keys() {
        if !declared_names.contains(&key.as_str()) {
            let hint = did_you_mean(key, declared_names.iter().copied()).or_else(|| {
                Some(format!(
                    "`{}` declares {}",
                    template.path,
                    crate::diagnostic::list(declared_names.iter())
                ))
            });
            checker.error_at_key(
                &format!("{path}.parameters.{key}"),
                format!("template `{}` has no parameter `{key}`", template.path),
                "a parameter the template declares",
                hint,
            );
        }
    }
    for parameter in &declared {
        if !parameter.has_default && !raw.parameters.contains_key(&parameter.name) {
            checker.error_at_key(
                &format!("{path}.template"),
                format!(
                    "template `{}` requires parameter `{}`, which is not given",
                    template.path, parameter.name
                ),
                "a value for every parameter without a `Default`",
                Some(format!(
                    "add `{}: ...` under `{path}.parameters`",
                    parameter.name
                )),
            );
        }
    }
    Some(CloudFormation {
        template,
        declared,
        outputs,
        parameters: raw.parameters.clone(),
    })
}

/// Resolves `${...}` in parameter values and `depends_on` of CloudFormation nodes.
fn cloudformation_references(
    checker: &mut Checker,
    names: &Names,
    raw: &RawStack,
    stack: &mut Stack,
) {
    let outputs: BTreeMap<String, Vec<String>> = stack
        .cloudformation
        .iter()
        .map(|(n, c)| (n.clone(), c.outputs.clone()))
        .collect();
    for (name, cfn) in &raw.cloudformation {
        let address = Address::CloudFormation(name.clone());
        for (i, dependency) in cfn.depends_on.iter().enumerate() {
            checker.dependency(
                names,
                &address,
                &format!("cloudformation.{name}.depends_on[{i}]"),
                dependency,
                &mut stack.references,
            );
        }
        for (key, value) in &cfn.parameters {
            let ParameterValue::Text(text) = value else {
                continue;
            };
            let path = format!("cloudformation.{name}.parameters.{key}");
            resolve_interpolations(
                checker,
                names,
                &outputs,
                Written {
                    text,
                    what: "parameter value",
                    path: &path,
                },
                &address,
                &mut stack.references,
            );
        }
    }
}

/// Renders every group's user data with placeholder outputs; adds the references the
/// templates make (`apps.X`, `outputs.X`) to the graph.
fn user_data(checker: &mut Checker, raw: &RawStack, stack: &mut Stack) {
    let outputs = template::placeholder_outputs(stack);
    // A CloudFormation node whose template did not load is already reported; its outputs
    // are unknown, so templates using them cannot be checked.
    let unloaded: Vec<&String> = raw
        .cloudformation
        .keys()
        .filter(|n| !stack.cloudformation.contains_key(*n))
        .collect();
    let mut found = Vec::new();
    for (name, group) in &stack.groups {
        let Some(user_data) = &group.user_data else {
            continue;
        };
        let path = format!("groups.{name}.user_data");
        let address = Address::Group(name.clone());
        for used in template::used_names(&user_data.source) {
            let mut parts = used.split('.');
            let (root, entry) = (parts.next().unwrap_or(""), parts.next());
            let to = match (root, entry) {
                ("apps", Some(app)) if stack.apps.contains_key(app) => Address::App(app.to_owned()),
                ("outputs", Some(node)) if stack.cloudformation.contains_key(node) => {
                    Address::CloudFormation(node.to_owned())
                }
                _ => continue,
            };
            if !found
                .iter()
                .any(|r: &Reference| r.from == address && r.to == to)
            {
                found.push(Reference {
                    from: address.clone(),
                    to,
                    path: path.clone(),
                });
            }
        }
        let uses_unloaded = template::used_names(&user_data.source).iter().any(|used| {
            unloaded
                .iter()
                .any(|n| used.starts_with(&format!("outputs.{n}")))
        });
        if uses_unloaded {
            continue;
        }
        let context = template::context(stack, name, &outputs);
        match template::render(
            &user_data.file.display().to_string(),
            &user_data.source,
            &context,
        ) {
            Err(e) => checker.template_error(&path, user_data, &e, &context),
            Ok(rendered) if rendered.len() > launch::MAX_USER_DATA => checker.error_at_value(
                &path,
                format!(
                    "`{}` renders to {} bytes of user data; AWS takes at most {}",
                    user_data.path,
                    rendered.len(),
                    launch::MAX_USER_DATA
                ),
                "user data of at most 16 KB",
                Some("fetch the rest at boot (from S3, say) and keep the user data a small bootstrap script".to_owned()),
            ),
            Ok(_) => {}
        }
    }
    stack.references.extend(found);
}
