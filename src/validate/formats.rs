//! Shape rules for names and AWS identifiers. Each returns what was expected on failure.

use std::net::Ipv4Addr;

/// Longest name of a stack, group, role, app, security group or CloudFormation node.
pub const MAX_NAME: usize = 32;
/// Longest environment name (it is part of every AWS name and tag).
pub const MAX_ENV_NAME: usize = 24;

/// `[a-z][a-z0-9-]*`, at most `max` characters, not ending in `-`.
pub fn name(value: &str, max: usize) -> Result<(), String> {
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if first_ok && rest_ok && value.len() <= max && !value.ends_with('-') {
        Ok(())
    } else {
        Err(format!(
            "a name of lowercase letters, digits and `-`, starting with a letter, at most {max} characters"
        ))
    }
}

/// An environment's name, whether a file's `environments:` or `env up` gives it: a
/// [`name`] of at most [`MAX_ENV_NAME`] characters. On failure, the message and what
/// was expected.
pub fn environment_name(value: &str) -> Result<(), (String, String)> {
    name(value, MAX_ENV_NAME)
        .map_err(|expected| (format!("invalid environment name `{value}`"), expected))
}

/// A lowercase version of `value` that passes [`name`], to suggest.
pub fn suggest_name(value: &str, max: usize) -> Option<String> {
    let mut fixed: String = value
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    fixed.truncate(max);
    let fixed = fixed.trim_matches('-').to_owned();
    (name(&fixed, max).is_ok() && fixed != value).then_some(fixed)
}

/// An AWS region such as `us-east-1`.
pub fn region(value: &str) -> Result<(), String> {
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err("an AWS region such as `us-east-1`".into())
    }
}

/// An AWS account id: 12 digits, as AWS prints it (leading zeros kept; quote it in
/// YAML so it stays text).
pub fn account_id(value: &str) -> Result<(), String> {
    if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err("an AWS account id: 12 digits, such as `123456789012`".into())
    }
}

/// A Route 53 hosted zone id: uppercase letters and digits, as `aws route53
/// list-hosted-zones` prints it without `/hostedzone/`.
pub fn zone_id(value: &str) -> Result<(), String> {
    if (1..=32).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        Ok(())
    } else {
        Err("a hosted zone id such as `Z0123456789ABCDEFGHIJ` (without `/hostedzone/`)".into())
    }
}

/// A domain name records can be made under: two or more labels of lowercase letters,
/// digits and inner `-`, at most 200 characters (room for `{role}.{env}.` in front).
pub fn domain(value: &str) -> Result<(), String> {
    let labels: Vec<&str> = value.split('.').collect();
    let ok = value.len() <= 200
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err("a domain name such as `internal.example.com`, lowercase".into())
    }
}

/// An S3 bucket name: 3-63 characters of lowercase letters, digits, `.` and `-`.
pub fn bucket(value: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !value.contains("..");
    if ok {
        Ok(())
    } else {
        Err("an S3 bucket name: 3-63 lowercase letters, digits, `.` and `-`".into())
    }
}

/// An id with a prefix and lowercase hex/alphanumerics: `subnet-0a1b`, `ami-0abc1234`.
pub fn aws_id(value: &str, prefix: &str) -> Result<(), String> {
    let ok = value
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| {
            !rest.is_empty()
                && rest.len() <= 17
                && rest
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        });
    if ok {
        Ok(())
    } else {
        Err(format!("an id like `{prefix}-0abc1234`"))
    }
}

/// An EC2 instance type such as `t3.small`.
pub fn instance_type(value: &str) -> Result<(), String> {
    let ok = value.split_once('.').is_some_and(|(family, size)| {
        family.starts_with(|c: char| c.is_ascii_lowercase())
            && family
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !size.is_empty()
            && size
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    });
    if ok {
        Ok(())
    } else {
        Err("an instance type such as `t3.small`".into())
    }
}

/// An image owner: a 12-digit account id or `amazon`, `self`, `aws-marketplace`.
pub fn image_owner(value: &str) -> Result<(), String> {
    let ok = matches!(value, "amazon" | "self" | "aws-marketplace")
        || (value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err("a 12-digit account id, `amazon`, `self` or `aws-marketplace`".into())
    }
}

/// An IPv4 CIDR block whose address has no bits beyond the prefix.
pub fn cidr(value: &str) -> Result<(), String> {
    let expected = || "an IPv4 CIDR block such as `203.0.113.0/24`".to_owned();
    let (address, prefix) = value.split_once('/').ok_or_else(expected)?;
    let address: Ipv4Addr = address.parse().map_err(|_| expected())?;
    let prefix: u32 = prefix.parse().map_err(|_| expected())?;
    if prefix > 32 {
        return Err(expected());
    }
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    let bits = u32::from(address);
    if bits & !mask != 0 {
        let network = Ipv4Addr::from(bits & mask);
        return Err(format!(
            "the network address `{network}/{prefix}` (host bits must be zero)"
        ));
    }
    Ok(())
}

/// An app version: letters, digits, `.`, `_`, `+`, `-`; at most 128 characters.
pub fn version(value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    if ok {
        Ok(())
    } else {
        Err("a version of letters, digits, `.`, `_`, `+` and `-`, such as `2024.11.3`".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name("www", 32).is_ok());
        assert!(name("web-2", 32).is_ok());
        assert!(name("Web", 32).is_err());
        assert!(name("2web", 32).is_err());
        assert!(name("web-", 32).is_err());
        assert!(name(&"a".repeat(33), 32).is_err());
        assert_eq!(suggest_name("My_Shop", 32).as_deref(), Some("my-shop"));
    }

    #[test]
    fn identifiers() {
        assert!(region("us-east-1").is_ok());
        assert!(region("eu-central-2").is_ok());
        assert!(region("useast1").is_err());
        assert!(account_id("012345678901").is_ok());
        assert!(account_id("12345678901").is_err());
        assert!(account_id("12345678901a").is_err());
        assert!(bucket("acme-rollstack").is_ok());
        assert!(bucket("Acme").is_err());
        assert!(aws_id("subnet-0a1", "subnet").is_ok());
        assert!(aws_id("ami-0abc1234", "ami").is_ok());
        assert!(aws_id("ami-XYZ", "ami").is_err());
        assert!(instance_type("t3.small").is_ok());
        assert!(instance_type("t3small").is_err());
        assert!(cidr("0.0.0.0/0").is_ok());
        assert!(cidr("203.0.113.0/24").is_ok());
        assert!(
            cidr("203.0.113.5/24")
                .unwrap_err()
                .contains("203.0.113.0/24")
        );
        assert!(cidr("10.0.0.0/33").is_err());
        assert!(version("2024.11.3").is_ok());
        assert!(version("2024 11").is_err());
    }
}
