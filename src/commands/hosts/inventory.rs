//! The fleet as hosts: one per live instance, named stably, filtered by role, and written
//! as a table, JSON, an Ansible dynamic inventory or an OpenSSH config. Pure: the
//! instances and signals come from the command.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{HealthCheck, Stack};
use crate::observe::numbering::{Numbered, numbered};
use crate::observe::{InstanceState, LiveInstance, tags};
use crate::rollout::Health;
use crate::rollout::health::{self, Seen};
use crate::state::signals::Signals;

/// One instance, as `hosts` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Host {
    /// `{stack}-{env}-{group}-{n}`: `n` counts the group's instances from 0, oldest
    /// launch first (instance id breaking ties); an instance shutting down or terminated
    /// has its id in place of `n`.
    pub name: String,
    /// `i-...`.
    pub id: String,
    /// The rollstack group (`www`).
    pub group: String,
    /// Its roles, as tagged (`rollstack:roles`).
    pub roles: Vec<String>,
    /// `app@version ...`, as tagged (`rollstack:release`).
    pub release: String,
    /// EC2 state.
    pub state: String,
    /// Private IPv4 address.
    pub private_ip: Option<String>,
    /// Public IPv4 address.
    pub public_ip: Option<String>,
    /// `healthy`, `pending` or `failed: why`, as `status` judges it: the instance's state
    /// and readiness signal (HTTP checks are not probed; AWS is all `hosts` reads).
    pub health: String,
}

/// Which roles a host must carry: any one of the alternatives, each a set of roles that
/// must all be there (`--role web --role db`: web or db; `--role web+pgbouncer`: both).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleFilter(Vec<Vec<String>>);

impl RoleFilter {
    /// The filter of the `--role` values given (none: every host).
    pub fn new(values: &[String]) -> RoleFilter {
        RoleFilter(
            values
                .iter()
                .map(|v| v.split('+').map(str::to_owned).collect())
                .collect(),
        )
    }

    /// Whether a host with `roles` passes.
    pub fn admits(&self, roles: &[String]) -> bool {
        self.0.is_empty()
            || self
                .0
                .iter()
                .any(|all| all.iter().all(|role| roles.contains(role)))
    }

    /// Every role the filter names.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.0.iter().flatten().map(String::as_str)
    }
}

/// Which hosts to list.
#[derive(Clone, Debug, Default)]
pub struct Selection<'a> {
    /// Only this group's.
    pub group: Option<&'a str>,
    /// Only those passing.
    pub roles: RoleFilter,
    /// Whatever their state (otherwise `running` only).
    pub all: bool,
}

/// The hosts of `stack` among `instances` (as observed, oldest first: every live one,
/// so that `n` does not depend on what is listed), in group order then `n`, those
/// `selection` picks.
pub fn hosts(
    stack: &Stack,
    instances: &[LiveInstance],
    signals: &Signals,
    selection: &Selection<'_>,
) -> Vec<Host> {
    let numbers = numbered(instances);
    let mut listed: Vec<(&Numbered, &LiveInstance)> = instances
        .iter()
        .filter_map(|i| Some((numbers.get(i.id.as_str())?, i)))
        .filter(|(n, _)| selection.group.is_none_or(|g| g == n.group))
        .filter(|(_, i)| selection.all || i.state == InstanceState::Running)
        .collect();
    // By group; within one, in observation order (launch order, so `n` ascends).
    listed.sort_by(|a, b| a.0.group.cmp(&b.0.group));
    listed
        .into_iter()
        .map(|(n, instance)| {
            // A group gone from the file (not yet destroyed) is judged by state alone.
            let checks: Vec<HealthCheck> = if stack.groups.contains_key(&n.group) {
                health::checks(stack, &n.group)
            } else {
                vec![HealthCheck::Running]
            };
            host(stack, n, instance, &checks, signals)
        })
        .filter(|h| selection.roles.admits(&h.roles))
        .collect()
}

/// Host `{stack}-{env}-{group}-{suffix}` of `instance`.
fn host(
    stack: &Stack,
    numbered: &Numbered,
    instance: &LiveInstance,
    checks: &[HealthCheck],
    signals: &Signals,
) -> Host {
    let spec = instance.tag(tags::SPEC).unwrap_or_default();
    let probed: Vec<HealthCheck> = checks
        .iter()
        .filter(|c| !matches!(c, HealthCheck::Http { .. }))
        .cloned()
        .collect();
    let seen = Seen {
        signal: signals.get(&instance.id),
        http: None,
    };
    // Unbounded patience: `hosts` says what it sees, it never gives up on an instance.
    let health = match health::judge(
        instance,
        spec,
        &probed,
        &seen,
        std::time::Duration::ZERO,
        std::time::Duration::MAX,
    ) {
        Health::Healthy => "healthy".to_owned(),
        Health::Pending => "pending".to_owned(),
        Health::Failed(why) => format!("failed: {why}"),
    };
    Host {
        name: format!(
            "{}-{}-{}-{}",
            stack.name, stack.environment.name, numbered.group, numbered.suffix
        ),
        id: instance.id.clone(),
        group: numbered.group.clone(),
        roles: instance
            .tag(tags::ROLES)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        release: instance.tag(tags::RELEASE).unwrap_or_default().to_owned(),
        state: instance.state.to_string(),
        private_ip: instance.private_ip.clone(),
        public_ip: instance.public_ip.clone(),
        health,
    }
}

