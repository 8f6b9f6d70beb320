//! The blob store adapter of the Mini AWS hexagon: object bytes on the local
//! file system, implementing [`BlobStore`](miniaws_core::storage::BlobStore).
//!
//! Blobs live under `<data-dir>/objects/` at `ab/<uuid>` (blobs of the first
//! layout, `ab/cd/<uuid>`, are still read, deleted and swept), a path
//! derived from the blob id alone, so no bucket name or key ever reaches the
//! file system. A write streams into `objects/tmp/`, is fsynced, renamed into
//! place and its directory fsynced before it reports success; a crash at any
//! point leaves either no blob or a complete one, plus temporaries that the
//! start-up sweep removes.

mod error;
mod fs;

pub use error::BlobError;
pub use fs::{FsBlobStore, READ_CHUNK_BYTES};
