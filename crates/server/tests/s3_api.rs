//! The S3 endpoint driven by the official AWS SDK for Rust against the real
//! server, on SQLite and Postgres: every implemented operation, its error
//! codes, presigned URLs, multipart of 30 MiB, ownership, and objects
//! crossing between the S3 and native APIs.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketLocationConstraint, ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart,
    CreateBucketConfiguration, Delete, MetadataDirective, ObjectIdentifier,
};
use base64::Engine;
use common::{code_of, s3_client};
use md5::{Digest, Md5};
use miniaws_testkit::{Backend, TestServer};
use rand::RngCore;
use std::time::Duration;

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

fn md5_hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

async fn get_bytes(s3: &Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObject {bucket}/{key}: {e:?}"))
        .body
        .collect()
        .await
        .expect("the body streams")
        .into_bytes()
        .to_vec()
}

async fn buckets(s3: &Client, bucket: &str) {
    // CreateBucket, and its errors.
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    let err = s3
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect_err("twice");
    assert_eq!(code_of(&err), ("BucketAlreadyOwnedByYou".into(), 409));
    for bad in [
        "ab",
        "Upper-Case",
        "under_score",
        "192.168.1.1",
        "-start",
        "dash-.dot",
        "dot.-dash",
    ] {
        let err = s3.create_bucket().bucket(bad).send().await.expect_err(bad);
        assert_eq!(code_of(&err).1, 400, "bad name {bad}: {err:?}");
        assert_eq!(code_of(&err).0, "InvalidBucketName", "bad name {bad}");
    }
    // HeadBucket, GetBucketLocation, ListBuckets.
    s3.head_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("HeadBucket");
    let err = s3
        .head_bucket()
        .bucket("no-such-bucket-here")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(code_of(&err).1, 404);
    let loc = s3
        .get_bucket_location()
        .bucket(bucket)
        .send()
        .await
        .expect("location");
    assert!(
        loc.location_constraint()
            .is_none_or(|c| c.as_str().is_empty())
    );
    let list = s3.list_buckets().send().await.expect("ListBuckets");
    let names: Vec<_> = list.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, vec![bucket], "only the caller's buckets");
    // `bucket-region` keeps that region's buckets: all of them for the
    // one region there is, none for another (they were all listed).
    for (region, want) in [("us-east-1", vec![bucket]), ("eu-west-3", vec![])] {
        let list = s3
            .list_buckets()
            .bucket_region(region)
            .send()
            .await
            .expect("ListBuckets of a region");
        let names: Vec<_> = list.buckets().iter().filter_map(|b| b.name()).collect();
        assert_eq!(names, want, "ListBuckets in {region}");
    }
    // `us-east-1` named as a location constraint is refused, as S3 refuses
    // it (that region is asked for by sending none); any other region is
    // taken, and the bucket lives in the one region there is.
    let located = |region: &str| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region))
            .build()
    };
    let other = format!("{bucket}-elsewhere");
    let err = s3
        .create_bucket()
        .bucket(&other)
        .create_bucket_configuration(located("us-east-1"))
        .send()
        .await
        .expect_err("us-east-1 named");
    assert_eq!(code_of(&err), ("InvalidLocationConstraint".into(), 400));
    assert_eq!(
        err.message(),
        Some("The specified location-constraint is not valid.")
    );
    let err = s3
        .head_bucket()
        .bucket(&other)
        .send()
        .await
        .expect_err("no bucket was created");
    assert_eq!(code_of(&err).1, 404, "no bucket was created");
    s3.create_bucket()
        .bucket(&other)
        .create_bucket_configuration(located("eu-west-3"))
        .send()
        .await
        .expect("another region");
    s3.delete_bucket()
        .bucket(&other)
        .send()
        .await
        .expect("DeleteBucket");
    // Anything not implemented says so (501), never a wrong success.
    // (Asking for a logging configuration is answered as S3 answers for
    // a bucket without one: s3_more_clients.rs; websites: s3_website.rs.)
    let err = s3
        .put_object()
        .bucket(bucket)
        .key("k")
        .write_offset_bytes(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("append");
    assert_eq!(code_of(&err), ("NotImplemented".into(), 501));
}

