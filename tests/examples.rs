//! The examples a newcomer runs first: the demo script, and the shop stack planned on a
//! local endpoint whose account is not the local endpoint's usual one.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};

use support::{root, stderr, stdout};

/// A local endpoint of its own, for account `account`; stopped when dropped.
struct OtherAccount {
    endpoint: String,
    child: std::process::Child,
}

impl OtherAccount {
    fn start(account: &str) -> OtherAccount {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mut child = Command::new(root().join(".venv/bin/python"))
            .arg(root().join("scripts/moto_harness.py"))
            .arg(port.to_string())
            .env("MOTO_ACCOUNT_ID", account)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto harness starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        OtherAccount {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        }
    }

    fn command(&self, program: &std::path::Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null());
        command
    }
}

impl Drop for OtherAccount {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `scripts/local-shop.py` reads the account from `sts:GetCallerIdentity`: on an
/// endpoint of another account, the shop stack it writes plans (its Ubuntu image is
/// looked up under that account).
#[test]
fn local_shop_plans_on_an_endpoint_of_another_account() {
    let account = "210987654321";
    let endpoint = OtherAccount::start(account);
    let dir = tempfile::tempdir().unwrap();
    for folder in ["files", "templates"] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        for entry in std::fs::read_dir(root().join("stacks").join(folder)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(
                entry.path(),
                dir.path().join(folder).join(entry.file_name()),
            )
            .unwrap();
        }
    }
    let shop = dir.path().join("shop.yaml");
    let made = endpoint
        .command(&root().join(".venv/bin/python"))
        .arg(root().join("scripts/local-shop.py"))
        .arg(&shop)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let text = std::fs::read_to_string(&shop).unwrap();
    assert!(text.contains(&format!("owner: \"{account}\"")), "{text}");

    let rollstack = std::path::PathBuf::from(env!("CARGO_BIN_EXE_rollstack"));
    let bootstrapped = endpoint
        .command(&rollstack)
        .args(["bootstrap", "shop.yaml", "--env", "prod"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(bootstrapped.status.success(), "{}", stderr(&bootstrapped));
    let planned = endpoint
        .command(&rollstack)
        .args(["plan", "shop.yaml", "--env", "prod"])
        .env("DB_PASSWORD", "local-only")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(planned.status.success(), "{}", stderr(&planned));
    assert!(
        stdout(&planned).contains(&format!("account `{account}`")),
        "{}",
        stdout(&planned)
    );
    assert!(
        !stderr(&planned).contains("warning:"),
        "{}",
        stderr(&planned)
    );
}

/// The demo a newcomer runs first makes its state bucket with `rollstack bootstrap`,
/// as `docs/real-aws.md` tells a real user to, so no command of it warns about the
/// bucket.
#[test]
fn the_demo_bootstraps_its_state_bucket_and_prints_no_bucket_warning() {
    let demo = Command::new(root().join("scripts/demo.sh"))
        .env("ROLLSTACK", env!("CARGO_BIN_EXE_rollstack"))
        .env("NO_COLOR", "1")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let all = format!("{}{}", stdout(&demo), stderr(&demo));
    assert!(demo.status.success(), "{all}");
    assert!(
        all.contains("rollstack bootstrap stacks/demo.yaml"),
        "the demo shows `rollstack bootstrap`: {all}"
    );
    assert!(
        !all.contains("warning: state bucket"),
        "a state-bucket warning: {all}"
    );
    assert!(
        all.contains("Created state bucket `demo-rollstack`"),
        "{all}"
    );
}
