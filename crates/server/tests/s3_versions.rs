//! Versioning and ACL questions, with `aws-sdk-s3` against the real server
//! on SQLite and Postgres. First as S3 answers them for a bucket that was
//! never versioned and whose ACLs are disabled ("BucketOwnerEnforced"):
//! GetBucketVersioning / PutBucketVersioning refusals,
//! ListObjectVersions (fields, paging over a few hundred keys with prefix
//! and delimiter, markers, encoding), `versionId=null` on object
//! operations and every other version id refused, Get/Put Bucket/Object
//! ACL, Get/Put/Delete BucketOwnershipControls and the ACL headers of
//! writes, GetObjectAttributes (single-part and
//! multipart objects, with and without checksums, parts paged), and another
//! owner refused on each. Then versioned buckets: versions written and read
//! by id, delete markers, permanent deletes, copies and multipart
//! completions, DeleteObjects with versions, ListObjectVersions paged over
//! a few hundred versions, Suspended, `null` named in every answer about a
//! `null` version, the tags of noncurrent versions set by id, the ACL of
//! a noncurrent version behind a delete marker, 304s naming their version,
//! another owner refused, a policy's
//! `Deny` of the version actions, lifecycle rules beside versioning, a
//! restart that keeps every version and blob, and sixteen clients racing
//! writes, delete markers and permanent deletes on three keys.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketCannedAcl, ChecksumAlgorithm, ChecksumType,
    CompletedMultipartUpload, CompletedPart, Delete, EncodingType, Grant, Grantee,
    ObjectAttributes, ObjectCannedAcl, ObjectIdentifier, ObjectOwnership, ObjectVersion,
    OwnershipControls, OwnershipControlsRule, Permission, Type,
};
use base64::Engine;
use common::{code_of, complete_with_one_part, crc64_nvme, s3_client};
use futures::StreamExt;
use miniaws_testkit::{Backend, TestServer};
use std::collections::BTreeSet;

async fn put(s3: &Client, bucket: &str, key: &str, body: &'static [u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {bucket}/{key}: {e:?}"));
}

/// The XML body of a failed call.
fn error_body<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String {
    err.raw_response()
        .and_then(|r| r.body().bytes())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// The headers of an error's answer that are Mini AWS's internal ones
/// (which carry an error's XML details inside the server): none, ever.
fn internal_headers<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Vec<String> {
    let response = err.raw_response().expect("an answer");
    response
        .headers()
        .iter()
        .filter(|(name, _)| name.to_ascii_lowercase().starts_with("x-miniaws-"))
        .map(|(name, value)| format!("{name}: {value}"))
        .collect()
}

async fn exists(s3: &Client, bucket: &str, key: &str) -> bool {
    s3.head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

/// GetBucketVersioning answers "never enabled"; a PutBucketVersioning with
/// a bad Status is `MalformedXML`, and one that asks for MFA delete is
/// `NotImplemented`, neither changing anything (enabling is
/// [`versioned_bucket`]'s).
async fn bucket_versioning(s3: &Client, bucket: &str) {
    use aws_sdk_s3::types::{BucketVersioningStatus, MfaDelete, VersioningConfiguration};
    let v = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketVersioning");
    assert_eq!(v.status(), None, "never enabled: no Status");
    assert_eq!(v.mfa_delete(), None);
    let err = s3
        .get_bucket_versioning()
        .bucket("no-such-bucket-versions")
        .send()
        .await
        .expect_err("missing bucket");
    assert_eq!(code_of(&err), ("NoSuchBucket".into(), 404));
    let cases = [
        (
            "a Status S3 does not know",
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::from("Disabled"))
                .build(),
            ("MalformedXML", 400),
        ),
        (
            "no Status",
            VersioningConfiguration::builder().build(),
            ("MalformedXML", 400),
        ),
        (
            "MFA delete",
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .mfa_delete(MfaDelete::Enabled)
                .build(),
            ("NotImplemented", 501),
        ),
    ];
    for (what, config, (code, status)) in cases {
        let err = s3
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(config)
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (code.into(), status), "{what}");
    }
    // Still unversioned.
    let v = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketVersioning");
    assert_eq!(v.status(), None);
}

/// Every version of a listing, following the next markers; checks each
/// page's markers on the way.
async fn all_versions(
    s3: &Client,
    bucket: &str,
    prefix: Option<&str>,
    delimiter: Option<&str>,
    max_keys: i32,
) -> (Vec<ObjectVersion>, Vec<String>) {
    let mut versions = Vec::new();
    let mut prefixes = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    for page_no in 0.. {
        assert!(page_no < 1000, "the listing ends");
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .set_prefix(prefix.map(str::to_owned))
            .set_delimiter(delimiter.map(str::to_owned))
            .max_keys(max_keys)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .expect("ListObjectVersions");
        assert_eq!(page.max_keys(), Some(max_keys));
        assert_eq!(
            page.key_marker().unwrap_or(""),
            key_marker.as_deref().unwrap_or("")
        );
        assert!(page.delete_markers().is_empty(), "no delete markers, ever");
        let n = page.versions().len() + page.common_prefixes().len();
        assert!(n <= max_keys as usize, "page of {n} > {max_keys}");
        versions.extend(page.versions().iter().cloned());
        let page_prefixes: Vec<String> = page
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_owned))
            .collect();
        if page.is_truncated() != Some(true) {
            assert_eq!(page.next_key_marker(), None, "last page: no next marker");
            prefixes.extend(page_prefixes);
            break;
        }
        let next = page
            .next_key_marker()
            .expect("a truncated page has a next key marker");
        let last_version = page.versions().last().and_then(|v| v.key());
        let last_prefix = page_prefixes.iter().max().map(String::as_str);
        let last = last_version.max(last_prefix);
        assert_eq!(
            Some(next),
            last,
            "the next key marker is the page's last entry"
        );
        if last_version == Some(next) {
            assert_eq!(page.next_version_id_marker(), Some("null"));
        } else {
            assert_eq!(
                page.next_version_id_marker(),
                None,
                "ends on a common prefix"
            );
        }
        key_marker = Some(next.to_owned());
        version_marker = page.next_version_id_marker().map(str::to_owned);
        prefixes.extend(page_prefixes);
    }
    (versions, prefixes)
}

fn keys_of(versions: &[ObjectVersion]) -> Vec<String> {
    versions
        .iter()
        .filter_map(|v| v.key().map(str::to_owned))
        .collect()
}

/// ListObjectVersions over a few hundred keys: every object once, as its
/// `null` version, latest, with ListObjectsV2's ETag, size, date and owner;
/// paged with prefix, delimiter and markers in byte order.
async fn list_versions(s3: &Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    let empty = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .expect("an empty bucket");
    assert!(empty.versions().is_empty() && empty.is_truncated() == Some(false));

    let mut keys: BTreeSet<String> = BTreeSet::new();
    keys.extend((0..100).map(|i| format!("top-{i:03}")));
    keys.extend((0..100).map(|i| format!("dir-a/{i:03}")));
    keys.extend((0..80).map(|i| format!("dir-b/sub/{i:03}")));
    keys.extend([
        "dir-b/x".to_owned(),
        "z space+key".to_owned(),
        "Zcap".to_owned(),
    ]);
    let puts: Vec<_> = keys
        .iter()
        .map(|k| {
            s3.put_object()
                .bucket(bucket)
                .key(k)
                .body(ByteStream::from(k.as_bytes().to_vec()))
                .send()
        })
        .collect();
    for chunk in futures::stream::iter(puts)
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
    {
        chunk.expect("PutObject");
    }

    // Everything, 7 at a time, in byte order ("Zcap" before "dir-a/…").
    let (versions, prefixes) = all_versions(s3, bucket, None, None, 7).await;
    assert!(prefixes.is_empty());
    let expected: Vec<String> = keys.iter().cloned().collect();
    assert_eq!(keys_of(&versions), expected);
    assert_eq!(versions.first().and_then(|v| v.key()), Some("Zcap"));
    // Each version as ListObjectsV2 (with its owner) lists the object.
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .fetch_owner(true)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("ListObjectsV2");
        listed.extend(page.contents().iter().cloned());
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(listed.len(), versions.len());
    for (v, o) in versions.iter().zip(&listed) {
        assert_eq!(v.key(), o.key());
        assert_eq!(v.version_id(), Some("null"), "{:?}", v.key());
        assert_eq!(v.is_latest(), Some(true), "{:?}", v.key());
        assert_eq!(v.e_tag(), o.e_tag());
        assert_eq!(v.size(), o.size());
        assert_eq!(v.last_modified(), o.last_modified());
        assert_eq!(v.storage_class().map(|c| c.as_str()), Some("STANDARD"));
        let (vo, oo) = (v.owner().expect("an owner"), o.owner().expect("an owner"));
        assert_eq!(vo.id(), oo.id());
        assert!(vo.id().is_some_and(|id| !id.is_empty()));
    }

    // With a delimiter, 5 at a time: the top-level keys and two prefixes.
    let (versions, prefixes) = all_versions(s3, bucket, None, Some("/"), 5).await;
    let top: Vec<String> = keys.iter().filter(|k| !k.contains('/')).cloned().collect();
    assert_eq!(keys_of(&versions), top);
    assert_eq!(prefixes, vec!["dir-a/", "dir-b/"]);
    // A prefix and a delimiter.
    let (versions, prefixes) = all_versions(s3, bucket, Some("dir-b/"), Some("/"), 1).await;
    assert_eq!(keys_of(&versions), vec!["dir-b/x"]);
    assert_eq!(prefixes, vec!["dir-b/sub/"]);
    // A prefix alone, in pages of 30 and in one page.
    let (versions, _) = all_versions(s3, bucket, Some("dir-a/"), None, 30).await;
    assert_eq!(versions.len(), 100);
    let whole = s3
        .list_object_versions()
        .bucket(bucket)
        .prefix("dir-b/sub/")
        .send()
        .await
        .expect("one page");
    assert_eq!(whole.versions().len(), 80);
    assert_eq!(whole.is_truncated(), Some(false));
    assert_eq!(whole.max_keys(), Some(1000));
    assert_eq!(whole.prefix(), Some("dir-b/sub/"));

    // key-marker alone and with version-id-marker null: after that key.
    for version_marker in [None, Some("null")] {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .key_marker("top-097")
            .set_version_id_marker(version_marker.map(str::to_owned))
            .send()
            .await
            .expect("key-marker");
        assert_eq!(
            keys_of(page.versions()),
            vec!["top-098", "top-099", "z space+key"],
            "{version_marker:?}"
        );
        assert_eq!(
            page.version_id_marker().unwrap_or(""),
            version_marker.unwrap_or("")
        );
    }
    // encoding-type=url (the Rust SDK hands the encoded key over as sent).
    let enc = s3
        .list_object_versions()
        .bucket(bucket)
        .prefix("z ")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("encoding-type=url");
    assert_eq!(keys_of(enc.versions()), vec!["z%20space%2Bkey"]);
    assert_eq!(enc.prefix(), Some("z%20"));

    // Refusals.
    let err = s3
        .list_object_versions()
        .bucket(bucket)
        .version_id_marker("null")
        .send()
        .await
        .expect_err("a version marker needs a key marker");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    assert!(error_body(&err).contains(
        "<ArgumentName>version-id-marker</ArgumentName><ArgumentValue>null</ArgumentValue>"
    ));
    let err = s3
        .list_object_versions()
        .bucket(bucket)
        .key_marker("top-001")
        .version_id_marker("3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
        .send()
        .await
        .expect_err("no such version");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    let err = s3
        .list_object_versions()
        .bucket(bucket)
        .max_keys(-1)
        .send()
        .await
        .expect_err("negative max-keys");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    let err = s3
        .list_object_versions()
        .bucket("no-such-bucket-versions")
        .send()
        .await
        .expect_err("missing bucket");
    assert_eq!(code_of(&err), ("NoSuchBucket".into(), 404));
}

/// `versionId=null` names the current object on every object operation;
/// any other version id is `InvalidArgument`.
async fn version_ids(s3: &Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    put(s3, bucket, "k", b"current").await;
    const BAD: &str = "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";

    // GetObject, HeadObject.
    let got = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .version_id("null")
        .send()
        .await
        .expect("GetObject versionId=null");
    assert_eq!(got.version_id(), Some("null"));
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(body.as_ref(), b"current");
    let plain = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .expect("GetObject");
    assert_eq!(plain.version_id(), None, "no version id unless asked for");
    let head = s3
        .head_object()
        .bucket(bucket)
        .key("k")
        .version_id("null")
        .send()
        .await
        .expect("HeadObject versionId=null");
    assert_eq!(head.version_id(), Some("null"));
    assert_eq!(head.content_length(), Some(7));
    for bad in [BAD, "1", "NULL"] {
        let err = s3
            .get_object()
            .bucket(bucket)
            .key("k")
            .version_id(bad)
            .send()
            .await
            .expect_err("another version");
        assert_eq!(code_of(&err), ("InvalidArgument".into(), 400), "{bad}");
        assert_eq!(
            aws_sdk_s3::error::ProvideErrorMetadata::message(&err),
            Some("Invalid version id specified")
        );
        let xml = error_body(&err);
        assert!(
            xml.contains(&format!(
                "<ArgumentName>versionId</ArgumentName><ArgumentValue>{bad}</ArgumentValue>"
            )),
            "S3 names the argument: {xml}"
        );
        assert_eq!(internal_headers(&err), Vec::<String>::new(), "{bad}");
        let err = s3
            .head_object()
            .bucket(bucket)
            .key("k")
            .version_id(bad)
            .send()
            .await
            .expect_err("another version");
        assert_eq!(code_of(&err).1, 400, "{bad}");
        assert_eq!(internal_headers(&err), Vec::<String>::new(), "{bad}");
    }
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("missing")
        .version_id("null")
        .send()
        .await
        .expect_err("no object");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));

    // CopyObject from `?versionId=null`, and from any other version.
    let copied = s3
        .copy_object()
        .bucket(bucket)
        .key("copy")
        .copy_source(format!("{bucket}/k?versionId=null"))
        .send()
        .await
        .expect("CopyObject from versionId=null");
    assert_eq!(copied.copy_source_version_id(), Some("null"));
    let err = s3
        .copy_object()
        .bucket(bucket)
        .key("copy2")
        .copy_source(format!("{bucket}/k?versionId={BAD}"))
        .send()
        .await
        .expect_err("copy of another version");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    assert!(!exists(s3, bucket, "copy2").await);

    // UploadPartCopy likewise.
    let upload = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("mp")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = upload.upload_id().expect("an upload id");
    let part = s3
        .upload_part_copy()
        .bucket(bucket)
        .key("mp")
        .upload_id(upload_id)
        .part_number(1)
        .copy_source(format!("{bucket}/k?versionId=null"))
        .send()
        .await
        .expect("UploadPartCopy from versionId=null");
    assert_eq!(part.copy_source_version_id(), Some("null"));
    let err = s3
        .upload_part_copy()
        .bucket(bucket)
        .key("mp")
        .upload_id(upload_id)
        .part_number(2)
        .copy_source(format!("{bucket}/k?versionId={BAD}"))
        .send()
        .await
        .expect_err("part from another version");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    s3.abort_multipart_upload()
        .bucket(bucket)
        .key("mp")
        .upload_id(upload_id)
        .send()
        .await
        .expect("abort");

    // DeleteObject: another version is refused and deletes nothing; null
    // deletes the object.
    let err = s3
        .delete_object()
        .bucket(bucket)
        .key("k")
        .version_id(BAD)
        .send()
        .await
        .expect_err("delete another version");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    assert!(exists(s3, bucket, "k").await, "nothing was deleted");
    let del = s3
        .delete_object()
        .bucket(bucket)
        .key("k")
        .version_id("null")
        .send()
        .await
        .expect("DeleteObject versionId=null");
    assert_eq!(del.version_id(), Some("null"));
    assert!(!exists(s3, bucket, "k").await, "the object is gone");

    // DeleteObjects: per entry.
    put(s3, bucket, "a", b"a").await;
    put(s3, bucket, "b", b"b").await;
    let out = s3
        .delete_objects()
        .bucket(bucket)
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("a")
                        .version_id("null")
                        .build()
                        .expect("id"),
                )
                .objects(
                    ObjectIdentifier::builder()
                        .key("b")
                        .version_id(BAD)
                        .build()
                        .expect("id"),
                )
                .objects(ObjectIdentifier::builder().key("copy").build().expect("id"))
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("DeleteObjects");
    let deleted: Vec<(Option<&str>, Option<&str>)> = out
        .deleted()
        .iter()
        .map(|d| (d.key(), d.version_id()))
        .collect();
    assert_eq!(
        deleted,
        vec![(Some("a"), Some("null")), (Some("copy"), None)]
    );
    assert_eq!(out.errors().len(), 1, "{:?}", out.errors());
    let e = &out.errors()[0];
    assert_eq!(
        (e.key(), e.version_id(), e.code()),
        (Some("b"), Some(BAD), Some("InvalidArgument"))
    );
    assert!(!exists(s3, bucket, "a").await);
    assert!(
        exists(s3, bucket, "b").await,
        "a refused entry deletes nothing"
    );
}