async fn objects(s3: &Client, bucket: &str) {
    // PutObject: metadata, headers, ETag = quoted MD5.
    let body = b"hello, object".to_vec();
    let put = s3
        .put_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .body(ByteStream::from(body.clone()))
        .content_type("text/plain")
        .cache_control("max-age=60")
        .content_disposition("attachment; filename=\"hello.txt\"")
        .metadata("colour", "blue")
        .metadata("Mixed-Case", "Value")
        .send()
        .await
        .expect("PutObject");
    assert_eq!(
        put.e_tag(),
        Some(format!("\"{}\"", md5_hex(&body)).as_str())
    );

    let got = s3
        .get_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .send()
        .await
        .expect("GetObject");
    assert_eq!(got.content_type(), Some("text/plain"));
    assert_eq!(got.cache_control(), Some("max-age=60"));
    assert_eq!(
        got.content_disposition(),
        Some("attachment; filename=\"hello.txt\"")
    );
    assert_eq!(got.content_length(), Some(body.len() as i64));
    assert_eq!(got.e_tag(), put.e_tag());
    let meta = got.metadata().expect("user metadata");
    assert_eq!(meta.get("colour").map(String::as_str), Some("blue"));
    assert_eq!(meta.get("mixed-case").map(String::as_str), Some("Value"));
    let last_modified = *got.last_modified().expect("Last-Modified");
    assert_eq!(
        got.body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .as_ref(),
        body
    );

    // HeadObject.
    let head = s3
        .head_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.e_tag(), put.e_tag());
    let err = s3
        .head_object()
        .bucket(bucket)
        .key("nope")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(code_of(&err).1, 404);
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("nope")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));
    // S3's extended request id (`x-amz-id-2`), which the SDK reports: here
    // the base64 of the request id, which the server log is searched by.
    {
        use aws_sdk_s3::operation::{RequestId, RequestIdExt};
        let request_id = err.request_id().expect("a request id").to_owned();
        let extended = err.extended_request_id().expect("an extended request id");
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(extended)
                .ok(),
            Some(request_id.into_bytes()),
            "{extended}"
        );
    }
    let err = s3
        .get_object()
        .bucket("no-such-bucket-here")
        .key("k")
        .send()
        .await
        .expect_err("nb");
    assert_eq!(code_of(&err), ("NoSuchBucket".into(), 404));
    let err = s3
        .put_object()
        .bucket("no-such-bucket-here")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("PutObject into a missing bucket");
    assert_eq!(code_of(&err), ("NoSuchBucket".into(), 404));

    // Range.
    let part = s3
        .get_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .range("bytes=7-12")
        .send()
        .await
        .expect("ranged GET");
    assert_eq!(part.content_range(), Some("bytes 7-12/13"));
    assert_eq!(
        part.body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .as_ref(),
        b"object"
    );
    let suffix = s3
        .get_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .range("bytes=-6")
        .send()
        .await
        .expect("suffix range");
    assert_eq!(
        suffix
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .as_ref(),
        b"object"
    );
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .range("bytes=100-200")
        .send()
        .await
        .expect_err("unsatisfiable");
    assert_eq!(code_of(&err), ("InvalidRange".into(), 416));

    // Conditionals.
    let etag = put.e_tag().expect("etag").to_owned();
    let ok = s3
        .get_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .if_match(&etag)
        .send()
        .await;
    assert!(ok.is_ok(), "If-Match with the ETag");
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .if_match("\"0000\"")
        .send()
        .await
        .expect_err("If-Match mismatch");
    assert_eq!(code_of(&err), ("PreconditionFailed".into(), 412));
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .if_none_match(&etag)
        .send()
        .await
        .expect_err("If-None-Match hit");
    assert_eq!(code_of(&err).1, 304);
    let later = DateTime::from_secs(last_modified.secs() + 3600);
    let earlier = DateTime::from_secs(last_modified.secs() - 3600);
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .if_modified_since(last_modified)
        .send()
        .await
        .expect_err("not modified since");
    assert_eq!(code_of(&err).1, 304);
    // A time not yet come is invalid and ignored, as on S3 (RFC 7232 §3.3).
    assert!(
        s3.get_object()
            .bucket(bucket)
            .key("docs/hello.txt")
            .if_modified_since(later)
            .send()
            .await
            .is_ok(),
        "If-Modified-Since in the future"
    );
    assert!(
        s3.get_object()
            .bucket(bucket)
            .key("docs/hello.txt")
            .if_modified_since(earlier)
            .send()
            .await
            .is_ok()
    );
    let err = s3
        .get_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .if_unmodified_since(earlier)
        .send()
        .await
        .expect_err("modified since");
    assert_eq!(code_of(&err), ("PreconditionFailed".into(), 412));

    // response-* overrides.
    let over = s3
        .get_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .response_content_type("application/x-custom")
        .response_content_disposition("inline")
        .response_cache_control("no-store")
        .send()
        .await
        .expect("overrides");
    assert_eq!(over.content_type(), Some("application/x-custom"));
    assert_eq!(over.content_disposition(), Some("inline"));
    assert_eq!(over.cache_control(), Some("no-store"));
    // HeadObject honours them too, as on S3.
    let over = s3
        .head_object()
        .bucket(bucket)
        .key("docs/hello.txt")
        .response_content_type("application/x-custom")
        .response_content_language("fr")
        .response_content_encoding("identity")
        .response_expires(DateTime::from_secs(1_900_000_000))
        .send()
        .await
        .expect("HEAD overrides");
    assert_eq!(over.content_type(), Some("application/x-custom"));
    assert_eq!(over.content_language(), Some("fr"));
    assert_eq!(over.content_encoding(), Some("identity"));
    assert_eq!(over.expires_string(), Some("Sun, 17 Mar 2030 17:46:40 GMT"));
    // An override that is no header value is refused, on HEAD as on GET
    // (a HEAD once put it in its answer and failed with a 500).
    for bad in ["text/plain\r\nx-evil: 1", "no\0store"] {
        let err = s3
            .get_object()
            .bucket(bucket)
            .key("docs/hello.txt")
            .response_content_type(bad)
            .send()
            .await
            .expect_err("GET with a control character in an override");
        assert_eq!(code_of(&err), ("InvalidRequest".into(), 400), "GET {bad:?}");
        // HeadObject's words, naming the parameter and not echoing the
        // value (s3s's own answer was Rust debug text of it).
        assert_eq!(
            err.message(),
            Some(
                "invalid overridden header: response-content-type must not contain control characters"
            ),
            "GET {bad:?}"
        );
        let err = s3
            .head_object()
            .bucket(bucket)
            .key("docs/hello.txt")
            .response_cache_control(bad)
            .send()
            .await
            .expect_err("HEAD with a control character in an override");
        assert_eq!(code_of(&err).1, 400, "HEAD {bad:?}");
    }

    // Content-MD5: a wrong digest is BadDigest and nothing is stored.
    let wrong = base64::engine::general_purpose::STANDARD.encode(Md5::digest(b"other"));
    let err = s3
        .put_object()
        .bucket(bucket)
        .key("md5.txt")
        .body(ByteStream::from_static(b"payload"))
        .content_md5(wrong)
        .send()
        .await
        .expect_err("bad Content-MD5");
    assert_eq!(code_of(&err), ("BadDigest".into(), 400));
    let err = s3
        .head_object()
        .bucket(bucket)
        .key("md5.txt")
        .send()
        .await
        .expect_err("none");
    assert_eq!(code_of(&err).1, 404, "a BadDigest upload leaves nothing");
    let right = base64::engine::general_purpose::STANDARD.encode(Md5::digest(b"payload"));
    s3.put_object()
        .bucket(bucket)
        .key("md5.txt")
        .body(ByteStream::from_static(b"payload"))
        .content_md5(right)
        .send()
        .await
        .expect("right Content-MD5");

    // Checksums: each algorithm verified and returned; a wrong one refused.
    for algo in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32C,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ] {
        let key = format!("sum/{}", algo.as_str());
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(ByteStream::from(random_bytes(100_000)))
            .checksum_algorithm(algo.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject with {algo:?}: {e:?}"));
        let sent = [
            put.checksum_crc32(),
            put.checksum_crc32_c(),
            put.checksum_sha1(),
            put.checksum_sha256(),
        ];
        assert_eq!(
            sent.iter().flatten().count(),
            1,
            "{algo:?}: one checksum returned"
        );
        let head = s3
            .head_object()
            .bucket(bucket)
            .key(&key)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .expect("head with checksum mode");
        let stored = [
            head.checksum_crc32(),
            head.checksum_crc32_c(),
            head.checksum_sha1(),
            head.checksum_sha256(),
        ];
        assert_eq!(stored, sent, "{algo:?}: the stored checksum is returned");
    }
    let err = s3
        .put_object()
        .bucket(bucket)
        .key("sum/wrong")
        .body(ByteStream::from_static(b"abc"))
        .checksum_crc32("AAAAAA==")
        .send()
        .await
        .expect_err("a wrong CRC32");
    assert_eq!(code_of(&err), ("BadDigest".into(), 400));
    let err = s3
        .head_object()
        .bucket(bucket)
        .key("sum/wrong")
        .send()
        .await
        .expect_err("none");
    assert_eq!(code_of(&err).1, 404, "a wrong checksum leaves nothing");

    // CopyObject: COPY keeps metadata, REPLACE replaces it, across buckets.
    let other = format!("{bucket}-copy");
    s3.create_bucket()
        .bucket(&other)
        .send()
        .await
        .expect("second bucket");
    let copied = s3
        .copy_object()
        .bucket(&other)
        .key("copied.txt")
        .copy_source(format!("{bucket}/docs/hello.txt"))
        .send()
        .await
        .expect("CopyObject COPY");
    assert_eq!(
        copied.copy_object_result().and_then(|r| r.e_tag()),
        put_etag(&etag)
    );
    let head = s3
        .head_object()
        .bucket(&other)
        .key("copied.txt")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("colour"))
            .map(String::as_str),
        Some("blue")
    );
    s3.copy_object()
        .bucket(&other)
        .key("replaced.txt")
        .copy_source(format!("{bucket}/docs/hello.txt"))
        .metadata_directive(MetadataDirective::Replace)
        .content_type("text/markdown")
        .metadata("colour", "red")
        .send()
        .await
        .expect("CopyObject REPLACE");
    let head = s3
        .head_object()
        .bucket(&other)
        .key("replaced.txt")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_type(), Some("text/markdown"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("colour"))
            .map(String::as_str),
        Some("red")
    );
    assert_eq!(get_bytes(s3, &other, "replaced.txt").await, body);
    let err = s3
        .copy_object()
        .bucket(&other)
        .key("x")
        .copy_source(format!("{bucket}/missing"))
        .send()
        .await
        .expect_err("missing source");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));
    let err = s3
        .copy_object()
        .bucket(&other)
        .key("x")
        .copy_source(format!("{bucket}/docs/hello.txt"))
        .copy_source_if_match("\"0000\"")
        .send()
        .await
        .expect_err("copy-source-if-match");
    assert_eq!(code_of(&err), ("PreconditionFailed".into(), 412));

    // DeleteObject is idempotent.
    s3.delete_object()
        .bucket(&other)
        .key("copied.txt")
        .send()
        .await
        .expect("delete");
    s3.delete_object()
        .bucket(&other)
        .key("copied.txt")
        .send()
        .await
        .expect("delete again");
    s3.delete_object()
        .bucket(&other)
        .key("never-was")
        .send()
        .await
        .expect("delete missing");

    // DeleteObjects, verbose then quiet.
    let ids = |keys: &[&str]| {
        Delete::builder().set_objects(Some(
            keys.iter()
                .map(|k| ObjectIdentifier::builder().key(*k).build().expect("id"))
                .collect(),
        ))
    };
    let out = s3
        .delete_objects()
        .bucket(&other)
        .delete(ids(&["replaced.txt", "ghost"]).build().expect("delete"))
        .send()
        .await
        .expect("DeleteObjects verbose");
    let mut deleted: Vec<_> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    assert_eq!(deleted, vec!["ghost", "replaced.txt"]);
    assert!(out.errors().is_empty());
    s3.put_object()
        .bucket(&other)
        .key("q")
        .body(ByteStream::from_static(b"q"))
        .send()
        .await
        .expect("put");
    let out = s3
        .delete_objects()
        .bucket(&other)
        .delete(ids(&["q"]).quiet(true).build().expect("delete"))
        .send()
        .await
        .expect("DeleteObjects quiet");
    assert!(out.deleted().is_empty(), "quiet mode lists no successes");
    // Entries with an ETag are conditional deletes: another ETag is that
    // entry's PreconditionFailed (kept), a missing key's NoSuchKey, the
    // current ETag or `*` deletes; a directory bucket's Size condition is
    // NotImplemented (kept, never deleted regardless of it); the entries
    // without a condition are deleted.
    let mut etags = std::collections::HashMap::new();
    for key in ["stale", "current", "star", "sized", "plain"] {
        let put = s3
            .put_object()
            .bucket(&other)
            .key(key)
            .body(ByteStream::from_static(b"keep me"))
            .send()
            .await
            .expect("put");
        etags.insert(key, put.e_tag().expect("etag").to_owned());
    }
    let entry = |key: &str, etag: Option<&str>| {
        ObjectIdentifier::builder()
            .key(key)
            .set_e_tag(etag.map(str::to_owned))
            .build()
            .expect("id")
    };
    let out = s3
        .delete_objects()
        .bucket(&other)
        .delete(
            Delete::builder()
                .objects(entry("stale", Some("\"0123456789abcdef0123456789abcdef\"")))
                .objects(entry("current", Some(&etags["current"])))
                // Unquoted, as some clients send it.
                .objects(entry("star", Some("*")))
                .objects(entry("missing", Some(&etags["plain"])))
                .objects(
                    ObjectIdentifier::builder()
                        .key("sized")
                        .size(7)
                        .build()
                        .expect("id"),
                )
                .objects(entry("plain", None))
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("DeleteObjects with conditions");
    let mut errors: Vec<_> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap_or_default(), e.code().unwrap_or_default()))
        .collect();
    errors.sort_unstable();
    assert_eq!(
        errors,
        vec![
            ("missing", "NoSuchKey"),
            ("sized", "NotImplemented"),
            ("stale", "PreconditionFailed"),
        ]
    );
    let mut deleted: Vec<_> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort_unstable();
    assert_eq!(deleted, vec!["current", "plain", "star"]);
    for key in ["stale", "sized"] {
        assert_eq!(get_bytes(s3, &other, key).await, b"keep me");
        s3.delete_object()
            .bucket(&other)
            .key(key)
            .send()
            .await
            .expect("delete the kept entry");
    }
    let err = s3
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect_err("not empty");
    assert_eq!(code_of(&err), ("BucketNotEmpty".into(), 409));
    s3.delete_bucket()
        .bucket(&other)
        .send()
        .await
        .expect("DeleteBucket");
    let err = s3
        .head_bucket()
        .bucket(&other)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code_of(&err).1, 404);
}

