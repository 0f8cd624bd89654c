//! A release job's spec: what its instance runs and launches with, and the key a run of
//! it is known by. The key is (job, release, a hash of the rendered script and the launch
//! spec): a key that succeeded never runs again; a new release or another script makes
//! a new key.

use serde::Serialize;

use crate::model::{ImageRef, Metadata, Stack};
use crate::observe::state_keys;
use crate::plan::diff::cloudformation::interpolate;
use crate::plan::diff::short_hash;
use crate::template::{self, JobResult, Outputs, RenderError, unknown};

/// Everything a run of a job is: the release, the rendered script, and the launch spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobSpec {
    /// The job's name.
    pub name: String,
    /// `app@version` it runs.
    pub release: String,
    /// The rendered script.
    pub script: String,
    /// The machine image, as written.
    pub image: ImageRef,
    /// Instance type.
    pub instance_type: String,
    /// The subnet it launches in (the first of its subnets), or the default VPC's.
    pub subnet: Option<String>,
    /// Security groups of the stack (names).
    pub security_groups: Vec<String>,
    /// IAM instance profile (name or ARN), references resolved.
    pub instance_profile: Option<String>,
    /// The instance metadata service.
    pub metadata: Metadata,
}

impl JobSpec {
    /// The spec of job `name` of `stack` running `version` of its app, its script
    /// rendered against `outputs` (a script that needs an output not known yet holds
    /// `(known after apply)`: its key is not known either).
    pub fn new(
        stack: &Stack,
        name: &str,
        version: &str,
        outputs: &Outputs,
    ) -> Result<JobSpec, RenderError> {
        let job = &stack.jobs[name];
        let context = template::job_context(stack, name, version, outputs);
        let shown = job.run.file.display().to_string();
        let script = template::render(&shown, &job.run.source, &context)?;
        Ok(JobSpec::with_script(stack, name, version, script, outputs))
    }

    /// The spec of job `name` running `script` in place of its own (`rollstack run
    /// --command`).
    pub fn with_script(
        stack: &Stack,
        name: &str,
        version: &str,
        script: String,
        outputs: &Outputs,
    ) -> JobSpec {
        let job = &stack.jobs[name];
        let launch = &job.launch;
        JobSpec {
            name: name.to_owned(),
            release: format!("{}@{version}", job.app),
            script,
            image: launch.image.clone(),
            instance_type: launch.instance_type.clone(),
            subnet: launch.subnets.first().cloned(),
            security_groups: launch.security_groups.clone(),
            instance_profile: launch
                .instance_profile
                .as_ref()
                .map(|p| interpolate(stack, p, &Default::default(), outputs)),
            metadata: launch.metadata,
        }
    }

    /// The key a run of this spec is known by; `None` while the script or the profile
    /// waits on an output not known yet.
    pub fn key(&self) -> Option<String> {
        let unknown =
            unknown(&self.script) || self.instance_profile.as_deref().is_some_and(unknown);
        if unknown {
            return None;
        }
        let canonical = serde_json::to_string(self).unwrap_or_default();
        Some(short_hash(&canonical))
    }

