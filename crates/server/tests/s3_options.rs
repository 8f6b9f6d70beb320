//! Request options that change what S3 does with an object — server-side
//! encryption, storage class, Object Lock, expected bucket owner — are
//! honoured or refused, never silently ignored; with `aws-sdk-s3` against
//! the real server on SQLite and Postgres:
//!
//! - every refusal (SSE-KMS, SSE-C on writes, copies, parts and reads,
//!   SSE-C beside SSE-S3 or missing its key or algorithm, an unknown SSE
//!   value, archive and unknown storage classes, Object
//!   Lock headers on a bucket without it) with its code and status, and
//!   nothing stored afterwards;
//! - SSE-S3 accepted and answered as S3 does (`AES256` on every object);
//! - storage classes stored, returned by GET/HEAD, listed (ListObjects v1
//!   and v2, ListObjectVersions, GetObjectAttributes, ListParts,
//!   ListMultipartUploads), set by CopyObject (else STANDARD, as S3) and
//!   carried from CreateMultipartUpload to the completed object;
//! - Get/Put/DeleteBucketEncryption answering the default SSE-S3 rule;
//! - GetObjectLockConfiguration, PutObjectLockConfiguration (409 before
//!   versioning is Enabled) and the retention and legal-hold operations
//!   answered as for a bucket without Object Lock (the feature itself is
//!   `s3_object_lock.rs`'s);
//! - `x-amz-expected-bucket-owner` and `x-amz-source-expected-bucket-owner`
//!   matching and not.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, MetadataDirective, ObjectAttributes,
    ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHold, ObjectLockLegalHoldStatus,
    ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    StorageClass,
};
use base64::Engine;
use common::{code_of, s3_client};
use md5::{Digest, Md5};
use miniaws_testkit::{Backend, TestServer};

const BUCKET: &str = "options";

/// An SSE-C key and its MD5, base64, as a client sends them.
fn customer_key() -> (String, String) {
    let key = [7u8; 32];
    let b64 = base64::engine::general_purpose::STANDARD;
    (b64.encode(key), b64.encode(Md5::digest(key)))
}

async fn put(s3: &Client, key: &str, body: &'static [u8]) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
}

async fn keys(s3: &Client) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .expect("ListObjectsV2")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// Sends a request expected to fail; asserts its code and status.
macro_rules! refused {
    ($what:expr, $req:expr, $code:expr, $status:expr) => {{
        let err = $req.send().await.expect_err($what);
        assert_eq!(
            code_of(&err),
            ($code.to_owned(), $status),
            "{}: {err:?}",
            $what
        );
    }};
}