fn put_etag(e: &str) -> Option<&str> {
    Some(e)
}

async fn listing(s3: &Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    // Byte order: "B" < "a" < "a/" < "a0" < "é".
    let keys = [
        "a/1",
        "a/2",
        "a/sub/3",
        "a0",
        "B",
        "b/x",
        "é",
        "space key",
        "plus+key",
    ];
    for k in keys {
        s3.put_object()
            .bucket(bucket)
            .key(k)
            .body(ByteStream::from_static(b"."))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {k}: {e:?}"));
    }
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));

    let all = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    let got: Vec<_> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, sorted, "byte order");
    assert_eq!(all.key_count(), Some(keys.len() as i32));
    assert_eq!(all.is_truncated(), Some(false));

    let d = s3
        .list_objects_v2()
        .bucket(bucket)
        .delimiter("/")
        .send()
        .await
        .expect("delimiter");
    let prefixes: Vec<_> = d
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["a/", "b/"]);
    let top: Vec<_> = d.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(top, vec!["B", "a0", "plus+key", "space key", "é"]);
    assert_eq!(d.key_count(), Some(7));

    // An empty delimiter is no delimiter: every key listed, and no
    // Delimiter element in the answer (as without one), on the four
    // listings that take a delimiter.
    let e = s3
        .list_objects_v2()
        .bucket(bucket)
        .delimiter("")
        .send()
        .await
        .expect("empty delimiter");
    assert_eq!(e.delimiter(), None, "ListObjectsV2");
    assert_eq!(e.key_count(), Some(keys.len() as i32));
    let e = s3
        .list_objects()
        .bucket(bucket)
        .delimiter("")
        .send()
        .await
        .expect("empty delimiter, v1");
    assert_eq!(e.delimiter(), None, "ListObjects");
    assert_eq!(e.contents().len(), keys.len());
    let e = s3
        .list_object_versions()
        .bucket(bucket)
        .delimiter("")
        .send()
        .await
        .expect("empty delimiter, versions");
    assert_eq!(e.delimiter(), None, "ListObjectVersions");
    let e = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .delimiter("")
        .send()
        .await
        .expect("empty delimiter, uploads");
    assert_eq!(e.delimiter(), None, "ListMultipartUploads");

    let p = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("a/")
        .delimiter("/")
        .send()
        .await
        .expect("prefix");
    let ks: Vec<_> = p.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(ks, vec!["a/1", "a/2"]);
    let ps: Vec<_> = p
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(ps, vec!["a/sub/"]);

    // Pagination with max-keys and continuation tokens.
    let mut token = None;
    let mut paged = Vec::new();
    let mut pages = 0;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("page");
        pages += 1;
        assert!(page.key_count().unwrap_or_default() <= 2);
        paged.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        if page.is_truncated() != Some(true) {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
        assert!(token.is_some(), "a truncated page has a next token");
    }
    assert_eq!(paged, sorted, "pages cover every key once");
    assert_eq!(pages, keys.len().div_ceil(2));

    let sa = s3
        .list_objects_v2()
        .bucket(bucket)
        .start_after("a0")
        .send()
        .await
        .expect("start-after");
    let ks: Vec<_> = sa.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        ks,
        sorted[sorted.iter().position(|k| *k == "a0").expect("a0") + 1..].to_vec()
    );

    let owner = s3
        .list_objects_v2()
        .bucket(bucket)
        .fetch_owner(true)
        .max_keys(1)
        .send()
        .await
        .expect("fetch-owner");
    assert!(owner.contents()[0].owner().and_then(|o| o.id()).is_some());

    let enc = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("space")
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .send()
        .await
        .expect("encoding-type=url");
    // The Rust SDK hands url-encoded keys over as sent (boto3 decodes them).
    let ks: Vec<_> = enc.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(ks, vec!["space%20key"]);

    // ListObjects v1 with marker.
    let v1 = s3
        .list_objects()
        .bucket(bucket)
        .marker("a/2")
        .max_keys(3)
        .send()
        .await
        .expect("ListObjects v1");
    let ks: Vec<_> = v1.contents().iter().filter_map(|o| o.key()).collect();
    let from = sorted.iter().position(|k| *k == "a/2").expect("a/2") + 1;
    assert_eq!(ks, sorted[from..from + 3].to_vec());
    assert_eq!(v1.is_truncated(), Some(true));
    // S3 answers NextMarker only when a delimiter was given; without one a
    // client resumes after the last key of the page.
    assert_eq!(v1.next_marker(), None, "no NextMarker without a delimiter");
    let mut marker = None;
    let mut paged = Vec::new();
    loop {
        let page = s3
            .list_objects()
            .bucket(bucket)
            .max_keys(2)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListObjects v1 page");
        assert_eq!(
            page.next_marker(),
            None,
            "no NextMarker without a delimiter"
        );
        let keys: Vec<String> = page
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        marker = keys.last().cloned();
        paged.extend(keys);
        if page.is_truncated() != Some(true) {
            break;
        }
    }
    assert_eq!(
        paged, sorted,
        "v1 pages by the last key cover every key once"
    );
    // With a delimiter, NextMarker is the page's last entry, a key or a
    // common prefix (resuming after a prefix skips what it holds).
    let mut marker = None;
    let mut entries = Vec::new();
    loop {
        let page = s3
            .list_objects()
            .bucket(bucket)
            .delimiter("/")
            .max_keys(2)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListObjects v1 page with a delimiter");
        let mut page_entries: Vec<String> = page
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .chain(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            )
            .collect();
        page_entries.sort();
        if page.is_truncated() != Some(true) {
            assert_eq!(page.next_marker(), None, "the last page has no NextMarker");
            entries.extend(page_entries);
            break;
        }
        marker = page.next_marker().map(str::to_owned);
        assert_eq!(
            marker.as_ref(),
            page_entries.last(),
            "NextMarker is the page's last entry"
        );
        entries.extend(page_entries);
    }
    assert_eq!(
        entries,
        ["B", "a/", "a0", "b/", "plus+key", "space key", "é"],
        "v1 pages by NextMarker with a delimiter"
    );

    let err = s3
        .list_objects_v2()
        .bucket("no-such-bucket-here")
        .send()
        .await
        .expect_err("nb");
    assert_eq!(code_of(&err), ("NoSuchBucket".into(), 404));
}

