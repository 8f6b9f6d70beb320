//! Bucket lifecycle configuration against the real server on SQLite and
//! Postgres: Put/Get/DeleteBucketLifecycle(Configuration) through the
//! official AWS SDK (read back as put, replaced, removed,
//! `NoSuchLifecycleConfiguration`), every validation refusal with S3's
//! code and status, a transition's own faults with S3's 400s (code and
//! message) and valid transitions refused as `NotImplemented` and not
//! stored, another owner's bucket and a missing one; and the enforcement,
//! by the server's own lifecycle sweep (`--lifecycle-interval-secs 1`):
//! objects a rule expires disappear, rows and blob files both, while
//! objects outside its prefix, tag or size filter and those of a disabled
//! rule stay; a `Days` rule and an `AbortIncompleteMultipartUpload` rule
//! act on an object and an upload made old in the database itself (their
//! timestamps moved back to 2020: the server's clock is not faked, and the
//! day arithmetic is unit-tested in core with a clock moved by hand).
//! On versioned buckets: an expiration inserting a delete marker (the data
//! readable by id), `NoncurrentVersionExpiration` with
//! `NewerNoncurrentVersions` and a tag filter (noncurrent times moved back
//! in the database), `ExpiredObjectDeleteMarker`, another bucket left
//! alone, and a Suspended bucket's `null` version replaced by a `null`
//! marker.
//! The answers that tell a client what the lifecycle will do:
//! `x-amz-expiration` on PutObject, HeadObject, GetObject, CopyObject and
//! CompleteMultipartUpload, `x-amz-abort-date` / `x-amz-abort-rule-id` on
//! CreateMultipartUpload and ListParts (none without a configuration,
//! outside a filter, for a disabled rule; the earliest of two rules; to
//! another account's and an anonymous public read too).
//! On SQLite, boto3 (modern and the deprecated PutBucketLifecycle, and the
//! headers above) and the aws CLI's `s3api put-bucket-lifecycle-configuration`.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, CompletedMultipartUpload,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator,
    LifecycleRuleFilter, NoncurrentVersionExpiration, NoncurrentVersionTransition, Tag, Transition,
    TransitionStorageClass,
};
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use common::{code_of, execute, files_under, objects_dir, s3_client};
use miniaws_testkit::{AwsClients, Backend, TestServer, require_tool};
use std::time::Duration;

/// 2020-01-01T00:00:00Z: a midnight in the past.
const PAST_MIDNIGHT: i64 = 1_577_836_800;

fn prefix(p: &str) -> LifecycleRuleFilter {
    LifecycleRuleFilter::builder().prefix(p).build()
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().expect("a tag")
}

fn days(n: i32) -> LifecycleExpiration {
    LifecycleExpiration::builder().days(n).build()
}

fn date(secs: i64) -> LifecycleExpiration {
    LifecycleExpiration::builder()
        .date(DateTime::from_secs(secs))
        .build()
}

/// An enabled rule `id` with `filter` and `expiration`.
fn rule(id: &str, filter: LifecycleRuleFilter, expiration: LifecycleExpiration) -> LifecycleRule {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(filter)
        .expiration(expiration)
        .build()
        .expect("a rule")
}

fn config(rules: Vec<LifecycleRule>) -> BucketLifecycleConfiguration {
    BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .expect("a configuration")
}

async fn put(s3: &Client, bucket: &str, rules: Vec<LifecycleRule>) {
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config(rules))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketLifecycleConfiguration {bucket}: {e:?}"));
}

async fn get(s3: &Client, bucket: &str) -> Vec<LifecycleRule> {
    s3.get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetBucketLifecycleConfiguration {bucket}: {e:?}"))
        .rules()
        .to_vec()
}

async fn put_object(s3: &Client, bucket: &str, key: &str, body: &[u8], tagging: Option<&str>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .set_tagging(tagging.map(str::to_owned))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {bucket}/{key}: {e:?}"));
}

async fn keys(s3: &Client, bucket: &str) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("ListObjectsV2")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// Waits (up to 15 s; the sweep runs every second) until `bucket` holds
/// exactly `want`.
async fn wait_for_keys(s3: &Client, bucket: &str, want: &[&str]) {
    let mut got = Vec::new();
    for _ in 0..75 {
        got = keys(s3, bucket).await;
        if got == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{bucket}: the sweep left {got:?}, want {want:?}");
}

/// Put, read back as put, replace, delete.
async fn sdk_round_trip(s3: &Client, bucket: &str) {
    let err = s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .expect_err("no configuration yet");
    assert_eq!(
        code_of(&err),
        ("NoSuchLifecycleConfiguration".to_owned(), 404)
    );

    let and = LifecycleRuleFilter::builder()
        .and(
            LifecycleRuleAndOperator::builder()
                .prefix("cache/")
                .tags(tag("kind", "cache"))
                .object_size_greater_than(1024)
                .object_size_less_than(1 << 30)
                .build(),
        )
        .build();
    let rules = vec![
        rule("logs", prefix("logs/"), days(30)),
        rule("cache", and, days(7)),
        rule(
            "tagged",
            LifecycleRuleFilter::builder()
                .tag(tag("tmp", "yes"))
                .build(),
            date(1_893_456_000), // 2030-01-01
        ),
        LifecycleRule::builder()
            .id("uploads")
            .status(ExpirationStatus::Disabled)
            .filter(prefix("up/"))
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(3)
                    .build(),
            )
            .build()
            .expect("rule"),
        LifecycleRule::builder()
            .id("versions")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().build())
            .expiration(
                LifecycleExpiration::builder()
                    .expired_object_delete_marker(true)
                    .build(),
            )
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(30)
                    .newer_noncurrent_versions(2)
                    .build(),
            )
            .build()
            .expect("rule"),
    ];
    let out = s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config(rules.clone()))
        .send()
        .await
        .expect("PutBucketLifecycleConfiguration");
    assert_eq!(
        out.transition_default_minimum_object_size()
            .map(|m| m.as_str()),
        Some("all_storage_classes_128K")
    );
    assert_eq!(get(s3, bucket).await, rules, "read back as put");

    // A rule given no ID gets one; a replacement replaces everything.
    let anonymous = LifecycleRule::builder()
        .status(ExpirationStatus::Enabled)
        .filter(prefix("tmp/"))
        .expiration(days(1))
        .build()
        .expect("rule");
    put(s3, bucket, vec![anonymous]).await;
    let got = get(s3, bucket).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id().map(str::len), Some(48), "{got:?}");
    assert_eq!(got[0].filter().and_then(|f| f.prefix()), Some("tmp/"));

    s3.delete_bucket_lifecycle()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketLifecycle");
    let err = s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(
        code_of(&err),
        ("NoSuchLifecycleConfiguration".to_owned(), 404)
    );
    s3.delete_bucket_lifecycle()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketLifecycle again (nothing to delete) is fine");
}

