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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_under_the_environment() {
        assert_eq!(lock("shop", "prod"), "rollstack/shop/prod/lock.json");
        assert_eq!(freeze("shop", "prod"), "rollstack/shop/prod/freeze.json");
        assert_eq!(
            history_entry("shop", "prod", 42),
            "rollstack/shop/prod/history/000042.json"
        );
        assert_eq!(signals("shop", "prod"), "rollstack/shop/prod/signals/");
    }
}
