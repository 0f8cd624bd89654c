//! Groups run as Auto Scaling groups, through the real binary against the local
//! endpoint: made and owned, their desired capacity left to Auto Scaling, releases
//! rolled by rollstack's gates within the surge (an outside scale-out kept), a failed
//! release rolled back, a killed rollout taken up again, an instance lost outside
//! replaced by the group, and destroy. One stack name per test.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_autoscaling::types::AutoScalingGroup;
use support::web::{apply, assert_ok, fleet, setup, unlock_killed_run, write};
use support::{FaultProxy, moto, rollstack_aws, rollstack_aws_command, stderr, stdout};

async fn autoscaling() -> aws_sdk_autoscaling::Client {
    aws_sdk_autoscaling::Client::new(&moto().sdk_config().await)
}

/// Group `web` of stack `name` as an Auto Scaling group of 4..=12 running `web` at
/// `version`, rolling two at a time (`pause` between batches).
fn stack_file(name: &str, version: &str, pause: &str) -> String {
    behind(name, version, pause, None)
}

/// The same, behind target group `arn` with an `elb` health check, when given.
fn behind(name: &str, version: &str, pause: &str, arn: Option<&str>) -> String {
    let traffic = arn
        .map(|arn| format!("    target_groups: [\"{arn}\"]\n"))
        .unwrap_or_default();
    let check = if arn.is_some() { "elb" } else { "ec2" };
    format!(
        r#"rollstack: 1
stack: {name}
region: us-east-1
state_bucket: {name}-state
releases: {{ bucket: {name}-releases }}
apps:
  web: {{ version: "{version}" }}
roles:
  web: {{ app: web, health: {{ signal: {{}} }} }}
groups:
  web:
    roles: [web]
    image: ami-0abc1234
    instance_type: t3.micro
    user_data: web.sh.j2
{traffic}    autoscaling:
      min: 4
      max: 12
      health_check: {{ type: {check}, grace: 1m }}
      policies:
        - {{ target: cpu, value: 50 }}
    rollout: {{ max_surge: 2, max_unavailable: 0, health_timeout: 1m, pause: {pause} }}
"#
    )
}

/// A new target group named `name` in the default VPC; its ARN.
async fn target_group(name: &str) -> String {
    let config = moto().sdk_config().await;
    let vpcs = aws_sdk_ec2::Client::new(&config)
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("is-default")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let vpc = vpcs.vpcs()[0].vpc_id().unwrap().to_owned();
    let created = aws_sdk_elasticloadbalancingv2::Client::new(&config)
        .create_target_group()
        .name(name)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(vpc)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Instance)
        .send()
        .await
        .unwrap();
    created.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_owned()
}

/// The instances registered in target group `arn` (draining ones left out).
async fn targets(arn: &str) -> BTreeSet<String> {
    let health = aws_sdk_elasticloadbalancingv2::Client::new(&moto().sdk_config().await)
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .unwrap();
    health
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health()
                .and_then(|h| h.state())
                .map(|s| s.as_str())
                != Some("draining")
        })
        .filter_map(|d| d.target()?.id().map(str::to_owned))
        .collect()
}

/// Every instance terminated in its Auto Scaling group (the proxy's call log) was
/// deregistered from the target groups first; how many were terminated.
fn drained_before_terminated(log: &str) -> usize {
    let mut deregistered = BTreeSet::new();
    let mut terminated = 0;
    for line in log.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("DeregisterTargets") => deregistered.extend(words.map(str::to_owned)),
            Some("TerminateInstanceInAutoScalingGroup") => {
                for id in words {
                    assert!(
                        deregistered.contains(id),
                        "`{id}` terminated before it was deregistered:\n{log}"
                    );
                    terminated += 1;
                }
            }
            _ => {}
        }
    }
    terminated
}

