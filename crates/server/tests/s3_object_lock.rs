//! S3 Object Lock with `aws-sdk-s3` against the real server on SQLite and
//! Postgres: a bucket created with Object Lock (versioning Enabled, which
//! then cannot be suspended), PutObjectLockConfiguration on an existing
//! bucket (only once versioning is Enabled) with its default retention
//! and every malformed rule refused; retention and legal hold given by
//! PutObject, CopyObject and CreateMultipartUpload headers (checked,
//! PutObject's needing a body checksum; a copy never taking its source's
//! lock), by the bucket's default, and by Put/GetObjectRetention and
//! Put/GetObjectLegalHold (COMPLIANCE never shortened nor turned into
//! GOVERNANCE, GOVERNANCE shortened or made COMPLIANCE only with the
//! bypass; 405 on a delete marker
//! named by version id, 404 `NoSuchKey` without one; 403 when the bucket
//! policy denies the owner `s3:PutObjectRetention` /
//! `s3:PutObjectLegalHold`, for those calls and for the writes whose lock
//! headers need them, nothing written; another user granted `s3:PutObject`
//! writing nothing); HeadObject's and
//! GetObject's headers, answered only to a reader holding
//! `s3:GetObjectRetention` / `s3:GetObjectLegalHold` (another user granted
//! `s3:GetObject` alone, the owner denied one by the policy); deletes of a
//! locked version refused (DeleteObject and DeleteObjects, per key),
//! GOVERNANCE bypassed with the header unless a bucket policy denies
//! `s3:BypassGovernanceRetention`, a delete marker allowed, an expired
//! retention no longer protecting; the native API's delete by version
//! refused alike; the lifecycle sweep leaving a locked noncurrent version;
//! another owner refused everywhere; a legal hold never put on a version
//! is none (GetObjectLegalHold 404 `NoSuchObjectLockConfiguration`, no
//! header), one put ON or OFF answers that status, also with boto3. On
//! SQLite, the aws CLI's `create-bucket --object-lock-enabled-for-bucket`,
//! `put-object-retention`, `get-object-legal-hold` of a version no hold
//! was ever put on, `put-object-legal-hold`, `copy-object` with a legal
//! hold and a refused `delete-object --version-id`.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::RequestChecksumCalculation;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, DefaultRetention, Delete,
    ExpirationStatus, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectIdentifier,
    ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHold, ObjectLockLegalHoldStatus,
    ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode, ObjectLockRule,
    VersioningConfiguration,
};
use common::{code_of, complete_with_one_part, execute, owner_id, s3_client, s3_client_with};
use miniaws_testkit::{AwsClients, Backend, TestServer, require_tool};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_secs() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits")
}

/// `secs` from now, as the SDK sends dates.
fn in_secs(secs: i64) -> DateTime {
    DateTime::from_secs(now_secs() + secs)
}

fn code<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    r: Result<
        impl std::fmt::Debug,
        aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    >,
) -> (String, u16) {
    code_of(&r.expect_err("refused"))
}

fn denied() -> (String, u16) {
    ("AccessDenied".into(), 403)
}

async fn create_locked(s3: &Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateBucket {bucket} with Object Lock: {e:?}"));
}

/// PutObject of `body`, with `adjust` setting lock headers; the version id.
async fn put(
    s3: &Client,
    bucket: &str,
    key: &str,
    adjust: impl FnOnce(
        aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
) -> String {
    let req = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"locked bytes"));
    adjust(req)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {bucket}/{key}: {e:?}"))
        .version_id()
        .expect("a version id")
        .to_owned()
}

fn retention(mode: ObjectLockRetentionMode, until: DateTime) -> ObjectLockRetention {
    ObjectLockRetention::builder()
        .mode(mode)
        .retain_until_date(until)
        .build()
}

fn hold(on: bool) -> ObjectLockLegalHold {
    ObjectLockLegalHold::builder()
        .status(if on {
            ObjectLockLegalHoldStatus::On
        } else {
            ObjectLockLegalHoldStatus::Off
        })
        .build()
}

async fn delete_version(
    s3: &Client,
    bucket: &str,
    key: &str,
    version: &str,
    bypass: bool,
) -> Result<(), (String, u16)> {
    let mut req = s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .version_id(version);
    if bypass {
        req = req.bypass_governance_retention(true);
    }
    req.send().await.map(drop).map_err(|e| code_of(&e))
}

async fn readable(s3: &Client, bucket: &str, key: &str, version: &str) -> bool {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .is_ok()
}

fn lock_config(rule: Option<DefaultRetention>) -> ObjectLockConfiguration {
    ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::Enabled)
        .set_rule(rule.map(|d| ObjectLockRule::builder().default_retention(d).build()))
        .build()
}

/// A bucket created with Object Lock is versioned for good; an existing
/// bucket gets Object Lock once its versioning is Enabled; default rules
/// are read back as put, malformed ones refused; another owner refused.
async fn bucket_configuration(s3: &Client, other: &Client) {
    create_locked(s3, "ol-created").await;
    let v = s3
        .get_bucket_versioning()
        .bucket("ol-created")
        .send()
        .await
        .expect("GetBucketVersioning");
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let got = s3
        .get_object_lock_configuration()
        .bucket("ol-created")
        .send()
        .await
        .expect("GetObjectLockConfiguration");
    let config = got.object_lock_configuration().expect("a configuration");
    assert_eq!(
        config.object_lock_enabled(),
        Some(&ObjectLockEnabled::Enabled)
    );
    assert_eq!(config.rule(), None, "no default retention yet");
    let suspend = s3
        .put_bucket_versioning()
        .bucket("ol-created")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await;
    assert_eq!(code(suspend), ("InvalidBucketState".into(), 409));

    // Default rules.
    let put_rule = |rule: Option<DefaultRetention>| {
        s3.put_object_lock_configuration()
            .bucket("ol-created")
            .object_lock_configuration(lock_config(rule))
            .send()
    };
    for d in [
        DefaultRetention::builder()
            .mode(ObjectLockRetentionMode::Governance)
            .days(3)
            .build(),
        DefaultRetention::builder()
            .mode(ObjectLockRetentionMode::Compliance)
            .years(1)
            .build(),
    ] {
        put_rule(Some(d.clone())).await.expect("a default rule");
        let got = s3
            .get_object_lock_configuration()
            .bucket("ol-created")
            .send()
            .await
            .expect("GetObjectLockConfiguration");
        let read = got
            .object_lock_configuration()
            .and_then(|c| c.rule())
            .and_then(|r| r.default_retention())
            .expect("the rule");
        assert_eq!(read, &d, "read back as put");
    }
    for (what, d, want) in [
        (
            "days and years",
            DefaultRetention::builder()
                .mode(ObjectLockRetentionMode::Governance)
                .days(1)
                .years(1)
                .build(),
            ("MalformedXML", 400),
        ),
        (
            "no period",
            DefaultRetention::builder()
                .mode(ObjectLockRetentionMode::Governance)
                .build(),
            ("MalformedXML", 400),
        ),
        (
            "no mode",
            DefaultRetention::builder().days(1).build(),
            ("MalformedXML", 400),
        ),
        (
            "zero days",
            DefaultRetention::builder()
                .mode(ObjectLockRetentionMode::Governance)
                .days(0)
                .build(),
            ("InvalidArgument", 400),
        ),
        (
            "negative years",
            DefaultRetention::builder()
                .mode(ObjectLockRetentionMode::Governance)
                .years(-1)
                .build(),
            ("InvalidArgument", 400),
        ),
        (
            "unknown mode",
            DefaultRetention::builder()
                .mode(ObjectLockRetentionMode::from("FOREVER"))
                .days(1)
                .build(),
            ("MalformedXML", 400),
        ),
    ] {
        let got = code(put_rule(Some(d)).await);
        assert_eq!(got, (want.0.into(), want.1), "{what}");
    }
    let still = s3
        .get_object_lock_configuration()
        .bucket("ol-created")
        .send()
        .await
        .expect("GetObjectLockConfiguration");
    assert_eq!(
        still
            .object_lock_configuration()
            .and_then(|c| c.rule())
            .and_then(|r| r.default_retention())
            .and_then(|d| d.years()),
        Some(1),
        "refusals changed nothing"
    );
    put_rule(None).await.expect("the rule cleared");
    let cleared = s3
        .get_object_lock_configuration()
        .bucket("ol-created")
        .send()
        .await
        .expect("GetObjectLockConfiguration");
    assert_eq!(
        cleared.object_lock_configuration().and_then(|c| c.rule()),
        None
    );

    // An existing bucket: not before versioning is Enabled.
    s3.create_bucket()
        .bucket("ol-later")
        .send()
        .await
        .expect("CreateBucket");
    let early = s3
        .put_object_lock_configuration()
        .bucket("ol-later")
        .object_lock_configuration(lock_config(None))
        .send()
        .await;
    assert_eq!(code(early), ("InvalidBucketState".into(), 409));
    let missing = s3
        .get_object_lock_configuration()
        .bucket("ol-later")
        .send()
        .await;
    assert_eq!(
        code(missing),
        ("ObjectLockConfigurationNotFoundError".into(), 404)
    );
    s3.put_bucket_versioning()
        .bucket("ol-later")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning on");
    s3.put_object_lock_configuration()
        .bucket("ol-later")
        .object_lock_configuration(lock_config(None))
        .send()
        .await
        .expect("Object Lock on an Enabled bucket");
    assert!(
        s3.get_object_lock_configuration()
            .bucket("ol-later")
            .send()
            .await
            .is_ok()
    );

    // Another owner.
    assert_eq!(
        code(
            other
                .get_object_lock_configuration()
                .bucket("ol-created")
                .send()
                .await
        ),
        denied()
    );
    assert_eq!(
        code(
            other
                .put_object_lock_configuration()
                .bucket("ol-created")
                .object_lock_configuration(lock_config(None))
                .send()
                .await
        ),
        denied()
    );
}