    /// The user data of a run at `key`: the script, wrapped to upload its result to
    /// `stack`'s state bucket and shut the instance down.
    pub fn user_data(&self, stack: &Stack, key: &str) -> String {
        let prefix = state_keys::job_runs(&stack.name, &stack.environment.name, &self.name, key);
        let result = JobResult {
            bucket: stack.state_bucket.as_deref().unwrap_or_default(),
            prefix: &prefix,
            region: &stack.region,
        };
        template::job_user_data(&self.name, &self.script, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = r#"rollstack: 1
stack: shop
region: us-east-1
state_bucket: shop-state
releases: { bucket: shop-releases }
apps:
  web: { version: "1.0.0" }
roles:
  web: { app: web }
groups:
  www:
    roles: [web]
    count: 2
    image: ami-0abc1234
    instance_type: t3.small
jobs:
  migrate:
    app: web
    run: migrate.sh
    like: www
"#;

    fn stack(script: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("migrate.sh"), script).unwrap();
        crate::testing::stack_in(dir.path(), STACK)
    }

    /// (version, script, whether the key is the first one's)
    /// A job of an app that is an image runs the digest the groups roll to.
    #[test]
    fn a_job_of_an_image_runs_the_groups_digest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("migrate.sh"),
            "docker run {{ apps.web.image_ref }}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("web.sh"),
            "docker run {{ apps.web.image_ref }}\n",
        )
        .unwrap();
        let file = STACK
            .replace("  web: { version: \"1.0.0\" }", "  web: { version: \"1.0.0\", image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web }")
            .replace("    instance_type: t3.small\n", "    instance_type: t3.small\n    user_data: web.sh\n");
        let stack = crate::testing::stack_in(dir.path(), &file);
        let digest = format!("sha256:{}", "c".repeat(64));
        let outputs = Outputs::from([(
            crate::model::reference::IMAGE_DIGESTS_KEY.to_owned(),
            std::collections::BTreeMap::from([("web".to_owned(), digest.clone())]),
        )]);
        let job = JobSpec::new(&stack, "migrate", "1.0.0", &outputs).unwrap();
        let group = crate::plan::spec::LaunchSpec::new(&stack, "www", "ami-0abc1234", &outputs);
        let pinned =
            format!("docker run 123456789012.dkr.ecr.us-east-1.amazonaws.com/web@{digest}");
        assert_eq!(job.script, pinned);
        assert_eq!(group.user_data.as_deref(), Some(pinned.as_str()));
    }

    #[test]
    fn a_new_release_or_script_is_a_new_key() {
        let first = stack("rake db:migrate # {{ job.release }}\n");
        let key = |stack: &Stack, version: &str| {
            JobSpec::new(stack, "migrate", version, &Outputs::new())
                .unwrap()
                .key()
                .unwrap()
        };
        let base = key(&first, "1.0.0");
        assert_eq!(key(&first, "1.0.0"), base, "the same run, the same key");
        assert_ne!(key(&first, "1.1.0"), base, "a new release");
        assert_ne!(
            key(&stack("rake db:migrate:all\n"), "1.0.0"),
            base,
            "another script"
        );
    }

    #[test]
    fn the_script_runs_inside_a_wrapper_that_reports_and_shuts_down() {
        let stack = stack("#!/bin/sh\necho {{ job.release }} in {{ env.name }}\n");
        let spec = JobSpec::new(&stack, "migrate", "1.0.0", &Outputs::new()).unwrap();
        assert_eq!(spec.script, "#!/bin/sh\necho web@1.0.0 in default");
        assert_eq!(spec.instance_type, "t3.small");
        let data = spec.user_data(&stack, "k1");
        assert!(data.contains("cat > \"$script\" <<'ROLLSTACK_JOB_SCRIPT'\n#!/bin/sh\necho web@1.0.0 in default\nROLLSTACK_JOB_SCRIPT\n"), "{data}");
        assert!(
            data.contains("result=\"s3://shop-state/rollstack/shop/default/jobs/migrate/k1/$id\""),
            "{data}"
        );
        assert!(data.contains("shutdown -h now"));
        // A script holding the delimiter gets another.
        let odd = JobSpec::with_script(
            &stack,
            "migrate",
            "1.0.0",
            "echo ROLLSTACK_JOB_SCRIPT".to_owned(),
            &Outputs::new(),
        );
        assert!(
            odd.user_data(&stack, "k1")
                .contains("<<'ROLLSTACK_JOB_SCRIPT_'")
        );
    }

    #[test]
    fn a_script_reads_another_stacks_outputs_and_waits_while_they_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("network.yaml"),
            "rollstack: 1\nstack: net\nregion: us-east-1\nstate_bucket: net-state\noutputs:\n  db_host: \"${region}\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("migrate.sh"),
            "DB={{ stacks.net.db_host }}\n",
        )
        .unwrap();
        let stack = crate::testing::stack_in(dir.path(), STACK);
        assert!(
            stack.uses.contains_key("net"),
            "the script makes the stack read net"
        );
        let published = |value: &str| {
            let values =
                std::collections::BTreeMap::from([("db_host".to_owned(), value.to_owned())]);
            Outputs::from([(crate::model::reference::stack_outputs_key("net"), values)])
        };
        let spec = JobSpec::new(&stack, "migrate", "1.0.0", &published("db.internal")).unwrap();
        assert_eq!(spec.script, "DB=db.internal");
        assert!(spec.key().is_some());
        let pending = published(&crate::template::known_after_apply_of("net"));
        let spec = JobSpec::new(&stack, "migrate", "1.0.0", &pending).unwrap();
        assert_eq!(spec.key(), None, "it runs once net has published");
    }

    #[test]
    fn a_script_waiting_on_an_output_has_no_key_yet() {
        let stack = stack("echo hi\n");
        let mut spec = JobSpec::new(&stack, "migrate", "1.0.0", &Outputs::new()).unwrap();
        assert!(spec.key().is_some());
        spec.script = format!("DB={}", crate::template::KNOWN_AFTER_APPLY);
        assert_eq!(spec.key(), None);
    }
}
