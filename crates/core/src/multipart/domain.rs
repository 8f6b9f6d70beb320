//! Multipart uploads and their parts.

use md5::{Digest, Md5};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::checksum::{ChecksumAlgorithm, PartChecksum};
use crate::identity::UserId;
use crate::storage::{BlobId, BucketName, ETag, ObjectKey, Tags, UserMetadata};

uuid_newtype!(
    /// The id of a multipart upload (S3's `UploadId`).
    UploadId
);

/// The highest part number S3 allows.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// Every part but the last must be at least this large (S3's rule).
pub const MIN_PART_SIZE_BYTES: u64 = 5 * 1024 * 1024;

/// An upload in progress: where the object will go and the metadata it
/// will get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartUpload {
    /// The upload id.
    pub id: UploadId,
    /// The target bucket.
    pub bucket: BucketName,
    /// The target key.
    pub key: ObjectKey,
    /// Who started it (the bucket's owner).
    pub owner: UserId,
    /// The completed object's media type; `None`: guessed from the key.
    pub content_type: Option<String>,
    /// The completed object's user metadata.
    pub user_metadata: UserMetadata,
    /// The completed object's other stored headers.
    pub headers: BTreeMap<String, String>,
    /// When the upload was created (abandoned uploads expire from here).
    pub initiated_at: OffsetDateTime,
    /// The additional checksum it was created with: every part must carry
    /// one, and the object gets their composite.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// The completed object's tags (`x-amz-tagging` on the create).
    pub tags: Tags,
}

/// What a new upload needs besides its id, owner and time.
#[derive(Debug, Clone, Default)]
pub struct NewUpload {
    /// The target bucket (validated by the service).
    pub bucket: String,
    /// The target key (validated by the service).
    pub key: String,
    /// The media type.
    pub content_type: Option<String>,
    /// User metadata.
    pub user_metadata: UserMetadata,
    /// Other stored headers.
    pub headers: BTreeMap<String, String>,
    /// The additional checksum of its parts.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// The object's checksum is a full-object one (a CRC of all its bytes,
    /// S3's `FULL_OBJECT` type) instead of the composite of its parts'.
    pub full_object_checksum: bool,
    /// The completed object's tags.
    pub tags: Tags,
}

/// One uploaded part (the latest upload of its number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The upload it belongs to.
    pub upload_id: UploadId,
    /// 1 ..= [`MAX_PART_NUMBER`].
    pub part_number: u32,
    /// Where its bytes are.
    pub blob_id: BlobId,
    /// Its length.
    pub size_bytes: u64,
    /// Its ETag: the hex MD5 of its bytes.
    pub etag: ETag,
    /// When it was uploaded.
    pub last_modified: OffsetDateTime,
    /// Its verified additional checksum, when it came with one; in an
    /// upload created without an algorithm, otherwise S3's default
    /// CRC64NVME of its bytes (`None` for a part stored before parts got
    /// it).
    pub checksum: Option<PartChecksum>,
    /// Its CRC64NVME (base64), computed while it streamed, in an upload
    /// created without an algorithm: completion combines the parts' CRCs
    /// into the object's default full-object checksum without reading
    /// their bytes (migration 0015). `None` in an upload with an algorithm
    /// (its own checksum serves) and for a part stored before the
    /// migration (completion then reads its bytes).
    pub crc64nvme: Option<String>,
}

impl MultipartUpload {
    /// Whether the object gets a full-object checksum (S3's `FULL_OBJECT`
    /// type) rather than a composite one. Kept in the upload's stored
    /// headers, which become the object's: the type header the object will
    /// carry anyway.
    pub fn full_object_checksum(&self) -> bool {
        self.headers
            .get(super::service::CHECKSUM_TYPE_HEADER)
            .map(String::as_str)
            == Some(FULL_OBJECT)
    }
}

/// S3's name of the full-object checksum type.
pub(crate) const FULL_OBJECT: &str = "FULL_OBJECT";

/// The ETag of a multipart object: the MD5 of the parts' binary MD5s,
/// then `-<number of parts>`.
pub fn multipart_etag(parts: &[Part]) -> ETag {
    multipart_etag_of(parts.iter().map(|p| p.etag.as_str()))
}

/// [`multipart_etag`] of the parts whose ETags (hex, unquoted) these are.
pub fn multipart_etag_of<'a>(etags: impl IntoIterator<Item = &'a str>) -> ETag {
    let mut md5 = Md5::new();
    let mut count = 0usize;
    for etag in etags {
        count += 1;
        // Part ETags are hex MD5s we computed ourselves; a malformed one
        // (never stored by this code) contributes its text instead.
        match hex::decode(etag) {
            Ok(bytes) => md5.update(bytes),
            Err(_) => md5.update(etag.as_bytes()),
        }
    }
    ETag::from_stored(format!("{}-{count}", hex::encode(md5.finalize())))
}
