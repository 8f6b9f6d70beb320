//! HeadObject: the object's metadata, after its conditions. With a
//! `Range`, the answer is what GetObject would send without the body: 206
//! with `Content-Range` and the range's length (416 when it selects nothing),
//! as S3 does. With `partNumber`, the same for that part (see
//! [`super::get_object`]). `versionId=null` as on GetObject.
//!
//! `x-amz-expiration` says when the bucket's lifecycle expires the object
//! (see [`super::expiration`]), to whoever may read it.
//!
//! `x-amz-tagging-count` goes out as on GetObject when the object has tags:
//! S3 sends it on HEAD too, though its API model (and so s3s's
//! `HeadObjectOutput`) leaves it out, so it is added as a header here
//! (<https://github.com/aws/aws-sdk-go-v2/issues/1331>).

use miniaws_core::storage::HeadObjectOutput as Head;
use s3s::dto::{HeadObjectInput, HeadObjectOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::convert::{conditions, range, read_error, read_part_number};
use super::expiration::expiration_header;
use super::object_answer::{ObjectAnswer, object_output};
use super::tagging::tag_count;
use super::versions::{answer_version, version_param};
use super::{MiniS3, not_modified, object_error, reader};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let reader = reader(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let part_number = read_part_number(input.part_number, input.range.is_some())?;
    check_overrides(response_overrides!(input))?;
    let range_spec = range(input.range);
    let conditions = conditions(
        input.if_match,
        input.if_none_match,
        input.if_modified_since,
        input.if_unmodified_since,
    );
    let (meta, expiration) = match s3
        .storage()
        .head_object_at(reader, &input.bucket, &input.key, &conditions, version)
        .await
        .map_err(object_error)?
    {
        Head::Found { meta, expiration } => (meta, expiration),
        Head::NotModified(meta, expiration) => {
            return Err(not_modified(
                &meta,
                expiration.as_ref(),
                answer_version(&meta, version),
            ));
        }
    };
    let range = match part_number {
        Some(n) => meta.part_range(n).map_err(|e| read_error(e, true))?,
        None => range_spec
            .map(|spec| spec.resolve(meta.size_bytes))
            .transpose()
            .map_err(object_error)?,
    };
    let answer = ObjectAnswer::new(&meta, range, part_number, input.checksum_mode.as_ref());
    let mut output = object_output!(
        HeadObjectOutput,
        answer,
        version_id: answer_version(&meta, version),
        expiration: expiration_header(expiration.as_ref()),
    );
    // The `response-*` overrides: S3 honours them on HEAD as on GET, and
    // s3s applies them to GET's answer only.
    let overrides = [
        (&mut output.content_type, input.response_content_type),
        (
            &mut output.content_language,
            input.response_content_language,
        ),
        (&mut output.cache_control, input.response_cache_control),
        (
            &mut output.content_disposition,
            input.response_content_disposition,
        ),
        (
            &mut output.content_encoding,
            input.response_content_encoding,
        ),
    ];
    for (field, value) in overrides {
        if value.is_some() {
            *field = value;
        }
    }
    if input.response_expires.is_some() {
        output.expires = input.response_expires;
    }
    let mut response = S3Response::new(output);
    if range.is_some() {
        response.status = Some(http::StatusCode::PARTIAL_CONTENT);
    }
    if let Some(count) = tag_count(&meta.tags) {
        response.headers.insert(
            s3s::header::X_AMZ_TAGGING_COUNT,
            http::HeaderValue::from(count),
        );
    }
    Ok(response)
}

/// The `response-*` overrides of a GetObject or HeadObject input, by
/// query parameter, for [`check_overrides`] (a macro, as the two inputs
/// are different types with the same fields).
macro_rules! response_overrides {
    ($input:expr) => {
        [
            (
                "response-content-type",
                $input.response_content_type.as_deref(),
            ),
            (
                "response-content-language",
                $input.response_content_language.as_deref(),
            ),
            (
                "response-cache-control",
                $input.response_cache_control.as_deref(),
            ),
            (
                "response-content-disposition",
                $input.response_content_disposition.as_deref(),
            ),
            (
                "response-content-encoding",
                $input.response_content_encoding.as_deref(),
            ),
        ]
    };
}
pub(super) use response_overrides;

/// Refuses a `response-*` override that is no header value (a control
/// character, decoded from `%0D` or `%00`), before the object is read, on
/// HEAD and GET alike. Put into HEAD's answer, it failed the answer's
/// serialisation, a 500; on GET, s3s refused it with a message echoing the
/// value as Rust debug text, so GET runs this first, from the access check
/// (see [`super::auth::CallerAccess`]). The value is not echoed.
pub(super) fn check_overrides(overrides: [(&str, Option<&str>); 5]) -> S3Result<()> {
    for (name, value) in overrides {
        if value.is_some_and(|v| http::HeaderValue::from_str(v).is_err()) {
            return Err(s3_error!(
                InvalidRequest,
                "invalid overridden header: {name} must not contain control characters"
            ));
        }
    }
    Ok(())
}