/// The running instances of stack `name`.
async fn running_ids(c: &support::Clients, name: &str) -> BTreeSet<String> {
    support::web::instances(c, name)
        .await
        .into_iter()
        .filter(|(_, state, _)| state == "running")
        .map(|(id, _, _)| id)
        .collect()
}

async fn group(name: &str) -> Option<AutoScalingGroup> {
    let described = autoscaling()
        .await
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("{name}-default-web"))
        .send()
        .await
        .unwrap();
    described.auto_scaling_groups().first().cloned()
}

fn tag<'a>(group: &'a AutoScalingGroup, key: &str) -> Option<&'a str> {
    group
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

async fn set_desired(name: &str, desired: i32) {
    autoscaling()
        .await
        .set_desired_capacity()
        .auto_scaling_group_name(format!("{name}-default-web"))
        .desired_capacity(desired)
        .send()
        .await
        .unwrap();
}

fn plan_exit(dir: &Path) -> (i32, String) {
    let plan = rollstack_aws(dir, &["plan", "stack.yaml", "--detailed-exitcode"], &[]);
    (
        plan.status.code().unwrap_or(-1),
        stdout(&plan) + &stderr(&plan),
    )
}

/// Snapshots a plan with the ids that vary per run filtered.
fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\bi-[0-9a-f]{8,17}\b", "i-[id]");
    settings.add_filter(r"\basg-roll/[0-9a-f]{16}\b", "asg-roll/[id]");
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// Desired capacity, in service, protected.
fn counts(group: &AutoScalingGroup) -> (i32, usize, usize) {
    let in_service = group
        .instances()
        .iter()
        .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
        .count();
    let protected = group
        .instances()
        .iter()
        .filter(|i| i.protected_from_scale_in() == Some(true))
        .count();
    (group.desired_capacity().unwrap(), in_service, protected)
}

/// Polls the group every 0.5 s until dropped: the fewest instances in service and the
/// most instances it held.
struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(usize, usize)>>,
}