/// Lock headers on writes, their checks, their answers; retention and
/// legal-hold operations with S3's rules.
async fn retention_and_holds(
    server: &TestServer,
    key: &miniaws_client::CreatedKey,
    s3: &Client,
    other: &Client,
) {
    let b = "ol-objects";
    create_locked(s3, b).await;
    let until = in_secs(3600);
    let v1 = put(s3, b, "gov", |r| {
        r.object_lock_mode(ObjectLockMode::Governance)
            .object_lock_retain_until_date(until)
    })
    .await;
    let head = s3
        .head_object()
        .bucket(b)
        .key("gov")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    assert_eq!(
        head.object_lock_retain_until_date().map(DateTime::secs),
        Some(until.secs())
    );
    assert_eq!(head.object_lock_legal_hold_status(), None);
    let got = s3
        .get_object_retention()
        .bucket(b)
        .key("gov")
        .version_id(&v1)
        .send()
        .await
        .expect("GetObjectRetention");
    let r = got.retention().expect("a retention");
    assert_eq!(r.mode(), Some(&ObjectLockRetentionMode::Governance));
    assert_eq!(
        r.retain_until_date().map(DateTime::secs),
        Some(until.secs())
    );
    // No hold was ever put on it (see `legal_hold_never_set`).
    let h = s3.get_object_legal_hold().bucket(b).key("gov").send().await;
    assert_eq!(
        code(h),
        ("NoSuchObjectLockConfiguration".into(), 404),
        "no legal hold ever put"
    );

    // Bad lock headers.
    let bad = s3
        .put_object()
        .bucket(b)
        .key("bad")
        .object_lock_mode(ObjectLockMode::Governance)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(code(bad), ("InvalidArgument".into(), 400), "mode alone");
    let past = s3
        .put_object()
        .bucket(b)
        .key("bad")
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(in_secs(-60))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(code(past), ("InvalidArgument".into(), 400), "a past date");
    let weird = s3
        .put_object()
        .bucket(b)
        .key("bad")
        .object_lock_mode(ObjectLockMode::from("FOREVER"))
        .object_lock_retain_until_date(until)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(code(weird), ("InvalidArgument".into(), 400), "a bad mode");
    // Without a checksum (a client that sends one only when required).
    let bare = s3_client_with(
        &server.aws_url(),
        &key.access_key_id,
        &key.secret_access_key,
        |c| c.request_checksum_calculation(RequestChecksumCalculation::WhenRequired),
    );
    let unsummed = bare
        .put_object()
        .bucket(b)
        .key("bad")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(
        code(unsummed),
        ("InvalidRequest".into(), 400),
        "no checksum"
    );
    bare.put_object()
        .bucket(b)
        .key("md5")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .content_md5("ndTkYSaMgDT1yFZOFVxnpg==")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("with Content-MD5");
    let versions = s3
        .list_object_versions()
        .bucket(b)
        .prefix("bad")
        .send()
        .await
        .expect("ListObjectVersions");
    assert!(versions.versions().is_empty(), "no refused write stored");

    // GOVERNANCE: shortened only with the bypass; extended freely.
    let put_retention = |key: &'static str, r: ObjectLockRetention, bypass: bool| {
        let mut req = s3.put_object_retention().bucket(b).key(key).retention(r);
        if bypass {
            req = req.bypass_governance_retention(true);
        }
        req.send()
    };
    let shorter = retention(ObjectLockRetentionMode::Governance, in_secs(1800));
    assert_eq!(
        code(put_retention("gov", shorter.clone(), false).await),
        denied(),
        "shortened without the bypass"
    );
    put_retention("gov", shorter, true)
        .await
        .expect("shortened with the bypass");
    put_retention(
        "gov",
        retention(ObjectLockRetentionMode::Governance, in_secs(7200)),
        false,
    )
    .await
    .expect("extended");
    // Made COMPLIANCE: a change of GOVERNANCE's settings, so only with the
    // bypass (S3's answer; the Ceph suite's
    // test_object_lock_changing_mode_from_governance_without_bypass).
    let stricter = retention(ObjectLockRetentionMode::Compliance, in_secs(7200));
    assert_eq!(
        code(put_retention("gov", stricter, false).await),
        denied(),
        "made COMPLIANCE without the bypass"
    );
    let kept = s3
        .get_object_retention()
        .bucket(b)
        .key("gov")
        .send()
        .await
        .expect("GetObjectRetention");
    assert_eq!(
        kept.retention().and_then(|r| r.mode()),
        Some(&ObjectLockRetentionMode::Governance),
        "the refused change left GOVERNANCE"
    );
    put_retention("gov", ObjectLockRetention::builder().build(), true)
        .await
        .expect("removed with the bypass");
    let none = s3.get_object_retention().bucket(b).key("gov").send().await;
    assert_eq!(
        code(none),
        ("NoSuchObjectLockConfiguration".into(), 404),
        "no retention left"
    );

    // COMPLIANCE: never shortened, removed or made GOVERNANCE.
    let comp = put(s3, b, "comp", |r| {
        r.checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
    })
    .await;
    put_retention(
        "comp",
        retention(ObjectLockRetentionMode::Compliance, in_secs(3600)),
        false,
    )
    .await
    .expect("set on a version without one");
    for (what, r) in [
        (
            "shortened",
            retention(ObjectLockRetentionMode::Compliance, in_secs(600)),
        ),
        (
            "made GOVERNANCE",
            retention(ObjectLockRetentionMode::Governance, in_secs(7200)),
        ),
        ("removed", ObjectLockRetention::builder().build()),
    ] {
        assert_eq!(
            code(put_retention("comp", r, true).await),
            denied(),
            "{what}"
        );
    }
    put_retention(
        "comp",
        retention(ObjectLockRetentionMode::Compliance, in_secs(5400)),
        false,
    )
    .await
    .expect("extended");
    let past = put_retention(
        "comp",
        retention(ObjectLockRetentionMode::Compliance, in_secs(-10)),
        false,
    )
    .await;
    assert_eq!(code(past), ("InvalidArgument".into(), 400), "a past date");

    // Legal hold, by version id, independent of retention.
    s3.put_object_legal_hold()
        .bucket(b)
        .key("comp")
        .version_id(&comp)
        .legal_hold(hold(true))
        .send()
        .await
        .expect("hold on");
    let head = s3
        .head_object()
        .bucket(b)
        .key("comp")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(
        head.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));

    // A missing key or version, a bucket without Object Lock, another owner.
    let missing = s3
        .get_object_retention()
        .bucket(b)
        .key("nothing")
        .send()
        .await;
    assert_eq!(code(missing), ("NoSuchKey".into(), 404));
    s3.create_bucket()
        .bucket("ol-plain")
        .send()
        .await
        .expect("CreateBucket");
    s3.put_object()
        .bucket("ol-plain")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("PutObject");
    let plain = s3
        .put_object_retention()
        .bucket("ol-plain")
        .key("k")
        .retention(retention(ObjectLockRetentionMode::Governance, until))
        .send()
        .await;
    assert_eq!(code(plain), ("InvalidRequest".into(), 400));
    let plain_put = s3
        .put_object()
        .bucket("ol-plain")
        .key("k2")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(code(plain_put), ("InvalidRequest".into(), 400));
    for r in [
        code(
            other
                .put_object_legal_hold()
                .bucket(b)
                .key("comp")
                .legal_hold(hold(false))
                .send()
                .await,
        ),
        code(
            other
                .get_object_retention()
                .bucket(b)
                .key("comp")
                .send()
                .await,
        ),
        code(
            other
                .put_object_retention()
                .bucket(b)
                .key("comp")
                .retention(retention(ObjectLockRetentionMode::Governance, until))
                .send()
                .await,
        ),
    ] {
        assert_eq!(r, denied());
    }
}

