//! Bucket versioning on the native API (`?versioning`, `?versions`,
//! `version_id=`), against the real server, real files and both databases,
//! with `aws-sdk-s3` reading the same versions through the S3 endpoint:
//! the state set and read, versions written, listed (paged, with prefix and
//! delimiter), read and deleted by id, delete markers, a suspended bucket's
//! `null` version, the blobs on disk, bad input and another owner.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use common::{blobs_under, objects_dir, s3_client};
use miniaws_client::{Client, ClientError, ListObjectsParams, VersionInfo};
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

on_both_backends!(
    versions_through_the_native_api,
    version_listings_page_with_prefix_and_delimiter,
    bad_input_and_other_owners,
);

fn api_status(err: &ClientError) -> (u16, String) {
    (
        err.status().map(|s| s.as_u16()).unwrap_or(0),
        err.kind().unwrap_or("").to_owned(),
    )
}

async fn body(client: &Client, bucket: &str, key: &str, version: Option<&str>) -> Vec<u8> {
    client
        .get_object_at(bucket, key, version, None, None)
        .await
        .unwrap_or_else(|e| panic!("GET {bucket}/{key} {version:?}: {e}"))
        .bytes()
        .await
        .expect("body")
}

async fn every_version(client: &Client, bucket: &str, limit: Option<u32>) -> Vec<VersionInfo> {
    let mut params = ListObjectsParams {
        limit,
        ..ListObjectsParams::default()
    };
    let mut out = Vec::new();
    loop {
        let page = client.list_versions(bucket, &params).await.expect("list");
        if let Some(limit) = limit {
            assert!(
                page.versions.len() <= limit as usize,
                "a page holds at most the limit"
            );
        }
        out.extend(page.versions);
        match page.next_cursor {
            Some(c) => params.cursor = Some(c),
            None => return out,
        }
    }
}

/// (key, version id, latest, marker) of a listing.
fn shape(versions: &[VersionInfo]) -> Vec<(String, String, bool, bool)> {
    versions
        .iter()
        .map(|v| {
            (
                v.key.clone(),
                v.version_id.clone(),
                v.is_latest,
                v.delete_marker,
            )
        })
        .collect()
}

