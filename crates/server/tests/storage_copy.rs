//! Server-side copies on the native API (`PUT` with `x-amz-copy-source`),
//! against the real server, real files and both databases: bytes (a 20 MiB
//! body and a multipart object written through S3), content type, user
//! metadata, stored headers and tags carried along or replaced, copies
//! across buckets, of a version and onto the key itself (a restore),
//! conditions on the destination and on the source, the blob files on
//! disk, bad input that changes nothing, and other owners.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Tag, Tagging};
use common::{blobs_under, objects_dir, s3_client};
use miniaws_client::{Client, ClientError};
use miniaws_testkit::{Backend, TestServer};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(miniaws_testkit::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(miniaws_testkit::Backend::Postgres).await;
            }
        }
    )*};
}

on_both_backends!(copies_on_the_server, bad_copies_change_nothing);

fn api_status(err: &ClientError) -> (u16, String) {
    (
        err.status().map(|s| s.as_u16()).unwrap_or(0),
        err.kind().unwrap_or("").to_owned(),
    )
}

async fn body(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    client
        .get_object(bucket, key, None, None)
        .await
        .unwrap_or_else(|e| panic!("GET {bucket}/{key}: {e}"))
        .bytes()
        .await
        .expect("body")
}

/// A raw PUT of `path` with `headers` (what the client never sends).
async fn raw_put(
    server: &TestServer,
    api_key: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &'static [u8],
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new()
        .put(format!("{}{path}", server.url()))
        .header("x-api-key", api_key)
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.expect("PUT");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let json = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, json, headers)
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