/// Every refused option, with nothing stored afterwards.
async fn refusals(s3: &Client) {
    let (key, key_md5) = customer_key();
    put(s3, "src", b"source bytes").await;
    let body = || ByteStream::from_static(b"must not be stored");

    refused!(
        "PutObject SSE-KMS",
        s3.put_object()
            .bucket(BUCKET)
            .key("kms")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id("alias/foo")
            .body(body()),
        "NotImplemented",
        501
    );
    let err = s3
        .put_object()
        .bucket(BUCKET)
        .key("kms")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .body(body())
        .send()
        .await
        .expect_err("PutObject aws:kms");
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::message(&err),
        Some("SSE-KMS is not implemented (Mini AWS has no KMS)")
    );
    let err = s3
        .put_object()
        .bucket(BUCKET)
        .key("archive")
        .storage_class(StorageClass::Glacier)
        .body(body())
        .send()
        .await
        .expect_err("PutObject GLACIER");
    assert!(
        aws_sdk_s3::error::ProvideErrorMetadata::message(&err)
            .is_some_and(|m| m.starts_with("archive storage classes are not implemented")),
        "{err:?}"
    );
    refused!(
        "PutObject DSSE-KMS",
        s3.put_object()
            .bucket(BUCKET)
            .key("kms")
            .server_side_encryption(ServerSideEncryption::AwsKmsDsse)
            .body(body()),
        "NotImplemented",
        501
    );
    refused!(
        "PutObject KMS key without aws:kms",
        s3.put_object()
            .bucket(BUCKET)
            .key("kms")
            .ssekms_key_id("alias/foo")
            .body(body()),
        "InvalidArgument",
        400
    );
    refused!(
        "PutObject unknown SSE",
        s3.put_object()
            .bucket(BUCKET)
            .key("rot13")
            .server_side_encryption(ServerSideEncryption::from("ROT13"))
            .body(body()),
        "InvalidArgument",
        400
    );
    refused!(
        "PutObject SSE-C",
        s3.put_object()
            .bucket(BUCKET)
            .key("ssec")
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key)
            .sse_customer_key_md5(&key_md5)
            .body(body()),
        "NotImplemented",
        501
    );
    // SSE-C headers no request could use: S3's 400 before the 501.
    refused!(
        "PutObject SSE-C beside SSE-S3",
        s3.put_object()
            .bucket(BUCKET)
            .key("ssec")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key)
            .sse_customer_key_md5(&key_md5)
            .body(body()),
        "InvalidArgument",
        400
    );
    refused!(
        "PutObject SSE-C key without its algorithm",
        s3.put_object()
            .bucket(BUCKET)
            .key("ssec")
            .sse_customer_key(&key)
            .sse_customer_key_md5(&key_md5)
            .body(body()),
        "InvalidArgument",
        400
    );
    refused!(
        "CreateMultipartUpload SSE-C algorithm without its key",
        s3.create_multipart_upload()
            .bucket(BUCKET)
            .key("ssec")
            .sse_customer_algorithm("AES256"),
        "InvalidArgument",
        400
    );
    for class in [StorageClass::Glacier, StorageClass::DeepArchive] {
        refused!(
            &format!("PutObject {class}"),
            s3.put_object()
                .bucket(BUCKET)
                .key("archive")
                .storage_class(class.clone())
                .body(body()),
            "NotImplemented",
            501
        );
    }
    for class in [
        StorageClass::from("BOGUS"),
        StorageClass::ExpressOnezone,
        StorageClass::from("standard"),
    ] {
        refused!(
            &format!("PutObject {class}"),
            s3.put_object()
                .bucket(BUCKET)
                .key("bogus")
                .storage_class(class.clone())
                .body(body()),
            "InvalidStorageClass",
            400
        );
    }
    refused!(
        "PutObject retention",
        s3.put_object()
            .bucket(BUCKET)
            .key("locked")
            .object_lock_mode(ObjectLockMode::Governance)
            .object_lock_retain_until_date(DateTime::from_secs(4_102_444_800))
            .body(body()),
        "InvalidRequest",
        400
    );
    let err = s3
        .put_object()
        .bucket(BUCKET)
        .key("locked")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .body(body())
        .send()
        .await
        .expect_err("PutObject legal hold");
    assert_eq!(code_of(&err), ("InvalidRequest".into(), 400));
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::message(&err),
        Some("Bucket is missing ObjectLockConfiguration")
    );

    refused!(
        "PutObject legal hold, missing bucket",
        s3.put_object()
            .bucket("options-missing")
            .key("locked")
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
            .body(body()),
        "NoSuchBucket",
        404
    );
    refused!(
        "CreateMultipartUpload SSE-KMS",
        s3.create_multipart_upload()
            .bucket(BUCKET)
            .key("mpu")
            .server_side_encryption(ServerSideEncryption::AwsKms),
        "NotImplemented",
        501
    );
    refused!(
        "CreateMultipartUpload SSE-C",
        s3.create_multipart_upload()
            .bucket(BUCKET)
            .key("mpu")
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key)
            .sse_customer_key_md5(&key_md5),
        "NotImplemented",
        501
    );
    refused!(
        "CreateMultipartUpload GLACIER",
        s3.create_multipart_upload()
            .bucket(BUCKET)
            .key("mpu")
            .storage_class(StorageClass::Glacier),
        "NotImplemented",
        501
    );
    refused!(
        "CreateMultipartUpload retention",
        s3.create_multipart_upload()
            .bucket(BUCKET)
            .key("mpu")
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(DateTime::from_secs(4_102_444_800)),
        "InvalidRequest",
        400
    );

    refused!(
        "CopyObject SSE-KMS",
        s3.copy_object()
            .bucket(BUCKET)
            .key("copy")
            .copy_source(format!("{BUCKET}/src"))
            .server_side_encryption(ServerSideEncryption::AwsKms),
        "NotImplemented",
        501
    );
    refused!(
        "CopyObject SSE-C destination",
        s3.copy_object()
            .bucket(BUCKET)
            .key("copy")
            .copy_source(format!("{BUCKET}/src"))
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key)
            .sse_customer_key_md5(&key_md5),
        "NotImplemented",
        501
    );
    refused!(
        "CopyObject SSE-C source",
        s3.copy_object()
            .bucket(BUCKET)
            .key("copy")
            .copy_source(format!("{BUCKET}/src"))
            .copy_source_sse_customer_algorithm("AES256")
            .copy_source_sse_customer_key(&key)
            .copy_source_sse_customer_key_md5(&key_md5),
        "NotImplemented",
        501
    );
    refused!(
        "CopyObject DEEP_ARCHIVE",
        s3.copy_object()
            .bucket(BUCKET)
            .key("copy")
            .copy_source(format!("{BUCKET}/src"))
            .storage_class(StorageClass::DeepArchive),
        "NotImplemented",
        501
    );
    refused!(
        "CopyObject legal hold",
        s3.copy_object()
            .bucket(BUCKET)
            .key("copy")
            .copy_source(format!("{BUCKET}/src"))
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On),
        "InvalidRequest",
        400
    );

    // Parts of an accepted upload.
    let upload = s3
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("mpu-parts")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = upload.upload_id().expect("an upload id");
    refused!(
        "UploadPart SSE-C",
        s3.upload_part()
            .bucket(BUCKET)
            .key("mpu-parts")
            .upload_id(upload_id)
            .part_number(1)
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key)
            .sse_customer_key_md5(&key_md5)
            .body(body()),
        "NotImplemented",
        501
    );
    refused!(
        "UploadPartCopy SSE-C source",
        s3.upload_part_copy()
            .bucket(BUCKET)
            .key("mpu-parts")
            .upload_id(upload_id)
            .part_number(1)
            .copy_source(format!("{BUCKET}/src"))
            .copy_source_sse_customer_algorithm("AES256")
            .copy_source_sse_customer_key(&key)
            .copy_source_sse_customer_key_md5(&key_md5),
        "NotImplemented",
        501
    );
    let parts = s3
        .list_parts()
        .bucket(BUCKET)
        .key("mpu-parts")
        .upload_id(upload_id)
        .send()
        .await
        .expect("ListParts");
    assert!(parts.parts().is_empty(), "no part stored: {parts:?}");
    s3.abort_multipart_upload()
        .bucket(BUCKET)
        .key("mpu-parts")
        .upload_id(upload_id)
        .send()
        .await
        .expect("AbortMultipartUpload");

    refused!(
        "GetObject SSE-C",
        s3.get_object()
            .bucket(BUCKET)
            .key("src")
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key)
            .sse_customer_key_md5(&key_md5),
        "NotImplemented",
        501
    );
    let err = s3
        .head_object()
        .bucket(BUCKET)
        .key("src")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key)
        .sse_customer_key_md5(&key_md5)
        .send()
        .await
        .expect_err("HeadObject SSE-C");
    assert_eq!(code_of(&err).1, 501, "HeadObject SSE-C: {err:?}");

    // A read cannot choose an encryption: S3's documented 400. The SDKs
    // have no such field, so the header is added by hand.
    let err = s3
        .get_object()
        .bucket(BUCKET)
        .key("src")
        .customize()
        .mutate_request(|r| {
            r.headers_mut()
                .insert("x-amz-server-side-encryption", "AES256");
        })
        .send()
        .await
        .expect_err("GetObject with x-amz-server-side-encryption");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    // Object Lock is honoured (see s3_object_lock.rs); `false` asks for
    // none.
    s3.create_bucket()
        .bucket("options-unlocked")
        .object_lock_enabled_for_bucket(false)
        .send()
        .await
        .expect("CreateBucket with Object Lock disabled");
    let err = s3
        .get_object_lock_configuration()
        .bucket("options-unlocked")
        .send()
        .await
        .expect_err("no Object Lock");
    assert_eq!(
        code_of(&err),
        ("ObjectLockConfigurationNotFoundError".into(), 404)
    );

    assert_eq!(keys(s3).await, ["src"], "nothing refused was stored");
    let uploads = s3
        .list_multipart_uploads()
        .bucket(BUCKET)
        .send()
        .await
        .expect("ListMultipartUploads");
    assert!(
        uploads.uploads().is_empty(),
        "no refused upload: {uploads:?}"
    );
}

