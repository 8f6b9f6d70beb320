//! S3 object tagging, driven by the official AWS SDK for Rust against the
//! real server on SQLite and Postgres: PutObjectTagging, GetObjectTagging
//! (stored order), DeleteObjectTagging; `x-amz-tagging` on PutObject (also
//! presigned), CreateMultipartUpload (carried to the completed object) and
//! CopyObject (`COPY` / `REPLACE` directive); `x-amz-tagging-count` on GET
//! and HEAD; every tag rule's refusal; tagging leaving the ETag,
//! Last-Modified and body alone; another owner's object (AccessDenied); a
//! missing key or bucket; the tags in the native API's listing; and tags
//! surviving a restart.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Tag, Tagging, TaggingDirective};
use common::{code_of, complete_with_one_part, s3_client};
use miniaws_testkit::{Backend, TestServer};

fn tagging(pairs: &[(&str, &str)]) -> Tagging {
    let set = pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().expect("a tag"))
        .collect();
    Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .expect("a tagging")
}

async fn tags_of(s3: &Client, bucket: &str, key: &str) -> Vec<(String, String)> {
    s3.get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObjectTagging {key}: {e:?}"))
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn put(s3: &Client, bucket: &str, key: &str, body: &'static [u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
}

/// The tag count GET and HEAD report.
async fn counts(s3: &Client, bucket: &str, key: &str) -> (Option<i32>, Option<i32>) {
    let get = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("GetObject");
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("HeadObject");
    (get.tag_count(), head.tag_count())
}

/// Put, get and delete a tag set; the object is otherwise untouched.
async fn round_trip(s3: &Client, bucket: &str) {
    put(s3, bucket, "plain.txt", b"plain body").await;
    assert!(tags_of(s3, bucket, "plain.txt").await.is_empty());
    assert_eq!(counts(s3, bucket, "plain.txt").await, (None, None));
    let before = s3
        .head_object()
        .bucket(bucket)
        .key("plain.txt")
        .send()
        .await
        .expect("HeadObject");
    // Last-Modified has a resolution of seconds: make a change visible.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let set = [
        ("zeta", "last ü"),
        ("alpha", ""),
        ("path", "a/b=c+d@e:f_g.h-i"),
    ];
    s3.put_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .tagging(tagging(&set))
        .send()
        .await
        .expect("PutObjectTagging");
    assert_eq!(
        tags_of(s3, bucket, "plain.txt").await,
        owned(&set),
        "the tag set comes back in the order given"
    );
    assert_eq!(counts(s3, bucket, "plain.txt").await, (Some(3), Some(3)));
    let after = s3
        .head_object()
        .bucket(bucket)
        .key("plain.txt")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(after.e_tag(), before.e_tag(), "tagging keeps the ETag");
    assert_eq!(
        after.last_modified(),
        before.last_modified(),
        "tagging keeps Last-Modified"
    );
    let body = s3
        .get_object()
        .bucket(bucket)
        .key("plain.txt")
        .send()
        .await
        .expect("GetObject")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(&body[..], b"plain body");

    // Replacing the set replaces it whole; an empty set removes it.
    s3.put_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .tagging(tagging(&[("one", "1")]))
        .send()
        .await
        .expect("PutObjectTagging again");
    assert_eq!(
        tags_of(s3, bucket, "plain.txt").await,
        owned(&[("one", "1")])
    );
    s3.put_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .tagging(tagging(&[]))
        .send()
        .await
        .expect("PutObjectTagging of an empty set");
    assert!(tags_of(s3, bucket, "plain.txt").await.is_empty());

    s3.put_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .tagging(tagging(&[("gone", "soon")]))
        .send()
        .await
        .expect("PutObjectTagging");
    s3.delete_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .send()
        .await
        .expect("DeleteObjectTagging");
    assert!(tags_of(s3, bucket, "plain.txt").await.is_empty());
    assert_eq!(counts(s3, bucket, "plain.txt").await, (None, None));

    // The version id of an unversioned object is "null"; there are no others.
    let got = s3
        .get_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .version_id("null")
        .send()
        .await
        .expect("GetObjectTagging of version null");
    assert_eq!(got.version_id(), Some("null"));
    let err = s3
        .get_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .version_id("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
        .send()
        .await
        .expect_err("another version");
    assert_eq!(code_of(&err), ("InvalidArgument".into(), 400));
}

/// `x-amz-tagging` on PutObject, CreateMultipartUpload and CopyObject.
async fn tagging_headers(s3: &Client, bucket: &str) {
    s3.put_object()
        .bucket(bucket)
        .key("headed.txt")
        .tagging("team=blue+green&env=dev&path=a%2Fb%3Dc&empty")
        .body(ByteStream::from_static(b"tagged at birth"))
        .send()
        .await
        .expect("PutObject with x-amz-tagging");
    let headed = owned(&[
        ("team", "blue green"),
        ("env", "dev"),
        ("path", "a/b=c"),
        ("empty", ""),
    ]);
    assert_eq!(tags_of(s3, bucket, "headed.txt").await, headed);
    assert_eq!(counts(s3, bucket, "headed.txt").await, (Some(4), Some(4)));
    // A rewrite without the header has no tags.
    put(s3, bucket, "rewritten.txt", b"1").await;
    s3.put_object_tagging()
        .bucket(bucket)
        .key("rewritten.txt")
        .tagging(tagging(&[("old", "tag")]))
        .send()
        .await
        .expect("PutObjectTagging");
    put(s3, bucket, "rewritten.txt", b"2").await;
    assert!(tags_of(s3, bucket, "rewritten.txt").await.is_empty());

    // Multipart: the create's tags reach the completed object.
    let create = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("multi.bin")
        .tagging("stage=upload&n=1")
        .send()
        .await
        .expect("CreateMultipartUpload with x-amz-tagging");
    let upload_id = create.upload_id().expect("upload id");
    complete_with_one_part(s3, bucket, "multi.bin", upload_id, b"one small last part").await;
    assert_eq!(
        tags_of(s3, bucket, "multi.bin").await,
        owned(&[("stage", "upload"), ("n", "1")])
    );

    // CopyObject: COPY (the default) keeps the source's tags, also when a
    // header is sent; REPLACE takes the header's, or none.
    let copy = |dst: &'static str| {
        s3.copy_object()
            .bucket(bucket)
            .key(dst)
            .copy_source(format!("{bucket}/headed.txt"))
    };
    copy("copy-default.txt").send().await.expect("CopyObject");
    assert_eq!(tags_of(s3, bucket, "copy-default.txt").await, headed);
    copy("copy-copy.txt")
        .tagging_directive(TaggingDirective::Copy)
        .tagging("ignored=yes")
        .send()
        .await
        .expect("CopyObject COPY");
    assert_eq!(tags_of(s3, bucket, "copy-copy.txt").await, headed);
    copy("copy-replace.txt")
        .tagging_directive(TaggingDirective::Replace)
        .tagging("fresh=1")
        .send()
        .await
        .expect("CopyObject REPLACE");
    assert_eq!(
        tags_of(s3, bucket, "copy-replace.txt").await,
        owned(&[("fresh", "1")])
    );
    copy("copy-none.txt")
        .tagging_directive(TaggingDirective::Replace)
        .send()
        .await
        .expect("CopyObject REPLACE without tags");
    assert!(tags_of(s3, bucket, "copy-none.txt").await.is_empty());
}

