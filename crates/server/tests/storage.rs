//! The native storage API against the real server, real files, and both
//! databases: round trips, ranges, conditional reads, listings, hostile
//! keys, crash safety, concurrent writes, interrupted uploads, ownership and
//! the size limit.

use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use md5::{Digest, Md5};
use miniaws_client::{Client, ClientError, ListObjectsParams};
use miniaws_testkit::{Backend, TestServer};
use reqwest::StatusCode;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Runs `$name(Backend)` as one test per backend.
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
    round_trips_ranges_and_conditions,
    listing_with_prefix_delimiter_and_pages,
    hostile_keys_stay_inside_the_object_store,
    crash_mid_upload_leaves_the_previous_version,
    concurrent_puts_to_one_key_leave_exactly_one,
    concurrent_puts_to_many_keys_all_commit,
    interrupted_upload_commits_nothing,
    other_users_are_locked_out,
    bucket_lists_page_by_name,
    size_limit_and_errors,
    conditional_puts_are_atomic,
    conditional_deletes,
);

const CHUNK: usize = 256 * 1024;

/// A deterministic pseudo-random body of `len` bytes, generated on the fly
/// in chunks (never held whole in memory).
fn generated(len: u64, seed: u64) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut left = len;
    stream::iter(std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(CHUNK as u64) as usize;
        left -= n as u64;
        let mut chunk = Vec::with_capacity(n);
        while chunk.len() < n {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let word = state.to_le_bytes();
            chunk.extend_from_slice(&word[..(n - chunk.len()).min(8)]);
        }
        Some(Ok(Bytes::from(chunk)))
    }))
}

async fn md5_of(mut s: impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin) -> (String, u64) {
    let mut h = Md5::new();
    let mut n = 0u64;
    while let Some(chunk) = s.next().await {
        let chunk = chunk.unwrap();
        n += chunk.len() as u64;
        h.update(&chunk);
    }
    (hex(&h.finalize()), n)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn download_md5(client: &Client, bucket: &str, key: &str) -> (String, u64) {
    let dl = client.get_object(bucket, key, None, None).await.unwrap();
    let body = dl.body.map(|c| c.map_err(std::io::Error::other));
    md5_of(Box::pin(body)).await
}

async fn start(backend: Backend) -> Option<TestServer> {
    TestServer::start(backend).await
}

fn objects_dir(server: &TestServer) -> PathBuf {
    server.data_dir().join("data").join("objects")
}

/// Every regular file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn temporaries(server: &TestServer) -> Vec<PathBuf> {
    files_under(&objects_dir(server).join("tmp"))
}

fn blobs(server: &TestServer) -> Vec<PathBuf> {
    let tmp = objects_dir(server).join("tmp");
    files_under(&objects_dir(server))
        .into_iter()
        .filter(|p| !p.starts_with(&tmp))
        .collect()
}

/// The server's peak resident set so far, in bytes (Linux `VmHWM`).
fn peak_rss(server: &TestServer) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.pid().unwrap())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

fn api_status(err: &ClientError) -> (u16, String) {
    (
        err.status().map(|s| s.as_u16()).unwrap_or(0),
        err.kind().unwrap_or("").to_owned(),
    )
}

/// The `Last-Modified` of `rtrip/doc.txt`.
async fn dl_last_modified(client: &miniaws_client::Client) -> String {
    let dl = client
        .get_object("rtrip", "doc.txt", None, None)
        .await
        .unwrap();
    dl.header("last-modified")
        .expect("Last-Modified")
        .to_owned()
}

