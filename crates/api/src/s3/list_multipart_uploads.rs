//! ListMultipartUploads (prefix, delimiter, key-marker, upload-id-marker,
//! max-uploads, encoding-type=url).

use s3s::dto::{
    CommonPrefix, EncodingType, Initiator, ListMultipartUploadsInput, ListMultipartUploadsOutput,
    MultipartUpload,
};
use s3s::{S3Request, S3Response, S3Result};

use super::convert::{owner, timestamp, upload_checksum, url_encode};
use super::request_options::{STORAGE_CLASS, listed_class};
use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let url = input
        .encoding_type
        .as_ref()
        .is_some_and(|e| e.as_str() == EncodingType::URL);
    let enc = |s: &str| if url { url_encode(s) } else { s.to_owned() };
    let max_uploads = input.max_uploads.unwrap_or(1000).clamp(1, 1000) as u32;
    let prefix = input.prefix.clone().unwrap_or_default();
    let listing = s3
        .multipart()
        .list_uploads(
            caller,
            &input.bucket,
            &prefix,
            input.delimiter.as_deref(),
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
        .map(|u| {
            let (checksum_algorithm, checksum_type) = upload_checksum(u);
            MultipartUpload {
                checksum_algorithm,
                checksum_type,
                key: Some(enc(u.key.as_str())),
                upload_id: Some(u.id.to_string()),
                initiated: Some(timestamp(u.initiated_at)),
                initiator: Some(Initiator {
                    id: who.id.clone(),
                    display_name: who.display_name.clone(),
                }),
                owner: Some(who.clone()),
                storage_class: Some(listed_class(u.headers.get(STORAGE_CLASS)).into()),
            }
        })
        .collect();
    let (next_key_marker, next_upload_id_marker) = match listing.next_marker {
        Some((key, id)) => (Some(enc(&key)), id.map(|i| i.to_string())),
        None => (None, None),
    };
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix.map(|p| enc(&p)),
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        next_key_marker,
        next_upload_id_marker,
        max_uploads: Some(max_uploads as i32),
        is_truncated: Some(listing.is_truncated),
        uploads: Some(uploads),
        common_prefixes: Some(
            listing
                .common_prefixes
                .iter()
                .map(|p| CommonPrefix {
                    prefix: Some(enc(p)),
                })
                .collect(),
        ),
        delimiter: input.delimiter,
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}
