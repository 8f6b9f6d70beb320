//! CreateBucket: `BucketAlreadyOwnedByYou`, `BucketAlreadyExists`,
//! `InvalidBucketName`.
//!
//! Every bucket has Object Ownership "BucketOwnerEnforced" (ACLs disabled,
//! see [`super::acl`]): `x-amz-acl: private` (what rclone sends) or the
//! owner's own full control is accepted; any other ACL is
//! `InvalidBucketAclWithObjectOwnership`, as S3 answers. Asking for
//! another ownership setting (`x-amz-object-ownership: ObjectWriter` or
//! `BucketOwnerPreferred`, which enable ACLs) is `NotImplemented`.
//!
//! Tags in the `CreateBucketConfiguration` are honoured (see
//! [`super::create_bucket_tags`]): checked under the bucket rules before
//! the bucket is created (a bad set creates nothing), and stored by the
//! statement that creates the bucket (it never exists without them).
//!
//! `x-amz-bucket-object-lock-enabled: true` creates the bucket with Object
//! Lock enabled and its versioning `Enabled`, as S3 does.
//!
//! A `LocationConstraint` of `us-east-1` is `InvalidLocationConstraint`, as
//! S3 answers it (that region is asked for by naming none), so code that
//! works here does not fail on AWS. Any other region is taken: there is one
//! region, and every bucket reports it (see [`super::get_bucket_location`]).

use miniaws_core::CoreError;
use s3s::dto::{CreateBucketInput, CreateBucketOutput};
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use super::acl::{BUCKET_OWNER_ENFORCED, acl_headers, bucket_acl_with_ownership};
use super::create_bucket_tags::requested_tags;
use super::{MiniS3, caller, s3_error, s3_error_with};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let caller = caller(&req)?;
    let tags = requested_tags(&req.extensions, &req.headers)?;
    let input = req.input;
    if input
        .create_bucket_configuration
        .as_ref()
        .and_then(|c| c.location_constraint.as_ref())
        .is_some_and(|l| l.as_str() == "us-east-1")
    {
        return Err(super::wire::with_details(
            s3_error!(
                InvalidLocationConstraint,
                "The specified location-constraint is not valid."
            ),
            &[("LocationConstraint", "us-east-1")],
        ));
    }
    if let Some(ownership) = input
        .object_ownership
        .as_ref()
        .filter(|o| o.as_str() != BUCKET_OWNER_ENFORCED)
    {
        return Err(s3_error!(
            NotImplemented,
            "Object Ownership {} is not implemented: every bucket is {BUCKET_OWNER_ENFORCED} (ACLs disabled)",
            ownership.as_str()
        ));
    }
    let acl = acl_headers!(
        input,
        grant_read,
        grant_write,
        grant_read_acp,
        grant_write_acp
    );
    acl.check_one_form()?;
    if !acl.owner_only(&caller.user_id.to_string()) {
        return Err(bucket_acl_with_ownership());
    }
    let name = input.bucket;
    // `x-amz-bucket-object-lock-enabled: true`: Object Lock, and with it
    // versioning Enabled (see [`super::object_lock`]).
    let created = if input.object_lock_enabled_for_bucket == Some(true) {
        s3.storage()
            .create_locked_bucket(caller, &name, &tags)
            .await
    } else {
        s3.storage()
            .create_bucket_with_tags(caller, &name, &tags)
            .await
    };
    created.map_err(|e| match e {
        e @ CoreError::InvalidInput(_) => s3_error_with(e, S3ErrorCode::InvalidBucketName),
        other => s3_error(other),
    })?;
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(format!("/{name}")),
    }))
}
