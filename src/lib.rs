//! rollstack: declarative infrastructure + release reconciler for AWS.
//!
//! The modules follow the flow of a command:
//! `load` (file -> YAML tree -> wire types) -> `validate` (-> `model` per environment)
//! -> `graph` (dependency order) -> `aws::observe` (-> `observe` types) -> `plan` (diff,
//! render) -> `apply` (executor; `rollout` decides each step of a group). Only `aws` talks
//! to AWS.

// Functions stay under 80 lines (clippy.toml); table-driven unit tests are exempt.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod diagnostic;
pub mod git;
pub mod graph;
pub mod load;
pub mod model;
pub mod notify;
pub mod observe;
pub mod plan;
pub mod planning;
pub mod policy;
pub mod release;
pub mod rollout;
pub mod schema;
pub mod state;
pub mod template;
#[cfg(test)]
mod testing;
pub mod validate;
pub mod workspace;
