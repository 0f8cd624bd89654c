//! Role DNS against the local endpoint's Route 53: records follow a rolling version bump
//! (never naming an instance that is going or gone), drift shows in the plan, and
//! destroy removes every record rollstack wrote and none it did not.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use support::web::{ROLLOUT, apply, assert_ok, setup, stack_file, write};
use support::{rollstack_aws, stderr, stdout};

const DOMAIN: &str = "internal.example.com";

async fn route53() -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(&support::moto().sdk_config().await)
}

/// A hosted zone of its own for stack `name`: `{name}.internal.example.com`'s id.
async fn zone(r53: &aws_sdk_route53::Client, name: &str) -> String {
    let zone = r53
        .create_hosted_zone()
        .name(format!("{name}.{DOMAIN}"))
        .caller_reference(name)
        .send()
        .await
        .unwrap();
    let id = zone.hosted_zone().unwrap().id();
    id.trim_start_matches("/hostedzone/").to_owned()
}

/// Every record set of the zone: (name, type) -> values.
async fn records(
    r53: &aws_sdk_route53::Client,
    zone: &str,
) -> BTreeMap<(String, String), BTreeSet<String>> {
    let page = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    page.resource_record_sets()
        .iter()
        .map(|s| {
            (
                (
                    s.name().trim_end_matches('.').to_owned(),
                    s.r#type().as_str().to_owned(),
                ),
                s.resource_records()
                    .iter()
                    .map(|r| r.value().to_owned())
                    .collect(),
            )
        })
        .collect()
}

