//! A static site's change: the release uploaded (once) and flipped to, and the old
//! releases deleted after.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::observe::site::SiteFile;

/// What apply does to a site.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SiteChange {
    /// The app whose release it serves.
    pub app: String,
    /// The bucket (`(known after apply)` while it is an output not known yet).
    pub bucket: String,
    /// The release the entry files serve now; `None`: none (a first deploy).
    pub from: Option<String>,
    /// The release served after.
    pub to: String,
    /// The release's files.
    pub files: u32,
    /// Their size, added up, in bytes.
    pub bytes: u64,
    /// Files new or changed since `from` (when `from`'s file list is recorded).
    pub changed: Option<u32>,
    /// Files not in the bucket yet: uploaded before the flip (0: a flip alone).
    pub upload: u32,
    /// The entry files copied to the root, last (`flip: index`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<String>,
    /// The distribution whose origin path is set to the release (`flip: cloudfront`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<String>,
    /// Releases deleted after the flip (beyond `keep`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete: Vec<String>,
    /// The SHA-256 of the release's file list (`path sha256` lines): apply uploads only
    /// the files the plan saw.
    pub digest: String,
}

/// The digest of a release's file list ([`SiteChange::digest`]).
pub fn files_digest(files: &BTreeMap<String, SiteFile>) -> String {
    let mut hasher = Sha256::new();
    for (path, file) in files {
        hasher.update(format!("{path} {}\n", file.sha256));
    }
    hex::encode(&hasher.finalize()[..16])
}

/// The releases to delete once `to` is served (after `from`), keeping `keep` in all:
/// `to`, `from`, the `pinned` ones (served by the last applies, which `rollback --to`
/// goes back to) and the newest others; more when those alone are more. `recorded` are
/// the versions with a file list, oldest upload first; `uploaded`, every version with
/// files in the bucket (one without a list, an upload cut short, counts as the oldest).
pub fn beyond_keep(
    (recorded, uploaded): (&[String], &[String]),
    keep: u32,
    to: &str,
    from: Option<&str>,
    pinned: &BTreeSet<String>,
) -> Vec<String> {
    let mut newest_first: Vec<&String> = recorded.iter().rev().collect();
    newest_first.extend(uploaded.iter().filter(|v| !recorded.contains(v)));
    let mut kept: Vec<&str> = vec![to];
    kept.extend(from.filter(|f| *f != to));
    kept.extend(
        pinned
            .iter()
            .map(String::as_str)
            .filter(|p| *p != to && Some(*p) != from),
    );
    for version in &newest_first {
        if kept.len() >= keep as usize {
            break;
        }
        if !kept.contains(&version.as_str()) {
            kept.push(version);
        }
    }
    let mut delete: Vec<String> = newest_first
        .into_iter()
        .filter(|v| !kept.contains(&v.as_str()))
        .cloned()
        .collect();
    delete.sort();
    delete.dedup();
    delete
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_the_previous_and_the_newest_are_kept() {
        let v = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        // (recorded oldest first, uploaded, keep, to, from, pinned, deleted)
        type Case<'a> = (
            &'a [&'a str],
            &'a [&'a str],
            u32,
            &'a str,
            Option<&'a str>,
            &'a [&'a str],
            &'a [&'a str],
        );
        let all = ["1.0.0", "1.1.0", "1.2.0"];
        let cases: &[Case<'_>] = &[
            (&all, &all, 2, "1.2.0", Some("1.1.0"), &[], &["1.0.0"]),
            (&all, &all, 5, "1.2.0", Some("1.1.0"), &[], &[]),
            // A rollback keeps the one it leaves, and the one it goes back to.
            (&all, &all, 2, "1.0.0", Some("1.2.0"), &[], &["1.1.0"]),
            // An upload cut short (no file list) goes first.
            (
                &["0.8.0", "1.0.0", "1.1.0"],
                &["0.8.0", "0.9.0", "1.0.0", "1.1.0"],
                3,
                "1.1.0",
                Some("1.0.0"),
                &[],
                &["0.9.0"],
            ),
            // One a recent apply served stays, beyond `keep` if need be; the newest
            // others fill what is left.
            (&all, &all, 2, "1.2.0", Some("1.1.0"), &["1.0.0"], &[]),
            (
                &["0.9.0", "1.0.0", "1.1.0", "1.2.0"],
                &["0.9.0", "1.0.0", "1.1.0", "1.2.0"],
                3,
                "1.2.0",
                None,
                &["0.9.0"],
                &["1.0.0"],
            ),
            (&["1.0.0"], &["1.0.0"], 2, "1.0.0", None, &[], &[]),
            (&[], &[], 2, "1.0.0", None, &[], &[]),
        ];
        for (recorded, uploaded, keep, to, from, pinned, deleted) in cases {
            let pinned: BTreeSet<String> = v(pinned).into_iter().collect();
            assert_eq!(
                beyond_keep((&v(recorded), &v(uploaded)), *keep, to, *from, &pinned),
                v(deleted),
                "{recorded:?} keep {keep} to {to}"
            );
        }
    }
}