impl Watcher {
    fn start(name: &str) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let name = name.to_owned();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let (mut fewest, mut most) = (usize::MAX, 0);
                while !flag.load(Ordering::SeqCst) {
                    let group = group(&name).await.unwrap();
                    let (_, in_service, _) = counts(&group);
                    fewest = fewest.min(in_service);
                    most = most.max(group.instances().len());
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                (fewest, most)
            })
        });
        Watcher {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

#[tokio::test]
async fn an_autoscaling_group_is_made_rolled_within_its_surge_and_heals_itself() {
    let name = "asg-roll";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    let arn = target_group(name).await;
    write(dir.path(), &behind(name, "1.0.0", "0s", Some(&arn)));
    snapshot("create_plan", &plan_exit(dir.path()).1);
    assert_ok(&apply(dir.path(), &[]), "the first apply");
    let made = group(name).await.expect("the Auto Scaling group");
    assert_eq!(made.target_group_arns(), std::slice::from_ref(&arn));
    assert_eq!(made.health_check_type(), Some("ELB"));
    let serving: BTreeSet<String> = made
        .instances()
        .iter()
        .map(|i| i.instance_id().unwrap().to_owned())
        .collect();
    assert_eq!(targets(&arn).await, serving, "its instances serve");
    assert_eq!(counts(&made), (4, 4, 0));
    assert_eq!((made.min_size(), made.max_size()), (Some(4), Some(12)));
    assert_eq!(tag(&made, "rollstack:stack"), Some(name));
    assert_eq!(tag(&made, "rollstack:resource"), Some("group.web"));
    assert_eq!(fleet(&c, name).await, vec!["web@1.0.0"; 4]);
    let policies = autoscaling()
        .await
        .describe_policies()
        .auto_scaling_group_name(format!("{name}-default-web"))
        .send()
        .await
        .unwrap();
    assert_eq!(policies.scaling_policies().len(), 1);
    assert_eq!(plan_exit(dir.path()).0, 0, "{}", plan_exit(dir.path()).1);

    // Autoscaling moves the desired capacity: not drift.
    set_desired(name, 6).await;
    let (code, plan) = plan_exit(dir.path());
    assert_eq!(code, 0, "{plan}");

    write(dir.path(), &behind(name, "1.1.0", "0s", Some(&arn)));
    let (_, plan) = plan_exit(dir.path());
    assert!(plan.contains("replace 6 instances"), "{plan}");
    snapshot("release_plan", &plan);
    let log = dir.path().join("calls.log");
    let proxy = FaultProxy::with("none", &["--log", log.to_str().unwrap()]);
    let watcher = Watcher::start(name);
    let rolled = proxy.rollstack(
        dir.path(),
        &[
            "apply",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "100ms",
        ],
    );
    let (fewest, most) = watcher.finish();
    assert_ok(&rolled, "the release");
    // The local endpoint drains at once: the order of calls proves the draining.
    assert_eq!(
        drained_before_terminated(&std::fs::read_to_string(&log).unwrap()),
        6
    );
    assert!(
        fewest >= 4,
        "fewer than min - max_unavailable in service: {fewest}"
    );
    assert!(most <= 8, "more than desired + max_surge: {most}");
    let rolled = group(name).await.unwrap();
    assert_eq!(
        counts(&rolled),
        (6, 6, 0),
        "desired back, nothing protected"
    );
    assert_eq!(tag(&rolled, "rollstack:rollout"), Some(""));
    assert_eq!(fleet(&c, name).await, vec!["web@1.1.0"; 6]);
    let serving: BTreeSet<String> = rolled
        .instances()
        .iter()
        .map(|i| i.instance_id().unwrap().to_owned())
        .collect();
    assert_eq!(
        targets(&arn).await,
        serving,
        "old instances left the target group"
    );
    assert_eq!(plan_exit(dir.path()).0, 0, "{}", plan_exit(dir.path()).1);
    let status = rollstack_aws(dir.path(), &["status", "stack.yaml"], &[]);
    assert!(
        stdout(&status).contains(&format!(
            "Auto Scaling group `{name}-default-web`: desired 6 (min 4, max 12), 6 in service, 0 pending"
        )),
        "{}",
        stdout(&status)
    );

    // An instance terminated by hand: the group replaces it, from the same version.
    let lost = rolled.instances()[0].instance_id().unwrap().to_owned();
    c.ec2
        .terminate_instances()
        .instance_ids(&lost)
        .send()
        .await
        .unwrap();
    let healed = group(name).await.unwrap();
    assert_eq!(counts(&healed), (6, 6, 0));
    assert!(
        !healed
            .instances()
            .iter()
            .any(|i| i.instance_id() == Some(lost.as_str()))
    );
    assert_eq!(fleet(&c, name).await, vec!["web@1.1.0"; 6]);
    let (code, plan) = plan_exit(dir.path());
    assert_eq!(code, 0, "{plan}");
}

/// Applies in the background, waits until the rollout has raised the desired capacity
/// (its record is on the group), and hands the running apply over.
async fn mid_rollout(dir: &Path, name: &str) -> std::process::Child {
    let mut child = rollstack_aws_command(
        dir,
        &[
            "apply",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "100ms",
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::fs::File::create(dir.join("apply.log")).unwrap())
    .spawn()
    .unwrap();
    for _ in 0..600 {
        if let Some(g) = group(name).await
            && tag(&g, "rollstack:rollout").is_some_and(|r| !r.is_empty())
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().ok();
    child.wait().ok();
    let log = std::fs::read_to_string(dir.join("apply.log")).unwrap_or_default();
    panic!("the rollout never raised the desired capacity: {log}");
}

#[tokio::test]
async fn a_scale_out_during_a_rollout_is_kept() {
    let name = "asg-scale";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", "2s"));
    assert_ok(&apply(dir.path(), &[]), "the first apply");
    write(dir.path(), &stack_file(name, "1.1.0", "2s"));
    let mut child = mid_rollout(dir.path(), name).await;
    let desired = group(name).await.unwrap().desired_capacity().unwrap();
    set_desired(name, desired + 2).await;
    assert!(child.wait().unwrap().success(), "the release");
    let rolled = group(name).await.unwrap();
    assert_eq!(counts(&rolled), (6, 6, 0), "Auto Scaling's +2 kept");
    assert_eq!(fleet(&c, name).await, vec!["web@1.1.0"; 6]);
    assert_eq!(plan_exit(dir.path()).0, 0, "{}", plan_exit(dir.path()).1);
}

#[tokio::test]
async fn a_killed_rollout_is_taken_up_and_leaves_nothing_behind() {
    let name = "asg-kill";
    let (c, _agent, dir) = setup(name, &["1.0.0", "1.1.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", "3s"));
    assert_ok(&apply(dir.path(), &[]), "the first apply");
    write(dir.path(), &stack_file(name, "1.1.0", "3s"));
    let mut child = mid_rollout(dir.path(), name).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = group(name).await.unwrap();
    let (_, in_service, _) = counts(&killed);
    assert!(in_service >= 4, "below min after kill -9: {in_service}");
    let (_, plan) = plan_exit(dir.path());
    assert!(plan.contains("Auto Scaling group"), "{plan}");
    // The killed run's lock is left; the documented way lets the next one in.
    unlock_killed_run(&c, dir.path(), name).await;
    assert_ok(&apply(dir.path(), &[]), "the apply after kill -9");
    let rolled = group(name).await.unwrap();
    assert_eq!(counts(&rolled), (4, 4, 0), "no surge or protection left");
    assert_eq!(fleet(&c, name).await, vec!["web@1.1.0"; 4]);
    assert_eq!(plan_exit(dir.path()).0, 0, "{}", plan_exit(dir.path()).1);
}

#[tokio::test]
async fn a_failed_release_rolls_the_group_back_and_freezes() {
    let name = "asg-fail";
    let (c, _agent, dir) = setup(name, &["1.0.0", "2.0.0"], &["web@2.0.0"]).await;
    write(dir.path(), &stack_file(name, "1.0.0", "0s"));
    assert_ok(&apply(dir.path(), &[]), "the first apply");
    let version = group(name)
        .await
        .unwrap()
        .launch_template()
        .unwrap()
        .version()
        .unwrap()
        .to_owned();
    write(dir.path(), &stack_file(name, "2.0.0", "0s"));
    let failed = apply(dir.path(), &[]);
    assert!(!failed.status.success(), "{}", stdout(&failed));
    let back = group(name).await.unwrap();
    assert_eq!(
        back.launch_template().unwrap().version(),
        Some(version.as_str())
    );
    assert_eq!(counts(&back), (4, 4, 0));
    assert_eq!(fleet(&c, name).await, vec!["web@1.0.0"; 4]);
    let (code, plan) = plan_exit(dir.path());
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("replace 4 instances"), "{plan}");
    let again = apply(dir.path(), &[]);
    assert!(stderr(&again).contains("frozen"), "{}", stderr(&again));
}

#[tokio::test]
async fn destroy_removes_the_group_and_leaves_a_foreign_one() {
    let name = "asg-destroy";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    write(dir.path(), &stack_file(name, "1.0.0", "0s"));
    assert_ok(&apply(dir.path(), &[]), "the first apply");
    let asg = autoscaling().await;
    let template = group(name)
        .await
        .unwrap()
        .launch_template()
        .unwrap()
        .launch_template_id()
        .unwrap()
        .to_owned();
    // Someone else's group, named as rollstack would name a group `other`.
    asg.create_auto_scaling_group()
        .auto_scaling_group_name(format!("{name}-default-other"))
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_id(&template)
                .version("1")
                .build(),
        )
        .min_size(0)
        .max_size(1)
        .desired_capacity(0)
        .availability_zones("us-east-1a")
        .send()
        .await
        .unwrap();
    let with_other = stack_file(name, "1.0.0", "0s").replace("groups:\n", "groups:\n  other:\n    roles: [web]\n    image: ami-0abc1234\n    instance_type: t3.micro\n    autoscaling: { min: 0, max: 1 }\n");
    write(dir.path(), &with_other);
    let (code, plan) = plan_exit(dir.path());
    assert_eq!(code, 1, "{plan}");
    assert!(
        plan.contains("Auto Scaling group"),
        "the foreign group is reported: {plan}"
    );
    write(dir.path(), &stack_file(name, "1.0.0", "0s"));
    let destroyed = rollstack_aws(
        dir.path(),
        &["destroy", "stack.yaml", "--auto-approve"],
        &[],
    );
    assert_ok(&destroyed, "destroy");
    assert!(group(name).await.is_none(), "the group is gone");
    let policies = asg.describe_policies().send().await.unwrap();
    assert!(
        !policies
            .scaling_policies()
            .iter()
            .any(|p| p.auto_scaling_group_name() == Some(&format!("{name}-default-web")))
    );
    assert!(fleet(&c, name).await.is_empty());
    let templates = c
        .ec2
        .describe_launch_templates()
        .launch_template_ids(&template)
        .send()
        .await;
    assert!(
        templates
            .map(|t| t.launch_templates().is_empty())
            .unwrap_or(true)
    );
    let others = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("{name}-default-other"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        others.auto_scaling_groups().len(),
        1,
        "the foreign group is untouched"
    );
}

#[tokio::test]
async fn a_plain_group_moves_into_autoscaling_and_back_without_dropping_capacity() {
    let name = "asg-move";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let plain = stack_file(name, "1.0.0", "0s").replace(
        "    autoscaling:\n      min: 4\n      max: 12\n      health_check: { type: ec2, grace: 1m }\n      policies:\n        - { target: cpu, value: 50 }\n",
        "    count: 4\n",
    );
    assert!(plain.contains("count: 4"), "{plain}");
    write(dir.path(), &plain);
    assert_ok(&apply(dir.path(), &[]), "the plain group");
    let before = running_ids(&c, name).await;
    assert_eq!(before.len(), 4);

    write(dir.path(), &stack_file(name, "1.0.0", "0s"));
    let (code, plan) = plan_exit(dir.path());
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("moves into an Auto Scaling group"), "{plan}");
    assert!(plan.contains("replace 4 instances"), "{plan}");
    let poller = support::web::Poller::start(name);
    let moved = apply(dir.path(), &[]);
    let (most, fewest, _) = poller.finish();
    assert_ok(&moved, "the move into Auto Scaling");
    assert!(fewest >= 4, "capacity dropped to {fewest}");
    assert!(most <= 6, "{most} live at once, beyond the surge");
    let asg = group(name).await.unwrap();
    assert_eq!(counts(&asg), (4, 4, 0));
    assert_eq!((asg.min_size(), asg.max_size()), (Some(4), Some(12)));
    let inside: BTreeSet<String> = asg
        .instances()
        .iter()
        .map(|i| i.instance_id().unwrap().to_owned())
        .collect();
    assert_eq!(
        running_ids(&c, name).await,
        inside,
        "every instance is the group's"
    );
    assert!(inside.is_disjoint(&before));
    assert_eq!(plan_exit(dir.path()).0, 0, "{}", plan_exit(dir.path()).1);

    write(dir.path(), &plain);
    let (_, plan) = plan_exit(dir.path());
    assert!(plan.contains("detach its instances"), "{plan}");
    assert_ok(&apply(dir.path(), &[]), "back to a plain group");
    assert!(
        group(name).await.is_none(),
        "the Auto Scaling group is gone"
    );
    assert_eq!(
        running_ids(&c, name).await,
        inside,
        "its instances kept, as the plain group's"
    );
    assert_eq!(plan_exit(dir.path()).0, 0, "{}", plan_exit(dir.path()).1);
}