/// A rule with both the deprecated rule-level `Prefix` and a `Filter`.
#[allow(deprecated)]
fn legacy_prefix_and_filter() -> LifecycleRule {
    LifecycleRule::builder()
        .id("r")
        .status(ExpirationStatus::Enabled)
        .prefix("a/")
        .filter(prefix("a/"))
        .expiration(days(1))
        .build()
        .expect("rule")
}

/// Each of S3's refusals, with its code and status; none is stored.
async fn refusals(s3: &Client, bucket: &str) {
    let kept = vec![rule("kept", prefix("kept/"), days(1))];
    put(s3, bucket, kept.clone()).await;
    let good = || rule("r", prefix("a/"), days(1));
    let with_filter = |f: LifecycleRuleFilter| rule("r", f, days(1));
    let abort = |f: LifecycleRuleFilter| {
        LifecycleRule::builder()
            .id("r")
            .status(ExpirationStatus::Enabled)
            .filter(f)
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(1)
                    .build(),
            )
            .build()
            .expect("rule")
    };
    let two_tags = LifecycleRuleFilter::builder()
        .and(
            LifecycleRuleAndOperator::builder()
                .tags(tag("k", "1"))
                .tags(tag("k", "2"))
                .build(),
        )
        .build();
    let sizes = |gt: i64, lt: i64| {
        LifecycleRuleFilter::builder()
            .and(
                LifecycleRuleAndOperator::builder()
                    .object_size_greater_than(gt)
                    .object_size_less_than(lt)
                    .build(),
            )
            .build()
    };
    let cases: Vec<(&str, Vec<LifecycleRule>, &str, u16)> = vec![
        (
            "1,001 rules",
            (0..1001)
                .map(|i| rule(&format!("r{i}"), prefix(&format!("p{i}/")), days(1)))
                .collect(),
            "InvalidRequest",
            400,
        ),
        (
            "an ID of 256 characters",
            vec![rule(&"x".repeat(256), prefix(""), days(1))],
            "InvalidArgument",
            400,
        ),
        (
            "the same ID twice",
            vec![good(), rule("r", prefix("b/"), days(2))],
            "InvalidArgument",
            400,
        ),
        (
            "a Status that is neither Enabled nor Disabled",
            vec![
                LifecycleRule::builder()
                    .id("r")
                    .status(ExpirationStatus::from("On"))
                    .filter(prefix(""))
                    .expiration(days(1))
                    .build()
                    .expect("rule"),
            ],
            "MalformedXML",
            400,
        ),
        (
            "neither Filter nor Prefix",
            vec![
                LifecycleRule::builder()
                    .id("r")
                    .status(ExpirationStatus::Enabled)
                    .expiration(days(1))
                    .build()
                    .expect("rule"),
            ],
            "MalformedXML",
            400,
        ),
        (
            "Filter and Prefix",
            vec![legacy_prefix_and_filter()],
            "InvalidRequest",
            400,
        ),
        (
            "a Filter with a Prefix and a Tag",
            vec![with_filter(
                LifecycleRuleFilter::builder()
                    .prefix("a/")
                    .tag(tag("k", "v"))
                    .build(),
            )],
            "MalformedXML",
            400,
        ),
        (
            "an And with one tag key twice",
            vec![with_filter(two_tags)],
            "InvalidRequest",
            400,
        ),
        (
            "ObjectSizeLessThan not above ObjectSizeGreaterThan",
            vec![with_filter(sizes(100, 100))],
            "InvalidRequest",
            400,
        ),
        (
            "a rule without an action",
            vec![
                LifecycleRule::builder()
                    .id("r")
                    .status(ExpirationStatus::Enabled)
                    .filter(prefix(""))
                    .build()
                    .expect("rule"),
            ],
            "InvalidRequest",
            400,
        ),
        (
            "Expiration Days 0",
            vec![rule("r", prefix(""), days(0))],
            "InvalidArgument",
            400,
        ),
        (
            "Expiration with Days and Date",
            vec![rule(
                "r",
                prefix(""),
                LifecycleExpiration::builder()
                    .days(1)
                    .date(DateTime::from_secs(PAST_MIDNIGHT))
                    .build(),
            )],
            "MalformedXML",
            400,
        ),
        (
            "a Date that is not midnight UTC",
            vec![rule("r", prefix(""), date(PAST_MIDNIGHT + 3600))],
            "InvalidArgument",
            400,
        ),
        (
            "DaysAfterInitiation 0",
            vec![
                LifecycleRule::builder()
                    .id("r")
                    .status(ExpirationStatus::Enabled)
                    .filter(prefix(""))
                    .abort_incomplete_multipart_upload(
                        AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(0)
                            .build(),
                    )
                    .build()
                    .expect("rule"),
            ],
            "InvalidArgument",
            400,
        ),
        (
            "AbortIncompleteMultipartUpload with a Tag filter",
            vec![abort(
                LifecycleRuleFilter::builder().tag(tag("k", "v")).build(),
            )],
            "InvalidRequest",
            400,
        ),
        (
            "a Transition (archive classes are not implemented)",
            vec![
                LifecycleRule::builder()
                    .id("r")
                    .status(ExpirationStatus::Enabled)
                    .filter(prefix(""))
                    .transitions(
                        Transition::builder()
                            .days(30)
                            .storage_class(TransitionStorageClass::Glacier)
                            .build(),
                    )
                    .build()
                    .expect("rule"),
            ],
            "NotImplemented",
            501,
        ),
    ];
    for (what, rules, code, status) in cases {
        let err = s3
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(config(rules))
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (code.to_owned(), status), "{what}: {err:?}");
    }
    // Transitions are validated as S3 validates them, each fault with
    // S3's code, status and message, before the valid ones are refused as
    // not implemented.
    let moving = |t: Transition| {
        LifecycleRule::builder()
            .id("r")
            .status(ExpirationStatus::Enabled)
            .filter(prefix(""))
            .transitions(t)
            .build()
            .expect("rule")
    };
    let noncurrent = |t: NoncurrentVersionTransition| {
        LifecycleRule::builder()
            .id("r")
            .status(ExpirationStatus::Enabled)
            .filter(prefix(""))
            .noncurrent_version_transitions(t)
            .build()
            .expect("rule")
    };
    let to = |class: TransitionStorageClass| Transition::builder().storage_class(class);
    let transition_cases: Vec<(&str, LifecycleRule, &str, u16, &str)> = vec![
        (
            "a Transition Date that is not midnight UTC",
            moving(
                to(TransitionStorageClass::Glacier)
                    .date(DateTime::from_secs(PAST_MIDNIGHT + 3600))
                    .build(),
            ),
            "InvalidArgument",
            400,
            "'Date' must be at midnight GMT",
        ),
        (
            "a Transition with Days and Date",
            moving(
                to(TransitionStorageClass::Glacier)
                    .days(30)
                    .date(DateTime::from_secs(PAST_MIDNIGHT))
                    .build(),
            ),
            "MalformedXML",
            400,
            "exactly one of Days and Date",
        ),
        (
            "a Transition on negative Days",
            moving(to(TransitionStorageClass::Glacier).days(-1).build()),
            "InvalidArgument",
            400,
            "'Days' in Transition action must be nonnegative",
        ),
        (
            "a Transition to a class S3 does not have",
            moving(to(TransitionStorageClass::from("COLDEST")).days(30).build()),
            "MalformedXML",
            400,
            "StorageClass",
        ),
        (
            "a Transition to STANDARD_IA before 30 days",
            moving(to(TransitionStorageClass::StandardIa).days(29).build()),
            "InvalidArgument",
            400,
            "'Days' in Transition action must be greater than or equal to 30 for storageClass 'STANDARD_IA'",
        ),
        (
            "a NoncurrentVersionTransition to ONEZONE_IA before 30 days",
            noncurrent(
                NoncurrentVersionTransition::builder()
                    .noncurrent_days(7)
                    .storage_class(TransitionStorageClass::OnezoneIa)
                    .build(),
            ),
            "InvalidArgument",
            400,
            "'NoncurrentDays' in NoncurrentVersionTransition action must be greater than or equal to 30 for storageClass 'ONEZONE_IA'",
        ),
        (
            "a NoncurrentVersionTransition on negative NoncurrentDays",
            noncurrent(
                NoncurrentVersionTransition::builder()
                    .noncurrent_days(-1)
                    .storage_class(TransitionStorageClass::Glacier)
                    .build(),
            ),
            "InvalidArgument",
            400,
            "'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative",
        ),
        (
            "a NoncurrentVersionTransition keeping 101 newer versions",
            noncurrent(
                NoncurrentVersionTransition::builder()
                    .noncurrent_days(30)
                    .newer_noncurrent_versions(101)
                    .storage_class(TransitionStorageClass::Glacier)
                    .build(),
            ),
            "InvalidArgument",
            400,
            "'NewerNoncurrentVersions' must be less than or equal to 100",
        ),
        (
            "a NoncurrentVersionExpiration keeping 101 newer versions",
            LifecycleRule::builder()
                .id("r")
                .status(ExpirationStatus::Enabled)
                .filter(prefix(""))
                .noncurrent_version_expiration(
                    NoncurrentVersionExpiration::builder()
                        .noncurrent_days(1)
                        .newer_noncurrent_versions(101)
                        .build(),
                )
                .build()
                .expect("rule"),
            "InvalidArgument",
            400,
            "'NewerNoncurrentVersions' must be less than or equal to 100",
        ),
        (
            "a valid Transition on a Date",
            moving(
                to(TransitionStorageClass::DeepArchive)
                    .date(DateTime::from_secs(PAST_MIDNIGHT))
                    .build(),
            ),
            "NotImplemented",
            501,
            "Transition and NoncurrentVersionTransition actions are not implemented",
        ),
        (
            "a valid NoncurrentVersionTransition",
            noncurrent(
                NoncurrentVersionTransition::builder()
                    .noncurrent_days(30)
                    .storage_class(TransitionStorageClass::StandardIa)
                    .build(),
            ),
            "NotImplemented",
            501,
            "Transition and NoncurrentVersionTransition actions are not implemented",
        ),
    ];
    for (what, rule, code, status, message) in transition_cases {
        let err = s3
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(config(vec![rule]))
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (code.to_owned(), status), "{what}: {err:?}");
        let said = err.message();
        assert!(
            said.is_some_and(|m| m.contains(message)),
            "{what}: message {said:?}, want one containing {message:?}"
        );
    }
    assert_eq!(
        get(s3, bucket).await,
        kept,
        "no refused document was stored"
    );
}

