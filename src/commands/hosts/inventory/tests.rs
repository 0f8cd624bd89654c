use std::collections::BTreeMap;

use super::*;
use crate::testing::stack_from_yaml;

const STACK: &str = "rollstack: 1\nstack: shop\nregion: us-east-1\n\
    roles: { web: {}, pgbouncer: {}, bastion: {} }\ngroups:\n  \
    www: { roles: [web, pgbouncer], count: 2, image: ami-1, instance_type: t3.micro }\n  \
    bastion: { roles: [bastion], count: 1, image: ami-1, instance_type: t3.micro }\n";

fn instance(
    id: &str,
    group: &str,
    roles: &str,
    launched: &str,
    state: InstanceState,
) -> LiveInstance {
    LiveInstance {
        id: id.to_owned(),
        state,
        instance_type: "t3.micro".into(),
        image_id: "ami-1".into(),
        subnet_id: None,
        private_ip: Some(format!("10.0.0.{}", id.len())),
        public_ip: (group == "bastion").then(|| "203.0.113.7".to_owned()),
        launch_time: launched.into(),
        security_group_ids: Vec::new(),
        volume_ids: Vec::new(),
        tags: BTreeMap::from([
            (tags::RESOURCE.to_owned(), format!("group.{group}")),
            (tags::ROLES.to_owned(), roles.to_owned()),
            (tags::RELEASE.to_owned(), "web@1.0.0".to_owned()),
        ])
        .into(),
    }
}

/// Two `www` instances (web + pgbouncer), a bastion, and a terminated `www` one; as
/// observation lists them, oldest first.
fn fleet() -> Vec<LiveInstance> {
    use InstanceState::{Running, Terminated};
    vec![
        instance(
            "i-old",
            "www",
            "web pgbouncer",
            "2026-12-01T09:00:00Z",
            Terminated,
        ),
        instance("i-b", "bastion", "bastion", "2026-12-01T10:00:00Z", Running),
        instance(
            "i-w1",
            "www",
            "web pgbouncer",
            "2026-12-01T10:00:00Z",
            Running,
        ),
        instance(
            "i-w2",
            "www",
            "web pgbouncer",
            "2026-12-01T11:00:00Z",
            Running,
        ),
    ]
}

fn names(hosts: &[Host]) -> Vec<&str> {
    hosts.iter().map(|h| h.name.as_str()).collect()
}

#[test]
fn names_count_each_group_from_zero_in_launch_order_and_running_ones_are_listed() {
    let stack = stack_from_yaml(STACK);
    let all = Selection {
        all: true,
        ..Selection::default()
    };
    let hosts = hosts(&stack, &fleet(), &Signals::default(), &all);
    assert_eq!(
        names(&hosts),
        [
            "shop-default-bastion-0",
            "shop-default-www-i-old",
            "shop-default-www-0",
            "shop-default-www-1"
        ]
    );
    assert_eq!(hosts[2].roles, ["web", "pgbouncer"]);
    assert_eq!(hosts[2].health, "healthy");
    assert_eq!(hosts[1].health, "failed: instance is terminated");
    // A stopped instance keeps its number, listed or not.
    let mut stopped = fleet();
    stopped[2].state = InstanceState::Stopped;
    let running = super::hosts(&stack, &stopped, &Signals::default(), &Selection::default());
    assert_eq!(
        names(&running),
        ["shop-default-bastion-0", "shop-default-www-1"]
    );
}

#[test]
fn repeated_roles_are_any_of_and_plus_is_all_of() {
    let stack = stack_from_yaml(STACK);
    let pick = |roles: &[&str], group: Option<&str>| {
        let selection = Selection {
            group,
            roles: RoleFilter::new(&roles.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>()),
            all: false,
        };
        let found = hosts(&stack, &fleet(), &Signals::default(), &selection);
        names(&found)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let www = ["shop-default-www-0", "shop-default-www-1"];
    assert_eq!(pick(&["web"], None), www);
    assert_eq!(pick(&["web+pgbouncer"], None), www);
    assert!(pick(&["web+bastion"], None).is_empty());
    assert_eq!(pick(&["web", "bastion"], None).len(), 3);
    assert_eq!(pick(&[], Some("bastion")), ["shop-default-bastion-0"]);
    assert!(pick(&["web"], Some("bastion")).is_empty());
}

#[test]
fn the_ansible_inventory_has_a_group_per_role_and_per_rollstack_group() {
    let stack = stack_from_yaml(STACK);
    let found = hosts(&stack, &fleet(), &Signals::default(), &Selection::default());
    let inventory = ansible(&found, Reach::Private);
    assert_eq!(
        inventory["web"]["hosts"],
        serde_json::json!(["shop-default-www-0", "shop-default-www-1"])
    );
    assert_eq!(inventory["pgbouncer"], inventory["web"]);
    assert_eq!(inventory["group_www"], inventory["web"]);
    assert_eq!(
        inventory["group_bastion"]["hosts"],
        serde_json::json!(["shop-default-bastion-0"])
    );
    let vars = &inventory["_meta"]["hostvars"]["shop-default-www-0"];
    assert_eq!(vars["ansible_host"], "10.0.0.4");
    assert_eq!(vars["rollstack_id"], "i-w1");
    assert_eq!(
        inventory["all"]["children"],
        serde_json::json!(["bastion", "group_bastion", "group_www", "pgbouncer", "web"])
    );
    let public = ansible(&found, Reach::Public);
    assert_eq!(
        public["_meta"]["hostvars"]["shop-default-bastion-0"]["ansible_host"],
        "203.0.113.7"
    );
    assert!(
        public["_meta"]["hostvars"]["shop-default-www-0"]
            .get("ansible_host")
            .is_none()
    );
}

#[test]
fn ssh_config_has_a_host_block_per_addressable_host() {
    let stack = stack_from_yaml(STACK);
    let found = hosts(&stack, &fleet(), &Signals::default(), &Selection::default());
    let config = ssh_config(&found, Reach::Public);
    assert!(
        config.contains("Host shop-default-bastion-0\n  HostName 203.0.113.7\n"),
        "{config}"
    );
    assert!(
        config.contains("# Host shop-default-www-0 has no public address"),
        "{config}"
    );
    let table = text(&found);
    assert!(table.starts_with("NAME "), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
}
