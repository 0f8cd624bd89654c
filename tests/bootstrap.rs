//! `rollstack bootstrap`: the state bucket made versioned, encrypted and private, run
//! again without change; an existing bucket checked, and fixed only with `--fix`; and
//! the plan's warning about a bucket that is not.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

use support::{Clients, rollstack_aws, scratch, stderr, stdout};

fn stack(name: &str) -> String {
    format!("rollstack: 1\nstack: {name}\nregion: us-east-1\nstate_bucket: {name}-state\n")
}

/// Asserts `bucket` is versioned, encrypted by default and fully private.
async fn assert_ready(c: &Clients, bucket: &str) {
    let versioning =
        c.s3.get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let encryption =
        c.s3.get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    assert!(
        !encryption
            .server_side_encryption_configuration()
            .unwrap()
            .rules()
            .is_empty()
    );
    let block =
        c.s3.get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(block.block_public_acls(), Some(true));
    assert_eq!(block.ignore_public_acls(), Some(true));
    assert_eq!(block.block_public_policy(), Some(true));
    assert_eq!(block.restrict_public_buckets(), Some(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_makes_a_ready_bucket_and_changes_nothing_the_second_time() {
    let name = "boot-new";
    let c = support::moto().clients().await;
    let dir = scratch(&[("stack.yaml", &stack(name))]);
    let first = rollstack_aws(dir.path(), &["bootstrap", "stack.yaml"], &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("Created state bucket"),
        "{}",
        stdout(&first)
    );
    assert_ready(&c, &format!("{name}-state")).await;
    let tags =
        c.s3.get_bucket_tagging()
            .bucket(format!("{name}-state"))
            .send()
            .await
            .unwrap();
    assert!(
        tags.tag_set()
            .iter()
            .any(|t| t.key() == "rollstack:stack" && t.value() == name)
    );
    let again = rollstack_aws(dir.path(), &["bootstrap", "stack.yaml", "--stats"], &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("nothing to change"),
        "{}",
        stdout(&again)
    );
    assert!(!stderr(&again).contains("s3:Put"), "{}", stderr(&again));
    assert!(!stderr(&again).contains("s3:Create"), "{}", stderr(&again));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_bucket_is_checked_and_fixed_only_when_asked() {
    let name = "boot-old";
    let c = support::moto().clients().await;
    c.s3.create_bucket()
        .bucket(format!("{name}-state"))
        .send()
        .await
        .unwrap();
    let dir = scratch(&[("stack.yaml", &stack(name))]);

    let planned = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert!(planned.status.success(), "{}", stderr(&planned));
    assert_eq!(
        stderr(&planned).matches("warning: state bucket").count(),
        1,
        "{}",
        stderr(&planned)
    );

    let checked = rollstack_aws(dir.path(), &["bootstrap", "stack.yaml"], &[]);
    assert_eq!(checked.status.code(), Some(1));
    let err = stderr(&checked);
    for gap in [
        "versioning is not enabled",
        "no default encryption",
        "public access blocks",
    ] {
        assert!(err.contains(gap), "{err}");
    }
    assert!(err.contains("--fix"), "{err}");

    let fixed = rollstack_aws(dir.path(), &["bootstrap", "stack.yaml", "--fix"], &[]);
    assert!(fixed.status.success(), "{}", stderr(&fixed));
    assert_ready(&c, &format!("{name}-state")).await;
    let planned = rollstack_aws(dir.path(), &["plan", "stack.yaml"], &[]);
    assert!(
        !stderr(&planned).contains("warning"),
        "{}",
        stderr(&planned)
    );
}