/// SSE-S3 is accepted and every object is answered as SSE-S3, as on S3.
async fn sse_s3(s3: &Client) {
    let out = s3
        .put_object()
        .bucket(BUCKET)
        .key("sse-s3")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from_static(b"encrypted at rest, says S3"))
        .send()
        .await
        .expect("PutObject AES256");
    assert_eq!(
        out.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256)
    );
    let got = s3
        .get_object()
        .bucket(BUCKET)
        .key("sse-s3")
        .send()
        .await
        .expect("GetObject");
    assert_eq!(
        got.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256)
    );
    let bytes = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(&bytes[..], b"encrypted at rest, says S3");
    // An object written without asking says the same, as on S3.
    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key("src")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256)
    );
    assert_eq!(head.storage_class(), None, "STANDARD is never named");
}

async fn head_class(s3: &Client, key: &str) -> Option<StorageClass> {
    s3.head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("HeadObject {key}: {e:?}"))
        .storage_class()
        .cloned()
}

/// Storage classes: stored, answered, listed, copied, through multipart.
async fn storage_classes(s3: &Client) {
    s3.put_object()
        .bucket(BUCKET)
        .key("class/ia")
        .storage_class(StorageClass::StandardIa)
        .content_type("text/plain")
        .metadata("color", "blue")
        .body(ByteStream::from_static(b"infrequent"))
        .send()
        .await
        .expect("PutObject STANDARD_IA");
    s3.put_object()
        .bucket(BUCKET)
        .key("class/standard")
        .storage_class(StorageClass::Standard)
        .body(ByteStream::from_static(b"standard"))
        .send()
        .await
        .expect("PutObject STANDARD");
    assert_eq!(
        head_class(s3, "class/ia").await,
        Some(StorageClass::StandardIa)
    );
    assert_eq!(head_class(s3, "class/standard").await, None);
    let got = s3
        .get_object()
        .bucket(BUCKET)
        .key("class/ia")
        .send()
        .await
        .expect("GetObject");
    assert_eq!(got.storage_class(), Some(&StorageClass::StandardIa));

    // Copies: the class named, else STANDARD (S3's CopyObject), whatever
    // the metadata directive; a copy onto itself naming a class is legal.
    s3.copy_object()
        .bucket(BUCKET)
        .key("class/copy-default")
        .copy_source(format!("{BUCKET}/class/ia"))
        .send()
        .await
        .expect("CopyObject");
    assert_eq!(head_class(s3, "class/copy-default").await, None);
    s3.copy_object()
        .bucket(BUCKET)
        .key("class/copy-onezone")
        .copy_source(format!("{BUCKET}/class/ia"))
        .storage_class(StorageClass::OnezoneIa)
        .send()
        .await
        .expect("CopyObject ONEZONE_IA");
    assert_eq!(
        head_class(s3, "class/copy-onezone").await,
        Some(StorageClass::OnezoneIa)
    );
    s3.copy_object()
        .bucket(BUCKET)
        .key("class/copy-replace")
        .copy_source(format!("{BUCKET}/class/ia"))
        .metadata_directive(MetadataDirective::Replace)
        .storage_class(StorageClass::ReducedRedundancy)
        .send()
        .await
        .expect("CopyObject REPLACE REDUCED_REDUNDANCY");
    assert_eq!(
        head_class(s3, "class/copy-replace").await,
        Some(StorageClass::ReducedRedundancy)
    );
    s3.copy_object()
        .bucket(BUCKET)
        .key("class/ia")
        .copy_source(format!("{BUCKET}/class/ia"))
        .storage_class(StorageClass::GlacierIr)
        .send()
        .await
        .expect("CopyObject onto itself, changing the class");
    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key("class/ia")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.storage_class(), Some(&StorageClass::GlacierIr));
    assert_eq!(head.content_type(), Some("text/plain"), "metadata kept");
    // No object is archived, so none can be restored: S3's answer for the
    // other classes; a missing key is NoSuchKey first.
    for key in ["class/ia", "class/standard"] {
        let err = s3
            .restore_object()
            .bucket(BUCKET)
            .key(key)
            .restore_request(aws_sdk_s3::types::RestoreRequest::builder().days(1).build())
            .send()
            .await
            .expect_err("nothing to restore");
        assert_eq!(code_of(&err), ("InvalidObjectState".into(), 403), "{key}");
    }
    let err = s3
        .restore_object()
        .bucket(BUCKET)
        .key("class/missing")
        .send()
        .await
        .expect_err("no such key");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("color"))
            .map(String::as_str),
        Some("blue")
    );

    // Multipart: the upload's class is listed and given to the object.
    let upload = s3
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("class/mpu")
        .storage_class(StorageClass::IntelligentTiering)
        .send()
        .await
        .expect("CreateMultipartUpload INTELLIGENT_TIERING");
    let upload_id = upload.upload_id().expect("an upload id");
    let uploads = s3
        .list_multipart_uploads()
        .bucket(BUCKET)
        .send()
        .await
        .expect("ListMultipartUploads");
    let listed: Vec<_> = uploads
        .uploads()
        .iter()
        .map(|u| (u.key(), u.storage_class().map(|c| c.as_str())))
        .collect();
    assert_eq!(listed, [(Some("class/mpu"), Some("INTELLIGENT_TIERING"))]);
    let part = s3
        .upload_part()
        .bucket(BUCKET)
        .key("class/mpu")
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from_static(b"one part"))
        .send()
        .await
        .expect("UploadPart");
    assert_eq!(
        part.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256)
    );
    let parts = s3
        .list_parts()
        .bucket(BUCKET)
        .key("class/mpu")
        .upload_id(upload_id)
        .send()
        .await
        .expect("ListParts");
    assert_eq!(
        parts.storage_class(),
        Some(&StorageClass::IntelligentTiering)
    );
    s3.complete_multipart_upload()
        .bucket(BUCKET)
        .key("class/mpu")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().expect("a part ETag"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");
    assert_eq!(
        head_class(s3, "class/mpu").await,
        Some(StorageClass::IntelligentTiering)
    );

    // Listings name every object's class.
    let want = [
        ("class/copy-default", "STANDARD"),
        ("class/copy-onezone", "ONEZONE_IA"),
        ("class/copy-replace", "REDUCED_REDUNDANCY"),
        ("class/ia", "GLACIER_IR"),
        ("class/mpu", "INTELLIGENT_TIERING"),
        ("class/standard", "STANDARD"),
    ];
    let v2 = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("class/")
        .send()
        .await
        .expect("ListObjectsV2");
    let got: Vec<_> = v2
        .contents()
        .iter()
        .map(|o| {
            (
                o.key().unwrap_or_default(),
                o.storage_class().map_or("", |c| c.as_str()),
            )
        })
        .collect();
    assert_eq!(got, want, "ListObjectsV2");
    let v1 = s3
        .list_objects()
        .bucket(BUCKET)
        .prefix("class/")
        .send()
        .await
        .expect("ListObjects");
    let got: Vec<_> = v1
        .contents()
        .iter()
        .map(|o| {
            (
                o.key().unwrap_or_default(),
                o.storage_class().map_or("", |c| c.as_str()),
            )
        })
        .collect();
    assert_eq!(got, want, "ListObjects");
    let versions = s3
        .list_object_versions()
        .bucket(BUCKET)
        .prefix("class/")
        .send()
        .await
        .expect("ListObjectVersions");
    let got: Vec<_> = versions
        .versions()
        .iter()
        .map(|o| {
            (
                o.key().unwrap_or_default(),
                o.storage_class().map_or("", |c| c.as_str()),
            )
        })
        .collect();
    assert_eq!(got, want, "ListObjectVersions");
    let attrs = s3
        .get_object_attributes()
        .bucket(BUCKET)
        .key("class/copy-onezone")
        .object_attributes(ObjectAttributes::StorageClass)
        .send()
        .await
        .expect("GetObjectAttributes");
    assert_eq!(attrs.storage_class(), Some(&StorageClass::OnezoneIa));
}

