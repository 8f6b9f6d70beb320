//! ListMultipartUploads (prefix, delimiter, key-marker, upload-id-marker,
//! max-uploads, encoding-type=url).

use s3s::dto::{
    CommonPrefix, Initiator, ListMultipartUploadsInput, ListMultipartUploadsOutput, MultipartUpload,
};
use s3s::{S3Request, S3Response, S3Result};

use miniaws_core::multipart::UploadId;

use super::convert::{owner, timestamp, upload_checksum, url_encode};
use super::request_options::{STORAGE_CLASS, listed_class};
use super::wire::invalid_argument;
use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let url = super::convert::url_encoding(input.encoding_type.as_ref())?;
    let enc = |s: &str| if url { url_encode(s) } else { s.to_owned() };
    let max_uploads = match input.max_uploads {
        None => 1000,
        Some(n) => u32::try_from(n).map_err(|_| {
            invalid_argument(
                "Argument max-uploads must be an integer between 0 and 2147483647",
                "max-uploads",
                &n.to_string(),
            )
        })?,
    }
    .min(1000);
    let key_marker = input.key_marker.as_deref().filter(|m| !m.is_empty());
    let upload_id_marker = input.upload_id_marker.as_deref().filter(|m| !m.is_empty());
    // Checked here, not left to the service: its refusal would be an
    // invalid input, which this operation reports as a bad bucket name.
    // (An upload-id marker only counts together with a key marker.)
    if let Some(m) = upload_id_marker.filter(|_| key_marker.is_some())
        && m.parse::<UploadId>().is_err()
    {
        return Err(invalid_argument(
            "Invalid uploadId marker",
            "upload-id-marker",
            m,
        ));
    }
    let prefix = input.prefix.clone().unwrap_or_default();
    let listing = s3
        .multipart()
        .list_uploads(
            caller,
            &input.bucket,
            &prefix,
            input.delimiter.as_deref(),
            key_marker,
            upload_id_marker,
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
        key_marker: input.key_marker.map(|m| enc(&m)),
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
        // An empty delimiter is none: S3 leaves the element out.
        delimiter: input.delimiter.filter(|d| !d.is_empty()).map(|d| enc(&d)),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}
