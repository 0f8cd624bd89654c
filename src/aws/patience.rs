//! Poll loops ride out AWS weather: a poll that fails with a passing problem
//! (throttling, a timeout, a 5xx, a lost connection) after the SDK's own retries is
//! tried again at the next poll, never taken as the rollout's failure; only a problem
//! that lasts [`PATIENCE`] is.

use std::time::{Duration, Instant};

use crate::aws::AwsError;

/// How long polls may keep failing with passing problems before the loop gives up.
pub const PATIENCE: Duration = Duration::from_secs(300);

/// The failed polls of one loop.
#[derive(Debug, Default)]
pub struct Patience {
    failing_since: Option<Instant>,
}

impl Patience {
    /// The poll's answer; `Ok(None)` to try again at the next poll; an error that does
    /// not pass (access denied, ...) or has lasted [`PATIENCE`] as it is.
    pub fn poll<T>(&mut self, result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
        match result {
            Ok(answer) => {
                self.failing_since = None;
                Ok(Some(answer))
            }
            Err(e) if e.is_passing() => {
                let since = *self.failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= PATIENCE {
                    Err(e)
                } else {
                    tracing::warn!("{e}; trying again at the next poll");
                    Ok(None)
                }
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled() -> AwsError {
        AwsError::Refused {
            operation: "DescribeInstances",
            code: "RequestLimitExceeded".to_owned(),
            message: "Request limit exceeded.".to_owned(),
            source: None,
        }
    }

    #[test]
    fn passing_problems_are_tried_again_and_others_are_not() {
        let mut patience = Patience::default();
        assert_eq!(patience.poll(Ok(1)).unwrap(), Some(1));
        assert_eq!(patience.poll::<u8>(Err(throttled())).unwrap(), None);
        let timeout = AwsError::Timeout {
            operation: "ListObjectsV2",
            endpoint: "`http://127.0.0.1:1`".to_owned(),
            last: None,
            source: None,
        };
        assert_eq!(patience.poll::<u8>(Err(timeout)).unwrap(), None);
        let denied = AwsError::Refused {
            operation: "DescribeInstances",
            code: "UnauthorizedOperation".to_owned(),
            message: "You are not authorized to perform this operation.".to_owned(),
            source: None,
        };
        assert!(patience.poll::<u8>(Err(denied)).is_err());
    }

    #[test]
    fn a_problem_that_lasts_is_given_up_on() {
        let mut patience = Patience {
            failing_since: Some(Instant::now() - PATIENCE),
        };
        assert!(patience.poll::<u8>(Err(throttled())).is_err());
    }
}
