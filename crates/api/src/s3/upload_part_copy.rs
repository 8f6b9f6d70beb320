//! UploadPartCopy: a part from (a byte range of) an existing object. In an
//! upload created with a checksum algorithm the part's checksum is computed
//! while the bytes are copied, kept, and answered in `CopyPartResult`; in
//! one created without, so is S3's default, the part's CRC64NVME.

use miniaws_core::storage::{GetObjectOptions, RangeSpec};
use s3s::dto::{CopyPartResult, UploadPartCopyInput, UploadPartCopyOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::body::Algorithm;
use super::convert::{StoredChecksums, conditions, etag, timestamp};
use super::copy_object::source;
use super::{MiniS3, caller, detached, object_error, part_number};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let number = part_number(input.part_number)?;
    let (src_bucket, src_key, src_version) = source(&input.copy_source)?;
    // x-amz-copy-source-range must be `bytes=first-last`.
    let range = match input.copy_source_range.as_deref() {
        None => None,
        Some(r) => match RangeSpec::parse(r) {
            Some(spec @ RangeSpec::FromTo(_, Some(_))) => Some(spec),
            _ => {
                return Err(s3_error!(
                    InvalidArgument,
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
                ));
            }
        },
    };
    let options = GetObjectOptions {
        if_range: None,
        range,
        part_number: None,
        conditions: conditions(
            input.copy_source_if_match,
            input.copy_source_if_none_match,
            input.copy_source_if_modified_since,
            input.copy_source_if_unmodified_since,
        ),
        version: src_version,
    };
    // The copy runs to the end even if the client goes away.
    let multipart = s3.state.multipart.clone();
    let (src_bucket, src_key) = (src_bucket.to_owned(), src_key.to_owned());
    let (bucket, key, upload_id) = (input.bucket, input.key, input.upload_id);
    let (part, source_version) = detached(async move {
        multipart
            .upload_part_copy(
                caller,
                &bucket,
                &key,
                &upload_id,
                number,
                &src_bucket,
                &src_key,
                &options,
            )
            .await
    })
    .await
    .map_err(object_error)?;
    let sums = StoredChecksums::of(
        part.checksum
            .as_ref()
            .map(|c| (Algorithm::from_core(c.algorithm), c.value.clone())),
    );
    Ok(S3Response::new(UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(etag(&part.etag)),
            last_modified: Some(timestamp(part.last_modified)),
            checksum_crc32: sums.crc32,
            checksum_crc32c: sums.crc32c,
            checksum_crc64nvme: sums.crc64nvme,
            checksum_sha1: sums.sha1,
            checksum_sha256: sums.sha256,
        }),
        copy_source_version_id: source_version.or(src_version).map(|v| v.to_string()),
        server_side_encryption: super::request_options::sse_s3(),
        ..Default::default()
    }))
}
