//! Release tarballs read in rollstack: a site's files, checked before anything is
//! uploaded, and the headers each is served with.

pub mod archive;
pub mod headers;

pub use archive::{ArchiveError, ArchiveFile, read};
pub use headers::{CacheRules, content_type};

#[cfg(test)]
mod tests;
