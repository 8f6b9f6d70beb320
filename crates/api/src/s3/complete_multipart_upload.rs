//! CompleteMultipartUpload: ETag `"<md5-of-md5s>-N"`; `InvalidPart`,
//! `InvalidPartOrder`, `EntityTooSmall`. `If-None-Match: *` and `If-Match`
//! make it conditional (see [`super::write_conditions`]): checked before the
//! parts are assembled, and again atomically by the commit.

use miniaws_core::multipart::CompletedPart;
use s3s::dto::{CompleteMultipartUploadInput, CompleteMultipartUploadOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::convert::etag;
use super::write_conditions::write_condition;
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let condition = write_condition(input.if_match, input.if_none_match)?;
    let parts = input
        .multipart_upload
        .and_then(|m| m.parts)
        .unwrap_or_default();
    let mut requested = Vec::with_capacity(parts.len());
    for p in parts {
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
        });
    }
    if requested.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: name at least one part"
        ));
    }
    let meta = s3
        .multipart()
        .complete(
            caller,
            &input.bucket,
            &input.key,
            &input.upload_id,
            &requested,
            &condition,
        )
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(CompleteMultipartUploadOutput {
        bucket: Some(input.bucket.clone()),
        key: Some(input.key.clone()),
        e_tag: Some(etag(&meta.etag)),
        location: Some(format!("/{}/{}", input.bucket, input.key)),
        ..Default::default()
    }))
}
