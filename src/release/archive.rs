//! A site's release tarball read in memory: every file with its digest and size, and
//! archives that would write outside the release refused before anything is uploaded.

use std::collections::BTreeMap;
use std::io::Read;

use sha2::{Digest, Sha256};

/// One file of a release, as uploaded under `releases/{version}/{path}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveFile {
    /// Its path in the release (`assets/app.js`), `/`-separated, never `..` nor absolute.
    pub path: String,
    /// Hex SHA-256 of its contents: a version's files never change.
    pub sha256: String,
    /// Its contents.
    pub contents: Vec<u8>,
}

/// Why an archive is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// An entry would land outside the release.
    #[error("`{path}` {why}")]
    Unsafe {
        /// The entry's path as the archive has it.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The files add up to more than the limit.
    #[error("the files add up to more than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Not a gzipped tarball, or a damaged one.
    #[error("not a readable .tar.gz: {0}")]
    Unreadable(String),
    /// No files at all.
    #[error("the archive holds no files")]
    Empty,
}

/// Reads the gzipped tarball `bytes`: its regular files (symbolic links inside the tree
/// become copies of their targets), at most `limit` bytes in all.
pub fn read(bytes: &[u8], limit: u64) -> Result<Vec<ArchiveFile>, ArchiveError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let unreadable = |e: std::io::Error| ArchiveError::Unreadable(e.to_string());
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut links: Vec<(String, String)> = Vec::new();
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let path = clean(&raw)?;
        if kind.is_symlink() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            links.push((path, resolve_link(&raw, &target)?));
            continue;
        }
        if kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            links.push((path, clean(&target)?));
            continue;
        }
        if !kind.is_file() {
            return Err(ArchiveError::Unsafe {
                path: raw,
                why: "is not a file, a directory or a link",
            });
        }
        let size = entry.header().size().map_err(unreadable)?;
        total = total.saturating_add(size);
        if total > limit {
            return Err(ArchiveError::TooLarge { limit });
        }
        let mut contents = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        // Never more than the header says, whatever the stream holds.
        entry
            .by_ref()
            .take(size)
            .read_to_end(&mut contents)
            .map_err(unreadable)?;
        files.insert(path, contents);
    }
    for (path, target) in links {
        let Some(contents) = files.get(&target).cloned() else {
            return Err(ArchiveError::Unsafe {
                path,
                why: "links to a file that is not in the archive",
            });
        };
        total = total.saturating_add(contents.len() as u64);
        if total > limit {
            return Err(ArchiveError::TooLarge { limit });
        }
        files.insert(path, contents);
    }
    if files.is_empty() {
        return Err(ArchiveError::Empty);
    }
    Ok(files
        .into_iter()
        .map(|(path, contents)| ArchiveFile {
            path,
            sha256: hex::encode(Sha256::digest(&contents)),
            contents,
        })
        .collect())
}

/// `raw` as a path inside the release: `./` and empty parts dropped; absolute paths and
/// `..` refused.
fn clean(raw: &str) -> Result<String, ArchiveError> {
    let unsafe_path = |why| ArchiveError::Unsafe {
        path: raw.to_owned(),
        why,
    };
    if raw.starts_with('/') || raw.starts_with('\\') || raw.get(1..2) == Some(":") {
        return Err(unsafe_path("is an absolute path"));
    }
    let mut parts = Vec::new();
    for part in raw.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_path("leaves the release (`..`)")),
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err(unsafe_path("names no file"));
    }
    Ok(parts.join("/"))
}

/// The path a symbolic link at `link` pointing at `target` names, inside the release.
fn resolve_link(link: &str, target: &str) -> Result<String, ArchiveError> {
    let out = || ArchiveError::Unsafe {
        path: link.to_owned(),
        why: "links out of the release",
    };
    if target.starts_with('/') {
        return Err(out());
    }
    let mut parts: Vec<&str> = link
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or_else(out)?;
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err(out());
    }
    Ok(parts.join("/"))
}