/// Deletes by version id refused while a lock protects the version;
/// GOVERNANCE bypassed with the header (unless the policy denies it);
/// delete markers allowed; DeleteObjects per key; an expired retention; a
/// default retention; a multipart upload's lock; the native API.
async fn delete_protection(s3: &Client, native: &miniaws_client::Client) {
    let b = "ol-delete";
    create_locked(s3, b).await;
    let gov = put(s3, b, "gov", |r| {
        r.object_lock_mode(ObjectLockMode::Governance)
            .object_lock_retain_until_date(in_secs(3600))
    })
    .await;
    let comp = put(s3, b, "comp", |r| {
        r.object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(in_secs(3600))
    })
    .await;
    let held = put(s3, b, "held", |r| {
        r.object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
    })
    .await;
    let soon = put(s3, b, "soon", |r| {
        r.object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(in_secs(2))
    })
    .await;
    let free = put(s3, b, "free", |r| r).await;

    assert_eq!(
        delete_version(s3, b, "gov", &gov, false).await,
        Err(denied())
    );
    assert_eq!(
        delete_version(s3, b, "comp", &comp, true).await,
        Err(denied())
    );
    assert_eq!(
        delete_version(s3, b, "held", &held, true).await,
        Err(denied())
    );
    assert_eq!(
        delete_version(s3, b, "soon", &soon, false).await,
        Err(denied())
    );
    for (k, v) in [
        ("gov", &gov),
        ("comp", &comp),
        ("held", &held),
        ("soon", &soon),
    ] {
        assert!(readable(s3, b, k, v).await, "{k} is still there");
    }
    // The native API shares the objects, and the protection.
    let err = native
        .delete_object_at(b, "comp", Some(&comp))
        .await
        .expect_err("the native API refuses too");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert!(readable(s3, b, "comp", &comp).await);

    // A delete without a version id writes a marker over a locked version.
    let marker = s3
        .delete_object()
        .bucket(b)
        .key("comp")
        .send()
        .await
        .expect("a delete marker");
    assert_eq!(marker.delete_marker(), Some(true));
    assert!(readable(s3, b, "comp", &comp).await, "the version stays");
    assert_eq!(
        delete_version(s3, b, "comp", &comp, true).await,
        Err(denied())
    );

    // DeleteObjects: per key.
    let ids = |pairs: &[(&str, &str)]| {
        let mut d = Delete::builder();
        for (k, v) in pairs {
            d = d.objects(
                ObjectIdentifier::builder()
                    .key(*k)
                    .version_id(*v)
                    .build()
                    .expect("id"),
            );
        }
        d.build().expect("delete")
    };
    let out = s3
        .delete_objects()
        .bucket(b)
        .delete(ids(&[("held", &held), ("free", &free), ("gov", &gov)]))
        .send()
        .await
        .expect("DeleteObjects");
    let mut refused: Vec<_> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap_or("-"), e.code().unwrap_or("-")))
        .collect();
    refused.sort_unstable();
    assert_eq!(
        refused,
        vec![("gov", "AccessDenied"), ("held", "AccessDenied")]
    );
    let deleted: Vec<_> = out.deleted().iter().filter_map(|d| d.key()).collect();
    assert_eq!(deleted, vec!["free"]);
    assert!(!readable(s3, b, "free", &free).await);

    // The policy takes s3:BypassGovernanceRetention away from the owner.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:BypassGovernanceRetention","Resource":"arn:aws:s3:::{b}/*"}}]}}"#
    );
    s3.put_bucket_policy()
        .bucket(b)
        .policy(&policy)
        .send()
        .await
        .expect("PutBucketPolicy");
    assert_eq!(
        delete_version(s3, b, "gov", &gov, true).await,
        Err(denied())
    );
    let short = s3
        .put_object_retention()
        .bucket(b)
        .key("gov")
        .retention(retention(ObjectLockRetentionMode::Governance, in_secs(60)))
        .bypass_governance_retention(true)
        .send()
        .await;
    assert_eq!(code(short), denied(), "no bypass under the policy");
    let batch = s3
        .delete_objects()
        .bucket(b)
        .bypass_governance_retention(true)
        .delete(ids(&[("gov", &gov)]))
        .send()
        .await
        .expect("DeleteObjects");
    assert_eq!(batch.errors().len(), 1, "refused under the policy");
    s3.delete_bucket_policy()
        .bucket(b)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    let batch = s3
        .delete_objects()
        .bucket(b)
        .bypass_governance_retention(true)
        .delete(ids(&[("gov", &gov)]))
        .send()
        .await
        .expect("DeleteObjects");
    assert!(batch.errors().is_empty(), "{:?}", batch.errors());
    assert!(!readable(s3, b, "gov", &gov).await, "bypassed: gone");

    // The legal hold off, the version goes.
    s3.put_object_legal_hold()
        .bucket(b)
        .key("held")
        .version_id(&held)
        .legal_hold(hold(false))
        .send()
        .await
        .expect("hold off");
    assert_eq!(delete_version(s3, b, "held", &held, false).await, Ok(()));

    // An expired retention protects nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(delete_version(s3, b, "soon", &soon, false).await, Ok(()));

    // A bucket holding locked versions cannot be deleted.
    let gone = s3.delete_bucket().bucket(b).send().await;
    assert_eq!(code(gone), ("BucketNotEmpty".into(), 409));

    // The default retention, on a plain write and on a multipart upload
    // (whose own legal hold comes from its creation).
    governance_day_by_default(s3, b).await;
    let before = now_secs();
    let dflt = put(s3, b, "default", |r| r).await;
    let head = s3
        .head_object()
        .bucket(b)
        .key("default")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    let until = head.object_lock_retain_until_date().expect("a date").secs();
    assert!(
        (before + 86_400 - 5..=now_secs() + 86_400 + 5).contains(&until),
        "a day from the write: {until}"
    );
    assert_eq!(
        delete_version(s3, b, "default", &dflt, false).await,
        Err(denied())
    );
    let upload = s3
        .create_multipart_upload()
        .bucket(b)
        .key("multi")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .expect("CreateMultipartUpload");
    let id = upload.upload_id().expect("an upload id");
    let done = complete_with_one_part(s3, b, "multi", id, b"one part").await;
    let multi = done.version_id().expect("a version").to_owned();
    let h = s3
        .get_object_legal_hold()
        .bucket(b)
        .key("multi")
        .version_id(&multi)
        .send()
        .await
        .expect("GetObjectLegalHold");
    assert_eq!(
        h.legal_hold().and_then(|h| h.status()),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    let head = s3
        .head_object()
        .bucket(b)
        .key("multi")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(
        head.object_lock_mode(),
        Some(&ObjectLockMode::Governance),
        "the default's retention too"
    );
    assert_eq!(
        delete_version(s3, b, "multi", &multi, true).await,
        Err(denied())
    );
}

