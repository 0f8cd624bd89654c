//! The headers a site's file is uploaded with: its content type (by extension) and its
//! `Cache-Control` (by the first matching glob of `cache:`).

use globset::{Glob, GlobBuilder, GlobMatcher};

/// `cache:` compiled: globs in the file's order, each with its `Cache-Control`.
#[derive(Clone, Debug)]
pub struct CacheRules(Vec<(GlobMatcher, bool, String)>);

impl CacheRules {
    /// Compiles `rules` (glob, value); `Err` names the glob that does not compile.
    pub fn new(rules: &[(String, String)]) -> Result<CacheRules, (String, String)> {
        let compiled = rules
            .iter()
            .map(|(glob, value)| {
                let matcher = GlobBuilder::new(glob)
                    .literal_separator(true)
                    .build()
                    .map(|g: Glob| g.compile_matcher())
                    .map_err(|e| (glob.clone(), e.kind().to_string()))?;
                // A glob without `/` matches a file's name at any depth, as in .gitignore.
                Ok::<_, (String, String)>((matcher, !glob.contains('/'), value.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(CacheRules(compiled))
    }

    /// The `Cache-Control` of the file at `path`: the first glob that matches.
    pub fn cache_control(&self, path: &str) -> Option<&str> {
        let name = path.rsplit('/').next().unwrap_or(path);
        self.0
            .iter()
            .find(|(glob, by_name, _)| glob.is_match(if *by_name { name } else { path }))
            .map(|(_, _, value)| value.as_str())
    }
}

/// The content type of the file at `path`, by its extension (`text/*` in UTF-8).
pub fn content_type(path: &str) -> String {
    let guessed = mime_guess::from_path(path).first_or_octet_stream();
    if guessed.type_() == mime_guess::mime::TEXT {
        format!("{}; charset=utf-8", guessed.essence_str())
    } else {
        guessed.essence_str().to_owned()
    }
}
