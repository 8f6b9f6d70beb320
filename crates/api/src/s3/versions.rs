//! Version ids on buckets that are never versioned.
//!
//! Mini AWS keeps one version of each object, and no bucket can have
//! versioning enabled. S3 gives every object of such a bucket the version id
//! `null` (it is what ListObjectVersions lists), so a request that names
//! `versionId=null` means the current object, as on S3. Any other version id
//! cannot name anything here: S3 answers `InvalidArgument` "Invalid version
//! id specified" (400) for it on an unversioned bucket, and so do we.
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/AddingObjectstoVersionSuspendedBuckets.html>.

use s3s::S3Result;

use super::wire::invalid_argument;

/// The version id of every object of an unversioned bucket.
pub const NULL_VERSION: &str = "null";

/// A request's `versionId`: `Ok(false)` without one, `Ok(true)` for `null`
/// (the current object; its answer then carries `x-amz-version-id: null`).
///
/// # Errors
/// `InvalidArgument` (naming `versionId`) for an empty or any other version
/// id.
pub fn null_version(version_id: Option<&str>) -> S3Result<bool> {
    match version_id {
        None => Ok(false),
        Some(NULL_VERSION) => Ok(true),
        Some("") => Err(invalid_argument(
            "Version id cannot be the empty string",
            "versionId",
            "",
        )),
        Some(other) => Err(invalid_version_id("versionId", other)),
    }
}

/// S3's refusal of a version id that names no version: the argument
/// (`versionId`, `version-id-marker`) and its value.
pub fn invalid_version_id(argument: &'static str, value: &str) -> s3s::S3Error {
    invalid_argument("Invalid version id specified", argument, value)
}

/// The version id to answer with: `null` when the request named it.
pub fn echo(named: bool) -> Option<String> {
    named.then(|| NULL_VERSION.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_null_names_a_version() {
        assert!(!null_version(None).expect("no version id"));
        assert!(null_version(Some("null")).expect("null"));
        for bad in ["", "Null", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", "null "] {
            let e = null_version(Some(bad)).expect_err(bad);
            assert_eq!(e.code(), &s3s::S3ErrorCode::InvalidArgument, "{bad:?}");
        }
        assert_eq!(
            null_version(Some("x"))
                .expect_err("x")
                .message()
                .map(str::to_owned),
            Some("Invalid version id specified".to_owned())
        );
        assert_eq!(echo(true).as_deref(), Some("null"));
        assert_eq!(echo(false), None);
    }
}
