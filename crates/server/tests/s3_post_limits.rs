//! Form uploads (PostObject) and XML bodies at their limits, over raw
//! sockets: an anonymous and a badly signed form declaring a 300 MiB file
//! are refused before the file is sent, without the server's memory
//! growing; a signed 256 MiB form upload streams (the server's peak RSS
//! grows by less than 64 MiB); a signed form cut off mid-file leaves nothing behind (no row,
//! no blob, no temporary; the previous version stays), on SQLite and
//! Postgres. XML bodies over s3s's 20 MiB limit are 400
//! `MaxMessageLengthExceeded` (not 500): DeleteObjects and
//! CompleteMultipartUpload declaring 21 MB, and a chunked DeleteObjects
//! body through a presigned URL that runs over (header-signed, a chunked
//! body is 411 `MissingContentLength` before it is read); anonymous, the
//! same is 403.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use common::{files_under, objects_dir, s3_client, server_and_user};
use hmac::{Hmac, Mac};
use miniaws_testkit::{Backend, TestServer};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BOUNDARY: &str = "----miniawsFormBoundary7MA4YWxkTrZu0gW";

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// The fields of a SigV4 form for `bucket`/`key` signed with `secret`.
fn signed_fields(
    access_key_id: &str,
    secret: &str,
    bucket: &str,
    key: &str,
) -> Vec<(String, String)> {
    let now = time::OffsetDateTime::now_utc();
    let (date, amz_date) = common::amz_dates(now);
    let credential = format!("{access_key_id}/{date}/us-east-1/s3/aws4_request");
    let expires = (now + time::Duration::hours(1))
        .replace_nanosecond(0)
        .expect("zero nanoseconds")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    let policy = serde_json::json!({
        "expiration": expires,
        "conditions": [
            {"bucket": bucket},
            {"key": key},
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
            {"x-amz-credential": credential},
            {"x-amz-date": amz_date},
        ]
    });
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let k = hmac(format!("AWS4{secret}").as_bytes(), &date);
    let k = hmac(&k, "us-east-1");
    let k = hmac(&k, "s3");
    let k = hmac(&k, "aws4_request");
    let signature = hex::encode(hmac(&k, &policy));
    [
        ("key", key.to_owned()),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256".to_owned()),
        ("x-amz-credential", credential),
        ("x-amz-date", amz_date),
        ("policy", policy),
        ("x-amz-signature", signature),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The request head and the form up to the start of the file's bytes, for
/// a file of `file_bytes`; and the form's closing.
fn form_head(
    addr: &str,
    bucket: &str,
    fields: &[(String, String)],
    file_bytes: u64,
) -> (Vec<u8>, Vec<u8>) {
    let mut preamble = String::new();
    for (name, value) in fields {
        preamble.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    preamble.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    ));
    let epilogue = format!("\r\n--{BOUNDARY}--\r\n").into_bytes();
    let length = preamble.len() as u64 + file_bytes + epilogue.len() as u64;
    let head = format!(
        "POST /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n{preamble}"
    );
    (head.into_bytes(), epilogue)
}

/// Reads one HTTP response: status and body.
async fn read_response(conn: &mut tokio::net::tcp::OwnedReadHalf) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await.expect("read the answer");
        assert!(
            n > 0,
            "the connection closed before an answer: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = conn.read(&mut chunk).await.expect("read the body");
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    (
        status,
        String::from_utf8_lossy(&buf[head_end..]).to_string(),
    )
}

/// The server's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib(server: &TestServer) -> u64 {
    let pid = server.pid().expect("the server runs");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Posts a form declaring a 300 MiB file, sending the file while reading
/// the answer; returns the answer and how much of the file was sent by then.
async fn post_huge_form(
    server: &TestServer,
    bucket: &str,
    fields: &[(String, String)],
) -> ((u16, String), u64) {
    const FILE_BYTES: u64 = 300 << 20;
    let addr = server.aws_url().trim_start_matches("http://").to_owned();
    let (head, _) = form_head(&addr, bucket, fields, FILE_BYTES);
    let conn = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let (mut read, mut write) = conn.into_split();
    write.write_all(&head).await.expect("head");
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        let chunk = vec![0x61u8; 1 << 20];
        while counter.load(Ordering::Relaxed) < FILE_BYTES {
            if write.write_all(&chunk).await.is_err() {
                break;
            }
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    });
    let answer = tokio::time::timeout(Duration::from_secs(20), read_response(&mut read))
        .await
        .expect("an answer while the file is still being sent");
    let sent_then = sent.load(Ordering::Relaxed);
    writer.abort();
    (answer, sent_then)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unauthenticated_forms_are_refused_before_their_file() {
    let Some((server, key)) = server_and_user(Backend::Sqlite, "alice").await else {
        return;
    };
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket("forms")
        .send()
        .await
        .expect("bucket");
    let before_kib = peak_rss_kib(&server);

    let anonymous = vec![("key".to_owned(), "anon.bin".to_owned())];
    let ((status, body), sent) = post_huge_form(&server, "forms", &anonymous).await;
    assert_eq!(status, 403, "anonymous: {body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(
        sent < 64 << 20,
        "refused before the file: {sent} bytes sent by then"
    );

    let mut forged = signed_fields(&key.access_key_id, "not-the-secret", "forms", "forged.bin");
    forged.retain(|(n, _)| n != "key");
    forged.insert(0, ("key".to_owned(), "forged.bin".to_owned()));
    let ((status, body), sent) = post_huge_form(&server, "forms", &forged).await;
    assert_eq!(status, 403, "bad signature: {body}");
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    assert!(
        sent < 64 << 20,
        "refused before the file: {sent} bytes sent by then"
    );

    let grown_kib = peak_rss_kib(&server).saturating_sub(before_kib);
    eprintln!(
        "refused 300 MiB forms: {sent} bytes of the last file sent by the answer, peak RSS grew by {grown_kib} KiB"
    );
    assert!(grown_kib < 64 << 10, "peak RSS grew by {grown_kib} KiB");
    let listed = s3
        .list_objects_v2()
        .bucket("forms")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.key_count(), Some(0), "nothing stored");
    assert!(
        files_under(&objects_dir(&server)).is_empty(),
        "no blob or temporary"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_large_form_upload_streams() {
    const FILE_BYTES: u64 = 256 << 20;
    let Some((server, key)) = server_and_user(Backend::Sqlite, "alice").await else {
        return;
    };
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket("forms")
        .send()
        .await
        .expect("bucket");
    let before_kib = peak_rss_kib(&server);
    let addr = server.aws_url().trim_start_matches("http://").to_owned();
    let fields = signed_fields(
        &key.access_key_id,
        &key.secret_access_key,
        "forms",
        "big.bin",
    );
    let (head, epilogue) = form_head(&addr, "forms", &fields, FILE_BYTES);
    let conn = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let (mut read, mut write) = conn.into_split();
    let started = std::time::Instant::now();
    let writer = tokio::spawn(async move {
        write.write_all(&head).await.expect("head");
        let chunk = vec![0x61u8; 1 << 20];
        for _ in 0..(FILE_BYTES >> 20) {
            write.write_all(&chunk).await.expect("file");
        }
        write.write_all(&epilogue).await.expect("epilogue");
        write
    });
    let (status, body) = tokio::time::timeout(Duration::from_secs(120), read_response(&mut read))
        .await
        .expect("an answer");
    let elapsed = started.elapsed();
    drop(writer.await.expect("the writer ends"));
    assert_eq!(status, 204, "{body}");
    let grown_kib = peak_rss_kib(&server).saturating_sub(before_kib);
    eprintln!(
        "256 MiB form upload: {:.0} MiB/s, peak RSS grew by {} KiB",
        256.0 / elapsed.as_secs_f64(),
        grown_kib
    );
    assert!(
        grown_kib < 64 << 10,
        "peak RSS grew by {grown_kib} KiB for 256 MiB"
    );
    let head = s3
        .head_object()
        .bucket("forms")
        .key("big.bin")
        .send()
        .await
        .expect("HEAD");
    assert_eq!(head.content_length(), Some(FILE_BYTES as i64));
}

async fn interrupted_form_leaves_nothing(backend: Backend) {
    let Some((server, key)) = server_and_user(backend, "alice").await else {
        return;
    };
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket("forms")
        .send()
        .await
        .expect("bucket");
    s3.put_object()
        .bucket("forms")
        .key("k")
        .body(ByteStream::from_static(b"version one"))
        .send()
        .await
        .expect("first version");

    let addr = server.aws_url().trim_start_matches("http://").to_owned();
    let fields = signed_fields(&key.access_key_id, &key.secret_access_key, "forms", "k");
    let (head, _) = form_head(&addr, "forms", &fields, 8 << 20);
    let mut conn = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    conn.write_all(&head).await.expect("head");
    conn.write_all(&vec![0x61u8; 1 << 20])
        .await
        .expect("part of the file");
    conn.flush().await.expect("flush");
    let tmp = objects_dir(&server).join("tmp");
    for _ in 0..100 {
        if !files_under(&tmp).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !files_under(&tmp).is_empty(),
        "the file streams to a temporary"
    );
    drop(conn);
    for _ in 0..100 {
        if files_under(&tmp).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        files_under(&tmp),
        Vec::<PathBuf>::new(),
        "no temporary left"
    );
    let got = s3
        .get_object()
        .bucket("forms")
        .key("k")
        .send()
        .await
        .expect("GET")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(&got[..], b"version one", "the previous version stays");
    let blobs: Vec<PathBuf> = files_under(&objects_dir(&server))
        .into_iter()
        .filter(|p| !p.starts_with(&tmp))
        .collect();
    assert_eq!(blobs.len(), 1, "only the first version's blob: {blobs:?}");
    let listed = s3
        .list_objects_v2()
        .bucket("forms")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.key_count(), Some(1), "no new row");
    assert!(!server.log().contains("panicked"), "no panic in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interrupted_form_leaves_nothing_sqlite() {
    interrupted_form_leaves_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interrupted_form_leaves_nothing_postgres() {
    interrupted_form_leaves_nothing(Backend::Postgres).await;
}

/// A SigV4-signed request head (`UNSIGNED-PAYLOAD`) for `method` on
/// `path?query`, with `extra` headers (lowercase, signed too).
fn signed_head(
    addr: &str,
    access_key_id: &str,
    secret: &str,
    method: &str,
    path: &str,
    query: &str,
    extra: &[(&str, String)],
) -> String {
    let now = time::OffsetDateTime::now_utc();
    let (date, amz_date) = common::amz_dates(now);
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), addr.to_owned()),
        ("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()),
        ("x-amz-date".into(), amz_date.clone()),
    ];
    headers.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical =
        format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\nUNSIGNED-PAYLOAD");
    let scope = format!("{date}/us-east-1/s3/aws4_request");
    let sts = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k = hmac(format!("AWS4{secret}").as_bytes(), &date);
    let k = hmac(&k, "us-east-1");
    let k = hmac(&k, "s3");
    let k = hmac(&k, "aws4_request");
    let signature = hex::encode(hmac(&k, &sts));
    let mut head = format!("{method} {path}?{query} HTTP/1.1\r\n");
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "authorization: AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={signed}, Signature={signature}\r\n\r\n"
    ));
    head
}

