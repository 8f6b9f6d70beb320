//! Multipart uploads (S3's CreateMultipartUpload … CompleteMultipartUpload):
//! parts are blobs like any object body, and completing an upload streams
//! them, in order, into one new blob that is committed, together with the
//! removal of the upload's rows, in one transaction
//! ([`MultipartRepo::complete_upload`]).
//!
//! The rules (part numbers, ETag checks, minimum part size, ownership,
//! expiry of abandoned uploads, S3's additional checksums of parts and of
//! the completed object) live in [`MultipartService`]; the metadata of
//! uploads and parts goes through a [`MultipartRepo`].

mod checksum;
mod domain;
mod ports;
mod recent;
mod service;

#[cfg(test)]
mod tests;

pub use checksum::{ChecksumAlgorithm, ChecksumHasher, PartChecksum, composite_checksum};
pub use domain::{
    MAX_PART_NUMBER, MIN_PART_SIZE_BYTES, MultipartUpload, NewUpload, Part, UploadId,
    multipart_etag,
};
pub use ports::{CompletedUpload, MultipartRepo};
pub(crate) use service::feeding;
pub use service::{
    CHECKSUM_TYPE_HEADER, CompletedPart, DEFAULT_CHECKSUM, ExpectedObject, MultipartService,
    PartListing, UploadListing, checksum_header,
};
