//! rollstack's share of the account's EC2 request budget. EC2 throttles each API of an
//! account and region with a token bucket that every tool in the account shares
//! (published: non-mutating calls 100 tokens refilled 20 a second, mutating calls 50
//! refilled 5 a second, `RunInstances` 1,000 refilled 2 a second). rollstack keeps a
//! bucket of its own per API, sized to a share of the published one (`--request-share`,
//! default 50%), and waits for a token before it sends a call: a wide release paces
//! itself instead of spending other tools' budget. A call EC2 throttles anyway (another
//! tool spent the rest) halves that API's rate, which then recovers over a minute: the
//! poll cadence stretches instead of retrying harder.
//!
//! The wait happens in the HTTP layer (a wrapper around the SDK's HTTP client), so no
//! call, and no page of a listing, can skip it. It counts toward the attempt's timeout
//! (the EC2 client has no stalled-upload protection, which would take the wait for a
//! stall); an attempt that times out waiting took no token.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use super::CallStats;

/// rollstack's share of each EC2 bucket unless `--request-share` says otherwise.
pub const DEFAULT_SHARE: f64 = 0.5;

/// How long a throttled API's rate takes to recover from halving.
const RECOVERY: Duration = Duration::from_secs(60);

/// The bucket AWS publishes for EC2 API `action`: (tokens, refilled per second).
pub fn published(action: &str) -> (f64, f64) {
    if action == "RunInstances" {
        (1000.0, 2.0)
    } else if ["Describe", "Get", "List"]
        .iter()
        .any(|p| action.starts_with(p))
    {
        (100.0, 20.0)
    } else {
        (50.0, 5.0)
    }
}

/// One API's bucket.
#[derive(Debug)]
struct Bucket {
    capacity: f64,
    /// The rate it refills at when nothing was throttled.
    base: f64,
    /// The rate now: halved when EC2 throttles, recovering linearly over `RECOVERY`.
    rate: f64,
    /// Tokens now; below zero, the tokens promised to callers still waiting.
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.rate = (self.rate + self.base * elapsed / RECOVERY.as_secs_f64()).min(self.base);
        self.tokens = (self.tokens + self.rate * elapsed).min(self.capacity);
        self.at = now;
    }
}

/// The buckets of one rollstack run.
#[derive(Debug)]
pub struct Budget {
    share: f64,
    buckets: Mutex<BTreeMap<String, Bucket>>,
}

impl Budget {
    /// Buckets of `share` (0 to 1) of EC2's published ones.
    pub fn new(share: f64) -> Budget {
        Budget {
            share: share.clamp(0.01, 1.0),
            buckets: Mutex::new(BTreeMap::new()),
        }
    }

    /// Takes a token of EC2 API `action` as of `now` if one is there (zero); else how
    /// long until one is, taking nothing: a caller that gives up waiting (its attempt
    /// timed out) leaves no debt behind.
    pub fn try_take(&self, action: &str, now: Instant) -> Duration {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Duration::ZERO;
        };
        let bucket = buckets.entry(action.to_owned()).or_insert_with(|| {
            let (capacity, rate) = published(action);
            let capacity = (capacity * self.share).max(1.0);
            Bucket {
                capacity,
                base: rate * self.share,
                rate: rate * self.share,
                tokens: capacity,
                at: now,
            }
        });
        bucket.refill(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - bucket.tokens) / bucket.rate)
        }
    }

    /// Waits until a token of EC2 API `action` is taken; how long that was.
    pub async fn take(&self, action: &str) -> Duration {
        let started = Instant::now();
        loop {
            let wait = self.try_take(action, Instant::now());
            if wait.is_zero() {
                return started.elapsed();
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// EC2 throttled `action`: halve its rate (it recovers over a minute).
    pub fn throttled(&self, action: &str, now: Instant) {
        if let Ok(mut buckets) = self.buckets.lock()
            && let Some(bucket) = buckets.get_mut(action)
        {
            bucket.refill(now);
            bucket.rate = (bucket.rate / 2.0).max(bucket.base / 16.0);
        }
    }
}

/// The HTTPS client the SDK makes when none is given (hyper, rustls with aws-lc, the
/// proxy settings of the environment), made here to be wrapped.
pub(super) fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The SDK's HTTP client, with every EC2 call waiting for its token first.
pub(super) struct Budgeted {
    pub(super) inner: SharedHttpClient,
    pub(super) budget: Arc<Budget>,
    pub(super) stats: CallStats,
}

impl fmt::Debug for Budgeted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Budgeted")
    }
}