/// Another owner's bucket is AccessDenied, a missing one NoSuchBucket,
/// for all three operations.
async fn ownership(server: &TestServer, s3: &Client, bucket: &str) {
    put(s3, bucket, vec![rule("mine", prefix(""), days(1))]).await;
    let (_, bob) = server.user("bob-lifecycle").await;
    let bob = s3_client(server, &bob);
    for (target, code, status) in [
        (bucket, "AccessDenied", 403),
        ("no-such-lifecycle-bucket", "NoSuchBucket", 404),
    ] {
        let put = bob
            .put_bucket_lifecycle_configuration()
            .bucket(target)
            .lifecycle_configuration(config(vec![rule("evil", prefix(""), days(1))]))
            .send()
            .await
            .expect_err("put refused");
        assert_eq!(code_of(&put), (code.to_owned(), status), "put {target}");
        let get = bob
            .get_bucket_lifecycle_configuration()
            .bucket(target)
            .send()
            .await
            .expect_err("get refused");
        assert_eq!(code_of(&get), (code.to_owned(), status), "get {target}");
        let delete = bob
            .delete_bucket_lifecycle()
            .bucket(target)
            .send()
            .await
            .expect_err("delete refused");
        assert_eq!(
            code_of(&delete),
            (code.to_owned(), status),
            "delete {target}"
        );
    }
    assert_eq!(
        get(s3, bucket).await,
        vec![rule("mine", prefix(""), days(1))],
        "untouched"
    );
    // Nor can Bob tell a bucket without a configuration from one with:
    // the same AccessDenied, never NoSuchLifecycleConfiguration.
    s3.delete_bucket_lifecycle()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketLifecycle");
    let err = bob
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .expect_err("get refused");
    assert_eq!(code_of(&err), ("AccessDenied".to_owned(), 403), "none set");
    let err = s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .expect_err("the owner's own: none");
    assert_eq!(
        code_of(&err),
        ("NoSuchLifecycleConfiguration".to_owned(), 404)
    );
}

