//! Apps that are container images in ECR, through the real binary against the local
//! endpoint: a tag resolved to its digest in the plan and in the instances' user data,
//! the tag pushed again with another image, a missing tag, a pinned `sha256:` digest,
//! and the policies that read and pull them.

mod support;

use std::path::Path;

use support::web::{assert_ok, running, user_data};
use support::{Clients, rollstack_aws, scratch, stderr, stdout};

const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// Logs in to the registry and runs the image by digest under systemd, as
/// `docs/container-images.md` shows.
const USER_DATA: &str = r#"#!/bin/sh
aws ecr get-login-password --region {{ region }} | docker login --username AWS --password-stdin {{ apps.api.registry }}
docker pull {{ apps.api.image_ref }}
# tag {{ apps.api.version }} of {{ apps.api.image }} is {{ apps.api.digest }}
"#;

fn stack_file(name: &str, version: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {name}
region: us-east-1
state_bucket: {name}-state
apps:
  api:
    image: {REGISTRY}/{name}
    version: "{version}"
roles:
  api: {{ app: api, health: {{ running: {{}} }} }}
groups:
  api:
    roles: [api]
    count: 2
    image: ami-0abc1234
    instance_type: t3.micro
    user_data: api.sh.j2
    rollout: {{ max_surge: 1, max_unavailable: 0, health_timeout: 1m }}
"#
    )
}

/// Pushes an image whose one layer is `layer` with `tag`; returns its digest.
async fn push(ecr: &aws_sdk_ecr::Client, repository: &str, layer: &str, tag: &str) -> String {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": { "digest": format!("sha256:{layer}-config"), "size": 1 },
        "layers": [{ "digest": format!("sha256:{layer}"), "size": 1024 }],
    });
    let pushed = ecr
        .put_image()
        .repository_name(repository)
        .image_manifest(manifest.to_string())
        .image_tag(tag)
        .send()
        .await
        .unwrap();
    pushed
        .image()
        .and_then(|i| i.image_id())
        .and_then(|i| i.image_digest())
        .unwrap()
        .to_owned()
}

async fn setup(name: &str) -> (aws_sdk_ecr::Client, Clients, tempfile::TempDir) {
    let config = support::moto().sdk_config().await;
    let clients = support::moto().clients().await;
    clients
        .s3
        .create_bucket()
        .bucket(format!("{name}-state"))
        .send()
        .await
        .unwrap();
    let ecr = aws_sdk_ecr::Client::new(&config);
    ecr.create_repository()
        .repository_name(name)
        .send()
        .await
        .unwrap();
    (ecr, clients, scratch(&[("api.sh.j2", USER_DATA)]))
}

fn write(dir: &Path, name: &str, version: &str) {
    std::fs::write(dir.join("stack.yaml"), stack_file(name, version)).unwrap();
}

fn apply(dir: &Path) {
    let out = rollstack_aws(
        dir,
        &[
            "apply",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "200ms",
        ],
        &[],
    );
    assert_ok(&out, "apply");
}

/// The user data and `rollstack:images` tag of each running instance of stack `name`.
async fn fleet(c: &Clients, name: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for instance in running(c, name).await {
        let tag = instance
            .tags()
            .iter()
            .find(|t| t.key() == Some("rollstack:images"))
            .and_then(|t| t.value())
            .unwrap_or_default()
            .to_owned();
        found.push((user_data(c, instance.instance_id().unwrap()).await, tag));
    }
    found
}

