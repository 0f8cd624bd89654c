use super::*;
use crate::testing::stack_from_yaml;

const STACK: &str = "rollstack: 1\nstack: shop\nregion: us-east-1\n\
    dns: { zone_id: Z1, name: internal.example.com }\n\
    roles: { web: {}, pgbouncer: {}, worker: {} }\ngroups:\n  \
    www: { roles: [web, pgbouncer], count: 2, image: ami-1, instance_type: t3.micro }\n  \
    jobs: { roles: [worker, pgbouncer], count: 1, image: ami-1, instance_type: t3.micro }\n";

fn instance(id: &str, group: &str, roles: &str, ip: &str, state: InstanceState) -> LiveInstance {
    LiveInstance {
        id: id.to_owned(),
        state,
        instance_type: "t3.micro".into(),
        image_id: "ami-1".into(),
        subnet_id: None,
        private_ip: Some(ip.to_owned()),
        public_ip: None,
        launch_time: "".into(),
        security_group_ids: Vec::new(),
        volume_ids: Vec::new(),
        tags: [
            (tags::RESOURCE.to_owned(), format!("group.{group}")),
            (tags::ROLES.to_owned(), roles.to_owned()),
        ]
        .into(),
    }
}

fn fleet() -> Vec<LiveInstance> {
    use InstanceState::Running;
    vec![
        instance("i-1", "www", "web pgbouncer", "10.0.0.1", Running),
        instance("i-2", "www", "web pgbouncer", "10.0.0.2", Running),
        instance("i-3", "jobs", "worker pgbouncer", "10.0.0.3", Running),
    ]
}

fn ips(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn owned(name: &str, list: &[&str]) -> LiveRecord {
    LiveRecord {
        name: name.to_owned(),
        ips: ips(list),
        ttl: 60,
        marker: Some(("m".to_owned(), 60)),
        owned: true,
    }
}

#[test]
fn an_instance_record_each_and_a_record_per_role_of_every_serving_instance() {
    let stack = stack_from_yaml(STACK);
    let dns = stack.dns.clone().unwrap();
    let records = steady(&stack, &dns, &fleet(), &[], &BTreeSet::new());
    let d = "default.internal.example.com";
    assert_eq!(records[&format!("www-0.{d}")], ips(&["10.0.0.1"]));
    assert_eq!(records[&format!("www-1.{d}")], ips(&["10.0.0.2"]));
    assert_eq!(records[&format!("jobs-0.{d}")], ips(&["10.0.0.3"]));
    assert_eq!(records[&format!("web.{d}")], ips(&["10.0.0.1", "10.0.0.2"]));
    assert_eq!(
        records[&format!("pgbouncer.{d}")],
        ips(&["10.0.0.1", "10.0.0.2", "10.0.0.3"])
    );
    assert_eq!(records.len(), 6);

    // Stopped, or of a group the file no longer has: not serving.
    let mut fleet = fleet();
    fleet[1].state = InstanceState::Stopped;
    fleet[2].tags.insert(tags::RESOURCE, "group.old");
    let records = steady(&stack, &dns, &fleet, &[], &BTreeSet::new());
    assert_eq!(records[&format!("pgbouncer.{d}")], ips(&["10.0.0.1"]));
    assert!(!records.contains_key(&format!("www-1.{d}")));
    assert!(!records.contains_key(&format!("worker.{d}")));
}

#[test]
fn before_a_rollout_its_group_keeps_what_is_named_and_adds_nothing() {
    let stack = stack_from_yaml(STACK);
    let dns = stack.dns.clone().unwrap();
    let d = "default.internal.example.com";
    let mut fleet = fleet();
    // A new www instance a halted rollout left running, never healthy: not in DNS.
    fleet.push(instance(
        "i-4",
        "www",
        "web pgbouncer",
        "10.0.0.4",
        InstanceState::Running,
    ));
    let live = vec![owned(&format!("web.{d}"), &["10.0.0.1", "10.0.0.2"])];
    let rolling = BTreeSet::from(["www".to_owned()]);
    let records = steady(&stack, &dns, &fleet, &live, &rolling);
    assert_eq!(records[&format!("web.{d}")], ips(&["10.0.0.1", "10.0.0.2"]));
    // Not rolling (the group converged): every running instance serves.
    let records = steady(&stack, &dns, &fleet, &live, &BTreeSet::new());
    assert_eq!(
        records[&format!("web.{d}")],
        ips(&["10.0.0.1", "10.0.0.2", "10.0.0.4"])
    );
}

#[test]
fn a_rollout_moves_its_own_group_and_keeps_what_others_have() {
    let stack = stack_from_yaml(STACK);
    let dns = stack.dns.clone().unwrap();
    let d = "default.internal.example.com";
    let mut fleet = fleet();
    fleet.push(instance(
        "i-4",
        "www",
        "web pgbouncer",
        "10.0.0.4",
        InstanceState::Running,
    ));
    fleet.push(instance(
        "i-5",
        "jobs",
        "worker pgbouncer",
        "10.0.0.5",
        InstanceState::Running,
    ));
    let live = vec![owned(
        &format!("pgbouncer.{d}"),
        &["10.0.0.1", "10.0.0.2", "10.0.0.3"],
    )];
    // www rolls: i-1 is about to go, i-4 is healthy; jobs' new i-5 is not in DNS yet.
    let records = during_rollout(&stack, &dns, &fleet, &live, "www", |i| i.id != "i-1");
    assert_eq!(
        records[&format!("pgbouncer.{d}")],
        ips(&["10.0.0.2", "10.0.0.3", "10.0.0.4"])
    );
    assert_eq!(records[&format!("web.{d}")], ips(&["10.0.0.2", "10.0.0.4"]));
}

#[test]
fn changes_touch_owned_names_only_and_refuse_a_foreign_one_in_the_way() {
    let d = "default.internal.example.com";
    let desired: Records = [
        (format!("web.{d}"), ips(&["10.0.0.9"])),
        (format!("www-0.{d}"), ips(&["10.0.0.9"])),
    ]
    .into();
    let live = vec![
        owned(&format!("web.{d}"), &["10.0.0.1"]),
        owned(&format!("www-7.{d}"), &["10.0.0.7"]),
        LiveRecord {
            owned: false,
            marker: None,
            ..owned(&format!("mail.{d}"), &["10.9.9.9"])
        },
    ];
    let changes = changes(&desired, &live).unwrap();
    let summary: Vec<(String, &str)> = changes
        .iter()
        .map(|c| (c.name.clone(), c.symbol()))
        .collect();
    assert_eq!(
        summary,
        [
            (format!("web.{d}"), "~"),
            (format!("www-0.{d}"), "+"),
            (format!("www-7.{d}"), "-"),
        ]
    );
    let foreign = vec![LiveRecord {
        owned: false,
        marker: None,
        ..owned(&format!("web.{d}"), &["10.9.9.9"])
    }];
    assert_eq!(
        super::changes(&desired, &foreign),
        Err(vec![format!("web.{d}")])
    );
    assert!(
        super::changes(
            &Records::new(),
            &[owned(&format!("web.{d}"), &["10.0.0.1"])]
        )
        .unwrap()[0]
            .after
            .is_empty()
    );
}