/// Rules whose Date has passed: the next sweep deletes what they select,
/// rows and blob files, and nothing else.
async fn expiration_by_date(server: &TestServer, s3: &Client, bucket: &str) {
    put_object(s3, bucket, "tmp/a", b"a", None).await;
    put_object(s3, bucket, "tmp/b", b"b", None).await;
    put_object(s3, bucket, "tmpfile", b"not under tmp/", None).await;
    put_object(s3, bucket, "tagged/x", b"x", Some("expire=yes")).await;
    put_object(s3, bucket, "tagged/y", b"y", Some("expire=no")).await;
    put_object(s3, bucket, "big/large", &[7u8; 2000], None).await;
    put_object(s3, bucket, "big/small", &[7u8; 10], None).await;
    put_object(s3, bucket, "keep/c", b"c", None).await;
    let blobs_before = files_under(&objects_dir(server)).len();
    let past = || date(PAST_MIDNIGHT);
    put(
        s3,
        bucket,
        vec![
            rule("tmp", prefix("tmp/"), past()),
            rule(
                "tagged",
                LifecycleRuleFilter::builder()
                    .tag(tag("expire", "yes"))
                    .build(),
                past(),
            ),
            rule(
                "large",
                LifecycleRuleFilter::builder()
                    .and(
                        LifecycleRuleAndOperator::builder()
                            .prefix("big/")
                            .object_size_greater_than(1000)
                            .build(),
                    )
                    .build(),
                past(),
            ),
            LifecycleRule::builder()
                .id("disabled")
                .status(ExpirationStatus::Disabled)
                .filter(prefix("keep/"))
                .expiration(past())
                .build()
                .expect("rule"),
        ],
    )
    .await;
    wait_for_keys(s3, bucket, &["big/small", "keep/c", "tagged/y", "tmpfile"]).await;
    assert_eq!(
        files_under(&objects_dir(server)).len(),
        blobs_before - 4,
        "the expired objects' blob files are gone with their rows"
    );
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("tmp/a")
        .send()
        .await
        .expect_err("expired");
    assert_eq!(code_of(&err), ("NoSuchKey".to_owned(), 404));
    // The rule keeps acting: an object written under tmp/ now goes too.
    put_object(s3, bucket, "tmp/later", b"later", None).await;
    wait_for_keys(s3, bucket, &["big/small", "keep/c", "tagged/y", "tmpfile"]).await;
}

/// 2100-01-01T00:00:00Z: a midnight no test outlives.
const FUTURE_MIDNIGHT: i64 = 4_102_444_800;

/// The midnight UTC `days` after `secs` (a time of day is rounded up to
/// the next midnight, as S3 counts; whole seconds, as HTTP dates carry).
fn midnight_after(secs: i64, days: i64) -> i64 {
    let at = secs + days * 86_400;
    if at % 86_400 == 0 {
        at
    } else {
        (at / 86_400 + 1) * 86_400
    }
}

/// The `x-amz-expiration` S3 sends for an expiry at `secs` by `rule_id`
/// (already URL-encoded).
fn expiration(secs: i64, rule_id: &str) -> String {
    let date = DateTime::from_secs(secs)
        .fmt(DateTimeFormat::HttpDate)
        .expect("an HTTP date");
    format!(r#"expiry-date="{date}", rule-id="{rule_id}""#)
}

/// `x-amz-expiration` (HEAD, GET) of `bucket`/`key`, read by `s3`, and the
/// object's Last-Modified in seconds.
async fn expiration_of(s3: &Client, bucket: &str, key: &str) -> (Option<String>, i64) {
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("HeadObject {bucket}/{key}: {e:?}"));
    let get = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObject {bucket}/{key}: {e:?}"));
    assert_eq!(
        head.expiration(),
        get.expiration(),
        "HEAD and GET of {bucket}/{key} agree"
    );
    let written = head.last_modified().expect("Last-Modified").secs();
    (head.expiration().map(str::to_owned), written)
}