/// The default encryption of every bucket, answered to its owner only.
async fn bucket_encryption(s3: &Client, other: &Client) {
    let rule_of = |c: Option<&ServerSideEncryptionConfiguration>| {
        let rules = c.map(|c| c.rules().to_vec()).unwrap_or_default();
        assert_eq!(rules.len(), 1, "one rule: {rules:?}");
        let r = &rules[0];
        (
            r.apply_server_side_encryption_by_default()
                .map(|d| d.sse_algorithm().clone()),
            r.bucket_key_enabled(),
        )
    };
    let got = s3
        .get_bucket_encryption()
        .bucket(BUCKET)
        .send()
        .await
        .expect("GetBucketEncryption");
    assert_eq!(
        rule_of(got.server_side_encryption_configuration()),
        (Some(ServerSideEncryption::Aes256), Some(false))
    );
    let config = |algorithm: ServerSideEncryption, bucket_key: Option<bool>| {
        ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(algorithm)
                            .build()
                            .expect("a default"),
                    )
                    .set_bucket_key_enabled(bucket_key)
                    .build(),
            )
            .build()
            .expect("a configuration")
    };
    s3.put_bucket_encryption()
        .bucket(BUCKET)
        .server_side_encryption_configuration(config(ServerSideEncryption::Aes256, None))
        .send()
        .await
        .expect("PutBucketEncryption AES256");
    refused!(
        "PutBucketEncryption aws:kms",
        s3.put_bucket_encryption()
            .bucket(BUCKET)
            .server_side_encryption_configuration(config(ServerSideEncryption::AwsKms, None)),
        "NotImplemented",
        501
    );
    refused!(
        "PutBucketEncryption bucket key",
        s3.put_bucket_encryption()
            .bucket(BUCKET)
            .server_side_encryption_configuration(config(ServerSideEncryption::Aes256, Some(true))),
        "NotImplemented",
        501
    );
    s3.delete_bucket_encryption()
        .bucket(BUCKET)
        .send()
        .await
        .expect("DeleteBucketEncryption");
    let got = s3
        .get_bucket_encryption()
        .bucket(BUCKET)
        .send()
        .await
        .expect("GetBucketEncryption after delete");
    assert_eq!(
        rule_of(got.server_side_encryption_configuration()),
        (Some(ServerSideEncryption::Aes256), Some(false))
    );
    refused!(
        "GetBucketEncryption, missing bucket",
        s3.get_bucket_encryption().bucket("options-missing"),
        "NoSuchBucket",
        404
    );
    refused!(
        "GetBucketEncryption, another owner",
        other.get_bucket_encryption().bucket(BUCKET),
        "AccessDenied",
        403
    );
    refused!(
        "PutBucketEncryption, another owner",
        other
            .put_bucket_encryption()
            .bucket(BUCKET)
            .server_side_encryption_configuration(config(ServerSideEncryption::Aes256, None)),
        "AccessDenied",
        403
    );
    refused!(
        "PutObject legal hold, another owner's bucket",
        other
            .put_object()
            .bucket(BUCKET)
            .key("intruder")
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
            .body(ByteStream::from_static(b"x")),
        "AccessDenied",
        403
    );
    refused!(
        "DeleteBucketEncryption, another owner",
        other.delete_bucket_encryption().bucket(BUCKET),
        "AccessDenied",
        403
    );
}