async fn round_trips_ranges_and_conditions(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;

    for (len, seed) in [(0u64, 1u64), (1, 2), (1 << 20, 3)] {
        let key = format!("sizes/{len}.bin");
        let (md5, _) = md5_of(Box::pin(generated(len, seed))).await;
        let info = alice
            .put_object_stream("rtrip", &key, generated(len, seed), Some(len), None)
            .await
            .unwrap();
        assert_eq!(info.size_bytes, len);
        assert_eq!(info.etag, format!("\"{md5}\""), "ETag is the quoted MD5");
        assert_eq!(info.content_type, "application/octet-stream");
        assert_eq!(
            download_md5(&alice, "rtrip", &key).await,
            (md5, len),
            "{len} bytes"
        );
    }

    // 100 MiB, streamed both ways, chunked upload (no Content-Length); the
    // server's RSS must not grow by anything like the body.
    let big = 100u64 << 20;
    let before = peak_rss(&server);
    let (md5, _) = md5_of(Box::pin(generated(big, 9))).await;
    let info = alice
        .put_object_stream("rtrip", "big.bin", generated(big, 9), None, None)
        .await
        .unwrap();
    assert_eq!(
        (info.size_bytes, info.etag.clone()),
        (big, format!("\"{md5}\""))
    );
    assert_eq!(download_md5(&alice, "rtrip", "big.bin").await, (md5, big));
    let growth = peak_rss(&server).saturating_sub(before);
    assert!(growth < 64 << 20, "RSS grew by {} MiB", growth >> 20);

    // Headers of a download; Content-Type as sent; guessed from the key.
    alice
        .put_object("rtrip", "doc.txt", "0123456789", Some("text/x-custom"))
        .await
        .unwrap();
    alice
        .put_object("rtrip", "page.html", "<p>", None)
        .await
        .unwrap();
    let dl = alice
        .get_object("rtrip", "doc.txt", None, None)
        .await
        .unwrap();
    assert_eq!(dl.status, StatusCode::OK);
    assert_eq!(dl.header("content-type"), Some("text/x-custom"));
    assert_eq!(dl.header("content-length"), Some("10"));
    assert_eq!(dl.header("accept-ranges"), Some("bytes"));
    assert!(
        dl.header("last-modified")
            .is_some_and(|v| v.ends_with(" GMT"))
    );
    let etag = dl.header("etag").unwrap().to_owned();
    assert_eq!(etag, "\"781e5e245d69b566979b86e28d23f2c7\"");
    assert_eq!(dl.bytes().await.unwrap(), b"0123456789");
    let html = alice
        .get_object("rtrip", "page.html", None, None)
        .await
        .unwrap();
    assert_eq!(html.header("content-type"), Some("text/html"));

    // Ranges: 206 with Content-Range, 416 with bytes */size.
    for (range, body, content_range) in [
        ("bytes=2-4", &b"234"[..], "bytes 2-4/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-2", b"89", "bytes 8-9/10"),
        ("bytes=5-100", b"56789", "bytes 5-9/10"),
    ] {
        let dl = alice
            .get_object("rtrip", "doc.txt", Some(range), None)
            .await
            .unwrap();
        assert_eq!(dl.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(dl.header("content-range"), Some(content_range), "{range}");
        assert_eq!(dl.bytes().await.unwrap(), body, "{range}");
    }
    let res = alice
        .request(reqwest::Method::GET, "/storage/rtrip/doc.txt")
        .header("range", "bytes=10-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(res.headers()["content-range"], "bytes */10");
    // If-Range: the range while the validator is the object's (its ETag,
    // or its Last-Modified exactly), else the whole object, 200.
    let last_modified = dl_last_modified(&alice).await;
    for (if_range, ranged) in [
        (etag.as_str(), true),
        (last_modified.as_str(), true),
        ("\"0123456789abcdef0123456789abcdef\"", false),
        (&*format!("W/{etag}"), false),
        ("Thu, 01 Jan 2015 00:00:00 GMT", false),
        ("garbage", false),
    ] {
        let res = alice
            .request(reqwest::Method::GET, "/storage/rtrip/doc.txt")
            .header("range", "bytes=2-4")
            .header("if-range", if_range)
            .send()
            .await
            .unwrap();
        let (status, body) = if ranged {
            (StatusCode::PARTIAL_CONTENT, &b"234"[..])
        } else {
            (StatusCode::OK, &b"0123456789"[..])
        };
        assert_eq!(res.status(), status, "If-Range: {if_range}");
        assert_eq!(res.bytes().await.unwrap(), body, "If-Range: {if_range}");
    }
    // A range inside the 100 MiB object, far from the start.
    let dl = alice
        .get_object("rtrip", "big.bin", Some("bytes=73400320-73400330"), None)
        .await
        .unwrap();
    let mut expected = Vec::new();
    let mut s = Box::pin(generated(big, 9));
    let mut offset = 0u64;
    while let Some(chunk) = s.next().await {
        let chunk = chunk.unwrap();
        let end = offset + chunk.len() as u64;
        if end > 73_400_320 && offset <= 73_400_330 {
            for (i, b) in chunk.iter().enumerate() {
                let pos = offset + i as u64;
                if (73_400_320..=73_400_330).contains(&pos) {
                    expected.push(*b);
                }
            }
        }
        offset = end;
    }
    assert_eq!(dl.bytes().await.unwrap(), expected);

    // If-None-Match: 304 with the ETag; a different ETag gets the body.
    let dl = alice
        .get_object("rtrip", "doc.txt", None, Some(&etag))
        .await
        .unwrap();
    assert_eq!(dl.status, StatusCode::NOT_MODIFIED);
    assert_eq!(dl.header("etag"), Some(etag.as_str()));
    assert!(dl.bytes().await.unwrap().is_empty());
    let dl = alice
        .get_object("rtrip", "doc.txt", None, Some("\"other\""))
        .await
        .unwrap();
    assert_eq!(dl.status, StatusCode::OK);

    // HEAD: the same headers, no body.
    let head = alice.head_object("rtrip", "doc.txt").await.unwrap();
    assert_eq!(head["content-length"], "10");
    assert_eq!(head["etag"], etag.as_str());
    assert_eq!(head["content-type"], "text/x-custom");

    // User metadata comes back as x-amz-meta-*.
    let res = alice
        .request(reqwest::Method::PUT, "/storage/rtrip/meta")
        .header("x-amz-meta-color", "blue")
        .body("m")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let head = alice.head_object("rtrip", "meta").await.unwrap();
    assert_eq!(head["x-amz-meta-color"], "blue");

    // Overwrite, then delete: the key is writable again at once, and the
    // blobs on disk follow the rows.
    let before = blobs(&server).len();
    alice
        .put_object("rtrip", "doc.txt", "v2", None)
        .await
        .unwrap();
    assert_eq!(
        blobs(&server).len(),
        before,
        "the old version's blob is removed"
    );
    alice.delete_object("rtrip", "doc.txt").await.unwrap();
    assert_eq!(blobs(&server).len(), before - 1);
    let err = alice
        .get_object("rtrip", "doc.txt", None, None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), (404, "OBJECT_NOT_FOUND".into()));
    alice
        .put_object("rtrip", "doc.txt", "v3", None)
        .await
        .unwrap();
    let dl = alice
        .get_object("rtrip", "doc.txt", None, None)
        .await
        .unwrap();
    assert_eq!(dl.bytes().await.unwrap(), b"v3");
}

async fn list_all(
    client: &Client,
    bucket: &str,
    params: ListObjectsParams,
) -> (Vec<String>, Vec<String>, usize) {
    let mut keys = Vec::new();
    let mut prefixes = Vec::new();
    let mut pages = 0;
    let mut params = params;
    loop {
        let page = client.list_objects(bucket, &params).await.unwrap();
        pages += 1;
        keys.extend(page.objects.into_iter().map(|o| o.key));
        prefixes.extend(page.common_prefixes);
        match page.next_cursor {
            Some(c) => params.cursor = Some(c),
            None => break,
        }
    }
    (keys, prefixes, pages)
}

async fn listing_with_prefix_delimiter_and_pages(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    // 2,000 keys: 20 directories of 100, uploaded 16 at a time.
    let keys: Vec<String> = (0..2000)
        .map(|i| format!("dir{:02}/file{:03}", i % 20, i / 20))
        .collect();
    stream::iter(keys.clone())
        .map(|k| {
            let c = alice.clone();
            async move { c.put_object("many", &k, Bytes::new(), None).await.unwrap() }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    alice
        .put_object("many", "top.txt", "t", None)
        .await
        .unwrap();

    let mut sorted = keys.clone();
    sorted.push("top.txt".into());
    sorted.sort();
    let (all, _, pages) = list_all(
        &alice,
        "many",
        ListObjectsParams {
            limit: Some(300),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(all, sorted);
    assert_eq!(pages, 7);

    let (in_dir, _, _) = list_all(
        &alice,
        "many",
        ListObjectsParams {
            prefix: Some("dir07/".into()),
            limit: Some(33),
            ..Default::default()
        },
    )
    .await;
    let expected: Vec<String> = sorted
        .iter()
        .filter(|k| k.starts_with("dir07/"))
        .cloned()
        .collect();
    assert_eq!(in_dir, expected);
    assert_eq!(in_dir.len(), 100);

    let (top, prefixes, pages) = list_all(
        &alice,
        "many",
        ListObjectsParams {
            delimiter: Some("/".into()),
            limit: Some(7),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(top, ["top.txt"]);
    // The answer as sent: JSON, said so, whole.
    let res = alice
        .request(reqwest::Method::GET, "/storage/many?prefix=dir07/&limit=2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let page: serde_json::Value = res.json().await.unwrap();
    assert_eq!(page["data"]["objects"][1]["key"], "dir07/file001");
    assert_eq!(page["data"]["objects"].as_array().map(Vec::len), Some(2));
    let expected: Vec<String> = (0..20).map(|d| format!("dir{d:02}/")).collect();
    assert_eq!(prefixes, expected);
    assert_eq!(pages, 3, "21 entries in pages of 7");

    let err = alice
        .list_objects(
            "many",
            &ListObjectsParams {
                cursor: Some("garbage".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(api_status(&err).0, 400);
    let err = alice
        .list_objects(
            "many",
            &ListObjectsParams {
                limit: Some(1001),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(api_status(&err).0, 400);
}

async fn hostile_keys_stay_inside_the_object_store(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (alice, alice_key) = server.user("alice").await;
    let long = "x".repeat(1024);
    let long_unicode = "ü".repeat(512);
    let keys = [
        "../../etc/passwd",
        "../../../../../../tmp/escaped",
        "a/../../b",
        "%2e%2e/%2e%2e/encoded",
        "..%2f..%2fencoded",
        "/leading/slash",
        "trailing/",
        "double//slash",
        "nul\0byte",
        "\0",
        "日本語/😀/ключ",
        "back\\slash\\..\\..",
        "space and + plus ? hash # percent %",
        long.as_str(),
        long_unicode.as_str(),
    ];
    for (i, key) in keys.iter().enumerate() {
        let body = format!("body {i}");
        let info = alice
            .put_object("hostile", key, body.clone(), None)
            .await
            .unwrap();
        assert_eq!(info.key, *key, "stored exactly");
        let dl = alice.get_object("hostile", key, None, None).await.unwrap();
        assert_eq!(dl.bytes().await.unwrap(), body.as_bytes(), "key {key:?}");
    }
    // Too long: the client refuses it before sending, and the server
    // refuses it from a client that does not check.
    let err = alice
        .put_object("hostile", &"x".repeat(1025), "too long", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::InvalidName(_)) && err.to_string().contains("1025 bytes"),
        "{err:?}"
    );
    let res = reqwest::Client::new()
        .put(format!(
            "{}/storage/hostile/{}",
            server.url(),
            "x".repeat(1025)
        ))
        .header("x-api-key", &alice_key.key)
        .body("too long")
        .send()
        .await
        .expect("the server answers");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let (listed, _, _) = list_all(&alice, "hostile", ListObjectsParams::default()).await;
    let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected, "listed exactly, in byte order");

    // Nothing outside <data-dir>/objects/ besides the database, the
    // secrets key file and the server's id, and inside only id-named blobs.
    let data = server.data_dir().join("data");
    for path in files_under(&data) {
        let rel = path.strip_prefix(&data).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        assert!(
            first == "objects"
                || first.starts_with("miniaws.db")
                || first == "sigv4-secrets.key"
                || first == "server-id"
                || first == "lock"
                || first == "database-id",
            "unexpected file {rel:?}"
        );
    }
    let names: Vec<String> = blobs(&server)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), keys.len());
    assert!(
        names
            .iter()
            .all(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit())),
        "{names:?}"
    );
    // Nothing escaped next to the server's directories either.
    let parent: BTreeSet<String> = std::fs::read_dir(server.data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        parent
            .iter()
            .all(|n| n == "data" || n == "server.log" || n.starts_with("miniaws.db")),
        "{parent:?}"
    );
    assert!(!Path::new("/tmp/escaped").exists());
}

/// Starts an upload of `len` bytes that sends `sent` bytes and then stalls
/// (the connection stays open); returns the socket to keep it alive.
async fn stalled_upload(
    server: &TestServer,
    api_key: &str,
    path: &str,
    len: u64,
    sent: usize,
) -> tokio::net::TcpStream {
    let mut sock = tokio::net::TcpStream::connect(server.native).await.unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nX-API-Key: {api_key}\r\nContent-Length: {len}\r\n\r\n",
        server.native
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![0xabu8; 64 * 1024];
    let mut left = sent;
    while left > 0 {
        let n = left.min(chunk.len());
        sock.write_all(&chunk[..n]).await.unwrap();
        left -= n;
    }
    sock.flush().await.unwrap();
    sock
}

/// Waits until a temporary of at least `min` bytes exists.
async fn wait_for_temporary(server: &TestServer, min: u64) {
    for _ in 0..500 {
        if temporaries(server)
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() >= min))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no temporary file appeared: {:?}", temporaries(server));
}

async fn crash_mid_upload_leaves_the_previous_version(backend: Backend) {
    let Some(mut server) = start(backend).await else {
        return;
    };
    let (alice, key) = server.user("alice").await;
    alice
        .put_object("crash", "doc", "version one", None)
        .await
        .unwrap();
    alice
        .put_object("crash", "other", "untouched", None)
        .await
        .unwrap();

    // Two large uploads in flight: over an existing key and a new one.
    let over = stalled_upload(&server, &key.key, "/storage/crash/doc", 64 << 20, 8 << 20).await;
    let fresh = stalled_upload(&server, &key.key, "/storage/crash/new", 64 << 20, 8 << 20).await;
    wait_for_temporary(&server, 4 << 20).await;
    // An orphan blob, as if a crash struck between rename and commit.
    let orphan = objects_dir(&server)
        .join("00")
        .join("11")
        .join("00112233445566778899aabbccddeeff");
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"orphan").unwrap();

    server.kill().await;
    drop((over, fresh));
    assert!(
        !temporaries(&server).is_empty(),
        "the crash left a temporary behind"
    );
    server.restart().await;
    let alice = server.client().with_api_key(key.key.clone());

    let dl = alice.get_object("crash", "doc", None, None).await.unwrap();
    assert_eq!(
        dl.bytes().await.unwrap(),
        b"version one",
        "the previous version survives"
    );
    let err = alice
        .get_object("crash", "new", None, None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), (404, "OBJECT_NOT_FOUND".into()));
    let (listed, _, _) = list_all(&alice, "crash", ListObjectsParams::default()).await;
    assert_eq!(listed, ["doc", "other"]);
    assert!(
        temporaries(&server).is_empty(),
        "start-up removed the temporaries"
    );
    assert!(!orphan.exists(), "start-up removed the orphan blob");
    assert_eq!(
        blobs(&server).len(),
        2,
        "one blob per row: {:?}",
        blobs(&server)
    );
    // And the store still works.
    alice
        .put_object("crash", "doc", "version two", None)
        .await
        .unwrap();
    let dl = alice.get_object("crash", "doc", None, None).await.unwrap();
    assert_eq!(dl.bytes().await.unwrap(), b"version two");
}

async fn concurrent_puts_to_one_key_leave_exactly_one(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    alice.create_bucket("race").await.unwrap();
    let mut expected = HashSet::new();
    for i in 0..50u64 {
        let (md5, len) = md5_of(Box::pin(generated(10_000 + i * 997, i))).await;
        expected.insert((md5, len));
    }
    let results: Vec<_> = stream::iter(0..50u64)
        .map(|i| {
            let c = alice.clone();
            async move {
                let len = 10_000 + i * 997;
                c.put_object_stream("race", "k", generated(len, i), Some(len), None)
                    .await
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    for r in &results {
        assert!(r.is_ok(), "every PUT succeeds: {r:?}");
    }
    let dl = alice.get_object("race", "k", None, None).await.unwrap();
    let etag = dl.header("etag").unwrap().trim_matches('"').to_owned();
    let length: u64 = dl.header("content-length").unwrap().parse().unwrap();
    let body = dl.bytes().await.unwrap();
    let got = (hex(&Md5::digest(&body)), body.len() as u64);
    assert!(expected.contains(&got), "the body is exactly one of the 50");
    assert_eq!((etag, length), got, "ETag and size match the body");
    assert_eq!(blobs(&server).len(), 1, "replaced blobs are gone");
    assert!(temporaries(&server).is_empty());
}

/// 96 small PUTs at once, 12 per key over 8 keys: the server groups the
/// commits that queue behind one another; every write must still get its
/// own answer, each key hold one of its bodies, and every replaced blob be
/// gone.
async fn concurrent_puts_to_many_keys_all_commit(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    alice.create_bucket("group").await.unwrap();
    let body = |i: u64| Bytes::from(format!("write {i} to key {}", i % 8).repeat(100));
    let results: Vec<_> = stream::iter(0..96u64)
        .map(|i| {
            let c = alice.clone();
            async move {
                c.put_object("group", &format!("k{}", i % 8), body(i), None)
                    .await
            }
        })
        .buffer_unordered(96)
        .collect()
        .await;
    for r in &results {
        assert!(r.is_ok(), "every PUT succeeds: {r:?}");
    }
    let listed = list_all(&alice, "group", ListObjectsParams::default()).await;
    let expected: Vec<String> = (0..8).map(|k| format!("k{k}")).collect();
    assert_eq!(listed.0, expected, "exactly the eight keys");
    for k in 0..8u64 {
        let got = alice
            .get_object("group", &format!("k{k}"), None, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(
            (0..12).any(|n| got == body(k + 8 * n)),
            "k{k} holds one of its bodies"
        );
    }
    assert_eq!(blobs(&server).len(), 8, "replaced blobs are gone");
    assert!(temporaries(&server).is_empty());
}

async fn interrupted_upload_commits_nothing(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (alice, key) = server.user("alice").await;
    alice.put_object("cut", "kept", "old", None).await.unwrap();
    for path in ["/storage/cut/kept", "/storage/cut/never"] {
        let sock = stalled_upload(&server, &key.key, path, 10 << 20, 1 << 20).await;
        wait_for_temporary(&server, 0).await;
        drop(sock); // the client goes away mid-body
        for _ in 0..300 {
            if temporaries(&server).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            temporaries(&server).is_empty(),
            "{path}: the temporary is removed"
        );
    }
    let dl = alice.get_object("cut", "kept", None, None).await.unwrap();
    assert_eq!(dl.bytes().await.unwrap(), b"old");
    let err = alice
        .get_object("cut", "never", None, None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), (404, "OBJECT_NOT_FOUND".into()));
    assert_eq!(blobs(&server).len(), 1);
    let (listed, _, _) = list_all(&alice, "cut", ListObjectsParams::default()).await;
    assert_eq!(listed, ["kept"]);
}

async fn other_users_are_locked_out(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    alice
        .put_object("alices", "secret.txt", "for alice", None)
        .await
        .unwrap();

    let forbidden = |r: Result<(), ClientError>, what: &str| {
        let err = r.expect_err(what);
        assert_eq!(api_status(&err), (403, "FORBIDDEN".into()), "{what}");
        assert!(
            !err.to_string().contains("secret.txt"),
            "{what}: nothing about the contents leaks"
        );
    };
    forbidden(
        bob.get_object("alices", "secret.txt", None, None)
            .await
            .map(drop),
        "read",
    );
    forbidden(
        bob.put_object("alices", "x", "b", None).await.map(drop),
        "write",
    );
    forbidden(
        bob.put_object("alices", "secret.txt", "b", None)
            .await
            .map(drop),
        "overwrite",
    );
    forbidden(
        bob.list_objects("alices", &ListObjectsParams::default())
            .await
            .map(drop),
        "list",
    );
    forbidden(
        bob.delete_object("alices", "secret.txt").await,
        "delete object",
    );
    forbidden(bob.delete_bucket("alices").await, "delete bucket");
    let head = bob.head_object("alices", "secret.txt").await.unwrap_err();
    assert_eq!(head.status(), Some(StatusCode::FORBIDDEN));
    let err = bob.create_bucket("alices").await.unwrap_err();
    assert_eq!(api_status(&err), (409, "CONFLICT".into()));

    assert!(bob.list_buckets().await.unwrap().is_empty());
    let names: Vec<String> = alice
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["alices"]);
    let dl = alice
        .get_object("alices", "secret.txt", None, None)
        .await
        .unwrap();
    assert_eq!(dl.bytes().await.unwrap(), b"for alice");
    // Anonymous callers get 401.
    let err = server.client().list_buckets().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
}

/// Every bucket of `client`, `limit` at a time, starting from `token`;
/// checks each page's size and that only the last has no token.
async fn walk_buckets(client: &Client, limit: u32, token: Option<String>) -> Vec<String> {
    let mut names = Vec::new();
    let mut token = token;
    loop {
        let page = client
            .list_buckets_page(Some(limit), token.as_deref())
            .await
            .expect("a page");
        names.extend(page.data.iter().map(|b| b.name.clone()));
        match page.next_token {
            Some(t) => {
                assert_eq!(
                    page.data.len(),
                    limit as usize,
                    "only the last page is short"
                );
                token = Some(t);
            }
            None => {
                assert!(page.data.len() <= limit as usize);
                return names;
            }
        }
    }
}

async fn bucket_lists_page_by_name(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (alice, alice_key) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    // Names whose byte order differs from a locale's ('-' < '.' < digits),
    // Bob's interleaved with Alice's.
    let mut mine: Vec<String> = (0..300)
        .map(|i| {
            let sep = ["-", ".", "0", "a"][i % 4];
            format!("p{:02}{sep}{}", i / 4, i % 7)
        })
        .collect();
    let bobs: Vec<String> = (0..40).map(|i| format!("p{:02}-bob", i * 2)).collect();
    let creates = mine
        .iter()
        .map(|n| (&alice, n))
        .chain(bobs.iter().map(|n| (&bob, n)));
    futures::stream::iter(creates)
        .for_each_concurrent(8, |(who, name)| async move {
            who.create_bucket(name).await.expect("bucket created");
        })
        .await;
    mine.sort();

    // Seven at a time: every bucket once, in byte order, none of Bob's.
    assert_eq!(walk_buckets(&alice, 7, None).await, mine);
    assert_eq!(walk_buckets(&alice, 300, None).await, mine, "one full page");
    let whole = alice
        .list_buckets()
        .await
        .expect("the client follows pages");
    assert_eq!(
        whole.iter().map(|b| b.name.clone()).collect::<Vec<_>>(),
        mine
    );

    // The default page (1,000) holds them all; the old shape still reads.
    let res = reqwest::Client::new()
        .get(format!("{}/storage", server.url()))
        .header("x-api-key", &alice_key.key)
        .send()
        .await
        .expect("GET /storage");
    let body: serde_json::Value = res.json().await.expect("JSON");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(300));
    assert!(body["next_token"].is_null(), "{}", body["next_token"]);

    // Alice's token in Bob's hands lists Bob's buckets after that name.
    let first = alice
        .list_buckets_page(Some(100), None)
        .await
        .expect("a page");
    let token = first.next_token.expect("more than 100");
    let cut = first.data.last().expect("a full page").name.clone();
    let want: Vec<String> = {
        let mut b: Vec<String> = bobs.iter().filter(|n| **n > cut).cloned().collect();
        b.sort();
        b
    };
    assert!(!want.is_empty() && want.len() < bobs.len(), "{cut}");
    assert_eq!(walk_buckets(&bob, 7, Some(token)).await, want);
    let bobs_all = walk_buckets(&bob, 7, None).await;
    assert_eq!(bobs_all.len(), 40);
    assert!(bobs_all.iter().all(|n| n.ends_with("-bob")));
}

async fn size_limit_and_errors(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, &["--max-object-size", "1MiB"], &[]).await
    else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    alice
        .put_object_stream(
            "limits",
            "exact",
            generated(1 << 20, 1),
            Some(1 << 20),
            None,
        )
        .await
        .expect("exactly the limit is fine");
    let err = alice
        .put_object_stream(
            "limits",
            "declared",
            generated((1 << 20) + 1, 1),
            Some((1 << 20) + 1),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), (413, "TOO_LARGE".into()));
    let err = alice
        .put_object_stream("limits", "streamed", generated(3 << 20, 1), None, None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), (413, "TOO_LARGE".into()));
    assert!(temporaries(&server).is_empty());
    assert_eq!(blobs(&server).len(), 1);

    // Bucket names follow the S3 rules, and the message names the rule.
    let err = alice.create_bucket("Bad_Name").await.unwrap_err();
    assert_eq!(api_status(&err), (400, "INVALID_INPUT".into()));
    assert!(err.to_string().contains("lowercase"), "{err}");
    let err = alice.create_bucket("192.168.0.1").await.unwrap_err();
    assert!(err.to_string().contains("IP address"), "{err}");
    let err = alice.put_object("ab", "k", "x", None).await.unwrap_err();
    assert!(err.to_string().contains("3 to 63"), "{err}");

    // Create is idempotent for the owner; deleting a non-empty bucket is 409.
    let made = alice.create_bucket("made").await.unwrap();
    assert_eq!(alice.create_bucket("made").await.unwrap(), made);
    let err = alice.delete_bucket("limits").await.unwrap_err();
    assert_eq!(api_status(&err), (409, "CONFLICT".into()));
    alice.delete_bucket("made").await.unwrap();
    let err = alice.delete_bucket("made").await.unwrap_err();
    assert_eq!(api_status(&err), (404, "BUCKET_NOT_FOUND".into()));
    let err = alice
        .get_object("nobucket", "k", None, None)
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), (404, "BUCKET_NOT_FOUND".into()));
    let err = alice.delete_object("limits", "missing").await.unwrap_err();
    assert_eq!(api_status(&err), (404, "OBJECT_NOT_FOUND".into()));
    let err = alice
        .put_object_stream("limits", "bad-md5", generated(10, 1), Some(10), None)
        .await
        .map(drop);
    assert!(err.is_ok());
    let res = alice
        .request(reqwest::Method::PUT, "/storage/limits/bad-md5")
        .header("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let dl = alice
        .get_object("limits", "bad-md5", None, None)
        .await
        .unwrap();
    assert_eq!(
        dl.bytes().await.unwrap().len(),
        10,
        "a bad digest stores nothing"
    );
}

/// A PUT with one extra header; the status, the error kind (if any) and
/// the ETag.
async fn put_with(
    client: &Client,
    path: &str,
    header: Option<(&str, &str)>,
    body: String,
) -> (u16, String, Option<String>) {
    let mut req = client.request(reqwest::Method::PUT, path).body(body);
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let etag = res
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let json: serde_json::Value = res.json().await.unwrap_or_default();
    let kind = json["error"]["type"].as_str().unwrap_or("").to_owned();
    (status, kind, etag)
}

async fn conditional_puts_are_atomic(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let path = "/storage/cond/k";
    let none_match = Some(("if-none-match", "*"));

    let (status, _, etag) = put_with(&alice, path, none_match, "one".into()).await;
    assert_eq!(
        status, 200,
        "If-None-Match: * creates the bucket and the key"
    );
    let etag = etag.expect("an ETag");
    let (status, kind, _) = put_with(&alice, path, none_match, "two".into()).await;
    assert_eq!((status, kind.as_str()), (412, "PRECONDITION_FAILED"));
    let stale = Some(("if-match", "\"00000000000000000000000000000000\""));
    let (status, kind, _) = put_with(&alice, path, stale, "two".into()).await;
    assert_eq!((status, kind.as_str()), (412, "PRECONDITION_FAILED"));
    let (status, kind, _) = put_with(
        &alice,
        "/storage/cond/nokey",
        Some(("if-match", "*")),
        "x".into(),
    )
    .await;
    assert_eq!((status, kind.as_str()), (404, "OBJECT_NOT_FOUND"));
    let (status, kind, _) =
        put_with(&alice, path, Some(("if-none-match", "\"abc\"")), "x".into()).await;
    assert_eq!((status, kind.as_str()), (400, "INVALID_INPUT"));
    let (status, kind, _) = put_with(&alice, path, Some(("if-match", "abc")), "x".into()).await;
    assert_eq!((status, kind.as_str()), (400, "INVALID_INPUT"));
    let dl = alice.get_object("cond", "k", None, None).await.unwrap();
    assert_eq!(
        dl.bytes().await.unwrap(),
        b"one",
        "refused writes changed nothing"
    );
    // The client's create-only upload: Some the first time, None after.
    for want_created in [true, false] {
        let body = stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"x"))]);
        let created = alice
            .put_object_stream_if_absent("cond", "fresh", body, Some(1), None)
            .await
            .unwrap();
        assert_eq!(created.is_some(), want_created);
    }
    let (status, _, _) = put_with(&alice, path, Some(("if-match", &etag)), "1".into()).await;
    assert_eq!(status, 200, "If-Match with the current ETag replaces it");

    // A counter incremented by eight clients at once with read, then
    // If-Match on what was read: no increment may be lost, which holds
    // only if the check and the commit are one step.
    let workers = (0..8).map(|_| {
        let alice = alice.clone();
        tokio::spawn(async move {
            let mut done = 0;
            while done < 3 {
                let dl = alice.get_object("cond", "k", None, None).await.unwrap();
                let etag = dl.header("etag").unwrap().to_owned();
                let n: u64 = String::from_utf8(dl.bytes().await.unwrap())
                    .unwrap()
                    .parse()
                    .unwrap();
                let (status, _, _) = put_with(
                    &alice,
                    "/storage/cond/k",
                    Some(("if-match", &etag)),
                    (n + 1).to_string(),
                )
                .await;
                match status {
                    200 => done += 1,
                    412 => {}
                    other => panic!("unexpected status {other}"),
                }
            }
        })
    });
    for w in futures::future::join_all(workers).await {
        w.unwrap();
    }
    let dl = alice.get_object("cond", "k", None, None).await.unwrap();
    assert_eq!(dl.bytes().await.unwrap(), b"25", "1 + 8 × 3 increments");
    assert!(temporaries(&server).is_empty());
    assert_eq!(
        blobs(&server).len(),
        2,
        "two keys, and every refused write's blob is gone"
    );
}

