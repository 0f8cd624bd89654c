//! Test support: a real local AWS endpoint (moto server) and the rollstack binary.
//!
//! One moto server per test binary, started on first use on a free 127.0.0.1 port and
//! stopped when the test process exits (the harness script watches its parent). Tests
//! keep apart by using their own stack names.

#![allow(dead_code)]

pub mod hooks;
pub mod seed;
pub mod web;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the rollstack binary with `args` in `dir`, without colour.
pub fn rollstack(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollstack"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null())
        .output()
        .expect("the rollstack binary runs")
}

/// Runs the rollstack binary with `args` in `dir` against the local endpoint, with test
/// credentials and the extra environment `vars`.
pub fn rollstack_aws(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    rollstack_aws_command(dir, args)
        .envs(vars.iter().copied())
        .output()
        .expect("the rollstack binary runs")
}

/// stdout of `output` as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr of `output` as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A CloudFormation template of a queue whose one output gives back its parameter
/// (`Given`): a stack's way to show the value a parameter was given.
pub const ECHO: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Given:
    Type: String
Resources:
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  Given:
    Value: !Ref Given
"#;

/// A scratch directory holding `files` (path, contents).
pub fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The harness process; it stops the server when this test process exits.
    _harness: Child,
}

/// The moto server of this test binary, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start_moto)
}

fn start_moto() -> Moto {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "moto is not installed: run `scripts/setup-moto.sh` (or `scripts/test.sh`)"
    );
    let mut last_error = String::new();
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(&python)
            .arg(root().join("scripts/moto_harness.py"))
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto harness starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        let _ = BufReader::new(stdout).read_line(&mut line);
        if line.trim() == "ready" && wait_until_answers(port) {
            return Moto {
                endpoint: format!("http://127.0.0.1:{port}"),
                _harness: child,
            };
        }
        last_error = format!("moto did not start on port {port}");
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("{last_error}");
}

fn wait_until_answers(port: u16) -> bool {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

impl Moto {
    /// An AWS SDK configuration pointing at this server, with test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "rollstack-tests",
            ))
            .load()
            .await
    }

    /// EC2, S3 and CloudFormation clients for this server.
    pub async fn clients(&self) -> Clients {
        let config = self.sdk_config().await;
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        Clients {
            ec2: aws_sdk_ec2::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
        }
    }
}

/// SDK clients for the local endpoint.
pub struct Clients {
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
    /// S3 (path-style).
    pub s3: aws_sdk_s3::Client,
    /// CloudFormation.
    pub cloudformation: aws_sdk_cloudformation::Client,
}

/// The rollstack binary as a command against the local endpoint, for tests that need
/// the process itself (to kill it).
pub fn rollstack_aws_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollstack"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", &moto().endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null());
    command
}

/// The test-side instance agent (`scripts/instance-agent.py`): writes the readiness
/// signal of every running instance of `stack`, `fail` for the releases in `fail`.
/// Stopped when dropped.
pub struct Agent(Child);

impl Agent {
    /// Starts the agent for `stack` with state bucket `bucket`.
    pub fn start(stack: &str, bucket: &str, fail: &[&str]) -> Agent {
        Agent::serving(stack, bucket, fail, &[])
    }

    /// Starts the agent, also answering HTTP health checks on `{private_ip}:PORT` for
    /// each port of `http` (the instances' subnets must be inside 127.0.0.0/8).
    pub fn serving(stack: &str, bucket: &str, fail: &[&str], http: &[u16]) -> Agent {
        let mut options: Vec<String> = Vec::new();
        for release in fail {
            options.extend(["--fail".to_owned(), (*release).to_owned()]);
        }
        for port in http {
            options.extend(["--http".to_owned(), port.to_string()]);
        }
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        Agent::with(stack, bucket, &options)
    }

    /// Starts the agent with the agent's own `options` (`--mute-jobs`, ...).
    pub fn with(stack: &str, bucket: &str, options: &[&str]) -> Agent {
        let mut command = Command::new(root().join(".venv/bin/python"));
        command
            .arg(root().join("scripts/instance-agent.py"))
            .arg(stack)
            .arg(bucket)
            .env("AWS_ENDPOINT_URL", &moto().endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args(options)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Agent(command.spawn().expect("the instance agent starts"))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fault-injecting proxy (`scripts/fault_proxy.py`) in front of this binary's moto
/// server: `kind` faults at `rate`, seeded. Stopped when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    child: Child,
}

impl FaultProxy {
    /// Starts a proxy injecting `kind` (`throttle`, `error`, `reset`, `lost`, `silent`)
    /// into `rate` of the requests.
    pub fn start(kind: &str, rate: f64, seed: u64) -> FaultProxy {
        let (rate, seed) = (rate.to_string(), seed.to_string());
        FaultProxy::with(kind, &["--rate", &rate, "--seed", &seed])
    }

    /// Starts a proxy injecting `kind` with the proxy's own `options` (`--match TEXT`,
    /// `--times N`, ...).
    pub fn with(kind: &str, options: &[&str]) -> FaultProxy {
        let upstream = moto().endpoint.rsplit(':').next().unwrap().to_owned();
        let mut child = Command::new(root().join(".venv/bin/python"))
            .arg(root().join("scripts/fault_proxy.py"))
            .arg(&upstream)
            .args(["--kind", kind])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the fault proxy starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the fault proxy did not start: {line:?}"));
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        }
    }

    /// The rollstack binary with `args` in `dir`, through this proxy.
    pub fn rollstack(&self, dir: &Path, args: &[&str]) -> Output {
        rollstack_aws_command(dir, args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .output()
            .expect("the rollstack binary runs")
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