async fn copies_on_the_server(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_key) = server.user("alice-copies").await;
    let s3 = s3_client(&server, &alice_key);
    let (src, dst) = ("copy-src", "copy-dst");
    alice.create_bucket(dst).await.expect("mb");

    // Bytes, content type, metadata, stored headers and tags come along.
    let big = pseudo_random(20 << 20, 7);
    let written = alice
        .put_object(src, "big.bin", big.clone(), Some("application/x-test"))
        .await
        .expect("PUT");
    let (status, json, headers) = raw_put(
        &server,
        &alice_key.key,
        &format!("/storage/{src}/doc.txt"),
        &[
            ("content-type", "text/markdown"),
            ("x-amz-meta-author", "alice"),
            ("cache-control", "max-age=60"),
        ],
        b"# hello",
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert!(headers.contains_key("etag"));
    s3.put_object_tagging()
        .bucket(src)
        .key("doc.txt")
        .tagging(
            Tagging::builder()
                .tag_set(Tag::builder().key("k").value("v").build().expect("tag"))
                .build()
                .expect("tagging"),
        )
        .send()
        .await
        .expect("PutObjectTagging");
    let blobs_before = blobs_under(&objects_dir(&server)).len();
    let copied = alice
        .copy_object((src, "big.bin", None), dst, "big-copy.bin", false)
        .await
        .expect("copy")
        .expect("made");
    assert_eq!(copied.size_bytes, big.len() as u64);
    assert_eq!(copied.etag, written.etag, "the same bytes, the same MD5");
    assert_eq!(copied.content_type, "application/x-test");
    assert_eq!(body(&alice, dst, "big-copy.bin").await, big);
    assert_eq!(
        blobs_under(&objects_dir(&server)).len(),
        blobs_before + 1,
        "a copy is a blob of its own"
    );
    alice
        .copy_object((src, "doc.txt", None), dst, "a/doc.txt", false)
        .await
        .expect("copy")
        .expect("made");
    let head = alice.head_object(dst, "a/doc.txt").await.expect("HEAD");
    assert_eq!(head["content-type"], "text/markdown");
    assert_eq!(head["x-amz-meta-author"], "alice");
    assert_eq!(head["cache-control"], "max-age=60");
    let tags = s3
        .get_object_tagging()
        .bucket(dst)
        .key("a/doc.txt")
        .send()
        .await
        .expect("GetObjectTagging");
    assert_eq!(tags.tag_set().len(), 1, "the tags came along");
    // The source deleted, the copy stays whole.
    alice.delete_object(src, "big.bin").await.expect("DELETE");
    assert_eq!(body(&alice, dst, "big-copy.bin").await, big);

    // REPLACE takes the request's metadata instead; the bytes stay.
    let (status, json, _) = raw_put(
        &server,
        &alice_key.key,
        &format!("/storage/{dst}/a/doc.txt"),
        &[
            ("x-amz-copy-source", &format!("{dst}/a/doc.txt")),
            ("x-amz-metadata-directive", "REPLACE"),
            ("content-type", "text/plain"),
            ("x-amz-meta-reviewed", "yes"),
        ],
        b"",
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let head = alice.head_object(dst, "a/doc.txt").await.expect("HEAD");
    assert_eq!(head["content-type"], "text/plain");
    assert_eq!(head["x-amz-meta-reviewed"], "yes");
    assert!(head.get("x-amz-meta-author").is_none(), "replaced");
    assert_eq!(body(&alice, dst, "a/doc.txt").await, b"# hello");

    // A multipart object written through S3 is copied whole, and its copy
    // read back through S3.
    let part1 = pseudo_random(5 << 20, 11);
    let part2 = pseudo_random(1000, 13);
    let upload = s3
        .create_multipart_upload()
        .bucket(src)
        .key("parts.bin")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let id = upload.upload_id().expect("id");
    let mut done = CompletedMultipartUpload::builder();
    for (n, part) in [(1, &part1), (2, &part2)] {
        let etag = s3
            .upload_part()
            .bucket(src)
            .key("parts.bin")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(part.clone()))
            .send()
            .await
            .expect("UploadPart")
            .e_tag()
            .expect("etag")
            .to_owned();
        done = done.parts(CompletedPart::builder().part_number(n).e_tag(etag).build());
    }
    s3.complete_multipart_upload()
        .bucket(src)
        .key("parts.bin")
        .upload_id(id)
        .multipart_upload(done.build())
        .send()
        .await
        .expect("CompleteMultipartUpload");
    alice
        .copy_object((src, "parts.bin", None), dst, "parts.bin", false)
        .await
        .expect("copy")
        .expect("made");
    let got = s3
        .get_object()
        .bucket(dst)
        .key("parts.bin")
        .send()
        .await
        .expect("GetObject")
        .body
        .collect()
        .await
        .expect("body")
        .to_vec();
    assert_eq!(got, [part1, part2].concat());

    // Conditions: If-None-Match: * on the destination, x-amz-copy-source-if-*
    // on the source.
    let skipped = alice
        .copy_object((src, "doc.txt", None), dst, "a/doc.txt", true)
        .await
        .expect("answered");
    assert!(skipped.is_none(), "the destination exists");
    assert_eq!(body(&alice, dst, "a/doc.txt").await, b"# hello");
    let (status, json, _) = raw_put(
        &server,
        &alice_key.key,
        &format!("/storage/{dst}/cond.txt"),
        &[
            ("x-amz-copy-source", &format!("{src}/doc.txt")),
            (
                "x-amz-copy-source-if-match",
                "\"0123456789abcdef0123456789abcdef\"",
            ),
        ],
        b"",
    )
    .await;
    assert_eq!(
        (status, json["error"]["type"].as_str()),
        (412, Some("PRECONDITION_FAILED")),
        "{json}"
    );
    let (status, _, _) = raw_put(
        &server,
        &alice_key.key,
        &format!("/storage/{dst}/cond.txt"),
        &[
            ("x-amz-copy-source", &format!("{src}/doc.txt")),
            (
                "x-amz-copy-source-if-none-match",
                "\"0123456789abcdef0123456789abcdef\"",
            ),
        ],
        b"",
    )
    .await;
    assert_eq!(status, 200);

    // Versions: a version copied by id, and a previous version copied onto
    // its own key becomes the current one again.
    alice
        .set_bucket_versioning(src, "enabled")
        .await
        .expect("versioning");
    let v1 = alice
        .put_object(src, "v.txt", "one", None)
        .await
        .expect("PUT")
        .version_id
        .expect("id");
    alice
        .put_object(src, "v.txt", "two", None)
        .await
        .expect("PUT");
    let (status, json, headers) = raw_put(
        &server,
        &alice_key.key,
        &format!("/storage/{dst}/v1.txt"),
        &[("x-amz-copy-source", &format!("/{src}/v.txt?versionId={v1}"))],
        b"",
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(headers["x-amz-copy-source-version-id"], v1.as_str());
    assert_eq!(body(&alice, dst, "v1.txt").await, b"one");
    let restored = alice
        .copy_object((src, "v.txt", Some(&v1)), src, "v.txt", false)
        .await
        .expect("restore")
        .expect("made");
    assert_ne!(restored.version_id.as_deref(), Some(v1.as_str()));
    assert_eq!(body(&alice, src, "v.txt").await, b"one");

    // Keys that are not plain paths are copied exactly.
    for key in ["../../etc/passwd", "sp ace?x=1&y", "日本/語", "a%2Fb"] {
        alice
            .put_object(src, key, key.as_bytes().to_vec(), None)
            .await
            .expect("PUT");
        alice
            .copy_object((src, key, None), dst, &format!("keys/{key}"), false)
            .await
            .unwrap_or_else(|e| panic!("copy {key:?}: {e}"))
            .expect("made");
        assert_eq!(
            body(&alice, dst, &format!("keys/{key}")).await,
            key.as_bytes()
        );
    }
}

/// A refused copy: what it is, its headers, its body, the status and a
/// word the answer must say.
type BadCopy<'a> = (
    &'a str,
    Vec<(&'a str, &'a str)>,
    &'static [u8],
    u16,
    &'a str,
);

