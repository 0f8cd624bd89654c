//! Completion of values that come from the stack file.

/// Completes `--env` with the environments of the stack file on the command line being
/// completed (`default` for a file without any); nothing when there is none.
pub(super) fn environment_completer() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(|current: &std::ffi::OsStr| {
        let current = current.to_string_lossy();
        // The words being completed follow `--` in this process's arguments.
        let file = std::env::args()
            .skip_while(|a| a != "--")
            .find(|a| a.ends_with(".yaml") || a.ends_with(".yml"));
        let Some(text) = file.and_then(|f| std::fs::read_to_string(f).ok()) else {
            return Vec::new();
        };
        let names: Vec<String> = match serde_yaml::from_str::<serde_yaml::Value>(&text)
            .ok()
            .as_ref()
            .and_then(|v| v.get("environments"))
            .and_then(|e| e.as_mapping())
        {
            Some(envs) => envs
                .keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect(),
            None => vec!["default".to_owned()],
        };
        names
            .into_iter()
            .filter(|n| n.starts_with(current.as_ref()))
            .map(clap_complete::CompletionCandidate::new)
            .collect()
    })
}