/// A presigned PutObject with tags: the presigner signs `x-amz-tagging` as
/// a header (`X-Amz-SignedHeaders=host;x-amz-tagging`) that the uploader
/// then sends, and the object gets them.
async fn presigned_put(s3: &Client, bucket: &str) {
    let put = s3
        .put_object()
        .bucket(bucket)
        .key("presigned.txt")
        .tagging("via=presigned&n=2")
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(
                60,
            ))
            .expect("config"),
        )
        .await
        .expect("presign PUT");
    let mut req = reqwest::Client::new().put(put.uri());
    for (name, value) in put.headers() {
        req = req.header(name, value);
    }
    let res = req
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
    assert_eq!(
        tags_of(s3, bucket, "presigned.txt").await,
        owned(&[("via", "presigned"), ("n", "2")])
    );
}

/// Every tag rule, through PutObjectTagging, and the header's through
/// PutObject and CreateMultipartUpload (which then store nothing).
async fn refusals(s3: &Client, bucket: &str) {
    put(s3, bucket, "rules.txt", b"x").await;
    let (k128, k129) = ("k".repeat(128), "k".repeat(129));
    let (v256, v257) = ("v".repeat(256), "v".repeat(257));
    let ten: Vec<(String, String)> = (0..10)
        .map(|i| (format!("{i}{}", &k128[1..]), v256.clone()))
        .collect();
    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
    /// (description, tag set, expected code and message)
    type Case<'a> = (&'a str, Vec<(String, String)>, Option<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("ten tags of the longest keys and values", ten, None),
        (
            "eleven tags",
            eleven,
            Some(("BadRequest", "Object tags cannot be greater than 10")),
        ),
        (
            "a key of 129 characters",
            owned(&[(k129.as_str(), "v")]),
            Some((
                "InvalidTag",
                "The TagKey you have provided is too long, max 128",
            )),
        ),
        (
            "a value of 257 characters",
            owned(&[("k", v257.as_str())]),
            Some((
                "InvalidTag",
                "The TagValue you have provided is too long, max 256",
            )),
        ),
        (
            "an empty key",
            owned(&[("", "v")]),
            Some(("InvalidTag", "The TagKey you have provided is invalid")),
        ),
        (
            "a key with a comma",
            owned(&[("a,b", "v")]),
            Some(("InvalidTag", "The TagKey you have provided is invalid")),
        ),
        (
            "a value with an ampersand",
            owned(&[("k", "a&b")]),
            Some(("InvalidTag", "The TagValue you have provided is invalid")),
        ),
        (
            "an aws: key",
            owned(&[("aws:origin", "v")]),
            Some(("InvalidTag", "Your TagKey cannot be prefixed with aws:")),
        ),
        (
            "a repeated key",
            owned(&[("k", "1"), ("k", "2")]),
            Some((
                "InvalidTag",
                "Cannot provide multiple Tags with the same key",
            )),
        ),
    ];
    for (what, set, want) in cases {
        let refs: Vec<(&str, &str)> = set.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let result = s3
            .put_object_tagging()
            .bucket(bucket)
            .key("rules.txt")
            .tagging(tagging(&refs))
            .send()
            .await;
        match want {
            None => {
                result.unwrap_or_else(|e| panic!("{what}: {e:?}"));
                assert_eq!(tags_of(s3, bucket, "rules.txt").await, set, "{what}");
            }
            Some((code, message)) => {
                let err = result.expect_err(what);
                assert_eq!(code_of(&err), (code.to_owned(), 400), "{what}");
                assert_eq!(
                    aws_sdk_s3::error::ProvideErrorMetadata::message(&err),
                    Some(message),
                    "{what}"
                );
            }
        }
    }
    assert_eq!(
        tags_of(s3, bucket, "rules.txt").await.len(),
        10,
        "refused sets change nothing"
    );

    for (what, header, code) in [
        ("a repeated key", "a=1&a=2", "InvalidArgument"),
        (
            "a second raw =",
            "TagSet=[{Key=k,Value=v}]",
            "InvalidArgument",
        ),
        ("an aws: key", "aws%3Ax=1", "InvalidTag"),
        ("a key too long", &format!("{k129}=v"), "InvalidTag"),
    ] {
        let err = s3
            .put_object()
            .bucket(bucket)
            .key("never.txt")
            .tagging(header)
            .body(ByteStream::from_static(b"never stored"))
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (code.to_owned(), 400), "PutObject: {what}");
        let err = s3
            .create_multipart_upload()
            .bucket(bucket)
            .key("never.txt")
            .tagging(header)
            .send()
            .await
            .expect_err(what);
        assert_eq!(
            code_of(&err),
            (code.to_owned(), 400),
            "CreateMultipartUpload: {what}"
        );
    }
    let err = s3
        .head_object()
        .bucket(bucket)
        .key("never.txt")
        .send()
        .await
        .expect_err("a refused PutObject stores nothing");
    assert_eq!(code_of(&err).1, 404);
    let uploads = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("ListMultipartUploads");
    assert!(uploads.uploads().is_empty(), "no upload was created");
    let err = s3
        .copy_object()
        .bucket(bucket)
        .key("never.txt")
        .copy_source(format!("{bucket}/rules.txt"))
        .tagging_directive(TaggingDirective::Replace)
        .tagging("aws%3Ax=1")
        .send()
        .await
        .expect_err("CopyObject with a bad tag");
    assert_eq!(code_of(&err), ("InvalidTag".into(), 400));
}

