//! ListParts.

use s3s::dto::{Initiator, ListPartsInput, ListPartsOutput, Part};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::convert::{etag, owner, timestamp};
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
    let max_parts = input.max_parts.unwrap_or(1000).clamp(1, 1000) as u32;
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
        storage_class: Some("STANDARD".to_owned().into()),
        parts: Some(
            listing
                .parts
                .iter()
                .map(|p| Part {
                    part_number: Some(p.part_number as i32),
                    e_tag: Some(etag(&p.etag)),
                    size: i64::try_from(p.size_bytes).ok(),
                    last_modified: Some(timestamp(p.last_modified)),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    }))
}
