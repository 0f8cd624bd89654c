//! Static sites through the real binary against the local endpoint: a release of 50
//! files uploaded once under `releases/{version}/` with its types and cache headers,
//! flipped by copying the entry file to the root, kept to `keep`, rolled back without an
//! upload; unsafe archives and a changed version refused before anything is written.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use std::path::Path;

use support::web::assert_ok;
use support::{Clients, rollstack_aws, scratch, stderr, stdout};

fn stack_file(name: &str, version: &str) -> String {
    format!(
        r#"rollstack: 1
stack: {name}
region: us-east-1
state_bucket: {name}-state
releases: {{ bucket: {name}-releases }}
apps:
  frontend: {{ version: "{version}" }}
sites:
  web:
    app: frontend
    bucket: {name}-site
    flip: index
    entry: [index.html]
    cache:
      "*.html": no-cache
      "assets/**": "public, max-age=31536000, immutable"
    keep: 2
"#
    )
}

/// A gzipped tarball of `files` (path, contents), paths written as they are.
fn tarball(files: &[(String, String)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        let name = &mut header.as_gnu_mut().unwrap().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        builder.append(&header, contents.as_bytes()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// 50 files of `version`: `index.html`, `robots.txt`, 48 scripts; `changed` of the
/// scripts differ from the other versions'.
fn site(version: &str, changed: usize) -> Vec<(String, String)> {
    let mut files = vec![
        (
            "index.html".to_owned(),
            format!("<script src=\"/releases/{version}/assets/app-0.js\"></script>"),
        ),
        ("robots.txt".to_owned(), "User-agent: *\n".to_owned()),
    ];
    for n in 0..48 {
        let body = if n < changed {
            format!("console.log({n}, '{version}')")
        } else {
            format!("console.log({n})")
        };
        files.push((format!("assets/app-{n}.js"), body));
    }
    files
}

async fn setup(name: &str) -> (Clients, tempfile::TempDir) {
    let c = support::moto().clients().await;
    for bucket in ["state", "releases", "site"] {
        c.s3.create_bucket()
            .bucket(format!("{name}-{bucket}"))
            .send()
            .await
            .unwrap();
    }
    (c, scratch(&[]))
}

async fn release(c: &Clients, name: &str, version: &str, files: &[(String, String)]) {
    c.s3.put_object()
        .bucket(format!("{name}-releases"))
        .key(format!("frontend/{version}.tar.gz"))
        .body(tarball(files).into())
        .send()
        .await
        .unwrap();
}

fn write(dir: &Path, name: &str, version: &str) {
    std::fs::write(dir.join("stack.yaml"), stack_file(name, version)).unwrap();
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    rollstack_aws(dir, args, &[])
}

fn apply(dir: &Path) -> std::process::Output {
    let out = run(dir, &["apply", "stack.yaml", "--auto-approve"]);
    assert_ok(&out, "apply");
    out
}

/// Every key in the site's bucket with its ETag and last modification.
async fn objects(c: &Clients, name: &str) -> Vec<(String, String, String)> {
    let listed =
        c.s3.list_objects_v2()
            .bucket(format!("{name}-site"))
            .send()
            .await
            .unwrap();
    listed
        .contents()
        .iter()
        .map(|o| {
            (
                o.key().unwrap().to_owned(),
                o.e_tag().unwrap_or_default().to_owned(),
                o.last_modified().map(|t| t.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

fn versions(objects: &[(String, String, String)]) -> Vec<String> {
    let mut found: Vec<String> = objects
        .iter()
        .filter_map(|(k, _, _)| {
            k.strip_prefix("releases/")?
                .split('/')
                .next()
                .map(str::to_owned)
        })
        .collect();
    found.dedup();
    found
}

async fn served(c: &Clients, name: &str) -> (String, String) {
    let head =
        c.s3.head_object()
            .bucket(format!("{name}-site"))
            .key("index.html")
            .send()
            .await
            .unwrap();
    let release = head.metadata().unwrap()["rollstack-release"].clone();
    (release, head.cache_control().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_is_uploaded_once_flipped_kept_and_rolled_back() {
    let name = "site-flip";
    let (c, dir) = setup(name).await;
    let dir = dir.path();
    release(&c, name, "1.0.0", &site("1.0.0", 0)).await;
    release(&c, name, "1.1.0", &site("1.1.0", 3)).await;
    release(&c, name, "1.2.0", &site("1.2.0", 5)).await;
    write(dir, name, "1.0.0");

    let planned = run(dir, &["plan", "stack.yaml"]);
    assert_ok(&planned, "plan");
    let text = stdout(&planned);
    assert!(
        text.contains("+ site.web: frontend 1.0.0 (50 files,"),
        "{text}"
    );
    assert!(
        text.contains("+ upload 50 files under releases/1.0.0/"),
        "{text}"
    );
    apply(dir);
    let first = objects(&c, name).await;
    assert_eq!(first.len(), 51, "{first:?}");
    assert_eq!(versions(&first), ["1.0.0"]);
    assert_eq!(
        served(&c, name).await,
        ("1.0.0".to_owned(), "no-cache".to_owned())
    );
    let script =
        c.s3.head_object()
            .bucket(format!("{name}-site"))
            .key("releases/1.0.0/assets/app-7.js")
            .send()
            .await
            .unwrap();
    assert_eq!(
        script.content_type(),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        script.cache_control(),
        Some("public, max-age=31536000, immutable")
    );
    let clean = run(dir, &["plan", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    // 1.1.0: only its own prefix is written, and the flip points at it.
    write(dir, name, "1.1.0");
    let text = stdout(&run(dir, &["plan", "stack.yaml"]));
    assert!(
        text.contains("~ site.web: frontend 1.0.0 -> 1.1.0 (50 files,"),
        "{text}"
    );
    assert!(text.contains("; 4 new or changed since 1.0.0)"), "{text}");
    insta::assert_snapshot!("site_flip_plan", text);
    apply(dir);
    let second = objects(&c, name).await;
    for old in first
        .iter()
        .filter(|(k, _, _)| k.starts_with("releases/1.0.0/"))
    {
        assert!(second.contains(old), "{old:?} was rewritten");
    }
    assert_eq!(versions(&second), ["1.0.0", "1.1.0"]);
    assert_eq!(served(&c, name).await.0, "1.1.0");
    let status = run(dir, &["status", "stack.yaml"]);
    assert_ok(&status, "status");
    assert!(
        stdout(&status)
            .contains("site.web: serving 1.1.0 from site-flip-site (kept: 1.0.0, 1.1.0)"),
        "{}",
        stdout(&status)
    );

    // A third release with `keep: 2` leaves it and the previous one.
    write(dir, name, "1.2.0");
    let text = stdout(&run(dir, &["plan", "stack.yaml"]));
    assert!(
        text.contains("- delete release 1.0.0 (beyond `keep`)"),
        "{text}"
    );
    apply(dir);
    let third = objects(&c, name).await;
    assert_eq!(versions(&third), ["1.1.0", "1.2.0"]);
    assert_eq!(served(&c, name).await.0, "1.2.0");

    // Rollback flips back to 1.1.0 with nothing uploaded: with the bucket versioned,
    // every write would leave a version; only the copied entry file does.
    c.s3.put_bucket_versioning()
        .bucket(format!("{name}-site"))
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let before = written(&c, name).await;
    let rollback = run(dir, &["rollback", "stack.yaml", "--auto-approve"]);
    assert_ok(&rollback, "rollback");
    assert!(
        stderr(&rollback).contains("serving frontend 1.1.0 (0 uploaded)"),
        "{}",
        stderr(&rollback)
    );
    let after = objects(&c, name).await;
    for object in third.iter().filter(|(k, _, _)| k.starts_with("releases/")) {
        assert!(after.contains(object), "{object:?} was rewritten");
    }
    let mut new = written(&c, name).await;
    new.retain(|w| !before.contains(w));
    assert_eq!(
        new.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["index.html"]
    );
    assert_eq!(served(&c, name).await.0, "1.1.0");
}

/// Every (key, version id) written to the site's bucket since it was versioned.
async fn written(c: &Clients, name: &str) -> Vec<(String, String)> {
    let listed =
        c.s3.list_object_versions()
            .bucket(format!("{name}-site"))
            .send()
            .await
            .unwrap();
    listed
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap().to_owned(),
                v.version_id().unwrap_or("null").to_owned(),
            )
        })
        .filter(|(_, id)| id != "null")
        .collect()
}

/// The site's release records in the state bucket.
async fn records(c: &Clients, name: &str) -> Vec<String> {
    let listed =
        c.s3.list_objects_v2()
            .bucket(format!("{name}-state"))
            .prefix(format!("rollstack/{name}/default/sites/"))
            .send()
            .await
            .unwrap();
    listed
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_spares_recent_applies_and_destroy_deletes_only_what_rollstack_wrote() {
    let name = "site-keep";
    let (c, dir) = setup(name).await;
    let dir = dir.path();
    let all = ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"];
    for version in all {
        release(&c, name, version, &site(version, 1)).await;
    }
    let file = |version: &str| stack_file(name, version).replace("keep: 2", "keep: 3");
    let deploy = |version: &str| {
        std::fs::write(dir.join("stack.yaml"), file(version)).unwrap();
        apply(dir);
    };
    for version in &all[..3] {
        deploy(version);
    }
    // Apply 4 goes back to the release of apply 1.
    let rollback = run(
        dir,
        &["rollback", "stack.yaml", "--to", "1", "--auto-approve"],
    );
    assert_ok(&rollback, "rollback");
    assert_eq!(served(&c, name).await.0, "1.0.0");
    assert_ok(&run(dir, &["unfreeze", "stack.yaml"]), "unfreeze");
    deploy("1.3.0");
    assert_eq!(
        versions(&objects(&c, name).await),
        ["1.0.0", "1.2.0", "1.3.0"]
    );
    // The last three applies (4, 5 and this one) served 1.0.0, 1.3.0 and 1.4.0: the
    // newer 1.2.0 goes, 1.0.0 stays for `rollback --to 4`.
    std::fs::write(dir.join("stack.yaml"), file("1.4.0")).unwrap();
    let text = stdout(&run(dir, &["plan", "stack.yaml"]));
    assert!(
        text.contains("- delete release 1.2.0 (beyond `keep`)"),
        "{text}"
    );
    assert!(!text.contains("release 1.0.0"), "{text}");
    apply(dir);
    assert_eq!(
        versions(&objects(&c, name).await),
        ["1.0.0", "1.3.0", "1.4.0"]
    );

    // A site the file no longer has: what rollstack wrote is deleted, nothing else.
    for key in ["favicon.ico", "other/readme.txt"] {
        c.s3.put_object()
            .bucket(format!("{name}-site"))
            .key(key)
            .body(b"not rollstack's".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let without = file("1.4.0");
    let without = &without[..without.find("sites:").unwrap()];
    std::fs::write(dir.join("stack.yaml"), without).unwrap();
    let text = stdout(&run(dir, &["plan", "stack.yaml"]));
    insta::assert_snapshot!("site_removed_plan", text);
    std::fs::write(dir.join("stack.yaml"), file("1.4.0")).unwrap();
    let destroyed = run(dir, &["destroy", "stack.yaml", "--auto-approve"]);
    assert_ok(&destroyed, "destroy");
    let left: Vec<String> = objects(&c, name)
        .await
        .into_iter()
        .map(|(k, _, _)| k)
        .collect();
    assert_eq!(left, ["favicon.ico", "other/readme.txt"]);
    assert_eq!(records(&c, name).await, Vec::<String>::new());
    // Nothing is left to do: a second destroy writes nothing.
    let again = run(dir, &["destroy", "stack.yaml", "--auto-approve"]);
    assert_ok(&again, "destroy again");
    assert!(stdout(&again).contains("No changes"), "{}", stdout(&again));
}

#[tokio::test(flavor = "multi_thread")]
async fn unsafe_archives_and_a_changed_version_are_refused_before_any_upload() {
    let name = "site-refuse";
    let (c, dir) = setup(name).await;
    let dir = dir.path();
    write(dir, name, "1.0.0");
    for (path, says) in [
        ("../evil", "`../evil` leaves the release"),
        ("/etc/evil", "`/etc/evil` is an absolute path"),
    ] {
        let mut files = site("1.0.0", 0);
        files.push((path.to_owned(), "x".to_owned()));
        release(&c, name, "1.0.0", &files).await;
        let out = run(dir, &["apply", "stack.yaml", "--auto-approve"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert!(objects(&c, name).await.is_empty());
    }

    // A file left with other contents (an upload cut short, no file list recorded) is
    // checked, and stops the release; the files that match are not written again.
    c.s3.put_object()
        .bucket(format!("{name}-site"))
        .key("releases/1.0.0/assets/app-3.js")
        .body(b"stale".to_vec().into())
        .send()
        .await
        .unwrap();
    release(&c, name, "1.0.0", &site("1.0.0", 0)).await;
    let out = run(dir, &["apply", "stack.yaml", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was uploaded before with other contents in `assets/app-3.js`"),
        "{}",
        stderr(&out)
    );
    c.s3.delete_object()
        .bucket(format!("{name}-site"))
        .key("releases/1.0.0/assets/app-3.js")
        .send()
        .await
        .unwrap();
    let out = apply(dir);
    assert!(
        stderr(&out).contains("serving frontend 1.0.0 (1 uploaded)"),
        "{}",
        stderr(&out)
    );
    // The same version built again with one file changed.
    let mut files = site("1.0.0", 0);
    files[5].1.push_str("// rebuilt");
    let changed = files[5].0.clone();
    release(&c, name, "1.0.0", &files).await;
    let out = run(dir, &["plan", "stack.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "release frontend@1.0.0 was uploaded before with other contents in `{changed}`"
        )),
        "{}",
        stderr(&out)
    );

    // An entry file replaced by hand is drift, and the next apply writes it back.
    release(&c, name, "1.0.0", &site("1.0.0", 0)).await;
    c.s3.put_object()
        .bucket(format!("{name}-site"))
        .key("index.html")
        .body(b"hacked".to_vec().into())
        .send()
        .await
        .unwrap();
    let text = stdout(&run(dir, &["plan", "stack.yaml"]));
    assert!(
        text.contains("entry file `index.html` was changed outside rollstack"),
        "{text}"
    );
    apply(dir);
    assert_eq!(served(&c, name).await.0, "1.0.0");
    let clean = run(dir, &["plan", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}

/// A distribution with one origin, the site's bucket; its id.
async fn distribution(name: &str) -> (aws_sdk_cloudfront::Client, String) {
    use aws_sdk_cloudfront::types::{
        DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
        ViewerProtocolPolicy,
    };
    let config = support::moto().sdk_config().await;
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let origin = Origin::builder()
        .id("site")
        .domain_name(format!("{name}-site.s3.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .unwrap();
    let config = DistributionConfig::builder()
        .caller_reference(name)
        .comment("site")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("site")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let created = cloudfront
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    let id = created.distribution().unwrap().id().to_owned();
    (cloudfront, id)
}

async fn origin_path(cloudfront: &aws_sdk_cloudfront::Client, id: &str) -> String {
    let got = cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .unwrap();
    let config = got.distribution_config().unwrap();
    config.origins().unwrap().items()[0]
        .origin_path()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloudfront_flip_points_the_origin_at_the_release() {
    let name = "site-cdn";
    let (c, dir) = setup(name).await;
    let dir = dir.path();
    let (cloudfront, id) = distribution(name).await;
    release(&c, name, "1.0.0", &site("1.0.0", 0)).await;
    release(&c, name, "1.1.0", &site("1.1.0", 2)).await;
    let file = |version: &str| {
        stack_file(name, version).replace(
            "flip: index\n    entry: [index.html]\n",
            &format!("flip: cloudfront\n    distribution: {id}\n"),
        )
    };
    std::fs::write(dir.join("stack.yaml"), file("1.0.0")).unwrap();
    let text = stdout(&run(dir, &["plan", "stack.yaml"]));
    assert!(
        text.contains(&format!(
            "~ flip: origin path of distribution {id} -> /releases/1.0.0, then invalidate /*"
        )),
        "{text}"
    );
    apply(dir);
    assert_eq!(origin_path(&cloudfront, &id).await, "/releases/1.0.0");
    // Nothing is copied to the root: CloudFront serves the release's folder.
    assert!(
        objects(&c, name)
            .await
            .iter()
            .all(|(k, _, _)| k.starts_with("releases/1.0.0/"))
    );
    let clean = run(dir, &["plan", "stack.yaml", "--detailed-exitcode"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));

    std::fs::write(dir.join("stack.yaml"), file("1.1.0")).unwrap();
    apply(dir);
    assert_eq!(origin_path(&cloudfront, &id).await, "/releases/1.1.0");
    let invalidations = cloudfront
        .list_invalidations()
        .distribution_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(invalidations.invalidation_list().unwrap().quantity(), 2);

    // The origin path set by hand is drift; the next apply flips it back.
    let got = cloudfront
        .get_distribution_config()
        .id(&id)
        .send()
        .await
        .unwrap();
    let etag = got.e_tag().unwrap().to_owned();
    let mut config = got.distribution_config.unwrap();
    config.origins.as_mut().unwrap().items[0].origin_path = Some("/elsewhere".to_owned());
    cloudfront
        .update_distribution()
        .id(&id)
        .if_match(etag)
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    let text = stdout(&run(dir, &["plan", "stack.yaml"]));
    assert!(
        text.contains("was changed outside rollstack (`/elsewhere`)"),
        "{text}"
    );
    apply(dir);
    assert_eq!(origin_path(&cloudfront, &id).await, "/releases/1.1.0");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_during_bake_flips_back_and_freezes() {
    let name = "site-bake";
    let (c, dir) = setup(name).await;
    let dir = dir.path();
    let config = support::moto().sdk_config().await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    let alarm = format!("{name}-js-errors");
    cloudwatch
        .put_metric_alarm()
        .alarm_name(&alarm)
        .metric_name("JsErrors")
        .namespace("Site")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    release(&c, name, "1.0.0", &site("1.0.0", 0)).await;
    release(&c, name, "1.1.0", &site("1.1.0", 1)).await;
    let file = |version: &str, bake: &str| {
        stack_file(name, version).replace(
            "    keep: 2\n",
            &format!("    keep: 2\n    bake: {bake}\n    alarms: [{alarm}]\n"),
        )
    };
    std::fs::write(dir.join("stack.yaml"), file("1.0.0", "1s")).unwrap();
    apply(dir);
    assert_eq!(served(&c, name).await.0, "1.0.0");

    // 1.1.0 bakes for a minute; the alarm fires once it is served.
    std::fs::write(dir.join("stack.yaml"), file("1.1.0", "1m")).unwrap();
    let child = support::rollstack_aws_command(
        dir,
        &[
            "apply",
            "stack.yaml",
            "--auto-approve",
            "--poll-interval",
            "200ms",
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let started = std::time::Instant::now();
    while served(&c, name).await.0 != "1.1.0" {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "never flipped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    cloudwatch
        .set_alarm_state()
        .alarm_name(&alarm)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("12 errors in a minute")
        .send()
        .await
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("site.web: flipped back to 1.0.0: an alarm fired"),
        "{err}"
    );
    assert!(
        err.contains(&format!("alarm `{alarm}`: 12 errors in a minute")),
        "{err}"
    );
    assert_eq!(served(&c, name).await.0, "1.0.0");

    // Frozen, as after a group's automatic rollback.
    let planned = run(dir, &["plan", "stack.yaml"]);
    assert!(stdout(&planned).contains("Frozen:"), "{}", stdout(&planned));
}
