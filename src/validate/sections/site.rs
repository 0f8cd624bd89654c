//! Static sites: their app (a release tarball), bucket, flip, cache globs and limits.

use std::collections::BTreeMap;

use super::Checker;
use crate::load::raw::*;
use crate::model::site::{DEFAULT_KEEP, DEFAULT_MAX_SIZE};
use crate::model::*;
use crate::release::CacheRules;
use crate::validate::references::{Names, Written, resolve_interpolations};

/// The sites of `raw`, their references (bucket) added to the graph.
pub(super) fn build(
    checker: &mut Checker,
    names: &Names,
    raw: &RawStack,
    stack: &mut Stack,
) -> BTreeMap<String, Site> {
    let outputs: BTreeMap<String, Vec<String>> = stack
        .cloudformation
        .iter()
        .map(|(n, c)| (n.clone(), c.outputs.clone()))
        .collect();
    let mut sites = BTreeMap::new();
    for (name, site) in &raw.sites {
        let path = format!("sites.{name}");
        let address = Address::Site(name.clone());
        app(checker, names, raw, &path, &site.app);
        let bucket = Interpolated::parse(&site.bucket);
        resolve_interpolations(
            checker,
            names,
            &outputs,
            Written {
                value: &bucket,
                what: "bucket",
                path: &format!("{path}.bucket"),
            },
            &address,
            &mut stack.references,
        );
        let other = bucket
            .references()
            .any(|r| !matches!(r, Reference::Output { .. }));
        if other {
            checker.error_at_value(
                &format!("{path}.bucket"),
                format!("site `{name}`'s bucket is read before anything else is known"),
                "a bucket name, or `${outputs.NODE.OUTPUT}`",
                None,
            );
        }
        if names.named("app", &site.app).is_ok() {
            stack.references.push(Edge {
                from: address.clone(),
                to: Address::App(site.app.clone()),
                path: format!("{path}.app"),
            });
        }
        let cache: Vec<(String, String)> = site
            .cache
            .iter()
            .map(|(glob, value)| (glob.clone(), value.clone()))
            .collect();
        if let Err((glob, why)) = CacheRules::new(&cache) {
            checker.error_at_key(
                &format!("{path}.cache.{glob}"),
                format!("invalid glob `{glob}`: {why}"),
                "a glob such as `*.html` or `assets/**`",
                None,
            );
        }
        let entry = match site.flip {
            RawFlip::Index => site
                .entry
                .clone()
                .unwrap_or_else(|| vec!["index.html".to_owned()]),
            RawFlip::Cloudfront => Vec::new(),
        };
        let distribution = flip_fields(
            checker,
            names,
            (&outputs, &path),
            site,
            &address,
            &mut stack.references,
        );
        for (i, file) in entry.iter().enumerate() {
            if file.is_empty() || file.starts_with('/') || file.split('/').any(|p| p == "..") {
                checker.error_at_value(
                    &format!("{path}.entry[{i}]"),
                    format!("invalid entry file `{file}`"),
                    "a path inside the release, such as `index.html`",
                    None,
                );
            }
        }
        if site.bake.is_some() == site.alarms.is_empty() {
            checker.error_at_key(
                &path,
                format!("site `{name}` has `bake` or `alarms` without the other"),
                "`bake: 5m` with `alarms: [NAME]`: the alarms watched that long after a flip",
                None,
            );
        }
        if site.keep.is_some_and(|k| !(2..=100).contains(&k)) {
            checker.error_at_value(
                &format!("{path}.keep"),
                format!(
                    "site `{name}` keeps {} releases",
                    site.keep.unwrap_or_default()
                ),
                "2 to 100: the release served and the one before it are always kept",
                None,
            );
        }
        if site
            .max_size_mb
            .is_some_and(|mb| !(1..=10240).contains(&mb))
        {
            checker.error_at_value(
                &format!("{path}.max_size_mb"),
                format!(
                    "site `{name}` unpacks at most {} MiB",
                    site.max_size_mb.unwrap_or_default()
                ),
                "1 to 10240 (MiB)",
                None,
            );
        }
        if stack.state_bucket.is_none() {
            checker.error_at_key(
                &path,
                format!("site `{name}` needs a `state_bucket`"),
                "a `state_bucket`: each release's file list is recorded there",
                Some("add `state_bucket: NAME` (`rollstack bootstrap` makes it)".to_owned()),
            );
        }
        let site = Site {
            app: site.app.clone(),
            bucket,
            flip: match (site.flip, distribution) {
                (RawFlip::Cloudfront, Some(distribution)) => Flip::Cloudfront { distribution },
                _ => Flip::Index { entry },
            },
            cache,
            keep: site.keep.unwrap_or(DEFAULT_KEEP),
            bake: site.bake,
            alarms: site.alarms.clone(),
            max_size: site
                .max_size_mb
                .map_or(DEFAULT_MAX_SIZE, |mb| u64::from(mb) * 1024 * 1024),
        };
        sites.insert(name.clone(), site);
    }
    sites
}

