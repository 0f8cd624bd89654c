//! `notify`: webhook URLs that can be sent to, a timeout that cannot hold an apply long.

use std::time::Duration;

use super::Checker;
use crate::load::raw::RawNotify;
use crate::model::notify::{Notify, WebhookUrl};

/// How long a webhook call may take unless the file says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// The most a webhook call may be given: a notification never holds a deploy longer.
const MAX_TIMEOUT: Duration = Duration::from_secs(30);

/// The model of `notify`.
pub(super) fn build(checker: &mut Checker, raw: &RawNotify) -> Notify {
    let timeout = raw.timeout.map_or(DEFAULT_TIMEOUT, |t| t.0);
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        checker.error_at_value(
            "notify.timeout",
            format!(
                "a webhook timeout of `{}` is out of range",
                humantime::format_duration(timeout)
            ),
            "more than `0s`, at most `30s`",
            Some(
                "a notification must never hold a deploy long: `3s` is plenty for a webhook"
                    .to_owned(),
            ),
        );
    }
    for (n, webhook) in raw.webhooks.iter().enumerate() {
        let path = format!("notify.webhooks[{n}].url");
        match &webhook.url {
            WebhookUrl::Url(url) => {
                let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
                if !scheme_ok || url.contains(char::is_whitespace) || url.contains("${") {
                    checker.error_at_value(
                        &path,
                        format!("`{url}` is not a webhook URL"),
                        "an `https://` (or `http://`) URL",
                        Some("a URL that is a secret (a Slack webhook is) belongs in the environment: `url: { from_env: SLACK_WEBHOOK_URL }`".to_owned()),
                    );
                }
            }
            WebhookUrl::FromEnv { from_env } => {
                let valid = from_env
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && from_env
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    checker.error_at_value(
                        &format!("{path}.from_env"),
                        format!("`{from_env}` is not an environment variable name"),
                        "`[A-Za-z_][A-Za-z0-9_]*`",
                        None,
                    );
                }
            }
        }
    }
    Notify {
        timeout,
        webhooks: raw.webhooks.clone(),
    }
}