/// A multipart object of a 5 MiB part and a small one, with CRC32 part
/// checksums (a COMPOSITE object checksum) or none; returns the part
/// checksums and the object's checksum as Complete answered them.
async fn multipart_object(
    s3: &Client,
    bucket: &str,
    key: &str,
    crc32: bool,
) -> (Vec<Option<String>>, Option<String>) {
    let create = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .set_checksum_algorithm(crc32.then_some(ChecksumAlgorithm::Crc32))
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = create.upload_id().expect("an upload id");
    let bodies = [vec![7u8; 5 * 1024 * 1024], b"the last part".to_vec()];
    let mut parts = Vec::new();
    let mut sums = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let number = i32::try_from(i + 1).expect("part number");
        let out = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .set_checksum_algorithm(crc32.then_some(ChecksumAlgorithm::Crc32))
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .expect("UploadPart");
        // (The SDK sends a CRC32 of every body by default; an upload
        // without an algorithm gives the object no checksum all the same.)
        let sum = out.checksum_crc32().map(str::to_owned).filter(|_| crc32);
        assert!(!crc32 || sum.is_some(), "the part's CRC32 is answered");
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .e_tag(out.e_tag().expect("an ETag"))
                .set_checksum_crc32(sum.clone())
                .build(),
        );
        sums.push(sum);
    }
    let done = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");
    (sums, done.checksum_crc32().map(str::to_owned))
}

/// GetObjectAttributes, as S3 answers it.
async fn object_attributes(s3: &Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    let all = [
        ObjectAttributes::Etag,
        ObjectAttributes::Checksum,
        ObjectAttributes::ObjectParts,
        ObjectAttributes::StorageClass,
        ObjectAttributes::ObjectSize,
    ];
    // One piece, with a CRC32.
    let put = s3
        .put_object()
        .bucket(bucket)
        .key("one")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .body(ByteStream::from_static(b"hello attributes"))
        .send()
        .await
        .expect("PutObject");
    let head = s3
        .head_object()
        .bucket(bucket)
        .key("one")
        .send()
        .await
        .expect("HeadObject");
    let attrs = s3
        .get_object_attributes()
        .bucket(bucket)
        .key("one")
        .set_object_attributes(Some(all.to_vec()))
        .send()
        .await
        .expect("GetObjectAttributes");
    let quoted = put.e_tag().expect("an ETag");
    assert_eq!(
        attrs.e_tag(),
        Some(quoted.trim_matches('"')),
        "S3 answers this ETag without quotes"
    );
    assert_eq!(attrs.object_size(), Some(16));
    assert_eq!(attrs.storage_class().map(|c| c.as_str()), Some("STANDARD"));
    assert_eq!(attrs.last_modified(), head.last_modified());
    assert_eq!(attrs.version_id(), None);
    let sum = attrs.checksum().expect("a checksum");
    assert_eq!(sum.checksum_crc32(), put.checksum_crc32());
    assert_eq!(sum.checksum_type(), Some(&ChecksumType::FullObject));
    assert!(attrs.object_parts().is_none(), "one piece has no parts");
    // Only what is asked for.
    let size_only = s3
        .get_object_attributes()
        .bucket(bucket)
        .key("one")
        .object_attributes(ObjectAttributes::ObjectSize)
        .version_id("null")
        .send()
        .await
        .expect("GetObjectAttributes ObjectSize");
    assert_eq!(size_only.object_size(), Some(16));
    assert_eq!(size_only.e_tag(), None);
    assert!(size_only.checksum().is_none());
    assert_eq!(size_only.version_id(), Some("null"));

    // Multipart with CRC32 parts: the composite without "-2", and the parts.
    let (part_sums, object_sum) = multipart_object(s3, bucket, "multi", true).await;
    let object_sum = object_sum.expect("a composite checksum");
    assert!(object_sum.ends_with("-2"), "{object_sum}");
    let attrs = s3
        .get_object_attributes()
        .bucket(bucket)
        .key("multi")
        .set_object_attributes(Some(all.to_vec()))
        .send()
        .await
        .expect("GetObjectAttributes of a multipart object");
    assert!(
        attrs
            .e_tag()
            .is_some_and(|e| e.ends_with("-2") && !e.contains('"'))
    );
    let sum = attrs.checksum().expect("a checksum");
    assert_eq!(
        sum.checksum_crc32(),
        object_sum.strip_suffix("-2"),
        "the composite value without its part count"
    );
    assert_eq!(sum.checksum_type(), Some(&ChecksumType::Composite));
    let parts = attrs.object_parts().expect("parts");
    assert_eq!(parts.total_parts_count(), Some(2));
    assert_eq!(parts.is_truncated(), Some(false));
    let listed: Vec<(Option<i32>, Option<i64>, Option<String>)> = parts
        .parts()
        .iter()
        .map(|p| {
            (
                p.part_number(),
                p.size(),
                p.checksum_crc32().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (Some(1), Some(5 * 1024 * 1024), part_sums[0].clone()),
            (Some(2), Some(13), part_sums[1].clone()),
        ]
    );
    // Paged one part at a time.
    let first = s3
        .get_object_attributes()
        .bucket(bucket)
        .key("multi")
        .object_attributes(ObjectAttributes::ObjectParts)
        .max_parts(1)
        .send()
        .await
        .expect("first part");
    let p = first.object_parts().expect("parts");
    assert_eq!(p.is_truncated(), Some(true));
    assert_eq!(p.max_parts(), Some(1));
    assert_eq!(p.parts().len(), 1);
    assert_eq!(p.next_part_number_marker(), Some("1"));
    let second = s3
        .get_object_attributes()
        .bucket(bucket)
        .key("multi")
        .object_attributes(ObjectAttributes::ObjectParts)
        .max_parts(1)
        .part_number_marker("1")
        .send()
        .await
        .expect("second part");
    let p = second.object_parts().expect("parts");
    assert_eq!(p.is_truncated(), Some(false));
    assert_eq!(
        p.parts()
            .iter()
            .map(|p| p.part_number())
            .collect::<Vec<_>>(),
        vec![Some(2)]
    );

    // Multipart without checksums: the count, and S3's default checksum
    // of the object, a full-object CRC64NVME (no per-part checksums).
    multipart_object(s3, bucket, "plain-multi", false).await;
    let attrs = s3
        .get_object_attributes()
        .bucket(bucket)
        .key("plain-multi")
        .set_object_attributes(Some(all.to_vec()))
        .send()
        .await
        .expect("GetObjectAttributes");
    let whole = [vec![7u8; 5 * 1024 * 1024], b"the last part".to_vec()].concat();
    let checksum = attrs.checksum().expect("the default checksum");
    assert_eq!(
        checksum.checksum_crc64_nvme(),
        Some(
            base64::engine::general_purpose::STANDARD
                .encode(crc64_nvme(&whole).to_be_bytes())
                .as_str()
        )
    );
    assert_eq!(checksum.checksum_type(), Some(&ChecksumType::FullObject));
    assert_eq!(checksum.checksum_crc32(), None);
    let parts = attrs.object_parts().expect("parts");
    assert_eq!(parts.total_parts_count(), Some(2));
    assert!(parts.parts().is_empty(), "no per-part checksums, no parts");
    assert_eq!(attrs.object_size(), Some(5 * 1024 * 1024 + 13));

    // Refusals.
    let err = s3
        .get_object_attributes()
        .bucket(bucket)
        .key("missing")
        .object_attributes(ObjectAttributes::Etag)
        .send()
        .await
        .expect_err("no object");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));
    let err = s3
        .get_object_attributes()
        .bucket(bucket)
        .key("one")
        .object_attributes(ObjectAttributes::Etag)
        .version_id("v1")
        .send()
        .await
        .expect_err("another version");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    let err = s3
        .get_object_attributes()
        .bucket(bucket)
        .key("one")
        .object_attributes(ObjectAttributes::from("Colour"))
        .send()
        .await
        .expect_err("an unknown attribute");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
}

