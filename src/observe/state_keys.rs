//! Where each record of an environment lives in the state bucket: one function per key.
//! `state/` reads and writes there, the user-data template tells instances where to
//! write their readiness signals, and `iam-policy` scopes access to them.
//! `docs/state.md` describes every record.

/// `rollstack/{stack}/{env}/`: every record of one environment.
pub fn environment(stack: &str, env: &str) -> String {
    format!("rollstack/{stack}/{env}/")
}

/// The environment's lock (`lock.json`).
pub fn lock(stack: &str, env: &str) -> String {
    format!("{}lock.json", environment(stack, env))
}

/// The environment's freeze (`freeze.json`).
pub fn freeze(stack: &str, env: &str) -> String {
    format!("{}freeze.json", environment(stack, env))
}

/// The outputs the environment's last successful apply published (`outputs.json`).
pub fn outputs(stack: &str, env: &str) -> String {
    format!("{}outputs.json", environment(stack, env))
}

/// The environment's apply history (`history/`).
pub fn history(stack: &str, env: &str) -> String {
    format!("{}history/", environment(stack, env))
}

/// History entry `seq` (`history/000042.json`).
pub fn history_entry(stack: &str, env: &str, seq: u32) -> String {
    format!("{}{seq:06}.json", history(stack, env))
}

/// The readiness signals of the environment's instances (`signals/`); an instance
/// writes `signals/{instance id}`.
pub fn signals(stack: &str, env: &str) -> String {
    format!("{}signals/", environment(stack, env))
}

/// Every release job's results (`jobs/`).
pub fn jobs(stack: &str, env: &str) -> String {
    format!("{}jobs/", environment(stack, env))
}

/// `rollstack/{stack}/{env}/sites/`: the file lists of every site's uploaded releases,
/// also of sites the stack file no longer has (whose objects are then deleted).
pub fn sites(stack: &str, env: &str) -> String {
    format!("{}sites/", environment(stack, env))
}

/// `rollstack/{stack}/{env}/sites/{site}/`: the file lists of a site's uploaded releases.
pub fn site_releases(stack: &str, env: &str, site: &str) -> String {
    format!("{}{site}/", sites(stack, env))
}

/// `rollstack/{stack}/{env}/sites/{site}/{version}.json`: the files of release `version`
/// of a site, written once every one is uploaded.
pub fn site_release(stack: &str, env: &str, site: &str, version: &str) -> String {
    format!("{}{version}.json", site_releases(stack, env, site))
}

/// The (site, version) of a [`site_release`] key listed under [`sites`] (`listed`
/// without that prefix); `None` for any other object there.
pub fn parse_site_release(listed: &str) -> Option<(String, String)> {
    let (site, file) = listed.split_once('/')?;
    let version = file.strip_suffix(".json")?;
    (!version.is_empty() && !version.contains('/')).then(|| (site.to_owned(), version.to_owned()))
}

/// The runs of job `job` at key `key` (`jobs/{job}/{key}/`): each run's instance writes
/// `{instance id}.json` and `{instance id}.log` there, and rollstack records the key's
/// outcome as `succeeded.json` or `failed.json`.
pub fn job_runs(stack: &str, env: &str, job: &str, key: &str) -> String {
    format!("{}{job}/{key}/", jobs(stack, env))
}

/// Where rollstack records the outcome of job `job`'s runs at `key`:
/// `jobs/{job}/{key}/succeeded.json` or `failed.json`.
pub fn job_record(stack: &str, env: &str, job: &str, key: &str, succeeded: bool) -> String {
    let outcome = if succeeded { "succeeded" } else { "failed" };
    format!("{}{outcome}.json", job_runs(stack, env, job, key))
}

/// The (job, key, succeeded) of a [`job_record`] key listed under [`jobs`] (`listed`
/// without that prefix); `None` for any other object there.
pub fn parse_job_record(listed: &str) -> Option<(String, String, bool)> {
    let (job, rest) = listed.split_once('/')?;
    let (key, file) = rest.split_once('/')?;
    let succeeded = match file {
        "succeeded.json" => true,
        "failed.json" => false,
        _ => return None,
    };
    Some((job.to_owned(), key.to_owned(), succeeded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_under_the_environment() {
        assert_eq!(lock("shop", "prod"), "rollstack/shop/prod/lock.json");
        assert_eq!(freeze("shop", "prod"), "rollstack/shop/prod/freeze.json");
        assert_eq!(outputs("shop", "prod"), "rollstack/shop/prod/outputs.json");
        assert_eq!(
            history_entry("shop", "prod", 42),
            "rollstack/shop/prod/history/000042.json"
        );
        assert_eq!(signals("shop", "prod"), "rollstack/shop/prod/signals/");
        let record = job_record("shop", "prod", "migrate", "k1", true);
        assert_eq!(record, "rollstack/shop/prod/jobs/migrate/k1/succeeded.json");
        let listed = record.strip_prefix(&jobs("shop", "prod")).unwrap();
        assert_eq!(
            parse_job_record(listed),
            Some(("migrate".to_owned(), "k1".to_owned(), true))
        );
        assert_eq!(parse_job_record("migrate/k1/i-0abc.json"), None);
        let release = site_release("shop", "prod", "web", "1.2.0");
        assert_eq!(release, "rollstack/shop/prod/sites/web/1.2.0.json");
        let listed = release.strip_prefix(&sites("shop", "prod")).unwrap();
        assert_eq!(
            parse_site_release(listed),
            Some(("web".to_owned(), "1.2.0".to_owned()))
        );
        assert_eq!(parse_site_release("web/1.2.0/x.json"), None);
        assert_eq!(parse_site_release("web/notes.txt"), None);
    }
}