/// The Object Lock questions, answered for a bucket without Object Lock.
async fn object_lock(s3: &Client, other: &Client) {
    let err = s3
        .get_object_lock_configuration()
        .bucket(BUCKET)
        .send()
        .await
        .expect_err("GetObjectLockConfiguration");
    assert_eq!(
        code_of(&err),
        ("ObjectLockConfigurationNotFoundError".into(), 404)
    );
    refused!(
        "PutObjectLockConfiguration",
        s3.put_object_lock_configuration()
            .bucket(BUCKET)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .build()
            ),
        "InvalidBucketState",
        409
    );
    refused!(
        "GetObjectRetention",
        s3.get_object_retention().bucket(BUCKET).key("src"),
        "InvalidRequest",
        400
    );
    refused!(
        "GetObjectLegalHold",
        s3.get_object_legal_hold().bucket(BUCKET).key("src"),
        "InvalidRequest",
        400
    );
    refused!(
        "PutObjectLegalHold",
        s3.put_object_legal_hold()
            .bucket(BUCKET)
            .key("src")
            .legal_hold(
                ObjectLockLegalHold::builder()
                    .status(ObjectLockLegalHoldStatus::On)
                    .build()
            ),
        "InvalidRequest",
        400
    );
    refused!(
        "PutObjectRetention",
        s3.put_object_retention()
            .bucket(BUCKET)
            .key("src")
            .retention(
                ObjectLockRetention::builder()
                    .mode(ObjectLockRetentionMode::Governance)
                    .retain_until_date(DateTime::from_secs(4_102_444_800))
                    .build()
            ),
        "InvalidRequest",
        400
    );
    refused!(
        "GetObjectLockConfiguration, missing bucket",
        s3.get_object_lock_configuration().bucket("options-missing"),
        "NoSuchBucket",
        404
    );
    refused!(
        "GetObjectLockConfiguration, another owner",
        other.get_object_lock_configuration().bucket(BUCKET),
        "AccessDenied",
        403
    );
    refused!(
        "GetObjectRetention, another owner",
        other.get_object_retention().bucket(BUCKET).key("src"),
        "AccessDenied",
        403
    );
    refused!(
        "RestoreObject, another owner",
        other.restore_object().bucket(BUCKET).key("src"),
        "AccessDenied",
        403
    );
}

