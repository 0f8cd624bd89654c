//! Live CloudFormation stacks, and their statuses as a type; which described stacks are
//! live, and which of them are ours.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ForeignKind, ForeignResource, Query, owned_by, tags};

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

/// One resource change of a CloudFormation change set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceChange {
    /// What happens to the resource.
    pub action: ChangeAction,
    /// Logical id in the template.
    pub logical_id: String,
    /// Resource type (`AWS::RDS::DBInstance`).
    pub resource_type: String,
    /// Whether a `Modify` replaces it, where CloudFormation reports it.
    pub replacement: Option<Replacement>,
}

/// What a change set does to one resource, by CloudFormation's name for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ChangeAction {
    /// `Add`.
    Add,
    /// `Modify`.
    Modify,
    /// `Remove`.
    Remove,
    /// `Import`.
    Import,
    /// `Dynamic`: decided while the change set executes.
    Dynamic,
    /// `SyncWithActual`: brought back to what the template says (a drift-aware change
    /// set).
    SyncWithActual,
}

impl ChangeAction {
    /// Every action, in CloudFormation's order.
    pub const ALL: [ChangeAction; 6] = [
        ChangeAction::Add,
        ChangeAction::Modify,
        ChangeAction::Remove,
        ChangeAction::Import,
        ChangeAction::Dynamic,
        ChangeAction::SyncWithActual,
    ];

    /// CloudFormation's name of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Add => "Add",
            ChangeAction::Modify => "Modify",
            ChangeAction::Remove => "Remove",
            ChangeAction::Import => "Import",
            ChangeAction::Dynamic => "Dynamic",
            ChangeAction::SyncWithActual => "SyncWithActual",
        }
    }

    /// The action CloudFormation names `name`.
    pub fn parse(name: &str) -> Option<ChangeAction> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// Whether CloudFormation replaces a resource it modifies, by its name for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Replacement {
    /// `True`: replaced.
    True,
    /// `False`: changed in place.
    False,
    /// `Conditional`: replaced or not, depending on values known only at execution.
    Conditional,
}

impl Replacement {
    /// The replacement CloudFormation names `name`.
    pub fn parse(name: &str) -> Option<Replacement> {
        match name {
            "True" => Some(Replacement::True),
            "False" => Some(Replacement::False),
            "Conditional" => Some(Replacement::Conditional),
            _ => None,
        }
    }
}

/// A stack as `DescribeStacks` lists it, before what it is to rollstack is decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribedStack {
    /// Stack name.
    pub name: String,
    /// Stack id.
    pub id: String,
    /// Its status.
    pub status: StackStatus,
    /// The stack's own tags.
    pub tags: BTreeMap<String, String>,
    /// Parameter values.
    pub parameters: BTreeMap<String, String>,
    /// Outputs.
    pub outputs: BTreeMap<String, String>,
    /// When it was created (RFC 3339), where AWS says.
    pub created: Option<String>,
    /// The tags of its change sets, read only for a stack that
    /// [needs them](DescribedStack::needs_change_set_tags).
    pub change_set_tags: Vec<BTreeMap<String, String>>,
}

impl DescribedStack {
    /// Whether the stack exists. AWS describes a deleted stack only by its unique id,
    /// but an endpoint that lists one must not make a destroyed node look live, nor its
    /// name look taken.
    pub fn is_live(&self) -> bool {
        !self.status.is_deleted()
    }

    /// Whether who owns it can only be read from its change sets: a stack in review
    /// without rollstack's tags. AWS shows the stack a CREATE change set makes with no
    /// tags until the change set executes; the tags are the change set's.
    pub fn needs_change_set_tags(&self) -> bool {
        self.is_live() && self.status.is_in_review() && !self.tags.contains_key(tags::STACK)
    }

    /// The tags its ownership is read from: its own, or, for a stack in review that
    /// has none of rollstack's, those of its change set that carries them. A review
    /// stack whose change sets are not rollstack's keeps its own (none).
    pub fn ownership_tags(&self) -> &BTreeMap<String, String> {
        if self.needs_change_set_tags()
            && let Some(tags) = self
                .change_set_tags
                .iter()
                .find(|t| t.contains_key(tags::STACK))
        {
            return tags;
        }
        &self.tags
    }

    /// Whether it is live and `stack`/`env` own it.
    pub fn is_owned_by(&self, stack: &str, env: &str) -> bool {
        self.is_live() && owned_by(self.ownership_tags(), stack, env)
    }
}