fn assert_owner_full_control(
    owner: Option<&aws_sdk_s3::types::Owner>,
    grants: &[Grant],
    owner_id: &str,
) {
    assert_eq!(owner.and_then(|o| o.id()), Some(owner_id));
    assert_eq!(grants.len(), 1, "{grants:?}");
    let g = &grants[0];
    assert_eq!(g.permission(), Some(&Permission::FullControl));
    let grantee = g.grantee().expect("a grantee");
    assert_eq!(grantee.r#type(), &Type::CanonicalUser);
    assert_eq!(grantee.id(), Some(owner_id));
}

fn controls_of(o: ObjectOwnership) -> OwnershipControls {
    OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder()
                .object_ownership(o)
                .build()
                .expect("rule"),
        )
        .build()
        .expect("controls")
}

fn owner_only_policy(owner_id: &str) -> AccessControlPolicy {
    AccessControlPolicy::builder()
        .owner(aws_sdk_s3::types::Owner::builder().id(owner_id).build())
        .grants(
            Grant::builder()
                .grantee(
                    Grantee::builder()
                        .r#type(Type::CanonicalUser)
                        .id(owner_id)
                        .build()
                        .expect("grantee"),
                )
                .permission(Permission::FullControl)
                .build(),
        )
        .build()
}

fn public_read_policy(owner_id: &str) -> AccessControlPolicy {
    let mut p = owner_only_policy(owner_id);
    p.grants.get_or_insert_with(Vec::new).push(
        Grant::builder()
            .grantee(
                Grantee::builder()
                    .r#type(Type::Group)
                    .uri("http://acs.amazonaws.com/groups/global/AllUsers")
                    .build()
                    .expect("grantee"),
            )
            .permission(Permission::Read)
            .build(),
    );
    p
}

/// ACLs read as the owner's full control; writes that would change that
/// are refused, before anything is written.
async fn acls(s3: &Client, bucket: &str) -> String {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    put(s3, bucket, "obj", b"x").await;
    // The owner id of listings (fetch-owner).
    let owner_id = s3
        .list_objects_v2()
        .bucket(bucket)
        .fetch_owner(true)
        .send()
        .await
        .expect("list")
        .contents()[0]
        .owner()
        .and_then(|o| o.id())
        .expect("an owner id")
        .to_owned();

    let acl = s3
        .get_bucket_acl()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketAcl");
    assert_owner_full_control(acl.owner(), acl.grants(), &owner_id);
    let acl = s3
        .get_object_acl()
        .bucket(bucket)
        .key("obj")
        .send()
        .await
        .expect("GetObjectAcl");
    assert_owner_full_control(acl.owner(), acl.grants(), &owner_id);
    let acl = s3
        .get_object_acl()
        .bucket(bucket)
        .key("obj")
        .version_id("null")
        .send()
        .await
        .expect("GetObjectAcl versionId=null");
    assert_owner_full_control(acl.owner(), acl.grants(), &owner_id);
    let err = s3
        .get_object_acl()
        .bucket(bucket)
        .key("obj")
        .version_id("v2")
        .send()
        .await
        .expect_err("another version");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    let err = s3
        .get_object_acl()
        .bucket(bucket)
        .key("missing")
        .send()
        .await
        .expect_err("no object");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));
    let err = s3
        .get_bucket_acl()
        .bucket("no-such-bucket-acl")
        .send()
        .await
        .expect_err("no bucket");
    assert_eq!(code_of(&err), ("NoSuchBucket".into(), 404));

    // PutBucketAcl / PutObjectAcl: the owner's full control is accepted
    // and changes nothing; anything more is refused.
    s3.put_bucket_acl()
        .bucket(bucket)
        .acl(BucketCannedAcl::Private)
        .send()
        .await
        .expect("PutBucketAcl private");
    s3.put_bucket_acl()
        .bucket(bucket)
        .access_control_policy(owner_only_policy(&owner_id))
        .send()
        .await
        .expect("PutBucketAcl with the owner's full control");
    s3.put_object_acl()
        .bucket(bucket)
        .key("obj")
        .acl(ObjectCannedAcl::BucketOwnerFullControl)
        .send()
        .await
        .expect("PutObjectAcl bucket-owner-full-control");
    s3.put_object_acl()
        .bucket(bucket)
        .key("obj")
        .access_control_policy(owner_only_policy(&owner_id))
        .send()
        .await
        .expect("PutObjectAcl with the owner's full control");
    let not_supported = ("AccessControlListNotSupported".to_owned(), 400);
    for canned in [
        BucketCannedAcl::PublicRead,
        BucketCannedAcl::AuthenticatedRead,
    ] {
        let err = s3
            .put_bucket_acl()
            .bucket(bucket)
            .acl(canned.clone())
            .send()
            .await
            .expect_err("a public bucket ACL");
        assert_eq!(code_of(&err), not_supported, "{canned:?}");
        assert_eq!(
            aws_sdk_s3::error::ProvideErrorMetadata::message(&err),
            Some("The bucket does not allow ACLs")
        );
    }
    let err = s3
        .put_bucket_acl()
        .bucket(bucket)
        .grant_read("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")
        .send()
        .await
        .expect_err("a grant");
    assert_eq!(code_of(&err), not_supported);
    let err = s3
        .put_bucket_acl()
        .bucket(bucket)
        .access_control_policy(public_read_policy(&owner_id))
        .send()
        .await
        .expect_err("a public document");
    assert_eq!(code_of(&err), not_supported);
    let err = s3
        .put_object_acl()
        .bucket(bucket)
        .key("obj")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .expect_err("a public object ACL");
    assert_eq!(code_of(&err), not_supported);
    let err = s3
        .put_object_acl()
        .bucket(bucket)
        .key("obj")
        .access_control_policy(public_read_policy(&owner_id))
        .send()
        .await
        .expect_err("a public document");
    assert_eq!(code_of(&err), not_supported);
    let err = s3
        .put_object_acl()
        .bucket(bucket)
        .key("missing")
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .expect_err("no object");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));
    // Still the owner's full control.
    let acl = s3
        .get_object_acl()
        .bucket(bucket)
        .key("obj")
        .send()
        .await
        .expect("GetObjectAcl");
    assert_owner_full_control(acl.owner(), acl.grants(), &owner_id);

    // The ACL headers of writes.
    for canned in [
        ObjectCannedAcl::Private,
        ObjectCannedAcl::BucketOwnerFullControl,
    ] {
        s3.put_object()
            .bucket(bucket)
            .key("with-acl")
            .acl(canned.clone())
            .body(ByteStream::from_static(b"ok"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject with {canned:?}: {e:?}"));
    }
    s3.put_object()
        .bucket(bucket)
        .key("with-grant")
        .grant_full_control(format!("id=\"{owner_id}\""))
        .body(ByteStream::from_static(b"ok"))
        .send()
        .await
        .expect("PutObject granting the owner full control");
    let err = s3
        .put_object()
        .bucket(bucket)
        .key("public")
        .acl(ObjectCannedAcl::PublicRead)
        .body(ByteStream::from_static(b"no"))
        .send()
        .await
        .expect_err("PutObject public-read");
    assert_eq!(code_of(&err), not_supported);
    let err = s3
        .put_object()
        .bucket(bucket)
        .key("public")
        .grant_read("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")
        .body(ByteStream::from_static(b"no"))
        .send()
        .await
        .expect_err("PutObject with a grant");
    assert_eq!(code_of(&err), not_supported);
    // A canned ACL beside a grant header is S3's 400, even when both
    // name the owner's full control alone (it was a success).
    let both = ("InvalidRequest".to_owned(), 400);
    let owner_grant = format!("id=\"{owner_id}\"");
    let err = s3
        .put_object()
        .bucket(bucket)
        .key("public")
        .acl(ObjectCannedAcl::Private)
        .grant_full_control(&owner_grant)
        .body(ByteStream::from_static(b"no"))
        .send()
        .await
        .expect_err("PutObject with a canned ACL and a grant");
    assert_eq!(code_of(&err), both);
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::message(&err),
        Some("Specifying both Canned ACLs and Header Grants is not allowed")
    );
    let err = s3
        .put_bucket_acl()
        .bucket(bucket)
        .acl(BucketCannedAcl::Private)
        .grant_full_control(&owner_grant)
        .send()
        .await
        .expect_err("PutBucketAcl with a canned ACL and a grant");
    assert_eq!(code_of(&err), both);
    let err = s3
        .put_object_acl()
        .bucket(bucket)
        .key("obj")
        .acl(ObjectCannedAcl::Private)
        .grant_full_control(&owner_grant)
        .send()
        .await
        .expect_err("PutObjectAcl with a canned ACL and a grant");
    assert_eq!(code_of(&err), both);
    let err = s3
        .create_bucket()
        .bucket(format!("{bucket}-both"))
        .acl(BucketCannedAcl::Private)
        .grant_full_control(&owner_grant)
        .send()
        .await
        .expect_err("CreateBucket with a canned ACL and a grant");
    assert_eq!(code_of(&err), both);
    assert!(
        s3.head_bucket()
            .bucket(format!("{bucket}-both"))
            .send()
            .await
            .is_err(),
        "a refused CreateBucket creates nothing"
    );
    assert!(
        !exists(s3, bucket, "public").await,
        "a refused PUT writes nothing"
    );
    let err = s3
        .copy_object()
        .bucket(bucket)
        .key("public")
        .copy_source(format!("{bucket}/obj"))
        .acl(ObjectCannedAcl::PublicReadWrite)
        .send()
        .await
        .expect_err("CopyObject public-read-write");
    assert_eq!(code_of(&err), not_supported);
    assert!(
        !exists(s3, bucket, "public").await,
        "a refused copy writes nothing"
    );
    s3.copy_object()
        .bucket(bucket)
        .key("copied-private")
        .copy_source(format!("{bucket}/obj"))
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .expect("CopyObject private");
    let err = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("public")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .expect_err("CreateMultipartUpload public-read");
    assert_eq!(code_of(&err), not_supported);
    let up = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("mp")
        .acl(ObjectCannedAcl::BucketOwnerFullControl)
        .send()
        .await
        .expect("CreateMultipartUpload bucket-owner-full-control");
    s3.abort_multipart_upload()
        .bucket(bucket)
        .key("mp")
        .upload_id(up.upload_id().expect("id"))
        .send()
        .await
        .expect("abort");
    let err = s3
        .put_object()
        .bucket("no-such-bucket-acl")
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .body(ByteStream::from_static(b"no"))
        .send()
        .await
        .expect_err("no bucket");
    assert_eq!(
        code_of(&err),
        ("NoSuchBucket".into(), 404),
        "the bucket first"
    );

    // Object Ownership: BucketOwnerEnforced, and nothing else.
    let controls = s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketOwnershipControls");
    let rules: Vec<_> = controls
        .ownership_controls()
        .map(|c| {
            c.rules()
                .iter()
                .map(|r| r.object_ownership().clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(rules, vec![ObjectOwnership::BucketOwnerEnforced]);
    s3.put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(controls_of(ObjectOwnership::BucketOwnerEnforced))
        .send()
        .await
        .expect("PutBucketOwnershipControls BucketOwnerEnforced");
    for o in [
        ObjectOwnership::ObjectWriter,
        ObjectOwnership::BucketOwnerPreferred,
    ] {
        let err = s3
            .put_bucket_ownership_controls()
            .bucket(bucket)
            .ownership_controls(controls_of(o.clone()))
            .send()
            .await
            .expect_err("ACLs cannot be enabled");
        assert_eq!(code_of(&err), ("NotImplemented".into(), 501), "{o:?}");
    }
    let err = s3
        .delete_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await
        .expect_err("ACLs cannot be enabled");
    assert_eq!(code_of(&err), ("NotImplemented".into(), 501));
    let err = s3
        .get_bucket_ownership_controls()
        .bucket("no-such-bucket-acl")
        .send()
        .await
        .expect_err("no bucket");
    assert_eq!(code_of(&err), ("NoSuchBucket".into(), 404));

    // CreateBucket: private is fine, anything more is refused.
    s3.create_bucket()
        .bucket(format!("{bucket}-private"))
        .acl(BucketCannedAcl::Private)
        .send()
        .await
        .expect("CreateBucket private");
    let err = s3
        .create_bucket()
        .bucket(format!("{bucket}-public"))
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect_err("CreateBucket public-read");
    assert_eq!(
        code_of(&err),
        ("InvalidBucketAclWithObjectOwnership".into(), 400)
    );
    let err = s3
        .head_bucket()
        .bucket(format!("{bucket}-public"))
        .send()
        .await
        .expect_err("not created");
    assert_eq!(code_of(&err).1, 404);
    let err = s3
        .create_bucket()
        .bucket(format!("{bucket}-writer"))
        .object_ownership(ObjectOwnership::ObjectWriter)
        .send()
        .await
        .expect_err("ACLs cannot be enabled");
    assert_eq!(code_of(&err), ("NotImplemented".into(), 501));
    s3.create_bucket()
        .bucket(format!("{bucket}-enforced"))
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .send()
        .await
        .expect("CreateBucket BucketOwnerEnforced");
    owner_id
}

/// Another owner gets `AccessDenied` from every one of these operations.
async fn another_owner(other: &Client, bucket: &str, owner_id: &str) {
    let denied = ("AccessDenied".to_owned(), 403);
    macro_rules! denied {
        ($what:literal, $call:expr) => {
            let err = $call.send().await.expect_err($what);
            assert_eq!(code_of(&err), denied, $what);
        };
    }
    denied!(
        "GetBucketVersioning",
        other.get_bucket_versioning().bucket(bucket)
    );
    denied!(
        "PutBucketVersioning",
        other
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build()
            )
    );
    denied!(
        "ListObjectVersions",
        other.list_object_versions().bucket(bucket)
    );
    denied!("GetBucketAcl", other.get_bucket_acl().bucket(bucket));
    denied!(
        "GetBucketOwnershipControls",
        other.get_bucket_ownership_controls().bucket(bucket)
    );
    denied!(
        "PutBucketOwnershipControls",
        other
            .put_bucket_ownership_controls()
            .bucket(bucket)
            .ownership_controls(controls_of(ObjectOwnership::BucketOwnerEnforced))
    );
    denied!(
        "DeleteBucketOwnershipControls",
        other.delete_bucket_ownership_controls().bucket(bucket)
    );
    denied!(
        "PutBucketAcl",
        other
            .put_bucket_acl()
            .bucket(bucket)
            .acl(BucketCannedAcl::Private)
    );
    denied!(
        "PutBucketAcl public",
        other
            .put_bucket_acl()
            .bucket(bucket)
            .acl(BucketCannedAcl::PublicRead)
    );
    denied!(
        "GetObjectAcl",
        other.get_object_acl().bucket(bucket).key("obj")
    );
    denied!(
        "PutObjectAcl",
        other
            .put_object_acl()
            .bucket(bucket)
            .key("obj")
            .access_control_policy(owner_only_policy(owner_id))
    );
    denied!(
        "GetObject versionId=null",
        other
            .get_object()
            .bucket(bucket)
            .key("obj")
            .version_id("null")
    );
    denied!(
        "DeleteObject versionId=null",
        other
            .delete_object()
            .bucket(bucket)
            .key("obj")
            .version_id("null")
    );
    denied!(
        "PutObject public-read",
        other
            .put_object()
            .bucket(bucket)
            .key("x")
            .acl(ObjectCannedAcl::PublicRead)
            .body(ByteStream::from_static(b"x"))
    );
    denied!(
        "CopyObject from versionId=null",
        other
            .copy_object()
            .bucket(bucket)
            .key("y")
            .copy_source(format!("{bucket}/obj?versionId=null"))
    );
}

async fn versions_and_acls(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice) = server.user("alice-versions").await;
    let (_, bob) = server.user("bob-versions").await;
    let a = s3_client(&server, &alice);
    let b = s3_client(&server, &bob);
    list_versions(&a, "versions-listing").await;
    bucket_versioning(&a, "versions-listing").await;
    version_ids(&a, "versions-ids").await;
    object_attributes(&a, "versions-attributes").await;
    let owner_id = acls(&a, "versions-acls").await;
    another_owner(&b, "versions-acls", &owner_id).await;
    // Alice's object is untouched.
    assert!(exists(&a, "versions-acls", "obj").await);
}

#[tokio::test]
async fn versions_and_acls_sqlite() {
    versions_and_acls(Backend::Sqlite).await;
}

#[tokio::test]
async fn versions_and_acls_postgres() {
    versions_and_acls(Backend::Postgres).await;
}

// ---------------------------------------------------------------------
// Versioned buckets.

async fn set_versioning(
    s3: &Client,
    bucket: &str,
    status: aws_sdk_s3::types::BucketVersioningStatus,
) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(status)
                .build(),
        )
        .send()
        .await
        .expect("PutBucketVersioning");
}

