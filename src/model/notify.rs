//! Deploy notifications (`notify:`): webhooks told when an apply starts and ends, when a
//! rollout rolls back, and when an environment is frozen or unfrozen.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// The webhooks of a stack and how long each may take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify {
    /// How long one webhook call may take before it is given up (logged, never failing
    /// the apply).
    pub timeout: std::time::Duration,
    /// Where to send.
    pub webhooks: Vec<Webhook>,
}

/// One webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Where to `POST`: an `http(s)://` URL, or `{ from_env: NAME }` for one that is a
    /// secret (a Slack webhook URL is): read when sending, never shown or stored.
    pub url: WebhookUrl,
    /// What to send: `json` (rollstack's own payload, `docs/operations.md`) or `slack`
    /// (`{"text": ...}`, which Slack, Mattermost and Rocket.Chat read).
    #[serde(default)]
    pub format: WebhookFormat,
    /// The events to send (default: every one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
}

impl Webhook {
    /// Whether it wants `event`.
    pub fn wants(&self, event: Event) -> bool {
        self.events.is_empty() || self.events.contains(&event)
    }
}

/// Where a webhook is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum WebhookUrl {
    /// Written in the file (so in git, plans and history as written).
    Url(
        #[schemars(regex(pattern = r"^https?://[^\s]+$"))]
        String,
    ),
    /// Read from an environment variable when sending.
    FromEnv {
        /// The environment variable's name.
        #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
        from_env: String,
    },
}

impl WebhookUrl {
    /// How the webhook is named in logs: the URL's scheme and host, or the variable.
    pub fn describe(&self) -> String {
        match self {
            WebhookUrl::Url(url) => {
                let host = url
                    .split_once("://")
                    .map(|(scheme, rest)| {
                        format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest))
                    })
                    .unwrap_or_else(|| url.clone());
                format!("`{host}`")
            }
            WebhookUrl::FromEnv { from_env } => format!("`${from_env}`"),
        }
    }
}

impl<'de> Deserialize<'de> for WebhookUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FromEnv {
            from_env: String,
        }
        struct UrlVisitor;
        impl<'de> Visitor<'de> for UrlVisitor {
            type Value = WebhookUrl;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a URL, or `{ from_env: NAME }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WebhookUrl, E> {
                Ok(WebhookUrl::Url(v.to_owned()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<WebhookUrl, A::Error> {
                let env = FromEnv::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(WebhookUrl::FromEnv {
                    from_env: env.from_env,
                })
            }
        }
        deserializer.deserialize_any(UrlVisitor)
    }
}

/// What a webhook is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// rollstack's payload, `rollstack.notification/v1`.
    #[default]
    Json,
    /// `{"text": "..."}`: one line for a chat channel.
    Slack,
}

/// Something that happened to an environment.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// An apply (or rollback, destroy, `env up`) starts changing AWS.
    Started,
    /// It converged.
    Succeeded,
    /// It failed, halted or was interrupted; what converged stays.
    Failed,
    /// A rollout failed and was rolled back to the previous release.
    RolledBack,
    /// The environment was frozen (by hand, or after a rollback).
    Frozen,
    /// The freeze was lifted.
    Unfrozen,
}

impl Event {
    /// Its name in payloads and the stack file (`rolled_back`).
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Started => "started",
            Event::Succeeded => "succeeded",
            Event::Failed => "failed",
            Event::RolledBack => "rolled_back",
            Event::Frozen => "frozen",
            Event::Unfrozen => "unfrozen",
        }
    }
}
