//! Redaction: sensitive values never reach plan output, saved plans or logs.

/// Shown in place of a sensitive value.
pub const SENSITIVE: &str = "(sensitive)";

/// Replaces every known sensitive value in text with [`SENSITIVE`], wherever it shows up
/// (a parameter, or a secret that a template output carried into user data).
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for `secrets`; empty values are ignored.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), SENSITIVE);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_wherever_they_appear() {
        let r = Redactor::new([
            "hunter2".to_owned(),
            String::new(),
            "hunter2-long".to_owned(),
        ]);
        assert_eq!(
            r.redact("PASSWORD=hunter2-long\nOTHER=hunter2"),
            "PASSWORD=(sensitive)\nOTHER=(sensitive)"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }
}