/// `x-amz-expected-bucket-owner` and `x-amz-source-expected-bucket-owner`.
async fn expected_owner(s3: &Client, owner_id: &str) {
    const SOMEONE: &str = "123456789012";
    s3.put_object()
        .bucket(BUCKET)
        .key("owned")
        .expected_bucket_owner(owner_id)
        .body(ByteStream::from_static(b"mine"))
        .send()
        .await
        .expect("PutObject, expected owner matches");
    refused!(
        "PutObject, expected owner differs",
        s3.put_object()
            .bucket(BUCKET)
            .key("not-owned")
            .expected_bucket_owner(SOMEONE)
            .body(ByteStream::from_static(b"not mine")),
        "AccessDenied",
        403
    );
    s3.list_objects_v2()
        .bucket(BUCKET)
        .expected_bucket_owner(owner_id)
        .send()
        .await
        .expect("ListObjectsV2, expected owner matches");
    refused!(
        "ListObjectsV2, expected owner differs",
        s3.list_objects_v2()
            .bucket(BUCKET)
            .expected_bucket_owner(SOMEONE),
        "AccessDenied",
        403
    );
    refused!(
        "GetObject, expected owner differs",
        s3.get_object()
            .bucket(BUCKET)
            .key("owned")
            .expected_bucket_owner(SOMEONE),
        "AccessDenied",
        403
    );
    s3.copy_object()
        .bucket(BUCKET)
        .key("owned-copy")
        .copy_source(format!("{BUCKET}/owned"))
        .expected_bucket_owner(owner_id)
        .expected_source_bucket_owner(owner_id)
        .send()
        .await
        .expect("CopyObject, both owners match");
    refused!(
        "CopyObject, source owner differs",
        s3.copy_object()
            .bucket(BUCKET)
            .key("not-owned")
            .copy_source(format!("{BUCKET}/owned"))
            .expected_source_bucket_owner(SOMEONE),
        "AccessDenied",
        403
    );
    let upload = s3
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("owned-parts")
        .expected_bucket_owner(owner_id)
        .send()
        .await
        .expect("CreateMultipartUpload, expected owner matches");
    let upload_id = upload.upload_id().expect("an upload id");
    refused!(
        "UploadPartCopy, source owner differs",
        s3.upload_part_copy()
            .bucket(BUCKET)
            .key("owned-parts")
            .upload_id(upload_id)
            .part_number(1)
            .copy_source(format!("{BUCKET}/owned"))
            .expected_source_bucket_owner(SOMEONE),
        "AccessDenied",
        403
    );
    s3.upload_part_copy()
        .bucket(BUCKET)
        .key("owned-parts")
        .upload_id(upload_id)
        .part_number(1)
        .copy_source(format!("{BUCKET}/owned"))
        .expected_source_bucket_owner(owner_id)
        .send()
        .await
        .expect("UploadPartCopy, source owner matches");
    let err = s3
        .head_object()
        .bucket(BUCKET)
        .key("owned")
        .expected_bucket_owner(SOMEONE)
        .send()
        .await
        .expect_err("HeadObject, expected owner differs");
    assert_eq!(code_of(&err).1, 403, "{err:?}");
    s3.abort_multipart_upload()
        .bucket(BUCKET)
        .key("owned-parts")
        .upload_id(upload_id)
        .send()
        .await
        .expect("AbortMultipartUpload");
    let names = keys(s3).await;
    assert!(
        names.contains(&"owned".to_owned()) && names.contains(&"owned-copy".to_owned()),
        "{names:?}"
    );
    assert!(!names.contains(&"not-owned".to_owned()), "{names:?}");
}

async fn options(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice) = server.user("alice-options").await;
    let (_, bob) = server.user("bob-options").await;
    let a = s3_client(&server, &alice);
    let b = s3_client(&server, &bob);
    a.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("CreateBucket");
    refusals(&a).await;
    sse_s3(&a).await;
    storage_classes(&a).await;
    bucket_encryption(&a, &b).await;
    object_lock(&a, &b).await;
    let owner_id = a
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .owner()
        .and_then(|o| o.id())
        .expect("an owner id")
        .to_owned();
    expected_owner(&a, &owner_id).await;
}

#[tokio::test]
async fn request_options_sqlite() {
    options(Backend::Sqlite).await;
}

#[tokio::test]
async fn request_options_postgres() {
    options(Backend::Postgres).await;
}
