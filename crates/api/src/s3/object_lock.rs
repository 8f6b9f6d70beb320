//! S3 Object Lock on the wire
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html>):
//!
//! - Get/PutObjectLockConfiguration: a bucket's Object Lock (enabled on
//!   an existing bucket only while its versioning is `Enabled`, else 409
//!   `InvalidBucketState`) and its default retention (a mode and Days xor
//!   Years); GetObjectLockConfiguration of a bucket without it is 404
//!   `ObjectLockConfigurationNotFoundError` (what Terraform reads).
//! - Get/PutObjectRetention and Get/PutObjectLegalHold of a version (the
//!   current one without `versionId`), with S3's rules (see
//!   [`miniaws_core::storage::ObjectLock::apply`]); on a bucket without
//!   Object Lock 400 `InvalidRequest` "Bucket is missing Object Lock
//!   Configuration". GetObjectRetention of a version without a retention,
//!   and GetObjectLegalHold of one that never had a legal hold, are 404
//!   `NoSuchObjectLockConfiguration`.
//! - The `x-amz-object-lock-*` headers of a write ([`requested_lock`]).
//!
//! Each answers a missing or foreign bucket as that (`NoSuchBucket`,
//! `AccessDenied`) first.

use http::StatusCode;
use miniaws_core::CoreError;
use miniaws_core::storage::{
    DefaultRetention, LockChange, LockMode, ObjectLock, ObjectLockConfig, Retention,
    RetentionPeriod, S3Action,
};
use s3s::dto::{
    GetObjectLegalHoldInput, GetObjectLegalHoldOutput, GetObjectLockConfigurationInput,
    GetObjectLockConfigurationOutput, GetObjectRetentionInput, GetObjectRetentionOutput,
    ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHold, ObjectLockLegalHoldStatus,
    ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode, ObjectLockRule,
    PutObjectLegalHoldInput, PutObjectLegalHoldOutput, PutObjectLockConfigurationInput,
    PutObjectLockConfigurationOutput, PutObjectRetentionInput, PutObjectRetentionOutput, Timestamp,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use super::versions::version_param;
use super::{MiniS3, bucket_error, caller, object_error, s3_error_with};

/// GetObjectLockConfiguration's answer for a bucket without Object Lock.
pub fn configuration_not_found() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::ObjectLockConfigurationNotFoundError,
        "Object Lock configuration does not exist for this bucket",
    );
    e.set_status_code(StatusCode::NOT_FOUND);
    e
}

/// S3's 404 for GetObjectRetention of a version without a retention and
/// GetObjectLegalHold of one that never had a legal hold.
fn no_such_lock_configuration() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("NoSuchObjectLockConfiguration".into()),
        "The specified object does not have a ObjectLock configuration",
    );
    e.set_status_code(StatusCode::NOT_FOUND);
    e
}

/// A legal hold's status on the wire.
fn legal_hold_status(on: bool) -> ObjectLockLegalHoldStatus {
    ObjectLockLegalHoldStatus::from_static(if on {
        ObjectLockLegalHoldStatus::ON
    } else {
        ObjectLockLegalHoldStatus::OFF
    })
}

/// A refusal of the bucket's state (Object Lock without versioning,
/// suspending versioning under Object Lock): S3's 409
/// `InvalidBucketState`; other errors as buckets' are.
pub fn bucket_state_error(e: CoreError) -> S3Error {
    match e {
        e @ CoreError::Conflict {
            kind: miniaws_core::error::ConflictKind::InvalidState,
            ..
        } => {
            let mut err = s3_error_with(e, S3ErrorCode::InvalidBucketState);
            err.set_status_code(StatusCode::CONFLICT);
            err
        }
        other => bucket_error(other),
    }
}

fn malformed(message: &str) -> S3Error {
    s3_error!(MalformedXML, "{message}")
}

fn lock_mode(mode: &str) -> S3Result<LockMode> {
    LockMode::parse(mode).map_err(|_| {
        s3_error!(
            InvalidArgument,
            "Unknown wormMode directive: {mode}; the mode is GOVERNANCE or COMPLIANCE"
        )
    })
}

/// The lock a write asks for with `x-amz-object-lock-mode`,
/// `-retain-until-date` and `-legal-hold`, checked as S3 checks them: the
/// mode and the date together or neither, the date in the future, the
/// legal hold `ON` or `OFF`.
///
/// # Errors
/// 400 `InvalidArgument` naming what is wrong.
pub fn requested_lock(
    mode: Option<&ObjectLockMode>,
    until: Option<&Timestamp>,
    legal_hold: Option<&ObjectLockLegalHoldStatus>,
) -> S3Result<ObjectLock> {
    let retention = match (mode, until) {
        (None, None) => None,
        (Some(mode), Some(until)) => {
            let mode = lock_mode(mode.as_str())?;
            let retain_until = time::OffsetDateTime::from(until.clone());
            if retain_until <= miniaws_core::clock::now_utc() {
                return Err(s3_error!(
                    InvalidArgument,
                    "The retain until date must be in the future!"
                ));
            }
            Some(Retention { mode, retain_until })
        }
        _ => {
            return Err(s3_error!(
                InvalidArgument,
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
            ));
        }
    };
    // Sent OFF, the hold is set (OFF), as a PutObjectLegalHold OFF sets it.
    let legal_hold = match legal_hold.map(ObjectLockLegalHoldStatus::as_str) {
        None => None,
        Some("OFF") => Some(false),
        Some("ON") => Some(true),
        Some(_) => {
            return Err(s3_error!(
                InvalidArgument,
                "Legal Hold must be either of 'ON' or 'OFF'"
            ));
        }
    };
    Ok(ObjectLock {
        retention,
        legal_hold,
    })
}