/// Which address a host is reached at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// The private IPv4 address (from inside the VPC, a VPN or a bastion).
    Private,
    /// The public IPv4 address.
    Public,
}

impl Reach {
    fn address(self, host: &Host) -> Option<&str> {
        match self {
            Reach::Private => host.private_ip.as_deref(),
            Reach::Public => host.public_ip.as_deref(),
        }
    }
}

/// The hosts as a table.
pub fn text(hosts: &[Host]) -> String {
    let header = [
        "NAME", "ID", "GROUP", "ROLES", "RELEASE", "STATE", "PRIVATE", "PUBLIC", "HEALTH",
    ];
    let rows: Vec<[String; 9]> = hosts
        .iter()
        .map(|h| {
            [
                h.name.clone(),
                h.id.clone(),
                h.group.clone(),
                h.roles.join(","),
                h.release.clone(),
                h.state.clone(),
                h.private_ip.clone().unwrap_or_else(|| "-".to_owned()),
                h.public_ip.clone().unwrap_or_else(|| "-".to_owned()),
                h.health.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let mut line: String = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}  "))
            .collect();
        line.truncate(line.trim_end().len());
        line.push('\n');
        line
    };
    let mut out = line(&header);
    for row in &rows {
        out.push_str(&line(&row.each_ref().map(String::as_str)));
    }
    out
}

/// An Ansible group name: Ansible wants identifiers, so `-` becomes `_`.
fn ansible_group(name: &str) -> String {
    name.replace('-', "_")
}

/// The hosts as an Ansible dynamic inventory (`ansible-inventory --list` shape): a group
/// per role (`web`) and per rollstack group (`group_www`), the host variables under
/// `_meta.hostvars` (`ansible_host` and `rollstack_*`).
pub fn ansible(hosts: &[Host], reach: Reach) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut hostvars = Map::new();
    for h in hosts {
        for role in &h.roles {
            groups.entry(ansible_group(role)).or_default().push(&h.name);
        }
        groups
            .entry(format!("group_{}", ansible_group(&h.group)))
            .or_default()
            .push(&h.name);
        let mut vars = Map::new();
        if let Some(address) = reach.address(h) {
            vars.insert("ansible_host".to_owned(), json!(address));
        }
        vars.insert("rollstack_id".to_owned(), json!(h.id));
        vars.insert("rollstack_group".to_owned(), json!(h.group));
        vars.insert("rollstack_roles".to_owned(), json!(h.roles));
        vars.insert("rollstack_release".to_owned(), json!(h.release));
        vars.insert("rollstack_state".to_owned(), json!(h.state));
        vars.insert("rollstack_private_ip".to_owned(), json!(h.private_ip));
        vars.insert("rollstack_public_ip".to_owned(), json!(h.public_ip));
        vars.insert("rollstack_health".to_owned(), json!(h.health));
        hostvars.insert(h.name.clone(), Value::Object(vars));
    }
    let mut inventory = Map::new();
    inventory.insert("_meta".to_owned(), json!({ "hostvars": hostvars }));
    let children: Vec<&String> = groups.keys().collect();
    inventory.insert("all".to_owned(), json!({ "children": children }));
    for (name, members) in &groups {
        inventory.insert(name.clone(), json!({ "hosts": members }));
    }
    Value::Object(inventory)
}

/// The hosts as OpenSSH `Host` blocks, for `Include` from `~/.ssh/config`; a host
/// without an address of the kind asked for is left out, with a comment saying so.
pub fn ssh_config(hosts: &[Host], reach: Reach) -> String {
    let mut out = String::new();
    for h in hosts {
        let about = format!(
            "{} {} {} {} {}",
            h.id,
            h.roles.join(","),
            h.release,
            h.state,
            h.health
        );
        match reach.address(h) {
            Some(address) => out.push_str(&format!(
                "# {about}\nHost {}\n  HostName {address}\n\n",
                h.name
            )),
            None => out.push_str(&format!(
                "# {about}\n# Host {} has no {} address\n\n",
                h.name,
                match reach {
                    Reach::Private => "private",
                    Reach::Public => "public",
                }
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests;