/// The blob files under the server's object store (temporaries aside),
/// with their sizes.
fn stored_files(server: &TestServer) -> std::collections::BTreeMap<std::path::PathBuf, u64> {
    let dir = common::objects_dir(server);
    common::files_under(&dir)
        .into_iter()
        .filter(|p| !p.starts_with(dir.join("tmp")))
        .map(|p| {
            let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            (p, len)
        })
        .collect()
}

/// The inodes of the blob files under the server's object store.
fn stored_inodes(server: &TestServer) -> std::collections::BTreeSet<u64> {
    use std::os::unix::fs::MetadataExt;
    stored_files(server)
        .keys()
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.ino()))
        .collect()
}

async fn multipart(
    server: &TestServer,
    native: &miniaws_client::Client,
    s3: &Client,
    bucket: &str,
) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    let files_before_upload = stored_files(server);
    let body = random_bytes(30 * 1024 * 1024);
    let create = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("big.bin")
        .content_type("application/x-big")
        .metadata("kind", "multipart")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let upload_id = create.upload_id().expect("upload id").to_owned();
    // What the object could not store is refused when the upload is
    // created, not after its parts were sent; PutObject says the same.
    let err = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("too-much-metadata.bin")
        .metadata("big", "x".repeat(3000))
        .send()
        .await
        .expect_err("2 KiB of user metadata at most");
    assert_eq!(code_of(&err), ("MetadataTooLarge".to_owned(), 400));
    let err = s3
        .put_object()
        .bucket(bucket)
        .key("too-much-metadata.bin")
        .metadata("big", "x".repeat(3000))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("2 KiB of user metadata at most");
    assert_eq!(code_of(&err), ("MetadataTooLarge".to_owned(), 400));
    // `x-amz-meta-` with no name: refused as in a form upload, not
    // dropped (s3s leaves it out of the metadata it parses).
    let nameless = "invalid metadata name \"\": use letters, digits and '-'";
    let err = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("nameless-metadata.bin")
        .metadata("", "v")
        .send()
        .await
        .expect_err("a metadata name is needed");
    assert_eq!(code_of(&err), ("InvalidArgument".to_owned(), 400));
    assert_eq!(err.message(), Some(nameless));
    let err = s3
        .put_object()
        .bucket(bucket)
        .key("nameless-metadata.bin")
        .metadata("", "v")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("a metadata name is needed");
    assert_eq!(code_of(&err), ("InvalidArgument".to_owned(), 400));
    assert_eq!(err.message(), Some(nameless));
    let err = s3
        .head_object()
        .bucket(bucket)
        .key("nameless-metadata.bin")
        .send()
        .await
        .expect_err("nothing was stored");
    assert_eq!(code_of(&err).1, 404);
    let uploads = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("ListMultipartUploads");
    assert_eq!(uploads.uploads().len(), 1, "only big.bin's upload exists");

    let chunk = 8 * 1024 * 1024;
    let mut parts = Vec::new();
    let mut md5s = Vec::new();
    for (i, piece) in body.chunks(chunk).enumerate() {
        let n = i as i32 + 1;
        let out = s3
            .upload_part()
            .bucket(bucket)
            .key("big.bin")
            .upload_id(&upload_id)
            .part_number(n)
            .body(ByteStream::from(piece.to_vec()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("UploadPart {n}: {e:?}"));
        assert_eq!(
            out.e_tag(),
            Some(format!("\"{}\"", md5_hex(piece)).as_str())
        );
        md5s.extend_from_slice(&Md5::digest(piece));
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"))
                .build(),
        );
    }
    assert_eq!(parts.len(), 4);

    let listed = s3
        .list_parts()
        .bucket(bucket)
        .key("big.bin")
        .upload_id(&upload_id)
        .max_parts(3)
        .send()
        .await
        .expect("ListParts");
    assert_eq!(listed.parts().len(), 3);
    assert_eq!(listed.is_truncated(), Some(true));
    assert_eq!(listed.parts()[0].size(), Some(chunk as i64));
    let uploads = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("ListMultipartUploads");
    let ids: Vec<_> = uploads
        .uploads()
        .iter()
        .filter_map(|u| u.upload_id())
        .collect();
    assert_eq!(ids, vec![upload_id.as_str()]);

    // Completion errors: order, unknown part, wrong ETag.
    let complete = |ps: Vec<CompletedPart>| {
        s3.complete_multipart_upload()
            .bucket(bucket)
            .key("big.bin")
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(ps))
                    .build(),
            )
    };
    let err = complete(vec![parts[1].clone(), parts[0].clone()])
        .send()
        .await
        .expect_err("out of order");
    assert_eq!(code_of(&err), ("InvalidPartOrder".into(), 400));
    let ghost = CompletedPart::builder()
        .part_number(9)
        .e_tag("\"00\"")
        .build();
    let err = complete(vec![parts[0].clone(), ghost])
        .send()
        .await
        .expect_err("unknown part");
    assert_eq!(code_of(&err), ("InvalidPart".into(), 400));
    let wrong_tag = CompletedPart::builder()
        .part_number(1)
        .e_tag("\"0123\"")
        .build();
    let err = complete(vec![wrong_tag])
        .send()
        .await
        .expect_err("wrong etag");
    assert_eq!(code_of(&err), ("InvalidPart".into(), 400));

    let stored_before = stored_files(server).values().sum::<u64>();
    let inodes_before = stored_inodes(server);
    let done = complete(parts.clone())
        .send()
        .await
        .expect("CompleteMultipartUpload");
    // Completion copies no byte: the object's blob is its parts' files
    // (hard links), whose own names go once it commits. (The total alone
    // cannot tell: a copy followed by the parts' removal ends the same.)
    let stored_after = stored_files(server).values().sum::<u64>();
    assert!(
        stored_after <= stored_before,
        "completion wrote no copy: {stored_before} bytes stored before, {stored_after} after"
    );
    let new_inodes: Vec<_> = stored_inodes(server)
        .difference(&inodes_before)
        .copied()
        .collect();
    assert!(
        new_inodes.is_empty(),
        "completion made no new file: every file stored after it was a part's"
    );
    let want_etag = format!("\"{}-4\"", md5_hex(&md5s));
    assert_eq!(done.e_tag(), Some(want_etag.as_str()));
    let head = s3
        .head_object()
        .bucket(bucket)
        .key("big.bin")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.e_tag(), Some(want_etag.as_str()));
    assert_eq!(head.content_type(), Some("application/x-big"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("kind"))
            .map(String::as_str),
        Some("multipart")
    );
    assert!(
        get_bytes(s3, bucket, "big.bin").await == body,
        "30 MiB round trip"
    );
    composite_reads(
        server,
        native,
        s3,
        bucket,
        &body,
        chunk,
        &files_before_upload,
    )
    .await;
    let err = s3
        .list_parts()
        .bucket(bucket)
        .key("big.bin")
        .upload_id(&upload_id)
        .send()
        .await
        .expect_err("completed upload is gone");
    assert_eq!(code_of(&err), ("NoSuchUpload".into(), 404));

    // EntityTooSmall: a non-final part under 5 MiB.
    let small = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("small.bin")
        .send()
        .await
        .expect("create");
    let sid = small.upload_id().expect("id").to_owned();
    let mut sparts = Vec::new();
    for n in 1..=2 {
        let out = s3
            .upload_part()
            .bucket(bucket)
            .key("small.bin")
            .upload_id(&sid)
            .part_number(n)
            .body(ByteStream::from(vec![n as u8; 1024]))
            .send()
            .await
            .expect("small part");
        sparts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"))
                .build(),
        );
    }
    let err = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key("small.bin")
        .upload_id(&sid)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(sparts.clone()))
                .build(),
        )
        .send()
        .await
        .expect_err("too small");
    assert_eq!(code_of(&err), ("EntityTooSmall".into(), 400));
    // A single small part is fine (the last part may be small).
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key("small.bin")
        .upload_id(&sid)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(vec![sparts[0].clone()]))
                .build(),
        )
        .send()
        .await
        .expect("one small part completes");
    assert_eq!(get_bytes(s3, bucket, "small.bin").await, vec![1u8; 1024]);

    // UploadPartCopy from a range of an existing object, then abort.
    let copy = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("copy.bin")
        .send()
        .await
        .expect("create");
    let cid = copy.upload_id().expect("id").to_owned();
    let out = s3
        .upload_part_copy()
        .bucket(bucket)
        .key("copy.bin")
        .upload_id(&cid)
        .part_number(1)
        .copy_source(format!("{bucket}/big.bin"))
        .copy_source_range("bytes=0-1048575")
        .send()
        .await
        .expect("UploadPartCopy");
    assert_eq!(
        out.copy_part_result().and_then(|r| r.e_tag()),
        Some(format!("\"{}\"", md5_hex(&body[..1024 * 1024])).as_str())
    );
    // A copy range that ends past the source, or starts past it, is
    // refused as S3 refuses it: never clamped into a shorter part.
    let size = body.len();
    for range in [
        format!("bytes=10-{size}"),
        format!("bytes={size}-{}", size + 10),
    ] {
        let err = s3
            .upload_part_copy()
            .bucket(bucket)
            .key("copy.bin")
            .upload_id(&cid)
            .part_number(2)
            .copy_source(format!("{bucket}/big.bin"))
            .copy_source_range(&range)
            .send()
            .await
            .expect_err("a copy range past the source");
        assert_eq!(code_of(&err), ("InvalidArgument".into(), 400), "{range}");
        assert!(
            err.message()
                .unwrap_or_default()
                .contains(&format!("source object of size: {size}")),
            "{range}: {err:?}"
        );
    }
    s3.abort_multipart_upload()
        .bucket(bucket)
        .key("copy.bin")
        .upload_id(&cid)
        .send()
        .await
        .expect("AbortMultipartUpload");
    let err = s3
        .abort_multipart_upload()
        .bucket(bucket)
        .key("copy.bin")
        .upload_id(&cid)
        .send()
        .await
        .expect_err("aborted twice");
    assert_eq!(code_of(&err), ("NoSuchUpload".into(), 404));
    let err = s3
        .upload_part()
        .bucket(bucket)
        .key("copy.bin")
        .upload_id(&cid)
        .part_number(2)
        .body(ByteStream::from_static(b"late"))
        .send()
        .await
        .expect_err("part of an aborted upload");
    assert_eq!(code_of(&err), ("NoSuchUpload".into(), 404));
    let uploads = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    assert!(uploads.uploads().is_empty(), "nothing in progress");
}

