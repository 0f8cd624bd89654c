//! Every record rollstack keeps in an environment's state bucket, and its reads and
//! writes: the lock ([`lock`]), apply history ([`history`]), the freeze ([`freeze`]), the
//! instances' readiness signals ([`signals`]), the outputs other stacks read ([`outputs`]); and the expiry of an `env up`
//! environment ([`expiry`], kept as tags on its resources). Keys are
//! [`crate::observe::state_keys`]; `docs/state.md` describes each record's key and JSON.
//! A new record is one new file here.

pub mod expiry;
pub mod freeze;
pub mod history;
pub mod jobs;
pub mod lock;
pub mod outputs;
pub mod signals;
pub mod sites;

use std::time::SystemTime;

/// `user@host` of this process.
pub fn identity() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .or_else(|| {
            let out = std::process::Command::new("id").arg("-un").output().ok()?;
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".to_owned());
    format!("{user}@{host}")
}

/// RFC 3339, seconds.
pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}
