//! Who the credentials are: the account a run changes, and the guard that keeps a
//! stack file to its own account.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The caller `sts:GetCallerIdentity` names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CallerIdentity {
    /// The AWS account id (12 digits).
    pub account: String,
    /// The caller's ARN (`arn:aws:sts::123456789012:assumed-role/ci/run-42`).
    pub arn: String,
}

impl CallerIdentity {
    /// `account 123456789012 as arn:...`, for headers and prompts.
    pub fn describe(&self) -> String {
        format!("account `{}` as `{}`", self.account, self.arn)
    }
}

/// The credentials are another account's than the stack file's `account_id`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the stack file is for account `{expected}`, and the credentials are account `{}` (`{}`)",
    .actual.account,
    .actual.arn
)]
pub struct WrongAccount {
    /// The file's `account_id`.
    pub expected: String,
    /// Who the credentials are.
    pub actual: CallerIdentity,
}

/// Refuses an identity of another account than `expected` (the file's `account_id`);
/// without one, any account is the file's.
pub fn check_account(expected: Option<&str>, actual: &CallerIdentity) -> Result<(), WrongAccount> {
    match expected {
        Some(expected) if expected != actual.account => Err(WrongAccount {
            expected: expected.to_owned(),
            actual: actual.clone(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(account: &str) -> CallerIdentity {
        CallerIdentity {
            account: account.to_owned(),
            arn: format!("arn:aws:sts::{account}:assumed-role/ci/run"),
        }
    }

    #[test]
    fn only_the_files_account_passes_the_guard() {
        let cases = [
            (None, "111111111111", true),
            (Some("111111111111"), "111111111111", true),
            (Some("111111111111"), "222222222222", false),
        ];
        for (expected, actual, passes) in cases {
            assert_eq!(
                check_account(expected, &caller(actual)).is_ok(),
                passes,
                "{expected:?} vs {actual}"
            );
        }
        let refused = check_account(Some("111111111111"), &caller("222222222222")).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the stack file is for account `111111111111`, and the credentials are account `222222222222` (`arn:aws:sts::222222222222:assumed-role/ci/run`)"
        );
    }
}
