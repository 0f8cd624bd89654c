//! Counts every AWS call, per operation, with an SDK interceptor: real attempts on the
//! wire (retries included), not estimates.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// Calls per operation, shared by every client of one [`super::Aws`].
#[derive(Clone, Debug, Default)]
pub struct CallStats {
    operations: Arc<Mutex<BTreeMap<String, OperationStats>>>,
    /// What the last failed attempt of each operation (`DescribeInstances`) met: a call
    /// that runs out of time says why its attempts failed.
    last_failures: Arc<Mutex<BTreeMap<String, String>>>,
}

/// Calls of one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OperationStats {
    /// Attempts sent.
    pub calls: u32,
    /// Attempts AWS answered with throttling (or `503 Service Unavailable`).
    pub throttled: u32,
    /// Time from sending to the response, summed over attempts.
    pub time: Duration,
    /// Time spent waiting for rollstack's own request budget before sending.
    pub waited: Duration,
}

impl CallStats {
    /// A snapshot: operation (`ec2:DescribeInstances`) -> calls.
    pub fn snapshot(&self) -> BTreeMap<String, OperationStats> {
        self.operations
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// What the last failed attempt of `operation` met, if one failed.
    pub fn last_failure(&self, operation: &str) -> Option<String> {
        self.last_failures.lock().ok()?.get(operation).cloned()
    }

    pub(super) fn interceptor(&self) -> CountCalls {
        CountCalls {
            stats: self.clone(),
        }
    }

    fn record(&self, operation: String, time: Duration, throttled: bool) {
        if let Ok(mut map) = self.operations.lock() {
            let entry = map.entry(operation).or_default();
            entry.calls += 1;
            entry.time += time;
            entry.throttled += u32::from(throttled);
        }
    }

    /// `operation` waited `time` for the request budget.
    pub(super) fn waited(&self, operation: &str, time: Duration) {
        if let Ok(mut map) = self.operations.lock() {
            map.entry(operation.to_owned()).or_default().waited += time;
        }
    }
}

/// The interceptor installed on every client.
#[derive(Debug)]
pub(super) struct CountCalls {
    stats: CallStats,
}

#[derive(Debug, Clone, Copy)]
struct SentAt(Instant);

impl Storable for SentAt {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "rollstack::CountCalls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(SentAt(Instant::now()));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut throttled = context
            .response()
            .is_some_and(|r| matches!(r.status().as_u16(), 429 | 503));
        if let (Some(Err(failure)), Some(metadata)) =
            (context.output_or_error(), cfg.load::<Metadata>())
            && let Ok(mut last) = self.stats.last_failures.lock()
        {
            let said = super::error::innermost(failure);
            throttled |= [
                "Throttl",
                "RequestLimitExceeded",
                "Rate exceeded",
                "SlowDown",
            ]
            .iter()
            .any(|t| said.contains(t));
            last.insert(metadata.name().to_owned(), said);
        }
        // An attempt that failed before transmitting never reached AWS.
        let Some(SentAt(sent)) = cfg.load::<SentAt>().copied() else {
            return Ok(());
        };
        let operation = cfg
            .load::<Metadata>()
            .map(|m| format!("{}:{}", service_prefix(m.service()), m.name()))
            .unwrap_or_else(|| "unknown".to_owned());
        self.stats.record(operation, sent.elapsed(), throttled);
        cfg.interceptor_state().unset::<SentAt>();
        Ok(())
    }
}

/// `ec2`, `s3`, `cloudformation`: the prefix IAM uses.
fn service_prefix(service: &str) -> String {
    service.to_ascii_lowercase().replace(' ', "")
}
