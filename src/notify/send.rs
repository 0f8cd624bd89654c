//! Sending notifications: every webhook of an event at once, each bounded by the
//! stack's `notify.timeout`, so an event holds the apply at most that long. A webhook
//! that fails, answers other than 2xx or says nothing is a warning on stderr, never an
//! error of the apply.

use std::time::Duration;

use super::Notification;
use crate::model::notify::{Notify, Webhook, WebhookFormat, WebhookUrl};
use crate::plan::Redactor;

/// Sends the notifications of one stack's webhooks.
pub struct Notifier {
    client: Option<reqwest::Client>,
    timeout: Duration,
    webhooks: Vec<Webhook>,
}

impl Notifier {
    /// The notifier of `notify` (none: sends nothing).
    pub fn new(notify: Option<&Notify>) -> Notifier {
        let Some(notify) = notify.filter(|n| !n.webhooks.is_empty()) else {
            return Notifier {
                client: None,
                timeout: Duration::ZERO,
                webhooks: Vec::new(),
            };
        };
        Notifier {
            client: client(notify.timeout),
            timeout: notify.timeout,
            webhooks: notify.webhooks.clone(),
        }
    }

    /// Sends `notification` to every webhook that wants its event, sensitive values
    /// redacted; returns within the timeout whatever the webhooks do.
    pub async fn send(&self, notification: &Notification, redactor: &Redactor) {
        let Some(client) = &self.client else {
            return;
        };
        let wanted = self.webhooks.iter().filter(|w| w.wants(notification.event));
        let calls = wanted.map(|webhook| async move {
            if let Err(why) = post(client, webhook, notification, redactor).await {
                eprintln!(
                    "warning: webhook {} was not told `{}`: {}",
                    webhook.url.describe(),
                    notification.event.as_str(),
                    redactor.redact(&why)
                );
            }
        });
        // Each call has the client's timeout; this bounds the lot should one not keep it.
        let all = futures_util::future::join_all(calls);
        if tokio::time::timeout(self.timeout + Duration::from_millis(250), all)
            .await
            .is_err()
        {
            eprintln!(
                "warning: webhooks were not told `{}` within {}",
                notification.event.as_str(),
                humantime::format_duration(self.timeout)
            );
        }
    }
}

/// Gives rustls its process-wide crypto provider (aws-lc-rs, which the SDK already
/// builds), which every `reqwest` client needs; a second call changes nothing.
pub fn install_tls() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// An HTTP client whose every request ends within `timeout`, connecting included.
pub fn client(timeout: Duration) -> Option<reqwest::Client> {
    install_tls();
    match reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("rollstack/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => Some(client),
        Err(e) => {
            eprintln!("warning: webhooks are not told anything: no HTTP client ({e})");
            None
        }
    }
}

/// POSTs the notification to one webhook.
async fn post(
    client: &reqwest::Client,
    webhook: &Webhook,
    notification: &Notification,
    redactor: &Redactor,
) -> Result<(), String> {
    let url = match &webhook.url {
        WebhookUrl::Url(url) => url.clone(),
        WebhookUrl::FromEnv { from_env } => std::env::var(from_env)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("`{from_env}` is not set"))?,
    };
    let body = match webhook.format {
        WebhookFormat::Json => serde_json::to_string(notification),
        WebhookFormat::Slack => {
            serde_json::to_string(&serde_json::json!({ "text": notification.text() }))
        }
    }
    .map_err(|e| e.to_string())?;
    let answer = client
        .post(&url)
        .header("content-type", "application/json")
        .body(redactor.redact(&body))
        .send()
        .await
        // Without the URL: it may be the secret.
        .map_err(|e| describe(&e.without_url()))?;
    let status = answer.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("it answered HTTP {status}"))
    }
}

/// A request error as a sentence, its causes included.
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "it did not answer in time".to_owned()
    } else if error.is_connect() {
        "it could not be reached".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if causes.is_empty() {
        what
    } else {
        format!("{what} ({})", causes.join(": "))
    }
}
