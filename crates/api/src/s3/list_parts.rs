//! ListParts, with each part's checksum and the upload's algorithm, and
//! `x-amz-abort-date` / `x-amz-abort-rule-id` when the bucket's lifecycle
//! aborts the upload.

use s3s::dto::{Initiator, ListPartsInput, ListPartsOutput, Part};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::body::Algorithm;
use super::convert::{StoredChecksums, etag, owner, timestamp, upload_checksum};
use super::expiration::{abort_date, abort_rule_id};
use super::request_options::{STORAGE_CLASS, listed_class};
use super::wire::invalid_argument;
use super::{MiniS3, caller, object_error};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let after = match input.part_number_marker {
        None => 0,
        Some(m) => u32::try_from(m).map_err(|_| {
            s3_error!(
                InvalidArgument,
                "part-number-marker must be a non-negative integer"
            )
        })?,
    };
    let max_parts = match input.max_parts {
        None => 1000,
        Some(n) => u32::try_from(n).map_err(|_| {
            invalid_argument(
                "Argument max-parts must be an integer between 0 and 2147483647",
                "max-parts",
                &n.to_string(),
            )
        })?,
    }
    .min(1000);
    let listing = s3
        .multipart()
        .list_parts(
            caller,
            &input.bucket,
            &input.key,
            &input.upload_id,
            after,
            max_parts,
        )
        .await
        .map_err(object_error)?;
    let who = owner(caller);
    let (checksum_algorithm, checksum_type) = upload_checksum(&listing.upload);
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        part_number_marker: i32::try_from(after).ok(),
        next_part_number_marker: listing
            .next_part_number_marker
            .and_then(|n| i32::try_from(n).ok()),
        max_parts: Some(max_parts as i32),
        is_truncated: Some(listing.is_truncated),
        initiator: Some(Initiator {
            id: who.id.clone(),
            display_name: who.display_name.clone(),
        }),
        owner: Some(who),
        storage_class: Some(listed_class(listing.upload.headers.get(STORAGE_CLASS)).into()),
        checksum_algorithm,
        checksum_type,
        abort_date: abort_date(listing.abort.as_ref()),
        abort_rule_id: abort_rule_id(listing.abort.as_ref()),
        parts: Some(
            listing
                .parts
                .iter()
                .map(|p| {
                    let sums = StoredChecksums::of(
                        p.checksum
                            .as_ref()
                            .map(|c| (Algorithm::from_core(c.algorithm), c.value.clone())),
                    );
                    Part {
                        part_number: Some(p.part_number as i32),
                        e_tag: Some(etag(&p.etag)),
                        size: i64::try_from(p.size_bytes).ok(),
                        last_modified: Some(timestamp(p.last_modified)),
                        checksum_crc32: sums.crc32,
                        checksum_crc32c: sums.crc32c,
                        checksum_crc64nvme: sums.crc64nvme,
                        checksum_sha1: sums.sha1,
                        checksum_sha256: sums.sha256,
                    }
                })
                .collect(),
        ),
        ..Default::default()
    }))
}
