//! Live CloudFormation stacks, and their statuses as a type.

use std::collections::BTreeMap;
use std::fmt;

/// A live CloudFormation stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveCloudFormation {
    /// Stack name.
    pub name: String,
    /// Stack id.
    pub id: String,
    /// Its status.
    pub status: StackStatus,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Parameter values (`****` for `NoEcho` ones, as AWS reports them).
    pub parameters: BTreeMap<String, String>,
    /// Outputs.
    pub outputs: BTreeMap<String, String>,
    /// Template body.
    pub template: String,
}

macro_rules! stack_statuses {
    ($($variant:ident => $name:literal,)*) => {
        /// A CloudFormation stack's status, read once where AWS answers.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum StackStatus {
            $(
                #[doc = concat!("`", $name, "`.")]
                $variant,
            )*
        }

        impl StackStatus {
            /// CloudFormation's name of the status (`UPDATE_ROLLBACK_COMPLETE`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(StackStatus::$variant => $name,)*
                }
            }

            /// The status CloudFormation names `name`.
            pub fn parse(name: &str) -> Option<StackStatus> {
                match name {
                    $($name => Some(StackStatus::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

stack_statuses! {
    CreateInProgress => "CREATE_IN_PROGRESS",
    CreateFailed => "CREATE_FAILED",
    CreateComplete => "CREATE_COMPLETE",
    RollbackInProgress => "ROLLBACK_IN_PROGRESS",
    RollbackFailed => "ROLLBACK_FAILED",
    RollbackComplete => "ROLLBACK_COMPLETE",
    DeleteInProgress => "DELETE_IN_PROGRESS",
    DeleteFailed => "DELETE_FAILED",
    DeleteComplete => "DELETE_COMPLETE",
    UpdateInProgress => "UPDATE_IN_PROGRESS",
    UpdateCompleteCleanupInProgress => "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    UpdateComplete => "UPDATE_COMPLETE",
    UpdateFailed => "UPDATE_FAILED",
    UpdateRollbackInProgress => "UPDATE_ROLLBACK_IN_PROGRESS",
    UpdateRollbackFailed => "UPDATE_ROLLBACK_FAILED",
    UpdateRollbackCompleteCleanupInProgress => "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    UpdateRollbackComplete => "UPDATE_ROLLBACK_COMPLETE",
    ReviewInProgress => "REVIEW_IN_PROGRESS",
    ImportInProgress => "IMPORT_IN_PROGRESS",
    ImportComplete => "IMPORT_COMPLETE",
    ImportRollbackInProgress => "IMPORT_ROLLBACK_IN_PROGRESS",
    ImportRollbackFailed => "IMPORT_ROLLBACK_FAILED",
    ImportRollbackComplete => "IMPORT_ROLLBACK_COMPLETE",
}

impl StackStatus {
    /// An operation is running on the stack: wait for it to settle. A stack in review
    /// (made by a change set none has executed) is not one: it waits for nobody.
    pub fn is_in_progress(self) -> bool {
        self != StackStatus::ReviewInProgress && self.as_str().ends_with("_IN_PROGRESS")
    }

    /// The last operation succeeded: created, updated or imported, not rolled back.
    pub fn is_complete(self) -> bool {
        matches!(
            self,
            StackStatus::CreateComplete | StackStatus::UpdateComplete | StackStatus::ImportComplete
        )
    }

    /// Made by a change set none has executed: the stack does not exist so far, and has
    /// no template.
    pub fn is_in_review(self) -> bool {
        self == StackStatus::ReviewInProgress
    }
}

impl fmt::Display for StackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_by_name() {
        // (name, in progress, complete)
        let table = [
            ("CREATE_IN_PROGRESS", true, false),
            ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", true, false),
            ("UPDATE_ROLLBACK_IN_PROGRESS", true, false),
            ("DELETE_IN_PROGRESS", true, false),
            ("REVIEW_IN_PROGRESS", false, false),
            ("CREATE_COMPLETE", false, true),
            ("UPDATE_COMPLETE", false, true),
            ("ROLLBACK_COMPLETE", false, false),
            ("UPDATE_ROLLBACK_COMPLETE", false, false),
        ];
        for (name, in_progress, complete) in table {
            let status = StackStatus::parse(name).unwrap();
            assert_eq!(status.as_str(), name);
            assert_eq!(status.is_in_progress(), in_progress, "{name}");
            assert_eq!(status.is_complete(), complete, "{name}");
        }
        assert_eq!(StackStatus::parse("SOMETHING_NEW"), None);
    }
}