/// A DELETE with one extra header; the status and the error kind (if any).
async fn delete_with(client: &Client, path: &str, header: Option<(&str, &str)>) -> (u16, String) {
    let mut req = client.request(reqwest::Method::DELETE, path);
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let json: serde_json::Value = res.json().await.unwrap_or_default();
    (
        status,
        json["error"]["type"].as_str().unwrap_or("").to_owned(),
    )
}

/// `If-Match` on a DELETE: only the version with that ETag (or, with `*`,
/// whatever exists) is deleted, decided with the delete itself.
async fn conditional_deletes(backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let path = "/storage/cond-del/k";
    let (status, _, etag) = put_with(&alice, path, None, "one".into()).await;
    assert_eq!(status, 200);
    let etag = etag.expect("an ETag");

    let stale = Some(("if-match", "\"00000000000000000000000000000000\""));
    assert_eq!(
        delete_with(&alice, path, stale).await,
        (412, "PRECONDITION_FAILED".into())
    );
    for (name, value) in [("if-match", "abc"), ("if-none-match", "*")] {
        let (status, kind) = delete_with(&alice, path, Some((name, value))).await;
        assert_eq!(
            (status, kind.as_str()),
            (400, "INVALID_INPUT"),
            "{name}: {value}"
        );
    }
    let dl = alice.get_object("cond-del", "k", None, None).await.unwrap();
    assert_eq!(dl.bytes().await.unwrap(), b"one", "refused deletes kept it");
    assert_eq!(
        delete_with(&alice, path, Some(("if-match", &etag))).await.0,
        204
    );
    for condition in [etag.as_str(), "*"] {
        assert_eq!(
            delete_with(&alice, path, Some(("if-match", condition))).await,
            (404, "OBJECT_NOT_FOUND".into()),
            "{condition} on a deleted key"
        );
    }
    let (status, _, _) = put_with(&alice, path, None, "two".into()).await;
    assert_eq!(status, 200);
    assert_eq!(
        delete_with(&alice, path, Some(("if-match", "*"))).await.0,
        204
    );
    assert!(alice.get_object("cond-del", "k", None, None).await.is_err());
    assert!(blobs(&server).is_empty(), "each delete removed its blob");
}

