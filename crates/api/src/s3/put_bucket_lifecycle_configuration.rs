//! PutBucketLifecycleConfiguration: replaces the bucket's lifecycle
//! configuration, validated as S3 does (see
//! [`miniaws_core::storage::LifecycleConfiguration::new`]), and enforced by
//! the server's lifecycle sweep. Transitions are validated like the rest
//! (`Days`, `Date`, `StorageClass`, S3's 30-day minimum before an IA
//! class), and a valid document with a `Transition` or
//! `NoncurrentVersionTransition` is then `NotImplemented` (501): Mini AWS
//! has no archive storage classes, and storing a rule it never acts on
//! would be a wrong success.
//!
//! The deprecated PutBucketLifecycle is the same request (`PUT
//! /{bucket}?lifecycle`, rules with their own `Prefix`), so it lands here
//! too and is answered the same way.

use miniaws_core::storage::S3Action;
use miniaws_core::storage::{
    AndInput, ExpirationInput, FilterInput, InvalidLifecycle, LifecycleConfiguration,
    LifecycleFault, LifecycleRuleInput, NoncurrentInput, NoncurrentTransitionInput,
    TransitionInput, TransitionMinimumSize,
};
use s3s::dto::{
    LifecycleRule, LifecycleRuleFilter, PutBucketLifecycleConfigurationInput,
    PutBucketLifecycleConfigurationOutput, Tag, TransitionDefaultMinimumObjectSize,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    // The bucket's own refusals (NoSuchBucket, AccessDenied) come before
    // the document's, as on S3.
    s3.owned_bucket(caller, &input.bucket, S3Action::PutLifecycleConfiguration)
        .await?;
    let Some(document) = input.lifecycle_configuration else {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: the request has no LifecycleConfiguration"
        ));
    };
    let minimum = TransitionMinimumSize::parse(
        input
            .transition_default_minimum_object_size
            .as_ref()
            .map(|m| m.as_str()),
    )
    .map_err(lifecycle_error)?;
    let rules = document.rules.into_iter().map(rule_from_wire).collect();
    let lifecycle = LifecycleConfiguration::new(rules, minimum).map_err(lifecycle_error)?;
    s3.storage()
        .set_bucket_lifecycle(caller, &input.bucket, Some(&lifecycle))
        .await
        .map_err(bucket_error)?;
    Ok(S3Response::new(PutBucketLifecycleConfigurationOutput {
        transition_default_minimum_object_size: Some(TransitionDefaultMinimumObjectSize::from(
            minimum.as_str().to_owned(),
        )),
    }))
}

/// A refusal of the document as S3 words it.
fn lifecycle_error(e: InvalidLifecycle) -> S3Error {
    let code = match e.fault {
        LifecycleFault::Malformed => S3ErrorCode::MalformedXML,
        LifecycleFault::Argument => S3ErrorCode::InvalidArgument,
        LifecycleFault::Request => S3ErrorCode::InvalidRequest,
        LifecycleFault::Unsupported => S3ErrorCode::NotImplemented,
    };
    S3Error::with_message(code, e.message)
}

fn tag_from_wire(t: Tag) -> (String, String) {
    (t.key.unwrap_or_default(), t.value.unwrap_or_default())
}

fn filter_from_wire(f: LifecycleRuleFilter) -> FilterInput {
    FilterInput {
        prefix: f.prefix,
        tag: f.tag.map(tag_from_wire),
        object_size_greater_than: f.object_size_greater_than,
        object_size_less_than: f.object_size_less_than,
        and: f.and.map(|a| AndInput {
            prefix: a.prefix,
            tags: a
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(tag_from_wire)
                .collect(),
            object_size_greater_than: a.object_size_greater_than,
            object_size_less_than: a.object_size_less_than,
        }),
    }
}

fn rule_from_wire(r: LifecycleRule) -> LifecycleRuleInput {
    LifecycleRuleInput {
        id: r.id,
        status: r.status.as_str().to_owned(),
        prefix: r.prefix,
        filter: r.filter.map(filter_from_wire),
        expiration: r.expiration.map(|e| ExpirationInput {
            days: e.days,
            date: e.date.map(Into::into),
            expired_object_delete_marker: e.expired_object_delete_marker,
        }),
        noncurrent_expiration: r.noncurrent_version_expiration.map(|n| NoncurrentInput {
            noncurrent_days: n.noncurrent_days,
            newer_noncurrent_versions: n.newer_noncurrent_versions,
        }),
        abort_incomplete_multipart_upload: r
            .abort_incomplete_multipart_upload
            .map(|a| a.days_after_initiation),
        transitions: r
            .transitions
            .unwrap_or_default()
            .into_iter()
            .map(|t| TransitionInput {
                days: t.days,
                date: t.date.map(Into::into),
                storage_class: t.storage_class.map(|c| c.as_str().to_owned()),
            })
            .collect(),
        noncurrent_transitions: r
            .noncurrent_version_transitions
            .unwrap_or_default()
            .into_iter()
            .map(|t| NoncurrentTransitionInput {
                noncurrent_days: t.noncurrent_days,
                newer_noncurrent_versions: t.newer_noncurrent_versions,
                storage_class: t.storage_class.map(|c| c.as_str().to_owned()),
            })
            .collect(),
    }
}