/// The `x-amz-object-lock-*` answer headers of a version (HeadObject,
/// GetObject): mode, retain-until date, legal hold, each when set. The
/// legal hold is `ON` or `OFF` once one was put on the version, absent
/// when none ever was (S3: the header "is not returned if the specified
/// version of this object has never had a legal hold applied",
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html>).
pub fn answer_headers(
    lock: &ObjectLock,
) -> (
    Option<ObjectLockMode>,
    Option<Timestamp>,
    Option<ObjectLockLegalHoldStatus>,
) {
    (
        lock.retention
            .map(|r| ObjectLockMode::from(r.mode.as_str().to_owned())),
        lock.retention.map(|r| Timestamp::from(r.retain_until)),
        lock.legal_hold.map(legal_hold_status),
    )
}

/// GetObjectLockConfiguration.
pub(super) async fn get_configuration(
    s3: &MiniS3,
    req: S3Request<GetObjectLockConfigurationInput>,
) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
    let caller = caller(&req)?;
    let config = s3
        .storage()
        .bucket_object_lock(caller, &req.input.bucket)
        .await
        .map_err(bucket_error)?
        .ok_or_else(configuration_not_found)?;
    let rule = config.default_retention.map(|d| {
        let (days, years) = match d.period {
            RetentionPeriod::Days(n) => (i32::try_from(n).ok(), None),
            RetentionPeriod::Years(n) => (None, i32::try_from(n).ok()),
        };
        ObjectLockRule {
            default_retention: Some(s3s::dto::DefaultRetention {
                days,
                mode: Some(ObjectLockRetentionMode::from(d.mode.as_str().to_owned())),
                years,
            }),
        }
    });
    Ok(S3Response::new(GetObjectLockConfigurationOutput {
        object_lock_configuration: Some(ObjectLockConfiguration {
            object_lock_enabled: Some(ObjectLockEnabled::from_static(ObjectLockEnabled::ENABLED)),
            rule,
        }),
    }))
}

/// The configuration a PutObjectLockConfiguration document asks for.
fn configuration(doc: Option<ObjectLockConfiguration>) -> S3Result<ObjectLockConfig> {
    let doc = doc.ok_or_else(|| malformed("The XML you provided was not well-formed or did not validate against our published schema: an ObjectLockConfiguration is required"))?;
    if doc
        .object_lock_enabled
        .as_ref()
        .map(ObjectLockEnabled::as_str)
        != Some(ObjectLockEnabled::ENABLED)
    {
        return Err(malformed(
            "The XML you provided was not well-formed or did not validate against our published schema: ObjectLockEnabled must be Enabled",
        ));
    }
    let Some(rule) = doc.rule else {
        return Ok(ObjectLockConfig::default());
    };
    let Some(d) = rule.default_retention else {
        return Err(malformed(
            "The XML you provided was not well-formed or did not validate against our published schema: a Rule needs a DefaultRetention",
        ));
    };
    let Some(mode) = d.mode else {
        return Err(malformed(
            "The XML you provided was not well-formed or did not validate against our published schema: DefaultRetention needs a Mode",
        ));
    };
    let mode = lock_mode(mode.as_str()).map_err(|_| {
        malformed("The XML you provided was not well-formed or did not validate against our published schema: Mode is GOVERNANCE or COMPLIANCE")
    })?;
    let period = match (d.days, d.years) {
        (Some(days), None) => RetentionPeriod::Days(positive(days)?),
        (None, Some(years)) => RetentionPeriod::Years(positive(years)?),
        (Some(_), Some(_)) => {
            return Err(malformed(
                "The XML you provided was not well-formed or did not validate against our published schema: DefaultRetention takes Days or Years, not both",
            ));
        }
        (None, None) => {
            return Err(malformed(
                "The XML you provided was not well-formed or did not validate against our published schema: DefaultRetention needs a period, Days or Years",
            ));
        }
    };
    let default = DefaultRetention::new(mode, period)
        .map_err(|e| s3_error_with(e, S3ErrorCode::InvalidArgument))?;
    Ok(ObjectLockConfig {
        default_retention: Some(default),
    })
}

fn positive(n: i32) -> S3Result<u32> {
    u32::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
        s3_error!(
            InvalidArgument,
            "Default retention period must be a positive integer value"
        )
    })
}