/// PutObject; returns the version id answered.
async fn put_version(s3: &Client, bucket: &str, key: &str, body: &[u8]) -> Option<String> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {bucket}/{key}: {e:?}"))
        .version_id()
        .map(str::to_owned)
}

/// The body of `key` (its `version` when given) and the version id the
/// GET answered.
async fn read_version(
    s3: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> (Vec<u8>, Option<String>) {
    let got = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObject {key} {version:?}: {e:?}"));
    let v = got.version_id().map(str::to_owned);
    (got.body.collect().await.expect("body").to_vec(), v)
}

/// One entry of a versions listing: key, version id, delete marker?, latest?
type Listed = (String, String, bool, bool);

/// Every version and delete marker under `prefix`, paged by `max_keys`,
/// merged into the listing order (by key, newest first: a page lists its
/// versions and its delete markers apart, so they are merged by the
/// order the whole listing gives, which each page's entries follow).
async fn listed_versions(s3: &Client, bucket: &str, prefix: &str, max_keys: i32) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    for page_no in 0.. {
        assert!(page_no < 10_000, "the listing ends");
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(max_keys)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .expect("ListObjectVersions");
        let n = page.versions().len() + page.delete_markers().len();
        assert!(n <= max_keys as usize, "page of {n} > {max_keys}");
        let mut entries: Vec<Listed> = page
            .versions()
            .iter()
            .map(|v| {
                (
                    v.key().expect("key").to_owned(),
                    v.version_id().expect("version id").to_owned(),
                    false,
                    v.is_latest() == Some(true),
                )
            })
            .chain(page.delete_markers().iter().map(|d| {
                (
                    d.key().expect("key").to_owned(),
                    d.version_id().expect("version id").to_owned(),
                    true,
                    d.is_latest() == Some(true),
                )
            }))
            .collect();
        // Within a page: keys ascend; a key's latest comes first. Markers
        // and versions of one key are ordered by the server; a page here
        // never mixes them for one key except where the test says so.
        entries.sort_by(|a, b| a.0.cmp(&b.0).then(b.3.cmp(&a.3)));
        out.extend(entries);
        if page.is_truncated() != Some(true) {
            assert_eq!(page.next_key_marker(), None, "last page: no next marker");
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
        assert!(
            key_marker.is_some(),
            "a truncated page names where to go on"
        );
    }
    out
}

/// The blob files (and composite directories) in the data directory.
fn blob_count(server: &TestServer) -> usize {
    let root = server.data_dir().join("data").join("objects");
    let mut n = 0;
    for dir in std::fs::read_dir(&root).expect("objects dir").flatten() {
        if dir.file_name() == "tmp" || !dir.path().is_dir() {
            continue;
        }
        n += std::fs::read_dir(dir.path()).expect("fan-out dir").count();
    }
    n
}

/// Three versions, reads by id, a delete marker, permanent deletes, copies
/// and multipart completions by version, DeleteObjects with versions, and
/// the refusals of bad version ids; returns the version ids of `k` left.
async fn versioned_basics(s3: &Client, bucket: &str) {
    use aws_sdk_s3::types::BucketVersioningStatus;
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    // Written before versioning: the `null` version.
    assert_eq!(put_version(s3, bucket, "k", b"zero").await, None);
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    let v = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketVersioning");
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));

    let mut ids = Vec::new();
    for body in [b"one".as_slice(), b"two", b"three"] {
        let id = put_version(s3, bucket, "k", body)
            .await
            .expect("a versioned PUT answers its version id");
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "opaque, URL-safe: {id}"
        );
        ids.push(id);
    }
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 3, "fresh ids");
    let (v1, v2, v3) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    assert_eq!(
        read_version(s3, bucket, "k", None).await,
        (b"three".to_vec(), Some(v3.clone()))
    );
    for (id, body) in [(&v1, b"one".as_slice()), (&v2, b"two"), (&v3, b"three")] {
        assert_eq!(
            read_version(s3, bucket, "k", Some(id)).await,
            (body.to_vec(), Some(id.clone()))
        );
    }
    assert_eq!(
        read_version(s3, bucket, "k", Some("null")).await.0,
        b"zero".to_vec(),
        "the version written before versioning is kept as `null`"
    );
    let head = s3
        .head_object()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .expect("HeadObject by version");
    assert_eq!(head.content_length(), Some(3));
    assert_eq!(head.version_id(), Some(v1.as_str()));
    let listed = listed_versions(s3, bucket, "k", 1000).await;
    assert_eq!(
        listed,
        vec![
            ("k".into(), v3.clone(), false, true),
            ("k".into(), v2.clone(), false, false),
            ("k".into(), v1.clone(), false, false),
            ("k".into(), "null".into(), false, false),
        ],
        "newest first, the current one latest"
    );

    // Bad version ids.
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .version_id("not-a-version")
        .send()
        .await
        .expect_err("malformed");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::message(&err),
        Some("Invalid version id specified")
    );
    let unknown = "0123456789abcdef0123456789abcdef";
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .version_id(unknown)
        .send()
        .await
        .expect_err("unknown");
    assert_eq!(code_of(&err), ("NoSuchVersion".into(), 404));
    let xml = error_body(&err);
    assert!(
        xml.contains(&format!(
            "<Message>The specified version does not exist.</Message><Key>k</Key><VersionId>{unknown}</VersionId>"
        )),
        "S3's sentence, and the key and version looked up: {xml}"
    );
    // A copy names its source's.
    let err = s3
        .copy_object()
        .bucket(bucket)
        .key("elsewhere")
        .copy_source(format!("{bucket}/k?versionId={unknown}"))
        .send()
        .await
        .expect_err("unknown source version");
    assert_eq!(code_of(&err), ("NoSuchVersion".into(), 404));
    let xml = error_body(&err);
    assert!(
        xml.contains(&format!("<Key>k</Key><VersionId>{unknown}</VersionId>")),
        "the source's key and version: {xml}"
    );

    // A delete marker hides the key; the versions stay.
    let del = s3
        .delete_object()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .expect("DeleteObject");
    assert_eq!(del.delete_marker(), Some(true));
    let marker = del
        .version_id()
        .expect("the marker's version id")
        .to_owned();
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .expect_err("hidden");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));
    let headers = err.raw_response().expect("response").headers();
    assert_eq!(headers.get("x-amz-delete-marker"), Some("true"));
    assert_eq!(headers.get("x-amz-version-id"), Some(marker.as_str()));
    assert!(!exists(s3, bucket, "k").await, "HEAD too");
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .expect_err("a delete marker has no body");
    assert_eq!(code_of(&err), ("MethodNotAllowed".into(), 405));
    // The answer says when the delete happened, and the one method the
    // marker's version allows, as S3 does.
    let headers = err.raw_response().expect("response").headers();
    assert_eq!(headers.get("x-amz-delete-marker"), Some("true"));
    assert_eq!(headers.get("allow"), Some("DELETE"));
    let when = headers.get("last-modified").expect("Last-Modified");
    let when = aws_sdk_s3::primitives::DateTime::from_str(
        when,
        aws_sdk_s3::primitives::DateTimeFormat::HttpDate,
    )
    .expect("an HTTP date");
    let listed = s3
        .list_object_versions()
        .bucket(bucket)
        .prefix("k")
        .send()
        .await
        .expect("ListObjectVersions");
    let deleted = listed
        .delete_markers()
        .iter()
        .find(|m| m.version_id() == Some(marker.as_str()))
        .and_then(|m| m.last_modified())
        .expect("the marker is listed");
    assert_eq!(when.secs(), deleted.secs());
    // A copy may not name a delete marker as its source (S3: 400
    // InvalidRequest); copying the key whose latest is one is NoSuchKey.
    let err = s3
        .copy_object()
        .bucket(bucket)
        .key("copied")
        .copy_source(format!("{bucket}/k?versionId={marker}"))
        .send()
        .await
        .expect_err("a delete marker is no copy source");
    assert_eq!(code_of(&err), ("InvalidRequest".into(), 400));
    let err = s3
        .copy_object()
        .bucket(bucket)
        .key("copied")
        .copy_source(format!("{bucket}/k"))
        .send()
        .await
        .expect_err("the key reads as deleted");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));
    let upload = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("copied")
        .send()
        .await
        .expect("CreateMultipartUpload")
        .upload_id()
        .expect("an id")
        .to_owned();
    let err = s3
        .upload_part_copy()
        .bucket(bucket)
        .key("copied")
        .upload_id(&upload)
        .part_number(1)
        .copy_source(format!("{bucket}/k?versionId={marker}"))
        .send()
        .await
        .expect_err("nor a part's source");
    assert_eq!(code_of(&err), ("InvalidRequest".into(), 400));
    s3.abort_multipart_upload()
        .bucket(bucket)
        .key("copied")
        .upload_id(&upload)
        .send()
        .await
        .expect("AbortMultipartUpload");
    assert_eq!(read_version(s3, bucket, "k", Some(&v3)).await.0, b"three");
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("ListObjectsV2");
    assert!(listed.contents().is_empty(), "a deleted key is not listed");
    let listed = listed_versions(s3, bucket, "k", 1000).await;
    assert_eq!(listed.len(), 5);
    assert!(
        listed
            .iter()
            .any(|e| *e == ("k".to_string(), marker.clone(), true, true)),
        "the marker is the latest: {listed:?}"
    );
    assert_eq!(listed.iter().filter(|e| e.3).count(), 1, "one latest");
    // Removing the marker brings v3 back.
    let del = s3
        .delete_object()
        .bucket(bucket)
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .expect("DeleteObject of the marker");
    assert_eq!(del.delete_marker(), Some(true));
    assert_eq!(del.version_id(), Some(marker.as_str()));
    assert_eq!(read_version(s3, bucket, "k", None).await.0, b"three");
    // Removing the latest version for good promotes the previous one.
    let del = s3
        .delete_object()
        .bucket(bucket)
        .key("k")
        .version_id(&v3)
        .send()
        .await
        .expect("DeleteObject of v3");
    assert_eq!(del.version_id(), Some(v3.as_str()));
    assert_eq!(del.delete_marker(), None);
    assert_eq!(
        read_version(s3, bucket, "k", None).await,
        (b"two".to_vec(), Some(v2.clone()))
    );
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .version_id(&v3)
        .send()
        .await
        .expect_err("gone for good");
    assert_eq!(code_of(&err), ("NoSuchVersion".into(), 404));

    // CopyObject from a version.
    let copied = s3
        .copy_object()
        .bucket(bucket)
        .key("copy")
        .copy_source(format!("{bucket}/k?versionId={v1}"))
        .send()
        .await
        .expect("CopyObject from a version");
    assert_eq!(copied.copy_source_version_id(), Some(v1.as_str()));
    let copy_version = copied
        .version_id()
        .expect("the copy is a version")
        .to_owned();
    assert_eq!(
        read_version(s3, bucket, "copy", None).await,
        (b"one".to_vec(), Some(copy_version))
    );

    // UploadPartCopy from a version.
    let upload = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("part-copy")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = upload.upload_id().expect("upload id");
    let part = s3
        .upload_part_copy()
        .bucket(bucket)
        .key("part-copy")
        .upload_id(upload_id)
        .part_number(1)
        .copy_source(format!("{bucket}/k?versionId={v1}"))
        .send()
        .await
        .expect("UploadPartCopy from a version");
    assert_eq!(part.copy_source_version_id(), Some(v1.as_str()));
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key("part-copy")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(
                            part.copy_part_result()
                                .and_then(|r| r.e_tag())
                                .expect("etag"),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CompleteMultipartUpload");
    assert_eq!(
        read_version(s3, bucket, "part-copy", None).await.0,
        b"one",
        "the noncurrent version's bytes"
    );

    // Multipart completion makes versions too.
    let mut mp_versions = Vec::new();
    for body in [b"first upload".as_slice(), b"second upload"] {
        let upload = s3
            .create_multipart_upload()
            .bucket(bucket)
            .key("mp")
            .send()
            .await
            .expect("CreateMultipartUpload");
        let upload_id = upload.upload_id().expect("upload id");
        let done = complete_with_one_part(s3, bucket, "mp", upload_id, body).await;
        mp_versions.push(done.version_id().expect("a version id").to_owned());
    }
    assert_ne!(mp_versions[0], mp_versions[1]);
    assert_eq!(
        read_version(s3, bucket, "mp", Some(&mp_versions[0]))
            .await
            .0,
        b"first upload"
    );
    assert_eq!(
        read_version(s3, bucket, "mp", None).await.0,
        b"second upload"
    );

    // DeleteObjects: a version for good, a key (a marker), a bad id.
    let out = s3
        .delete_objects()
        .bucket(bucket)
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("k")
                        .version_id(&v1)
                        .build()
                        .expect("id"),
                )
                .objects(ObjectIdentifier::builder().key("mp").build().expect("id"))
                .objects(
                    ObjectIdentifier::builder()
                        .key("copy")
                        .version_id("bad!")
                        .build()
                        .expect("id"),
                )
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("DeleteObjects");
    let deleted = out.deleted();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    assert_eq!(deleted[0].key(), Some("k"));
    assert_eq!(deleted[0].version_id(), Some(v1.as_str()));
    assert_eq!(deleted[0].delete_marker(), None);
    assert_eq!(deleted[1].key(), Some("mp"));
    assert_eq!(deleted[1].delete_marker(), Some(true));
    let mp_marker = deleted[1]
        .delete_marker_version_id()
        .expect("the marker's version id");
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].code(), Some("InvalidArgument"));
    assert!(!exists(s3, bucket, "mp").await);
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .expect_err("v1 gone");
    assert_eq!(code_of(&err), ("NoSuchVersion".into(), 404));
    let listed = listed_versions(s3, bucket, "mp", 1000).await;
    assert_eq!(listed.len(), 3, "two uploads and a marker: {listed:?}");
    assert!(listed.contains(&("mp".into(), mp_marker.to_owned(), true, true)));

    // A bucket with versions or markers is not empty.
    let err = s3
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect_err("versions left");
    assert_eq!(code_of(&err), ("BucketNotEmpty".into(), 409));
    assert!(
        error_body(&err).contains("delete every version and delete marker in it"),
        "the message says where to look: {}",
        error_body(&err)
    );
}

