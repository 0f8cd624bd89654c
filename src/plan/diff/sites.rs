//! Static sites: the release the entry files serve against the one the file names; a
//! release whose tarball would write outside it, or whose recorded files differ, stops
//! the plan. A site the file no longer has is deleted: what rollstack wrote for it.

use std::collections::{BTreeMap, BTreeSet};

use super::{Diffed, PlanError, fingerprint};
use crate::diagnostic::plural;
use crate::model::{Address, Flip, Site, Stack};
use crate::observe::Observed;
use crate::observe::site::{LiveSite, RemovedSite, SiteFile};
use crate::plan::site::{SiteChange, beyond_keep, files_digest};
use crate::plan::{Action, Change, Detail};
use crate::template::KNOWN_AFTER_APPLY;

/// Diffs every site of `stack`; the problems that stop the plan instead.
pub fn diff(stack: &Stack, observed: &Observed) -> Result<Vec<Diffed>, Vec<PlanError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, site) in &stack.sites {
        let Some(live) = observed.sites.iter().find(|s| &s.name == name) else {
            continue;
        };
        let version = stack.apps.get(&site.app).map_or("", |a| a.version.as_str());
        let address = Address::Site(name.clone());
        let files = match &live.archive {
            Ok(files) => files,
            // A missing tarball is already a missing release.
            Err(_) if observed.missing_artifacts.iter().any(|a| a.app == site.app) => continue,
            Err(why) => {
                errors.push(PlanError::SiteArchive {
                    address,
                    release: format!("{}@{version}", site.app),
                    why: why.clone(),
                });
                continue;
            }
        };
        if let Some(missing) = site.flip.entry().iter().find(|e| !files.contains_key(*e)) {
            errors.push(PlanError::SiteArchive {
                address,
                release: format!("{}@{version}", site.app),
                why: format!("it has no entry file `{missing}`"),
            });
            continue;
        }
        if let Some(origin) = live.origin.as_ref().filter(|o| o.path.is_none()) {
            errors.push(PlanError::NoOrigin {
                address,
                distribution: origin.distribution.clone(),
                bucket: live.bucket.clone().unwrap_or_default(),
            });
            continue;
        }
        if let Some(recorded) = live.release(version) {
            let differ = differing(&recorded.files, files);
            if !differ.is_empty() {
                errors.push(PlanError::ReleaseChanged {
                    address,
                    release: format!("{}@{version}", site.app),
                    files: differ,
                });
                continue;
            }
        }
        out.push(one(name, site, version, live, files));
    }
    out.extend(observed.removed_sites.iter().map(removed));
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The paths whose contents differ between two file lists (or that only one has).
fn differing(a: &BTreeMap<String, SiteFile>, b: &BTreeMap<String, SiteFile>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|p| a.get(*p).map(|f| &f.sha256) != b.get(*p).map(|f| &f.sha256))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn one(
    name: &str,
    site: &Site,
    version: &str,
    live: &LiveSite,
    files: &BTreeMap<String, SiteFile>,
) -> Diffed {
    let address = Address::Site(name.to_owned());
    let entry = site.flip.entry();
    let from = live.served().map(str::to_owned);
    let upload = files.keys().filter(|p| !live.present.contains(*p)).count() as u32;
    let changed = from.as_deref().and_then(|f| live.release(f)).map(|r| {
        differing(&r.files, files)
            .iter()
            .filter(|p| files.contains_key(*p))
            .count() as u32
    });
    let drift = drift(live, entry);
    let recorded: Vec<String> = live.releases.iter().map(|r| r.version.clone()).collect();
    let uploaded: Vec<String> = live.uploaded.iter().cloned().collect();
    let delete = beyond_keep(
        (&recorded, &uploaded),
        site.keep,
        version,
        from.as_deref(),
        &live.pinned,
    );
    // A flip CloudFront still deploys is flipped (and waited for) again.
    let in_sync = from.as_deref() == Some(version)
        && live.origin.as_ref().is_none_or(|o| o.deployed)
        && upload == 0
        && drift.is_empty()
        && live.release(version).is_some();
    let action = match (in_sync, &from) {
        (true, _) => Action::NoOp,
        (false, None) if live.uploaded.is_empty() => Action::Create,
        _ => Action::Update,
    };
    let bytes: u64 = files.values().map(|f| f.size).sum();
    let change = SiteChange {
        app: site.app.clone(),
        bucket: live
            .bucket
            .clone()
            .unwrap_or_else(|| KNOWN_AFTER_APPLY.to_owned()),
        from: from.clone(),
        to: version.to_owned(),
        files: files.len() as u32,
        bytes,
        changed,
        upload,
        entry: entry.to_vec(),
        distribution: distribution(site, live),
        delete: if action == Action::NoOp {
            Vec::new()
        } else {
            delete
        },
        digest: files_digest(files),
    };
    let reason = reason(&change, &drift);
    let entries: Vec<String> = live
        .entries
        .iter()
        .map(|(p, e)| {
            format!(
                "{p}={}:{}",
                e.release.as_deref().unwrap_or(""),
                e.sha256.as_deref().unwrap_or("")
            )
        })
        .collect();
    Diffed {
        fingerprint: fingerprint(&[
            live.bucket.as_deref().unwrap_or(""),
            &entries.join(","),
            &live.present.len().to_string(),
            &change.digest,
            &recorded.join(","),
        ]),
        change: Change {
            address,
            action,
            reason,
            detail: Detail::Site(change),
        },
        drift,
    }
}