async fn versions_through_the_native_api(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, key) = server.user("alice").await;
    let s3 = s3_client(&server, &key);
    let b = "native-versions";

    // Never versioned: one object per key, no version id anywhere.
    let first = alice.put_object(b, "k", "one", None).await.unwrap();
    assert_eq!(first.version_id, None, "no version id before versioning");
    let state = alice.bucket_versioning(b).await.unwrap();
    assert_eq!(state.status, "unversioned");
    let listed = every_version(&alice, b, None).await;
    assert_eq!(
        shape(&listed),
        [("k".into(), "null".into(), true, false)],
        "an unversioned object is its null version"
    );

    // Enabled: every write is a version of its own.
    let state = alice.set_bucket_versioning(b, "enabled").await.unwrap();
    assert_eq!(
        (state.bucket.as_str(), state.status.as_str()),
        (b, "enabled")
    );
    assert_eq!(alice.bucket_versioning(b).await.unwrap().status, "enabled");
    let two = alice.put_object(b, "k", "two", None).await.unwrap();
    let three = alice.put_object(b, "k", "three!", None).await.unwrap();
    let (v2, v3) = (two.version_id.unwrap(), three.version_id.unwrap());
    assert_ne!(v2, v3);
    for v in [&v2, &v3] {
        assert!(
            v.len() == 32 && v.bytes().all(|c| c.is_ascii_hexdigit()),
            "{v}"
        );
    }
    let listed = every_version(&alice, b, None).await;
    assert_eq!(
        shape(&listed),
        [
            ("k".into(), v3.clone(), true, false),
            ("k".into(), v2.clone(), false, false),
            ("k".into(), "null".into(), false, false),
        ]
    );
    assert_eq!(listed[0].size_bytes, 6);
    assert_eq!(listed[0].etag.as_deref(), Some(three.etag.as_str()));
    assert_eq!(listed[2].etag.as_deref(), Some(first.etag.as_str()));

    // Each version reads back by its id, and names itself.
    for (version, want) in [
        (Some(v2.as_str()), "two"),
        (Some("null"), "one"),
        (None, "three!"),
    ] {
        let got = alice
            .get_object_at(b, "k", version, None, None)
            .await
            .unwrap();
        let named = got.header("x-amz-version-id").map(str::to_owned);
        assert_eq!(
            named.as_deref(),
            Some(version.unwrap_or(&v3)),
            "{version:?}"
        );
        assert_eq!(got.bytes().await.unwrap(), want.as_bytes(), "{version:?}");
    }
    // A ranged read of an old version.
    let part = alice
        .get_object_at(b, "k", Some(&v2), Some("bytes=1-"), None)
        .await
        .unwrap();
    assert_eq!(part.status.as_u16(), 206);
    assert_eq!(part.bytes().await.unwrap(), b"wo");

    // The S3 endpoint sees the same versions.
    let out = s3
        .get_object()
        .bucket(b)
        .key("k")
        .version_id(&v2)
        .send()
        .await
        .expect("S3 read by id");
    assert_eq!(out.version_id(), Some(v2.as_str()));
    let bytes = out.body.collect().await.unwrap().into_bytes();
    assert_eq!(&bytes[..], b"two");
    let s3_ids: Vec<String> = s3
        .list_object_versions()
        .bucket(b)
        .send()
        .await
        .unwrap()
        .versions()
        .iter()
        .map(|v| v.version_id().unwrap_or("").to_owned())
        .collect();
    assert_eq!(s3_ids, [v3.clone(), v2.clone(), "null".to_owned()]);
    // And a version written through S3 is listed here.
    let put = s3
        .put_object()
        .bucket(b)
        .key("from-s3")
        .body(ByteStream::from_static(b"s3"))
        .send()
        .await
        .unwrap();
    let s3_version = put.version_id().expect("a version id").to_owned();
    assert_eq!(body(&alice, b, "from-s3", Some(&s3_version)).await, b"s3");

    // A delete without an id inserts a marker: the key is hidden, not gone.
    let deleted = alice.delete_object_at(b, "k", None).await.unwrap();
    assert!(deleted.delete_marker);
    let marker = deleted.version_id.expect("the marker's id");
    let err = alice.get_object(b, "k", None, None).await.unwrap_err();
    assert_eq!(api_status(&err), (404, "OBJECT_NOT_FOUND".into()));
    assert!(
        err.to_string().contains(&format!(
            "k was deleted: its latest version is a delete marker (version {marker})"
        )),
        "{err}"
    );
    let objects = alice
        .list_objects(b, &ListObjectsParams::default())
        .await
        .unwrap();
    assert_eq!(
        objects
            .objects
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        ["from-s3"],
        "the object listing leaves the hidden key out"
    );
    let err = alice
        .get_object_at(b, "k", Some(&marker), None, None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), (405, "METHOD_NOT_ALLOWED".into()));
    assert!(
        err.to_string()
            .contains(&format!("version {marker} of k is a delete marker")),
        "{err}"
    );
    assert_eq!(body(&alice, b, "k", Some(&v3)).await, b"three!");
    let listed = every_version(&alice, b, None).await;
    assert_eq!(
        shape(&listed)[..2],
        [
            ("from-s3".into(), s3_version.clone(), true, false),
            ("k".into(), marker.clone(), true, true),
        ]
    );
    assert_eq!(listed[1].etag, None);

    // Removing the marker by its id brings the key back.
    let removed = alice.delete_object_at(b, "k", Some(&marker)).await.unwrap();
    assert_eq!(removed.version_id.as_deref(), Some(marker.as_str()));
    assert!(removed.delete_marker);
    assert_eq!(body(&alice, b, "k", None).await, b"three!");

    // A version deleted by id is gone for good, with its bytes.
    let blobs_before = blobs_under(&objects_dir(&server)).len();
    let removed = alice.delete_object_at(b, "k", Some(&v2)).await.unwrap();
    assert_eq!(removed.version_id.as_deref(), Some(v2.as_str()));
    assert!(!removed.delete_marker);
    let err = alice
        .get_object_at(b, "k", Some(&v2), None, None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), (404, "VERSION_NOT_FOUND".into()));
    let err = alice.delete_object_at(b, "k", Some(&v2)).await.unwrap_err();
    assert_eq!(
        api_status(&err),
        (404, "VERSION_NOT_FOUND".into()),
        "the native DELETE of what is not there is 404, as for objects"
    );
    assert_eq!(blobs_under(&objects_dir(&server)).len(), blobs_before - 1);

    // Suspended: a write replaces the null version, the others stay.
    let state = alice.set_bucket_versioning(b, "suspended").await.unwrap();
    assert_eq!(state.status, "suspended");
    let four = alice.put_object(b, "k", "four", None).await.unwrap();
    assert_eq!(
        four.version_id.as_deref(),
        Some("null"),
        "named `null`, as S3 does"
    );
    let listed = every_version(&alice, b, None).await;
    let k: Vec<_> = shape(&listed).into_iter().filter(|v| v.0 == "k").collect();
    assert_eq!(
        k,
        [
            ("k".into(), "null".into(), true, false),
            ("k".into(), v3.clone(), false, false),
        ],
        "the old null version was replaced"
    );
    assert_eq!(body(&alice, b, "k", Some("null")).await, b"four");

    // A bucket with versions is not empty; emptied version by version, it
    // can be removed.
    // It says where they are listed, in the native API's terms too.
    let err = alice.delete_bucket(b).await.unwrap_err();
    assert_eq!(api_status(&err).0, 409);
    assert!(
        err.to_string()
            .contains(&format!("GET /storage/{b}?versions")),
        "{err}"
    );
    for v in every_version(&alice, b, None).await {
        alice
            .delete_object_at(b, &v.key, Some(&v.version_id))
            .await
            .unwrap();
    }
    assert!(every_version(&alice, b, None).await.is_empty());
    alice.delete_bucket(b).await.expect("empty now");
    assert!(
        blobs_under(&objects_dir(&server)).is_empty(),
        "no blob outlives its version"
    );
}