async fn bad_copies_change_nothing(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_key) = server.user("alice-bad-copies").await;
    let (bob, bob_key) = server.user("bob-bad-copies").await;
    let (src, dst) = ("bad-copy-src", "bad-copy-dst");
    alice
        .put_object(src, "k", "alice's", None)
        .await
        .expect("PUT");
    alice.create_bucket(dst).await.expect("mb");
    bob.put_object("bobs-bucket", "b", "bob's", None)
        .await
        .expect("PUT");
    let listing = |c: Client, b: &'static str| async move {
        c.list_objects(b, &Default::default())
            .await
            .expect("list")
            .objects
            .into_iter()
            .map(|o| o.key)
            .collect::<Vec<_>>()
    };
    let blobs = blobs_under(&objects_dir(&server)).len();

    let source = format!("{src}/k");
    let cases: Vec<BadCopy> = vec![
        (
            "a malformed source",
            vec![("x-amz-copy-source", "no-key")],
            b"",
            400,
            "bucket/key",
        ),
        (
            "an empty key",
            vec![("x-amz-copy-source", "bucket/")],
            b"",
            400,
            "bucket/key",
        ),
        (
            "a bad version id",
            vec![("x-amz-copy-source", "bad-copy-src/k?versionId=nope")],
            b"",
            400,
            "version id",
        ),
        (
            "another query",
            vec![("x-amz-copy-source", "bad-copy-src/k?acl")],
            b"",
            400,
            "versionId",
        ),
        (
            "not UTF-8",
            vec![("x-amz-copy-source", "bad-copy-src/%FF")],
            b"",
            400,
            "UTF-8",
        ),
        (
            "a body",
            vec![("x-amz-copy-source", &source)],
            b"data",
            400,
            "no body",
        ),
        (
            "metadata under COPY",
            vec![("x-amz-copy-source", &source), ("x-amz-meta-a", "1")],
            b"",
            400,
            "REPLACE",
        ),
        (
            "an unknown directive",
            vec![
                ("x-amz-copy-source", &source),
                ("x-amz-metadata-directive", "MERGE"),
            ],
            b"",
            400,
            "COPY or REPLACE",
        ),
        (
            "a range",
            vec![
                ("x-amz-copy-source", &source),
                ("x-amz-copy-source-range", "bytes=0-1"),
            ],
            b"",
            400,
            "UploadPartCopy",
        ),
        (
            "If-None-Match other than *",
            vec![("x-amz-copy-source", &source), ("if-none-match", "\"x\"")],
            b"",
            400,
            "If-None-Match",
        ),
        (
            "a missing source object",
            vec![("x-amz-copy-source", "bad-copy-src/nothing")],
            b"",
            404,
            "OBJECT_NOT_FOUND",
        ),
        (
            "a missing source bucket",
            vec![("x-amz-copy-source", "no-such-bucket-here/k")],
            b"",
            404,
            "BUCKET_NOT_FOUND",
        ),
        (
            "a missing version",
            vec![(
                "x-amz-copy-source",
                "bad-copy-src/k?versionId=0123456789abcdef0123456789abcdef",
            )],
            b"",
            404,
            "",
        ),
        (
            "another owner's source",
            vec![("x-amz-copy-source", "bobs-bucket/b")],
            b"",
            403,
            "FORBIDDEN",
        ),
    ];
    for (what, headers, body, status, says) in &cases {
        let (got, json, _) = raw_put(
            &server,
            &alice_key.key,
            &format!("/storage/{dst}/out"),
            headers,
            body,
        )
        .await;
        assert_eq!(got, *status, "{what}: {json}");
        assert!(json.to_string().contains(says), "{what}: {json}");
    }
    // Onto itself without a change or a version; into a missing bucket (a
    // copy does not create one) or another owner's.
    let (got, json, _) = raw_put(
        &server,
        &alice_key.key,
        &format!("/storage/{src}/k"),
        &[("x-amz-copy-source", &source)],
        b"",
    )
    .await;
    assert_eq!(got, 400, "{json}");
    assert!(json.to_string().contains("onto itself"), "{json}");
    let err = alice
        .copy_object((src, "k", None), "no-such-dst-bucket", "k", false)
        .await
        .expect_err("no destination bucket");
    assert_eq!(api_status(&err), (404, "BUCKET_NOT_FOUND".into()));
    let err = alice
        .copy_object((src, "k", None), "bobs-bucket", "stolen", false)
        .await
        .expect_err("another owner's bucket");
    assert_eq!(api_status(&err).0, 403);
    let err = bob
        .copy_object((src, "k", None), "bobs-bucket", "stolen", false)
        .await
        .expect_err("alice's object");
    assert_eq!(api_status(&err).0, 403);
    let (got, _, _) = raw_put(
        &server,
        &bob_key.key,
        "/storage/bobs-bucket/stolen",
        &[("x-amz-copy-source", &source)],
        b"",
    )
    .await;
    assert_eq!(got, 403);

    // Nothing was made anywhere.
    assert_eq!(listing(alice.clone(), dst).await, Vec::<String>::new());
    assert_eq!(listing(alice.clone(), src).await, ["k"]);
    assert_eq!(listing(bob.clone(), "bobs-bucket").await, ["b"]);
    assert_eq!(blobs_under(&objects_dir(&server)).len(), blobs);
}