/// ListObjectVersions over a few hundred versions of a few keys, paged in
/// several sizes: every version once, in order, the latest of each key
/// first and alone marked latest.
async fn versions_paged(s3: &Client, bucket: &str) -> usize {
    use aws_sdk_s3::types::BucketVersioningStatus;
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    let mut expected: Vec<Listed> = Vec::new();
    for (key, count) in [("p/a", 130), ("p/b", 100), ("p/c", 60)] {
        let mut ids = Vec::new();
        for i in 0..count {
            let body = format!("{key} #{i}");
            ids.push(
                put_version(s3, bucket, key, body.as_bytes())
                    .await
                    .expect("version id"),
            );
        }
        for (i, id) in ids.iter().enumerate().rev() {
            expected.push((key.to_owned(), id.clone(), false, i + 1 == ids.len()));
        }
    }
    // A delete marker on p/c, the latest.
    let del = s3
        .delete_object()
        .bucket(bucket)
        .key("p/c")
        .send()
        .await
        .expect("DeleteObject");
    let marker = del.version_id().expect("marker id").to_owned();
    let at = expected
        .iter()
        .position(|e| e.0 == "p/c")
        .expect("p/c listed");
    expected[at].3 = false;
    expected.insert(at, ("p/c".into(), marker, true, true));
    for max_keys in [1000, 97, 13, 1] {
        let listed = listed_versions(s3, bucket, "p/", max_keys).await;
        assert_eq!(listed.len(), expected.len(), "max-keys {max_keys}");
        assert!(
            listed == expected,
            "max-keys {max_keys}: the listing differs"
        );
    }
    // The first page of 13 ends on a version, named by both markers.
    let page = s3
        .list_object_versions()
        .bucket(bucket)
        .max_keys(13)
        .send()
        .await
        .expect("ListObjectVersions");
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.next_key_marker(), Some("p/a"));
    assert_eq!(page.next_version_id_marker(), Some(expected[12].1.as_str()));
    // With a delimiter, the keys roll up into one prefix.
    let page = s3
        .list_object_versions()
        .bucket(bucket)
        .delimiter("/")
        .send()
        .await
        .expect("ListObjectVersions with a delimiter");
    let prefixes: Vec<_> = page
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["p/"]);
    assert!(page.versions().is_empty());
    // encoding-type=url encodes the keys.
    put_version(s3, bucket, "sp ace", b"x").await;
    let page = s3
        .list_object_versions()
        .bucket(bucket)
        .prefix("sp")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("ListObjectVersions url");
    assert_eq!(page.versions()[0].key(), Some("sp%20ace"));
    expected.len() + 1
}

/// Suspended: writes replace the `null` version, a delete is a `null`
/// marker, the versions kept before stay.
async fn suspended(s3: &Client, bucket: &str) {
    use aws_sdk_s3::types::BucketVersioningStatus;
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    let kept = put_version(s3, bucket, "s", b"kept").await.expect("id");
    set_versioning(s3, bucket, BucketVersioningStatus::Suspended).await;
    let v = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketVersioning");
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Suspended));
    // A suspended bucket's writes are its `null` version, named `null`.
    for body in [b"null one".as_slice(), b"null two"] {
        assert_eq!(
            put_version(s3, bucket, "s", body).await.as_deref(),
            Some("null")
        );
    }
    assert_eq!(
        read_version(s3, bucket, "s", None).await,
        (b"null two".to_vec(), Some("null".into()))
    );
    assert_eq!(read_version(s3, bucket, "s", Some(&kept)).await.0, b"kept");
    let listed = listed_versions(s3, bucket, "s", 1000).await;
    assert_eq!(
        listed,
        vec![
            ("s".into(), "null".into(), false, true),
            ("s".into(), kept.clone(), false, false),
        ],
        "one null version, replaced in place"
    );
    let del = s3
        .delete_object()
        .bucket(bucket)
        .key("s")
        .send()
        .await
        .expect("DeleteObject");
    assert_eq!(del.delete_marker(), Some(true));
    assert_eq!(del.version_id(), Some("null"));
    let listed = listed_versions(s3, bucket, "s", 1000).await;
    assert_eq!(
        listed,
        vec![
            ("s".into(), "null".into(), true, true),
            ("s".into(), kept.clone(), false, false),
        ],
        "the null marker replaced the null version"
    );
    // Enabled again: a new version on top, the old ones stay.
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    let again = put_version(s3, bucket, "s", b"again").await.expect("id");
    assert_eq!(listed_versions(s3, bucket, "s", 1000).await.len(), 3);
    assert_eq!(read_version(s3, bucket, "s", None).await.0, b"again");
    assert_ne!(again, kept);
}