/// A site the file no longer has: every release rollstack uploaded and the entry files
/// it copied are deleted, and their records; nothing is flipped.
fn removed(site: &RemovedSite) -> Diffed {
    let recorded = site.releases.iter().map(|r| r.version.clone());
    let delete: Vec<String> = recorded
        .chain(site.uploaded.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let entry: Vec<String> = site.entries.iter().cloned().collect();
    let change = SiteChange {
        bucket: site.bucket.clone(),
        entry,
        delete,
        ..SiteChange::default()
    };
    Diffed {
        fingerprint: fingerprint(&[
            &site.bucket,
            &change.delete.join(","),
            &change.entry.join(","),
        ]),
        change: Change {
            address: Address::Site(site.name.clone()),
            action: Action::Delete,
            reason: format!(
                "no longer in the stack file: deletes the {} rollstack wrote in `{}`, flips nothing",
                [
                    plural(change.delete.len(), "release"),
                    plural(change.entry.len(), "entry file"),
                ]
                .into_iter()
                .filter(|p| !p.starts_with("0 "))
                .collect::<Vec<_>>()
                .join(" and "),
                site.bucket,
            ),
            detail: Detail::Site(change),
        },
        drift: Vec::new(),
    }
}

/// The distribution a CloudFront flip changes (`(known after apply)` while its id is an
/// output not known yet).
fn distribution(site: &Site, live: &LiveSite) -> Option<String> {
    match &site.flip {
        Flip::Cloudfront { .. } => Some(
            live.origin
                .as_ref()
                .map_or(KNOWN_AFTER_APPLY.to_owned(), |o| o.distribution.clone()),
        ),
        Flip::Index { .. } => None,
    }
}

/// What serves the site that rollstack did not write (once it wrote something): an
/// origin path that is no recorded release's, an entry file gone, without the release
/// it serves, or with other contents than that release's.
fn drift(live: &LiveSite, entry: &[String]) -> Vec<String> {
    if live.releases.is_empty() {
        return Vec::new();
    }
    if let Some(origin) = &live.origin {
        let path = origin.path.as_deref().unwrap_or_default();
        let ours = live
            .releases
            .iter()
            .any(|r| crate::model::site::origin_path(&r.version) == path);
        return if ours {
            Vec::new()
        } else {
            vec![format!(
                "the origin path of distribution `{}` was changed outside rollstack (`{path}`)",
                origin.distribution
            )]
        };
    }
    entry
        .iter()
        .filter(|path| {
            let Some(found) = live.entries.get(*path) else {
                return true;
            };
            let (Some(release), Some(sha256)) = (&found.release, &found.sha256) else {
                return true;
            };
            let written = live.release(release).and_then(|r| r.files.get(*path));
            written.map(|f| &f.sha256) != Some(sha256)
        })
        .map(|path| format!("entry file `{path}` was changed outside rollstack"))
        .collect()
}

/// `143 files, 2.1 MB; 12 new or changed since 1.2.0`.
fn reason(change: &SiteChange, drift: &[String]) -> String {
    let mut reason = format!(
        "{}, {}",
        plural(change.files as usize, "file"),
        size(change.bytes)
    );
    match (&change.from, change.changed) {
        (Some(from), Some(changed)) if from != &change.to => {
            reason.push_str(&format!("; {changed} new or changed since {from}"));
        }
        _ => {}
    }
    if !drift.is_empty() {
        reason.push_str("; changed outside rollstack");
    }
    reason
}

/// `2.1 MB`, `512 KB`, `80 B` (decimal units, as S3's console).
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1_000_000.0),
        b if b >= 1_000 => format!("{:.1} KB", b as f64 / 1_000.0),
        b => format!("{b} B"),
    }
}