/// CopyObject's `x-amz-object-lock-*` lock the copy, checked as
/// PutObject's; a copy never takes its source's lock, only what it names
/// or the destination's default retention.
async fn copy_locks(s3: &Client) {
    let b = "ol-copy";
    create_locked(s3, b).await;
    put(s3, b, "src", |r| {
        r.object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(in_secs(3600))
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
    })
    .await;
    let copy = |key: &str| {
        s3.copy_object()
            .bucket(b)
            .key(key)
            .copy_source(format!("{b}/src"))
    };
    let plain = copy("plain")
        .send()
        .await
        .expect("CopyObject")
        .version_id()
        .expect("a version")
        .to_owned();
    assert_eq!(
        lock_headers(s3, b, "plain", None).await,
        (None, None, None),
        "the source's lock is not copied"
    );
    assert_eq!(delete_version(s3, b, "plain", &plain, false).await, Ok(()));

    let until = in_secs(7200);
    let locked = copy("locked")
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(until)
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .expect("CopyObject with a lock")
        .version_id()
        .expect("a version")
        .to_owned();
    assert_eq!(
        lock_headers(s3, b, "locked", None).await,
        (
            Some(ObjectLockMode::Governance),
            Some(until.secs()),
            Some(ObjectLockLegalHoldStatus::On)
        ),
        "the copy's own lock"
    );
    let got = s3
        .get_object_retention()
        .bucket(b)
        .key("locked")
        .version_id(&locked)
        .send()
        .await
        .expect("GetObjectRetention");
    assert_eq!(
        got.retention().and_then(|r| r.mode()),
        Some(&ObjectLockRetentionMode::Governance)
    );
    assert_eq!(
        delete_version(s3, b, "locked", &locked, true).await,
        Err(denied()),
        "held"
    );
    let held = copy("held")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .expect("CopyObject with a hold alone");
    assert_eq!(
        lock_headers(s3, b, "held", None).await,
        (None, None, Some(ObjectLockLegalHoldStatus::On))
    );
    let held = held.version_id().expect("a version");
    assert_eq!(
        delete_version(s3, b, "held", held, false).await,
        Err(denied())
    );

    // Checked as PutObject's headers; nothing written.
    for (what, req) in [
        (
            "mode alone",
            copy("bad").object_lock_mode(ObjectLockMode::Governance),
        ),
        (
            "date alone",
            copy("bad").object_lock_retain_until_date(in_secs(60)),
        ),
        (
            "a past date",
            copy("bad")
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(in_secs(-60)),
        ),
        (
            "a bad mode",
            copy("bad")
                .object_lock_mode(ObjectLockMode::from("FOREVER"))
                .object_lock_retain_until_date(in_secs(60)),
        ),
        (
            "a bad hold",
            copy("bad").object_lock_legal_hold_status(ObjectLockLegalHoldStatus::from("MAYBE")),
        ),
    ] {
        assert_eq!(
            code(req.send().await),
            ("InvalidArgument".into(), 400),
            "{what}"
        );
    }
    let versions = s3
        .list_object_versions()
        .bucket(b)
        .prefix("bad")
        .send()
        .await
        .expect("ListObjectVersions");
    assert!(versions.versions().is_empty(), "no refused copy stored");
    s3.create_bucket()
        .bucket("ol-copy-plain")
        .send()
        .await
        .expect("CreateBucket");
    let unlocked = s3
        .copy_object()
        .bucket("ol-copy-plain")
        .key("k")
        .copy_source(format!("{b}/src"))
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await;
    assert_eq!(
        code(unlocked),
        ("InvalidRequest".into(), 400),
        "into a bucket without Object Lock"
    );

    // No lock named: the destination's default, not the source's.
    governance_day_by_default(s3, b).await;
    let before = now_secs();
    copy("dflt").send().await.expect("CopyObject");
    let (mode, date, hold) = lock_headers(s3, b, "dflt", None).await;
    assert_eq!(
        (mode, hold),
        (Some(ObjectLockMode::Governance), None),
        "the default"
    );
    let date = date.expect("a date");
    assert!(
        (before + 86_400 - 5..=now_secs() + 86_400 + 5).contains(&date),
        "a day from the copy: {date}"
    );
}

/// Asserts S3's refusal of `what`, a request naming delete marker
/// `marker` by its version id: 405 `MethodNotAllowed` with
/// `x-amz-delete-marker: true`, the marker's `x-amz-version-id`, its
/// `Last-Modified` (when the delete happened, `deleted_at` in seconds) and
/// `Allow: DELETE`.
fn marker_refused<T: std::fmt::Debug, E: aws_sdk_s3::error::ProvideErrorMetadata>(
    what: &str,
    r: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    marker: &str,
    deleted_at: i64,
) {
    let err = r.expect_err(what);
    let (code, status) = code_of(&err);
    assert_eq!(status, 405, "{what}");
    // (A HEAD's answer has no body to name the code in.)
    if what != "HeadObject" {
        assert_eq!(code, "MethodNotAllowed", "{what}");
    }
    let headers = err.raw_response().expect("an answer").headers();
    assert_eq!(headers.get("x-amz-delete-marker"), Some("true"), "{what}");
    assert_eq!(headers.get("x-amz-version-id"), Some(marker), "{what}");
    assert_eq!(headers.get("allow"), Some("DELETE"), "{what}");
    let when = headers
        .get("last-modified")
        .unwrap_or_else(|| panic!("{what}: no Last-Modified"));
    let when = DateTime::from_str(when, aws_sdk_s3::primitives::DateTimeFormat::HttpDate)
        .unwrap_or_else(|e| panic!("{what}: Last-Modified {when}: {e}"));
    assert_eq!(when.secs(), deleted_at, "{what}: when the delete happened");
}