/// The query of a presigned (SigV4, `UNSIGNED-PAYLOAD`) URL for `method`
/// on `path` with the extra query `extra` (`name=` with an empty value).
fn presigned_query(
    addr: &str,
    access_key_id: &str,
    secret: &str,
    method: &str,
    path: &str,
    extra: &str,
) -> String {
    let now = time::OffsetDateTime::now_utc();
    let (date, amz_date) = common::amz_dates(now);
    let scope = format!("{date}/us-east-1/s3/aws4_request");
    let credential = format!("{access_key_id}/{scope}").replace('/', "%2F");
    // Sorted by name: the X-Amz-* parameters come before lowercase ones.
    let query = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date={amz_date}&X-Amz-Expires=300&X-Amz-SignedHeaders=host&{extra}"
    );
    let canonical = format!("{method}\n{path}\n{query}\nhost:{addr}\n\nhost\nUNSIGNED-PAYLOAD");
    let sts = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k = hmac(format!("AWS4{secret}").as_bytes(), &date);
    let k = hmac(&k, "us-east-1");
    let k = hmac(&k, "s3");
    let k = hmac(&k, "aws4_request");
    format!("{query}&X-Amz-Signature={}", hex::encode(hmac(&k, &sts)))
}

/// Sends `head`, then up to `body_bytes` of XML-ish filler (chunked when
/// `chunked`), reading the answer while sending.
async fn send_big_body(
    addr: &str,
    head: String,
    body_bytes: u64,
    chunked: bool,
) -> ((u16, String), u64) {
    let conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut read, mut write) = conn.into_split();
    write.write_all(head.as_bytes()).await.expect("head");
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        let piece = vec![b' '; 1 << 20];
        while counter.load(Ordering::Relaxed) < body_bytes {
            let n = (body_bytes - counter.load(Ordering::Relaxed)).min(piece.len() as u64) as usize;
            let ok = if chunked {
                let mut frame = format!("{n:x}\r\n").into_bytes();
                frame.extend_from_slice(&piece[..n]);
                frame.extend_from_slice(b"\r\n");
                write.write_all(&frame).await.is_ok()
            } else {
                write.write_all(&piece[..n]).await.is_ok()
            };
            if !ok {
                return;
            }
            counter.fetch_add(n as u64, Ordering::Relaxed);
        }
        if chunked {
            let _ = write.write_all(b"0\r\n\r\n").await;
        }
        // Keep the connection open until the test is done reading.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let answer = tokio::time::timeout(Duration::from_secs(30), read_response(&mut read))
        .await
        .expect("an answer");
    let sent_then = sent.load(Ordering::Relaxed);
    writer.abort();
    (answer, sent_then)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oversized_xml_bodies_are_max_message_length_exceeded() {
    let Some((server, key)) = server_and_user(Backend::Sqlite, "alice").await else {
        return;
    };
    let s3 = s3_client(&server, &key);
    s3.create_bucket()
        .bucket("xml")
        .send()
        .await
        .expect("bucket");
    s3.put_object()
        .bucket("xml")
        .key("kept")
        .body(ByteStream::from_static(b"still here"))
        .send()
        .await
        .expect("an object");
    let addr = server.aws_url().trim_start_matches("http://").to_owned();
    let (ak, sk) = (key.access_key_id.as_str(), key.secret_access_key.as_str());
    const DECLARED: u64 = 21_000_000;

    // DeleteObjects declaring 21 MB: refused before the body.
    let xml = [
        ("content-type", "application/xml".to_owned()),
        ("content-length", DECLARED.to_string()),
    ];
    let head = signed_head(&addr, ak, sk, "POST", "/xml", "delete=", &xml);
    let ((status, body), sent) = send_big_body(&addr, head, DECLARED, false).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("<Code>MaxMessageLengthExceeded</Code>"),
        "{body}"
    );
    assert!(body.contains("<RequestId>"), "{body}");
    assert!(sent < DECLARED, "answered before the whole body: {sent}");

    // CompleteMultipartUpload the same.
    let upload = s3
        .create_multipart_upload()
        .bucket("xml")
        .key("mp")
        .send()
        .await
        .expect("CreateMultipartUpload");
    let query = format!("uploadId={}", upload.upload_id().expect("upload id"));
    let head = signed_head(&addr, ak, sk, "POST", "/xml/mp", &query, &xml);
    let ((status, body), _) = send_big_body(&addr, head, DECLARED, false).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("<Code>MaxMessageLengthExceeded</Code>"),
        "{body}"
    );

    // A chunked body with a header signature: s3s wants its length first
    // (411, as S3 answers chunked uploads), before reading any of it.
    let chunked = [
        ("content-type", "application/xml".to_owned()),
        ("transfer-encoding", "chunked".to_owned()),
    ];
    let head = signed_head(&addr, ak, sk, "POST", "/xml", "delete=", &chunked);
    let ((status, body), _) = send_big_body(&addr, head, 22 << 20, true).await;
    assert_eq!(status, 411, "{body}");
    assert!(body.contains("<Code>MissingContentLength</Code>"), "{body}");

    // Through a presigned URL s3s reads a chunked body up to its limit:
    // one that runs over is MaxMessageLengthExceeded, not InternalError.
    // (PutBucketCors: a DeleteObjects without a Content-MD5 or checksum is
    // refused before its body is read, see `document_digest`.)
    let query = presigned_query(&addr, ak, sk, "PUT", "/xml", "cors=");
    let head = format!(
        "PUT /xml?{query} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/xml\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let ((status, body), _) = send_big_body(&addr, head, 22 << 20, true).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("<Code>MaxMessageLengthExceeded</Code>"),
        "{body}"
    );
    // Under the limit, s3s reads the chunked body and then wants its
    // length (411): the 400 above is the limit's own answer.
    let query = presigned_query(&addr, ak, sk, "PUT", "/xml", "cors=");
    let head = format!(
        "PUT /xml?{query} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/xml\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let ((status, body), _) = send_big_body(&addr, head, 1 << 20, true).await;
    assert_eq!(status, 411, "{body}");
    assert!(body.contains("<Code>MissingContentLength</Code>"), "{body}");

    // Anonymous: refused as anonymous first.
    let head = format!(
        "POST /xml?delete= HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/xml\r\ncontent-length: {DECLARED}\r\n\r\n"
    );
    let ((status, body), _) = send_big_body(&addr, head, DECLARED, false).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");

    // Nothing was deleted, and the server is fine.
    let listed = s3
        .list_objects_v2()
        .bucket("xml")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.key_count(), Some(1));
    assert!(!server.log().contains("panicked"), "no panic in the log");
}
