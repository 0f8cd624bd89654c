//! What instances launch with beyond image and type, through the real binary against
//! the local endpoint: instance profile, key pair, root volume, IMDSv2.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::process::Command;

use support::web::{ROLLOUT, apply, assert_ok, setup, stack_file, write};
use support::{rollstack_aws, root, stderr, stdout};

/// An image (with a root snapshot), and an instance profile.
async fn image_and_profile(c: &support::Clients, profile: &str) -> String {
    let image = c
        .ec2
        .register_image()
        .name(format!("launch-test-{profile}"))
        .root_device_name("/dev/xvda")
        .block_device_mappings(
            aws_sdk_ec2::types::BlockDeviceMapping::builder()
                .device_name("/dev/xvda")
                .ebs(
                    aws_sdk_ec2::types::EbsBlockDevice::builder()
                        .volume_size(8)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let created = Command::new(root().join(".venv/bin/python"))
        .arg("-c")
        .arg(
            "import sys, boto3\n\
             iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                                aws_access_key_id='a', aws_secret_access_key='b')\n\
             iam.create_instance_profile(InstanceProfileName=sys.argv[2])\n",
        )
        .arg(&support::moto().endpoint)
        .arg(profile)
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    c.ec2
        .create_key_pair()
        .key_name("ops")
        .send()
        .await
        .unwrap();
    image.image_id().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_launch_with_profile_key_encrypted_root_and_imdsv2() {
    let name = "launch-settings";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let image = image_and_profile(&c, "web-instances").await;
    let file = |size: u32| {
        stack_file(name, "1.0.0", 2, ROLLOUT)
            .replace("image: ami-0abc1234", &format!("image: {image}"))
            .replace(
                "    user_data: web.sh.j2\n",
                &format!(
                    "    user_data: web.sh.j2\n    instance_profile: web-instances\n    key_name: ops\n    \
                     root_volume: {{ size_gb: {size}, encrypted: true }}\n"
                ),
            )
    };
    write(dir.path(), &file(30));
    assert_ok(&apply(dir.path(), &[]), "apply");

    let described = c
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
    let instances: Vec<_> = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .collect();
    assert_eq!(instances.len(), 2);
    for instance in instances {
        assert_eq!(instance.key_name(), Some("ops"));
        let profile = instance
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .unwrap_or_default();
        assert!(
            profile.ends_with("instance-profile/web-instances"),
            "{profile}"
        );
    }
    let versions = c
        .ec2
        .describe_launch_template_versions()
        .launch_template_name(format!("{name}-default-web"))
        .versions("$Latest")
        .send()
        .await
        .unwrap();
    let data = versions.launch_template_versions()[0]
        .launch_template_data()
        .unwrap();
    let metadata = data.metadata_options().unwrap();
    assert_eq!(metadata.http_tokens().map(|t| t.as_str()), Some("required"));
    assert_eq!(metadata.http_put_response_hop_limit(), Some(1));
    assert_eq!(
        metadata.instance_metadata_tags().map(|t| t.as_str()),
        Some("enabled")
    );
    // The root device the image reports, not a guess.
    let described = c
        .ec2
        .describe_images()
        .image_ids(&image)
        .send()
        .await
        .unwrap();
    let root_device = described.images()[0].root_device_name();
    let snapshot_gb = described.images()[0]
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name() == root_device)
        .and_then(|m| m.ebs()?.volume_size())
        .unwrap();
    let mapping = &data.block_device_mappings()[0];
    assert_eq!(mapping.device_name(), root_device);
    let ebs = mapping.ebs().unwrap();
    assert_eq!(ebs.volume_size(), Some(30));
    assert_eq!(ebs.encrypted(), Some(true));
    assert_eq!(ebs.volume_type().map(|t| t.as_str()), Some("gp3"));

    let clean = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    // A bigger root volume is a replacement that says so.
    write(dir.path(), &file(40));
    let bigger = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(bigger.status.code(), Some(2), "{}", stderr(&bigger));
    assert!(
        stdout(&bigger).contains(
            "replace 2 instances (root volume 30 GiB gp3, encrypted -> 40 GiB gp3, encrypted)"
        ),
        "{}",
        stdout(&bigger)
    );

    // Below the image's own snapshot: refused by the plan.
    write(dir.path(), &file(4));
    let small = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert_eq!(small.status.code(), Some(1));
    assert!(
        stderr(&small).contains(&format!(
            "`root_volume.size_gb: 4` is below the {snapshot_gb} GiB"
        )),
        "{}",
        stderr(&small)
    );
}

#[test]
fn validate_refuses_a_misspelt_instance_type_and_oversized_user_data() {
    let base = stack_file("launch-limits", "1.0.0", 1, ROLLOUT);
    let dir = support::scratch(&[
        ("typo.yaml", &base.replace("t3.micro", "t3.mirco")),
        ("big.yaml", &base.replace("web.sh.j2", "big.sh.j2")),
        ("web.sh.j2", support::web::USER_DATA),
        (
            "big.sh.j2",
            &format!("#!/bin/sh\n# {}\n", "x".repeat(26 * 1024)),
        ),
    ]);
    let typo = support::rollstack(dir.path(), &["validate", "typo.yaml"]);
    assert_eq!(typo.status.code(), Some(1));
    let err = stderr(&typo);
    assert!(err.contains("unknown instance type `t3.mirco`"), "{err}");
    assert!(err.contains("did you mean `t3.micro`?"), "{err}");
    let big = support::rollstack(dir.path(), &["validate", "big.yaml"]);
    assert_eq!(big.status.code(), Some(1));
    let err = stderr(&big);
    assert!(
        err.contains("bytes of user data; AWS takes at most 16384"),
        "{err}"
    );
    assert!(err.contains("big.yaml:"), "{err}");
}

/// Tags of the user's own: the stack's on everything, the group's on its instances and
/// volumes; a change retags in place, never replaces.
#[tokio::test(flavor = "multi_thread")]
async fn user_tags_land_everywhere_and_a_change_retags_in_place() {
    let name = "launch-tags";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let file = |stack_tags: &str| {
        stack_file(name, "1.0.0", 2, ROLLOUT)
            .replace("roles:\n", &format!("tags: {stack_tags}\nroles:\n"))
            .replace(
                "    user_data: web.sh.j2\n",
                "    user_data: web.sh.j2\n    tags: { service: www }\n",
            )
    };
    write(dir.path(), &file("{ team: web, cost-center: \"42\" }"));
    assert_ok(&apply(dir.path(), &[]), "apply");

    let tags_of = |tags: &[aws_sdk_ec2::types::Tag]| -> std::collections::BTreeMap<String, String> {
        tags.iter()
            .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
            .collect()
    };
    let instances = |c: &support::Clients| {
        let c = c.ec2.clone();
        async move {
            c.describe_instances()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("tag:rollstack:stack")
                        .values(name)
                        .build(),
                )
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("instance-state-name")
                        .values("running")
                        .build(),
                )
                .send()
                .await
                .unwrap()
        }
    };
    let described = instances(&c).await;
    let first: Vec<_> = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .collect();
    assert_eq!(first.len(), 2);
    let ids: Vec<String> = first
        .iter()
        .map(|i| i.instance_id().unwrap().to_owned())
        .collect();
    for instance in &first {
        let tags = tags_of(instance.tags());
        assert_eq!(tags.get("team").map(String::as_str), Some("web"));
        assert_eq!(tags.get("cost-center").map(String::as_str), Some("42"));
        assert_eq!(tags.get("service").map(String::as_str), Some("www"));
        let volume = instance.block_device_mappings()[0]
            .ebs()
            .unwrap()
            .volume_id()
            .unwrap();
        let volumes = c
            .ec2
            .describe_volumes()
            .volume_ids(volume)
            .send()
            .await
            .unwrap();
        let volume_tags = tags_of(volumes.volumes()[0].tags());
        assert_eq!(volume_tags.get("team").map(String::as_str), Some("web"));
        assert_eq!(volume_tags.get("service").map(String::as_str), Some("www"));
    }
    let groups = c
        .ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:rollstack:stack")
                .values(name)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let group_tags = tags_of(groups.security_groups()[0].tags());
    assert_eq!(group_tags.get("team").map(String::as_str), Some("web"));
    assert!(!group_tags.contains_key("service"), "{group_tags:?}");
    let clean = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    // A changed and a removed tag: an in-place retag, no instance replaced.
    write(dir.path(), &file("{ team: payments }"));
    let planned = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(planned.status.code(), Some(2), "{}", stderr(&planned));
    let text = stdout(&planned);
    assert!(
        text.contains("~ group.web: update (tags changed: retag"),
        "{text}"
    );
    assert!(text.contains("~ tag team = \"payments\""), "{text}");
    assert!(text.contains("- tag cost-center"), "{text}");
    assert!(!text.contains("-/+"), "{text}");
    assert!(
        !text.contains("~ tag service"),
        "unchanged tags are not shown:\n{text}"
    );
    let retagged = apply(dir.path(), &["--stats"]);
    assert_ok(&retagged, "the retag");
    let calls = stderr(&retagged);
    assert!(!calls.contains("RunInstances"), "{calls}");
    assert!(!calls.contains("TerminateInstances"), "{calls}");
    let after = instances(&c).await;
    let now: Vec<_> = after
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .collect();
    let now_ids: Vec<String> = now
        .iter()
        .map(|i| i.instance_id().unwrap().to_owned())
        .collect();
    assert_eq!(now_ids.len(), 2);
    assert!(
        now_ids.iter().all(|id| ids.contains(id)),
        "the same instances"
    );
    for instance in &now {
        let tags = tags_of(instance.tags());
        assert_eq!(tags.get("team").map(String::as_str), Some("payments"));
        assert!(!tags.contains_key("cost-center"), "{tags:?}");
        assert_eq!(tags.get("service").map(String::as_str), Some("www"));
    }
    let clean = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}