/// Every read of the completed (composite) `big.bin` of `body` in parts of
/// `chunk` bytes: ranges across part boundaries, by part number, through
/// the native API, copied (CopyObject, UploadPartCopy); then replacing and
/// deleting it leave no blob of it behind (`baseline`: the files before
/// its upload).
async fn composite_reads(
    server: &TestServer,
    native: &miniaws_client::Client,
    s3: &Client,
    bucket: &str,
    body: &[u8],
    chunk: usize,
    baseline: &std::collections::BTreeMap<std::path::PathBuf, u64>,
) {
    let ranged = |range: String| async move {
        let got = s3
            .get_object()
            .bucket(bucket)
            .key("big.bin")
            .range(&range)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {range}: {e:?}"));
        got.body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec()
    };
    let cases = [
        ("across one boundary", chunk - 10, chunk + 9),
        ("across three parts", chunk - 1, 3 * chunk + 4),
        ("the last part's first byte", 3 * chunk, 3 * chunk),
        ("within a part", chunk + 5, 2 * chunk - 1),
        ("the tail", body.len() - 7, body.len() - 1),
    ];
    for (desc, start, end) in cases {
        assert!(
            ranged(format!("bytes={start}-{end}")).await == body[start..=end],
            "range {desc}"
        );
    }
    assert!(
        ranged("bytes=-100".into()).await == body[body.len() - 100..],
        "suffix range"
    );
    for n in [1usize, 2, 4] {
        let got = s3
            .get_object()
            .bucket(bucket)
            .key("big.bin")
            .part_number(n as i32)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET partNumber={n}: {e:?}"));
        assert_eq!(got.parts_count(), Some(4));
        let bytes = got.body.collect().await.expect("body").into_bytes();
        let want = &body[(n - 1) * chunk..(n * chunk).min(body.len())];
        assert!(bytes.as_ref() == want, "part {n}");
    }
    // The native API reads it as any object.
    let mut download = native
        .get_object(
            bucket,
            "big.bin",
            Some(&format!("bytes={}-{}", chunk - 3, chunk + 2)),
            None,
        )
        .await
        .expect("native ranged GET");
    let mut got = Vec::new();
    while let Some(c) = futures::StreamExt::next(&mut download.body).await {
        got.extend_from_slice(&c.expect("chunk"));
    }
    assert!(got == body[chunk - 3..=chunk + 2], "native ranged GET");
    let mut download = native
        .get_object(bucket, "big.bin", None, None)
        .await
        .expect("native GET");
    let mut got = Vec::with_capacity(body.len());
    while let Some(c) = futures::StreamExt::next(&mut download.body).await {
        got.extend_from_slice(&c.expect("chunk"));
    }
    assert!(got == body, "native GET of the whole object");

    // CopyObject of a composite source copies its bytes.
    s3.copy_object()
        .bucket(bucket)
        .key("big-copy.bin")
        .copy_source(format!("{bucket}/big.bin"))
        .send()
        .await
        .expect("CopyObject");
    assert!(get_bytes(s3, bucket, "big-copy.bin").await == body, "copy");
    // UploadPartCopy of a range across its parts, completed onto big.bin
    // itself: the composite it replaces is removed.
    let up = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("big.bin")
        .send()
        .await
        .expect("create");
    let uid = up.upload_id().expect("id").to_owned();
    let (from, to) = (chunk / 2, chunk / 2 + 6 * 1024 * 1024 - 1);
    let mut copied = Vec::new();
    for (n, range) in [
        (1, format!("bytes={from}-{to}")),
        (2, "bytes=0-99".to_owned()),
    ] {
        let out = s3
            .upload_part_copy()
            .bucket(bucket)
            .key("big.bin")
            .upload_id(&uid)
            .part_number(n)
            .copy_source(format!("{bucket}/big.bin"))
            .copy_source_range(range)
            .send()
            .await
            .expect("UploadPartCopy");
        copied.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(
                    out.copy_part_result()
                        .and_then(|r| r.e_tag())
                        .expect("etag"),
                )
                .build(),
        );
    }
    let old_files: Vec<_> = stored_files(server)
        .into_keys()
        .filter(|p| !baseline.contains_key(p))
        .collect();
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key("big.bin")
        .upload_id(&uid)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(copied))
                .build(),
        )
        .send()
        .await
        .expect("complete the copy");
    let mut want = body[from..=to].to_vec();
    want.extend_from_slice(&body[..100]);
    assert!(
        get_bytes(s3, bucket, "big.bin").await == want,
        "UploadPartCopy"
    );
    let now = stored_files(server);
    let replaced: Vec<_> = old_files
        .iter()
        .filter(|p| now.contains_key(*p) && !p.to_string_lossy().contains(".parts"))
        .collect();
    assert!(
        old_files
            .iter()
            .any(|p| p.to_string_lossy().contains(".parts")),
        "the first big.bin was a composite blob"
    );
    let composites_left = old_files
        .iter()
        .filter(|p| p.to_string_lossy().contains(".parts") && now.contains_key(*p))
        .count();
    assert_eq!(
        composites_left, 0,
        "the replaced composite's files are gone"
    );
    assert_eq!(
        replaced.len(),
        1,
        "only big-copy.bin's blob stays: {replaced:?}"
    );

    // Deleting both (S3 and native) leaves the store as before the upload.
    s3.delete_object()
        .bucket(bucket)
        .key("big.bin")
        .send()
        .await
        .expect("delete");
    native
        .delete_object(bucket, "big-copy.bin")
        .await
        .expect("native delete");
    assert_eq!(
        stored_files(server).into_keys().collect::<Vec<_>>(),
        baseline.keys().cloned().collect::<Vec<_>>(),
        "no blob of the deleted objects remains"
    );
    // What follows copies from big.bin again.
    s3.put_object()
        .bucket(bucket)
        .key("big.bin")
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .expect("put big.bin back");
}

