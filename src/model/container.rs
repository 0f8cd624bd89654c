//! Container images in ECR: the one reading of a repository URI and of a version that
//! pins a digest.

use serde::{Deserialize, Serialize};

/// An ECR repository, `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Repository {
    /// The registry: the 12-digit account id that owns the repository.
    pub registry: String,
    /// The registry's region.
    pub region: String,
    /// The repository's name (`team/api`).
    pub name: String,
    /// The registry's host suffix (`amazonaws.com`, `amazonaws.com.cn`).
    pub domain: String,
}

impl Repository {
    /// Reads `uri`; `Err` says what is wrong with it.
    pub fn parse(uri: &str) -> Result<Repository, String> {
        let expected = "an ECR repository, `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`";
        let (host, name) = uri.split_once('/').ok_or_else(|| expected.to_owned())?;
        let mut labels = host.splitn(4, '.');
        let (Some(registry), Some("dkr"), Some("ecr"), Some(rest)) =
            (labels.next(), labels.next(), labels.next(), labels.next())
        else {
            return Err(expected.to_owned());
        };
        let (region, domain) = rest.split_once('.').ok_or_else(|| expected.to_owned())?;
        if registry.len() != 12 || !registry.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{expected}: `{registry}` is not a 12-digit account id"
            ));
        }
        if !matches!(domain, "amazonaws.com" | "amazonaws.com.cn") {
            return Err(format!("{expected}: `{host}` is not an ECR registry"));
        }
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!("{expected}: `{region}` is not a region"));
        }
        if name.contains(':') || name.contains('@') {
            return Err(format!(
                "{expected}, without a tag or digest (the version is `apps.NAME.version`)"
            ));
        }
        if !repository_name(name) {
            return Err(format!(
                "{expected}: `{name}` is not a repository name (lowercase letters, digits, `.`, `_`, `-`, parts separated by `/`)"
            ));
        }
        Ok(Repository {
            registry: registry.to_owned(),
            region: region.to_owned(),
            name: name.to_owned(),
            domain: domain.to_owned(),
        })
    }

    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`.
    pub fn uri(&self) -> String {
        format!(
            "{}.dkr.ecr.{}.{}/{}",
            self.registry, self.region, self.domain, self.name
        )
    }

    /// The registry's host, what `docker login` is given.
    pub fn host(&self) -> String {
        format!("{}.dkr.ecr.{}.{}", self.registry, self.region, self.domain)
    }

    /// The repository's ARN, what IAM policies name.
    pub fn arn(&self) -> String {
        let partition = if self.domain.ends_with(".cn") {
            "aws-cn"
        } else {
            "aws"
        };
        format!(
            "arn:{partition}:ecr:{}:{}:repository/{}",
            self.region, self.registry, self.name
        )
    }

    /// `URI@DIGEST`: the image pinned by its digest.
    pub fn pinned(&self, digest: &str) -> String {
        format!("{}@{digest}", self.uri())
    }
}

/// ECR's repository name rule: 2 to 256 characters, lowercase parts of letters and
/// digits joined by `.`, `_` or `-`, separated by `/`.
fn repository_name(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|part| {
            !part.is_empty()
                && part.split(['.', '_', '-']).all(|piece| {
                    !piece.is_empty()
                        && piece
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        })
}

/// Whether `version` pins an image digest (`sha256:` and 64 hex digits) rather than
/// naming a tag.
pub fn is_digest(version: &str) -> bool {
    version.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

/// A Docker tag: letters, digits, `_`, `.`, `-`, not starting with `.` or `-`, at most
/// 128 characters.
pub fn is_tag(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 128
        && !version.starts_with(['.', '-'])
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_uris_are_read_or_refused() {
        let cases = [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/api",
                Ok(("123456789012", "us-east-1", "api")),
            ),
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api-v2",
                Ok(("123456789012", "eu-west-1", "team/api-v2")),
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/api",
                Ok(("123456789012", "cn-north-1", "api")),
            ),
            ("12345.dkr.ecr.us-east-1.amazonaws.com/api", Err("12-digit")),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.0",
                Err("without a tag"),
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/Api",
                Err("repository name"),
            ),
            ("docker.io/library/nginx", Err("ECR repository")),
            (
                "123456789012.dkr.ecr.us-east-1.example.com/api",
                Err("not an ECR registry"),
            ),
            ("api", Err("ECR repository")),
        ];
        for (uri, want) in cases {
            match (Repository::parse(uri), want) {
                (Ok(r), Ok((registry, region, name))) => {
                    assert_eq!(
                        (r.registry.as_str(), r.region.as_str(), r.name.as_str()),
                        (registry, region, name)
                    );
                    assert_eq!(r.uri(), uri);
                }
                (Err(e), Err(part)) => assert!(e.contains(part), "{uri}: {e}"),
                (got, _) => panic!("{uri}: {got:?}"),
            }
        }
    }

    #[test]
    fn an_arn_names_the_repository() {
        let r = Repository::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api").unwrap();
        assert_eq!(
            r.arn(),
            "arn:aws:ecr:us-east-1:123456789012:repository/team/api"
        );
        assert_eq!(
            r.pinned("sha256:ab"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api@sha256:ab"
        );
    }

    #[test]
    fn versions_are_tags_or_digests() {
        let digest = format!("sha256:{}", "a".repeat(64));
        assert!(is_digest(&digest));
        assert!(!is_digest("sha256:abc"));
        assert!(!is_digest(&format!("sha256:{}", "A".repeat(64))));
        assert!(is_tag("2024.11.3"));
        assert!(is_tag("latest"));
        assert!(!is_tag("1.0+build"));
        assert!(!is_tag("-x"));
        assert!(!is_tag(&digest));
    }
}
