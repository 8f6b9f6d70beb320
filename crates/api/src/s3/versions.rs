//! Version ids on the S3 endpoint.
//!
//! A version id is `null` (the version of an object written while its
//! bucket's versioning was never enabled, or suspended) or the 32
//! lowercase hex digits of the version's id ([`VersionId`]). A request that
//! names anything else is refused as S3 refuses it: `InvalidArgument`
//! "Invalid version id specified" (400); a well-formed one that names no
//! version is `NoSuchVersion` (404), from the service.

use miniaws_core::storage::{ObjectMeta, VersionId};
use s3s::S3Result;

use super::wire::invalid_argument;

/// The version id of every object of an unversioned bucket.
pub const NULL_VERSION: &str = "null";

/// A request's `versionId`: `None` without one.
///
/// # Errors
/// `InvalidArgument` (naming `versionId`) for an empty or malformed one.
pub fn version_param(version_id: Option<&str>) -> S3Result<Option<VersionId>> {
    match version_id {
        None => Ok(None),
        Some("") => Err(invalid_argument(
            "Version id cannot be the empty string",
            "versionId",
            "",
        )),
        Some(other) => VersionId::parse(other)
            .map(Some)
            .map_err(|_| invalid_version_id("versionId", other)),
    }
}

/// S3's refusal of a version id that names no version: the argument
/// (`versionId`, `version-id-marker`) and its value.
pub fn invalid_version_id(argument: &'static str, value: &str) -> s3s::S3Error {
    invalid_argument("Invalid version id specified", argument, value)
}

/// The version id to answer with (`x-amz-version-id`) for `meta`: as S3,
/// its own when it is a version of its own, `null` in a bucket that was
/// ever versioned ([`ObjectMeta::answered_version_id`]) or when the request
/// named the version (`null`), none otherwise (a bucket never versioned).
pub fn answer_version(meta: &ObjectMeta, requested: Option<VersionId>) -> Option<String> {
    meta.answered_version_id()
        .or(requested.map(|_| meta.version_id()))
        .map(|v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_null_and_hex_ids_are_version_ids() {
        assert_eq!(version_param(None).expect("no version id"), None);
        assert_eq!(
            version_param(Some("null")).expect("null"),
            Some(VersionId::Null)
        );
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            version_param(Some(id)).expect("hex").map(|v| v.to_string()),
            Some(id.to_owned())
        );
        for bad in [
            "",
            "Null",
            "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
            "null ",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcde",
        ] {
            let e = version_param(Some(bad)).expect_err(bad);
            assert_eq!(e.code(), &s3s::S3ErrorCode::InvalidArgument, "{bad:?}");
        }
        assert_eq!(
            version_param(Some("x"))
                .expect_err("x")
                .message()
                .map(str::to_owned),
            Some("Invalid version id specified".to_owned())
        );
    }
}
