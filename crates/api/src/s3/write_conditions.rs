//! Conditional writes: `If-None-Match: *` and `If-Match: "<etag>"` on
//! PutObject and CompleteMultipartUpload
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
}
