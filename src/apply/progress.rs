//! Progress on stderr: a bar per group on a terminal, plain timestamped lines otherwise
//! (CI logs).

use std::time::SystemTime;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::Address;

/// Where progress goes.
#[derive(Clone)]
pub struct Progress {
    bars: Option<MultiProgress>,
}

impl Progress {
    /// Bars when `terminal`, lines otherwise.
    pub fn new(terminal: bool) -> Progress {
        Progress {
            bars: terminal.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// One event at `address`.
    pub fn line(&self, address: &Address, message: &str) {
        let text = format!("{address}: {message}");
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => eprintln!(
                "[{}] {text}",
                humantime::format_rfc3339_seconds(SystemTime::now())
            ),
        }
    }

    /// A bar for the rollout of group `address` to `total` instances.
    pub fn group(&self, address: &Address, total: u32) -> GroupProgress {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(u64::from(total)));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>20} [{bar:24}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(address.to_string());
            bar
        });
        GroupProgress {
            progress: self.clone(),
            address: address.clone(),
            bar,
        }
    }
}

/// Progress of one group's rollout.
pub struct GroupProgress {
    progress: Progress,
    address: Address,
    bar: Option<ProgressBar>,
}

impl GroupProgress {
    /// `current` of the target spec are healthy; `message` says what happens now.
    pub fn update(&self, current: u32, healthy: u32, message: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(u64::from(current));
                bar.set_message(format!("{healthy} healthy · {message}"));
            }
            None => self.progress.line(
                &self.address,
                &format!("{message} ({current} on the new spec, {healthy} healthy)"),
            ),
        }
    }

    /// An event worth its own line (a failure, a rollback).
    pub fn event(&self, message: &str) {
        self.progress.line(&self.address, message);
    }

    /// The rollout is over.
    pub fn finish(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(message.to_owned()),
            None => self.progress.line(&self.address, message),
        }
    }
}