/// The headers that say when the lifecycle will act: `x-amz-expiration`
/// on PutObject, HeadObject, GetObject, CopyObject and
/// CompleteMultipartUpload, `x-amz-abort-date` / `x-amz-abort-rule-id` on
/// CreateMultipartUpload and ListParts; none without a configuration,
/// outside a rule's filter or for a disabled rule; the earliest of two
/// matching rules; also to another account reading through a public
/// policy. Every rule acts in the future: the sweep deletes nothing here.
async fn headers(server: &TestServer, s3: &Client, bucket: &str, plain: &str) {
    // No configuration: no header anywhere.
    let written = s3
        .put_object()
        .bucket(plain)
        .key("logs/a")
        .body(ByteStream::from_static(b"a"))
        .send()
        .await
        .expect("PutObject");
    assert_eq!(written.expiration(), None, "PutObject, no configuration");
    assert_eq!(expiration_of(s3, plain, "logs/a").await.0, None);
    let created = s3
        .create_multipart_upload()
        .bucket(plain)
        .key("up/x")
        .send()
        .await
        .expect("CreateMultipartUpload");
    assert_eq!(
        (created.abort_date(), created.abort_rule_id()),
        (None, None),
        "CreateMultipartUpload, no configuration"
    );

    let and = |p: &str, k: &str, v: &str| {
        LifecycleRuleFilter::builder()
            .and(
                LifecycleRuleAndOperator::builder()
                    .prefix(p)
                    .tags(tag(k, v))
                    .build(),
            )
            .build()
    };
    put(
        s3,
        bucket,
        vec![
            rule("logs 30", prefix("logs/"), days(30)),
            rule("short-lived", and("logs/", "ttl", "short"), days(7)),
            rule("dated", prefix("dated/"), date(FUTURE_MIDNIGHT)),
            LifecycleRule::builder()
                .id("off")
                .status(ExpirationStatus::Disabled)
                .filter(prefix("off/"))
                .expiration(days(1))
                .build()
                .expect("rule"),
            LifecycleRule::builder()
                .id("uploads")
                .status(ExpirationStatus::Enabled)
                .filter(prefix("up/"))
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(5)
                        .build(),
                )
                .build()
                .expect("rule"),
        ],
    )
    .await;

    // PutObject, then HEAD and GET: the same header, from the write time.
    // (what, key, tagging, expected rule and days: None for no header)
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<(&'a str, Option<i64>)>,
    );
    let cases: [Case; 5] = [
        (
            "a Days rule; its ID URL-encoded",
            "logs/a",
            None,
            Some(("logs%2030", Some(30))),
        ),
        (
            "two rules match: the earlier expiry",
            "logs/t",
            Some("ttl=short"),
            Some(("short-lived", Some(7))),
        ),
        ("a Date rule", "dated/x", None, Some(("dated", None))),
        ("outside every filter", "other/x", None, None),
        ("a disabled rule", "off/x", None, None),
    ];
    for (what, key, tagging, want) in cases {
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from_static(b"x"))
            .set_tagging(tagging.map(str::to_owned))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
        let (read, written) = expiration_of(s3, bucket, key).await;
        let want = want.map(|(id, n)| {
            let at = n.map_or(FUTURE_MIDNIGHT, |n| midnight_after(written, n));
            expiration(at, id)
        });
        assert_eq!(read, want, "{what}: HEAD/GET");
        assert_eq!(put.expiration().map(str::to_owned), want, "{what}: PUT");
    }

    // CopyObject: the destination's rules, from the copy's time.
    let copy = s3
        .copy_object()
        .bucket(bucket)
        .key("logs/copy")
        .copy_source(format!("{bucket}/other/x"))
        .send()
        .await
        .expect("CopyObject");
    let copied = copy
        .copy_object_result()
        .and_then(|r| r.last_modified())
        .expect("LastModified")
        .secs();
    assert_eq!(
        copy.expiration(),
        Some(expiration(midnight_after(copied, 30), "logs%2030").as_str()),
        "CopyObject"
    );

    // Multipart: the abort date of an upload its rule covers, and the
    // expiration of the object a completion writes.
    let created = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("up/big")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = created.upload_id().expect("UploadId");
    let initiated = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("ListMultipartUploads")
        .uploads()
        .iter()
        .find(|u| u.upload_id() == Some(upload_id))
        .and_then(|u| u.initiated())
        .expect("Initiated")
        .secs();
    let abort_at = DateTime::from_secs(midnight_after(initiated, 5));
    assert_eq!(
        (created.abort_date(), created.abort_rule_id()),
        (Some(&abort_at), Some("uploads")),
        "CreateMultipartUpload"
    );
    let parts = s3
        .list_parts()
        .bucket(bucket)
        .key("up/big")
        .upload_id(upload_id)
        .send()
        .await
        .expect("ListParts");
    assert_eq!(
        (parts.abort_date(), parts.abort_rule_id()),
        (Some(&abort_at), Some("uploads")),
        "ListParts"
    );
    s3.abort_multipart_upload()
        .bucket(bucket)
        .key("up/big")
        .upload_id(upload_id)
        .send()
        .await
        .expect("AbortMultipartUpload");
    let created = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("logs/mp")
        .send()
        .await
        .expect("CreateMultipartUpload");
    assert_eq!(
        (created.abort_date(), created.abort_rule_id()),
        (None, None),
        "an upload outside the abort rule's prefix"
    );
    let upload_id = created.upload_id().expect("UploadId");
    let part = s3
        .upload_part()
        .bucket(bucket)
        .key("logs/mp")
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from_static(b"part"))
        .send()
        .await
        .expect("UploadPart");
    let done = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key("logs/mp")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    aws_sdk_s3::types::CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().expect("ETag"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");
    let (read, written) = expiration_of(s3, bucket, "logs/mp").await;
    let want = expiration(midnight_after(written, 30), "logs%2030");
    assert_eq!(read.as_deref(), Some(want.as_str()), "the completed object");
    assert_eq!(
        done.expiration(),
        Some(want.as_str()),
        "CompleteMultipartUpload"
    );

    // Another account reading through a public policy is told too.
    s3.delete_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
        ))
        .send()
        .await
        .expect("PutBucketPolicy");
    let (owner_view, written) = expiration_of(s3, bucket, "logs/a").await;
    let want = expiration(midnight_after(written, 30), "logs%2030");
    assert_eq!(owner_view.as_deref(), Some(want.as_str()));
    let (_, carol) = server.user("carol-lifecycle").await;
    let carol = s3_client(server, &carol);
    assert_eq!(
        expiration_of(&carol, bucket, "logs/a").await.0.as_deref(),
        Some(want.as_str()),
        "another account's public read"
    );
    let anonymous = reqwest::Client::new()
        .head(format!("{}/{bucket}/logs/a", server.aws_url()))
        .send()
        .await
        .expect("anonymous HEAD");
    assert_eq!(anonymous.status().as_u16(), 200, "anonymous HEAD");
    assert_eq!(
        anonymous
            .headers()
            .get("x-amz-expiration")
            .and_then(|v| v.to_str().ok()),
        Some(want.as_str()),
        "an anonymous public read"
    );
    // Removing the configuration removes the header.
    s3.delete_bucket_lifecycle()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketLifecycle");
    assert_eq!(expiration_of(s3, bucket, "logs/a").await.0, None, "removed");
    assert_eq!(expiration_of(&carol, bucket, "logs/a").await.0, None);
}

