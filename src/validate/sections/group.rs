//! Instance groups: roles, image, instance type, security groups, subnets, rollout, and
//! the user data template.

use std::collections::BTreeMap;

use super::Checker;
use super::Names;
use super::formats;
use super::launch;
use crate::diagnostic::did_you_mean;
use crate::load::raw::*;
use crate::model::*;
use crate::template;
use crate::validate::references::{Written, resolve_interpolations};
use crate::validate::traffic;

/// What a group is checked against: the other sections.
pub(super) struct Context<'a> {
    /// Every entry's name, by section.
    pub names: &'a Names<'a>,
    /// The whole file.
    pub raw: &'a RawStack,
    /// The roles, as built.
    pub roles: &'a BTreeMap<String, Role>,
    /// The network's subnets, for groups that name none.
    pub network_subnets: &'a [String],
}

impl Context<'_> {
    /// The model of group `name`; its references go to `references`.
    pub(super) fn build(
        &self,
        checker: &mut Checker,
        name: &str,
        group: &RawGroup,
        references: &mut Vec<Edge>,
    ) -> Group {
        let path = format!("groups.{name}");
        let address = Address::Group(name.to_owned());
        self.roles(checker, &path, &address, group, references);
        image(checker, &path, &group.image);
        checker.format(
            &format!("{path}.instance_type"),
            &group.instance_type,
            formats::instance_type,
            "instance type",
        );
        if formats::instance_type(&group.instance_type).is_ok() {
            launch::instance_type(checker, &path, &group.instance_type);
        }
        let instance_profile = group.instance_profile.as_deref().map(Interpolated::parse);
        let target_groups: Vec<Interpolated> = group
            .target_groups
            .iter()
            .map(|t| Interpolated::parse(t))
            .collect();
        launch::names(checker, &path, group, instance_profile.as_ref());
        traffic::target_groups(checker, &path, &target_groups);
        let shared_security_groups =
            self.security_groups(checker, &path, &address, group, references);
        let subnets = match &group.subnets {
            Some(own) => {
                checker.subnets(&format!("{path}.subnets"), own);
                own.clone()
            }
            None => self.network_subnets.to_vec(),
        };
        for (i, dependency) in group.depends_on.iter().enumerate() {
            let at = format!("{path}.depends_on[{i}]");
            checker.dependency(self.names, &address, &at, dependency, references);
        }
        let user_data = group
            .user_data
            .as_ref()
            .and_then(|file| checker.read_template(&format!("{path}.user_data"), file));
        let (count, autoscaling) = super::autoscaling::build(checker, &path, group);
        let user_tags = launch::tags(
            checker,
            &format!("{path}.tags"),
            &group.tags,
            self.raw.tags.len(),
        );
        Group {
            roles: group.roles.clone(),
            count,
            image: group.image.clone(),
            instance_type: group.instance_type.clone(),
            security_groups: group
                .security_groups
                .iter()
                .filter(|sg| !sg.contains("${"))
                .cloned()
                .collect(),
            shared_security_groups,
            subnets,
            user_data,
            instance_profile,
            key_name: group.key_name.clone(),
            root_volume: launch::root_volume(checker, &path, group),
            metadata: launch::metadata(group),
            tags: user_tags,
            target_groups,
            rollout: rollout(checker, &path, count, group.rollout.as_ref()),
            autoscaling,
        }
    }

    /// Checks the group's roles; a role that runs an app makes the group depend on it.
    fn roles(
        &self,
        checker: &mut Checker,
        path: &str,
        address: &Address,
        group: &RawGroup,
        references: &mut Vec<Edge>,
    ) {
        let (roles, raw) = (self.roles, self.raw);
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
                    references.push(Edge {
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
    }

    /// Checks the group's security groups; the group depends on each of its own and
    /// their rules. Returns those of other stacks (`${stacks.STACK.OUTPUT}`, by id).
    fn security_groups(
        &self,
        checker: &mut Checker,
        path: &str,
        address: &Address,
        group: &RawGroup,
        references: &mut Vec<Edge>,
    ) -> Vec<Interpolated> {
        let names = self.names;
        let mut shared = Vec::new();
        for (i, sg) in group.security_groups.iter().enumerate() {
            let sg_path = format!("{path}.security_groups[{i}]");
            if sg.contains("${") {
                shared.extend(shared_security_group(checker, names, &sg_path, sg));
                continue;
            }
            match names.named("security_group", sg) {
                Ok(to) => {
                    // Instances start once their groups' rules are in place: health checks
                    // and peers reach them through those rules.
                    references.push(Edge {
                        from: address.clone(),
                        to: Address::SecurityGroupRules(to.name().to_owned()),
                        path: sg_path.clone(),
                    });
                    references.push(Edge {
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
        shared
    }
}

/// Another stack's security group a group's instances join: exactly one
/// `${stacks.STACK.OUTPUT}` that the stack declares, whose published value is its id.
fn shared_security_group(
    checker: &mut Checker,
    names: &Names,
    path: &str,
    written: &str,
) -> Option<Interpolated> {
    let value = Interpolated::parse(written);
    let one_stack_output = matches!(
        value.pieces(),
        [Piece::Reference(Reference::StackOutput { .. })]
    );
    if !one_stack_output {
        checker.error_at_value(
            path,
            format!("`{written}` is no security group"),
            "a security group of this stack by name, or another stack's as `${stacks.STACK.OUTPUT}`",
            Some("publish the group's id from the stack that owns it (`outputs: { web_sg: \"${security_groups.web.id}\" }`)".to_owned()),
        );
        return None;
    }
    let written = Written {
        value: &value,
        what: "the security group",
        path,
    };
    // Another stack's output orders nothing in this one.
    let mut edges = Vec::new();
    let from = Address::App(String::new());
    resolve_interpolations(checker, names, &BTreeMap::new(), written, &from, &mut edges);
    Some(value)
}

/// Checks the image: an AMI id, or a lookup by name pattern and owner.
pub(super) fn image(checker: &mut Checker, path: &str, image: &ImageRef) {
    match image {
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
        canary: traffic::canary(checker, &path, count, raw.canary.as_ref()),
        alarms: raw.alarms.clone().unwrap_or_default(),
    };
    traffic::alarms(checker, &path, &rollout.alarms);
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

/// Renders every group's user data with placeholder outputs; adds the references the
/// templates make (`apps.X`, `outputs.X`) to the graph.
pub(super) fn user_data(
    checker: &mut Checker,
    raw: &RawStack,
    stack: &mut Stack,
    workspace: &BTreeMap<String, crate::validate::workspace::Producer>,
) {
    let outputs = super::placeholder_outputs(stack, workspace);
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
            if !found.iter().any(|r: &Edge| r.from == address && r.to == to) {
                found.push(Edge {
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
