//! GetBucketLifecycleConfiguration: the bucket's lifecycle rules as they
//! were put (rules given no ID show the one they were given);
//! `NoSuchLifecycleConfiguration` (404) when it has none.

use miniaws_core::storage::{Expiration, LifecycleFilter, LifecycleRule, RuleScope};
use s3s::dto::{
    AbortIncompleteMultipartUpload, ExpirationStatus, GetBucketLifecycleConfigurationInput,
    GetBucketLifecycleConfigurationOutput, LifecycleExpiration, LifecycleRuleAndOperator,
    LifecycleRuleFilter, NoncurrentVersionExpiration, Tag, TransitionDefaultMinimumObjectSize,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, bucket_error, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<GetBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    let caller = caller(&req)?;
    let Some(lifecycle) = s3
        .storage()
        .get_bucket_lifecycle(caller, &req.input.bucket)
        .await
        .map_err(bucket_error)?
    else {
        return Err(s3_error!(
            NoSuchLifecycleConfiguration,
            "The lifecycle configuration does not exist"
        ));
    };
    Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
        rules: Some(lifecycle.rules().iter().map(rule_to_wire).collect()),
        transition_default_minimum_object_size: Some(TransitionDefaultMinimumObjectSize::from(
            lifecycle.minimum_object_size().as_str().to_owned(),
        )),
    }))
}

fn tag_to_wire((key, value): &(String, String)) -> Tag {
    Tag {
        key: Some(key.clone()),
        value: Some(value.clone()),
    }
}

fn filter_to_wire(f: &LifecycleFilter) -> LifecycleRuleFilter {
    let mut wire = LifecycleRuleFilter::default();
    match f {
        LifecycleFilter::All => {}
        LifecycleFilter::Prefix(p) => wire.prefix = Some(p.clone()),
        LifecycleFilter::Tag(k, v) => wire.tag = Some(tag_to_wire(&(k.clone(), v.clone()))),
        LifecycleFilter::SizeGreaterThan(n) => {
            wire.object_size_greater_than = i64::try_from(*n).ok();
        }
        LifecycleFilter::SizeLessThan(n) => wire.object_size_less_than = i64::try_from(*n).ok(),
        LifecycleFilter::And(and) => {
            wire.and = Some(LifecycleRuleAndOperator {
                prefix: and.prefix.clone(),
                tags: (!and.tags.is_empty()).then(|| and.tags.iter().map(tag_to_wire).collect()),
                object_size_greater_than: and.size_greater_than.and_then(|n| i64::try_from(n).ok()),
                object_size_less_than: and.size_less_than.and_then(|n| i64::try_from(n).ok()),
            });
        }
    }
    wire
}

fn days(n: u32) -> Option<i32> {
    i32::try_from(n).ok()
}

fn rule_to_wire(r: &LifecycleRule) -> s3s::dto::LifecycleRule {
    let (prefix, filter) = match &r.scope {
        RuleScope::Prefix(p) => (Some(p.clone()), None),
        RuleScope::Filter(f) => (None, Some(filter_to_wire(f))),
    };
    s3s::dto::LifecycleRule {
        id: Some(r.id.clone()),
        status: ExpirationStatus::from_static(if r.enabled {
            ExpirationStatus::ENABLED
        } else {
            ExpirationStatus::DISABLED
        }),
        prefix,
        filter,
        expiration: r.expiration.map(|e| {
            let mut wire = LifecycleExpiration::default();
            match e {
                Expiration::Days(n) => wire.days = days(n),
                Expiration::Date(d) => {
                    wire.date = Some(d.with_time(time::Time::MIDNIGHT).assume_utc().into());
                }
                Expiration::ExpiredObjectDeleteMarker(b) => {
                    wire.expired_object_delete_marker = Some(b);
                }
            }
            wire
        }),
        noncurrent_version_expiration: r.noncurrent_expiration.map(|n| {
            NoncurrentVersionExpiration {
                noncurrent_days: days(n.days),
                newer_noncurrent_versions: n.newer_versions.and_then(days),
            }
        }),
        abort_incomplete_multipart_upload: r.abort_after_days.map(|d| {
            AbortIncompleteMultipartUpload {
                days_after_initiation: days(d),
            }
        }),
        transitions: None,
        noncurrent_version_transitions: None,
    }
}