impl HttpClient for Budgeted {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BudgetedConnector {
            inner: self.inner.http_connector(settings, components),
            budget: self.budget.clone(),
            stats: self.stats.clone(),
        })
    }
}

struct BudgetedConnector {
    inner: SharedHttpConnector,
    budget: Arc<Budget>,
    stats: CallStats,
}

impl fmt::Debug for BudgetedConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BudgetedConnector")
    }
}

impl HttpConnector for BudgetedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, budget, stats) = (self.inner.clone(), self.budget.clone(), self.stats.clone());
        HttpConnectorFuture::new(async move {
            let Some(action) = ec2_action(&request) else {
                return inner.call(request).await;
            };
            let waited = budget.take(&action).await;
            if !waited.is_zero() {
                stats.waited(&format!("ec2:{action}"), waited);
            }
            let response = inner.call(request).await?;
            // EC2 answers `RequestLimitExceeded` (and `Unavailable`) with a 503.
            if response.status().as_u16() == 503 {
                budget.throttled(&action, Instant::now());
            }
            Ok(response)
        })
    }
}

/// The EC2 API a request calls (`DescribeInstances`), read from its signature's scope
/// (`.../us-east-1/ec2/aws4_request`) and its form body; `None` for other services.
fn ec2_action(request: &HttpRequest) -> Option<String> {
    let authorization = request.headers().get("authorization")?;
    let scope = authorization.split("Credential=").nth(1)?;
    if scope.split('/').nth(3) != Some("ec2") {
        return None;
    }
    let body = std::str::from_utf8(request.body().bytes()?).ok()?;
    body.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(wait: Duration) -> u64 {
        (wait.as_secs_f64() * 1000.0).round() as u64
    }

    #[test]
    fn buckets_are_a_share_of_the_published_ones() {
        assert_eq!(published("DescribeInstances"), (100.0, 20.0));
        assert_eq!(published("TerminateInstances"), (50.0, 5.0));
        assert_eq!(published("RunInstances"), (1000.0, 2.0));
        let start = Instant::now();
        let budget = Budget::new(0.5);
        // 25 of a mutating API's 50 tokens at once, then one every 0.4 s (2.5 a second).
        for _ in 0..25 {
            assert_eq!(ms(budget.try_take("TerminateInstances", start)), 0);
        }
        // Empty: the next token in 0.4 s, and nothing is taken meanwhile.
        assert_eq!(ms(budget.try_take("TerminateInstances", start)), 400);
        assert_eq!(ms(budget.try_take("TerminateInstances", start)), 400);
        // Another API has its own bucket.
        assert_eq!(ms(budget.try_take("DescribeInstances", start)), 0);
        // A second later 2.5 tokens came back: two are taken, then half a token is 0.2 s
        // short of the next.
        let later = start + Duration::from_secs(1);
        assert_eq!(ms(budget.try_take("TerminateInstances", later)), 0);
        assert_eq!(ms(budget.try_take("TerminateInstances", later)), 0);
        assert_eq!(ms(budget.try_take("TerminateInstances", later)), 200);
    }

    #[test]
    fn a_throttled_api_slows_down_and_recovers() {
        let start = Instant::now();
        let budget = Budget::new(1.0);
        for _ in 0..50 {
            budget.try_take("CreateTags", start);
        }
        budget.throttled("CreateTags", start);
        // 2.5 a second now, not 5.
        assert_eq!(ms(budget.try_take("CreateTags", start)), 400);
        // A minute on, it is back to 5 a second.
        let later = start + RECOVERY + Duration::from_secs(20);
        for _ in 0..50 {
            budget.try_take("CreateTags", later);
        }
        assert_eq!(ms(budget.try_take("CreateTags", later)), 200);
    }
}
