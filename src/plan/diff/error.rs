//! Why there is no plan.

use crate::model::Address;
use crate::observe::{ArtifactRef, ForeignKind, MissingImage};

/// Why there is no plan: each is reported, and the plan fails with exit 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A release artifact does not exist.
    #[error("release artifact of app `{}` version `{}` not found: `{}`", .0.app, .0.version, .0.url())]
    MissingArtifact(ArtifactRef),
    /// An app's container image is not in ECR (or its repository is not).
    #[error("{}", missing_image(.0))]
    MissingImage(MissingImage),
    /// A site's release tarball is refused before anything is uploaded.
    #[error("`{address}`: release {release} is refused: {why}")]
    SiteArchive {
        /// The site.
        address: Address,
        /// `app@version`.
        release: String,
        /// Why.
        why: String,
    },
    /// A site's release was uploaded before with other contents: a version never changes.
    #[error("`{address}`: release {release} was uploaded before with other contents in {}", files.iter().take(5).map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", "))]
    ReleaseChanged {
        /// The site.
        address: Address,
        /// `app@version`.
        release: String,
        /// The files that differ.
        files: Vec<String>,
    },
    /// A site's distribution has no origin for its bucket.
    #[error("`{address}`: distribution `{distribution}` has no origin for bucket `{bucket}`")]
    NoOrigin {
        /// The site.
        address: Address,
        /// The distribution's id.
        distribution: String,
        /// The site's bucket.
        bucket: String,
    },
    /// No image matches a lookup.
    #[error("no image matches {image} for `{address}`")]
    NoImage {
        /// The group.
        address: Address,
        /// The lookup: `` `NAME` owned by `OWNER` ``.
        image: String,
    },
    /// A create would collide with a resource rollstack does not own.
    #[error(
        "`{address}` would be created as {kind} `{name}`, but `{id}` already has that name and is not owned by this stack and environment"
    )]
    Conflict {
        /// The address that would be created.
        address: Address,
        /// Kind of the foreign resource.
        kind: ForeignKind,
        /// Its name.
        name: String,
        /// Its id.
        id: String,
    },
    /// A security group's description changed; AWS cannot change it in place.
    #[error(
        "`{address}`: the description changed (`{live}` -> `{planned}`), and AWS cannot change a security group's description in place"
    )]
    DescriptionChange {
        /// The security group.
        address: Address,
        /// The live description.
        live: String,
        /// The stack file's.
        planned: String,
    },
    /// The stack's subnets are in several VPCs; its security groups can be in one.
    #[error("the stack's subnets are in several VPCs ({}); its security groups can only be in one", .vpcs.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "))]
    SeveralVpcs {
        /// The VPCs.
        vpcs: Vec<String>,
    },
    /// A root volume the image cannot give.
    #[error("`{address}`: {message}")]
    RootVolume {
        /// The group.
        address: Address,
        /// What is wrong.
        message: String,
    },
    /// User data that renders (with the outputs it uses) above AWS's limit.
    #[error(
        "`{address}`: its user data renders to {size} bytes with the outputs it uses; AWS takes at most {}",
        crate::validate::MAX_USER_DATA
    )]
    UserDataTooLarge {
        /// The group.
        address: Address,
        /// Rendered size in bytes.
        size: usize,
    },
    /// The stack names no subnets and the account has no default VPC.
    #[error("the stack names no subnets, and the region has no default VPC to launch into")]
    NoDefaultVpc,
    /// A `moved` entry whose old and new groups both have live resources.
    #[error("`moved` from `{from}` to `{to}`: both have live instances or a launch template")]
    MoveConflict {
        /// The old address.
        from: Address,
        /// The new address.
        to: Address,
    },
    /// A DNS name the fleet needs has a record that is not this environment's.
    #[error("DNS name `{0}` has a record rollstack did not make for this environment")]
    ForeignRecord(String),
    /// A rollout watches an alarm CloudWatch does not have: it could never stop it.
    #[error(
        "stack `{stack}` has published no outputs for environment `{env}` yet, and this stack reads them"
    )]
    Unpublished {
        /// The producing stack.
        stack: String,
        /// The environment.
        env: String,
    },
    #[error("`{address}` watches alarm `{name}`, which does not exist")]
    NoAlarm {
        /// The group.
        address: Address,
        /// The alarm.
        name: String,
    },
}