/// Every answer about a `null` version of a bucket that was ever versioned
/// names it `null`, as S3 does (a bucket never versioned names no version):
/// writes (PutObject, CopyObject and its source, UploadPartCopy's source,
/// CompleteMultipartUpload), reads (GetObject, HeadObject,
/// GetObjectAttributes, GetObjectTagging), tag writes, and deletes in a
/// Suspended bucket (DeleteObject, DeleteObjects, the 404 of the key).
async fn null_version_answers(s3: &Client, bucket: &str) {
    use aws_sdk_s3::types::{BucketVersioningStatus, Tag, Tagging};
    let null = Some("null".to_owned());
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    let tagging = || {
        Tagging::builder()
            .tag_set(Tag::builder().key("t").value("1").build().expect("tag"))
            .build()
            .expect("tagging")
    };
    /// The version ids of the answers about `key` that read or tag it
    /// without naming a version: GET, HEAD, GetObjectAttributes,
    /// GetObjectTagging, PutObjectTagging, DeleteObjectTagging.
    async fn answers(
        s3: &Client,
        bucket: &str,
        key: &str,
        tagging: aws_sdk_s3::types::Tagging,
    ) -> Vec<Option<String>> {
        let got = s3.get_object().bucket(bucket).key(key).send().await;
        let head = s3.head_object().bucket(bucket).key(key).send().await;
        let attrs = s3
            .get_object_attributes()
            .bucket(bucket)
            .key(key)
            .object_attributes(ObjectAttributes::ObjectSize)
            .send()
            .await;
        let tags = s3.get_object_tagging().bucket(bucket).key(key).send().await;
        let put_tags = s3
            .put_object_tagging()
            .bucket(bucket)
            .key(key)
            .tagging(tagging)
            .send()
            .await;
        let del_tags = s3
            .delete_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
        vec![
            got.expect("GetObject").version_id().map(str::to_owned),
            head.expect("HeadObject").version_id().map(str::to_owned),
            attrs
                .expect("GetObjectAttributes")
                .version_id()
                .map(str::to_owned),
            tags.expect("GetObjectTagging")
                .version_id()
                .map(str::to_owned),
            put_tags
                .expect("PutObjectTagging")
                .version_id()
                .map(str::to_owned),
            del_tags
                .expect("DeleteObjectTagging")
                .version_id()
                .map(str::to_owned),
        ]
    }
    async fn copy(
        s3: &Client,
        bucket: &str,
        from: &str,
        to: &str,
    ) -> (Option<String>, Option<String>) {
        let out = s3
            .copy_object()
            .bucket(bucket)
            .key(to)
            .copy_source(format!("{bucket}/{from}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CopyObject {from} -> {to}: {e:?}"));
        (
            out.version_id().map(str::to_owned),
            out.copy_source_version_id().map(str::to_owned),
        )
    }
    /// UploadPartCopy from `from` and the completion: the copy source's
    /// version id and the completed object's.
    async fn multipart_copy(
        s3: &Client,
        bucket: &str,
        from: &str,
        to: &str,
    ) -> (Option<String>, Option<String>) {
        let upload = s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(to)
            .send()
            .await
            .expect("CreateMultipartUpload");
        let upload_id = upload.upload_id().expect("upload id");
        let part = s3
            .upload_part_copy()
            .bucket(bucket)
            .key(to)
            .upload_id(upload_id)
            .part_number(1)
            .copy_source(format!("{bucket}/{from}"))
            .send()
            .await
            .expect("UploadPartCopy");
        let done = s3
            .complete_multipart_upload()
            .bucket(bucket)
            .key(to)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(
                                part.copy_part_result()
                                    .and_then(|r| r.e_tag())
                                    .expect("etag"),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("CompleteMultipartUpload");
        (
            part.copy_source_version_id().map(str::to_owned),
            done.version_id().map(str::to_owned),
        )
    }

    // Never versioned: no answer names a version.
    assert_eq!(put_version(s3, bucket, "n", b"before").await, None);
    assert_eq!(answers(s3, bucket, "n", tagging()).await, vec![None; 6]);
    assert_eq!(copy(s3, bucket, "n", "plain-copy").await, (None, None));
    assert_eq!(
        multipart_copy(s3, bucket, "n", "plain-mp").await,
        (None, None)
    );

    // Enabled: the `null` version written before is named `null`, a new
    // version by its id.
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    assert_eq!(
        answers(s3, bucket, "n", tagging()).await,
        vec![null.clone(); 6]
    );
    let (copied, source) = copy(s3, bucket, "n", "v").await;
    let v = copied.expect("a versioned copy names its version");
    assert_ne!(v, "null");
    assert_eq!(source, null, "the copy source is the null version");
    assert_eq!(
        answers(s3, bucket, "v", tagging()).await,
        vec![Some(v.clone()); 6]
    );
    let (source, completed) = multipart_copy(s3, bucket, "n", "mp").await;
    assert_eq!(source, null);
    assert!(completed.is_some_and(|id| id != "null"));

    // Suspended: every write is the `null` version.
    set_versioning(s3, bucket, BucketVersioningStatus::Suspended).await;
    assert_eq!(put_version(s3, bucket, "s", b"suspended").await, null);
    assert_eq!(
        answers(s3, bucket, "s", tagging()).await,
        vec![null.clone(); 6]
    );
    assert_eq!(
        copy(s3, bucket, "v", "s-copy").await,
        (null.clone(), Some(v.clone())),
        "a copy of a version is the null version, its source named by id"
    );
    assert_eq!(
        multipart_copy(s3, bucket, "s", "s-mp").await,
        (null.clone(), null.clone())
    );
    // A delete inserts a `null` marker, named as such, and the key's 404
    // names it.
    let del = s3
        .delete_object()
        .bucket(bucket)
        .key("s")
        .send()
        .await
        .expect("DeleteObject");
    assert_eq!(
        (del.delete_marker(), del.version_id()),
        (Some(true), Some("null"))
    );
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("s")
        .send()
        .await
        .expect_err("deleted");
    let headers = err.raw_response().expect("response").headers();
    assert_eq!(headers.get("x-amz-delete-marker"), Some("true"));
    assert_eq!(headers.get("x-amz-version-id"), Some("null"));
    let out = s3
        .delete_objects()
        .bucket(bucket)
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("s-copy")
                        .build()
                        .expect("id"),
                )
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("DeleteObjects");
    let deleted = out.deleted();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0].delete_marker(), Some(true));
    assert_eq!(deleted[0].delete_marker_version_id(), Some("null"));
}

/// PutObjectTagging / DeleteObjectTagging naming a version: a noncurrent
/// version's tags change (read back by its id; the current version's stay),
/// the answer names the version; a delete marker named is 405
/// `MethodNotAllowed`, a version that does not exist `NoSuchVersion` (a key
/// without versions `NoSuchKey`), a malformed id `InvalidArgument`, and
/// another owner `AccessDenied`, nothing changed.
async fn version_tagging(s3: &Client, other: &Client, bucket: &str) {
    use aws_sdk_s3::types::{BucketVersioningStatus, Tag, Tagging};
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    put(s3, bucket, "k", b"null").await;
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    let v1 = put_version(s3, bucket, "k", b"one").await.expect("id");
    let v2 = put_version(s3, bucket, "k", b"two").await.expect("id");
    let tagging = |k: &str, v: &str| {
        Tagging::builder()
            .tag_set(Tag::builder().key(k).value(v).build().expect("tag"))
            .build()
            .expect("tagging")
    };
    let tags_of = |version: Option<&str>| {
        let call = s3
            .get_object_tagging()
            .bucket(bucket)
            .key("k")
            .set_version_id(version.map(str::to_owned));
        async move {
            let out = call.send().await.expect("GetObjectTagging");
            let tags: Vec<(String, String)> = out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            (tags, out.version_id().map(str::to_owned))
        }
    };
    let pair = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
    for (version, k, v) in [(v1.as_str(), "a", "1"), ("null", "n", "0")] {
        let out = s3
            .put_object_tagging()
            .bucket(bucket)
            .key("k")
            .version_id(version)
            .tagging(tagging(k, v))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObjectTagging {version}: {e:?}"));
        assert_eq!(out.version_id(), Some(version), "the answer names it");
        assert_eq!(
            tags_of(Some(version)).await,
            (pair(k, v), Some(version.to_owned()))
        );
    }
    assert_eq!(
        tags_of(None).await,
        (Vec::new(), Some(v2.clone())),
        "the current version's tags are untouched"
    );
    let out = s3
        .delete_object_tagging()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .expect("DeleteObjectTagging of a noncurrent version");
    assert_eq!(out.version_id(), Some(v1.as_str()));
    assert_eq!(tags_of(Some(&v1)).await.0, Vec::new());
    assert_eq!(tags_of(Some("null")).await.0, pair("n", "0"), "only v1's");

    // Refusals, each changing nothing.
    let del = s3
        .delete_object()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .expect("DeleteObject");
    let marker = del.version_id().expect("marker id").to_owned();
    let unknown = "0123456789abcdef0123456789abcdef";
    // (what, client, key, version id, expected code and status)
    let cases = [
        (
            "a delete marker",
            s3,
            "k",
            marker.as_str(),
            ("MethodNotAllowed", 405),
        ),
        (
            "a version that does not exist",
            s3,
            "k",
            unknown,
            ("NoSuchVersion", 404),
        ),
        (
            "a key without versions",
            s3,
            "none",
            unknown,
            ("NoSuchKey", 404),
        ),
        (
            "a malformed id",
            s3,
            "k",
            "not-an-id",
            ("InvalidArgument", 400),
        ),
        (
            "another owner",
            other,
            "k",
            v1.as_str(),
            ("AccessDenied", 403),
        ),
    ];
    for (what, client, key, version, (code, status)) in cases {
        let err = client
            .put_object_tagging()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .tagging(tagging("x", "y"))
            .send()
            .await
            .expect_err(what);
        assert_eq!(
            code_of(&err),
            (code.into(), status),
            "PutObjectTagging: {what}"
        );
        let err = client
            .delete_object_tagging()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .expect_err(what);
        assert_eq!(
            code_of(&err),
            (code.into(), status),
            "DeleteObjectTagging: {what}"
        );
    }
    assert_eq!(
        tags_of(Some("null")).await.0,
        pair("n", "0"),
        "nothing changed"
    );
    assert_eq!(tags_of(Some(&v2)).await.0, Vec::new(), "nothing changed");
}