#[test]
fn reserved_tag_keys_are_refused() {
    let file = stack_file("launch-reserved", "1.0.0", 1, ROLLOUT).replace(
        "roles:\n",
        "tags: { \"aws:team\": x, \"rollstack:spec\": y }\nroles:\n",
    );
    let dir = support::scratch(&[
        ("stack.yaml", &file),
        ("web.sh.j2", support::web::USER_DATA),
    ]);
    let output = support::rollstack(dir.path(), &["validate", "stack.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("tag key `aws:team` is reserved"), "{err}");
    assert!(
        err.contains("tag key `rollstack:spec` is reserved"),
        "{err}"
    );
}

/// User data within 16 KB with placeholder outputs, over it with the real ones: the
/// apply that learns the outputs refuses the group before launching anything, and the
/// next plan says so up front.
#[tokio::test(flavor = "multi_thread")]
async fn user_data_that_outputs_make_too_large_is_refused_before_launch() {
    let name = "launch-bigdata";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let template = format!(
        "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\nOutputs:\n  Blob:\n    Value: \"{}\"\n",
        "x".repeat(17 * 1024)
    );
    std::fs::write(dir.path().join("blob.yaml"), template).unwrap();
    std::fs::write(
        dir.path().join("blob.sh.j2"),
        "#!/bin/sh\n# {{ outputs.blob.Blob }}\n",
    )
    .unwrap();
    let file = stack_file(name, "1.0.0", 1, ROLLOUT).replace("web.sh.j2", "blob.sh.j2")
        + "cloudformation:\n  blob:\n    template: blob.yaml\n";
    write(dir.path(), &file);
    let applied = apply(dir.path(), &[]);
    assert_eq!(applied.status.code(), Some(1));
    let err = stderr(&applied);
    assert!(err.contains("user data renders to"), "{err}");
    assert!(err.contains("AWS takes at most 16384"), "{err}");
    let launched = c
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
    assert!(launched.reservations().is_empty(), "nothing launched");
    let planned = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert_eq!(planned.status.code(), Some(1));
    assert!(
        stderr(&planned).contains("with the outputs it uses; AWS takes at most 16384"),
        "{}",
        stderr(&planned)
    );
}

/// Issue "Ready for a real AWS account", point 6: a zone out of the instance type moves
/// the launch to the group's other subnets, says so, and is not retried in place.
#[tokio::test(flavor = "multi_thread")]
async fn a_zone_without_capacity_sends_the_launch_to_the_other_subnets() {
    let name = "launch-capacity";
    let (c, _agent, dir) = setup(name, &["1.0.0"], &[]).await;
    let described = c
        .ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut subnets: Vec<String> = described
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_owned))
        .collect();
    subnets.sort();
    let (full, open) = (subnets[0].clone(), subnets[1].clone());
    write(
        dir.path(),
        &stack_file(name, "1.0.0", 3, ROLLOUT).replace(
            "releases:",
            &format!("network: {{ subnets: [{full}, {open}] }}\nreleases:"),
        ),
    );
    let proxy = support::FaultProxy::with("capacity", &["--match", &format!("SubnetId={full}")]);
    let out = proxy.rollstack(
        dir.path(),
        &[
            "apply",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "100ms",
            "--stats",
        ],
    );
    assert_ok(&out, "apply");
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        said.contains(&format!(
            "no `t3.micro` capacity in `{full}` (InsufficientInstanceCapacity): launching in the group's other subnets"
        )),
        "{said}"
    );
    // The refused batch, then its share in the open subnet (one or two calls): the SDK
    // did not retry the refusal in the same zone, as it would another 500, ten times.
    let attempts: u32 = stderr(&out)
        .lines()
        .find_map(|l| l.trim().strip_prefix("ec2:RunInstances "))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no RunInstances in the stats:\n{}", stderr(&out)));
    assert!(attempts <= 4, "{attempts} RunInstances attempts");
    let placed = c
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
    let in_subnets: Vec<Option<&str>> = placed
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| i.subnet_id())
        .collect();
    assert_eq!(in_subnets, vec![Some(open.as_str()); 3]);
    let plan = rollstack_aws(
        dir.path(),
        &["plan", "stack.yaml", "--detailed-exitcode"],
        &[],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
}