impl PlanError {
    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            PlanError::MissingArtifact(a) => format!(
                "upload the release first (`aws s3 cp {}.tar.gz {}`), or set `apps.{}.version` to a released version",
                a.app,
                a.url(),
                a.app
            ),
            PlanError::MissingImage(m) if m.no_repository => format!(
                "create the repository (`aws ecr create-repository --repository-name {}`), or correct `apps.{}.image`",
                m.repository.split_once('/').map_or(m.repository.as_str(), |(_, name)| name),
                m.app
            ),
            PlanError::MissingImage(m) if crate::model::container::is_digest(&m.version) => format!(
                "list the repository's digests (`aws ecr describe-images --repository-name {}`), or set `apps.{}.version` to a pushed tag",
                m.repository.split_once('/').map_or(m.repository.as_str(), |(_, name)| name),
                m.app
            ),
            PlanError::MissingImage(m) => format!(
                "push the image first (`docker push {}:{}`), or set `apps.{}.version` to a pushed tag",
                m.repository, m.version, m.app
            ),
            PlanError::SiteArchive { .. } => {
                "build the tarball from the site's own directory: relative paths inside it, no links out of it, within `max_size_mb`".to_owned()
            }
            PlanError::ReleaseChanged { release, .. } => format!(
                "a version is immutable once uploaded: give the new build a new version, or restore the tarball of {release}"
            ),
            PlanError::NoOrigin { bucket, .. } => format!(
                "give the distribution an origin for `{bucket}` (domain `{bucket}.s3.amazonaws.com`), or name the distribution that serves it"
            ),
            PlanError::NoImage { .. } => {
                "check the name pattern and owner with `aws ec2 describe-images --owners OWNER --filters Name=name,Values=PATTERN`".to_owned()
            }
            PlanError::Conflict { .. } => {
                "rollstack never adopts or touches resources without its ownership tags: rename the resource in the stack file, or remove the other one".to_owned()
            }
            PlanError::DescriptionChange { .. } => {
                "restore the description in the stack file; for a new description, give the group a new name as well: rollstack then creates the new group, rolls the instances that use it onto it, and deletes the old one".to_owned()
            }
            PlanError::SeveralVpcs { .. } => {
                "list subnets of one VPC in `network.subnets` and `groups.*.subnets`".to_owned()
            }
            PlanError::RootVolume { .. } => {
                "set `root_volume.size_gb` to at least the image's size, or use an image whose root device EC2 reports".to_owned()
            }
            PlanError::UserDataTooLarge { .. } => {
                "fetch the rest at boot (from S3, say) and keep the user data a small bootstrap script".to_owned()
            }
            PlanError::NoDefaultVpc => {
                "name the subnets to launch into in `network.subnets`".to_owned()
            }
            PlanError::MoveConflict { from, .. } => format!(
                "the new group was applied before the entry was added: drop the `moved` entry to let the plan delete `{from}`, or destroy the new group's instances first"
            ),
            PlanError::ForeignRecord(_) => {
                "rollstack never touches a record it did not make (its TXT marker is missing): delete or rename the record, or move the stack's `dns.name`".to_owned()
            }
            PlanError::Unpublished { stack, .. } => format!(
                "apply stack `{stack}` first: its outputs are published by its first successful apply"
            ),
            PlanError::NoAlarm { .. } => {
                "check the name with `aws cloudwatch describe-alarms --alarm-names NAME`, or create the alarm first".to_owned()
            }
        }
    }
}

fn missing_image(m: &MissingImage) -> String {
    if m.no_repository {
        format!(
            "repository `{}` of app `{}` not found in ECR",
            m.repository, m.app
        )
    } else if crate::model::container::is_digest(&m.version) {
        format!(
            "image `{}@{}` of app `{}` not found in ECR",
            m.repository, m.version, m.app
        )
    } else {
        format!(
            "image tag `{}` of app `{}` not found in ECR: `{}:{}`",
            m.version, m.app, m.repository, m.version
        )
    }
}