/// A `Days` rule expires an object written long ago, not a fresh one; an
/// `AbortIncompleteMultipartUpload` rule aborts an upload started long ago
/// (parts and their blob files), not a fresh one nor one outside its
/// prefix.
async fn days_and_aborts(server: &TestServer, backend: Backend, s3: &Client, bucket: &str) {
    put_object(s3, bucket, "logs/old", b"old", None).await;
    put_object(s3, bucket, "logs/new", b"new", None).await;
    let start = |key: &'static str| async move {
        s3.create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("CreateMultipartUpload")
            .upload_id()
            .expect("an upload id")
            .to_owned()
    };
    let old_upload = start("up/old").await;
    let new_upload = start("up/new").await;
    let other_upload = start("other/old").await;
    for (key, id) in [
        ("up/old", &old_upload),
        ("up/new", &new_upload),
        ("other/old", &other_upload),
    ] {
        s3.upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(1)
            .body(ByteStream::from_static(b"part"))
            .send()
            .await
            .expect("UploadPart");
    }
    let (objects, uploads) = match backend {
        Backend::Sqlite => (
            "UPDATE objects SET created_at = '2020-01-01T00:00:00.000000Z' WHERE key = CAST('logs/old' AS BLOB)",
            "UPDATE multipart_uploads SET initiated_at = '2020-01-01T00:00:00.000000Z' WHERE key = CAST('up/old' AS BLOB) OR key = CAST('other/old' AS BLOB)",
        ),
        Backend::Postgres => (
            "UPDATE objects SET created_at = '2020-01-01T00:00:00Z' WHERE key = convert_to('logs/old', 'UTF8')",
            "UPDATE multipart_uploads SET initiated_at = '2020-01-01T00:00:00Z' WHERE key IN (convert_to('up/old', 'UTF8'), convert_to('other/old', 'UTF8'))",
        ),
    };
    assert_eq!(execute(server, backend, objects).await, 1, "{objects}");
    assert_eq!(execute(server, backend, uploads).await, 2, "{uploads}");
    let blobs_before = files_under(&objects_dir(server)).len();
    put(
        s3,
        bucket,
        vec![
            rule("logs", prefix("logs/"), days(30)),
            LifecycleRule::builder()
                .id("uploads")
                .status(ExpirationStatus::Enabled)
                .filter(prefix("up/"))
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(1)
                        .build(),
                )
                .build()
                .expect("rule"),
        ],
    )
    .await;
    wait_for_keys(s3, bucket, &["logs/new"]).await;
    let mut uploads = Vec::new();
    for _ in 0..75 {
        uploads = s3
            .list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .expect("ListMultipartUploads")
            .uploads()
            .iter()
            .filter_map(|u| u.key().map(str::to_owned))
            .collect::<Vec<_>>();
        if uploads == ["other/old", "up/new"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(uploads, ["other/old", "up/new"]);
    let err = s3
        .list_parts()
        .bucket(bucket)
        .key("up/old")
        .upload_id(&old_upload)
        .send()
        .await
        .expect_err("aborted");
    assert_eq!(code_of(&err), ("NoSuchUpload".to_owned(), 404));
    assert_eq!(
        files_under(&objects_dir(server)).len(),
        blobs_before - 2,
        "the old object's blob and the aborted upload's part are gone"
    );
    // The fresh upload still completes.
    let part = s3
        .list_parts()
        .bucket(bucket)
        .key("up/new")
        .upload_id(&new_upload)
        .send()
        .await
        .expect("ListParts");
    let etag = part.parts()[0].e_tag().expect("an etag").to_owned();
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key("up/new")
        .upload_id(&new_upload)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    aws_sdk_s3::types::CompletedPart::builder()
                        .part_number(1)
                        .e_tag(etag)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("the fresh upload completes");
}

/// Runs `cmd`; returns (success, stdout, stderr).
async fn run_tool(mut cmd: tokio::process::Command) -> (bool, String, String) {
    let out = cmd.output().await.expect("the tool runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const BOTO3_SCRIPT: &str = r#"
import os, sys, datetime, email.utils, boto3, botocore
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"],
                  config=botocore.config.Config(s3={"addressing_style": "path"}))
bucket = sys.argv[1]
s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
    {"ID": "scratch", "Status": "Enabled", "Filter": {"Prefix": "scratch/"},
     "Expiration": {"Date": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)}},
    {"ID": "uploads", "Status": "Enabled", "Filter": {},
     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
]})
rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
assert [r["ID"] for r in rules] == ["scratch", "uploads"], rules
assert rules[0]["Expiration"]["Date"].year == 2020, rules
assert rules[1]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}, rules
try:
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "archive", "Status": "Enabled", "Filter": {},
         "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]})
    sys.exit("a transition was accepted")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "NotImplemented", e.response
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 501, e.response
# The deprecated PutBucketLifecycle / GetBucketLifecycle: the same
# request, rules with their own Prefix.
s3.put_bucket_lifecycle(Bucket=bucket, LifecycleConfiguration={"Rules": [
    {"ID": "legacy", "Prefix": "old/", "Status": "Enabled", "Expiration": {"Days": 3}}]})
rules = s3.get_bucket_lifecycle(Bucket=bucket)["Rules"]
assert rules == [{"ID": "legacy", "Prefix": "old/", "Status": "Enabled",
                  "Expiration": {"Days": 3}}], rules
s3.delete_bucket_lifecycle(Bucket=bucket)
# What the lifecycle will do, told in object answers: x-amz-expiration
# (the rule ID URL-encoded) and x-amz-abort-date / x-amz-abort-rule-id.
assert "Expiration" not in s3.put_object(Bucket=bucket, Key="docs/none", Body=b"n")
s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
    {"ID": "docs 30", "Status": "Enabled", "Filter": {"Prefix": "docs/"},
     "Expiration": {"Days": 30}},
    {"ID": "uploads", "Status": "Enabled", "Filter": {"Prefix": "docs/"},
     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
]})
def midnight_after(t, days):
    t = t + datetime.timedelta(days=days)
    day = t.date() if t.time() == datetime.time(0) else t.date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=datetime.timezone.utc)
put = s3.put_object(Bucket=bucket, Key="docs/a", Body=b"a")
head = s3.head_object(Bucket=bucket, Key="docs/a")
want = 'expiry-date="%s", rule-id="docs%%2030"' % email.utils.format_datetime(
    midnight_after(head["LastModified"], 30), usegmt=True)
assert put.get("Expiration") == want, (put.get("Expiration"), want)
assert head.get("Expiration") == want, (head.get("Expiration"), want)
assert s3.get_object(Bucket=bucket, Key="docs/a").get("Expiration") == want
s3.put_object(Bucket=bucket, Key="elsewhere", Body=b"e")
assert "Expiration" not in s3.head_object(Bucket=bucket, Key="elsewhere"), "outside the filter"
mp = s3.create_multipart_upload(Bucket=bucket, Key="docs/mp")
assert mp.get("AbortRuleId") == "uploads", mp
now = datetime.datetime.now(datetime.timezone.utc)
assert mp["AbortDate"].time() == datetime.time(0), mp["AbortDate"]
assert now + datetime.timedelta(days=7) <= mp["AbortDate"] <= now + datetime.timedelta(days=8), mp
s3.abort_multipart_upload(Bucket=bucket, Key="docs/mp", UploadId=mp["UploadId"])
s3.delete_bucket_lifecycle(Bucket=bucket)
print("ok")
"#;