/// Every operation on a delete marker named by its version id (the four
/// retention and legal-hold ones, GetObject, HeadObject,
/// GetObjectAttributes, the three of tagging and two of ACLs) is 405
/// `MethodNotAllowed` with the same headers, as S3 answers; the four lock
/// operations are 404 `NoSuchKey` without a version id (the key has no
/// current version); a bucket
/// policy denying the owner `s3:PutObjectRetention` or
/// `s3:PutObjectLegalHold` makes those 403 `AccessDenied`, changing
/// nothing.
async fn markers_and_denied_changes(s3: &Client) {
    let b = "ol-marker";
    create_locked(s3, b).await;
    put(s3, b, "k", |r| r).await;
    let marker = s3
        .delete_object()
        .bucket(b)
        .key("k")
        .send()
        .await
        .expect("a delete marker");
    let marker = marker.version_id().expect("its version id");
    let listed = s3
        .list_object_versions()
        .bucket(b)
        .send()
        .await
        .expect("ListObjectVersions");
    let deleted_at = listed
        .delete_markers()
        .iter()
        .find(|m| m.version_id() == Some(marker))
        .and_then(|m| m.last_modified())
        .expect("the marker, listed with its time")
        .secs();
    let until = in_secs(3600);
    // Every request naming the marker by its version id, each refused
    // alike (S3's GetObject and HeadObject documentation: 405 and the
    // `Last-Modified`; the version and `x-amz-delete-marker` as on S3's
    // other delete-marker answers).
    marker_refused(
        "GetObject",
        s3.get_object()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "HeadObject",
        s3.head_object()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "GetObjectAttributes",
        s3.get_object_attributes()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .object_attributes(aws_sdk_s3::types::ObjectAttributes::Etag)
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "GetObjectTagging",
        s3.get_object_tagging()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "PutObjectTagging",
        s3.put_object_tagging()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .set_tag_set(Some(Vec::new()))
                    .build()
                    .expect("tagging"),
            )
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "DeleteObjectTagging",
        s3.delete_object_tagging()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "GetObjectAcl",
        s3.get_object_acl()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "PutObjectAcl",
        s3.put_object_acl()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .acl(aws_sdk_s3::types::ObjectCannedAcl::Private)
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "GetObjectRetention",
        s3.get_object_retention()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "PutObjectRetention",
        s3.put_object_retention()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .retention(retention(ObjectLockRetentionMode::Governance, until))
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "GetObjectLegalHold",
        s3.get_object_legal_hold()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .send()
            .await,
        marker,
        deleted_at,
    );
    marker_refused(
        "PutObjectLegalHold",
        s3.put_object_legal_hold()
            .bucket(b)
            .key("k")
            .version_id(marker)
            .legal_hold(hold(true))
            .send()
            .await,
        marker,
        deleted_at,
    );
    // Without a version id they act on the key's current version, and
    // there is none: 404 NoSuchKey, as S3 answers (and GetObject), not the
    // 405 of the marker named by its version id.
    let no_such_key = ("NoSuchKey".to_owned(), 404);
    let retention_now = s3.get_object_retention().bucket(b).key("k").send().await;
    assert_eq!(code(retention_now), no_such_key, "GetObjectRetention");
    let set_now = s3
        .put_object_retention()
        .bucket(b)
        .key("k")
        .retention(retention(ObjectLockRetentionMode::Governance, until))
        .send()
        .await;
    assert_eq!(code(set_now), no_such_key, "PutObjectRetention");
    let hold_now = s3.get_object_legal_hold().bucket(b).key("k").send().await;
    assert_eq!(code(hold_now), no_such_key, "GetObjectLegalHold");
    let set_hold_now = s3
        .put_object_legal_hold()
        .bucket(b)
        .key("k")
        .legal_hold(hold(true))
        .send()
        .await;
    assert_eq!(code(set_hold_now), no_such_key, "PutObjectLegalHold");

    // The owner denied the changes by the policy.
    let v = put(s3, b, "d", |r| r).await;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":["s3:PutObjectRetention","s3:PutObjectLegalHold"],"Resource":"arn:aws:s3:::{b}/*"}}]}}"#
    );
    s3.put_bucket_policy()
        .bucket(b)
        .policy(&policy)
        .send()
        .await
        .expect("PutBucketPolicy");
    let set_retention = || {
        s3.put_object_retention()
            .bucket(b)
            .key("d")
            .version_id(&v)
            .retention(retention(ObjectLockRetentionMode::Governance, until))
            .send()
    };
    let set_hold = || {
        s3.put_object_legal_hold()
            .bucket(b)
            .key("d")
            .version_id(&v)
            .legal_hold(hold(true))
            .send()
    };
    assert_eq!(code(set_retention().await), denied(), "PutObjectRetention");
    assert_eq!(code(set_hold().await), denied(), "PutObjectLegalHold");
    assert_eq!(
        lock_headers(s3, b, "d", Some(&v)).await,
        (None, None, None),
        "nothing changed"
    );
    assert_eq!(delete_version(s3, b, "d", &v, false).await, Ok(()), "free");
    s3.delete_bucket_policy()
        .bucket(b)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    // The same calls pass without the policy (on a new version).
    let v = put(s3, b, "d", |r| r).await;
    s3.put_object_retention()
        .bucket(b)
        .key("d")
        .version_id(&v)
        .retention(retention(ObjectLockRetentionMode::Governance, until))
        .send()
        .await
        .expect("PutObjectRetention without the policy");
    s3.put_object_legal_hold()
        .bucket(b)
        .key("d")
        .version_id(&v)
        .legal_hold(hold(true))
        .send()
        .await
        .expect("PutObjectLegalHold without the policy");
}

/// What HeadObject (of `version`, else the current version) and GetObject
/// answer of the lock: (mode, retain-until date, legal hold).
async fn lock_headers(
    s3: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> (
    Option<ObjectLockMode>,
    Option<i64>,
    Option<ObjectLockLegalHoldStatus>,
) {
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .unwrap_or_else(|e| panic!("HeadObject {bucket}/{key}: {e:?}"));
    let seen = (
        head.object_lock_mode().cloned(),
        head.object_lock_retain_until_date().map(DateTime::secs),
        head.object_lock_legal_hold_status().cloned(),
    );
    let get = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObject {bucket}/{key}: {e:?}"));
    assert_eq!(
        (
            get.object_lock_mode().cloned(),
            get.object_lock_retain_until_date().map(DateTime::secs),
            get.object_lock_legal_hold_status().cloned(),
        ),
        seen,
        "GetObject answers as HeadObject"
    );
    seen
}

/// HeadObject and GetObject answer the retention only to a reader holding
/// `s3:GetObjectRetention`, the legal hold only to one holding
/// `s3:GetObjectLegalHold`: another user granted `s3:GetObject` alone sees
/// neither; the owner denied `s3:GetObjectLegalHold` does not see the hold.
async fn lock_headers_need_permission(s3: &Client, other: &Client) {
    let b = "ol-seen";
    create_locked(s3, b).await;
    let until = in_secs(3600);
    let v = put(s3, b, "k", |r| {
        r.object_lock_mode(ObjectLockMode::Governance)
            .object_lock_retain_until_date(until)
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
    })
    .await;
    let all = (
        Some(ObjectLockMode::Governance),
        Some(until.secs()),
        Some(ObjectLockLegalHoldStatus::On),
    );
    assert_eq!(lock_headers(s3, b, "k", None).await, all, "the owner");

    let bob = owner_id(other).await;
    let allow = |actions: &str| {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{bob}"}},"Action":[{actions}],"Resource":"arn:aws:s3:::{b}/*"}}"#
        )
    };
    let set_policy = |statements: Vec<String>| {
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            statements.join(",")
        );
        s3.put_bucket_policy().bucket(b).policy(policy).send()
    };
    set_policy(vec![allow(r#""s3:GetObject","s3:GetObjectVersion""#)])
        .await
        .expect("PutBucketPolicy");
    let nothing = (None, None, None);
    assert_eq!(
        lock_headers(other, b, "k", None).await,
        nothing,
        "granted s3:GetObject alone"
    );
    assert_eq!(
        lock_headers(other, b, "k", Some(&v)).await,
        nothing,
        "granted s3:GetObjectVersion alone"
    );
    set_policy(vec![allow(
        r#""s3:GetObject","s3:GetObjectVersion","s3:GetObjectRetention""#,
    )])
    .await
    .expect("PutBucketPolicy");
    let retention_only = (all.0.clone(), all.1, None);
    assert_eq!(
        lock_headers(other, b, "k", None).await,
        retention_only,
        "granted s3:GetObjectRetention too"
    );
    assert_eq!(lock_headers(other, b, "k", Some(&v)).await, retention_only);
    set_policy(vec![allow(
        r#""s3:GetObject","s3:GetObjectVersion","s3:GetObjectLegalHold""#,
    )])
    .await
    .expect("PutBucketPolicy");
    assert_eq!(
        lock_headers(other, b, "k", None).await,
        (None, None, all.2.clone()),
        "granted s3:GetObjectLegalHold too"
    );

    // The owner, denied s3:GetObjectLegalHold.
    set_policy(vec![format!(
        r#"{{"Effect":"Deny","Principal":"*","Action":"s3:GetObjectLegalHold","Resource":"arn:aws:s3:::{b}/*"}}"#
    )])
    .await
    .expect("PutBucketPolicy");
    assert_eq!(
        lock_headers(s3, b, "k", None).await,
        retention_only,
        "the owner denied s3:GetObjectLegalHold"
    );
    assert_eq!(lock_headers(s3, b, "k", Some(&v)).await, retention_only);
    let hold = s3.get_object_legal_hold().bucket(b).key("k").send().await;
    assert_eq!(code(hold), denied(), "nor GetObjectLegalHold");
    s3.delete_bucket_policy()
        .bucket(b)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    assert_eq!(lock_headers(s3, b, "k", None).await, all, "the policy gone");
}

/// What of a write `key` left in bucket `b`: its versions and delete
/// markers, and its multipart uploads (a refused write leaves none).
async fn traces(s3: &Client, b: &str, key: &str) -> (usize, usize) {
    let versions = s3
        .list_object_versions()
        .bucket(b)
        .prefix(key)
        .send()
        .await
        .expect("ListObjectVersions");
    let uploads = s3
        .list_multipart_uploads()
        .bucket(b)
        .prefix(key)
        .send()
        .await
        .expect("ListMultipartUploads");
    (
        versions.versions().len() + versions.delete_markers().len(),
        uploads.uploads().len(),
    )
}

/// A write that sets a lock with its own headers needs
/// `s3:PutObjectRetention` (mode and date) or `s3:PutObjectLegalHold`
/// (legal hold) besides `s3:PutObject`, as on S3: the owner denied one by
/// the bucket policy is 403 `AccessDenied` on PutObject, CopyObject and
/// CreateMultipartUpload, before the body is read, and nothing is written
/// (no version, no upload); the other lock, and a write that only gets
/// the bucket's default retention, still pass. Another user granted
/// `s3:PutObject` (even with both lock actions) writes nothing at all:
/// Mini AWS opens no writes to other accounts.
async fn lock_writes_need_permission(s3: &Client, other: &Client) {
    let b = "ol-write";
    create_locked(s3, b).await;
    governance_day_by_default(s3, b).await;
    put(s3, b, "src", |r| r).await;
    let until = in_secs(3600);
    let set_policy = |statement: String| {
        let policy = format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
        s3.put_bucket_policy().bucket(b).policy(policy).send()
    };
    let deny = |action: &str| {
        format!(
            r#"{{"Effect":"Deny","Principal":"*","Action":"{action}","Resource":"arn:aws:s3:::{b}/*"}}"#
        )
    };
    // The four lock-setting writes of `client` to `key` (`retention`: the
    // mode and date, else the legal hold header, OFF to show that sending
    // it is what counts), each answered.
    async fn writes(
        client: &Client,
        b: &str,
        key: &str,
        retention: bool,
        until: DateTime,
    ) -> Vec<Result<(), (String, u16)>> {
        let put = client
            .put_object()
            .bucket(b)
            .key(key)
            .body(ByteStream::from_static(b"locked bytes"));
        let copy = client
            .copy_object()
            .bucket(b)
            .key(format!("{key}-copy"))
            .copy_source(format!("{b}/src"));
        let multipart = client
            .create_multipart_upload()
            .bucket(b)
            .key(format!("{key}-multi"));
        let (put, copy, multipart) = if retention {
            (
                put.object_lock_mode(ObjectLockMode::Compliance)
                    .object_lock_retain_until_date(until),
                copy.object_lock_mode(ObjectLockMode::Compliance)
                    .object_lock_retain_until_date(until),
                multipart
                    .object_lock_mode(ObjectLockMode::Compliance)
                    .object_lock_retain_until_date(until),
            )
        } else {
            (
                put.object_lock_legal_hold_status(ObjectLockLegalHoldStatus::Off),
                copy.object_lock_legal_hold_status(ObjectLockLegalHoldStatus::Off),
                multipart.object_lock_legal_hold_status(ObjectLockLegalHoldStatus::Off),
            )
        };
        vec![
            put.send().await.map(drop).map_err(|e| code_of(&e)),
            copy.send().await.map(drop).map_err(|e| code_of(&e)),
            multipart.send().await.map(drop).map_err(|e| code_of(&e)),
        ]
    }
    let refused = vec![Err(denied()); 3];
    let passed = vec![Ok(()); 3];

    // Another user granted s3:PutObject (and then the lock actions too).
    let bob = owner_id(other).await;
    for actions in [
        r#""s3:PutObject""#,
        r#"["s3:PutObject","s3:PutObjectRetention","s3:PutObjectLegalHold","s3:GetObject"]"#,
    ] {
        set_policy(format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{bob}"}},"Action":{actions},"Resource":"arn:aws:s3:::{b}/*"}}"#
        ))
        .await
        .expect("PutBucketPolicy");
        for retention in [true, false] {
            assert_eq!(
                writes(other, b, "bob", retention, until).await,
                refused,
                "another user granted {actions}, retention {retention}"
            );
        }
        let plain = other
            .put_object()
            .bucket(b)
            .key("bob")
            .body(ByteStream::from_static(b"plain"))
            .send()
            .await;
        assert_eq!(code(plain), denied(), "nor a plain write: {actions}");
    }
    assert_eq!(traces(s3, b, "bob").await, (0, 0), "nothing of bob's");

    // The owner denied s3:PutObjectRetention: retentions refused, holds not.
    set_policy(deny("s3:PutObjectRetention"))
        .await
        .expect("PutBucketPolicy");
    assert_eq!(
        writes(s3, b, "r", true, until).await,
        refused,
        "retention denied"
    );
    // (The prefix covers the copy and the upload too.)
    assert_eq!(traces(s3, b, "r").await, (0, 0), "nothing of r");
    assert_eq!(
        writes(s3, b, "h", false, until).await,
        passed,
        "a legal hold still passes"
    );
    // A plain write gets the bucket's default retention all the same.
    put(s3, b, "default", |r| r).await;
    let (mode, date, _) = lock_headers(s3, b, "default", None).await;
    assert_eq!(mode, Some(ObjectLockMode::Governance), "the default");
    assert!(date.is_some_and(|d| d > now_secs()), "{date:?}");

    // The owner denied s3:PutObjectLegalHold: the header refused even OFF.
    set_policy(deny("s3:PutObjectLegalHold"))
        .await
        .expect("PutBucketPolicy");
    assert_eq!(
        writes(s3, b, "h2", false, until).await,
        refused,
        "legal hold denied"
    );
    assert_eq!(traces(s3, b, "h2").await, (0, 0), "nothing of h2");
    assert_eq!(
        writes(s3, b, "r2", true, until).await,
        passed,
        "a retention passes"
    );
    assert_eq!(
        lock_headers(s3, b, "r2", None).await.0,
        Some(ObjectLockMode::Compliance),
        "the retention set"
    );

    // Without the policy, everything passes.
    s3.delete_bucket_policy()
        .bucket(b)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    assert_eq!(writes(s3, b, "r", true, until).await, passed, "no policy");
    assert_eq!(writes(s3, b, "h2", false, until).await, passed, "no policy");
}

/// The lifecycle's NoncurrentVersionExpiration removes an old unlocked
/// version and leaves a locked one (sweep every second).
async fn lifecycle_keeps_locked(server: &TestServer, backend: Backend, s3: &Client) {
    let b = "ol-sweep";
    create_locked(s3, b).await;
    let locked = put(s3, b, "k", |r| {
        r.object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
    })
    .await;
    let plain = put(s3, b, "k", |r| r).await;
    let current = put(s3, b, "k", |r| r).await;
    let sql = match backend {
        Backend::Sqlite => {
            "UPDATE object_versions SET noncurrent_at = '2020-01-01T00:00:00.000000Z' WHERE bucket = 'ol-sweep'"
        }
        Backend::Postgres => {
            "UPDATE object_versions SET noncurrent_at = '2020-01-01T00:00:00Z' WHERE bucket = 'ol-sweep'"
        }
    };
    assert_eq!(
        execute(server, backend, sql).await,
        2,
        "two noncurrent versions"
    );
    s3.put_bucket_lifecycle_configuration()
        .bucket(b)
        .lifecycle_configuration(
            aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
                .rules(
                    aws_sdk_s3::types::LifecycleRule::builder()
                        .id("old")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("").build())
                        .noncurrent_version_expiration(
                            NoncurrentVersionExpiration::builder()
                                .noncurrent_days(1)
                                .build(),
                        )
                        .build()
                        .expect("rule"),
                )
                .build()
                .expect("lifecycle"),
        )
        .send()
        .await
        .expect("PutBucketLifecycleConfiguration");
    let mut left = Vec::new();
    for _ in 0..75 {
        let out = s3
            .list_object_versions()
            .bucket(b)
            .send()
            .await
            .expect("ListObjectVersions");
        left = out
            .versions()
            .iter()
            .filter_map(|v| v.version_id().map(str::to_owned))
            .collect();
        if !left.contains(&plain) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!left.contains(&plain), "the unlocked one expired: {left:?}");
    // Two more sweeps: the locked one stays.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(readable(s3, b, "k", &locked).await, "the locked one stays");
    assert!(readable(s3, b, "k", &current).await);
}

async fn run(backend: Backend) {
    let Some(server) =
        TestServer::start_with(backend, &["--lifecycle-interval-secs", "1"], &[]).await
    else {
        return;
    };
    // The native client and the S3 key of one user.
    let (native, alice) = server.user("alice-lock").await;
    let a = s3_client(&server, &alice);
    let (_, bob) = server.user("bob-lock").await;
    let b = s3_client(&server, &bob);
    bucket_configuration(&a, &b).await;
    retention_and_holds(&server, &alice, &a, &b).await;
    delete_protection(&a, &native).await;
    lock_headers_need_permission(&a, &b).await;
    copy_locks(&a).await;
    markers_and_denied_changes(&a).await;
    lock_writes_need_permission(&a, &b).await;
    default_retention_needs_checksums(&server, &alice, &a, &native).await;
    lifecycle_keeps_locked(&server, backend, &a).await;
    legal_hold_never_set(&server, &alice, &a).await;
}

/// GetObjectLegalHold and HeadObject (and GetObject) of a hold as S3
/// answers them: a version no hold was ever put on has none (404
/// `NoSuchObjectLockConfiguration`, no `x-amz-object-lock-legal-hold`),
/// one put ON or OFF (by PutObjectLegalHold or by its write's header)
/// answers that status. A copy or a newer version does not take another
/// version's hold. A bucket without Object Lock, a missing key or version
/// answer as before. The same with boto3, as the Ceph suite's
/// `test_object_lock_get_legal_hold` drives it.
async fn legal_hold_never_set(server: &TestServer, key: &miniaws_client::CreatedKey, s3: &Client) {
    let b = "ol-never";
    create_locked(s3, b).await;
    let never_set = ("NoSuchObjectLockConfiguration".to_owned(), 404);
    let hold_of = |key: &'static str, version: Option<&str>| {
        s3.get_object_legal_hold()
            .bucket(b)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .send()
    };
    let status_of =
        |r: Result<aws_sdk_s3::operation::get_object_legal_hold::GetObjectLegalHoldOutput, _>| {
            r.map(|o| o.legal_hold().and_then(|h| h.status()).cloned())
                .map_err(|e| code_of(&e))
        };
    let set = |key: &'static str, version: &str, on: bool| {
        s3.put_object_legal_hold()
            .bucket(b)
            .key(key)
            .version_id(version)
            .legal_hold(hold(on))
            .send()
    };
    let on = Some(ObjectLockLegalHoldStatus::On);
    let off = Some(ObjectLockLegalHoldStatus::Off);

    // Never set: 404, with S3's message; no header.
    let v = put(s3, b, "k", |r| r).await;
    let e = hold_of("k", None).await.expect_err("never set");
    assert_eq!(code_of(&e), never_set);
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::message(&e),
        Some("The specified object does not have a ObjectLock configuration")
    );
    assert_eq!(
        status_of(hold_of("k", Some(&v)).await),
        Err(never_set.clone())
    );
    assert_eq!(lock_headers(s3, b, "k", Some(&v)).await, (None, None, None));
    // Put ON, then OFF: answered, in the headers too.
    set("k", &v, true).await.expect("hold on");
    assert_eq!(status_of(hold_of("k", Some(&v)).await), Ok(on.clone()));
    assert_eq!(
        lock_headers(s3, b, "k", None).await,
        (None, None, on.clone())
    );
    set("k", &v, false).await.expect("hold off");
    assert_eq!(
        status_of(hold_of("k", None).await),
        Ok(off.clone()),
        "put OFF"
    );
    assert_eq!(
        lock_headers(s3, b, "k", Some(&v)).await,
        (None, None, off.clone()),
        "S3 sends OFF once a hold was put"
    );
    // A newer version has no hold of its own; the older keeps its OFF.
    let newer = put(s3, b, "k", |r| r).await;
    assert_eq!(status_of(hold_of("k", None).await), Err(never_set.clone()));
    assert_eq!(
        lock_headers(s3, b, "k", Some(&newer)).await,
        (None, None, None)
    );
    assert_eq!(status_of(hold_of("k", Some(&v)).await), Ok(off.clone()));

    // Written with the header, ON or OFF: set.
    for (key, status) in [("w-on", on.clone()), ("w-off", off.clone())] {
        let sent = status.clone().expect("a status");
        let written = put(s3, b, key, |r| r.object_lock_legal_hold_status(sent)).await;
        assert_eq!(
            status_of(hold_of(key, Some(&written)).await),
            Ok(status.clone()),
            "{key}"
        );
        assert_eq!(
            lock_headers(s3, b, key, None).await,
            (None, None, status),
            "{key}"
        );
    }
    // A copy takes the hold it names, never its source's.
    let copy = |key: &'static str| {
        s3.copy_object()
            .bucket(b)
            .key(key)
            .copy_source(format!("{b}/w-on"))
    };
    copy("c-plain").send().await.expect("CopyObject");
    assert_eq!(
        status_of(hold_of("c-plain", None).await),
        Err(never_set.clone())
    );
    assert_eq!(
        lock_headers(s3, b, "c-plain", None).await,
        (None, None, None)
    );
    copy("c-off")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::Off)
        .send()
        .await
        .expect("CopyObject OFF");
    assert_eq!(status_of(hold_of("c-off", None).await), Ok(off.clone()));
    // A multipart upload: its creation's header, or none.
    for (key, status) in [("m-plain", None), ("m-off", off.clone())] {
        let upload = s3
            .create_multipart_upload()
            .bucket(b)
            .key(key)
            .set_object_lock_legal_hold_status(status.clone())
            .send()
            .await
            .expect("CreateMultipartUpload");
        let id = upload.upload_id().expect("an upload id");
        complete_with_one_part(s3, b, key, id, b"one part").await;
        let want = status.clone().ok_or_else(|| never_set.clone());
        assert_eq!(status_of(hold_of(key, None).await), want.map(Some), "{key}");
        assert_eq!(
            lock_headers(s3, b, key, None).await,
            (None, None, status),
            "{key}"
        );
    }

    // A missing key or version; a bucket without Object Lock.
    assert_eq!(
        status_of(hold_of("nothing", None).await),
        Err(("NoSuchKey".into(), 404))
    );
    let unknown = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        status_of(hold_of("k", Some(unknown)).await),
        Err(("NoSuchVersion".into(), 404))
    );
    s3.create_bucket()
        .bucket("ol-never-plain")
        .send()
        .await
        .expect("CreateBucket");
    s3.put_object()
        .bucket("ol-never-plain")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("PutObject");
    let plain = s3
        .get_object_legal_hold()
        .bucket("ol-never-plain")
        .key("k")
        .send()
        .await;
    assert_eq!(code(plain), ("InvalidRequest".into(), 400));

    common::boto3(server, key, BOTO3_LEGAL_HOLD, &["ol-never-boto3"]).await;
}

/// boto3: the Ceph suite's `test_object_lock_get_legal_hold` (a hold put
/// ON, then OFF, answered so), preceded by the never-set 404 and HEAD's
/// missing header.
const BOTO3_LEGAL_HOLD: &str = r#"
import os, sys, boto3, botocore
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
bucket = sys.argv[1]
s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
s3.put_object(Bucket=bucket, Key="file1", Body=b"abc")
try:
    s3.get_object_legal_hold(Bucket=bucket, Key="file1")
    sys.exit("a hold never put was answered")
except botocore.exceptions.ClientError as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
    assert e.response["Error"]["Code"] == "NoSuchObjectLockConfiguration", e.response
head = s3.head_object(Bucket=bucket, Key="file1")
assert "ObjectLockLegalHoldStatus" not in head, head
for status in ["ON", "OFF"]:
    s3.put_object_legal_hold(Bucket=bucket, Key="file1", LegalHold={"Status": status})
    got = s3.get_object_legal_hold(Bucket=bucket, Key="file1")
    assert got["LegalHold"] == {"Status": status}, got
    head = s3.head_object(Bucket=bucket, Key="file1")
    assert head.get("ObjectLockLegalHoldStatus") == status, head
print("boto3 ok")
"#;

/// Asserts S3's refusal of `request` ("Put Object", "Put Part") without a
/// checksum of its body.
fn refused_unsummed<T: std::fmt::Debug, E>(
    r: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    request: &str,
) where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
{
    let e = r.expect_err("refused without a checksum");
    let message = aws_sdk_s3::error::ProvideErrorMetadata::message(&e)
        .unwrap_or_default()
        .to_owned();
    let (code, status) = code_of(&e);
    assert_eq!(
        (code.as_str(), status),
        ("InvalidRequest", 400),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "Content-MD5 OR x-amz-checksum- HTTP header is required for {request}"
        )),
        "{message}"
    );
}

/// S3 refuses a PutObject or UploadPart without a checksum of its body
/// ("Content-MD5 OR x-amz-checksum- HTTP header is required for Put
/// Object / Put Part requests with Object Lock parameters") when the new
/// version will be locked: by the bucket's default retention, or (parts)
/// by the lock the upload was created with. Nothing is stored then. A
/// client that sends checksums (the SDK's default) is unaffected, and so
/// are a bucket with Object Lock but no default, a part copied from an
/// object, and the native API.
async fn default_retention_needs_checksums(
    server: &TestServer,
    key: &miniaws_client::CreatedKey,
    s3: &Client,
    native: &miniaws_client::Client,
) {
    let bare = s3_client_with(
        &server.aws_url(),
        &key.access_key_id,
        &key.secret_access_key,
        |c| c.request_checksum_calculation(RequestChecksumCalculation::WhenRequired),
    );
    let md5_of_x = "ndTkYSaMgDT1yFZOFVxnpg==";
    let b = "ol-default-sums";
    create_locked(s3, b).await;
    governance_day_by_default(s3, b).await;
    let unsummed = bare
        .put_object()
        .bucket(b)
        .key("bare")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    refused_unsummed(unsummed, "Put Object");
    let versions = s3.list_object_versions().bucket(b).send().await.unwrap();
    assert!(versions.versions().is_empty(), "nothing stored");
    // With Content-MD5, or the SDK's default CRC32: stored, and locked.
    bare.put_object()
        .bucket(b)
        .key("md5")
        .content_md5(md5_of_x)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("with Content-MD5");
    put(s3, b, "crc", |r| r).await;
    for k in ["md5", "crc"] {
        let r = s3.get_object_retention().bucket(b).key(k).send().await;
        let mode = r
            .expect("a default retention")
            .retention()
            .and_then(|r| r.mode().cloned());
        assert_eq!(mode, Some(ObjectLockRetentionMode::Governance), "{k}");
    }
    // The native API has no such rule: its write gets the default too.
    native
        .put_object(b, "native", &b"x"[..], None)
        .await
        .expect("a native write");
    let r = s3
        .get_object_retention()
        .bucket(b)
        .key("native")
        .send()
        .await;
    assert!(r.is_ok(), "the native write is locked by default: {r:?}");

    // Parts of an upload into that bucket.
    let upload = bare
        .create_multipart_upload()
        .bucket(b)
        .key("mp")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let id = upload.upload_id().expect("an upload id");
    let part = |n: i32| {
        bare.upload_part()
            .bucket(b)
            .key("mp")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from_static(b"x"))
    };
    refused_unsummed(part(1).send().await, "Put Part");
    let parts = s3
        .list_parts()
        .bucket(b)
        .key("mp")
        .upload_id(id)
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty(), "no part stored");
    let etag = part(1)
        .content_md5(md5_of_x)
        .send()
        .await
        .expect("a part with Content-MD5")
        .e_tag()
        .expect("an ETag")
        .to_owned();
    // A part copied from an object has no body of its own to sum.
    let copied = bare
        .upload_part_copy()
        .bucket(b)
        .key("mp")
        .upload_id(id)
        .part_number(2)
        .copy_source(format!("{b}/md5"))
        .send()
        .await
        .expect("UploadPartCopy");
    assert!(copied.copy_part_result().is_some(), "{copied:?}");
    // Completed from the summed part (the copied one, not named, goes).
    bare.complete_multipart_upload()
        .bucket(b)
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");
    let r = s3.get_object_retention().bucket(b).key("mp").send().await;
    assert!(
        r.is_ok(),
        "the completed object is locked by default: {r:?}"
    );

    // Object Lock without a default: nothing to lock, no checksum needed,
    // unless the write or the upload asks for a lock.
    let plain = "ol-no-default";
    create_locked(s3, plain).await;
    bare.put_object()
        .bucket(plain)
        .key("bare")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("no default retention, no checksum needed");
    let held = bare
        .create_multipart_upload()
        .bucket(plain)
        .key("held")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .expect("CreateMultipartUpload with a legal hold");
    let held_id = held.upload_id().expect("an upload id");
    let held_part = bare
        .upload_part()
        .bucket(plain)
        .key("held")
        .upload_id(held_id)
        .part_number(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    refused_unsummed(held_part, "Put Part");
    let free = bare
        .create_multipart_upload()
        .bucket(plain)
        .key("free")
        .send()
        .await
        .expect("CreateMultipartUpload");
    bare.upload_part()
        .bucket(plain)
        .key("free")
        .upload_id(free.upload_id().expect("an upload id"))
        .part_number(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("a part of an upload that locks nothing");
}

#[tokio::test]
async fn object_lock_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn object_lock_postgres() {
    run(Backend::Postgres).await;
}

/// The aws CLI: a bucket with Object Lock, a retention and a legal hold
/// set, a delete by version id refused.
#[tokio::test]
async fn object_lock_with_the_aws_cli() {
    let Some(cli) = require_tool("MINIAWS_TEST_AWS_CLI") else {
        return;
    };
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("cli-lock").await;
    let clients = AwsClients::new(&server, &key);
    let run = |args: &[&str]| {
        clients
            .std_command(&cli)
            .arg("--endpoint-url")
            .arg(clients.endpoint())
            .args(args)
            .output()
            .expect("the aws CLI runs")
    };
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&[
        "s3api",
        "create-bucket",
        "--bucket",
        "cli-lock",
        "--object-lock-enabled-for-bucket",
    ]);
    let config = ok(&[
        "s3api",
        "get-object-lock-configuration",
        "--bucket",
        "cli-lock",
    ]);
    assert!(config.contains("\"Enabled\""), "{config}");
    let body = clients.home().join("body");
    std::fs::write(&body, b"kept").expect("a body");
    let put = ok(&[
        "s3api",
        "put-object",
        "--bucket",
        "cli-lock",
        "--key",
        "k",
        "--body",
        body.to_str().expect("utf-8"),
    ]);
    let version: serde_json::Value = serde_json::from_str(&put).expect("JSON");
    let version = version["VersionId"]
        .as_str()
        .expect("a version id")
        .to_owned();
    let until = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let until = until
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a date");
    ok(&[
        "s3api",
        "put-object-retention",
        "--bucket",
        "cli-lock",
        "--key",
        "k",
        "--version-id",
        &version,
        "--retention",
        &format!("Mode=COMPLIANCE,RetainUntilDate={until}"),
    ]);
    // No hold put yet: S3's 404.
    let never = run(&[
        "s3api",
        "get-object-legal-hold",
        "--bucket",
        "cli-lock",
        "--key",
        "k",
    ]);
    assert!(!never.status.success(), "no hold was ever put");
    assert!(
        String::from_utf8_lossy(&never.stderr).contains("NoSuchObjectLockConfiguration"),
        "{}",
        String::from_utf8_lossy(&never.stderr)
    );
    ok(&[
        "s3api",
        "put-object-legal-hold",
        "--bucket",
        "cli-lock",
        "--key",
        "k",
        "--legal-hold",
        "Status=ON",
    ]);
    let head = ok(&["s3api", "head-object", "--bucket", "cli-lock", "--key", "k"]);
    assert!(
        head.contains("COMPLIANCE") && head.contains("\"ObjectLockLegalHoldStatus\": \"ON\""),
        "{head}"
    );
    ok(&[
        "s3api",
        "copy-object",
        "--bucket",
        "cli-lock",
        "--key",
        "copy",
        "--copy-source",
        "cli-lock/k",
        "--object-lock-legal-hold-status",
        "ON",
    ]);
    let copy = ok(&[
        "s3api",
        "head-object",
        "--bucket",
        "cli-lock",
        "--key",
        "copy",
    ]);
    assert!(
        copy.contains("\"ObjectLockLegalHoldStatus\": \"ON\"") && !copy.contains("COMPLIANCE"),
        "the copy's own hold, not the source's retention: {copy}"
    );
    let refused = run(&[
        "s3api",
        "delete-object",
        "--bucket",
        "cli-lock",
        "--key",
        "k",
        "--version-id",
        &version,
        "--bypass-governance-retention",
    ]);
    assert!(!refused.status.success(), "a locked version is not deleted");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("AccessDenied"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let still = ok(&[
        "s3api",
        "get-object-retention",
        "--bucket",
        "cli-lock",
        "--key",
        "k",
        "--version-id",
        &version,
    ]);
    assert!(still.contains("COMPLIANCE"), "{still}");
}

/// Gives bucket `b` a default retention of one day in GOVERNANCE mode.
async fn governance_day_by_default(s3: &Client, b: &str) {
    s3.put_object_lock_configuration()
        .bucket(b)
        .object_lock_configuration(lock_config(Some(
            DefaultRetention::builder()
                .mode(ObjectLockRetentionMode::Governance)
                .days(1)
                .build(),
        )))
        .send()
        .await
        .expect("a default rule");
}