/// The live stacks `query`'s environment owns (their templates still to read), and the
/// live ones of another owner that have a name the file wants.
pub fn sort_stacks(
    described: Vec<DescribedStack>,
    query: &Query,
) -> (Vec<LiveCloudFormation>, Vec<ForeignResource>) {
    let mut owned = Vec::new();
    let mut foreign = Vec::new();
    for stack in described {
        if !stack.is_live() {
            continue;
        }
        if stack.is_owned_by(&query.stack, &query.env) && stack.name.starts_with(&query.name_prefix)
        {
            owned.push(LiveCloudFormation {
                tags: stack.ownership_tags().clone(),
                name: stack.name,
                id: stack.id,
                status: stack.status,
                parameters: stack.parameters,
                outputs: stack.outputs,
                template: String::new(),
            });
        } else if query.cloudformation_names.contains(&stack.name) {
            foreign.push(ForeignResource {
                kind: ForeignKind::CloudFormationStack,
                name: stack.name,
                id: stack.id,
                vpc: None,
            });
        }
    }
    (owned, foreign)
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

    /// Deleted: not a stack any more, whoever still describes it.
    pub fn is_deleted(self) -> bool {
        self == StackStatus::DeleteComplete
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

    fn described(name: &str, status: &str, tags: &[(&str, &str)]) -> DescribedStack {
        DescribedStack {
            name: name.to_owned(),
            id: format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/1"),
            status: StackStatus::parse(status).unwrap(),
            tags: owned_tags(tags),
            parameters: BTreeMap::new(),
            outputs: BTreeMap::new(),
            created: None,
            change_set_tags: Vec::new(),
        }
    }

    fn owned_tags(tags: &[(&str, &str)]) -> BTreeMap<String, String> {
        tags.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const OURS: &[(&str, &str)] = &[("rollstack:stack", "shop"), ("rollstack:env", "prod")];

    fn query() -> Query {
        Query {
            stack: "shop".to_owned(),
            env: "prod".to_owned(),
            name_prefix: "shop-prod-".to_owned(),
            cloudformation_names: vec!["shop-prod-db".to_owned()],
            ..Query::default()
        }
    }

    /// (what was described, owned names, foreign names)
    #[test]
    fn which_described_stacks_are_live_and_ours() {
        let with_change_set = |mut s: DescribedStack, tags: &[(&str, &str)]| {
            s.change_set_tags.push(owned_tags(tags));
            s
        };
        let other_owner: &[(&str, &str)] = &[("rollstack:stack", "shop"), ("rollstack:env", "dev")];
        let table: Vec<(DescribedStack, &[&str], &[&str])> = vec![
            (
                described("shop-prod-db", "CREATE_COMPLETE", OURS),
                &["shop-prod-db"],
                &[],
            ),
            (
                described("shop-prod-db", "CREATE_COMPLETE", &[("team", "data")]),
                &[],
                &["shop-prod-db"],
            ),
            // Deleted: neither a live node nor a name taken.
            (described("shop-prod-db", "DELETE_COMPLETE", OURS), &[], &[]),
            (described("shop-prod-db", "DELETE_COMPLETE", &[]), &[], &[]),
            // In review, untagged as AWS shows it: the change set's tags decide.
            (
                with_change_set(described("shop-prod-db", "REVIEW_IN_PROGRESS", &[]), OURS),
                &["shop-prod-db"],
                &[],
            ),
            (
                with_change_set(
                    described("shop-prod-db", "REVIEW_IN_PROGRESS", &[]),
                    other_owner,
                ),
                &[],
                &["shop-prod-db"],
            ),
            (
                with_change_set(
                    described("shop-prod-db", "REVIEW_IN_PROGRESS", &[]),
                    &[("team", "data")],
                ),
                &[],
                &["shop-prod-db"],
            ),
            (
                described("shop-prod-db", "REVIEW_IN_PROGRESS", &[]),
                &[],
                &["shop-prod-db"],
            ),
            // A stack that is not in review is judged by its own tags alone.
            (
                with_change_set(described("shop-prod-db", "CREATE_COMPLETE", &[]), OURS),
                &[],
                &["shop-prod-db"],
            ),
            // Ours but outside the environment's names; foreign and not wanted.
            (described("elsewhere", "CREATE_COMPLETE", OURS), &[], &[]),
            (
                described("shop-prod-queue", "CREATE_COMPLETE", &[]),
                &[],
                &[],
            ),
        ];
        for (stack, owned, foreign) in table {
            let row = format!("{} {} {:?}", stack.name, stack.status, stack.tags);
            let (o, f) = sort_stacks(vec![stack], &query());
            let o: Vec<&str> = o.iter().map(|s| s.name.as_str()).collect();
            let f: Vec<&str> = f.iter().map(|s| s.name.as_str()).collect();
            assert_eq!((o.as_slice(), f.as_slice()), (owned, foreign), "{row}");
        }
    }

    #[test]
    fn a_review_stack_of_ours_carries_its_change_sets_tags() {
        let mut stack = described("shop-prod-db", "REVIEW_IN_PROGRESS", &[]);
        stack.change_set_tags.push(owned_tags(&[("team", "data")]));
        stack.change_set_tags.push(owned_tags(OURS));
        assert!(stack.needs_change_set_tags());
        let (owned, _) = sort_stacks(vec![stack], &query());
        assert_eq!(owned[0].tags, owned_tags(OURS));
        assert!(!described("x", "REVIEW_IN_PROGRESS", OURS).needs_change_set_tags());
        assert!(!described("x", "CREATE_COMPLETE", &[]).needs_change_set_tags());
    }
}