/// Missing keys and buckets, and another owner's object.
async fn access(s3: &Client, bob: &Client, bucket: &str) {
    let set = tagging(&[("k", "v")]);
    for (what, b, key, code, status) in [
        ("a missing key", bucket, "nope", "NoSuchKey", 404),
        (
            "a missing bucket",
            "no-such-bucket",
            "k",
            "NoSuchBucket",
            404,
        ),
    ] {
        let err = s3
            .put_object_tagging()
            .bucket(b)
            .key(key)
            .tagging(set.clone())
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (code.into(), status), "put: {what}");
        let err = s3
            .get_object_tagging()
            .bucket(b)
            .key(key)
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (code.into(), status), "get: {what}");
        let err = s3
            .delete_object_tagging()
            .bucket(b)
            .key(key)
            .send()
            .await
            .expect_err(what);
        assert_eq!(code_of(&err), (code.into(), status), "delete: {what}");
    }
    assert!(
        s3.head_object()
            .bucket(bucket)
            .key("nope")
            .send()
            .await
            .is_err(),
        "tagging a missing key creates nothing"
    );

    s3.put_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .tagging(tagging(&[("owner", "alice")]))
        .send()
        .await
        .expect("PutObjectTagging");
    let err = bob
        .put_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .tagging(set)
        .send()
        .await
        .expect_err("Bob tags Alice's object");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    let err = bob
        .get_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .send()
        .await
        .expect_err("Bob reads Alice's tags");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    let err = bob
        .delete_object_tagging()
        .bucket(bucket)
        .key("plain.txt")
        .send()
        .await
        .expect_err("Bob removes Alice's tags");
    assert_eq!(code_of(&err), ("AccessDenied".into(), 403));
    assert_eq!(
        tags_of(s3, bucket, "plain.txt").await,
        owned(&[("owner", "alice")]),
        "Bob changed nothing"
    );
}