/// boto3 (modern and legacy calls) and the aws CLI.
async fn clients(server: &TestServer, key: &miniaws_client::CreatedKey, s3: &Client) {
    let (Some(cli), Some(python)) = (
        require_tool("MINIAWS_TEST_AWS_CLI"),
        require_tool("MINIAWS_TEST_PYTHON"),
    ) else {
        return;
    };
    let clients = AwsClients::new(server, key);
    for b in ["lc-boto3", "lc-cli"] {
        s3.create_bucket().bucket(b).send().await.expect("bucket");
    }
    let script = clients.home().join("lifecycle.py");
    std::fs::write(&script, BOTO3_SCRIPT).expect("write the script");
    let mut boto3 = clients.command(&python);
    boto3.arg(&script).arg("lc-boto3");
    let (ok, out, err) = run_tool(boto3).await;
    assert!(ok && out.trim() == "ok", "boto3: {out}\n{err}");

    let file = clients.home().join("lifecycle.json");
    std::fs::write(
        &file,
        r#"{"Rules":[{"ID":"expire-tmp","Status":"Enabled","Filter":{"Prefix":"tmp/"},"Expiration":{"Days":1}}]}"#,
    )
    .expect("write lifecycle.json");
    let file_arg = format!("file://{}", file.display());
    let (ok, out, err) = run_tool(clients.aws_command(
        &cli,
        [
            "s3api",
            "put-bucket-lifecycle-configuration",
            "--bucket",
            "lc-cli",
            "--lifecycle-configuration",
            &file_arg,
        ],
    ))
    .await;
    assert!(ok, "aws put-bucket-lifecycle-configuration: {out}\n{err}");
    let (ok, out, err) = run_tool(clients.aws_command(
        &cli,
        [
            "s3api",
            "get-bucket-lifecycle-configuration",
            "--bucket",
            "lc-cli",
        ],
    ))
    .await;
    assert!(ok, "aws get-bucket-lifecycle-configuration: {out}\n{err}");
    let got: serde_json::Value = serde_json::from_str(&out).expect("JSON from the CLI");
    assert_eq!(
        got["Rules"],
        serde_json::json!([{"ID": "expire-tmp", "Status": "Enabled",
            "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}}]),
        "{out}"
    );
}

/// Writes `body` to `key` and returns the version id it got.
async fn put_version(s3: &Client, bucket: &str, key: &str, body: &[u8], tagging: &str) -> String {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .tagging(tagging)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {bucket}/{key}: {e:?}"))
        .version_id()
        .unwrap_or("null")
        .to_owned()
}

/// Inserts a delete marker at `key`.
async fn delete_key(s3: &Client, bucket: &str, key: &str) {
    s3.delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeleteObject {bucket}/{key}: {e:?}"));
}

async fn set_versioning(s3: &Client, bucket: &str, status: BucketVersioningStatus) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutBucketVersioning {bucket}: {e:?}"));
}

/// Every version of `bucket` as ListObjectVersions names it: (key,
/// version id, or `marker` and its id for a delete marker), by key, newest
/// first.
async fn versions(s3: &Client, bucket: &str) -> Vec<(String, String)> {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .expect("ListObjectVersions");
    assert!(!out.is_truncated().unwrap_or(false));
    let mut all: Vec<(String, String, bool, DateTime)> = Vec::new();
    for v in out.versions() {
        let (k, id) = (v.key().expect("key"), v.version_id().expect("id"));
        let at = *v.last_modified().expect("time");
        all.push((k.to_owned(), id.to_owned(), v.is_latest() == Some(true), at));
    }
    for m in out.delete_markers() {
        let (k, id) = (m.key().expect("key"), m.version_id().expect("id"));
        let at = *m.last_modified().expect("time");
        all.push((
            k.to_owned(),
            format!("marker {id}"),
            m.is_latest() == Some(true),
            at,
        ));
    }
    // s3s writes a page's versions before its markers: back in order,
    // by key, the latest first.
    all.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)));
    all.into_iter().map(|(k, id, _, _)| (k, id)).collect()
}