/// `distribution` with `flip: cloudfront` (its references graph edges), `entry` with
/// `flip: index` only.
fn flip_fields(
    checker: &mut Checker,
    names: &Names,
    (outputs, path): (&BTreeMap<String, Vec<String>>, &str),
    site: &RawSite,
    address: &Address,
    edges: &mut Vec<Edge>,
) -> Option<Interpolated> {
    match (site.flip, &site.distribution, &site.entry) {
        (RawFlip::Cloudfront, Some(written), None) => {
            let distribution = Interpolated::parse(written);
            resolve_interpolations(
                checker,
                names,
                outputs,
                Written {
                    value: &distribution,
                    what: "distribution",
                    path: &format!("{path}.distribution"),
                },
                address,
                edges,
            );
            Some(distribution)
        }
        (RawFlip::Cloudfront, None, _) => {
            checker.error_at_key(
                path,
                "`flip: cloudfront` needs the `distribution` to flip".to_owned(),
                "`distribution: ID` or `${outputs.NODE.OUTPUT}`",
                None,
            );
            None
        }
        (RawFlip::Cloudfront, Some(_), Some(_)) => {
            checker.error_at_key(
                &format!("{path}.entry"),
                "`entry` is for `flip: index`: CloudFront serves the whole release".to_owned(),
                "no `entry` with `flip: cloudfront`",
                None,
            );
            None
        }
        (RawFlip::Index, Some(_), _) => {
            checker.error_at_key(
                &format!("{path}.distribution"),
                "`distribution` is for `flip: cloudfront`".to_owned(),
                "`flip: cloudfront` to flip a distribution",
                None,
            );
            None
        }
        (RawFlip::Index, None, _) => None,
    }
}

/// A site serves an app that is a release tarball, from the releases bucket.
fn app(checker: &mut Checker, names: &Names, raw: &RawStack, path: &str, app: &str) {
    let path = format!("{path}.app");
    if let Err(e) = names.named("app", app) {
        checker.error_at_value(&path, e.message, "an app defined under `apps`", e.hint);
    } else if raw.apps.get(app).is_some_and(|a| a.image.is_some()) {
        checker.error_at_value(
            &path,
            format!("app `{app}` is a container image; a site serves a release tarball"),
            "an app without `image`",
            None,
        );
    } else if raw.releases.is_none() {
        checker.error_at_value(
            &path,
            format!("site serves app `{app}`, but the file has no `releases.bucket`"),
            "sites need a release bucket",
            Some("add `releases: { bucket: NAME }`; artifacts are at `s3://NAME/{app}/{version}.tar.gz`".to_owned()),
        );
    }
}

#[cfg(test)]
mod tests {
    /// Limits the schema also states, refused by validation too (a file is valid only
    /// when rollstack says so).
    #[test]
    fn keep_and_size_limits_are_refused_at_their_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stack.yaml");
        std::fs::write(
            &path,
            "rollstack: 1\nstack: shop\nregion: us-east-1\nstate_bucket: s\nreleases: { bucket: r }\napps:\n  web: { version: \"1.0\" }\nsites:\n  web: { app: web, bucket: b, flip: index, keep: 1, max_size_mb: 0 }\n",
        )
        .unwrap();
        let diagnostics = crate::validate::validate_file(&path).err().unwrap();
        let text = crate::diagnostic::render(&diagnostics.sorted(), false);
        assert!(text.contains("site `web` keeps 1 releases"), "{text}");
        assert!(text.contains("site `web` unpacks at most 0 MiB"), "{text}");
        assert!(text.contains("stack.yaml:9:"), "{text}");
    }
}