/// A bucket policy that grants `s3:GetObjectVersion` and
/// `s3:GetObjectVersionTagging` opens reads by version id to another
/// account (and `s3:GetObjectVersion` to anonymous readers), as on S3;
/// nothing else is opened, and without the grant they are refused. A copy
/// of a tagged version takes its tags under `s3:GetObjectVersionTagging`
/// only, GetObjectAcl by id answers under `s3:GetObjectVersionAcl`.
async fn version_grants(server: &TestServer, s3: &Client, other: &Client, bucket: &str) {
    use aws_sdk_s3::types::{BucketVersioningStatus, Tag, Tagging};
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    let v1 = put_version(s3, bucket, "k", b"one").await.expect("id");
    let v2 = put_version(s3, bucket, "k", b"two").await.expect("id");
    s3.put_object_tagging()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .tagging(
            Tagging::builder()
                .tag_set(Tag::builder().key("t").value("1").build().expect("tag"))
                .build()
                .expect("tagging"),
        )
        .send()
        .await
        .expect("PutObjectTagging");
    let other_id = other
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .owner()
        .and_then(|o| o.id())
        .expect("an owner id")
        .to_owned();
    let read = |version: Option<&str>| {
        let call = other
            .get_object()
            .bucket(bucket)
            .key("k")
            .set_version_id(version.map(str::to_owned));
        async move {
            match call.send().await {
                Ok(out) => Ok((
                    out.version_id().map(str::to_owned),
                    out.body.collect().await.expect("body").to_vec(),
                )),
                Err(e) => Err(code_of(&e)),
            }
        }
    };
    let denied = Err(("AccessDenied".to_owned(), 403));
    assert_eq!(read(Some(&v1)).await, denied, "no policy: refused");
    let policy = |principal: &str, actions: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":{actions},"Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
        )
    };
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy(
            &format!(r#"{{"AWS":"{other_id}"}}"#),
            r#"["s3:GetObjectVersion","s3:GetObjectVersionTagging"]"#,
        ))
        .send()
        .await
        .expect("PutBucketPolicy");
    assert_eq!(
        read(Some(&v1)).await,
        Ok((Some(v1.clone()), b"one".to_vec()))
    );
    assert_eq!(
        read(Some(&v2)).await,
        Ok((Some(v2.clone()), b"two".to_vec()))
    );
    let head = other
        .head_object()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .expect("HeadObject by version, granted");
    assert_eq!(head.content_length(), Some(3));
    let tags = other
        .get_object_tagging()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .expect("GetObjectTagging by version, granted");
    assert_eq!(tags.tag_set().len(), 1);
    assert_eq!(tags.version_id(), Some(v1.as_str()));
    let acl_of = |version: Option<&str>| {
        let call = other
            .get_object_acl()
            .bucket(bucket)
            .key("k")
            .set_version_id(version.map(str::to_owned));
        async move { call.send().await.map(|_| ()).map_err(|e| code_of(&e)) }
    };
    let refused: Result<(), _> = Err(("AccessDenied".to_owned(), 403));
    assert_eq!(acl_of(Some(&v1)).await, refused, "s3:GetObjectVersionAcl");
    // A copy of the tagged version takes its tags along under
    // s3:GetObjectVersionTagging (granted), not s3:GetObjectTagging.
    let copies = format!("{bucket}-copies");
    other
        .create_bucket()
        .bucket(&copies)
        .send()
        .await
        .expect("CreateBucket");
    let copy = |tagging: Option<aws_sdk_s3::types::TaggingDirective>| {
        let call = other
            .copy_object()
            .bucket(&copies)
            .key("copy")
            .copy_source(format!("{bucket}/k?versionId={v1}"))
            .set_tagging_directive(tagging);
        async move { call.send().await.map(|_| ()).map_err(|e| code_of(&e)) }
    };
    copy(None).await.expect("a copy with the version's tags");
    let copied = other
        .get_object_tagging()
        .bucket(&copies)
        .key("copy")
        .send()
        .await
        .expect("GetObjectTagging of the copy");
    assert_eq!(copied.tag_set().len(), 1, "the tags came along");
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy(
            &format!(r#"{{"AWS":"{other_id}"}}"#),
            r#"["s3:GetObjectVersion","s3:GetObjectTagging","s3:GetObjectVersionAcl"]"#,
        ))
        .send()
        .await
        .expect("PutBucketPolicy");
    assert_eq!(
        copy(None).await,
        refused,
        "s3:GetObjectTagging does not open a version's tags"
    );
    copy(Some(aws_sdk_s3::types::TaggingDirective::Replace))
        .await
        .expect("a copy without the tags");
    assert_eq!(acl_of(Some(&v1)).await, Ok(()), "s3:GetObjectVersionAcl");
    assert_eq!(
        acl_of(None).await,
        refused,
        "s3:GetObjectAcl is not granted"
    );
    other
        .delete_object()
        .bucket(&copies)
        .key("copy")
        .send()
        .await
        .expect("DeleteObject");
    other
        .delete_bucket()
        .bucket(&copies)
        .send()
        .await
        .expect("DeleteBucket");
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy(
            &format!(r#"{{"AWS":"{other_id}"}}"#),
            r#"["s3:GetObjectVersion","s3:GetObjectVersionTagging"]"#,
        ))
        .send()
        .await
        .expect("PutBucketPolicy");
    // Not granted: the current version (s3:GetObject), a version that does
    // not exist (no s3:ListBucket to tell), GetObjectAttributes by version.
    assert_eq!(read(None).await, denied, "s3:GetObject is not granted");
    assert_eq!(
        read(Some("0123456789abcdef0123456789abcdef")).await,
        denied,
        "a missing version, without s3:ListBucket"
    );
    let err = other
        .get_object_attributes()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .object_attributes(ObjectAttributes::ObjectSize)
        .send()
        .await
        .expect_err("GetObjectAttributes by version is the owner's");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));

    // Anonymous: s3:GetObjectVersion to everyone (Block Public Access off).
    s3.delete_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("DeletePublicAccessBlock");
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy(r#""*""#, r#""s3:GetObjectVersion""#))
        .send()
        .await
        .expect("PutBucketPolicy");
    let url = |query: &str| format!("{}/{bucket}/k{query}", server.aws_url());
    let anonymous = reqwest::get(url(&format!("?versionId={v1}")))
        .await
        .expect("anonymous GET");
    assert_eq!(anonymous.status().as_u16(), 200);
    assert_eq!(
        anonymous
            .headers()
            .get("x-amz-version-id")
            .and_then(|v| v.to_str().ok()),
        Some(v1.as_str())
    );
    assert_eq!(&anonymous.bytes().await.expect("body")[..], b"one");
    for (what, query) in [
        ("the current version", String::new()),
        ("a version's tags", format!("?tagging&versionId={v1}")),
    ] {
        let status = reqwest::get(url(&query))
            .await
            .expect("anonymous GET")
            .status()
            .as_u16();
        assert_eq!(status, 403, "{what} is not granted");
    }
}

/// Asserts `err` is a 304 naming `version` in `x-amz-version-id`.
fn assert_not_modified<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    version: &str,
    what: &str,
) {
    let raw = err.raw_response().expect("response");
    assert_eq!(raw.status().as_u16(), 304, "{what}");
    assert_eq!(
        raw.headers().get("x-amz-version-id"),
        Some(version),
        "{what}"
    );
}

/// Get/PutObjectAcl naming a version read that version, current or
/// noncurrent, also when a delete marker hides the key; a 304 names the
/// version it stands for, as the 200 would; a previous version copied
/// onto its own key becomes the current one.
async fn version_acls_and_not_modified(s3: &Client, bucket: &str) {
    use aws_sdk_s3::types::BucketVersioningStatus;
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    let v1 = put_version(s3, bucket, "k", b"one").await.expect("id");
    let marker = s3
        .delete_object()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .expect("DeleteObject")
        .version_id()
        .expect("the marker's id")
        .to_owned();
    let owner_id = s3
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .owner()
        .and_then(|o| o.id())
        .expect("an owner id")
        .to_owned();

    // The key is hidden, its noncurrent version is not.
    let err = s3
        .get_object_acl()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .expect_err("the current version is a delete marker");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));
    let acl = s3
        .get_object_acl()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .expect("GetObjectAcl of a noncurrent version");
    assert_owner_full_control(acl.owner(), acl.grants(), &owner_id);
    s3.put_object_acl()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .expect("PutObjectAcl of a noncurrent version");
    let err = s3
        .put_object_acl()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .expect_err("a public ACL");
    assert_eq!(code_of(&err), ("AccessControlListNotSupported".into(), 400));
    for (what, version, expected) in [
        (
            "the delete marker",
            marker.as_str(),
            ("MethodNotAllowed", 405),
        ),
        (
            "a version the key does not have",
            "0123456789abcdef0123456789abcdef",
            ("NoSuchVersion", 404),
        ),
    ] {
        let err = s3
            .get_object_acl()
            .bucket(bucket)
            .key("k")
            .version_id(version)
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (expected.0.into(), expected.1), "Get {what}");
        let err = s3
            .put_object_acl()
            .bucket(bucket)
            .key("k")
            .version_id(version)
            .acl(ObjectCannedAcl::Private)
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (expected.0.into(), expected.1), "Put {what}");
    }
    // The version actions are the ones a Deny refuses to the owner.
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":["s3:GetObjectVersionAcl","s3:PutObjectVersionAcl"],"Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
        ))
        .send()
        .await
        .expect("PutBucketPolicy");
    let v2 = put_version(s3, bucket, "k", b"two").await.expect("id");
    s3.get_object_acl()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .expect("GetObjectAcl of the current version, not denied");
    let err = s3
        .get_object_acl()
        .bucket(bucket)
        .key("k")
        .version_id(&v2)
        .send()
        .await
        .expect_err("s3:GetObjectVersionAcl denied");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    let err = s3
        .put_object_acl()
        .bucket(bucket)
        .key("k")
        .version_id(&v1)
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .expect_err("s3:PutObjectVersionAcl denied");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    s3.delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketPolicy");

    // 304s name their version: a noncurrent one by id, the current one.
    for version in [Some(v1.as_str()), Some(v2.as_str()), None] {
        let etag = s3
            .head_object()
            .bucket(bucket)
            .key("k")
            .set_version_id(version.map(str::to_owned))
            .send()
            .await
            .expect("HeadObject")
            .e_tag()
            .expect("an ETag")
            .to_owned();
        let expected = version.unwrap_or(&v2);
        let err = s3
            .get_object()
            .bucket(bucket)
            .key("k")
            .set_version_id(version.map(str::to_owned))
            .if_none_match(&etag)
            .send()
            .await
            .expect_err("not modified");
        assert_not_modified(&err, expected, &format!("GET {version:?}"));
        let err = s3
            .head_object()
            .bucket(bucket)
            .key("k")
            .set_version_id(version.map(str::to_owned))
            .if_none_match(&etag)
            .send()
            .await
            .expect_err("not modified");
        assert_not_modified(&err, expected, &format!("HEAD {version:?}"));
    }

    // A previous version copied onto its own key is restored (S3's way
    // to restore a version); without a version id it is still illegal.
    let restored = s3
        .copy_object()
        .bucket(bucket)
        .key("k")
        .copy_source(format!("{bucket}/k?versionId={v1}"))
        .send()
        .await
        .expect("CopyObject of a previous version onto its key");
    assert_eq!(restored.copy_source_version_id(), Some(v1.as_str()));
    let v3 = restored.version_id().expect("a new version").to_owned();
    assert!(v3 != v1 && v3 != v2);
    assert_eq!(
        read_version(s3, bucket, "k", None).await,
        (b"one".to_vec(), Some(v3))
    );
    assert_eq!(listed_versions(s3, bucket, "k", 1000).await.len(), 4);
    let err = s3
        .copy_object()
        .bucket(bucket)
        .key("k")
        .copy_source(format!("{bucket}/k"))
        .send()
        .await
        .expect_err("a copy onto itself that changes nothing");
    assert_eq!(code_of(&err), ("InvalidRequest".into(), 400));
}

/// Another owner is refused every versioned call on Alice's bucket.
async fn versions_of_another_owner(other: &Client, bucket: &str, version: &str) {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    macro_rules! denied {
        ($what:expr, $call:expr) => {
            let err = $call.send().await.expect_err($what);
            assert_eq!(code_of(&err), ("AccessDenied".into(), 403), "{}", $what);
        };
    }
    denied!(
        "GetObject by version",
        other
            .get_object()
            .bucket(bucket)
            .key("k")
            .version_id(version)
    );
    denied!(
        "DeleteObject by version",
        other
            .delete_object()
            .bucket(bucket)
            .key("k")
            .version_id(version)
    );
    denied!(
        "DeleteObject",
        other.delete_object().bucket(bucket).key("k")
    );
    denied!(
        "ListObjectVersions",
        other.list_object_versions().bucket(bucket)
    );
    denied!(
        "GetBucketVersioning",
        other.get_bucket_versioning().bucket(bucket)
    );
    denied!(
        "PutBucketVersioning",
        other
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Suspended)
                    .build()
            )
    );
}

/// A policy's `Deny` of the version actions refuses the owner's calls by
/// version id, and lifecycle rules and versioning combine either way round
/// (what the sweep then does is `s3_lifecycle.rs`'s).
async fn versioned_policy_and_lifecycle(s3: &Client, bucket: &str) {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, BucketVersioningStatus, ExpirationStatus,
        LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    };
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    let id = put_version(s3, bucket, "k", b"body").await.expect("id");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":["s3:GetObjectVersion","s3:DeleteObjectVersion"],"Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .expect("PutBucketPolicy");
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("k")
        .version_id(&id)
        .send()
        .await
        .expect_err("denied by version");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    let err = s3
        .delete_object()
        .bucket(bucket)
        .key("k")
        .version_id(&id)
        .send()
        .await
        .expect_err("denied by version");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    assert_eq!(
        read_version(s3, bucket, "k", None).await.0,
        b"body",
        "the current version is s3:GetObject's"
    );
    // A version's tags are s3:GetObjectVersionTagging's, which this policy
    // leaves alone...
    s3.get_object_tagging()
        .bucket(bucket)
        .key("k")
        .version_id(&id)
        .send()
        .await
        .expect("tags by version id: not denied");
    // ...and which a Deny of its own refuses, the version's bytes then
    // readable.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:GetObjectVersionTagging","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .expect("PutBucketPolicy");
    let err = s3
        .get_object_tagging()
        .bucket(bucket)
        .key("k")
        .version_id(&id)
        .send()
        .await
        .expect_err("denied by version tagging");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    assert_eq!(read_version(s3, bucket, "k", Some(&id)).await.0, b"body");
    s3.delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    assert_eq!(read_version(s3, bucket, "k", Some(&id)).await.0, b"body");

    let rules = BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id("expire")
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("").build())
                .expiration(LifecycleExpiration::builder().days(1).build())
                .build()
                .expect("rule"),
        )
        .build()
        .expect("configuration");
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(rules.clone())
        .send()
        .await
        .expect("a lifecycle on a versioned bucket");
    let read = s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketLifecycleConfiguration");
    assert_eq!(read.rules().len(), 1, "{read:?}");
    let plain = format!("{bucket}-plain");
    s3.create_bucket()
        .bucket(&plain)
        .send()
        .await
        .expect("CreateBucket");
    s3.put_bucket_lifecycle_configuration()
        .bucket(&plain)
        .lifecycle_configuration(rules)
        .send()
        .await
        .expect("a lifecycle on a bucket never versioned");
    s3.put_bucket_versioning()
        .bucket(&plain)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning beside a lifecycle");
    let v = s3
        .get_bucket_versioning()
        .bucket(&plain)
        .send()
        .await
        .expect("GetBucketVersioning");
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    assert!(
        s3.get_bucket_lifecycle_configuration()
            .bucket(&plain)
            .send()
            .await
            .is_ok(),
        "the configuration stays"
    );
}