async fn version_listings_page_with_prefix_and_delimiter(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let b = "native-version-pages";
    alice.create_bucket(b).await.unwrap();
    alice.set_bucket_versioning(b, "enabled").await.unwrap();
    // 12 keys, 3 versions each, and a delete marker on every third key.
    for i in 0..12 {
        let key = format!("{}/k{i:02}", if i % 2 == 0 { "even" } else { "odd" });
        for round in 0..3 {
            alice
                .put_object(b, &key, format!("{key} {round}"), None)
                .await
                .unwrap();
        }
        if i % 3 == 0 {
            alice.delete_object(b, &key).await.unwrap();
        }
    }
    let whole = every_version(&alice, b, None).await;
    assert_eq!(whole.len(), 12 * 3 + 4);
    let mut keys: Vec<&str> = whole.iter().map(|v| v.key.as_str()).collect();
    keys.dedup();
    assert_eq!(keys.len(), 12, "by key, each key's versions together");
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys in byte order");
    for key in keys {
        let of_key: Vec<&VersionInfo> = whole.iter().filter(|v| v.key == key).collect();
        assert!(of_key[0].is_latest && of_key[1..].iter().all(|v| !v.is_latest));
        assert!(
            of_key
                .windows(2)
                .all(|w| w[0].last_modified >= w[1].last_modified),
            "newest first"
        );
    }
    // Every page size gives the same listing, a page ending anywhere
    // (between two versions of a key, too).
    for limit in [1, 2, 5, 7] {
        assert_eq!(
            shape(&every_version(&alice, b, Some(limit)).await),
            shape(&whole),
            "limit {limit}"
        );
    }
    // A prefix, and a delimiter's common prefixes.
    let odd = alice
        .list_versions(
            b,
            &ListObjectsParams {
                prefix: Some("odd/".into()),
                ..ListObjectsParams::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        shape(&odd.versions),
        shape(&whole)
            .into_iter()
            .filter(|v| v.0.starts_with("odd/"))
            .collect::<Vec<_>>()
    );
    let rolled = alice
        .list_versions(
            b,
            &ListObjectsParams {
                delimiter: Some("/".into()),
                ..ListObjectsParams::default()
            },
        )
        .await
        .unwrap();
    assert!(rolled.versions.is_empty());
    assert_eq!(rolled.common_prefixes, ["even/", "odd/"]);
    assert_eq!(rolled.next_cursor, None);
    // One common prefix a page: the cursor of a page that ends on one
    // skips everything under it.
    let mut params = ListObjectsParams {
        delimiter: Some("/".into()),
        limit: Some(1),
        ..ListObjectsParams::default()
    };
    let mut pages = Vec::new();
    loop {
        let page = alice.list_versions(b, &params).await.unwrap();
        assert!(page.versions.is_empty());
        pages.push(page.common_prefixes);
        match page.next_cursor {
            Some(c) => params.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, [vec!["even/".to_owned()], vec!["odd/".to_owned()]]);
}

async fn bad_input_and_other_owners(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_key) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let b = "native-version-input";
    alice.put_object(b, "k", "one", None).await.unwrap();
    alice.set_bucket_versioning(b, "enabled").await.unwrap();
    let v = alice
        .put_object(b, "k", "two", None)
        .await
        .unwrap()
        .version_id
        .unwrap();

    // Raw requests, for what the client never sends.
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{}{path}", server.url()))
            .header("x-api-key", &alice_key.key)
            .send()
    };
    let cases = [
        (
            reqwest::Method::GET,
            format!("/storage/{b}/k?version_id=nope"),
            400,
            "version_id",
        ),
        (
            reqwest::Method::GET,
            format!("/storage/{b}/k?version_id="),
            400,
            "version_id",
        ),
        (
            reqwest::Method::HEAD,
            format!("/storage/{b}/k?version_id=NULL"),
            400,
            "",
        ),
        (
            reqwest::Method::DELETE,
            format!("/storage/{b}/k?version_id=1234"),
            400,
            "version_id",
        ),
        (
            reqwest::Method::GET,
            format!("/storage/{b}/k?version_id=0123456789abcdef0123456789abcdef"),
            404,
            "VERSION_NOT_FOUND",
        ),
        (
            reqwest::Method::PUT,
            format!("/storage/{b}?versioning=off"),
            400,
            "enabled",
        ),
        (
            reqwest::Method::PUT,
            format!("/storage/{b}?versioning="),
            400,
            "enabled",
        ),
        (
            reqwest::Method::PUT,
            "/storage/no-such-bucket-here?versioning=enabled".to_owned(),
            404,
            "BUCKET_NOT_FOUND",
        ),
        (
            reqwest::Method::GET,
            format!("/storage/{b}?versioning&prefix=a"),
            400,
            "no other",
        ),
        (
            reqwest::Method::GET,
            format!("/storage/{b}?versions=yes"),
            400,
            "versions",
        ),
        (
            reqwest::Method::GET,
            format!("/storage/{b}?versions&cursor=garbage"),
            400,
            "cursor",
        ),
        (
            reqwest::Method::GET,
            format!("/storage/{b}?versions&cursor=c1.6b"),
            400,
            "cursor",
        ),
        (
            reqwest::Method::GET,
            format!("/storage/{b}?versions&limit=0"),
            400,
            "limit",
        ),
        (
            reqwest::Method::GET,
            format!("/storage/{b}?versions&limit=1001"),
            400,
            "limit",
        ),
        (
            reqwest::Method::GET,
            format!("/storage/{b}?versions&colour=red"),
            400,
            "colour",
        ),
    ];
    for (method, path, status, needle) in cases {
        let res = send(method.clone(), &path).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{method} {path}");
        let text = res.text().await.unwrap();
        assert!(text.contains(needle), "{method} {path}: {text}");
    }
    // None of that changed anything.
    assert_eq!(alice.bucket_versioning(b).await.unwrap().status, "enabled");
    assert_eq!(every_version(&alice, b, None).await.len(), 2);
    // A plain PUT of an existing bucket still answers as before; one with
    // ?versioning never creates a bucket.
    alice
        .create_bucket(b)
        .await
        .expect("idempotent for its owner");
    assert!(
        alice
            .list_buckets()
            .await
            .unwrap()
            .iter()
            .all(|x| x.name != "no-such-bucket-here")
    );

    // Another owner learns nothing and changes nothing.
    let forbidden = |r: Result<(), ClientError>, what: &str| {
        let err = r.expect_err(what);
        assert_eq!(api_status(&err), (403, "FORBIDDEN".into()), "{what}");
    };
    forbidden(bob.bucket_versioning(b).await.map(drop), "state");
    forbidden(
        bob.set_bucket_versioning(b, "suspended").await.map(drop),
        "suspend",
    );
    forbidden(
        bob.list_versions(b, &ListObjectsParams::default())
            .await
            .map(drop),
        "list versions",
    );
    forbidden(
        bob.get_object_at(b, "k", Some(&v), None, None)
            .await
            .map(drop),
        "read a version",
    );
    forbidden(
        bob.get_object_at(b, "k", Some("null"), None, None)
            .await
            .map(drop),
        "read the null version",
    );
    forbidden(
        bob.delete_object_at(b, "k", Some(&v)).await.map(drop),
        "delete a version",
    );
    assert_eq!(alice.bucket_versioning(b).await.unwrap().status, "enabled");
    assert_eq!(every_version(&alice, b, None).await.len(), 2);
    assert_eq!(body(&alice, b, "k", Some(&v)).await, b"two");
}
