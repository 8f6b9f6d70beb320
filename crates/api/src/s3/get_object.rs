//! GetObject: streams the object (or a `Range` of it, or one part of a
//! multipart object with `partNumber`) from disk, after `If-Match`,
//! `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`. s3s applies
//! the `response-*` overrides to the answer.
//!
//! `partNumber=N` answers like S3: 206 with the part's `Content-Range`, the
//! whole object's ETag, and `x-amz-mp-parts-count` for a multipart object;
//! an object written in one piece is its own part 1 (206 over all of it, no
//! parts count); a part the object does not have is `InvalidPartNumber`
//! (416); a `Range` besides is `InvalidRequest`.
//!
//! `x-amz-expiration` says when the bucket's lifecycle expires the object
//! (see [`super::expiration`]), to whoever may read it.
//!
//! `versionId=null` reads the current object and is answered with
//! `x-amz-version-id: null` (see [`super::versions`]).

use miniaws_core::storage::{GetObjectOptions, GetObjectOutput as Read};
use s3s::dto::{GetObjectInput, GetObjectOutput, StreamingBlob};
use s3s::{S3Request, S3Response, S3Result};

use super::convert::{conditions, range, read_error, read_part_number};
use super::expiration::expiration_header;
use super::object_answer::{ObjectAnswer, object_output};
use super::tagging::tag_count;
use super::versions::{answer_version, version_param};
use super::{MiniS3, not_modified, reader};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let reader = reader(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let part_number = read_part_number(input.part_number, input.range.is_some())?;
    let options = GetObjectOptions {
        if_range: None,
        range: range(input.range),
        part_number,
        conditions: conditions(
            input.if_match,
            input.if_none_match,
            input.if_modified_since,
            input.if_unmodified_since,
        ),
        version,
    };
    let read = s3
        .storage()
        .get_object(reader, &input.bucket, &input.key, &options)
        .await
        .map_err(|e| read_error(e, part_number.is_some()))?;
    let (meta, expiration, range, body) = match read {
        Read::Body {
            meta,
            expiration,
            range,
            body,
        } => (meta, expiration, range, body),
        Read::NotModified(meta, expiration) => {
            return Err(not_modified(
                &meta,
                expiration.as_ref(),
                answer_version(&meta, version),
            ));
        }
    };
    let answer = ObjectAnswer::new(&meta, range, part_number, input.checksum_mode.as_ref());
    let body = Some(StreamingBlob::wrap(super::body::SyncStream::new(body)));
    let mut response = S3Response::new(object_output!(
        GetObjectOutput,
        answer,
        body: body,
        version_id: answer_version(&meta, version),
        tag_count: tag_count(&meta.tags),
        expiration: expiration_header(expiration.as_ref()),
    ));
    // A part read is a ranged read (206) even when the part is the whole
    // object, as S3 answers.
    if part_number.is_some() && range.is_some() {
        response.status = Some(http::StatusCode::PARTIAL_CONTENT);
    }
    Ok(response)
}
