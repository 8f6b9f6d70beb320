//! CompleteMultipartUpload: ETag `"<md5-of-md5s>-N"`; `InvalidPart`,
//! `InvalidPartOrder`, `EntityTooSmall`. `If-None-Match: *` and `If-Match`
//! make it conditional (see [`super::write_conditions`]): checked before the
//! parts are assembled, and again atomically by the commit.
//!
//! The commit consumes the upload in the same transaction: of concurrent
//! completes of one upload (or a complete and an abort) exactly one
//! commits. The others answer `NoSuchUpload`, unless they name the same
//! parts as the one that committed: then (an SDK's retry) they get its
//! answer, as on S3 (see `miniaws_core::multipart`'s recent completions).
//!
//! A part may name its checksum (`ChecksumCRC32`, …): it must be the one
//! the part was stored with, else `InvalidPart`. An upload created with a
//! checksum algorithm needs one for every part (for a composite), and its
//! object gets their composite checksum (`x-amz-checksum-type: COMPOSITE`)
//! or a CRC of all its bytes (`FULL_OBJECT`), answered here; an object
//! checksum the request names (`x-amz-checksum-*`) must match it
//! (`BadDigest`). An upload created without one gets S3's default: its
//! parts' CRC64NVMEs may be named or not, and the object gets a
//! `FULL_OBJECT` CRC64NVME of all its bytes (which the request may name).
//!
//! `x-amz-expiration` says when the bucket's lifecycle expires the object.

use miniaws_core::multipart::{CompletedPart, ExpectedObject};
use s3s::dto::{ChecksumType, CompleteMultipartUploadInput, CompleteMultipartUploadOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::convert::{StoredChecksums, etag, named_checksum};
use super::expiration::expiration_header;
use super::write_conditions::write_condition;
use super::{MiniS3, caller, detached, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let condition = write_condition(input.if_match, input.if_none_match)?;
    let object_checksum = named_checksum(
        input.checksum_crc32,
        input.checksum_crc32c,
        input.checksum_crc64nvme,
        input.checksum_sha1,
        input.checksum_sha256,
    )?;
    let parts = input
        .multipart_upload
        .and_then(|m| m.parts)
        .unwrap_or_default();
    let mut requested = Vec::with_capacity(parts.len());
    for p in parts {
        let checksum = named_checksum(
            p.checksum_crc32,
            p.checksum_crc32c,
            p.checksum_crc64nvme,
            p.checksum_sha1,
            p.checksum_sha256,
        )?;
        let (Some(number), Some(tag)) = (p.part_number, p.e_tag) else {
            return Err(s3_error!(
                MalformedXML,
                "every Part needs a PartNumber and an ETag"
            ));
        };
        let part_number = u32::try_from(number)
            .map_err(|_| s3_error!(InvalidArgument, "invalid part number {number}"))?;
        requested.push(CompletedPart {
            part_number,
            etag: tag.value().to_owned(),
            checksum,
        });
    }
    if requested.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: name at least one part"
        ));
    }
    // Assembly and commit run to the end even if the client goes away.
    let multipart = s3.state.multipart.clone();
    let (bucket, key, upload_id) = (
        input.bucket.clone(),
        input.key.clone(),
        input.upload_id.clone(),
    );
    let size = match input.mpu_object_size {
        None => None,
        Some(n) => Some(u64::try_from(n).map_err(|_| {
            s3_error!(
                InvalidArgument,
                "x-amz-mp-object-size must be a size in bytes, not {n}"
            )
        })?),
    };
    let full_object = match input.checksum_type.as_ref().map(|t| t.as_str()) {
        None => None,
        Some(t) if t.eq_ignore_ascii_case(ChecksumType::FULL_OBJECT) => Some(true),
        Some(t) if t.eq_ignore_ascii_case(ChecksumType::COMPOSITE) => Some(false),
        Some(t) => {
            return Err(s3_error!(
                InvalidRequest,
                "Value for x-amz-checksum-type header is invalid: {t} (FULL_OBJECT or COMPOSITE)"
            ));
        }
    };
    let (meta, expiration) = detached(async move {
        let expected = ExpectedObject {
            checksum: object_checksum.as_ref(),
            size,
            full_object,
        };
        multipart
            .complete_checked(
                caller, &bucket, &key, &upload_id, &requested, &condition, &expected,
            )
            .await
    })
    .await
    .map_err(object_error)?;
    let sums = StoredChecksums::from_meta(&meta);
    Ok(S3Response::new(CompleteMultipartUploadOutput {
        bucket: Some(input.bucket.clone()),
        key: Some(input.key.clone()),
        e_tag: Some(etag(&meta.etag)),
        location: Some(format!("/{}/{}", input.bucket, input.key)),
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        checksum_type: sums.checksum_type,
        server_side_encryption: super::request_options::sse_s3(),
        expiration: expiration_header(expiration.as_ref()),
        version_id: super::versions::answer_version(&meta, None),
        ..Default::default()
    }))
}