/// DeleteObject with `If-Match` in a versioned bucket: the condition is on
/// the current version; met, it inserts a delete marker; refused, it
/// inserts nothing; a delete marker as the latest version is no current
/// version (404), and a delete that names a version takes no condition.
async fn versioned_conditional_deletes(s3: &Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    set_versioning(
        s3,
        bucket,
        aws_sdk_s3::types::BucketVersioningStatus::Enabled,
    )
    .await;
    let first = put_version(s3, bucket, "k", b"one").await.expect("version");
    let etag = s3
        .head_object()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .expect("head")
        .e_tag
        .expect("etag");
    let delete = || s3.delete_object().bucket(bucket).key("k");
    let err = delete()
        .if_match("\"0123456789abcdef0123456789abcdef\"")
        .send()
        .await
        .expect_err("another ETag");
    assert_eq!(code_of(&err), ("PreconditionFailed".into(), 412));
    let err = delete()
        .version_id(&first)
        .if_match(&etag)
        .send()
        .await
        .expect_err("a condition on a version's delete");
    assert_eq!(code_of(&err), ("InvalidRequest".into(), 400));
    assert_eq!(
        listed_versions(s3, bucket, "", 1000).await.len(),
        1,
        "refused deletes inserted no marker and removed no version"
    );
    let marked = delete()
        .if_match(&etag)
        .send()
        .await
        .expect("the current ETag");
    assert_eq!(marked.delete_marker(), Some(true));
    for condition in [etag.as_str(), "*"] {
        let err = delete()
            .if_match(condition)
            .send()
            .await
            .expect_err("the latest version is a delete marker");
        assert_eq!(code_of(&err), ("NoSuchKey".into(), 404), "{condition}");
    }
    let listed = listed_versions(s3, bucket, "", 1000).await;
    assert_eq!(listed.len(), 2, "one version, one marker: {listed:?}");
    assert_eq!(read_version(s3, bucket, "k", Some(&first)).await.0, b"one");
    put_version(s3, bucket, "k", b"two").await;
    delete()
        .if_match("*")
        .send()
        .await
        .expect("If-Match: * on a current version");
    assert!(!exists(s3, bucket, "k").await);
}

async fn versioned(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice) = server.user("alice-versioned").await;
    let (_, bob) = server.user("bob-versioned").await;
    let a = s3_client(&server, &alice);
    let b = s3_client(&server, &bob);
    versioned_basics(&a, "vb-basics").await;
    let paged = versions_paged(&a, "vb-paged").await;
    suspended(&a, "vb-suspended").await;
    null_version_answers(&a, "vb-null").await;
    version_tagging(&a, &b, "vb-tags").await;
    version_grants(&server, &a, &b, "vb-grants").await;
    version_acls_and_not_modified(&a, "vb-acls").await;
    versioned_policy_and_lifecycle(&a, "vb-policy").await;
    versioned_conditional_deletes(&a, "vb-cond").await;
    let (_, current) = read_version(&a, "vb-basics", "k", None).await;
    let current = current.expect("a version id");
    versions_of_another_owner(&b, "vb-basics", &current).await;
    assert_eq!(read_version(&a, "vb-basics", "k", None).await.0, b"two");

    // A restart keeps every version readable, and its sweep removes no
    // blob a version holds.
    let before = listed_versions(&a, "vb-paged", "", 1000).await;
    assert_eq!(before.len(), paged);
    let blobs = blob_count(&server);
    server.restart().await;
    let a = s3_client(&server, &alice);
    assert_eq!(blob_count(&server), blobs, "the sweep removed nothing live");
    assert_eq!(listed_versions(&a, "vb-paged", "", 1000).await, before);
    for (key, id, marker, _) in &before {
        if !marker {
            let (body, _) = read_version(&a, "vb-paged", key, Some(id)).await;
            assert!(body.starts_with(key.as_bytes()) || key == "sp ace");
        }
    }

    // Emptied version by version, the bucket can go, and so do the blobs.
    for bucket in [
        "vb-basics",
        "vb-paged",
        "vb-suspended",
        "vb-policy",
        "vb-null",
        "vb-tags",
        "vb-grants",
        "vb-acls",
        "vb-cond",
    ] {
        let all = listed_versions(&a, bucket, "", 1000).await;
        for chunk in all.chunks(400) {
            let mut delete = Delete::builder();
            for (key, id, _, _) in chunk {
                delete = delete.objects(
                    ObjectIdentifier::builder()
                        .key(key)
                        .version_id(id)
                        .build()
                        .expect("id"),
                );
            }
            let out = a
                .delete_objects()
                .bucket(bucket)
                .delete(delete.build().expect("delete"))
                .send()
                .await
                .expect("DeleteObjects");
            assert!(out.errors().is_empty(), "{:?}", out.errors());
        }
        a.delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeleteBucket {bucket}: {e:?}"));
    }
    assert_eq!(blob_count(&server), 0, "every version's blob was removed");
}

#[tokio::test]
async fn versioned_buckets_sqlite() {
    versioned(Backend::Sqlite).await;
}

#[tokio::test]
async fn versioned_buckets_postgres() {
    versioned(Backend::Postgres).await;
}

/// What the racing clients of [`versioned_races`] saw succeed.
#[derive(Default)]
struct Seen {
    /// Version id → (key, MD5 of the body) of every PutObject answered.
    puts: std::collections::HashMap<String, (String, [u8; 16])>,
    /// Every delete marker a DeleteObject answered with.
    markers: BTreeSet<String>,
    /// Every version a DeleteObject by version id answered for.
    removed: BTreeSet<String>,
}

/// One racing client: `ops` random operations on three keys of `bucket`
/// (PutObject of 0 B to 100 KB, DeleteObject, and DeleteObject of a
/// version it just listed), every answer recorded in `seen`.
async fn race_versions(
    s3: Client,
    bucket: &str,
    seed: u64,
    ops: usize,
    seen: &std::sync::Mutex<Seen>,
) {
    use md5::{Digest, Md5};
    use rand::rngs::StdRng;
    use rand::{Rng, RngCore, SeedableRng};
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..ops {
        let key = format!("k{}", rng.gen_range(0..3));
        match rng.gen_range(0..10) {
            0..=5 => {
                let mut body = vec![0u8; [0, 10, 4096, 100_000][rng.gen_range(0..4)]];
                rng.fill_bytes(&mut body);
                let md5: [u8; 16] = Md5::digest(&body).into();
                let out = s3
                    .put_object()
                    .bucket(bucket)
                    .key(&key)
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .expect("PutObject");
                let id = out.version_id().expect("a version id").to_owned();
                seen.lock().unwrap().puts.insert(id, (key, md5));
            }
            6 | 7 => {
                let out = s3
                    .delete_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .expect("DeleteObject");
                assert_eq!(out.delete_marker(), Some(true), "a marker for {key}");
                let id = out.version_id().expect("the marker's id").to_owned();
                seen.lock().unwrap().markers.insert(id);
            }
            _ => {
                let listed = s3
                    .list_object_versions()
                    .bucket(bucket)
                    .prefix(&key)
                    .send()
                    .await
                    .expect("ListObjectVersions");
                let ids: Vec<&str> = listed
                    .versions()
                    .iter()
                    .filter_map(|v| v.version_id())
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                let id = ids[rng.gen_range(0..ids.len())].to_owned();
                // Another client may have removed it meanwhile: S3 answers
                // 204 all the same.
                s3.delete_object()
                    .bucket(bucket)
                    .key(&key)
                    .version_id(&id)
                    .send()
                    .await
                    .expect("DeleteObject by version id");
                seen.lock().unwrap().removed.insert(id);
            }
        }
    }
}

/// Sixteen clients race writes, delete markers and permanent deletes on
/// three keys of a versioned bucket (one key with a `null` version from
/// before versioning). Afterwards the bucket's versions are exactly the
/// answered writes minus the permanently deleted ones, its markers exactly
/// the answered markers, each version reads back its own bytes, each key
/// has one latest entry, and the object store holds one file per version:
/// no row without its bytes, no bytes without a row.
async fn versioned_races(backend: Backend) {
    use md5::{Digest, Md5};
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("race-user").await;
    let s3 = s3_client(&server, &key);
    let bucket = "vb-races";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    put(&s3, bucket, "k0", b"from before versioning").await;
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning enabled");

    let seen = std::sync::Arc::new(std::sync::Mutex::new(Seen::default()));
    let clients: Vec<_> = (0..16u64)
        .map(|n| {
            let (s3, seen) = (s3.clone(), seen.clone());
            tokio::spawn(async move { race_versions(s3, bucket, n, 40, &seen).await })
        })
        .collect();
    for client in clients {
        client.await.expect("a racing client");
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());

    let (mut versions, mut markers) = (Vec::new(), Vec::new());
    let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(37)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(id_marker.clone())
            .send()
            .await
            .expect("a page of versions");
        versions.extend(page.versions().iter().cloned());
        markers.extend(page.delete_markers().iter().cloned());
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        id_marker = page.next_version_id_marker().map(str::to_owned);
    }
    let listed: BTreeSet<String> = versions
        .iter()
        .filter_map(|v| v.version_id().map(str::to_owned))
        .collect();
    let expected: BTreeSet<String> = seen
        .puts
        .keys()
        .cloned()
        .chain(["null".to_owned()])
        .filter(|id| !seen.removed.contains(id))
        .collect();
    assert_eq!(
        listed, expected,
        "versions: answered writes minus removed ones"
    );
    assert_eq!(listed.len(), versions.len(), "each version listed once");
    let listed_markers: BTreeSet<String> = markers
        .iter()
        .filter_map(|m| m.version_id().map(str::to_owned))
        .collect();
    assert_eq!(listed_markers, seen.markers, "markers: the answered ones");
    assert!(!seen.puts.is_empty() && !seen.markers.is_empty() && !seen.removed.is_empty());

    for v in &versions {
        let id = v.version_id().expect("id");
        if id == "null" {
            continue;
        }
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(v.key().expect("key"))
            .version_id(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetObject of version {id}: {e:?}"));
        let body = got.body.collect().await.expect("body").into_bytes();
        let (key, md5) = &seen.puts[id];
        assert_eq!(
            v.key(),
            Some(key.as_str()),
            "version {id} listed under its key"
        );
        assert_eq!(
            &<[u8; 16]>::from(Md5::digest(&body)),
            md5,
            "version {id}'s own bytes"
        );
    }
    let mut latest = std::collections::BTreeMap::new();
    for (k, is_latest) in versions
        .iter()
        .map(|v| (v.key(), v.is_latest()))
        .chain(markers.iter().map(|m| (m.key(), m.is_latest())))
    {
        if is_latest == Some(true) {
            *latest.entry(k.expect("key").to_owned()).or_insert(0) += 1;
        }
    }
    assert!(
        latest.values().all(|n| *n == 1),
        "one latest per key: {latest:?}"
    );
    assert_eq!(
        common::blobs_under(&common::objects_dir(&server)).len(),
        versions.len(),
        "one blob per version, no orphan"
    );
}

#[tokio::test]
async fn versioned_races_sqlite() {
    versioned_races(Backend::Sqlite).await;
}

#[tokio::test]
async fn versioned_races_postgres() {
    versioned_races(Backend::Postgres).await;
}