async fn presigned(s3: &Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    let http = reqwest::Client::new();
    let cfg = PresigningConfig::expires_in(Duration::from_secs(60)).expect("config");
    let put = s3
        .put_object()
        .bucket(bucket)
        .key("pre.txt")
        .presigned(cfg.clone())
        .await
        .expect("presign PUT");
    let res = http
        .put(put.uri())
        .body("presigned body")
        .send()
        .await
        .expect("presigned PUT");
    assert_eq!(
        res.status().as_u16(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let get = s3
        .get_object()
        .bucket(bucket)
        .key("pre.txt")
        .presigned(cfg)
        .await
        .expect("presign GET");
    let res = http.get(get.uri()).send().await.expect("presigned GET");
    assert_eq!(res.status().as_u16(), 200);
    let etag = res.headers()["etag"].clone();
    assert_eq!(res.text().await.expect("body"), "presigned body");
    // A 304 has no body, and so says no length but the object's (here:
    // none): the XML s3s builds it from is never sent.
    let res = http
        .get(get.uri())
        .header("if-none-match", etag)
        .send()
        .await
        .expect("conditional GET");
    assert_eq!(res.status().as_u16(), 304);
    assert!(
        res.headers()
            .get("content-length")
            .is_none_or(|v| v == "14"),
        "{:?}",
        res.headers()
    );

    // Tampering with the signed URL fails.
    let tampered = get.uri().replace("pre.txt", "other.txt");
    let res = http.get(&tampered).send().await.expect("tampered GET");
    assert_eq!(res.status().as_u16(), 403);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("SignatureDoesNotMatch")
    );

    // Expiry is enforced.
    let short = PresigningConfig::expires_in(Duration::from_secs(1)).expect("config");
    let get = s3
        .get_object()
        .bucket(bucket)
        .key("pre.txt")
        .presigned(short)
        .await
        .expect("presign GET");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = http.get(get.uri()).send().await.expect("expired GET");
    assert_eq!(res.status().as_u16(), 403);
    let text = res.text().await.expect("body");
    assert!(
        text.contains("AccessDenied") && text.contains("xpired"),
        "{text}"
    );
}

async fn virtual_hosted(server: &TestServer, key: &miniaws_client::CreatedKey, bucket: &str) {
    // With path style off, the SDK addresses `<bucket>.localhost:<port>`.
    // Not every resolver maps `*.localhost` to the loopback address (RFC
    // 6761 says it should), so the requests are presigned by the SDK and
    // sent by reqwest, told where `<bucket>.localhost` is.
    let addr = server.aws.expect("aws listener");
    let s3 = common::s3_client_with(
        &format!("http://localhost:{}", addr.port()),
        &key.access_key_id,
        &key.secret_access_key,
        |b| b.force_path_style(false),
    );
    let host = format!("{bucket}.localhost");
    let http = reqwest::Client::builder()
        .resolve(&host, addr)
        .build()
        .expect("http client");
    let cfg = PresigningConfig::expires_in(Duration::from_secs(60)).expect("config");
    let put = s3
        .put_object()
        .bucket(bucket)
        .key("vh/key.txt")
        .presigned(cfg.clone())
        .await
        .expect("presign PUT");
    assert!(
        put.uri()
            .starts_with(&format!("http://{host}:{}/vh/key.txt", addr.port())),
        "virtual-hosted URL: {}",
        put.uri()
    );
    let res = http
        .put(put.uri())
        .body("virtual")
        .send()
        .await
        .expect("PUT");
    assert_eq!(
        res.status().as_u16(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let get = s3
        .get_object()
        .bucket(bucket)
        .key("vh/key.txt")
        .presigned(cfg)
        .await
        .expect("presign GET");
    let res = http.get(get.uri()).send().await.expect("GET");
    assert_eq!(res.text().await.expect("body"), "virtual");
}

async fn ownership_and_cross_api(server: &TestServer) {
    let (alice_native, alice) = server.user("alice-own").await;
    let (_, bob) = server.user("bob-own").await;
    let a = s3_client(server, &alice);
    let b = s3_client(server, &bob);
    a.create_bucket()
        .bucket("alice-private")
        .send()
        .await
        .expect("bucket");
    a.put_object()
        .bucket("alice-private")
        .key("secret.txt")
        .body(ByteStream::from_static(b"alice's"))
        .send()
        .await
        .expect("put");

    // Bob neither sees nor touches Alice's bucket.
    let names: Vec<String> = b
        .list_buckets()
        .send()
        .await
        .expect("bob lists")
        .buckets()
        .iter()
        .filter_map(|x| x.name().map(str::to_owned))
        .collect();
    assert!(!names.contains(&"alice-private".to_owned()));
    let err = b
        .get_object()
        .bucket("alice-private")
        .key("secret.txt")
        .send()
        .await
        .expect_err("get");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    let err = b
        .list_objects_v2()
        .bucket("alice-private")
        .send()
        .await
        .expect_err("list");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    let err = b
        .put_object()
        .bucket("alice-private")
        .key("x")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("put");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    let err = b
        .delete_object()
        .bucket("alice-private")
        .key("secret.txt")
        .send()
        .await
        .expect_err("del");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    let err = b
        .delete_bucket()
        .bucket("alice-private")
        .send()
        .await
        .expect_err("delete bucket");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    let err = b
        .create_bucket()
        .bucket("alice-private")
        .send()
        .await
        .expect_err("create");
    assert_eq!(code_of(&err), ("BucketAlreadyExists".into(), 409));
    let err = b
        .copy_object()
        .bucket("alice-private")
        .key("y")
        .copy_source("alice-private/secret.txt")
        .send()
        .await
        .expect_err("copy");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    let err = b
        .create_multipart_upload()
        .bucket("alice-private")
        .key("m")
        .send()
        .await
        .expect_err("mpu");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    assert_eq!(
        get_bytes(&a, "alice-private", "secret.txt").await,
        b"alice's"
    );

    // S3 → native.
    let res = alice_native
        .send(alice_native.request(reqwest::Method::GET, "/storage/alice-private/secret.txt"))
        .await
        .expect("native GET");
    assert_eq!(res.bytes().await.expect("body").as_ref(), b"alice's");
    // native → S3.
    alice_native
        .send(
            alice_native
                .request(
                    reqwest::Method::PUT,
                    "/storage/alice-private/from-native.txt",
                )
                .header("content-type", "text/plain")
                .body("native bytes"),
        )
        .await
        .expect("native PUT");
    let got = a
        .get_object()
        .bucket("alice-private")
        .key("from-native.txt")
        .send()
        .await
        .expect("S3 GET of a native object");
    assert_eq!(got.content_type(), Some("text/plain"));
    assert_eq!(
        got.e_tag(),
        Some(format!("\"{}\"", md5_hex(b"native bytes")).as_str())
    );
    assert_eq!(
        got.body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .as_ref(),
        b"native bytes"
    );
}

async fn everything(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (native, key) = server.user("s3-user").await;
    let s3 = s3_client(&server, &key);
    buckets(&s3, "first-bucket").await;
    objects(&s3, "first-bucket").await;
    listing(&s3, "listing-bucket").await;
    multipart(&server, &native, &s3, "multipart-bucket").await;
    presigned(&s3, "presigned-bucket").await;
    virtual_hosted(&server, &key, "presigned-bucket").await;
    ownership_and_cross_api(&server).await;
    conditional_writes_and_head_ranges(&s3, "conditional-bucket").await;
    conditional_deletes(&s3, "conditional-deletes").await;
}

/// DeleteObject with `If-Match`: deletes only the version named by its
/// ETag (or, with `*`, whatever exists), decided atomically with the
/// delete.
async fn conditional_deletes(s3: &Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    let put = |key: &'static str, body: &'static [u8]| {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from_static(body))
            .send()
    };
    let delete = |key: &'static str| s3.delete_object().bucket(bucket).key(key);
    let etag = put("k", b"one").await.expect("put").e_tag.expect("etag");

    let err = delete("k")
        .if_match("\"0123456789abcdef0123456789abcdef\"")
        .send()
        .await
        .expect_err("If-Match with another ETag");
    assert_eq!(code_of(&err), ("PreconditionFailed".into(), 412));
    assert_eq!(get_bytes(s3, bucket, "k").await, b"one", "kept");
    delete("k")
        .if_match(&etag)
        .send()
        .await
        .expect("If-Match with the current ETag");
    for condition in [etag.as_str(), "*"] {
        let err = delete("k")
            .if_match(condition)
            .send()
            .await
            .expect_err("If-Match on a missing key");
        assert_eq!(code_of(&err), ("NoSuchKey".into(), 404), "{condition}");
    }
    put("k", b"two").await.expect("put again");
    delete("k")
        .if_match("*")
        .send()
        .await
        .expect("If-Match: * on an existing key");
    let err = s3
        .head_object()
        .bucket(bucket)
        .key("k")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code_of(&err).1, 404);
    // The directory buckets' conditions are refused, the object kept.
    put("k", b"three").await.expect("put");
    let err = delete("k")
        .if_match_size(5)
        .send()
        .await
        .expect_err("x-amz-if-match-size");
    assert_eq!(code_of(&err), ("NotImplemented".into(), 501));
    assert_eq!(get_bytes(s3, bucket, "k").await, b"three", "kept");

    // A rewrite racing a delete conditional on the old ETag: whichever
    // lands first, the new version survives (a check apart from the
    // delete would let the delete remove it).
    for round in 0..20 {
        let old = put("race", b"old")
            .await
            .expect("put old")
            .e_tag
            .expect("etag");
        let (write, removal) =
            tokio::join!(put("race", b"new"), delete("race").if_match(&old).send());
        write.expect("the rewrite");
        if let Err(e) = removal {
            assert_eq!(
                code_of(&e),
                ("PreconditionFailed".into(), 412),
                "round {round}"
            );
        }
        assert_eq!(get_bytes(s3, bucket, "race").await, b"new", "round {round}");
    }
}

/// HeadObject with a Range (206 semantics without a body); PutObject,
/// CopyObject and CompleteMultipartUpload with `If-None-Match: *` and
/// `If-Match`;
/// ListMultipartUploads with a delimiter.
async fn conditional_writes_and_head_ranges(s3: &Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    let put = |key: &'static str, body: &'static [u8]| {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from_static(body))
    };

    // If-None-Match: * creates once, then refuses with 412.
    let first = put("once", b"first")
        .if_none_match("*")
        .send()
        .await
        .expect("If-None-Match: * on a new key");
    let err = put("once", b"second")
        .if_none_match("*")
        .send()
        .await
        .expect_err("If-None-Match: * on an existing key");
    assert_eq!(code_of(&err), ("PreconditionFailed".into(), 412));
    assert_eq!(get_bytes(s3, bucket, "once").await, b"first");

    // If-Match: the current ETag replaces; another ETag is 412; a missing
    // key is 404 NoSuchKey.
    let etag = first.e_tag().expect("etag").to_owned();
    let err = put("once", b"third")
        .if_match("\"0123456789abcdef0123456789abcdef\"")
        .send()
        .await
        .expect_err("If-Match with another ETag");
    assert_eq!(code_of(&err), ("PreconditionFailed".into(), 412));
    put("once", b"third")
        .if_match(&etag)
        .send()
        .await
        .expect("If-Match with the current ETag");
    assert_eq!(get_bytes(s3, bucket, "once").await, b"third");
    let err = put("never", b"x")
        .if_match(&etag)
        .send()
        .await
        .expect_err("If-Match on a missing key");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));

    // Sixteen racing creators: exactly one wins.
    let racers = (0..16).map(|_| put("race", b"mine").if_none_match("*").send());
    let results = futures::future::join_all(racers).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one If-None-Match: * writer wins");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(code_of(r), ("PreconditionFailed".into(), 412));
    }

    // CopyObject's `If-None-Match` / `If-Match` are conditions on its
    // destination (beside the `x-amz-copy-source-if-*` ones on its source).
    put("copy-src", b"copied").send().await.expect("put source");
    let copy = |dst: &'static str| {
        s3.copy_object()
            .bucket(bucket)
            .key(dst)
            .copy_source(format!("{bucket}/copy-src"))
    };
    let err = copy("once")
        .if_none_match("*")
        .send()
        .await
        .expect_err("a copy onto an existing key with If-None-Match: *");
    assert_eq!(code_of(&err), ("PreconditionFailed".into(), 412));
    let err = copy("once")
        .if_match("\"0123456789abcdef0123456789abcdef\"")
        .send()
        .await
        .expect_err("a copy with another destination ETag");
    assert_eq!(code_of(&err), ("PreconditionFailed".into(), 412));
    assert_eq!(get_bytes(s3, bucket, "once").await, b"third");
    let err = copy("copy-new")
        .if_match(&etag)
        .send()
        .await
        .expect_err("a copy with If-Match onto a missing key");
    assert_eq!(code_of(&err), ("NoSuchKey".into(), 404));
    copy("copy-new")
        .if_none_match("*")
        .send()
        .await
        .expect("a copy with If-None-Match: * onto a new key");
    let current = s3
        .head_object()
        .bucket(bucket)
        .key("once")
        .send()
        .await
        .expect("head once");
    copy("once")
        .if_match(current.e_tag().expect("etag"))
        .send()
        .await
        .expect("a copy with the destination's current ETag");
    assert_eq!(get_bytes(s3, bucket, "once").await, b"copied");

    // CompleteMultipartUpload is conditional too.
    let up = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("once")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id");
    let part = s3
        .upload_part()
        .bucket(bucket)
        .key("once")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"multipart"))
        .send()
        .await
        .expect("part");
    let complete = || {
        s3.complete_multipart_upload()
            .bucket(bucket)
            .key("once")
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(part.e_tag().expect("etag"))
                            .build(),
                    )
                    .build(),
            )
    };
    let err = complete()
        .if_none_match("*")
        .send()
        .await
        .expect_err("the key exists");
    assert_eq!(code_of(&err), ("PreconditionFailed".into(), 412));
    complete()
        .send()
        .await
        .expect("unconditional completion still works");
    assert_eq!(get_bytes(s3, bucket, "once").await, b"multipart");

    // HeadObject with a Range: 206, the range's length and Content-Range.
    put("ranged", b"0123456789")
        .send()
        .await
        .expect("put ranged");
    let head = s3
        .head_object()
        .bucket(bucket)
        .key("ranged")
        .range("bytes=2-5")
        .send()
        .await
        .expect("HeadObject with Range");
    assert_eq!(head.content_length(), Some(4));
    assert_eq!(head.content_range(), Some("bytes 2-5/10"));
    let head = s3
        .head_object()
        .bucket(bucket)
        .key("ranged")
        .range("bytes=-3")
        .send()
        .await
        .expect("suffix range");
    assert_eq!(head.content_range(), Some("bytes 7-9/10"));
    let err = s3
        .head_object()
        .bucket(bucket)
        .key("ranged")
        .range("bytes=10-")
        .send()
        .await
        .expect_err("a range past the end");
    assert_eq!(code_of(&err).1, 416);

    // ListMultipartUploads with a delimiter.
    let mut ids = Vec::new();
    for key in ["dir/a", "dir/b", "top", "other/x/y"] {
        let up = s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("create");
        ids.push((key, up.upload_id().expect("id").to_owned()));
    }
    let listed = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .delimiter("/")
        .send()
        .await
        .expect("ListMultipartUploads with a delimiter");
    let keys: Vec<_> = listed.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["top"]);
    let prefixes: Vec<_> = listed
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["dir/", "other/"]);
    let listed = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .prefix("dir/")
        .delimiter("/")
        .send()
        .await
        .expect("under a prefix");
    let keys: Vec<_> = listed.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["dir/a", "dir/b"]);
    // With encoding-type=url every key-like field is encoded, the echoed
    // marker and delimiter too, as S3 documents (the Rust SDK hands them
    // over as sent).
    let listed = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .key_marker("dir/a b")
        .delimiter(" ")
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .send()
        .await
        .expect("encoding-type=url");
    assert_eq!(listed.key_marker(), Some("dir/a%20b"));
    assert_eq!(listed.delimiter(), Some("%20"));
    for (key, id) in ids {
        s3.abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .send()
            .await
            .expect("abort");
    }
}