async fn run(backend: Backend) {
    let Some(mut server) = TestServer::start(backend).await else {
        return;
    };
    let (native, alice) = server.user("tag-alice").await;
    let (_, bob) = server.user("tag-bob").await;
    let s3 = s3_client(&server, &alice);
    let bucket = "tag-bucket";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    round_trip(&s3, bucket).await;
    tagging_headers(&s3, bucket).await;
    presigned_put(&s3, bucket).await;
    refusals(&s3, bucket).await;
    access(&s3, &s3_client(&server, &bob), bucket).await;

    // The native API's listing shows the tags, in order.
    let page = native
        .list_objects(
            bucket,
            &miniaws_client::ListObjectsParams {
                prefix: Some("headed.txt".into()),
                ..Default::default()
            },
        )
        .await
        .expect("native listing");
    let listed: Vec<(String, String)> = page.objects[0]
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    assert_eq!(
        listed,
        owned(&[
            ("team", "blue green"),
            ("env", "dev"),
            ("path", "a/b=c"),
            ("empty", ""),
        ])
    );

    server.restart().await;
    let s3 = s3_client(&server, &alice);
    assert_eq!(
        tags_of(&s3, bucket, "plain.txt").await,
        owned(&[("owner", "alice")]),
        "tags survive a restart"
    );
    assert_eq!(
        tags_of(&s3, bucket, "multi.bin").await,
        owned(&[("stage", "upload"), ("n", "1")])
    );
}

#[tokio::test]
async fn object_tagging_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn object_tagging_postgres() {
    run(Backend::Postgres).await;
}
