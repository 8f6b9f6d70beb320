//! Conditional writes: `If-None-Match: *` and `If-Match: "<etag>"` on
//! PutObject, CompleteMultipartUpload and CopyObject (a condition on the
//! copy's destination, beside the `x-amz-copy-source-if-*` ones on its source)
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>).
//!
//! The storage service checks the condition once before the body is read
//! (so a refused write costs no transfer), and the repository checks it
//! again in the very statement that commits the write, so no other write —
//! conditional or not, S3 or native — can land in between: of sixteen
//! `If-None-Match: *` uploads racing to create a key, exactly one wins.

use miniaws_core::storage::{ETag, WriteCondition};
use s3s::dto::{self, ETagCondition};
use s3s::{S3Result, s3_error};

/// The condition of a write from the request's own `If-Match` /
/// `If-None-Match` headers, for the operations whose s3s input leaves
/// them out (CopyObject's: s3s 0.14 models only its
/// `x-amz-copy-source-if-*` headers, and a condition dropped unseen would
/// overwrite what the client meant to keep).
///
/// # Errors
/// `InvalidArgument` for a header that is not an ETag or `*`; as
/// [`write_condition`] otherwise.
pub fn header_write_condition(headers: &http::HeaderMap) -> S3Result<WriteCondition> {
    let parse = |name: http::header::HeaderName| -> S3Result<Option<ETagCondition>> {
        let Some(value) = headers.get(&name) else {
            return Ok(None);
        };
        ETagCondition::parse_http_header(value.as_bytes())
            .map(Some)
            .map_err(|_| {
                s3_error!(
                    InvalidArgument,
                    "{name} must be an entity tag in quotes or `*`"
                )
            })
    };
    write_condition(
        parse(http::header::IF_MATCH)?,
        parse(http::header::IF_NONE_MATCH)?,
    )
}

/// The condition of a write, from its `If-Match` / `If-None-Match`
/// headers.
///
/// # Errors
/// `NotImplemented` for `If-None-Match` with an ETag (S3 accepts only `*`
/// on writes), and for both headers at once.
pub fn write_condition(
    if_match: Option<ETagCondition>,
    if_none_match: Option<ETagCondition>,
) -> S3Result<WriteCondition> {
    match (if_match, if_none_match) {
        (None, None) => Ok(WriteCondition::Always),
        (None, Some(ETagCondition::Any)) => Ok(WriteCondition::Absent),
        (None, Some(ETagCondition::ETag(_))) => Err(s3_error!(
            NotImplemented,
            "If-None-Match on a write accepts only `*`"
        )),
        (Some(ETagCondition::Any), None) => Ok(WriteCondition::Exists),
        (Some(ETagCondition::ETag(dto::ETag::Strong(v) | dto::ETag::Weak(v))), None) => {
            Ok(WriteCondition::ETagIs(ETag::from_stored(v)))
        }
        (Some(_), Some(_)) => Err(s3_error!(
            NotImplemented,
            "If-Match and If-None-Match together on a write are not implemented"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strong(v: &str) -> ETagCondition {
        ETagCondition::ETag(dto::ETag::Strong(v.into()))
    }

    #[test]
    fn write_conditions_from_headers() {
        assert_eq!(
            write_condition(None, None).expect("none"),
            WriteCondition::Always
        );
        assert_eq!(
            write_condition(None, Some(ETagCondition::Any)).expect("star"),
            WriteCondition::Absent
        );
        assert_eq!(
            write_condition(Some(ETagCondition::Any), None).expect("if-match star"),
            WriteCondition::Exists
        );
        assert_eq!(
            write_condition(Some(strong("abc")), None).expect("if-match"),
            WriteCondition::ETagIs(ETag::from_stored("abc"))
        );
        assert!(write_condition(None, Some(strong("abc"))).is_err());
        assert!(write_condition(Some(strong("abc")), Some(ETagCondition::Any)).is_err());
    }

    #[test]
    fn write_conditions_from_a_header_map() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = http::HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, http::HeaderValue::from_static(value));
            }
            map
        };
        assert_eq!(
            header_write_condition(&headers(&[])).expect("none"),
            WriteCondition::Always
        );
        assert_eq!(
            header_write_condition(&headers(&[("if-none-match", "*")])).expect("star"),
            WriteCondition::Absent
        );
        assert_eq!(
            header_write_condition(&headers(&[("if-match", "\"abc\"")])).expect("etag"),
            WriteCondition::ETagIs(ETag::from_stored("abc"))
        );
        let bad = header_write_condition(&headers(&[("if-match", "\"abc")])).unwrap_err();
        assert_eq!(*bad.code(), s3s::S3ErrorCode::InvalidArgument);
    }
}
