//! GetBucketWebsite: the bucket's website configuration as it was put;
//! 404 `NoSuchWebsiteConfiguration` when it has none (s3cmd's `ws-info`
//! asks it). See
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketWebsite.html>.

use miniaws_core::storage::{RoutingRule, WebsiteTarget};
use s3s::dto::{GetBucketWebsiteInput, GetBucketWebsiteOutput};
use s3s::{S3Request, S3Response, S3Result, dto, s3_error};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketWebsiteInput>,
) -> S3Result<S3Response<GetBucketWebsiteOutput>> {
    let caller = caller(&req)?;
    let Some(website) = s3
        .storage()
        .get_bucket_website(caller, &req.input.bucket)
        .await
        .map_err(bucket_error)?
    else {
        return Err(no_such_website_configuration());
    };
    let protocol = |p: &Option<String>| p.clone().map(dto::Protocol::from);
    let output = match website.target() {
        WebsiteTarget::RedirectAll(all) => GetBucketWebsiteOutput {
            redirect_all_requests_to: Some(dto::RedirectAllRequestsTo {
                host_name: all.host_name.clone(),
                protocol: protocol(&all.protocol),
            }),
            ..GetBucketWebsiteOutput::default()
        },
        WebsiteTarget::Site(site) => GetBucketWebsiteOutput {
            index_document: Some(dto::IndexDocument {
                suffix: site.index_suffix.clone(),
            }),
            error_document: site.error_key.clone().map(|key| dto::ErrorDocument { key }),
            routing_rules: (!site.routing_rules.is_empty())
                .then(|| site.routing_rules.iter().map(rule_to_wire).collect()),
            redirect_all_requests_to: None,
        },
    };
    Ok(S3Response::new(output))
}

/// S3's answer for a bucket without a website configuration.
pub(super) fn no_such_website_configuration() -> s3s::S3Error {
    s3_error!(
        NoSuchWebsiteConfiguration,
        "The specified bucket does not have a website configuration"
    )
}

fn rule_to_wire(r: &RoutingRule) -> dto::RoutingRule {
    dto::RoutingRule {
        condition: r.condition.as_ref().map(|c| dto::Condition {
            key_prefix_equals: c.key_prefix_equals.clone(),
            http_error_code_returned_equals: c.http_error_code_returned_equals.clone(),
        }),
        redirect: dto::Redirect {
            host_name: r.redirect.host_name.clone(),
            protocol: r.redirect.protocol.clone().map(dto::Protocol::from),
            http_redirect_code: r.redirect.http_redirect_code.clone(),
            replace_key_prefix_with: r.redirect.replace_key_prefix_with.clone(),
            replace_key_with: r.redirect.replace_key_with.clone(),
        },
    }
}
