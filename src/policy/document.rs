//! The IAM policy document, as IAM reads it.

use std::collections::BTreeMap;

use serde::Serialize;

/// An IAM policy document (`Version: 2012-10-17`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    version: &'static str,
    /// The statements, each an `Allow`.
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    /// A document of `statements`.
    pub fn new(statements: impl IntoIterator<Item = Statement>) -> PolicyDocument {
        PolicyDocument {
            version: "2012-10-17",
            statement: statements.into_iter().collect(),
        }
    }

    /// The size IAM counts against its quotas: the JSON without whitespace.
    pub fn size(&self) -> usize {
        serde_json::to_string(self).map_or(0, |s| s.len())
    }

    /// Every action the document allows, sorted.
    pub fn actions(&self) -> Vec<&str> {
        let mut actions: Vec<&str> = self
            .statement
            .iter()
            .flat_map(|s| s.action.iter().map(String::as_str))
            .collect();
        actions.sort_unstable();
        actions.dedup();
        actions
    }
}

/// One `Allow` statement.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// Its name, which `docs/real-aws.md` explains.
    pub sid: String,
    effect: &'static str,
    /// The actions, sorted.
    pub action: Vec<String>,
    /// The resources (ARNs, or `*` where the actions have no resource-level permissions).
    pub resource: Vec<String>,
    /// When it applies.
    #[serde(skip_serializing_if = "Condition::is_empty")]
    pub condition: Condition,
}

impl Statement {
    /// Allows `actions` on `resources`.
    pub fn new<A: ToString>(
        sid: &str,
        actions: impl IntoIterator<Item = A>,
        resources: impl IntoIterator<Item = String>,
    ) -> Statement {
        let mut action: Vec<String> = actions.into_iter().map(|a| a.to_string()).collect();
        action.sort();
        action.dedup();
        Statement {
            sid: sid.to_owned(),
            effect: "Allow",
            action,
            resource: resources.into_iter().collect(),
            condition: Condition::default(),
        }
    }

    /// Only when `condition` holds.
    pub fn when(mut self, condition: Condition) -> Statement {
        for (operator, keys) in condition.0 {
            self.condition.0.entry(operator).or_default().extend(keys);
        }
        self
    }

    /// A statement without actions or resources allows nothing, and IAM refuses it.
    pub fn is_empty(&self) -> bool {
        self.action.is_empty() || self.resource.is_empty()
    }
}

/// A statement's `Condition`: operator -> condition key -> values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Condition(BTreeMap<String, BTreeMap<String, ConditionValue>>);

/// One value, or any of several.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ConditionValue {
    /// Exactly this.
    One(String),
    /// Any of these.
    Any(Vec<String>),
}

impl Condition {
    /// `StringEquals` on each of `pairs` (all must hold).
    pub fn string_equals(pairs: impl IntoIterator<Item = (String, String)>) -> Condition {
        let keys = pairs
            .into_iter()
            .map(|(k, v)| (k, ConditionValue::One(v)))
            .collect();
        Condition(BTreeMap::from([("StringEquals".to_owned(), keys)]))
    }

    /// `StringEquals` on `key` with any of `values`.
    pub fn string_equals_any<'a>(
        key: &str,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Condition {
        let mut values: Vec<String> = values.into_iter().map(str::to_owned).collect();
        values.sort();
        let value = if values.len() == 1 {
            ConditionValue::One(values.remove(0))
        } else {
            ConditionValue::Any(values)
        };
        Condition(BTreeMap::from([(
            "StringEquals".to_owned(),
            BTreeMap::from([(key.to_owned(), value)]),
        )]))
    }

    /// No condition.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