/// Waits (up to 15 s) until `bucket`'s versions are `want`, a `marker`
/// entry standing for any delete marker.
async fn wait_for_versions(s3: &Client, bucket: &str, want: &[(&str, &str)]) {
    let mut got = Vec::new();
    for _ in 0..75 {
        got = versions(s3, bucket).await;
        let same = got.len() == want.len()
            && got.iter().zip(want).all(|((k, id), (wk, wid))| {
                k == wk && (id == wid || (*wid == "marker" && id.starts_with("marker ")))
            });
        if same {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{bucket}: the sweep left {got:#?}, want {want:#?}");
}

/// Moves the time `keys`' noncurrent versions became noncurrent back to
/// 2020 (in every bucket): the server's clock is real.
async fn age_noncurrent(server: &TestServer, backend: Backend, keys: &[&str]) -> u64 {
    let sql = match backend {
        Backend::Sqlite => {
            let keys: Vec<_> = keys
                .iter()
                .map(|k| format!("CAST('{k}' AS BLOB)"))
                .collect();
            format!(
                "UPDATE object_versions SET noncurrent_at = '2020-01-01T00:00:00.000000Z' WHERE key IN ({})",
                keys.join(", ")
            )
        }
        Backend::Postgres => {
            let keys: Vec<_> = keys
                .iter()
                .map(|k| format!("convert_to('{k}', 'UTF8')"))
                .collect();
            format!(
                "UPDATE object_versions SET noncurrent_at = '2020-01-01T00:00:00Z' WHERE key IN ({})",
                keys.join(", ")
            )
        }
    };
    execute(server, backend, &sql).await
}

/// A versioned bucket's rules, as S3 applies them: an `Expiration` turns
/// the current version into a delete marker (the data stays, readable by
/// its id); `NoncurrentVersionExpiration` removes old noncurrent versions
/// for good (blob files too) but keeps `NewerNoncurrentVersions` of them
/// and those its tag filter leaves out or too recent; `ExpiredObjectDeleteMarker`
/// removes a marker left alone, not one with versions behind it; keys no
/// rule covers, and another versioned bucket without rules, stay as they
/// are (their noncurrent versions made just as old).
async fn versioned_sweep(
    server: &TestServer,
    backend: Backend,
    s3: &Client,
    bucket: &str,
    other: &str,
) {
    for b in [bucket, other] {
        set_versioning(s3, b, BucketVersioningStatus::Enabled).await;
    }
    let mut ids = std::collections::BTreeMap::new();
    for b in [bucket, other] {
        for (key, n, tagging) in [
            ("tmp/a", 2, "t=1"),
            ("nc/k", 4, "t=1"),
            ("nc/fresh", 2, "t=1"),
            ("keep/x", 2, "t=1"),
        ] {
            for i in 1..=n {
                let body = format!("{key} {i}");
                let id = put_version(s3, b, key, body.as_bytes(), tagging).await;
                ids.insert((b, key, i), id);
            }
        }
        // Tagged versions: only the one tagged keep=no matches its rule.
        for (i, tagging) in [(1, "keep=no"), (2, "keep=yes"), (3, "keep=no")] {
            let id = put_version(s3, b, "nct/x", b"tagged", tagging).await;
            ids.insert((b, "nct/x", i), id);
        }
        put_version(s3, b, "dm/behind", b"behind", "t=1").await;
        delete_key(s3, b, "dm/behind").await;
        delete_key(s3, b, "dm/lone").await;
        delete_key(s3, b, "keep/m").await;
    }
    // Retagged by version id: nct/x's first version no longer matches its
    // rule, its second now does (the current third keeps its tags).
    for (i, value) in [(1, "yes"), (2, "no")] {
        let out = s3
            .put_object_tagging()
            .bucket(bucket)
            .key("nct/x")
            .version_id(&ids[&(bucket, "nct/x", i)])
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(tag("keep", value))
                    .build()
                    .expect("tagging"),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObjectTagging nct/x #{i}: {e:?}"));
        assert_eq!(out.version_id(), Some(ids[&(bucket, "nct/x", i)].as_str()));
    }
    let aged = age_noncurrent(server, backend, &["nc/k", "nct/x"]).await;
    assert_eq!(aged, 2 * (3 + 2), "nc/k's and nct/x's noncurrent versions");
    let before_other = versions(s3, other).await;
    let blobs_before = files_under(&objects_dir(server)).len();
    let noncurrent = |id: &str, filter: LifecycleRuleFilter, keep: Option<i32>| {
        LifecycleRule::builder()
            .id(id)
            .status(ExpirationStatus::Enabled)
            .filter(filter)
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(1)
                    .set_newer_noncurrent_versions(keep)
                    .build(),
            )
            .build()
            .expect("rule")
    };
    put(
        s3,
        bucket,
        vec![
            rule("tmp", prefix("tmp/"), date(PAST_MIDNIGHT)),
            noncurrent("nc", prefix("nc/"), Some(1)),
            noncurrent(
                "nct",
                LifecycleRuleFilter::builder()
                    .and(
                        LifecycleRuleAndOperator::builder()
                            .prefix("nct/")
                            .tags(tag("keep", "no"))
                            .build(),
                    )
                    .build(),
                None,
            ),
            rule(
                "dm",
                prefix("dm/"),
                LifecycleExpiration::builder()
                    .expired_object_delete_marker(true)
                    .build(),
            ),
        ],
    )
    .await;
    let id = |key: &'static str, i: i32| ids[&(bucket, key, i)].clone();
    let want = [
        ("dm/behind", "marker".to_owned()),
        ("dm/behind", "?".to_owned()),
        ("keep/m", "marker".to_owned()),
        ("keep/x", id("keep/x", 2)),
        ("keep/x", id("keep/x", 1)),
        ("nc/fresh", id("nc/fresh", 2)),
        ("nc/fresh", id("nc/fresh", 1)),
        ("nc/k", id("nc/k", 4)),
        ("nc/k", id("nc/k", 3)),
        ("nct/x", id("nct/x", 3)),
        ("nct/x", id("nct/x", 1)),
        ("tmp/a", "marker".to_owned()),
        ("tmp/a", id("tmp/a", 2)),
        ("tmp/a", id("tmp/a", 1)),
    ];
    // dm/behind's version id was not kept: read it from the listing.
    let behind = versions(s3, bucket)
        .await
        .into_iter()
        .find(|(k, id)| k == "dm/behind" && !id.starts_with("marker"))
        .expect("dm/behind's version")
        .1;
    let want: Vec<(&str, String)> = want
        .into_iter()
        .map(|(k, id)| (k, if id == "?" { behind.clone() } else { id }))
        .collect();
    let want: Vec<(&str, &str)> = want.iter().map(|(k, id)| (*k, id.as_str())).collect();
    wait_for_versions(s3, bucket, &want).await;
    assert_eq!(
        files_under(&objects_dir(server)).len(),
        blobs_before - 3,
        "nc/k's two oldest versions and nct/x's first are gone, blob files too"
    );
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("tmp/a")
        .send()
        .await
        .expect_err("expired into a delete marker");
    assert_eq!(code_of(&err), ("NoSuchKey".to_owned(), 404));
    let old = s3
        .get_object()
        .bucket(bucket)
        .key("tmp/a")
        .version_id(id("tmp/a", 2))
        .send()
        .await
        .expect("the expired version is kept, readable by id");
    let body = old.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"tmp/a 2");
    assert_eq!(
        versions(s3, other).await,
        before_other,
        "a bucket without rules keeps everything"
    );
}

/// A suspended bucket's `Expiration`: the `null` current version is
/// replaced by a `null` delete marker (its blob file removed), a version
/// from before the suspension stays.
async fn suspended_sweep(server: &TestServer, s3: &Client, bucket: &str) {
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    let kept = put_version(s3, bucket, "tmp/s", b"versioned", "t=1").await;
    set_versioning(s3, bucket, BucketVersioningStatus::Suspended).await;
    put_version(s3, bucket, "tmp/s", b"null", "t=1").await;
    put_version(s3, bucket, "tmp/n", b"null only", "t=1").await;
    put_version(s3, bucket, "other/n", b"outside the rule", "t=1").await;
    let blobs_before = files_under(&objects_dir(server)).len();
    put(
        s3,
        bucket,
        vec![rule("tmp", prefix("tmp/"), date(PAST_MIDNIGHT))],
    )
    .await;
    wait_for_versions(
        s3,
        bucket,
        &[
            ("other/n", "null"),
            ("tmp/n", "marker null"),
            ("tmp/s", "marker null"),
            ("tmp/s", &kept),
        ],
    )
    .await;
    assert_eq!(
        files_under(&objects_dir(server)).len(),
        blobs_before - 2,
        "the two null versions' blob files are gone"
    );
}

async fn run(backend: Backend) {
    let Some(server) =
        TestServer::start_with(backend, &["--lifecycle-interval-secs", "1"], &[]).await
    else {
        return;
    };
    let (_, key) = server.user("alice-lifecycle").await;
    let s3 = s3_client(&server, &key);
    for bucket in [
        "lc-sdk",
        "lc-refused",
        "lc-owned",
        "lc-date",
        "lc-days",
        "lc-headers",
        "lc-plain",
        "lc-versioned",
        "lc-versioned-other",
        "lc-suspended",
    ] {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));
    }
    sdk_round_trip(&s3, "lc-sdk").await;
    refusals(&s3, "lc-refused").await;
    ownership(&server, &s3, "lc-owned").await;
    expiration_by_date(&server, &s3, "lc-date").await;
    days_and_aborts(&server, backend, &s3, "lc-days").await;
    headers(&server, &s3, "lc-headers", "lc-plain").await;
    versioned_sweep(&server, backend, &s3, "lc-versioned", "lc-versioned-other").await;
    suspended_sweep(&server, &s3, "lc-suspended").await;
    if backend == Backend::Sqlite {
        clients(&server, &key, &s3).await;
    }
}

#[tokio::test]
async fn lifecycle_on_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn lifecycle_on_postgres() {
    run(Backend::Postgres).await;
}