/// PutObjectLockConfiguration.
pub(super) async fn put_configuration(
    s3: &MiniS3,
    req: S3Request<PutObjectLockConfigurationInput>,
) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    // The bucket's own refusal (missing, another owner's) comes first.
    s3.storage()
        .bucket_object_lock(caller, &input.bucket)
        .await
        .map_err(bucket_error)?;
    let config = configuration(input.object_lock_configuration)?;
    s3.storage()
        .set_bucket_object_lock(caller, &input.bucket, &config)
        .await
        .map_err(bucket_state_error)?;
    Ok(S3Response::new(PutObjectLockConfigurationOutput::default()))
}

/// GetObjectRetention.
pub(super) async fn get_retention(
    s3: &MiniS3,
    req: S3Request<GetObjectRetentionInput>,
) -> S3Result<S3Response<GetObjectRetentionOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let lock = s3
        .storage()
        .object_lock(
            caller,
            &input.bucket,
            &input.key,
            version,
            S3Action::GetObjectRetention,
        )
        .await
        .map_err(object_error)?;
    let Some(retention) = lock.retention else {
        return Err(no_such_lock_configuration());
    };
    Ok(S3Response::new(GetObjectRetentionOutput {
        retention: Some(ObjectLockRetention {
            mode: Some(ObjectLockRetentionMode::from(
                retention.mode.as_str().to_owned(),
            )),
            retain_until_date: Some(Timestamp::from(retention.retain_until)),
        }),
    }))
}

/// PutObjectRetention.
pub(super) async fn put_retention(
    s3: &MiniS3,
    req: S3Request<PutObjectRetentionInput>,
) -> S3Result<S3Response<PutObjectRetentionOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let retention = match input.retention {
        None => {
            return Err(malformed(
                "The XML you provided was not well-formed or did not validate against our published schema: a Retention is required",
            ));
        }
        // An empty Retention removes it (GOVERNANCE, with the bypass).
        Some(ObjectLockRetention {
            mode: None,
            retain_until_date: None,
        }) => None,
        Some(ObjectLockRetention {
            mode: Some(mode),
            retain_until_date: Some(until),
        }) => {
            let mode = lock_mode(mode.as_str()).map_err(|_| {
                malformed("The XML you provided was not well-formed or did not validate against our published schema: Mode is GOVERNANCE or COMPLIANCE")
            })?;
            let retain_until = time::OffsetDateTime::from(until);
            if retain_until <= miniaws_core::clock::now_utc() {
                return Err(s3_error!(
                    InvalidArgument,
                    "The retain until date must be in the future!"
                ));
            }
            Some(Retention { mode, retain_until })
        }
        Some(_) => {
            return Err(malformed(
                "The XML you provided was not well-formed or did not validate against our published schema: a Retention needs both Mode and RetainUntilDate",
            ));
        }
    };
    s3.storage()
        .set_object_lock(
            caller,
            &input.bucket,
            &input.key,
            version,
            S3Action::PutObjectRetention,
            LockChange::Retention {
                retention,
                bypass: input.bypass_governance_retention.unwrap_or(false),
            },
        )
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(PutObjectRetentionOutput::default()))
}

/// GetObjectLegalHold.
pub(super) async fn get_legal_hold(
    s3: &MiniS3,
    req: S3Request<GetObjectLegalHoldInput>,
) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let lock = s3
        .storage()
        .object_lock(
            caller,
            &input.bucket,
            &input.key,
            version,
            S3Action::GetObjectLegalHold,
        )
        .await
        .map_err(object_error)?;
    // A version that never had a hold has no configuration to answer, as
    // GetObjectRetention of one without a retention.
    let Some(on) = lock.legal_hold else {
        return Err(no_such_lock_configuration());
    };
    Ok(S3Response::new(GetObjectLegalHoldOutput {
        legal_hold: Some(ObjectLockLegalHold {
            status: Some(legal_hold_status(on)),
        }),
    }))
}

/// PutObjectLegalHold.
pub(super) async fn put_legal_hold(
    s3: &MiniS3,
    req: S3Request<PutObjectLegalHoldInput>,
) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
    let caller = caller(&req)?;
    let input = req.input;
    let version = version_param(input.version_id.as_deref())?;
    let on = match input
        .legal_hold
        .and_then(|h| h.status)
        .as_ref()
        .map(ObjectLockLegalHoldStatus::as_str)
    {
        Some("ON") => true,
        Some("OFF") => false,
        _ => {
            return Err(malformed(
                "The XML you provided was not well-formed or did not validate against our published schema: LegalHold Status must be ON or OFF",
            ));
        }
    };
    s3.storage()
        .set_object_lock(
            caller,
            &input.bucket,
            &input.key,
            version,
            S3Action::PutObjectLegalHold,
            LockChange::LegalHold(on),
        )
        .await
        .map_err(object_error)?;
    Ok(S3Response::new(PutObjectLegalHoldOutput::default()))
}
