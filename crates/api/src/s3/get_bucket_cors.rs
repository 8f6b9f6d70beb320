//! GetBucketCors: the bucket's CORS rules, in order;
//! `NoSuchCORSConfiguration` (404) when it has none.

use miniaws_core::storage::CorsRule;
use s3s::dto::{CORSRule, GetBucketCorsInput, GetBucketCorsOutput};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketCorsInput>,
) -> S3Result<S3Response<GetBucketCorsOutput>> {
    let caller = caller(&req)?;
    let Some(cors) = s3
        .storage()
        .get_bucket_cors(caller, &req.input.bucket)
        .await
        .map_err(bucket_error)?
    else {
        return Err(s3_error!(
            NoSuchCORSConfiguration,
            "The CORS configuration does not exist"
        ));
    };
    Ok(S3Response::new(GetBucketCorsOutput {
        cors_rules: Some(cors.rules().iter().map(rule_to_wire).collect()),
    }))
}

fn rule_to_wire(r: &CorsRule) -> CORSRule {
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    CORSRule {
        id: r.id.clone(),
        allowed_origins: r.allowed_origins.clone(),
        allowed_methods: r.allowed_methods.clone(),
        allowed_headers: non_empty(&r.allowed_headers),
        expose_headers: non_empty(&r.expose_headers),
        max_age_seconds: r.max_age_seconds,
    }
}
