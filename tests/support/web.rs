//! A one-group web stack on the local endpoint, as the apply and convergence tests use
//! it: group `web` running app `web` behind security group `web`, its buckets and
//! releases, and the fleet as AWS reports it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_ec2::types::Filter;

use super::{Agent, Clients, rollstack_aws, scratch, stderr, stdout};

pub const USER_DATA: &str = "#!/bin/sh\n/opt/web/start {{ apps.web.version }}\n\
     # signal: s3://{{ signal.bucket }}/{{ signal.key_prefix }}INSTANCE_ID\n";

/// Group `web` of `count` instances running app `web` at `version` behind security group
/// `web`, rolling under `rollout`.
pub fn stack_file(name: &str, version: &str, count: u32, rollout: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {name}
region: us-east-1
state_bucket: {name}-state
releases: {{ bucket: {name}-releases }}
apps:
  web: {{ version: "{version}" }}
security_groups:
  web:
    description: web tier
    ingress:
      - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}
roles:
  web: {{ app: web, health: {{ signal: {{}} }} }}
groups:
  web:
    roles: [web]
    count: {count}
    image: ami-0abc1234
    instance_type: t3.micro
    security_groups: [web]
    user_data: web.sh.j2
    rollout: {rollout}
"#
    )
}

pub const ROLLOUT: &str = "{ max_surge: 1, max_unavailable: 0, health_timeout: 1m }";

pub async fn clients() -> Clients {
    super::moto().clients().await
}

/// Creates the state and release buckets of stack `name` and uploads `versions` of `web`.
pub async fn buckets(c: &Clients, name: &str, versions: &[&str]) {
    c.s3.create_bucket()
        .bucket(format!("{name}-state"))
        .send()
        .await
        .unwrap();
    c.s3.create_bucket()
        .bucket(format!("{name}-releases"))
        .send()
        .await
        .unwrap();
    for version in versions {
        c.s3.put_object()
            .bucket(format!("{name}-releases"))
            .key(format!("web/{version}.tar.gz"))
            .body(b"release".to_vec().into())
            .send()
            .await
            .unwrap();
    }
}

/// The buckets of stack `name` with releases `versions`, an instance agent failing
/// `fail`, and a scratch directory with the user-data template.
pub async fn setup(
    name: &str,
    versions: &[&str],
    fail: &[&str],
) -> (Clients, Agent, tempfile::TempDir) {
    let c = clients().await;
    buckets(&c, name, versions).await;
    let agent = Agent::start(name, &format!("{name}-state"), fail);
    (c, agent, scratch(&[("web.sh.j2", USER_DATA)]))
}

pub fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("stack.yaml"), text).unwrap();
}

pub fn apply(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "apply",
        "stack.yaml",
        "--auto-approve",
        "--poll-interval",
        "100ms",
    ];
    args.extend_from_slice(extra);
    rollstack_aws(dir, &args, &[])
}

/// Frees the lock a killed run of stack `name` left, as the docs say: `unlock --force`
/// with the lock's id.
pub async fn unlock_killed_run(c: &Clients, dir: &Path, name: &str) {
    let lock =
        c.s3.get_object()
            .bucket(format!("{name}-state"))
            .key(format!("rollstack/{name}/default/lock.json"))
            .send()
            .await
            .expect("the killed run's lock");
    let body = lock.body.collect().await.unwrap().into_bytes();
    let record: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let lock_id = record["id"].as_str().unwrap();
    let unlocked = rollstack_aws(dir, &["unlock", "stack.yaml", "--force", lock_id], &[]);
    assert_ok(&unlocked, "unlock");
}

pub fn assert_ok(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
}

/// Live instances of stack `name`: (id, state, tags).
pub async fn instances(c: &Clients, name: &str) -> Vec<(String, String, BTreeMap<String, String>)> {
    let out = c
        .ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
        )
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .set_values(Some(
                    ["pending", "running", "stopping", "stopped"]
                        .map(String::from)
                        .to_vec(),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            let tags = i
                .tags()
                .iter()
                .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
                .collect();
            (
                i.instance_id().unwrap().to_owned(),
                i.state().unwrap().name().unwrap().as_str().to_owned(),
                tags,
            )
        })
        .collect()
}

/// Releases of the live instances of stack `name`, counted.
pub async fn releases(c: &Clients, name: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (_, _, tags) in instances(c, name).await {
        *out.entry(tags["rollstack:release"].clone()).or_default() += 1;
    }
    out
}

/// Asserts that every live instance of stack `name` runs `release`, and that there are
/// `count` of them.
pub async fn assert_fleet(c: &Clients, name: &str, release: &str, count: usize) {
    assert_eq!(
        releases(c, name).await,
        BTreeMap::from([(release.to_owned(), count)])
    );
}

/// Releases of the live instances of stack `name`, one per instance, sorted.
pub async fn fleet(c: &Clients, name: &str) -> Vec<String> {
    let mut found: Vec<String> = instances(c, name)
        .await
        .into_iter()
        .filter(|(_, state, _)| state == "pending" || state == "running")
        .map(|(_, _, tags)| tags["rollstack:release"].clone())
        .collect();
    found.sort();
    found
}

/// Watches the instances of stack `name` from another thread until dropped, recording
/// the most live and the fewest running instances seen.
pub struct Poller {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(usize, usize, usize)>>,
}

impl Poller {
    pub fn start(name: &str) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let name = name.to_owned();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let c = clients().await;
                let (mut most, mut fewest, mut seen) = (0, usize::MAX, 0);
                while !flag.load(Ordering::SeqCst) {
                    let live = instances(&c, &name).await;
                    let running = live.iter().filter(|(_, s, _)| s == "running").count();
                    most = most.max(live.len());
                    fewest = fewest.min(running);
                    seen += 1;
                }
                (most, fewest, seen)
            })
        });
        Poller {
            stop,
            thread: Some(thread),
        }
    }

    /// (most live, fewest running, observations).
    pub fn finish(mut self) -> (usize, usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// The running instances of stack `name`.
pub async fn running(c: &Clients, name: &str) -> Vec<aws_sdk_ec2::types::Instance> {
    let described = c
        .ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
        )
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .cloned()
        .collect()
}

/// The user data of each running instance of stack `name`.
pub async fn instance_user_data(c: &Clients, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for instance in running(c, name).await {
        found.push(user_data(c, instance.instance_id().unwrap()).await);
    }
    found
}

/// The user data instance `id` was launched with.
pub async fn user_data(c: &Clients, id: &str) -> String {
    let attribute = c
        .ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .unwrap();
    let data = attribute
        .user_data()
        .and_then(|d| d.value())
        .unwrap_or_default();
    String::from_utf8(aws_smithy_types::base64::decode(data).unwrap()).unwrap()
}
