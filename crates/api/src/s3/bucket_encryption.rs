//! Bucket default encryption (Get/Put/DeleteBucketEncryption), as S3
//! answers for a bucket with the default every bucket has had since
//! January 2023: SSE-S3 (`AES256`), no bucket key. That is the only
//! configuration Mini AWS has (see [`super::request_options`]), so:
//!
//! - GetBucketEncryption answers it for every bucket;
//! - PutBucketEncryption of that same configuration is accepted and
//!   changes nothing (GetBucketEncryption still tells the truth); SSE-KMS
//!   or a bucket key is `NotImplemented`; any other algorithm is
//!   `InvalidArgument`;
//! - DeleteBucketEncryption puts the bucket back to the default (204),
//!   which it never left.
//!
//! Each is answered only to the bucket's owner (`NoSuchBucket`,
//! `AccessDenied` otherwise).

use s3s::dto::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use s3s::{S3Result, s3_error};

use super::request_options::kms_not_implemented;

/// The default encryption of every bucket: SSE-S3, no bucket key.
pub fn default_configuration() -> ServerSideEncryptionConfiguration {
    ServerSideEncryptionConfiguration {
        rules: vec![ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                kms_master_key_id: None,
                sse_algorithm: ServerSideEncryption::from_static(ServerSideEncryption::AES256),
            }),
            bucket_key_enabled: Some(false),
        }],
    }
}

/// Checks that a PutBucketEncryption configuration is the default.
///
/// # Errors
/// `NotImplemented` for SSE-KMS or a bucket key, `InvalidArgument` for any
/// other configuration that is not SSE-S3.
pub fn check_configuration(config: &ServerSideEncryptionConfiguration) -> S3Result<()> {
    if config.rules.len() != 1 {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: give exactly one Rule"
        ));
    }
    for rule in &config.rules {
        let Some(default) = rule.apply_server_side_encryption_by_default.as_ref() else {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: the Rule needs ApplyServerSideEncryptionByDefault"
            ));
        };
        match default.sse_algorithm.as_str() {
            "aws:kms" | "aws:kms:dsse" => return Err(kms_not_implemented()),
            ServerSideEncryption::AES256 => {}
            other => {
                return Err(s3_error!(
                    InvalidArgument,
                    "The encryption method specified is not supported: {other}"
                ));
            }
        }
        if default.kms_master_key_id.is_some() {
            return Err(s3_error!(
                InvalidArgument,
                "a KMSMasterKeyID is allowed only with SSEAlgorithm aws:kms"
            ));
        }
        if rule.bucket_key_enabled == Some(true) {
            return Err(kms_not_implemented());
        }
    }
    Ok(())
}
