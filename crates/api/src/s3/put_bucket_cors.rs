//! PutBucketCors: replaces the bucket's CORS configuration, validated as S3
//! does (see [`miniaws_core::storage::CorsConfiguration::new`]): no rules,
//! or a rule without an origin or a method, is `MalformedXML`; too many
//! rules, an unsupported method or a second `*` is `InvalidRequest`.

use miniaws_core::CoreError;
use miniaws_core::storage::S3Action;
use miniaws_core::storage::{CorsConfiguration, CorsRule};
use s3s::dto::{CORSRule, PutBucketCorsInput, PutBucketCorsOutput};
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result};

use super::{MiniS3, bucket_error, caller, s3_error, s3_error_with};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketCorsInput>,
) -> S3Result<S3Response<PutBucketCorsOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    // The bucket's own refusals (NoSuchBucket, AccessDenied) come before
    // the document's, as on S3.
    s3.owned_bucket(caller, &input.bucket, S3Action::PutBucketCors)
        .await?;
    let rules = input
        .cors_configuration
        .cors_rules
        .into_iter()
        .map(rule_from_wire)
        .collect();
    let cors = CorsConfiguration::new(rules).map_err(|e| match e {
        e @ CoreError::InvalidInput(_) => s3_error_with(e, S3ErrorCode::MalformedXML),
        other => s3_error(other),
    })?;
    s3.storage()
        .set_bucket_cors(caller, &input.bucket, Some(&cors))
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(PutBucketCorsOutput::default()))
}

fn rule_from_wire(r: CORSRule) -> CorsRule {
    CorsRule {
        id: r.id,
        allowed_origins: r.allowed_origins,
        allowed_methods: r.allowed_methods,
        allowed_headers: r.allowed_headers.unwrap_or_default(),
        expose_headers: r.expose_headers.unwrap_or_default(),
        max_age_seconds: r.max_age_seconds,
    }
}