#[tokio::test]
async fn s3_operations_sqlite() {
    everything(Backend::Sqlite).await;
}

#[tokio::test]
async fn s3_operations_postgres() {
    everything(Backend::Postgres).await;
}

/// Files under the object store (blobs of objects and parts).
fn blob_files(dir: &std::path::Path) -> usize {
    common::blobs_under(dir).len()
}

#[tokio::test]
async fn abandoned_multipart_uploads_expire() {
    let Some(server) =
        TestServer::start_with(Backend::Sqlite, &["--multipart-expiry-secs", "2"], &[]).await
    else {
        return;
    };
    let (_, key) = server.user("expiry").await;
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket("expiring")
        .send()
        .await
        .expect("bucket");
    let up = s3
        .create_multipart_upload()
        .bucket("expiring")
        .key("left-behind")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id");
    s3.upload_part()
        .bucket("expiring")
        .key("left-behind")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from(vec![1u8; 4096]))
        .send()
        .await
        .expect("part");
    let objects = server.data_dir().join("data").join("objects");
    assert_eq!(blob_files(&objects), 1, "the part is a blob on disk");
    // Expiry after 2 s, checked every second: gone within ~4 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let listed = s3
            .list_multipart_uploads()
            .bucket("expiring")
            .send()
            .await
            .expect("list uploads");
        if listed.uploads().is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the abandoned upload was not removed"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(blob_files(&objects), 0, "its part's blob is removed too");
    let err = s3
        .list_parts()
        .bucket("expiring")
        .key("left-behind")
        .upload_id(id)
        .send()
        .await
        .expect_err("expired upload");
    assert_eq!(code_of(&err), ("NoSuchUpload".into(), 404));
}

