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
    /// A blob's bytes on disk are not as many as its metadata records: the
    /// file was cut or grown outside Mini AWS (or by a failing disk).
    #[error("blob {path} is damaged: it holds {stored} bytes, its object {recorded}")]
    Damaged {
        /// The blob's file (or a composite's directory).
        path: PathBuf,
        /// The bytes on disk.
        stored: u64,
        /// The bytes its object records.
        recorded: u64,
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
            BlobError::Writer(_) | BlobError::Damaged { .. } => None,
        }
    }
}

impl From<BlobError> for CoreError {
    fn from(err: BlobError) -> Self {
        let kind = err.io().map(io::Error::kind);
        // A full disk or quota is the operator's to fix, and not by waiting:
        // 507, with a message that names no path (it is sent to the client;
        // the log has the whole error, path included, from the warning).
        if matches!(
            kind,
            Some(io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
        ) {
            tracing::warn!(error = %err, "the object store's disk is full");
            let what = err.io().map(ToString::to_string).unwrap_or_default();
            return CoreError::insufficient_storage(
                Dependency::Storage,
                format!(
                    "the object store is full ({what}); nothing was stored: delete objects or free space on the server's data directory"
                ),
            );
        }
        // EMFILE / ENFILE: too many connections or files open at once. It
        // passes once fewer are (503, retry), and names no path.
        if matches!(err.io().and_then(io::Error::raw_os_error), Some(23 | 24)) {
            tracing::warn!(error = %err, "the object store cannot open a file: out of file descriptors");
            return CoreError::unavailable(
                Dependency::Storage,
                "the server has run out of file descriptors (too many connections or files open at once); retry once fewer are open",
            );
        }
        if kind == Some(io::ErrorKind::ReadOnlyFilesystem) {
            return CoreError::unavailable(
                Dependency::Storage,
                format!("the object store cannot write: {err}; fix the data directory"),
            );
        }
        CoreError::internal("blob store failure", err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_error(kind_errno: i32) -> BlobError {
        BlobError::Write {
            path: PathBuf::from("/srv/miniaws/objects/tmp/abc.tmp"),
            source: io::Error::from_raw_os_error(kind_errno),
        }
    }

    #[test]
    fn out_of_descriptors_is_unavailable_without_the_path() {
        // EMFILE and ENFILE on Linux.
        for errno in [24, 23] {
            let err = CoreError::from(write_error(errno));
            let CoreError::Unavailable { message, .. } = &err else {
                panic!("errno {errno}: expected Unavailable, got {err:?}");
            };
            assert!(message.contains("file descriptors"), "{message}");
            assert!(!message.contains("/srv"), "{message}");
        }
    }

    #[test]
    fn a_full_disk_is_insufficient_storage_without_the_path() {
        // ENOSPC and EDQUOT on Linux.
        for errno in [28, 122] {
            let err = CoreError::from(write_error(errno));
            let CoreError::InsufficientStorage {
                dependency,
                message,
            } = &err
            else {
                panic!("errno {errno}: expected InsufficientStorage, got {err:?}");
            };
            assert_eq!(*dependency, Dependency::Storage);
            assert!(message.contains("object store is full"), "{message}");
            assert!(
                !message.contains("/srv"),
                "no path for the client: {message}"
            );
        }
    }

    #[test]
    fn a_read_only_disk_is_unavailable_and_other_failures_internal() {
        let err = CoreError::from(write_error(30)); // EROFS
        assert!(matches!(err, CoreError::Unavailable { .. }), "{err:?}");
        let err = CoreError::from(write_error(5)); // EIO
        assert!(matches!(err, CoreError::Internal { .. }), "{err:?}");
    }
}