/// A second server started on a data directory a server is using stops
/// before it touches anything: its start-up sweep would take the first
/// one's uploads in flight, and here a file put next to the blobs (as a
/// crash leaves them), for debris and remove them.
#[tokio::test]
async fn a_second_server_on_the_same_data_directory_stops_first() {
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    alice
        .put_object("held", "kept.txt", "mine", None)
        .await
        .expect("stored");
    // Named like a blob (its id's 32 hex digits) that no row points to.
    let stray = objects_dir(&server)
        .join("00")
        .join("00112233445566778899aabbccddeeff");
    std::fs::write(&stray, "an upload in flight, as far as a sweep can tell").expect("written");
    let stderr = refused_start(&server, server.database_url()).await;
    assert!(
        stderr.contains("is in use by another process")
            && stderr.contains(&format!("pid {}", server.pid().expect("running"))),
        "{stderr}"
    );
    assert!(stray.exists(), "the second server swept nothing");
    let (_, size) = download_md5(&alice, "held", "kept.txt").await;
    assert_eq!(size, 4, "still readable");
}

/// A server pointed at another database than its data directory's (a
/// mistyped DATABASE_URL, a new empty database) stops before its start-up
/// sweep, which would take every object file that database does not know
/// for debris and remove it; on the right database again, every object is
/// there.
#[tokio::test]
async fn a_data_directory_on_another_database_is_left_alone() {
    let Some(mut server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (alice, alice_key) = server.user("alice").await;
    alice
        .put_object("kept", "a.txt", "first", None)
        .await
        .expect("stored");
    assert!(server.stop().await, "stops");
    let files_before = blobs(&server).len();
    assert_eq!(files_before, 1);
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let empty = format!("sqlite://{}", elsewhere.path().join("empty.db").display());
    let stderr = refused_start(&server, &empty).await;
    assert!(
        stderr.contains("holds the objects of another database") && stderr.contains("empty.db"),
        "{stderr}"
    );
    assert!(
        !elsewhere.path().join("empty.db").exists(),
        "the mistyped SQLite database was not created"
    );
    // Another application's SQLite database, and a new Postgres one: both
    // refused before Mini AWS's migrations write their tables into them.
    let foreign = elsewhere.path().join("other-app.db");
    let foreign_url = format!("sqlite://{}?mode=rwc", foreign.display());
    let pool = sqlx::SqlitePool::connect(&foreign_url)
        .await
        .expect("sqlite");
    sqlx::query("CREATE TABLE notes (body TEXT)")
        .execute(&pool)
        .await
        .expect("a table of its own");
    let stderr = refused_start(&server, &format!("sqlite://{}", foreign.display())).await;
    assert!(stderr.contains("holds no Mini AWS tables"), "{stderr}");
    // `miniaws users create` checks it as `serve` does.
    let stderr = refused_run(
        &server,
        &format!("sqlite://{}", foreign.display()),
        &["users", "create", "bob"],
    )
    .await;
    assert!(stderr.contains("holds no Mini AWS tables"), "{stderr}");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&pool)
            .await
            .expect("tables");
    assert_eq!(tables, ["notes"], "nothing written to it");
    pool.close().await;
    if let Some(admin) = miniaws_testkit::require_postgres() {
        let fresh = miniaws_testkit::TestDatabase::create(&admin).await;
        let stderr = refused_start(&server, &fresh.url).await;
        assert!(stderr.contains("holds no Mini AWS tables"), "{stderr}");
        let pool = sqlx::PgPool::connect(&fresh.url).await.expect("postgres");
        let tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                .fetch_one(&pool)
                .await
                .expect("tables");
        assert_eq!(tables, 0, "nothing written to it");
        pool.close().await;
    }
    assert_eq!(blobs(&server).len(), files_before, "no object file removed");
    server.restart().await;
    let alice = server.client().with_api_key(alice_key.key.clone());
    let (_, size) = download_md5(&alice, "kept", "a.txt").await;
    assert_eq!(size, 5);
}

/// Starts another `miniaws` on `server`'s data directory with the database
/// `database_url`, which must stop at once with an error; its stderr.
async fn refused_start(server: &TestServer, database_url: &str) -> String {
    refused_run(server, database_url, &[]).await
}

/// [`refused_start`] of `miniaws` with `args` (a subcommand).
async fn refused_run(server: &TestServer, database_url: &str, args: &[&str]) -> String {
    let data = objects_dir(server)
        .parent()
        .expect("the data directory")
        .to_owned();
    let run = tokio::process::Command::new(miniaws_testkit::miniaws_bin())
        .args(["--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&data)
        .arg("--database-url")
        .arg(database_url)
        .env("MINIAWS_LOG_FORMAT", "pretty")
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("it stops at once")
        .expect("miniaws runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    stderr
}