/// Concurrent uploads of the same part number leave exactly one blob: the
/// replaced parts' blobs are removed when each upload commits, and after
/// completion only the object's blob remains.
async fn same_part_races(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, key) = server.user("racer").await;
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket("races")
        .send()
        .await
        .expect("bucket");
    let up = s3
        .create_multipart_upload()
        .bucket("races")
        .key("k")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id");
    let bodies: Vec<Vec<u8>> = (0..16).map(|_| random_bytes(64 * 1024)).collect();
    let uploads = bodies.iter().map(|b| {
        s3.upload_part()
            .bucket("races")
            .key("k")
            .upload_id(id)
            .part_number(1)
            .body(ByteStream::from(b.clone()))
            .send()
    });
    for r in futures::future::join_all(uploads).await {
        r.expect("every concurrent UploadPart succeeds");
    }
    let objects = server.data_dir().join("data").join("objects");
    assert_eq!(
        blob_files(&objects),
        1,
        "one part row, one blob: no orphan from the replaced uploads"
    );
    let parts = s3
        .list_parts()
        .bucket("races")
        .key("k")
        .upload_id(id)
        .send()
        .await
        .expect("ListParts");
    assert_eq!(parts.parts().len(), 1);
    let etag = parts.parts()[0].e_tag().expect("etag").to_owned();
    let winner = bodies
        .iter()
        .find(|b| format!("\"{}\"", md5_hex(b)) == etag)
        .expect("the stored part is one of the uploaded bodies");
    s3.complete_multipart_upload()
        .bucket("races")
        .key("k")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(&etag).build())
                .build(),
        )
        .send()
        .await
        .expect("complete");
    assert_eq!(&get_bytes(&s3, "races", "k").await, winner);
    assert_eq!(blob_files(&objects), 1, "only the object's blob remains");
}

#[tokio::test]
async fn same_part_races_leave_no_orphans_sqlite() {
    same_part_races(Backend::Sqlite).await;
}

#[tokio::test]
async fn same_part_races_leave_no_orphans_postgres() {
    same_part_races(Backend::Postgres).await;
}
