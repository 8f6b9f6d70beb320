//! Failures of the file-system blob store, with the path involved.

use miniaws_core::CoreError;
use miniaws_core::error::Dependency;
use std::io;
use std::path::PathBuf;

/// What went wrong on disk, and where.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// A directory of the store could not be created or synced.
    #[error("cannot prepare directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A temporary file could not be created or written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The temporary file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// fsync failed: the data may not be on disk.
    #[error("cannot sync {path}: {source}")]
    Sync {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The rename into place failed.
    #[error("cannot rename {from} to {to}: {source}")]
    Rename {
        /// The temporary file.
        from: PathBuf,
        /// The blob's path.
        to: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A blob could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The blob's path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A blob or temporary could not be removed.
    #[error("cannot remove {path}: {source}")]
    Remove {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The writer thread went away.
    #[error("the blob writer stopped unexpectedly: {0}")]
    Writer(String),
}

impl BlobError {
    fn io(&self) -> Option<&io::Error> {
        match self {
            BlobError::Dir { source, .. }
            | BlobError::Write { source, .. }
            | BlobError::Sync { source, .. }
            | BlobError::Rename { source, .. }
            | BlobError::Read { source, .. }
            | BlobError::Remove { source, .. } => Some(source),
            BlobError::Writer(_) => None,
        }
    }
}

impl From<BlobError> for CoreError {
    fn from(err: BlobError) -> Self {
        // A full or read-only disk is the operator's to fix: say so.
        let unavailable = err.io().is_some_and(|e| {
            matches!(
                e.kind(),
                io::ErrorKind::StorageFull
                    | io::ErrorKind::ReadOnlyFilesystem
                    | io::ErrorKind::QuotaExceeded
            )
        });
        if unavailable {
            CoreError::unavailable(
                Dependency::Storage,
                format!(
                    "the object store cannot write: {err}; free space or fix the data directory"
                ),
            )
        } else {
            CoreError::internal("blob store failure", err)
        }
    }
}
