//! UploadPart: a part streams to disk like any body; its checksum is
//! verified, kept with the part (ListParts, the composite at completion)
//! and echoed. A part sent without one into an upload created without an
//! algorithm gets S3's default, a CRC64NVME the core computes as the body
//! streams, kept and answered (`x-amz-checksum-crc64nvme`) the same way.

use miniaws_core::multipart::PartChecksum;
use s3s::dto::{UploadPartInput, UploadPartOutput};
use s3s::{S3Request, S3Response, S3Result};

use super::body::{Algorithm, checked_body, checksum_request};
use super::convert::{StoredChecksums, content_md5, etag};
use super::request_options::carries_checksum;
use super::{MiniS3, caller, detached, part_number};
use crate::linger::SharedBody;

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let caller = caller(&req)?;
    let check = checksum_request(&req.headers)?;
    let client_checksum = check.is_some();
    // A part of an object that will be locked needs a checksum of its body.
    let summed = carries_checksum(&req.headers);
    let input = req.input;
    let number = part_number(input.part_number)?;
    let expected_md5 = content_md5(input.content_md5.as_deref())?;
    let content_length = input.content_length.and_then(|l| u64::try_from(l).ok());
    // Kept to drain what is left of a body refused before it is read.
    let shared = input.body.map(|b| SharedBody::new(b, &req.headers));
    let (body, outcome) = checked_body(shared.clone(), check, req.trailing_headers);
    let computed = outcome.clone();
    // In a task of its own: a client that goes away mid-body fails the
    // write (nothing is kept), and one that goes away after it cannot cut
    // the part's commit off half-way.
    let multipart = s3.state.multipart.clone();
    let (bucket, key, upload_id) = (input.bucket, input.key, input.upload_id);
    let part = detached(async move {
        multipart
            .upload_part(
                caller,
                &bucket,
                &key,
                &upload_id,
                number,
                body,
                content_length,
                expected_md5,
                client_checksum,
                summed,
                move || {
                    computed.checksum().map(|(a, value)| PartChecksum {
                        algorithm: a.core(),
                        value,
                    })
                },
            )
            .await
    })
    .await;
    let part = SharedBody::on_refusal(shared, part)
        .await
        .map_err(|e| outcome.error(e))?;
    let sums = StoredChecksums::of(
        part.checksum
            .as_ref()
            .map(|c| (Algorithm::from_core(c.algorithm), c.value.clone())),
    );
    Ok(S3Response::new(UploadPartOutput {
        e_tag: Some(etag(&part.etag)),
        checksum_crc32: sums.crc32,
        checksum_crc32c: sums.crc32c,
        checksum_crc64nvme: sums.crc64nvme,
        checksum_sha1: sums.sha1,
        checksum_sha256: sums.sha256,
        server_side_encryption: super::request_options::sse_s3(),
        ..Default::default()
    }))
}