async fn put(
    r53: &aws_sdk_route53::Client,
    zone: &str,
    action: ChangeAction,
    name: &str,
    kind: RrType,
    value: &str,
) {
    let set = ResourceRecordSet::builder()
        .name(format!("{name}."))
        .r#type(kind)
        .ttl(60)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap();
    r53.change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(action)
                        .resource_record_set(set)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Private address -> (state, release) of every instance of stack `name`, any state.
async fn addresses(c: &support::Clients, name: &str) -> BTreeMap<String, (String, String)> {
    let out = c
        .ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| {
            let release = i
                .tags()
                .iter()
                .find(|t| t.key() == Some("rollstack:release"))
                .and_then(|t| t.value())
                .unwrap_or_default()
                .to_owned();
            Some((
                i.private_ip_address()?.to_owned(),
                (i.state()?.name()?.as_str().to_owned(), release),
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn role_records_follow_a_rolling_bump_and_destroy_removes_only_ours() {
    let name = "dns-roll";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    let r53 = route53().await;
    let zone = zone(&r53, name).await;
    let domain = format!("{name}.{DOMAIN}");
    let env = format!("default.{domain}");
    let role = format!("web.{env}");
    // Someone else's name under the environment's domain, and one beside it.
    put(
        &r53,
        &zone,
        ChangeAction::Create,
        &format!("mail.{env}"),
        RrType::A,
        "10.9.9.9",
    )
    .await;
    put(
        &r53,
        &zone,
        ChangeAction::Create,
        &format!("vpn.{domain}"),
        RrType::A,
        "10.9.9.8",
    )
    .await;
    let file = |version: &str| {
        format!(
            "{}dns: {{ zone_id: {zone}, name: {domain}, ttl: 60 }}\n",
            stack_file(name, version, 2, ROLLOUT)
        )
    };

    write(dir.path(), &file("1.0.0"));
    assert_ok(&apply(dir.path(), &[]), "apply 1.0.0");
    let running_ips = |release: &'static str| {
        let c = &c;
        async move {
            addresses(c, name)
                .await
                .into_iter()
                .filter(|(_, (state, r))| state == "running" && r == release)
                .map(|(ip, _)| ip)
                .collect::<BTreeSet<String>>()
        }
    };
    let first = running_ips("web@1.0.0").await;
    assert_eq!(first.len(), 2);
    let now = records(&r53, &zone).await;
    assert_eq!(now[&(role.clone(), "A".to_owned())], first);
    assert_eq!(
        now[&(role.clone(), "TXT".to_owned())],
        BTreeSet::from([format!("\"rollstack:stack={name},env=default\"")])
    );
    let instance_records: BTreeSet<String> = now
        .keys()
        .filter(|(n, t)| t == "A" && n.starts_with("web-"))
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(
        instance_records,
        BTreeSet::from([format!("web-0.{env}"), format!("web-1.{env}")])
    );
    let clean = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}{}",
        stdout(&clean),
        stderr(&clean)
    );

    // A record deleted by hand is drift: the plan shows it, apply puts it back.
    let web1 = format!("web-1.{env}");
    let ip = now[&(web1.clone(), "A".to_owned())]
        .first()
        .unwrap()
        .clone();
    put(&r53, &zone, ChangeAction::Delete, &web1, RrType::A, &ip).await;
    let drift = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(drift.status.code(), Some(2), "{}", stdout(&drift));
    assert!(
        stdout(&drift).contains(&format!(
            "DNS records (set before the rollouts, which then move them):\n  + {web1}: {ip}"
        )),
        "{}",
        stdout(&drift)
    );
    assert!(
        stdout(&drift).contains("1 DNS record to set."),
        "{}",
        stdout(&drift)
    );
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b10\.\d+\.\d+\.\d+\b", "[ip]");
    settings.bind(|| insta::assert_snapshot!("dns_drift_plan", stdout(&drift)));
    let json: serde_json::Value = serde_json::from_str(&stdout(&rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--format", "json"],
        &[],
    )))
    .unwrap();
    assert_eq!(json["dns"][0]["name"], web1);
    assert_eq!(json["summary"]["dns"], 1);
    let markdown = stdout(&rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--format", "markdown"],
        &[],
    ));
    assert!(
        markdown.contains(&format!(
            "**DNS records** (set before the rollouts, which then move them):\n\n- `+ {web1}: {ip}`"
        )),
        "{markdown}"
    );
    // A saved plan of that drift is stale once the records change again.
    let saved = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--out", "drift.json"],
        &[],
    );
    assert_ok(&saved, "plan --out");
    let web0 = format!("web-0.{env}");
    let ip0 = now[&(web0.clone(), "A".to_owned())]
        .first()
        .unwrap()
        .clone();
    put(&r53, &zone, ChangeAction::Delete, &web0, RrType::A, &ip0).await;
    let stale = rollstack_aws(dir.path(), &["apply", "drift.json", "--auto-approve"], &[]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        stderr(&stale).contains(&format!("plan is stale: DNS record `{web0}` changed")),
        "{}",
        stderr(&stale)
    );
    assert_ok(&apply(dir.path(), &[]), "apply of the drift");
    let mended = records(&r53, &zone).await;
    assert_eq!(
        mended[&(web1.clone(), "A".to_owned())],
        BTreeSet::from([ip])
    );
    assert_eq!(
        mended[&(web0.clone(), "A".to_owned())],
        BTreeSet::from([ip0])
    );

    // The bump, watched: at no observation does the role record name an instance that
    // is shutting down or gone. Instances are read first: what was gone then must be out
    // of the record read after.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, zone, role) = (stop.clone(), zone.clone(), role.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let c = support::web::clients().await;
                let r53 = route53().await;
                let (mut seen, mut wrong) = (0, Vec::new());
                while !stop.load(Ordering::SeqCst) {
                    let states = addresses(&c, name).await;
                    let named = records(&r53, &zone)
                        .await
                        .remove(&(role.clone(), "A".to_owned()))
                        .unwrap_or_default();
                    for ip in &named {
                        if let Some((state, _)) = states.get(ip)
                            && (state == "shutting-down" || state == "terminated")
                        {
                            wrong.push(format!("{ip} is {state}"));
                        }
                    }
                    seen += 1;
                }
                (seen, wrong)
            })
        })
    };
    write(dir.path(), &file("1.1.0"));
    let planned = stdout(&rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]));
    assert!(
        planned.contains("DNS: the records of `group.web` move with its rollout (each instance added once healthy, removed before it goes)."),
        "the plan says the records move:\n{planned}"
    );
    let bump = apply(dir.path(), &[]);
    stop.store(true, Ordering::SeqCst);
    let (seen, wrong) = watcher.join().unwrap();
    assert_ok(&bump, "apply 1.1.0");
    assert!(seen > 5, "the watcher looked {seen} times");
    assert!(
        wrong.is_empty(),
        "the role record named instances going or gone: {wrong:?}"
    );
    let second = running_ips("web@1.1.0").await;
    assert_eq!(second.len(), 2);
    let now = records(&r53, &zone).await;
    assert_eq!(
        now[&(role.clone(), "A".to_owned())],
        second,
        "exactly the new instances"
    );
    let named: BTreeSet<String> = now
        .iter()
        .filter(|((n, t), _)| t == "A" && n.starts_with("web-"))
        .flat_map(|(_, ips)| ips.iter().cloned())
        .collect();
    assert_eq!(
        named, second,
        "instance records name the new instances only"
    );
    let clean = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    // Destroy, the answer to its record deletes lost once, so the SDK sends them again
    // (AWS then refuses deletes of what is gone, and the sync looks again; the local
    // endpoint forgives them): nothing of ours is left; the others' records are as they
    // were.
    let proxy = support::FaultProxy::with("lost", &["--match", "DELETE</Action>", "--times", "1"]);
    let destroy = proxy.rollstack(
        dir.path(),
        &["destroy", "stack.yaml", "--auto-approve", "--stats"],
    );
    let changes_sent = stderr(&destroy)
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("route53:ChangeResourceRecordSets")
        })
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned));
    assert_eq!(
        changes_sent.as_deref(),
        Some("2"),
        "the lost answer was sent again:\n{}",
        stderr(&destroy)
    );
    assert_ok(&destroy, "destroy");
    let left = records(&r53, &zone).await;
    let ours: Vec<&(String, String)> = left
        .iter()
        .filter(|((n, _), values)| {
            n.ends_with(&env)
                && (n.starts_with("web") || values.iter().any(|v| v.contains("rollstack:")))
        })
        .map(|(k, _)| k)
        .collect();
    assert!(ours.is_empty(), "left behind: {ours:?}");
    assert_eq!(
        left[&(format!("mail.{env}"), "A".to_owned())],
        BTreeSet::from(["10.9.9.9".to_owned()])
    );
    assert_eq!(
        left[&(format!("vpn.{domain}"), "A".to_owned())],
        BTreeSet::from(["10.9.9.8".to_owned()])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_someone_else_holds_stops_the_plan() {
    let name = "dns-foreign";
    let (_c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let r53 = route53().await;
    let zone = zone(&r53, name).await;
    let domain = format!("{name}.{DOMAIN}");
    put(
        &r53,
        &zone,
        ChangeAction::Create,
        &format!("web.default.{domain}"),
        RrType::A,
        "10.9.9.9",
    )
    .await;
    write(
        dir.path(),
        &format!(
            "{}dns: {{ zone_id: {zone}, name: {domain} }}\n",
            stack_file(name, "1.0.0", 1, ROLLOUT)
        ),
    );
    // Before any instance runs nothing wants the name: the apply makes the instances and
    // leaves the name alone, saying so; from then on the plan refuses it.
    let first = apply(dir.path(), &[]);
    assert_ok(&first, "apply");
    let name_ = format!("web.default.{domain}");
    assert!(
        stderr(&first).contains(&format!(
            "warning: DNS name `{name_}` has a record rollstack did not make"
        )),
        "{}",
        stderr(&first)
    );
    let plan = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert_eq!(plan.status.code(), Some(1), "{}", stdout(&plan));
    let err = stderr(&plan);
    assert!(
        err.contains(&format!(
            "DNS name `{name_}` has a record rollstack did not make"
        )) && err.contains("never touches a record it did not make"),
        "{err}"
    );
    assert_eq!(
        records(&r53, &zone).await[&(format!("web.default.{domain}"), "A".to_owned())],
        BTreeSet::from(["10.9.9.9".to_owned()]),
        "untouched"
    );
}
