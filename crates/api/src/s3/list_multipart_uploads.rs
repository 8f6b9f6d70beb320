//! ListMultipartUploads (prefix, key-marker, upload-id-marker, max-uploads).

use s3s::dto::{Initiator, ListMultipartUploadsInput, ListMultipartUploadsOutput, MultipartUpload};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::convert::{owner, timestamp};
use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    if input.delimiter.as_deref().is_some_and(|d| !d.is_empty()) {
        return Err(s3_error!(
            NotImplemented,
            "ListMultipartUploads with a delimiter is not implemented"
        ));
    }
    let max_uploads = input.max_uploads.unwrap_or(1000).clamp(1, 1000) as u32;
    let prefix = input.prefix.clone().unwrap_or_default();
    let listing = s3
        .multipart()
        .list_uploads(
            caller,
            &input.bucket,
            &prefix,
            input.key_marker.as_deref().filter(|m| !m.is_empty()),
            input.upload_id_marker.as_deref().filter(|m| !m.is_empty()),
            max_uploads,
        )
        .await
        .map_err(bucket_error)?;
    let who = owner(caller);
    let uploads = listing
        .uploads
        .iter()
        .map(|u| MultipartUpload {
            key: Some(u.key.as_str().to_owned()),
            upload_id: Some(u.id.to_string()),
            initiated: Some(timestamp(u.initiated_at)),
            initiator: Some(Initiator {
                id: who.id.clone(),
                display_name: who.display_name.clone(),
            }),
            owner: Some(who.clone()),
            storage_class: Some("STANDARD".to_owned().into()),
            ..Default::default()
        })
        .collect();
    let (next_key_marker, next_upload_id_marker) = match listing.next_marker {
        Some((key, id)) => (Some(key), Some(id.to_string())),
        None => (None, None),
    };
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        next_key_marker,
        next_upload_id_marker,
        max_uploads: Some(max_uploads as i32),
        is_truncated: Some(listing.is_truncated),
        uploads: Some(uploads),
        ..Default::default()
    }))
}