fn plan(dir: &Path) -> std::process::Output {
    rollstack_aws(dir, &["plan", "stack.yaml", "--detailed-exitcode"], &[])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_runs_by_its_digest_and_a_tag_pushed_again_replaces() {
    let name = "img-tag";
    let (ecr, c, dir) = setup(name).await;
    let dir = dir.path();
    let first = push(&ecr, name, "layer-one", "2024.11.3").await;
    write(dir, name, "2024.11.3");

    let planned = rollstack_aws(dir, &["plan", "stack.yaml", "--format", "json"], &[]);
    assert_ok(&planned, "plan");
    let json: serde_json::Value = serde_json::from_str(&stdout(&planned)).unwrap();
    assert_eq!(json["container_images"]["api"]["digest"], first.as_str());
    let text = stdout(&plan(dir));
    let repository = format!("{REGISTRY}/{name}");
    assert!(
        text.contains(&format!("app.api: {repository}:2024.11.3 -> {first}")),
        "{text}"
    );
    let warning = format!("tags of `{repository}` are mutable");
    assert_eq!(text.matches(&warning).count(), 1, "{text}");

    apply(dir);
    let running = fleet(&c, name).await;
    assert_eq!(running.len(), 2);
    for (user_data, tag) in &running {
        assert!(
            user_data.contains(&format!("docker pull {repository}@{first}")),
            "{user_data}"
        );
        assert!(user_data.contains(&format!(
            "docker login --username AWS --password-stdin {REGISTRY}"
        )));
        assert_eq!(tag, &format!("api@{}", &first[..19]));
    }
    let clean = plan(dir);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    // The same tag, pushed again with another image: a replace, and why.
    let second = push(&ecr, name, "layer-two", "2024.11.3").await;
    assert_ne!(first, second);
    let replanned = plan(dir);
    assert_eq!(replanned.status.code(), Some(2), "{}", stderr(&replanned));
    let text = stdout(&replanned);
    assert!(
        text.contains("image digest changed for tag 2024.11.3"),
        "{text}"
    );
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\bi-[0-9a-f]{8,17}\b", "i-[id]");
    settings.bind(|| insta::assert_snapshot!("images_tag_pushed_again", text));
    apply(dir);
    for (user_data, _) in fleet(&c, name).await {
        assert!(user_data.contains(&format!("@{second}")), "{user_data}");
    }
    let clean = plan(dir);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    // A digest is used as is: back to the first image, with no tag to resolve.
    write(dir, name, &first);
    let pinned = plan(dir);
    assert_eq!(pinned.status.code(), Some(2), "{}", stderr(&pinned));
    assert!(
        !stdout(&pinned).contains("Container images:"),
        "{}",
        stdout(&pinned)
    );
    apply(dir);
    for (user_data, _) in fleet(&c, name).await {
        assert!(
            user_data.contains(&format!("docker pull {repository}@{first}")),
            "{user_data}"
        );
    }
    assert_eq!(plan(dir).status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_tag_or_repository_is_a_plan_error_with_a_hint() {
    let name = "img-missing";
    let (ecr, _, dir) = setup(name).await;
    let dir = dir.path();
    push(&ecr, name, "layer-m", "1.0.0").await;

    write(dir, name, "9.9.9");
    let planned = plan(dir);
    assert_eq!(planned.status.code(), Some(1));
    let err = stderr(&planned);
    assert!(
        err.contains("image tag `9.9.9` of app `api` not found in ECR"),
        "{err}"
    );
    assert!(
        err.contains(&format!("docker push {REGISTRY}/{name}:9.9.9")),
        "{err}"
    );

    let digest = format!("sha256:{}", "0".repeat(64));
    write(dir, name, &digest);
    let err = stderr(&plan(dir));
    assert!(
        err.contains(&format!("image `{REGISTRY}/{name}@{digest}`")),
        "{err}"
    );

    let text = stack_file(name, "1.0.0").replace(
        &format!("{REGISTRY}/{name}"),
        &format!("{REGISTRY}/img-nowhere"),
    );
    std::fs::write(dir.join("stack.yaml"), text).unwrap();
    let err = stderr(&plan(dir));
    assert!(err.contains("repository `123456789012.dkr.ecr.us-east-1.amazonaws.com/img-nowhere` of app `api` not found"), "{err}");
    assert!(
        err.contains("aws ecr create-repository --repository-name img-nowhere"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_immutable_repository_has_no_warning_and_policies_name_the_repository() {
    let name = "img-immutable";
    let (ecr, _, dir) = setup(name).await;
    let dir = dir.path();
    ecr.put_image_tag_mutability()
        .repository_name(name)
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
        .send()
        .await
        .unwrap();
    push(&ecr, name, "layer-i", "1.0.0").await;
    write(dir, name, "1.0.0");
    let text = stdout(&plan(dir));
    assert!(text.contains("Container images:"), "{text}");
    assert!(!text.contains("are mutable"), "{text}");

    let arn = format!("arn:aws:ecr:us-east-1:123456789012:repository/{name}");
    let policy = |purpose: &str| {
        let out = rollstack_aws(dir, &["iam-policy", "stack.yaml", "--for", purpose], &[]);
        assert_ok(&out, "iam-policy");
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let statement = |policy: &serde_json::Value, sid: &str| {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned()
            .unwrap_or_else(|| panic!("no statement {sid} in {policy}"))
    };
    let instance = policy("instance");
    let pulls = statement(&instance, "PullContainerImages");
    assert_eq!(pulls["Resource"], serde_json::json!([arn]));
    assert_eq!(
        statement(&instance, "LogInToEcr")["Action"],
        serde_json::json!(["ecr:GetAuthorizationToken"])
    );
    let reads = statement(&policy("plan"), "ReadContainerImages");
    assert_eq!(
        reads["Action"],
        serde_json::json!(["ecr:BatchGetImage", "ecr:DescribeRepositories"])
    );
    assert_eq!(reads["Resource"], serde_json::json!([arn]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_and_a_rollback_launch_the_digests_they_were_made_with() {
    let name = "img-exact";
    let (ecr, c, dir) = setup(name).await;
    let dir = dir.path();
    let repository = format!("{REGISTRY}/{name}");
    let first = push(&ecr, name, "layer-e1", "stable").await;
    write(dir, name, "stable");
    apply(dir);

    // Planned at the tag's second image; applied after a third was pushed under it.
    let second = push(&ecr, name, "layer-e2", "stable").await;
    let saved = rollstack_aws(dir, &["plan", "stack.yaml", "--out", "plan.json"], &[]);
    assert_ok(&saved, "plan --out");
    let third = push(&ecr, name, "layer-e3", "stable").await;
    let applied = rollstack_aws(
        dir,
        &[
            "apply",
            "plan.json",
            "--auto-approve",
            "--poll-interval",
            "200ms",
        ],
        &[],
    );
    assert_ok(&applied, "apply plan.json");
    for (user_data, _) in fleet(&c, name).await {
        assert!(
            user_data.contains(&format!("{repository}@{second}")),
            "{user_data}"
        );
    }
    let text = stdout(&plan(dir));
    assert!(text.contains(&format!("-> {third}")), "{text}");
    assert!(
        text.contains("image digest changed for tag stable"),
        "{text}"
    );

    // A rollback runs the digest the entry launched, not what the tag names now.
    let rollback = rollstack_aws(
        dir,
        &[
            "rollback",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "200ms",
        ],
        &[],
    );
    assert_ok(&rollback, "rollback");
    for (user_data, _) in fleet(&c, name).await {
        assert!(
            user_data.contains(&format!("{repository}@{first}")),
            "{user_data}"
        );
    }
}
