//! PutBucketWebsite: replaces the bucket's website configuration, validated
//! as S3 does (see [`miniaws_core::storage::WebsiteConfiguration::new`]),
//! with S3's codes: `InvalidArgument` naming the argument, `InvalidRequest`
//! or `MalformedXML`. The website endpoint serves it (see
//! [`super::website`]).

use miniaws_core::storage::Redirect as CoreRedirect;
use miniaws_core::storage::{
    InvalidWebsite, RedirectAll, RoutingCondition, RoutingRule, S3Action, WebsiteConfiguration,
    WebsiteFault, WebsiteInput,
};
use s3s::dto::{PutBucketWebsiteInput, PutBucketWebsiteOutput};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, dto};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketWebsiteInput>,
) -> S3Result<S3Response<PutBucketWebsiteOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    // The bucket's own refusals (NoSuchBucket, AccessDenied) come before
    // the document's, as on S3.
    s3.owned_bucket(caller, &input.bucket, S3Action::PutBucketWebsite)
        .await?;
    let website = WebsiteConfiguration::new(input_from_wire(input.website_configuration))
        .map_err(website_error)?;
    s3.storage()
        .set_bucket_website(caller, &input.bucket, Some(&website))
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(PutBucketWebsiteOutput::default()))
}

/// A refused configuration as S3's error.
fn website_error(e: InvalidWebsite) -> S3Error {
    match e.fault {
        WebsiteFault::InvalidArgument { name, value } => {
            super::wire::invalid_argument(e.message, name, &value)
        }
        WebsiteFault::InvalidRequest => {
            S3Error::with_message(S3ErrorCode::InvalidRequest, e.message)
        }
        WebsiteFault::MalformedXml => S3Error::with_message(S3ErrorCode::MalformedXML, e.message),
    }
}

fn input_from_wire(w: dto::WebsiteConfiguration) -> WebsiteInput {
    WebsiteInput {
        index_suffix: w.index_document.map(|d| d.suffix),
        error_key: w.error_document.map(|d| d.key),
        redirect_all: w.redirect_all_requests_to.map(|r| RedirectAll {
            host_name: r.host_name,
            protocol: r.protocol.map(|p| p.as_str().to_owned()),
        }),
        routing_rules: w
            .routing_rules
            .map(|rules| rules.into_iter().map(rule_from_wire).collect()),
    }
}

fn rule_from_wire(r: dto::RoutingRule) -> RoutingRule {
    RoutingRule {
        condition: r.condition.map(|c| RoutingCondition {
            key_prefix_equals: c.key_prefix_equals,
            http_error_code_returned_equals: c.http_error_code_returned_equals,
        }),
        redirect: CoreRedirect {
            host_name: r.redirect.host_name,
            protocol: r.redirect.protocol.map(|p| p.as_str().to_owned()),
            http_redirect_code: r.redirect.http_redirect_code,
            replace_key_prefix_with: r.redirect.replace_key_prefix_with,
            replace_key_with: r.redirect.replace_key_with,
        },
    }
}
